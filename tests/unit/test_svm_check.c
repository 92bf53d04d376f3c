/* Unit tests for the VMCB consistency checks (svm/svm_check.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <lamina/types.h>
#include <lamina/x86.h>

#include "../../svm/svm.h"
#include "../../svm/vmcb.h"

static u8 vmcb[4096] __attribute__((aligned(4096)));

/* What Lamina runs a raw32 guest with: VMRUN accepts it. */
static void good_vmcb(void)
{
	memset(vmcb, 0, sizeof(vmcb));
	FIELD(vmcb, VMCB_INTERCEPT_MISC2, u32) = 0x7f;
	FIELD(vmcb, VMCB_ASID, u32) = 1;
	FIELD(vmcb, VMCB_EFER, u64) = EFER_SVME;
	FIELD(vmcb, VMCB_CR0, u64) = 0x31;
	FIELD(vmcb, VMCB_CS + 2, u16) = 0xc9b;
	FIELD(vmcb, VMCB_DR6, u64) = 0xffff0ff0;
	FIELD(vmcb, VMCB_DR7, u64) = 0x400;
}

struct bad_case {
	const char *why;
	u32 offset;
	u64 value;  /* written as a u64, or a u16 at CS attributes */
	bool or_in; /* OR into the good value instead of replacing it */
};

static const struct bad_case cases[] = {
	{ "EFER.SVME is clear", VMCB_EFER, 0, false },
	{ "EFER has reserved bits set", VMCB_EFER, 1ull << 20, true },
	{ "CR0.NW is set with CR0.CD clear", VMCB_CR0, 1ull << 29, true },
	{ "CR0 bits 63:32 are not zero", VMCB_CR0, 1ull << 40, true },
	{ "CR4 bits 63:32 are not zero", VMCB_CR4, 1ull << 33, true },
	{ "DR6 or DR7 bits 63:32 are not zero", VMCB_DR7, 1ull << 32, true },
	{ "EFER.LME and CR0.PG set with CR4.PAE clear", VMCB_EFER,
	  EFER_LME, true },
	{ "the ASID is 0 (the host's)", VMCB_ASID, 0, false },
	{ "the VMRUN intercept is clear", VMCB_INTERCEPT_MISC2, 0x7e, false },
};

static void test_good_vmcb_passes(void **state)
{
	(void)state;
	good_vmcb();
	assert_null(svm_vmcb_invalid_reason(vmcb));
	/* Long mode done right passes too. */
	FIELD(vmcb, VMCB_EFER, u64) |= EFER_LME | EFER_LMA;
	FIELD(vmcb, VMCB_CR0, u64) |= CR0_PG;
	FIELD(vmcb, VMCB_CR4, u64) = CR4_PAE;
	FIELD(vmcb, VMCB_CS + 2, u16) = 0xa9b;
	assert_null(svm_vmcb_invalid_reason(vmcb));
}

static void test_each_bad_field_is_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		const char *got;

		good_vmcb();
		if (c->offset == VMCB_EFER && c->value == EFER_LME)
			FIELD(vmcb, VMCB_CR0, u64) |= CR0_PG;
		if (c->offset == VMCB_ASID)
			FIELD(vmcb, VMCB_ASID, u32) = 0;
		else if (c->offset == VMCB_INTERCEPT_MISC2)
			FIELD(vmcb, c->offset, u32) = (u32)c->value;
		else if (c->or_in)
			FIELD(vmcb, c->offset, u64) |= c->value;
		else
			FIELD(vmcb, c->offset, u64) = c->value;
		got = svm_vmcb_invalid_reason(vmcb);
		if (!got || strcmp(got, c->why))
			fail_msg("case %zu: got '%s', want '%s'", i,
				 got ? got : "(none)", c->why);
	}
}

static void test_long_mode_checks(void **state)
{
	(void)state;
	good_vmcb();
	FIELD(vmcb, VMCB_EFER, u64) |= EFER_LME;
	FIELD(vmcb, VMCB_CR0, u64) = CR0_PG | 0x10; /* PE clear */
	FIELD(vmcb, VMCB_CR4, u64) = CR4_PAE;
	assert_string_equal(svm_vmcb_invalid_reason(vmcb),
			    "EFER.LME and CR0.PG set with CR0.PE clear");
	FIELD(vmcb, VMCB_CR0, u64) |= CR0_PE;
	FIELD(vmcb, VMCB_CS + 2, u16) = 0xe9b; /* L and D */
	assert_string_equal(svm_vmcb_invalid_reason(vmcb),
			    "CS.L and CS.D both set in long mode");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_vmcb_passes),
		cmocka_unit_test(test_each_bad_field_is_named),
		cmocka_unit_test(test_long_mode_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
