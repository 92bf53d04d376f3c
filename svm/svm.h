/* AMD SVM: MSRs, CPUID bits, and the pure helpers in svm_caps.c. */
#ifndef LAMINA_SVM_H
#define LAMINA_SVM_H

#include <lamina/hv.h>

#define MSR_VM_CR 0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117
#define VM_CR_LOCK (1ull << 3)
#define VM_CR_SVMDIS (1ull << 4)
#define EFER_SVME (1ull << 12)

#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_SVM_LEAF 0x8000000a

/* CPUID 0x8000000a EDX */
#define SVM_FEAT_NPT (1u << 0)
#define SVM_FEAT_NRIPS (1u << 3)
#define SVM_FEAT_TSC_RATE (1u << 4)
#define SVM_FEAT_VMCB_CLEAN (1u << 5)
#define SVM_FEAT_FLUSH_BY_ASID (1u << 6)
#define SVM_FEAT_DECODE_ASSISTS (1u << 7)
#define SVM_FEAT_PAUSE_FILTER (1u << 10)
#define SVM_FEAT_AVIC (1u << 13)

void svm_decode_caps(struct hv_caps *caps);

/* svm_vcpu.c, wired into svm_ops */
int svm_vcpu_create(struct vcpu *v);
void svm_vcpu_destroy(struct vcpu *v);
int svm_vcpu_load(struct vcpu *v);
void svm_flush_tlb(struct vcpu *v);
void svm_get_regs(struct vcpu *v, struct vcpu_regs *r);
void svm_set_regs(struct vcpu *v, const struct vcpu_regs *r);
void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
void svm_set_sregs(struct vcpu *v, const struct vcpu_sregs *s);
/* svm_check.c: the field VMRUN would refuse, or NULL when it finds none */
const char *svm_vmcb_invalid_reason(const u8 *vmcb);

/* svm_exit.c */
bool svm_inject_irq(struct vcpu *v, int vector);
void svm_inject_exception(struct vcpu *v, u8 vector, bool has_error,
			  u32 error_code, u64 cr2);
enum exit_action svm_vcpu_run(struct vcpu *v);

#define SVM_NR_CAPS_FIELDS 4
extern const struct caps_field svm_caps_fields[SVM_NR_CAPS_FIELDS];

#endif
