/*
 * Time from the TSC. Its frequency is measured against the ACPI PM timer
 * (3.579545 MHz) when the FADT names one, else against PIT channel 2. CPUID
 * 0x15 is used only where it agrees with the measurement: emulators have
 * been seen to report values the TSC does not follow (PLATFORM.md).
 */
#define pr_fmt(fmt) "time: " fmt

#include <lamina/kernel.h>
#include <lamina/printk.h>
#include <lamina/x86.h>

#define PMTMR_HZ 3579545ull
#define PIT_HZ 1193182ull
#define CALIBRATE_MS 10
#define CPUID_AGREE_PERMILLE 10 /* within 1% */
/* Give up on a timer that does not move within this many TSC cycles. */
#define CALIBRATE_MAX_CYCLES (20ull * 1000 * 1000 * 1000)

extern u64 boot_tsc; /* boot/entry.asm */
u64 tsc_khz;
static const char *tsc_source = "none";

static u64 pmtmr_read(u32 mask)
{
	return inl(acpi.pm_tmr_port) & mask;
}

static u64 calibrate_pmtmr(void)
{
	u32 mask = acpi.pm_tmr_32bit ? 0xffffffffu : 0xffffffu;
	u64 want = PMTMR_HZ * CALIBRATE_MS / 1000, ticks = 0;
	u64 last = pmtmr_read(mask), t0 = rdtsc(), t1 = t0;

	while (ticks < want) {
		u64 now = pmtmr_read(mask);

		ticks += (now - last) & mask;
		last = now;
		t1 = rdtsc();
		if (t1 - t0 > CALIBRATE_MAX_CYCLES)
			return 0;
	}
	return (t1 - t0) * PMTMR_HZ / ticks / 1000;
}

/* PIT channel 2 in mode 0 counts down once; port 0x61 bit 5 shows OUT2. */
static u64 calibrate_pit(void)
{
	u64 count = PIT_HZ * CALIBRATE_MS / 1000, t0, t1;
	u8 ctl = inb(0x61);

	outb(0x61, (ctl & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                 /* channel 2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	t0 = t1 = rdtsc();
	while (!(inb(0x61) & 0x20)) {
		t1 = rdtsc();
		if (t1 - t0 > CALIBRATE_MAX_CYCLES)
			return 0;
	}
	outb(0x61, ctl);
	return (t1 - t0) / CALIBRATE_MS;
}

/* CPUID 0x15: TSC = crystal * numerator / denominator. 0 if not given. */
static u64 cpuid_tsc_khz(void)
{
	struct cpuid_regs r;

	if (cpuid(0, 0).eax < 0x15)
		return 0;
	r = cpuid(0x15, 0);
	if (!r.eax || !r.ebx || !r.ecx)
		return 0;
	return (u64)r.ecx * r.ebx / r.eax / 1000;
}

void time_init(void)
{
	u64 measured = 0, exact;

	if (acpi.pm_tmr_port) {
		measured = calibrate_pmtmr();
		tsc_source = "ACPI PM timer";
	}
	if (!measured) {
		measured = calibrate_pit();
		tsc_source = "PIT";
	}
	if (!measured) {
		measured = 1000000; /* keep going with a labelled guess */
		tsc_source = "guess (no timer answered)";
		pr_err("no PM timer or PIT answered: assuming a 1 GHz TSC\n");
	}
	exact = cpuid_tsc_khz();
	tsc_khz = measured;
	if (exact && (exact > measured ? exact - measured : measured - exact) <
			     measured * CPUID_AGREE_PERMILLE / 1000) {
		tsc_khz = exact;
		tsc_source = "CPUID 0x15";
	}
	pr_info("TSC %llu.%03llu MHz (%s%s)\n",
		(unsigned long long)(tsc_khz / 1000),
		(unsigned long long)(tsc_khz % 1000), tsc_source,
		exact && tsc_khz != exact ? "; CPUID 0x15 disagreed" : "");
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
