/*
 * shell.h - the ring-3 shell: the guest's only program.
 */
#ifndef GUEST_SHELL_H
#define GUEST_SHELL_H

#define SHELL_VERSION "0.1"
#define SHELL_STACK_SIZE 16384

/* The ring-3 stack (in user pages; kernel_main points RSP at its end). */
extern char shell_stack[SHELL_STACK_SIZE];

/* Ring-3 entry point; never returns. */
__attribute__((noreturn)) void shell_main(void);

#endif
