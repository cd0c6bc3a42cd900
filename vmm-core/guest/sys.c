/*
 * sys.c - ring-3 side of the int $0x80 interface.
 *
 * trapentry.S saves and restores every general register, so %rax (the
 * result) is the only one the call changes.
 */
#include "sys.h"
#include "sysnum.h"

static long
sys_call(long n, long arg)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "D"(arg) : "memory");
	return r;
}

void
sys_wait_input(uint64_t until)
{
	sys_call(SYSNUM_WAIT_INPUT, (long)until);
}

void
sys_wait_tx(void)
{
	sys_call(SYSNUM_WAIT_TX, 0);
}

void
sys_reboot(void)
{
	sys_call(SYSNUM_REBOOT, 0);
	__builtin_unreachable();
}

void
sys_poweroff(void)
{
	sys_call(SYSNUM_POWEROFF, 0);
}

void
sys_crash(void)
{
	sys_call(SYSNUM_CRASH, 0);
	__builtin_unreachable();
}

void
sys_wild(void)
{
	sys_call(SYSNUM_WILD, 0);
	__builtin_unreachable();
}
