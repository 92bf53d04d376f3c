/* The monitor's commands. Each is documented in docs/monitor.md. */
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>

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

static int cmd_cpus(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	mon_printf(ctx, "CPU  APIC  STATE\r\n");
	for (unsigned int i = 0; i < nr_cpus_listed; i++) {
		const struct percpu *pc = &percpu[i];
		int state = READ_ONCE(pc->state);

		mon_printf(ctx, "%3u  %4u  %-7s %s\r\n", i, pc->apic_id,
			   cpu_state_name(state),
			   i == 0 ? "boot, monitor" :
			   state == CPU_OFFLINE && pc->why ? pc->why : "");
	}
	mon_printf(ctx, "%u of %u CPUs online\r\n", smp_online_count(),
		   nr_cpus_listed);
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
			print_kib(ctx, pg_owner_name(i), st.owned[i], "");
	print_kib(ctx, "bootdata", st.bootdata,
		  "multiboot2 information and modules (not Lamina's)");
	return 0;
}

static void log_line(void *c, const char *s, size_t n)
{
	struct mon_ctx *ctx = c;

	ctx->out(ctx->out_ctx, s, n);
	ctx->out(ctx->out_ctx, "\r\n", 2);
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
	  "APIC ID and state. A CPU that did not start says why.",
	  0, 0, cmd_cpus },
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
