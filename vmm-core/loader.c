/*
 * loader: see loader.h.  All reads of the image go through the rd_* getters,
 * which fail (and read nothing) when the field lies outside the image.
 */
#include "loader.h"
#include "errmsg.h"

#include <stdio.h>
#include <string.h>

#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define BZ_SETUP_HDR 0x1f1
#define BZ_HDRS_MAGIC 0x53726448 /* "HdrS" */
#define BZ_XLF_KERNEL_64 0x1
#define BZ_MIN_VERSION 0x020c /* xloadflags, 64-bit entry */
#define LOW_MEMORY_END 0x100000ULL

struct rd {
	const uint8_t *p;
	size_t len;
};

static int
rd_bytes(const struct rd *r, uint64_t off, void *dst, size_t n)
{
	if (off > r->len || n > r->len - off)
		return -1;
	memcpy(dst, r->p + off, n);
	return 0;
}

static int
rd_u8(const struct rd *r, uint64_t off, uint8_t *v)
{
	return rd_bytes(r, off, v, 1);
}

static int
rd_u16(const struct rd *r, uint64_t off, uint16_t *v)
{
	uint8_t b[2];
	if (rd_bytes(r, off, b, sizeof(b)) != 0)
		return -1;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return 0;
}

static int
rd_u32(const struct rd *r, uint64_t off, uint32_t *v)
{
	uint8_t b[4];
	if (rd_bytes(r, off, b, sizeof(b)) != 0)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	     (uint32_t)b[3] << 24;
	return 0;
}

static int
rd_u64(const struct rd *r, uint64_t off, uint64_t *v)
{
	uint32_t lo, hi;
	if (rd_u32(r, off, &lo) != 0 || rd_u32(r, off + 4, &hi) != 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* Does [addr, addr+size) fit in [LOW_MEMORY_END, limit)? */
static int
fits_ram(uint64_t addr, uint64_t size, uint64_t limit)
{
	return addr >= LOW_MEMORY_END && addr <= limit && size <= limit - addr;
}

/* Walks the notes in [off, off+size) looking for the PVH entry. */
static int
find_pvh_note(const struct rd *r, uint64_t off, uint64_t size,
	      uint64_t *entry)
{
	uint64_t end = off + size;

	while (off + 12 <= end) {
		uint32_t namesz, descsz, type;
		char name[4];

		if (rd_u32(r, off, &namesz) || rd_u32(r, off + 4, &descsz) ||
		    rd_u32(r, off + 8, &type))
			return -1;
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		if (next > end || next <= off)
			return -1;
		if (namesz == 4 && type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    rd_bytes(r, name_off, name, 4) == 0 &&
		    memcmp(name, "Xen", 4) == 0) {
			uint32_t e32;
			if (descsz == 4 && rd_u32(r, desc_off, &e32) == 0) {
				*entry = e32;
				return 0;
			}
			if (descsz == 8 && rd_u64(r, desc_off, entry) == 0)
				return 0;
			return -1;
		}
		off = next;
	}
	return 1; /* not in this segment */
}

static int
parse_elf(const struct rd *r, uint64_t ram_limit, struct loader_image *out,
	  char *err, size_t errlen)
{
	uint8_t cls, data;
	uint16_t type, machine, phentsize, phnum;
	uint64_t phoff;
	int have_entry = 0;

	if (rd_u8(r, 4, &cls) || rd_u8(r, 5, &data))
		return errmsg(err, errlen, "truncated ELF header");
	if (cls != 2)
		return errmsg(err, errlen, "ELF class %u is not ELF64", cls);
	if (data != 1)
		return errmsg(err, errlen, "ELF is not little-endian");
	if (rd_u16(r, 16, &type) || rd_u16(r, 18, &machine) ||
	    rd_u64(r, 32, &phoff) || rd_u16(r, 54, &phentsize) ||
	    rd_u16(r, 56, &phnum))
		return errmsg(err, errlen, "truncated ELF header");
	if (type != 2)
		return errmsg(err, errlen, "ELF type %u is not an executable",
			      type);
	if (machine != 62)
		return errmsg(err, errlen, "ELF machine %u is not x86-64",
			      machine);
	if (phentsize != 56)
		return errmsg(err, errlen,
			      "ELF program header size %u, want 56", phentsize);
	if (phnum == 0)
		return errmsg(err, errlen, "ELF has no program headers");
	if (phoff > r->len || (uint64_t)phnum * 56 > r->len - phoff)
		return errmsg(err, errlen,
			      "ELF program headers (%u at offset %llu) lie "
			      "outside the file",
			      phnum, (unsigned long long)phoff);

	out->kind = LOADER_PVH_ELF;
	out->nsegments = 0;
	out->end = 0;
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t ph = phoff + (uint64_t)i * 56;
		uint32_t ptype;
		uint64_t offset, paddr, filesz, memsz;

		if (rd_u32(r, ph, &ptype) || rd_u64(r, ph + 8, &offset) ||
		    rd_u64(r, ph + 24, &paddr) || rd_u64(r, ph + 32, &filesz) ||
		    rd_u64(r, ph + 40, &memsz))
			return errmsg(err, errlen,
				      "truncated program header %u", i);
		if (ptype != ELF_PT_LOAD && ptype != ELF_PT_NOTE)
			continue;
		if (offset > r->len || filesz > r->len - offset)
			return errmsg(err, errlen,
				      "segment %u (offset %llu, %llu bytes) "
				      "extends past the end of the file "
				      "(%zu bytes): truncated image?",
				      i, (unsigned long long)offset,
				      (unsigned long long)filesz, r->len);
		if (ptype == ELF_PT_NOTE) {
			if (!have_entry &&
			    find_pvh_note(r, offset, filesz, &out->entry) == 0)
				have_entry = 1;
			continue;
		}
		if (memsz < filesz)
			return errmsg(err, errlen,
				      "segment %u has memsz < filesz", i);
		if (memsz == 0)
			continue;
		if (!fits_ram(paddr, memsz, ram_limit))
			return errmsg(err, errlen,
				      "segment %u needs guest memory "
				      "0x%llx-0x%llx, outside RAM "
				      "0x100000-0x%llx (more --mem?)",
				      i, (unsigned long long)paddr,
				      (unsigned long long)(paddr + memsz),
				      (unsigned long long)ram_limit);
		for (int j = 0; j < out->nsegments; j++) {
			const struct loader_segment *s = &out->seg[j];
			if (paddr < s->paddr + s->memsz &&
			    s->paddr < paddr + memsz)
				return errmsg(err, errlen,
					      "segment %u overlaps segment at "
					      "0x%llx",
					      i, (unsigned long long)s->paddr);
		}
		if (out->nsegments == LOADER_MAX_SEGMENTS)
			return errmsg(err, errlen,
				      "more than %d loadable "
				      "segments",
				      LOADER_MAX_SEGMENTS);
		out->seg[out->nsegments++] = (struct loader_segment){
			.paddr = paddr,
			.offset = offset,
			.filesz = filesz,
			.memsz = memsz,
		};
		if (paddr + memsz > out->end)
			out->end = paddr + memsz;
	}
	if (!have_entry)
		return errmsg(err, errlen,
			      "ELF has no Xen PVH entry note "
			      "(XEN_ELFNOTE_PHYS32_ENTRY): not a PVH kernel");
	if (out->nsegments == 0)
		return errmsg(err, errlen, "ELF has no loadable segments");
	for (int j = 0; j < out->nsegments; j++) {
		const struct loader_segment *s = &out->seg[j];
		if (out->entry >= s->paddr && out->entry < s->paddr + s->filesz)
			return 0;
	}
	return errmsg(err, errlen,
		      "PVH entry 0x%llx is not inside a loaded segment",
		      (unsigned long long)out->entry);
}

static int
parse_bzimage(const struct rd *r, uint64_t ram_limit,
	      struct loader_image *out, char *err, size_t errlen)
{
	uint8_t setup_sects, hdr_jump_len;
	uint16_t version, xloadflags;
	uint32_t syssize, initrd_max = 0x37ffffff, cmdline_size = 255;
	uint32_t init_size = 0;
	uint8_t loadflags;

	if (rd_u8(r, 0x1f1, &setup_sects) || rd_u16(r, 0x206, &version) ||
	    rd_u8(r, 0x201, &hdr_jump_len) || rd_u32(r, 0x1f4, &syssize) ||
	    rd_u8(r, 0x211, &loadflags))
		return errmsg(err, errlen, "truncated bzImage setup header");
	if (version < BZ_MIN_VERSION)
		return errmsg(err, errlen,
			      "boot protocol %u.%02u is too old (need 2.12 for "
			      "the 64-bit entry)",
			      version >> 8, version & 0xff);
	if (rd_u16(r, 0x236, &xloadflags) || rd_u32(r, 0x22c, &initrd_max) ||
	    rd_u32(r, 0x238, &cmdline_size) || rd_u32(r, 0x260, &init_size))
		return errmsg(err, errlen, "truncated bzImage setup header");
	if (!(xloadflags & BZ_XLF_KERNEL_64))
		return errmsg(
		    err, errlen,
		    "kernel has no 64-bit entry point (XLF_KERNEL_64)");
	if (!(loadflags & 0x01))
		return errmsg(err, errlen,
			      "zImage (not loaded high) is not "
			      "supported");
	if (setup_sects == 0)
		setup_sects = 4;

	uint64_t kernel_off = ((uint64_t)setup_sects + 1) * 512;
	if (kernel_off >= r->len)
		return errmsg(err, errlen,
			      "file ends (%zu bytes) before the protected-mode "
			      "kernel at offset %llu: truncated image?",
			      r->len, (unsigned long long)kernel_off);
	uint64_t kernel_len = r->len - kernel_off;
	if ((uint64_t)syssize * 16 > kernel_len)
		return errmsg(err, errlen,
			      "header says the kernel has %llu bytes but only "
			      "%llu follow the setup code: truncated image?",
			      (unsigned long long)syssize * 16,
			      (unsigned long long)kernel_len);
	uint64_t need = kernel_len > init_size ? kernel_len : init_size;
	if (!fits_ram(LOADER_BZIMAGE_ADDR, need, ram_limit))
		return errmsg(err, errlen,
			      "kernel needs %llu KiB at 1 MiB but RAM ends at "
			      "0x%llx (more --mem?)",
			      (unsigned long long)(need >> 10),
			      (unsigned long long)ram_limit);

	out->kind = LOADER_BZIMAGE;
	out->version = version;
	out->entry = LOADER_BZIMAGE_ADDR + 0x200;
	out->end = LOADER_BZIMAGE_ADDR + need;
	out->nsegments = 1;
	out->seg[0] = (struct loader_segment){
		.paddr = LOADER_BZIMAGE_ADDR,
		.offset = kernel_off,
		.filesz = kernel_len,
		.memsz = kernel_len,
	};
	out->setup_hdr_off = BZ_SETUP_HDR;
	/* The header runs from 0x1f1 to the end of the jump's target. */
	out->setup_hdr_len = 0x202 + hdr_jump_len - BZ_SETUP_HDR;
	if (out->setup_hdr_len > 0x290 - BZ_SETUP_HDR)
		out->setup_hdr_len = 0x290 - BZ_SETUP_HDR;
	out->initrd_addr_max = initrd_max;
	out->cmdline_size = cmdline_size;
	out->init_size = init_size;
	return 0;
}

int
loader_parse(const uint8_t *img, size_t len, uint64_t ram_limit,
	     struct loader_image *out, char *err, size_t errlen)
{
	struct rd r = { img, len };
	uint32_t magic;
	uint16_t boot_flag;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return errmsg(err, errlen, "file is empty");
	if (rd_bytes(&r, 0, &magic, 4) == 0 && memcmp(img, "\177ELF", 4) == 0)
		return parse_elf(&r, ram_limit, out, err, errlen);
	if (rd_u32(&r, 0x202, &magic) == 0 && magic == BZ_HDRS_MAGIC &&
	    rd_u16(&r, 0x1fe, &boot_flag) == 0 && boot_flag == 0xaa55)
		return parse_bzimage(&r, ram_limit, out, err, errlen);
	return errmsg(err, errlen,
		      "not a kernel image: neither ELF with a PVH note nor a "
		      "Linux bzImage (%zu bytes)",
		      len);
}

const char *
loader_kind_name(enum loader_kind kind)
{
	switch (kind) {
	case LOADER_PVH_ELF:
		return "PVH ELF";
	case LOADER_BZIMAGE:
		return "bzImage";
	}
	return "unknown";
}
