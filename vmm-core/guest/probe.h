/*
 * probe.h - ring 3 tries a port and survives the answer "no".
 *
 * An exception fixup in the style of Linux's exception table: the one
 * instruction that may fault has a known address (probe_inb_insn), and
 * when ring 0's #GP handler sees a fault from ring 3 at exactly that
 * address, it puts PROBE_FAULTED in %rax and resumes at probe_inb_fixup
 * instead of reporting a fatal exception (trap.c). Included from assembly.
 */
#ifndef GUEST_PROBE_H
#define GUEST_PROBE_H

#define PROBE_FAULTED (-1) /* the CPU refused the access (#GP) */

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * Ring 3: `inb` from PORT. Returns the byte read (0..255), or PROBE_FAULTED
 * when the port is not in ring 3's TSS I/O bitmap. A read has the device's
 * side effects (reading RBR takes a byte of input).
 */
long probe_inb(uint16_t port);

/* For trap.c: the faulting instruction and where to resume after it. */
extern char probe_inb_insn[], probe_inb_fixup[];
#endif

#endif
