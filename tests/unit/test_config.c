/*
 * Unit tests for the configuration blob validator (kernel/config_check.c).
 *
 * A valid blob of four VMs passes; each case of the table below mutates it
 * (its records before building, or its bytes after) and expects exactly the
 * problems listed, matched by substring, in any order, and no others.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/config.h>
#include <lamina/lib.h>

#include "cfg_build.h"

#define MAX_REPORTS 64
#define MAX_EXPECT 8

/* Records of the good blob, by index. */
enum { VM_WEB, VM_DB, VM_RT, VM_MB };
enum { R_WEB_RAM, R_WEB_LOG, R_DB_RAM, R_DB_ROM, R_RT_RAM, R_MB_RAM, NR_R };
enum { D_WEB_UART, D_WEB_EXIT, D_WEB_PIO, D_DB_UART, D_DB_MMIO, D_RT_EXIT,
       D_RT_PIO, NR_D };

/* ------------------------------------------------------------ fixtures */

struct reports {
	unsigned int n;
	char line[MAX_REPORTS][256];
};

static void collect(void *ctx, const char *problem)
{
	struct reports *r = ctx;

	assert_non_null(problem);
	assert_true(problem[0] != '\0');
	assert_true(strlen(problem) < sizeof(r->line[0]));
	if (r->n < MAX_REPORTS)
		snprintf(r->line[r->n], sizeof(r->line[0]), "%s", problem);
	r->n++;
}

static const struct cfg_module machine_modules[] = {
	{ "web.bin", 64 * KiB, NULL }, { "bzImage", 8 * MiB, NULL },
	{ "initrd.img", 16 * MiB, NULL }, { "kernel.elf", 1 * MiB, NULL },
};

/* Lamina on a machine with pCPUs 0-4, VMX unrestricted guest, the modules. */
static const struct cfg_env env_machine = {
	.cpus_present = 0x1f, .caps_known = true, .real16_ok = true,
	.modules_known = true, .modules = machine_modules,
	.nr_modules = ARRAY_SIZE(machine_modules),
};

/* The host tool: nothing known beyond the blob. */
static const struct cfg_env env_tool;

static const struct cfg_env env_no_real16 = {
	.cpus_present = 0x1f, .caps_known = true, .real16_ok = false,
};

static const struct cfg_env env_4cpus = { .cpus_present = 0xf };

static const struct cfg_module missing_modules[] = {
	{ "web.bin", 16 * MiB, NULL }, { "kernel.elf", 1 * MiB, NULL },
};

/* web.bin too large for its region; bzImage and initrd.img absent. */
static const struct cfg_env env_bad_modules = {
	.modules_known = true, .modules = missing_modules,
	.nr_modules = ARRAY_SIZE(missing_modules),
};

/*
 * Multiboot kernels for the VM 'mboot' (16 MiB of RAM at 0), as the tool
 * and Lamina hand them over: with their bytes. make_kernel() fills them.
 */
#define KERNEL_SIZE 0x2000
static u8 k_good[KERNEL_SIZE], k_zero[KERNEL_SIZE], k_high[KERNEL_SIZE],
	  k_low[KERNEL_SIZE];

#define MB_ENV(env, image) \
	static const struct cfg_module env##_mods[] = { \
		{ "web.bin", 64 * KiB, NULL }, { "bzImage", 8 * MiB, NULL }, \
		{ "initrd.img", 16 * MiB, NULL }, { "mod.txt", 100, NULL }, \
		{ "kernel.elf", KERNEL_SIZE, image }, \
	}; \
	static const struct cfg_env env = { \
		.cpus_present = 0x1f, .caps_known = true, .real16_ok = true, \
		.modules_known = true, .modules = env##_mods, \
		.nr_modules = ARRAY_SIZE(env##_mods), \
	}

MB_ENV(env_k_good, k_good);  /* loads at 1 MiB */
MB_ENV(env_k_zero, k_zero);  /* no multiboot header */
MB_ENV(env_k_high, k_high);  /* loads at 32 MiB, outside the VM's RAM */
MB_ENV(env_k_low, k_low);    /* loads over the information at 0x8000 */

static void put32(u8 *b, size_t off, u32 v);

/* An ELF32 multiboot kernel: one segment of 0x2000 bytes at @paddr. */
static void make_kernel(u8 *k, u32 paddr)
{
	static const u8 ident[16] = { 0x7f, 'E', 'L', 'F', 1, 1, 1 };
	const u32 magic = 0x1badb002, flags = 3;

	memset(k, 0, KERNEL_SIZE);
	memcpy(k, ident, sizeof(ident));
	put32(k, 16, 2 | 3 << 16);             /* executable, i386 */
	put32(k, 20, 1);
	put32(k, 24, paddr);                   /* entry */
	put32(k, 28, 52);                      /* program headers */
	put32(k, 40, 52 | 32 << 16);           /* ehsize, phentsize */
	put32(k, 44, 1);                       /* phnum */
	put32(k, 52, 1);                       /* PT_LOAD */
	put32(k, 56, 0x1000);
	put32(k, 60, paddr);
	put32(k, 64, paddr);
	put32(k, 68, 0x1000);
	put32(k, 72, 0x2000);
	put32(k, 0x100, magic);
	put32(k, 0x104, flags);
	put32(k, 0x108, -(magic + flags));
}

/* Room for a blob at the size limit, plus slack. */
static u8 blob[CFG_MAX_SIZE + 8192];
static struct cfg_spec spec;
static struct reports rep;

static size_t build_good(void)
{
	cfgb_good_spec(&spec);
	return cfgb_build(&spec, blob, sizeof(blob));
}

static unsigned int validate(const void *b, size_t len,
			     const struct cfg_env *env)
{
	memset(&rep, 0, sizeof(rep));
	return cfg_validate(b, len, env, collect, &rep);
}

static void print_reports(void)
{
	for (unsigned int i = 0; i < rep.n && i < MAX_REPORTS; i++)
		print_message("  report: %s\n", rep.line[i]);
}

/* ------------------------------------------------------------ raw edits */

static u32 get32(const u8 *b, size_t off)
{
	u32 v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static void put32(u8 *b, size_t off, u32 v)
{
	memcpy(b + off, &v, sizeof(v));
}

#define HDR(field) offsetof(struct cfg_header, field)
#define GET(field) get32(b, HDR(field))
#define SET(field, v) put32(b, HDR(field), (v))

/* ------------------------------------------------------------ the good blob */

static void test_good_blob(void **state)
{
	static const struct cfg_env *const envs[] = {
		&env_machine, &env_tool, NULL,
	};
	size_t len = build_good();

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(envs); i++) {
		unsigned int n = validate(blob, len, envs[i]);

		if (n)
			print_reports();
		assert_int_equal(n, 0);
		assert_int_equal(rep.n, 0);
	}
	assert_int_equal(cfg_validate(blob, len, &env_machine, NULL, NULL), 0);
}

/* Lamina gets the module where GRUB put it: any alignment will do. */
static void test_unaligned_blob(void **state)
{
	size_t len = build_good();

	(void)state;
	memmove(blob + 3, blob, len);
	assert_int_equal(validate(blob + 3, len, &env_machine), 0);
}

/* A module padded past total_size is fine. */
static void test_padding(void **state)
{
	size_t len = build_good();

	(void)state;
	memset(blob + len, 0xaa, 100);
	assert_int_equal(validate(blob, len + 100, &env_machine), 0);
}

/* Every length short of the whole blob, in a buffer of exactly that size. */
static void test_truncations(void **state)
{
	size_t len = build_good();

	(void)state;
	for (size_t n = 0; n < len; n++) {
		u8 *copy = malloc(n ? n : 1);
		unsigned int count;

		assert_non_null(copy);
		memcpy(copy, blob, n);
		count = validate(copy, n, &env_machine);
		assert_true(count >= 1);
		assert_int_equal(count, rep.n);
		free(copy);
	}
	assert_int_equal(validate(NULL, 0, &env_machine), 1);
}

/* Problems are counted without a report function too. */
static void test_no_report_fn(void **state)
{
	size_t len = build_good();
	u8 *b = blob;

	(void)state;
	SET(flags, 1);
	SET(log_level, 9);
	cfgb_fix_crc(blob);
	assert_int_equal(cfg_validate(blob, len, NULL, NULL, NULL), 2);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(cfg_boot_kind_name(CFG_BOOT_RAW32), "raw32");
	assert_string_equal(cfg_boot_kind_name(CFG_BOOT_RAW64), "raw64");
	assert_string_equal(cfg_boot_kind_name(CFG_BOOT_REAL16), "real16");
	assert_string_equal(cfg_boot_kind_name(CFG_BOOT_MULTIBOOT), "multiboot");
	assert_string_equal(cfg_boot_kind_name(CFG_BOOT_LINUX), "linux");
	assert_string_equal(cfg_boot_kind_name(0), "?");
	assert_string_equal(cfg_boot_kind_name(6), "?");
	assert_string_equal(cfg_boot_kind_name(0xffffffffu), "?");
	assert_string_equal(cfg_crash_policy_name(CFG_CRASH_STOP), "stop");
	assert_string_equal(cfg_crash_policy_name(CFG_CRASH_RESTART), "restart");
	assert_string_equal(cfg_crash_policy_name(CFG_CRASH_DUMP), "dump");
	assert_string_equal(cfg_crash_policy_name(0), "?");
	assert_string_equal(cfg_crash_policy_name(4), "?");
	assert_string_equal(cfg_device_kind_name(CFG_DEV_UART), "uart");
	assert_string_equal(cfg_device_kind_name(CFG_DEV_DEBUG_EXIT), "debug_exit");
	assert_string_equal(cfg_device_kind_name(CFG_DEV_PIO), "pio");
	assert_string_equal(cfg_device_kind_name(CFG_DEV_MMIO), "mmio");
	assert_string_equal(cfg_device_kind_name(0), "?");
	assert_string_equal(cfg_device_kind_name(5), "?");
}

/* The builder itself: offsets in order, CRC the validator agrees with. */
static void test_builder(void **state)
{
	size_t len = build_good();
	const struct cfg_header *h = cfg_hdr(blob);

	(void)state;
	assert_int_equal(h->total_size, len);
	assert_int_equal(h->nr_vms, 4);
	assert_int_equal(h->nr_regions, NR_R);
	assert_int_equal(h->nr_devices, NR_D);
	assert_int_equal(h->vms_offset, sizeof(struct cfg_header));
	assert_int_equal(h->strings_offset + h->strings_size, len);
	assert_int_equal(h->crc32, cfgb_crc(blob));
	assert_string_equal(cfg_str(blob, cfg_vm_at(blob, VM_RT)->name), "rt-16");
	assert_int_equal(cfg_vm_at(blob, VM_MB)->first_region, R_MB_RAM);
	assert_int_equal(cfg_device_at(blob, D_DB_MMIO)->gpa, 0xc0000000);
	assert_int_equal(cfg_region_at(blob, R_DB_ROM)->gpa, 4 * GiB);
	assert_null(cfg_str(blob, CFG_NONE));
}

/* ------------------------------------------------------------ bad blobs */

struct bad_case {
	const char *name;
	void (*spec)(struct cfg_spec *s);  /* edit the records */
	void (*raw)(u8 *b, size_t *len);   /* then the built bytes */
	bool keep_crc;                     /* raw: leave the CRC as built */
	bool at_least;                     /* more reports than listed are fine */
	const struct cfg_env *env;         /* NULL: env_machine */
	unsigned int count;
	const char *expect[MAX_EXPECT];
};

#define SPEC(fn, ...) \
	static void fn(struct cfg_spec *s) { __VA_ARGS__; }
#define RAW(fn, ...) \
	static void fn(u8 *b, size_t *len) { (void)b; (void)len; __VA_ARGS__; }

#define VM(i) (s->vm[i])
#define REG(i) (s->region[i])
#define DEV(i) (s->device[i])

/* Header. */
RAW(raw_magic, SET(magic, 0x12345678))
RAW(raw_abi2, put32(b, HDR(abi_major), 0x00010002))
RAW(raw_abi0, put32(b, HDR(abi_major), 0x00070000))
RAW(raw_minor, put32(b, HDR(abi_major), 0x00090001))
RAW(raw_small_total, SET(total_size, 64))
RAW(raw_big_total, SET(total_size, GET(total_size) + 4))
RAW(raw_huge_total, SET(total_size, CFG_MAX_SIZE + 4096);
    *len = CFG_MAX_SIZE + 4096)
RAW(raw_crc, SET(crc32, GET(crc32) ^ 0x80))
RAW(raw_log_level_no_crc, SET(log_level, 7))
RAW(raw_flags, SET(flags, 0x100))
RAW(raw_reserved, SET(reserved[8], 1))
RAW(raw_log_level, SET(log_level, 4))
RAW(raw_monitor_64, SET(monitor_cpu, 64))
RAW(raw_monitor_7, SET(monitor_cpu, 7))
RAW(raw_minor_reserved, put32(b, HDR(abi_major), 0x00010001);
    SET(reserved[0], 5); put32(b, GET(regions_offset) + 24, 1))
RAW(raw_magic_abi_small, SET(magic, 0); SET(total_size, 10))

/* Arrays. */
RAW(raw_nr_vms, SET(nr_vms, 17))
RAW(raw_nr_regions, SET(nr_regions, 257))
RAW(raw_nr_devices_huge, SET(nr_devices, 0xffffffff))
RAW(raw_devices_past, SET(devices_offset, GET(total_size) - 10))
RAW(raw_regions_offset_huge, SET(regions_offset, 0xffffffff))
RAW(raw_strings_size_huge, SET(strings_size, CFG_MAX_STRINGS + 1))
RAW(raw_strings_past, SET(strings_offset, GET(strings_offset) + 8))
RAW(raw_strings_nul, b[GET(total_size) - 1] = 'x')
RAW(raw_vms_on_header, SET(vms_offset, 0))

/* The string table slides back onto the devices' zero reserved words. */
static u32 shift8(u32 off)
{
	return off == CFG_NONE ? off : off + 8;
}

/* Eight NULs ahead of the strings: every reference moves up by 8. */
static void spec_strings_pad(struct cfg_spec *s)
{
	memmove(s->strings + 8, s->strings, s->strings_size);
	memset(s->strings, 0, 8);
	s->strings_size += 8;
	for (u32 i = 0; i < s->nr_vms; i++) {
		s->vm[i].name = shift8(s->vm[i].name);
		s->vm[i].boot_image = shift8(s->vm[i].boot_image);
		s->vm[i].cmdline = shift8(s->vm[i].cmdline);
		s->vm[i].initrd = shift8(s->vm[i].initrd);
	}
	for (u32 i = 0; i < s->nr_regions; i++)
		s->region[i].image = shift8(s->region[i].image);
}

static void raw_strings_overlap(u8 *b, size_t *len)
{
	u32 off = GET(strings_offset), size = GET(strings_size);

	memmove(b + off, b + off + 8, size - 8);
	SET(strings_offset, off - 8);
	SET(total_size, GET(total_size) - 8);
	*len -= 8;
}

/* VMs. */
SPEC(spec_no_name, VM(VM_DB).name = CFG_NONE)
SPEC(spec_name_outside, VM(VM_DB).name = 0x7000)
SPEC(spec_name_empty, VM(VM_DB).name = cfgb_str(s, ""))
SPEC(spec_name_long, VM(VM_DB).name =
     cfgb_str(s, "abcdefghijklmnopqrstuvwxyz012345"))
SPEC(spec_name_31, VM(VM_DB).name =
     cfgb_str(s, "abcdefghijklmnopqrstuvwxyz01234"))
SPEC(spec_name_chars, VM(VM_DB).name = cfgb_str(s, "db 1"))
SPEC(spec_name_dup, VM(VM_RT).name = VM(VM_WEB).name)
SPEC(spec_vm_flags, VM(VM_WEB).flags = 3)
SPEC(spec_vm_reserved, VM(VM_WEB).reserved[5] = 9)
SPEC(spec_no_cpus, VM(VM_WEB).cpus = 0)
SPEC(spec_shared_cpu, VM(VM_RT).cpus = 0xa)
SPEC(spec_shared_cpus, VM(VM_MB).cpus = 0xffffffffffffffffull)
SPEC(spec_cpu_absent, VM(VM_MB).cpus = 0x30)
SPEC(spec_no_regions, VM(VM_MB).nr_regions = 0)
SPEC(spec_regions_past, VM(VM_MB).nr_regions = 2)
SPEC(spec_regions_wrap, VM(VM_MB).first_region = 0xffffffff)
SPEC(spec_devices_past, VM(VM_RT).nr_devices = 3)
SPEC(spec_region_shared, VM(VM_DB).nr_regions = 3)
SPEC(spec_device_unowned, VM(VM_WEB).nr_devices = 2)
SPEC(spec_device_shared, VM(VM_DB).first_device = D_WEB_PIO;
     VM(VM_DB).nr_devices = 3)
SPEC(spec_boot_kind, VM(VM_WEB).boot_kind = 0)
SPEC(spec_crash_policy, VM(VM_WEB).crash_policy = 7)
SPEC(spec_budget, VM(VM_WEB).restart_budget = 2)
SPEC(spec_linux_no_image, VM(VM_DB).boot_image = CFG_NONE)
SPEC(spec_mb_no_image, VM(VM_MB).boot_image = CFG_NONE)
SPEC(spec_entry_outside, VM(VM_WEB).entry = 9 * MiB)
SPEC(spec_raw32_high, VM(VM_WEB).boot_kind = CFG_BOOT_RAW32;
     REG(R_WEB_LOG).gpa = 4 * GiB; VM(VM_WEB).entry = 4 * GiB + 0x1000)
SPEC(spec_raw32_ok, VM(VM_WEB).boot_kind = CFG_BOOT_RAW32)
/* web (raw64) has its RAM at 0: move it above the table area. */
SPEC(spec_raw64_no_tables, REG(R_WEB_RAM).gpa = 32 * MiB;
     VM(VM_WEB).entry = 32 * MiB)
SPEC(spec_raw64_tables_readonly, REG(R_WEB_RAM).flags = CFG_MEM_READONLY)
SPEC(spec_real16_high, REG(R_RT_RAM).size = 2 * MiB;
     VM(VM_RT).entry = 1 * MiB)
SPEC(spec_initrd_mb, VM(VM_MB).initrd = cfgb_str(s, "initrd.img"))
SPEC(spec_initrd_small_mb, VM(VM_MB).initrd = cfgb_str(s, "mod.txt"))
SPEC(spec_initrd_raw64, VM(VM_WEB).initrd = cfgb_str(s, "initrd.img"))
SPEC(spec_mb_readonly, REG(R_MB_RAM).flags = CFG_MEM_READONLY)
SPEC(spec_mb_ram_high, REG(R_MB_RAM).gpa = 16 * MiB)
/* The kernel at 1 MiB straddles two regions: fine. */
SPEC(spec_mb_split, REG(R_MB_RAM).size = 1 * MiB + 4 * KiB;
     cfgb_region(s, 1 * MiB + 4 * KiB, 15 * MiB, CFG_MEM_LOG_DIRTY, NULL))
SPEC(spec_cmdline_raw, VM(VM_WEB).cmdline = cfgb_str(s, "quiet"))
SPEC(spec_cmdline_outside, VM(VM_DB).cmdline = 0x9999)
SPEC(spec_initrd_outside, VM(VM_DB).initrd = 0x10000)
SPEC(spec_image_outside, VM(VM_DB).boot_image = 0xfffffffe)

/* Regions. */
SPEC(spec_gpa_align, REG(R_WEB_LOG).gpa = 16 * MiB + 0x800)
SPEC(spec_size_align, REG(R_WEB_LOG).size = 0x1800)
SPEC(spec_size_zero, REG(R_WEB_LOG).size = 0)
SPEC(spec_past_48, REG(R_DB_ROM).gpa = 0xfffffffff000ull;
     REG(R_DB_ROM).size = 0x2000)
SPEC(spec_at_48, REG(R_DB_ROM).gpa = 0xfffffffff000ull)
SPEC(spec_wrap_64, REG(R_DB_ROM).gpa = 0xfffffffffffff000ull;
     REG(R_DB_ROM).size = 0x2000)
/* Found by fuzz_config: a wrapping region took the RAM walk back to 0. */
SPEC(spec_linux_wrap_cycle, REG(R_DB_RAM).gpa = 0;
     REG(R_DB_RAM).size = 0xfffffffffffff000ull;
     REG(R_DB_ROM).gpa = 0xffffffffffff0000ull; REG(R_DB_ROM).size = 0x20000;
     REG(R_DB_ROM).flags = 0)
SPEC(spec_region_flags, REG(R_DB_ROM).flags = 0x5)
SPEC(spec_ro_dirty, REG(R_DB_ROM).flags = CFG_MEM_FLAGS_ALL)
SPEC(spec_region_reserved, REG(R_DB_ROM).reserved[1] = 1)
SPEC(spec_region_overlap, REG(R_WEB_LOG).gpa = 8 * MiB - 4 * KiB)
SPEC(spec_region_image_outside, REG(R_WEB_RAM).image = 0x8888)
SPEC(spec_region_image_rt, REG(R_RT_RAM).image = cfgb_str(s, "rt.bin"))

/* Devices. */
SPEC(spec_dev_kind, DEV(D_WEB_EXIT).kind = 9)
SPEC(spec_dev_reserved, DEV(D_WEB_EXIT).reserved[0] = 1)
SPEC(spec_dev_irq, DEV(D_WEB_PIO).irq = 5)
SPEC(spec_dev_gpa, DEV(D_WEB_PIO).gpa = 0x1000)
SPEC(spec_uart_ports, DEV(D_DB_UART).base = 0xfffc)
SPEC(spec_uart_irq, DEV(D_DB_UART).irq = 24)
SPEC(spec_uart_size, DEV(D_DB_UART).size = 4)
SPEC(spec_exit_size0, DEV(D_RT_EXIT).size = 0)
SPEC(spec_exit_size5, DEV(D_RT_EXIT).size = 5)
SPEC(spec_exit_ports, DEV(D_RT_EXIT).base = 0xfffe;
     DEV(D_RT_EXIT).size = 4)
SPEC(spec_pio_size0, DEV(D_RT_PIO).size = 0)
SPEC(spec_pio_ports, DEV(D_RT_PIO).base = 0xfff0; DEV(D_RT_PIO).size = 0x20)
SPEC(spec_pio_com1, DEV(D_RT_PIO).base = 0x3fc; DEV(D_RT_PIO).size = 4)
SPEC(spec_pio_wrap, DEV(D_RT_PIO).base = 0xffffffffffffff00ull)
SPEC(spec_mmio_align, DEV(D_DB_MMIO).gpa = 0xc0000800)
SPEC(spec_mmio_size0, DEV(D_DB_MMIO).size = 0)
SPEC(spec_mmio_wrap, DEV(D_DB_MMIO).base = 0xfffffffffffff000ull)
SPEC(spec_mmio_gpa_48, DEV(D_DB_MMIO).gpa = 0xfffffffff000ull)
SPEC(spec_mmio_lapic, DEV(D_DB_MMIO).base = 0xfee00000)
SPEC(spec_mmio_ioapic, DEV(D_DB_MMIO).base = 0xfebfe000)
SPEC(spec_mmio_on_ram, DEV(D_DB_MMIO).gpa = 0xfffe000)
SPEC(spec_mmio_pair, DEV(D_DB_UART).kind = CFG_DEV_MMIO;
     DEV(D_DB_UART).base = 0xfd000000; DEV(D_DB_UART).size = 0x1000;
     DEV(D_DB_UART).irq = 0; DEV(D_DB_UART).gpa = 0xc0003000)
SPEC(spec_mmio_low, REG(R_DB_RAM).gpa = 1 * MiB; DEV(D_DB_MMIO).gpa = 0)
SPEC(spec_linux_apics, REG(R_DB_ROM).gpa = 0xfec00000;
     REG(R_DB_ROM).size = 0x201000; REG(R_DB_ROM).flags = 0)
SPEC(spec_ports_in_vm, DEV(D_WEB_EXIT).base = 0x3fa)
SPEC(spec_pio_across, DEV(D_RT_PIO).base = 0x64; DEV(D_RT_PIO).size = 1)
SPEC(spec_uart_across, DEV(D_DB_UART).base = 0x3f8)
SPEC(spec_exit_across, DEV(D_RT_EXIT).base = 0xf4)
SPEC(spec_mmio_across, DEV(D_RT_PIO).kind = CFG_DEV_MMIO;
     DEV(D_RT_PIO).base = 0xfe002000; DEV(D_RT_PIO).size = 0x1000;
     DEV(D_RT_PIO).gpa = 0xd0000000)

/* Several problems at once, each listed. */
SPEC(spec_many, s->hdr.log_level = 9; VM(VM_WEB).cpus = 0;
     VM(VM_WEB).boot_kind = 0; REG(R_WEB_LOG).size = 0x1800;
     DEV(D_DB_UART).irq = 30; VM(VM_RT).name = VM(VM_DB).name)

#define WEB "vm 'web' (vm 0)"
#define DB "vm 'db_1' (vm 1)"
#define RT "vm 'rt-16' (vm 2)"
#define MB "vm 'mboot' (vm 3)"

static const struct bad_case cases[] = {
	/* header */
	{ "magic", .raw = raw_magic, .count = 1,
	  .expect = { "header: magic 0x12345678 is not 0x4746434c" } },
	{ "abi_major_2", .raw = raw_abi2, .count = 1,
	  .expect = { "header: ABI version 2.1, this Lamina reads 1.x" } },
	{ "abi_major_0", .raw = raw_abi0, .keep_crc = true, .count = 1,
	  .expect = { "header: ABI version 0.7, this Lamina reads 1.x" } },
	{ "abi_minor_9", .raw = raw_minor, .count = 0 },
	{ "abi_minor_reserved", .raw = raw_minor_reserved, .count = 0 },
	{ "total_size_small", .raw = raw_small_total, .keep_crc = true,
	  .count = 1, .expect = { "header: total_size 64 is smaller" } },
	{ "total_size_past_len", .raw = raw_big_total, .keep_crc = true,
	  .count = 1, .expect = { "bytes given; not checked further" } },
	{ "total_size_limit", .raw = raw_huge_total, .count = 1,
	  .expect = { "header: total_size 1052672 is more than the limit of 1048576" } },
	{ "crc", .raw = raw_crc, .keep_crc = true, .count = 1,
	  .expect = { "header: CRC-32 0x" } },
	{ "crc_and_log_level", .raw = raw_log_level_no_crc, .keep_crc = true,
	  .count = 2, .expect = { "does not match the contents",
				  "header: log_level 7 is more than 3" } },
	{ "flags", .raw = raw_flags, .count = 1,
	  .expect = { "header: flags 0x100: none are defined" } },
	{ "reserved", .raw = raw_reserved, .count = 1,
	  .expect = { "header: reserved words are not zero" } },
	{ "log_level", .raw = raw_log_level, .count = 1,
	  .expect = { "header: log_level 4 is more than 3" } },
	{ "monitor_cpu_64", .raw = raw_monitor_64, .count = 1,
	  .expect = { "header: monitor_cpu 64 is not below 64" } },
	{ "monitor_cpu_absent", .raw = raw_monitor_7, .count = 1,
	  .expect = { "header: monitor_cpu 7 is not present (present: 0-4)" } },
	{ "monitor_cpu_tool", .raw = raw_monitor_7, .env = &env_tool },
	{ "magic_and_size", .raw = raw_magic_abi_small, .keep_crc = true,
	  .count = 2, .expect = { "header: magic 0x00000000",
				  "header: total_size 10 is smaller" } },
	/* arrays */
	{ "nr_vms", .raw = raw_nr_vms, .count = 2,
	  .expect = { "header: nr_vms 17 is more than 16; the vms are not checked",
		      "header: the vms array [0x60, 0x638) runs past total_size" } },
	{ "nr_regions", .raw = raw_nr_regions, .count = 2,
	  .expect = { "header: nr_regions 257 is more than 256",
		      "header: the regions array" } },
	{ "nr_devices_huge", .raw = raw_nr_devices_huge, .count = 2,
	  .expect = { "header: nr_devices 4294967295 is more than 256",
		      "the devices are not checked" } },
	{ "devices_past", .raw = raw_devices_past, .count = 1,
	  .expect = { "header: the devices array" } },
	{ "regions_offset_huge", .raw = raw_regions_offset_huge, .count = 1,
	  .expect = { "header: the regions array [0xffffffff, 0x1000000bf) runs past" } },
	{ "strings_size", .raw = raw_strings_size_huge, .count = 2,
	  .expect = { "header: strings_size 65537 is more than 65536",
		      "header: the string table [" } },
	{ "strings_past", .raw = raw_strings_past, .count = 1,
	  .expect = { "header: the string table [" } },
	{ "strings_nul", .raw = raw_strings_nul, .count = 1,
	  .expect = { "header: the string table does not end in NUL" } },
	{ "strings_overlap", .spec = spec_strings_pad, .raw = raw_strings_overlap,
	  .count = 1,
	  .expect = { "header: the string table [0x390, 0x" } },
	{ "vms_on_header", .raw = raw_vms_on_header, .at_least = true,
	  .count = 1,
	  .expect = { "header: the vms array [0x0, 0x160) overlaps the header [0x0, 0x60)" } },
	/* VMs */
	{ "no_name", .spec = spec_no_name, .count = 1,
	  .expect = { "vm 1: has no name" } },
	{ "name_outside", .spec = spec_name_outside, .count = 1,
	  .expect = { "vm 1: name offset 0x7000 is outside the string table" } },
	{ "name_empty", .spec = spec_name_empty, .count = 1,
	  .expect = { "vm 1: name is 0 characters, not 1 to 31" } },
	{ "name_32", .spec = spec_name_long, .count = 1,
	  .expect = { "vm 1: name is 32 characters, not 1 to 31" } },
	{ "name_31", .spec = spec_name_31 },
	{ "name_chars", .spec = spec_name_chars, .count = 1,
	  .expect = { "vm 1: name 'db 1' has characters other than [A-Za-z0-9_-]" } },
	{ "name_dup", .spec = spec_name_dup, .count = 1,
	  .expect = { "vm 'web' (vm 2): name is also used by vm 0" } },
	{ "vm_flags", .spec = spec_vm_flags, .count = 1,
	  .expect = { WEB ": flags 0x3 has unknown bits" } },
	{ "vm_reserved", .spec = spec_vm_reserved, .count = 1,
	  .expect = { WEB ": reserved words are not zero" } },
	{ "no_cpus", .spec = spec_no_cpus, .count = 1,
	  .expect = { WEB ": has no pCPU" } },
	{ "shared_cpu", .spec = spec_shared_cpu, .count = 1,
	  .expect = { RT ": pCPU 1 also in " DB } },
	{ "shared_cpus", .spec = spec_shared_cpus, .count = 4, .expect = {
	  MB ": pCPU 5-63 not present (present: 0-4)",
	  MB ": pCPU 0 also in " WEB, MB ": pCPU 1-2 also in " DB,
	  MB ": pCPU 3 also in " RT } },
	{ "cpu_absent", .spec = spec_cpu_absent, .count = 1,
	  .expect = { MB ": pCPU 5 not present (present: 0-4)" } },
	{ "cpu_absent_tool", .spec = spec_cpu_absent, .env = &env_tool },
	{ "cpu_absent_4", .env = &env_4cpus, .count = 1,
	  .expect = { MB ": pCPU 4 not present (present: 0-3)" } },
	{ "no_regions", .spec = spec_no_regions, .count = 2,
	  .expect = { MB ": has no memory region", "region 5: belongs to no VM" } },
	{ "regions_past", .spec = spec_regions_past, .count = 1,
	  .expect = { MB ": regions [5, 7) are past the 6 regions of the blob" } },
	{ "regions_wrap", .spec = spec_regions_wrap, .count = 2,
	  .expect = { MB ": regions [4294967295, 4294967296) are past",
		      "region 5: belongs to no VM" } },
	{ "devices_past", .spec = spec_devices_past, .count = 1,
	  .expect = { RT ": devices [5, 8) are past the 7 devices of the blob" } },
	{ "region_shared", .spec = spec_region_shared, .count = 2,
	  .expect = { RT ": region 4 is also in " DB,
		      DB " region 4: [0x0, 0x100000) overlaps region 2" } },
	{ "device_unowned", .spec = spec_device_unowned, .count = 1,
	  .expect = { "device 2: belongs to no VM" } },
	{ "device_shared", .spec = spec_device_shared, .count = 1,
	  .expect = { DB ": device 2 is also in " WEB } },
	{ "boot_kind", .spec = spec_boot_kind, .count = 1,
	  .expect = { WEB ": boot kind 0 is not valid" } },
	{ "crash_policy", .spec = spec_crash_policy, .count = 1,
	  .expect = { WEB ": crash policy 7 is not valid" } },
	{ "restart_budget", .spec = spec_budget, .count = 1,
	  .expect = { WEB ": restart_budget 2 needs crash policy restart (is stop)" } },
	{ "linux_no_image", .spec = spec_linux_no_image, .count = 1,
	  .expect = { DB ": boot kind linux needs a boot image" } },
	{ "multiboot_no_image", .spec = spec_mb_no_image, .count = 1,
	  .expect = { MB ": boot kind multiboot needs a boot image" } },
	{ "entry_outside", .spec = spec_entry_outside, .count = 1,
	  .expect = { WEB ": entry 0x900000 is not inside any of its regions" } },
	{ "raw32_high", .spec = spec_raw32_high, .count = 1,
	  .expect = { WEB ": entry 0x100001000 is not below 4 GiB (raw32)" } },
	{ "raw32_ok", .spec = spec_raw32_ok },
	{ "raw64_no_tables", .spec = spec_raw64_no_tables, .count = 1,
	  .expect = { WEB ": raw64 needs a writable region holding [0x1000, 0x7000) for its page tables" } },
	{ "raw64_tables_readonly", .spec = spec_raw64_tables_readonly, .count = 1,
	  .expect = { WEB ": raw64 needs a writable region holding [0x1000, 0x7000) for its page tables" } },
	{ "real16_high", .spec = spec_real16_high, .count = 1,
	  .expect = { RT ": entry 0x100000 is not below 1 MiB (real16)" } },
	{ "real16_refused", .env = &env_no_real16, .count = 1,
	  .expect = { RT ": real16 needs unrestricted guest (VMX) or SVM" } },
	{ "initrd_multiboot", .spec = spec_initrd_mb },
	{ "initrd_raw64", .spec = spec_initrd_raw64, .count = 1,
	  .expect = { WEB ": an initrd needs boot kind multiboot or linux (is raw64)" } },
	/* multiboot: the kernel's bytes, where it and its module go */
	{ "multiboot_kernel", .spec = spec_initrd_small_mb, .env = &env_k_good },
	{ "multiboot_split_ram", .spec = spec_mb_split, .env = &env_k_good },
	{ "multiboot_not_a_kernel", .env = &env_k_zero, .count = 1,
	  .expect = { MB ": boot image 'kernel.elf': multiboot: no header in the first 8192 bytes" } },
	{ "multiboot_segment_outside", .env = &env_k_high, .count = 1,
	  .expect = { MB ": boot image 'kernel.elf': segment [0x2000000, 0x2002000) is not inside writable regions of the VM" } },
	{ "multiboot_segment_on_info", .env = &env_k_low, .count = 1,
	  .expect = { MB ": boot image 'kernel.elf': segment [0xf000, 0x11000) overlaps the multiboot information at [0x8000, 0x10000)" } },
	{ "multiboot_readonly", .spec = spec_mb_readonly, .env = &env_k_good,
	  .count = 2, .expect = {
	  MB ": boot kind multiboot needs a writable region holding [0x8000, 0x10000) for the multiboot information",
	  MB ": boot image 'kernel.elf': segment [0x100000, 0x102000) is not inside writable regions" } },
	{ "multiboot_info_not_ram", .spec = spec_mb_ram_high, .count = 1,
	  .expect = { MB ": boot kind multiboot needs a writable region holding [0x8000, 0x10000)" } },
	{ "multiboot_initrd_no_room", .spec = spec_initrd_mb, .env = &env_k_good,
	  .count = 1,
	  .expect = { MB ": initrd 'initrd.img' (16777216 bytes) goes after the kernel at [0x102000, 0x1102000): not all writable RAM below 4 GiB" } },
	{ "multiboot_kernel_tool", .spec = spec_mb_ram_high, .env = &env_tool,
	  .count = 1, .expect = { MB ": boot kind multiboot needs a writable region" } },
	{ "cmdline_raw64", .spec = spec_cmdline_raw, .count = 1,
	  .expect = { WEB ": a command line needs boot kind multiboot or linux (is raw64)" } },
	{ "cmdline_outside", .spec = spec_cmdline_outside, .count = 1,
	  .expect = { DB ": cmdline offset 0x9999 is outside the string table" } },
	{ "initrd_outside", .spec = spec_initrd_outside, .count = 1,
	  .expect = { DB ": initrd offset 0x10000 is outside" } },
	{ "boot_image_outside", .spec = spec_image_outside, .count = 1,
	  .expect = { DB ": boot image offset 0xfffffffe is outside" } },
	{ "modules", .env = &env_bad_modules, .count = 3, .expect = {
	  WEB " region 0: image 'web.bin' is 16777216 bytes, more than the region's 0x800000",
	  DB ": boot image 'bzImage' is not a module",
	  DB ": initrd 'initrd.img' is not a module" } },
	{ "region_image_missing", .spec = spec_region_image_rt, .count = 1,
	  .expect = { RT " region 4: image 'rt.bin' is not a module" } },
	{ "region_image_tool", .spec = spec_region_image_rt, .env = &env_tool },
	/* regions */
	{ "gpa_align", .spec = spec_gpa_align, .count = 1,
	  .expect = { WEB " region 1: gpa 0x1000800 is not 4 KiB aligned" } },
	{ "size_align", .spec = spec_size_align, .count = 1,
	  .expect = { WEB " region 1: size 0x1800 is not a multiple of 4 KiB" } },
	{ "size_zero", .spec = spec_size_zero, .count = 1,
	  .expect = { WEB " region 1: size is 0" } },
	{ "past_2_48", .spec = spec_past_48, .count = 1,
	  .expect = { DB " region 3: gpa 0xfffffffff000 + size 0x2000 runs past 2^48" } },
	{ "at_2_48", .spec = spec_at_48 },
	{ "wrap_2_64", .spec = spec_wrap_64, .count = 1,
	  .expect = { DB " region 3: gpa 0xfffffffffffff000 + size 0x2000 runs past 2^48" } },
	{ "linux_wrap_cycle", .spec = spec_linux_wrap_cycle, .count = 3,
	  .expect = { DB ": region [0x0, 0xfffffffffffff000) overlaps [0xfec00000",
		      DB " region 2: gpa 0x0 + size 0xfffffffffffff000 runs past 2^48",
		      DB " region 3: gpa 0xffffffffffff0000 + size 0x20000 runs past 2^48" } },
	{ "region_flags", .spec = spec_region_flags, .count = 1,
	  .expect = { DB " region 3: flags 0x5 has unknown bits" } },
	{ "readonly_log_dirty", .spec = spec_ro_dirty, .count = 1,
	  .expect = { DB " region 3: readonly and log_dirty together" } },
	{ "region_reserved", .spec = spec_region_reserved, .count = 1,
	  .expect = { DB " region 3: reserved words are not zero" } },
	{ "region_overlap", .spec = spec_region_overlap, .count = 1,
	  .expect = { WEB " region 1: [0x7ff000, 0x9ff000) overlaps region 0" } },
	{ "region_image_outside", .spec = spec_region_image_outside, .count = 1,
	  .expect = { WEB " region 0: image offset 0x8888 is outside the string table" } },
	/* devices */
	{ "dev_kind", .spec = spec_dev_kind, .count = 1,
	  .expect = { WEB " device 1: kind 9 is not valid" } },
	{ "dev_reserved", .spec = spec_dev_reserved, .count = 1,
	  .expect = { WEB " device 1: reserved words are not zero" } },
	{ "dev_irq", .spec = spec_dev_irq, .count = 1,
	  .expect = { WEB " device 2: irq 5 is set, but only a uart has one" } },
	{ "dev_gpa", .spec = spec_dev_gpa, .count = 1,
	  .expect = { WEB " device 2: gpa 0x1000 is set, but only an mmio device has one" } },
	{ "uart_ports", .spec = spec_uart_ports, .count = 1,
	  .expect = { DB " device 3: ports 0xfffc + 8 run past 0xffff" } },
	{ "uart_irq", .spec = spec_uart_irq, .count = 1,
	  .expect = { DB " device 3: uart irq 24 is not below 24" } },
	{ "uart_size", .spec = spec_uart_size, .count = 1,
	  .expect = { DB " device 3: uart size 4 is not 0 or 8" } },
	{ "exit_size_0", .spec = spec_exit_size0, .count = 1,
	  .expect = { RT " device 5: debug_exit size 0 is not 1 to 4" } },
	{ "exit_size_5", .spec = spec_exit_size5, .count = 1,
	  .expect = { RT " device 5: debug_exit size 5 is not 1 to 4" } },
	{ "exit_ports", .spec = spec_exit_ports, .count = 1,
	  .expect = { RT " device 5: ports 0xfffe + 4 run past 0xffff" } },
	{ "pio_size_0", .spec = spec_pio_size0, .count = 1,
	  .expect = { RT " device 6: pio size is 0" } },
	{ "pio_ports", .spec = spec_pio_ports, .count = 1,
	  .expect = { RT " device 6: ports 0xfff0 + 32 run past 0xffff" } },
	{ "pio_wrap", .spec = spec_pio_wrap, .count = 1,
	  .expect = { RT " device 6: ports 0xffffffffffffff00 + 256 run past 0xffff" } },
	{ "pio_com1", .spec = spec_pio_com1, .count = 1,
	  .expect = { RT " device 6: ports 0x3fc-0x3ff include Lamina's COM1 ports 0x3f8-0x3ff" } },
	{ "mmio_align", .spec = spec_mmio_align, .count = 1,
	  .expect = { DB " device 4: mmio base 0xfe000000, size 0x4000 and gpa 0xc0000800 must be 4 KiB aligned" } },
	{ "mmio_size_0", .spec = spec_mmio_size0, .count = 1,
	  .expect = { DB " device 4: mmio size is 0" } },
	{ "mmio_wrap", .spec = spec_mmio_wrap, .count = 1,
	  .expect = { DB " device 4: host range 0xfffffffffffff000 + 0x4000 overflows" } },
	{ "mmio_gpa_2_48", .spec = spec_mmio_gpa_48, .count = 1,
	  .expect = { DB " device 4: gpa 0xfffffffff000 + size 0x4000 runs past 2^48" } },
	{ "mmio_lapic", .spec = spec_mmio_lapic, .count = 1,
	  .expect = { DB " device 4: host range [0xfee00000, 0xfee04000) covers Lamina's local APIC page 0xfee00000" } },
	{ "mmio_ioapic", .spec = spec_mmio_ioapic, .count = 1,
	  .expect = { DB " device 4: host range [0xfebfe000, 0xfec02000) covers Lamina's I/O APIC page 0xfec00000" } },
	{ "mmio_on_ram", .spec = spec_mmio_on_ram, .count = 1,
	  .expect = { DB " device 4: gpa range [0xfffe000, 0x10002000) overlaps region 2" } },
	{ "mmio_gpa_in_vm", .spec = spec_mmio_pair, .count = 1,
	  .expect = { DB " device 4: gpa range [0xc0000000, 0xc0004000) overlaps device 3" } },
	/* An MMIO gpa of 0 is no port; the Linux VM then misses its low RAM. */
	{ "mmio_gpa_not_ports", .spec = spec_mmio_low, .count = 1,
	  .expect = { DB ": boot kind linux needs writable RAM from 0 to 1 MiB" } },
	{ "linux_ram_over_apics", .spec = spec_linux_apics, .count = 1,
	  .expect = { DB ": region [0xfec00000, 0xfee01000) overlaps [0xfec00000, 0xfee01000), where a Linux VM's IOAPIC and local APIC are" } },
	{ "ports_in_vm", .spec = spec_ports_in_vm, .count = 1,
	  .expect = { WEB " device 1: ports 0x3fa-0x3fd overlap device 0" } },
	{ "pio_across", .spec = spec_pio_across, .count = 1,
	  .expect = { RT " device 6: ports 0x64-0x64 overlap device 2 of " WEB } },
	{ "uart_across", .spec = spec_uart_across },
	{ "exit_across", .spec = spec_exit_across },
	{ "mmio_across", .spec = spec_mmio_across, .count = 1,
	  .expect = { RT " device 6: host range [0xfe002000, 0xfe003000) overlaps device 4 of " DB } },
	/* several at once */
	{ "many", .spec = spec_many, .count = 6, .expect = {
	  "header: log_level 9 is more than 3", WEB ": has no pCPU",
	  WEB ": boot kind 0 is not valid",
	  WEB " region 1: size 0x1800 is not a multiple of 4 KiB",
	  DB " device 3: uart irq 30 is not below 24",
	  "vm 'db_1' (vm 2): name is also used by vm 1" } },
};

/* Each expected line matches a report of its own; no report is left over. */
static void check_reports(const struct bad_case *c, unsigned int n)
{
	bool used[MAX_REPORTS] = { false };
	unsigned int listed = 0;

	for (; listed < MAX_EXPECT && c->expect[listed]; listed++) {
		unsigned int i;

		for (i = 0; i < rep.n && i < MAX_REPORTS; i++)
			if (!used[i] && strstr(rep.line[i], c->expect[listed]))
				break;
		if (i == rep.n || i == MAX_REPORTS) {
			print_reports();
			fail_msg("%s: no report matches \"%s\"", c->name,
				 c->expect[listed]);
		}
		used[i] = true;
	}
	if (c->at_least ? n < c->count : n != c->count) {
		print_reports();
		fail_msg("%s: %u problems, expected %s%u", c->name, n,
			 c->at_least ? "at least " : "", c->count);
	}
	if (!c->at_least)
		assert_int_equal(listed, c->count);
}

static void run_case(void **state)
{
	const struct bad_case *c = *state;
	size_t len;
	unsigned int n;

	cfgb_good_spec(&spec);
	if (c->spec)
		c->spec(&spec);
	len = cfgb_build(&spec, blob, sizeof(blob));
	if (c->raw) {
		c->raw(blob, &len);
		if (!c->keep_crc)
			cfgb_fix_crc(blob);
	}
	n = validate(blob, len, c->env ? c->env : &env_machine);
	assert_int_equal(n, rep.n);
	check_reports(c, n);
}

/* A command line too long for the 32 KiB of multiboot information. */
static void test_multiboot_cmdline_size(void **state)
{
	static char strings[CFG_MAX_STRINGS];
	const u32 n = 33000;
	u32 off;
	size_t len;

	(void)state;
	cfgb_good_spec(&spec);
	off = spec.strings_size;
	memcpy(strings, spec.strings, off);
	memset(strings + off, 'a', n);
	strings[off + n] = '\0';
	spec.vm[VM_MB].cmdline = off;
	len = cfgb_build_arrays(blob, sizeof(blob), &spec.hdr, spec.vm,
				spec.nr_vms, spec.region, spec.nr_regions,
				spec.device, spec.nr_devices, strings,
				off + n + 1);
	assert_int_equal(validate(blob, len, &env_tool), 1);
	assert_string_equal(rep.line[0], MB ": cmdline: the multiboot information would need 33152 bytes, more than the 32768 at 0x8000");
	/* 32 KiB exactly still fits: 120 + one region's 24 + "Lamina". */
	strings[off + 32616] = '\0';
	len = cfgb_build_arrays(blob, sizeof(blob), &spec.hdr, spec.vm,
				spec.nr_vms, spec.region, spec.nr_regions,
				spec.device, spec.nr_devices, strings,
				off + 32617);
	if (validate(blob, len, &env_tool))
		print_reports();
	assert_int_equal(rep.n, 0);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_good_blob),
		cmocka_unit_test(test_unaligned_blob),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_no_report_fn),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_multiboot_cmdline_size),
	};
	static struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(cases)];
	size_t n = 0;

	make_kernel(k_good, 0x100000);
	make_kernel(k_high, 0x2000000);
	make_kernel(k_low, 0xf000);
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name, .test_func = run_case,
			.initial_state = (void *)&cases[i],
		};
	return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
