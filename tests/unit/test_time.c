/*
 * Unit tests for the pure parts of the TSC calibration (drivers/time.c):
 * cycles over timer ticks to kHz, a counter's wrap, the HPET period check,
 * the CPUID 0x15/0x16 readings and the rule that believes them only where
 * they agree with the measurement, and tsc.source= parsing. The hardware
 * paths are linked but never called: the test supplies what they use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/printk.h>
#include <lamina/time.h>

/* What drivers/time.c links against in Lamina. */
struct acpi_info acpi;
bool acpi_usable;
u64 boot_tsc;

const char *cmdline_get(const char *key)
{
	(void)key;
	return NULL;
}

bool phys_mapped(u64 phys, u64 len)
{
	(void)phys;
	(void)len;
	return false;
}

void printk(enum log_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

#define PMTMR_FS HZ_TO_FS(3579545ull)
#define PIT_FS HZ_TO_FS(1193182ull)

/* khz: cycles / (ticks * period), rounded down, computed exactly (Python
 * fractions); time_khz() may be off by its nanosecond rounding, 10 ppm. */
struct khz_case {
	u64 cycles, ticks, period_fs, khz;
};

static const struct khz_case khz_cases[] = {
	/* 10 ms of QEMU's 100 MHz HPET (10 ns) at 2.6 GHz */
	{ 26000000, 1000000, 10000000, 2600000 },
	/* 143181 ticks of a 14.318 MHz HPET (69841279 fs, as on many PCs) */
	{ 30000000, 143181, 69841279, 3000016 },
	/* 35795 PM timer ticks (9.99999 ms) */
	{ 19999940, 35795, PMTMR_FS, 2000019 },
	/* 11931 PIT ticks (9.99931 ms) at 100 MHz (Bochs) */
	{ 999932, 11931, PIT_FS, 100000 },
	/* a 1 ns period at the spec's fastest rate */
	{ 1000000, 1000000, 1000000, 1000000 },
	/* the slowest period the spec allows (100 ns) */
	{ 300000000, 1000000, 100000000, 3000000 },
	/* nothing counted, or no interval: 0, never a division by 0 */
	{ 0, 1000, 10000000, 0 },
	{ 1000, 0, 10000000, 0 },
	{ 1000, 1000, 0, 0 },
	/* an interval under 1 ns cannot be computed */
	{ 1000, 1, 999999, 0 },
	/* ticks * period past 64 bits (hours): refused, not wrapped */
	{ 1000, 1ull << 40, 1ull << 30, 0 },
	/* cycles * 10^6 past 64 bits: refused */
	{ 1ull << 45, 1000000, 10000000, 0 },
};

static void test_khz(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(khz_cases) / sizeof(khz_cases[0]); i++) {
		const struct khz_case *c = &khz_cases[i];
		u64 got = time_khz(c->cycles, c->ticks, c->period_fs);

		u64 slack = c->khz / 100000;

		if (got + slack < c->khz || got > c->khz + slack)
			fail_msg("case %zu: %llu cycles, %llu ticks of %llu fs: "
				 "%llu kHz, want %llu", i,
				 (unsigned long long)c->cycles,
				 (unsigned long long)c->ticks,
				 (unsigned long long)c->period_fs,
				 (unsigned long long)got,
				 (unsigned long long)c->khz);
	}
}

static void test_periods(void **state)
{
	(void)state;
	assert_int_equal(PMTMR_FS, 279365115ull); /* 10^15 / 3579545, rounded */
	assert_int_equal(PIT_FS, 838095110ull);   /* 10^15 / 1193182 */
	assert_false(time_hpet_period_ok(0));
	assert_true(time_hpet_period_ok(1));
	assert_true(time_hpet_period_ok(10000000));  /* QEMU: 10 ns */
	assert_true(time_hpet_period_ok(69841279));  /* 14.31818 MHz */
	assert_true(time_hpet_period_ok(100000000)); /* the limit */
	assert_false(time_hpet_period_ok(100000001));
	assert_false(time_hpet_period_ok(0xffffffffu)); /* nothing there */
}

static void test_wrap(void **state)
{
	(void)state;
	/* 32-bit HPET counter or 32-bit PM timer across its wrap */
	assert_int_equal(time_ticks(0xfffffff0u, 0x10, 0xffffffffu), 0x20);
	assert_int_equal(time_ticks(5, 5, 0xffffffffu), 0);
	assert_int_equal(time_ticks(0, 0xffffffffu, 0xffffffffu), 0xffffffffu);
	/* 24-bit PM timer */
	assert_int_equal(time_ticks(0xfffff0, 0x000010, 0xffffff), 0x20);
	/* upper bits a 24-bit timer leaves undefined do not count */
	assert_int_equal(time_ticks(0xab000010, 0xcd000020, 0xffffff), 0x10);
	/* 64-bit counter, no wrap in practice, plain difference */
	assert_int_equal(time_ticks(1ull << 40, (1ull << 40) + 7, ~0ull), 7);
	assert_int_equal(time_ticks(~0ull - 1, 3, ~0ull), 5);
}

static void test_cpuid_leaves(void **state)
{
	(void)state;
	/* 0x15: crystal 24 MHz (ECX), ratio 250/2 -> 3 GHz */
	assert_int_equal(time_cpuid15_khz(2, 250, 24000000), 3000000);
	/* 25 MHz crystal, 88/1 -> 2.2 GHz */
	assert_int_equal(time_cpuid15_khz(1, 88, 25000000), 2200000);
	/* any zero field: not given */
	assert_int_equal(time_cpuid15_khz(0, 250, 24000000), 0);
	assert_int_equal(time_cpuid15_khz(2, 0, 24000000), 0);
	assert_int_equal(time_cpuid15_khz(2, 250, 0), 0);
	/* 0x16: EAX[15:0] MHz; the upper half is reserved */
	assert_int_equal(time_cpuid16_khz(3500), 3500000);
	assert_int_equal(time_cpuid16_khz(0xabcd0000u | 2100), 2100000);
	assert_int_equal(time_cpuid16_khz(0), 0);
}

struct pick_case {
	u64 measured, khz15, khz16;
	enum tsc_exact want;
};

static const struct pick_case pick_cases[] = {
	/* neither leaf: the measurement */
	{ 2596113, 0, 0, TSC_EXACT_NONE },
	/* 0x15 within 1% wins over 0x16 */
	{ 2995000, 3000000, 3000000, TSC_EXACT_CPUID15 },
	/* 0x15 off, 0x16 within 1% */
	{ 2995000, 2400000, 3000000, TSC_EXACT_CPUID16 },
	/* 0x15 absent, 0x16 close */
	{ 2095000, 0, 2100000, TSC_EXACT_CPUID16 },
	/* Bochs: both claim 3.5 GHz for a 100 MHz TSC */
	{ 99998, 3500000, 3500000, TSC_EXACT_NONE },
	/* exactly 1% apart is not within 1% */
	{ 1000000, 1010000, 0, TSC_EXACT_NONE },
	{ 1000000, 990000, 0, TSC_EXACT_NONE },
	{ 1000000, 1009999, 0, TSC_EXACT_CPUID15 },
	{ 1000000, 990001, 0, TSC_EXACT_CPUID15 },
	/* nothing measured: nothing agrees */
	{ 0, 3000000, 3000000, TSC_EXACT_NONE },
};

static void test_pick(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pick_cases) / sizeof(pick_cases[0]);
	     i++) {
		const struct pick_case *c = &pick_cases[i];

		if (time_pick_exact(c->measured, c->khz15, c->khz16) != c->want)
			fail_msg("case %zu: measured %llu, 0x15 %llu, 0x16 %llu",
				 i, (unsigned long long)c->measured,
				 (unsigned long long)c->khz15,
				 (unsigned long long)c->khz16);
	}
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(time_parse_ref("pmtimer"), TSC_REF_PMTIMER);
	assert_int_equal(time_parse_ref("hpet"), TSC_REF_HPET);
	assert_int_equal(time_parse_ref("pit"), TSC_REF_PIT);
	assert_int_equal(time_parse_ref(""), -HV_EINVAL);
	assert_int_equal(time_parse_ref("HPET"), -HV_EINVAL);
	assert_int_equal(time_parse_ref("hpet2"), -HV_EINVAL);
	assert_int_equal(time_parse_ref("pi"), -HV_EINVAL);
	assert_int_equal(time_parse_ref("tsc"), -HV_EINVAL);
	for (int r = 0; r < TSC_NR_REFS; r++)
		assert_int_equal(time_parse_ref(time_ref_option(r)), r);
	assert_string_equal(time_ref_name(TSC_REF_HPET), "HPET");
	assert_string_equal(time_ref_name(TSC_NR_REFS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_khz),
		cmocka_unit_test(test_periods),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_cpuid_leaves),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
