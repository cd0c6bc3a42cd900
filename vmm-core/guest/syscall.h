/*
 * syscall.h - ring-0 side of int $0x80 (numbers in sysnum.h).
 */
#ifndef GUEST_SYSCALL_H
#define GUEST_SYSCALL_H

#include "trapentry.h"

/* Runs the call named by frame->rax; the result replaces frame->rax. */
void syscall_dispatch(struct trapentry_frame *frame);

#endif
