/* Unit tests for the image loader and the boot layout it feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot.h"
#include "guestmem.h"
#include "loader.h"
#include "mptable.h"

#define RAM (64ULL << 20)

static uint8_t img[8192];
static char err[256];

static void
p16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void
p32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
p64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A minimal PVH ELF: header, a PT_NOTE and a PT_LOAD at 1 MiB. */
static size_t
make_elf(uint64_t entry, uint64_t paddr, uint64_t filesz)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\177ELF", 4);
	img[4] = 2;
	img[5] = 1;
	img[6] = 1;
	p16(img + 16, 2);
	p16(img + 18, 62);
	p64(img + 32, 64); /* phoff */
	p16(img + 54, 56);
	p16(img + 56, 2);
	uint8_t *ph = img + 64;
	p32(ph, 4); /* PT_NOTE */
	p64(ph + 8, 512);
	p64(ph + 32, 20);
	ph += 56;
	p32(ph, 1); /* PT_LOAD */
	p64(ph + 8, 1024);
	p64(ph + 24, paddr);
	p64(ph + 32, filesz);
	p64(ph + 40, filesz + 4096);
	uint8_t *note = img + 512;
	p32(note, 4);
	p32(note + 4, 4);
	p32(note + 8, 18);
	memcpy(note + 12, "Xen", 4);
	p32(note + 16, (uint32_t)entry);
	return 1024 + filesz;
}

static void
elf_valid(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_elf(0x100010, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 0);
	assert_int_equal(li.kind, LOADER_PVH_ELF);
	assert_int_equal(li.entry, 0x100010);
	assert_int_equal(li.nsegments, 1);
	assert_int_equal(li.seg[0].memsz, 8192);
	assert_int_equal(li.end, 0x100000 + 8192);
}

static void
elf_truncated(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_elf(0x100010, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len - 1, RAM, &li, err,
				      sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated image"));
	assert_int_equal(loader_parse(img, 40, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "truncated ELF header"));
}

static void
elf_no_note(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_elf(0x100010, 0x100000, 4096);
	img[512 + 8] = 17; /* another note type */
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no Xen PVH entry note"));
}

static void
elf_bad_places(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_elf(0x200000, 0x100000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not inside a loaded segment"));
	len = make_elf(0x4000010, 0x4000000, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "outside RAM"));
	len = make_elf(0x10, 0x0, 4096); /* would overwrite boot data */
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	make_elf(0x100010, 0x100000, 4096);
	img[4] = 1;
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not ELF64"));
}

static size_t
make_bzimage(uint16_t version, uint32_t syssize_bytes)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = 4; /* setup sectors */
	p16(img + 0x1fe, 0xaa55);
	img[0x201] = 0x6a; /* header ends at 0x26c */
	p32(img + 0x202, 0x53726448);
	p16(img + 0x206, version);
	img[0x211] = 0x01;
	p32(img + 0x1f4, syssize_bytes / 16);
	p16(img + 0x236, 0x1);
	p32(img + 0x22c, 0x7fffffff);
	p32(img + 0x238, 2047);
	p32(img + 0x260, 0x10000);
	return 5 * 512 + syssize_bytes;
}

static void
bzimage_valid(void **state)
{
	struct loader_image li;
	(void)state;
	size_t len = make_bzimage(0x020f, 4096);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 0);
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
	assert_int_equal(loader_parse(img, len - 100, RAM, &li, err,
				      sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated image"));
	make_bzimage(0x020f, 4096);
	p16(img + 0x236, 0);
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
	(void)state;
	size_t len = make_elf(0x100010, 0x100000, 4096);
	assert_int_equal(guestmem_create(&gm, RAM), 0);
	assert_int_equal(loader_parse(img, len, RAM, &li, err, sizeof(err)),
			 0);
	struct boot_params_in in = { img, len, &li, NULL, 0, "console=ttyS0",
				     2 };
	assert_int_equal(boot_prepare(&gm, &in, &be, err, sizeof(err)), 0);
	assert_int_equal(be.mode, BOOT_MODE_PROT32);
	assert_int_equal(be.rip, 0x100010);
	uint32_t magic;
	memcpy(&magic, guestmem_ptr(&gm, be.rbx, 4), 4);
	assert_int_equal(magic, 0x336ec578);
	assert_string_equal((char *)guestmem_ptr(&gm, BOOT_CMDLINE, 14),
			    "console=ttyS0");
	/* the kernel's bss is zeroed */
	assert_int_equal(*(uint8_t *)guestmem_ptr(&gm, 0x100000 + 4097, 1), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(elf_valid),
		cmocka_unit_test(elf_truncated),
		cmocka_unit_test(elf_no_note),
		cmocka_unit_test(elf_bad_places),
		cmocka_unit_test(bzimage_valid),
		cmocka_unit_test(bzimage_bad),
		cmocka_unit_test(not_a_kernel),
		cmocka_unit_test(mptable_checksums),
		cmocka_unit_test(boot_pvh_layout),
		cmocka_unit_test(guestmem_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
