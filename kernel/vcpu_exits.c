/*
 * Exit handlers every vendor shares: the CPUID policy, the MSR allow
 * list, XSETBV and the hypercall ABI (include/abi/hypercall.h). vmx/ and
 * svm/ decode their exit and call these with plain values.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <abi/hypercall.h>
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_HV_BASE 0x40000000u
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)

/*
 * The host's CPUID, less virtualisation, plus a hypervisor leaf; the
 * APIC IDs are the vCPU's index in its VM (its "topology" is its vCPUs).
 */
void vcpu_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, u32 out[4])
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	if (leaf == CPUID_HV_BASE) {
		r.eax = CPUID_HV_BASE;
		memcpy(&r.ebx, "Lami", 4);
		memcpy(&r.ecx, "naHV", 4);
		memcpy(&r.edx, "    ", 4);
	} else if (leaf != 0x8000000a && (leaf & 0xf0000000u) != CPUID_HV_BASE) {
		r = cpuid(leaf, subleaf);
	}
	if (leaf == 1) {
		r.ebx = (r.ebx & 0x0000ffffu) | (v->id << 24) |
			((v->vm->nr_vcpus & 0xff) << 16);
		r.ecx &= ~CPUID_1_ECX_VMX;
		r.ecx |= CPUID_1_ECX_HYPERVISOR;
	}
	if (leaf == 0xb || leaf == 0x1f)
		r.edx = v->id; /* x2APIC ID */
	if (leaf == 0x80000001)
		r.ecx &= ~CPUID_80000001_ECX_SVM;
	out[0] = r.eax;
	out[1] = r.ebx;
	out[2] = r.ecx;
	out[3] = r.edx;
}

#define MSR_IA32_TSC 0x10
#define MSR_IA32_MTRRCAP 0xfe
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRINGS 1

bool vcpu_msr(struct vcpu *v, u32 msr, bool write, u64 *val)
{
	v->exits[VEXIT_MSR]++;
	if (write)
		return false;
	switch (msr) {
	case MSR_IA32_TSC:
		*val = rdtsc();
		return true;
	case MSR_IA32_MTRRCAP:
		*val = 0;
		return true;
	case MSR_IA32_MISC_ENABLE:
		*val = MISC_ENABLE_FAST_STRINGS;
		return true;
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
