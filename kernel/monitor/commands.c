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

/* One line of the log, through the monitor's output (text or JSON). */
static void log_line(void *ctx, const char *s, size_t n)
{
	mon_printf(ctx, "%.*s\r\n", (int)n, s);
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

static int cmd_poweroff(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mon_printf(ctx, "powering off\r\n");
	machine_poweroff();
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
	{ "slot", "VM add|del|flags ID ...", "change a VM's memory slots",
	  "KVM_SET_USER_MEMORY_REGION. `slot VM add ID GPA SIZE [readonly|\r\n"
	  "log_dirty]` adds SIZE bytes of zeroed RAM at GPA (4 KiB multiples);\r\n"
	  "`slot VM del ID` removes a slot and frees its memory; `slot VM flags\r\n"
	  "ID log_dirty|none` turns dirty logging on or off. A running VM is\r\n"
	  "paused around the change, its tables remapped and its TLBs flushed;\r\n"
	  "the slot set's generation (`slots VM`) goes up.",
	  3, 6, cmd_slot },
	{ "dirty", "VM SLOT", "the pages written since the last call (KVM_GET_DIRTY_LOG)",
	  "For a slot that logs dirty pages: how many 4 KiB pages the guest\r\n"
	  "wrote since the log was last read, as address ranges; reading clears\r\n"
	  "the log and write-protects those pages again.",
	  2, 2, cmd_dirty },
	{ "xlate", "VM ADDR", "translate an address as the guest and the CPU would",
	  "KVM_TRANSLATE and more. For a paused or stopped VM, ADDR is a guest-\r\n"
	  "virtual address walked through the guest's own page tables (vCPU 0's\r\n"
	  "CR3 and paging mode; each entry shown); the guest-physical address\r\n"
	  "it gives (or ADDR itself, for a VM never started or running) is then\r\n"
	  "walked through the EPT (Intel) or NPT (AMD): each level's table,\r\n"
	  "index and entry, then the host-physical address, page size, rights\r\n"
	  "and memory type, or 'not mapped'.",
	  2, 2, cmd_xlate },
	{ "start", "VM", "run a VM (KVM_RUN)",
	  "Starts one vCPU on each pCPU the VM owns, all at once, in the mode\r\n"
	  "its boot kind says (raw32, raw64, real16, multiboot). Its UART output\r\n"
	  "appears in the log as 'vm NAME console:' lines; `console VM` shows\r\n"
	  "it raw and lets you type to it. pCPU 0 cannot host a vCPU yet.",
	  1, 1, cmd_start },
	{ "pause", "VM", "stop a running VM's vCPUs where they are",
	  "Takes every vCPU of the VM out of the guest (even one spinning\r\n"
	  "with interrupts off) and keeps it there, its registers saved, and\r\n"
	  "says how long that took. `regs` shows and changes them; `resume`\r\n"
	  "goes on where it stopped.",
	  1, 1, cmd_pause },
	{ "resume", "VM", "run a paused VM again",
	  "The VM's vCPUs go back into the guest, with any register changes\r\n"
	  "made by `regs VM VCPU set` while it was paused.",
	  1, 1, cmd_resume },
	{ "destroy", "VM", "stop a VM and free everything it had",
	  "Stops its vCPUs if they run (request and NMI kick), then frees its\r\n"
	  "devices, vCPUs, second-level tables, memory slots and RAM, in the\r\n"
	  "reverse order of creation (KVM's kvm_destroy_vm). `create NAME`\r\n"
	  "makes it again from the configuration.",
	  1, 1, cmd_destroy },
	{ "create", "NAME", "make a VM from the configuration (KVM_CREATE_VM)",
	  "Creates the VM the configuration calls NAME (after `destroy`): its\r\n"
	  "memory, images and second-level tables; it then waits for `start`.",
	  1, 1, cmd_create },
	{ "reset", "VM", "destroy and create a VM again",
	  "Like `destroy` then `create`, keeping the name (the id changes);\r\n"
	  "a VM that was running or paused is started again. Its crash report\r\n"
	  "(`dump`) is kept.",
	  1, 1, cmd_reset },
	{ "regs", "VM [VCPU [set REG VALUE]]", "show or change a vCPU's registers",
	  "KVM_GET_REGS and KVM_GET_SREGS: general registers, RIP, RFLAGS,\r\n"
	  "segments, descriptor tables, CR0-CR4 and EFER of vCPU VCPU (default\r\n"
	  "0) of a paused, stopped or crashed VM (pause a running one first).\r\n"
	  "`regs VM VCPU set REG VALUE` (KVM_SET_REGS) changes one of rax..r15,\r\n"
	  "rsp, rip, rflags, cr0, cr2, cr3, cr4, efer of a paused VM; the\r\n"
	  "vCPU loads it when it resumes.",
	  1, 5, cmd_regs },
	{ "x", "VM GPA LEN", "hex dump of guest memory",
	  "LEN bytes (up to 4096) of the VM's RAM from guest-physical address\r\n"
	  "GPA, 16 per line, with their ASCII. Works in any state.",
	  3, 3, cmd_x },
	{ "w", "VM GPA HEXBYTES", "write bytes into guest memory",
	  "Writes up to 64 bytes, given as hex digits (two per byte, e.g.\r\n"
	  "`w alpha 0x7000 90c3`), at guest-physical address GPA of the VM's\r\n"
	  "writable RAM. A running guest sees them at once.",
	  3, 3, cmd_w },
	{ "irq", "VM VECTOR [VCPU]", "inject an external interrupt (KVM_INTERRUPT)",
	  "Queues interrupt VECTOR (32 to 255) for vCPU VCPU (default 0). The\r\n"
	  "vCPU takes it as soon as its guest has interrupts on (a halted vCPU\r\n"
	  "wakes for it); until then it waits, and a second `irq` is refused.\r\n"
	  "A VM with an in-kernel interrupt controller (a Linux VM) takes it\r\n"
	  "in that vCPU's local APIC, as a message would arrive (KVM_SIGNAL_MSI).",
	  2, 3, cmd_irq },
	{ "dump", "VM", "the VM's last crash report",
	  "Why the VM last crashed, when, which vCPU, and that vCPU's registers\r\n"
	  "at the crash. Kept across `reset` and the crash policy's restarts.",
	  1, 1, cmd_dump },
	{ "stats", "[VM]", "exit counters of a VM (or of every VM)",
	  "The VM's state (and why it stopped), how many exits of each kind\r\n"
	  "its vCPUs took (the debugfs counters of KVM), how many bytes it sent\r\n"
	  "to its UART and how many of those the 4 KiB buffer dropped, and how\r\n"
	  "many port accesses found no device. Without VM, every VM, then a\r\n"
	  "`host:` line: machine checks and NMIs the hardware raised (see\r\n"
	  "docs/machine-checks.md).",
	  0, 1, cmd_stats },
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
	{ "json", "[on|off]", "machine mode: each reply one JSON line",
	  "`json on`: every reply is one line of JSON, {\"ok\":true,...} or\r\n"
	  "{\"ok\":false,...,\"error\":...}, with no echo and no prompt; log lines\r\n"
	  "come as {\"log\":...}. For scripts and tools/lamina-ctl (see\r\n"
	  "docs/monitor.md). `json off` brings the prompt back; `json` alone\r\n"
	  "says which mode is on.",
	  0, 1, mon_cmd_json },
	{ "reboot", "", "reset the machine",
	  "Stops every CPU, then resets through the ACPI reset register, the\r\n"
	  "keyboard controller, or a triple fault, whichever works first.",
	  0, 0, cmd_reboot },
	{ "poweroff", "", "switch the machine off",
	  "Stops every CPU and every VM with it, then switches the machine\r\n"
	  "off through ACPI (the soft-off state S5 that the firmware's tables\r\n"
	  "describe). Where the firmware gives no way to, the CPUs halt and\r\n"
	  "the log says so: then use the power button.",
	  0, 0, cmd_poweroff },
};

const size_t nr_monitor_commands = ARRAY_SIZE(monitor_commands);
