/*
 * libFuzzer target for lamina.efi's parsers (loader/efi/): the input is
 * read as a boot.txt (manifest.c) and as a kernel image (kimage.c). Each
 * gets a copy of exactly the input's size so that AddressSanitizer sees a
 * read past the end; a successful parse is checked against its promises.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kimage.h"
#include "manifest.h"

static struct efi_manifest man;
static struct kimage kimg;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static bool terminated(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

/* A path or name as the loader uses it: one word of printable ASCII. */
static bool word(const char *s, size_t size)
{
	size_t i, n = strnlen(s, size);

	if (!n || n == size)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	return true;
}

static void check_manifest(int err, size_t lines)
{
	unsigned int i, j;

	check(terminated(man.error, sizeof(man.error)));
	if (err) {
		check(man.error[0] != '\0');
		check(man.err_line <= lines);
		return;
	}
	check(word(man.kernel, sizeof(man.kernel)) && man.kernel[0] == '\\');
	check(terminated(man.cmdline, sizeof(man.cmdline)));
	check(man.nr_modules <= EFIM_MAX_MODULES);
	for (i = 0; i < man.nr_modules; i++) {
		check(word(man.modules[i].path, EFIM_PATH_MAX));
		check(man.modules[i].path[0] == '\\');
		check(!strchr(man.modules[i].path, '/'));
		check(word(man.modules[i].name, EFIM_NAME_MAX));
		for (j = 0; j < i; j++)
			check(strcmp(man.modules[i].name, man.modules[j].name));
	}
}

static void check_kimage(int err, size_t size)
{
	unsigned int i;
	bool entry_in = false;

	check(terminated(kimg.error, sizeof(kimg.error)));
	if (err) {
		check(kimg.error[0] != '\0');
		return;
	}
	check(kimg.nr_segs >= 1 && kimg.nr_segs <= KIMG_MAX_SEGS);
	for (i = 0; i < kimg.nr_segs; i++) {
		const struct kimg_seg *s = &kimg.segs[i];

		check(s->filesz <= s->memsz);
		check(s->offset <= size && s->filesz <= size - s->offset);
		check(s->paddr + s->memsz <= 0x100000000ull);
		if (kimg.entry >= s->paddr && kimg.entry < s->paddr + s->memsz)
			entry_in = true;
	}
	check(entry_in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	size_t lines = 1, i;

	memcpy(copy, data, size);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	check_manifest(efim_parse((const char *)copy, size, &man), lines);
	check_kimage(kimg_parse(copy, size, &kimg), size);
	free(copy);
	return 0;
}
