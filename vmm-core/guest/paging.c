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
#include "kernel.h"

#define PAGING_PAGE 4096u

uint64_t paging_pml4[512] __attribute__((aligned(PAGING_PAGE)));
uint64_t paging_pdpt[512] __attribute__((aligned(PAGING_PAGE)));
uint64_t paging_pd[PAGING_PD_COUNT][512] __attribute__((aligned(PAGING_PAGE)));
static uint64_t paging_pt0[512] __attribute__((aligned(PAGING_PAGE)));

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
