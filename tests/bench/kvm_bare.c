/*
 * kvm_bare: the floor for the boot benchmark.  The least a KVM monitor can
 * do before its guest's first serial byte: open /dev/kvm, create a VM with
 * one memory slot and one vCPU, and run it until the guest writes to COM1.
 *
 * The vCPU starts in 32-bit flat protected mode with paging off, the state
 * a PVH entry gets (so it runs wherever vmgate-vmm boots a PVH guest), at
 *
 *	mov $0x3f8, %dx ; mov $'x', %al ; out %al, %dx ; hlt
 *
 * On that KVM_EXIT_IO the program writes the byte to stdout: the benchmark
 * times it from fork/exec to that byte, as it times vmgate-vmm and QEMU.
 * Then one line on stderr gives the time of each step since main().
 *
 * No libraries but libc; no irqchip, PIT, CPUID or second slot, which a
 * real monitor adds (that difference is what the benchmark shows).
 * Exit status: 0 the byte was written, 1 anything else (with a message).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_BASE 0x1000ULL /* guest-physical address of the code */
#define GUEST_SIZE 0x1000ULL /* one page, one slot */
#define COM1 0x3f8
/*
 * KVM needs a three-page TSS region for real-mode emulation on Intel CPUs
 * without unrestricted guest; every x86 monitor sets it before the first
 * vCPU.  Just below the 4 GiB boundary, far from our one page.
 */
#define TSS_ADDR 0xfffbd000UL

static const uint8_t guest_code[] = {
    0x66, 0xba, 0xf8, 0x03, /* mov $0x3f8, %dx */
    0xb0, 'x',		    /* mov $'x', %al */
    0xee,		    /* out %al, %dx */
    0xf4,		    /* hlt */
};

enum step { T_OPEN, T_VM, T_MEM, T_VCPU, T_REGS, T_EXIT, T_NSTEPS };
static const char *const step_name[T_NSTEPS] = {
    "open", "create_vm", "memory", "create_vcpu", "regs", "io_exit",
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A flat 4 GiB segment: code (execute/read) or data (read/write). */
static void
flat_segment(struct kvm_segment *s, uint16_t selector, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = code ? 0xb : 0x3; /* accessed */
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

/* Puts the vCPU at guest_code in 32-bit flat protected mode, paging off. */
static int
setup_vcpu(int vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) != 0) {
		perror("kvm_bare: KVM_GET_SREGS");
		return -1;
	}
	flat_segment(&sregs.cs, 0x08, 1);
	flat_segment(&sregs.ds, 0x10, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 1; /* PE */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) != 0) {
		perror("kvm_bare: KVM_SET_SREGS");
		return -1;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_BASE;
	regs.rflags = 0x2; /* the reserved bit */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) != 0) {
		perror("kvm_bare: KVM_SET_REGS");
		return -1;
	}
	return 0;
}

/*
 * Runs the vCPU until its first exit that is not an interruption; writes
 * the byte if that exit is the expected COM1 write.  Returns 0 or -1.
 */
static int
run_to_io(int vcpu, struct kvm_run *run, size_t run_size)
{
	const uint8_t *data;

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) != 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("kvm_bare: KVM_RUN");
			return -1;
		}
		if (run->exit_reason != KVM_EXIT_INTR)
			break;
	}
	if (run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr,
			"kvm_bare: exit reason %u, not KVM_EXIT_IO (%u)",
			run->exit_reason, KVM_EXIT_IO);
		if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
			fprintf(stderr, ", hardware entry failure 0x%llx",
				(unsigned long long)run->fail_entry
				    .hardware_entry_failure_reason);
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			fprintf(stderr, ", suberror %u",
				run->internal.suberror);
		fputc('\n', stderr);
		return -1;
	}
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != COM1 ||
	    run->io.size != 1 || run->io.count != 1 ||
	    run->io.data_offset > run_size - 1) {
		fprintf(stderr,
			"kvm_bare: unexpected I/O: %s port 0x%x size %u "
			"count %u\n",
			run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			run->io.port, run->io.size, run->io.count);
		return -1;
	}
	data = (const uint8_t *)run + run->io.data_offset;
	if (write(STDOUT_FILENO, data, 1) != 1) {
		perror("kvm_bare: write");
		return -1;
	}
	return 0;
}

int
main(void)
{
	double t[T_NSTEPS], t0 = now_ms();
	struct kvm_userspace_memory_region region;
	struct kvm_run *run = MAP_FAILED;
	void *mem = MAP_FAILED;
	int kvm = -1, vm = -1, vcpu = -1, r = 1, api;
	long run_size = -1;

	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		perror("kvm_bare: /dev/kvm");
		goto out;
	}
	if ((api = ioctl(kvm, KVM_GET_API_VERSION, 0)) != KVM_API_VERSION) {
		fprintf(stderr, "kvm_bare: KVM API version %d, want %d\n", api,
			KVM_API_VERSION);
		goto out;
	}
	t[T_OPEN] = now_ms();

	if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) {
		perror("kvm_bare: KVM_CREATE_VM");
		goto out;
	}
	if (ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR) != 0) {
		perror("kvm_bare: KVM_SET_TSS_ADDR");
		goto out;
	}
	t[T_VM] = now_ms();

	mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("kvm_bare: mmap guest memory");
		goto out;
	}
	memcpy(mem, guest_code, sizeof(guest_code));
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = GUEST_BASE;
	region.memory_size = GUEST_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) != 0) {
		perror("kvm_bare: KVM_SET_USER_MEMORY_REGION");
		goto out;
	}
	t[T_MEM] = now_ms();

	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
		perror("kvm_bare: KVM_CREATE_VCPU");
		goto out;
	}
	if ((run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <
	    (long)sizeof(*run)) {
		fprintf(stderr, "kvm_bare: KVM_GET_VCPU_MMAP_SIZE: %ld%s%s\n",
			run_size, run_size < 0 ? ": " : "",
			run_size < 0 ? strerror(errno) : "");
		goto out;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu, 0);
	if (run == MAP_FAILED) {
		perror("kvm_bare: mmap kvm_run");
		goto out;
	}
	t[T_VCPU] = now_ms();

	if (setup_vcpu(vcpu) != 0)
		goto out;
	t[T_REGS] = now_ms();

	if (run_to_io(vcpu, run, (size_t)run_size) != 0)
		goto out;
	t[T_EXIT] = now_ms();

	fprintf(stderr, "kvm_bare: ms since main():");
	for (int i = 0; i < T_NSTEPS; i++)
		fprintf(stderr, " %s %.3f", step_name[i], t[i] - t0);
	fputc('\n', stderr);
	r = 0;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (mem != MAP_FAILED)
		munmap(mem, GUEST_SIZE);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return r;
}
