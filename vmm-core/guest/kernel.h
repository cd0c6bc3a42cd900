/*
 * kernel.h - ring-0 start-up, and the symbols boot.S and guest.ld provide.
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdint.h>

/* Top of the 16 KiB ring-0 stack: the boot stack, later the TSS RSP0. */
extern char kernel_stack_top[];

/* guest.ld: the page-aligned user image (see paging.c). */
extern char __user_text_start[], __user_data_start[], __user_data_end[];

/* Called by boot.S in 64-bit mode; never returns (drops to ring 3). */
__attribute__((noreturn)) void kernel_main(uint32_t start_info_paddr);

#endif
