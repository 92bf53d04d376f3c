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

static const char *space_name(u8 space_id)
{
	return space_id == ACPI_GAS_IO ? "I/O" :
	       space_id == ACPI_GAS_MEMORY ? "MMIO" : "address space";
}

/* A good SPCR is logged where the console is chosen (console_from_spcr). */
static void log_spcr(void)
{
	if (acpi.spcr_phys && !acpi.spcr_ok)
		pr_warn("SPCR unusable: %s\n", acpi.spcr_error);
}

static void log_hpet(void)
{
	if (!acpi.hpet_phys)
		return;
	if (!acpi.hpet_ok) {
		pr_warn("HPET unusable: %s\n", acpi.hpet_error);
		return;
	}
	pr_info("HPET at 0x%llx: %u timers, %u-bit counter, vendor 0x%04x, minimum tick %u\n",
		(unsigned long long)acpi.hpet_base, acpi.hpet_timers,
		acpi.hpet_64bit ? 64 : 32, acpi.hpet_vendor_id,
		acpi.hpet_min_tick);
}

static void log_s5(void)
{
	const char *from = acpi.s5_phys == acpi.dsdt_phys ? "DSDT" : "SSDT";
	char pm1b[24] = "";

	if (!acpi.s5_ok) {
		pr_warn("S5 unusable: %s; no ACPI power-off\n", acpi.s5_error);
		return;
	}
	/* Hardware-reduced ACPI writes SLP_TYPa alone. */
	if (acpi.hw_reduced) {
		pr_info("S5: sleep type %u via SLEEP_CONTROL_REG at %s 0x%llx (%s at 0x%llx)\n",
			acpi.slp_typa, space_name(acpi.sleep_ctl.space_id),
			(unsigned long long)acpi.sleep_ctl.address, from,
			(unsigned long long)acpi.s5_phys);
		return;
	}
	if (acpi.pm1b_cnt_port)
		snprintf(pm1b, sizeof(pm1b), ", PM1b 0x%x", acpi.pm1b_cnt_port);
	pr_info("S5: sleep type %u/%u via PM1a 0x%x%s (%s at 0x%llx)\n",
		acpi.slp_typa, acpi.slp_typb, acpi.pm1a_cnt_port, pm1b, from,
		(unsigned long long)acpi.s5_phys);
}

/* A problem that cost no table (a DSDT checksum, a ninth I/O APIC). */
static void log_other_problem(void)
{
	if (!acpi.error[0] || !acpi.madt_ok || !acpi.fadt_ok)
		return; /* already said with the table it broke */
	if (!strcmp(acpi.error, acpi.spcr_error) ||
	    !strcmp(acpi.error, acpi.hpet_error) ||
	    !strcmp(acpi.error, acpi.s5_error))
		return;
	pr_warn("note: %s\n", acpi.error);
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
	log_spcr();
	log_hpet();
	log_s5();
	log_other_problem();
}
