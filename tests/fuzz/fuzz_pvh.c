/*
 * libFuzzer target for the PVH vmlinux parser and start info
 * (kernel/guest/pvh.c).
 *
 * The input is an ELF kernel, copied into a buffer of exactly its size so
 * that AddressSanitizer sees any read past it. A successful parse must
 * keep every promise the loader relies on. The input's first bytes also
 * choose the start info's addresses and map length; it is written into a
 * heap buffer of exactly the size it needs, and one byte less must fail.
 *
 * Seeds (tests/fuzz/corpus/fuzz_pvh): small synthetic kernels, each with
 * an ELF64 header, a PT_NOTE holding a Xen PHYS32_ENTRY note (4- or
 * 8-byte value) after other notes, and PT_LOADs above 1 MiB.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/lib.h>
#include <lamina/pvh.h>
#include <lamina/unaligned.h>

#define LIMIT_4G (1ull << 32)

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* What pvh_parse() promises: the loader copies on these alone. */
static void check_image(const struct pvh_image *pi, size_t size)
{
	u64 lowest = ~0ull, highest = 0;
	bool entry_in = false;

	check(pi->nr_segments >= 1 && pi->nr_segments <= PVH_MAX_SEGMENTS);
	for (unsigned int i = 0; i < pi->nr_segments; i++) {
		const struct pvh_segment *s = &pi->seg[i];

		check(s->memsz && s->filesz <= s->memsz);
		check(s->offset <= size && s->filesz <= size - s->offset);
		check(s->paddr >= 0x100000 && s->paddr < LIMIT_4G &&
		      s->memsz <= LIMIT_4G - s->paddr);
		for (unsigned int j = 0; j < i; j++)
			check(s->paddr >= pi->seg[j].paddr + pi->seg[j].memsz ||
			      pi->seg[j].paddr >= s->paddr + s->memsz);
		entry_in |= pi->entry >= s->paddr &&
			    pi->entry - s->paddr < s->filesz;
		lowest = MIN(lowest, s->paddr);
		highest = MAX(highest, s->paddr + s->memsz);
	}
	check(entry_in);
	check(pi->lowest == lowest && pi->highest == highest);
}

static void fuzz_start_info(const u8 *d, size_t n)
{
	static const struct e820_entry map[] = {
		{ 0, 0xa0000, E820_RAM },
		{ 0xe0000, 0x10000, E820_RESERVED },
		{ 0x100000, 0x7f00000, E820_RAM },
		{ 0x100000000ull, 0x40000000, E820_RAM },
	};
	struct pvh_params p = { .cmdline_gpa = 0x9000, .rsdp_gpa = 0xe0000,
				.e820 = map };
	size_t need;
	u8 *buf;
	int got;

	if (n < 9)
		return;
	/* Near 2^64, where the start info may wrap, or anywhere below 2^52. */
	p.info_gpa = d[0] & 0x80 ? ~0ull - d[1] : rd64(d) >> 12;
	p.initrd_gpa = d[8] & 1 ? 0x7000000 : 0;
	p.initrd_size = rd64(d);
	p.nr_e820 = d[8] >> 1 & 3;
	need = 56 + (p.initrd_gpa ? 32 : 0) + p.nr_e820 * 24;
	buf = malloc(need);
	if (!buf)
		return;
	got = pvh_start_info(buf, need, &p);
	if (p.info_gpa > ~0ull - need) {
		check(got < 0);
	} else {
		check(got == (int)need && rd32(buf) == PVH_START_MAGIC);
		check(rd32(buf + 12) == (p.initrd_gpa ? 1 : 0));
		check(rd32(buf + 48) == p.nr_e820);
	}
	check(pvh_start_info(buf, need - 1, &p) < 0);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct pvh_image pi;
	char why[160];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	check(pvh_is_elf(copy, size) == (size >= 4 && !memcmp(copy, "\177ELF", 4)));
	if (!pvh_parse(copy, size, &pi, why, sizeof(why))) {
		check(why[0] == '\0');
		check_image(&pi, size);
	} else {
		check(!strncmp(why, "pvh: ", 5));
		check(strnlen(why, sizeof(why)) < sizeof(why));
	}
	free(copy);
	fuzz_start_info(data, size);
	return 0;
}
