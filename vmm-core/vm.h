/*
 * vm: one KVM virtual machine: guest RAM, the in-kernel irqchip and PIT,
 * the monitor's devices (COM1, i8042, the power register, pvpanic), the
 * ACPI and MP tables (boot.h) and one thread per vCPU.
 *
 * Faults are states, not crashes: whatever a vCPU meets (triple fault,
 * emulation failure, failed entry, a guest reboot or power-off request,
 * a pvpanic PANICKED write) is recorded as one struct vm_event and
 * signalled on vm->event_fd; the owner (the monitor's I/O loop) decides
 * what happens next: vm_stop(), then vm_start() again for a reset, or
 * exit.  Nothing a guest does exits the process.
 *
 * Threads: vm_start() spawns the vCPU threads; vm_stop() kicks them out of
 * KVM_RUN and joins them.  vm_pause()/vm_resume() park them.  Those three
 * are called from the owner's thread only.
 */
#ifndef VMGATE_VM_H
#define VMGATE_VM_H

#include "boot.h"
#include "bus.h"
#include "console.h"
#include "dispi.h"
#include "display.h"
#include "guestmem.h"
#include "i8042.h"
#include "loader.h"
#include "memslot.h"
#include "pmreg.h"
#include "pvpanic.h"
#include "uart8250.h"
#include "vmstate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define VM_MAX_CPUS 64

struct vm_event {
	enum vmstate
	    state; /* what the VM is now: STOPPED, REBOOTING, CRASHED */
	enum vmstate_reason reason;
	int cpu;
	uint64_t rip;
	char detail[160];
};

struct vm_config {
	uint64_t mem;
	int ncpus;
	const char *kernel_path;
	const uint8_t *kernel; /* whole image, owned by the caller */
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline;	       /* may be NULL */
	size_t console_buffer;	       /* guest output kept for a slow reader */
	uint32_t display_w, display_h; /* 0: no display */
};

struct vm;

struct vm_vcpu {
	struct vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
	atomic_int dump_req;	  /* vm_dump(): report registers once */
	uint64_t exits, io_exits; /* KVM_RUN returns since start */
};

struct vm {
	struct vm_config cfg;
	struct loader_image image;
	int kvm_fd, vm_fd;
	int tsc_deadline; /* KVM emulates the TSC-deadline timer */
	size_t run_size;
	struct guestmem mem;
	struct memslot_table slots; /* given to every fresh KVM VM */
	struct bus bus;		    /* every device below, reset on reboot */
	struct console console;
	struct uart8250 uart;
	struct i8042 i8042;
	struct pmreg pmreg;
	struct pvpanic pvpanic;
	struct dispi dispi;
	struct display display; /* valid if has_display */
	int has_display;
	int fb_slot;	      /* its memslot */
	unsigned display_gen; /* bumped when a start blanks the screen */
	struct i8042_abs vnc_pointer; /* VNC's pointer as the mouse has it */
	unsigned vnc_buttons;	      /* VNC's button mask last seen */
	struct vm_vcpu vcpu[VM_MAX_CPUS];

	atomic_int stopping;  /* vCPUs must leave KVM_RUN and exit */
	pthread_mutex_t lock; /* guards paused, event */
	pthread_cond_t unpause;
	int paused;
	int have_event;
	struct vm_event event; /* the first terminal event since start */
	int event_fd;	       /* eventfd, readable when have_event */
	int rx_space_fd;       /* eventfd: the UART can take input again */
	enum vmstate state;    /* owner's view */
};

/*
 * Opens /dev/kvm, checks the image against the configuration and creates
 * the VM and its devices (no vCPU runs yet).  Returns 0, or -1 with a
 * message in ERR that a user can act on.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, char *err,
	      size_t errlen);
void vm_destroy(struct vm *vm);

/*
 * Each running vCPU writes one line to stderr, soon (it is kicked out of
 * KVM_RUN): registers, privilege level and exit counts. For a guest that
 * seems stuck; callable from the owner's thread.
 */
void vm_dump(struct vm *vm);

/* Loads the kernel into fresh memory and starts the vCPUs. */
int vm_start(struct vm *vm, char *err, size_t errlen);

/* Stops and joins all vCPUs; the VM can be started again. */
void vm_stop(struct vm *vm);

void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/* Takes the pending terminal event, if any.  Returns 1 if there was one. */
int vm_take_event(struct vm *vm, struct vm_event *ev);

/*
 * The framebuffer's pages written since the last call (display_pages()
 * bits), from KVM's dirty log.  Owner's thread.  Returns 0, or -1 if there
 * is no display or no running KVM VM (BITMAP is then all ones, so the
 * caller re-checks everything).
 */
int vm_display_dirty(struct vm *vm, uint64_t *bitmap);

#endif
