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
#define MiB 0x100000ull

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

/* One VM of each boot kind and every device kind, as in the unit tests. */
static void full(struct cfg_spec *s)
{
	struct cfg_vm *v;

	cfgb_init(s);
	v = cfgb_vm(s, "web", 0x1, CFG_BOOT_RAW64, 0x100000);
	v->flags = CFG_VM_AUTOSTART;
	cfgb_region(s, 0, 8 * MiB, 0, "web.bin");
	cfgb_region(s, 16 * MiB, 2 * MiB, CFG_MEM_LOG_DIRTY, NULL);
	cfgb_device(s, CFG_DEV_UART, 0x3f8, 8, 4, 0);
	cfgb_device(s, CFG_DEV_DEBUG_EXIT, 0xf4, 4, 0, 0);
	cfgb_device(s, CFG_DEV_PIO, 0x60, 5, 0, 0);
	v = cfgb_vm(s, "db_1", 0x6, CFG_BOOT_LINUX, 0);
	v->boot_image = cfgb_str(s, "bzImage");
	v->cmdline = cfgb_str(s, "console=ttyS0 quiet");
	v->initrd = cfgb_str(s, "initrd.img");
	v->crash_policy = CFG_CRASH_RESTART;
	v->restart_budget = 3;
	cfgb_region(s, 0, 256 * MiB, 0, NULL);
	cfgb_region(s, 0x100000000ull, 0x1000, CFG_MEM_READONLY, NULL);
	cfgb_device(s, CFG_DEV_UART, 0x2f8, 0, 3, 0);
	cfgb_device(s, CFG_DEV_MMIO, 0xfe000000, 0x4000, 0, 0xc0000000);
	v = cfgb_vm(s, "rt-16", 0x8, CFG_BOOT_REAL16, 0x7c00);
	v->crash_policy = CFG_CRASH_DUMP;
	cfgb_region(s, 0, 1 * MiB, 0, NULL);
	cfgb_device(s, CFG_DEV_DEBUG_EXIT, 0x501, 1, 0, 0);
	cfgb_device(s, CFG_DEV_PIO, 0x3000, 0x100, 0, 0);
	v = cfgb_vm(s, "mboot", 0x10, CFG_BOOT_MULTIBOOT, 0);
	v->boot_image = cfgb_str(s, "kernel.elf");
	v->cmdline = cfgb_str(s, "quiet");
	cfgb_region(s, 0, 16 * MiB, 0, NULL);
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

	full(&s);
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
