/*
 * guestmem: the guest's RAM, one memfd mapped once in the monitor and split
 * into at most two KVM slots around the 32-bit MMIO hole:
 *
 *   [0, min(size, GUESTMEM_HOLE_START))            slot 0
 *   [4 GiB, 4 GiB + size - GUESTMEM_HOLE_START)    slot 1, if size > 3 GiB
 *
 * Everything from GUESTMEM_HOLE_START to 4 GiB is left unbacked for devices
 * (IOAPIC 0xfec00000, LAPIC 0xfee00000, later the framebuffer).
 */
#ifndef VMGATE_GUESTMEM_H
#define VMGATE_GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

#define GUESTMEM_HOLE_START 0xc0000000ULL
#define GUESTMEM_HIGH_START 0x100000000ULL
#define GUESTMEM_MIN (16ULL << 20)
#define GUESTMEM_MAX (64ULL << 30)

struct guestmem {
	int fd;		  /* memfd, owned */
	uint8_t *host;	  /* mapping of all of it, owned */
	uint64_t size;	  /* total bytes of RAM */
	uint64_t low_end; /* end of RAM below the hole */
};

/* Creates SIZE bytes of zeroed RAM. Returns 0 or -errno. */
int guestmem_create(struct guestmem *gm, uint64_t size);
void guestmem_destroy(struct guestmem *gm);

/*
 * Host pointer for [gpa, gpa+len) if that range is RAM in one piece,
 * else NULL.  Every guest-supplied address goes through here.
 */
void *guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len);

/* Zeroes all of RAM (for a reset); returns 0 or -errno. */
int guestmem_clear(struct guestmem *gm);

/* Parses "64M", "1G", "65536K", "1048576" into bytes; -1 when malformed. */
int guestmem_parse_size(const char *s, uint64_t *out);

#endif
