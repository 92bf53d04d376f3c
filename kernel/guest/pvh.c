/*
 * The PVH entry of an uncompressed vmlinux (include/lamina/pvh.h): its
 * ELF64 header, PT_LOAD segments and Xen PHYS32_ENTRY note, and the struct
 * hvm_start_info (Xen's public/arch-x86/hvm/start_info.h) handed in EBX.
 *
 * The file is untrusted input: every field is read through memcpy at an
 * offset checked against the file's length first, and every sum is formed
 * only after a check that it cannot wrap. No state, no VM: the loader, the
 * unit tests and the fuzzer drive exactly this code.
 */
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/pvh.h>
#include <lamina/unaligned.h>

#define LIMIT_4G (1ull << 32)
#define LOW_1M 0x100000ull

/* ELF64: the fields read here, by offset (System V gABI). */
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define E_TYPE 16
#define E_MACHINE 18
#define E_VERSION 20
#define E_PHOFF 32
#define E_PHENTSIZE 54
#define E_PHNUM 56
#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define ET_EXEC 2
#define EM_X86_64 62
#define PN_XNUM 0xffff /* the real count is in section header 0 */
#define PT_LOAD 1
#define PT_NOTE 4

/* A note: namesz, descsz, type, then name and value, each padded to 4. */
#define NOTE_HDR 12
#define NOTE_ALIGN 4ull

/* struct hvm_start_info, hvm_modlist_entry, hvm_memmap_table_entry. */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_NR_MODULES 12
#define SI_MODLIST 16
#define SI_CMDLINE 24
#define SI_RSDP 32
#define SI_MEMMAP 40
#define SI_MEMMAP_ENTRIES 48
#define SI_SIZE 56
#define MOD_SIZE 32
#define MAP_SIZE 24
#define SI_MAX_BYTES 0x7fffffffull /* what the int return can say */

/* Xen's layout: the module list and the map after it stay 8-byte aligned. */
BUILD_BUG_ON(SI_MEMMAP_ENTRIES + 8 != SI_SIZE || SI_SIZE % 8 || MOD_SIZE % 8);

#define ULL(v) ((unsigned long long)(v))

struct pvh_ctx {
	const u8 *img;
	u64 len;
	struct pvh_image *out;
	bool found;        /* the entry note was seen */
	char *why;
	size_t wlen;
};

struct elf_phdr {
	u32 type;
	u64 offset, paddr, filesz, memsz;
};

static __printf(2, 3) int fail(struct pvh_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	why_vfail(c->why, c->wlen, "pvh: ", fmt, ap);
	va_end(ap);
	return -HV_EINVAL;
}

/* [off, off + size) lies inside the file. */
static bool in_image(const struct pvh_ctx *c, u64 off, u64 size)
{
	return off <= c->len && size <= c->len - off;
}

bool pvh_is_elf(const u8 *img, size_t len)
{
	return img && len >= 4 && !memcmp(img, "\177ELF", 4);
}

/* ---------------------------------------------------------------- header */

static int check_ident(struct pvh_ctx *c)
{
	const u8 *e = c->img;

	if (c->len < EHDR_SIZE)
		return fail(c, "the file has 0x%llx bytes, too few for an ELF64 header (0x%x)",
			    ULL(c->len), EHDR_SIZE);
	if (!pvh_is_elf(e, c->len))
		return fail(c, "the file is not an ELF file (no \\177ELF)");
	if (e[EI_CLASS] != ELFCLASS64)
		return fail(c, "ELF class %u is not 64-bit (2)", e[EI_CLASS]);
	if (e[EI_DATA] != ELFDATA2LSB)
		return fail(c, "ELF data encoding %u is not little-endian (1)",
			    e[EI_DATA]);
	if (e[EI_VERSION] != EV_CURRENT || rd32(e + E_VERSION) != EV_CURRENT)
		return fail(c, "ELF version %u/%u is not 1", e[EI_VERSION],
			    rd32(e + E_VERSION));
	if (rd16(e + E_TYPE) != ET_EXEC)
		return fail(c, "ELF type %u is not an executable (2)",
			    rd16(e + E_TYPE));
	if (rd16(e + E_MACHINE) != EM_X86_64)
		return fail(c, "ELF machine %u is not x86-64 (62)",
			    rd16(e + E_MACHINE));
	return 0;
}

/* The program header table: its entry size, count and extent. */
static int check_phdrs(struct pvh_ctx *c, u64 *phoff, u32 *phnum)
{
	const u8 *e = c->img;
	u32 phentsize = rd16(e + E_PHENTSIZE);

	*phoff = rd64(e + E_PHOFF);
	*phnum = rd16(e + E_PHNUM);
	if (phentsize != PHDR_SIZE)
		return fail(c, "program header size %u is not %u", phentsize,
			    PHDR_SIZE);
	if (!*phnum)
		return fail(c, "the ELF file has no program headers");
	if (*phnum == PN_XNUM)
		return fail(c, "extended program header numbering (e_phnum 0xffff) is not supported");
	if (!in_image(c, *phoff, (u64)*phnum * PHDR_SIZE))
		return fail(c, "program headers [0x%llx, +0x%llx) are past the end of the file (0x%llx bytes)",
			    ULL(*phoff), ULL((u64)*phnum * PHDR_SIZE), ULL(c->len));
	return 0;
}

static void read_phdr(const u8 *p, struct elf_phdr *ph)
{
	ph->type = rd32(p);
	ph->offset = rd64(p + 8);
	ph->paddr = rd64(p + 24);
	ph->filesz = rd64(p + 32);
	ph->memsz = rd64(p + 40);
}

/* ---------------------------------------------------------------- segments */

/* PT_LOAD program header @i into the next segment. */
static int add_segment(struct pvh_ctx *c, unsigned int i,
		       const struct elf_phdr *ph)
{
	struct pvh_image *out = c->out;
	u64 end;

	if (ph->filesz > ph->memsz)
		return fail(c, "program header %u: file size 0x%llx is more than its memory size 0x%llx",
			    i, ULL(ph->filesz), ULL(ph->memsz));
	if (!in_image(c, ph->offset, ph->filesz))
		return fail(c, "program header %u: bytes [0x%llx, +0x%llx) are past the end of the file (0x%llx bytes)",
			    i, ULL(ph->offset), ULL(ph->filesz), ULL(c->len));
	if (ph->paddr < LOW_1M || ph->paddr >= LIMIT_4G ||
	    ph->memsz > LIMIT_4G - ph->paddr)
		return fail(c, "program header %u: [0x%llx, +0x%llx) is not between 1 MiB and 4 GiB",
			    i, ULL(ph->paddr), ULL(ph->memsz));
	end = ph->paddr + ph->memsz;
	for (unsigned int j = 0; j < out->nr_segments; j++) {
		const struct pvh_segment *s = &out->seg[j];

		if (ph->paddr < s->paddr + s->memsz && s->paddr < end)
			return fail(c, "program header %u: [0x%llx, 0x%llx) overlaps segment [0x%llx, 0x%llx)",
				    i, ULL(ph->paddr), ULL(end), ULL(s->paddr),
				    ULL(s->paddr + s->memsz));
	}
	if (out->nr_segments == PVH_MAX_SEGMENTS)
		return fail(c, "more than %u loadable segments", PVH_MAX_SEGMENTS);
	out->lowest = out->nr_segments ? MIN(out->lowest, ph->paddr) : ph->paddr;
	out->highest = MAX(out->highest, end);
	out->seg[out->nr_segments++] = (struct pvh_segment){
		.paddr = ph->paddr, .offset = ph->offset,
		.filesz = ph->filesz, .memsz = ph->memsz,
	};
	return 0;
}

/* ---------------------------------------------------------------- notes */

/* The value of a Xen PHYS32_ENTRY note: 4 or 8 bytes, below 4 GiB. */
static int read_entry(struct pvh_ctx *c, const u8 *desc, u32 descsz)
{
	u64 entry;

	if (descsz != 4 && descsz != 8)
		return fail(c, "the Xen PHYS32_ENTRY note's value has %u bytes, not 4 or 8",
			    descsz);
	entry = descsz == 4 ? rd32(desc) : rd64(desc);
	if (entry >= LIMIT_4G)
		return fail(c, "the PHYS32_ENTRY point 0x%llx is not below 4 GiB",
			    ULL(entry));
	c->out->entry = (u32)entry;
	c->found = true;
	return 0;
}

/* Walk the notes of PT_NOTE program header @i; the first entry note counts. */
static int walk_notes(struct pvh_ctx *c, unsigned int i,
		      const struct elf_phdr *ph)
{
	u64 off = 0;

	if (!in_image(c, ph->offset, ph->filesz))
		return fail(c, "program header %u: notes [0x%llx, +0x%llx) are past the end of the file (0x%llx bytes)",
			    i, ULL(ph->offset), ULL(ph->filesz), ULL(c->len));
	while (off < ph->filesz) {
		const u8 *n = c->img + ph->offset + off;
		u64 rest = ph->filesz - off;
		u32 namesz, descsz;
		u64 name_len, desc_len;

		if (rest < NOTE_HDR)
			return fail(c, "program header %u: 0x%llx bytes at +0x%llx are too few for a note",
				    i, ULL(rest), ULL(off));
		namesz = rd32(n);
		descsz = rd32(n + 4);
		name_len = ALIGN_UP((u64)namesz, NOTE_ALIGN);
		desc_len = ALIGN_UP((u64)descsz, NOTE_ALIGN);
		rest -= NOTE_HDR;
		if (name_len > rest || desc_len > rest - name_len)
			return fail(c, "program header %u: the note at +0x%llx (namesz %u, descsz %u) runs past the segment's 0x%llx bytes",
				    i, ULL(off), namesz, descsz, ULL(ph->filesz));
		if (!c->found && namesz == 4 && !memcmp(n + NOTE_HDR, "Xen", 4) &&
		    rd32(n + 8) == PVH_NOTE_PHYS32_ENTRY) {
			int err = read_entry(c, n + NOTE_HDR + name_len, descsz);

			if (err)
				return err;
		}
		off += NOTE_HDR + name_len + desc_len;
	}
	return 0;
}

/* ---------------------------------------------------------------- the image */

/* The entry is among the bytes some segment loads from the file. */
static int check_entry(struct pvh_ctx *c)
{
	struct pvh_image *out = c->out;

	if (!out->nr_segments)
		return fail(c, "the ELF file has no loadable segment");
	if (!c->found)
		return fail(c, "no Xen PHYS32_ENTRY note (type 18): the kernel was built without CONFIG_PVH");
	for (unsigned int i = 0; i < out->nr_segments; i++)
		if (out->entry >= out->seg[i].paddr &&
		    out->entry - out->seg[i].paddr < out->seg[i].filesz)
			return 0;
	return fail(c, "the PHYS32_ENTRY point 0x%x is not inside a segment's bytes from the file",
		    out->entry);
}

int pvh_parse(const u8 *img, size_t len, struct pvh_image *out, char *why,
	      size_t wlen)
{
	struct pvh_ctx c = { .img = img, .len = img ? len : 0, .out = out,
			     .why = why, .wlen = wlen };
	struct elf_phdr ph;
	u64 phoff;
	u32 phnum;
	int err;

	memset(out, 0, sizeof(*out));
	if (why && wlen)
		why[0] = '\0';
	err = check_ident(&c);
	if (!err)
		err = check_phdrs(&c, &phoff, &phnum);
	for (u32 i = 0; !err && i < phnum; i++) {
		read_phdr(img + phoff + (u64)i * PHDR_SIZE, &ph);
		if (ph.type == PT_LOAD && ph.memsz)
			err = add_segment(&c, i, &ph);
		else if (ph.type == PT_NOTE)
			err = walk_notes(&c, i, &ph);
	}
	if (!err)
		err = check_entry(&c);
	return err;
}

/* ---------------------------------------------------------------- start info */

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, sizeof(v));
}

int pvh_start_info(u8 *buf, size_t size, const struct pvh_params *p)
{
	u64 nr_mods = p->initrd_gpa ? 1 : 0;
	u64 map_off = SI_SIZE + nr_mods * MOD_SIZE;
	u64 need = map_off + (u64)p->nr_e820 * MAP_SIZE;

	if (need > size || need > SI_MAX_BYTES || p->info_gpa > ~0ull - need)
		return -HV_EINVAL;
	memset(buf, 0, need);
	put32(buf + SI_MAGIC, PVH_START_MAGIC);
	put32(buf + SI_VERSION, 1);
	put32(buf + SI_NR_MODULES, (u32)nr_mods);
	put64(buf + SI_CMDLINE, p->cmdline_gpa);
	put64(buf + SI_RSDP, p->rsdp_gpa);
	if (nr_mods) {
		put64(buf + SI_MODLIST, p->info_gpa + SI_SIZE);
		put64(buf + SI_SIZE, p->initrd_gpa);
		put64(buf + SI_SIZE + 8, p->initrd_size);
	}
	if (p->nr_e820) {
		put64(buf + SI_MEMMAP, p->info_gpa + map_off);
		put32(buf + SI_MEMMAP_ENTRIES, p->nr_e820);
	}
	for (unsigned int i = 0; i < p->nr_e820; i++) {
		u8 *m = buf + map_off + (u64)i * MAP_SIZE;

		put64(m, p->e820[i].addr);
		put64(m + 8, p->e820[i].size);
		put32(m + 16, p->e820[i].type);
	}
	return (int)need;
}
