/*
 * VMX vCPUs: the VMCS, the run loop and the exit table. The VMCS is set
 * up on the vCPU's own pCPU (VMPTRLD is per CPU) at its first run.
 * Handlers decode the exit and call the shared vCPU layer (kernel/vcpu.c).
 */
#define pr_fmt(fmt) "vmx: " fmt

#include <lamina/dirty_log.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/lib.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "vmx.h"
#include "vmcs.h"

int vmx_enter(struct guest_gprs *g, int launched);
extern const char vmx_exit_point[];

BUILD_BUG_ON(offsetof(struct guest_gprs, rax) != 14 * 8);

/* Every port and MSR exits: one shared set of bitmaps. */
static u8 *io_bitmaps, *msr_bitmap;

static u64 vmread(u64 field)
{
	u64 v;

	__asm__ __volatile__("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
	return v;
}

static void vmwrite(u64 field, u64 v)
{
	__asm__ __volatile__("vmwrite %1, %0" ::"r"(field), "rm"(v) : "cc");
}

static bool vmcs_op(const char *insn_is_clear, u64 pa)
{
	u8 failed;

	if (insn_is_clear)
		__asm__ __volatile__("vmclear %1; setna %0"
				     : "=q"(failed) : "m"(pa) : "cc", "memory");
	else
		__asm__ __volatile__("vmptrld %1; setna %0"
				     : "=q"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

static bool alloc_bitmaps(void)
{
	if (!io_bitmaps)
		io_bitmaps = page_alloc(2, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!msr_bitmap)
		msr_bitmap = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!io_bitmaps || !msr_bitmap)
		return false;
	memset(io_bitmaps, 0xff, 2 * PAGE_SIZE);
	memset(msr_bitmap, 0xff, PAGE_SIZE);
	return true;
}

int vmx_vcpu_create(struct vcpu *v)
{
	u32 *vmcs;

	/* raw32 runs with paging off: only an unrestricted guest may. */
	if (!(vmx_config.proc2 & PROC2_UNRESTRICTED))
		return -HV_EOPNOTSUPP;
	if (!alloc_bitmaps())
		return -HV_ENOMEM;
	vmcs = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_VM);
	if (!vmcs)
		return -HV_ENOMEM;
	vmcs[0] = hv_boot_caps.f.vmcs_revision;
	v->vendor = vmcs;
	return 0;
}

void vmx_vcpu_destroy(struct vcpu *v)
{
	page_free(v->vendor, 1, PG_OWNER_VM);
	v->vendor = NULL;
}

static void setup_controls(const struct vcpu *v)
{
	const struct vmx_config *c = &vmx_config;

	/* The preemption timer would need a value: not used yet. */
	vmwrite(VMCS_PIN_CTLS, c->pin & ~PIN_PREEMPTION_TIMER);
	vmwrite(VMCS_PROC_CTLS, c->proc);
	vmwrite(VMCS_PROC2_CTLS, c->proc2);
	vmwrite(VMCS_EXIT_CTLS, c->exit);
	vmwrite(VMCS_ENTRY_CTLS, c->entry);
	if (c->proc2 & PROC2_VPID)
		vmwrite(VMCS_VPID, 1); /* one vCPU per pCPU */
	vmwrite(VMCS_IO_BITMAP_A, (u64)(uintptr_t)io_bitmaps);
	vmwrite(VMCS_IO_BITMAP_B, (u64)(uintptr_t)io_bitmaps + PAGE_SIZE);
	vmwrite(VMCS_MSR_BITMAP, (u64)(uintptr_t)msr_bitmap);
	vmwrite(VMCS_EPT_POINTER, s2_root_pointer(&v->vm->s2));
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	/* CR4.VMXE must stay set in VMX operation: the host owns it. */
	vmwrite(VMCS_CR4_MASK, CR4_VMXE_BIT);
	vmwrite(VMCS_CR4_SHADOW, 0);
	vmwrite(VMCS_CR0_MASK, CR0_NE_BIT);
	vmwrite(VMCS_CR0_SHADOW, 0x11);
}

static void setup_host(void)
{
	struct percpu *pc = this_cpu();
	struct desc_ptr idtr;

	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SEL, SEL_CODE);
	vmwrite(VMCS_HOST_SS_SEL, SEL_DATA);
	vmwrite(VMCS_HOST_DS_SEL, SEL_DATA);
	vmwrite(VMCS_HOST_ES_SEL, SEL_DATA);
	vmwrite(VMCS_HOST_TR_SEL, SEL_TSS);
	vmwrite(VMCS_HOST_GS_BASE, (u64)(uintptr_t)pc);
	vmwrite(VMCS_HOST_TR_BASE, (u64)(uintptr_t)&pc->tss);
	vmwrite(VMCS_HOST_GDTR_BASE, (u64)(uintptr_t)pc->gdt);
	vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_point);
	if (vmx_config.exit & EXIT_LOAD_EFER)
		vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
}

static void guest_seg(unsigned int i, u16 sel, u32 ar, u32 limit)
{
	vmwrite(VMCS_GUEST_ES_SEL + 2 * i, sel);
	vmwrite(VMCS_GUEST_ES_AR + 2 * i, ar);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * i, 0);
}

/* raw32: flat 32-bit protected mode, paging off (unrestricted guest). */
static void setup_guest_raw32(u64 entry)
{
	for (unsigned int i = SEG_ES; i <= SEG_GS; i++)
		guest_seg(i, i == SEG_CS ? 0x08 : 0x10,
			  i == SEG_CS ? AR_CODE32 : AR_DATA32, 0xffffffff);
	guest_seg(SEG_LDTR, 0, AR_UNUSABLE, 0);
	guest_seg(SEG_TR, 0, AR_TSS32, 0x67);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_CR0, 0x31); /* PE, ET, NE */
	vmwrite(VMCS_GUEST_CR3, 0);
	vmwrite(VMCS_GUEST_CR4, CR4_VMXE_BIT);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_RSP, 0);
	vmwrite(VMCS_GUEST_RIP, entry);
	vmwrite(VMCS_GUEST_RFLAGS, 0x2);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	if (vmx_config.entry & ENTRY_LOAD_EFER)
		vmwrite(VMCS_GUEST_EFER, 0);
}

/* raw64: long mode on the identity tables kernel/vcpu.c wrote. */
static void setup_guest_raw64(u64 entry)
{
	setup_guest_raw32(entry);
	guest_seg(SEG_CS, 0x08, AR_CODE64, 0xffffffff);
	vmwrite(VMCS_GUEST_CR0, 0x80000031); /* PG, NE, ET, PE */
	vmwrite(VMCS_GUEST_CR3, CFG_RAW64_TABLES_GPA);
	vmwrite(VMCS_GUEST_CR4, CR4_VMXE_BIT | CR4_PAE);
	vmwrite(VMCS_ENTRY_CTLS, vmx_config.entry | ENTRY_IA32E_GUEST);
	if (vmx_config.entry & ENTRY_LOAD_EFER)
		vmwrite(VMCS_GUEST_EFER, EFER_LME | EFER_LMA);
}

static int setup_vmcs(struct vcpu *v)
{
	u64 pa = (u64)(uintptr_t)v->vendor;

	if (!vmcs_op("clear", pa) || !vmcs_op(NULL, pa))
		return -HV_EIO;
	setup_controls(v);
	setup_host();
	if (v->vm->cfg->boot_kind == CFG_BOOT_RAW64) {
		/* Without it the guest's EFER.LME/LMA cannot be set at entry. */
		if (!(vmx_config.entry & ENTRY_LOAD_EFER))
			return -HV_EOPNOTSUPP;
		setup_guest_raw64(v->vm->cfg->entry);
	} else {
		setup_guest_raw32(v->vm->cfg->entry);
	}
	return 0;
}

/* ----------------------------------------------------------- handlers */

typedef enum exit_action (*vmx_exit_fn)(struct vcpu *v);

static void skip(void)
{
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) +
				vmread(VMCS_EXIT_INSTR_LEN));
}

static void inject(u8 vector, bool error_code)
{
	vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION |
				      vector |
				      (error_code ? INTR_INFO_ERROR_CODE : 0));
	if (error_code)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERRCODE, 0);
}

static enum exit_action vmx_handle_exception_nmi(struct vcpu *v)
{
	u32 info = (u32)vmread(VMCS_EXIT_INTR_INFO);

	/* NMI exiting consumed an NMI meant for Lamina: a stop request. */
	if (((info >> 8) & 7) == INTR_TYPE_NMI_SHIFTED && smp_stop_requested())
		smp_stopped_here(hv_emergency_disable());
	return vcpu_stop(v, true, "unexpected exception exit, info 0x%x", info);
}

static enum exit_action vmx_handle_external_interrupt(struct vcpu *v)
{
	(void)v;
	lapic_eoi(); /* acknowledged on exit: the only thing left to do */
	return EXIT_RESUME;
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
	bool intr_on = vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF;

	v->exits[VEXIT_HLT]++;
	skip();
	return vcpu_stop(v, false, "HLT with interrupts %s at rip 0x%llx",
			 intr_on ? "on (no virtual interrupts yet)" : "off",
			 (unsigned long long)vmread(VMCS_GUEST_RIP));
}

static enum exit_action vmx_handle_io(struct vcpu *v)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	unsigned int size = (q & 7) + 1;
	bool in = q & (1u << 3);
	u32 val = (u32)v->gprs.rax;
	enum exit_action a;

	v->exits[VEXIT_IO]++;
	if (q & (1u << 4))
		return vcpu_stop(v, true, "string I/O at port 0x%llx is not emulated yet",
				 (unsigned long long)(q >> 16));
	a = vcpu_pio(v, (u16)(q >> 16), size, in, &val);
	if (in) {
		u64 mask = size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;

		v->gprs.rax = size == 4 ? val : (v->gprs.rax & ~mask) | (val & mask);
	}
	skip();
	return a;
}

static enum exit_action vmx_handle_msr(struct vcpu *v)
{
	bool write = vmread(VMCS_EXIT_REASON) == EXIT_REASON_WRMSR;
	u64 val = (v->gprs.rax & 0xffffffff) | (v->gprs.rdx << 32);

	if (!vcpu_msr(v, (u32)v->gprs.rcx, write, &val)) {
		inject(VEC_GP_VMX, true);
		return EXIT_RESUME;
	}
	if (!write) {
		v->gprs.rax = val & 0xffffffff;
		v->gprs.rdx = val >> 32;
	}
	skip();
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_vmx_insn(struct vcpu *v)
{
	v->exits[VEXIT_OTHER]++;
	inject(VEC_UD_VMX, false);
	return EXIT_RESUME;
}

static enum exit_action vmx_handle_ept_violation(struct vcpu *v)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	u64 gpa = vmread(VMCS_GUEST_PHYS_ADDR);

	v->exits[VEXIT_NPF]++;
	if ((q & 2) && dirty_log_fault(&v->vm->s2, &v->vm->slots, gpa >> 12))
		return EXIT_RESUME;
	return vcpu_stop(v, true, "nested page fault: %s at GPA 0x%llx (qualification 0x%llx), rip 0x%llx",
			 q & 2 ? "write" : q & 4 ? "fetch" : "read",
			 (unsigned long long)gpa, (unsigned long long)q,
			 (unsigned long long)vmread(VMCS_GUEST_RIP));
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
	[EXIT_REASON_CPUID] = vmx_handle_cpuid,
	[EXIT_REASON_HLT] = vmx_handle_hlt,
	[EXIT_REASON_VMCALL] = vmx_handle_vmcall,
	[EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON] = vmx_handle_vmx_insn,
	[EXIT_REASON_IO] = vmx_handle_io,
	[EXIT_REASON_RDMSR] = vmx_handle_msr,
	[EXIT_REASON_WRMSR] = vmx_handle_msr,
	[EXIT_REASON_EPT_VIOLATION] = vmx_handle_ept_violation,
};

/* No handler: say everything, stop the VM, skip nothing. */
static enum exit_action vmx_unhandled(struct vcpu *v, u64 reason)
{
	v->exits[VEXIT_OTHER]++;
	pr_err("vm '%s': exit reason %llu%s, qualification 0x%llx, rip 0x%llx rsp 0x%llx cr0 0x%llx\n",
	       v->vm->name, (unsigned long long)(reason & 0xffff),
	       reason & EXIT_REASON_ENTRY_FAILED ? " (entry failed)" : "",
	       (unsigned long long)vmread(VMCS_EXIT_QUALIFICATION),
	       (unsigned long long)vmread(VMCS_GUEST_RIP),
	       (unsigned long long)vmread(VMCS_GUEST_RSP),
	       (unsigned long long)vmread(VMCS_GUEST_CR0));
	return vcpu_stop(v, true, "unhandled exit reason %llu%s",
			 (unsigned long long)(reason & 0xffff),
			 reason & EXIT_REASON_ENTRY_FAILED ? " (VM entry failed)" : "");
}

enum exit_action vmx_vcpu_run(struct vcpu *v)
{
	if (setup_vmcs(v))
		return vcpu_stop(v, true, "the VMCS could not be set up (VMCLEAR/VMPTRLD failed, or raw64 without the load-EFER entry control)");
	for (;;) {
		enum exit_action a;
		u64 reason;

		if (vmx_enter(&v->gprs, v->launched)) {
			u64 e = vmread(VMCS_VM_INSTRUCTION_ERROR);

			return vcpu_stop(v, true, "%s failed: VM-instruction error %llu (%s)",
					 v->launched ? "VMRESUME" : "VMLAUNCH",
					 (unsigned long long)e, vmx_insn_error_name(e));
		}
		v->launched = true;
		reason = vmread(VMCS_EXIT_REASON);
		v->exit_code = reason;
		if (!(reason & EXIT_REASON_ENTRY_FAILED) &&
		    reason < NR_VMX_EXIT_HANDLERS && vmx_exit_handlers[reason])
			a = vmx_exit_handlers[reason](v);
		else
			a = vmx_unhandled(v, reason);
		if (a != EXIT_RESUME)
			return a;
	}
}
