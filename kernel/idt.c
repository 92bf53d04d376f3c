/*
 * The IDT and the C side of interrupt entry. Exceptions in Lamina are
 * hypervisor bugs: they print everything known and panic; a machine check
 * is the hardware's, and kernel/mce.c decides whether Lamina survives it.
 * NMIs stop a CPU when another CPU has panicked, kick it when Lamina
 * posted one, and are reported otherwise (kernel/mce.c).
 */
#define pr_fmt(fmt) "idt: " fmt

#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/mce.h>
#include <lamina/vcpu.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/regs.h>
#include <lamina/x86.h>

#define VEC_NMI 2
#define VEC_DF 8
#define NR_EXCEPTIONS 32
#define VEC_SPURIOUS 0xff

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */

struct idt_gate {
	u16 off_lo;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off_mid;
	u32 off_hi;
	u32 reserved;
} __packed;

BUILD_BUG_ON(sizeof(struct idt_gate) != 16);
BUILD_BUG_ON(sizeof(struct regs) != 22 * 8);
BUILD_BUG_ON(offsetof(struct regs, rip) != 17 * 8);

extern const u64 isr_table[256];
static struct idt_gate idt[256] __aligned(4096);
static u64 unexpected_irqs;

/* kernel/idle.asm */
extern const char idle_window_start[], idle_window_hlt[], idle_window_end[];

static const char *const exception_names[NR_EXCEPTIONS] = {
	[0] = "#DE divide error",	[1] = "#DB debug",
	[2] = "NMI",			[3] = "#BP breakpoint",
	[4] = "#OF overflow",		[5] = "#BR bound range",
	[6] = "#UD invalid opcode",	[7] = "#NM device not available",
	[8] = "#DF double fault",	[10] = "#TS invalid TSS",
	[11] = "#NP segment not present", [12] = "#SS stack fault",
	[13] = "#GP general protection", [14] = "#PF page fault",
	[16] = "#MF x87 error",		[17] = "#AC alignment check",
	[18] = "#MC machine check",	[19] = "#XM SIMD error",
	[20] = "#VE virtualization",	[21] = "#CP control protection",
};

static void set_gate(unsigned int vec, u64 handler, u8 ist)
{
	struct idt_gate *g = &idt[vec];

	g->off_lo = handler & 0xffff;
	g->sel = SEL_CODE;
	g->ist = ist;
	g->type = GATE_INTERRUPT;
	g->off_mid = (handler >> 16) & 0xffff;
	g->off_hi = handler >> 32;
	g->reserved = 0;
}

void idt_init(void)
{
	for (unsigned int v = 0; v < 256; v++)
		set_gate(v, isr_table[v], 0);
	/* Faults that may come with a bad stack get known-good ones. */
	idt[VEC_DF].ist = IST_DF;
	idt[VEC_NMI].ist = IST_NMI;
	idt[VEC_MC].ist = IST_MC;
}

void idt_load(void)
{
	struct desc_ptr p = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

	lidt(&p);
}

static const char *exception_name(u64 vec)
{
	const char *n = vec < NR_EXCEPTIONS ? exception_names[vec] : NULL;

	return n ? n : "reserved exception";
}

void interrupt_dispatch(struct regs *r);
void interrupt_dispatch(struct regs *r)
{
	if (r->vector == VEC_NMI) {
		/* A panic or a reboot on another CPU stops this one. */
		if (smp_stop_requested())
			smp_stopped_here(hv_emergency_disable());
		printk_exception_enter();
		nmi_handle(false);
		printk_exception_exit();
		/* vcpu_kick(): the request is posted; do not sleep past it.
		 * (After any other NMI the caller finds no request, waits on.) */
		if (r->rip >= (u64)(uintptr_t)idle_window_start &&
		    r->rip <= (u64)(uintptr_t)idle_window_hlt)
			r->rip = (u64)(uintptr_t)idle_window_end;
		return;
	}
	if (r->vector == VEC_MC) {
		printk_exception_enter();
		mce_handle_host(r); /* returns only when Lamina may go on */
		printk_exception_exit();
		return;
	}
	if (r->vector < NR_EXCEPTIONS)
		panic_regs(r, "exception %llu (%s), error code 0x%llx",
			   (unsigned long long)r->vector,
			   exception_name(r->vector),
			   (unsigned long long)r->error);
	if (r->vector == VEC_SPURIOUS)
		return;
	if (r->vector == VEC_WAKE) { /* the work is in the mailbox */
		lapic_eoi();
		return;
	}
	if (r->vector == VEC_SLICE) {
		lapic_eoi();
		vcpu_slice_expired();
		return;
	}
	/* Lamina runs with IF=0 and owns no interrupt sources yet. */
	unexpected_irqs++;
	pr_warn("unexpected interrupt, vector %llu\n",
		(unsigned long long)r->vector);
}
