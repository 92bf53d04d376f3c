/*
 * Virtual 16550A UART: the console each VM gets at its COM port. Guests
 * already have drivers for this chip (BIOS, Linux's 8250, every hobby
 * kernel), so it is the one device a guest can print with unmodified.
 *
 * All eight registers behave as on the chip, with two simplifications that
 * no driver can tell from a fast line: transmission is instant (THRE and
 * TEMT always set), and received data is reported at once (no FIFO trigger
 * level wait, no character-timeout interrupt; the level is only stored).
 * Parity, framing and break errors never happen.
 *
 * No locking here: the caller holds the VM's device lock.
 */
#include <lamina/vuart.h>
#include <lamina/lib.h>

#define IER_MASK 0x0f
#define MCR_MASK 0x1f
#define FCR_KEPT (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER)

/* What the modem lines show outside loopback: a terminal is attached. */
#define MSR_CABLE (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

BUILD_BUG_ON(VUART_FIFO > 255); /* rx_head and rx_count are u8 */

void vuart_init(struct vuart *u)
{
	memset(u, 0, sizeof(*u));
}

static bool loopback(const struct vuart *u)
{
	return u->mcr & UART_MCR_LOOP;
}

static bool dlab(const struct vuart *u)
{
	return u->lcr & UART_LCR_DLAB;
}

/* The chip without FIFOs has one receive holding register. */
static unsigned int rx_capacity(const struct vuart *u)
{
	return (u->fcr & UART_FCR_ENABLE) ? VUART_FIFO : 1;
}

/* MSR bits 7:4. In loopback the MCR outputs are wired back to the inputs. */
static u8 msr_lines(const struct vuart *u)
{
	u8 m = 0;

	if (!loopback(u))
		return MSR_CABLE;
	if (u->mcr & UART_MCR_RTS)
		m |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_DTR)
		m |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_OUT1)
		m |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2)
		m |= UART_MSR_DCD;
	return m;
}

/* The interrupt IIR shows, in the chip's priority order; no side effects. */
static u8 iir_id(const struct vuart *u)
{
	if ((u->ier & UART_IER_RLSI) && u->overrun)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

bool vuart_irq_pending(const struct vuart *u)
{
	return iir_id(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2) &&
	       !loopback(u);
}

/* A byte reaching the receiver; a full one keeps what it has (overrun). */
static bool rx_put(struct vuart *u, u8 b)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->overrun = true;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % VUART_FIFO] = b;
	u->rx_count++;
	return true;
}

static u8 rx_pop(struct vuart *u)
{
	u8 b;

	if (!u->rx_count)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % VUART_FIFO;
	u->rx_count--;
	return b;
}

static void rx_clear(struct vuart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

static u8 read_iir(struct vuart *u)
{
	u8 id = iir_id(u);

	/* Reading IIR is how a driver acknowledges the THR-empty interrupt. */
	if (id == UART_IIR_THRI)
		u->thri_pending = false;
	return id | ((u->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
}

static u8 read_lsr(struct vuart *u)
{
	u8 lsr = UART_LSR_THRE | UART_LSR_TEMT;

	if (u->rx_count)
		lsr |= UART_LSR_DR;
	if (u->overrun)
		lsr |= UART_LSR_OE;
	u->overrun = false;
	return lsr;
}

static u8 read_msr(struct vuart *u)
{
	u8 msr = msr_lines(u) | u->msr_delta;

	u->msr_delta = 0;
	return msr;
}

u8 vuart_read(struct vuart *u, unsigned int reg)
{
	switch (reg) {
	case UART_RX:
		return dlab(u) ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab(u) ? u->dlm : u->ier;
	case UART_IIR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return read_lsr(u);
	case UART_MSR:
		return read_msr(u);
	case UART_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

void vuart_out_put(struct vuart *u, u8 b)
{
	if (u->out_total >= VUART_OUT_SIZE)
		u->out_dropped++;
	u->out[u->out_total % VUART_OUT_SIZE] = (char)b;
	u->out_total++;
}

/* THR: the byte leaves at once, so THR is empty again straight after. */
static bool write_thr(struct vuart *u, u8 val, u8 *sent)
{
	bool tx = !loopback(u);

	if (tx)
		vuart_out_put(u, val);
	else
		rx_put(u, val);
	u->thri_pending = true;
	if (tx && sent)
		*sent = val;
	return tx;
}

/*
 * Turning THRI on raises the interrupt (THR is always empty), even after
 * IIR acknowledged it: drivers toggle IER to restart transmission. Only
 * the rising edge counts, as in QEMU and Bochs.
 */
static void write_ier(struct vuart *u, u8 val)
{
	u8 changed = (u->ier ^ val) & IER_MASK;

	u->ier = val & IER_MASK;
	if (changed & UART_IER_THRI)
		u->thri_pending = u->ier & UART_IER_THRI;
}

/*
 * The chip keeps the trigger level and DMA bits only with bit 0 set. The
 * clear bits act either way (as in QEMU), and turning the FIFOs on or off
 * empties them.
 */
static void write_fcr(struct vuart *u, u8 val)
{
	u8 fcr = (val & UART_FCR_ENABLE) ? (val & FCR_KEPT) : 0;

	if ((fcr ^ u->fcr) & UART_FCR_ENABLE)
		val |= UART_FCR_CLEAR_RX;
	if (val & UART_FCR_CLEAR_RX)
		rx_clear(u);
	/* UART_FCR_CLEAR_TX: the transmit FIFO is always empty already. */
	u->fcr = fcr;
}

/* Loopback MSR lines follow MCR; changes show up in the delta bits. */
static void write_mcr(struct vuart *u, u8 val)
{
	u8 before = msr_lines(u), after;

	u->mcr = val & MCR_MASK;
	after = msr_lines(u);
	u->msr_delta |= ((before ^ after) >> 4) &
			(UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	if ((before & UART_MSR_RI) && !(after & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;
}

bool vuart_write(struct vuart *u, unsigned int reg, u8 val, u8 *sent)
{
	switch (reg) {
	case UART_TX:
		if (!dlab(u))
			return write_thr(u, val, sent);
		u->dll = val;
		break;
	case UART_IER:
		if (dlab(u))
			u->dlm = val;
		else
			write_ier(u, val);
		break;
	case UART_FCR:
		write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		write_mcr(u, val);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		/* LSR and MSR writes change nothing a driver relies on. */
		break;
	}
	return false;
}

unsigned int vuart_rx_space(const struct vuart *u)
{
	if (loopback(u))
		return 0;
	return rx_capacity(u) - u->rx_count;
}

unsigned int vuart_push_input(struct vuart *u, const u8 *buf, unsigned int n)
{
	unsigned int taken = 0;

	if (loopback(u)) {
		u->in_dropped += n;
		return 0;
	}
	while (taken < n && rx_put(u, buf[taken]))
		taken++;
	u->in_dropped += n - taken;
	return taken;
}

size_t vuart_out_read(const struct vuart *u, u64 *cursor, char *buf, size_t n,
		      u64 *lost)
{
	u64 oldest = u->out_dropped; /* everything before it was overwritten */
	size_t done = 0, chunk;
	u64 pos;

	if (*cursor > u->out_total)
		*cursor = oldest;
	if (*cursor < oldest) {
		if (lost)
			*lost += oldest - *cursor;
		*cursor = oldest;
	}
	pos = *cursor;
	n = MIN(n, (size_t)(u->out_total - pos));
	/* At most two copies: to the end of the ring, then from its start. */
	while (done < n) {
		size_t at = pos % VUART_OUT_SIZE;

		chunk = MIN(n - done, (size_t)VUART_OUT_SIZE - at);
		memcpy(buf + done, u->out + at, chunk);
		done += chunk;
		pos += chunk;
	}
	*cursor = pos;
	return done;
}

u64 vuart_out_dropped(const struct vuart *u)
{
	return u->out_dropped;
}
