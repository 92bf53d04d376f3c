/*
 * panic(): print why, the registers and a backtrace, stop every other CPU
 * with an NMI, and halt. Nothing is switched on on the way down.
 */
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/regs.h>
#include <lamina/x86.h>

#define BACKTRACE_MAX 16
#define STOP_WAIT_US 100000

static volatile int panicking;

bool panic_in_progress(void)
{
	return READ_ONCE(panicking) != 0;
}

void regs_dump(const struct regs *r)
{
	console_printf("  RIP %016llx  RSP %016llx  RFLAGS %016llx\r\n"
		       "  RAX %016llx  RBX %016llx  RCX %016llx\r\n",
		       (unsigned long long)r->rip, (unsigned long long)r->rsp,
		       (unsigned long long)r->rflags, (unsigned long long)r->rax,
		       (unsigned long long)r->rbx, (unsigned long long)r->rcx);
	console_printf("  RDX %016llx  RSI %016llx  RDI %016llx\r\n"
		       "  RBP %016llx  R8  %016llx  R9  %016llx\r\n",
		       (unsigned long long)r->rdx, (unsigned long long)r->rsi,
		       (unsigned long long)r->rdi, (unsigned long long)r->rbp,
		       (unsigned long long)r->r8, (unsigned long long)r->r9);
	console_printf("  R10 %016llx  R11 %016llx  R12 %016llx\r\n"
		       "  R13 %016llx  R14 %016llx  R15 %016llx\r\n",
		       (unsigned long long)r->r10, (unsigned long long)r->r11,
		       (unsigned long long)r->r12, (unsigned long long)r->r13,
		       (unsigned long long)r->r14, (unsigned long long)r->r15);
	console_printf("  CS %04llx  SS %04llx  CR0 %016llx  CR2 %016llx\r\n"
		       "  CR3 %016llx  CR4 %016llx\r\n",
		       (unsigned long long)r->cs, (unsigned long long)r->ss,
		       (unsigned long long)read_cr0(),
		       (unsigned long long)read_cr2(),
		       (unsigned long long)read_cr3(),
		       (unsigned long long)read_cr4());
}

/*
 * Follow saved frame pointers. Each step must move up the stack, stay
 * 8-byte aligned and within mapped memory; anything else ends the walk.
 */
void backtrace_from(u64 rbp)
{
	console_printf("  backtrace (addr2line -e build/lamina.elf ADDR):\r\n");
	for (int i = 0; i < BACKTRACE_MAX && rbp; i++) {
		const u64 *frame = (const u64 *)(uintptr_t)rbp;

		if (!IS_ALIGNED(rbp, 8) || !phys_mapped(rbp, 16))
			break;
		if (!frame[1])
			break;
		console_printf("    #%d %016llx\r\n", i,
			       (unsigned long long)frame[1]);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
}

static int current_cpu(void)
{
	/* GS is not set up in the first moments of boot. */
	return rdmsr(MSR_GS_BASE) ? (int)this_cpu()->index : 0;
}

/* Every CPU halts with virtualisation off: say what each reported. */
static void report_stopped(bool self_off)
{
	unsigned int others = smp_online_count() - 1, off = 0;
	unsigned int stopped = smp_wait_stopped(STOP_WAIT_US, &off);

	console_printf("PANIC: %u of %u other CPUs stopped; virtualisation off on %u of %u CPUs\r\n",
		       stopped, others, off + self_off, stopped + 1);
}

static void __noreturn panic_finish(const struct regs *r, const char *fmt,
				    va_list ap)
{
	char msg[192];
	int cpu = current_cpu();

	cli();
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST))
		halt_forever(); /* another CPU is already reporting */
	printk_force_unlock();
	vsnprintf(msg, sizeof(msg), fmt, ap);
	console_printf("\r\nPANIC: cpu %d: %s\r\n", cpu, msg);
	regs_dump(r);
	backtrace_from(r->rbp);
	smp_stop_others();
	report_stopped(hv_emergency_disable());
	console_printf("PANIC: cpu %d: system halted\r\n", cpu);
	halt_forever();
}

void panic_regs(const struct regs *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panic_finish(r, fmt, ap);
}

void panic(const char *fmt, ...)
{
	struct regs r;
	va_list ap;

	regs_capture(&r);
	va_start(ap, fmt);
	panic_finish(&r, fmt, ap);
}
