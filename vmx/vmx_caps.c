/*
 * VMX capabilities: decoding the capability MSRs and turning them into
 * control values. Pure: the unit tests feed it recorded MSR values.
 */
#include <lamina/errno.h>
#include <lamina/lib.h>

#include "vmx.h"

#define FIELD(n) { #n, offsetof(struct hv_caps, raw.vmx.n) }
const struct caps_field vmx_caps_fields[VMX_NR_CAPS_FIELDS] = {
	FIELD(basic), FIELD(pinbased), FIELD(procbased), FIELD(procbased2),
	FIELD(exit), FIELD(entry), FIELD(misc), FIELD(ept_vpid),
	FIELD(cr0_fixed0), FIELD(cr0_fixed1), FIELD(cr4_fixed0),
	FIELD(cr4_fixed1), FIELD(feature_control),
};
#undef FIELD
/* Every raw field is compared: a new one must be listed above. */
BUILD_BUG_ON(VMX_NR_CAPS_FIELDS * sizeof(u64) != sizeof(struct vmx_caps));

int vmx_adjust_ctls(u64 cap_msr, u32 required, u32 optional, u32 *out,
		    u32 *missing)
{
	u32 must_be_one = (u32)cap_msr, may_be_one = (u32)(cap_msr >> 32);

	*missing = required & ~may_be_one;
	*out = ((required | optional) & may_be_one) | must_be_one;
	return *missing ? -HV_EOPNOTSUPP : 0;
}

static bool allowed1(u64 cap_msr, u32 bit)
{
	return (cap_msr >> 32) & bit;
}

void vmx_decode_caps(struct hv_caps *caps)
{
	const struct vmx_caps *v = &caps->raw.vmx;
	struct hv_features *f = &caps->f;
	u64 ept = v->ept_vpid;

	memset(f, 0, sizeof(*f));
	f->vmcs_revision = v->basic & 0x7fffffff;
	f->vmxon_size = (v->basic >> 32) & 0x1fff;
	f->true_ctls = v->basic & VMX_BASIC_TRUE_CTLS;
	f->preempt_timer = allowed1(v->pinbased, PIN_PREEMPTION_TIMER);
	f->preempt_rate = v->misc & 0x1f;
	f->vpid = allowed1(v->procbased2, PROC2_VPID);
	f->unrestricted = allowed1(v->procbased2, PROC2_UNRESTRICTED);
	if (!allowed1(v->procbased2, PROC2_EPT))
		return;
	f->ept_wb = ept & EPT_CAP_WB;
	f->ept_2m = ept & EPT_CAP_2M;
	f->ept_1g = ept & EPT_CAP_1G;
	f->s2_2m = f->ept_2m;
	f->s2_1g = f->ept_1g;
	f->ept_ad = ept & EPT_CAP_AD;
	f->invept_single = (ept & EPT_CAP_INVEPT) && (ept & EPT_CAP_INVEPT_SINGLE);
	f->invept_all = (ept & EPT_CAP_INVEPT) && (ept & EPT_CAP_INVEPT_ALL);
}

struct ctl_want {
	const char *name;
	size_t offset; /* of the capability MSR in struct vmx_caps */
	size_t out;    /* of the value in struct vmx_config */
	u32 required, optional;
};

#define WANT(n, cap, req, opt) \
	{ #n, offsetof(struct vmx_caps, cap), offsetof(struct vmx_config, n), req, opt }
static const struct ctl_want wants[] = {
	WANT(pin, pinbased, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING,
	     PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER),
	/* Without TPR shadowing, a guest's MOV to CR8 would set the
	 * physical TPR: it must exit (SVM's V_INTR_MASKING does the same). */
	WANT(proc, procbased, PROC_HLT_EXITING | PROC_USE_IO_BITMAPS |
	     PROC_USE_MSR_BITMAPS | PROC_SECONDARY | PROC_CR8_LOAD_EXITING |
	     PROC_CR8_STORE_EXITING, 0),
	WANT(proc2, procbased2, PROC2_EPT, PROC2_VPID | PROC2_UNRESTRICTED),
	WANT(exit, exit, EXIT_HOST_ADDR_64 | EXIT_ACK_INTR,
	     EXIT_SAVE_EFER | EXIT_LOAD_EFER),
	WANT(entry, entry, 0, ENTRY_LOAD_EFER),
};
#undef WANT

int vmx_compute_config(const struct hv_caps *caps, struct vmx_config *cfg,
		       char *why, size_t len)
{
	const u8 *raw = (const u8 *)&caps->raw.vmx;

	for (size_t i = 0; i < ARRAY_SIZE(wants); i++) {
		const struct ctl_want *w = &wants[i];
		u64 cap;
		u32 val, missing;

		memcpy(&cap, raw + w->offset, sizeof(cap));
		if (vmx_adjust_ctls(cap, w->required, w->optional, &val,
				    &missing)) {
			snprintf(why, len, "%s controls: required bits 0x%x not allowed (capability MSR 0x%016llx)",
				 w->name, missing, (unsigned long long)cap);
			return -HV_EOPNOTSUPP;
		}
		memcpy((u8 *)cfg + w->out, &val, sizeof(val));
	}
	if (!(caps->raw.vmx.ept_vpid & EPT_CAP_WALK_4) || !caps->f.ept_wb) {
		snprintf(why, len, "EPT without 4-level walks or write-back tables (EPT/VPID caps 0x%016llx)",
			 (unsigned long long)caps->raw.vmx.ept_vpid);
		return -HV_EOPNOTSUPP;
	}
	return 0;
}

const char *vmx_insn_error_name(u64 err)
{
	static const char *const names[] = {
		[1] = "VMCALL in VMX root operation",
		[2] = "VMCLEAR with invalid address",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[7] = "entry with invalid control fields",
		[8] = "entry with invalid host-state fields",
		[9] = "VMPTRLD with invalid address",
		[11] = "VMPTRLD with incorrect VMCS revision",
		[12] = "VMREAD/VMWRITE of an unsupported field",
		[13] = "VMWRITE to a read-only field",
		[26] = "entry with events blocked by MOV SS",
	};

	return err < ARRAY_SIZE(names) && names[err] ? names[err] : "see SDM 31.4";
}
