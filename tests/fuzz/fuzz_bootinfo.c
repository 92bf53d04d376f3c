/*
 * libFuzzer target for the multiboot2 parser (kernel/bootinfo.c). The input
 * is the boot information itself; it is copied into a buffer of exactly its
 * size so that AddressSanitizer sees any read past what the loader gave us.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/bootinfo.h>
#include <lamina/lib.h>

static struct bootinfo bi;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static bool terminated(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

/* What a successful parse promises to its callers. */
static void check_result(const struct bootinfo *b)
{
	unsigned int i;

	check(terminated(b->error, sizeof(b->error)));
	check(terminated(b->warning, sizeof(b->warning)));
	check(terminated(b->cmdline, sizeof(b->cmdline)));
	check(terminated(b->loader, sizeof(b->loader)));
	check(b->nr_mmap <= BOOTINFO_MAX_MMAP);
	check(b->nr_modules <= BOOTINFO_MAX_MODULES);
	check(b->rsdp_len <= BOOTINFO_RSDP_MAX);
	check(!b->has_fb || !boot_fb_check(&b->fb)); /* fbcon draws on it */
	for (i = 0; i < b->nr_modules; i++) {
		check(b->modules[i].start <= b->modules[i].end);
		check(terminated(b->modules[i].name, BOOTINFO_NAME_MAX));
	}
	for (i = 0; i < b->nr_mmap; i++) {
		const struct mem_range *r = &b->mmap[i];

		check(r->len && r->base + r->len > r->base);
		check(strcmp(mem_type_name(r->type), "unknown") != 0);
		if (i) /* sorted, and no two mergeable neighbours left */
			check(r[-1].base <= r->base &&
			      (r[-1].type != r->type ||
			       r[-1].base + r[-1].len < r->base));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	int err;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	err = mb2_parse(copy, size, &bi);
	if (err)
		check(bi.error[0] != '\0');
	else
		check_result(&bi);
	free(copy);
	return 0;
}
