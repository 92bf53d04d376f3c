/*
 * Argument parsing the VM commands share: pure, so the unit tests and the
 * monitor fuzzer run it (include/lamina/monitor.h).
 */
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/monitor.h>
#include <lamina/vcpu.h>

int mon_parse_hex_bytes(const char *s, u8 *buf, size_t max, size_t *n)
{
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		len -= 2;
	}
	if (!len || len % 2)
		return -HV_EINVAL;
	if (len / 2 > max)
		return -HV_E2BIG;
	for (size_t i = 0; i < len; i += 2) {
		int hi = digit_value(s[i]), lo = digit_value(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -HV_EINVAL;
		buf[i / 2] = (u8)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}

/* The registers `regs VM VCPU set` may change, by name. */
static const struct {
	const char *name;
	size_t off;
	bool sreg; /* in struct vcpu_sregs, else struct vcpu_regs */
} regs_table[] = {
#define GPR(n) { #n, offsetof(struct vcpu_regs, g.n), false }
	GPR(rax), GPR(rbx), GPR(rcx), GPR(rdx), GPR(rsi), GPR(rdi), GPR(rbp),
	GPR(r8), GPR(r9), GPR(r10), GPR(r11), GPR(r12), GPR(r13), GPR(r14),
	GPR(r15),
#undef GPR
	{ "rsp", offsetof(struct vcpu_regs, rsp), false },
	{ "rip", offsetof(struct vcpu_regs, rip), false },
	{ "rflags", offsetof(struct vcpu_regs, rflags), false },
	{ "cr0", offsetof(struct vcpu_sregs, cr0), true },
	{ "cr2", offsetof(struct vcpu_sregs, cr2), true },
	{ "cr3", offsetof(struct vcpu_sregs, cr3), true },
	{ "cr4", offsetof(struct vcpu_sregs, cr4), true },
	{ "efer", offsetof(struct vcpu_sregs, efer), true },
};

u64 *mon_reg_field(const char *name, struct vcpu_regs *r, struct vcpu_sregs *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(regs_table); i++)
		if (!strcmp(regs_table[i].name, name))
			return (u64 *)((regs_table[i].sreg ? (u8 *)s : (u8 *)r) +
				       regs_table[i].off);
	return NULL;
}
