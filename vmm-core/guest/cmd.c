/*
 * cmd.c - command table and the small commands.
 */
#include "cmd.h"
#include "bulk.h"
#include "con.h"
#include "fb.h"
#include "line.h"
#include "pit.h"
#include "probe.h"
#include "shared.h"
#include "shell.h"
#include "str.h"
#include "sys.h"

#include <stddef.h>
#include <stdint.h>

/* A line of LINE_MAX characters has at most this many words. */
#define CMD_MAX_ARGS (LINE_MAX / 2 + 1)
/* `ports` lists at most this many ports, then a count. */
#define CMD_PORTS_SHOWN 16

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	void (*run)(int argc, char **argv);
};

static void cmd_help(int argc, char **argv);

static void
cmd_uname(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_puts("vmgate-demo " SHELL_VERSION " x86_64\r\n");
}

static void
cmd_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (i > 1)
			con_putc(' ');
		con_puts(argv[i]);
	}
	con_puts("\r\n");
}

static void
cmd_mem(int argc, char **argv)
{
	static const char *const why[] = {
	    [SHARED_MEMMAP_BAD_MAGIC] = "no hvm_start_info (bad magic)",
	    [SHARED_MEMMAP_NO_MEMMAP] = "hvm_start_info has no memory map",
	    [SHARED_MEMMAP_UNREACHABLE] = "memory map above 4 GiB",
	};

	(void)argc;
	(void)argv;
	if (shared.memmap_status != SHARED_MEMMAP_OK) {
		con_printf("mem: %s\r\n", why[shared.memmap_status]);
		return;
	}
	con_printf("total %lu KiB\r\n", shared.ram_bytes >> 10);
	for (uint32_t i = 0; i < shared.memmap_count; i++) {
		const struct shared_memmap_entry *e = &shared.memmap[i];

		con_printf("0x%016lx 0x%016lx %u\r\n", e->base, e->size,
			   e->type);
	}
	if (shared.memmap_total > shared.memmap_count)
		con_printf("(%u more entries not shown)\r\n",
			   shared.memmap_total - shared.memmap_count);
}

static void
cmd_uptime(int argc, char **argv)
{
	uint64_t t = shared.ticks;

	(void)argc;
	(void)argv;
	con_printf("%lu.%02lu\r\n", t / PIT_HZ, (t % PIT_HZ) * 100 / PIT_HZ);
}

static void
cmd_clock(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (shared.clock == SHARED_CLOCK_KVM)
		con_puts("kvmclock; idle: no tick, TSC-deadline wake-up\r\n");
	else
		con_printf("PIT at %u Hz, also when idle\r\n", PIT_HZ);
	con_printf("idle wake-ups %lu\r\n", shared.idle_wakeups);
}

static void
cmd_reboot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_puts("rebooting\r\n");
	con_flush();
	sys_reboot();
}

static void
cmd_poweroff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_puts("powering off\r\n");
	con_flush();
	sys_poweroff();
	con_puts("poweroff: not supported by this machine\r\n");
}

static void
cmd_crash(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_puts("crash: triple fault\r\n");
	con_flush();
	sys_crash();
}

static void
cmd_wild(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_puts("wild: jumping to 0xd0000000\r\n");
	con_flush();
	sys_wild();
}

/*
 * Least privilege, shown: ring 3 reads a port itself. Ports in its TSS I/O
 * bitmap give their value; any other raises #GP, which ring 0 turns into
 * PROBE_FAULTED for this one instruction (probe.h) instead of a fatal
 * exception.
 */
static void
cmd_inb(int argc, char **argv)
{
	uint64_t port;
	long v;

	if (argc != 2 || !str_to_u64(argv[1], 0xffff, &port)) {
		con_puts(
		    "usage: inb PORT   (0..65535, or hex 0x0..0xffff)\r\n");
		return;
	}
	v = probe_inb((uint16_t)port);
	if (v == PROBE_FAULTED)
		con_printf(
		    "inb 0x%lx: #GP (port not in ring 3's I/O bitmap)\r\n",
		    port);
	else
		con_printf("inb 0x%lx: 0x%02lx\r\n", port, v);
}

/*
 * Every port ring 3 can read: all 65536 tried, the refused ones cost a #GP
 * each and touch no device. The granted ones are really read (RBR takes
 * a byte of input, if one is waiting).
 */
static void
cmd_ports(int argc, char **argv)
{
	unsigned granted = 0;

	(void)argc;
	(void)argv;
	con_puts("ring 3 may read:");
	for (uint32_t port = 0; port <= 0xffff; port++) {
		if (probe_inb((uint16_t)port) == PROBE_FAULTED)
			continue;
		if (++granted <= CMD_PORTS_SHOWN)
			con_printf(" 0x%x", port);
	}
	if (granted > CMD_PORTS_SHOWN)
		con_printf(" ... (%u more)", granted - CMD_PORTS_SHOWN);
	con_printf("\r\n%u of 65536 ports\r\n", granted);
}

static void
cmd_syscalls(int argc, char **argv)
{
	uint64_t gate = shared.syscalls[SHARED_SYSCALL_GATE];
	uint64_t ud = shared.syscalls[SHARED_SYSCALL_UD];
	uint64_t gp = shared.syscalls[SHARED_SYSCALL_GP];

	(void)argc;
	(void)argv;
	con_printf("int $0x80 calls: %lu through the gate, %lu as #UD, "
		   "%lu as #GP\r\n",
		   gate, ud, gp);
	if (shared.syscall_trap)
		con_puts("syscall=trap: the int $0x80 gate is DPL 0\r\n");
}

static void
cmd_display(int argc, char **argv)
{
	const struct shared_fb *fb = &shared.fb;

	(void)argc;
	(void)argv;
	switch (fb->status) {
	case SHARED_FB_OK:
		con_printf("display: %ux%u, 32 bpp, stride %u bytes, "
			   "framebuffer at 0x%lx\r\n",
			   fb->width, fb->height, fb->stride * 4, FB_PHYS);
		break;
	case SHARED_FB_NONE:
		con_printf("display: none (no Bochs VBE at port 0x1ce: id "
			   "0x%x)\r\n",
			   fb->id);
		break;
	case SHARED_FB_BAD_MODE:
		con_printf("display: unusable, %u bpp or LFB off (need 32 bpp "
			   "linear)\r\n",
			   fb->bpp);
		break;
	case SHARED_FB_BAD_SIZE:
		con_printf("display: unusable geometry %ux%u stride %u pixels "
			   "(at most %ux%u)\r\n",
			   fb->width, fb->height, fb->stride, FB_MAX_WIDTH,
			   FB_MAX_HEIGHT);
		break;
	}
	con_printf("keyboard: %s\r\n",
		   shared.keyboard ? "PS/2 (i8042), typed into this shell"
				   : "none");
}

static void
cmd_mouse(int argc, char **argv)
{
	uint32_t b = shared.mouse.buttons;

	(void)argc;
	(void)argv;
	if (!shared.mouse.present) {
		con_puts("mouse: none (no PS/2 mouse answered)\r\n");
		return;
	}
	con_printf("mouse: x=%d y=%d buttons=", shared.mouse.x, shared.mouse.y);
	if (b == 0)
		con_puts("none");
	if (b & SHARED_MOUSE_LEFT)
		con_puts((b & SHARED_MOUSE_LEFT) == b ? "left" : "left,");
	if (b & SHARED_MOUSE_MIDDLE)
		con_puts((b & SHARED_MOUSE_RIGHT) ? "middle," : "middle");
	if (b & SHARED_MOUSE_RIGHT)
		con_puts("right");
	con_printf(" packets=%u\r\n", shared.mouse.packets);
}

/* A fatal exception on purpose, from ring 3: page 0 is never mapped. */
static void
cmd_fault(int argc, char **argv)
{
	uint8_t v;

	(void)argc;
	(void)argv;
	con_puts("fault: reading address 0 from ring 3\r\n");
	con_flush();
	/* asm, not a C null dereference, which the compiler may turn
	 * into ud2 (#UD) or drop. */
	__asm__ volatile("movb (%1), %0"
			 : "=q"(v)
			 : "r"((uintptr_t)0)
			 : "memory");
	(void)v;
	con_puts("fault: address 0 was readable\r\n");
}

static const struct cmd cmd_table[] = {
    {"help", "", "list commands", cmd_help},
    {"uname", "", "print system name and version", cmd_uname},
    {"echo", "ARGS...", "print ARGS separated by single spaces", cmd_echo},
    {"mem", "", "total RAM and the boot memory map (base size type)", cmd_mem},
    {"uptime", "", "seconds since boot", cmd_uptime},
    {"clock", "", "what keeps time, and idle wake-ups since boot", cmd_clock},
    {"bulk", "N[K|M]", "print N bytes of test pattern, then their CRC-32",
     bulk_cmd},
    {"inb", "PORT", "read an I/O port from ring 3 (#GP unless granted)",
     cmd_inb},
    {"ports", "", "try every port from ring 3, list those it may read",
     cmd_ports},
    {"syscalls", "", "how system calls reached ring 0 since boot",
     cmd_syscalls},
    {"display", "", "the framebuffer's geometry, or why there is none",
     cmd_display},
    {"mouse", "", "PS/2 mouse position (pixels) and buttons held", cmd_mouse},
    {"reboot", "", "reset the machine", cmd_reboot},
    {"poweroff", "", "power the machine off", cmd_poweroff},
    {"crash", "", "triple-fault the CPU", cmd_crash},
    {"wild", "", "execute from unbacked guest-physical memory", cmd_wild},
    {"fault", "", "die: ring 3 reads address 0 (pvpanic, halt)", cmd_fault},
};

static void
cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		const struct cmd *c = &cmd_table[i];

		con_printf("  %s %s", c->name, c->args);
		for (size_t n = str_len(c->name) + str_len(c->args); n < 16;
		     n++)
			con_putc(' ');
		con_printf("%s\r\n", c->help);
	}
}

static int
cmd_split(char *line, char **argv)
{
	int argc = 0;

	for (;;) {
		while (*line == ' ' || *line == '\t')
			*line++ = '\0';
		if (*line == '\0' || argc == CMD_MAX_ARGS)
			return argc;
		argv[argc++] = line;
		while (*line != '\0' && *line != ' ' && *line != '\t')
			line++;
	}
}

void
cmd_run(char *line)
{
	char *argv[CMD_MAX_ARGS + 1];
	int argc = cmd_split(line, argv);

	if (argc == 0)
		return;
	argv[argc] = NULL;
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		if (str_eq(argv[0], cmd_table[i].name)) {
			cmd_table[i].run(argc, argv);
			return;
		}
	}
	con_printf("%s: command not found\r\n", argv[0]);
}
