/*
 * loader: recognises and validates a guest kernel image held in memory.
 *
 * Two formats are understood:
 *  - an ELF64 or ELF32 executable carrying a Xen PVH entry note
 *    (XEN_ELFNOTE_PHYS32_ENTRY, a 4- or 8-byte value), e.g. Linux's
 *    uncompressed vmlinux, the built-in demo guest, or a small ELF32 PVH
 *    kernel (EM_386, or EM_X86_64 in the x32 container, as QEMU's -kernel
 *    also takes): its PT_LOAD segments are copied to their physical
 *    addresses (p_paddr) and the CPU starts in 32-bit protected mode at the
 *    note's entry, whatever the class;
 *  - a Linux bzImage (boot protocol >= 2.12 with XLF_KERNEL_64): the
 *    protected-mode part is copied to 1 MiB and the CPU starts in long mode at
 *    load address + 0x200.
 *
 * The image is untrusted: every offset and size is checked against the file
 * and against the guest RAM size before anything is copied.  Errors are
 * returned as a message in the caller's buffer ("what is wrong", without the
 * file name, which the caller adds).
 */
#ifndef VMGATE_LOADER_H
#define VMGATE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define LOADER_MAX_SEGMENTS 16
#define LOADER_BZIMAGE_ADDR 0x100000ULL /* where the 64-bit kernel goes */

enum loader_kind {
	LOADER_PVH_ELF = 1,
	LOADER_BZIMAGE,
};

struct loader_segment {
	uint64_t paddr;	 /* guest-physical destination */
	uint64_t offset; /* offset in the image */
	uint64_t filesz; /* bytes copied from the image */
	uint64_t memsz;	 /* bytes reserved; the rest is zeroed */
};

struct loader_image {
	enum loader_kind kind;
	uint64_t entry; /* guest-physical entry point */
	uint64_t end;	/* first guest-physical byte above the kernel */
	int nsegments;
	struct loader_segment seg[LOADER_MAX_SEGMENTS];
	/* bzImage only */
	uint16_t version;	  /* boot protocol version, e.g. 0x020f */
	uint64_t setup_hdr_off;	  /* offset of the setup header (0x1f1) */
	uint64_t setup_hdr_len;	  /* bytes of setup header to copy */
	uint32_t initrd_addr_max; /* highest byte an initrd may occupy */
	uint32_t cmdline_size;	  /* max command line length, no NUL */
	uint32_t init_size;	  /* linear memory the kernel needs */
};

/*
 * Parses IMG (LEN bytes) for a guest with RAM_SIZE bytes of RAM below
 * RAM_LIMIT (the first guest-physical address the kernel may not touch).
 * Returns 0 and fills OUT, or -1 with a message in ERR (ERRLEN bytes).
 */
int loader_parse(const uint8_t *img, size_t len, uint64_t ram_limit,
		 struct loader_image *out, char *err, size_t errlen);

/* "PVH ELF" or "bzImage". */
const char *loader_kind_name(enum loader_kind kind);

#endif
