/*
 * bootinfo.c - the PVH start-of-day information.
 *
 * Layout from Xen's public ABI (xen/include/public/arch-x86/hvm/start_info.h),
 * written out here as the guest's own definitions. Version 0 stops after
 * rsdp_paddr; version 1 adds the memory map. The guest needs no RAM beyond
 * its own image, so a missing map only makes `mem` less informative. The
 * command line (both versions) may carry flags for testing (bootinfo.h).
 */
#include "bootinfo.h"
#include "fb.h"
#include "shared.h"

#include <stdbool.h>
#include <stddef.h>

#define BOOTINFO_MAGIC 0x336ec578
#define BOOTINFO_E820_RAM 1
#define BOOTINFO_MAPPED_LIMIT (4ull << 30) /* boot.S maps the first 4 GiB */
/* Far above any real map; keeps a garbage count from looping for minutes
 * of emulated ring-0 time. */
#define BOOTINFO_MAX_ENTRIES 1024
/* Longest command line looked at; vmgate-vmm's limit is 4095 + NUL. */
#define BOOTINFO_CMDLINE_MAX 4096

struct bootinfo_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct bootinfo_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Which word of the command line sets what; see bootinfo.h. */
static const struct {
	const char *word;
	bool *flag;
} bootinfo_flags[] = {
    {"syscall=trap", &shared.syscall_trap},
};

/* Does the word of length n at w equal the NUL-terminated s? */
static bool
bootinfo_word_is(const char *w, size_t n, const char *s)
{
	size_t i = 0;

	for (; i < n && s[i] != '\0'; i++)
		if (w[i] != s[i])
			return false;
	return i == n && s[i] == '\0';
}

/* display=WxH: the mode fb.c sets on a display it finds disabled. */
#define BOOTINFO_DISPLAY "display="

/* Decimal digits at *p (advanced past them), at most max; false if none,
 * or too big. */
static bool
bootinfo_number(const char **p, const char *end, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > max)
			return false;
	}
	*p = s;
	*out = v;
	return true;
}

/* A malformed or out-of-range display= is ignored like an unknown word. */
static void
bootinfo_display(const char *w, size_t n)
{
	size_t k = sizeof(BOOTINFO_DISPLAY) - 1;
	const char *p = w + k, *end = w + n;
	uint32_t width, height;

	if (n <= k || !bootinfo_word_is(w, k, BOOTINFO_DISPLAY))
		return;
	if (!bootinfo_number(&p, end, FB_MAX_WIDTH, &width) || p == end ||
	    *p++ != 'x' || !bootinfo_number(&p, end, FB_MAX_HEIGHT, &height) ||
	    p != end || width == 0 || height == 0)
		return;
	shared.fb.set_width = width;
	shared.fb.set_height = height;
}

/*
 * Space-separated words; unknown ones are ignored, as a kernel ignores
 * parameters meant for someone else. The line is NUL-terminated, but at
 * most BOOTINFO_CMDLINE_MAX bytes are looked at whatever the loader left.
 */
static void
bootinfo_cmdline(const struct bootinfo_start_info *si)
{
	const char *p;
	size_t i = 0;

	if (si->cmdline_paddr == 0 ||
	    si->cmdline_paddr >= BOOTINFO_MAPPED_LIMIT - BOOTINFO_CMDLINE_MAX)
		return;
	p = (const char *)(uintptr_t)si->cmdline_paddr;
	while (i < BOOTINFO_CMDLINE_MAX && p[i] != '\0') {
		size_t start;

		if (p[i] == ' ' || p[i] == '\t') {
			i++;
			continue;
		}
		for (start = i; i < BOOTINFO_CMDLINE_MAX && p[i] != '\0' &&
				p[i] != ' ' && p[i] != '\t';
		     i++)
			;
		for (size_t f = 0;
		     f < sizeof(bootinfo_flags) / sizeof(bootinfo_flags[0]);
		     f++)
			if (bootinfo_word_is(p + start, i - start,
					     bootinfo_flags[f].word))
				*bootinfo_flags[f].flag = true;
		bootinfo_display(p + start, i - start);
	}
}

static void
bootinfo_memmap(const struct bootinfo_start_info *si)
{
	const struct bootinfo_memmap_entry *map;
	uint64_t bytes;

	if (si->version < 1 || si->memmap_entries == 0 ||
	    si->memmap_entries > BOOTINFO_MAX_ENTRIES) {
		shared.memmap_status = SHARED_MEMMAP_NO_MEMMAP;
		return;
	}
	bytes = (uint64_t)si->memmap_entries * sizeof(*map);
	if (si->memmap_paddr >= BOOTINFO_MAPPED_LIMIT ||
	    bytes > BOOTINFO_MAPPED_LIMIT - si->memmap_paddr) {
		shared.memmap_status = SHARED_MEMMAP_UNREACHABLE;
		return;
	}

	map = (const void *)(uintptr_t)si->memmap_paddr;
	shared.memmap_total = si->memmap_entries;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (map[i].type == BOOTINFO_E820_RAM)
			shared.ram_bytes += map[i].size;
		if (i < SHARED_MEMMAP_MAX) {
			shared.memmap[i].base = map[i].addr;
			shared.memmap[i].size = map[i].size;
			shared.memmap[i].type = map[i].type;
			shared.memmap_count = i + 1;
		}
	}
	shared.memmap_status = SHARED_MEMMAP_OK;
}

void
bootinfo_init(uint32_t start_info_paddr)
{
	const struct bootinfo_start_info *si =
	    (const void *)(uintptr_t)start_info_paddr;

	if (si->magic != BOOTINFO_MAGIC) {
		shared.memmap_status = SHARED_MEMMAP_BAD_MAGIC;
		return;
	}
	bootinfo_cmdline(si);
	bootinfo_memmap(si);
}
