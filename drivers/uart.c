/*
 * 16550 UART, polled: Lamina runs with interrupts off, and the monitor
 * reads the line status register between everything else it does.
 */
#include <lamina/uart.h>
#include <lamina/x86.h>

#define UART_THR 0 /* transmit (DLAB=0) */
#define UART_RBR 0 /* receive (DLAB=0) */
#define UART_DLL 0 /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS 0x03
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

/* Bounded wait for the transmitter: a missing UART must not hang the boot. */
#define UART_TX_SPINS 100000

static u16 uart_port;

void uart_init(u16 port, u32 baud)
{
	u16 divisor = (u16)(115200 / baud);

	uart_port = port;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, divisor & 0xff);
	outb(port + UART_DLM, divisor >> 8);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, MCR_DTR_RTS);
}

void uart_putc(char c)
{
	unsigned int spins = UART_TX_SPINS;

	if (!uart_port)
		return;
	while (!(inb(uart_port + UART_LSR) & LSR_THR_EMPTY) && --spins)
		cpu_relax();
	outb(uart_port + UART_THR, (u8)c);
}

void uart_write(const char *s, size_t n)
{
	while (n--)
		uart_putc(*s++);
}

int uart_getc(void)
{
	if (!uart_port || !(inb(uart_port + UART_LSR) & LSR_DATA_READY))
		return -1;
	return inb(uart_port + UART_RBR);
}
