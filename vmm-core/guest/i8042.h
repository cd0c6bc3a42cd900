/*
 * i8042.h - the PC keyboard controller: PS/2 keyboard (IRQ 1) and mouse
 * (aux port, IRQ 12), ring-0 part.
 *
 * Keys become the same bytes a serial terminal sends and go into the
 * receive ring the UART fills (shared.rx), so the shell cannot tell the
 * two apart. Mouse packets update shared.mouse.
 */
#ifndef GUEST_I8042_H
#define GUEST_I8042_H

#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12

/*
 * Set the controller up (interrupts for both ports, translation to scan
 * code set 1), enable keyboard scanning and mouse reporting. Interrupts
 * off. Every wait is bounded; a machine without a controller (status
 * port reads 0xff) is left alone and shared.keyboard stays false.
 */
void i8042_init(void);
/* IRQ 1 and IRQ 12 handler: drains the controller's output buffer. */
void i8042_irq(void);

#endif
