/*
 * libFuzzer target for the instruction decoders (kernel/vdev/insn.c). The
 * input is the bytes at a guest's RIP, decoded in every mode from a heap
 * copy of exactly that size, so ASan sees any read past n.
 *
 * INS/OUTS: on success, len <= n and len <= 15, the opcode is one of
 * 0x6c..0x6f and is the instruction's last byte, every byte before it is
 * a legacy prefix (or, in long mode, one REX right before the opcode), and
 * seg, addr_prefix and rep say what those prefixes do. Either way the
 * result agrees with a spec written differently: an instruction of k bytes
 * is INS/OUTS when its form matches, and the decoder must find the one k
 * that does, if any.
 *
 * MMIO MOV: on success, len <= n and len <= 15, size is 1, 2, 4 or 8, reg
 * is -1..15 (-1 exactly for an immediate store), high8 only for a byte
 * register 4..7 without REX, and the first len bytes alone decode the
 * same while len - 1 do not. Either way the result matches a table-driven
 * reference decoder below.
 */
#include <lamina/errno.h>
#include <lamina/insn.h>
#include <lamina/lib.h>
#include <lamina/vcpu.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static int seg_of(u8 b)
{
	static const u8 seg_bytes[] = {
		[VSEG_ES] = 0x26, [VSEG_CS] = 0x2e, [VSEG_SS] = 0x36,
		[VSEG_DS] = 0x3e, [VSEG_FS] = 0x64, [VSEG_GS] = 0x65,
	};
	unsigned int s;

	for (s = 0; s < ARRAY_SIZE(seg_bytes); s++)
		if (b == seg_bytes[s])
			return s;
	return INSN_SEG_DEFAULT;
}

static bool legacy_prefix(u8 b)
{
	return seg_of(b) != INSN_SEG_DEFAULT || b == 0x66 || b == 0x67 ||
	       b == 0xf0 || b == 0xf2 || b == 0xf3;
}

static bool rex(u8 b)
{
	return b >= 0x40 && b <= 0x4f;
}

/* Are the first k bytes, as a whole, one INS/OUTS? */
static bool is_string_io(const u8 *b, size_t k, bool long_mode)
{
	size_t i, prefixes = k - 1;

	if (k < 1 || k > INSN_MAX_LEN || b[k - 1] < 0x6c || b[k - 1] > 0x6f)
		return false;
	if (long_mode && k >= 2 && rex(b[k - 2]))
		prefixes--;
	for (i = 0; i < prefixes; i++)
		if (!legacy_prefix(b[i]))
			return false;
	return true;
}

static void check(const u8 *data, size_t size, bool long_mode)
{
	u8 *buf = malloc(size); /* exact size: ASan sees any overrun */
	struct insn_string_io out;
	size_t k, want = 0, i;
	int err, seg = INSN_SEG_DEFAULT;
	bool addr = false, rep = false;

	CHECK(buf || !size);
	if (size)
		memcpy(buf, data, size);
	memset(&out, 0xa5, sizeof(out));
	err = insn_decode_string_io(buf, size, long_mode, &out);
	for (k = 1; k <= MIN(size, (size_t)INSN_MAX_LEN) && !want; k++)
		if (is_string_io(data, k, long_mode))
			want = k;
	if (!want) {
		CHECK(err == -HV_EINVAL);
		goto out;
	}
	CHECK(err == 0);
	CHECK(out.len == want);
	CHECK(out.len <= size && out.len <= INSN_MAX_LEN);
	CHECK(out.opcode >= 0x6c && out.opcode <= 0x6f);
	CHECK(data[out.len - 1] == out.opcode);
	for (i = 0; i + 1 < out.len; i++) {
		if (seg_of(data[i]) != INSN_SEG_DEFAULT)
			seg = seg_of(data[i]);
		addr |= data[i] == 0x67;
		rep |= data[i] == 0xf2 || data[i] == 0xf3;
	}
	CHECK(out.seg == seg);
	CHECK(out.addr_prefix == addr);
	CHECK(out.rep == rep);
out:
	free(buf);
}

/* ---------------------------------------------------------------- MMIO */

enum { MEM_BYTE, MEM_WORD, MEM_OPSIZE };
enum { F_MODRM, F_MODRM_IMM, F_MOFFS };

/* The MOVs insn_decode_mmio() knows, as data. */
static const struct ref_op {
	u8 op0, op1;   /* op1 only when op0 is 0x0f */
	enum insn_mmio_kind kind;
	u8 mem, form;
} ref_ops[] = {
	{ 0x88, 0, INSN_MMIO_STORE_REG, MEM_BYTE, F_MODRM },
	{ 0x89, 0, INSN_MMIO_STORE_REG, MEM_OPSIZE, F_MODRM },
	{ 0x8a, 0, INSN_MMIO_LOAD, MEM_BYTE, F_MODRM },
	{ 0x8b, 0, INSN_MMIO_LOAD, MEM_OPSIZE, F_MODRM },
	{ 0xc6, 0, INSN_MMIO_STORE_IMM, MEM_BYTE, F_MODRM_IMM },
	{ 0xc7, 0, INSN_MMIO_STORE_IMM, MEM_OPSIZE, F_MODRM_IMM },
	{ 0xa0, 0, INSN_MMIO_LOAD, MEM_BYTE, F_MOFFS },
	{ 0xa1, 0, INSN_MMIO_LOAD, MEM_OPSIZE, F_MOFFS },
	{ 0xa2, 0, INSN_MMIO_STORE_REG, MEM_BYTE, F_MOFFS },
	{ 0xa3, 0, INSN_MMIO_STORE_REG, MEM_OPSIZE, F_MOFFS },
	{ 0x0f, 0xb6, INSN_MMIO_LOAD_ZX, MEM_BYTE, F_MODRM },
	{ 0x0f, 0xb7, INSN_MMIO_LOAD_ZX, MEM_WORD, F_MODRM },
};

/* Bytes after ModRM: [16-bit addressing][mod] (SDM Vol. 2A, 2-1, 2-2). */
static const u8 ref_disp[2][3] = { { 0, 1, 4 }, { 0, 1, 2 } };

static const struct ref_op *ref_find(const u8 *b, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ref_ops); i++)
		if (n >= 1 && b[0] == ref_ops[i].op0 &&
		    (b[0] != 0x0f || (n >= 2 && b[1] == ref_ops[i].op1)))
			return &ref_ops[i];
	return NULL;
}

/* Bytes from ModRM (mod != 3) to the end of the displacement. */
static size_t ref_modrm(const u8 *b, size_t n, bool a16)
{
	u8 mod = b[0] >> 6, rm = b[0] & 7;
	size_t len = 1 + ref_disp[a16][mod];

	if (a16)
		return len + (mod == 0 && rm == 6 ? 2 : 0);
	if (rm == 4) /* SIB */
		return n < 2 ? 0 : len + 1 + (mod == 0 && (b[1] & 7) == 5 ? 4 : 0);
	return len + (mod == 0 && rm == 5 ? 4 : 0);
}

/* What the first 15 of @n bytes decode to, by the tables above. */
static bool ref_mmio(const u8 *b, size_t n, bool lm, bool cs_d,
		     struct insn_mmio *r)
{
	bool o16 = false, a16 = false, lockrep = false;
	const struct ref_op *op;
	size_t i = 0, m, imm;
	u8 rex_byte = 0, modrm;
	unsigned int opsize, asize;

	n = MIN(n, (size_t)INSN_MAX_LEN);
	for (; i < n && legacy_prefix(b[i]); i++) {
		o16 |= b[i] == 0x66;
		a16 |= b[i] == 0x67;
		lockrep |= b[i] == 0xf0 || b[i] == 0xf2 || b[i] == 0xf3;
	}
	if (lm && i < n && rex(b[i]))
		rex_byte = b[i++];
	op = ref_find(b + i, n - i);
	if (lockrep || !op)
		return false;
	opsize = lm ? (rex_byte & 8 ? 8 : o16 ? 2 : 4) : (cs_d ^ o16 ? 4 : 2);
	asize = lm ? (a16 ? 4 : 8) : (cs_d ^ a16 ? 4 : 2);
	i += op->op0 == 0x0f ? 2 : 1;
	r->kind = op->kind;
	r->size = op->mem == MEM_BYTE ? 1 : op->mem == MEM_WORD ? 2 : opsize;
	r->dst_size = op->kind == INSN_MMIO_LOAD_ZX ? opsize : r->size;
	r->reg = 0;
	r->high8 = false;
	r->imm = 0;
	if (op->form == F_MOFFS) {
		r->len = i + asize;
		return r->len <= n;
	}
	if (i >= n || b[i] >= 0xc0)
		return false;
	modrm = b[i];
	m = ref_modrm(b + i, n - i, asize == 2);
	if (!m)
		return false;
	r->reg = (modrm >> 3 & 7) + (rex_byte & 4 ? 8 : 0);
	r->high8 = r->size == 1 && op->kind != INSN_MMIO_LOAD_ZX && !rex_byte &&
		   r->reg >= 4;
	imm = 0;
	if (op->form == F_MODRM_IMM) {
		if (modrm & 0x38)
			return false;
		imm = MIN(r->size, 4u);
		r->reg = -1;
		r->high8 = false;
		if (i + m + imm > n)
			return false;
		memcpy(&r->imm, b + i + m, imm); /* little-endian host */
		if (r->size == 8 && (r->imm & 0x80000000u))
			r->imm |= 0xffffffff00000000ull;
	}
	r->len = i + m + imm;
	return r->len <= n;
}

static int mmio_decode(const u8 *data, size_t size, bool lm, bool cs_d,
		       struct insn_mmio *out)
{
	u8 *buf = malloc(size); /* exact size: ASan sees any overrun */
	int err;

	CHECK(buf || !size);
	if (size)
		memcpy(buf, data, size);
	memset(out, 0xa5, sizeof(*out));
	err = insn_decode_mmio(buf, size, lm, cs_d, out);
	free(buf);
	return err;
}

static bool mmio_same(const struct insn_mmio *a, const struct insn_mmio *b)
{
	return a->kind == b->kind && a->size == b->size &&
	       a->dst_size == b->dst_size && a->reg == b->reg &&
	       a->high8 == b->high8 && a->imm == b->imm && a->len == b->len;
}

static void check_mmio(const u8 *data, size_t size, bool lm, bool cs_d)
{
	struct insn_mmio out, again, want;
	bool ok = ref_mmio(data, size, lm, cs_d, &want);
	int err = mmio_decode(data, size, lm, cs_d, &out);

	if (!ok) {
		CHECK(err == -HV_EINVAL);
		return;
	}
	CHECK(err == 0);
	CHECK(mmio_same(&out, &want));
	CHECK(out.len >= 2 && out.len <= size && out.len <= INSN_MAX_LEN);
	CHECK(out.size == 1 || out.size == 2 || out.size == 4 ||
	      out.size == 8);
	CHECK(out.kind == INSN_MMIO_LOAD_ZX ? out.dst_size >= out.size
					    : out.dst_size == out.size);
	CHECK(out.reg >= -1 && out.reg <= 15);
	CHECK((out.reg == -1) == (out.kind == INSN_MMIO_STORE_IMM));
	CHECK(!out.high8 || (out.size == 1 && out.reg >= 4 && out.reg <= 7));
	CHECK(out.kind == INSN_MMIO_STORE_IMM || out.imm == 0);
	CHECK(out.size == 8 || out.imm >> (8 * out.size) == 0);
	CHECK(lm || out.reg <= 7);
	/* The instruction alone decodes the same; one byte short, not at all. */
	CHECK(mmio_decode(data, out.len, lm, cs_d, &again) == 0);
	CHECK(mmio_same(&out, &again));
	CHECK(mmio_decode(data, out.len - 1, lm, cs_d, &again) == -HV_EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, false);
	check(data, size, true);
	check_mmio(data, size, true, false);
	check_mmio(data, size, true, true);
	check_mmio(data, size, false, true);
	check_mmio(data, size, false, false);
	return 0;
}
