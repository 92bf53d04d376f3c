/*
 * Find and read the ACPI tables at boot. The parsing and every check live in
 * acpi_tables.c; this file supplies physical memory access and logs.
 */
#define pr_fmt(fmt) "acpi: " fmt

#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>

struct acpi_info acpi;
bool acpi_usable;

static const void *map_identity(void *ctx, u64 phys, u64 len)
{
	(void)ctx;
	return phys_mapped(phys, len) ? (const void *)(uintptr_t)phys : NULL;
}

static const struct acpi_mem acpi_mem = { map_identity, NULL };

/* The RSDP: from the loader's copy, or (BIOS boots only) by scanning. */
static const void *find_rsdp(size_t *len, const char **from)
{
	u64 phys;

	if (bootinfo.rsdp_len) {
		*len = bootinfo.rsdp_len;
		*from = bootinfo.rsdp_new ? "multiboot2 ACPI 2.0 tag" :
					    "multiboot2 ACPI 1.0 tag";
		return bootinfo.rsdp;
	}
	if (bootinfo.efi)
		return NULL; /* the BIOS areas mean nothing under UEFI */
	phys = acpi_scan_rsdp(&acpi_mem);
	if (!phys)
		return NULL;
	*len = sizeof(struct acpi_rsdp);
	if (!phys_mapped(phys, *len))
		*len = 20;
	*from = "BIOS area scan";
	return (const void *)(uintptr_t)phys;
}

void acpi_init(void)
{
	const char *from = "";
	size_t len = 0;
	const void *rsdp = find_rsdp(&len, &from);
	int err;

	if (!rsdp) {
		pr_warn("no RSDP found: boot CPU only, no PM timer, no ACPI reset\n");
		return;
	}
	err = acpi_parse(&acpi_mem, rsdp, len, &acpi);
	if (err) {
		pr_err("unusable tables (%s): %s; boot CPU only\n", from,
		       acpi.error);
		return;
	}
	acpi_usable = true;
	pr_info("RSDP rev %u from %s, %s at 0x%llx, OEM '%s'\n",
		acpi.rsdp_revision, from, acpi.use_xsdt ? "XSDT" : "RSDT",
		(unsigned long long)acpi.rsdt_phys, acpi.oem_id);
	if (acpi.madt_ok)
		pr_info("MADT: %u CPUs, %u I/O APICs, local APIC at 0x%llx\n",
			acpi.nr_cpus, acpi.nr_ioapics,
			(unsigned long long)acpi.lapic_addr);
	else
		pr_err("MADT unusable: %s; boot CPU only\n", acpi.error);
	if (acpi.fadt_ok)
		pr_info("FADT: PM timer %s0x%x, reset register %s\n",
			acpi.pm_tmr_port ? "at port " : "none ",
			acpi.pm_tmr_port, acpi.has_reset_reg ? "yes" : "no");
	else
		pr_warn("FADT unusable: %s\n", acpi.error);
}
