/*
 * Why VMRUN would refuse a VMCB (VMEXIT_INVALID), field by field: the
 * consistency checks of AMD APM vol. 2, 15.5.1, that Lamina's own state
 * can break. The CPU says only "invalid"; this names the field. Pure, so
 * the unit tests run it on hand-made VMCBs.
 */
#include <lamina/types.h>
#include <lamina/x86.h>

#include "svm.h"
#include "vmcb.h"

#define CR0_CD (1ull << 30)
#define CR0_NW (1ull << 29)
#define EFER_ALLOWED 0xfd01ull /* SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE */
#define CS_ATTR_L (1u << 9)
#define CS_ATTR_D (1u << 10)
#define MISC2_VMRUN 1u

const char *svm_vmcb_invalid_reason(const u8 *vmcb)
{
	u64 efer = FIELD(vmcb, VMCB_EFER, u64), cr0 = FIELD(vmcb, VMCB_CR0, u64);
	u64 cr4 = FIELD(vmcb, VMCB_CR4, u64);
	u16 cs_attr = FIELD(vmcb, VMCB_CS + 2, u16);
	bool long_paging = (efer & EFER_LME) && (cr0 & CR0_PG);

	if (!(efer & EFER_SVME))
		return "EFER.SVME is clear";
	if (efer & ~EFER_ALLOWED)
		return "EFER has reserved bits set";
	if ((cr0 & CR0_NW) && !(cr0 & CR0_CD))
		return "CR0.NW is set with CR0.CD clear";
	if (cr0 >> 32)
		return "CR0 bits 63:32 are not zero";
	if (cr4 >> 32)
		return "CR4 bits 63:32 are not zero";
	if (FIELD(vmcb, VMCB_DR6, u64) >> 32 || FIELD(vmcb, VMCB_DR7, u64) >> 32)
		return "DR6 or DR7 bits 63:32 are not zero";
	if (long_paging && !(cr4 & CR4_PAE))
		return "EFER.LME and CR0.PG set with CR4.PAE clear";
	if (long_paging && !(cr0 & CR0_PE))
		return "EFER.LME and CR0.PG set with CR0.PE clear";
	if (long_paging && (cs_attr & CS_ATTR_L) && (cs_attr & CS_ATTR_D))
		return "CS.L and CS.D both set in long mode";
	if (!(FIELD(vmcb, VMCB_INTERCEPT_MISC2, u32) & MISC2_VMRUN))
		return "the VMRUN intercept is clear";
	if (!FIELD(vmcb, VMCB_ASID, u32))
		return "the ASID is 0 (the host's)";
	return NULL;
}
