/*
 * Virtual 16550A UART: each VM's console (kernel/vdev/vuart.c).
 *
 * A pure register model with no VM or vCPU in it: the caller decodes the
 * guest's port access to a register number 0-7, holds the VM's device lock
 * around every call, raises the guest interrupt when vuart_irq_pending()
 * says so, and moves bytes between the model and the monitor.
 *
 * Transmission is instant: THR is always empty, and every byte the guest
 * sends (outside loopback) lands in an output ring of the last
 * VUART_OUT_SIZE bytes. Readers follow the ring with their own cursor into
 * the stream of everything ever sent, so several of them (the monitor, a
 * log) can read at their own pace and learn how much they missed.
 */
#ifndef LAMINA_VUART_H
#define LAMINA_VUART_H

#include <lamina/types.h>

#define VUART_FIFO 16
#define VUART_OUT_SIZE 4096 /* bytes of guest output kept */

/* Registers, as offsets from the base port (names as in Linux serial_reg.h). */
#define UART_RX 0  /* in: receive buffer (DLAB=0) */
#define UART_TX 0  /* out: transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_IIR 2 /* in */
#define UART_FCR 2 /* out */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01  /* receive data available */
#define UART_IER_THRI 0x02 /* transmit holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status (overrun) */
#define UART_IER_MSI 0x08  /* modem status change */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_ID 0x0f
#define UART_IIR_FIFO 0xc0 /* both set while the FIFOs are enabled */

#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_DMA 0x08
#define UART_FCR_TRIGGER 0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* gates the IRQ line on a PC */
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR 0x01   /* data ready */
#define UART_LSR_OE 0x02   /* overrun since the last LSR read */
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04 /* RI went from 1 to 0 */
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80
#define UART_MSR_DELTAS 0x0f

struct vuart {
	u8 ier;           /* bits 3:0 */
	u8 lcr;
	u8 mcr;           /* bits 4:0 */
	u8 scr;
	u8 dll, dlm;
	u8 fcr;           /* kept bits: enable, DMA mode, trigger level */
	u8 msr_delta;     /* MSR bits 3:0; an MSR read clears them */
	bool overrun;     /* LSR.OE; an LSR read clears it */
	bool thri_pending; /* THR-empty interrupt not yet taken */

	/* rx_count bytes from rx[rx_head], wrapping at VUART_FIFO. */
	u8 rx[VUART_FIFO];
	u8 rx_head;
	u8 rx_count;

	/* Stream position p is out[p % VUART_OUT_SIZE] while p is kept. */
	char out[VUART_OUT_SIZE];
	u64 out_total;   /* bytes ever sent (THR writes, vuart_out_put) */
	u64 out_dropped; /* overwritten by newer ones: out_total - kept */
	u64 in_dropped;  /* vuart_push_input() bytes refused */
};

/* Power-on state: no interrupts, FIFOs off, MSR lines 0xb0. */
void vuart_init(struct vuart *u);

/* A guest IN from register @reg (0-7; others read 0xff). */
u8 vuart_read(struct vuart *u, unsigned int reg);

/*
 * A guest OUT to register @reg (0-7; others are ignored). Returns true when
 * it transmitted a byte, stored in *@sent when @sent is not NULL, so the
 * caller can also echo it elsewhere. A THR write in loopback transmits
 * nothing: the byte goes to the receive FIFO.
 */
bool vuart_write(struct vuart *u, unsigned int reg, u8 val, u8 *sent);

/*
 * Input from the monitor. Returns how many bytes of @buf the receiver took;
 * the rest are counted in in_dropped. Takes up to the free FIFO space (one
 * byte in all with FIFOs off, as the chip's lone holding register); a byte
 * refused for lack of space sets LSR.OE. In loopback the receiver does not
 * listen to the line, so everything is refused (without OE).
 */
unsigned int vuart_push_input(struct vuart *u, const u8 *buf, unsigned int n);

/*
 * Append @b to the output stream as if the guest had sent it: Lamina's own
 * notes about the VM (why it stopped) then read in line with its output.
 */
void vuart_out_put(struct vuart *u, u8 b);

/* How many bytes vuart_push_input() would take now: lets a caller pace. */
unsigned int vuart_rx_space(const struct vuart *u);

/*
 * Copy up to @n bytes of guest output from stream position *@cursor and
 * advance it; returns the count. If the oldest byte kept is past *@cursor,
 * the gap is skipped and its size added to *@lost (when @lost is not NULL).
 * A cursor beyond out_total (the UART was re-initialised since) restarts at
 * the oldest byte kept, and nothing is counted as lost.
 */
size_t vuart_out_read(const struct vuart *u, u64 *cursor, char *buf, size_t n,
		      u64 *lost);

/* Bytes the ring no longer holds: out_total - VUART_OUT_SIZE, or 0. */
u64 vuart_out_dropped(const struct vuart *u);

/*
 * The guest's IRQ line: IIR shows an interrupt and MCR.OUT2 is set (the PC
 * wiring). Loopback forces the OUT2 pin inactive, so no IRQ then.
 */
bool vuart_irq_pending(const struct vuart *u);

#endif
