/*
 * Reboot: the FADT's reset register, then the keyboard controller, then a
 * triple fault. Each is given a moment to act before the next is tried.
 */
#define pr_fmt(fmt) "reboot: " fmt

#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/printk.h>
#include <lamina/x86.h>

#define RESET_WAIT_US 50000
#define KBC_STATUS 0x64
#define KBC_INPUT_FULL 0x02
#define KBC_CMD_RESET 0xfe

#define MAX_REBOOT_HOOKS 4

static void (*reboot_hooks[MAX_REBOOT_HOOKS])(void);

int reboot_hook_register(void (*fn)(void))
{
	for (int i = 0; i < MAX_REBOOT_HOOKS; i++) {
		if (!reboot_hooks[i]) {
			reboot_hooks[i] = fn;
			return 0;
		}
	}
	return -HV_EBUSY;
}

void reboot_hook_unregister(void (*fn)(void))
{
	for (int i = 0; i < MAX_REBOOT_HOOKS; i++)
		if (reboot_hooks[i] == fn)
			reboot_hooks[i] = NULL;
}

static void try_acpi_reset(void)
{
	const struct acpi_gas *g = &acpi.reset_reg;

	if (!acpi_usable || !acpi.has_reset_reg)
		return;
	if (g->space_id == ACPI_GAS_IO && g->address <= 0xffff) {
		pr_info("ACPI reset register: I/O port 0x%llx <- 0x%x\n",
			(unsigned long long)g->address, acpi.reset_value);
		outb((u16)g->address, acpi.reset_value);
	} else if (g->space_id == ACPI_GAS_MEMORY && phys_mapped(g->address, 1)) {
		pr_info("ACPI reset register: memory 0x%llx <- 0x%x\n",
			(unsigned long long)g->address, acpi.reset_value);
		*(volatile u8 *)(uintptr_t)g->address = acpi.reset_value;
	} else {
		return;
	}
	udelay(RESET_WAIT_US);
}

static void try_kbc_reset(void)
{
	pr_info("keyboard controller reset (port 0x64 <- 0xfe)\n");
	for (int i = 0; i < 10000 && (inb(KBC_STATUS) & KBC_INPUT_FULL); i++)
		udelay(10);
	outb(KBC_STATUS, KBC_CMD_RESET);
	udelay(RESET_WAIT_US);
}

void machine_reboot(void)
{
	struct desc_ptr none = { 0, 0 };

	/* Hooks run while the other CPUs still answer calls (hv off on each). */
	for (int i = MAX_REBOOT_HOOKS - 1; i >= 0; i--)
		if (reboot_hooks[i])
			reboot_hooks[i]();
	cli();
	smp_stop_others();
	try_acpi_reset();
	try_kbc_reset();
	pr_info("triple fault\n");
	lidt(&none);
	__asm__ __volatile__("int3");
	halt_forever();
}
