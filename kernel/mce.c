/*
 * Machine checks and NMIs Lamina did not send (include/lamina/mce.h). A
 * #MC is read out bank by bank, logged, and either survived (the banks and
 * MCG_STATUS.MCIP cleared, the count kept) or turned into a panic that
 * names every bank. An NMI is a kick when one was posted to this CPU;
 * otherwise port 0x61 may name the board's reason. The decisions are in
 * mce_decode.c; this file reads and writes the hardware.
 *
 * Printing from #MC and NMI context goes through printk: should one land
 * while its own CPU holds the log's lock, that CPU waits for itself. A fatal
 * #MC takes the console over first (printk_force_unlock), so the report
 * of what kills the machine always comes out.
 */
#define pr_fmt(fmt) "mce: " fmt

#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/lib.h>
#include <lamina/mce.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/regs.h>
#include <lamina/vcpu.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define CPUID_1_EDX_MCE (1u << 7)
#define CPUID_1_EDX_MCA (1u << 14)
#define CPUID_0_EBX_INTEL 0x756e6547u /* "Genu" */
#define PORT_NMI_REASON 0x61

/* A kick posted this long before an NMI that found no new kick is still
 * taken for its NMI: an earlier NMI had already seen it posted. */
#define KICK_LATE_MS 10
/* Unexpected NMIs: this many reported per second, the rest counted. */
#define NMI_LOG_BURST 5
#define NMI_LOG_PERIOD_US 1000000

static unsigned int nr_banks[MAX_CPUS];
static struct mce_counts counts;
static u64 kicks_posted[MAX_CPUS], kicks_seen[MAX_CPUS], kick_tsc[MAX_CPUS];
static u64 nmi_log_period, nmi_log_count, nmi_log_dropped;

static void count(u64 *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/*
 * SDM vol. 3B, 16.3.2.1: on P6-family CPUs and Core-microarchitecture
 * ones before DisplayFamily_DisplayModel 06_1AH, IA32_MC0_CTL belongs to
 * the firmware (it aliases EBL_CR_POWERON) and software must not write it.
 * Every other CPU gets all banks enabled, bank 0 included.
 */
static bool mc0_ctl_belongs_to_firmware(void)
{
	u32 sig = cpuid(1, 0).eax;
	u32 family = (sig >> 8) & 0xf;
	u32 model = ((sig >> 4) & 0xf) | (((sig >> 16) & 0xf) << 4);

	return cpuid(0, 0).ebx == CPUID_0_EBX_INTEL && family == 6 &&
	       model < 0x1a;
}

static void log_bank(enum log_level level, unsigned int cpu, unsigned int bank,
		     u64 status, const char *what)
{
	char words[64];
	u64 addr = 0, misc = 0;

	/* MCi_ADDR and MCi_MISC may not exist when their valid bit is clear
	 * (reading them can fault). */
	if (status & MCI_STATUS_ADDRV)
		addr = rdmsr(MSR_MC_ADDR(bank));
	if (status & MCI_STATUS_MISCV)
		misc = rdmsr(MSR_MC_MISC(bank));
	printk(level, pr_fmt("cpu %u bank %u: status 0x%016llx (%s), error code 0x%04llx, address %s0x%llx, misc %s0x%llx%s\n"),
	       cpu, bank, (unsigned long long)status,
	       mce_status_words(status, words, sizeof(words)),
	       (unsigned long long)(status & 0xffff),
	       status & MCI_STATUS_ADDRV ? "" : "(not valid) ",
	       (unsigned long long)addr,
	       status & MCI_STATUS_MISCV ? "" : "(not valid) ",
	       (unsigned long long)misc, what);
}

void mce_cpu_init(void)
{
	struct cpuid_regs id = cpuid(1, 0);
	unsigned int cpu = this_cpu()->index, n = 0;
	bool skip_mc0;
	u64 cap = 0;

	if (!(id.edx & CPUID_1_EDX_MCE)) {
		pr_warn("cpu %u: no machine-check exception (CPUID MCE clear): errors go unreported\n",
			cpu);
		return;
	}
	if (id.edx & CPUID_1_EDX_MCA) {
		cap = rdmsr(MSR_MCG_CAP);
		n = (unsigned int)MIN(cap & MCG_CAP_COUNT, (u64)MCE_MAX_BANKS);
	}
	if (cap & MCG_CAP_CTL_P)
		wrmsr(MSR_MCG_CTL, ~0ull);
	skip_mc0 = mc0_ctl_belongs_to_firmware();
	for (unsigned int i = 0; i < n; i++) {
		u64 st = rdmsr(MSR_MC_STATUS(i));

		/* A warm reset keeps the banks: what was there may have been
		 * the reason for the reset. Log it, then start clean. */
		if (st & MCI_STATUS_VAL)
			log_bank(LOG_WARN, cpu, i, st, ", left from before the reset");
		if (i || !skip_mc0)
			wrmsr(MSR_MC_CTL(i), ~0ull);
		wrmsr(MSR_MC_STATUS(i), 0);
	}
	nr_banks[cpu] = n;
	write_cr4(read_cr4() | CR4_MCE);
	if (cpu == 0)
		pr_info("machine checks on: %u banks (MCG_CAP 0x%llx)%s\n", n,
			(unsigned long long)cap,
			id.edx & CPUID_1_EDX_MCA ? "" : ", no MCA: no bank to read");
}

/* Read the banks and MCG_STATUS, decide, log every valid bank. */
static struct mce_decision mce_report(bool in_guest, u64 rip, u64 *st)
{
	unsigned int cpu = this_cpu()->index, n = nr_banks[cpu];
	u64 mcg = rdmsr(MSR_MCG_STATUS);
	struct mce_decision d;
	enum log_level level;

	for (unsigned int i = 0; i < n; i++)
		st[i] = rdmsr(MSR_MC_STATUS(i));
	d = mce_decide(mcg, st, n, in_guest);
	level = d.verdict == MCE_CORRECTED || d.verdict == MCE_SPURIOUS ?
		LOG_WARN : LOG_ERR;
	if (d.verdict == MCE_FATAL)
		printk_force_unlock();
	printk(level, pr_fmt("cpu %u: machine check %s at rip 0x%llx, MCG_STATUS 0x%llx (%s%s%s): %s, %s\n"),
	       cpu, in_guest ? "in a guest" : "in Lamina",
	       (unsigned long long)rip, (unsigned long long)mcg,
	       mcg & MCG_STATUS_RIPV ? "RIPV " : "",
	       mcg & MCG_STATUS_EIPV ? "EIPV " : "",
	       mcg & MCG_STATUS_MCIP ? "MCIP" : "",
	       mce_verdict_name(d.verdict), d.why);
	for (unsigned int i = 0; i < n; i++)
		if (st[i] & MCI_STATUS_VAL)
			log_bank(level, cpu, i, st[i], "");
	return d;
}

/* Survived: clear what was logged, then MCIP (another #MC while it is
 * set shuts the CPU down). */
static void mce_clear(const u64 *st, const struct mce_decision *d)
{
	unsigned int n = nr_banks[this_cpu()->index];

	for (unsigned int i = 0; i < n; i++)
		if (st[i] & MCI_STATUS_VAL)
			wrmsr(MSR_MC_STATUS(i), 0);
	wrmsr(MSR_MCG_STATUS, 0);
	count(d->verdict == MCE_CORRECTED ? &counts.mce_corrected :
	      d->verdict == MCE_RECOVERED ? &counts.mce_recovered :
	      d->verdict == MCE_STOP_VM ? &counts.mce_vm_stops :
	      &counts.mce_spurious);
}

static const char *fatal_bank_words(const struct mce_decision *d, const u64 *st,
				    char *buf, size_t size)
{
	return d->bank >= 0 ? mce_status_words(st[d->bank], buf, size) :
			      "no bank";
}

void mce_handle_host(const struct regs *r)
{
	u64 st[MCE_MAX_BANKS];
	struct mce_decision d;
	char words[64];

	if (!nr_banks[this_cpu()->index]) {
		printk_force_unlock();
		panic_regs(r, "machine check on cpu %u, which has no banks to read",
			   this_cpu()->index);
	}
	d = mce_report(false, r->rip, st);
	if (d.verdict == MCE_FATAL)
		panic_regs(r, "fatal machine check on cpu %u: %s; bank %d (%s)",
			   this_cpu()->index, d.why, d.bank,
			   fatal_bank_words(&d, st, words, sizeof(words)));
	/* Lamina's own context cannot be handed to a VM to stop. */
	BUG_ON(d.verdict == MCE_STOP_VM);
	mce_clear(st, &d);
}

int mce_handle_guest(struct vcpu *v, u64 guest_rip)
{
	u64 st[MCE_MAX_BANKS];
	struct mce_decision d;
	char words[64];

	if (!nr_banks[this_cpu()->index]) {
		printk_force_unlock();
		panic("machine check in a guest on cpu %u, which has no banks to read",
		      this_cpu()->index);
	}
	d = mce_report(true, guest_rip, st);
	if (d.verdict == MCE_FATAL)
		panic("fatal machine check on cpu %u in vm '%s': %s; bank %d (%s)",
		      this_cpu()->index, v->vm->name, d.why, d.bank,
		      fatal_bank_words(&d, st, words, sizeof(words)));
	mce_clear(st, &d);
	if (d.verdict == MCE_STOP_VM)
		return vcpu_stop(v, true, "machine check: %s, bank %d (%s)", d.why,
				 d.bank, mce_status_words(st[d.bank], words,
							  sizeof(words)));
	return EXIT_RESUME;
}

/* ---------------------------------------------------------------- NMIs */

void nmi_kick_send(unsigned int cpu)
{
	__atomic_store_n(&kick_tsc[cpu], rdtsc(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&kicks_posted[cpu], 1, __ATOMIC_RELEASE);
	lapic_send_ipi(percpu[cpu].apic_id, ICR_NMI);
}

/*
 * Was a kick posted here since this CPU's last NMI? Kicks sent while an
 * NMI is pending collapse into one NMI, so the count only says "some". A
 * kick counted by an earlier NMI whose own NMI comes after it finds
 * nothing new: the time of the last post covers it.
 */
static bool kick_posted(unsigned int cpu)
{
	u64 posted = __atomic_load_n(&kicks_posted[cpu], __ATOMIC_ACQUIRE);
	u64 since = rdtsc() - __atomic_load_n(&kick_tsc[cpu], __ATOMIC_RELAXED);

	if (posted != kicks_seen[cpu]) {
		kicks_seen[cpu] = posted;
		return true;
	}
	return posted && since < tsc_khz * KICK_LATE_MS;
}

/*
 * The board's NMI reasons are in port 0x61, and the board sends its NMIs
 * (LINT1) to the boot CPU: only CPU 0 reads it. A set reason stays set
 * until cleared (toggle its clear bit), and would name every later NMI.
 */
static u8 nmi_reason(unsigned int cpu)
{
	return cpu == 0 ? inb(PORT_NMI_REASON) : 0xff;
}

static void nmi_reason_clear(u8 port61, u8 clear_bit)
{
	u8 ctl = (port61 & 0x0f) | clear_bit;

	outb(PORT_NMI_REASON, ctl);
	outb(PORT_NMI_REASON, ctl & (u8)~clear_bit);
}

static const char *port61_words(unsigned int cpu, u8 port61, char *buf,
				size_t size)
{
	if (cpu)
		return "not read: the board's NMIs go to cpu 0";
	if (port61 == 0xff)
		return "reads 0xff: this board has none";
	snprintf(buf, size, "0x%02x", port61);
	return buf;
}

static bool nmi_log_allowed(u64 *dropped)
{
	u64 period = uptime_us() / NMI_LOG_PERIOD_US;

	if (__atomic_exchange_n(&nmi_log_period, period, __ATOMIC_RELAXED) != period)
		__atomic_store_n(&nmi_log_count, 0, __ATOMIC_RELAXED);
	if (__atomic_fetch_add(&nmi_log_count, 1, __ATOMIC_RELAXED) < NMI_LOG_BURST) {
		*dropped = __atomic_exchange_n(&nmi_log_dropped, 0, __ATOMIC_RELAXED);
		return true;
	}
	count(&nmi_log_dropped);
	return false;
}

enum nmi_kind nmi_handle(bool in_guest)
{
	unsigned int cpu = this_cpu()->index;
	u8 port61 = nmi_reason(cpu);
	enum nmi_kind k = nmi_classify(kick_posted(cpu), port61);
	u64 dropped;
	char buf[16];

	switch (k) {
	case NMI_KICK:
		count(&counts.nmi_kicks);
		return k;
	case NMI_SERR:
		count(&counts.nmi_serr);
		nmi_reason_clear(port61, PORT61_CLEAR_SERR);
		break;
	case NMI_IOCHK:
		count(&counts.nmi_iochk);
		nmi_reason_clear(port61, PORT61_CLEAR_IOCHK);
		break;
	case NMI_UNKNOWN:
		count(&counts.nmi_unknown);
		break;
	}
	if (nmi_log_allowed(&dropped)) {
		if (dropped)
			pr_warn("%llu unexpected NMIs were not reported (at most %u a second are)\n",
				(unsigned long long)dropped, NMI_LOG_BURST);
		pr_warn("cpu %u: unexpected NMI%s: %s (port 0x61 %s); going on\n",
			cpu, in_guest ? " while a guest ran" : "", nmi_kind_name(k),
			port61_words(cpu, port61, buf, sizeof(buf)));
	}
	return k;
}

void mce_counts(struct mce_counts *c)
{
	*c = counts;
}

int mce_stats_line(char *buf, size_t size)
{
	struct mce_counts c;

	mce_counts(&c);
	return snprintf(buf, size,
			"machine checks: %llu corrected, %llu recovered, %llu stopped a VM, %llu spurious; NMIs: %llu kicks, %llu unexpected (%llu SERR, %llu IOCHK, %llu unknown)",
			(unsigned long long)c.mce_corrected,
			(unsigned long long)c.mce_recovered,
			(unsigned long long)c.mce_vm_stops,
			(unsigned long long)c.mce_spurious,
			(unsigned long long)c.nmi_kicks,
			(unsigned long long)(c.nmi_serr + c.nmi_iochk + c.nmi_unknown),
			(unsigned long long)c.nmi_serr,
			(unsigned long long)c.nmi_iochk,
			(unsigned long long)c.nmi_unknown);
}
