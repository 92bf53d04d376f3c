/* Decoding INS/OUTS prefixes (include/lamina/insn.h). */
#include <lamina/errno.h>
#include <lamina/insn.h>
#include <lamina/vcpu.h>

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

int insn_decode_string_io(const u8 *bytes, unsigned int n, bool long_mode,
			  struct insn_string_io *out)
{
	unsigned int i;

	out->seg = INSN_SEG_DEFAULT;
	out->addr_prefix = false;
	out->rep = false;
	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN;
	for (i = 0; i < n; i++) {
		u8 b = bytes[i];
		int seg = segment_prefix(b);

		if (seg != INSN_SEG_DEFAULT)
			out->seg = seg; /* the last one counts, as on hardware */
		else if (b == 0x67)
			out->addr_prefix = true;
		else if (b == 0xf2 || b == 0xf3)
			out->rep = true;
		else if (b != 0x66 && b != 0xf0)
			break;
	}
	/* A REX prefix must come last, right before the opcode. */
	if (long_mode && i < n && (bytes[i] & 0xf0) == 0x40)
		i++;
	if (i >= n || bytes[i] < 0x6c || bytes[i] > 0x6f)
		return -HV_EINVAL;
	out->opcode = bytes[i];
	out->len = i + 1;
	return 0;
}
