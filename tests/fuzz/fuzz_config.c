/*
 * libFuzzer target for the configuration blob validator
 * (kernel/config_check.c).
 *
 * Input: one control byte, then the blob. Control bit 0 set: the CRC-32 is
 * recomputed in the copy first, so that mutations get past the CRC check
 * to the rules behind it. Bits 1-3 pick what the validator knows of the
 * machine (see envs[]). The blob is copied into a buffer of exactly its
 * size so that AddressSanitizer sees any read past it.
 *
 * Besides not crashing, the validator must report as many lines as it
 * counts, and a blob it accepts must be safe to walk with the accessors of
 * <lamina/config.h>, as Lamina does, and keep the promises checked below.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/config.h>
#include <lamina/crc32.h>
#include <lamina/lib.h>

static const struct cfg_module modules[] = {
	{ "web.bin", 0x10000 }, { "bzImage", 0x800000 },
	{ "initrd.img", 0x1000000 }, { "kernel.elf", 0x100000 },
	{ NULL, 0 },
};

static const struct cfg_env envs[8] = {
	/* [0]: NULL, [1]: the host tool, nothing known */
	[2] = { .cpus_present = 0xff, .caps_known = true, .real16_ok = true,
		.modules_known = true, .modules = modules,
		.nr_modules = ARRAY_SIZE(modules) },
	[3] = { .cpus_present = 0x1, .caps_known = true },
	[4] = { .modules_known = true },
	[5] = { .cpus_present = ~0ull, .caps_known = true, .real16_ok = true },
	[6] = { .cpus_present = 0x8000000000000001ull, .modules_known = true,
		.modules = modules, .nr_modules = 2 },
	[7] = { .caps_known = true, .modules_known = true, .modules = modules,
		.nr_modules = ARRAY_SIZE(modules) },
};

static unsigned int nr_reports;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void count_report(void *ctx, const char *problem)
{
	(void)ctx;
	check(problem && problem[0] != '\0' && strlen(problem) < 256);
	nr_reports++;
}

static bool aligned_4k(u64 v)
{
	return (v & 0xfff) == 0;
}

/* A string Lamina reads must end inside the table. */
static void touch(const char *s)
{
	if (s)
		check(strlen(s) < CFG_MAX_STRINGS);
}

static void check_vm(const void *blob, const struct cfg_vm *v)
{
	const struct cfg_header *h = cfg_hdr(blob);
	const char *name = cfg_str(blob, v->name);

	check(name && strlen(name) >= 1 && strlen(name) <= CFG_NAME_MAX);
	check(v->cpus && v->nr_regions);
	check((u64)v->first_region + v->nr_regions <= h->nr_regions);
	check(!v->nr_devices ||
	      (u64)v->first_device + v->nr_devices <= h->nr_devices);
	check(strcmp(cfg_boot_kind_name(v->boot_kind), "?") != 0);
	check(strcmp(cfg_crash_policy_name(v->crash_policy), "?") != 0);
	touch(cfg_str(blob, v->boot_image));
	touch(cfg_str(blob, v->cmdline));
	touch(cfg_str(blob, v->initrd));
	for (u32 i = 0; i < v->nr_regions; i++) {
		const struct cfg_region *r = cfg_region_at(blob, v->first_region + i);

		check(aligned_4k(r->gpa) && aligned_4k(r->size) && r->size);
		check(r->gpa + r->size > r->gpa && r->gpa + r->size <= 1ull << 48);
		touch(cfg_str(blob, r->image));
	}
	for (u32 i = 0; i < v->nr_devices; i++) {
		const struct cfg_device *d = cfg_device_at(blob, v->first_device + i);

		check(strcmp(cfg_device_kind_name(d->kind), "?") != 0);
		if (d->kind == CFG_DEV_MMIO)
			check(d->size && aligned_4k(d->gpa | d->size | d->base));
		else if (d->kind == CFG_DEV_UART)
			check(d->base + 8 <= 0x10000 && d->irq < 24);
		else
			check(d->size && d->base + d->size <= 0x10000);
	}
}

/* What an accepted blob promises to Lamina (kernel/config.c, kernel/vm*.c). */
static void check_accepted(const void *blob, size_t len)
{
	const struct cfg_header *h = cfg_hdr(blob);

	check(h->magic == CFG_MAGIC && h->abi_major == CFG_ABI_MAJOR);
	check(h->total_size <= len && h->nr_vms <= CFG_MAX_VMS);
	check(h->log_level <= 3 && h->monitor_cpu < CFG_MAX_CPUS);
	for (u32 i = 0; i < h->nr_vms; i++)
		check_vm(blob, cfg_vm_at(blob, i));
}

static void fix_crc(u8 *blob, size_t len)
{
	struct cfg_header h;
	u32 crc;

	if (len < sizeof(h))
		return;
	memcpy(&h, blob, sizeof(h));
	if (h.total_size < sizeof(h) || h.total_size > len)
		return;
	h.crc32 = 0;
	crc = crc32(0, &h, sizeof(h));
	crc = crc32(crc, blob + sizeof(h), h.total_size - sizeof(h));
	memcpy(blob + offsetof(struct cfg_header, crc32), &crc, sizeof(crc));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int ctl, env, problems;
	uint8_t *copy;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (ctl & 1)
		fix_crc(copy, size);
	env = (ctl >> 1) & 7;
	nr_reports = 0;
	problems = cfg_validate(copy, size, env ? &envs[env] : NULL,
				count_report, NULL);
	check(problems == nr_reports);
	if (!problems)
		check_accepted(copy, size);
	free(copy);
	return 0;
}
