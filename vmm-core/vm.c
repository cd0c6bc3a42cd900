#include "vm.h"
#include "errmsg.h"

#include "acpi.h"
#include "mptable.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* A signal no one sends to the monitor: the vCPU threads leave it unblocked,
 * so a process-directed one lands there. With SIGUSR1 (the screenshot
 * request, read from a signalfd by the main thread) a vCPU thread took
 * about one request in three on a PVM host, and the screenshot never came. */
#define KICK_SIGNAL SIGRTMIN
#define TSS_ADDR 0xfffbd000ULL
#define IDENTITY_MAP_ADDR 0xfffbc000ULL
#define LAPIC_LVT0 0x350
#define LAPIC_LVT1 0x360
#define APIC_MODE_NMI 0x400
#define APIC_MODE_EXTINT 0x700
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)

/* The tables announce every vCPU the monitor may create. */
_Static_assert(VM_MAX_CPUS <= ACPI_MAX_CPUS && VM_MAX_CPUS <= MPTABLE_MAX_CPUS,
	       "ACPI and MP tables must cover VM_MAX_CPUS");

/* The vCPU this thread runs, for devices that report which one acted. */
static _Thread_local struct vm_vcpu *this_vcpu;

static void
kick_all(struct vm *vm)
{
	for (int i = 0; i < vm->cfg.ncpus; i++) {
		struct vm_vcpu *v = &vm->vcpu[i];
		if (!v->started)
			continue;
		/* immediate_exit covers a kick that lands just before
		 * KVM_RUN; the signal covers one already inside it. */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, KICK_SIGNAL);
	}
}

/*
 * Records a terminal event (the first one wins: after a triple fault on one
 * CPU the others' exits are consequences) and stops every vCPU.
 */
static void
post_event(struct vm *vm, enum vmstate state, enum vmstate_reason reason,
	   int cpu, uint64_t rip, const char *fmt, ...)
{
	int first = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->have_event) {
		va_list ap;
		vm->have_event = first = 1;
		vm->event = (struct vm_event){state, reason, cpu, rip, ""};
		va_start(ap, fmt);
		vsnprintf(vm->event.detail, sizeof(vm->event.detail), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->lock);
	if (first) {
		atomic_store(&vm->stopping, 1);
		kick_all(vm);
		uint64_t one = 1;
		(void)!write(vm->event_fd, &one, sizeof(one));
	}
}

int
vm_take_event(struct vm *vm, struct vm_event *ev)
{
	int have;
	uint64_t drain;

	(void)!read(vm->event_fd, &drain, sizeof(drain));
	pthread_mutex_lock(&vm->lock);
	have = vm->have_event;
	if (have)
		*ev = vm->event;
	pthread_mutex_unlock(&vm->lock);
	return have;
}

/* Device callbacks. */

/* The bus's interrupt line: the in-kernel irqchip (PIC and IOAPIC). */
static void
vm_irq(void *opaque, int line, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = {.irq = (uint32_t)line, .level = level};

	ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq);
}

static size_t
uart_tx_room(void *opaque)
{
	return console_tx_room(&((struct vm *)opaque)->console);
}

static void
uart_tx(void *opaque, uint8_t byte)
{
	console_put(&((struct vm *)opaque)->console, byte);
}

static void
uart_rx_space(void *opaque)
{
	uint64_t one = 1;

	(void)!write(((struct vm *)opaque)->rx_space_fd, &one, sizeof(one));
}

static const struct uart8250_ops uart_ops = {
    .tx_room = uart_tx_room,
    .tx = uart_tx,
    .rx_space = uart_rx_space,
};

static void
i8042_reset(void *opaque)
{
	post_event(opaque, VMSTATE_REBOOTING, VMSTATE_REASON_GUEST_REBOOT, -1,
		   0, "keyboard controller reset line");
}

static void
pm_event(void *opaque, enum pmreg_event ev)
{
	if (ev == PMREG_POWEROFF)
		post_event(opaque, VMSTATE_STOPPED,
			   VMSTATE_REASON_GUEST_POWEROFF, -1, 0, "ACPI S5");
	else
		post_event(opaque, VMSTATE_REBOOTING,
			   VMSTATE_REASON_GUEST_REBOOT, -1, 0,
			   "ACPI reset register");
}

static uint64_t vcpu_rip(struct vm_vcpu *v);

static void
panic_event(void *opaque, enum pvpanic_event ev)
{
	struct vm *vm = opaque;
	struct vm_vcpu *v = this_vcpu;

	if (ev == PVPANIC_EVENT_CRASH_LOADED) {
		/* A crash kernel takes over: the guest goes on. */
		fprintf(stderr,
			"vmgate-vmm: guest panicked on cpu %d; its crash "
			"kernel (kdump) takes over\n",
			v != NULL ? v->index : -1);
		return;
	}
	post_event(vm, VMSTATE_CRASHED, VMSTATE_REASON_GUEST_PANIC,
		   v != NULL ? v->index : -1, v != NULL ? vcpu_rip(v) : 0,
		   "pvpanic: PANICKED");
}

/* vCPU setup. */

static int
setup_cpuid(struct vm *vm, struct vm_vcpu *v, char *err, size_t errlen)
{
	struct kvm_cpuid2 *c = NULL;
	int nent = 64, r = -1;

	for (;;) {
		free(c);
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (c == NULL)
			return errmsg(err, errlen, "out of memory");
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		if (errno != E2BIG || nent >= 1024) {
			errmsg(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s",
			       strerror(errno));
			goto out;
		}
		nent *= 2;
	}
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ecx |= 1U << 31; /* running under a hypervisor */
			/* KVM emulates it but leaves the bit to us.  A
			 * hardware-reduced ACPI Linux sets up no PIT or HPET
			 * timer and needs it for its local APIC timer. */
			if (vm->tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			e->ebx = (e->ebx & 0x00ffffff) | (uint32_t)v->index
							     << 24;
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)v->index; /* x2APIC id */
			break;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) != 0) {
		errmsg(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(c);
	return r;
}

static int
setup_lapic(struct vm_vcpu *v, char *err, size_t errlen)
{
	struct kvm_lapic_state l;
	uint32_t lvt0, lvt1;

	if (ioctl(v->fd, KVM_GET_LAPIC, &l) != 0)
		return errmsg(err, errlen, "KVM_GET_LAPIC: %s",
			      strerror(errno));
	/* As a PC BIOS leaves it: the 8259 behind LINT0, NMI on LINT1. */
	memcpy(&lvt0, l.regs + LAPIC_LVT0, 4);
	memcpy(&lvt1, l.regs + LAPIC_LVT1, 4);
	lvt0 = (lvt0 & ~0x1f700U) | APIC_MODE_EXTINT;
	lvt1 = (lvt1 & ~0x1f700U) | APIC_MODE_NMI;
	memcpy(l.regs + LAPIC_LVT0, &lvt0, 4);
	memcpy(l.regs + LAPIC_LVT1, &lvt1, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) != 0)
		return errmsg(err, errlen, "KVM_SET_LAPIC: %s",
			      strerror(errno));
	return 0;
}

static void
flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	*s = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .s = 1,
	    .db = code64 ? 0 : 1,
	    .l = code64 ? 1 : 0,
	    .g = 1,
	};
}

static int
setup_boot_cpu(struct vm_vcpu *v, const struct boot_entry *be, char *err,
	       size_t errlen)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_fpu fpu;
	int long64 = be->mode == BOOT_MODE_LONG64;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) != 0)
		return errmsg(err, errlen, "KVM_GET_SREGS: %s",
			      strerror(errno));
	flat_segment(&s.cs, long64 ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32, 0xb,
		     long64);
	flat_segment(&s.ds, BOOT_SEL_DATA, 0x3, 0);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){
	    .selector = BOOT_SEL_TSS, .limit = 0x67, .type = 0xb, .present = 1};
	s.gdt.base = BOOT_GDT;
	s.gdt.limit = 6 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	if (long64) {
		s.cr0 = 0x80000011; /* PG, ET, PE */
		s.cr3 = be->cr3;
		s.cr4 = 0x20;	/* PAE */
		s.efer = 0x500; /* LMA, LME */
	} else {
		s.cr0 = 0x11; /* ET, PE: paging off */
		s.cr3 = 0;
		s.cr4 = 0;
		s.efer = 0;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &s) != 0)
		return errmsg(err, errlen, "KVM_SET_SREGS: %s",
			      strerror(errno));

	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = be->rip;
	r.rbx = be->rbx;
	r.rsi = be->rsi;
	r.rsp = r.rbp = long64 ? 0x8ff0 : 0;
	if (ioctl(v->fd, KVM_SET_REGS, &r) != 0)
		return errmsg(err, errlen, "KVM_SET_REGS: %s", strerror(errno));

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) != 0)
		return errmsg(err, errlen, "KVM_SET_FPU: %s", strerror(errno));
	return 0;
}

static uint64_t
vcpu_rip(struct vm_vcpu *v)
{
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_REGS, &r) != 0)
		return 0;
	return r.rip;
}

static void
dump_vcpu(struct vm_vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) != 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) != 0) {
		fprintf(stderr, "vmgate-vmm: cpu %d: registers: %s\n", v->index,
			strerror(errno));
		return;
	}
	fprintf(stderr,
		"vmgate-vmm: cpu %d: rip 0x%llx rsp 0x%llx rflags 0x%llx "
		"cs 0x%x cpl %u cr0 0x%llx cr3 0x%llx rax 0x%llx rcx 0x%llx "
		"rdx 0x%llx; %llu exits since start, %llu for port I/O\n",
		v->index, (unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags, s.cs.selector, s.cs.dpl,
		(unsigned long long)s.cr0, (unsigned long long)s.cr3,
		(unsigned long long)r.rax, (unsigned long long)r.rcx,
		(unsigned long long)r.rdx, (unsigned long long)v->exits,
		(unsigned long long)v->io_exits);
}

static void
handle_io(struct vm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	int is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* A string instruction arrives as COUNT accesses in one exit. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		bus_access(&vm->bus, BUS_PIO, run->io.port, data, run->io.size,
			   is_write);
}

static void
handle_mmio(struct vm *vm, struct kvm_run *run)
{
	uint32_t len = run->mmio.len <= 8 ? run->mmio.len : 8;

	bus_access(&vm->bus, BUS_MMIO, run->mmio.phys_addr, run->mmio.data, len,
		   run->mmio.is_write);
}

static void *
vcpu_thread(void *arg)
{
	struct vm_vcpu *v = arg;
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;

	this_vcpu = v;
	while (!atomic_load(&vm->stopping)) {
		pthread_mutex_lock(&vm->lock);
		while (vm->paused && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->unpause, &vm->lock);
		pthread_mutex_unlock(&vm->lock);
		if (atomic_load(&vm->stopping))
			break;

		int ran = ioctl(v->fd, KVM_RUN, 0);
		v->exits++;
		if (atomic_exchange(&v->dump_req, 0))
			dump_vcpu(v);
		if (ran != 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&run->immediate_exit, 0,
						 __ATOMIC_SEQ_CST);
				continue;
			}
			post_event(vm, VMSTATE_CRASHED,
				   VMSTATE_REASON_UNHANDLED_IO, v->index,
				   vcpu_rip(v), "KVM_RUN: %s", strerror(errno));
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			v->io_exits++;
			handle_io(vm, run);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(vm, run);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			post_event(vm, VMSTATE_CRASHED,
				   VMSTATE_REASON_TRIPLE_FAULT, v->index,
				   vcpu_rip(v), "CPU shutdown (triple fault)");
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			post_event(vm, VMSTATE_CRASHED,
				   VMSTATE_REASON_INTERNAL_ERROR, v->index,
				   vcpu_rip(v), "suberror %u%s",
				   run->internal.suberror,
				   run->internal.suberror ==
					   KVM_INTERNAL_ERROR_EMULATION
				       ? " (instruction emulation failed)"
				       : "");
			break;
		case KVM_EXIT_FAIL_ENTRY:
			post_event(
			    vm, VMSTATE_CRASHED, VMSTATE_REASON_ENTRY_FAILURE,
			    v->index, vcpu_rip(v), "hardware reason 0x%llx",
			    (unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				post_event(vm, VMSTATE_REBOOTING,
					   VMSTATE_REASON_GUEST_REBOOT,
					   v->index, vcpu_rip(v),
					   "system reset");
			else
				post_event(vm, VMSTATE_STOPPED,
					   VMSTATE_REASON_GUEST_POWEROFF,
					   v->index, vcpu_rip(v),
					   "system event %u",
					   run->system_event.type);
			break;
		default:
			post_event(vm, VMSTATE_CRASHED,
				   VMSTATE_REASON_UNHANDLED_IO, v->index,
				   vcpu_rip(v), "KVM exit reason %u",
				   run->exit_reason);
			break;
		}
	}
	return NULL;
}

static void
kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

static int
create_devices(struct vm *vm, char *err, size_t errlen)
{
	int r;

	if ((r = console_init(&vm->console, vm->cfg.console_buffer)) != 0)
		return errmsg(err, errlen, "--console-buffer: %s",
			      r == -EINVAL ? "must be 4K to 64M"
					   : strerror(-r));
	bus_init(&vm->bus, vm_irq, vm);
	uart8250_init(&vm->uart, &uart_ops, vm);
	i8042_init(&vm->i8042, i8042_reset, vm);
	pmreg_init(&vm->pmreg, pm_event, vm);
	pvpanic_init(&vm->pvpanic, panic_event, vm);
	if (bus_register(&vm->bus, BUS_PIO, UART8250_COM1_BASE, 8,
			 &vm->uart.dev) != 0 ||
	    i8042_register(&vm->i8042, &vm->bus) != 0 ||
	    bus_register(&vm->bus, BUS_PIO, PMREG_PORT, 1, &vm->pmreg.dev) !=
		0 ||
	    bus_register(&vm->bus, BUS_PIO, PVPANIC_PORT, 1,
			 &vm->pvpanic.dev) != 0)
		return errmsg(err, errlen, "device ports overlap");
	if (vm->has_display) {
		struct display *d = &vm->display;
		dispi_init(&vm->dispi, (uint16_t)d->width, (uint16_t)d->height,
			   (uint16_t)(d->stride / 4));
		if (bus_register(&vm->bus, BUS_PIO, DISPI_INDEX_PORT, 2,
				 &vm->dispi.dev) != 0)
			return errmsg(err, errlen, "device ports overlap");
	}
	return 0;
}

/*
 * A fresh KVM VM for every start: KVM cannot delete a vCPU or reset its
 * irqchip and PIT, and a reset must look to the guest like a cold boot.
 * Guest RAM (the memfd) and the devices outlive it.
 */
static int
create_kvm_vm(struct vm *vm, char *err, size_t errlen)
{
	int r;

	if ((vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0)) < 0)
		return errmsg(err, errlen, "KVM_CREATE_VM: %s",
			      strerror(errno));
	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0)
		return errmsg(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s",
			      strerror(errno));
	vm->run_size = (size_t)r;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) != 0)
		return errmsg(err, errlen, "KVM_SET_TSS_ADDR: %s",
			      strerror(errno));
	uint64_t idmap = IDENTITY_MAP_ADDR;
	ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap); /* VMX only */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) != 0)
		return errmsg(err, errlen, "KVM_CREATE_IRQCHIP: %s",
			      strerror(errno));
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) != 0)
		return errmsg(err, errlen, "KVM_CREATE_PIT2: %s",
			      strerror(errno));

	for (int i = 0; i < vm->slots.n; i++) {
		const struct memslot *m = &vm->slots.s[i];
		struct kvm_userspace_memory_region slot = {
		    .slot = (uint32_t)i,
		    .guest_phys_addr = m->gpa,
		    .memory_size = m->size,
		    .userspace_addr = (uintptr_t)m->host,
		};
		if (m->flags & MEMSLOT_DIRTY_LOG)
			slot.flags |= KVM_MEM_LOG_DIRTY_PAGES;
		if (m->flags & MEMSLOT_READONLY)
			slot.flags |= KVM_MEM_READONLY;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) != 0)
			return errmsg(err, errlen,
				      "KVM_SET_USER_MEMORY_REGION (%s): %s",
				      m->name, strerror(errno));
	}
	return 0;
}

int
vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct sigaction sa;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->event_fd = vm->rx_space_fd = -1;
	vm->mem.fd = -1;
	vm->state = VMSTATE_STOPPED;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->unpause, NULL);

	if (cfg->ncpus < 1 || cfg->ncpus > VM_MAX_CPUS)
		return errmsg(err, errlen, "--cpus %d: must be 1 to %d",
			      cfg->ncpus, VM_MAX_CPUS);
	if (cfg->mem < GUESTMEM_MIN || cfg->mem > GUESTMEM_MAX ||
	    (cfg->mem & 0xfffff) != 0)
		return errmsg(err, errlen,
			      "--mem: must be a whole number of MiB from 16M "
			      "to 64G");
	vm->cfg = *cfg; /* valid now: vm_destroy() may walk ncpus vCPUs */
	/* Check the image before touching KVM: a bad file is the likelier
	 * mistake and deserves the clearer message. */
	char why[200];
	uint64_t limit =
	    cfg->mem < GUESTMEM_HOLE_START ? cfg->mem : GUESTMEM_HOLE_START;
	if (loader_parse(cfg->kernel, cfg->kernel_len, limit, &vm->image, why,
			 sizeof(why)) != 0)
		return errmsg(err, errlen, "%s: %s", cfg->kernel_path, why);

	if ((vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
		return errmsg(err, errlen, "/dev/kvm: %s%s", strerror(errno),
			      errno == ENOENT ? " (no KVM on this host; "
						"see README: tools/kvmbox)"
					      : "");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return errmsg(err, errlen, "/dev/kvm: unexpected API version");
	vm->tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if ((r = guestmem_create(&vm->mem, cfg->mem)) != 0)
		return errmsg(err, errlen, "guest memory (%llu MiB): %s",
			      (unsigned long long)(cfg->mem >> 20),
			      strerror(-r));
	if (memslot_add(&vm->slots, "RAM", 0, vm->mem.low_end, vm->mem.host, 0,
			err, errlen) < 0)
		return -1;
	if (vm->mem.size > vm->mem.low_end &&
	    memslot_add(&vm->slots, "RAM above 4G", GUESTMEM_HIGH_START,
			vm->mem.size - vm->mem.low_end,
			vm->mem.host + vm->mem.low_end, 0, err, errlen) < 0)
		return -1;
	if (cfg->display_w != 0) {
		if ((r = display_create(&vm->display, cfg->display_w,
					cfg->display_h)) != 0)
			return errmsg(err, errlen, "display %ux%u: %s",
				      cfg->display_w, cfg->display_h,
				      strerror(-r));
		vm->has_display = 1;
		vm->fb_slot = memslot_add(
		    &vm->slots, "framebuffer", DISPI_LFB_ADDR, vm->display.size,
		    vm->display.fb, MEMSLOT_DIRTY_LOG, err, errlen);
		if (vm->fb_slot < 0)
			return -1;
	}
	if ((vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (vm->rx_space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return errmsg(err, errlen, "eventfd: %s", strerror(errno));
	if (create_devices(vm, err, errlen) != 0)
		return -1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must return */
	sigaction(KICK_SIGNAL, &sa, NULL);
	return 0;
}

static void
close_kvm_vm(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->vm_fd = -1;
}

static void
close_vcpus(struct vm *vm)
{
	for (int i = 0; i < vm->cfg.ncpus; i++) {
		struct vm_vcpu *v = &vm->vcpu[i];
		if (v->run != NULL)
			munmap(v->run, vm->run_size);
		if (v->fd > 0)
			close(v->fd);
		v->run = NULL;
		v->fd = -1;
	}
}

int
vm_start(struct vm *vm, char *err, size_t errlen)
{
	struct boot_entry be;
	struct boot_fb fb = {
	    .base = DISPI_LFB_ADDR,
	    .width = vm->display.width,
	    .height = vm->display.height,
	    .stride = vm->display.stride,
	    .size = vm->display.size,
	};
	int r;

	if (create_kvm_vm(vm, err, errlen) != 0)
		goto fail;
	bus_reset(&vm->bus); /* a reset looks like a cold boot to devices too */
	if (vm->has_display) {
		display_clear(&vm->display);
		vm->display_gen++;
	}
	/* the guest's mouse driver starts over: VNC's next position is a
	 * new origin, not a jump */
	vm->vnc_pointer = (struct i8042_abs){0};
	if ((r = guestmem_clear(&vm->mem)) != 0) {
		errmsg(err, errlen, "clearing guest memory: %s", strerror(-r));
		goto fail;
	}
	struct boot_params_in in = {
	    .kernel = vm->cfg.kernel,
	    .kernel_len = vm->cfg.kernel_len,
	    .image = &vm->image,
	    .initrd = vm->cfg.initrd,
	    .initrd_len = vm->cfg.initrd_len,
	    .cmdline = vm->cfg.cmdline,
	    .ncpus = vm->cfg.ncpus,
	    .fb = vm->has_display ? &fb : NULL,
	};
	char why[200];
	if (boot_prepare(&vm->mem, &in, &be, why, sizeof(why)) != 0) {
		errmsg(err, errlen, "%s: %s", vm->cfg.kernel_path, why);
		goto fail;
	}

	atomic_store(&vm->stopping, 0);
	pthread_mutex_lock(&vm->lock);
	vm->have_event = 0;
	vm->paused = 0;
	pthread_mutex_unlock(&vm->lock);

	for (int i = 0; i < vm->cfg.ncpus; i++) {
		struct vm_vcpu *v = &vm->vcpu[i];
		*v = (struct vm_vcpu){.vm = vm, .index = i, .fd = -1};
		if ((v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i)) < 0) {
			errmsg(err, errlen, "KVM_CREATE_VCPU %d: %s", i,
			       strerror(errno));
			goto fail;
		}
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			errmsg(err, errlen, "mmap kvm_run: %s",
			       strerror(errno));
			goto fail;
		}
		if (setup_cpuid(vm, v, err, errlen) != 0 ||
		    setup_lapic(v, err, errlen) != 0)
			goto fail;
		if (i == 0 && setup_boot_cpu(v, &be, err, errlen) != 0)
			goto fail;
	}
	/* vCPU threads take no signal but the kick: the owner's signals
	 * (SIGTERM, SIGINT...) must reach its signalfd, not a vCPU. */
	sigset_t all, saved;
	sigfillset(&all);
	sigdelset(&all, KICK_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	for (int i = 0; i < vm->cfg.ncpus; i++) {
		struct vm_vcpu *v = &vm->vcpu[i];
		v->exits = v->io_exits = 0;
		atomic_store(&v->dump_req, 0);
		if (pthread_create(&v->thread, NULL, vcpu_thread, v) != 0) {
			pthread_sigmask(SIG_SETMASK, &saved, NULL);
			errmsg(err, errlen, "cannot start vCPU thread %d", i);
			vm_stop(vm);
			return -1;
		}
		v->started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	vm->state = VMSTATE_RUNNING;
	return 0;
fail:
	close_vcpus(vm);
	close_kvm_vm(vm);
	return -1;
}

void
vm_stop(struct vm *vm)
{
	atomic_store(&vm->stopping, 1);
	pthread_mutex_lock(&vm->lock);
	pthread_cond_broadcast(&vm->unpause);
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	for (int i = 0; i < vm->cfg.ncpus; i++) {
		struct vm_vcpu *v = &vm->vcpu[i];
		if (v->started)
			pthread_join(v->thread, NULL);
		v->started = 0;
	}
	close_vcpus(vm);
	close_kvm_vm(vm);
	vm->state = VMSTATE_STOPPED;
}

void
vm_dump(struct vm *vm)
{
	for (int i = 0; i < vm->cfg.ncpus; i++)
		if (vm->vcpu[i].started)
			atomic_store(&vm->vcpu[i].dump_req, 1);
	kick_all(vm);
}

void
vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->paused = 1;
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	vm->state = VMSTATE_PAUSED;
}

void
vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->paused = 0;
	pthread_cond_broadcast(&vm->unpause);
	pthread_mutex_unlock(&vm->lock);
	vm->state = VMSTATE_RUNNING;
}

int
vm_display_dirty(struct vm *vm, uint64_t *bitmap)
{
	size_t words;

	if (!vm->has_display)
		return -1;
	words = (display_pages(&vm->display) + 63) / 64;
	struct kvm_dirty_log log = {.slot = (uint32_t)vm->fb_slot,
				    .dirty_bitmap = bitmap};
	if (vm->vm_fd < 0 || ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) != 0) {
		memset(bitmap, 0xff, words * 8);
		return -1;
	}
	return 0;
}

void
vm_destroy(struct vm *vm)
{
	vm_stop(vm);
	bus_destroy(&vm->bus);
	if (vm->has_display)
		display_destroy(&vm->display);
	if (vm->console.ring != NULL)
		console_destroy(&vm->console);
	guestmem_destroy(&vm->mem);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	if (vm->rx_space_fd >= 0)
		close(vm->rx_space_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_cond_destroy(&vm->unpause);
	pthread_mutex_destroy(&vm->lock);
}
