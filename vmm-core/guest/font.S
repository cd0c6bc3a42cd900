/*
 * font.S - embeds the font table psf2raw.py generated (see font.h).
 * GUEST_FONT_FILE is its path, set by CMakeLists.txt.
 */
	.section .rodata
	.globl font8x16
	.type font8x16, @object
font8x16:
	.incbin GUEST_FONT_FILE
	.size font8x16, . - font8x16
	/* The C side relies on exactly 256 x 16 bytes. */
	.if (. - font8x16) - 4096
	.error "font table is not 4096 bytes"
	.endif

	.section .note.GNU-stack, "", @progbits
