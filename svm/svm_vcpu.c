/*
 * SVM vCPUs: the VMCB, the run loop and the exit table. Handlers decode
 * the VMCB and call the shared vCPU layer (kernel/vcpu.c).
 */
#define pr_fmt(fmt) "svm: " fmt

#include <lamina/dirty_log.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "svm.h"

/* VMCB control area (APM vol. 2, appendix B) */
#define VMCB_INTERCEPT_MISC1 0x00c
#define VMCB_INTERCEPT_MISC2 0x010
#define VMCB_IOPM_BASE 0x040
#define VMCB_MSRPM_BASE 0x048
#define VMCB_ASID 0x058
#define VMCB_TLB_CONTROL 0x05c
#define VMCB_VINTR 0x060
#define VMCB_EXITCODE 0x070
#define VMCB_EXITINFO1 0x078
#define VMCB_EXITINFO2 0x080
#define VMCB_NP_ENABLE 0x090
#define VMCB_EVENTINJ 0x0a8
#define VMCB_NCR3 0x0b0
#define VMCB_NRIP 0x0c8
/* VMCB state save area */
#define VMCB_ES 0x400
#define VMCB_CS 0x410
#define VMCB_SS 0x420
#define VMCB_DS 0x430
#define VMCB_FS 0x440
#define VMCB_GS 0x450
#define VMCB_GDTR 0x460
#define VMCB_LDTR 0x470
#define VMCB_IDTR 0x480
#define VMCB_TR 0x490
#define VMCB_EFER 0x4d0
#define VMCB_CR4 0x548
#define VMCB_CR3 0x550
#define VMCB_CR0 0x558
#define VMCB_DR7 0x560
#define VMCB_DR6 0x568
#define VMCB_RFLAGS 0x570
#define VMCB_RIP 0x578
#define VMCB_RSP 0x5d8
#define VMCB_RAX 0x5f8
#define VMCB_GPAT 0x668

#define MISC1_INTR (1u << 0)
#define MISC1_NMI (1u << 1)
#define MISC1_CPUID (1u << 18)
#define MISC1_HLT (1u << 24)
#define MISC1_IOIO (1u << 27)
#define MISC1_MSR (1u << 28)
#define MISC1_SHUTDOWN (1u << 31)
#define MISC2_SVM_INSNS 0x7fu /* VMRUN VMMCALL VMLOAD VMSAVE STGI CLGI SKINIT */
#define VINTR_MASKING (1ull << 24)
#define TLB_FLUSH_ALL 1

#define EXIT_INTR 0x60
#define EXIT_NMI 0x61
#define EXIT_CPUID 0x72
#define EXIT_HLT 0x78
#define EXIT_IOIO 0x7b
#define EXIT_MSR 0x7c
#define EXIT_SHUTDOWN 0x7f
#define EXIT_VMRUN 0x80
#define EXIT_VMMCALL 0x81
#define EXIT_VMLOAD 0x82
#define EXIT_SKINIT 0x86
#define EXIT_NPF 0x400
#define NR_EXIT_HANDLERS (EXIT_SKINIT + 1)

#define IOPM_PAGES 3
#define MSRPM_PAGES 2
#define GUEST_ASID 1 /* one vCPU per pCPU: one ASID is enough */
#define EVENT_VALID (1ull << 31)
#define EVENT_EXCEPTION (3ull << 8)
#define EVENT_ERROR_CODE (1ull << 11)
#define VEC_UD 6
#define VEC_GP 13
#define RFLAGS_IF_BIT (1ull << 9)

/* Segment attributes in the VMCB's compressed form. */
#define ATTR_CODE32 0xc9b
#define ATTR_CODE64 0xa9b /* L=1, D=0 */
#define ATTR_DATA32 0xc93
#define ATTR_TSS32 0x08b
#define ATTR_LDT 0x082

BUILD_BUG_ON(offsetof(struct guest_gprs, rsi) != 3 * 8);
BUILD_BUG_ON(offsetof(struct guest_gprs, r15) != 13 * 8);

void svm_enter(u64 vmcb_pa, struct guest_gprs *g);

/* All I/O ports and MSRs intercepted: one shared pair of maps. */
static u8 *iopm, *msrpm;

#define FIELD(vmcb, off, type) (*(type *)((u8 *)(vmcb) + (off)))

static bool alloc_maps(void)
{
	if (!iopm)
		iopm = page_alloc(IOPM_PAGES, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!msrpm)
		msrpm = page_alloc(MSRPM_PAGES, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!iopm || !msrpm)
		return false;
	memset(iopm, 0xff, IOPM_PAGES * PAGE_SIZE);
	memset(msrpm, 0xff, MSRPM_PAGES * PAGE_SIZE);
	return true;
}

static void set_seg(u8 *vmcb, u32 off, u16 sel, u16 attr, u32 limit)
{
	FIELD(vmcb, off, u16) = sel;
	FIELD(vmcb, off + 2, u16) = attr;
	FIELD(vmcb, off + 4, u32) = limit;
	FIELD(vmcb, off + 8, u64) = 0;
}

/* raw32: flat 32-bit protected mode, paging off, at the entry point. */
static void setup_raw32(u8 *vmcb, u64 entry)
{
	set_seg(vmcb, VMCB_CS, 0x08, ATTR_CODE32, 0xffffffff);
	for (u32 off = VMCB_ES; off <= VMCB_GS; off += 0x10)
		if (off != VMCB_CS)
			set_seg(vmcb, off, 0x10, ATTR_DATA32, 0xffffffff);
	set_seg(vmcb, VMCB_GDTR, 0, 0, 0xffff);
	set_seg(vmcb, VMCB_IDTR, 0, 0, 0xffff);
	set_seg(vmcb, VMCB_LDTR, 0, ATTR_LDT, 0xffff);
	set_seg(vmcb, VMCB_TR, 0, ATTR_TSS32, 0x67);
	FIELD(vmcb, VMCB_EFER, u64) = EFER_SVME; /* VMRUN requires it */
	FIELD(vmcb, VMCB_CR0, u64) = 0x11;       /* PE, ET */
	FIELD(vmcb, VMCB_DR6, u64) = 0xffff0ff0;
	FIELD(vmcb, VMCB_DR7, u64) = 0x400;
	FIELD(vmcb, VMCB_RFLAGS, u64) = 0x2;
	FIELD(vmcb, VMCB_RIP, u64) = entry;
	FIELD(vmcb, VMCB_GPAT, u64) = 0x0007040600070406ull;
}

/* raw64: long mode on the identity tables kernel/vcpu.c wrote. */
static void setup_raw64(u8 *vmcb, u64 entry)
{
	setup_raw32(vmcb, entry);
	set_seg(vmcb, VMCB_CS, 0x08, ATTR_CODE64, 0xffffffff);
	FIELD(vmcb, VMCB_EFER, u64) = EFER_SVME | EFER_LME | EFER_LMA;
	FIELD(vmcb, VMCB_CR4, u64) = CR4_PAE;
	FIELD(vmcb, VMCB_CR3, u64) = CFG_RAW64_TABLES_GPA;
	FIELD(vmcb, VMCB_CR0, u64) = 0x80000031; /* PG, NE, ET, PE */
}

int svm_vcpu_create(struct vcpu *v)
{
	u8 *vmcb;

	if (!alloc_maps())
		return -HV_ENOMEM;
	vmcb = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_VM);
	if (!vmcb)
		return -HV_ENOMEM;
	FIELD(vmcb, VMCB_INTERCEPT_MISC1, u32) = MISC1_INTR | MISC1_NMI |
		MISC1_CPUID | MISC1_HLT | MISC1_IOIO | MISC1_MSR | MISC1_SHUTDOWN;
	FIELD(vmcb, VMCB_INTERCEPT_MISC2, u32) = MISC2_SVM_INSNS;
	FIELD(vmcb, VMCB_IOPM_BASE, u64) = (u64)(uintptr_t)iopm;
	FIELD(vmcb, VMCB_MSRPM_BASE, u64) = (u64)(uintptr_t)msrpm;
	FIELD(vmcb, VMCB_ASID, u32) = GUEST_ASID;
	FIELD(vmcb, VMCB_TLB_CONTROL, u8) = TLB_FLUSH_ALL;
	FIELD(vmcb, VMCB_VINTR, u64) = VINTR_MASKING;
	FIELD(vmcb, VMCB_NP_ENABLE, u64) = 1;
	FIELD(vmcb, VMCB_NCR3, u64) = s2_root_pointer(&v->vm->s2);
	if (v->vm->cfg->boot_kind == CFG_BOOT_RAW64)
		setup_raw64(vmcb, v->vm->cfg->entry);
	else
		setup_raw32(vmcb, v->vm->cfg->entry);
	v->vendor = vmcb;
	return 0;
}

void svm_vcpu_destroy(struct vcpu *v)
{
	page_free(v->vendor, 1, PG_OWNER_VM);
	v->vendor = NULL;
}

/* ----------------------------------------------------------- handlers */

typedef enum exit_action (*svm_exit_fn)(struct vcpu *v, u8 *vmcb);

/* Without NRIPS, Lamina knows each intercepted instruction's length. */
static void skip(u8 *vmcb, unsigned int len)
{
	u64 next = hv_boot_caps.f.nrips ? FIELD(vmcb, VMCB_NRIP, u64) :
					 FIELD(vmcb, VMCB_RIP, u64) + len;

	FIELD(vmcb, VMCB_RIP, u64) = next;
}

static void inject(u8 *vmcb, u8 vector, bool error_code)
{
	FIELD(vmcb, VMCB_EVENTINJ, u64) = EVENT_VALID | EVENT_EXCEPTION | vector |
					  (error_code ? EVENT_ERROR_CODE : 0);
}

static enum exit_action svm_handle_host_event(struct vcpu *v, u8 *vmcb)
{
	(void)v;
	(void)vmcb;
	return EXIT_RESUME; /* Lamina took it at STGI */
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
	bool intr_on = FIELD(vmcb, VMCB_RFLAGS, u64) & RFLAGS_IF_BIT;

	v->exits[VEXIT_HLT]++;
	skip(vmcb, 1);
	/* No virtual interrupt source exists yet: nothing would wake it. */
	return vcpu_stop(v, false, "HLT with interrupts %s at rip 0x%llx",
			 intr_on ? "on (no virtual interrupts yet)" : "off",
			 (unsigned long long)FIELD(vmcb, VMCB_RIP, u64));
}

static enum exit_action svm_handle_io(struct vcpu *v, u8 *vmcb)
{
	u64 info = FIELD(vmcb, VMCB_EXITINFO1, u64);
	unsigned int size = (info >> 4) & 7; /* bits SZ8, SZ16, SZ32 */
	bool in = info & 1;
	u32 val = (u32)FIELD(vmcb, VMCB_RAX, u64);
	enum exit_action a;

	v->exits[VEXIT_IO]++;
	if (info & (1u << 2))
		return vcpu_stop(v, true, "string I/O at port 0x%llx is not emulated yet",
				 (unsigned long long)(info >> 16));
	size = size == 4 ? 4 : size == 2 ? 2 : 1;
	a = vcpu_pio(v, (u16)(info >> 16), size, in, &val);
	if (in) {
		u64 mask = size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;
		u64 rax = FIELD(vmcb, VMCB_RAX, u64);

		FIELD(vmcb, VMCB_RAX, u64) = size == 4 ? val : (rax & ~mask) | (val & mask);
	}
	/* EXITINFO2 holds the next RIP for IOIO, NRIPS or not. */
	FIELD(vmcb, VMCB_RIP, u64) = FIELD(vmcb, VMCB_EXITINFO2, u64);
	return a;
}

static enum exit_action svm_handle_msr(struct vcpu *v, u8 *vmcb)
{
	bool write = FIELD(vmcb, VMCB_EXITINFO1, u64) & 1;
	u64 *rax = &FIELD(vmcb, VMCB_RAX, u64);
	u64 val = (*rax & 0xffffffff) | (v->gprs.rdx << 32);

	if (!vcpu_msr(v, (u32)v->gprs.rcx, write, &val)) {
		inject(vmcb, VEC_GP, true);
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
	v->exits[VEXIT_OTHER]++;
	inject(vmcb, VEC_UD, false);
	return EXIT_RESUME;
}

static enum exit_action svm_handle_vmcall(struct vcpu *v, u8 *vmcb)
{
	skip(vmcb, 3); /* VMMCALL is 0f 01 d9 */
	return vcpu_hypercall(v, &FIELD(vmcb, VMCB_RAX, u64));
}

static const svm_exit_fn svm_exit_handlers[NR_EXIT_HANDLERS] = {
	[EXIT_INTR] = svm_handle_host_event,
	[EXIT_NMI] = svm_handle_host_event,
	[EXIT_CPUID] = svm_handle_cpuid,
	[EXIT_HLT] = svm_handle_hlt,
	[EXIT_IOIO] = svm_handle_io,
	[EXIT_MSR] = svm_handle_msr,
	[EXIT_SHUTDOWN] = svm_handle_shutdown,
	[EXIT_VMRUN] = svm_handle_svm_insn,
	[EXIT_VMMCALL] = svm_handle_vmcall,
	[EXIT_VMLOAD ... EXIT_SKINIT] = svm_handle_svm_insn,
};

static enum exit_action svm_handle_npf(struct vcpu *v, u8 *vmcb)
{
	u64 gpa = FIELD(vmcb, VMCB_EXITINFO2, u64);
	u64 err = FIELD(vmcb, VMCB_EXITINFO1, u64);

	v->exits[VEXIT_NPF]++;
	if ((err & 2) && dirty_log_fault(&v->vm->s2, &v->vm->slots, gpa >> 12))
		return EXIT_RESUME;
	return vcpu_stop(v, true, "nested page fault: %s at GPA 0x%llx (error 0x%llx), rip 0x%llx",
			 err & 2 ? "write" : "read", (unsigned long long)gpa,
			 (unsigned long long)err,
			 (unsigned long long)FIELD(vmcb, VMCB_RIP, u64));
}

/* An exit nobody handles: say everything, stop the VM, skip nothing. */
static enum exit_action svm_unhandled(struct vcpu *v, u8 *vmcb, u64 code)
{
	v->exits[VEXIT_OTHER]++;
	pr_err("vm '%s': exit 0x%llx, info1 0x%llx info2 0x%llx, rip 0x%llx rsp 0x%llx rax 0x%llx cr0 0x%llx efer 0x%llx\n",
	       v->vm->name, (unsigned long long)code,
	       (unsigned long long)FIELD(vmcb, VMCB_EXITINFO1, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_EXITINFO2, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_RIP, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_RSP, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_RAX, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_CR0, u64),
	       (unsigned long long)FIELD(vmcb, VMCB_EFER, u64));
	/* QEMU writes VMEXIT_INVALID as 0x00000000ffffffff (PLATFORM.md). */
	if ((u32)code == 0xffffffffu)
		return vcpu_stop(v, true, "VMRUN refused the VMCB (VMEXIT_INVALID)");
	return vcpu_stop(v, true, "unhandled exit 0x%llx", (unsigned long long)code);
}

enum exit_action svm_vcpu_run(struct vcpu *v)
{
	u8 *vmcb = v->vendor;

	for (;;) {
		enum exit_action a;
		u64 code;

		svm_enter((u64)(uintptr_t)vmcb, &v->gprs);
		FIELD(vmcb, VMCB_TLB_CONTROL, u8) = 0;
		code = FIELD(vmcb, VMCB_EXITCODE, u64);
		v->exit_code = code;
		if (code == EXIT_NPF)
			a = svm_handle_npf(v, vmcb);
		else if (code < NR_EXIT_HANDLERS && svm_exit_handlers[code])
			a = svm_exit_handlers[code](v, vmcb);
		else
			a = svm_unhandled(v, vmcb, code);
		if (a != EXIT_RESUME)
			return a;
	}
}
