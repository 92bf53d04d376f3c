/*
 * `console VM`: the serial line becomes the VM's UART (what `virsh
 * console` or `xl console` do). The output kept in the VM's ring comes
 * first, then everything new; typed bytes go to the UART's receiver;
 * Ctrl-] ends it. The monitor's CPU polls both ways, so nothing here waits
 * on the guest.
 */
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/uart.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "commands.h"

#define CTRL_RIGHT_BRACKET 0x1d
#define INPUT_WAIT_US 100000

struct vm *console_attached; /* its log echo is quieted (vcpu_pio.c) */

/* Output from @cursor on; returns whether there was any. */
static bool forward_output(struct vm *vm, u64 *cursor, u64 *lost)
{
	char buf[256];
	size_t n;

	spin_lock(&vm->dev.lock);
	n = vuart_out_read(&vm->dev.uart, cursor, buf, sizeof(buf), lost);
	spin_unlock(&vm->dev.lock);
	if (n)
		console_write(buf, n);
	return n;
}

/*
 * A typed byte for the guest. A guest with its FIFO off has room for one
 * byte, and a paste arrives faster than it reads: give it INPUT_WAIT_US to
 * make room (still showing its output), then refuse the byte.
 */
static void forward_input(struct vm *vm, u8 c, u64 *cursor, u64 *lost,
			  u64 *refused)
{
	u64 start = uptime_us();
	unsigned int took;

	for (;;) {
		bool late = uptime_us() - start > INPUT_WAIT_US;

		/* Only a byte that finds no room when it is late overruns. */
		spin_lock(&vm->dev.lock);
		took = late || vuart_rx_space(&vm->dev.uart) ?
		       vuart_push_input(&vm->dev.uart, &c, 1) : 0;
		spin_unlock(&vm->dev.lock);
		if (took)
			vm_uart_irq_sync(vm);
		if (took || late)
			break;
		if (!forward_output(vm, cursor, lost) && !vcpu_bsp_poll())
			cpu_relax();
	}
	*refused += !took;
}

int cmd_console(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	u64 cursor, lost = 0, refused = 0;

	(void)argc;
	if (!vm)
		return -1;
	spin_lock(&vm->dev.lock);
	cursor = vm->dev.uart.out_total > VUART_OUT_SIZE ?
		 vm->dev.uart.out_total - VUART_OUT_SIZE : 0;
	spin_unlock(&vm->dev.lock);
	mon_printf(ctx, "[console of vm '%s' (%s): Ctrl-] returns to the monitor]\r\n",
		   vm->name, vm_state_name(READ_ONCE(vm->state)));
	WRITE_ONCE(console_attached, vm);
	for (;;) {
		int c = uart_getc();
		bool out = forward_output(vm, &cursor, &lost);

		if (c == CTRL_RIGHT_BRACKET)
			break;
		if (c >= 0)
			forward_input(vm, (u8)c, &cursor, &lost, &refused);
		else if (!out && !vcpu_bsp_poll())
			cpu_relax();
	}
	WRITE_ONCE(console_attached, NULL);
	mon_printf(ctx, "\r\n[left the console of vm '%s' (%s); output lost: %llu bytes, input refused: %llu bytes]\r\n",
		   vm->name, vm_state_name(READ_ONCE(vm->state)),
		   (unsigned long long)lost, (unsigned long long)refused);
	return 0;
}
