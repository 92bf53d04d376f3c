/*
 * The physical local APIC, which Lamina keeps for itself: IPIs for start-up,
 * kicks and stopping CPUs, and the timer that ends the time slices of the
 * vCPU sharing the boot CPU with the monitor. xAPIC through its MMIO page;
 * x2APIC through MSRs, when the firmware handed the CPUs over in that mode,
 * when x2apic=on asks, or when the MADT lists an APIC ID above 254, which
 * only x2APIC can address (docs/time-and-apic.md).
 */
#define pr_fmt(fmt) "lapic: " fmt

#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/x86.h>

#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR 0xfffff000ull

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_DELIVERY_NMI (4u << 8)
#define LVT_ACTIVE_LOW (1u << 13)
#define INTI_POLARITY_LOW 3u
#define TIMER_DIV_16 0x3
#define CALIBRATE_US 1000
#define X2APIC_MSR(reg) (0x800 + ((reg) >> 4))

#define CPUID_1_ECX_X2APIC (1u << 21)
#define ICR_SHORTHAND (3u << 18)

#define SVR_ENABLE (1u << 8)
#define SPURIOUS_VECTOR 0xff
#define ICR_BUSY (1u << 12)
#define ICR_WAIT_SPINS 1000000

static volatile u32 *lapic_mmio;
/* Every CPU's mode: the boot CPU chooses it, the APs follow. */
static bool x2apic, mode_chosen;

static u32 lapic_read(u32 reg)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_MSR(reg));
	return lapic_mmio[reg / 4];
}

static void lapic_write(u32 reg, u32 val)
{
	if (x2apic)
		wrmsr(X2APIC_MSR(reg), val);
	else
		lapic_mmio[reg / 4] = val;
}

/*
 * The legacy 8259 PICs: moved off the exception vectors (the BIOS leaves
 * IRQ 0 at vector 8, where a timer tick would pass for a double fault) and
 * masked. Lamina takes interrupts only from its local APIC; the boot CPU
 * enables them while a vCPU halts or runs there.
 */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_ICW1_INIT 0x11 /* edge, cascade, ICW4 follows */
#define PIC_VECTOR_BASE 0x20

void pic_disable(void)
{
	outb(PIC1_CMD, PIC_ICW1_INIT);
	outb(PIC2_CMD, PIC_ICW1_INIT);
	outb(PIC1_DATA, PIC_VECTOR_BASE);
	outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
	outb(PIC1_DATA, 4); /* the slave on IRQ 2 */
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, 1); /* 8086 mode */
	outb(PIC2_DATA, 1);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

static bool cpu_has_x2apic(void)
{
	return cpuid(1, 0).ecx & CPUID_1_ECX_X2APIC;
}

static enum x2apic_opt x2apic_option(void)
{
	const char *v = cmdline_get("x2apic");

	if (!v)
		return X2APIC_OPT_DEFAULT;
	if (!strcmp(v, "on"))
		return X2APIC_OPT_ON;
	if (!strcmp(v, "off"))
		return X2APIC_OPT_OFF;
	pr_err("x2apic=%s: want on or off; ignored\n", v);
	return X2APIC_OPT_DEFAULT;
}

static u32 madt_max_apic_id(void)
{
	u32 max = 0;

	if (!acpi_usable || !acpi.madt_ok)
		return 0;
	for (unsigned int i = 0; i < acpi.nr_cpus; i++)
		max = MAX(max, acpi.cpus[i].apic_id);
	return max;
}

/* The boot CPU: the mode for every CPU, and why when it is not the one asked. */
static void choose_mode(u64 base)
{
	bool fw = base & APIC_BASE_X2APIC, has = cpu_has_x2apic();
	enum x2apic_opt opt = x2apic_option();
	u32 max_id = madt_max_apic_id();

	x2apic = lapic_want_x2apic(fw, has, opt, max_id);
	mode_chosen = true;
	if (fw && opt == X2APIC_OPT_OFF)
		pr_warn("x2apic=off: the firmware enabled x2APIC mode, which only a reset leaves; staying in x2APIC mode\n");
	if (!has && opt == X2APIC_OPT_ON)
		pr_warn("x2apic=on: this CPU has no x2APIC (CPUID.1:ECX[21] clear); staying in xAPIC mode\n");
	if (!x2apic && max_id > LAPIC_XAPIC_MAX_ID)
		pr_err("the MADT lists APIC IDs up to %u, which need x2APIC mode (%s): CPUs above %u stay offline\n",
		       max_id, has ? "turned off by x2apic=off" :
				     "this CPU has no x2APIC",
		       LAPIC_XAPIC_MAX_ID);
}

/*
 * The pins the MADT wires the platform's NMI to (a chipset error, a
 * watchdog, a front-panel button). The firmware sets LINT1 up on the boot
 * CPU only; without this an AP would never see those NMIs. NMI delivery
 * is always edge-triggered; the polarity is the entry's.
 */
static void lapic_nmi_pins(void)
{
	u16 flags[2] = { 0, 0 };
	unsigned int pins;

	if (!acpi_usable)
		return;
	pins = acpi_lapic_nmi_pins(&acpi, lapic_id(), flags);
	for (unsigned int pin = 0; pin < 2; pin++) {
		if (!(pins & (1u << pin)))
			continue;
		lapic_write(pin ? LAPIC_LVT_LINT1 : LAPIC_LVT_LINT0,
			    LVT_DELIVERY_NMI |
			    ((flags[pin] & 3) == INTI_POLARITY_LOW ?
			     LVT_ACTIVE_LOW : 0));
	}
	if (pins)
		pr_debug("APIC ID %u: platform NMI on LINT%s\n", lapic_id(),
			 pins == 3 ? "0 and LINT1" : pins == 1 ? "0" : "1");
}

/*
 * xAPIC to x2APIC is one write with EN still set (SDM vol. 3, 11.12.5);
 * the other way needs a pass through disabled, which Lamina never takes.
 */
int lapic_init(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	bool switched = false;

	if (!mode_chosen)
		choose_mode(base);
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_ENABLE);
	if (x2apic && !(base & APIC_BASE_X2APIC)) {
		if (!cpu_has_x2apic())
			return -HV_ENODEV;
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_X2APIC);
		switched = true;
	} else if (!x2apic && (base & APIC_BASE_X2APIC)) {
		return -HV_ENODEV; /* an AP the firmware left in x2APIC mode */
	}
	lapic_mmio = (volatile u32 *)(uintptr_t)(base & APIC_BASE_ADDR);
	lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_nmi_pins();
	if (x2apic)
		pr_info("APIC ID %u: x2APIC mode (%s)\n", lapic_id(),
			switched ? "switched by Lamina" : "from the firmware");
	return 0;
}

bool lapic_x2apic(void)
{
	return x2apic;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

u32 lapic_id(void)
{
	u32 id = lapic_read(LAPIC_ID);

	return x2apic ? id : id >> 24;
}

bool lapic_can_address(u32 id)
{
	return x2apic || id <= LAPIC_XAPIC_MAX_ID;
}

bool lapic_send_ipi(u32 dest, u32 icr_low)
{
	unsigned int spins = ICR_WAIT_SPINS;

	if (!(icr_low & ICR_SHORTHAND) && !lapic_can_address(dest))
		return false;
	if (x2apic) {
		/*
		 * A WRMSR to an x2APIC register is not serializing and may
		 * pass earlier stores (SDM vol. 3, 11.12.3): the target must
		 * see the mailbox written before it is woken or kicked.
		 */
		__asm__ __volatile__("mfence; lfence" ::: "memory");
		wrmsr(X2APIC_MSR(LAPIC_ICR_LO), ((u64)dest << 32) | icr_low);
		return true;
	}
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	while ((lapic_read(LAPIC_ICR_LO) & ICR_BUSY) && --spins)
		cpu_relax();
	return spins != 0;
}

/* Timer ticks per millisecond (divide by 16), measured against the TSC. */
static u32 timer_ticks_per_ms;

static void timer_calibrate(void)
{
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	udelay(CALIBRATE_US);
	timer_ticks_per_ms = 0xffffffffu - lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	if (!timer_ticks_per_ms)
		timer_ticks_per_ms = 1;
	pr_info("timer: %u ticks per ms (divide by 16)\n", timer_ticks_per_ms);
}

bool lapic_timer_usable(void)
{
	if (!timer_ticks_per_ms)
		timer_calibrate();
	return timer_ticks_per_ms > 1; /* 1: it did not count at all */
}

void lapic_timer_oneshot(u8 vector, u32 us)
{
	if (!timer_ticks_per_ms)
		timer_calibrate();
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, vector); /* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INIT,
		    (u32)MAX(1ull, (u64)timer_ticks_per_ms * us / 1000));
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
}
