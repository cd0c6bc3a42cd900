/*
 * pic.h - the legacy 8259A pair, remapped to IDT_IRQ_BASE.
 */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

#include <stdbool.h>

/* Initialize both PICs (edge triggered, cascaded), every IRQ masked. */
void pic_init(void);
void pic_unmask(unsigned irq);
/*
 * For IRQ 7 and 15: was this a spurious interrupt (no bit in the ISR)? If
 * so the caller must not EOI it; for 15 this already sent the EOI the
 * master still needs for the cascade line.
 */
bool pic_spurious(unsigned irq);
void pic_eoi(unsigned irq);

#endif
