/* Intel VMX: MSRs, control bits, and the pure helpers in vmx_caps.c. */
#ifndef LAMINA_VMX_H
#define LAMINA_VMX_H

#include <lamina/hv.h>

#define MSR_IA32_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCKED (1ull << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ull << 2)

#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490

#define VMX_BASIC_TRUE_CTLS (1ull << 55)

/* Pin-based controls */
#define PIN_EXT_INTR_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
/* Primary processor-based controls */
#define PROC_INTR_WINDOW (1u << 2)
#define PROC_HLT_EXITING (1u << 7)
#define PROC_CR8_LOAD_EXITING (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based controls */
#define PROC2_EPT (1u << 1)
#define PROC2_VPID (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)
/* VM-exit controls */
#define EXIT_HOST_ADDR_64 (1u << 9)
#define EXIT_ACK_INTR (1u << 15)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
/* VM-entry controls */
#define ENTRY_IA32E_GUEST (1u << 9)
#define ENTRY_LOAD_EFER (1u << 15)

/* IA32_VMX_EPT_VPID_CAP */
#define EPT_CAP_WALK_4 (1ull << 6)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)
#define EPT_CAP_1G (1ull << 17)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_AD (1ull << 21)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)

/* The control values Lamina runs guests with (KVM's vmcs_config). */
struct vmx_config {
	u32 pin, proc, proc2, exit, entry;
};

/*
 * From a capability MSR (low half: bits that must be 1; high half: bits
 * that may be 1), the control value with every @required bit, those
 * @optional bits the CPU allows, and the bits the CPU forces on. Returns 0,
 * or -HV_EOPNOTSUPP with the required bits the CPU refuses in *@missing.
 */
int vmx_adjust_ctls(u64 cap_msr, u32 required, u32 optional, u32 *out,
		    u32 *missing);

/* Decode raw caps into caps->f. */
void vmx_decode_caps(struct hv_caps *caps);

/*
 * Compute the controls Lamina needs from @caps. Returns 0, or
 * -HV_EOPNOTSUPP with @why naming the control (and bits) refused.
 */
int vmx_compute_config(const struct hv_caps *caps, struct vmx_config *cfg,
		       char *why, size_t len);

/* The controls hardware_setup computed (vmx.c). */
extern struct vmx_config vmx_config;

static inline u64 vmread(u64 field)
{
	u64 v;

	__asm__ __volatile__("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
	return v;
}

static inline void vmwrite(u64 field, u64 v)
{
	__asm__ __volatile__("vmwrite %1, %0" ::"r"(field), "rm"(v) : "cc");
}

/* vmx_vcpu.c, wired into vmx_ops */
int vmx_vcpu_create(struct vcpu *v);
void vmx_vcpu_destroy(struct vcpu *v);
int vmx_vcpu_load(struct vcpu *v);
void vmx_vcpu_put(struct vcpu *v);
void vmx_flush_tlb(struct vcpu *v);
void vmx_get_regs(struct vcpu *v, struct vcpu_regs *r);
void vmx_set_regs(struct vcpu *v, const struct vcpu_regs *r);
void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *s);
bool vmx_set_slice(struct vcpu *v, u32 us);
/* vmx_exit.c */
bool vmx_inject_irq(struct vcpu *v, int vector);
void vmx_inject_exception(struct vcpu *v, u8 vector, bool has_error,
			  u32 error_code, u64 cr2);
enum exit_action vmx_vcpu_run(struct vcpu *v);

/* Name of a VM-instruction error number (SDM vol. 3, 31.4). */
const char *vmx_insn_error_name(u64 err);

#define VMX_NR_CAPS_FIELDS 13
extern const struct caps_field vmx_caps_fields[VMX_NR_CAPS_FIELDS];

#endif
