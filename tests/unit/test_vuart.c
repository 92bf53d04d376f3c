/* Unit tests for the virtual 16550A UART (kernel/vdev/vuart.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/vuart.h>
#include <lamina/lib.h>

#define LSR_IDLE (UART_LSR_THRE | UART_LSR_TEMT)
#define IIR_FIFO_NONE (UART_IIR_FIFO | UART_IIR_NO_INT)
#define NONE UART_IIR_NO_INT

static int setup(void **state)
{
	struct vuart *u = malloc(sizeof(*u));

	if (!u)
		return -1;
	memset(u, 0xa5, sizeof(*u)); /* vuart_init must not rely on zeroes */
	vuart_init(u);
	*state = u;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* A write that must not transmit. */
static void wr(struct vuart *u, unsigned int reg, u8 val)
{
	u8 sent = 0x5a;

	assert_false(vuart_write(u, reg, val, &sent));
	assert_int_equal(sent, 0x5a);
}

static void tx(struct vuart *u, u8 val)
{
	u8 sent = ~val;

	assert_true(vuart_write(u, UART_TX, val, &sent));
	assert_int_equal(sent, val);
}

static void push(struct vuart *u, const char *s, unsigned int expect_taken)
{
	assert_int_equal(vuart_push_input(u, (const u8 *)s, strlen(s)),
			 expect_taken);
}

static u8 iir_id(struct vuart *u)
{
	return vuart_read(u, UART_IIR) & UART_IIR_ID;
}

static void test_reset_values(void **state)
{
	static const struct {
		unsigned int reg;
		u8 val;
	} regs[] = {
		{ UART_RX, 0 },
		{ UART_IER, 0 },
		{ UART_IIR, UART_IIR_NO_INT },
		{ UART_LCR, 0 },
		{ UART_MCR, 0 },
		{ UART_LSR, LSR_IDLE },
		{ UART_MSR, 0xb0 },
		{ UART_SCR, 0 },
		{ 8, 0xff }, /* not registers */
		{ 0xffff, 0xff },
	};
	struct vuart *u = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		assert_int_equal(vuart_read(u, regs[i].reg), regs[i].val);
	assert_false(vuart_irq_pending(u));
	assert_int_equal(u->out_total, 0);
	assert_int_equal(vuart_out_dropped(u), 0);
	assert_int_equal(u->in_dropped, 0);
	assert_int_equal(vuart_rx_space(u), 1);
}

/* What reads back after a write: unused bits read 0, LSR/MSR ignore writes. */
static void test_register_masks(void **state)
{
	static const struct {
		unsigned int reg;
		u8 written, read;
	} cases[] = {
		{ UART_IER, 0xff, 0x0f },
		{ UART_IER, 0x05, 0x05 },
		{ UART_MCR, 0xef, 0x0f },
		{ UART_MCR, 0x03, 0x03 },
		{ UART_LCR, 0x1b, 0x1b },
		{ UART_LCR, 0x7f, 0x7f },
		{ UART_LSR, 0x00, LSR_IDLE },
		{ UART_MSR, 0x00, 0xb0 },
		{ UART_SCR, 0x00, 0x00 },
		{ UART_SCR, 0x5a, 0x5a },
		{ UART_SCR, 0xff, 0xff },
	};
	struct vuart *u = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		wr(u, cases[i].reg, cases[i].written);
		assert_int_equal(vuart_read(u, cases[i].reg), cases[i].read);
	}
	wr(u, 8, 0x12); /* not a register: ignored */
	assert_int_equal(u->out_total, 0);
}

static void test_dlab(void **state)
{
	struct vuart *u = *state;

	wr(u, UART_IER, UART_IER_RDI);
	wr(u, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(u, UART_DLL, 0x0c); /* 9600 baud: no byte leaves */
	wr(u, UART_DLM, 0x01);
	assert_int_equal(vuart_read(u, UART_DLL), 0x0c);
	assert_int_equal(vuart_read(u, UART_DLM), 0x01);
	assert_int_equal(u->out_total, 0);

	/* With DLAB set, reading register 0 does not consume input. */
	push(u, "x", 1);
	assert_int_equal(vuart_read(u, UART_DLL), 0x0c);
	assert_int_equal(vuart_read(u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);

	wr(u, UART_LCR, 0x03);
	assert_int_equal(vuart_read(u, UART_IER), UART_IER_RDI);
	assert_int_equal(vuart_read(u, UART_RX), 'x');
	tx(u, 'y');
	assert_int_equal(u->out_total, 1);
	/* The divisor survives DLAB going away and back. */
	wr(u, UART_LCR, UART_LCR_DLAB);
	assert_int_equal(vuart_read(u, UART_DLL), 0x0c);
	assert_int_equal(vuart_read(u, UART_DLM), 0x01);
}

/* MSR bits 7:4 for each MCR: the cable outside loopback, MCR inside. */
static void test_loopback_msr_lines(void **state)
{
	static const struct {
		u8 mcr, msr_lines;
	} cases[] = {
		{ 0x00, 0xb0 },
		{ 0x0f, 0xb0 },
		{ UART_MCR_LOOP, 0x00 },
		{ UART_MCR_LOOP | UART_MCR_RTS, UART_MSR_CTS },
		{ UART_MCR_LOOP | UART_MCR_DTR, UART_MSR_DSR },
		{ UART_MCR_LOOP | UART_MCR_OUT1, UART_MSR_RI },
		{ UART_MCR_LOOP | UART_MCR_OUT2, UART_MSR_DCD },
		{ UART_MCR_LOOP | 0x0a, 0x90 }, /* Linux's 8250 probe */
		{ UART_MCR_LOOP | 0x0f, 0xf0 },
	};
	struct vuart *u = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		wr(u, UART_MCR, cases[i].mcr);
		assert_int_equal(vuart_read(u, UART_MSR) & 0xf0,
				 cases[i].msr_lines);
	}
}

static void test_loopback_msr_deltas(void **state)
{
	struct vuart *u = *state;

	/* Entering loopback drops DCD, DSR and CTS. */
	wr(u, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(vuart_read(u, UART_MSR),
			 UART_MSR_DDCD | UART_MSR_DDSR | UART_MSR_DCTS);
	assert_int_equal(vuart_read(u, UART_MSR), 0);
	/* RI: only its trailing edge is reported. */
	wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	assert_int_equal(vuart_read(u, UART_MSR), UART_MSR_RI);
	wr(u, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(vuart_read(u, UART_MSR), UART_MSR_TERI);
	wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	assert_int_equal(vuart_read(u, UART_MSR),
			 UART_MSR_CTS | UART_MSR_DCTS);
	/* Leaving loopback: the cable's lines again. */
	wr(u, UART_MCR, 0);
	assert_int_equal(vuart_read(u, UART_MSR),
			 0xb0 | UART_MSR_DDCD | UART_MSR_DDSR);
	assert_int_equal(vuart_read(u, UART_MSR), 0xb0);
}

static void test_loopback_data(void **state)
{
	struct vuart *u = *state;
	char buf[8];
	u64 cursor = 0;

	wr(u, UART_FCR, UART_FCR_ENABLE);
	wr(u, UART_MCR, UART_MCR_LOOP);
	wr(u, UART_TX, 'a'); /* loops back: nothing transmitted */
	wr(u, UART_TX, 'b');
	assert_int_equal(u->out_total, 0);
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), NULL), 0);
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE | UART_LSR_DR);

	/* The line is cut off: monitor input is refused, not an overrun. */
	assert_int_equal(vuart_rx_space(u), 0);
	push(u, "zz", 0);
	assert_int_equal(u->in_dropped, 2);
	assert_int_equal(vuart_read(u, UART_LSR) & UART_LSR_OE, 0);

	assert_int_equal(vuart_read(u, UART_RX), 'a');
	assert_int_equal(vuart_read(u, UART_RX), 'b');
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE);
	assert_int_equal(vuart_read(u, UART_RX), 0);

	wr(u, UART_MCR, 0);
	tx(u, 'c');
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), NULL), 1);
	assert_int_equal(buf[0], 'c');
}

/* A loopback byte into a full receiver is an overrun too. */
static void test_loopback_overrun(void **state)
{
	struct vuart *u = *state;

	wr(u, UART_MCR, UART_MCR_LOOP); /* FIFOs off: room for one byte */
	wr(u, UART_TX, '1');
	wr(u, UART_TX, '2');
	assert_int_equal(vuart_read(u, UART_LSR),
			 LSR_IDLE | UART_LSR_DR | UART_LSR_OE);
	assert_int_equal(vuart_read(u, UART_RX), '1');
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE);
	assert_int_equal(u->in_dropped, 0);
}

static void test_fifo_full_overrun(void **state)
{
	struct vuart *u = *state;
	const char *in = "0123456789abcdefXYZ"; /* 19 bytes */
	unsigned int i;

	wr(u, UART_FCR, UART_FCR_ENABLE);
	assert_int_equal(vuart_rx_space(u), VUART_FIFO);
	push(u, in, VUART_FIFO);
	assert_int_equal(u->in_dropped, 3);
	assert_int_equal(vuart_rx_space(u), 0);
	/* OE once, then cleared by the read that reported it. */
	assert_int_equal(vuart_read(u, UART_LSR),
			 LSR_IDLE | UART_LSR_DR | UART_LSR_OE);
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE | UART_LSR_DR);
	/* The FIFO kept the oldest bytes, in order. */
	for (i = 0; i < VUART_FIFO; i++) {
		assert_int_equal(vuart_read(u, UART_LSR) & UART_LSR_DR,
				 UART_LSR_DR);
		assert_int_equal(vuart_read(u, UART_RX), in[i]);
	}
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE);
	/* Room again; the ring wraps inside the FIFO. */
	push(u, "pq", 2);
	assert_int_equal(vuart_read(u, UART_RX), 'p');
	assert_int_equal(vuart_read(u, UART_RX), 'q');
	assert_int_equal(u->in_dropped, 3);
	/* A push that fits exactly is no overrun. */
	push(u, "0123456789abcdef", VUART_FIFO);
	assert_int_equal(vuart_read(u, UART_LSR) & UART_LSR_OE, 0);
	assert_int_equal(vuart_push_input(u, NULL, 0), 0);
	assert_int_equal(vuart_read(u, UART_LSR) & UART_LSR_OE, 0);
}

/* Without FIFOs the chip holds a single received byte. */
static void test_no_fifo_one_byte(void **state)
{
	struct vuart *u = *state;

	push(u, "abc", 1);
	assert_int_equal(u->in_dropped, 2);
	assert_int_equal(vuart_read(u, UART_LSR),
			 LSR_IDLE | UART_LSR_DR | UART_LSR_OE);
	assert_int_equal(vuart_read(u, UART_RX), 'a');
	assert_int_equal(vuart_rx_space(u), 1);
	push(u, "d", 1);
	assert_int_equal(vuart_read(u, UART_RX), 'd');
	assert_int_equal(u->in_dropped, 2);
}

static void test_fcr(void **state)
{
	struct vuart *u = *state;

	/* Bits other than enable are not programmed without it. */
	wr(u, UART_FCR, 0xc6);
	assert_int_equal(u->fcr, 0);
	assert_int_equal(vuart_read(u, UART_IIR), UART_IIR_NO_INT);

	wr(u, UART_FCR, 0xc7); /* enable, clear both, trigger 14 */
	assert_int_equal(u->fcr, 0xc1);
	assert_int_equal(vuart_read(u, UART_IIR), IIR_FIFO_NONE);
	push(u, "abc", 3);
	wr(u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_TX); /* RX kept */
	assert_int_equal(u->fcr, UART_FCR_ENABLE);
	assert_int_equal(vuart_read(u, UART_RX), 'a');
	wr(u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE);
	assert_int_equal(vuart_read(u, UART_RX), 0);

	/* Turning the FIFOs off (or on) empties them. */
	push(u, "de", 2);
	wr(u, UART_FCR, 0);
	assert_int_equal(vuart_read(u, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE);
	push(u, "f", 1);
	wr(u, UART_FCR, UART_FCR_ENABLE);
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE);
}

/* Which interrupt IIR names when several are due. */
static void test_iir_priority(void **state)
{
	static const struct {
		const char *name;
		u8 ier;
		bool rx, overrun, thri, delta;
		u8 id;
	} cases[] = {
		{ "nothing due", 0x0f, false, false, false, false, NONE },
		{ "all due, all masked", 0x00, true, true, true, true, NONE },
		{ "all due", 0x0f, true, true, true, true, UART_IIR_RLSI },
		{ "no RLSI", 0x0b, true, true, true, true, UART_IIR_RDI },
		{ "rx and thr", 0x0f, true, false, true, true, UART_IIR_RDI },
		{ "thr, msr", 0x0f, false, false, true, true, UART_IIR_THRI },
		{ "thr masked", 0x0d, false, false, true, true, UART_IIR_MSI },
		{ "msr only", 0x08, true, true, true, true, UART_IIR_MSI },
		{ "thr only", 0x02, true, true, true, true, UART_IIR_THRI },
		{ "rx only", 0x01, true, true, true, true, UART_IIR_RDI },
		{ "rx enabled, empty", 0x01, false, true, true, true, NONE },
	};
	struct vuart *u = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		vuart_init(u);
		wr(u, UART_MCR, UART_MCR_OUT2);
		u->ier = cases[i].ier;
		if (cases[i].rx)
			push(u, "r", 1);
		u->overrun = cases[i].overrun;
		u->thri_pending = cases[i].thri;
		u->msr_delta = cases[i].delta ? UART_MSR_DDCD : 0;
		assert_int_equal(vuart_irq_pending(u),
				 cases[i].id != UART_IIR_NO_INT);
		if (iir_id(u) != cases[i].id)
			fail_msg("%s: IIR %#x, expected %#x", cases[i].name,
				 iir_id(u), cases[i].id);
	}
}

/* Each interrupt goes away the way the chip clears it. */
static void test_iir_clearing(void **state)
{
	struct vuart *u = *state;

	wr(u, UART_FCR, UART_FCR_ENABLE);
	wr(u, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	wr(u, UART_IER, 0x0f);
	/* THRI is raised by enabling it, and cleared by the IIR read. */
	assert_true(vuart_irq_pending(u));
	assert_int_equal(vuart_read(u, UART_IIR),
			 UART_IIR_FIFO | UART_IIR_THRI);
	assert_int_equal(vuart_read(u, UART_IIR), IIR_FIFO_NONE);
	assert_false(vuart_irq_pending(u));

	/* RDI stays while data is there; reading IIR does not clear THRI
	 * when IIR reported something else. */
	push(u, "ab", 2);
	tx(u, '!');
	assert_int_equal(iir_id(u), UART_IIR_RDI);
	assert_int_equal(iir_id(u), UART_IIR_RDI);
	assert_int_equal(vuart_read(u, UART_RX), 'a');
	assert_int_equal(iir_id(u), UART_IIR_RDI);
	assert_int_equal(vuart_read(u, UART_RX), 'b');
	assert_int_equal(iir_id(u), UART_IIR_THRI);
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);

	/* RLSI until LSR is read. */
	push(u, "0123456789abcdefg", VUART_FIFO);
	assert_int_equal(iir_id(u), UART_IIR_RLSI);
	assert_int_equal(iir_id(u), UART_IIR_RLSI);
	vuart_read(u, UART_LSR);
	assert_int_equal(iir_id(u), UART_IIR_RDI);
	wr(u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);

	/* MSI until MSR is read (the raising is in loopback: IRQ off). */
	wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	assert_int_equal(iir_id(u), UART_IIR_MSI);
	assert_false(vuart_irq_pending(u));
	vuart_read(u, UART_MSR);
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);
}

/* The THR-empty interrupt: raised on IER's rising edge and by THR writes. */
static void test_thri_edges(void **state)
{
	struct vuart *u = *state;

	wr(u, UART_MCR, UART_MCR_OUT2);
	tx(u, 'a'); /* pending, but masked */
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);
	assert_false(vuart_irq_pending(u));
	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(iir_id(u), UART_IIR_THRI);
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);
	/* Rewriting the same IER does not raise it again... */
	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);
	/* ...toggling it does, as drivers rely on to restart output. */
	wr(u, UART_IER, 0);
	wr(u, UART_IER, UART_IER_THRI);
	assert_true(vuart_irq_pending(u));
	/* Turning it off forgets it. */
	wr(u, UART_IER, 0);
	assert_false(u->thri_pending);
	/* A THR write (the byte leaves at once) raises it again. */
	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(iir_id(u), UART_IIR_THRI);
	tx(u, 'b');
	assert_int_equal(iir_id(u), UART_IIR_THRI);
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);
}

/* The PC wires the IRQ through OUT2; loopback forces OUT2's pin off. */
static void test_irq_out2(void **state)
{
	static const struct {
		u8 mcr;
		bool irq;
	} cases[] = {
		{ 0, false },
		{ UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT1, false },
		{ UART_MCR_OUT2, true },
		{ 0x0f, true },
		{ UART_MCR_OUT2 | UART_MCR_LOOP, false },
	};
	struct vuart *u = *state;
	unsigned int i;

	wr(u, UART_IER, UART_IER_RDI);
	push(u, "x", 1);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		wr(u, UART_MCR, cases[i].mcr);
		assert_int_equal(vuart_irq_pending(u), cases[i].irq);
	}
}

static void test_output_basic(void **state)
{
	struct vuart *u = *state;
	char buf[16];
	u64 cursor = 0, lost = 0;
	const char *s = "hello";

	for (; *s; s++)
		tx(u, (u8)*s);
	assert_true(vuart_write(u, UART_TX, 'X', NULL)); /* sent may be NULL */
	assert_int_equal(u->out_total, 6);
	assert_int_equal(vuart_out_read(u, &cursor, buf, 3, &lost), 3);
	assert_memory_equal(buf, "hel", 3);
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), &lost),
			 3);
	assert_memory_equal(buf, "loX", 3);
	assert_int_equal(cursor, 6);
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), &lost),
			 0);
	assert_int_equal(lost, 0);
	assert_int_equal(vuart_out_dropped(u), 0);
	/* A second reader has its own cursor. */
	cursor = 4;
	assert_int_equal(vuart_out_read(u, &cursor, buf, 0, &lost), 0);
	assert_int_equal(cursor, 4);
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), NULL), 2);
	assert_memory_equal(buf, "oX", 2);
}

/* Lamina's own notes join the stream; the guest sees nothing of them. */
static void test_out_put(void **state)
{
	struct vuart *u = *state;
	char buf[8];
	u64 cursor = 0;

	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(iir_id(u), UART_IIR_THRI);
	tx(u, 'g');
	vuart_out_put(u, '[');
	vuart_out_put(u, ']');
	tx(u, 'h');
	assert_int_equal(u->out_total, 4);
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), NULL), 4);
	assert_memory_equal(buf, "g[]h", 4);
	/* Not a THR write: no interrupt, and loopback does not divert it. */
	assert_int_equal(iir_id(u), UART_IIR_THRI);
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);
	vuart_out_put(u, '.');
	assert_int_equal(iir_id(u), UART_IIR_NO_INT);
	wr(u, UART_MCR, UART_MCR_LOOP);
	vuart_out_put(u, '!');
	assert_int_equal(vuart_read(u, UART_LSR), LSR_IDLE);
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), NULL), 2);
	assert_memory_equal(buf, ".!", 2);
}

/* Byte at stream position p, in the wrap tests. */
static u8 pattern(u64 p)
{
	return (u8)(p * 7 + (p >> 8));
}

static void send_pattern(struct vuart *u, u64 n)
{
	u64 p;

	for (p = u->out_total; n--; p++)
		tx(u, pattern(p));
}

static void assert_pattern(const char *buf, u64 from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((u8)buf[i] != pattern(from + i))
			fail_msg("byte at %llu: %#x, expected %#x",
				 (unsigned long long)(from + i), (u8)buf[i],
				 pattern(from + i));
}

static void test_output_wrap(void **state)
{
	struct vuart *u = *state;
	static char buf[VUART_OUT_SIZE + 64];
	u64 cursor = 0, lost = 0, keeper = VUART_OUT_SIZE - 10;
	const u64 extra = 300;

	send_pattern(u, VUART_OUT_SIZE);
	assert_int_equal(vuart_out_dropped(u), 0);
	/* A reader close behind reads across the ring's end without loss. */
	send_pattern(u, 10);
	assert_int_equal(vuart_out_read(u, &keeper, buf, 100, &lost), 20);
	assert_pattern(buf, VUART_OUT_SIZE - 10, 20);
	assert_int_equal(lost, 0);

	send_pattern(u, extra - 10);
	assert_int_equal(u->out_total, VUART_OUT_SIZE + extra);
	assert_int_equal(vuart_out_dropped(u), extra);
	assert_int_equal(u->out_dropped, extra);

	/* A reader left at 0 skips the dropped bytes and is told how many. */
	assert_int_equal(vuart_out_read(u, &cursor, buf, 50, &lost), 50);
	assert_int_equal(lost, extra);
	assert_pattern(buf, extra, 50);
	assert_int_equal(cursor, extra + 50);
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), &lost),
			 VUART_OUT_SIZE - 50);
	assert_pattern(buf, extra + 50, VUART_OUT_SIZE - 50);
	assert_int_equal(cursor, u->out_total);
	assert_int_equal(lost, extra);

	/* Lapped again: lost accumulates; NULL lost is allowed. */
	send_pattern(u, 2 * VUART_OUT_SIZE + 5);
	assert_int_equal(vuart_out_read(u, &cursor, buf, 1, &lost), 1);
	assert_int_equal(lost, extra + VUART_OUT_SIZE + 5);
	assert_pattern(buf, cursor - 1, 1);
	keeper = 0;
	assert_int_equal(vuart_out_read(u, &keeper, buf, 1, NULL), 1);
	assert_int_equal(keeper, u->out_total - VUART_OUT_SIZE + 1);
	assert_int_equal(u->out_total - VUART_OUT_SIZE, vuart_out_dropped(u));
}

/* A cursor from before a re-init restarts at the oldest byte kept. */
static void test_output_stale_cursor(void **state)
{
	struct vuart *u = *state;
	char buf[8];
	u64 cursor = 1000, lost = 0;

	tx(u, 'n');
	tx(u, 'e');
	assert_int_equal(vuart_out_read(u, &cursor, buf, sizeof(buf), &lost),
			 2);
	assert_memory_equal(buf, "ne", 2);
	assert_int_equal(cursor, 2);
	assert_int_equal(lost, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_values),
		T(test_register_masks),
		T(test_dlab),
		T(test_loopback_msr_lines),
		T(test_loopback_msr_deltas),
		T(test_loopback_data),
		T(test_loopback_overrun),
		T(test_fifo_full_overrun),
		T(test_no_fifo_one_byte),
		T(test_fcr),
		T(test_iir_priority),
		T(test_iir_clearing),
		T(test_thri_edges),
		T(test_irq_out2),
		T(test_output_basic),
		T(test_out_put),
		T(test_output_wrap),
		T(test_output_stale_cursor),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
