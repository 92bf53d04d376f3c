/* Monitor commands about VMs: vms, slots, xlate, start, stats. */
#include <lamina/config.h>
#include <lamina/guest_walk.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/mce.h>
#include <lamina/printk.h>
#include <lamina/vm.h>

#include "commands.h"

/* The VM named (or numbered) @s, or NULL after one `error:` line. */
struct vm *mon_vm_arg(struct mon_ctx *ctx, const char *s)
{
	struct vm *vm = vm_find(s);

	if (!vm)
		mon_printf(ctx, "error: no VM '%s' (see `vms`)\r\n", s);
	return vm;
}

static void cpu_list(char *buf, size_t len, u64 cpus)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < 64 && n < len; i++)
		if (cpus & (1ull << i))
			n += (size_t)snprintf(buf + n, len - n, "%s%u",
					      n ? "," : "", i);
}

int cmd_vms(struct mon_ctx *ctx, int argc, char **argv)
{
	struct list_head *pos;
	char cpus[64];

	(void)argc;
	(void)argv;
	if (list_empty(&vm_list)) {
		mon_printf(ctx, "no VMs%s%s\r\n", config_status()[0] ? ": " : "",
			   config_status());
		return 0;
	}
	mon_printf(ctx, " ID  NAME             STATE     CPUS      MEMORY  SLOTS  BOOT       AUTOSTART\r\n");
	list_for_each(pos, &vm_list) {
		const struct vm *vm = container_of(pos, struct vm, link);

		cpu_list(cpus, sizeof(cpus), vm->cpus);
		mon_printf(ctx, "%3u  %-16s %-9s %-8s %5llu MiB  %5u  %-9s  %s\r\n",
			   vm->id, vm->name, vm_state_name(vm->state), cpus,
			   (unsigned long long)(vm->ram_bytes >> 20),
			   vm->slots.used, cfg_boot_kind_name(vm->cfg->boot_kind),
			   vm->cfg->flags & CFG_VM_AUTOSTART ? "yes" : "no");
	}
	return 0;
}

static void flag_names(char *buf, size_t len, u32 flags)
{
	snprintf(buf, len, "%s%s%s%s", flags & MEMSLOT_READONLY ? "readonly " : "",
		 flags & MEMSLOT_LOG_DIRTY ? "log_dirty " : "",
		 flags & MEMSLOT_MMIO ? "mmio " : "", flags ? "" : "-");
}

/* Count the leaf pages of each size that map a slot. */
static void slot_pages(const struct vm *vm, const struct memslot *s,
		       struct s2_stats *st)
{
	u64 gpa = s->base_gfn << PAGE_SHIFT, end = gpa + (s->npages << PAGE_SHIFT);

	memset(st, 0, sizeof(*st));
	while (gpa < end) {
		struct s2_walk w;

		s2_walk(&vm->s2, gpa, &w);
		if (!w.mapped) {
			gpa += PAGE_SIZE;
			continue;
		}
		st->pages_1g += w.page_size == S2_SIZE_1G;
		st->pages_2m += w.page_size == S2_SIZE_2M;
		st->pages_4k += w.page_size == S2_SIZE_4K;
		gpa = ALIGN_DOWN(gpa, w.page_size) + w.page_size;
	}
}

int cmd_slots(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);

	(void)argc;
	if (!vm)
		return -1;
	mon_printf(ctx, "vm '%s': generation %llu, %u slots, %s tables %llu pages, root 0x%llx\r\n",
		   vm->name, (unsigned long long)vm->slots.generation,
		   vm->slots.used, vm->s2.format == S2_EPT ? "EPT" : "NPT",
		   (unsigned long long)vm->s2.nr_table_pages,
		   (unsigned long long)s2_root_pointer(&vm->s2));
	mon_printf(ctx, "SLOT  GPA                 SIZE        BACKING       FLAGS               PAGES\r\n");
	for (unsigned int i = 0; i < vm->slots.used; i++) {
		const struct memslot *s = &vm->slots.slots[i];
		struct s2_stats st;
		char flags[40];

		slot_pages(vm, s, &st);
		flag_names(flags, sizeof(flags), s->flags);
		mon_printf(ctx, "%4u  0x%-16llx  %7llu KiB  0x%-10llx  %-18s  1G:%llu 2M:%llu 4K:%llu\r\n",
			   s->id, (unsigned long long)(s->base_gfn << PAGE_SHIFT),
			   (unsigned long long)(s->npages * 4),
			   (unsigned long long)s->backing, flags,
			   (unsigned long long)st.pages_1g,
			   (unsigned long long)st.pages_2m,
			   (unsigned long long)st.pages_4k);
	}
	return 0;
}

static const char *const level_names[4] = { "PML4", "PDPT", "PD", "PT" };

/*
 * KVM_TRANSLATE: @addr through the guest's own page tables, with the
 * control registers vCPU 0 left when it paused or stopped. Returns false
 * (nothing printed) when there is nothing to walk: the VM has no vCPU
 * state (never started, or running: the registers are in flight).
 */
static bool guest_stage(struct mon_ctx *ctx, struct vm *vm, u64 addr, u64 *gpa,
			bool *fault)
{
	const struct vcpu_sregs *s;
	struct gw_mode m;
	struct gw_result r;

	if (!vm->nr_vcpus || vm->state == VM_RUNNING) {
		if (vm->state == VM_RUNNING)
			mon_printf(ctx, "(running: its page tables are not walked; pause it for that) ADDR taken as a GPA\r\n");
		return false;
	}
	s = &vm->vcpus[0]->sregs;
	vcpu_walk_mode(s, &m);
	guest_walk(&m, addr, 0, vm_read_pte, vm, &r);
	mon_printf(ctx, "guest paging (vCPU 0): %s, CR3 0x%llx\r\n",
		   gw_mode_name(&m), (unsigned long long)s->cr3);
	for (unsigned int l = 0; l < r.levels; l++)
		mon_printf(ctx, "  guest level %u entry 0x%016llx\r\n", l,
			   (unsigned long long)r.entries[l]);
	*fault = r.status != GW_OK;
	if (r.status == GW_OK) {
		mon_printf(ctx, "GVA 0x%llx -> GPA 0x%llx\r\n",
			   (unsigned long long)addr, (unsigned long long)r.gpa);
		*gpa = r.gpa;
	} else {
		mon_printf(ctx, "GVA 0x%llx: %s (error code 0x%x)\r\n",
			   (unsigned long long)addr,
			   r.status == GW_PAGE_FAULT ? "page fault" :
			   r.status == GW_NONCANONICAL ? "not canonical (#GP)" :
			   "a page table lies outside the VM's RAM", r.pf_error);
	}
	return true;
}

int cmd_xlate(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	struct s2_walk w;
	bool fault = false;
	u64 addr, gpa;

	(void)argc;
	if (!vm)
		return -1;
	if (parse_u64(argv[2], &addr)) {
		mon_printf(ctx, "error: '%s' is not an address\r\n", argv[2]);
		return -1;
	}
	gpa = addr;
	if (guest_stage(ctx, vm, addr, &gpa, &fault) && fault)
		return 0;
	if (gpa >= S2_GPA_LIMIT) {
		mon_printf(ctx, "error: GPA 0x%llx is beyond 2^48\r\n",
			   (unsigned long long)gpa);
		return -1;
	}
	s2_walk(&vm->s2, gpa, &w);
	for (unsigned int l = 0; l < w.levels; l++)
		mon_printf(ctx, "  %-4s table 0x%llx [%3llu] = 0x%016llx\r\n",
			   level_names[l], (unsigned long long)w.table[l],
			   (unsigned long long)((gpa >> (39 - 9 * l)) & 511),
			   (unsigned long long)w.entry[l]);
	if (!w.mapped) {
		mon_printf(ctx, "GPA 0x%llx: not mapped\r\n", (unsigned long long)gpa);
		return 0;
	}
	mon_printf(ctx, "GPA 0x%llx -> HPA 0x%llx (%s page, %s%s%s, %s)\r\n",
		   (unsigned long long)gpa, (unsigned long long)w.hpa,
		   w.page_size == S2_SIZE_1G ? "1G" :
		   w.page_size == S2_SIZE_2M ? "2M" : "4K",
		   w.perm & S2_R ? "r" : "-", w.perm & S2_W ? "w" : "-",
		   w.perm & S2_X ? "x" : "-", w.mt == S2_WB ? "WB" : "UC");
	return 0;
}

int cmd_start(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	char why[96];

	(void)argc;
	if (!vm)
		return -1;
	if (vm_start(vm, why, sizeof(why))) {
		mon_printf(ctx, "error: cannot start '%s': %s\r\n", vm->name, why);
		return -1;
	}
	/* One printf: a guest's log line must not land inside the reply. */
	for (unsigned int i = 0, n = 0; i < vm->nr_vcpus && n < sizeof(why); i++)
		n += snprintf(why + n, sizeof(why) - n, "%s %u", i ? "," : "",
			      vm->vcpus[i]->pcpu);
	mon_printf(ctx, "vm '%s' started on pCPU%s\r\n", vm->name, why);
	return 0;
}

/* The highest vector set in a 256-bit APIC register, or -1. */
static int apic_top(const u32 *reg)
{
	for (int i = 7; i >= 0; i--)
		if (reg[i])
			return i * 32 + 31 - __builtin_clz(reg[i]);
	return -1;
}

/* The in-kernel irqchip, for whoever wonders why a guest waits. */
static void stats_irqchip(struct mon_ctx *ctx, struct vm *vm)
{
	const struct vioapic *io = &vm->dev.ioapic;
	const struct cfg_device *uart = vm->dev.uart_cfg;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vlapic *l = &vm->vcpus[i]->lapic;

		mon_printf(ctx, "  apic %-5u svr 0x%x tpr 0x%x irr %d isr %d timer 0x%x count %u fired %llu%s\r\n",
			   i, l->svr, l->tpr, apic_top(l->irr), apic_top(l->isr),
			   l->lvt[VLAPIC_LVT_TIMER], l->timer_initial,
			   (unsigned long long)l->timer_fired,
			   READ_ONCE(vm->vcpus[i]->wait_sipi) ? ", waits for SIPI" : "");
	}
	if (uart && uart->irq < VIOAPIC_PINS)
		mon_printf(ctx, "  ioapic     uart pin %u: entry 0x%llx, line %s; %llu delivered\r\n",
			   uart->irq, (unsigned long long)io->rte[uart->irq],
			   vm->dev.uart_line ? "high" : "low",
			   (unsigned long long)io->delivered);
	mon_printf(ctx, "  ipis       %llu delivered, %llu named no vCPU of the VM, %llu dropped\r\n",
		   (unsigned long long)READ_ONCE(vm->ipi_sent),
		   (unsigned long long)READ_ONCE(vm->ipi_unmatched),
		   (unsigned long long)READ_ONCE(vm->ipi_dropped));
}

static void stats_one(struct mon_ctx *ctx, struct vm *vm)
{
	mon_printf(ctx, "vm '%s': %s%s%s\r\n", vm->name, vm_state_name(vm->state),
		   vm->stop_reason[0] ? ": " : "", vm->stop_reason);
	if (!vm->nr_vcpus)
		return;
	mon_printf(ctx, "  vcpus      %u, %u running\r\n", vm->nr_vcpus,
		   READ_ONCE(vm->vcpus_running));
	for (int k = 0; k < VCPU_EXIT_KINDS; k++) {
		u64 n = 0;

		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			n += READ_ONCE(vm->vcpus[i]->exits[k]);
		mon_printf(ctx, "  %-10s %llu\r\n", vcpu_exit_kind_name(k),
			   (unsigned long long)n);
	}
	mon_printf(ctx, "  console    %llu bytes (%llu dropped)\r\n",
		   (unsigned long long)READ_ONCE(vm->dev.uart.out_total),
		   (unsigned long long)vuart_out_dropped(&vm->dev.uart));
	mon_printf(ctx, "  unclaimed  %llu port accesses (the last at 0x%x)\r\n",
		   (unsigned long long)READ_ONCE(vm->dev.io_unclaimed),
		   READ_ONCE(vm->dev.io_unclaimed_last));
	if (vm->irqchip)
		stats_irqchip(ctx, vm);
}

/* `stats VM`, or every VM's (the debugfs directory of each). */
/* What the hardware did to Lamina itself: machine checks and NMIs. */
static void stats_host(struct mon_ctx *ctx)
{
	char line[200];

	mce_stats_line(line, sizeof(line));
	mon_printf(ctx, "host: %s", line);
	if (printk_dropped())
		mon_printf(ctx, "; %llu log lines lost in NMI/#MC handlers",
			   (unsigned long long)printk_dropped());
	mon_printf(ctx, "\r\n");
}

int cmd_stats(struct mon_ctx *ctx, int argc, char **argv)
{
	struct list_head *pos;
	struct vm *vm;

	if (argc > 1) {
		vm = mon_vm_arg(ctx, argv[1]);
		if (!vm)
			return -1;
		stats_one(ctx, vm);
		return 0;
	}
	if (list_empty(&vm_list))
		mon_printf(ctx, "no VMs\r\n");
	list_for_each(pos, &vm_list)
		stats_one(ctx, container_of(pos, struct vm, link));
	stats_host(ctx);
	return 0;
}
