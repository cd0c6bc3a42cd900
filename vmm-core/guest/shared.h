/*
 * shared.h - what ring 0 publishes to ring 3.
 *
 * shared.c is linked into the user image, so this lives in user-accessible
 * pages. Ring 0 is the only writer except for rx.tail, which ring 3 advances
 * as it consumes input. Ring 0 never trusts the indices for more than a
 * masked array index, so a ring-3 bug can lose input but not corrupt ring 0.
 */
#ifndef GUEST_SHARED_H
#define GUEST_SHARED_H

#include <stdbool.h>
#include <stdint.h>

#define SHARED_MEMMAP_MAX 32
#define SHARED_RX_SIZE 4096   /* entries; a power of two */
#define SHARED_RX_BREAK 0x100 /* rx entry: a break condition, not a byte */

/* Why the memory map may be missing (bootinfo.c fills this in). */
enum shared_memmap_status {
	SHARED_MEMMAP_OK,
	SHARED_MEMMAP_BAD_MAGIC,   /* %ebx did not point at hvm_start_info */
	SHARED_MEMMAP_NO_MEMMAP,   /* version 0, no entries or absurdly many */
	SHARED_MEMMAP_UNREACHABLE, /* table above 4 GiB, not mapped */
};

/* How an `int $0x80` from ring 3 reached ring 0 (see trap.c). */
enum shared_syscall_route {
	SHARED_SYSCALL_GATE, /* through the DPL-3 gate at vector 0x80 */
	SHARED_SYSCALL_UD,   /* as #UD at the `cd 80` (PVM hosts) */
	SHARED_SYSCALL_GP,   /* as #GP: the gate is DPL 0 (syscall=trap) */
	SHARED_SYSCALL_ROUTES
};

struct shared_memmap_entry {
	uint64_t base;
	uint64_t size;
	uint32_t type; /* e820 numbering: 1 RAM, 2 reserved, 3 ACPI, ... */
};

struct shared_rx {
	volatile uint32_t head; /* written by ring 0 */
	volatile uint32_t tail; /* written by ring 3 */
	uint32_t dropped;	/* entries lost because the ring was full */
	uint16_t buf[SHARED_RX_SIZE];
};

struct shared {
	volatile uint64_t ticks;  /* PIT interrupts since boot (PIT_HZ) */
	uint32_t uart_fifo_depth; /* bytes ring 3 may write per THRE */
	enum shared_memmap_status memmap_status;
	uint32_t memmap_total; /* entries the loader gave, may exceed MAX */
	uint32_t memmap_count; /* entries copied below */
	struct shared_memmap_entry memmap[SHARED_MEMMAP_MAX];
	uint64_t ram_bytes; /* sum of type-1 (RAM) entries */
	bool syscall_trap;  /* booted with syscall=trap: the gate is DPL 0 */
	volatile uint64_t syscalls[SHARED_SYSCALL_ROUTES]; /* calls per route */
	struct shared_rx rx;
};

extern struct shared shared;

/* Ring 0, interrupts off: append a byte or SHARED_RX_BREAK; drops when full. */
void shared_rx_push(uint16_t v);
/* Either ring: is there unread input? */
bool shared_rx_full(void);
bool shared_rx_empty(void);
/* Ring 3: next entry, or -1 when empty. */
int shared_rx_pop(void);

#endif
