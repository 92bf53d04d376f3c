/*
 * The little instruction decoding the virtual devices need
 * (include/lamina/insn.h): INS/OUTS prefixes for string port I/O, and the
 * MOV forms guests use on emulated MMIO registers.
 */
#include <lamina/errno.h>
#include <lamina/insn.h>
#include <lamina/vcpu.h>

/* What the prefixes in front of an opcode say. */
struct insn_prefixes {
	int seg;       /* the last segment override, or INSN_SEG_DEFAULT */
	bool opsize;   /* 0x66 */
	bool addr;     /* 0x67 */
	bool lock;     /* 0xf0 */
	bool rep;      /* 0xf2 or 0xf3 */
	u8 rex;        /* the REX byte, 0 when there is none */
};

#define REX_W 0x08
#define REX_R 0x04

static int segment_prefix(u8 b)
{
	switch (b) {
	case 0x26: return VSEG_ES;
	case 0x2e: return VSEG_CS;
	case 0x36: return VSEG_SS;
	case 0x3e: return VSEG_DS;
	case 0x64: return VSEG_FS;
	case 0x65: return VSEG_GS;
	default: return INSN_SEG_DEFAULT;
	}
}

/*
 * Read the legacy prefixes, in any order and number, then in 64-bit code
 * one REX, from the first @n bytes. Returns the offset of the byte after
 * them, which should be the opcode (it is @n when the bytes ran out).
 *
 * A REX counts only right before the opcode: hardware ignores one that is
 * followed by another prefix (SDM Vol. 2A, 2.2.1). Rather than decode
 * such code the way hardware does, the byte after the REX is taken as the
 * opcode, so a legacy prefix or second REX there makes the instruction
 * invalid for every caller. Compilers never emit it.
 */
static unsigned int insn_scan_prefixes(const u8 *bytes, unsigned int n,
				       bool long_mode, struct insn_prefixes *p)
{
	unsigned int i;

	*p = (struct insn_prefixes){ .seg = INSN_SEG_DEFAULT };
	for (i = 0; i < n; i++) {
		u8 b = bytes[i];
		int seg = segment_prefix(b);

		if (seg != INSN_SEG_DEFAULT)
			p->seg = seg; /* the last one counts, as on hardware */
		else if (b == 0x66)
			p->opsize = true;
		else if (b == 0x67)
			p->addr = true;
		else if (b == 0xf0)
			p->lock = true;
		else if (b == 0xf2 || b == 0xf3)
			p->rep = true;
		else
			break;
	}
	if (long_mode && i < n && (bytes[i] & 0xf0) == 0x40)
		p->rex = bytes[i++];
	return i;
}

int insn_decode_string_io(const u8 *bytes, unsigned int n, bool long_mode,
			  struct insn_string_io *out)
{
	struct insn_prefixes p;
	unsigned int i;

	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN;
	i = insn_scan_prefixes(bytes, n, long_mode, &p);
	if (i >= n || bytes[i] < 0x6c || bytes[i] > 0x6f)
		return -HV_EINVAL;
	out->seg = p.seg;
	out->addr_prefix = p.addr;
	out->rep = p.rep;
	out->opcode = bytes[i];
	out->len = i + 1;
	return 0;
}

/*
 * Bytes taken by a memory operand's ModRM, SIB and displacement, from the
 * ModRM byte at @b with @n bytes left; 0 when the operand is a register
 * (mod 3) or the bytes run out. Only ModRM and SIB are read.
 */
static unsigned int modrm_mem_len(const u8 *b, unsigned int n, bool addr16)
{
	unsigned int mod, rm, len = 1;

	if (n < 1 || (b[0] >> 6) == 3)
		return 0;
	mod = b[0] >> 6;
	rm = b[0] & 7;
	if (addr16) {
		/* No SIB; mod 00 rm 110 is a bare disp16. */
		if (mod == 1)
			len += 1;
		else if (mod == 2 || rm == 6)
			len += 2;
	} else {
		if (rm == 4) {
			/* SIB; base 101 under mod 00 is a bare disp32. */
			if (n < 2)
				return 0;
			len++;
			if (mod == 0 && (b[1] & 7) == 5)
				len += 4;
		}
		/* mod 00 rm 101 is disp32 (RIP-relative in 64-bit code). */
		if (mod == 1)
			len += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			len += 4;
	}
	return len <= n ? len : 0;
}

/* @n (at most 8) little-endian bytes at @b. */
static u64 le_bytes(const u8 *b, unsigned int n)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (u64)b[i] << (8 * i);
	return v;
}

/*
 * Kind and sizes from the opcode at @b (@n bytes left) and the operand
 * size @opsize; -HV_EINVAL when it is not one of the MOVs decoded here.
 */
static int mmio_opcode(const u8 *b, unsigned int n, unsigned int opsize,
		       struct insn_mmio *out)
{
	if (b[0] == 0x0f) {
		if (n < 2 || (b[1] != 0xb6 && b[1] != 0xb7))
			return -HV_EINVAL;
		out->kind = INSN_MMIO_LOAD_ZX;
		out->size = b[1] == 0xb6 ? 1 : 2;
		out->dst_size = opsize;
		return 0;
	}
	switch (b[0] & ~1) { /* bit 0 clear: the byte form */
	case 0x88: case 0xa2: out->kind = INSN_MMIO_STORE_REG; break;
	case 0x8a: case 0xa0: out->kind = INSN_MMIO_LOAD; break;
	case 0xc6: out->kind = INSN_MMIO_STORE_IMM; break;
	default: return -HV_EINVAL;
	}
	out->size = b[0] & 1 ? opsize : 1;
	out->dst_size = out->size;
	return 0;
}

/*
 * The immediate of c6/c7, at @b with @n bytes left, into @out->imm: imm8,
 * imm16 or imm32, the last sign-extended for a 64-bit store. Returns its
 * length, or -HV_EINVAL.
 */
static int mmio_imm(const u8 *b, unsigned int n, struct insn_mmio *out)
{
	unsigned int len = out->size < 4 ? out->size : 4;

	if (n < len)
		return -HV_EINVAL;
	out->imm = le_bytes(b, len);
	if (out->size == 8)
		out->imm = (u64)(s64)(s32)(u32)out->imm;
	out->reg = -1;
	return len;
}

int insn_decode_mmio(const u8 *bytes, unsigned int n, bool long_mode,
		     bool cs_d, struct insn_mmio *out)
{
	struct insn_prefixes p;
	unsigned int i, m, opsize, asize;
	int imm_len = 0;
	u8 op, modrm;

	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN; /* so anything longer runs out of bytes */
	i = insn_scan_prefixes(bytes, n, long_mode, &p);
	if (i >= n || p.lock || p.rep)
		return -HV_EINVAL;
	if (long_mode) {
		opsize = p.rex & REX_W ? 8 : p.opsize ? 2 : 4;
		asize = p.addr ? 4 : 8;
	} else {
		opsize = cs_d != p.opsize ? 4 : 2;
		asize = cs_d != p.addr ? 4 : 2;
	}
	op = bytes[i];
	if (mmio_opcode(bytes + i, n - i, opsize, out))
		return -HV_EINVAL;
	i += op == 0x0f ? 2 : 1;
	out->reg = 0;
	out->high8 = false;
	out->imm = 0;
	if ((op & ~3) == 0xa0) {
		/* moffs: no ModRM, an address of the address size; AL..RAX. */
		if (n - i < asize)
			return -HV_EINVAL;
		out->len = i + asize;
		return 0;
	}
	m = modrm_mem_len(bytes + i, n - i, asize == 2);
	if (!m)
		return -HV_EINVAL;
	modrm = bytes[i];
	i += m;
	out->reg = ((modrm >> 3) & 7) | (p.rex & REX_R ? 8 : 0);
	if (out->kind == INSN_MMIO_STORE_IMM) {
		if (modrm & 0x38)
			return -HV_EINVAL; /* only /0 is MOV */
		imm_len = mmio_imm(bytes + i, n - i, out);
		if (imm_len < 0)
			return -HV_EINVAL;
	} else if (out->size == 1 && out->kind != INSN_MMIO_LOAD_ZX) {
		out->high8 = !p.rex && out->reg >= 4;
	}
	out->len = i + imm_len;
	return 0;
}
