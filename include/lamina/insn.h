/*
 * The little instruction decoding the virtual devices need. Exits say
 * which port an INS/OUTS used but, without decode assists (QEMU TCG has
 * none), not its segment override or address size: those are prefixes,
 * read here from the instruction bytes at the guest's RIP.
 */
#ifndef LAMINA_INSN_H
#define LAMINA_INSN_H

#include <lamina/types.h>

#define INSN_MAX_LEN 15

enum insn_seg { INSN_SEG_DEFAULT = -1 }; /* else enum vcpu_seg_index */

struct insn_string_io {
	int seg;           /* the override (VSEG_*), or INSN_SEG_DEFAULT */
	bool addr_prefix;  /* 0x67: the other address size */
	bool rep;          /* 0xf3 (0xf2 counts the same for INS/OUTS) */
	u8 opcode;         /* 0x6c INSB, 0x6d INSW/D, 0x6e OUTSB, 0x6f OUTSW/D */
	unsigned int len;  /* bytes of the whole instruction */
};

/*
 * Decode @n bytes (up to INSN_MAX_LEN) at the guest's RIP as INS or OUTS;
 * @long_mode allows REX prefixes. Returns 0, or -HV_EINVAL when the bytes
 * are not an INS/OUTS (the guest changed its code under the exit, or the
 * bytes ran out).
 */
int insn_decode_string_io(const u8 *bytes, unsigned int n, bool long_mode,
			  struct insn_string_io *out);

#endif
