/*
 * Reboot: the FADT's reset register, then the keyboard controller, then a
 * triple fault. Each is given a moment to act before the next is tried.
 * Power-off: ACPI soft-off (S5), the sleep type from the DSDT's \_S5
 * written with SLP_EN to the FADT's PM1 control (or, on hardware-reduced
 * ACPI, sleep control) register; without it the CPUs halt.
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

/* PM1 control (ACPI 4.8.3.2.1): SCI_EN, SLP_TYPx and SLP_EN. */
#define PM1_SCI_EN 0x0001
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN 0x2000
/* Sleep control of hardware-reduced ACPI (4.8.3.7): SLP_TYPx, SLP_EN. */
#define SLEEP_CTL_TYP_SHIFT 2
#define SLEEP_CTL_EN 0x20
#define ACPI_ENABLE_WAIT_US 300000

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

/* Hooks run while the other CPUs still answer calls (hv off on each),
 * then every other CPU stops. */
static void machine_quiesce(void)
{
	for (int i = MAX_REBOOT_HOOKS - 1; i >= 0; i--)
		if (reboot_hooks[i])
			reboot_hooks[i]();
	cli();
	smp_stop_others();
}

/*
 * Legacy (not hardware-reduced) ACPI ignores SLP_EN until the OS owns it:
 * SCI_EN set, by writing ACPI_ENABLE to SMI_CMD if the firmware left it in
 * legacy mode (as Linux's acpi_enable does).
 */
static void acpi_mode_on(u16 pm1a)
{
	u64 start;

	if ((inw(pm1a) & PM1_SCI_EN) || !acpi.smi_cmd || !acpi.acpi_enable)
		return;
	outb((u16)acpi.smi_cmd, acpi.acpi_enable);
	for (start = uptime_us(); uptime_us() - start < ACPI_ENABLE_WAIT_US;)
		if (inw(pm1a) & PM1_SCI_EN)
			return;
	pr_warn("ACPI mode not entered (SMI_CMD 0x%x <- 0x%x); trying S5 anyway\n",
		acpi.smi_cmd, acpi.acpi_enable);
}

static void pm1_sleep(u16 port, u8 typ)
{
	u16 v = inw(port) & ~PM1_SLP_TYP_MASK;

	outw(port, v | (u16)(typ << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
}

static void try_acpi_s5(void)
{
	const struct acpi_gas *g = &acpi.sleep_ctl;
	u8 v = (u8)(acpi.slp_typa << SLEEP_CTL_TYP_SHIFT) | SLEEP_CTL_EN;

	if (!acpi_usable || !acpi.s5_ok) {
		pr_warn("no ACPI S5 (%s)\n", acpi_usable ? acpi.s5_error : "no ACPI");
		return;
	}
	if (!acpi.hw_reduced) {
		pr_info("ACPI S5: PM1a 0x%x sleep type %u\n", acpi.pm1a_cnt_port,
			acpi.slp_typa);
		acpi_mode_on(acpi.pm1a_cnt_port);
		/* Both blocks, b first: some chipsets act on the a write at once. */
		if (acpi.pm1b_cnt_port)
			pm1_sleep(acpi.pm1b_cnt_port, acpi.slp_typb);
		pm1_sleep(acpi.pm1a_cnt_port, acpi.slp_typa);
	} else if (g->space_id == ACPI_GAS_IO && g->address <= 0xffff) {
		pr_info("ACPI S5: sleep control I/O 0x%llx <- 0x%x\n",
			(unsigned long long)g->address, v);
		outb((u16)g->address, v);
	} else if (g->space_id == ACPI_GAS_MEMORY && phys_mapped(g->address, 1)) {
		pr_info("ACPI S5: sleep control memory 0x%llx <- 0x%x\n",
			(unsigned long long)g->address, v);
		*(volatile u8 *)(uintptr_t)g->address = v;
	} else {
		pr_warn("ACPI S5: the sleep control register is not reachable\n");
		return;
	}
	udelay(RESET_WAIT_US);
}

void machine_poweroff(void)
{
	machine_quiesce();
	try_acpi_s5();
	pr_err("power-off did not happen: halted; switch the machine off\n");
	halt_forever();
}

void machine_reboot(void)
{
	struct desc_ptr none = { 0, 0 };

	machine_quiesce();
	try_acpi_reset();
	try_kbc_reset();
	pr_info("triple fault\n");
	lidt(&none);
	__asm__ __volatile__("int3");
	halt_forever();
}
