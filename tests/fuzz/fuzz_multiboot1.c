/*
 * libFuzzer target for the Multiboot (version 1) kernel parser
 * (kernel/guest/multiboot.c). The input is the kernel image, copied into a
 * buffer of exactly its size so that AddressSanitizer sees any read past
 * it. A successful parse must keep every promise the loader relies on; the
 * information builder then runs on a memory map and module derived from it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/lib.h>
#include <lamina/multiboot1.h>

static u8 info[MB1_INFO_SIZE];

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* What mb1_parse() promises: the loader copies on these alone. */
static void check_image(const struct mb1_image *mi, size_t size)
{
	bool entry_in = false;

	check(mi->nr_segments >= 1 && mi->nr_segments <= MB1_MAX_SEGMENTS);
	check(mi->format >= MB1_ELF32 && mi->format <= MB1_AOUT_KLUDGE);
	check(mi->header_off + 12 <= MIN(size, (size_t)MB1_SEARCH));
	for (unsigned int i = 0; i < mi->nr_segments; i++) {
		const struct mb1_segment *s = &mi->seg[i];

		check(s->memsz && s->filesz <= s->memsz);
		check(s->file_off <= size && s->filesz <= size - s->file_off);
		check(s->gpa < (1ull << 32) && s->memsz <= (1ull << 32) - s->gpa);
		check(!i || mi->seg[i - 1].gpa + mi->seg[i - 1].memsz <= s->gpa);
		entry_in |= mi->entry >= s->gpa && mi->entry - s->gpa < s->memsz;
	}
	check(entry_in);
	check(mi->load_end == mi->seg[mi->nr_segments - 1].gpa +
			      mi->seg[mi->nr_segments - 1].memsz);
}

/* The information for a guest with this kernel and a module after it. */
static void build_info(const struct mb1_image *mi, const char *why)
{
	const struct mb1_mem map[] = {
		{ 0, 0xa0000, MB1_MEM_RAM },
		{ 0x100000, mi->load_end, MB1_MEM_RAM },
		{ mi->seg[0].gpa, mi->seg[0].memsz, MB1_MEM_RESERVED },
	};
	u64 mod = mb1_module_gpa(mi, mi->seg[0].filesz);
	const struct mb1_module m = { (u32)mod, (u32)(mod + mi->seg[0].filesz),
				      "module" };
	const struct mb1_env env = {
		.info_gpa = MB1_INFO_GPA, .cmdline = why,
		.loader_name = MB1_LOADER_NAME, .mmap = map,
		.nr_mmap = ARRAY_SIZE(map), .mods = &m, .nr_mods = 1,
	};
	char err[96];
	size_t used;

	check(mod >= mi->load_end && (mod & (MB1_MODULE_ALIGN - 1)) == 0);
	check(mod >= MB1_INFO_GPA + MB1_INFO_SIZE ||
	      mod + mi->seg[0].filesz <= MB1_INFO_GPA);
	check(!mb1_build_info(&env, info, sizeof(info), &used, err,
			      sizeof(err)));
	check(used <= sizeof(info));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct mb1_image mi;
	char why[128];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (!mb1_parse(copy, size, &mi, why, sizeof(why))) {
		check(why[0] == '\0');
		check_image(&mi, size);
		build_info(&mi, "console=ttyS0");
	} else {
		check(!strncmp(why, "multiboot: ", 11));
		check(strnlen(why, sizeof(why)) < sizeof(why));
	}
	free(copy);
	return 0;
}
