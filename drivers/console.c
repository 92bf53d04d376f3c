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

/*
 * The UART the firmware's SPCR table describes, as uart_probe() takes it;
 * false (and @what says why) for one that is not a 16550 in I/O or memory
 * space. The table parser has checked stride and width already.
 */
static bool spcr_uart(const struct acpi_spcr *s, struct uart_desc *d,
		      char *what, size_t len)
{
	*d = (struct uart_desc){ .base = s->base.address, .baud = s->baud,
				 .reg_shift = s->reg_shift,
				 .reg_width = s->reg_width };
	if (s->iface != ACPI_SPCR_16550 && s->iface != ACPI_SPCR_16450 &&
	    s->iface != ACPI_SPCR_16550_GAS) {
		snprintf(what, len, "a %s, not a 16550",
			 acpi_spcr_iface_name(s->iface));
		return false;
	}
	if (s->base.space_id == ACPI_GAS_IO) {
		d->space = UART_SPACE_IO;
	} else if (s->base.space_id == ACPI_GAS_MEMORY) {
		d->space = UART_SPACE_MMIO;
	} else {
		snprintf(what, len, "a 16550 at 0x%llx in address space %u",
			 (unsigned long long)s->base.address, s->base.space_id);
		return false;
	}
	uart_describe(d, what, len);
	return true;
}

/* The firmware's console (ACPI SPCR) when it is a 16550 we can reach. */
void console_from_spcr(void)
{
	const struct acpi_spcr *s = &acpi.spcr;
	struct uart_desc d;
	char what[80];

	if (!acpi.spcr_ok)
		return; /* acpi_init() said why, if there was a table */
	if (!spcr_uart(s, &d, what, sizeof(what))) {
		pr_info("console: SPCR names %s: not a UART Lamina can drive\n",
			what);
		return;
	}
	pr_info("SPCR: %s at %s%s\n", acpi_spcr_iface_name(s->iface), what,
		s->flow_control & 2 ? ", RTS/CTS" : "");
	if (s->pci)
		pr_info("SPCR: PCI card %04x:%04x at %02x:%02x.%x, segment %u\n",
			s->pci_vendor_id, s->pci_device_id, s->pci_bus,
			s->pci_dev, s->pci_fn, s->pci_segment);
	if (console_chosen)
		return;
	if (d.space == UART_SPACE_IO && d.base == COM1_PORT)
		return; /* already there, at the baud we set */
	console_switch(&d, "SPCR");
}
