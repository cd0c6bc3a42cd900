/*
 * paging.h - the guest's page tables. Included from assembly.
 *
 * One identity map of the first 4 GiB: boot.S builds it from 2 MiB pages,
 * all supervisor-only, to get into long mode; paging_init() then replaces
 * the first 2 MiB with 4 KiB pages so that exactly the user image (see
 * guest.ld) carries the U bit.
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#define PAGING_P 0x001	 /* present */
#define PAGING_RW 0x002	 /* writable */
#define PAGING_U 0x004	 /* ring 3 may access */
#define PAGING_PWT 0x008 /* write-through */
#define PAGING_PCD 0x010 /* cache disable */
#define PAGING_PS 0x080	 /* 2 MiB page (in a page directory) */

#define PAGING_PD_COUNT 4 /* page directories: 4 x 1 GiB */
/* 3-4 GiB holds the MMIO hole (LAPIC, IOAPIC, devices): map it uncached. */
#define PAGING_UNCACHED_FROM_PDE (3 * 512)

#ifndef __ASSEMBLER__
#include <stdint.h>

extern uint64_t paging_pml4[512];
extern uint64_t paging_pdpt[512];
extern uint64_t paging_pd[PAGING_PD_COUNT][512];

/* Switch the first 2 MiB to 4 KiB pages with user/supervisor split. */
void paging_init(void);
/*
 * Give ring 3 read/write access to [phys, phys + bytes), in 4 KiB pages,
 * write-back, identity-mapped: the framebuffer (fb.c). phys must be 2 MiB
 * aligned, in the 3-4 GiB hole, and bytes at most FB_MAX_BYTES; anything
 * else maps nothing. The rest of the 2 MiB pages it touches becomes
 * not-present.
 */
void paging_map_user(uint64_t phys, uint64_t bytes);
#endif

#endif
