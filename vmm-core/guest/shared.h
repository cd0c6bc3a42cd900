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

/* What keeps shared.ticks (clock.c). */
enum shared_clock {
	SHARED_CLOCK_PIT, /* PIT interrupts, counted; a tick even when idle */
	SHARED_CLOCK_KVM, /* kvmclock; the idle guest sleeps to a deadline */
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

/* Why there is no display (fb.c fills this in; `display` prints it). */
enum shared_fb_status {
	SHARED_FB_OK,
	SHARED_FB_NONE,	    /* no Bochs DISPI at 0x1ce/0x1cf (ID not 0xb0c5) */
	SHARED_FB_BAD_MODE, /* DISPI present, but not 32 bpp LFB */
	SHARED_FB_BAD_SIZE, /* geometry out of range (see fb.h) */
};

/*
 * The framebuffer, once ring 0 has checked its geometry and mapped it
 * into ring 3's pages (paging.c): 32 bpp XRGB, `stride` pixels per row.
 * Ring 3 draws only inside width x height.
 */
struct shared_fb {
	enum shared_fb_status status;
	uint32_t *base; /* virtual == physical (FB_PHYS) */
	uint32_t width, height, stride;
	uint32_t bpp, id; /* as read, for `display` when unusable */
	/* display=WxH on the command line (bootinfo.c); 0: the default. */
	uint32_t set_width, set_height;
};

/* The PS/2 mouse as ring 0 accumulates it from its packets (i8042.c). */
struct shared_mouse {
	bool present;		   /* the aux port acknowledged "enable" */
	volatile int32_t x, y;	   /* clamped to the screen */
	volatile uint32_t buttons; /* SHARED_MOUSE_LEFT | ... */
	volatile uint32_t packets; /* complete packets since boot */
};
#define SHARED_MOUSE_LEFT 0x1
#define SHARED_MOUSE_RIGHT 0x2
#define SHARED_MOUSE_MIDDLE 0x4

struct shared {
	volatile uint64_t ticks; /* time since boot in 1/PIT_HZ s (clock.h) */
	enum shared_clock clock;
	volatile uint64_t idle_wakeups; /* hlt wake-ups in idle waits */
	uint32_t uart_fifo_depth;	/* bytes ring 3 may write per THRE */
	enum shared_memmap_status memmap_status;
	uint32_t memmap_total; /* entries the loader gave, may exceed MAX */
	uint32_t memmap_count; /* entries copied below */
	struct shared_memmap_entry memmap[SHARED_MEMMAP_MAX];
	uint64_t ram_bytes; /* sum of type-1 (RAM) entries */
	bool syscall_trap;  /* booted with syscall=trap: the gate is DPL 0 */
	volatile uint64_t syscalls[SHARED_SYSCALL_ROUTES]; /* calls per route */
	struct shared_rx rx;
	struct shared_fb fb;
	bool keyboard; /* an i8042 answered; keys arrive in rx */
	struct shared_mouse mouse;
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
