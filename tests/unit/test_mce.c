/*
 * Unit tests for the machine-check and NMI decisions (kernel/mce_decode.c):
 * which #MC Lamina survives, which stops a VM, which panics; the status
 * bits in words; what an NMI was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/lib.h>
#include <lamina/mce.h>

#define RIPV MCG_STATUS_RIPV
#define EIPV MCG_STATUS_EIPV
#define MCIP MCG_STATUS_MCIP
#define VAL MCI_STATUS_VAL
#define OVER MCI_STATUS_OVER
#define UC MCI_STATUS_UC
#define EN MCI_STATUS_EN
#define ADDRV MCI_STATUS_ADDRV
#define MISCV MCI_STATUS_MISCV
#define PCC MCI_STATUS_PCC
#define S MCI_STATUS_S
#define AR MCI_STATUS_AR

#define NB 6

struct mce_case {
	const char *name;
	u64 mcg;
	u64 banks[NB];
	bool in_guest;
	enum mce_verdict verdict;
	int bank;
	const char *why; /* a word the reason must hold */
};

static const struct mce_case cases[] = {
	{ "no bank valid, RIPV", RIPV | MCIP, { 0 }, false, MCE_SPURIOUS, -1, "no bank" },
	{ "no bank valid, no RIPV", MCIP, { 0 }, false, MCE_FATAL, -1, "RIPV" },
	/* Status bits without VAL mean nothing, PCC included. */
	{ "invalid banks ignored", RIPV | MCIP,
	  { UC | PCC | EN, OVER | UC, 0, 0, 0, 0 }, false, MCE_SPURIOUS, -1, "no bank" },
	{ "corrected", RIPV, { 0, VAL | EN | 0x135 }, false, MCE_CORRECTED, 1, "corrected" },
	{ "corrected with overflow", RIPV,
	  { 0, 0, VAL | OVER | EN | ADDRV }, false, MCE_CORRECTED, 2, "corrected" },
	{ "recoverable UC (QEMU's test injection)", RIPV | MCIP,
	  { 0, VAL | UC | EN | ADDRV | MISCV }, false, MCE_RECOVERED, 1, "RIPV" },
	{ "recoverable UC in a guest", RIPV | MCIP,
	  { 0, VAL | UC | EN }, true, MCE_RECOVERED, 1, "RIPV" },
	{ "PCC", RIPV | MCIP, { 0, VAL | UC | EN | PCC }, false, MCE_FATAL, 1, "PCC" },
	{ "PCC in a guest is still fatal", RIPV | MCIP,
	  { 0, 0, 0, VAL | UC | EN | PCC }, true, MCE_FATAL, 3, "PCC" },
	{ "PCC wins over an earlier recoverable bank", RIPV | MCIP,
	  { VAL | UC | EN, 0, VAL | UC | EN | PCC }, false, MCE_FATAL, 2, "PCC" },
	{ "UC without RIPV", MCIP, { 0, VAL | UC | EN }, false, MCE_FATAL, 1, "RIPV" },
	{ "UC without RIPV in a guest", MCIP, { 0, VAL | UC | EN }, true, MCE_FATAL, 1, "RIPV" },
	{ "corrected without RIPV", 0, { VAL | EN }, false, MCE_FATAL, 0, "RIPV" },
	{ "UC overflow: one was lost", RIPV | MCIP,
	  { 0, VAL | UC | OVER | EN }, false, MCE_FATAL, 1, "overflow" },
	{ "action required in Lamina", RIPV | MCIP,
	  { 0, 0, 0, 0, VAL | UC | EN | S | AR | ADDRV }, false, MCE_FATAL, 4, "Lamina" },
	{ "action required in a guest", RIPV | MCIP,
	  { 0, 0, 0, 0, VAL | UC | EN | S | AR | ADDRV }, true, MCE_STOP_VM, 4, "guest" },
	{ "EIPV ties the UC error to Lamina", RIPV | EIPV | MCIP,
	  { VAL | UC | EN }, false, MCE_FATAL, 0, "Lamina" },
	{ "EIPV ties the UC error to the guest", RIPV | EIPV | MCIP,
	  { VAL | UC | EN }, true, MCE_STOP_VM, 0, "guest" },
	/* S without AR: action optional, nothing to stop. */
	{ "action optional", RIPV | MCIP, { VAL | UC | EN | S }, false, MCE_RECOVERED, 0, "RIPV" },
	{ "EIPV with a corrected error only", RIPV | EIPV, { VAL | EN }, false,
	  MCE_CORRECTED, 0, "corrected" },
	{ "the first bank of the worst kind names it", RIPV | MCIP,
	  { VAL | EN, VAL | UC | EN, VAL | UC | EN, VAL | EN }, false, MCE_RECOVERED, 1, "RIPV" },
};

static void test_decide_table(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct mce_case *c = &cases[i];
		struct mce_decision d = mce_decide(c->mcg, c->banks, NB, c->in_guest);

		print_message("%s\n", c->name);
		assert_int_equal(d.verdict, c->verdict);
		assert_int_equal(d.bank, c->bank);
		assert_non_null(d.why);
		assert_non_null(strstr(d.why, c->why));
	}
}

/* Only the first nr_banks are looked at. */
static void test_decide_bank_count(void **state)
{
	const u64 banks[3] = { 0, 0, VAL | UC | EN | PCC };

	(void)state;
	assert_int_equal(mce_decide(RIPV, banks, 2, false).verdict, MCE_SPURIOUS);
	assert_int_equal(mce_decide(RIPV, banks, 3, false).verdict, MCE_FATAL);
	assert_int_equal(mce_decide(RIPV, banks, 0, false).verdict, MCE_SPURIOUS);
}

static void test_status_words(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(mce_status_words(VAL | UC | EN | ADDRV, buf, sizeof(buf)),
			    "VAL UC EN ADDRV");
	assert_string_equal(mce_status_words(VAL | OVER | UC | EN | MISCV | ADDRV |
					     PCC | S | AR | 0xffff,
					     buf, sizeof(buf)),
			    "VAL OVER UC EN MISCV ADDRV PCC S AR");
	/* The error code and model-specific bits are not flags. */
	assert_string_equal(mce_status_words(0x0000ffffffffffffull, buf, sizeof(buf)),
			    "none");
	/* Truncated, never overrun. */
	memset(buf, 'x', sizeof(buf));
	assert_string_equal(mce_status_words(VAL | OVER | UC, buf, 8), "VAL OVE");
	assert_int_equal(buf[8], 'x');
	assert_string_equal(mce_status_words(VAL, buf, 1), "");
}

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(mce_verdict_name(MCE_FATAL), "fatal");
	assert_string_equal(mce_verdict_name(MCE_RECOVERED), "recovered");
	assert_string_equal(mce_verdict_name((enum mce_verdict)99), "?");
}

static void test_nmi_classify(void **state)
{
	(void)state;
	assert_int_equal(nmi_classify(true, 0x00), NMI_KICK);
	assert_int_equal(nmi_classify(false, 0x00), NMI_UNKNOWN);
	/* The low bits (PIT gate, speaker, refresh, OUT2) say nothing. */
	assert_int_equal(nmi_classify(false, 0x3f), NMI_UNKNOWN);
	assert_int_equal(nmi_classify(false, PORT61_SERR), NMI_SERR);
	assert_int_equal(nmi_classify(false, PORT61_IOCHK | 0x20), NMI_IOCHK);
	assert_int_equal(nmi_classify(false, PORT61_SERR | PORT61_IOCHK), NMI_SERR);
	/* A board reason is reported even when a kick came with it. */
	assert_int_equal(nmi_classify(true, PORT61_IOCHK), NMI_IOCHK);
	/* No port 0x61 (or not read, on an AP): all ones is no reason. */
	assert_int_equal(nmi_classify(false, 0xff), NMI_UNKNOWN);
	assert_int_equal(nmi_classify(true, 0xff), NMI_KICK);
	assert_non_null(strstr(nmi_kind_name(NMI_SERR), "SERR"));
	assert_non_null(strstr(nmi_kind_name(NMI_IOCHK), "IOCHK"));
	assert_string_equal(nmi_kind_name((enum nmi_kind)7), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_table),
		cmocka_unit_test(test_decide_bank_count),
		cmocka_unit_test(test_status_words),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_nmi_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
