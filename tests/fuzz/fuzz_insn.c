/*
 * libFuzzer target for the INS/OUTS prefix decoder (kernel/vdev/insn.c).
 * The input is the bytes at a guest's RIP, decoded in both modes from a
 * heap copy of exactly that size, so ASan sees any read past n.
 *
 * On success: len <= n and len <= 15, the opcode is one of 0x6c..0x6f and
 * is the instruction's last byte, every byte before it is a legacy prefix
 * (or, in long mode, one REX right before the opcode), and seg, addr_prefix
 * and rep say what those prefixes do. Either way the result agrees with a
 * spec written differently: an instruction of k bytes is INS/OUTS when its
 * form matches, and the decoder must find the one k that does, if any.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, false);
	check(data, size, true);
	return 0;
}
