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
 */
void bootinfo_init(uint32_t start_info_paddr);

#endif
