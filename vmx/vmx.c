/*
 * Intel VMX: detection, capability reading, VMXON and VMXOFF. The rest of
 * Lamina reaches this file only through vmx_ops.
 */
#define pr_fmt(fmt) "vmx: " fmt

#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/x86.h>

#include "vmx.h"

#define CPUID_1_ECX_VMX (1u << 5)
#define CR4_VMXE (1ull << 13)

struct vmx_config vmx_config;

static int vmx_check_support(char *why, size_t len)
{
	u64 fc;

	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_VMX)) {
		snprintf(why, len, "this Intel CPU has no VMX");
		return -HV_ENODEV;
	}
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCKED) &&
	    !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
		snprintf(why, len, "VMX is locked off by the firmware (IA32_FEATURE_CONTROL 0x%llx): turn on Intel Virtualization Technology (VT-x) in the firmware set-up",
			 (unsigned long long)fc);
		return -HV_EPERM;
	}
	return 0;
}

static u64 ctl_msr(bool true_ctls, u32 true_msr, u32 msr)
{
	return rdmsr(true_ctls ? true_msr : msr);
}

static void vmx_read_caps(struct hv_caps *caps)
{
	struct vmx_caps *v = &caps->raw.vmx;
	bool t;

	memset(caps, 0, sizeof(*caps));
	v->basic = rdmsr(MSR_IA32_VMX_BASIC);
	t = v->basic & VMX_BASIC_TRUE_CTLS;
	v->pinbased = ctl_msr(t, MSR_IA32_VMX_TRUE_PINBASED_CTLS,
			      MSR_IA32_VMX_PINBASED_CTLS);
	v->procbased = ctl_msr(t, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
			       MSR_IA32_VMX_PROCBASED_CTLS);
	v->exit = ctl_msr(t, MSR_IA32_VMX_TRUE_EXIT_CTLS, MSR_IA32_VMX_EXIT_CTLS);
	v->entry = ctl_msr(t, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
			   MSR_IA32_VMX_ENTRY_CTLS);
	v->misc = rdmsr(MSR_IA32_VMX_MISC);
	v->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	v->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	v->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	v->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	v->feature_control = rdmsr(MSR_IA32_FEATURE_CONTROL);
	/* These MSRs exist only when the controls they describe may be set. */
	if ((v->procbased >> 32) & PROC_SECONDARY)
		v->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	if ((v->procbased2 >> 32) & (PROC2_EPT | PROC2_VPID))
		v->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
}

static int vmx_hardware_setup(struct hv_caps *caps, char *why, size_t len)
{
	vmx_decode_caps(caps);
	if (!((caps->raw.vmx.procbased2 >> 32) & PROC2_EPT)) {
		snprintf(why, len, "this CPU's VMX has no EPT (nested paging)");
		return -HV_EOPNOTSUPP;
	}
	if (caps->f.vmxon_size > PAGE_SIZE) {
		snprintf(why, len, "VMXON region of %u bytes (more than a page)",
			 caps->f.vmxon_size);
		return -HV_EOPNOTSUPP;
	}
	return vmx_compute_config(caps, &vmx_config, why, len);
}

static int vmxon(u64 pa)
{
	u8 failed;

	__asm__ __volatile__("vmxon %1; setna %0"
			     : "=q"(failed)
			     : "m"(pa)
			     : "cc", "memory");
	return failed ? -HV_EIO : 0;
}

static int vmx_hardware_enable(struct hv_cpu *hc)
{
	const struct vmx_caps *v = &hv_boot_caps.raw.vmx;
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	u64 cr4 = read_cr4();

	if (!(fc & FEATURE_CONTROL_LOCKED))
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCKED |
						FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	else if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX))
		return -HV_EPERM;
	*(u32 *)hc->region = hv_boot_caps.f.vmcs_revision;
	write_cr0((read_cr0() | v->cr0_fixed0) & v->cr0_fixed1);
	write_cr4(((cr4 | CR4_VMXE) | v->cr4_fixed0) & v->cr4_fixed1);
	if (vmxon((u64)(uintptr_t)hc->region)) {
		write_cr4(cr4);
		return -HV_EIO;
	}
	return 0;
}

static void vmx_hardware_disable(struct hv_cpu *hc)
{
	(void)hc;
	__asm__ __volatile__("vmxoff" ::: "cc", "memory");
	write_cr4(read_cr4() & ~CR4_VMXE);
}

static bool vmx_cpu_virt_on(void)
{
	return read_cr4() & CR4_VMXE;
}

static void vmx_print_caps(const struct hv_caps *caps, hv_print_fn pr, void *ctx)
{
	const struct hv_features *f = &caps->f;

	pr(ctx, "VMCS revision 0x%x, VMXON region %u bytes, TRUE controls %s\r\n",
	   f->vmcs_revision, f->vmxon_size, yes_no(f->true_ctls));
	pr(ctx, "controls: pin 0x%08x proc 0x%08x proc2 0x%08x exit 0x%08x entry 0x%08x\r\n",
	   vmx_config.pin, vmx_config.proc, vmx_config.proc2, vmx_config.exit,
	   vmx_config.entry);
	pr(ctx, "EPT: 2M pages %s, 1G pages %s, A/D bits %s, INVEPT single %s all %s\r\n",
	   yes_no(f->ept_2m), yes_no(f->ept_1g), yes_no(f->ept_ad), yes_no(f->invept_single),
	   yes_no(f->invept_all));
	pr(ctx, "VPID %s, unrestricted guest %s, preemption timer %s (rate 2^%u)\r\n",
	   yes_no(f->vpid), yes_no(f->unrestricted), yes_no(f->preempt_timer),
	   f->preempt_rate);
	pr(ctx, "Lamina will use: EPT with %s pages%s%s%s\r\n",
	   f->ept_1g ? "1G/2M/4K" : f->ept_2m ? "2M/4K" : "4K",
	   vmx_config.proc2 & PROC2_VPID ? ", VPID" : "",
	   vmx_config.proc2 & PROC2_UNRESTRICTED ? ", unrestricted guest" : "",
	   vmx_config.pin & PIN_PREEMPTION_TIMER ? ", preemption timer" : "");
}

const struct vendor_ops vmx_ops = {
	.name = "vmx",
	.long_name = "Intel VMX",
	.vendor = HV_VENDOR_INTEL,
	.caps_fields = vmx_caps_fields,
	.nr_caps_fields = ARRAY_SIZE(vmx_caps_fields),
	.check_support = vmx_check_support,
	.read_caps = vmx_read_caps,
	.hardware_setup = vmx_hardware_setup,
	.hardware_enable = vmx_hardware_enable,
	.hardware_disable = vmx_hardware_disable,
	.cpu_virt_on = vmx_cpu_virt_on,
	.print_caps = vmx_print_caps,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_load = vmx_vcpu_load,
	.vcpu_put = vmx_vcpu_put,
	.flush_tlb = vmx_flush_tlb,
	.get_regs = vmx_get_regs,
	.set_regs = vmx_set_regs,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.set_slice = vmx_set_slice,
	.inject_exception = vmx_inject_exception,
	.inject_irq = vmx_inject_irq,
	.vcpu_run = vmx_vcpu_run,
};
