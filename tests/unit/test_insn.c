/*
 * Unit tests for the INS/OUTS prefix decoder (kernel/vdev/insn.c).
 *
 * Every call decodes from a heap buffer of exactly @n bytes, so ASan
 * reports any read past the bytes the decoder was given. The named table
 * lists whole instructions and where they decode; sweeps then cover every
 * opcode, every prefix alone and in pairs, every REX byte, every single
 * byte, the 15-byte limit and every truncation of each good case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/insn.h>
#include <lamina/lib.h>
#include <lamina/vcpu.h>

#define LEGACY (1u << 0) /* decodes outside long mode */
#define LONG (1u << 1)   /* decodes in long mode */
#define BOTH (LEGACY | LONG)
#define NONE 0u

#define DEF INSN_SEG_DEFAULT

/* Garbage the decoder must overwrite on success. */
#define STALE 0xa5

/*
 * One instruction. Where it decodes, the whole input is the instruction:
 * len == n and the opcode is the last byte.
 */
struct dcase {
	const char *name;
	u8 bytes[INSN_MAX_LEN + 2];
	unsigned int n;
	unsigned int modes;
	int seg;
	bool addr, rep;
};

#define C(nm, md, sg, ad, rp, ...) \
	{ nm, { __VA_ARGS__ }, sizeof((u8[]){ __VA_ARGS__ }), md, sg, ad, rp }

/* Fourteen prefixes, so that one more byte makes 15. */
#define P14 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, \
	0xf3, 0x66, 0x66, 0x3e

static const struct dcase cases[] = {
	/* Opcodes alone. */
	C("insb", BOTH, DEF, false, false, 0x6c),
	C("insw/d", BOTH, DEF, false, false, 0x6d),
	C("outsb", BOTH, DEF, false, false, 0x6e),
	C("outsw/d", BOTH, DEF, false, false, 0x6f),
	/* Common guest forms. */
	C("rep insb", BOTH, DEF, false, true, 0xf3, 0x6c),
	C("rep outsw", BOTH, DEF, false, true, 0x66, 0xf3, 0x6f),
	C("rep outsb fs", BOTH, VSEG_FS, false, true, 0xf3, 0x64, 0x6e),
	C("repne counts as rep", BOTH, DEF, false, true, 0xf2, 0x6d),
	C("addr32 rep insd", BOTH, DEF, true, true, 0x67, 0xf3, 0x6d),
	C("all kinds", BOTH, VSEG_CS, true, true,
	  0x64, 0x67, 0xf3, 0x66, 0xf0, 0x2e, 0x6d),
	C("lock skipped", BOTH, DEF, false, false, 0xf0, 0x6e),
	C("opsize skipped", BOTH, DEF, false, false, 0x66, 0x6f),
	C("repeated 67", BOTH, DEF, true, false, 0x67, 0x67, 0x6c),
	C("f2 then f3", BOTH, DEF, false, true, 0xf2, 0xf3, 0x6c),
	/* The last segment override wins. */
	C("es then gs", BOTH, VSEG_GS, false, false, 0x26, 0x65, 0x6e),
	C("gs then es", BOTH, VSEG_ES, false, false, 0x65, 0x26, 0x6e),
	C("ds, ss, cs", BOTH, VSEG_CS, false, false, 0x3e, 0x36, 0x2e, 0x6f),
	C("fs, rep, ds", BOTH, VSEG_DS, false, true, 0x64, 0xf3, 0x3e, 0x6f),
	C("six overrides, ss last", BOTH, VSEG_SS, false, false,
	  0x26, 0x2e, 0x3e, 0x64, 0x65, 0x36, 0x6c),
	C("same override twice", BOTH, VSEG_FS, false, false, 0x64, 0x64, 0x6e),
	/* REX: long mode only, once, right before the opcode. */
	C("rex.w outsd", LONG, DEF, false, false, 0x48, 0x6f),
	C("rep rex.w insd", LONG, DEF, false, true, 0xf3, 0x48, 0x6d),
	C("gs addr32 rex", LONG, VSEG_GS, true, false, 0x65, 0x67, 0x41, 0x6e),
	C("rex then rep", NONE, DEF, false, false, 0x48, 0xf3, 0x6d),
	C("rex then gs", NONE, DEF, false, false, 0x40, 0x65, 0x6e),
	C("rex then 66", NONE, DEF, false, false, 0x4f, 0x66, 0x6f),
	C("two rex", NONE, DEF, false, false, 0x48, 0x41, 0x6c),
	C("rex alone", NONE, DEF, false, false, 0x48),
	C("prefixes and rex only", NONE, DEF, false, false, 0xf3, 0x48),
	/* Not INS/OUTS. */
	C("out imm8, al", NONE, DEF, false, false, 0xe6, 0x80),
	C("out imm8, eax", NONE, DEF, false, false, 0xe7, 0x80),
	C("in al, dx", NONE, DEF, false, false, 0xec),
	C("in eax, dx", NONE, DEF, false, false, 0xed),
	C("out dx, al", NONE, DEF, false, false, 0xee),
	C("in al, imm8", NONE, DEF, false, false, 0xe4, 0x60),
	C("rep movsb", NONE, DEF, false, false, 0xf3, 0xa4),
	C("rep stosb", NONE, DEF, false, false, 0xf3, 0xaa),
	C("rep lodsb", NONE, DEF, false, false, 0xf3, 0xac),
	C("imul, next to insb", NONE, DEF, false, false, 0x6b, 0xc0, 0x01),
	C("jo, after outsd", NONE, DEF, false, false, 0x70, 0x00),
	C("two-byte escape", NONE, DEF, false, false, 0x0f, 0x6c),
	C("rep in dx", NONE, DEF, false, false, 0xf3, 0xec),
	C("gs out dx", NONE, DEF, false, false, 0x65, 0xee),
	C("rex in dx", NONE, DEF, false, false, 0x48, 0xec),
	C("nop, then insb", NONE, DEF, false, false, 0x90, 0x6c),
	C("40: rex, or inc eax outside long mode", LONG, DEF, false, false,
	  0x40, 0x6c),
	C("vex c4, then insb", NONE, DEF, false, false, 0xc4, 0x6c),
	C("empty", NONE, DEF, false, false),
	/* Fifteen bytes at most. */
	C("14 prefixes + opcode", BOTH, VSEG_DS, true, true, P14, 0x6d),
	C("13 prefixes + rex + opcode", LONG, VSEG_FS, true, true,
	  0x26, 0x2e, 0x36, 0x3e, 0x64, 0x66, 0x67, 0xf0, 0xf2, 0xf3,
	  0x66, 0x66, 0x66, 0x48, 0x6d),
	C("15 prefixes + opcode", NONE, DEF, false, false, P14, 0xf3, 0x6c),
	C("14 prefixes + rex + opcode", NONE, DEF, false, false,
	  P14, 0x48, 0x6c),
	C("16 prefixes + opcode", NONE, DEF, false, false,
	  P14, 0xf3, 0xf3, 0x6c),
};

/* Decode @n bytes from a heap copy of exactly @n bytes. */
static int decode(const u8 *bytes, unsigned int n, bool long_mode,
		  struct insn_string_io *out)
{
	u8 *buf = malloc(n);
	int err;

	assert_true(buf || !n);
	if (n)
		memcpy(buf, bytes, n);
	memset(out, STALE, sizeof(*out));
	err = insn_decode_string_io(buf, n, long_mode, out);
	free(buf);
	return err;
}

static void expect_ok(const char *name, const u8 *bytes, unsigned int n,
		      bool long_mode, int seg, bool addr, bool rep,
		      unsigned int len)
{
	struct insn_string_io out;
	int err = decode(bytes, n, long_mode, &out);

	if (err)
		fail_msg("%s (%s, n %u): error %d", name,
			 long_mode ? "long" : "legacy", n, err);
	if (out.seg != seg || out.addr_prefix != addr || out.rep != rep ||
	    out.opcode != bytes[len - 1] || out.len != len)
		fail_msg("%s (%s, n %u): seg %d addr %d rep %d opcode %#x "
			 "len %u; want seg %d addr %d rep %d opcode %#x len %u",
			 name, long_mode ? "long" : "legacy", n, out.seg,
			 out.addr_prefix, out.rep, out.opcode, out.len, seg,
			 addr, rep, bytes[len - 1], len);
}

static void expect_fail(const char *name, const u8 *bytes, unsigned int n,
			bool long_mode)
{
	struct insn_string_io out;
	int err = decode(bytes, n, long_mode, &out);

	if (err != -HV_EINVAL)
		fail_msg("%s (%s, n %u): returned %d (len %u), want -HV_EINVAL",
			 name, long_mode ? "long" : "legacy", n, err, out.len);
}

static void check_case(const struct dcase *c, unsigned int n, bool long_mode)
{
	unsigned int mode = long_mode ? LONG : LEGACY;

	if (c->modes & mode)
		expect_ok(c->name, c->bytes, n, long_mode, c->seg, c->addr,
			  c->rep, c->n);
	else
		expect_fail(c->name, c->bytes, n, long_mode);
}

static void test_table(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_true(cases[i].n <= sizeof(cases[i].bytes));
		check_case(&cases[i], cases[i].n, false);
		check_case(&cases[i], cases[i].n, true);
	}
}

/* Bytes that run out before the opcode: every shorter n fails. */
static void test_truncated(void **state)
{
	unsigned int i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!cases[i].modes)
			continue;
		for (n = 0; n < cases[i].n; n++) {
			expect_fail(cases[i].name, cases[i].bytes, n, false);
			expect_fail(cases[i].name, cases[i].bytes, n, true);
		}
	}
}

/* Bytes after the opcode (the next instruction) change nothing. */
static void test_trailing(void **state)
{
	static const u8 after[] = { 0x6c, 0xf3, 0x48, 0x26, 0x90, 0x00 };
	u8 buf[INSN_MAX_LEN + 4];
	unsigned int i, j, k, n;
	bool lm;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct dcase *c = &cases[i];

		if (!c->modes)
			continue;
		for (j = 0; j < ARRAY_SIZE(after); j++) {
			memset(buf, after[j], sizeof(buf));
			memcpy(buf, c->bytes, c->n);
			for (n = c->n + 1; n <= sizeof(buf); n++)
				for (k = 0; k < 2; k++) {
					lm = k;
					if (c->modes & (lm ? LONG : LEGACY))
						expect_ok(c->name, buf, n, lm,
							  c->seg, c->addr,
							  c->rep, c->n);
				}
		}
	}
}

/* Every single byte: only the four opcodes decode, in both modes. */
static void test_single_bytes(void **state)
{
	unsigned int b;
	u8 byte;

	(void)state;
	for (b = 0; b < 256; b++) {
		byte = b;
		if (b >= 0x6c && b <= 0x6f) {
			expect_ok("opcode", &byte, 1, false, DEF, false, false,
				  1);
			expect_ok("opcode", &byte, 1, true, DEF, false, false,
				  1);
		} else {
			expect_fail("single byte", &byte, 1, false);
			expect_fail("single byte", &byte, 1, true);
		}
	}
}

/* Any byte that is not a prefix, in front of an opcode, stops the decode. */
static void test_non_prefix_before_opcode(void **state)
{
	static const u8 legacy[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66,
				     0x67, 0xf0, 0xf2, 0xf3 };
	unsigned int b, i;
	bool is_prefix;
	u8 bytes[2];

	(void)state;
	for (b = 0; b < 256; b++) {
		for (is_prefix = false, i = 0; i < ARRAY_SIZE(legacy); i++)
			is_prefix |= b == legacy[i];
		if (is_prefix)
			continue;
		bytes[0] = b;
		bytes[1] = 0x6c;
		if (b >= 0x6c && b <= 0x6f) {
			/* An opcode ends the instruction at one byte. */
			expect_ok("opcode, insb", bytes, 2, false, DEF, false,
				  false, 1);
			expect_ok("opcode, insb", bytes, 2, true, DEF, false,
				  false, 1);
			continue;
		}
		if (b < 0x40 || b > 0x4f)
			expect_fail("byte then insb", bytes, 2, true);
		else
			expect_ok("rex then insb", bytes, 2, true, DEF, false,
				  false, 2);
		expect_fail("byte then insb", bytes, 2, false);
	}
}

/* What one legacy prefix does alone. */
static const struct prefix {
	u8 byte;
	int seg;
	bool addr, rep;
} prefixes[] = {
	{ 0x26, VSEG_ES, false, false }, { 0x2e, VSEG_CS, false, false },
	{ 0x36, VSEG_SS, false, false }, { 0x3e, VSEG_DS, false, false },
	{ 0x64, VSEG_FS, false, false }, { 0x65, VSEG_GS, false, false },
	{ 0x67, DEF, true, false },      { 0xf2, DEF, false, true },
	{ 0xf3, DEF, false, true },      { 0x66, DEF, false, false },
	{ 0xf0, DEF, false, false },
};

static void test_each_prefix(void **state)
{
	const struct prefix *p;
	unsigned int i, op, k;
	u8 bytes[3];

	(void)state;
	for (i = 0; i < ARRAY_SIZE(prefixes); i++) {
		p = &prefixes[i];
		for (op = 0x6c; op <= 0x6f; op++) {
			bytes[0] = p->byte;
			bytes[1] = op;
			for (k = 0; k < 2; k++)
				expect_ok("one prefix", bytes, 2, k, p->seg,
					  p->addr, p->rep, 2);
			/* With a REX after it, in long mode only. */
			bytes[1] = 0x4c;
			bytes[2] = op;
			expect_ok("prefix, rex", bytes, 3, true, p->seg,
				  p->addr, p->rep, 3);
			expect_fail("prefix, rex", bytes, 3, false);
			/* A REX before it is not a prefix any more. */
			bytes[0] = 0x4c;
			bytes[1] = p->byte;
			expect_fail("rex, prefix", bytes, 3, true);
			expect_fail("rex, prefix", bytes, 3, false);
		}
	}
}

/* Every ordered pair: the later override wins, the flags add up. */
static void test_prefix_pairs(void **state)
{
	const struct prefix *a, *b;
	unsigned int i, j, op, k;
	u8 bytes[3];
	int seg;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		for (j = 0; j < ARRAY_SIZE(prefixes); j++) {
			a = &prefixes[i];
			b = &prefixes[j];
			seg = b->seg != DEF ? b->seg : a->seg;
			bytes[0] = a->byte;
			bytes[1] = b->byte;
			for (op = 0x6c; op <= 0x6f; op++) {
				bytes[2] = op;
				for (k = 0; k < 2; k++)
					expect_ok("two prefixes", bytes, 3, k,
						  seg, a->addr || b->addr,
						  a->rep || b->rep, 3);
			}
		}
}

/* Every REX byte with every opcode. */
static void test_rex(void **state)
{
	unsigned int rex, op;
	u8 bytes[3];

	(void)state;
	for (rex = 0x40; rex <= 0x4f; rex++)
		for (op = 0x6c; op <= 0x6f; op++) {
			bytes[0] = rex;
			bytes[1] = op;
			expect_ok("rex", bytes, 2, true, DEF, false, false, 2);
			expect_fail("rex", bytes, 2, false);
			bytes[1] = 0x48;
			bytes[2] = op;
			expect_fail("two rex", bytes, 3, true);
			expect_fail("two rex", bytes, 3, false);
		}
}

/* n over 15 is cut to 15: the opcode must sit within the first 15 bytes. */
static void test_length_limit(void **state)
{
	u8 bytes[32];
	unsigned int pre, n, k;

	(void)state;
	for (pre = 0; pre < sizeof(bytes); pre++) {
		memset(bytes, 0xf3, pre);
		bytes[pre] = 0x6e;
		for (n = pre + 1; n <= sizeof(bytes); n++)
			for (k = 0; k < 2; k++) {
				if (pre < INSN_MAX_LEN)
					expect_ok("rep prefixes", bytes, n, k,
						  DEF, false, pre > 0, pre + 1);
				else
					expect_fail("rep prefixes", bytes, n,
						    k);
			}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_single_bytes),
		cmocka_unit_test(test_non_prefix_before_opcode),
		cmocka_unit_test(test_each_prefix),
		cmocka_unit_test(test_prefix_pairs),
		cmocka_unit_test(test_rex),
		cmocka_unit_test(test_length_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
