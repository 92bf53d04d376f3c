/*
 * Write the seed corpus of tests/fuzz/fuzz_config.c: well-formed blobs,
 * built with tests/unit/cfg_build.h, each behind the target's control byte
 * (bit 0: recompute the CRC; bits 1-3: the environment), so that the
 * fuzzer starts deep inside the validator. Run from the repository root:
 *
 *	gcc -std=gnu11 -Iinclude tests/fuzz/make_config_seeds.c lib/crc32.c \
 *		-o build/make_config_seeds && build/make_config_seeds
 */
#include <stdio.h>

#include <lamina/lib.h>

#include "../unit/cfg_build.h"

#define DIR "tests/fuzz/corpus/fuzz_config/"

/* Control bytes: fix the CRC, with no env, the tool's or a machine's. */
enum { CTL_NONE = 0x01, CTL_TOOL = 0x03, CTL_MACHINE = 0x05, CTL_CPU0 = 0x07 };

static u8 out[1 + 65536];

static void write_seed(const char *name, u8 ctl, const struct cfg_spec *s)
{
	char path[128];
	size_t len;
	FILE *f;

	out[0] = ctl;
	len = 1 + cfgb_build(s, out + 1, sizeof(out) - 1);
	snprintf(path, sizeof(path), DIR "%s", name);
	f = fopen(path, "wb");
	if (!f || fwrite(out, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* tests/configs/boot-2cpu.yaml */
static void two_cpu(struct cfg_spec *s)
{
	cfgb_init(s);
	cfgb_vm(s, "small", 0x1, CFG_BOOT_RAW64, 0x100000);
	cfgb_region(s, 0, 8 * MiB, 0, NULL);
	cfgb_device(s, CFG_DEV_UART, 0x3f8, 0, 4, 0);
	cfgb_device(s, CFG_DEV_DEBUG_EXIT, 0xf4, 4, 0, 0);
	cfgb_vm(s, "logged", 0x2, CFG_BOOT_RAW32, 0x1000);
	cfgb_region(s, 0, 4 * MiB, 0, NULL);
	cfgb_region(s, 0x400000, 2 * MiB, CFG_MEM_LOG_DIRTY, NULL);
	cfgb_region(s, 0x1000000, 0x10000, CFG_MEM_READONLY, NULL);
}

int main(void)
{
	static struct cfg_spec s;

	cfgb_good_spec(&s);
	write_seed("full-none", CTL_NONE, &s);
	write_seed("full-machine", CTL_MACHINE, &s);
	write_seed("full-nocrc", 0x00, &s);
	two_cpu(&s);
	write_seed("two-cpu-tool", CTL_TOOL, &s);
	write_seed("two-cpu-cpu0", CTL_CPU0, &s);
	cfgb_init(&s);
	write_seed("empty", CTL_NONE, &s);
	cfgb_init(&s);
	cfgb_vm(&s, "one", 0x1, CFG_BOOT_RAW32, 0x1000);
	cfgb_region(&s, 0, 0x10000, 0, NULL);
	write_seed("one-vm", CTL_NONE, &s);
	return 0;
}
