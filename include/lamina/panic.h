#ifndef LAMINA_PANIC_H
#define LAMINA_PANIC_H

#include <lamina/compiler.h>

struct regs;

/* Print the reason, registers and a backtrace, stop every CPU. */
void __noreturn panic(const char *fmt, ...) __printf(1, 2);
void __noreturn panic_regs(const struct regs *regs, const char *fmt, ...)
	__printf(2, 3);

/* True once any CPU has entered panic(). */
bool panic_in_progress(void);

/*
 * BUG_ON guards invariants (isolation included) and stays on in every build.
 */
#define BUG_ON(cond)                                                       \
	do {                                                               \
		if (unlikely(cond))                                        \
			panic("BUG: %s at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
