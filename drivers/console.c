/*
 * Which UART is the console: COM1 from the first line, then the one
 * `console=` names (console_from_cmdline(), right after the command line
 * is parsed), or else the one the firmware's ACPI SPCR table describes
 * (console_from_spcr(), once ACPI is parsed). A switch is logged on the
 * old console first; a UART that does not answer keeps COM1.
 */
#define pr_fmt(fmt) "boot: " fmt

#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/uart.h>
#include <lamina/vm.h>
#include <lamina/x86.h>
#include <lamina/acpi.h>

/*
 * Move the console to @d. Logged on the old console first, so that whoever
 * watches it knows where the rest went; the log ring keeps both halves.
 */
static int console_switch(const struct uart_desc *d, const char *from)
{
	char what[80];
	int err;

	uart_describe(d, what, sizeof(what));
	/*
	 * Before mm_init only the boot tables' 0-4 GiB identity map exists
	 * (write-back in the PTEs; the firmware's MTRRs make MMIO uncached).
	 * paging_init keeps 0-4 GiB mapped, non-RAM uncached, so a UART
	 * reached now stays reachable; one above 4 GiB never was.
	 */
	if (d->space == UART_SPACE_MMIO &&
	    !phys_mapped(d->base, 8ull << d->reg_shift)) {
		pr_warn("console: %s (from %s) is not mapped; staying on COM1\n",
			what, from);
		return -HV_ERANGE;
	}
	err = uart_probe(d);
	if (err) {
		pr_err("console: %s (from %s): %s; staying on COM1\n", what, from,
		       err == -HV_ENODEV ? "no 16550 answers there" :
					   "not a UART Lamina can drive");
		return err;
	}
	pr_info("console: switching to %s (from %s)\n", what, from);
	err = uart_setup(d);
	BUG_ON(err); /* uart_probe() accepted it a moment ago: no second probe */
	console_printf("\r\nLamina %s (git %s): console on %s (from %s); `log` replays the boot\r\n",
		       lamina_version, lamina_git, what, from);
	return 0;
}

static bool console_chosen; /* console= given: SPCR does not override it */

void console_from_cmdline(void)
{
	const char *v = cmdline_get("console"), *why;
	struct uart_desc d;

	if (!v)
		return;
	console_chosen = true;
	if (console_arg_parse(v, &d, &why)) {
		pr_err("console: bad console=%s: %s; staying on COM1\n", v, why);
		return;
	}
	if (d.space == UART_SPACE_IO && d.base == COM1_PORT &&
	    d.baud == UART_DEFAULT_BAUD)
		return; /* already there */
	console_switch(&d, "command line");
}

/* The firmware's console (ACPI SPCR) when it is a 16550 we can reach. */
void console_from_spcr(void)
{
	const struct acpi_spcr *s = &acpi.spcr;
	struct uart_desc d = { .base = s->base.address, .baud = s->baud,
			       .reg_shift = s->reg_shift,
			       .reg_width = s->reg_width };

	if (console_chosen || !acpi.spcr_ok)
		return;
	if (s->iface != ACPI_SPCR_16550 && s->iface != ACPI_SPCR_16450 &&
	    s->iface != ACPI_SPCR_16550_GAS) {
		pr_info("console: SPCR names a %s, not a 16550; staying on COM1\n",
			acpi_spcr_iface_name(s->iface));
		return;
	}
	if (s->base.space_id == ACPI_GAS_IO && !s->reg_shift &&
	    s->base.address && s->base.address <= 0xfff8) {
		d.space = UART_SPACE_IO;
		d.reg_width = 8;
		if (d.base == COM1_PORT)
			return; /* already there, at the baud we set */
	} else if (s->base.space_id == ACPI_GAS_MEMORY) {
		d.space = UART_SPACE_MMIO;
	} else {
		pr_warn("console: SPCR UART at space %u 0x%llx, shift %u is not usable; staying on COM1\n",
			s->base.space_id, (unsigned long long)s->base.address,
			s->reg_shift);
		return;
	}
	console_switch(&d, "SPCR");
}
