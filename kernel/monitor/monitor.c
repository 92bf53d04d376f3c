/*
 * The monitor on the serial console: what /dev/kvm and its ioctls are to
 * KVM. It polls the UART on the boot CPU, feeds the line editor, and runs
 * each finished line through the command table.
 */
#include <lamina/kernel.h>
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
	mon_printf(&ctx, "Type 'help' for commands.\r\n" MON_PROMPT);
	for (;;) {
		int c = uart_getc();
		enum le_result r;

		if (c < 0) {
			/* Idle: the vCPU sharing this CPU gets a slice. */
			vm_housekeeping();
			if (!vcpu_bsp_poll())
				cpu_relax();
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
