#include "boot.h"
#include "errmsg.h"
#include "wire.h"

#include "acpi.h"
#include "mptable.h"

#include <stdio.h>
#include <string.h>

#define E820_RAM 1
#define E820_RESERVED 2
#define LOW_RAM_END 0x9fc00ULL
#define HVM_START_MAGIC 0x336ec578U
#define HVM_RSDP_PADDR 32 /* struct hvm_start_info, version >= 1 */
#define MAX_E820 8

/* Offsets in Linux's struct boot_params (the zero page). */
#define ZP_ACPI_RSDP_ADDR 0x070 /* read by kernels with protocol >= 2.14 */
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_VID_MODE 0x1fa
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_LOADFLAGS 0x211
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_HEAP_END_PTR 0x224
#define ZP_CMD_LINE_PTR 0x228
#define ZP_E820_TABLE 0x2d0

/* Offsets in struct screen_info, at the start of the zero page. */
#define SI_ORIG_VIDEO_ISVGA 0x0f
#define SI_LFB_WIDTH 0x12
#define SI_LFB_HEIGHT 0x14
#define SI_LFB_DEPTH 0x16
#define SI_LFB_BASE 0x18
#define SI_LFB_SIZE 0x1c
#define SI_LFB_LINELENGTH 0x24
#define SI_RED_SIZE 0x26 /* then red_pos, green size/pos, blue, reserved */
#define VIDEO_TYPE_VLFB 0x23

void
boot_screen_info(uint8_t *si, const struct boot_fb *fb)
{
	/* size, position of red, green, blue, unused: bytes B, G, R, X */
	static const uint8_t layout[8] = {8, 16, 8, 8, 8, 0, 8, 24};

	memset(si, 0, BOOT_SCREEN_INFO_LEN);
	si[SI_ORIG_VIDEO_ISVGA] = VIDEO_TYPE_VLFB;
	put16(si + SI_LFB_WIDTH, (uint16_t)fb->width);
	put16(si + SI_LFB_HEIGHT, (uint16_t)fb->height);
	put16(si + SI_LFB_DEPTH, 32);
	put32(si + SI_LFB_BASE, (uint32_t)fb->base);
	/* VESA counts the size in 64 KiB units */
	put32(si + SI_LFB_SIZE, (uint32_t)((fb->size + 0xffff) >> 16));
	put16(si + SI_LFB_LINELENGTH, (uint16_t)fb->stride);
	memcpy(si + SI_RED_SIZE, layout, sizeof(layout));
}

struct e820 {
	uint64_t addr, size;
	uint32_t type;
};

static int
memory_map(const struct guestmem *gm, struct e820 *map)
{
	int n = 0;

	map[n++] = (struct e820){0, LOW_RAM_END, E820_RAM};
	map[n++] =
	    (struct e820){LOW_RAM_END, 0x100000 - LOW_RAM_END, E820_RESERVED};
	map[n++] = (struct e820){0x100000, gm->low_end - 0x100000, E820_RAM};
	if (gm->size > gm->low_end)
		map[n++] = (struct e820){GUESTMEM_HIGH_START,
					 gm->size - gm->low_end, E820_RAM};
	return n;
}

static void
write_gdt(struct guestmem *gm)
{
	uint8_t *g = guestmem_ptr(gm, BOOT_GDT, 6 * 8);

	put64(g + 0x00, 0);
	put64(g + 0x08, 0x00cf9b000000ffffULL); /* 32-bit code, flat */
	put64(g + 0x10, 0x00af9b000000ffffULL); /* 64-bit code */
	put64(g + 0x18, 0x00cf93000000ffffULL); /* data, flat */
	put64(g + 0x20, 0x00008b0000000067ULL); /* TSS at 0, busy */
	put64(g + 0x28, 0);
}

/* Identity map of the first 4 GiB with 2 MiB pages, for the 64-bit entry. */
static void
write_page_tables(struct guestmem *gm)
{
	uint8_t *pml4 = guestmem_ptr(gm, BOOT_PML4, 6 * 4096);
	uint8_t *pdpt = pml4 + 4096, *pd = pml4 + 2 * 4096;

	memset(pml4, 0, 6 * 4096);
	put64(pml4, (BOOT_PML4 + 4096) | 0x03);
	for (uint64_t i = 0; i < 4; i++) {
		put64(pdpt + i * 8, (BOOT_PML4 + (2 + i) * 4096) | 0x03);
		for (uint64_t j = 0; j < 512; j++)
			put64(pd + (i * 512 + j) * 8,
			      ((i << 30) | (j << 21)) | 0x83);
	}
}

static int
load_segments(struct guestmem *gm, const struct boot_params_in *in, char *err,
	      size_t errlen)
{
	const struct loader_image *li = in->image;

	for (int i = 0; i < li->nsegments; i++) {
		const struct loader_segment *s = &li->seg[i];
		uint8_t *dst = guestmem_ptr(gm, s->paddr, s->memsz);
		if (dst == NULL)
			return errmsg(err, errlen,
				      "segment at 0x%llx does not fit in RAM",
				      (unsigned long long)s->paddr);
		memcpy(dst, in->kernel + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

/* Places the initrd page-aligned at the top of low RAM, below LIMIT. */
static int
load_initrd(struct guestmem *gm, const struct boot_params_in *in,
	    uint64_t limit, uint64_t *addr, char *err, size_t errlen)
{
	uint64_t top = gm->low_end < limit ? gm->low_end : limit;

	*addr = 0;
	if (in->initrd == NULL)
		return 0;
	if (in->initrd_len > top ||
	    ((top - in->initrd_len) & ~0xfffULL) < in->image->end)
		return errmsg(
		    err, errlen,
		    "initrd (%zu KiB) does not fit between the kernel "
		    "and 0x%llx (more --mem?)",
		    in->initrd_len >> 10, (unsigned long long)top);
	*addr = (top - in->initrd_len) & ~0xfffULL;
	memcpy(guestmem_ptr(gm, *addr, in->initrd_len), in->initrd,
	       in->initrd_len);
	return 0;
}

static int
prepare_pvh(struct guestmem *gm, const struct boot_params_in *in,
	    struct boot_entry *out, char *err, size_t errlen)
{
	struct e820 map[MAX_E820];
	int n = memory_map(gm, map);
	uint64_t initrd;
	uint8_t *si = guestmem_ptr(gm, BOOT_START_INFO, 4096);
	uint64_t memmap = BOOT_START_INFO + 0x100;
	uint64_t modlist = BOOT_START_INFO + 0x400;

	if (load_initrd(gm, in, 0xffffffffULL, &initrd, err, errlen) != 0)
		return -1;
	memset(si, 0, 4096);
	put32(si + 0, HVM_START_MAGIC);
	put32(si + 4, 1); /* version 1: has the memory map */
	put64(si + 24, in->cmdline != NULL ? BOOT_CMDLINE : 0);
	put64(si + HVM_RSDP_PADDR, ACPI_ADDR);
	put64(si + 40, memmap);
	put32(si + 48, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *e = guestmem_ptr(gm, memmap + (uint64_t)i * 24, 24);
		put64(e, map[i].addr);
		put64(e + 8, map[i].size);
		put32(e + 16, map[i].type);
	}
	if (initrd != 0) {
		uint8_t *m = guestmem_ptr(gm, modlist, 32);
		put32(si + 12, 1);
		put64(si + 16, modlist);
		put64(m, initrd);
		put64(m + 8, in->initrd_len);
	}
	*out = (struct boot_entry){
	    .mode = BOOT_MODE_PROT32,
	    .rip = in->image->entry,
	    .rbx = BOOT_START_INFO,
	};
	return 0;
}

static int
prepare_bzimage(struct guestmem *gm, const struct boot_params_in *in,
		struct boot_entry *out, char *err, size_t errlen)
{
	const struct loader_image *li = in->image;
	struct e820 map[MAX_E820];
	int n = memory_map(gm, map);
	uint64_t initrd;
	uint8_t *zp = guestmem_ptr(gm, BOOT_ZERO_PAGE, 4096);

	if (in->cmdline != NULL && strlen(in->cmdline) > li->cmdline_size)
		return errmsg(
		    err, errlen,
		    "command line is %zu bytes, the kernel accepts %u",
		    strlen(in->cmdline), li->cmdline_size);
	if (load_initrd(gm, in, (uint64_t)li->initrd_addr_max + 1, &initrd, err,
			errlen) != 0)
		return -1;
	memset(zp, 0, 4096);
	memcpy(zp + li->setup_hdr_off, in->kernel + li->setup_hdr_off,
	       li->setup_hdr_len);
	zp[ZP_TYPE_OF_LOADER] = 0xff;
	zp[ZP_LOADFLAGS] |= 0x01 | 0x80; /* loaded high, heap usable */
	put16(zp + ZP_HEAP_END_PTR, 0xfe00);
	put16(zp + ZP_VID_MODE, 0xffff); /* "normal" */
	if (in->fb != NULL)
		boot_screen_info(zp, in->fb);
	if (in->cmdline != NULL) {
		put32(zp + ZP_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE);
		put32(zp + ZP_EXT_CMD_LINE_PTR, 0);
	}
	if (initrd != 0) {
		put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)initrd);
		put32(zp + ZP_RAMDISK_SIZE, (uint32_t)in->initrd_len);
		put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd >> 32));
		put32(zp + ZP_EXT_RAMDISK_SIZE,
		      (uint32_t)((uint64_t)in->initrd_len >> 32));
	}
	/* Older kernels ignore it and find the RSDP by scanning. */
	put64(zp + ZP_ACPI_RSDP_ADDR, ACPI_ADDR);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + i * 20;
		put64(e, map[i].addr);
		put64(e + 8, map[i].size);
		put32(e + 16, map[i].type);
	}
	write_page_tables(gm);
	*out = (struct boot_entry){
	    .mode = BOOT_MODE_LONG64,
	    .rip = li->entry,
	    .rsi = BOOT_ZERO_PAGE,
	    .cr3 = BOOT_PML4,
	};
	return 0;
}

int
boot_prepare(struct guestmem *gm, const struct boot_params_in *in,
	     struct boot_entry *out, char *err, size_t errlen)
{
	if (in->cmdline != NULL) {
		size_t len = strlen(in->cmdline);
		if (len > BOOT_CMDLINE_MAX)
			return errmsg(err, errlen,
				      "command line is %zu bytes, at most %d",
				      len, BOOT_CMDLINE_MAX);
		memcpy(guestmem_ptr(gm, BOOT_CMDLINE, len + 1), in->cmdline,
		       len + 1);
	}
	if (load_segments(gm, in, err, errlen) != 0)
		return -1;
	write_gdt(gm);
	if (acpi_write(guestmem_ptr(gm, ACPI_ADDR, ACPI_AREA_SIZE),
		       ACPI_AREA_SIZE, ACPI_ADDR, in->ncpus) < 0)
		return errmsg(err, errlen, "%d vCPUs: at most %d", in->ncpus,
			      ACPI_MAX_CPUS);
	if (mptable_write(
		guestmem_ptr(gm, MPTABLE_ADDR, mptable_size(in->ncpus)),
		MPTABLE_ADDR, in->ncpus) != 0)
		return errmsg(err, errlen, "%d vCPUs: at most %d", in->ncpus,
			      MPTABLE_MAX_CPUS);
	if (in->image->kind == LOADER_PVH_ELF)
		return prepare_pvh(gm, in, out, err, errlen);
	return prepare_bzimage(gm, in, out, err, errlen);
}
