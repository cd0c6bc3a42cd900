/*
 * loader: see loader.h.  All reads of the image go through protocols/rbuf.h's
 * positional getters (rbuf_at_*), which fail (and read nothing) when the
 * field lies outside the image.
 */
#include "loader.h"
#include "errmsg.h"
#include "rbuf.h"

#include <stdio.h>
#include <string.h>

#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4
#define ELF_ET_EXEC 2
#define ELF_EM_386 3
#define ELF_EM_X86_64 62
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define BZ_SETUP_HDR 0x1f1
#define BZ_HDRS_MAGIC 0x53726448 /* "HdrS" */
#define BZ_XLF_KERNEL_64 0x1
#define BZ_MIN_VERSION 0x020c /* xloadflags, 64-bit entry */
#define LOW_MEMORY_END 0x100000ULL

/* An ELF word of WIDTH bytes (4 or 8), widened. */
static int
rd_word(const struct rbuf *r, uint64_t off, unsigned width, uint64_t *v)
{
	uint32_t v32;

	if (width == 8)
		return rbuf_at_le64(r, off, v);
	if (rbuf_at_le32(r, off, &v32) != 0)
		return -1;
	*v = v32;
	return 0;
}

/* Does [addr, addr+size) fit in [LOW_MEMORY_END, limit)? */
static int
fits_ram(uint64_t addr, uint64_t size, uint64_t limit)
{
	return addr >= LOW_MEMORY_END && addr <= limit && size <= limit - addr;
}

/*
 * Where the fields the loader reads sit in each ELF class.  The two
 * classes differ only in offsets and in the width of addresses, offsets
 * and sizes ("words" here), so one parser serves both.
 */
struct elf_class {
	const char *name;
	uint8_t id;	    /* e_ident[EI_CLASS] */
	unsigned ehdr_size; /* bytes of ELF header */
	unsigned word;	    /* 4 or 8: width of p_offset, p_paddr, ... */
	unsigned e_phoff, e_phentsize, e_phnum;
	unsigned phdr_size; /* e_phentsize we require */
	unsigned p_offset, p_paddr, p_filesz, p_memsz;
	/*
	 * Accepted e_machine values.  ELF32 takes EM_386 and EM_X86_64: the
	 * latter is the x32 container (elf32-x86-64), which QEMU's -kernel
	 * boots too.  Whatever the header says, PVH enters the kernel in
	 * 32-bit protected mode, so loading does not depend on the machine.
	 */
	uint16_t machines[2];
	const char *machines_text;
};

/* One class per block reads better than one field per line. */
/* clang-format off */
static const struct elf_class elf_classes[] = {
	{
		.name = "ELF32", .id = 1, .ehdr_size = 52, .word = 4,
		.e_phoff = 28, .e_phentsize = 42, .e_phnum = 44,
		.phdr_size = 32,
		.p_offset = 4, .p_paddr = 12, .p_filesz = 16, .p_memsz = 20,
		.machines = { ELF_EM_386, ELF_EM_X86_64 },
		.machines_text = "i386 (3) or x86-64 (62, x32)",
	},
	{
		.name = "ELF64", .id = 2, .ehdr_size = 64, .word = 8,
		.e_phoff = 32, .e_phentsize = 54, .e_phnum = 56,
		.phdr_size = 56,
		.p_offset = 8, .p_paddr = 24, .p_filesz = 32, .p_memsz = 40,
		.machines = { ELF_EM_X86_64, ELF_EM_X86_64 },
		.machines_text = "x86-64 (62)",
	},
};
/* clang-format on */

/*
 * Walks the notes of program header PH, [off, off+size), for the PVH entry.
 * Returns 0 with *ENTRY set; 1 if there is none here, after noting in BAD
 * (if still empty) a note that does not fit, which ends the walk; -1 with
 * a message in ERR if the entry note itself is unusable.
 */
static int
find_pvh_note(const struct rbuf *r, unsigned ph, uint64_t off, uint64_t size,
	      uint64_t *entry, char *bad, size_t badlen, char *err,
	      size_t errlen)
{
	uint64_t end = off + size; /* off + size <= r->len: checked */

	while (end - off >= 12) {
		uint32_t namesz, descsz, type;
		char name[4];

		if (rbuf_at_le32(r, off, &namesz) ||
		    rbuf_at_le32(r, off + 4, &descsz) ||
		    rbuf_at_le32(r, off + 8, &type))
			return 1; /* cannot happen: inside the file */
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		if (next > end) {
			if (bad[0] == '\0')
				snprintf(bad, badlen,
					 "the note at offset %llu in program "
					 "header %u runs past its end",
					 (unsigned long long)off, ph);
			return 1;
		}
		if (namesz == 4 && type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    rbuf_at_copy(r, name_off, name, 4) == 0 &&
		    memcmp(name, "Xen", 4) == 0) {
			/* ELF32 kernels tend to carry 4 bytes, ELF64 ones 8. */
			if ((descsz != 4 && descsz != 8) ||
			    rd_word(r, desc_off, descsz, entry) != 0)
				return errmsg(err, errlen,
					      "the Xen PVH entry note "
					      "(XEN_ELFNOTE_PHYS32_ENTRY) "
					      "has a %u-byte value, want 4 or "
					      "8",
					      descsz);
			return 0;
		}
		off = next;
	}
	return 1;
}

static int
parse_elf(const struct rbuf *r, uint64_t ram_limit, struct loader_image *out,
	  char *err, size_t errlen)
{
	const struct elf_class *ec = NULL;
	uint8_t cls, data;
	uint16_t type, machine, phentsize, phnum;
	uint64_t phoff;
	char bad_note[120] = "";
	int have_entry = 0;

	if (rbuf_at_u8(r, 4, &cls) || rbuf_at_u8(r, 5, &data))
		return errmsg(err, errlen, "truncated ELF header");
	for (size_t i = 0; i < sizeof(elf_classes) / sizeof(elf_classes[0]);
	     i++)
		if (elf_classes[i].id == cls)
			ec = &elf_classes[i];
	if (ec == NULL)
		return errmsg(err, errlen,
			      "ELF class %u is neither ELF32 (1) nor ELF64 (2)",
			      cls);
	if (data != 1)
		return errmsg(err, errlen, "%s is not little-endian", ec->name);
	if (r->len < ec->ehdr_size)
		return errmsg(err, errlen,
			      "truncated ELF header (%zu bytes, an %s header "
			      "has %u)",
			      r->len, ec->name, ec->ehdr_size);
	if (rbuf_at_le16(r, 16, &type) || rbuf_at_le16(r, 18, &machine) ||
	    rd_word(r, ec->e_phoff, ec->word, &phoff) ||
	    rbuf_at_le16(r, ec->e_phentsize, &phentsize) ||
	    rbuf_at_le16(r, ec->e_phnum, &phnum))
		return errmsg(err, errlen, "truncated ELF header");
	if (type != ELF_ET_EXEC)
		return errmsg(err, errlen, "ELF type %u is not an executable",
			      type);
	if (machine != ec->machines[0] && machine != ec->machines[1])
		return errmsg(err, errlen, "%s machine %u is not %s", ec->name,
			      machine, ec->machines_text);
	if (phentsize != ec->phdr_size)
		return errmsg(err, errlen, "%s program header size %u, want %u",
			      ec->name, phentsize, ec->phdr_size);
	if (phnum == 0)
		return errmsg(err, errlen, "ELF has no program headers");
	if (phoff > r->len || (uint64_t)phnum * phentsize > r->len - phoff)
		return errmsg(err, errlen,
			      "ELF program headers (%u at offset %llu) lie "
			      "outside the file (%zu bytes): truncated image?",
			      phnum, (unsigned long long)phoff, r->len);

	out->kind = LOADER_PVH_ELF;
	out->nsegments = 0;
	out->end = 0;
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t ph = phoff + (uint64_t)i * phentsize;
		uint32_t ptype;
		uint64_t offset, paddr, filesz, memsz;

		if (rbuf_at_le32(r, ph, &ptype) ||
		    rd_word(r, ph + ec->p_offset, ec->word, &offset) ||
		    rd_word(r, ph + ec->p_paddr, ec->word, &paddr) ||
		    rd_word(r, ph + ec->p_filesz, ec->word, &filesz) ||
		    rd_word(r, ph + ec->p_memsz, ec->word, &memsz))
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
			if (have_entry)
				continue;
			int f = find_pvh_note(r, i, offset, filesz, &out->entry,
					      bad_note, sizeof(bad_note), err,
					      errlen);
			if (f < 0)
				return -1;
			have_entry = f == 0;
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
		return errmsg(
		    err, errlen,
		    "%s has no Xen PVH entry note "
		    "(XEN_ELFNOTE_PHYS32_ENTRY): not a PVH kernel%s%s",
		    ec->name, bad_note[0] ? "; " : "", bad_note);
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
parse_bzimage(const struct rbuf *r, uint64_t ram_limit,
	      struct loader_image *out, char *err, size_t errlen)
{
	uint8_t setup_sects, hdr_jump_len;
	uint16_t version, xloadflags;
	uint32_t syssize, initrd_max = 0x37ffffff, cmdline_size = 255;
	uint32_t init_size = 0;
	uint8_t loadflags;

	if (rbuf_at_u8(r, 0x1f1, &setup_sects) ||
	    rbuf_at_le16(r, 0x206, &version) ||
	    rbuf_at_u8(r, 0x201, &hdr_jump_len) ||
	    rbuf_at_le32(r, 0x1f4, &syssize) ||
	    rbuf_at_u8(r, 0x211, &loadflags))
		return errmsg(err, errlen, "truncated bzImage setup header");
	if (version < BZ_MIN_VERSION)
		return errmsg(err, errlen,
			      "boot protocol %u.%02u is too old (need 2.12 for "
			      "the 64-bit entry)",
			      version >> 8, version & 0xff);
	if (rbuf_at_le16(r, 0x236, &xloadflags) ||
	    rbuf_at_le32(r, 0x22c, &initrd_max) ||
	    rbuf_at_le32(r, 0x238, &cmdline_size) ||
	    rbuf_at_le32(r, 0x260, &init_size))
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
	struct rbuf r;
	uint32_t magic;
	uint16_t boot_flag;

	rbuf_init(&r, img, len);
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return errmsg(err, errlen, "file is empty");
	if (rbuf_at_copy(&r, 0, &magic, 4) == 0 &&
	    memcmp(img, "\177ELF", 4) == 0)
		return parse_elf(&r, ram_limit, out, err, errlen);
	if (rbuf_at_le32(&r, 0x202, &magic) == 0 && magic == BZ_HDRS_MAGIC &&
	    rbuf_at_le16(&r, 0x1fe, &boot_flag) == 0 && boot_flag == 0xaa55)
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
