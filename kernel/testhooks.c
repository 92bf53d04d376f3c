/*
 * Boot options that make a failure happen on purpose, so the integration
 * tests can prove the paths that handle it. They change what goes in, never
 * how it is handled. Documented in docs/testing.md.
 *
 *   test.fault=KIND     after boot, fault on the boot CPU: write-text,
 *                       exec-data, ud, gp (a non-canonical load)
 *   test.ghost_cpu=ID   start an extra CPU with an APIC ID the MADT does
 *                       not list (nothing answers: the time-out path)
 */
#define pr_fmt(fmt) "test: " fmt

#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>

static u8 data_page[16] __aligned(16) = { 0xc3 }; /* ret, if it ran */

static void __attribute__((noinline)) fault_now(const char *kind)
{
	volatile u8 *text = (volatile u8 *)(uintptr_t)cmdline_get;

	pr_warn("raising fault '%s' on purpose (test.fault)\n", kind);
	if (!strcmp(kind, "write-text"))
		*text = 0xcc;
	else if (!strcmp(kind, "exec-data"))
		((void (*)(void))(uintptr_t)data_page)();
	else if (!strcmp(kind, "ud"))
		__asm__ __volatile__("ud2");
	else if (!strcmp(kind, "gp")) /* non-canonical address */
		(void)*(volatile u64 *)0x8000000000000000ull;
	else
		pr_err("unknown test.fault '%s': write-text, exec-data, ud, gp\n",
		       kind);
}

void testhook_fault(void)
{
	const char *kind = cmdline_get("test.fault");
	char buf[32];

	if (!kind)
		return;
	strlcpy_hv(buf, kind, sizeof(buf));
	fault_now(buf);
}

bool testhook_ghost_cpu(u32 *apic_id)
{
	u64 id;

	if (!cmdline_u64("test.ghost_cpu", &id) || id > 0xfffffffeull)
		return false;
	*apic_id = (u32)id;
	return true;
}
