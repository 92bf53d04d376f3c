/*
 * libFuzzer target for the virtual 16550A (kernel/vdev/vuart.c). The input
 * is a program of guest register reads and writes, monitor input pushes,
 * bursts of output, output reads through two cursors and re-inits.
 *
 * A shadow model (what the guest's writes imply, kept independently) checks
 * every byte received and read back, and after every step the invariants:
 * LSR and IIR agree with the receive FIFO, the output ring accounts for
 * everything (total == kept + dropped), input drops are counted, and no
 * index leaves its array (ASan and UBSan's bounds checks watch the rest).
 *
 * Program bytes, op = data[i]:
 *   op & 7 == 0, 6  read register (op >> 3) & 7
 *   op & 7 == 1, 7  write register (op >> 3) & 7 with the next byte
 *   op & 7 == 2     push the next (op >> 3) bytes as monitor input
 *   op & 7 == 3     read output: cursor (op >> 3) & 1, lost NULL if op & 16,
 *                   up to next * 17 bytes
 *   op & 7 == 4     transmit (next * 32 + (op >> 3)) bytes seed, seed + 1...
 *                   where seed is the byte after
 *   op & 7 == 5     op & 8: vuart_out_put of the next byte; else vuart_init
 *                   (the cursors are kept: they go stale)
 */
#include <lamina/vuart.h>
#include <lamina/lib.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Needs the last VUART_OUT_SIZE bytes of the stream, at least. */
#define SHADOW_OUT 8192

struct shadow {
	u8 ier, mcr;
	bool dlab, fifo, overrun, thri;
	u8 rx[VUART_FIFO];
	unsigned int rx_head, rx_count;
	u64 total, in_dropped;
	u8 out[SHADOW_OUT]; /* stream position p at out[p % SHADOW_OUT] */
	u64 cursor[2];
};

static bool sh_loop(const struct shadow *s)
{
	return s->mcr & UART_MCR_LOOP;
}

static unsigned int sh_cap(const struct shadow *s)
{
	return s->fifo ? VUART_FIFO : 1;
}

static void sh_reset(struct shadow *s)
{
	u64 c0 = s->cursor[0], c1 = s->cursor[1];

	memset(s, 0, sizeof(*s));
	s->cursor[0] = c0;
	s->cursor[1] = c1;
}

static bool sh_rx_put(struct shadow *s, u8 b)
{
	if (s->rx_count >= sh_cap(s)) {
		s->overrun = true;
		return false;
	}
	s->rx[(s->rx_head + s->rx_count) % VUART_FIFO] = b;
	s->rx_count++;
	return true;
}

static int sh_rx_pop(struct shadow *s)
{
	u8 b;

	if (!s->rx_count)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % VUART_FIFO;
	s->rx_count--;
	return b;
}

/* Everything the model must agree with at any time. */
static void check_state(const struct vuart *u, const struct shadow *s)
{
	u64 kept = MIN(u->out_total, (u64)VUART_OUT_SIZE);

	CHECK(u->rx_head < VUART_FIFO);
	CHECK(u->rx_count <= sh_cap(s));
	CHECK(u->rx_count == s->rx_count);
	CHECK(u->out_total == s->total);
	CHECK(u->out_total == kept + u->out_dropped);
	CHECK(vuart_out_dropped(u) == u->out_dropped);
	CHECK(u->in_dropped == s->in_dropped);
	CHECK(u->overrun == s->overrun);
	CHECK(vuart_rx_space(u) == (sh_loop(s) ? 0 : sh_cap(s) - s->rx_count));
}

/* The IIR the model predicts; -1 when it may be MSI or none. */
static int sh_iir(const struct shadow *s)
{
	if ((s->ier & UART_IER_RLSI) && s->overrun)
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thri)
		return UART_IIR_THRI;
	return (s->ier & UART_IER_MSI) ? -1 : UART_IIR_NO_INT;
}

static void check_iir(struct vuart *u, struct shadow *s)
{
	bool irq = vuart_irq_pending(u);
	int want = sh_iir(s);
	u8 iir = vuart_read(u, UART_IIR), id = iir & UART_IIR_ID;

	CHECK((iir & 0xf0) == (s->fifo ? UART_IIR_FIFO : 0));
	if (want >= 0)
		CHECK(id == want);
	else
		CHECK(id == UART_IIR_MSI || id == UART_IIR_NO_INT);
	CHECK(irq == (id != UART_IIR_NO_INT && (s->mcr & UART_MCR_OUT2) &&
		      !sh_loop(s)));
	if (id == UART_IIR_THRI)
		s->thri = false;
}

static void check_lsr(struct vuart *u, struct shadow *s)
{
	u8 lsr = vuart_read(u, UART_LSR);

	CHECK(!!(lsr & UART_LSR_DR) == (s->rx_count > 0));
	CHECK(!!(lsr & UART_LSR_OE) == s->overrun);
	CHECK((lsr & (UART_LSR_THRE | UART_LSR_TEMT)) ==
	      (UART_LSR_THRE | UART_LSR_TEMT));
	CHECK(!(lsr & 0x9c)); /* no parity, framing or break errors */
	s->overrun = false;
}

static void check_msr(struct vuart *u, const struct shadow *s)
{
	u8 msr = vuart_read(u, UART_MSR), lines = 0xb0;

	if (sh_loop(s))
		lines = (s->mcr & UART_MCR_RTS ? UART_MSR_CTS : 0) |
			(s->mcr & UART_MCR_DTR ? UART_MSR_DSR : 0) |
			(s->mcr & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
			(s->mcr & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
	CHECK((msr & 0xf0) == lines);
	CHECK(vuart_read(u, UART_MSR) == lines); /* the read cleared deltas */
}

static void do_read(struct vuart *u, struct shadow *s, unsigned int reg)
{
	switch (reg) {
	case UART_RX:
		if (s->dlab)
			vuart_read(u, reg);
		else
			CHECK(vuart_read(u, reg) == sh_rx_pop(s));
		break;
	case UART_IIR:
		check_iir(u, s);
		break;
	case UART_LSR:
		check_lsr(u, s);
		break;
	case UART_MSR:
		check_msr(u, s);
		break;
	case UART_IER:
		CHECK(vuart_read(u, reg) == (s->dlab ? u->dlm : s->ier));
		break;
	case UART_MCR:
		CHECK(vuart_read(u, reg) == s->mcr);
		break;
	default:
		vuart_read(u, reg);
		break;
	}
}

/* What a register write does to the model; true if a byte is sent. */
static bool sh_write(struct shadow *s, unsigned int reg, u8 val)
{
	bool fifo = val & UART_FCR_ENABLE;

	switch (reg) {
	case UART_TX:
		if (s->dlab)
			return false;
		s->thri = true;
		if (sh_loop(s)) {
			sh_rx_put(s, val);
			return false;
		}
		s->out[s->total++ % SHADOW_OUT] = val;
		return true;
	case UART_IER:
		if (!s->dlab) {
			if ((s->ier ^ val) & UART_IER_THRI)
				s->thri = val & UART_IER_THRI;
			s->ier = val & 0x0f;
		}
		return false;
	case UART_FCR:
		if (fifo != s->fifo || (val & UART_FCR_CLEAR_RX))
			s->rx_count = s->rx_head = 0;
		s->fifo = fifo;
		return false;
	case UART_LCR:
		s->dlab = val & UART_LCR_DLAB;
		return false;
	case UART_MCR:
		s->mcr = val & 0x1f;
		return false;
	default:
		return false;
	}
}

static void do_write(struct vuart *u, struct shadow *s, unsigned int reg,
		     u8 val)
{
	bool want = sh_write(s, reg, val);
	u8 sent = ~val;

	CHECK(vuart_write(u, reg, val, &sent) == want);
	CHECK(sent == (u8)(want ? val : ~val));
}

static void do_push(struct vuart *u, struct shadow *s, const u8 *buf,
		    unsigned int n)
{
	unsigned int want = 0, taken;

	if (!sh_loop(s))
		while (want < n && sh_rx_put(s, buf[want]))
			want++;
	s->in_dropped += n - want;
	taken = vuart_push_input(u, buf, n);
	CHECK(taken == want);
}

static void do_out_read(const struct vuart *u, struct shadow *s,
			unsigned int which, bool with_lost, size_t n)
{
	u64 *cursor = &s->cursor[which], from = *cursor, lost = 0, oldest;
	char *buf = malloc(n ? n : 1); /* exact size: ASan sees any overrun */
	size_t got, i;

	CHECK(buf);
	oldest = s->total - MIN(s->total, (u64)VUART_OUT_SIZE);
	if (from > s->total)
		from = oldest; /* stale cursor: restart, nothing lost */
	got = vuart_out_read(u, cursor, buf, n, with_lost ? &lost : NULL);
	CHECK(lost == (with_lost && from < oldest ? oldest - from : 0));
	from = MAX(from, oldest);
	CHECK(got == MIN(n, s->total - from));
	CHECK(*cursor == from + got);
	for (i = 0; i < got; i++)
		CHECK((u8)buf[i] == s->out[(from + i) % SHADOW_OUT]);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vuart u;
	static struct shadow s;
	size_t i = 0;
	unsigned int n, k;

	vuart_init(&u);
	memset(&s, 0, sizeof(s));
	while (i < size) {
		u8 op = data[i++], arg = i < size ? data[i] : 0;
		unsigned int reg = (op >> 3) & 7;

		switch (op & 7) {
		case 0:
		case 6:
			do_read(&u, &s, reg);
			break;
		case 1:
		case 7:
			do_write(&u, &s, reg, arg);
			i++;
			break;
		case 2:
			n = MIN((size_t)(op >> 3), size - i);
			do_push(&u, &s, data + i, n);
			i += n;
			break;
		case 3:
			do_out_read(&u, &s, reg & 1, !(op & 16), arg * 17u);
			i++;
			break;
		case 4:
			k = arg * 32u + (op >> 3);
			arg = i + 1 < size ? data[i + 1] : 0;
			for (n = 0; n < k; n++)
				do_write(&u, &s, UART_TX, (u8)(arg + n));
			i += 2;
			break;
		case 5:
			if (op & 8) {
				vuart_out_put(&u, arg);
				s.out[s.total++ % SHADOW_OUT] = arg;
				i++;
				break;
			}
			vuart_init(&u);
			sh_reset(&s);
			break;
		}
		check_state(&u, &s);
	}
	return 0;
}
