/*
 * 16550 UART, polled: Lamina runs with interrupts off, and the monitor
 * reads the line status register between everything else it does.
 */
#include <lamina/errno.h>
#include <lamina/lib.h>
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
#define UART_SCR 7 /* scratch: no function, kept as written */

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS 0x03
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

/* Bounded wait for the transmitter: a missing UART must not hang the boot. */
#define UART_TX_SPINS 100000

/*
 * How to reach one 16550. port != 0 selects the I/O path, which costs what
 * it did before MMIO existed: one test of the port, then inb/outb.
 * Otherwise mmio != NULL selects MMIO with a stride and an access width.
 */
struct uart_regs {
	u16 port;
	u8 shift, width;
	volatile u8 *mmio;
};

static struct uart_regs console; /* all zero: no UART, output dropped */

static u8 mmio_read(const struct uart_regs *u, unsigned int reg)
{
	volatile u8 *p = u->mmio + (reg << u->shift);

	/* Registers wider than 8 bits hold the 16550's byte in bits 0-7. */
	if (u->width == 32)
		return (u8)*(volatile u32 *)p;
	if (u->width == 16)
		return (u8)*(volatile u16 *)p;
	return *p;
}

static void mmio_write(const struct uart_regs *u, unsigned int reg, u8 v)
{
	volatile u8 *p = u->mmio + (reg << u->shift);

	if (u->width == 32)
		*(volatile u32 *)p = v;
	else if (u->width == 16)
		*(volatile u16 *)p = v;
	else
		*p = v;
}

static inline u8 reg_read(const struct uart_regs *u, unsigned int reg)
{
	if (likely(u->port))
		return inb(u->port + reg);
	return mmio_read(u, reg);
}

static inline void reg_write(const struct uart_regs *u, unsigned int reg,
			     u8 v)
{
	if (likely(u->port))
		outb(u->port + reg, v);
	else
		mmio_write(u, reg, v);
}

static bool uart_present(void)
{
	return console.port || console.mmio;
}

/* 8N1 at @baud (0: keep the firmware's divisor and format), FIFOs on. */
static void uart_program(const struct uart_regs *u, u32 baud)
{
	u16 divisor = baud ? (u16)(UART_MAX_BAUD / baud) : 0;

	reg_write(u, UART_IER, 0);
	if (baud) {
		reg_write(u, UART_LCR, LCR_DLAB);
		reg_write(u, UART_DLL, divisor & 0xff);
		reg_write(u, UART_DLM, divisor >> 8);
		reg_write(u, UART_LCR, LCR_8N1);
	}
	reg_write(u, UART_FCR, FCR_ENABLE_CLEAR);
	reg_write(u, UART_MCR, MCR_DTR_RTS);
}

void uart_init(u16 port, u32 baud)
{
	console = (struct uart_regs){ .port = port };
	uart_program(&console, baud);
}

static int uart_regs_from(const struct uart_desc *d, struct uart_regs *u)
{
	if (d->baud > UART_MAX_BAUD)
		return -HV_EINVAL;
	if (d->space == UART_SPACE_IO) {
		if (!d->base || d->base > 0xfff8 || d->reg_shift)
			return -HV_EINVAL;
		*u = (struct uart_regs){ .port = (u16)d->base };
		return 0;
	}
	if (d->space != UART_SPACE_MMIO || !d->base || d->reg_shift > 3 ||
	    (d->reg_width != 8 && d->reg_width != 16 && d->reg_width != 32))
		return -HV_EINVAL;
	*u = (struct uart_regs){ .shift = d->reg_shift, .width = d->reg_width,
				 .mmio = (volatile u8 *)(uintptr_t)d->base };
	return 0;
}

/*
 * Does a 16550 answer at @u? Its scratch register keeps what is written;
 * nothing there reads back all ones (I/O) or zeroes (unbacked MMIO), and a
 * console there would spin UART_TX_SPINS on every byte.
 */
static bool uart_answers(const struct uart_regs *u)
{
	static const u8 patterns[] = { 0x5a, 0xa5 };

	for (unsigned int i = 0; i < ARRAY_SIZE(patterns); i++) {
		reg_write(u, UART_SCR, patterns[i]);
		if (reg_read(u, UART_SCR) != patterns[i])
			return false;
	}
	return true;
}

int uart_probe(const struct uart_desc *d)
{
	struct uart_regs u;
	int err = uart_regs_from(d, &u);

	if (err)
		return err;
	return uart_answers(&u) ? 0 : -HV_ENODEV;
}

int uart_setup(const struct uart_desc *d)
{
	struct uart_regs u;
	int err = uart_regs_from(d, &u);

	if (err)
		return err;
	console = u;
	uart_program(&console, d->baud);
	return 0;
}

void uart_describe(const struct uart_desc *d, char *buf, size_t len)
{
	char baud[16] = "baud as set";

	if (d->baud)
		snprintf(baud, sizeof(baud), "%u baud", d->baud);
	if (d->space == UART_SPACE_IO)
		snprintf(buf, len, "I/O 0x%llx, %s",
			 (unsigned long long)d->base, baud);
	else
		snprintf(buf, len, "MMIO 0x%llx (%u-bit registers, stride %u), %s",
			 (unsigned long long)d->base, d->reg_width,
			 1u << d->reg_shift, baud);
}

void uart_putc(char c)
{
	unsigned int spins = UART_TX_SPINS;

	if (unlikely(!uart_present()))
		return;
	while (!(reg_read(&console, UART_LSR) & LSR_THR_EMPTY) && --spins)
		cpu_relax();
	reg_write(&console, UART_THR, (u8)c);
}

void uart_write(const char *s, size_t n)
{
	while (n--)
		uart_putc(*s++);
}

int uart_getc(void)
{
	if (!uart_present() || !(reg_read(&console, UART_LSR) & LSR_DATA_READY))
		return -1;
	return reg_read(&console, UART_RBR);
}
