/*
 * The physical local APIC, which Lamina keeps for itself: IPIs for start-up
 * and for stopping CPUs. xAPIC through its MMIO page; x2APIC through MSRs
 * when the firmware handed over a CPU already in x2APIC mode.
 */
#define pr_fmt(fmt) "lapic: " fmt

#include <lamina/lapic.h>
#include <lamina/x86.h>

#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR 0xfffff000ull

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define X2APIC_MSR(reg) (0x800 + ((reg) >> 4))

#define SVR_ENABLE (1u << 8)
#define SPURIOUS_VECTOR 0xff
#define ICR_BUSY (1u << 12)
#define ICR_WAIT_SPINS 1000000

static volatile u32 *lapic_mmio;
static bool x2apic;

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

void lapic_init(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_ENABLE);
	x2apic = base & APIC_BASE_X2APIC;
	lapic_mmio = (volatile u32 *)(uintptr_t)(base & APIC_BASE_ADDR);
	lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
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

bool lapic_send_ipi(u32 dest, u32 icr_low)
{
	unsigned int spins = ICR_WAIT_SPINS;

	if (x2apic) {
		wrmsr(X2APIC_MSR(LAPIC_ICR_LO), ((u64)dest << 32) | icr_low);
		return true;
	}
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	while ((lapic_read(LAPIC_ICR_LO) & ICR_BUSY) && --spins)
		cpu_relax();
	return spins != 0;
}
