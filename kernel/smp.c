/*
 * Application processor start-up: INIT-SIPI-SIPI to each CPU the MADT lists,
 * one at a time, each with a time limit. A CPU that does not answer is
 * named, parked with INIT and left out; the boot never waits forever.
 */
#define pr_fmt(fmt) "smp: " fmt

#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/lib.h>
#include <lamina/mce.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/x86.h>

#define AP_TIMEOUT_MS 1000
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200
#define LOW_MEMORY_END (1ull << 20)

/* boot/trampoline.asm */
extern const char tramp_start[], tramp_end[], tramp_pm[], tramp_gdt[];
extern char tramp_gdtr[], tramp_pm_ptr[], tramp_lm_ptr[], tramp_cr3[],
	tramp_efer[], tramp_stack[], tramp_cpu[], tramp_alive[];
extern const char ap_entry64[];

static u8 *tramp;
static bool smp_ready;
static bool stop_requested;

/* Where a trampoline symbol lies in the low-memory copy. */
#define TRAMP_FIELD(type, sym) ((type *)(tramp + ((sym) - tramp_start)))

static void tramp_setup(void)
{
	u64 base = (u64)(uintptr_t)tramp;

	memcpy(tramp, tramp_start, (size_t)(tramp_end - tramp_start));
	/* lgdt's base and the far-jump targets are linear addresses. */
	*TRAMP_FIELD(u32, tramp_gdtr + 2) = (u32)(base + (tramp_gdt - tramp_start));
	*TRAMP_FIELD(u32, tramp_pm_ptr) = (u32)(base + (tramp_pm - tramp_start));
	*TRAMP_FIELD(u32, tramp_lm_ptr) = (u32)(uintptr_t)ap_entry64;
	*TRAMP_FIELD(u64, tramp_cr3) = paging_cr3();
	*TRAMP_FIELD(u64, tramp_efer) = EFER_LME | efer_features;
}

/* Stacks for one AP: the main stack and the IST stacks. */
static bool alloc_stacks(struct percpu *pc)
{
	u8 *stack = page_alloc(STACK_SIZE / PAGE_SIZE, PAGE_SIZE, 0,
			       PG_OWNER_PERCPU);
	u8 *ist = page_alloc(3, PAGE_SIZE, 0, PG_OWNER_PERCPU);

	if (!stack || !ist) {
		if (stack)
			page_free(stack, STACK_SIZE / PAGE_SIZE, PG_OWNER_PERCPU);
		if (ist)
			page_free(ist, 3, PG_OWNER_PERCPU);
		return false;
	}
	pc->stack_lo = (u64)(uintptr_t)stack;
	pc->stack_hi = pc->stack_lo + STACK_SIZE;
	for (int i = 0; i < 3; i++)
		pc->tss.ist[i] = (u64)(uintptr_t)ist + (i + 1) * IST_STACK_SIZE;
	return true;
}

static bool wait_online(struct percpu *pc, u64 ms)
{
	u64 start = uptime_us();

	while (uptime_us() - start < ms * 1000) {
		if (READ_ONCE(pc->state) == CPU_ONLINE)
			return true;
		cpu_relax();
	}
	return READ_ONCE(pc->state) == CPU_ONLINE;
}

static void start_ap(struct percpu *pc)
{
	u32 vector = (u32)((u64)(uintptr_t)tramp >> 12);

	*TRAMP_FIELD(u64, tramp_stack) = pc->stack_hi;
	*TRAMP_FIELD(u64, tramp_cpu) = pc->index;
	*TRAMP_FIELD(volatile u64, tramp_alive) = 0;
	pc->state = CPU_STARTING;
	barrier();

	lapic_send_ipi(pc->apic_id, ICR_INIT | ICR_LEVEL_TRIGGER | ICR_LEVEL_ASSERT);
	udelay(INIT_DELAY_US);
	lapic_send_ipi(pc->apic_id, ICR_INIT | ICR_LEVEL_TRIGGER);
	for (int i = 0; i < 2; i++) {
		lapic_send_ipi(pc->apic_id, ICR_STARTUP | vector);
		udelay(SIPI_DELAY_US);
	}
	if (wait_online(pc, AP_TIMEOUT_MS))
		return;
	pc->state = CPU_OFFLINE;
	/* An AP that gave up on its own (ap_main) said why already. */
	if (!READ_ONCE(pc->why))
		pc->why = *TRAMP_FIELD(volatile u64, tramp_alive) ?
			"started but never reached C (timeout 1000 ms)" :
			"no answer to INIT-SIPI-SIPI (timeout 1000 ms)";
	/* Park it: a late start must not run on the next CPU's parameters. */
	lapic_send_ipi(pc->apic_id, ICR_INIT | ICR_LEVEL_TRIGGER | ICR_LEVEL_ASSERT);
	pr_err("cpu %u (APIC %u): %s; left out\n", pc->index, pc->apic_id,
	       pc->why);
}

/* Fill percpu[] from the MADT, the boot CPU first. */
static void enumerate_cpus(void)
{
	u32 bsp = lapic_id();
	unsigned int n = 1;

	percpu[0].apic_id = bsp;
	if (!acpi_usable || !acpi.madt_ok) {
		pr_warn("no valid MADT: running on the boot CPU only\n");
		return;
	}
	for (unsigned int i = 0; i < acpi.nr_cpus && n < MAX_CPUS; i++) {
		if (acpi.cpus[i].apic_id == bsp)
			continue;
		percpu[n].index = n;
		percpu[n].apic_id = acpi.cpus[i].apic_id;
		percpu[n].state = CPU_OFFLINE;
		n++;
	}
	if (n < MAX_CPUS && testhook_ghost_cpu(&percpu[n].apic_id)) {
		pr_warn("adding APIC ID %u, which the MADT does not list\n",
			percpu[n].apic_id);
		percpu[n].index = n;
		percpu[n].state = CPU_OFFLINE;
		n++;
	}
	if (acpi.nr_cpus_dropped || acpi.nr_cpus > MAX_CPUS)
		pr_warn("%u CPUs beyond the limit of %d left out\n",
			acpi.nr_cpus_dropped + (acpi.nr_cpus > MAX_CPUS ?
						acpi.nr_cpus - MAX_CPUS : 0),
			MAX_CPUS);
	nr_cpus_listed = n;
}

void smp_init(void)
{
	pic_disable();
	(void)lapic_init(); /* the mode it chooses is one the boot CPU has */
	smp_ready = true;
	enumerate_cpus();
	if (nr_cpus_listed > 1) {
		tramp = page_alloc(1, PAGE_SIZE, LOW_MEMORY_END, PG_OWNER_TRAMPOLINE);
		if (!tramp)
			pr_err("no free page below 1 MiB for the AP trampoline\n");
	}
	if (tramp) {
		tramp_setup();
		paging_set_exec((u64)(uintptr_t)tramp, true);
		for (unsigned int i = 1; i < nr_cpus_listed; i++) {
			/* lapic_init() said why x2APIC mode is off. */
			if (!lapic_can_address(percpu[i].apic_id))
				percpu[i].why = "APIC ID above 254 needs x2APIC mode";
			if (percpu[i].why) {
				pr_err("cpu %u (APIC %u): %s; left out\n", i,
				       percpu[i].apic_id, percpu[i].why);
				continue;
			}
			if (!alloc_stacks(&percpu[i])) {
				percpu[i].why = "out of memory for its stacks";
				continue;
			}
			start_ap(&percpu[i]);
		}
		paging_set_exec((u64)(uintptr_t)tramp, false);
		page_free(tramp, 1, PG_OWNER_TRAMPOLINE);
		tramp = NULL;
	}
	pr_info("%u of %u CPUs online\n", smp_online_count(), nr_cpus_listed);
}

/*
 * An AP with nothing to run sleeps with interrupts on; the wake-up IPI
 * ends the HLT (STI's one-instruction shadow closes the race between the
 * mailbox check and HLT), and it runs what smp_call_on() left it.
 */
static bool call_transition(struct percpu *pc, int from, int to)
{
	return __atomic_compare_exchange_n(&pc->call_state, &from, to, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void __noreturn ap_idle(struct percpu *pc)
{
	for (;;) {
		if (call_transition(pc, CALL_POSTED, CALL_RUNNING)) {
			pc->call_fn(pc->call_arg);
			__atomic_store_n(&pc->call_state, CALL_IDLE,
					 __ATOMIC_RELEASE);
			continue;
		}
		__asm__ __volatile__("sti; hlt; cli" ::: "memory");
	}
}

/*
 * A call the target never took is withdrawn, so the caller's @arg is never
 * touched after this returns. A call the target took and did not finish
 * means a Lamina function hangs on that CPU: a hypervisor bug.
 */
int smp_post(unsigned int cpu, void (*fn)(void *), void *arg)
{
	struct percpu *pc = &percpu[cpu];

	if (cpu >= nr_cpus_listed || READ_ONCE(pc->state) != CPU_ONLINE ||
	    pc == this_cpu())
		return -HV_ENODEV;
	if (!call_transition(pc, CALL_IDLE, CALL_CLAIMED))
		return -HV_EBUSY;
	pc->call_fn = fn;
	pc->call_arg = arg;
	__atomic_store_n(&pc->call_state, CALL_POSTED, __ATOMIC_RELEASE);
	lapic_send_ipi(pc->apic_id, ICR_FIXED | VEC_WAKE);
	return 0;
}

int smp_call_on(unsigned int cpu, void (*fn)(void *), void *arg, u64 timeout_ms)
{
	struct percpu *pc = &percpu[cpu];
	u64 start;
	int err;

	if (cpu < nr_cpus_listed && pc == this_cpu()) {
		fn(arg);
		return 0;
	}
	err = smp_post(cpu, fn, arg);
	if (err)
		return err;
	start = uptime_us();
	while (__atomic_load_n(&pc->call_state, __ATOMIC_ACQUIRE) != CALL_IDLE) {
		if (uptime_us() - start > timeout_ms * 1000) {
			if (call_transition(pc, CALL_POSTED, CALL_IDLE))
				return -HV_ETIMEDOUT;
			panic("cpu %u took a call and did not finish it in %llu ms",
			      cpu, (unsigned long long)timeout_ms);
		}
		cpu_relax();
	}
	return 0;
}

/* C entry of an AP, on its own stack, from boot/trampoline.asm. */
void __noreturn ap_main(u64 index);
void __noreturn ap_main(u64 index)
{
	struct percpu *pc = &percpu[index];

	percpu_load(pc);
	idt_load();
	mce_cpu_init();
	if (lapic_init()) {
		WRITE_ONCE(pc->why, lapic_x2apic() ?
			   "no x2APIC, the mode the boot CPU chose" :
			   "left in x2APIC mode by the firmware; the boot CPU runs xAPIC");
		pr_err("cpu %u (APIC %u): %s\n", pc->index, pc->apic_id,
		       pc->why);
		halt_forever();
	}
	if (lapic_id() != pc->apic_id)
		pr_warn("cpu %u: APIC ID %u, MADT said %u\n", pc->index,
			lapic_id(), pc->apic_id);
	pc->online_tsc = rdtsc();
	__atomic_store_n(&pc->state, CPU_ONLINE, __ATOMIC_RELEASE);
	ap_idle(pc);
}

void __noreturn smp_stopped_here(bool virt_off)
{
	struct percpu *pc = this_cpu();

	pc->stopped_virt_off = virt_off;
	__atomic_store_n(&pc->stopped, true, __ATOMIC_RELEASE);
	halt_forever();
}

unsigned int smp_wait_stopped(u64 timeout_us, unsigned int *virt_off)
{
	u64 start = rdtsc(), cycles = timeout_us * tsc_khz / 1000;
	unsigned int n = 0;

	do {
		n = *virt_off = 0;
		for (unsigned int i = 0; i < nr_cpus_listed; i++) {
			const struct percpu *pc = &percpu[i];

			if (pc == this_cpu() || !__atomic_load_n(&pc->stopped,
								 __ATOMIC_ACQUIRE))
				continue;
			n++;
			*virt_off += pc->stopped_virt_off;
		}
	} while (n + 1 < smp_online_count() && rdtsc() - start < cycles);
	return n;
}

bool smp_stop_requested(void)
{
	return READ_ONCE(stop_requested);
}

void smp_stop_others(void)
{
	WRITE_ONCE(stop_requested, true);
	if (smp_ready && smp_online_count() > 1)
		lapic_send_ipi(0, ICR_NMI | ICR_ALL_BUT_SELF);
}

unsigned int smp_online_count(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr_cpus_listed; i++)
		n += READ_ONCE(percpu[i].state) == CPU_ONLINE;
	return n;
}
