/*
 * trap.h - where every interrupt, exception and syscall lands in C.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include "trapentry.h"

/* Called by trapentry_common with interrupts off. */
void trap_dispatch(struct trapentry_frame *frame);

#endif
