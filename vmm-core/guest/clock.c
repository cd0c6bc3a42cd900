/*
 * clock.c - kvmclock and the TSC-deadline timer, or the PIT's count.
 *
 * kvmclock: the guest gives KVM the address of a record (MSR
 * MSR_KVM_SYSTEM_TIME_NEW) that the host keeps up to date: a host time in
 * nanoseconds, the TSC value it was taken at, and the factor that turns
 * TSC cycles into nanoseconds. Time now = system_time + scaled(rdtsc -
 * tsc_timestamp); the record's version is odd while the host writes it.
 * The same factor, inverted, turns a deadline in nanoseconds into the TSC
 * value the APIC timer waits for. Both are emulated by KVM itself (also on
 * PVM hosts, whose own Linux guests run on kvm-clock and the lapic-deadline
 * timer), so an idle wait costs the monitor nothing between wake-ups.
 */
#include "clock.h"
#include "cpu.h"
#include "idt.h"
#include "io.h"
#include "lapic.h"
#include "pit.h"
#include "shared.h"

#include <stdbool.h>

/* Where hypervisors put their CPUID leaves, and KVM's signature there. */
#define CLOCK_CPUID_HYPERVISOR (1u << 31) /* CPUID.1:ECX */
#define CLOCK_CPUID_BASE 0x40000000u
#define CLOCK_CPUID_END 0x40010000u
#define CLOCK_CPUID_STEP 0x100u
#define CLOCK_KVM_EBX 0x4b4d564bu		 /* "KVMK" */
#define CLOCK_KVM_ECX 0x564b4d56u		 /* "VMKV" */
#define CLOCK_KVM_EDX 0x0000004du		 /* "M\0\0\0" */
#define CLOCK_KVM_FEATURE_CLOCKSOURCE2 (1u << 3) /* leaf base+1, EAX */
#define CLOCK_MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define CLOCK_MSR_ENABLE 1u

#define CLOCK_NS_PER_TICK (1000000000ull / PIT_HZ)
/* The longest single sleep: a deadline further away is re-armed after it.
 * Also keeps ns << 32 within 64 bits in clock_tsc_delta(). */
#define CLOCK_MAX_SLEEP_NS 1000000000ull
#define CLOCK_MAX_SLEEP_TICKS (CLOCK_MAX_SLEEP_NS / CLOCK_NS_PER_TICK)
/* Wake this long after a tick boundary, so that the tick count read on
 * waking has surely reached it despite rounding. */
#define CLOCK_SLACK_NS 20000ull

/* KVM's struct pvclock_vcpu_time_info, written by the host. */
struct clock_pvti {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

/* 32 bytes that must not cross a page: 64-byte alignment sees to that. */
static volatile struct clock_pvti clock_pvti __attribute__((aligned(64)));

/* One consistent reading of kvmclock. */
struct clock_now {
	uint64_t ns;  /* kvmclock's system time */
	uint64_t tsc; /* the TSC it was computed from */
	uint32_t mul;
	int8_t shift;
};

static struct {
	bool kvm;	  /* kvmclock and the TSC-deadline timer in use */
	bool pit_stopped; /* by an idle wait */
	uint64_t boot_ns; /* kvmclock at clock_init() */
} clock;

static bool
clock_kvm_present(void)
{
	uint32_t a, b, c, d;

	cpu_cpuid(1, &a, &b, &c, &d);
	if (!(c & CLOCK_CPUID_HYPERVISOR))
		return false;
	for (uint32_t base = CLOCK_CPUID_BASE; base < CLOCK_CPUID_END;
	     base += CLOCK_CPUID_STEP) {
		cpu_cpuid(base, &a, &b, &c, &d);
		if (b != CLOCK_KVM_EBX || c != CLOCK_KVM_ECX ||
		    d != CLOCK_KVM_EDX)
			continue;
		/* EAX is the highest leaf; 0 means base + 1 (old KVM). */
		if (a != 0 && a < base + 1)
			return false;
		cpu_cpuid(base + 1, &a, &b, &c, &d);
		return (a & CLOCK_KVM_FEATURE_CLOCKSOURCE2) != 0;
	}
	return false;
}

static void
clock_read(struct clock_now *n)
{
	uint32_t v;
	uint64_t stamp, sys, d;

	do {
		v = clock_pvti.version;
		io_barrier();
		stamp = clock_pvti.tsc_timestamp;
		sys = clock_pvti.system_time;
		n->mul = clock_pvti.tsc_to_system_mul;
		n->shift = clock_pvti.tsc_shift;
		n->tsc = cpu_rdtsc();
		io_barrier();
	} while ((v & 1) != 0 || v != clock_pvti.version);
	d = n->tsc > stamp ? n->tsc - stamp : 0;
	if (n->shift < 0)
		d >>= -n->shift;
	else
		d <<= n->shift;
	n->ns = sys + (uint64_t)(((unsigned __int128)d * n->mul) >> 32);
}

/* TSC cycles in `ns` (at most CLOCK_MAX_SLEEP_NS + CLOCK_SLACK_NS),
 * rounded up: the inverse of clock_read()'s scaling. */
static uint64_t
clock_tsc_delta(const struct clock_now *n, uint64_t ns)
{
	uint64_t d = ((ns << 32) + n->mul - 1) / n->mul;

	if (n->shift < 0)
		d <<= -n->shift;
	else
		d >>= n->shift;
	return d + 1;
}

/* shared.ticks from kvmclock; never backwards. */
static void
clock_update(const struct clock_now *n)
{
	uint64_t t;

	if (n->ns < clock.boot_ns)
		return;
	t = (n->ns - clock.boot_ns) / CLOCK_NS_PER_TICK;
	if (t > shared.ticks)
		shared.ticks = t;
}

void
clock_init(void)
{
	struct clock_now n;

	shared.clock = SHARED_CLOCK_PIT;
	if (!clock_kvm_present())
		return;
	cpu_wrmsr(CLOCK_MSR_KVM_SYSTEM_TIME_NEW,
		  (uintptr_t)&clock_pvti | CLOCK_MSR_ENABLE);
	/* A host that took the MSR but wrote no factor: no kvmclock. */
	if (clock_pvti.tsc_to_system_mul == 0 ||
	    !lapic_timer_init(IDT_APIC_TIMER)) {
		cpu_wrmsr(CLOCK_MSR_KVM_SYSTEM_TIME_NEW, 0);
		return;
	}
	clock_read(&n);
	clock.boot_ns = n.ns;
	clock.kvm = true;
	shared.clock = SHARED_CLOCK_KVM;
}

void
clock_tick(void)
{
	struct clock_now n;

	if (!clock.kvm) {
		shared.ticks++;
		return;
	}
	clock_read(&n);
	clock_update(&n);
}

void
clock_timer_irq(void)
{
	struct clock_now n;

	lapic_eoi();
	if (!clock.kvm)
		return;
	clock_read(&n);
	clock_update(&n);
}

/* Arm the APIC timer for when shared.ticks reaches `until`, or for
 * CLOCK_MAX_SLEEP_NS if that is later. */
static void
clock_arm(uint64_t until)
{
	struct clock_now n;
	uint64_t now_ticks, ns;

	clock_read(&n);
	clock_update(&n);
	now_ticks = shared.ticks;
	if (until <= now_ticks)
		ns = 0;
	else if (until - now_ticks > CLOCK_MAX_SLEEP_TICKS)
		ns = CLOCK_MAX_SLEEP_NS;
	else {
		/* Both below now + CLOCK_MAX_SLEEP_NS + one tick. */
		uint64_t at =
		    clock.boot_ns + until * CLOCK_NS_PER_TICK + CLOCK_SLACK_NS;

		ns = at > n.ns ? at - n.ns : 0;
		if (ns > CLOCK_MAX_SLEEP_NS)
			ns = CLOCK_MAX_SLEEP_NS;
	}
	lapic_timer_deadline(n.tsc + clock_tsc_delta(&n, ns));
}

void
clock_idle_wait(uint64_t until)
{
	struct clock_now n;

	if (!clock.kvm) {
		cpu_wait_for_interrupt();
		shared.idle_wakeups++;
		return;
	}
	if (!clock.pit_stopped) {
		pit_stop();
		clock.pit_stopped = true;
	}
	if (until != 0)
		clock_arm(until);
	cpu_wait_for_interrupt();
	shared.idle_wakeups++;
	clock_read(&n);
	clock_update(&n);
}

void
clock_idle_end(void)
{
	struct clock_now n;

	if (!clock.kvm)
		return;
	lapic_timer_deadline(0);
	if (clock.pit_stopped) {
		pit_init();
		clock.pit_stopped = false;
	}
	clock_read(&n);
	clock_update(&n);
}
