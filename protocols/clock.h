/*
 * clock: the one millisecond clock and the one timestamp format of vmgated
 * and vmgate-vmm.
 *
 * clock_ms() is CLOCK_MONOTONIC in milliseconds: for timeouts, rates and
 * durations (it never jumps with the wall clock).  clock_stamp() is the
 * wall clock in UTC as log lines and audit events print it,
 * "2026-11-29T02:30:38.123Z" (RFC 3339, milliseconds).
 */
#ifndef VMGATE_CLOCK_H
#define VMGATE_CLOCK_H

#include <stdint.h>

#define CLOCK_STAMP_LEN 32 /* room for a stamp and its NUL */

uint64_t clock_ms(void);

/* Writes now's stamp into buf (NUL-terminated); returns buf. */
char *clock_stamp(char buf[CLOCK_STAMP_LEN]);

#endif
