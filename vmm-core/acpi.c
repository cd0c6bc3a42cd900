#include "acpi.h"
#include "wire.h"

#include "i8042.h"
#include "mptable.h"
#include "pmreg.h"
#include "pvpanic.h"
#include "uart8250.h"

#include <string.h>

/*
 * Field offsets are those of the ACPI 6.x specification (section 5.2):
 * RSDP 5.2.5.3, table header 5.2.6, FADT 5.2.9, MADT 5.2.12, generic
 * address structure 5.2.3.2; AML encodings from chapter 20.
 */
#define OEM_ID "VMGATE"	  /* 6 bytes */
#define CREATOR_ID "VMGT" /* 4 bytes */

/* Generic address structure: address space ids and access sizes. */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* FADT offsets and flags. */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
#define BOOT_ARCH_CMOS_RTC_NOT_PRESENT (1u << 5)
#define FADT_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)

/* MADT. */
#define MADT_LEN 44
#define MADT_PCAT_COMPAT 1u
#define MADT_LOCAL_APIC 0     /* 8 bytes */
#define MADT_IO_APIC 1	      /* 12 bytes */
#define MADT_LOCAL_APIC_NMI 4 /* 6 bytes */
#define MADT_ENABLED 1u
#define MADT_ALL_PROCESSORS 0xff

/* AML opcodes (ACPI 6.x, 20.2). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5b
#define AML_EXT_DEVICE 0x82
#define AML_ROOT '\\'

/* Small resource descriptors (ACPI 6.x, 6.4.2). */
#define RES_IRQ_NOFLAGS 0x22 /* IRQ, 2 bytes: mask */
#define RES_IO 0x47	     /* I/O port, 7 bytes */
#define RES_IO_DECODE16 0x01
#define RES_END 0x79 /* end tag, 1 byte: checksum (0: none) */

/*
 * The AML byte emitter.  Writes past cap are counted, not made: the caller
 * checks `over` once at the end.  Objects with a PkgLength are written as
 * open (opcode), contents, close: close measures the contents and inserts
 * the shortest PkgLength encoding in front of them.
 */
struct aml {
	uint8_t *p;
	size_t cap, len;
	int over;
};

static void
aml_bytes(struct aml *a, const void *src, size_t n)
{
	if (a->over || n > a->cap - a->len) {
		a->over = 1;
		return;
	}
	memcpy(a->p + a->len, src, n);
	a->len += n;
}

static void
aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* A NameSeg: up to four characters, padded with '_'. */
static void
aml_nameseg(struct aml *a, const char *seg)
{
	char s[4] = {'_', '_', '_', '_'};

	for (int i = 0; i < 4 && seg[i] != '\0'; i++)
		s[i] = seg[i];
	aml_bytes(a, s, 4);
}

/* A NameString of one segment, optionally from the root: "\\_SB", "_S5". */
static void
aml_name(struct aml *a, const char *name)
{
	if (name[0] == AML_ROOT) {
		aml_byte(a, AML_ROOT);
		name++;
	}
	aml_nameseg(a, name);
}

/* The shortest encoding of an integer constant. */
static void
aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	int n;

	if (v == 0) {
		aml_byte(a, AML_ZERO);
		return;
	}
	if (v == 1) {
		aml_byte(a, AML_ONE);
		return;
	}
	if (v <= 0xff)
		b[0] = AML_BYTE, n = 1;
	else if (v <= 0xffff)
		b[0] = AML_WORD, n = 2;
	else if (v <= 0xffffffff)
		b[0] = AML_DWORD, n = 4;
	else
		b[0] = AML_QWORD, n = 8;
	for (int i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, (size_t)n + 1);
}

static void
aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

/* A compressed EISA id, "PNP0501" -> 0x0105d041, as iasl's EisaId(). */
static void
aml_eisaid(struct aml *a, const char *id)
{
	uint32_t c1 = (uint32_t)(id[0] - '@'), c2 = (uint32_t)(id[1] - '@'),
		 c3 = (uint32_t)(id[2] - '@'), hex = 0;

	for (int i = 3; i < 7; i++) {
		char c = id[i];
		hex = hex << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10);
	}
	uint8_t b0 = (uint8_t)(c1 << 2 | c2 >> 3);
	uint8_t b1 = (uint8_t)((c2 & 7) << 5 | c3);
	aml_integer(a, (uint32_t)b0 | (uint32_t)b1 << 8 |
			   (uint32_t)(hex >> 8 & 0xff) << 16 |
			   (uint32_t)(hex & 0xff) << 24);
}

/* Starts an object that carries a PkgLength; returns where it goes. */
static size_t
aml_open(struct aml *a, const uint8_t *op, size_t oplen)
{
	aml_bytes(a, op, oplen);
	return a->len;
}

static void
aml_close(struct aml *a, size_t at)
{
	size_t body = a->len - at, k, total;

	if (a->over)
		return;
	/* The PkgLength counts itself: 1 byte holds up to 63, 2 bytes up to
	 * 2^12 - 1, 3 up to 2^20 - 1, 4 up to 2^28 - 1. */
	for (k = 1; k <= 4; k++) {
		total = body + k;
		if (total < (k == 1 ? 0x40u : 1u << (4 + 8 * (k - 1))))
			break;
	}
	if (k > 4 || k > a->cap - a->len) {
		a->over = 1;
		return;
	}
	memmove(a->p + at + k, a->p + at, body);
	if (k == 1) {
		a->p[at] = (uint8_t)total;
	} else {
		a->p[at] = (uint8_t)((k - 1) << 6 | (total & 0x0f));
		for (size_t i = 1; i < k; i++)
			a->p[at + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len += k;
}

static size_t
aml_scope(struct aml *a, const char *name)
{
	static const uint8_t op[] = {AML_SCOPE};
	size_t at = aml_open(a, op, sizeof(op));

	aml_name(a, name);
	return at;
}

static size_t
aml_device(struct aml *a, const char *name)
{
	static const uint8_t op[] = {AML_EXT, AML_EXT_DEVICE};
	size_t at = aml_open(a, op, sizeof(op));

	aml_name(a, name);
	return at;
}

/* Name (NAME, Package () { v[0], ... }) */
static void
aml_name_package(struct aml *a, const char *name, const uint64_t *v, int n)
{
	static const uint8_t op[] = {AML_PACKAGE};

	aml_byte(a, AML_NAME);
	aml_name(a, name);
	size_t at = aml_open(a, op, sizeof(op));
	aml_byte(a, (uint8_t)n);
	for (int i = 0; i < n; i++)
		aml_integer(a, v[i]);
	aml_close(a, at);
}

/* A ResourceTemplate under construction: the descriptors' bytes. */
struct res {
	uint8_t b[32];
	size_t len;
};

static void
res_io(struct res *r, uint16_t port, uint8_t len)
{
	uint8_t d[8] = {RES_IO,
			RES_IO_DECODE16,
			(uint8_t)port,
			(uint8_t)(port >> 8),
			(uint8_t)port,
			(uint8_t)(port >> 8),
			1,
			len};

	memcpy(r->b + r->len, d, sizeof(d));
	r->len += sizeof(d);
}

static void
res_irq(struct res *r, int irq)
{
	uint16_t mask = (uint16_t)(1u << irq);

	r->b[r->len++] = RES_IRQ_NOFLAGS;
	r->b[r->len++] = (uint8_t)mask;
	r->b[r->len++] = (uint8_t)(mask >> 8);
}

/* Name (_CRS, ResourceTemplate () { ... }): a Buffer ending in the tag. */
static void
aml_name_crs(struct aml *a, struct res *r)
{
	static const uint8_t op[] = {AML_BUFFER};

	r->b[r->len++] = RES_END;
	r->b[r->len++] = 0;
	aml_byte(a, AML_NAME);
	aml_name(a, "_CRS");
	size_t at = aml_open(a, op, sizeof(op));
	aml_integer(a, r->len);
	aml_bytes(a, r->b, r->len);
	aml_close(a, at);
}

/* Tables ----------------------------------------------------------------- */

static void
header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev,
       const char *table_id)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, table_id, 8);
	put32(t + 24, 1); /* OEM revision */
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, 1); /* creator revision */
}

static void
finish(uint8_t *t)
{
	uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 |
		       (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = 0;
	t[9] = checksum8(t, len);
}

/* An 8-bit register at an I/O port. */
static void
gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8; /* bit width */
	g[2] = 0; /* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	put64(g + 4, port);
}

static long
write_dsdt(uint8_t *t, size_t cap)
{
	static const uint64_t s5[] = {5, 5, 0, 0}; /* SLP_TYPa, SLP_TYPb */
	struct aml a = {.p = t, .cap = cap};
	struct res com1 = {.len = 0}, panic = {.len = 0}, kbd = {.len = 0},
		   mouse = {.len = 0};
	size_t sb, dev;

	if (cap < ACPI_HDR_LEN)
		return -1;
	a.len = ACPI_HDR_LEN;
	aml_name_package(&a, "_S5", s5, 4);
	sb = aml_scope(&a, "\\_SB");

	dev = aml_device(&a, "COM1");
	aml_byte(&a, AML_NAME);
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0501");
	aml_byte(&a, AML_NAME);
	aml_name(&a, "_UID");
	aml_integer(&a, 1);
	res_io(&com1, UART8250_COM1_BASE, 8);
	res_irq(&com1, UART8250_COM1_IRQ);
	aml_name_crs(&a, &com1);
	aml_close(&a, dev);

	/* The i8042's two ports, as a PC's firmware declares them: Linux's
	 * i8042 driver takes its interrupts from these (a hardware-reduced
	 * platform maps no ISA IRQ by itself). */
	dev = aml_device(&a, "KBD");
	aml_byte(&a, AML_NAME);
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0303");
	res_io(&kbd, I8042_DATA_PORT, 1);
	res_io(&kbd, I8042_CMD_PORT, 1);
	res_irq(&kbd, I8042_KBD_IRQ);
	aml_name_crs(&a, &kbd);
	aml_close(&a, dev);

	dev = aml_device(&a, "MOU");
	aml_byte(&a, AML_NAME);
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0F13");
	res_irq(&mouse, I8042_AUX_IRQ);
	aml_name_crs(&a, &mouse);
	aml_close(&a, dev);

	dev = aml_device(&a, "PEVT");
	aml_byte(&a, AML_NAME);
	aml_name(&a, "_HID");
	aml_string(&a, "QEMU0001");
	res_io(&panic, PVPANIC_PORT, 1);
	aml_name_crs(&a, &panic);
	aml_close(&a, dev);

	aml_close(&a, sb);
	if (a.over)
		return -1;
	/* Revision 2: integers are 64 bits wide. */
	header(t, "DSDT", (uint32_t)a.len, 2, "VMGATEDS");
	finish(t);
	return (long)a.len;
}

static long
write_fadt(uint8_t *t, size_t cap, uint64_t dsdt)
{
	if (cap < ACPI_FADT_LEN)
		return -1;
	memset(t, 0, ACPI_FADT_LEN);
	header(t, "FACP", ACPI_FADT_LEN, 6, "VMGATEFA");
	t[FADT_MINOR_VERSION] = 0; /* ACPI 6.0 */
	/* No FACS (optional when hardware-reduced); DSDT only as X_DSDT: a
	 * non-zero X_DSDT requires the 32-bit field to be 0. */
	put32(t + FADT_FIRMWARE_CTRL, 0);
	put32(t + FADT_DSDT, 0);
	put64(t + FADT_X_DSDT, dsdt);
	put16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_8042 |
					   BOOT_ARCH_VGA_NOT_PRESENT |
					   BOOT_ARCH_CMOS_RTC_NOT_PRESENT);
	put32(t + FADT_FLAGS, FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP |
				  FADT_PWR_BUTTON | FADT_SLP_BUTTON);
	gas_io8(t + FADT_RESET_REG, PMREG_PORT);
	t[FADT_RESET_VALUE] = PMREG_RESET_VALUE;
	gas_io8(t + FADT_SLEEP_CONTROL_REG, PMREG_PORT);
	gas_io8(t + FADT_SLEEP_STATUS_REG, PMREG_PORT);
	finish(t);
	return ACPI_FADT_LEN;
}

static long
write_madt(uint8_t *t, size_t cap, int ncpus)
{
	size_t len = MADT_LEN + (size_t)ncpus * 8 + 12 + 6;
	uint8_t *e = t + MADT_LEN;

	if (cap < len)
		return -1;
	memset(t, 0, len);
	/* Revision 4: ACPI 6.0. */
	header(t, "APIC", (uint32_t)len, 4, "VMGATEMA");
	put32(t + 36, MPTABLE_LAPIC_ADDR);
	put32(t + 40, MADT_PCAT_COMPAT);
	for (int i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_LOCAL_APIC;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC id, as CPUID says (vm.c) */
		put32(e + 4, MADT_ENABLED);
	}
	e[0] = MADT_IO_APIC;
	e[1] = 12;
	e[2] = (uint8_t)ncpus; /* the MP table's IOAPIC id */
	put32(e + 4, MPTABLE_IOAPIC_ADDR);
	put32(e + 8, 0); /* GSI base */
	e += 12;
	e[0] = MADT_LOCAL_APIC_NMI;
	e[1] = 6;
	e[2] = MADT_ALL_PROCESSORS;
	put16(e + 3, 0); /* bus-conforming polarity and trigger */
	e[5] = 1;	 /* LINT1, as vm.c programs it */
	finish(t);
	return (long)len;
}

static size_t
align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

long
acpi_write(uint8_t *buf, size_t cap, uint64_t base, int ncpus)
{
	size_t rsdp = 0, xsdt, fadt, dsdt, madt, end;
	size_t xsdt_len = ACPI_HDR_LEN + 2 * 8;
	long n;

	if (ncpus < 1 || ncpus > ACPI_MAX_CPUS || (base & 15) != 0 ||
	    base + cap < base || base + cap > 0x100000000ULL ||
	    cap < ACPI_RSDP_LEN)
		return -1;
	memset(buf, 0, cap);
	xsdt = align16(rsdp + ACPI_RSDP_LEN);
	fadt = align16(xsdt + xsdt_len);
	dsdt = align16(fadt + ACPI_FADT_LEN);
	if (dsdt > cap || (n = write_dsdt(buf + dsdt, cap - dsdt)) < 0)
		return -1;
	madt = align16(dsdt + (size_t)n);
	if (madt > cap || (n = write_madt(buf + madt, cap - madt, ncpus)) < 0)
		return -1;
	end = madt + (size_t)n;
	if (xsdt + xsdt_len > cap ||
	    write_fadt(buf + fadt, cap - fadt, base + dsdt) < 0)
		return -1;

	uint8_t *x = buf + xsdt;
	header(x, "XSDT", (uint32_t)xsdt_len, 1, "VMGATEXS");
	put64(x + ACPI_HDR_LEN, base + fadt);
	put64(x + ACPI_HDR_LEN + 8, base + madt);
	finish(x);

	uint8_t *r = buf + rsdp;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	r[15] = 2;	  /* revision: ACPI 2.0+, has the XSDT */
	put32(r + 16, 0); /* no RSDT: every ACPI 2.0+ OS takes the XSDT */
	put32(r + 20, ACPI_RSDP_LEN);
	put64(r + 24, base + xsdt);
	r[8] = checksum8(r, 20);
	r[32] = checksum8(r, ACPI_RSDP_LEN);
	return (long)end;
}
