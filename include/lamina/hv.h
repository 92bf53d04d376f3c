/*
 * Virtualisation start-up: the vendor-neutral side of hv_init(), the
 * bare-metal counterpart of KVM's kvm_init(). vmx/ and svm/ each export one
 * struct vendor_ops; CPUID picks one at boot.
 */
#ifndef LAMINA_HV_H
#define LAMINA_HV_H

#include <lamina/compiler.h>
#include <lamina/vcpu.h>

enum hv_vendor { HV_VENDOR_NONE, HV_VENDOR_INTEL, HV_VENDOR_AMD };

/* Raw capability registers: what the compatibility check compares. */
struct vmx_caps {
	u64 basic;           /* IA32_VMX_BASIC */
	u64 pinbased;        /* the TRUE MSRs where BASIC bit 55 says so */
	u64 procbased;
	u64 procbased2;      /* 0 when secondary controls are not allowed */
	u64 exit;
	u64 entry;
	u64 misc;
	u64 ept_vpid;        /* 0 when neither EPT nor VPID can be enabled */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 feature_control; /* IA32_FEATURE_CONTROL as firmware left it */
};

struct svm_caps {
	u64 revision;  /* CPUID 0x8000000a EAX */
	u64 nr_asids;  /* EBX */
	u64 features;  /* EDX */
	u64 vm_cr;     /* VM_CR MSR */
};

/* Features decoded from the raw registers, for both vendors. */
struct hv_features {
	bool ept_2m, ept_1g, ept_ad, ept_wb, invept_single, invept_all;
	bool vpid, unrestricted, preempt_timer, true_ctls;
	u8 preempt_rate; /* the timer counts every 2^rate TSC ticks */
	bool npt, nrips, decode_assists, vmcb_clean, flush_by_asid;
	bool pause_filter, avic, tsc_ratio;
	u32 nr_asids;
	u32 vmcs_revision, vmxon_size;
	/* Second-level (EPT/NPT) large pages the CPU supports. */
	bool s2_2m, s2_1g;
};

struct hv_caps {
	union {
		struct vmx_caps vmx;
		struct svm_caps svm;
	} raw;
	struct hv_features f;
};

/* One named field of the raw caps, for the compatibility check. */
struct caps_field {
	const char *name;
	size_t offset; /* in struct hv_caps */
};

/*
 * Compare the raw fields listed in @fields; returns the first field that
 * differs, or NULL when @a and @b agree.
 */
const struct caps_field *hv_caps_diff(const struct hv_caps *a,
				      const struct hv_caps *b,
				      const struct caps_field *fields,
				      size_t nr_fields);

/* Per-CPU virtualisation state. */
struct hv_cpu {
	struct hv_caps caps;
	bool compat_checked;
	bool compat_ok;
	const char *compat_field; /* the differing field when !compat_ok */
	bool enabled;             /* hardware_enable succeeded here */
	void *region;             /* VMXON region or host-save area */
};

typedef void (*hv_print_fn)(void *ctx, const char *fmt, ...) __printf(2, 3);

struct vendor_ops {
	const char *name;          /* "vmx" or "svm" */
	const char *long_name;     /* "Intel VMX" */
	enum hv_vendor vendor;
	const struct caps_field *caps_fields;
	size_t nr_caps_fields;
#define VENDOR_OP(kind, ret, name, args) ret(*name) args;
#include <lamina/vendor-ops.h>
#undef VENDOR_OP
};

extern const struct vendor_ops vmx_ops, svm_ops;

/* The running system's state (kernel/hv_init.c). */
extern const struct vendor_ops *hv_ops; /* NULL when not supported */
extern struct hv_cpu hv_cpus[];        /* indexed like percpu[] */
extern struct hv_caps hv_boot_caps;    /* the boot CPU's, after setup */

int hv_init(void);
bool hv_active(void);
/* Why virtualisation is off ("" when on). */
const char *hv_off_reason(void);
/* What CPU @cpu itself says (CR4.VMXE / EFER.SVME), asked on that CPU. */
bool hv_cpu_virt_on(unsigned int cpu);
/* Turn virtualisation off on every CPU where it is on (reboot). */
void hv_disable_all(void);
/*
 * Turn it off on this CPU, from an NMI on the way to a halt (panic): no
 * locks, no printing. Returns whether the CPU now says it is off.
 */
bool hv_emergency_disable(void);
/* The boot step names, in order, and how long each took. */
unsigned int hv_nr_steps(void);
const char *hv_step_name(unsigned int i);

#endif
