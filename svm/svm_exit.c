/*
 * SVM exits: the run loop and one table from exit code to handler. Handlers decode the
 * VMCB and call the shared vCPU layer (kernel/vcpu.c); none skips an
 * instruction it did not emulate.
 */
#define pr_fmt(fmt) "svm: " fmt

#include <lamina/dirty_log.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/mce.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "svm.h"
#include "vmcb.h"

#define EXIT_EXCP_MC (0x40 + VEC_MC) /* exception intercepts: 0x40 + vector */
#define EXIT_INVD 0x76
#define EXIT_XSETBV 0x8d
#define EVENT_VALID (1ull << 31)
#define EVENT_EXCEPTION (3ull << 8)
#define EVENT_ERROR_CODE (1ull << 11)

typedef enum exit_action (*svm_exit_fn)(struct vcpu *v, u8 *vmcb);

void svm_enter(u64 vmcb_pa, struct guest_gprs *g, u64 host_pa);

/* Without NRIPS, Lamina knows each intercepted instruction's length. */
static void skip(u8 *vmcb, unsigned int len)
{
	u64 next = hv_boot_caps.f.nrips ? FIELD(vmcb, VMCB_NRIP, u64) :
					 FIELD(vmcb, VMCB_RIP, u64) + len;

	FIELD(vmcb, VMCB_RIP, u64) = next;
}

void svm_inject_exception(struct vcpu *v, u8 vector, bool has_error,
			  u32 error_code, u64 cr2)
{
	u8 *vmcb = v->vendor;

	/* Real mode pushes no error code. */
	if (!(FIELD(vmcb, VMCB_CR0, u64) & CR0_PE))
		has_error = false;
	if (vector == VEC_PF)
		FIELD(vmcb, VMCB_CR2, u64) = cr2;
	FIELD(vmcb, VMCB_EVENTINJ, u64) = EVENT_VALID | EVENT_EXCEPTION | vector |
		(has_error ? EVENT_ERROR_CODE | ((u64)error_code << 32) : 0);
}

/*
 * An external interrupt for the guest: straight in through EVENTINJ when
 * it can take one now; otherwise a virtual interrupt (V_IRQ) with the VINTR
 * intercept, which exits as soon as the guest could take it.
 */
bool svm_inject_irq(struct vcpu *v, int vector)
{
	u8 *vmcb = v->vendor;
	u64 *vintr = &FIELD(vmcb, VMCB_VINTR, u64);

	if ((FIELD(vmcb, VMCB_RFLAGS, u64) & RFLAGS_IF) &&
	    !(FIELD(vmcb, VMCB_INT_STATE, u64) & 1) &&
	    !(FIELD(vmcb, VMCB_EVENTINJ, u64) & EVENT_VALID)) {
		FIELD(vmcb, VMCB_EVENTINJ, u64) = EVENT_VALID | (u8)vector;
		return true;
	}
	*vintr |= VINTR_IRQ | VINTR_PRIO | VINTR_IGN_TPR;
	FIELD(vmcb, VMCB_INTERCEPT_MISC1, u32) |= MISC1_VINTR;
	return false;
}

/* The window is open: the shared layer injects the real thing. */
static enum exit_action svm_handle_vintr(struct vcpu *v, u8 *vmcb)
{
	(void)v;
	FIELD(vmcb, VMCB_VINTR, u64) &= ~(VINTR_IRQ | VINTR_PRIO | VINTR_IGN_TPR);
	FIELD(vmcb, VMCB_INTERCEPT_MISC1, u32) &= ~MISC1_VINTR;
	return EXIT_TO_MONITOR;
}

/*
 * An exit in the middle of delivering an event (an exception frame pushed
 * onto a dirty-logged page, an interrupt arriving meanwhile) leaves the
 * event in EXITINTINFO: it must be delivered again, or the guest loses it.
 */
static void reinject(u8 *vmcb)
{
	u64 info = FIELD(vmcb, VMCB_EXITINTINFO, u64);

	if (info & EVENT_VALID)
		FIELD(vmcb, VMCB_EVENTINJ, u64) = info;
}

static enum exit_action svm_handle_host_event(struct vcpu *v, u8 *vmcb)
{
	(void)v;
	reinject(vmcb);
	return EXIT_RESUME; /* Lamina took it at STGI */
}

/*
 * A physical machine check while the guest ran (the #MC intercept): it is
 * consumed by the exit, so Lamina's handler runs here; never the guest's.
 */
static enum exit_action svm_handle_machine_check(struct vcpu *v, u8 *vmcb)
{
	enum exit_action a;

	v->exits[VEXIT_OTHER]++;
	a = (enum exit_action)mce_handle_guest(v, FIELD(vmcb, VMCB_RIP, u64));
	if (a == EXIT_RESUME)
		reinject(vmcb);
	return a;
}

static enum exit_action svm_handle_cpuid(struct vcpu *v, u8 *vmcb)
{
	u32 r[4];

	v->exits[VEXIT_CPUID]++;
	vcpu_cpuid(v, (u32)FIELD(vmcb, VMCB_RAX, u64), (u32)v->gprs.rcx, r);
	FIELD(vmcb, VMCB_RAX, u64) = r[0];
	v->gprs.rbx = r[1];
	v->gprs.rcx = r[2];
	v->gprs.rdx = r[3];
	skip(vmcb, 2);
	return EXIT_RESUME;
}

static enum exit_action svm_handle_hlt(struct vcpu *v, u8 *vmcb)
{
	v->exits[VEXIT_HLT]++;
	skip(vmcb, 1);
	/* `sti; hlt`: HLT ran, so the STI shadow is over. */
	FIELD(vmcb, VMCB_INT_STATE, u64) &= ~1ull;
	return vcpu_halt(v, FIELD(vmcb, VMCB_RFLAGS, u64) & RFLAGS_IF,
			 FIELD(vmcb, VMCB_RIP, u64));
}

static enum exit_action svm_handle_io(struct vcpu *v, u8 *vmcb)
{
	u64 info = FIELD(vmcb, VMCB_EXITINFO1, u64);
	unsigned int size = (info >> 4) & 7; /* bits SZ8, SZ16, SZ32 */
	struct vcpu_pio_string io = {
		.port = (u16)(info >> 16), .size = size == 4 ? 4 : size == 2 ? 2 : 1,
		.in = info & IOIO_IN, .rep = info & IOIO_REP,
	};
	u32 val = (u32)FIELD(vmcb, VMCB_RAX, u64);
	enum exit_action a;

	v->exits[VEXIT_IO]++;
	/* EXITINFO2 holds the next RIP for IOIO, NRIPS or not. */
	if (info & IOIO_STR)
		return vcpu_pio_string(v, &io, FIELD(vmcb, VMCB_EXITINFO2, u64));
	a = vcpu_pio(v, io.port, io.size, io.in, &val);
	if (io.in)
		FIELD(vmcb, VMCB_RAX, u64) =
			vcpu_pio_in_rax(FIELD(vmcb, VMCB_RAX, u64), io.size, val);
	FIELD(vmcb, VMCB_RIP, u64) = FIELD(vmcb, VMCB_EXITINFO2, u64);
	return a;
}

static enum exit_action svm_handle_msr(struct vcpu *v, u8 *vmcb)
{
	bool write = FIELD(vmcb, VMCB_EXITINFO1, u64) & 1;
	u64 *rax = &FIELD(vmcb, VMCB_RAX, u64);
	u64 val = (*rax & 0xffffffff) | (v->gprs.rdx << 32);

	if (!vcpu_msr(v, (u32)v->gprs.rcx, write, &val)) {
		svm_inject_exception(v, VEC_GP, true, 0, 0);
		return EXIT_RESUME;
	}
	if (!write) {
		*rax = val & 0xffffffff;
		v->gprs.rdx = val >> 32;
	}
	skip(vmcb, 2);
	return EXIT_RESUME;
}

static enum exit_action svm_handle_shutdown(struct vcpu *v, u8 *vmcb)
{
	v->exits[VEXIT_SHUTDOWN]++;
	return vcpu_stop(v, true, "triple fault (shutdown) at rip 0x%llx",
			 (unsigned long long)FIELD(vmcb, VMCB_RIP, u64));
}

static enum exit_action svm_handle_svm_insn(struct vcpu *v, u8 *vmcb)
{
	(void)vmcb;
	v->exits[VEXIT_OTHER]++;
	svm_inject_exception(v, VEC_UD, false, 0, 0);
	return EXIT_RESUME;
}

static enum exit_action svm_handle_vmcall(struct vcpu *v, u8 *vmcb)
{
	skip(vmcb, 3); /* VMMCALL is 0f 01 d9 */
	return vcpu_hypercall(v, &FIELD(vmcb, VMCB_RAX, u64));
}

/* INVD would drop other VMs' and Lamina's dirty lines: write them back. */
static enum exit_action svm_handle_invd(struct vcpu *v, u8 *vmcb)
{
	v->exits[VEXIT_OTHER]++;
	wbinvd();
	skip(vmcb, 2);
	return EXIT_RESUME;
}

static enum exit_action svm_handle_xsetbv(struct vcpu *v, u8 *vmcb)
{
	u64 val = (FIELD(vmcb, VMCB_RAX, u64) & 0xffffffff) | (v->gprs.rdx << 32);

	v->exits[VEXIT_OTHER]++;
	if (!vcpu_xsetbv(v, (u32)v->gprs.rcx, val)) {
		svm_inject_exception(v, VEC_GP, true, 0, 0);
		return EXIT_RESUME;
	}
	skip(vmcb, 3);
	return EXIT_RESUME;
}

static const svm_exit_fn svm_exit_handlers[] = {
	[EXIT_EXCP_MC] = svm_handle_machine_check,
	[EXIT_INTR] = svm_handle_host_event,
	[EXIT_NMI] = svm_handle_host_event,
	[EXIT_VINTR] = svm_handle_vintr,
	[EXIT_CPUID] = svm_handle_cpuid,
	[EXIT_INVD] = svm_handle_invd,
	[EXIT_HLT] = svm_handle_hlt,
	[EXIT_INVLPGA] = svm_handle_svm_insn,
	[EXIT_IOIO] = svm_handle_io,
	[EXIT_MSR] = svm_handle_msr,
	[EXIT_SHUTDOWN] = svm_handle_shutdown,
	[EXIT_VMRUN] = svm_handle_svm_insn,
	[EXIT_VMMCALL] = svm_handle_vmcall,
	[EXIT_VMLOAD ... EXIT_SKINIT] = svm_handle_svm_insn,
	[EXIT_XSETBV] = svm_handle_xsetbv,
};

static enum exit_action svm_handle_npf(struct vcpu *v, u8 *vmcb)
{
	u64 gpa = FIELD(vmcb, VMCB_EXITINFO2, u64);
	u64 err = FIELD(vmcb, VMCB_EXITINFO1, u64);

	v->exits[VEXIT_NPF]++;
	if ((err & 2) && dirty_log_fault(&v->vm->s2, &v->vm->slots, gpa >> 12)) {
		reinject(vmcb);
		return EXIT_RESUME;
	}
	if (vcpu_mmio_claims(v, gpa))
		return vcpu_mmio(v, gpa);
	return vcpu_stop(v, true, "nested page fault: %s at GPA 0x%llx (error 0x%llx), rip 0x%llx",
			 err & 2 ? "write" : err & 0x10 ? "fetch" : "read",
			 (unsigned long long)gpa, (unsigned long long)err,
			 (unsigned long long)FIELD(vmcb, VMCB_RIP, u64));
}

/* An exit nobody handles: say everything, stop the VM, skip nothing. */
static enum exit_action svm_unhandled(struct vcpu *v, u8 *vmcb, u64 code)
{
	v->exits[VEXIT_OTHER]++;
	pr_err("vm '%s' vCPU %u: exit 0x%llx, info1 0x%llx info2 0x%llx, rip 0x%llx rsp 0x%llx rax 0x%llx cr0 0x%llx efer 0x%llx\n",
	       v->vm->name, v->id, (unsigned long long)code,
	       (unsigned long long)FIELD(vmcb, VMCB_EXITINFO1, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_EXITINFO2, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_RIP, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_RSP, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_RAX, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_CR0, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_EFER, u64));
	/* QEMU writes VMEXIT_INVALID as 0x00000000ffffffff (PLATFORM.md). */
	if ((u32)code == 0xffffffffu) {
		const char *why = svm_vmcb_invalid_reason(vmcb);

		return vcpu_stop(v, true, "VMRUN refused the VMCB (VMEXIT_INVALID): %s",
				 why ? why : "no check of Lamina's names the field");
	}
	return vcpu_stop(v, true, "unhandled exit 0x%llx", (unsigned long long)code);
}

static enum exit_action svm_handle_exit(struct vcpu *v, u8 *vmcb)
{
	u64 code = FIELD(vmcb, VMCB_EXITCODE, u64);

	v->exit_code = code;
	if (code == EXIT_NPF)
		return svm_handle_npf(v, vmcb);
	if (code < ARRAY_SIZE(svm_exit_handlers) && svm_exit_handlers[code])
		return svm_exit_handlers[code](v, vmcb);
	return svm_unhandled(v, vmcb, code);
}

/* The run loop lives with the table so the dispatch inlines into it. */
enum exit_action svm_vcpu_run(struct vcpu *v)
{
	u8 *vmcb = v->vendor;
	u64 vmcb_pa = (u64)(uintptr_t)vmcb, host_pa = vmcb_pa + PAGE_SIZE;

	for (;;) {
		enum exit_action a;

		if (vcpu_has_requests(v))
			return EXIT_TO_MONITOR;
		svm_enter(vmcb_pa, &v->gprs, host_pa);
		/* Both act once: the next VMRUN must not flush or inject again. */
		FIELD(vmcb, VMCB_TLB_CONTROL, u8) = 0;
		FIELD(vmcb, VMCB_EVENTINJ, u64) = 0;
		a = svm_handle_exit(v, vmcb);
		if (a != EXIT_RESUME)
			return a;
	}
}
