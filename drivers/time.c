/*
 * Time from the TSC. Its frequency is measured against the ACPI PM timer
 * (3.579545 MHz) when the FADT names one, else the HPET's main counter
 * when ACPI describes one, else PIT channel 2; tsc.source= puts one of
 * them first. CPUID 0x15, then 0x16, is used only where it agrees with the
 * measurement: emulators have been seen to report values the TSC does not
 * follow (PLATFORM.md).
 */
#define pr_fmt(fmt) "time: " fmt

#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/time.h>
#include <lamina/x86.h>

#define PMTMR_HZ 3579545ull
#define PIT_HZ 1193182ull
#define CALIBRATE_MS 10
#define CPUID_AGREE_PERMILLE 10 /* within 1% */
/* Give up on a timer that does not move within this many TSC cycles. */
#define CALIBRATE_MAX_CYCLES (20ull * 1000 * 1000 * 1000)

/* HPET registers (HPET spec 1.0a, 2.3), offsets into its 1 KiB block. */
#define HPET_GCAP_ID 0x000
#define HPET_GEN_CONF 0x010
#define HPET_MAIN_COUNTER 0x0f0
#define HPET_REGS_LEN 0x400
#define HPET_GCAP_64BIT (1ull << 13) /* COUNT_SIZE_CAP */
#define HPET_CONF_ENABLE (1ull << 0) /* ENABLE_CNF */

extern u64 boot_tsc; /* boot/entry.asm */
u64 tsc_khz;
static const char *tsc_source = "none";

/* ------------------------------------------------------------ pure parts */

static const struct {
	const char *option, *name;
} refs[TSC_NR_REFS] = {
	[TSC_REF_PMTIMER] = { "pmtimer", "ACPI PM timer" },
	[TSC_REF_HPET] = { "hpet", "HPET" },
	[TSC_REF_PIT] = { "pit", "PIT" },
};

int time_parse_ref(const char *v)
{
	for (int r = 0; r < TSC_NR_REFS; r++)
		if (!strcmp(v, refs[r].option))
			return r;
	return -HV_EINVAL;
}

const char *time_ref_option(enum tsc_ref r)
{
	return r < TSC_NR_REFS ? refs[r].option : "?";
}

const char *time_ref_name(enum tsc_ref r)
{
	return r < TSC_NR_REFS ? refs[r].name : "?";
}

/* cycles / (ticks * period) in kHz, through nanoseconds to stay in 64 bits. */
u64 time_khz(u64 cycles, u64 ticks, u64 period_fs)
{
	u64 fs, ns, scaled;

	if (!cycles || __builtin_mul_overflow(ticks, period_fs, &fs))
		return 0;
	ns = fs / 1000000;
	if (!ns || __builtin_mul_overflow(cycles, 1000000ull, &scaled))
		return 0;
	return scaled / ns;
}

bool time_hpet_period_ok(u32 period_fs)
{
	return period_fs && period_fs <= HPET_MAX_PERIOD_FS;
}

u64 time_cpuid15_khz(u32 eax, u32 ebx, u32 ecx)
{
	if (!eax || !ebx || !ecx)
		return 0;
	return (u64)ecx * ebx / eax / 1000;
}

u64 time_cpuid16_khz(u32 eax)
{
	return (u64)(eax & 0xffff) * 1000;
}

bool time_agrees(u64 exact, u64 measured)
{
	u64 diff = exact > measured ? exact - measured : measured - exact;

	return exact && measured &&
	       diff < measured * CPUID_AGREE_PERMILLE / 1000;
}

enum tsc_exact time_pick_exact(u64 measured, u64 khz15, u64 khz16)
{
	if (time_agrees(khz15, measured))
		return TSC_EXACT_CPUID15;
	if (time_agrees(khz16, measured))
		return TSC_EXACT_CPUID16;
	return TSC_EXACT_NONE;
}

/* ------------------------------------------------------------ timers */

/*
 * Count TSC cycles over CALIBRATE_MS of a free-running counter @mask wide
 * with period @period_fs: the rate in kHz, or 0 when it did not move.
 */
static u64 count_against(u64 (*read)(void), u64 mask, u64 period_fs)
{
	u64 want = CALIBRATE_MS * 1000000000000ull / period_fs, ticks = 0;
	u64 last = read(), t0 = rdtsc(), t1 = t0;

	while (ticks < want) {
		u64 now = read();

		ticks += time_ticks(last, now, mask);
		last = now;
		t1 = rdtsc();
		if (t1 - t0 > CALIBRATE_MAX_CYCLES)
			return 0;
	}
	return time_khz(t1 - t0, ticks, period_fs);
}

static u64 pmtmr_read(void)
{
	return inl(acpi.pm_tmr_port) & (acpi.pm_tmr_32bit ? 0xffffffffu : 0xffffffu);
}

static u64 calibrate_pmtmr(const char **why)
{
	if (!acpi_usable || !acpi.pm_tmr_port) {
		*why = "the FADT names no PM timer";
		return 0;
	}
	*why = "it did not count";
	return count_against(pmtmr_read,
			     acpi.pm_tmr_32bit ? 0xffffffffu : 0xffffffu,
			     HZ_TO_FS(PMTMR_HZ));
}

static volatile u64 *hpet_regs;

static u64 hpet_read64(unsigned int reg)
{
	return hpet_regs[reg / 8];
}

static u64 hpet_read_counter(void)
{
	return hpet_read64(HPET_MAIN_COUNTER);
}

static u64 hpet_read_counter32(void)
{
	return ((volatile u32 *)hpet_regs)[HPET_MAIN_COUNTER / 4];
}

/*
 * The HPET's main counter. One that firmware left stopped is started for
 * the count and stopped again: Lamina reads it only here, and leaving the
 * block as it was found keeps a later owner (a guest given the device, the
 * next kernel after a reboot) from inheriting a change it did not make.
 * A 32-bit counter (COUNT_SIZE_CAP clear) wraps every 2^32 ticks, about
 * 43 s at QEMU's 100 MHz: the masked difference covers one wrap.
 */
static u64 calibrate_hpet(const char **why)
{
	u64 gcap, conf, khz;
	u32 period;

	if (!acpi_usable || !acpi.hpet_phys) {
		*why = "no ACPI HPET table";
		return 0;
	}
	if (!acpi.hpet_ok) {
		*why = acpi.hpet_error[0] ? acpi.hpet_error : "HPET table invalid";
		return 0;
	}
	if (!phys_mapped(acpi.hpet_base, HPET_REGS_LEN)) {
		*why = "its registers are not mapped";
		return 0;
	}
	hpet_regs = (volatile u64 *)(uintptr_t)acpi.hpet_base;
	gcap = hpet_read64(HPET_GCAP_ID);
	period = (u32)(gcap >> 32);
	if (gcap == ~0ull || !time_hpet_period_ok(period)) {
		*why = "GCAP_ID period out of range (0 or over 100 ns)";
		return 0;
	}
	conf = hpet_read64(HPET_GEN_CONF);
	if (!(conf & HPET_CONF_ENABLE))
		hpet_regs[HPET_GEN_CONF / 8] = conf | HPET_CONF_ENABLE;
	*why = "its main counter did not count";
	if (gcap & HPET_GCAP_64BIT)
		khz = count_against(hpet_read_counter, ~0ull, period);
	else
		khz = count_against(hpet_read_counter32, 0xffffffffu, period);
	if (!(conf & HPET_CONF_ENABLE))
		hpet_regs[HPET_GEN_CONF / 8] = conf;
	return khz;
}

/* PIT channel 2 in mode 0 counts down once; port 0x61 bit 5 shows OUT2. */
static u64 calibrate_pit(const char **why)
{
	u64 count = PIT_HZ * CALIBRATE_MS / 1000, t0, t1;
	u8 ctl = inb(0x61);

	*why = "channel 2 never reached 0 (no PIT?)";
	outb(0x61, (ctl & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                 /* channel 2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	t0 = t1 = rdtsc();
	while (!(inb(0x61) & 0x20)) {
		t1 = rdtsc();
		if (t1 - t0 > CALIBRATE_MAX_CYCLES) {
			outb(0x61, ctl);
			return 0;
		}
	}
	outb(0x61, ctl);
	return time_khz(t1 - t0, count, HZ_TO_FS(PIT_HZ));
}

static u64 (*const calibrate[TSC_NR_REFS])(const char **why) = {
	[TSC_REF_PMTIMER] = calibrate_pmtmr,
	[TSC_REF_HPET] = calibrate_hpet,
	[TSC_REF_PIT] = calibrate_pit,
};

/* The source tsc.source= asks for, or -1 (none, or a value not known). */
static int wanted_ref(void)
{
	const char *v = cmdline_get("tsc.source");
	int r;

	if (!v)
		return -1;
	r = time_parse_ref(v);
	if (r < 0)
		pr_err("tsc.source=%s: unknown (pmtimer, hpet or pit); using the default order\n",
		       v);
	return r;
}

/* The asked-for timer first, then the default order: the first to answer. */
static u64 measure(void)
{
	int want = wanted_ref();
	const char *why;
	u64 khz;

	if (want >= 0) {
		khz = calibrate[want](&why);
		if (khz) {
			tsc_source = time_ref_name(want);
			return khz;
		}
		pr_err("tsc.source=%s: %s: %s; falling back to the default order\n",
		       time_ref_option(want), time_ref_name(want), why);
	}
	for (int r = 0; r < TSC_NR_REFS; r++) {
		if (r == want)
			continue;
		khz = calibrate[r](&why);
		if (khz) {
			tsc_source = time_ref_name(r);
			return khz;
		}
		pr_debug("%s: %s\n", time_ref_name(r), why);
	}
	return 0;
}

void time_init(void)
{
	u64 measured = measure(), khz15 = 0, khz16 = 0;
	u32 max_leaf = cpuid(0, 0).eax;
	enum tsc_exact pick;
	struct cpuid_regs r;

	if (!measured) {
		measured = 1000000; /* keep going with a labelled guess */
		tsc_source = "guess (no timer answered)";
		pr_err("no PM timer, HPET or PIT answered: assuming a 1 GHz TSC\n");
	}
	if (max_leaf >= 0x15) {
		r = cpuid(0x15, 0);
		khz15 = time_cpuid15_khz(r.eax, r.ebx, r.ecx);
	}
	if (max_leaf >= 0x16)
		khz16 = time_cpuid16_khz(cpuid(0x16, 0).eax);
	pick = time_pick_exact(measured, khz15, khz16);
	tsc_khz = pick == TSC_EXACT_CPUID15 ? khz15 :
		  pick == TSC_EXACT_CPUID16 ? khz16 : measured;
	pr_info("TSC %llu.%03llu MHz (%s%s%s%s)\n",
		(unsigned long long)(tsc_khz / 1000),
		(unsigned long long)(tsc_khz % 1000),
		pick == TSC_EXACT_CPUID15 ? "CPUID 0x15, agrees with " :
		pick == TSC_EXACT_CPUID16 ? "CPUID 0x16, agrees with " : "",
		tsc_source,
		khz15 && pick != TSC_EXACT_CPUID15 ? "; CPUID 0x15 disagreed" : "",
		khz16 && pick == TSC_EXACT_NONE ? "; CPUID 0x16 disagreed" : "");
	if (pick != TSC_EXACT_NONE)
		pr_info("measured %llu.%03llu MHz against the %s\n",
			(unsigned long long)(measured / 1000),
			(unsigned long long)(measured % 1000), tsc_source);
	if (pick == TSC_EXACT_CPUID15)
		tsc_source = "CPUID 0x15";
	else if (pick == TSC_EXACT_CPUID16)
		tsc_source = "CPUID 0x16";
}

const char *time_source(void)
{
	return tsc_source;
}

u64 uptime_us(void)
{
	u64 c = rdtsc() - boot_tsc;

	if (!tsc_khz)
		return 0;
	return c / tsc_khz * 1000 + (c % tsc_khz) * 1000 / tsc_khz;
}

void udelay(u64 us)
{
	u64 start = rdtsc(), cycles = us * (tsc_khz ? tsc_khz : 1000000) / 1000;

	while (rdtsc() - start < cycles)
		cpu_relax();
}
