/*
 * Linux bzImages (Documentation/arch/x86/boot.rst, the 64-bit boot
 * protocol): the setup header a loader needs, the e820 map, and the zero
 * page (struct boot_params) the kernel is handed in RSI.
 *
 * The image is untrusted input from the config's author: every field is
 * read through memcpy (nothing is aligned for us) at a fixed offset that is
 * checked against the image's length before it is read, and sums are formed
 * in 64 bits so that no 32-bit header field can wrap them. No state of its
 * own, no VM: the loader, the unit tests and the fuzzer drive this code.
 *
 * A bzImage is a real-mode setup part of (setup_sects + 1) sectors, then
 * the protected-mode kernel to the end of the file. The 64-bit loader skips
 * the setup part, copies the kernel to its load address and enters it at
 * +0x200 with RSI pointing to the zero page, which holds a copy of the
 * setup header plus what the loader fills in.
 */
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>
#include <lamina/unaligned.h>

/* The setup header: offsets in the image and in the zero page alike. */
#define HDR_SETUP_SECTS 0x1f1 /* where the header (and its copy) starts */
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200        /* a short jump over the header ... */
#define HDR_JUMP_REL 0x201    /* ... whose offset byte gives its end */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MIN_END 0x268 /* every 2.12 header reaches handover_offset */
#define HDR_MAX_END 0x290 /* boot_params goes on with edd_mbr_sig_buffer */

/* The zero page outside the setup header. */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 4096

#define BOOT_FLAG 0xaa55
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define JMP_SHORT 0xeb
#define MIN_VERSION 0x020c /* 2.12: xloadflags, and so XLF_KERNEL_64 */
#define LOADED_HIGH (1u << 0)
#define SECTOR 512
#define DEFAULT_SETUP_SECTS 4
#define LOADER_UNDEFINED 0xff
#define ALIGN_MIN 0x1000u
#define ALIGN_MAX (1u << 30)
#define INIT_SIZE_MAX (1u << 30)
#define PHYS_LIMIT (1ull << 52)

BUILD_BUG_ON(sizeof(struct e820_entry) != 20);
BUILD_BUG_ON(BP_E820_TABLE + E820_MAX * sizeof(struct e820_entry) > BP_SIZE);
BUILD_BUG_ON(HDR_MAX_END > BP_E820_TABLE);
BUILD_BUG_ON(LINUX_ACPI_GPA < LINUX_LOW_RAM_END ||
	     LINUX_ACPI_GPA + LINUX_ACPI_SIZE > LINUX_HIGH_START);

#define ULL(v) ((unsigned long long)(v))

struct lb_ctx {
	const u8 *img;
	u64 len;
	struct linux_setup *out;
	char *why;
	size_t wlen;
};

static __printf(2, 3) int fail(struct lb_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	why_vfail(c->why, c->wlen, "linux: ", fmt, ap);
	va_end(ap);
	return -HV_EINVAL;
}

/* ---------------------------------------------------------------- header */

/* Signatures, protocol version and the header's extent. */
static int check_header(struct lb_ctx *c)
{
	const u8 *p = c->img;
	struct linux_setup *s = c->out;

	if (c->len < HDR_MIN_END)
		return fail(c, "the image has 0x%llx bytes, too few for a setup header (0x%x)",
			    ULL(c->len), HDR_MIN_END);
	if (rd16(p + HDR_BOOT_FLAG) != BOOT_FLAG)
		return fail(c, "no boot sector signature 0xaa55 at 0x1fe (0x%04x): not a bzImage",
			    rd16(p + HDR_BOOT_FLAG));
	if (rd32(p + HDR_MAGIC) != HDRS_MAGIC)
		return fail(c, "no \"HdrS\" at 0x202: not a bzImage, or one older than boot protocol 2.00");
	s->version = rd16(p + HDR_VERSION);
	if (s->version < MIN_VERSION)
		return fail(c, "boot protocol %u.%02u is older than 2.12, the first to say whether the kernel has a 64-bit entry",
			    s->version >> 8, s->version & 0xff);
	if (p[HDR_JUMP] != JMP_SHORT)
		return fail(c, "no short jump at 0x200 (0x%02x), so the setup header's end is unknown",
			    p[HDR_JUMP]);
	s->hdr_end = HDR_MAGIC + p[HDR_JUMP_REL];
	if (s->hdr_end < HDR_MIN_END || s->hdr_end > HDR_MAX_END)
		return fail(c, "the setup header ends at 0x%x, not between 0x%x and 0x%x",
			    s->hdr_end, HDR_MIN_END, HDR_MAX_END);
	return 0;
}

/* The setup part, the kernel after it and the compressed payload inside. */
static int check_layout(struct lb_ctx *c)
{
	const u8 *p = c->img;
	struct linux_setup *s = c->out;
	u64 setup, kernel, poff, plen;

	s->setup_sects = p[HDR_SETUP_SECTS];
	setup = ((u64)(s->setup_sects ? s->setup_sects : DEFAULT_SETUP_SECTS) + 1) *
		SECTOR;
	if (setup >= c->len)
		return fail(c, "setup_sects %u puts the kernel at 0x%llx, not inside the image (0x%llx bytes)",
			    s->setup_sects, ULL(setup), ULL(c->len));
	kernel = c->len - setup;
	if (kernel <= LINUX_ENTRY64_OFFSET)
		return fail(c, "the kernel's 0x%llx bytes do not reach its 64-bit entry at +0x%x",
			    ULL(kernel), LINUX_ENTRY64_OFFSET);
	if (kernel > INIT_SIZE_MAX)
		return fail(c, "the kernel has 0x%llx bytes, more than 1 GiB",
			    ULL(kernel));
	s->payload_offset = (u32)setup;
	s->payload_size = (u32)kernel;
	poff = rd32(p + HDR_PAYLOAD_OFFSET);
	plen = rd32(p + HDR_PAYLOAD_LENGTH);
	if (poff + plen > kernel)
		return fail(c, "the compressed payload [0x%llx, +0x%llx) runs past the kernel's 0x%llx bytes",
			    ULL(poff), ULL(plen), ULL(kernel));
	return 0;
}

/* Flags, alignment and the memory the kernel needs. */
static int check_kernel(struct lb_ctx *c)
{
	const u8 *p = c->img;
	struct linux_setup *s = c->out;

	s->loadflags = p[HDR_LOADFLAGS];
	if (!(s->loadflags & LOADED_HIGH))
		return fail(c, "loadflags 0x%02x lack LOADED_HIGH: a zImage, loaded at 0x10000",
			    s->loadflags);
	s->xloadflags = rd16(p + HDR_XLOADFLAGS);
	if (!(s->xloadflags & LINUX_XLF_KERNEL_64))
		return fail(c, "xloadflags 0x%x lack XLF_KERNEL_64: the kernel has no 64-bit entry",
			    s->xloadflags);
	s->kernel_alignment = rd32(p + HDR_KERNEL_ALIGNMENT);
	if (s->kernel_alignment < ALIGN_MIN || s->kernel_alignment > ALIGN_MAX ||
	    (s->kernel_alignment & (s->kernel_alignment - 1)))
		return fail(c, "kernel_alignment 0x%x is not a power of two from 4 KiB to 1 GiB",
			    s->kernel_alignment);
	s->relocatable = p[HDR_RELOCATABLE] != 0;
	s->cmdline_size = rd32(p + HDR_CMDLINE_SIZE);
	s->initrd_addr_max = rd32(p + HDR_INITRD_ADDR_MAX);
	s->init_size = rd32(p + HDR_INIT_SIZE);
	if (s->init_size < s->payload_size || s->init_size > INIT_SIZE_MAX)
		return fail(c, "init_size 0x%x is not between the kernel's own 0x%x bytes and 1 GiB",
			    s->init_size, s->payload_size);
	s->pref_address = rd64(p + HDR_PREF_ADDRESS);
	if (s->pref_address < LINUX_HIGH_START)
		return fail(c, "pref_address 0x%llx is below 1 MiB, where the zero page and ACPI tables go",
			    ULL(s->pref_address));
	if (s->pref_address >= PHYS_LIMIT ||
	    s->init_size > PHYS_LIMIT - s->pref_address)
		return fail(c, "pref_address 0x%llx + init_size 0x%x does not end below 2^52",
			    ULL(s->pref_address), s->init_size);
	return 0;
}

int linux_parse_bzimage(const u8 *img, size_t len, struct linux_setup *out,
			char *why, size_t wlen)
{
	struct lb_ctx c = { .img = img, .len = img ? len : 0, .out = out,
			    .why = why, .wlen = wlen };
	int err;

	memset(out, 0, sizeof(*out));
	if (why && wlen)
		why[0] = '\0';
	err = check_header(&c);
	if (!err)
		err = check_layout(&c);
	if (!err)
		err = check_kernel(&c);
	return err;
}

/* ---------------------------------------------------------------- e820 */

struct e820_out {
	struct e820_entry *e;
	unsigned int n, max;
};

/* Append, merging with the previous entry when it touches and matches. */
static int e820_add(struct e820_out *o, u64 addr, u64 size, u32 type)
{
	struct e820_entry *last = o->n ? &o->e[o->n - 1] : NULL;

	if (!size)
		return 0;
	if (last && last->type == type && last->addr + last->size == addr) {
		last->size += size;
		return 0;
	}
	if (o->n == o->max)
		return -HV_EINVAL;
	o->e[o->n].addr = addr;
	o->e[o->n].size = size;
	o->e[o->n].type = type;
	o->n++;
	return 0;
}

static int e820_acpi(struct e820_out *o, bool *done)
{
	if (*done)
		return 0;
	*done = true;
	return e820_add(o, LINUX_ACPI_GPA, LINUX_ACPI_SIZE, E820_RESERVED);
}

/* [a, e) as @type less the hole below 1 MiB, where the ACPI entry goes. */
static int e820_range(struct e820_out *o, u64 a, u64 e, u32 type,
		      bool *acpi_done)
{
	int err = 0;

	if (a < LINUX_LOW_RAM_END)
		err = e820_add(o, a, MIN(e, LINUX_LOW_RAM_END) - a, type);
	if (!err && e > LINUX_HIGH_START) {
		err = e820_acpi(o, acpi_done);
		a = MAX(a, LINUX_HIGH_START);
		if (!err)
			err = e820_add(o, a, e - a, type);
	}
	return err;
}

int linux_e820(const struct linux_ram *ram, unsigned int nr,
	       struct e820_entry *out, unsigned int max)
{
	struct e820_out o = { .e = out, .max = max };
	bool acpi_done = false;
	u64 prev_end = 0;
	int err;

	for (unsigned int i = 0; i < nr; i++) {
		const struct linux_ram *r = &ram[i];

		if (!r->size)
			continue;
		if (r->gpa < prev_end || r->size > ~0ull - r->gpa)
			return -HV_EINVAL;
		prev_end = r->gpa + r->size;
		err = e820_range(&o, r->gpa, prev_end,
				 r->readonly ? E820_RESERVED : E820_RAM,
				 &acpi_done);
		if (err)
			return err;
	}
	err = e820_acpi(&o, &acpi_done);
	return err ? err : (int)o.n;
}

/* ---------------------------------------------------------------- zero page */

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * setup_data is a loader-written pointer (a list of extra boot data): an
 * image's own value is never passed on. No initrd (initrd_gpa 0) means a
 * ramdisk size of 0 too, whatever initrd_size says.
 */
void linux_zero_page(u8 *zp, const u8 *img, const struct linux_setup *s,
		     const struct linux_params *p)
{
	unsigned int nr = MIN(p->nr_e820, (unsigned int)E820_MAX);
	u32 end = MIN(s->hdr_end, (u32)HDR_MAX_END);
	u64 initrd_size = p->initrd_gpa ? p->initrd_size : 0;

	memset(zp, 0, BP_SIZE);
	if (end > HDR_SETUP_SECTS)
		memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS,
		       end - HDR_SETUP_SECTS);
	put64(zp + HDR_SETUP_DATA, 0);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADED_HIGH;
	put32(zp + HDR_CMD_LINE_PTR, (u32)p->cmdline_gpa);
	put32(zp + BP_EXT_CMD_LINE_PTR, (u32)(p->cmdline_gpa >> 32));
	put32(zp + HDR_RAMDISK_IMAGE, (u32)p->initrd_gpa);
	put32(zp + BP_EXT_RAMDISK_IMAGE, (u32)(p->initrd_gpa >> 32));
	put32(zp + HDR_RAMDISK_SIZE, (u32)initrd_size);
	put32(zp + BP_EXT_RAMDISK_SIZE, (u32)(initrd_size >> 32));
	put64(zp + BP_ACPI_RSDP_ADDR, p->rsdp_gpa);
	zp[BP_E820_ENTRIES] = (u8)nr;
	if (nr)
		memcpy(zp + BP_E820_TABLE, p->e820, nr * sizeof(*p->e820));
}
