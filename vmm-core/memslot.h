/*
 * memslot: the table of guest-physical memory the VM hands to KVM.  Each
 * entry is one KVM memory slot: where it sits in the guest, the host memory
 * behind it and its flags.  RAM takes one or two entries (below and above
 * the 32-bit hole, guestmem.h); the framebuffer will take one with dirty
 * logging on, so the display learns which pages the guest wrote.
 *
 * The table is filled once, when the VM is created; every fresh KVM VM
 * (each start or reset, vm.c) is given all of it, and the entry's index is
 * its KVM slot number.  Entries are never removed.
 */
#ifndef VMGATE_MEMSLOT_H
#define VMGATE_MEMSLOT_H

#include <stddef.h>
#include <stdint.h>

#define MEMSLOT_MAX 8
#define MEMSLOT_PAGE 4096ULL

/* Flags of an entry. */
#define MEMSLOT_DIRTY_LOG (1u << 0) /* KVM logs the pages the guest writes */
#define MEMSLOT_READONLY (1u << 1)  /* guest writes exit as MMIO */

struct memslot {
	const char *name; /* for messages: "RAM", "framebuffer" */
	uint64_t gpa, size;
	void *host;
	uint32_t flags;
};

struct memslot_table {
	int n;
	struct memslot s[MEMSLOT_MAX];
};

/*
 * Adds [GPA, GPA+SIZE) backed by HOST.  Returns the entry's index (its KVM
 * slot), or -1 with the reason in ERR: an empty, unaligned (to a page, host
 * and guest both) or wrapping range, unknown flags, one that overlaps
 * another entry (named), or a full table.
 */
int memslot_add(struct memslot_table *t, const char *name, uint64_t gpa,
		uint64_t size, void *host, uint32_t flags, char *err,
		size_t errlen);

/* The entry holding all of [GPA, GPA+LEN), or NULL. */
const struct memslot *memslot_find(const struct memslot_table *t, uint64_t gpa,
				   uint64_t len);

#endif
