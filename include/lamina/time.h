/*
 * TSC calibration (drivers/time.c): the pure arithmetic and policy, which
 * the host unit tests check; time_init() and the clock itself are declared
 * in <lamina/kernel.h>.
 */
#ifndef LAMINA_TIME_H
#define LAMINA_TIME_H

#include <lamina/types.h>

/* The timers the TSC can be measured against, in the default order. */
enum tsc_ref {
	TSC_REF_PMTIMER, /* ACPI PM timer, 3.579545 MHz */
	TSC_REF_HPET,	 /* HPET main counter, period from GCAP_ID */
	TSC_REF_PIT,	 /* PIT channel 2, 1.193182 MHz */
	TSC_NR_REFS,
};

#define FS_PER_S 1000000000000000ull
/* A timer of @hz, as a period in femtoseconds (rounded). */
#define HZ_TO_FS(hz) ((FS_PER_S + (hz) / 2) / (hz))
/* HPET spec 1.0a, 2.3.4: COUNTER_CLK_PERIOD is at most 100 ns. */
#define HPET_MAX_PERIOD_FS 100000000ull

/* Parse tsc.source= ("pmtimer", "hpet", "pit"): the tsc_ref, or -HV_EINVAL. */
int time_parse_ref(const char *v);
/* Its tsc.source= spelling and its name in the log. */
const char *time_ref_option(enum tsc_ref r);
const char *time_ref_name(enum tsc_ref r);

/*
 * The TSC rate in kHz for @cycles counted over @ticks of a timer whose
 * period is @period_fs femtoseconds; 0 when an input is 0 or the interval
 * is too long to compute without overflow (hours).
 */
u64 time_khz(u64 cycles, u64 ticks, u64 period_fs);

/* Ticks from @last to @now of a counter @mask wide (wraps once at most). */
static inline u64 time_ticks(u64 last, u64 now, u64 mask)
{
	return (now - last) & mask;
}

/* An HPET GCAP_ID period Lamina can count with (HPET spec 2.3.4). */
bool time_hpet_period_ok(u32 period_fs);

/* CPUID 0x15 (crystal * EBX / EAX) in kHz; 0 where a field is 0. */
u64 time_cpuid15_khz(u32 eax, u32 ebx, u32 ecx);
/* CPUID 0x16 EAX[15:0] (base frequency, MHz) in kHz; 0 where not given. */
u64 time_cpuid16_khz(u32 eax);

/* Within 1% of @measured: only then is a CPUID value believed. */
bool time_agrees(u64 exact, u64 measured);

enum tsc_exact { TSC_EXACT_NONE, TSC_EXACT_CPUID15, TSC_EXACT_CPUID16 };
/* Which CPUID value to use instead of @measured: 0x15 first, then 0x16. */
enum tsc_exact time_pick_exact(u64 measured, u64 khz15, u64 khz16);

#endif
