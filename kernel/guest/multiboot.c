/*
 * Multiboot (version 1) kernels: the header and segments of an image, and
 * the information structure a guest is handed (include/lamina/multiboot1.h).
 *
 * The image is untrusted input from the config's author: every field is
 * read through memcpy (nothing is aligned for us), every offset and size is
 * checked against the image's length before anything behind it is read,
 * and sums are formed only after a check that they cannot wrap. No state of
 * its own, no VM: the validator, the loader, the unit tests and the fuzzer
 * drive exactly this code.
 *
 * Like GRUB, an image is loaded by its header's address fields when header
 * flag 16 is set, else as an ELF file (32- or 64-bit) by its PT_LOAD program
 * headers at their physical addresses (p_paddr). The ELF entry point is a
 * virtual address: it is translated through the segment holding it.
 */
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/multiboot1.h>
#include <lamina/unaligned.h>

BUILD_BUG_ON(MB1_INFO_HDR_SIZE < MB1_INFO_STRUCT_SIZE ||
	     MB1_INFO_HDR_SIZE % 8);

#define LIMIT_4G (1ull << 32)
#define LOWER_MEM_END 0xa0000ull    /* 640 KiB: the most mem_lower counts */
#define UPPER_MEM_START 0x100000ull /* 1 MiB: where mem_upper counts from */

/* The header: magic, flags, checksum; then the a.out kludge's fields. */
#define MB1_HDR_MIN 12
#define MB1_HDR_AOUT 32
#define MB1_HDR_ALIGN 4

/* ELF: the fields read here, by offset (System V gABI). */
#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define PT_LOAD 1
#define E_TYPE 16
#define E_MACHINE 18
#define EHDR32_SIZE 52
#define EHDR64_SIZE 64
#define PHDR32_SIZE 32
#define PHDR64_SIZE 56

struct mb1_ctx {
	const u8 *img;
	u64 len;
	struct mb1_image *out;
	u64 vaddr[MB1_MAX_SEGMENTS]; /* ELF: each segment's virtual address */
	char *why;
	size_t whylen;
};

/* The ELF header's fields used here, whatever the class. */
struct elf_ehdr {
	bool is64;
	u64 entry, phoff;
	u32 phentsize, phnum;
};

/* One program header, whatever the class. */
struct elf_phdr {
	u32 type;
	u64 offset, vaddr, paddr, filesz, memsz;
};

static __printf(2, 3) int fail(struct mb1_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	why_vfail(c->why, c->whylen, "multiboot: ", fmt, ap);
	va_end(ap);
	return -HV_EINVAL;
}

#define ULL(v) ((unsigned long long)(v))

/* [off, off + size) lies inside the image. */
static bool in_image(const struct mb1_ctx *c, u64 off, u64 size)
{
	return off <= c->len && size <= c->len - off;
}

/* ---------------------------------------------------------------- header */

/*
 * The first 4-byte aligned magic in the first 8 KiB whose checksum holds.
 * A magic with a bad checksum is only remembered for the message.
 */
static int find_header(struct mb1_ctx *c)
{
	u64 end = MIN(c->len, (u64)MB1_SEARCH);
	u64 bad = ~0ull;

	for (u64 off = 0; off + MB1_HDR_MIN <= end; off += MB1_HDR_ALIGN) {
		const u8 *h = c->img + off;

		if (rd32(h) != MB1_HEADER_MAGIC)
			continue;
		if ((u32)(rd32(h) + rd32(h + 4) + rd32(h + 8)) == 0) {
			c->out->header_off = (u32)off;
			c->out->flags = rd32(h + 4);
			return 0;
		}
		if (bad == ~0ull)
			bad = off;
	}
	if (bad != ~0ull)
		return fail(c, "the header at 0x%llx has a bad checksum (magic + flags + checksum is not 0)",
			    ULL(bad));
	return fail(c, "no header in the first %u bytes", MB1_SEARCH);
}

static int check_flags(struct mb1_ctx *c)
{
	u32 unknown = c->out->flags & MB1_HF_REQUIRED & ~MB1_HF_SUPPORTED;

	if (unknown & MB1_HF_VIDEO)
		return fail(c, "the kernel asks for a video mode (header flag 2); Lamina gives guests no framebuffer");
	if (unknown)
		return fail(c, "the kernel requires header flags 0x%x, which Lamina does not support (it knows 0x%x)",
			    unknown, MB1_HF_SUPPORTED);
	return 0;
}

/* ---------------------------------------------------------------- a.out kludge */

/* The address fields that follow magic, flags and checksum. */
struct aout_fields {
	u32 header_addr, load_addr, load_end, bss_end;
};

/* How much of the image loads (load_end_addr) and how much memory (bss). */
static int aout_sizes(struct mb1_ctx *c, const struct aout_fields *f,
		      struct mb1_segment *s)
{
	s->filesz = c->len - s->file_off;
	if (f->load_end) {
		if (f->load_end < f->load_addr)
			return fail(c, "load_end_addr 0x%x is below load_addr 0x%x",
				    f->load_end, f->load_addr);
		s->filesz = f->load_end - f->load_addr;
		if (!in_image(c, s->file_off, s->filesz))
			return fail(c, "load_end_addr 0x%x: bytes [0x%llx, 0x%llx) of the image are loaded, but it has 0x%llx",
				    f->load_end, ULL(s->file_off),
				    ULL(s->file_off + s->filesz), ULL(c->len));
	}
	s->memsz = s->filesz;
	if (f->bss_end) {
		if (f->bss_end < f->load_addr + s->filesz)
			return fail(c, "bss_end_addr 0x%x is below the end of the loaded part, 0x%llx",
				    f->bss_end, ULL(f->load_addr + s->filesz));
		s->memsz = f->bss_end - f->load_addr;
	}
	if (!s->memsz)
		return fail(c, "the address fields load nothing");
	if (s->memsz > LIMIT_4G - f->load_addr)
		return fail(c, "load_addr 0x%x + 0x%llx bytes does not end below 4 GiB",
			    f->load_addr, ULL(s->memsz));
	return 0;
}

/*
 * The addresses of header flag 16: one segment, found through the header.
 * header_addr is where the header itself lands, so the image's byte at
 * header_off - (header_addr - load_addr) is the one that goes to load_addr.
 */
static int parse_aout(struct mb1_ctx *c)
{
	u64 hoff = c->out->header_off;
	const u8 *h = c->img + hoff;
	struct mb1_segment *s = &c->out->seg[0];
	struct aout_fields f;
	int err;

	if (hoff + MB1_HDR_AOUT > MIN(c->len, (u64)MB1_SEARCH))
		return fail(c, "the address fields of the header at 0x%llx (flag 16) run past the first %u bytes or the image",
			    ULL(hoff), MB1_SEARCH);
	f.header_addr = rd32(h + 12);
	f.load_addr = rd32(h + 16);
	f.load_end = rd32(h + 20);
	f.bss_end = rd32(h + 24);
	c->out->entry = rd32(h + 28);
	if (f.load_addr > f.header_addr)
		return fail(c, "load_addr 0x%x is above header_addr 0x%x",
			    f.load_addr, f.header_addr);
	if (f.header_addr - f.load_addr > hoff)
		return fail(c, "header_addr 0x%x - load_addr 0x%x is more than the header's offset 0x%llx in the image",
			    f.header_addr, f.load_addr, ULL(hoff));
	s->file_off = hoff - (f.header_addr - f.load_addr);
	s->gpa = f.load_addr;
	err = aout_sizes(c, &f, s);
	if (err)
		return err;
	if (c->out->entry < s->gpa || c->out->entry - s->gpa >= s->memsz)
		return fail(c, "entry_addr 0x%x is not inside the loaded range [0x%llx, 0x%llx)",
			    c->out->entry, ULL(s->gpa), ULL(s->gpa + s->memsz));
	c->out->format = MB1_AOUT_KLUDGE;
	c->out->nr_segments = 1;
	return 0;
}

/* ---------------------------------------------------------------- ELF */

static void read_phdr(const u8 *p, bool is64, struct elf_phdr *ph)
{
	ph->type = rd32(p);
	if (is64) {
		ph->offset = rd64(p + 8);
		ph->vaddr = rd64(p + 16);
		ph->paddr = rd64(p + 24);
		ph->filesz = rd64(p + 32);
		ph->memsz = rd64(p + 40);
	} else {
		ph->offset = rd32(p + 4);
		ph->vaddr = rd32(p + 8);
		ph->paddr = rd32(p + 12);
		ph->filesz = rd32(p + 16);
		ph->memsz = rd32(p + 20);
	}
}

/* One PT_LOAD program header (number @i) into the next segment. */
static int add_elf_segment(struct mb1_ctx *c, unsigned int i,
			   const struct elf_phdr *ph)
{
	struct mb1_image *out = c->out;
	struct mb1_segment *s;

	if (ph->filesz > ph->memsz)
		return fail(c, "program header %u: file size 0x%llx is more than its memory size 0x%llx",
			    i, ULL(ph->filesz), ULL(ph->memsz));
	if (!in_image(c, ph->offset, ph->filesz))
		return fail(c, "program header %u: bytes [0x%llx, +0x%llx) are past the end of the image (0x%llx bytes)",
			    i, ULL(ph->offset), ULL(ph->filesz), ULL(c->len));
	if (ph->paddr >= LIMIT_4G || ph->memsz > LIMIT_4G - ph->paddr)
		return fail(c, "program header %u: [0x%llx, +0x%llx) does not end below 4 GiB",
			    i, ULL(ph->paddr), ULL(ph->memsz));
	if (out->nr_segments == MB1_MAX_SEGMENTS)
		return fail(c, "more than %u loadable segments",
			    MB1_MAX_SEGMENTS);
	c->vaddr[out->nr_segments] = ph->vaddr;
	s = &out->seg[out->nr_segments++];
	s->file_off = ph->offset;
	s->filesz = ph->filesz;
	s->memsz = ph->memsz;
	s->gpa = ph->paddr;
	return 0;
}

/* The ELF header: class, byte order, type, machine; the program headers. */
static int read_ehdr(struct mb1_ctx *c, struct elf_ehdr *eh)
{
	const u8 *e = c->img;
	u32 machine, min_phent;

	if (c->len < EHDR32_SIZE || memcmp(e, "\177ELF", 4))
		return fail(c, "the image is not an ELF file, and header flag 16 (load by the header's addresses) is not set");
	if (e[EI_CLASS] != ELFCLASS32 && e[EI_CLASS] != ELFCLASS64)
		return fail(c, "ELF class %u is neither 32- nor 64-bit",
			    e[EI_CLASS]);
	eh->is64 = e[EI_CLASS] == ELFCLASS64;
	if (e[EI_DATA] != ELFDATA2LSB)
		return fail(c, "the ELF file is not little-endian");
	if (eh->is64 && c->len < EHDR64_SIZE)
		return fail(c, "the image is shorter than an ELF64 header");
	if (rd16(e + E_TYPE) != ET_EXEC)
		return fail(c, "ELF type %u is not an executable (%u)",
			    rd16(e + E_TYPE), ET_EXEC);
	machine = rd16(e + E_MACHINE);
	if (machine != (eh->is64 ? EM_X86_64 : EM_386))
		return fail(c, "ELF machine %u is not %s", machine,
			    eh->is64 ? "x86-64 (62)" : "i386 (3)");
	eh->entry = eh->is64 ? rd64(e + 24) : rd32(e + 24);
	eh->phoff = eh->is64 ? rd64(e + 32) : rd32(e + 28);
	eh->phentsize = rd16(e + (eh->is64 ? 54 : 42));
	eh->phnum = rd16(e + (eh->is64 ? 56 : 44));
	min_phent = eh->is64 ? PHDR64_SIZE : PHDR32_SIZE;
	if (eh->phentsize < min_phent)
		return fail(c, "program header size %u is less than %u",
			    eh->phentsize, min_phent);
	if (!eh->phnum)
		return fail(c, "the ELF file has no program headers");
	if (!in_image(c, eh->phoff, (u64)eh->phentsize * eh->phnum))
		return fail(c, "program headers [0x%llx, +0x%llx) are past the end of the image (0x%llx bytes)",
			    ULL(eh->phoff), ULL((u64)eh->phentsize * eh->phnum),
			    ULL(c->len));
	return 0;
}

/* The physical entry: e_entry through the segment whose vaddr range holds it. */
static int elf_entry(struct mb1_ctx *c, u64 e_entry)
{
	for (unsigned int i = 0; i < c->out->nr_segments; i++) {
		const struct mb1_segment *s = &c->out->seg[i];

		if (e_entry >= c->vaddr[i] && e_entry - c->vaddr[i] < s->memsz) {
			/* The segment ends below 4 GiB, so this fits. */
			c->out->entry = (u32)(s->gpa + (e_entry - c->vaddr[i]));
			return 0;
		}
	}
	return fail(c, "entry point 0x%llx is not inside a loaded segment",
		    ULL(e_entry));
}

static int parse_elf(struct mb1_ctx *c)
{
	struct elf_ehdr eh = { 0 };
	struct elf_phdr ph;
	int err;

	err = read_ehdr(c, &eh);
	if (err)
		return err;
	c->out->format = eh.is64 ? MB1_ELF64 : MB1_ELF32;
	for (u32 i = 0; i < eh.phnum; i++) {
		read_phdr(c->img + eh.phoff + (u64)i * eh.phentsize, eh.is64, &ph);
		if (ph.type != PT_LOAD || !ph.memsz)
			continue;
		err = add_elf_segment(c, i, &ph);
		if (err)
			return err;
	}
	if (!c->out->nr_segments)
		return fail(c, "the ELF file has no loadable segment");
	return elf_entry(c, eh.entry);
}

/* ---------------------------------------------------------------- segments */

/* Sort by address (the entry is known already), reject overlaps. */
static int check_segments(struct mb1_ctx *c)
{
	struct mb1_image *out = c->out;

	for (unsigned int i = 1; i < out->nr_segments; i++)
		for (unsigned int j = i; j && out->seg[j].gpa < out->seg[j - 1].gpa; j--) {
			struct mb1_segment s = out->seg[j];

			out->seg[j] = out->seg[j - 1];
			out->seg[j - 1] = s;
		}
	for (unsigned int i = 1; i < out->nr_segments; i++) {
		const struct mb1_segment *a = &out->seg[i - 1], *b = &out->seg[i];

		if (a->gpa + a->memsz > b->gpa)
			return fail(c, "segments [0x%llx, 0x%llx) and [0x%llx, 0x%llx) overlap",
				    ULL(a->gpa), ULL(a->gpa + a->memsz),
				    ULL(b->gpa), ULL(b->gpa + b->memsz));
	}
	out->load_end = out->seg[out->nr_segments - 1].gpa +
			out->seg[out->nr_segments - 1].memsz;
	return 0;
}

int mb1_parse(const u8 *img, u64 len, struct mb1_image *out, char *why,
	      size_t whylen)
{
	struct mb1_ctx c = { .img = img, .len = img ? len : 0, .out = out,
			     .why = why, .whylen = whylen };
	int err;

	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = '\0';
	err = find_header(&c);
	if (!err)
		err = check_flags(&c);
	if (!err)
		err = out->flags & MB1_HF_AOUT_KLUDGE ? parse_aout(&c) :
							 parse_elf(&c);
	if (!err)
		err = check_segments(&c);
	return err;
}

u64 mb1_module_gpa(const struct mb1_image *mi, u64 size)
{
	const u64 info_end = MB1_INFO_GPA + MB1_INFO_SIZE;
	u64 gpa = ALIGN_UP(mi->load_end, MB1_MODULE_ALIGN);

	if (gpa < info_end && (gpa >= MB1_INFO_GPA || size > MB1_INFO_GPA - gpa))
		gpa = info_end;
	return gpa;
}

/* ---------------------------------------------------------------- information */

struct info_writer {
	u8 *buf;
	u32 at;        /* next free byte */
	u32 gpa;       /* where buf lands in the guest */
};

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, sizeof(v));
}

/* Copy @s in; its guest-physical address. */
static u32 add_str(struct info_writer *w, const char *s)
{
	size_t n = strlen(s) + 1;
	u32 gpa = w->gpa + w->at;

	memcpy(w->buf + w->at, s, n);
	w->at += (u32)n;
	return gpa;
}

/* End of the run of RAM that starts at @addr, through touching entries. */
static u64 ram_run_end(const struct mb1_env *env, u64 addr)
{
	bool grew = true;

	while (grew) {
		grew = false;
		for (unsigned int i = 0; i < env->nr_mmap; i++) {
			const struct mb1_mem *m = &env->mmap[i];
			u64 end = m->base + m->len < m->base ? ~0ull :
							       m->base + m->len;

			if (m->type == MB1_MEM_RAM && m->base <= addr && addr < end) {
				addr = end;
				grew = true;
			}
		}
	}
	return addr;
}

static void put_mem(const struct mb1_env *env, u8 *info)
{
	u64 lower = MIN(ram_run_end(env, 0), LOWER_MEM_END);
	u64 upper = ram_run_end(env, UPPER_MEM_START) - UPPER_MEM_START;

	put32(info + 4, (u32)(lower >> 10));
	put32(info + 8, (u32)MIN(upper >> 10, 0xffffffffull));
}

/* The records at @list (reserved already); their strings go at the end. */
static void put_mods(const struct mb1_env *env, struct info_writer *w,
		     u8 *info, u32 list)
{
	if (!env->nr_mods)
		return;
	put32(info + 20, env->nr_mods);
	put32(info + 24, w->gpa + list);
	for (unsigned int i = 0; i < env->nr_mods; i++) {
		const struct mb1_module *m = &env->mods[i];
		u8 *rec = w->buf + list + i * MB1_MOD_SIZE;

		put32(rec, m->gpa_start);
		put32(rec + 4, m->gpa_end);
		put32(rec + 8, add_str(w, m->string ? m->string : ""));
	}
}

/* Each entry: its size (of the rest: 20), base, length, type. */
static void put_mmap(const struct mb1_env *env, struct info_writer *w,
		     u8 *info)
{
	if (!env->nr_mmap)
		return;
	put32(info + 44, env->nr_mmap * MB1_MMAP_SIZE);
	put32(info + 48, w->gpa + w->at);
	for (unsigned int i = 0; i < env->nr_mmap; i++) {
		u8 *e = w->buf + w->at;

		put32(e, MB1_MMAP_SIZE - 4);
		put64(e + 4, env->mmap[i].base);
		put64(e + 12, env->mmap[i].len);
		put32(e + 20, env->mmap[i].type);
		w->at += MB1_MMAP_SIZE;
	}
}

static u64 strings_size(const struct mb1_env *env)
{
	u64 n = 0;

	if (env->cmdline)
		n += strlen(env->cmdline) + 1;
	if (env->loader_name)
		n += strlen(env->loader_name) + 1;
	for (unsigned int i = 0; i < env->nr_mods; i++)
		n += (env->mods[i].string ? strlen(env->mods[i].string) : 0) + 1;
	return n;
}

int mb1_build_info(const struct mb1_env *env, u8 *buf, size_t buflen,
		   size_t *used, char *why, size_t whylen)
{
	struct mb1_ctx c = { .why = why, .whylen = whylen };
	u64 size = mb1_info_size(env->nr_mmap, env->nr_mods,
				 strings_size(env));
	struct info_writer w = { .buf = buf, .at = MB1_INFO_HDR_SIZE,
				 .gpa = env->info_gpa };
	u32 flags = MB1_INFO_MEM;

	*used = 0;
	if (size > buflen)
		return fail(&c, "the information needs %llu bytes, more than the %llu there are",
			    ULL(size), ULL(buflen));
	if (size > LIMIT_4G - env->info_gpa)
		return fail(&c, "the information at 0x%x (%llu bytes) does not end below 4 GiB",
			    env->info_gpa, ULL(size));
	memset(buf, 0, size);
	put_mem(env, buf);
	/* Records first, strings last: the records stay 8-byte aligned. */
	w.at += env->nr_mods * MB1_MOD_SIZE;
	put_mmap(env, &w, buf);
	put_mods(env, &w, buf, MB1_INFO_HDR_SIZE);
	if (env->cmdline)
		put32(buf + 16, add_str(&w, env->cmdline));
	if (env->loader_name)
		put32(buf + 64, add_str(&w, env->loader_name));
	flags |= env->cmdline ? MB1_INFO_CMDLINE : 0;
	flags |= env->nr_mods ? MB1_INFO_MODS : 0;
	flags |= env->nr_mmap ? MB1_INFO_MMAP : 0;
	flags |= env->loader_name ? MB1_INFO_LOADER_NAME : 0;
	put32(buf, flags);
	*used = w.at;
	return 0;
}
