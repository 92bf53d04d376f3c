/*
 * libFuzzer target for the bzImage parser, e820 map and zero page
 * (kernel/guest/linux_boot.c).
 *
 * The input is a kernel image, copied into a buffer of exactly its size so
 * that AddressSanitizer sees any read past it. A successful parse must keep
 * every promise the loader relies on, and the zero page is then built from
 * it. The same bytes also describe up to 16 RAM ranges for linux_e820(),
 * whose output must be sorted, disjoint, RAM-free in the hole below 1 MiB
 * and hold exactly the input's RAM outside that hole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/lib.h>
#include <lamina/linux_boot.h>
#include <lamina/unaligned.h>

#define MAX_RANGES 16
#define RANGE_BYTES 9 /* mode, gap, size */

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* What linux_parse_bzimage() promises: the loader copies on these alone. */
static void check_setup(const struct linux_setup *s, const u8 *img, size_t size)
{
	u32 sects = s->setup_sects ? s->setup_sects : 4;

	check(s->version >= 0x020c);
	check(s->xloadflags & LINUX_XLF_KERNEL_64);
	check(s->loadflags & 1);
	check(s->kernel_alignment >= 0x1000 &&
	      !(s->kernel_alignment & (s->kernel_alignment - 1)));
	check(s->payload_offset == (sects + 1) * 512);
	check((u64)s->payload_offset + s->payload_size == size);
	check(s->payload_size > LINUX_ENTRY64_OFFSET);
	check(s->init_size >= s->payload_size);
	check(s->pref_address >= LINUX_HIGH_START &&
	      s->pref_address + s->init_size > s->pref_address);
	check(s->hdr_end >= 0x268 && s->hdr_end <= 0x290 && s->hdr_end < size);
	check((u64)rd32(img + 0x248) + rd32(img + 0x24c) <= s->payload_size);
}

static void check_zero_page(const struct linux_setup *s, const u8 *img)
{
	static const struct e820_entry map[] = {
		{ 0, LINUX_LOW_RAM_END, E820_RAM },
		{ LINUX_ACPI_GPA, LINUX_ACPI_SIZE, E820_RESERVED },
		{ LINUX_HIGH_START, 0x7f00000, E820_RAM },
	};
	const struct linux_params p = {
		.cmdline_gpa = LINUX_CMDLINE_GPA, .initrd_gpa = 0x4000000,
		.initrd_size = 0x1000, .rsdp_gpa = LINUX_ACPI_GPA,
		.e820 = map, .nr_e820 = ARRAY_SIZE(map),
	};
	static u8 zp[4096];

	linux_zero_page(zp, img, s, &p);
	check(!memcmp(zp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1));
	check(zp[0x210] == 0xff && (zp[0x211] & 1));
	check(rd32(zp + 0x228) == LINUX_CMDLINE_GPA && rd64(zp + 0x250) == 0);
	check(zp[0x1e8] == ARRAY_SIZE(map));
	check(!memcmp(zp + 0x2d0, map, sizeof(map)));
}

/* RAM bytes of [a, a + n) outside [LINUX_LOW_RAM_END, LINUX_HIGH_START). */
static u64 ram_outside_hole(u64 a, u64 n)
{
	u64 e = a + n, lo = MAX(a, LINUX_LOW_RAM_END), hi = MIN(e, LINUX_HIGH_START);

	return n - (lo < hi ? hi - lo : 0);
}

/*
 * Sorted, not overlapping, no RAM in the PC hole, touching entries of one
 * type merged; the RAM and the read-only (reserved) bytes are the input's,
 * and one reserved entry covers the ACPI tables.
 */
static void check_e820(const struct e820_entry *e, int n, u64 ram_bytes,
		       u64 rom_bytes)
{
	u64 got_ram = 0, got_reserved = 0;
	bool acpi = false;

	for (int i = 0; i < n; i++) {
		check(e[i].size && e[i].addr + e[i].size - 1 >= e[i].addr);
		check(e[i].type == E820_RAM || e[i].type == E820_RESERVED);
		if (i) {
			check(e[i - 1].addr + e[i - 1].size <= e[i].addr);
			check(e[i - 1].type != e[i].type ||
			      e[i - 1].addr + e[i - 1].size < e[i].addr);
		}
		if (e[i].type == E820_RESERVED) {
			acpi |= e[i].addr <= LINUX_ACPI_GPA &&
				e[i].addr + e[i].size >= LINUX_ACPI_GPA + LINUX_ACPI_SIZE;
			got_reserved += e[i].size;
			continue;
		}
		check(e[i].addr + e[i].size <= LINUX_LOW_RAM_END ||
		      e[i].addr >= LINUX_HIGH_START);
		got_ram += e[i].size;
	}
	check(acpi && got_ram == ram_bytes &&
	      got_reserved == rom_bytes + LINUX_ACPI_SIZE);
}

/*
 * Ranges from the input: each a gap after the previous one and a size, in
 * bytes or pages; mode bit 7 places it at an absolute address instead,
 * which may be out of order, and bit 6 makes it read-only (a ROM).
 */
static unsigned int make_ranges(const u8 *d, size_t n, struct linux_ram *ram)
{
	unsigned int nr = 0;
	u64 at = 0;

	for (size_t off = 1; off + RANGE_BYTES <= n && nr < MAX_RANGES;
	     off += RANGE_BYTES) {
		u8 mode = d[off];
		u64 unit = mode & 1 ? 0x1000 : 1, gap = rd32(d + off + 1) * unit;
		u64 size = (u64)rd32(d + off + 5) * unit << (mode >> 1 & 31);

		ram[nr].gpa = mode & 0x80 ? gap << (mode >> 1 & 31) : at + gap;
		ram[nr].size = size;
		ram[nr].readonly = mode & 0x40;
		at = ram[nr].gpa + size;
		nr++;
	}
	return nr;
}

static void fuzz_e820(const u8 *d, size_t n)
{
	struct linux_ram ram[MAX_RANGES];
	struct e820_entry full[E820_MAX], part[E820_MAX];
	unsigned int nr, max;
	bool valid = true;
	u64 prev_end = 0, ram_bytes = 0, rom_bytes = 0;
	int got, want;

	if (!n)
		return;
	max = d[0] % (2 * MAX_RANGES + 2);
	nr = make_ranges(d, n, ram);
	for (unsigned int i = 0; i < nr; i++) {
		if (!ram[i].size)
			continue;
		valid &= ram[i].gpa >= prev_end && ram[i].size <= ~0ull - ram[i].gpa;
		if (!valid)
			break;
		prev_end = ram[i].gpa + ram[i].size;
		*(ram[i].readonly ? &rom_bytes : &ram_bytes) +=
			ram_outside_hole(ram[i].gpa, ram[i].size);
	}
	want = linux_e820(ram, nr, full, E820_MAX);
	check(valid ? want >= 1 && want <= 2 * MAX_RANGES + 1 : want < 0);
	if (!valid)
		return;
	check_e820(full, want, ram_bytes, rom_bytes);
	got = linux_e820(ram, nr, part, max);
	check(want <= (int)max ? got == want : got < 0);
	if (got > 0)
		check(!memcmp(part, full, got * sizeof(full[0])));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct linux_setup s;
	char why[160];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (!linux_parse_bzimage(copy, size, &s, why, sizeof(why))) {
		check(why[0] == '\0');
		check_setup(&s, copy, size);
		check_zero_page(&s, copy);
	} else {
		check(!strncmp(why, "linux: ", 7));
		check(strnlen(why, sizeof(why)) < sizeof(why));
	}
	free(copy);
	fuzz_e820(data, size);
	return 0;
}
