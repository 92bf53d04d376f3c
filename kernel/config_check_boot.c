/*
 * The validator's checks of boot kinds multiboot and linux (part of the one validator
 * of kernel/config_check.c): where the kernel, its module and the boot
 * information will lie must be writable RAM of the VM, as
 * kernel/guest/multiboot_load.c will need at start. The kernel's header and
 * segments are checked with the loader's own parser, mb1_parse(), when the
 * image's bytes are at hand: in lamina-cfg, which reads the file, and at
 * boot, where GRUB's module is in memory. A Linux kernel (a bzImage, or a
 * vmlinux for the PVH entry) is read with linux_parse_bzimage() or
 * pvh_parse(), as kernel/guest/linux_load.c reads it.
 */
#include <lamina/config.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>
#include <lamina/pvh.h>
#include <lamina/multiboot1.h>

#include "config_check.h"

#define WHY_MAX 128

/*
 * Is all of [start, end) covered by writable regions among [r, r_end)?
 * Each pass moves @start to the end of a region holding it, so it only
 * grows and the loop ends. A region running past 2^64 - 1 (reported by
 * the region checks, but checked here too) ends at 2^64 - 1, never wraps.
 */
static bool writable(const struct checker *c, u32 r, u32 r_end, u64 start,
		     u64 end)
{
	bool grew = true;

	if (end < start)
		return false; /* the caller's range wrapped */
	while (start < end && grew) {
		grew = false;
		for (u32 i = r; i < r_end; i++) {
			struct cfg_region reg = read_region(c, i);
			u64 reg_end = reg.size > ~0ull - reg.gpa ?
					      ~0ull : reg.gpa + reg.size;

			if (!(reg.flags & CFG_MEM_READONLY) && reg.gpa <= start &&
			    start < reg_end) {
				start = reg_end;
				grew = true;
			}
		}
	}
	return start >= end;
}

/* The kernel's segments: in writable RAM, clear of the information. */
static void check_segments(struct checker *c, const char *label,
			   const char *name, const struct mb1_image *mi,
			   u32 r, u32 r_end)
{
	for (unsigned int i = 0; i < mi->nr_segments; i++) {
		u64 start = mi->seg[i].gpa, end = start + mi->seg[i].memsz;

		if (start < MB1_INFO_GPA + MB1_INFO_SIZE && end > MB1_INFO_GPA)
			cfgc_problem(c, "%s: boot image '%.48s': segment [0x%llx, 0x%llx) overlaps the multiboot information at [0x%x, 0x%x)",
				     label, name, ULL(start), ULL(end),
				     MB1_INFO_GPA, MB1_INFO_GPA + MB1_INFO_SIZE);
		else if (!writable(c, r, r_end, start, end))
			cfgc_problem(c, "%s: boot image '%.48s': segment [0x%llx, 0x%llx) is not inside writable regions of the VM",
				     label, name, ULL(start), ULL(end));
	}
}

/* The initrd, the one module, where the loader will put it. */
static void check_initrd(struct checker *c, const char *label,
			 const struct cfg_module *initrd,
			 const struct mb1_image *mi, u32 r, u32 r_end)
{
	u64 start = mb1_module_gpa(mi, initrd->size);
	u64 end = start + initrd->size;

	if (end > 1ull << 32 || !writable(c, r, r_end, start, end))
		cfgc_problem(c, "%s: initrd '%.48s' (%llu bytes) goes after the kernel at [0x%llx, 0x%llx): not all writable RAM below 4 GiB",
			     label, initrd->name, ULL(initrd->size), ULL(start),
			     ULL(end));
}

/* The information, with its strings, must fit the area reserved for it. */
static void check_info_size(struct checker *c, const char *label,
			    const struct cfg_vm *v, const char *cmdline,
			    const char *initrd)
{
	u64 strings = sizeof(MB1_LOADER_NAME);
	u64 need;

	if (cmdline)
		strings += strlen(cmdline) + 1;
	if (initrd)
		strings += strlen(initrd) + 1;
	need = mb1_info_size(v->nr_regions, initrd ? 1 : 0, strings);
	if (need > MB1_INFO_SIZE)
		cfgc_problem(c, "%s: cmdline: the multiboot information would need %llu bytes, more than the %u at 0x%x",
			     label, ULL(need), MB1_INFO_SIZE, MB1_INFO_GPA);
}

void cfgc_check_multiboot(struct checker *c, const char *label,
			  const struct cfg_vm *v, const char *cmdline,
			  const struct cfg_module *kernel,
			  const struct cfg_module *initrd)
{
	char why[WHY_MAX];
	struct mb1_image mi;
	u32 r, r_end;

	check_info_size(c, label, v, cmdline, initrd ? initrd->name : NULL);
	if (!vm_range(c->regions_ok, v->first_region, v->nr_regions,
		      c->h.nr_regions, &r, &r_end) || r == r_end)
		return; /* reported as such already */
	if (!writable(c, r, r_end, MB1_INFO_GPA, MB1_INFO_GPA + MB1_INFO_SIZE))
		cfgc_problem(c, "%s: boot kind multiboot needs a writable region holding [0x%x, 0x%x) for the multiboot information",
			     label, MB1_INFO_GPA, MB1_INFO_GPA + MB1_INFO_SIZE);
	if (!kernel || !kernel->data)
		return;
	if (mb1_parse(kernel->data, kernel->size, &mi, why, sizeof(why))) {
		cfgc_problem(c, "%s: boot image '%.48s': %s",
			     label, kernel->name, why);
		return;
	}
	check_segments(c, label, kernel->name, &mi, r, r_end);
	if (initrd)
		check_initrd(c, label, initrd, &mi, r, r_end);
}

/* Bytes Lamina may append to a Linux command line
 * (" pci=off tsc_early_khz=N", kernel/guest/linux_load.c). */
#define LINUX_CMDLINE_EXTRA 40
#define APIC_PAGES_START 0xfec00000ull /* the IOAPIC page ... */
#define APIC_PAGES_END 0xfee01000ull   /* ... to the local APIC's */

/* The emulated IOAPIC and local APIC pages must not be RAM. */
static void check_apic_pages(struct checker *c, const char *label, u32 r,
			     u32 r_end)
{
	for (u32 i = r; i < r_end; i++) {
		struct cfg_region reg = read_region(c, i);

		if (reg.gpa < APIC_PAGES_END && reg.gpa + reg.size > APIC_PAGES_START)
			cfgc_problem(c, "%s: region [0x%llx, 0x%llx) overlaps [0x%llx, 0x%llx), where a Linux VM's IOAPIC and local APIC are",
				     label, ULL(reg.gpa), ULL(reg.gpa + reg.size),
				     ULL(APIC_PAGES_START), ULL(APIC_PAGES_END));
	}
}

/* A vmlinux for the PVH entry: its segments in writable RAM. */
static void check_vmlinux(struct checker *c, const char *label,
			  const struct cfg_module *kernel, u32 r, u32 r_end)
{
	char why[WHY_MAX];
	struct pvh_image pi;

	if (pvh_parse(kernel->data, kernel->size, &pi, why, sizeof(why))) {
		cfgc_problem(c, "%s: boot image '%.48s': %s", label, kernel->name, why);
		return;
	}
	for (unsigned int i = 0; i < pi.nr_segments; i++)
		if (!writable(c, r, r_end, pi.seg[i].paddr,
			      pi.seg[i].paddr + pi.seg[i].memsz))
			cfgc_problem(c, "%s: boot image '%.48s': segment [0x%llx, 0x%llx) is not inside writable regions of the VM",
				     label, kernel->name, ULL(pi.seg[i].paddr),
				     ULL(pi.seg[i].paddr + pi.seg[i].memsz));
}

static void check_bzimage(struct checker *c, const char *label,
			  const struct cfg_module *kernel, u32 r, u32 r_end)
{
	char why[WHY_MAX];
	struct linux_setup ls;
	u64 load;

	if (pvh_is_elf(kernel->data, kernel->size)) {
		check_vmlinux(c, label, kernel, r, r_end);
		return;
	}
	if (linux_parse_bzimage(kernel->data, kernel->size, &ls, why, sizeof(why))) {
		cfgc_problem(c, "%s: boot image '%.48s': %s", label, kernel->name, why);
		return;
	}
	load = ALIGN_UP(MAX(ls.pref_address, LINUX_HIGH_START),
			(u64)ls.kernel_alignment);
	if (!writable(c, r, r_end, load, load + ls.init_size))
		cfgc_problem(c, "%s: boot image '%.48s' needs writable RAM at [0x%llx, 0x%llx)",
			     label, kernel->name, ULL(load), ULL(load + ls.init_size));
}

void cfgc_check_linux(struct checker *c, const char *label,
		      const struct cfg_vm *v, const char *cmdline,
		      const struct cfg_module *kernel)
{
	u32 r, r_end;

	if (cmdline && strlen(cmdline) + LINUX_CMDLINE_EXTRA >= LINUX_CMDLINE_MAX)
		cfgc_problem(c, "%s: cmdline: %zu bytes, a Linux VM takes at most %u",
			     label, strlen(cmdline),
			     LINUX_CMDLINE_MAX - LINUX_CMDLINE_EXTRA - 1);
	if (!vm_range(c->regions_ok, v->first_region, v->nr_regions,
		      c->h.nr_regions, &r, &r_end) || r == r_end)
		return; /* reported as such already */
	if (!writable(c, r, r_end, 0, LINUX_HIGH_START))
		cfgc_problem(c, "%s: boot kind linux needs writable RAM from 0 to 1 MiB (boot data, ACPI tables, the APs' start code)",
			     label);
	check_apic_pages(c, label, r, r_end);
	if (kernel && kernel->data)
		check_bzimage(c, label, kernel, r, r_end);
}
