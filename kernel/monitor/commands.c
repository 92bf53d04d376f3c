/* The monitor's commands. Each is documented in docs/monitor.md. */
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/uart.h>

#include "commands.h"

static int cmd_version(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mon_printf(ctx, "Lamina %s (git %s) x86-64 microhypervisor\r\n",
		   lamina_version, lamina_git);
	mon_printf(ctx, "monitor protocol 1, built with gcc %s\r\n",
		   __VERSION__);
	return 0;
}

static const char *cpu_state_name(int state)
{
	switch (state) {
	case CPU_ONLINE:
		return "online";
	case CPU_STARTING:
		return "starting";
	case CPU_OFFLINE:
		return "offline";
	default:
		return "absent";
	}
}

/* "ok", "differs" (field in the log), or "-" when not checked. */
static const char *compat_text(const struct hv_cpu *hc)
{
	static char buf[32];

	if (!hc->compat_checked)
		return "-";
	if (hc->compat_ok)
		return "ok";
	snprintf(buf, sizeof(buf), "!%s", hc->compat_field);
	return buf;
}

static int cmd_cpus(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mon_printf(ctx, "CPU  APIC  STATE    VIRT  COMPAT        NOTE\r\n");
	for (unsigned int i = 0; i < nr_cpus_listed; i++) {
		const struct percpu *pc = &percpu[i];
		const struct hv_cpu *hc = &hv_cpus[i];
		int state = READ_ONCE(pc->state);
		bool online = state == CPU_ONLINE;

		mon_printf(ctx, "%3u  %4u  %-7s  %-4s  %-12s  %s\r\n", i,
			   pc->apic_id, cpu_state_name(state),
			   !online ? "-" : hv_cpu_virt_on(i) ? "on" : "off",
			   compat_text(hc),
			   i == 0 ? "boot, monitor" :
			   state == CPU_OFFLINE && pc->why ? pc->why : "");
	}
	mon_printf(ctx, "%u of %u CPUs online\r\n", smp_online_count(),
		   nr_cpus_listed);
	return 0;
}

static void caps_print(void *c, const char *fmt, ...)
{
	struct mon_ctx *ctx = c;
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctx->out(ctx->out_ctx, buf, strlen(buf));
}

static int cmd_caps(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!hv_active()) {
		mon_printf(ctx, "virtualisation: off: %s\r\n", hv_off_reason());
		return 0;
	}
	mon_printf(ctx, "virtualisation: %s, on\r\n", hv_ops->long_name);
	hv_ops->print_caps(&hv_boot_caps, caps_print, ctx);
	mon_printf(ctx, "raw capability registers of the boot CPU:\r\n");
	for (size_t i = 0; i < hv_ops->nr_caps_fields; i++) {
		const struct caps_field *f = &hv_ops->caps_fields[i];
		u64 v;

		memcpy(&v, (const u8 *)&hv_boot_caps + f->offset, sizeof(v));
		mon_printf(ctx, "  %-16s 0x%016llx\r\n", f->name,
			   (unsigned long long)v);
	}
	return 0;
}

static void print_kib(struct mon_ctx *ctx, const char *what, u64 bytes,
		      const char *note)
{
	mon_printf(ctx, "  %-12s %10llu KiB  %s\r\n", what,
		   (unsigned long long)(bytes >> 10), note);
}

static int cmd_mem(struct mon_ctx *ctx, int argc, char **argv)
{
	struct mm_stats st;
	u64 owned = 0;

	(void)argc;
	(void)argv;
	mm_stats(&st);
	for (int i = 0; i < PG_NR_OWNERS; i++)
		if (i != PG_OWNER_GUEST)
			owned += st.owned[i];
	mon_printf(ctx, "total: %llu KiB usable RAM\r\n",
		   (unsigned long long)(st.usable >> 10));
	mon_printf(ctx, "free:  %llu KiB\r\n", (unsigned long long)(st.free >> 10));
	mon_printf(ctx, "used:  %llu KiB, of which Lamina %llu KiB:\r\n",
		   (unsigned long long)((st.usable - st.free) >> 10),
		   (unsigned long long)((st.image + st.bitmap + owned) >> 10));
	print_kib(ctx, "image", st.image, "text, data, bss");
	print_kib(ctx, "bitmap", st.bitmap, "frame allocator bitmap");
	for (int i = 0; i < PG_NR_OWNERS; i++)
		if (i != PG_OWNER_TEST)
			print_kib(ctx, pg_owner_name(i), st.owned[i],
				  i == PG_OWNER_GUEST ? "guest RAM (not Lamina's)" : "");
	print_kib(ctx, "bootdata", st.bootdata,
		  "multiboot2 information and modules (not Lamina's)");
	return 0;
}

/* log_for_each() holds the log's lock: write to the UART directly. */
static void log_line(void *c, const char *s, size_t n)
{
	(void)c;
	uart_write(s, n);
	uart_write("\r\n", 2);
}

static int cmd_log(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_for_each(log_line, ctx);
	return 0;
}

static int cmd_reboot(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mon_printf(ctx, "rebooting\r\n");
	machine_reboot();
}

const struct mon_cmd monitor_commands[] = {
	{ "help", "[COMMAND]", "list commands, or explain one",
	  "With a command name, shows its arguments and what it does.",
	  0, 1, mon_cmd_help },
	{ "version", "", "Lamina's version and build",
	  "Like KVM_GET_API_VERSION: the release, the git revision it was\r\n"
	  "built from, and the monitor protocol version.",
	  0, 0, cmd_version },
	{ "cpus", "", "physical CPUs and their state",
	  "One line per CPU the firmware lists (ACPI MADT): its index, local\r\n"
	  "APIC ID and state; VIRT is what the CPU itself says (CR4.VMXE or\r\n"
	  "EFER.SVME); COMPAT is the result of the compatibility check\r\n"
	  "(!FIELD: that capability differs from the boot CPU's; left out).\r\n"
	  "A CPU that did not start says why.",
	  0, 0, cmd_cpus },
	{ "caps", "", "virtualisation capabilities (KVM_CHECK_EXTENSION)",
	  "What the CPU offers for virtualisation (VMX or SVM, nested paging\r\n"
	  "page sizes, ASIDs/VPIDs, ...), read from the boot CPU, and which\r\n"
	  "optional features Lamina will use. When virtualisation is off, why.",
	  0, 0, cmd_caps },
	{ "vms", "", "the VMs and their state",
	  "One line per VM created from the configuration: id, name, state,\r\n"
	  "the physical CPUs it owns, its RAM, memslots, boot kind, autostart.\r\n"
	  "With no VMs, says why (no config, or the config was rejected).",
	  0, 0, cmd_vms },
	{ "slots", "VM", "a VM's memslots (KVM_SET_USER_MEMORY_REGION's view)",
	  "The VM's memory slots: guest-physical range, size, the host memory\r\n"
	  "backing it, flags, and how many 1G/2M/4K second-level pages map it.\r\n"
	  "VM is a name or an id from `vms`.",
	  1, 1, cmd_slots },
	{ "xlate", "VM GPA", "walk the second-level tables for an address",
	  "Shows each level of the EPT (Intel) or NPT (AMD) walk for the\r\n"
	  "guest-physical address GPA (decimal or 0x hex): the table, the index\r\n"
	  "and the entry, then the host-physical address, page size, rights\r\n"
	  "and memory type, or 'not mapped'.",
	  2, 2, cmd_xlate },
	{ "start", "VM", "run a VM (KVM_RUN)",
	  "Starts one vCPU on each pCPU the VM owns, all at once, in the mode\r\n"
	  "its boot kind says (raw32, raw64, real16, multiboot). Its UART output\r\n"
	  "appears in the log as 'vm NAME console:' lines; `console VM` shows\r\n"
	  "it raw and lets you type to it. pCPU 0 cannot host a vCPU yet.",
	  1, 1, cmd_start },
	{ "stats", "VM", "a VM's state and exit counters",
	  "The VM's state (and why it stopped), how many exits of each kind\r\n"
	  "its vCPUs took (the debugfs counters of KVM), how many bytes it sent\r\n"
	  "to its UART and how many of those the 4 KiB buffer dropped, and how\r\n"
	  "many port accesses found no device.",
	  1, 1, cmd_stats },
	{ "console", "VM", "attach to a VM's serial port (Ctrl-] detaches)",
	  "Connects this terminal to the VM's virtual 16550 UART: first the\r\n"
	  "last 4 KiB of its output, then everything it prints; what you type\r\n"
	  "goes to its receiver (bytes it has no room for are refused and\r\n"
	  "counted). Ctrl-] (hold Ctrl, press ]) brings back the lamina> prompt;\r\n"
	  "the VM keeps running either way.",
	  1, 1, cmd_console },
	{ "mem", "", "physical memory use by owner",
	  "Usable RAM from the boot memory map, what is free, and what\r\n"
	  "Lamina itself uses, by owner (image, page tables, per-CPU stacks).",
	  0, 0, cmd_mem },
	{ "log", "", "replay the hypervisor log",
	  "Prints the log ring buffer (64 KiB, oldest line first), including\r\n"
	  "lines below the console log level (set with loglevel=N at boot).",
	  0, 0, cmd_log },
	{ "reboot", "", "reset the machine",
	  "Stops every CPU, then resets through the ACPI reset register, the\r\n"
	  "keyboard controller, or a triple fault, whichever works first.",
	  0, 0, cmd_reboot },
};

const size_t nr_monitor_commands = ARRAY_SIZE(monitor_commands);
