/*
 * bootinfo.h - reads the PVH struct hvm_start_info the loader left us.
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stdint.h>

/*
 * Copies the memory map into `shared` (shared.h) for ring 3 and sums the
 * RAM. Never fails: problems end up in shared.memmap_status, which the
 * shell reports.
 *
 * Also reads the command line (hvm_start_info.cmdline_paddr). One word is
 * understood, the rest ignored:
 *   syscall=trap  shared.syscall_trap = true: kernel_main() gives the
 *                 int $0x80 gate DPL 0, so system calls take the fault
 *                 route PVM hosts need (idt.h), on any host.
 *   display=WxH   the mode fb.c sets on a display it finds disabled
 *                 (QEMU's isa-vga; default 1024x768), W <= 4096, H <=
 *                 2160. A VMM that presents an enabled mode keeps its own.
 */
void bootinfo_init(uint32_t start_info_paddr);

#endif
