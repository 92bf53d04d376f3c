/* The register frame that kernel/entry.asm pushes for every interrupt. */
#ifndef LAMINA_REGS_H
#define LAMINA_REGS_H

#include <lamina/types.h>

struct regs {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	/* pushed by the CPU */
	u64 rip, cs, rflags, rsp, ss;
};

/* Fill @r with the caller's registers (for panic without a frame). */
void regs_capture(struct regs *r);
void regs_dump(const struct regs *r);
void backtrace_from(u64 rbp);

#endif
