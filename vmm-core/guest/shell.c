/*
 * shell.c - banner, prompt, read-eval loop. Runs in ring 3.
 */
#include "shell.h"
#include "cmd.h"
#include "con.h"
#include "fbcon.h"
#include "line.h"
#include "shared.h"

char shell_stack[SHELL_STACK_SIZE] __attribute__((aligned(16)));

static void
shell_banner(void)
{
	con_puts("vmgate demo guest " SHELL_VERSION " (x86_64, ");
	if (shared.memmap_status == SHARED_MEMMAP_OK)
		con_printf("%lu MiB",
			   (shared.ram_bytes + (1u << 20) - 1) >> 20);
	else
		con_puts("unknown RAM");
	con_puts(", PVH)\r\n");
	if (shared.memmap_status != SHARED_MEMMAP_OK)
		con_puts("warning: no usable memory map; see `mem`\r\n");
	con_puts("type `help` for commands\r\n");
}

void
shell_main(void)
{
	char line[LINE_MAX + 1];

	(void)fbcon_init();
	shell_banner();
	for (;;) {
		con_puts("demo$ ");
		if (line_read(line) >= 0)
			cmd_run(line);
	}
}
