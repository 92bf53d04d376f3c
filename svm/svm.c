/*
 * AMD SVM: detection, capability reading, EFER.SVME with a host-save area.
 * The rest of Lamina reaches this file only through svm_ops.
 */
#define pr_fmt(fmt) "svm: " fmt

#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/x86.h>

#include "svm.h"

static int svm_check_support(char *why, size_t len)
{
	u64 vm_cr;

	/* Check the leaf range first: Intel models return leftovers above it. */
	if (cpuid(0x80000000, 0).eax < CPUID_SVM_LEAF ||
	    !(cpuid(0x80000001, 0).ecx & CPUID_80000001_ECX_SVM)) {
		snprintf(why, len, "this AMD CPU has no SVM");
		return -HV_ENODEV;
	}
	vm_cr = rdmsr(MSR_VM_CR);
	if (vm_cr & VM_CR_SVMDIS) {
		snprintf(why, len, "SVM is disabled by the firmware (VM_CR 0x%llx%s): turn on SVM Mode / AMD-V in the firmware set-up",
			 (unsigned long long)vm_cr,
			 vm_cr & VM_CR_LOCK ? ", locked" : "");
		return -HV_EPERM;
	}
	return 0;
}

static void svm_read_caps(struct hv_caps *caps)
{
	struct cpuid_regs r = cpuid(CPUID_SVM_LEAF, 0);

	memset(caps, 0, sizeof(*caps));
	caps->raw.svm.revision = r.eax & 0xff;
	caps->raw.svm.nr_asids = r.ebx;
	caps->raw.svm.features = r.edx;
	caps->raw.svm.vm_cr = rdmsr(MSR_VM_CR);
}

#define CPUID_80000001_EDX_1G_PAGES (1u << 26)

static int svm_hardware_setup(struct hv_caps *caps, char *why, size_t len)
{
	svm_decode_caps(caps);
	/* Nested page tables take the host's page sizes (APM 15.25). */
	caps->f.s2_2m = true;
	caps->f.s2_1g = cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_1G_PAGES;
	if (!caps->f.npt) {
		snprintf(why, len, "this CPU's SVM has no nested paging (NPT)");
		return -HV_EOPNOTSUPP;
	}
	if (caps->f.nr_asids < 2) {
		snprintf(why, len, "%u ASIDs: none left for guests",
			 caps->f.nr_asids);
		return -HV_EOPNOTSUPP;
	}
	return 0;
}

static int svm_hardware_enable(struct hv_cpu *hc)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, (u64)(uintptr_t)hc->region);
	return 0;
}

static void svm_hardware_disable(struct hv_cpu *hc)
{
	(void)hc;
	wrmsr(MSR_VM_HSAVE_PA, 0);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SVME);
}

static bool svm_cpu_virt_on(void)
{
	return rdmsr(MSR_EFER) & EFER_SVME;
}

static void svm_print_caps(const struct hv_caps *caps, hv_print_fn pr, void *ctx)
{
	const struct hv_features *f = &caps->f;

	pr(ctx, "SVM revision %llu, %u ASIDs, VM_CR 0x%llx\r\n",
	   (unsigned long long)caps->raw.svm.revision, f->nr_asids,
	   (unsigned long long)caps->raw.svm.vm_cr);
	pr(ctx, "NPT %s, NRIPS %s, decode assists %s, VMCB clean bits %s, flush by ASID %s\r\n",
	   yes_no(f->npt), yes_no(f->nrips), yes_no(f->decode_assists),
	   yes_no(f->vmcb_clean), yes_no(f->flush_by_asid));
	pr(ctx, "pause filter %s, AVIC %s, TSC ratio %s\r\n", yes_no(f->pause_filter),
	   yes_no(f->avic), yes_no(f->tsc_ratio));
	pr(ctx, "Lamina will use: NPT with %s pages%s%s%s\r\n",
	   f->s2_1g ? "1G/2M/4K" : "2M/4K",
	   f->nrips ? ", NRIPS (next RIP from the CPU)" :
		      ", its own instruction lengths (no NRIPS)",
	   f->flush_by_asid ? ", flush by ASID" : "",
	   f->vmcb_clean ? ", VMCB clean bits" : "");
}

const struct vendor_ops svm_ops = {
	.name = "svm",
	.long_name = "AMD SVM",
	.vendor = HV_VENDOR_AMD,
	.caps_fields = svm_caps_fields,
	.nr_caps_fields = ARRAY_SIZE(svm_caps_fields),
	.check_support = svm_check_support,
	.read_caps = svm_read_caps,
	.hardware_setup = svm_hardware_setup,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.cpu_virt_on = svm_cpu_virt_on,
	.print_caps = svm_print_caps,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_load = svm_vcpu_load,
	.flush_tlb = svm_flush_tlb,
	.get_regs = svm_get_regs,
	.set_regs = svm_set_regs,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.inject_exception = svm_inject_exception,
	.inject_irq = svm_inject_irq,
	.vcpu_run = svm_vcpu_run,
};
