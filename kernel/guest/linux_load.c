/*
 * Putting a Linux kernel into a VM (include/lamina/linux_boot.h has the
 * layout), through either entry Linux offers:
 * - a bzImage, 64-bit boot protocol: the protected-mode kernel at its
 *   preferred address, a zero page (struct boot_params) pointing at
 *   everything, long mode on identity tables;
 * - an uncompressed vmlinux ELF, PVH entry (include/lamina/pvh.h): its
 *   segments at their physical addresses, a struct hvm_start_info instead
 *   of the zero page, 32-bit protected mode. It skips the bzImage's
 *   decompressor, which is most of an emulated boot's first seconds.
 * Both get the initrd at the top of RAM below 4 GiB, the command line, the
 * ACPI tables and an e820 map of the VM's memslots. Parsing and the boot
 * structures' contents are linux_boot.c's, pvh.c's and acpi_build.c's;
 * this file only places and copies, and every write is checked against
 * the VM's memslots.
 */
#define pr_fmt(fmt) "linux: " fmt

#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>
#include <lamina/printk.h>
#include <lamina/pvh.h>
#include <lamina/vioapic.h>
#include <lamina/vlapic.h>
#include <lamina/vm.h>

#define GB4 (1ull << 32)

/* The Linux boot selectors __BOOT_CS (0x10) and __BOOT_DS (0x18). */
static const u64 boot_gdt[4] = {
	0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
};

/* What the two entries share while a VM is being loaded. */
struct load_ctx {
	struct vm *vm;
	const char *name;              /* the kernel's module */
	const u8 *img;
	u64 img_size;
	struct linux_ram ram[MAX_MEMSLOTS];
	unsigned int nr_ram;
	struct e820_entry e820[E820_MAX];
	unsigned int nr_e820;
	u64 kernel_end;                /* the initrd goes above this */
	u64 initrd_gpa, initrd_size;
	u64 rsdp_gpa;
	u32 cmdline_max;               /* bytes the kernel takes, with the NUL */
	u8 page[PAGE_SIZE];            /* the zero page or the start info */
	char cmdline[LINUX_CMDLINE_MAX];
	char *why;
	size_t len;
};

static int refuse(struct load_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct load_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->len, fmt, ap);
	va_end(ap);
	return err;
}

/* The VM's memory as e820 sees it: every slot that is not MMIO. */
static unsigned int vm_ram(const struct vm *vm, struct linux_ram *ram)
{
	unsigned int n = 0;

	for_each_memory_slot(&vm->slots, s) {
		ram[n].gpa = s->base_gfn << PAGE_SHIFT;
		ram[n].size = s->npages << PAGE_SHIFT;
		ram[n].readonly = s->flags & MEMSLOT_READONLY;
		n++;
	}
	return n;
}

/* The highest page-aligned place for @size bytes inside writable RAM,
 * ending at or below @limit and starting at or above @floor; 0 if none. */
static u64 place_high(const struct load_ctx *c, u64 size, u64 floor, u64 limit)
{
	for (unsigned int i = c->nr_ram; i-- > 0;) {
		if (c->ram[i].readonly)
			continue; /* the kernel writes its own image and the initrd's */
		u64 base = MAX(c->ram[i].gpa, floor);
		u64 end = MIN(c->ram[i].gpa + c->ram[i].size, limit) & ~0xfffull;

		if (end >= size && ((end - size) & ~0xfffull) >= base)
			return (end - size) & ~0xfffull;
	}
	return 0;
}

static int write_acpi(struct load_ctx *c)
{
	const struct cfg_device *uart = c->vm->dev.uart_cfg; /* COM1 */
	const struct acpi_build_cfg a = {
		.nr_cpus = bits_set(c->vm->cpus),
		.lapic_base = VLAPIC_BASE_DEFAULT,
		.ioapic_base = VIOAPIC_BASE_DEFAULT,
		.ioapic_id = bits_set(c->vm->cpus),
		.sleep_ctl_port = LINUX_PM_SLEEP_CTL,
		.sleep_sts_port = LINUX_PM_SLEEP_STS,
		.reset_port = LINUX_PM_RESET,
		.reset_value = LINUX_PM_RESET_VALUE,
		.s5_typ = LINUX_S5_TYP,
		.uart_port = uart ? (u16)uart->base : 0x3f8,
		.uart_irq = uart ? (u8)uart->irq : 4,
	};
	/* The ACPI area is only ever written from here: reuse the page. */
	int used = acpi_build(c->page, sizeof(c->page), LINUX_ACPI_GPA, &a);

	c->rsdp_gpa = LINUX_ACPI_GPA;
	if (used < 0 || vm_write_gpa(c->vm, LINUX_ACPI_GPA, c->page, (u64)used))
		return refuse(c, -HV_EINVAL, "linux: no ACPI tables: the UART's IRQ must be an ISA one (0-15) and RAM must hold 0x%llx",
			      LINUX_ACPI_GPA);
	return 0;
}

/* Does the command line have "@key=..." as a word of its own? */
static bool has_option(const char *cmdline, const char *key)
{
	size_t len;
	const char *v = cmdline_find(cmdline, key, &len);

	return v && v[-1] == '=';
}

/*
 * The command line, with what Lamina knows added unless the config gave
 * its own: the TSC rate (without it Linux hangs calibrating with no PIT,
 * PLATFORM.md), and pci=off, as a Lamina VM has no PCI: each of the
 * probe's config-space accesses is an exit to ports where nothing
 * answers, 33,000 of them for Debian's kernel on an AMD family-15 CPU
 * (the GART aperture search walks all 256 buses, twice).
 */
static int write_cmdline(struct load_ctx *c)
{
	const char *cfg = cfg_str(c->vm->blob, c->vm->cfg->cmdline);
	size_t max = MIN((size_t)c->cmdline_max, sizeof(c->cmdline)), n;

	if (!cfg)
		cfg = "";
	n = (size_t)snprintf(c->cmdline, max, "%s", cfg);
	if (n < max && !has_option(cfg, "pci"))
		n += (size_t)snprintf(c->cmdline + n, max - n, "%spci=off",
				      n ? " " : "");
	if (n < max && !has_option(cfg, "tsc_early_khz"))
		n += (size_t)snprintf(c->cmdline + n, max - n, "%stsc_early_khz=%llu",
				      n ? " " : "", (unsigned long long)tsc_khz);
	if (n >= max)
		return refuse(c, -HV_EINVAL, "linux: the command line is %zu bytes, the kernel takes %zu",
			      n, max - 1);
	if (vm_write_gpa(c->vm, LINUX_CMDLINE_GPA, c->cmdline, n + 1))
		return refuse(c, -HV_EINVAL, "linux: RAM from 0 to 1 MiB must hold the boot data");
	return 0;
}

/* The initrd at the top of RAM the kernel may reach; none without one. */
static int load_initrd(struct load_ctx *c, u64 limit)
{
	const char *name = cfg_str(c->vm->blob, c->vm->cfg->initrd);
	const struct boot_module *m = name ? vm_module_find(name) : NULL;

	if (!name)
		return 0;
	if (!m)
		return refuse(c, -HV_ENOENT, "linux: no module '%s' for the initrd", name);
	c->initrd_size = m->end - m->start;
	c->initrd_gpa = place_high(c, c->initrd_size, c->kernel_end, limit);
	if (!c->initrd_gpa ||
	    vm_write_gpa(c->vm, c->initrd_gpa, (const void *)(uintptr_t)m->start,
			 c->initrd_size))
		return refuse(c, -HV_EINVAL, "linux: the initrd '%s' (%llu bytes) fits in no RAM above the kernel (ends 0x%llx) below 4 GiB",
			      name, (unsigned long long)c->initrd_size,
			      (unsigned long long)c->kernel_end);
	return 0;
}

/* What both entries need besides the kernel itself. */
static int load_common(struct load_ctx *c, u64 initrd_limit)
{
	int nr = linux_e820(c->ram, c->nr_ram, c->e820, E820_MAX);
	int err;

	if (nr < 0)
		return refuse(c, nr, "linux: the VM's memory needs more than %u e820 entries",
			      E820_MAX);
	c->nr_e820 = (unsigned int)nr;
	err = load_initrd(c, initrd_limit);
	if (!err)
		err = write_cmdline(c);
	if (!err)
		err = write_acpi(c);
	return err;
}

/* bzImage: the payload, then the zero page. */
static int load_bzimage(struct load_ctx *c, struct linux_entry *e)
{
	struct linux_setup s;
	struct linux_params p = { 0 };
	u64 load;
	int err = linux_parse_bzimage(c->img, c->img_size, &s, c->why, c->len);

	if (err)
		return err;
	load = ALIGN_UP(MAX(s.pref_address, LINUX_HIGH_START),
			(u64)s.kernel_alignment);
	c->kernel_end = load + s.init_size;
	c->cmdline_max = s.cmdline_size + 1;
	if (!place_high(c, s.init_size, load, c->kernel_end) ||
	    vm_write_gpa(c->vm, load, c->img + s.payload_offset, s.payload_size))
		return refuse(c, -HV_EINVAL, "linux: the kernel needs RAM at [0x%llx, 0x%llx)",
			      (unsigned long long)load,
			      (unsigned long long)c->kernel_end);
	err = load_common(c, MIN(GB4, (u64)s.initrd_addr_max + 1));
	if (err)
		return err;
	if (vm_write_gpa(c->vm, LINUX_GDT_GPA, boot_gdt, sizeof(boot_gdt)))
		return refuse(c, -HV_EINVAL, "linux: RAM from 0 to 1 MiB must hold the boot data");
	p = (struct linux_params){
		.cmdline_gpa = LINUX_CMDLINE_GPA, .initrd_gpa = c->initrd_gpa,
		.initrd_size = c->initrd_size, .rsdp_gpa = c->rsdp_gpa,
		.e820 = c->e820, .nr_e820 = c->nr_e820,
	};
	linux_zero_page(c->page, c->img, &s, &p);
	e->pvh = false;
	e->rip = load + LINUX_ENTRY64_OFFSET;
	e->boot_data = LINUX_ZERO_PAGE_GPA;
	pr_info("vm '%s': '%s' (bzImage, boot protocol %u.%02u) at 0x%llx\n",
		c->vm->name, c->name, s.version >> 8, s.version & 0xff,
		(unsigned long long)load);
	return vm_write_gpa(c->vm, LINUX_ZERO_PAGE_GPA, c->page, sizeof(c->page));
}

/* vmlinux: the segments, then the PVH start info. */
static int load_pvh(struct load_ctx *c, struct linux_entry *e)
{
	struct pvh_image pi;
	struct pvh_params p;
	int used, err = pvh_parse(c->img, c->img_size, &pi, c->why, c->len);

	if (err)
		return err;
	for (unsigned int i = 0; i < pi.nr_segments; i++) {
		const struct pvh_segment *s = &pi.seg[i];

		if (vm_write_gpa(c->vm, s->paddr, c->img + s->offset, s->filesz) ||
		    vm_zero_gpa(c->vm, s->paddr + s->filesz, s->memsz - s->filesz))
			return refuse(c, -HV_EINVAL, "linux: segment [0x%llx, 0x%llx) is not all in RAM",
				      (unsigned long long)s->paddr,
				      (unsigned long long)(s->paddr + s->memsz));
	}
	c->kernel_end = pi.highest;
	c->cmdline_max = LINUX_CMDLINE_MAX;
	err = load_common(c, GB4);
	if (err)
		return err;
	p = (struct pvh_params){
		.info_gpa = LINUX_ZERO_PAGE_GPA, .cmdline_gpa = LINUX_CMDLINE_GPA,
		.rsdp_gpa = c->rsdp_gpa, .initrd_gpa = c->initrd_gpa,
		.initrd_size = c->initrd_size, .e820 = c->e820,
		.nr_e820 = c->nr_e820,
	};
	used = pvh_start_info(c->page, sizeof(c->page), &p);
	if (used < 0)
		return refuse(c, used, "linux: the PVH start info does not fit a page");
	e->pvh = true;
	e->rip = pi.entry;
	e->boot_data = LINUX_ZERO_PAGE_GPA;
	pr_info("vm '%s': '%s' (vmlinux, PVH entry 0x%x), %u segments\n",
		c->vm->name, c->name, pi.entry, pi.nr_segments);
	return vm_write_gpa(c->vm, LINUX_ZERO_PAGE_GPA, c->page, (u64)used);
}

int linux_vm_load(struct vm *vm, struct linux_entry *e, char *why, size_t len)
{
	static struct load_ctx ctx;
	static spinlock_t lock; /* the one context: the monitor starts VMs one by one */
	const char *name = cfg_str(vm->blob, vm->cfg->boot_image);
	const struct boot_module *m = name ? vm_module_find(name) : NULL;
	struct load_ctx *c = &ctx;
	int err;

	if (!m) {
		snprintf(why, len, "linux: no module '%s' for the kernel",
			 name ? name : "(none)");
		return -HV_ENOENT;
	}
	spin_lock(&lock);
	memset(c, 0, sizeof(*c));
	*c = (struct load_ctx){
		.vm = vm, .name = name, .img = (const u8 *)(uintptr_t)m->start,
		.img_size = m->end - m->start, .why = why, .len = len,
	};
	c->nr_ram = vm_ram(vm, c->ram);
	err = pvh_is_elf(c->img, c->img_size) ? load_pvh(c, e) : load_bzimage(c, e);
	if (!err && c->initrd_size)
		pr_info("vm '%s': initrd %llu bytes at 0x%llx\n", vm->name,
			(unsigned long long)c->initrd_size,
			(unsigned long long)c->initrd_gpa);
	spin_unlock(&lock);
	return err;
}
