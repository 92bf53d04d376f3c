/*
 * The device checks of the configuration blob validator
 * (kernel/config_check.c): each device record on its own, the devices of
 * one VM against each other and its regions, and pass-through resources
 * across VMs. Same rules as there: every problem reported, nothing read
 * outside the blob, fields read through copies.
 */
#include <lamina/config.h>
#include <lamina/lib.h>

#include "config_check.h"

#define PORT_LIMIT 0x10000ull
#define UART_PORTS 8
#define UART_IRQS 24                /* the virtual I/O APIC's pins */
#define DEBUG_EXIT_MAX 4
#define COM1_BASE 0x3f8ull          /* Lamina's own console: never passed */
#define COM1_PORTS 8
#define LAPIC_PAGE 0xfee00000ull    /* Lamina's local APIC and I/O APIC */
#define IOAPIC_PAGE 0xfec00000ull

/* The I/O ports of a port-based device, when they are a sane range. */
static bool dev_ports(const struct cfg_device *d, struct span *s)
{
	switch (d->kind) {
	case CFG_DEV_UART:
		return make_span(d->base, UART_PORTS, PORT_LIMIT, s);
	case CFG_DEV_DEBUG_EXIT:
	case CFG_DEV_PIO:
		return make_span(d->base, d->size, PORT_LIMIT, s);
	default:
		return false;
	}
}

static void check_port_range(struct checker *c, const char *label,
			     const struct cfg_device *d, u64 size)
{
	struct span s;

	if (size && !make_span(d->base, size, PORT_LIMIT, &s))
		cfgc_problem(c, "%s: ports 0x%llx + %llu run past 0xffff",
			     label, ULL(d->base), ULL(size));
}

static void check_uart(struct checker *c, const char *label,
		       const struct cfg_device *d)
{
	if (d->size != 0 && d->size != UART_PORTS)
		cfgc_problem(c, "%s: uart size %llu is not 0 or 8", label,
			     ULL(d->size));
	check_port_range(c, label, d, UART_PORTS);
	if (d->irq >= UART_IRQS)
		cfgc_problem(c, "%s: uart irq %u is not below %u", label,
			     d->irq, UART_IRQS);
}

static void check_pio(struct checker *c, const char *label,
		      const struct cfg_device *d)
{
	struct span s, com1 = { COM1_BASE, COM1_BASE + COM1_PORTS };

	if (d->kind == CFG_DEV_DEBUG_EXIT &&
	    (d->size == 0 || d->size > DEBUG_EXIT_MAX))
		cfgc_problem(c, "%s: debug_exit size %llu is not 1 to %u",
			     label, ULL(d->size), DEBUG_EXIT_MAX);
	if (d->kind == CFG_DEV_PIO && d->size == 0)
		cfgc_problem(c, "%s: pio size is 0", label);
	check_port_range(c, label, d, d->size);
	if (d->kind == CFG_DEV_PIO && dev_ports(d, &s) && overlap(&s, &com1))
		cfgc_problem(c, "%s: ports 0x%llx-0x%llx include Lamina's COM1 ports 0x3f8-0x3ff",
			     label, ULL(s.start), ULL(s.end - 1));
}

static void check_mmio(struct checker *c, const char *label,
		       const struct cfg_device *d)
{
	static const struct { u64 page; const char *what; } own[] = {
		{ LAPIC_PAGE, "local APIC" }, { IOAPIC_PAGE, "I/O APIC" },
	};
	struct span host, gpa;

	if (!IS_ALIGNED(d->base, SZ_4K) || !IS_ALIGNED(d->size, SZ_4K) ||
	    !IS_ALIGNED(d->gpa, SZ_4K))
		cfgc_problem(c, "%s: mmio base 0x%llx, size 0x%llx and gpa 0x%llx must be 4 KiB aligned",
			     label, ULL(d->base), ULL(d->size), ULL(d->gpa));
	if (d->size == 0) {
		cfgc_problem(c, "%s: mmio size is 0", label);
		return;
	}
	if (!make_span(d->gpa, d->size, GPA_LIMIT, &gpa))
		cfgc_problem(c, "%s: gpa 0x%llx + size 0x%llx runs past 2^48",
			     label, ULL(d->gpa), ULL(d->size));
	if (!make_span(d->base, d->size, ~0ull, &host)) {
		cfgc_problem(c, "%s: host range 0x%llx + 0x%llx overflows",
			     label, ULL(d->base), ULL(d->size));
		return;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(own); i++) {
		struct span page = { own[i].page, own[i].page + SZ_4K };

		if (overlap(&host, &page))
			cfgc_problem(c, "%s: host range [0x%llx, 0x%llx) covers Lamina's %s page 0x%llx",
				     label, ULL(host.start), ULL(host.end),
				     own[i].what, ULL(own[i].page));
	}
}

void cfgc_check_device(struct checker *c, u32 i)
{
	struct cfg_device d = read_device(c, i);
	char label[2 * LABEL_MAX];

	cfgc_rec_label(c, "device", c->device_owner[i], i, label,
		       sizeof(label));
	if (c->vms_ok && !c->device_owner[i])
		cfgc_problem(c, "%s: belongs to no VM", label);
	if (reserved_set(c, d.reserved, sizeof(d.reserved)))
		cfgc_problem(c, "%s: reserved words are not zero", label);
	if (d.irq && d.kind != CFG_DEV_UART)
		cfgc_problem(c, "%s: irq %u is set, but only a uart has one",
			     label, d.irq);
	if (d.gpa && d.kind != CFG_DEV_MMIO)
		cfgc_problem(c, "%s: gpa 0x%llx is set, but only an mmio device has one",
			     label, ULL(d.gpa));
	switch (d.kind) {
	case CFG_DEV_UART:
		check_uart(c, label, &d);
		break;
	case CFG_DEV_DEBUG_EXIT:
	case CFG_DEV_PIO:
		check_pio(c, label, &d);
		break;
	case CFG_DEV_MMIO:
		check_mmio(c, label, &d);
		break;
	default:
		cfgc_problem(c, "%s: kind %u is not valid", label, d.kind);
		break;
	}
}

/* An MMIO device's guest range clear of the VM's own regions. */
static void check_mmio_gpa(struct checker *c, const char *label,
			   const struct cfg_vm *v, const struct cfg_device *d)
{
	struct span s, rs;
	u32 r, end;

	if (d->kind != CFG_DEV_MMIO || !make_span(d->gpa, d->size, GPA_LIMIT, &s) ||
	    !vm_range(c->regions_ok, v->first_region, v->nr_regions,
		      c->h.nr_regions, &r, &end))
		return;
	for (; r < end; r++) {
		struct cfg_region reg = read_region(c, r);

		if (make_span(reg.gpa, reg.size, GPA_LIMIT, &rs) && overlap(&s, &rs))
			cfgc_problem(c, "%s: gpa range [0x%llx, 0x%llx) overlaps region %u",
				     label, ULL(s.start), ULL(s.end), r);
	}
}

/* Where a device sits in the guest: its I/O ports, or its gpa range. */
static bool dev_guest_span(const struct cfg_device *d, bool *mmio,
			   struct span *s)
{
	*mmio = d->kind == CFG_DEV_MMIO;
	if (*mmio)
		return make_span(d->gpa, d->size, GPA_LIMIT, s);
	return dev_ports(d, s);
}

/* Within one VM: devices apart from each other, MMIO clear of its RAM. */
void cfgc_check_vm_devices(struct checker *c, u32 vm)
{
	struct cfg_vm v = read_vm(c, vm);
	char label[2 * LABEL_MAX];
	u32 first, end;

	if (!vm_range(c->devices_ok, v.first_device, v.nr_devices,
		      c->h.nr_devices, &first, &end))
		return;
	for (u32 i = first; i < end; i++) {
		struct cfg_device a = read_device(c, i);
		struct span sa, sb;
		bool ma, mb;

		cfgc_rec_label(c, "device", (u8)(vm + 1), i, label,
			       sizeof(label));
		check_mmio_gpa(c, label, &v, &a);
		if (!dev_guest_span(&a, &ma, &sa))
			continue;
		for (u32 j = first; j < i; j++) {
			struct cfg_device b = read_device(c, j);

			if (!dev_guest_span(&b, &mb, &sb) || ma != mb ||
			    !overlap(&sa, &sb))
				continue;
			if (ma)
				cfgc_problem(c, "%s: gpa range [0x%llx, 0x%llx) overlaps device %u",
					     label, ULL(sa.start),
					     ULL(sa.end), j);
			else
				cfgc_problem(c, "%s: ports 0x%llx-0x%llx overlap device %u",
					     label, ULL(sa.start),
					     ULL(sa.end - 1), j);
		}
	}
}

/* Pass-through resources of two devices of different VMs that collide. */
static void check_shared_device(struct checker *c, u32 vm, u32 i,
				u32 other_vm, u32 j)
{
	struct cfg_device a = read_device(c, i), b = read_device(c, j);
	char label[2 * LABEL_MAX], other[LABEL_MAX];
	struct span sa, sb;

	if (i == j || a.kind != b.kind)
		return;
	if (a.kind == CFG_DEV_PIO) {
		if (!dev_ports(&a, &sa) || !dev_ports(&b, &sb) || !overlap(&sa, &sb))
			return;
	} else if (a.kind == CFG_DEV_MMIO) {
		if (!make_span(a.base, a.size, ~0ull, &sa) ||
		    !make_span(b.base, b.size, ~0ull, &sb) || !overlap(&sa, &sb))
			return;
	} else {
		return;
	}
	cfgc_rec_label(c, "device", (u8)(vm + 1), i, label, sizeof(label));
	cfgc_vm_label(c, other_vm, other, sizeof(other));
	if (a.kind == CFG_DEV_PIO)
		cfgc_problem(c, "%s: ports 0x%llx-0x%llx overlap device %u of %s",
			     label, ULL(sa.start), ULL(sa.end - 1), j, other);
	else
		cfgc_problem(c, "%s: host range [0x%llx, 0x%llx) overlaps device %u of %s",
			     label, ULL(sa.start), ULL(sa.end), j, other);
}

/* Across VMs: pass-through port and host MMIO ranges are not shared. */
void cfgc_check_cross_vm(struct checker *c)
{
	for (u32 vi = 1; vi < c->h.nr_vms; vi++) {
		struct cfg_vm v = read_vm(c, vi);
		u32 a0, a1;

		if (!vm_range(c->devices_ok, v.first_device, v.nr_devices,
			      c->h.nr_devices, &a0, &a1))
			continue;
		for (u32 wi = 0; wi < vi; wi++) {
			struct cfg_vm w = read_vm(c, wi);
			u32 b0, b1;

			if (!vm_range(c->devices_ok, w.first_device, w.nr_devices,
				      c->h.nr_devices, &b0, &b1))
				continue;
			for (u32 i = a0; i < a1; i++)
				for (u32 j = b0; j < b1; j++)
					check_shared_device(c, vi, i, wi, j);
		}
	}
}
