/* Unit tests for the image loader and the boot layout it feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot.h"
#include "guestmem.h"
#include "loader.h"
#include "mptable.h"
#include "wire.h"

#define RAM (64ULL << 20)

static uint8_t img[8192];
static char err[256];

/*
 * A minimal PVH ELF of either class: header, a PT_NOTE whose note has a
 * DESCSZ-byte entry value (offset 512), and a PT_LOAD (offset 1024).
 * Fields are placed by hand, not through the loader's layout table, so a
 * wrong offset there shows up here.
 */
static size_t
make_elf_desc(int bits, uint32_t descsz, uint64_t entry, uint64_t paddr,
	      uint64_t filesz)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\177ELF", 4);
	img[4] = bits == 32 ? 1 : 2;
	img[5] = 1;
	img[6] = 1;
	put16(img + 16, 2);
	if (bits == 32) {
		put16(img + 18, 3);  /* EM_386 */
		put32(img + 28, 52); /* phoff */
		put16(img + 42, 32);
		put16(img + 44, 2);
		uint8_t *ph = img + 52;
		put32(ph, 4); /* PT_NOTE */
		put32(ph + 4, 512);
		put32(ph + 16, 16 + ((descsz + 3) & ~3u));
		ph += 32;
		put32(ph, 1); /* PT_LOAD */
		put32(ph + 4, 1024);
		put32(ph + 8, 0xc0000000); /* p_vaddr: not what is used */
		put32(ph + 12, (uint32_t)paddr);
		put32(ph + 16, (uint32_t)filesz);
		put32(ph + 20, (uint32_t)filesz + 4096);
	} else {
		put16(img + 18, 62);
		put64(img + 32, 64); /* phoff */
		put16(img + 54, 56);
		put16(img + 56, 2);
		uint8_t *ph = img + 64;
		put32(ph, 4); /* PT_NOTE */
		put64(ph + 8, 512);
		put64(ph + 32, 16 + ((descsz + 3) & ~3u));
		ph += 56;
		put32(ph, 1); /* PT_LOAD */
		put64(ph + 8, 1024);
		put64(ph + 16, 0xffffffff80000000ULL); /* p_vaddr */
		put64(ph + 24, paddr);
		put64(ph + 32, filesz);
		put64(ph + 40, filesz + 4096);
	}
	uint8_t *note = img + 512;
	put32(note, 4);
	put32(note + 4, descsz);
	put32(note + 8, 18);
	memcpy(note + 12, "Xen", 4);
	if (descsz == 8)
		put64(note + 16, entry);
	else
		put32(note + 16, (uint32_t)entry);
	return 1024 + filesz;
}

/* The usual note: 4 bytes in ELF32 kernels, 8 in ELF64 ones (Linux). */
static size_t
make_elf(int bits, uint64_t entry, uint64_t paddr, uint64_t filesz)
{
	return make_elf_desc(bits, bits == 32 ? 4 : 8, entry, paddr, filesz);
}

static int
bits_of(void **state)
{
	return *(const int *)*state;
}

static void
elf_valid(void **state)
{
	struct loader_image li;
	int bits = bits_of(state);
	size_t len = make_elf(bits, 0x100010, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	assert_int_equal(li.kind, LOADER_PVH_ELF);
	assert_int_equal(li.entry, 0x100010);
	assert_int_equal(li.nsegments, 1);
	assert_int_equal(li.seg[0].paddr, 0x100000);
	assert_int_equal(li.seg[0].offset, 1024);
	assert_int_equal(li.seg[0].filesz, 4096);
	assert_int_equal(li.seg[0].memsz, 8192);
	assert_int_equal(li.end, 0x100000 + 8192);
}

/* Either width of the note's value, in either class. */
static void
elf_note_widths(void **state)
{
	struct loader_image li;
	int bits = bits_of(state);
	size_t len = make_elf_desc(bits, 4, 0x100020, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	assert_int_equal(li.entry, 0x100020);
	len = make_elf_desc(bits, 8, 0x100030, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	assert_int_equal(li.entry, 0x100030);
	/* 8 bytes whose high half is set: not a 32-bit entry at all */
	len = make_elf_desc(bits, 8, 0x100000100030ULL, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not inside a loaded segment"));
	len = make_elf_desc(bits, 2, 0x1000, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "has a 2-byte value, want 4 or 8"));
}

static void
elf_truncated(void **state)
{
	struct loader_image li;
	int bits = bits_of(state);
	size_t len = make_elf(bits, 0x100010, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len - 1, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "truncated image"));
	/* cut inside the note segment */
	assert_int_equal(loader_parse(img, 520, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "segment 0 (offset 512"));
	/* cut inside the program headers */
	assert_int_equal(loader_parse(img, bits == 32 ? 90 : 150, RAM, &li, err,
				      sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "program headers (2 at offset"));
	/* cut inside the ELF header, past e_ident */
	assert_int_equal(
	    loader_parse(img, bits == 32 ? 50 : 60, RAM, &li, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, bits == 32
					? "truncated ELF header (50 "
					  "bytes, an ELF32 header has 52)"
					: "truncated ELF header (60 "
					  "bytes, an ELF64 header has 64)"));
	assert_int_equal(loader_parse(img, 5, RAM, &li, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated ELF header"));
}

static void
elf_no_note(void **state)
{
	struct loader_image li;
	int bits = bits_of(state);
	size_t len = make_elf(bits, 0x100010, 0x100000, 4096);
	img[512 + 8] = 17; /* another note type */
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "has no Xen PVH entry note"));
	assert_null(strstr(err, "runs past"));
	/* a note whose name runs past the segment: said why */
	make_elf(bits, 0x100010, 0x100000, 4096);
	put32(img + 512, 4000);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, bits == 32 ? "ELF32 has no Xen PVH entry "
						 "note"
					       : "ELF64 has no Xen PVH entry "
						 "note"));
	assert_non_null(strstr(err, "the note at offset 512 in program "
				    "header 0 runs past its end"));
}

static void
elf_bad_places(void **state)
{
	struct loader_image li;
	int bits = bits_of(state);
	size_t len = make_elf(bits, 0x200000, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "PVH entry 0x200000 is not inside a "
				    "loaded segment"));
	/* in the segment's memory but past its file bytes (bss) */
	len = make_elf(bits, 0x101800, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not inside a loaded segment"));
	len = make_elf(bits, 0x4000010, 0x4000000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "segment 1 needs guest memory "
				    "0x4000000-0x4002000, outside RAM"));
	len = make_elf(bits, 0x10, 0x0, 4096); /* would overwrite boot data */
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "outside RAM"));
	/* a segment at the top of the 32-bit address space */
	len = make_elf(bits, 0x100010, 0xfffff000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "outside RAM"));
}

static void
elf_bad_headers(void **state)
{
	struct loader_image li;
	int bits = bits_of(state);
	const char *cls = bits == 32 ? "ELF32" : "ELF64";
	char want[80];
	size_t len = make_elf(bits, 0x100010, 0x100000, 4096);

	img[4] = 3;
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "ELF class 3 is neither ELF32 (1) nor "
				    "ELF64 (2)"));
	make_elf(bits, 0x100010, 0x100000, 4096);
	img[5] = 2;
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	snprintf(want, sizeof(want), "%s is not little-endian", cls);
	assert_non_null(strstr(err, want));
	make_elf(bits, 0x100010, 0x100000, 4096);
	put16(img + 16, 3); /* ET_DYN */
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "ELF type 3 is not an executable"));
	make_elf(bits, 0x100010, 0x100000, 4096);
	put16(img + 18, 40); /* EM_ARM */
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	snprintf(want, sizeof(want), "%s machine 40 is not", cls);
	assert_non_null(strstr(err, want));
	/* the other class's program header size */
	make_elf(bits, 0x100010, 0x100000, 4096);
	put16(img + (bits == 32 ? 42 : 54), bits == 32 ? 56 : 32);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	snprintf(want, sizeof(want), "%s program header size %u, want %u", cls,
		 bits == 32 ? 56 : 32, bits == 32 ? 32 : 56);
	assert_non_null(strstr(err, want));
}

/*
 * Which machine goes with which class: x86-64 in ELF32 is the x32
 * container (QEMU boots it; PVH enters in 32-bit mode whatever the header
 * says), i386 in ELF64 is no x86 kernel.
 */
static void
elf_machines(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_elf(32, 0x100010, 0x100000, 4096);
	put16(img + 18, 62);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	assert_int_equal(li.entry, 0x100010);
	len = make_elf(64, 0x100010, 0x100000, 4096);
	put16(img + 18, 3);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "ELF64 machine 3 is not x86-64 (62)"));
}

/* ELF32 fields are 32 bits: bytes past them must not be taken in. */
static void
elf32_field_widths(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_elf(32, 0x100010, 0x100000, 4096);
	/* junk in the 4 bytes after each 32-bit field a 64-bit read
	 * would swallow: e_phoff+4 = e_shoff, p_paddr+4 = p_filesz... */
	put32(img + 32, 0xdeadbeef);	   /* e_shoff */
	put32(img + 52 + 32 + 24, 7);	   /* PT_LOAD p_flags */
	put32(img + 52 + 32 + 28, 0x1000); /* PT_LOAD p_align */
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	assert_int_equal(li.seg[0].paddr, 0x100000);
	assert_int_equal(li.seg[0].memsz, 8192);
	assert_int_equal(li.entry, 0x100010);
}

static size_t
make_bzimage(uint16_t version, uint32_t syssize_bytes)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = 4; /* setup sectors */
	put16(img + 0x1fe, 0xaa55);
	img[0x201] = 0x6a; /* header ends at 0x26c */
	put32(img + 0x202, 0x53726448);
	put16(img + 0x206, version);
	img[0x211] = 0x01;
	put32(img + 0x1f4, syssize_bytes / 16);
	put16(img + 0x236, 0x1);
	put32(img + 0x22c, 0x7fffffff);
	put32(img + 0x238, 2047);
	put32(img + 0x260, 0x10000);
	return 5 * 512 + syssize_bytes;
}

static void
bzimage_valid(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_bzimage(0x020f, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	assert_int_equal(li.kind, LOADER_BZIMAGE);
	assert_int_equal(li.entry, 0x100200);
	assert_int_equal(li.seg[0].offset, 5 * 512);
	assert_int_equal(li.setup_hdr_len, 0x26c - 0x1f1);
	assert_int_equal(li.cmdline_size, 2047);
}

static void
bzimage_bad(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_bzimage(0x0208, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "too old"));
	len = make_bzimage(0x020f, 4096);
	assert_int_equal(
	    loader_parse(img, len - 100, RAM, &li, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated image"));
	make_bzimage(0x020f, 4096);
	put16(img + 0x236, 0);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "64-bit entry"));
}

static void
not_a_kernel(void **state)
{
	struct loader_image li;
	(void)state;
	memset(img, 'x', 4096);
	assert_int_equal(loader_parse(img, 4096, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a kernel image"));
	assert_int_equal(loader_parse(img, 0, RAM, &li, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
}

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void
mptable_checksums(void **state)
{
	uint8_t buf[4096];
	(void)state;
	assert_int_equal(mptable_write(buf, 0xf0000, 4), 0);
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(sum(buf, 16), 0);
	uint16_t len;
	memcpy(&len, buf + 16 + 4, 2);
	assert_int_equal(len, mptable_size(4) - 16);
	assert_int_equal(sum(buf + 16, len), 0);
	uint16_t count;
	memcpy(&count, buf + 16 + 34, 2);
	assert_int_equal(count, 4 + 2 + 16 + 2);
	assert_int_equal(mptable_write(buf, 0xf0000, 0), -1);
	assert_int_equal(mptable_write(buf, 0xf0000, 65), -1);
}

static void
boot_pvh_layout(void **state)
{
	struct guestmem gm;
	struct loader_image li;
	struct boot_entry be;
	size_t len = make_elf(bits_of(state), 0x100010, 0x100000, 4096);
	memset(img + 1024, 0xf4, 4096); /* the kernel's bytes: hlt */
	assert_int_equal(guestmem_create(&gm, RAM), 0);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	struct boot_params_in in = {img, len, &li, NULL, 0, "console=ttyS0",
				    2,	 NULL};
	assert_int_equal(boot_prepare(&gm, &in, &be, err, sizeof(err)), 0);
	assert_int_equal(be.mode, BOOT_MODE_PROT32);
	assert_int_equal(be.rip, 0x100010);
	uint32_t magic;
	memcpy(&magic, guestmem_ptr(&gm, be.rbx, 4), 4);
	assert_int_equal(magic, 0x336ec578);
	assert_string_equal((char *)guestmem_ptr(&gm, BOOT_CMDLINE, 14),
			    "console=ttyS0");
	/* the kernel is where p_paddr says, its bss zeroed */
	assert_int_equal(*(uint8_t *)guestmem_ptr(&gm, 0x100000, 1), 0xf4);
	assert_int_equal(*(uint8_t *)guestmem_ptr(&gm, 0x100fff, 1), 0xf4);
	assert_int_equal(*(uint8_t *)guestmem_ptr(&gm, 0x100000 + 4097, 1), 0);
	guestmem_destroy(&gm);
}

/* Linux's screen_info in the zero page: what vesafb reads (offsets from
 * include/uapi/linux/screen_info.h). */
static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
bzimage_screen_info(void **state)
{
	struct guestmem gm;
	struct loader_image li;
	struct boot_entry be;
	struct boot_fb fb = {0xe0000000, 1280, 720, 5120, 5120 * 720};
	(void)state;
	size_t len = make_bzimage(0x020f, 4096);
	assert_int_equal(guestmem_create(&gm, RAM), 0);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)), 0);
	struct boot_params_in in = {img, len, &li, NULL, 0, NULL, 1, &fb};
	assert_int_equal(boot_prepare(&gm, &in, &be, err, sizeof(err)), 0);
	const uint8_t *si = guestmem_ptr(&gm, be.rsi, 0x40);
	assert_int_equal(si[0x0f], 0x23);	  /* VIDEO_TYPE_VLFB */
	assert_int_equal(get16(si + 0x12), 1280); /* lfb_width */
	assert_int_equal(get16(si + 0x14), 720);  /* lfb_height */
	assert_int_equal(get16(si + 0x16), 32);	  /* lfb_depth */
	uint32_t base, size;
	memcpy(&base, si + 0x18, 4);
	memcpy(&size, si + 0x1c, 4);
	assert_int_equal(base, 0xe0000000);
	assert_int_equal(size, (5120 * 720 + 0xffff) >> 16); /* 64 KiB units */
	assert_int_equal(get16(si + 0x24), 5120); /* lfb_linelength */
	const uint8_t rgbx[8] = {8, 16, 8, 8, 8, 0, 8, 24};
	assert_memory_equal(si + 0x26, rgbx, 8);
	/* the setup header that follows is untouched by it */
	assert_int_equal(get16(si + 0x1fe), 0xaa55);
	/* no display: no screen_info, so no framebuffer driver binds */
	in.fb = NULL;
	assert_int_equal(boot_prepare(&gm, &in, &be, err, sizeof(err)), 0);
	si = guestmem_ptr(&gm, be.rsi, 0x40);
	for (int i = 0; i < 0x40; i++)
		assert_int_equal(si[i], 0);
	guestmem_destroy(&gm);
}

static void
guestmem_bounds(void **state)
{
	struct guestmem gm;
	uint64_t v;
	(void)state;
	assert_int_equal(guestmem_create(&gm, RAM), 0);
	assert_non_null(guestmem_ptr(&gm, 0, RAM));
	assert_null(guestmem_ptr(&gm, 1, RAM));
	assert_null(guestmem_ptr(&gm, RAM, 1));
	assert_null(guestmem_ptr(&gm, UINT64_MAX, 2));
	guestmem_destroy(&gm);
	assert_int_equal(guestmem_parse_size("64M", &v), 0);
	assert_int_equal(v, 64 << 20);
	assert_int_equal(guestmem_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(guestmem_parse_size("512MiB", &v), 0);
	assert_int_equal(guestmem_parse_size("12Q", &v), -1);
	assert_int_equal(guestmem_parse_size("", &v), -1);
	assert_int_equal(guestmem_parse_size("-1M", &v), -1);
	assert_int_equal(guestmem_parse_size("99999999999999999999G", &v), -1);
}

static const int elf32 = 32, elf64 = 64;

/* A test of an ELF image, once per class. */
/* clang-format off */
#define ELF_BOTH(f) \
	{ #f "/ELF32", f, NULL, NULL, (void *)&elf32 }, \
	{ #f "/ELF64", f, NULL, NULL, (void *)&elf64 }
/* clang-format on */

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    ELF_BOTH(elf_valid),
	    ELF_BOTH(elf_note_widths),
	    ELF_BOTH(elf_truncated),
	    ELF_BOTH(elf_no_note),
	    ELF_BOTH(elf_bad_places),
	    ELF_BOTH(elf_bad_headers),
	    cmocka_unit_test(elf_machines),
	    cmocka_unit_test(elf32_field_widths),
	    cmocka_unit_test(bzimage_valid),
	    cmocka_unit_test(bzimage_bad),
	    cmocka_unit_test(bzimage_screen_info),
	    cmocka_unit_test(not_a_kernel),
	    cmocka_unit_test(mptable_checksums),
	    ELF_BOTH(boot_pvh_layout),
	    cmocka_unit_test(guestmem_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
