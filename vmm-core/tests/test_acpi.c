/*
 * Unit tests for the ACPI tables: walked from the RSDP the way an OS does,
 * every checksum and length checked, for 1, 2 and 64 vCPUs.
 *
 * `test_acpi --dump DIR NCPUS` instead writes each table to DIR/<sig>.dat
 * (rsdp, xsdt, facp, dsdt, apic) for `iasl -d` (tests/iasl_check.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acpi.h"
#include "boot.h"
#include "guestmem.h"
#include "loader.h"
#include "mptable.h"
#include "pmreg.h"
#include "pvpanic.h"

static uint8_t area[ACPI_AREA_SIZE];

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The table at guest-physical ADDR inside AREA (built at ACPI_ADDR),
 * checked: inside the area, its signature, length and checksum. */
static const uint8_t *
table(uint64_t addr, const char *sig, size_t used)
{
	assert_true(addr >= ACPI_ADDR);
	assert_true(addr + ACPI_HDR_LEN <= ACPI_ADDR + used);
	const uint8_t *t = area + (addr - ACPI_ADDR);
	uint32_t len = (uint32_t)le(t + 4, 4);
	assert_memory_equal(t, sig, 4);
	assert_true(len >= ACPI_HDR_LEN);
	assert_true(addr + len <= ACPI_ADDR + used);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "VMGATE", 6);
	return t;
}

/* A generic address structure naming the 8-bit I/O port PORT. */
static void
gas_io8(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], 8);
	assert_int_equal(g[2], 0);
	assert_int_equal(g[3], 1); /* byte access */
	assert_int_equal(le(g + 4, 8), port);
}

static size_t
pkglength(const uint8_t *p, size_t *nbytes)
{
	size_t k = (size_t)(p[0] >> 6) + 1, v;

	if (k == 1) {
		*nbytes = 1;
		return p[0] & 0x3f;
	}
	v = p[0] & 0x0f;
	for (size_t i = 1; i < k; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*nbytes = k;
	return v;
}

static const uint8_t *
find(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static void
check_dsdt(const uint8_t *t)
{
	uint32_t len = (uint32_t)le(t + 4, 4);
	const uint8_t *aml = t + ACPI_HDR_LEN, *end = t + len, *p;
	size_t k, pl;

	assert_int_equal(t[8], 2); /* 64-bit integers */
	/* Name (_S5, Package (4) { 5, 5, 0, 0 }) first, at the root */
	static const uint8_t s5[] = {0x08, '_', 'S', '5', '_', 0x12};
	assert_memory_equal(aml, s5, sizeof(s5));
	pl = pkglength(aml + 6, &k);
	assert_int_equal(aml[6 + k], 4);	/* elements */
	assert_int_equal(aml[6 + k + 1], 0x0a); /* BytePrefix */
	assert_int_equal(aml[6 + k + 2], 5);	/* SLP_TYPa: pmreg's S5 */
	assert_int_equal(PMREG_S5_VALUE >> 2 & 7, 5);
	/* Scope (\_SB) covers the rest of the table exactly: this checks
	 * the multi-byte PkgLength encoding too. */
	p = aml + 6 + pl;
	assert_int_equal(p[0], 0x10);
	pl = pkglength(p + 1, &k);
	assert_true(k >= 2);
	assert_ptr_equal(p + 1 + pl, end);
	assert_memory_equal(p + 1 + k, "\\_SB_", 5);
	/* COM1: EisaId ("PNP0501"), IO 0x3f8/8, IRQ 4 */
	static const uint8_t hid_com1[] = {0x08, '_',  'H',  'I',  'D',
					   0x0c, 0x41, 0xd0, 0x05, 0x01};
	static const uint8_t io_com1[] = {0x47, 0x01, 0xf8, 0x03, 0xf8,
					  0x03, 0x01, 0x08, 0x22, 0x10,
					  0x00, 0x79, 0x00};
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, hid_com1, sizeof(hid_com1)));
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, io_com1, sizeof(io_com1)));
	/* the i8042: keyboard EisaId ("PNP0303"), IO 0x60/1, 0x64/1, IRQ 1;
	 * mouse EisaId ("PNP0F13"), IRQ 12 */
	static const uint8_t hid_kbd[] = {0x08, '_',  'H',  'I',  'D',
					  0x0c, 0x41, 0xd0, 0x03, 0x03};
	static const uint8_t crs_kbd[] = {
	    0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x47, 0x01, 0x64,
	    0x00, 0x64, 0x00, 0x01, 0x01, 0x22, 0x02, 0x00, 0x79, 0x00};
	static const uint8_t hid_mouse[] = {0x08, '_',	'H',  'I',  'D',
					    0x0c, 0x41, 0xd0, 0x0f, 0x13};
	static const uint8_t crs_mouse[] = {0x0a, 0x05, 0x22, 0x00,
					    0x10, 0x79, 0x00};
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, hid_kbd, sizeof(hid_kbd)));
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, crs_kbd, sizeof(crs_kbd)));
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, hid_mouse, sizeof(hid_mouse)));
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, crs_mouse, sizeof(crs_mouse)));
	/* pvpanic: _HID "QEMU0001", IO 0x505/1 */
	static const char hid_panic[] = "\x08_HID\x0dQEMU0001";
	static const uint8_t io_panic[] = {0x47,
					   0x01,
					   PVPANIC_PORT & 0xff,
					   PVPANIC_PORT >> 8,
					   PVPANIC_PORT & 0xff,
					   PVPANIC_PORT >> 8,
					   0x01,
					   0x01,
					   0x79,
					   0x00};
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, hid_panic, sizeof(hid_panic)));
	assert_non_null(
	    find(aml, len - ACPI_HDR_LEN, io_panic, sizeof(io_panic)));
}

static void
check_madt(const uint8_t *t, int ncpus)
{
	uint32_t len = (uint32_t)le(t + 4, 4);
	int lapics = 0, ioapics = 0, nmis = 0;

	assert_int_equal(le(t + 36, 4), MPTABLE_LAPIC_ADDR);
	assert_int_equal(le(t + 40, 4) & 1, 1); /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = t + off;
		assert_true(off + 2 <= len);
		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0: /* processor local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);
			assert_int_equal(e[3], lapics);
			assert_int_equal(le(e + 4, 4), 1);
			lapics++;
			break;
		case 1: /* IOAPIC: after the LAPIC ids, as in the MP table */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], ncpus);
			assert_int_equal(le(e + 4, 4), MPTABLE_IOAPIC_ADDR);
			assert_int_equal(le(e + 8, 4), 0);
			ioapics++;
			break;
		case 4: /* local APIC NMI: LINT1 of all */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
}

static void
check_tables(int ncpus)
{
	long used = acpi_write(area, sizeof(area), ACPI_ADDR, ncpus);
	const uint8_t *r = area, *x, *f = NULL, *m = NULL;

	assert_true(used > ACPI_RSDP_LEN && used <= (long)sizeof(area));
	/* RSDP */
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(le(r + 20, 4), ACPI_RSDP_LEN);
	assert_int_equal(sum(r, ACPI_RSDP_LEN), 0);
	/* XSDT: the FADT and the MADT */
	x = table(le(r + 24, 8), "XSDT", (size_t)used);
	assert_int_equal(le(x + 4, 4), ACPI_HDR_LEN + 16);
	for (int i = 0; i < 2; i++) {
		uint64_t a = le(x + ACPI_HDR_LEN + 8 * i, 8);
		const uint8_t *t = area + (a - ACPI_ADDR);
		assert_true(a >= ACPI_ADDR && a + 4 <= ACPI_ADDR + used);
		if (memcmp(t, "FACP", 4) == 0)
			f = table(a, "FACP", (size_t)used);
		else
			m = table(a, "APIC", (size_t)used);
	}
	assert_non_null(f);
	assert_non_null(m);
	/* FADT: revision 6, hardware-reduced, the power register */
	assert_int_equal(le(f + 4, 4), ACPI_FADT_LEN);
	assert_int_equal(f[8], 6);
	uint32_t flags = (uint32_t)le(f + 112, 4);
	assert_true(flags & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10)); /* RESET_REG_SUP */
	gas_io8(f + 116, PMREG_PORT);	 /* RESET_REG */
	assert_int_equal(f[128], PMREG_RESET_VALUE);
	gas_io8(f + 244, PMREG_PORT);	    /* SLEEP_CONTROL_REG */
	gas_io8(f + 256, PMREG_PORT);	    /* SLEEP_STATUS_REG */
	assert_int_equal(le(f + 40, 4), 0); /* DSDT: X_DSDT only */
	check_dsdt(table(le(f + 140, 8), "DSDT", (size_t)used));
	check_madt(m, ncpus);
	/* The tables stay below the MP table */
	assert_true(ACPI_ADDR + (uint64_t)used <= MPTABLE_ADDR);
}

static void
tables_1_2_64_cpus(void **state)
{
	(void)state;
	check_tables(1);
	check_tables(2);
	check_tables(64);
}

static void
refuses_bad_arguments(void **state)
{
	(void)state;
	assert_int_equal(acpi_write(area, sizeof(area), ACPI_ADDR, 0), -1);
	assert_int_equal(acpi_write(area, sizeof(area), ACPI_ADDR, 65), -1);
	assert_int_equal(acpi_write(area, sizeof(area), ACPI_ADDR + 8, 1), -1);
	assert_int_equal(acpi_write(area, sizeof(area), 0xffffff00ULL, 1), -1);
}

/* Every buffer too small is refused, and nothing is written past it. */
static void
never_writes_past_cap(void **state)
{
	static uint8_t buf[4096 + 64];
	long need = acpi_write(area, sizeof(area), ACPI_ADDR, 64);
	(void)state;
	assert_true(need > 0 && need <= 4096);
	for (size_t cap = 0; cap < (size_t)need; cap++) {
		memset(buf, 0xa5, sizeof(buf));
		assert_int_equal(acpi_write(buf, cap, ACPI_ADDR, 64), -1);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0xa5);
	}
	assert_int_equal(acpi_write(buf, (size_t)need, ACPI_ADDR, 64), need);
}

/* Both boot paths put the tables in guest memory and tell the kernel. */
static void
boot_passes_the_rsdp(void **state)
{
	static uint8_t kernel[8192];
	struct guestmem gm;
	struct boot_entry be;
	struct loader_image li = {
	    .kind = LOADER_PVH_ELF,
	    .entry = 0x100000,
	    .end = 0x101000,
	    .nsegments = 1,
	    .seg = {{0x100000, 0, 4096, 4096}},
	};
	struct boot_params_in in = {kernel, sizeof(kernel), &li, NULL,
				    0,	    NULL,	    2,	 NULL};
	(void)state;
	assert_int_equal(guestmem_create(&gm, 64ULL << 20), 0);
	char err[200];
	assert_int_equal(boot_prepare(&gm, &in, &be, err, sizeof(err)), 0);
	const uint8_t *si = guestmem_ptr(&gm, be.rbx, 64);
	assert_int_equal(le(si + 4, 4), 1);	     /* version 1 */
	assert_int_equal(le(si + 32, 8), ACPI_ADDR); /* rsdp_paddr */
	assert_memory_equal(guestmem_ptr(&gm, ACPI_ADDR, 8), "RSD PTR ", 8);

	/* bzImage: boot_params.acpi_rsdp_addr */
	memset(kernel, 0, sizeof(kernel));
	li = (struct loader_image){
	    .kind = LOADER_BZIMAGE,
	    .entry = 0x100200,
	    .end = 0x101000,
	    .nsegments = 1,
	    .seg = {{0x100000, 4096, 4096, 4096}},
	    .version = 0x020f,
	    .setup_hdr_off = 0x1f1,
	    .setup_hdr_len = 0x26c - 0x1f1,
	    .initrd_addr_max = 0x7fffffff,
	    .cmdline_size = 2047,
	};
	assert_int_equal(guestmem_clear(&gm), 0);
	assert_int_equal(boot_prepare(&gm, &in, &be, err, sizeof(err)), 0);
	const uint8_t *zp = guestmem_ptr(&gm, be.rsi, 4096);
	assert_int_equal(le(zp + 0x070, 8), ACPI_ADDR);
	assert_memory_equal(guestmem_ptr(&gm, ACPI_ADDR, 8), "RSD PTR ", 8);
	guestmem_destroy(&gm);
}

static int
dump(const char *dir, int ncpus)
{
	long used = acpi_write(area, sizeof(area), ACPI_ADDR, ncpus);
	const uint8_t *r = area;
	char path[4096];

	if (used < 0) {
		fprintf(stderr, "acpi_write failed for %d CPUs\n", ncpus);
		return 1;
	}
	/* The RSDP, then every table it leads to: XSDT, its entries, and
	 * the DSDT behind the FADT. */
	uint64_t addr[8] = {ACPI_ADDR, le(r + 24, 8)};
	size_t len[8] = {ACPI_RSDP_LEN, 0};
	int n = 2;
	const uint8_t *x = area + (addr[1] - ACPI_ADDR);
	for (uint32_t off = ACPI_HDR_LEN; off < le(x + 4, 4) && n < 7;
	     off += 8) {
		addr[n++] = le(x + off, 8);
		const uint8_t *t = area + (addr[n - 1] - ACPI_ADDR);
		if (memcmp(t, "FACP", 4) == 0)
			addr[n++] = le(t + 140, 8);
	}
	for (int i = 0; i < n; i++) {
		const uint8_t *t = area + (addr[i] - ACPI_ADDR);
		char sig[5] = {0};
		size_t l = len[i] ? len[i] : (size_t)le(t + 4, 4);
		if (i == 0)
			memcpy(sig, "rsdp", 4);
		for (int c = 0; i > 0 && c < 4; c++)
			sig[c] = (char)(t[c] | 0x20); /* lower case */
		snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
		FILE *f = fopen(path, "wb");
		if (f == NULL || fwrite(t, 1, l, f) != l || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		printf("%s\n", path);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--dump") == 0)
		return dump(argv[2], atoi(argv[3]));
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tables_1_2_64_cpus),
	    cmocka_unit_test(refuses_bad_arguments),
	    cmocka_unit_test(never_writes_past_cap),
	    cmocka_unit_test(boot_passes_the_rsdp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
