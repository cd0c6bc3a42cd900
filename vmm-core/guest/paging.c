/*
 * paging.c - finishes the page tables boot.S started.
 *
 * Ring 3 gets exactly the pages guest.ld puts between __user_text_start and
 * __user_data_end: user text and read-only data (not writable by ring 3),
 * then user data, bss and stack. Everything else, including the page tables
 * and the IDT, stays supervisor-only, so a bug in the shell ends in a page
 * fault report instead of a corrupted kernel. Page 0 is left unmapped to
 * catch NULL pointers in either ring.
 *
 * Ring 0 still calls shared helpers (fmt, mem) that live in user pages:
 * without CR4.SMEP, which this guest never sets, that is allowed.
 */
#include "paging.h"
#include "cpu.h"
#include "fb.h"
#include "kernel.h"

#define PAGING_PAGE 4096u
#define PAGING_LARGE (512u * PAGING_PAGE)
/* Page tables for the biggest framebuffer: 2 MiB each. */
#define PAGING_USER_PTS ((FB_MAX_BYTES + PAGING_LARGE - 1) / PAGING_LARGE)

uint64_t paging_pml4[512] __attribute__((aligned(PAGING_PAGE)));
uint64_t paging_pdpt[512] __attribute__((aligned(PAGING_PAGE)));
uint64_t paging_pd[PAGING_PD_COUNT][512] __attribute__((aligned(PAGING_PAGE)));
static uint64_t paging_pt0[512] __attribute__((aligned(PAGING_PAGE)));
static uint64_t paging_user_pt[PAGING_USER_PTS][512]
    __attribute__((aligned(PAGING_PAGE)));

void
paging_init(void)
{
	uintptr_t utext = (uintptr_t)__user_text_start;
	uintptr_t udata = (uintptr_t)__user_data_start;
	uintptr_t uend = (uintptr_t)__user_data_end;

	for (unsigned i = 0; i < 512; i++) {
		uintptr_t addr = (uintptr_t)i * PAGING_PAGE;
		uint64_t flags = PAGING_P | PAGING_RW;

		if (addr == 0)
			flags = 0;
		else if (addr >= utext && addr < udata)
			flags = PAGING_P | PAGING_U;
		else if (addr >= udata && addr < uend)
			flags = PAGING_P | PAGING_RW | PAGING_U;
		paging_pt0[i] = addr | flags;
	}
	/* Upper levels carry U too (boot.S set it on the PML4 and PDPT
	 * entries); access is allowed only where every level says so. */
	paging_pd[0][0] =
	    (uintptr_t)paging_pt0 | PAGING_P | PAGING_RW | PAGING_U;
	cpu_write_cr3((uintptr_t)paging_pml4);
}

void
paging_map_user(uint64_t phys, uint64_t bytes)
{
	uint64_t hole = (uint64_t)PAGING_UNCACHED_FROM_PDE * PAGING_LARGE;
	uint64_t top = (uint64_t)PAGING_PD_COUNT * 512 * PAGING_LARGE;
	uint64_t pages = (bytes + PAGING_PAGE - 1) / PAGING_PAGE;
	uint64_t first = phys / PAGING_LARGE;
	uint64_t pts = (pages + 511) / 512;

	if (phys % PAGING_LARGE != 0 || phys < hole || bytes == 0 ||
	    bytes > FB_MAX_BYTES || phys + bytes > top)
		return;
	for (uint64_t t = 0; t < pts; t++) {
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t page = t * 512 + i;
			uint64_t addr = phys + page * PAGING_PAGE;

			paging_user_pt[t][i] =
			    page < pages
				? addr | PAGING_P | PAGING_RW | PAGING_U
				: 0;
		}
		paging_pd[(first + t) / 512][(first + t) % 512] =
		    (uintptr_t)paging_user_pt[t] | PAGING_P | PAGING_RW |
		    PAGING_U;
	}
	cpu_write_cr3((uintptr_t)paging_pml4);
}
