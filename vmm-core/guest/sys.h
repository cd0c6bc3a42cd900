/*
 * sys.h - ring-3 wrappers for the int $0x80 calls (sysnum.h).
 */
#ifndef GUEST_SYS_H
#define GUEST_SYS_H

#include <stdint.h>

/* Sleep (hlt, in ring 0) until input is pending, a mouse packet came or,
 * if `until` is not 0, shared.ticks reaches it. */
void sys_wait_input(uint64_t until);
/* Sleep (hlt, in ring 0) until COM1's THR has room for a FIFO burst. */
void sys_wait_tx(void);
__attribute__((noreturn)) void sys_reboot(void);
/* Returns only if the machine did not power off. */
void sys_poweroff(void);
__attribute__((noreturn)) void sys_crash(void);
__attribute__((noreturn)) void sys_wild(void);

#endif
