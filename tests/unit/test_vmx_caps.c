/*
 * Unit tests for the pure capability helpers: vmx/vmx_caps.c,
 * svm/svm_caps.c and hv_caps_diff() (kernel/hv_caps.c), fed capability
 * values recorded from Bochs 2.7 and QEMU 7.2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/lib.h>

#include "../../svm/svm.h"
#include "../../vmx/vmx.h"

#include "recorded_caps.h"

static const struct svm_caps wide_asids = {
	.revision = 1, .nr_asids = 0x10000, .features = 0xffffffff, .vm_cr = 0,
};

static struct hv_caps vmx_record(const struct vmx_caps *raw)
{
	struct hv_caps caps;

	memset(&caps, 0, sizeof(caps));
	caps.raw.vmx = *raw;
	return caps;
}

static struct hv_caps svm_record(const struct svm_caps *raw)
{
	struct hv_caps caps;

	memset(&caps, 0, sizeof(caps));
	caps.raw.svm = *raw;
	return caps;
}

/* ------------------------------------------------------- vmx_adjust_ctls */

struct adjust_case {
	const char *what;
	u64 cap_msr;
	u32 required, optional;
	int rc;
	u32 out;     /* checked when rc == 0 */
	u32 missing;
};

static const struct adjust_case adjust_cases[] = {
	{ "pin: required and optional allowed, 0x16 forced on",
	  0x0000007f00000016ull, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING,
	  PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER, 0, 0x7f, 0 },
	{ "proc: Lamina's four required bits",
	  0xf7f9fffe04006172ull, PROC_HLT_EXITING | PROC_USE_IO_BITMAPS |
	  PROC_USE_MSR_BITMAPS | PROC_SECONDARY, 0, 0, 0x960061f2, 0 },
	{ "proc2: EPT, VPID, unrestricted on Skylake-X",
	  0x02177fff00000000ull, PROC2_EPT, PROC2_VPID | PROC2_UNRESTRICTED,
	  0, 0xa2, 0 },
	{ "proc2: optional bit 20 refused on Sandy Bridge is dropped",
	  0x000000ff00000000ull, PROC2_EPT, 1u << 20, 0, PROC2_EPT, 0 },
	{ "proc2: optional bit 20 allowed on Skylake-X is kept",
	  0x02177fff00000000ull, PROC2_EPT, 1u << 20, 0,
	  PROC2_EPT | (1u << 20), 0 },
	{ "exit: 0x36dfb forced on",
	  0x007fffff00036dfbull, EXIT_HOST_ADDR_64 | EXIT_ACK_INTR,
	  EXIT_SAVE_EFER | EXIT_LOAD_EFER, 0, 0x0033effb, 0 },
	{ "entry: nothing required",
	  0x0000ffff000011fbull, 0, ENTRY_LOAD_EFER, 0, 0x000091fb, 0 },
	{ "entry: nothing asked, must-be-one bits only",
	  0x0000ffff000011fbull, 0, 0, 0, 0x000011fb, 0 },
	{ "pin: bit 7 is not allowed",
	  0x0000007f00000016ull, PIN_EXT_INTR_EXITING | (1u << 7), 0,
	  -HV_EOPNOTSUPP, 0, 1u << 7 },
	{ "proc: bits 0 and 17 refused, HLT allowed",
	  0xf7f9fffe04006172ull, PROC_HLT_EXITING | (1u << 0) | (1u << 17),
	  0, -HV_EOPNOTSUPP, 0, (1u << 0) | (1u << 17) },
	{ "proc2: required bit 20 refused on Sandy Bridge",
	  0x000000ff00000000ull, PROC2_EPT | (1u << 20), PROC2_VPID,
	  -HV_EOPNOTSUPP, 0, 1u << 20 },
	{ "proc2: no secondary controls at all",
	  0, PROC2_EPT | PROC2_VPID, 0, -HV_EOPNOTSUPP, 0,
	  PROC2_EPT | PROC2_VPID },
};

static void test_adjust_ctls_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(adjust_cases); i++) {
		const struct adjust_case *c = &adjust_cases[i];
		u32 out = 0xdeadbeef, missing = 0xdeadbeef;
		int rc;

		rc = vmx_adjust_ctls(c->cap_msr, c->required, c->optional, &out,
				     &missing);
		if (rc != c->rc || missing != c->missing ||
		    (!c->rc && out != c->out))
			fail_msg("%s: rc %d out 0x%x missing 0x%x, want rc %d out 0x%x missing 0x%x",
				 c->what, rc, out, missing, c->rc, c->out,
				 c->missing);
	}
}

/* ------------------------------------------------------- vmx_decode_caps */

struct vmx_decode_case {
	const char *what;
	const struct vmx_caps *raw;
	u64 procbased2; /* replaces the record's when not ~0 */
	struct hv_features f;
};

#define KEEP ~0ull

static const struct vmx_decode_case vmx_decode_cases[] = {
	{ "Skylake-X", &skylake_x, KEEP, {
		.ept_2m = true, .ept_1g = true, .ept_ad = true, .ept_wb = true,
		.invept_single = true, .invept_all = true, .vpid = true,
		.unrestricted = true, .preempt_timer = true, .true_ctls = true,
		.preempt_rate = 0, .vmcs_revision = 0x2b, .vmxon_size = 4096 } },
	{ "Sandy Bridge: no 1G pages, no A/D bits", &sandy_bridge, KEEP, {
		.ept_2m = true, .ept_1g = false, .ept_ad = false, .ept_wb = true,
		.invept_single = true, .invept_all = true, .vpid = true,
		.unrestricted = true, .preempt_timer = true, .true_ctls = true,
		.preempt_rate = 0, .vmcs_revision = 0x2b, .vmxon_size = 4096 } },
	{ "Skylake-X without secondary controls: no EPT features", &skylake_x,
	  0, {
		.preempt_timer = true, .true_ctls = true, .vmcs_revision = 0x2b,
		.vmxon_size = 4096 } },
	{ "Skylake-X with VPID but not EPT allowed", &skylake_x,
	  (u64)PROC2_VPID << 32, {
		.vpid = true, .preempt_timer = true, .true_ctls = true,
		.vmcs_revision = 0x2b, .vmxon_size = 4096 } },
};

/* Compare one field; on a mismatch, say which case and which field. */
#define EXPECT_EQ(what, got, want, field)                                   \
	do {                                                                \
		unsigned long long g_ = (got)->field, w_ = (want)->field;   \
		if (g_ != w_)                                               \
			fail_msg("%s: %s is 0x%llx, want 0x%llx", what,     \
				 #field, g_, w_);                           \
	} while (0)

static void assert_features_equal(const char *what,
				  const struct hv_features *got,
				  const struct hv_features *want)
{
#define EQ(field) EXPECT_EQ(what, got, want, field)
	EQ(ept_2m);
	EQ(ept_1g);
	EQ(ept_ad);
	EQ(ept_wb);
	EQ(invept_single);
	EQ(invept_all);
	EQ(vpid);
	EQ(unrestricted);
	EQ(preempt_timer);
	EQ(true_ctls);
	EQ(preempt_rate);
	EQ(npt);
	EQ(nrips);
	EQ(decode_assists);
	EQ(vmcb_clean);
	EQ(flush_by_asid);
	EQ(pause_filter);
	EQ(avic);
	EQ(tsc_ratio);
	EQ(nr_asids);
	EQ(vmcs_revision);
	EQ(vmxon_size);
#undef EQ
}

static void test_vmx_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(vmx_decode_cases); i++) {
		const struct vmx_decode_case *c = &vmx_decode_cases[i];
		struct hv_caps caps = vmx_record(c->raw);

		if (c->procbased2 != KEEP)
			caps.raw.vmx.procbased2 = c->procbased2;
		memset(&caps.f, 0xa5, sizeof(caps.f)); /* decode clears it */
		vmx_decode_caps(&caps);
		assert_features_equal(c->what, &caps.f, &c->f);
	}
}

/* ---------------------------------------------------- vmx_compute_config */

static void compute(const struct vmx_caps *raw, struct vmx_config *cfg,
		    char *why, size_t len, int want_rc)
{
	struct hv_caps caps = vmx_record(raw);

	vmx_decode_caps(&caps);
	assert_int_equal(vmx_compute_config(&caps, cfg, why, len), want_rc);
}

static void test_compute_config_records(void **state)
{
	const struct vmx_caps *records[] = { &skylake_x, &sandy_bridge };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(records); i++) {
		struct vmx_config cfg;
		char why[160] = "";

		memset(&cfg, 0xa5, sizeof(cfg));
		compute(records[i], &cfg, why, sizeof(why), 0);
		assert_int_equal(cfg.pin, 0x7f);
		assert_int_equal(cfg.proc, 0x961861f2); /* with CR8 load/store exiting */
		assert_int_equal(cfg.proc2, 0xa2);
		assert_int_equal(cfg.exit, 0x0033effb);
		assert_int_equal(cfg.entry, 0x000091fb);
		assert_string_equal(why, "");
	}
}

/* An optional bit the CPU refuses is left out; the rest stays. */
struct optional_case {
	const char *what;
	size_t offset; /* in struct vmx_caps */
	u32 bit;
	size_t out;    /* in struct vmx_config */
	u32 value;
};

#define CAP(n) offsetof(struct vmx_caps, n)
#define CFG(n) offsetof(struct vmx_config, n)

static const struct optional_case optional_cases[] = {
	{ "no preemption timer", CAP(pinbased), PIN_PREEMPTION_TIMER, CFG(pin),
	  0x3f },
	{ "no virtual NMIs", CAP(pinbased), PIN_VIRTUAL_NMIS, CFG(pin), 0x5f },
	{ "no VPID", CAP(procbased2), PROC2_VPID, CFG(proc2), 0x82 },
	{ "no unrestricted guest", CAP(procbased2), PROC2_UNRESTRICTED,
	  CFG(proc2), 0x22 },
	{ "no EFER load on exit", CAP(exit), EXIT_LOAD_EFER, CFG(exit),
	  0x0013effb },
	{ "no EFER load on entry", CAP(entry), ENTRY_LOAD_EFER, CFG(entry),
	  0x000011fb },
};

static void clear_allowed1(struct vmx_caps *raw, size_t offset, u32 bit)
{
	u64 v;

	memcpy(&v, (u8 *)raw + offset, sizeof(v));
	v &= ~((u64)bit << 32);
	memcpy((u8 *)raw + offset, &v, sizeof(v));
}

static void test_compute_config_optional_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(optional_cases); i++) {
		const struct optional_case *c = &optional_cases[i];
		struct vmx_caps raw = skylake_x;
		struct vmx_config cfg;
		char why[160];
		u32 got;

		clear_allowed1(&raw, c->offset, c->bit);
		compute(&raw, &cfg, why, sizeof(why), 0);
		memcpy(&got, (u8 *)&cfg + c->out, sizeof(got));
		if (got != c->value)
			fail_msg("%s: control value 0x%x, want 0x%x", c->what,
				 got, c->value);
	}
}

/* A required bit the CPU refuses: the message names the control. */
struct required_case {
	size_t offset; /* in struct vmx_caps */
	u32 bit;
	const char *control;
};

static const struct required_case required_cases[] = {
	{ CAP(pinbased), PIN_EXT_INTR_EXITING, "pin" },
	{ CAP(pinbased), PIN_NMI_EXITING, "pin" },
	{ CAP(procbased), PROC_HLT_EXITING, "proc" },
	{ CAP(procbased), PROC_USE_IO_BITMAPS, "proc" },
	{ CAP(procbased), PROC_USE_MSR_BITMAPS, "proc" },
	{ CAP(procbased), PROC_SECONDARY, "proc" },
	{ CAP(procbased2), PROC2_EPT, "proc2" },
	{ CAP(exit), EXIT_HOST_ADDR_64, "exit" },
	{ CAP(exit), EXIT_ACK_INTR, "exit" },
};

static void check_required_refused(const struct vmx_caps *record,
				   const struct required_case *c)
{
	struct vmx_caps raw = *record;
	struct vmx_config cfg;
	char why[160] = "", want[160];
	u64 cap;

	clear_allowed1(&raw, c->offset, c->bit);
	memcpy(&cap, (u8 *)&raw + c->offset, sizeof(cap));
	snprintf(want, sizeof(want),
		 "%s controls: required bits 0x%x not allowed (capability MSR 0x%016llx)",
		 c->control, c->bit, (unsigned long long)cap);
	compute(&raw, &cfg, why, sizeof(why), -HV_EOPNOTSUPP);
	assert_string_equal(why, want);
}

static void test_compute_config_required_refused(void **state)
{
	const struct vmx_caps *records[] = { &skylake_x, &sandy_bridge };

	(void)state;
	for (size_t r = 0; r < ARRAY_SIZE(records); r++)
		for (size_t i = 0; i < ARRAY_SIZE(required_cases); i++)
			check_required_refused(records[r], &required_cases[i]);
}

static void test_compute_config_ept_walk_and_wb(void **state)
{
	const u64 bits[] = { EPT_CAP_WALK_4, EPT_CAP_WB, EPT_CAP_WALK_4 | EPT_CAP_WB };
	const struct vmx_caps *records[] = { &skylake_x, &sandy_bridge };

	(void)state;
	for (size_t r = 0; r < ARRAY_SIZE(records); r++) {
		for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
			struct vmx_caps raw = *records[r];
			struct vmx_config cfg;
			char why[160] = "";

			raw.ept_vpid &= ~bits[i];
			compute(&raw, &cfg, why, sizeof(why), -HV_EOPNOTSUPP);
			assert_non_null(strstr(why, "EPT without 4-level walks or write-back tables"));
		}
	}
}

/* ------------------------------------------------------- svm_decode_caps */

struct svm_decode_case {
	const char *what;
	const struct svm_caps *raw;
	struct hv_features f;
};

static const struct svm_decode_case svm_decode_cases[] = {
	{ "QEMU TCG: NPT only", &qemu_tcg, { .npt = true, .nr_asids = 16 } },
	{ "Bochs ryzen", &bochs_ryzen, {
		.npt = true, .nrips = true, .flush_by_asid = true,
		.pause_filter = true, .decode_assists = false,
		.vmcb_clean = false, .tsc_ratio = false, .avic = false,
		.nr_asids = 32768 } },
	{ "synthetic: 65536 ASIDs, every feature bit", &wide_asids, {
		.npt = true, .nrips = true, .tsc_ratio = true,
		.vmcb_clean = true, .flush_by_asid = true,
		.decode_assists = true, .pause_filter = true, .avic = true,
		.nr_asids = 65536 } },
};

static void test_svm_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(svm_decode_cases); i++) {
		const struct svm_decode_case *c = &svm_decode_cases[i];
		struct hv_caps caps = svm_record(c->raw);

		memset(&caps.f, 0xa5, sizeof(caps.f));
		svm_decode_caps(&caps);
		assert_features_equal(c->what, &caps.f, &c->f);
	}
}

/* Each feature bit on its own sets its flag and nothing else. */
static void test_svm_decode_single_bits(void **state)
{
	static const struct {
		u32 bit;
		size_t flag;
	} bits[] = {
		{ SVM_FEAT_NPT, offsetof(struct hv_features, npt) },
		{ SVM_FEAT_NRIPS, offsetof(struct hv_features, nrips) },
		{ SVM_FEAT_TSC_RATE, offsetof(struct hv_features, tsc_ratio) },
		{ SVM_FEAT_VMCB_CLEAN, offsetof(struct hv_features, vmcb_clean) },
		{ SVM_FEAT_FLUSH_BY_ASID, offsetof(struct hv_features, flush_by_asid) },
		{ SVM_FEAT_DECODE_ASSISTS, offsetof(struct hv_features, decode_assists) },
		{ SVM_FEAT_PAUSE_FILTER, offsetof(struct hv_features, pause_filter) },
		{ SVM_FEAT_AVIC, offsetof(struct hv_features, avic) },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		struct svm_caps raw = { .features = bits[i].bit };
		struct hv_caps caps = svm_record(&raw);
		struct hv_features want;

		memset(&want, 0, sizeof(want));
		*((bool *)((u8 *)&want + bits[i].flag)) = true;
		svm_decode_caps(&caps);
		assert_features_equal("one SVM feature bit", &caps.f, &want);
	}
}

/* ---------------------------------------------------------- hv_caps_diff */

static void check_fields_table(const struct caps_field *fields, size_t nr,
			       size_t raw_size)
{
	/* Every u64 of the raw struct is listed exactly once. */
	for (size_t i = 0; i < nr; i++) {
		assert_non_null(fields[i].name);
		assert_int_equal(fields[i].offset, i * sizeof(u64));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(fields[i].name, fields[j].name);
	}
	assert_int_equal(nr * sizeof(u64), raw_size);
}

static void test_caps_fields_tables(void **state)
{
	(void)state;
	check_fields_table(vmx_caps_fields, VMX_NR_CAPS_FIELDS,
			   sizeof(struct vmx_caps));
	check_fields_table(svm_caps_fields, SVM_NR_CAPS_FIELDS,
			   sizeof(struct svm_caps));
	assert_string_equal(vmx_caps_fields[0].name, "basic");
	assert_string_equal(svm_caps_fields[0].name, "revision");
}

static void check_diff_each_field(const struct hv_caps *base,
				  const struct caps_field *fields, size_t nr)
{
	struct hv_caps copy = *base;

	assert_null(hv_caps_diff(base, &copy, fields, nr));
	/* The decoded features are not compared. */
	memset(&copy.f, 0xff, sizeof(copy.f));
	assert_null(hv_caps_diff(base, &copy, fields, nr));

	for (size_t i = 0; i < nr; i++) {
		const u64 flips[] = { 1, 1ull << 63, ~0ull };

		for (size_t k = 0; k < ARRAY_SIZE(flips); k++) {
			const struct caps_field *d;
			u64 v;

			copy = *base;
			memcpy(&v, (u8 *)&copy + fields[i].offset, sizeof(v));
			v ^= flips[k];
			memcpy((u8 *)&copy + fields[i].offset, &v, sizeof(v));
			d = hv_caps_diff(base, &copy, fields, nr);
			assert_ptr_equal(d, &fields[i]);
			assert_string_equal(d->name, fields[i].name);
			/* The comparison goes both ways. */
			assert_ptr_equal(hv_caps_diff(&copy, base, fields, nr),
					 &fields[i]);
		}
	}
}

static void test_caps_diff_vmx(void **state)
{
	const struct vmx_caps *records[] = { &skylake_x, &sandy_bridge };

	(void)state;
	for (size_t r = 0; r < ARRAY_SIZE(records); r++) {
		struct hv_caps caps = vmx_record(records[r]);

		check_diff_each_field(&caps, vmx_caps_fields,
				      VMX_NR_CAPS_FIELDS);
	}
}

static void test_caps_diff_svm(void **state)
{
	const struct svm_caps *records[] = { &qemu_tcg, &bochs_ryzen };

	(void)state;
	for (size_t r = 0; r < ARRAY_SIZE(records); r++) {
		struct hv_caps caps = svm_record(records[r]);

		check_diff_each_field(&caps, svm_caps_fields,
				      SVM_NR_CAPS_FIELDS);
	}
}

/* Two records that differ in several fields: the first in table order. */
static void test_caps_diff_first_of_several(void **state)
{
	struct hv_caps a = vmx_record(&skylake_x);
	struct hv_caps b = vmx_record(&sandy_bridge);
	struct hv_caps q = svm_record(&qemu_tcg);
	struct hv_caps r = svm_record(&bochs_ryzen);

	(void)state;
	assert_string_equal(hv_caps_diff(&a, &b, vmx_caps_fields,
					 VMX_NR_CAPS_FIELDS)->name,
			    "procbased2");
	assert_string_equal(hv_caps_diff(&q, &r, svm_caps_fields,
					 SVM_NR_CAPS_FIELDS)->name,
			    "nr_asids");
	/* No fields listed: nothing to differ. */
	assert_null(hv_caps_diff(&a, &b, vmx_caps_fields, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adjust_ctls_table),
		cmocka_unit_test(test_vmx_decode_table),
		cmocka_unit_test(test_compute_config_records),
		cmocka_unit_test(test_compute_config_optional_refused),
		cmocka_unit_test(test_compute_config_required_refused),
		cmocka_unit_test(test_compute_config_ept_walk_and_wb),
		cmocka_unit_test(test_svm_decode_table),
		cmocka_unit_test(test_svm_decode_single_bits),
		cmocka_unit_test(test_caps_fields_tables),
		cmocka_unit_test(test_caps_diff_vmx),
		cmocka_unit_test(test_caps_diff_svm),
		cmocka_unit_test(test_caps_diff_first_of_several),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
