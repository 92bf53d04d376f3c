/*
 * The monitor on the serial console: what /dev/kvm and its ioctls are to
 * KVM. It polls the UART on the boot CPU, feeds the line editor, and runs
 * each finished line through the command table.
 */
#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/lib.h>
#include <lamina/monitor.h>
#include <lamina/printk.h>
#include <lamina/uart.h>
#include <lamina/vcpu.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "commands.h"

/* Through the log's lock: a line from another CPU never splits a reply. */
static void serial_out(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	console_write(s, n);
}

static struct line_editor editor;
static struct mon_json json; /* JSON mode: its flag and reply buffers */

/* `console VM` reads the line itself: no JSON reply could frame it. */
static const mon_cmd_fn takes_line[] = { cmd_console };

/* After each line: the mode the next one is read and logged in. */
static void line_done(struct mon_ctx *ctx)
{
	editor.quiet = json.on;
	console_set_json(json.on);
	if (!json.on)
		mon_printf(ctx, MON_PROMPT);
}

/*
 * With no vCPU sharing the boot CPU, the monitor sleeps between looks at
 * the UART instead of spinning: a machine at the prompt then leaves that
 * CPU idle (under an emulator, a host CPU). 500 us between looks is well
 * inside the 1.4 ms a 16-byte receive FIFO takes to fill at 115200 baud.
 * Without a local APIC timer that counts, it spins as before.
 */
#define MONITOR_POLL_US 500

static bool monitor_can_sleep;

static void monitor_idle(void)
{
	static const unsigned long nothing_requested;

	if (!monitor_can_sleep || vcpu_bsp_shared()) {
		cpu_relax();
		return;
	}
	lapic_timer_oneshot(VEC_WAKE, MONITOR_POLL_US);
	vcpu_idle_wait(&nothing_requested);
	lapic_timer_stop();
}

void monitor_run(void)
{
	struct mon_ctx ctx = {
		.out = serial_out,
		.cmds = monitor_commands,
		.nr_cmds = nr_monitor_commands,
		.json = &json,
		.takes_line = takes_line,
		.nr_takes_line = ARRAY_SIZE(takes_line),
	};

	le_init(&editor, serial_out, NULL);
	monitor_can_sleep = lapic_timer_usable();
	mon_printf(&ctx, "Type 'help' for commands.\r\n" MON_PROMPT);
	for (;;) {
		int c = uart_getc();
		enum le_result r;

		if (c < 0) {
			/* Idle: the vCPU sharing this CPU gets a slice. */
			vm_housekeeping();
			if (!vcpu_bsp_poll())
				monitor_idle();
			continue;
		}
		r = le_feed(&editor, (u8)c);
		if (r == LE_CONTINUE)
			continue;
		if (r == LE_LINE_ERROR)
			mon_reject_line(&ctx, editor.error);
		else
			mon_dispatch(&ctx, editor.line);
		line_done(&ctx);
	}
}
