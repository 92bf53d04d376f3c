/* SVM capabilities from CPUID 0x8000000a. Pure, for the unit tests too. */
#include <lamina/lib.h>

#include "svm.h"

#define FIELD(n) { #n, offsetof(struct hv_caps, raw.svm.n) }
const struct caps_field svm_caps_fields[SVM_NR_CAPS_FIELDS] = {
	FIELD(revision), FIELD(nr_asids), FIELD(features), FIELD(vm_cr),
};
#undef FIELD
BUILD_BUG_ON(SVM_NR_CAPS_FIELDS * sizeof(u64) != sizeof(struct svm_caps));

void svm_decode_caps(struct hv_caps *caps)
{
	u64 e = caps->raw.svm.features;
	struct hv_features *f = &caps->f;

	memset(f, 0, sizeof(*f));
	f->nr_asids = (u32)caps->raw.svm.nr_asids;
	f->npt = e & SVM_FEAT_NPT;
	f->nrips = e & SVM_FEAT_NRIPS;
	f->tsc_ratio = e & SVM_FEAT_TSC_RATE;
	f->vmcb_clean = e & SVM_FEAT_VMCB_CLEAN;
	f->flush_by_asid = e & SVM_FEAT_FLUSH_BY_ASID;
	f->decode_assists = e & SVM_FEAT_DECODE_ASSISTS;
	f->pause_filter = e & SVM_FEAT_PAUSE_FILTER;
	f->avic = e & SVM_FEAT_AVIC;
}
