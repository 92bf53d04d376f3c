/* Unit tests for the virtual 8254 PIT and port 0x61 (kernel/vdev/vpit.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/vpit.h>
#include <lamina/lib.h>

#define HZ 3000000000ull /* a 3 GHz TSC */
#define T0 1000000007ull /* the caller's clock at vpit_init */

/* Control words */
#define CW(sc, rw, mode) ((sc) << 6 | (rw) << 4 | (mode) << 1)
#define CH2_MODE0_LOHI CW(2, VPIT_RW_WORD, 0) /* Linux's 0xb0 */

/* The earliest caller time at which @n PIT ticks have passed since T0. */
static u64 at(u64 n)
{
	return T0 + (n * HZ + VPIT_FREQ - 1) / VPIT_FREQ;
}

static int setup(void **state)
{
	struct vpit *p = malloc(sizeof(*p));

	if (!p)
		return -1;
	memset(p, 0xa5, sizeof(*p)); /* vpit_init must not rely on zeroes */
	vpit_init(p, HZ, T0);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Program @ch in @mode with a lo/hi @count (0 is 0x10000) at @now. */
static void program(struct vpit *p, unsigned int ch, unsigned int mode,
		    u16 count, u64 now)
{
	vpit_write(p, VPIT_PORT_CTRL, CW(ch, VPIT_RW_WORD, mode), now);
	vpit_write(p, ch, count & 0xff, now);
	vpit_write(p, ch, count >> 8, now);
}

/* A lo/hi read of @ch's live count, as Linux does it. */
static u16 read16(struct vpit *p, unsigned int ch, u64 now)
{
	u8 lo = vpit_read(p, ch, now);

	return lo | vpit_read(p, ch, now) << 8;
}

/* Through the latch command, so the two bytes agree. */
static u16 latch16(struct vpit *p, unsigned int ch, u64 now)
{
	vpit_write(p, VPIT_PORT_CTRL, CW(ch, VPIT_RW_LATCH, 0), now);
	return read16(p, ch, now);
}

static void gate2(struct vpit *p, bool high, u64 now)
{
	u8 v = vpit_port61_read(p, now) & ~(VPIT_61_SPKR | VPIT_61_GATE2);

	vpit_port61_write(p, v | (high ? VPIT_61_GATE2 : 0), now);
}

static void test_reset_state(void **state)
{
	struct vpit *p = *state;
	unsigned int ch;
	u8 a, b;

	assert_int_equal(vpit_read(p, VPIT_PORT_CTRL, T0), 0xff);
	assert_int_equal(vpit_read(p, 4, T0), 0xff);
	assert_int_equal(vpit_read(p, 0xffff, T0), 0xff);
	vpit_write(p, 4, 0x12, T0); /* not a port: ignored */
	/* Mode 3, count 0x10000: channels 0 and 1 count down by two. */
	for (ch = 0; ch < 2; ch++)
		assert_int_equal(latch16(p, ch, T0), 0);
	for (ch = 0; ch < 2; ch++) {
		assert_int_equal(latch16(p, ch, at(10)), 0x10000 - 20);
		assert_true(vpit_out(p, ch, at(10)));
		assert_false(vpit_out(p, ch, at(0x8000)));
	}
	/* Channel 2 waits for its gate, OUT held high meanwhile. */
	assert_int_equal(latch16(p, 2, at(1000)), 0);
	a = vpit_port61_read(p, at(1000));
	b = vpit_port61_read(p, at(1000));
	assert_int_equal(a & ~VPIT_61_REFRESH, VPIT_61_OUT2);
	assert_int_equal((a ^ b), VPIT_61_REFRESH);
	assert_false(vpit_out(p, 3, T0));
}

static void test_port61(void **state)
{
	struct vpit *p = *state;
	u8 prev = vpit_port61_read(p, T0), v;
	unsigned int i;

	vpit_port61_write(p, 0xff, T0);
	for (i = 0; i < 8; i++) {
		v = vpit_port61_read(p, T0);
		assert_int_equal(v & 0xcf, 0x0f); /* bits 7:6 read 0 */
		assert_int_equal((v ^ prev) & VPIT_61_REFRESH, VPIT_61_REFRESH);
		prev = v;
	}
	vpit_port61_write(p, 0x0a, T0);
	assert_int_equal(vpit_port61_read(p, T0) & VPIT_61_RW, 0x0a);
}

/*
 * Linux's pit_expect_msb(): read lo/hi pairs from channel 2 while the MSB
 * is @val, at most 50000 times, the caller's clock moving @step per pair.
 * Returns how many pairs showed @val; *@now is left at the first that did
 * not.
 */
static unsigned int expect_msb(struct vpit *p, u64 *now, u64 step, u8 val)
{
	unsigned int count;

	for (count = 0; count < 50000; count++) {
		vpit_read(p, VPIT_PORT_CH2, *now);
		if (vpit_read(p, VPIT_PORT_CH2, *now) != val)
			break;
		*now += step;
	}
	return count;
}

/* arch/x86/kernel/tsc.c quick_pit_calibrate(), step by step. */
static void test_quick_pit_calibrate(void **state)
{
	struct vpit *p = *state;
	u64 now = at(5000), step = HZ / 1000000; /* 1 us a pair */
	const u64 msb_cycles = 256 * HZ / VPIT_FREQ, slack = step + 2;
	u64 load, prev, ideal;
	unsigned int i, n;
	u8 v;

	v = vpit_port61_read(p, now);
	vpit_port61_write(p, (v & ~VPIT_61_SPKR) | VPIT_61_GATE2, now);
	vpit_write(p, VPIT_PORT_CTRL, 0xb0, now);
	vpit_write(p, VPIT_PORT_CH2, 0xff, now);
	vpit_write(p, VPIT_PORT_CH2, 0xff, now);
	load = 5000;
	vpit_read(p, VPIT_PORT_CH2, now); /* pit_verify_msb(0) */
	assert_int_equal(vpit_read(p, VPIT_PORT_CH2, now), 0xff);
	now += step;

	/* Each MSB for 256 ticks (214.6 us): about 214 pairs, then the next. */
	prev = 0;
	for (i = 0; i <= 40; i++) {
		n = expect_msb(p, &now, step, 0xff - i);
		assert_true(n > 5);
		assert_true(n < 216);
		/* The change comes at the first pair past tick 256 (i + 1). */
		ideal = at(load + 256 * (i + 1));
		assert_true(now >= ideal && now < ideal + step);
		if (prev) /* 256 ticks in TSC cycles, to a pair's time */
			assert_true(now - prev >= msb_cycles - slack &&
				    now - prev <= msb_cycles + slack);
		prev = now;
	}
	/* The full count agrees with the MSB, low byte included. */
	assert_int_equal(read16(p, 2, at(load + 12345)), 0xffff - 12345);
}

/* pit_calibrate_tsc(): a 50 ms mode 0 count, then wait for OUT2. */
static void test_pit_calibrate_tsc(void **state)
{
	struct vpit *p = *state;
	const u16 latch = VPIT_FREQ / (1000 / 50);
	u64 now = at(777), step = HZ / 100000, spins = 0;
	u8 v;

	v = vpit_port61_read(p, now);
	vpit_port61_write(p, (v & ~VPIT_61_SPKR) | VPIT_61_GATE2, now);
	vpit_write(p, VPIT_PORT_CTRL, 0xb0, now);
	/* OUT goes low at the control word and stays low until TC. */
	assert_false(vpit_port61_read(p, now) & VPIT_61_OUT2);
	vpit_write(p, VPIT_PORT_CH2, latch & 0xff, now);
	vpit_write(p, VPIT_PORT_CH2, latch >> 8, now);
	while (!(vpit_port61_read(p, now) & VPIT_61_OUT2)) {
		now += step;
		assert_true(++spins < 100000);
	}
	assert_true(now >= at(777 + latch) && now < at(777 + latch) + step);
	/* The counter wraps on through 0xffff; OUT stays high. */
	assert_int_equal(latch16(p, 2, at(777 + latch + 100)), 0xffff - 99);
	assert_true(vpit_port61_read(p, at(777 + latch + 70000)) &
		    VPIT_61_OUT2);
	/* To the tick: low one tick before TC, high at it. */
	program(p, 2, 0, latch, at(200000));
	assert_false(vpit_port61_read(p, at(200000 + latch) - 1) &
		     VPIT_61_OUT2);
	assert_true(vpit_port61_read(p, at(200000 + latch)) & VPIT_61_OUT2);
}

static void test_lohi_flipflops(void **state)
{
	struct vpit *p = *state;

	program(p, 0, 2, 0x1234, at(0));
	assert_int_equal(vpit_read(p, 0, at(0)), 0x34);
	assert_int_equal(vpit_read(p, 0, at(0)), 0x12);
	assert_int_equal(vpit_read(p, 0, at(0x34)), 0x00);
	assert_int_equal(vpit_read(p, 0, at(0x34)), 0x12);
	/* Half a write, then a control word: the next byte is low again. */
	vpit_write(p, VPIT_PORT_CTRL, CW(0, VPIT_RW_WORD, 2), at(100));
	vpit_write(p, 0, 0x99, at(100));
	vpit_write(p, VPIT_PORT_CTRL, CW(0, VPIT_RW_WORD, 2), at(100));
	vpit_write(p, 0, 0x10, at(100));
	vpit_write(p, 0, 0x00, at(100));
	assert_int_equal(latch16(p, 0, at(101)), 0x0f);
	/* Half a read, then a control word: the next read is low again. */
	vpit_read(p, 0, at(101));
	program(p, 0, 2, 0x0500, at(200));
	assert_int_equal(vpit_read(p, 0, at(201)), 0xff);
	assert_int_equal(vpit_read(p, 0, at(201)), 0x04);
	/* Low byte only, high byte only. */
	vpit_write(p, VPIT_PORT_CTRL, CW(1, VPIT_RW_LO, 0), at(300));
	vpit_write(p, 1, 0x80, at(300));
	assert_int_equal(vpit_read(p, 1, at(310)), 0x76);
	assert_int_equal(vpit_read(p, 1, at(311)), 0x75);
	vpit_write(p, VPIT_PORT_CTRL, CW(1, VPIT_RW_HI, 0), at(400));
	vpit_write(p, 1, 0x02, at(400));
	assert_int_equal(vpit_read(p, 1, at(400)), 0x02);
	assert_int_equal(vpit_read(p, 1, at(401)), 0x01);
	assert_int_equal(vpit_read(p, 1, at(401)), 0x01);
}

static void test_latch(void **state)
{
	struct vpit *p = *state;

	program(p, 0, 2, 1000, at(0));
	vpit_write(p, VPIT_PORT_CTRL, CW(0, VPIT_RW_LATCH, 0), at(100));
	/* A second latch before the first is read changes nothing. */
	vpit_write(p, VPIT_PORT_CTRL, CW(0, VPIT_RW_LATCH, 0), at(200));
	assert_int_equal(read16(p, 0, at(300)), 900);
	assert_int_equal(read16(p, 0, at(300)), 700); /* live again */
	/* Latched low byte only in lo mode, then live. */
	vpit_write(p, VPIT_PORT_CTRL, CW(1, VPIT_RW_LO, 2), at(400));
	vpit_write(p, 1, 200, at(400));
	vpit_write(p, VPIT_PORT_CTRL, CW(1, VPIT_RW_LATCH, 0), at(410));
	assert_int_equal(vpit_read(p, 1, at(450)), 190);
	assert_int_equal(vpit_read(p, 1, at(450)), 150);
	/* The latch does not touch the live read flip-flop. */
	vpit_read(p, 0, at(500)); /* low byte of the live count */
	vpit_write(p, VPIT_PORT_CTRL, CW(0, VPIT_RW_LATCH, 0), at(500));
	assert_int_equal(read16(p, 0, at(600)), 500);
	assert_int_equal(vpit_read(p, 0, at(600)), 400 >> 8);
}

static void test_readback(void **state)
{
	struct vpit *p = *state;

	program(p, 0, 0, 100, at(0));
	program(p, 1, 3, 1000, at(0));
	/* Count and status of channels 0 and 1: status first, then count. */
	vpit_write(p, VPIT_PORT_CTRL, 0xc0 | 0x06, at(150));
	assert_int_equal(vpit_read(p, 0, at(160)),
			 VPIT_ST_OUT | CW(0, VPIT_RW_WORD, 0));
	assert_int_equal(read16(p, 0, at(170)), (u16)(100 - 150));
	assert_int_equal(vpit_read(p, 1, at(160)),
			 VPIT_ST_OUT | CW(0, VPIT_RW_WORD, 3));
	assert_int_equal(read16(p, 1, at(170)), 1000 - 150 * 2 % 1000);
	/* Status only, after a control word with no count yet: null count. */
	vpit_write(p, VPIT_PORT_CTRL, CW(2, VPIT_RW_LO, 2) | VPIT_CW_BCD,
		   at(200));
	vpit_write(p, VPIT_PORT_CTRL, 0xc0 | VPIT_RB_NO_COUNT | 0x08, at(200));
	assert_int_equal(vpit_read(p, 2, at(200)),
			 VPIT_ST_OUT | VPIT_ST_NULL | CW(0, VPIT_RW_LO, 2) |
			 VPIT_CW_BCD);
	vpit_write(p, 2, 50, at(200));
	assert_int_equal(vpit_read(p, 2, at(200)), 50); /* BCD ignored */
	/* Count only: no status byte in front. */
	vpit_write(p, VPIT_PORT_CTRL, 0xc0 | VPIT_RB_NO_STATUS | 0x02, at(210));
	assert_int_equal(read16(p, 0, at(220)), (u16)(100 - 210));
}

static void test_mode0_out(void **state)
{
	struct vpit *p = *state;

	vpit_write(p, VPIT_PORT_CTRL, CW(0, VPIT_RW_WORD, 0), at(10));
	assert_false(vpit_out(p, 0, at(10)));
	vpit_write(p, 0, 100, at(10));
	vpit_write(p, 0, 0, at(10));
	assert_false(vpit_out(p, 0, at(10)));
	assert_false(vpit_out(p, 0, at(109)));
	assert_true(vpit_out(p, 0, at(110)));
	assert_true(vpit_out(p, 0, at(110) + HZ * 3600));
	/* Reloading the count sends OUT low again. */
	program(p, 0, 0, 5, at(200));
	assert_false(vpit_out(p, 0, at(204)));
	assert_true(vpit_out(p, 0, at(205)));
	/* Mode 4: a strobe of one tick at TC. */
	program(p, 0, 4, 5, at(300));
	assert_true(vpit_out(p, 0, at(304)));
	assert_false(vpit_out(p, 0, at(305)));
	assert_true(vpit_out(p, 0, at(306)));
}

static void test_periodic_modes(void **state)
{
	struct vpit *p = *state;
	unsigned int n;

	/* Mode 2, count 100: 100 down to 1, OUT low while it shows 1. */
	program(p, 0, 2, 100, at(1000));
	for (n = 0; n < 400; n++) {
		assert_int_equal(latch16(p, 0, at(1000 + n)), 100 - n % 100);
		assert_int_equal(vpit_out(p, 0, at(1000 + n)), n % 100 != 99);
	}
	/* Mode 6 is mode 2. */
	program(p, 0, 6, 100, at(2000));
	assert_int_equal(latch16(p, 0, at(2099)), 1);
	assert_false(vpit_out(p, 0, at(2099)));
	/* Mode 3, count 100: by two, OUT high for 50 ticks, low for 50. */
	program(p, 1, 3, 100, at(3000));
	for (n = 0; n < 400; n++) {
		assert_int_equal(latch16(p, 1, at(3000 + n)),
				 100 - (2 * n) % 100);
		assert_int_equal(vpit_out(p, 1, at(3000 + n)), n % 100 < 50);
	}
	/* Odd count 5: high for 3 ticks, low for 2. */
	program(p, 1, 7, 5, at(4000));
	for (n = 0; n < 10; n++)
		assert_int_equal(vpit_out(p, 1, at(4000 + n)), n % 5 < 3);
	/* Count 0 is 0x10000; the counter reads 0 then. */
	program(p, 0, 2, 0, at(5000));
	assert_int_equal(latch16(p, 0, at(5000)), 0);
	assert_int_equal(latch16(p, 0, at(5001)), 0xffff);
	assert_int_equal(latch16(p, 0, at(5000 + 0x10000)), 0);
}

static void test_gate(void **state)
{
	struct vpit *p = *state;

	gate2(p, false, at(0));
	program(p, 2, 0, 1000, at(0));
	assert_int_equal(latch16(p, 2, at(500)), 1000); /* gate low: no count */
	gate2(p, true, at(500));
	assert_int_equal(latch16(p, 2, at(600)), 900);
	gate2(p, false, at(600));
	assert_int_equal(latch16(p, 2, at(5000)), 900);
	assert_false(vpit_out(p, 2, at(5000)));
	gate2(p, true, at(5000)); /* mode 0: a rising gate resumes */
	assert_false(vpit_out(p, 2, at(5899)));
	assert_true(vpit_out(p, 2, at(5900)));
	/* Mode 2: a low gate holds OUT high, a rising one restarts. */
	program(p, 2, 2, 100, at(6000));
	assert_int_equal(latch16(p, 2, at(6050)), 50);
	gate2(p, false, at(6050));
	assert_true(vpit_out(p, 2, at(6099)));
	gate2(p, true, at(7000));
	assert_int_equal(latch16(p, 2, at(7010)), 90);
	assert_true(vpit_port61_read(p, at(7010)) & VPIT_61_OUT2);
	assert_false(vpit_port61_read(p, at(7099)) & VPIT_61_OUT2);
}

/* Hours of uptime at a fast clock: elapsed * VPIT_FREQ overflows 64 bits. */
static void test_long_uptime(void **state)
{
	struct vpit *p = *state;
	const u64 secs = 10 * 3600;
	u64 now = T0 + secs * HZ + HZ / 2, ticks = secs * VPIT_FREQ + 596591;

	program(p, 0, 0, 0xffff, T0);
	program(p, 1, 2, 50000, T0);
	assert_int_equal(latch16(p, 0, now), (u16)(0xffff - ticks));
	assert_int_equal(latch16(p, 1, now), 50000 - ticks % 50000);
	/* A clock at the limit, and one past it, taken as the limit. */
	vpit_init(p, VPIT_HZ_MAX + 12345, 0);
	assert_int_equal(p->hz, VPIT_HZ_MAX);
	program(p, 0, 2, 0, 0);
	ticks = 1000ull * VPIT_FREQ - 1;
	assert_int_equal(latch16(p, 0, VPIT_HZ_MAX * 1000 - 1),
			 (u16)(0x10000 - ticks % 0x10000));
	/* A 1 Hz clock: one PIT second per tick. */
	vpit_init(p, 0, 0);
	assert_int_equal(p->hz, 1);
	program(p, 0, 2, 0, 0);
	assert_int_equal(latch16(p, 0, 3),
			 (u16)(0x10000 - 3 * VPIT_FREQ % 0x10000));
}

/* A clock that steps back stands still until it catches up. */
static void test_time_backwards(void **state)
{
	struct vpit *p = *state;

	program(p, 0, 0, 1000, at(500));
	assert_int_equal(latch16(p, 0, at(600)), 900);
	assert_int_equal(latch16(p, 0, at(100)), 900);
	assert_int_equal(latch16(p, 0, T0 - 5), 900);
	assert_false(vpit_out(p, 0, T0));
	gate2(p, true, at(100));
	program(p, 2, 0, 1000, at(50)); /* loads at tick 600, not 50 */
	assert_int_equal(latch16(p, 2, at(80)), 1000);
	assert_int_equal(latch16(p, 2, at(650)), 950);
	assert_int_equal(latch16(p, 0, at(650)), 850);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_state),
		T(test_port61),
		T(test_quick_pit_calibrate),
		T(test_pit_calibrate_tsc),
		T(test_lohi_flipflops),
		T(test_latch),
		T(test_readback),
		T(test_mode0_out),
		T(test_periodic_modes),
		T(test_gate),
		T(test_long_uptime),
		T(test_time_backwards),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
