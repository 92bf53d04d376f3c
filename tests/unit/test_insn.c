/*
 * Unit tests for the instruction decoders (kernel/vdev/insn.c): INS/OUTS
 * prefixes, then the MOV forms used on emulated MMIO.
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

/* ------------------------------------------------------------------------
 * MOV to and from emulated MMIO (insn_decode_mmio).
 *
 * The table's bytes come from GNU as (.code64/.code32/.code16) and were
 * checked with objdump -D -b binary -m i386:x86-64 / -m i386 / -m i8086:
 * each good case is exactly one instruction of n bytes.
 */
#define M64 (1u << 0) /* 64-bit code */
#define M32 (1u << 1) /* legacy mode, 32-bit code segment (CS.D = 1) */
#define M16 (1u << 2) /* legacy mode, 16-bit code segment */
#define ANY (M64 | M32 | M16)

struct mcase {
	const char *name;
	u8 bytes[INSN_MAX_LEN + 2];
	unsigned int n;
	unsigned int modes; /* good: decodes so there; bad: fails there */
	bool good;
	enum insn_mmio_kind kind;
	unsigned int size, dst_size;
	int reg;
	bool high8;
	u64 imm;
};

/* What a good case decodes to: kind, size, dst_size, reg, high8, imm. */
#define ST(sz, r) INSN_MMIO_STORE_REG, sz, sz, r, false, 0
#define STH(r) INSN_MMIO_STORE_REG, 1, 1, r, true, 0
#define LD(sz, r) INSN_MMIO_LOAD, sz, sz, r, false, 0
#define LDH(r) INSN_MMIO_LOAD, 1, 1, r, true, 0
#define IMM(sz, v) INSN_MMIO_STORE_IMM, sz, sz, -1, false, v
#define ZX(sz, dsz, r) INSN_MMIO_LOAD_ZX, sz, dsz, r, false, 0

#define G(nm, md, what, ...) \
	{ nm, { __VA_ARGS__ }, sizeof((u8[]){ __VA_ARGS__ }), md, true, what }
#define B(nm, md, ...) \
	{ nm, { __VA_ARGS__ }, sizeof((u8[]){ __VA_ARGS__ }), md, false, \
	  INSN_MMIO_LOAD, 0, 0, 0, false, 0 }

#define ABS64 0xb0, 0x00, 0xe0, 0xfe, 0xff, 0xff, 0xff, 0xff

static const struct mcase mcases[] = {
	/* 64-bit Linux: native_apic_mem_write/read on the fixmap address. */
	G("mov [abs32], edx", M64, ST(4, 2),
	  0x89, 0x14, 0x25, 0xb0, 0xb0, 0x5f, 0xff),
	G("mov eax, [abs32]", M64, LD(4, 0),
	  0x8b, 0x04, 0x25, 0x20, 0xb0, 0x5f, 0xff),
	G("mov [rdi+0x300], eax", M64 | M32, ST(4, 0),
	  0x89, 0x87, 0x00, 0x03, 0x00, 0x00),
	G("mov dword [rip+0x100], imm32", M64 | M32, IMM(4, 0x12345678),
	  0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12),
	G("mov rax, [rip+0x1000]", M64, LD(8, 0),
	  0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00),
	/* Immediates. */
	G("mov qword [rax], -1", M64, IMM(8, ~0ull),
	  0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff),
	G("mov qword [rax+8], 0x7fffffff", M64, IMM(8, 0x7fffffff),
	  0x48, 0xc7, 0x40, 0x08, 0xff, 0xff, 0xff, 0x7f),
	G("mov qword [rdi], -0x80000000", M64, IMM(8, 0xffffffff80000000ull),
	  0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80),
	G("mov dword [rdi], -1", M64 | M32, IMM(4, 0xffffffff),
	  0xc7, 0x07, 0xff, 0xff, 0xff, 0xff),
	G("mov word [rdi], 0x8234", M64 | M32, IMM(2, 0x8234),
	  0x66, 0xc7, 0x07, 0x34, 0x82),
	G("mov byte [rdi+0x20], 0x80", M64 | M32, IMM(1, 0x80),
	  0xc6, 0x47, 0x20, 0x80),
	/* ModRM, SIB and displacement forms. */
	G("mov [rbx+0x10], r8d", M64, ST(4, 8), 0x44, 0x89, 0x43, 0x10),
	G("mov r15, [rsp]", M64, LD(8, 15), 0x4c, 0x8b, 0x3c, 0x24),
	G("mov ecx, [rbp+0x20]", M64 | M32, LD(4, 1), 0x8b, 0x4d, 0x20),
	G("mov eax, [rbp+0]", M64 | M32, LD(4, 0), 0x8b, 0x45, 0x00),
	G("mov eax, [r13+0]", M64, LD(4, 0), 0x41, 0x8b, 0x45, 0x00),
	G("mov eax, [r12]", M64, LD(4, 0), 0x41, 0x8b, 0x04, 0x24),
	G("mov ecx, [rax*4+disp32]", M64 | M32, LD(4, 1),
	  0x8b, 0x0c, 0x85, 0x78, 0x56, 0x34, 0x12),
	G("mov edx, [rax+rbx*2+0x10]", M64 | M32, LD(4, 2),
	  0x8b, 0x54, 0x58, 0x10),
	G("mov esi, [rax+rcx*8+0x100]", M64 | M32, LD(4, 6),
	  0x8b, 0xb4, 0xc8, 0x00, 0x01, 0x00, 0x00),
	G("mov [r15+0x7f], r15", M64, ST(8, 15), 0x4d, 0x89, 0x7f, 0x7f),
	G("mov rax, fs:[abs32]", M64, LD(8, 0),
	  0x64, 0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00),
	G("addr32 mov ecx, [eax]", M64, LD(4, 1), 0x67, 0x8b, 0x08),
	G("cs ds es ss overrides", M64 | M32, LD(4, 0),
	  0x2e, 0x3e, 0x26, 0x36, 0x8b, 0x07),
	/* Byte registers: AH..BH without a REX, SPL..DIL with one. */
	G("mov [rdi], ah", M64 | M32, STH(4), 0x88, 0x27),
	G("mov bh, [rdx]", M64 | M32, LDH(7), 0x8a, 0x3a),
	G("mov [rdi], spl", M64, ST(1, 4), 0x40, 0x88, 0x27),
	G("mov [rax], dil", M64, ST(1, 7), 0x40, 0x88, 0x38),
	G("mov sil, [rdx]", M64, LD(1, 6), 0x40, 0x8a, 0x32),
	G("mov [rax], r9b", M64, ST(1, 9), 0x44, 0x88, 0x08),
	G("mov r12b, [r13+0]", M64, LD(1, 12), 0x45, 0x8a, 0x65, 0x00),
	G("mov [rdi], al", ANY, ST(1, 0), 0x88, 0x07),
	/* Operand size. */
	G("mov [rdi], ax", M64 | M32, ST(2, 0), 0x66, 0x89, 0x07),
	G("rex.w beats 66", M64, ST(8, 0), 0x66, 0x48, 0x89, 0x07),
	G("empty rex, dword", M64, ST(4, 0), 0x40, 0x89, 0x07),
	/* movzx. */
	G("movzx eax, byte [rdi]", M64 | M32, ZX(1, 4, 0), 0x0f, 0xb6, 0x07),
	G("movzx r10d, word [rdi+0x10]", M64, ZX(2, 4, 10),
	  0x44, 0x0f, 0xb7, 0x57, 0x10),
	G("movzx rax, byte [rsi]", M64, ZX(1, 8, 0), 0x48, 0x0f, 0xb6, 0x06),
	G("movzx ax, byte [rsi]", M64 | M32, ZX(1, 2, 0),
	  0x66, 0x0f, 0xb6, 0x06),
	G("movzx r15, word [rsi]", M64, ZX(2, 8, 15), 0x4c, 0x0f, 0xb7, 0x3e),
	G("movzx esp, byte [rdi]: no high8", M64 | M32, ZX(1, 4, 4),
	  0x0f, 0xb6, 0x27),
	/* moffs (a0-a3): 8 address bytes in 64-bit code, 4 with 67. */
	G("movabs [abs64], eax", M64, ST(4, 0), 0xa3, ABS64),
	G("movabs rax, [abs64]", M64, LD(8, 0), 0x48, 0xa1, ABS64),
	G("movabs [abs64], ax", M64, ST(2, 0), 0x66, 0xa3, ABS64),
	G("addr32 mov al, [abs32]", M64, LD(1, 0),
	  0x67, 0xa0, 0xb0, 0x00, 0xe0, 0xfe),
	/* Fifteen bytes at most. */
	G("15: gs mov qword [rax+r9*8+disp32], -1", M64, IMM(8, ~0ull),
	  0x66, 0x66, 0x65, 0x4a, 0xc7, 0x84, 0xc8, 0x78, 0x56, 0x34, 0x12,
	  0xff, 0xff, 0xff, 0xff),
	G("15: movabs rax, [abs64]", M64, LD(8, 0),
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x48, 0xa1, ABS64),
	B("16: gs mov qword [rax+r9*8+disp32], -1", M64,
	  0x66, 0x66, 0x66, 0x65, 0x4a, 0xc7, 0x84, 0xc8, 0x78, 0x56, 0x34,
	  0x12, 0xff, 0xff, 0xff, 0xff),
	B("16: movabs rax, [abs64]", M64,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x48, 0xa1, ABS64),

	/* 32-bit code: i386 Linux and firmware on the APIC and IOAPIC. */
	G("mov [abs32], edx", M32, ST(4, 2),
	  0x89, 0x15, 0xb0, 0x00, 0xe0, 0xfe),
	G("mov ecx, [abs32]", M32, LD(4, 1),
	  0x8b, 0x0d, 0x20, 0x00, 0xe0, 0xfe),
	G("mov dword [abs32], 0", M32, IMM(4, 0),
	  0xc7, 0x05, 0x00, 0x00, 0xc0, 0xfe, 0x00, 0x00, 0x00, 0x00),
	G("mov word [abs32], 0xffff", M32, IMM(2, 0xffff),
	  0x66, 0xc7, 0x05, 0x10, 0x00, 0xc0, 0xfe, 0xff, 0xff),
	G("mov byte [eax], 0x7f", M32, IMM(1, 0x7f), 0xc6, 0x00, 0x7f),
	G("mov [esi], ch", M32, STH(5), 0x88, 0x2e),
	G("mov eax, [esp]", M32, LD(4, 0), 0x8b, 0x04, 0x24),
	G("mov ebx, [ebp+ecx*4+0x10]", M32, LD(4, 3), 0x8b, 0x5c, 0x8d, 0x10),
	G("es: mov [eax+disp32], esi", M32, ST(4, 6),
	  0x26, 0x89, 0x34, 0x05, 0x10, 0x03, 0xe0, 0xfe),
	G("movzx edx, word [abs32]", M32, ZX(2, 4, 2),
	  0x0f, 0xb7, 0x15, 0x30, 0x00, 0xe0, 0xfe),
	G("movzx dx, byte [ebx+4]", M32, ZX(1, 2, 2),
	  0x66, 0x0f, 0xb6, 0x53, 0x04),
	G("addr16 mov [bx+si], ax", M32, ST(2, 0), 0x67, 0x66, 0x89, 0x00),
	G("addr16 mov ecx, [disp16]", M32, LD(4, 1),
	  0x67, 0x8b, 0x0e, 0x34, 0x12),
	G("mov [abs32], eax (moffs)", M32, ST(4, 0),
	  0xa3, 0x00, 0x03, 0xe0, 0xfe),
	G("mov eax, [abs32] (moffs)", M32, LD(4, 0),
	  0xa1, 0x20, 0x00, 0xe0, 0xfe),
	G("mov al, [abs32] (moffs)", M32, LD(1, 0),
	  0xa0, 0x10, 0x00, 0xc0, 0xfe),
	G("mov [abs32], ax (moffs)", M32, ST(2, 0),
	  0x66, 0xa3, 0x10, 0x00, 0xc0, 0xfe),
	G("addr16 mov [disp16], eax (moffs)", M32, ST(4, 0),
	  0x67, 0xa3, 0x34, 0x12),

	/* 16-bit code: its own ModRM table, no SIB. */
	G("mov dx, [bx+0x10]", M16, LD(2, 2), 0x8b, 0x57, 0x10),
	G("mov [bp+di+0x1234], ax", M16, ST(2, 0), 0x89, 0x83, 0x34, 0x12),
	G("mov ax, [bp+0]", M16, LD(2, 0), 0x8b, 0x46, 0x00),
	G("mov ax, [si]: rm 100, no SIB", M16, LD(2, 0), 0x8b, 0x04),
	G("mov sp, fs:[bx+di]", M16, LD(2, 4), 0x64, 0x8b, 0x21),
	G("mov [bx+0x80], bh", M16, STH(7), 0x88, 0xbf, 0x80, 0x00),
	G("mov word [disp16], 0x1234", M16, IMM(2, 0x1234),
	  0xc7, 0x06, 0x78, 0x56, 0x34, 0x12),
	G("mov dword [di], imm32", M16, IMM(4, 0x12345678),
	  0x66, 0xc7, 0x05, 0x78, 0x56, 0x34, 0x12),
	G("mov byte [di+2], 0xff", M16, IMM(1, 0xff), 0xc6, 0x45, 0x02, 0xff),
	G("movzx ax, byte [si]", M16, ZX(1, 2, 0), 0x0f, 0xb6, 0x04),
	G("movzx ebx, word [disp16]", M16, ZX(2, 4, 3),
	  0x66, 0x0f, 0xb7, 0x1e, 0x00, 0x10),
	G("addr32 mov [abs32], ecx", M16, ST(4, 1),
	  0x67, 0x66, 0x89, 0x0d, 0xb0, 0x00, 0xe0, 0xfe),
	G("addr32 mov ax, [ebx+edx*2+8]", M16, LD(2, 0),
	  0x67, 0x8b, 0x44, 0x53, 0x08),
	G("mov [disp16], ax (moffs)", M16, ST(2, 0), 0xa3, 0x20, 0x00),
	G("mov [disp16], al (moffs)", M16, ST(1, 0), 0xa2, 0x10, 0x00),
	G("addr32 mov eax, [abs32] (moffs)", M16, LD(4, 0),
	  0x67, 0x66, 0xa1, 0xb0, 0x00, 0xe0, 0xfe),

	/* LOCK and REP (XACQUIRE/XRELEASE on a MOV store). */
	B("lock mov", ANY, 0xf0, 0x89, 0x07),
	B("lock after 66", ANY, 0x66, 0xf0, 0x89, 0x07),
	B("xrelease mov", ANY, 0xf3, 0x89, 0x07),
	B("xacquire mov", ANY, 0xf2, 0x89, 0x07),
	B("rep movzx", ANY, 0xf3, 0x0f, 0xb6, 0x07),
	B("lock movzx", ANY, 0xf0, 0x0f, 0xb6, 0x07),
	B("rep mov imm", ANY, 0xf3, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x00),
	B("rep moffs", ANY, 0xf3, 0xa3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	  0x00, 0x00),
	/* Register operands. */
	B("mov eax, eax (89)", ANY, 0x89, 0xc0),
	B("mov eax, ecx (8b)", ANY, 0x8b, 0xc1),
	B("mov al, ah (88)", ANY, 0x88, 0xe0),
	B("mov al, ah (8a)", ANY, 0x8a, 0xc4),
	B("mov eax, imm32 (c7 c0)", ANY, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00),
	B("mov al, imm8 (c6 c0)", ANY, 0xc6, 0xc0, 0x01),
	B("movzx eax, cl", ANY, 0x0f, 0xb6, 0xc1),
	B("movzx eax, cx", ANY, 0x0f, 0xb7, 0xc1),
	B("xabort (c6 f8)", ANY, 0xc6, 0xf8, 0x00),
	B("xbegin (c7 f8)", ANY, 0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00),
	/* c6/c7 other than /0. */
	B("c6 /1", ANY, 0xc6, 0x08, 0x00),
	B("c7 /7", ANY, 0xc7, 0x38, 0x00, 0x00, 0x00, 0x00),
	/* REX placement. */
	B("rex then 66", M64, 0x48, 0x66, 0x89, 0x07),
	B("rex then fs", M64, 0x48, 0x64, 0x8b, 0x00),
	B("two rex", M64, 0x40, 0x48, 0x89, 0x07),
	B("48 outside long mode is dec eax", M32 | M16, 0x48, 0x89, 0x07),
	B("40 outside long mode is inc eax", M32 | M16, 0x40, 0x88, 0x27),
	/* Other instructions. */
	B("movsx byte", ANY, 0x0f, 0xbe, 0x07),
	B("movsx word", ANY, 0x0f, 0xbf, 0x07),
	B("popcnt without f3", ANY, 0x0f, 0xb8, 0x07),
	B("lfs", ANY, 0x0f, 0xb4, 0x07),
	B("mov cr0, eax", ANY, 0x0f, 0x22, 0xc0),
	B("xchg [rdi], eax", ANY, 0x87, 0x07),
	B("add [rdi], eax", ANY, 0x01, 0x07),
	B("lea eax, [rdi]", ANY, 0x8d, 0x07),
	B("mov [rdi], es", ANY, 0x8c, 0x07),
	B("mov es, [rdi]", ANY, 0x8e, 0x07),
	B("mov eax, imm32 (b8)", ANY, 0xb8, 0x00, 0x00, 0xe0, 0xfe),
	B("stosd", ANY, 0xab),
	B("vex vmovd [rdi], xmm0", ANY, 0xc5, 0xf9, 0x7e, 0x07),
	B("0f alone", ANY, 0x0f),
	B("nop", ANY, 0x90),
	B("prefixes only", ANY, 0x66, 0x67, 0x2e),
	B("empty", ANY),
};

static const char *mode_name(unsigned int mode)
{
	return mode == M64 ? "64-bit" : mode == M32 ? "32-bit" : "16-bit";
}

/* Decode @n bytes in @mode from a heap copy of exactly @n bytes. */
static int mdecode(const u8 *bytes, unsigned int n, unsigned int mode,
		   bool cs_d, struct insn_mmio *out)
{
	u8 *buf = malloc(n);
	int err;

	assert_true(buf || !n);
	if (n)
		memcpy(buf, bytes, n);
	memset(out, STALE, sizeof(*out));
	if (mode != M64)
		cs_d = mode == M32;
	err = insn_decode_mmio(buf, n, mode == M64, cs_d, out);
	free(buf);
	return err;
}

/* @want: the result, its len included. In 64-bit code CS.D must not count. */
static void mexpect_ok(const char *name, const u8 *bytes, unsigned int n,
		       unsigned int mode, const struct insn_mmio *want)
{
	struct insn_mmio out;
	unsigned int k;
	int err;

	for (k = 0; k < (mode == M64 ? 2 : 1); k++) {
		err = mdecode(bytes, n, mode, k, &out);
		if (err)
			fail_msg("%s (%s, n %u): error %d", name,
				 mode_name(mode), n, err);
		if (out.kind != want->kind || out.size != want->size ||
		    out.dst_size != want->dst_size || out.reg != want->reg ||
		    out.high8 != want->high8 || out.imm != want->imm ||
		    out.len != want->len)
			fail_msg("%s (%s, n %u): kind %d size %u dst %u reg %d "
				 "high8 %d imm %#llx len %u; want kind %d "
				 "size %u dst %u reg %d high8 %d imm %#llx "
				 "len %u", name, mode_name(mode), n, out.kind,
				 out.size, out.dst_size, out.reg, out.high8,
				 (unsigned long long)out.imm, out.len,
				 want->kind, want->size, want->dst_size,
				 want->reg, want->high8,
				 (unsigned long long)want->imm, want->len);
	}
}

static void mexpect_fail(const char *name, const u8 *bytes, unsigned int n,
			 unsigned int mode)
{
	struct insn_mmio out;
	unsigned int k;
	int err;

	for (k = 0; k < (mode == M64 ? 2 : 1); k++) {
		err = mdecode(bytes, n, mode, k, &out);
		if (err != -HV_EINVAL)
			fail_msg("%s (%s, n %u): returned %d (len %u), want "
				 "-HV_EINVAL", name, mode_name(mode), n, err,
				 out.len);
	}
}

static struct insn_mmio mcase_want(const struct mcase *c)
{
	return (struct insn_mmio){
		.kind = c->kind, .size = c->size, .dst_size = c->dst_size,
		.reg = c->reg, .high8 = c->high8, .imm = c->imm, .len = c->n,
	};
}

static void test_mmio_table(void **state)
{
	const struct mcase *c;
	struct insn_mmio want;
	unsigned int i, mode;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(mcases); i++) {
		c = &mcases[i];
		want = mcase_want(c);
		assert_true(c->n <= sizeof(c->bytes));
		for (mode = M64; mode <= M16; mode <<= 1) {
			if (!(c->modes & mode))
				continue;
			if (c->good)
				mexpect_ok(c->name, c->bytes, c->n, mode, &want);
			else
				mexpect_fail(c->name, c->bytes, c->n, mode);
		}
	}
}

/* Every good case, cut short anywhere, fails. */
static void test_mmio_truncated(void **state)
{
	const struct mcase *c;
	unsigned int i, n, mode;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(mcases); i++) {
		c = &mcases[i];
		for (mode = M64; mode <= M16; mode <<= 1)
			if (c->good && (c->modes & mode))
				for (n = 0; n < c->n; n++)
					mexpect_fail(c->name, c->bytes, n,
						     mode);
	}
}

/* Bytes after the instruction change nothing, up to n = 17. */
static void test_mmio_trailing(void **state)
{
	static const u8 after[] = { 0x00, 0xff, 0x66, 0x48, 0x89, 0x0f };
	u8 buf[INSN_MAX_LEN + 2];
	const struct mcase *c;
	struct insn_mmio want;
	unsigned int i, j, n, mode;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(mcases); i++) {
		c = &mcases[i];
		want = mcase_want(c);
		for (j = 0; c->good && j < ARRAY_SIZE(after); j++) {
			memset(buf, after[j], sizeof(buf));
			memcpy(buf, c->bytes, c->n);
			for (n = c->n + 1; n <= sizeof(buf); n++)
				for (mode = M64; mode <= M16; mode <<= 1)
					if (c->modes & mode)
						mexpect_ok(c->name, buf, n,
							   mode, &want);
		}
	}
}

/*
 * Memory operand lengths after the ModRM byte (SDM Vol. 2A, tables 2-1
 * and 2-2), for every ModRM with mod != 3, and for rm 100 every SIB base.
 */
static unsigned int ref_modrm_len(u8 modrm, u8 sib, bool addr16)
{
	static const u8 disp16[3] = { 0, 1, 2 }, disp32[3] = { 0, 1, 4 };
	unsigned int mod = modrm >> 6, rm = modrm & 7;

	if (addr16)
		return 1 + (mod == 0 && rm == 6 ? 2 : disp16[mod]);
	if (rm == 4)
		return 2 + (mod == 0 && (sib & 7) == 5 ? 4 : disp32[mod]);
	return 1 + (mod == 0 && rm == 5 ? 4 : disp32[mod]);
}

static void test_mmio_modrm(void **state)
{
	static const struct {
		unsigned int mode;
		u8 prefix; /* 0: none */
		bool addr16;
	} modes[] = {
		{ M64, 0, false }, { M64, 0x67, false }, { M32, 0, false },
		{ M32, 0x67, true }, { M16, 0, true }, { M16, 0x67, false },
	};
	struct insn_mmio want = { .kind = INSN_MMIO_LOAD, .size = 4,
				  .dst_size = 4 };
	u8 buf[INSN_MAX_LEN];
	unsigned int m, modrm, base, p, len;

	(void)state;
	for (m = 0; m < ARRAY_SIZE(modes); m++)
		for (modrm = 0; modrm < 0xc0; modrm++)
			for (base = 0; base < 8; base++) {
				/* mov e/ax, [modrm]; 16-bit code needs 66. */
				p = 0;
				if (modes[m].mode == M16)
					buf[p++] = 0x66;
				if (modes[m].prefix)
					buf[p++] = modes[m].prefix;
				buf[p++] = 0x8b;
				buf[p] = modrm;
				buf[p + 1] = 0x28 | base; /* SIB */
				memset(buf + p + 2, 0xcc, sizeof(buf) - p - 2);
				len = ref_modrm_len(modrm, buf[p + 1],
						    modes[m].addr16);
				want.reg = (modrm >> 3) & 7;
				want.len = p + len;
				mexpect_ok("modrm", buf, p + len,
					   modes[m].mode, &want);
				mexpect_ok("modrm", buf, sizeof(buf),
					   modes[m].mode, &want);
				mexpect_fail("modrm", buf, p + len - 1,
					     modes[m].mode);
			}
}

/* Every one-byte opcode with a memory ModRM: only the MOVs decode. */
static void test_mmio_opcodes(void **state)
{
	u8 buf[INSN_MAX_LEN];
	struct insn_mmio out;
	unsigned int op, mode;
	bool ours;
	int err;

	(void)state;
	memset(buf, 0, sizeof(buf)); /* ModRM 00: [eax] / [bx+si] */
	for (op = 0; op < 256; op++)
		for (mode = M64; mode <= M16; mode <<= 1) {
			buf[0] = op;
			buf[1] = op == 0x0f ? 0xb6 : 0x00;
			ours = (op >= 0x88 && op <= 0x8b) || op == 0xc6 ||
			       op == 0xc7 || (op >= 0xa0 && op <= 0xa3) ||
			       op == 0x0f;
			/* A prefix (or REX) here is followed by opcode 00,
			 * ADD: no MOV either. */
			err = mdecode(buf, sizeof(buf), mode, true, &out);
			if (ours != !err)
				fail_msg("opcode %#x (%s): returned %d", op,
					 mode_name(mode), err);
		}
	/* Two-byte opcodes: only movzx. */
	buf[0] = 0x0f;
	buf[2] = 0x00;
	for (op = 0; op < 256; op++)
		for (mode = M64; mode <= M16; mode <<= 1) {
			buf[1] = op;
			err = mdecode(buf, sizeof(buf), mode, true, &out);
			if ((op == 0xb6 || op == 0xb7) != !err)
				fail_msg("opcode 0f %#x (%s): returned %d", op,
					 mode_name(mode), err);
		}
}

/* Each legacy prefix in front of mov [mem], eax, and every REX. */
static void test_mmio_prefixes(void **state)
{
	static const u8 seg[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
	static const u8 bad[] = { 0xf0, 0xf2, 0xf3 };
	struct insn_mmio want = { .kind = INSN_MMIO_STORE_REG, .len = 3 };
	unsigned int i, mode, rex;
	u8 buf[3];

	(void)state;
	buf[1] = 0x89;
	buf[2] = 0x07;
	for (mode = M64; mode <= M16; mode <<= 1) {
		for (i = 0; i < ARRAY_SIZE(seg); i++) {
			buf[0] = seg[i];
			want.size = want.dst_size = mode == M16 ? 2 : 4;
			mexpect_ok("segment override", buf, 3, mode, &want);
		}
		buf[0] = 0x66;
		want.size = want.dst_size = mode == M16 ? 4 : 2;
		mexpect_ok("66", buf, 3, mode, &want);
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			buf[0] = bad[i];
			mexpect_fail("lock/rep", buf, 3, mode);
		}
	}
	/* REX: W makes it 64-bit, R adds 8 to reg; B and X do nothing. */
	for (rex = 0x40; rex <= 0x4f; rex++) {
		buf[0] = rex;
		buf[1] = 0x89;
		buf[2] = 0x27; /* [rdi], esp / r12d */
		want = (struct insn_mmio){ .kind = INSN_MMIO_STORE_REG,
					   .size = rex & 8 ? 8 : 4,
					   .dst_size = rex & 8 ? 8 : 4,
					   .reg = rex & 4 ? 12 : 4, .len = 3 };
		mexpect_ok("rex", buf, 3, M64, &want);
		mexpect_fail("rex outside long mode", buf, 3, M32);
		mexpect_fail("rex outside long mode", buf, 3, M16);
		/* Byte form: any REX means SPL, never AH; W does nothing. */
		buf[1] = 0x88;
		want.size = want.dst_size = 1;
		mexpect_ok("rex, byte", buf, 3, M64, &want);
	}
}

/* 66 prefixes in front of a 6-byte mov: 15 bytes decode, 16 do not. */
static void test_mmio_length_limit(void **state)
{
	static const u8 insn[] = { 0x48, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x80 };
	struct insn_mmio want = { .kind = INSN_MMIO_STORE_IMM, .size = 8,
				  .dst_size = 8, .reg = -1,
				  .imm = 0xffffffff80000001ull };
	u8 buf[24];
	unsigned int pre, n;

	(void)state;
	for (pre = 0; pre + sizeof(insn) <= sizeof(buf); pre++) {
		memset(buf, 0x66, pre);
		memcpy(buf + pre, insn, sizeof(insn));
		want.len = pre + sizeof(insn);
		for (n = want.len; n <= sizeof(buf); n++) {
			if (want.len <= INSN_MAX_LEN)
				mexpect_ok("66 prefixes", buf, n, M64, &want);
			else
				mexpect_fail("66 prefixes", buf, n, M64);
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
		cmocka_unit_test(test_mmio_table),
		cmocka_unit_test(test_mmio_truncated),
		cmocka_unit_test(test_mmio_trailing),
		cmocka_unit_test(test_mmio_modrm),
		cmocka_unit_test(test_mmio_opcodes),
		cmocka_unit_test(test_mmio_prefixes),
		cmocka_unit_test(test_mmio_length_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
