/*
 * VMX exits: the run loop and one table from basic exit reason to handler. Handlers decode
 * the exit and call the shared vCPU layer (kernel/vcpu.c); none skips an
 * instruction it did not emulate.
 */
#define pr_fmt(fmt) "vmx: " fmt

#include <lamina/dirty_log.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/mce.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "vmx.h"
#include "vmcs.h"

/* VM-entry failure due to a machine-check event (with bit 31 set). */
#define EXIT_REASON_MCE_DURING_ENTRY 41

/* I/O exit qualification */
#define IOQ_IN (1u << 3)
#define IOQ_STRING (1u << 4)
#define IOQ_REP (1u << 5)

typedef enum exit_action (*vmx_exit_fn)(struct vcpu *v);

int vmx_enter(struct guest_gprs *g, int launched);

static void skip(void)
{
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) +
				vmread(VMCS_EXIT_INSTR_LEN));
}

void vmx_inject_exception(struct vcpu *v, u8 vector, bool has_error,
			  u32 error_code, u64 cr2)
{
	(void)v;
	/* Real mode pushes no error code (and VM entry would refuse one). */
	if (!(vmread(VMCS_GUEST_CR0) & CR0_PE))
		has_error = false;
	/* VMX does not switch CR2: the register is the guest's already. */
	if (vector == VEC_PF)
		write_cr2(cr2);
	vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION |
				      vector |
				      (has_error ? INTR_INFO_ERROR_CODE : 0));
	if (has_error)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERRCODE, error_code);
}

/*
 * An exit in the middle of delivering an event (an exception frame pushed
 * onto a dirty-logged page, an interrupt arriving meanwhile) leaves it in
 * the IDT-vectoring information: deliver it again, or the guest loses it.
 */
static void reinject(void)
{
	u32 info = (u32)vmread(VMCS_IDT_VECTORING_INFO);

	if (!(info & INTR_INFO_VALID))
		return;
	vmwrite(VMCS_ENTRY_INTR_INFO, info & ~(1u << 12)); /* bit 12 is not an entry bit */
	if (info & INTR_INFO_ERROR_CODE)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERRCODE,
			vmread(VMCS_IDT_VECTORING_ERRCODE));
	vmwrite(VMCS_ENTRY_INSTR_LEN, vmread(VMCS_EXIT_INSTR_LEN));
}

/* Interrupt-window exiting: allowed to be set? (a "may be 1" control) */
static bool window_exits_allowed(void)
{
	return (hv_boot_caps.raw.vmx.procbased >> 32) & PROC_INTR_WINDOW;
}

/*
 * An external interrupt for the guest: injected at the next entry when it
 * can take one (IF=1, no STI or MOV SS blocking, nothing else being
 * injected); otherwise an interrupt-window exit tells when it can.
 */
bool vmx_inject_irq(struct vcpu *v, int vector)
{
	(void)v;
	if ((vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	    !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & 3) &&
	    !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)) {
		vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL |
					      (u8)vector);
		return true;
	}
	if (window_exits_allowed())
		vmwrite(VMCS_PROC_CTLS, vmread(VMCS_PROC_CTLS) | PROC_INTR_WINDOW);
	return false;
}

/* The window is open: the shared layer injects the real thing. */
static enum exit_action vmx_handle_intr_window(struct vcpu *v)
{
	(void)v;
	vmwrite(VMCS_PROC_CTLS, vmread(VMCS_PROC_CTLS) & ~(u64)PROC_INTR_WINDOW);
	return EXIT_TO_MONITOR;
}

/*
 * NMI exiting consumed an NMI meant for Lamina: a stop request, a kick
 * whose request the run loop takes next, or one nobody sent (reported).
 * A machine check in guest mode (the exception bitmap's bit 18) was
 * consumed by the exit too: Lamina's handler runs here, never the guest's.
 */
static enum exit_action vmx_handle_exception_nmi(struct vcpu *v)
{
	u32 info = (u32)vmread(VMCS_EXIT_INTR_INFO);
	enum exit_action a;

	if (((info >> 8) & 7) == INTR_TYPE_NMI_SHIFTED) {
		nmi_unblock();
		if (smp_stop_requested())
			smp_stopped_here(hv_emergency_disable());
		nmi_handle(true);
		reinject();
		return EXIT_RESUME;
	}
	if ((info & (INTR_INFO_VALID | 0x7ff)) ==
	    (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_MC)) {
		v->exits[VEXIT_OTHER]++;
		a = (enum exit_action)mce_handle_guest(v, vmread(VMCS_GUEST_RIP));
		if (a == EXIT_RESUME)
			reinject();
		return a;
	}
	return vcpu_stop(v, true, "unexpected exception exit, info 0x%x", info);
}

/* The entry failed on a machine check: the host state is back, the guest's
 * is not all loaded. Report it as any other; the VM cannot go on. */
static enum exit_action vmx_handle_mce_during_entry(struct vcpu *v)
{
	v->exits[VEXIT_OTHER]++;
	if ((enum exit_action)mce_handle_guest(v, vmread(VMCS_GUEST_RIP)) !=
	    EXIT_RESUME)
		return EXIT_STOP_VM;
	return vcpu_stop(v, true, "VM entry failed on a machine check (exit reason 41)");
}

/* Acknowledged on exit: what Lamina's own handler would do, then EOI. */
static enum exit_action vmx_handle_external_interrupt(struct vcpu *v)
{
	u32 vector = (u32)vmread(VMCS_EXIT_INTR_INFO) & 0xff;

	(void)v;
	lapic_eoi();
	if (vector == VEC_SLICE)
		vcpu_slice_expired();
	reinject();
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_preemption_timer(struct vcpu *v)
{
	(void)v;
	vcpu_slice_expired();
	return EXIT_RESUME; /* the loop sees the request */
}

static enum exit_action vmx_handle_triple_fault(struct vcpu *v)
{
	v->exits[VEXIT_SHUTDOWN]++;
	return vcpu_stop(v, true, "triple fault (shutdown) at rip 0x%llx",
			 (unsigned long long)vmread(VMCS_GUEST_RIP));
}

static enum exit_action vmx_handle_cpuid(struct vcpu *v)
{
	u32 r[4];

	v->exits[VEXIT_CPUID]++;
	vcpu_cpuid(v, (u32)v->gprs.rax, (u32)v->gprs.rcx, r);
	v->gprs.rax = r[0];
	v->gprs.rbx = r[1];
	v->gprs.rcx = r[2];
	v->gprs.rdx = r[3];
	skip();
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_hlt(struct vcpu *v)
{
	v->exits[VEXIT_HLT]++;
	skip();
	/* `sti; hlt`: HLT ran, so the STI shadow is over. */
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
		vmread(VMCS_GUEST_INTERRUPTIBILITY) & ~3ull);
	return vcpu_halt(v, vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF,
			 vmread(VMCS_GUEST_RIP));
}

/* INVD would drop other VMs' and Lamina's dirty lines: write them back. */
static enum exit_action vmx_handle_invd(struct vcpu *v)
{
	v->exits[VEXIT_OTHER]++;
	wbinvd();
	skip();
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_io(struct vcpu *v)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	struct vcpu_pio_string io = {
		.port = (u16)(q >> 16), .size = (u8)((q & 7) + 1),
		.in = q & IOQ_IN, .rep = q & IOQ_REP,
	};
	u32 val = (u32)v->gprs.rax;
	enum exit_action a;

	v->exits[VEXIT_IO]++;
	if (q & IOQ_STRING)
		return vcpu_pio_string(v, &io, vmread(VMCS_GUEST_RIP) +
					       vmread(VMCS_EXIT_INSTR_LEN));
	a = vcpu_pio(v, io.port, io.size, io.in, &val);
	if (io.in)
		v->gprs.rax = vcpu_pio_in_rax(v->gprs.rax, io.size, val);
	skip();
	return a;
}

static enum exit_action vmx_handle_msr(struct vcpu *v)
{
	bool write = vmread(VMCS_EXIT_REASON) == EXIT_REASON_WRMSR;
	u64 val = (v->gprs.rax & 0xffffffff) | (v->gprs.rdx << 32);

	if (!vcpu_msr(v, (u32)v->gprs.rcx, write, &val)) {
		vmx_inject_exception(v, VEC_GP, true, 0, 0);
		return EXIT_RESUME;
	}
	if (!write) {
		v->gprs.rax = val & 0xffffffff;
		v->gprs.rdx = val >> 32;
	}
	skip();
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_xsetbv(struct vcpu *v)
{
	u64 val = (v->gprs.rax & 0xffffffff) | (v->gprs.rdx << 32);

	v->exits[VEXIT_OTHER]++;
	if (!vcpu_xsetbv(v, (u32)v->gprs.rcx, val)) {
		vmx_inject_exception(v, VEC_GP, true, 0, 0);
		return EXIT_RESUME;
	}
	skip();
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_vmx_insn(struct vcpu *v)
{
	v->exits[VEXIT_OTHER]++;
	vmx_inject_exception(v, VEC_UD, false, 0, 0);
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_ept_violation(struct vcpu *v)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	u64 gpa = vmread(VMCS_GUEST_PHYS_ADDR);

	v->exits[VEXIT_NPF]++;
	if ((q & 2) && dirty_log_fault(&v->vm->s2, &v->vm->slots, gpa >> 12)) {
		reinject();
		return EXIT_RESUME;
	}
	if (vcpu_mmio_claims(v, gpa))
		return vcpu_mmio(v, gpa);
	return vcpu_stop(v, true, "nested page fault: %s at GPA 0x%llx (qualification 0x%llx), rip 0x%llx",
			 q & 2 ? "write" : q & 4 ? "fetch" : "read",
			 (unsigned long long)gpa, (unsigned long long)q,
			 (unsigned long long)vmread(VMCS_GUEST_RIP));
}

/*
 * CR accesses that exit: MOV to CR0 or CR4 changing a bit Lamina owns
 * (CR0.NE, CR4.VMXE: the masks) and MOV to or from CR8 (the task
 * priority). The shared layer applies CR0 and CR4 writes.
 */
static enum exit_action vmx_handle_cr_access(struct vcpu *v)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION), rsp = vmread(VMCS_GUEST_RSP);
	unsigned int type = (q >> 4) & 3, cr = q & 15;
	u64 *reg = vcpu_gpr(&v->gprs, &rsp, (q >> 8) & 15);

	v->exits[VEXIT_OTHER]++;
	if (cr == 8 && type <= 1) {
		vcpu_cr8(v, type == 0, reg);
		vmwrite(VMCS_GUEST_RSP, rsp);
	} else if ((cr == 0 || cr == 4) && type == 0) {
		if (!vcpu_set_cr(v, cr, *reg)) {
			vmx_inject_exception(v, VEC_GP, true, 0, 0);
			return EXIT_RESUME;
		}
	} else {
		return vcpu_stop(v, true, "unexpected control register access, qualification 0x%llx",
				 (unsigned long long)q);
	}
	skip();
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_vmcall(struct vcpu *v)
{
	skip();
	return vcpu_hypercall(v, &v->gprs.rax);
}

static const vmx_exit_fn vmx_exit_handlers[NR_VMX_EXIT_HANDLERS] = {
	[EXIT_REASON_EXCEPTION_NMI] = vmx_handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = vmx_handle_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT] = vmx_handle_triple_fault,
	[EXIT_REASON_INTR_WINDOW] = vmx_handle_intr_window,
	[EXIT_REASON_CPUID] = vmx_handle_cpuid,
	[EXIT_REASON_HLT] = vmx_handle_hlt,
	[EXIT_REASON_INVD] = vmx_handle_invd,
	[EXIT_REASON_VMCALL] = vmx_handle_vmcall,
	[EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON] = vmx_handle_vmx_insn,
	[EXIT_REASON_CR_ACCESS] = vmx_handle_cr_access,
	[EXIT_REASON_IO] = vmx_handle_io,
	[EXIT_REASON_RDMSR] = vmx_handle_msr,
	[EXIT_REASON_WRMSR] = vmx_handle_msr,
	[EXIT_REASON_EPT_VIOLATION] = vmx_handle_ept_violation,
	[EXIT_REASON_INVEPT] = vmx_handle_vmx_insn,
	[EXIT_REASON_PREEMPTION_TIMER] = vmx_handle_preemption_timer,
	[EXIT_REASON_INVVPID] = vmx_handle_vmx_insn,
	[EXIT_REASON_XSETBV] = vmx_handle_xsetbv,
};

/* No handler: say everything, stop the VM, skip nothing. */
static enum exit_action vmx_unhandled(struct vcpu *v, u64 reason)
{
	v->exits[VEXIT_OTHER]++;
	pr_err("vm '%s' vCPU %u: exit reason %llu%s, qualification 0x%llx, rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr3 0x%llx cr4 0x%llx\n",
	       v->vm->name, v->id, (unsigned long long)(reason & 0xffff),
	       reason & EXIT_REASON_ENTRY_FAILED ? " (entry failed)" : "",
	       (unsigned long long)vmread(VMCS_EXIT_QUALIFICATION),
	       (unsigned long long)vmread(VMCS_GUEST_RIP),
	       (unsigned long long)vmread(VMCS_GUEST_RSP),
	       (unsigned long long)vmread(VMCS_GUEST_RFLAGS),
	       (unsigned long long)vmread(VMCS_GUEST_CR0),
	       (unsigned long long)vmread(VMCS_GUEST_CR3),
	       (unsigned long long)vmread(VMCS_GUEST_CR4));
	return vcpu_stop(v, true, "unhandled exit reason %llu%s",
			 (unsigned long long)(reason & 0xffff),
			 reason & EXIT_REASON_ENTRY_FAILED ? " (VM entry failed)" : "");
}

static enum exit_action vmx_handle_exit(struct vcpu *v)
{
	u64 reason = vmread(VMCS_EXIT_REASON);

	v->exit_code = reason;
	if ((reason & 0xffff) == EXIT_REASON_MCE_DURING_ENTRY)
		return vmx_handle_mce_during_entry(v);
	if (!(reason & EXIT_REASON_ENTRY_FAILED) &&
	    reason < NR_VMX_EXIT_HANDLERS && vmx_exit_handlers[reason])
		return vmx_exit_handlers[reason](v);
	return vmx_unhandled(v, reason);
}

/* Boot CPU: what is left of the slice, in preemption-timer ticks. */
static void vmx_arm_slice(struct vcpu *v)
{
	u64 now = rdtsc();

	if (now >= v->slice_end) {
		vcpu_slice_expired();
		return;
	}
	vmwrite(VMCS_PREEMPTION_TIMER,
		MIN((v->slice_end - now) >> hv_boot_caps.f.preempt_rate,
		    0xffffffffull));
}

/* The run loop lives with the table so the dispatch inlines into it. */
enum exit_action vmx_vcpu_run(struct vcpu *v)
{
	for (;;) {
		enum exit_action a;

		if (v->slice_end)
			vmx_arm_slice(v);
		if (vcpu_has_requests(v))
			return EXIT_TO_MONITOR;
		if (vmx_enter(&v->gprs, v->launched)) {
			u64 e = vmread(VMCS_VM_INSTRUCTION_ERROR);

			return vcpu_stop(v, true, "%s failed: VM-instruction error %llu (%s)",
					 v->launched ? "VMRESUME" : "VMLAUNCH",
					 (unsigned long long)e, vmx_insn_error_name(e));
		}
		v->launched = true;
		a = vmx_handle_exit(v);
		if (a != EXIT_RESUME)
			return a;
	}
}
