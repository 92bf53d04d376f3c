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

/*
 * A guest's access to emulated MMIO (the local APIC and IOAPIC pages):
 * the exit gives the address (SVM: EXITINFO2; VMX: the EPT violation's
 * guest-physical address) but, without decode assists, not the
 * instruction. These are the forms guests use for device registers.
 */
enum insn_mmio_kind {
	INSN_MMIO_STORE_REG,  /* 88/89: mov r/m, reg; a2/a3: mov moffs, rAX */
	INSN_MMIO_STORE_IMM,  /* c6/c7 /0: mov r/m, imm (imm32 sign-extended for 64-bit) */
	INSN_MMIO_LOAD,       /* 8a/8b: mov reg, r/m; a0/a1: mov rAX, moffs */
	INSN_MMIO_LOAD_ZX,    /* 0f b6/b7: movzx reg, r/m8 or r/m16 */
};

struct insn_mmio {
	enum insn_mmio_kind kind;
	unsigned int size;    /* bytes of memory accessed: 1, 2, 4, 8 */
	unsigned int dst_size; /* LOAD_ZX: bytes of the destination register (2, 4, 8); else = size */
	int reg;              /* register operand in x86 encoding (0 rax, 1 rcx, 2 rdx,
			       * 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15), -1 for IMM */
	bool high8;           /* reg 4-7 mean AH, CH, DH, BH (byte form, no REX;
			       * never for LOAD_ZX, whose reg is the wider destination) */
	u64 imm;              /* STORE_IMM: the value, already sign-extended to size
			       * (bits above size are 0); else 0 */
	unsigned int len;     /* bytes of the whole instruction */
};

/*
 * Decode @n bytes at the guest's RIP as one of the MOV forms above with a
 * memory operand (ModRM mod != 3, or a0-a3's moffs; any SIB, displacement
 * or moffs is skipped: the exit already says the address). @long_mode:
 * 64-bit code (REX allowed, default operand size 32, @cs_d ignored); else
 * @cs_d selects 32- (true) or 16-bit default operand and address sizes.
 * Prefixes 66, 67, segment overrides and REX count; LOCK and REP make it
 * invalid, and so does a REX that is not right before the opcode. Bytes
 * past @n are never read; an instruction longer than INSN_MAX_LEN is
 * invalid. Returns 0 or -HV_EINVAL (then @out holds nothing useful).
 */
int insn_decode_mmio(const u8 *bytes, unsigned int n, bool long_mode,
		     bool cs_d, struct insn_mmio *out);

#endif
