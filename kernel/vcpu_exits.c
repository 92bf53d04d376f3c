/*
 * Exit handlers every vendor shares: the CPUID policy, the MSR allow
 * list, XSETBV and the hypercall ABI (include/abi/hypercall.h). vmx/ and
 * svm/ decode their exit and call these with plain values.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <abi/hypercall.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_HV_BASE 0x40000000u
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)

/*
 * Features a guest must not see because Lamina does not virtualise them
 * (it would use them on the physical CPU, or read MSRs that #GP):
 * leaf 1 ECX: DTES64, MONITOR, DS-CPL, VMX, SMX, EST, TM2, xTPR, PDCM,
 * x2APIC, TSC-deadline; EDX: MCE, MTRR, MCA, DS, ACPI (thermal), TM, PBE.
 */
#define HIDE_1_ECX (0x4u | 0x8u | 0x10u | 0x20u | 0x40u | 0x80u | 0x100u | \
		    0x4000u | 0x8000u | (1u << 21) | (1u << 24))
#define HIDE_1_EDX ((1u << 7) | (1u << 12) | (1u << 14) | (1u << 21) | \
		    (1u << 22) | (1u << 29) | (1u << 31))
/*
 * leaf 7: TSC_ADJUST, SGX, INVPCID, RDT-M, RDT-A, PT (EBX); PKU, OSPKE,
 * WAITPKG, RDPID, SGX-LC (ECX). INVPCID (like XSAVES below) raises #UD in
 * a VMX guest unless a secondary control Lamina does not set allows it.
 */
#define HIDE_7_EBX ((1u << 1) | (1u << 2) | (1u << 10) | (1u << 12) | \
		    (1u << 15) | (1u << 25))
#define HIDE_7_ECX ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 22) | (1u << 30))
#define HIDE_D1_EAX (1u << 3) /* leaf 0xd subleaf 1: XSAVES/XRSTORS */
#define CPUID_1_ECX_OSXSAVE (1u << 27)
/* 0x80000001 ECX: SVM, IBS, SKINIT, WDT, the extra performance counters,
 * MONITORX; EDX: RDTSCP (Lamina keeps no TSC_AUX for guests). */
#define HIDE_81_ECX (CPUID_80000001_ECX_SVM | (1u << 10) | (1u << 12) | \
		     (1u << 13) | (1u << 23) | (1u << 24) | (1u << 28) | (1u << 29))
#define HIDE_81_EDX (1u << 27)
#define CPUID_80000007_EDX_INVARIANT_TSC (1u << 8)

/*
 * Basic leaves answered with zeros: thermal (6), performance monitoring
 * (0xa), SGX (0x12), processor trace (0x14), and the TSC/crystal and
 * processor frequency leaves 0x15/0x16: a guest's local APIC timer runs at
 * the TSC rate, not at a crystal's, and the host's values are wrong on
 * Bochs (PLATFORM.md); Linux guests get the TSC rate on their command line
 * instead. Extended: SVM (0x8000000a), memory encryption (0x8000001f).
 * Basic leaves are looked up in bit masks: the CPUID exit is the one every
 * guest hammers (its round trip is a budgeted figure, docs/performance.md).
 */
#define LEAF(l) (1u << (l))
#define HIDDEN_BASIC (LEAF(6) | LEAF(0xa) | LEAF(0x12) | LEAF(0x14) | \
		      LEAF(0x15) | LEAF(0x16))
#define FIXED_BASIC (LEAF(1) | LEAF(7) | LEAF(0xb) | LEAF(0xd) | LEAF(0x1f))

/* OSXSAVE says what the guest's own CR4 says, not Lamina's: software
 * (glibc) runs XGETBV on its word, which raises #UD with CR4.OSXSAVE 0. */
static u32 guest_osxsave(struct vcpu *v)
{
	struct vcpu_sregs s;

	hv_ops->get_sregs(v, &s);
	return s.cr4 & CR4_OSXSAVE ? CPUID_1_ECX_OSXSAVE : 0;
}

/* The basic leaves Lamina changes; the APIC IDs are the vCPU's index in
 * its VM (its "topology" is its vCPUs). */
static void fix_basic(struct vcpu *v, struct cpuid_regs *r, u32 leaf,
		      u32 subleaf)
{
	switch (leaf) {
	case 1:
		r->ebx = (r->ebx & 0x0000ffffu) | (v->id << 24) |
			 ((v->vm->nr_vcpus & 0xff) << 16);
		r->ecx = (r->ecx & ~(HIDE_1_ECX | CPUID_1_ECX_OSXSAVE)) |
			 CPUID_1_ECX_HYPERVISOR | guest_osxsave(v);
		r->edx &= ~HIDE_1_EDX;
		break;
	case 7:
		r->ebx &= ~HIDE_7_EBX;
		r->ecx &= ~HIDE_7_ECX;
		break;
	case 0xd:
		if (subleaf == 1)
			r->eax &= ~HIDE_D1_EAX;
		break;
	default: /* 0xb, 0x1f */
		r->edx = v->id; /* x2APIC ID */
	}
}

/* Extended and hypervisor leaves. */
static void extended(u32 leaf, u32 subleaf, struct cpuid_regs *r)
{
	if (leaf == CPUID_HV_BASE) {
		r->eax = CPUID_HV_BASE;
		memcpy(&r->ebx, "Lami", 4);
		memcpy(&r->ecx, "naHV", 4);
		memcpy(&r->edx, "    ", 4);
		return;
	}
	if ((leaf & 0xf0000000u) == CPUID_HV_BASE || leaf == 0x8000000a ||
	    leaf == 0x8000001f)
		return;
	*r = cpuid(leaf, subleaf);
	if (leaf == 0x80000001) {
		r->ecx &= ~HIDE_81_ECX;
		r->edx &= ~HIDE_81_EDX;
	} else if (leaf == 0x80000007) {
		r->edx &= CPUID_80000007_EDX_INVARIANT_TSC;
		r->eax = r->ebx = r->ecx = 0;
	}
}

/* The host's CPUID, less what Lamina does not virtualise, plus a
 * hypervisor leaf. */
void vcpu_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, u32 out[4])
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	if (leaf < 32) {
		if (!(LEAF(leaf) & HIDDEN_BASIC))
			r = cpuid(leaf, subleaf);
		if (LEAF(leaf) & FIXED_BASIC)
			fix_basic(v, &r, leaf, subleaf);
	} else {
		extended(leaf, subleaf, &r);
	}
	out[0] = r.eax;
	out[1] = r.ebx;
	out[2] = r.ecx;
	out[3] = r.edx;
}

#define MSR_IA32_TSC 0x10
#define MSR_IA32_MTRRCAP 0xfe
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRINGS 1

#define MSR_IA32_PAT 0x277
#define EFER_SCE (1ull << 0)

/* EFER through the neutral register state: LMA stays the CPU's. */
static bool msr_efer(struct vcpu *v, bool write, u64 *val)
{
	struct vcpu_sregs s;

	hv_ops->get_sregs(v, &s);
	if (!write) {
		*val = s.efer;
		return true;
	}
	if (*val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
		return false;
	if (((*val ^ s.efer) & EFER_LME) && (s.cr0 & CR0_PG))
		return false;
	s.efer = (*val & ~EFER_LMA) | (s.efer & EFER_LMA);
	hv_ops->set_sregs(v, &s);
	return true;
}

#define CR4_VMXE (1ull << 13)

/*
 * MOV to CR0 or CR4 that the vendor intercepts (VMX: a bit in its mask),
 * through the neutral state, where EFER.LMA follows CR0.PG with LME as the
 * CPU makes it. False: #GP (paging without protection, VMX turned on:
 * this guest sees no VMX).
 */
bool vcpu_set_cr(struct vcpu *v, unsigned int cr, u64 val)
{
	struct vcpu_sregs s;

	hv_ops->get_sregs(v, &s);
	if (cr == 0) {
		if ((val & CR0_PG) && !(val & CR0_PE))
			return false;
		s.cr0 = val;
		s.efer = (s.efer & ~EFER_LMA) |
			 ((val & CR0_PG) && (s.efer & EFER_LME) ? EFER_LMA : 0);
	} else {
		if (val & CR4_VMXE)
			return false;
		s.cr4 = val;
	}
	hv_ops->set_sregs(v, &s);
	return true;
}

/* Memory types 0, 1, 4, 5, 6, 7 in every byte; kept, with no effect
 * (guest memory is write-back). */
static bool msr_pat(struct vcpu *v, bool write, u64 *val)
{
	if (!write) {
		*val = v->pat;
		return true;
	}
	for (unsigned int i = 0; i < 8; i++) {
		u8 t = (u8)(*val >> (8 * i));

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	v->pat = *val;
	return true;
}

/*
 * RDMSR/WRMSR that exit (the SYSCALL, SYSENTER and segment-base MSRs do
 * not: each vendor lets the guest have them, see svm_vcpu.c/vmx_vcpu.c).
 * False: #GP.
 */
bool vcpu_msr(struct vcpu *v, u32 msr, bool write, u64 *val)
{
	v->exits[VEXIT_MSR]++;
	switch (msr) {
	case MSR_EFER:
		return msr_efer(v, write, val);
	case MSR_APIC_BASE:
		return vcpu_apic_base(v, write, val);
	case MSR_IA32_PAT:
		return msr_pat(v, write, val);
	case MSR_IA32_MISC_ENABLE:
		if (!write)
			*val = MISC_ENABLE_FAST_STRINGS;
		return !write;
	case MSR_IA32_TSC:
		if (!write)
			*val = rdtsc();
		return !write;
	case MSR_IA32_MTRRCAP:
		if (!write)
			*val = 0;
		return !write;
	default:
		return false;
	}
}

/*
 * XCR0 is not switched by VM entry or exit: the guest's value stays on
 * the pCPU, which Lamina (no FPU or vector code) does not mind. It must
 * still be one the CPU takes, or XSETBV would fault in Lamina.
 */
bool vcpu_xsetbv(struct vcpu *v, u32 index, u64 val)
{
	struct cpuid_regs xs = cpuid(0xd, 0);
	u64 supported = xs.eax | ((u64)xs.edx << 32);

	(void)v;
	if (index != 0 || !(read_cr4() & CR4_OSXSAVE))
		return false;
	if (!(val & XCR0_X87) || (val & ~supported) ||
	    ((val & XCR0_AVX) && !(val & XCR0_SSE)))
		return false;
	xsetbv(0, val);
	return true;
}

/* Bytes written, or -HV_EINVAL (nothing written) for a bad buffer. */
static u64 hc_console_write(struct vm *vm, u64 gpa, u64 len)
{
	u8 chunk[128]; /* on the stack: vCPUs of other VMs call this at once */
	u8 probe;

	if (len > HC_CONSOLE_MAX || gpa + len < gpa ||
	    (len && vm_read_gpa(vm, gpa + len - 1, &probe, 1)))
		return (u64)-HV_EINVAL;
	for (u64 done = 0; done < len;) {
		u64 n = MIN(len - done, sizeof(chunk));

		if (vm_read_gpa(vm, gpa + done, chunk, n))
			return (u64)-HV_EINVAL;
		vm_console_write(vm, (const char *)chunk, n);
		done += n;
	}
	return len;
}

enum exit_action vcpu_hypercall(struct vcpu *v, u64 *rax)
{
	struct vm *vm = v->vm;

	v->exits[VEXIT_HYPERCALL]++;
	switch (*rax) {
	case HC_VERSION:
		*rax = (HC_ABI_MAJOR << 16) | HC_ABI_MINOR;
		return EXIT_RESUME;
	case HC_VM_ID:
		*rax = vm->id;
		return EXIT_RESUME;
	case HC_STOP:
		vm->exit_status = (u32)v->gprs.rbx;
		return vcpu_stop(v, false, "hypercall stop, code 0x%llx",
				 (unsigned long long)v->gprs.rbx);
	case HC_CONSOLE_WRITE:
		*rax = hc_console_write(vm, v->gprs.rbx, v->gprs.rcx);
		return EXIT_RESUME;
	default:
		*rax = (u64)-HV_ENOSYS;
		return EXIT_RESUME;
	}
}
