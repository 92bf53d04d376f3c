/* Unit tests for the virtual MC146818 CMOS RTC (kernel/vdev/vrtc.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/vrtc.h>
#include <lamina/lib.h>

#define HZ 1000ull    /* the caller's clock: milliseconds */
#define T0 123456789ull /* its value at vrtc_init */

/* 2028-02-29 23:59:59 UTC, a Tuesday */
#define LEAP_EVE 1835481599ull

struct cal {
	unsigned int year, mon, day, hour, min, sec, wday; /* wday 1 Sunday */
};

/* A reference calendar, counted out day by day in whole years and months. */
static bool leap(unsigned int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned int month_days(unsigned int y, unsigned int m)
{
	static const unsigned int days[] = { 31, 28, 31, 30, 31, 30,
					     31, 31, 30, 31, 30, 31 };

	return days[m - 1] + (m == 2 && leap(y));
}

static struct cal ref_cal(u64 t)
{
	u64 days = t / 86400;
	struct cal c = { .year = 1970, .mon = 1 };

	c.wday = (days + 4) % 7 + 1; /* 1970-01-01 was a Thursday */
	c.hour = t % 86400 / 3600;
	c.min = t % 3600 / 60;
	c.sec = t % 60;
	while (days >= (leap(c.year) ? 366u : 365u))
		days -= leap(c.year++) ? 366 : 365;
	while (days >= month_days(c.year, c.mon))
		days -= month_days(c.year, c.mon++);
	c.day = days + 1;
	return c;
}

static int setup(void **state)
{
	struct vrtc *r = malloc(sizeof(*r));

	if (!r)
		return -1;
	memset(r, 0xa5, sizeof(*r)); /* vrtc_init must not rely on zeroes */
	vrtc_init(r, VRTC_EPOCH_DEFAULT, HZ, T0);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static u8 rd(struct vrtc *r, u8 idx, u64 now)
{
	vrtc_write(r, VRTC_PORT_INDEX, idx, now);
	return vrtc_read(r, VRTC_PORT_DATA, now);
}

static void wr(struct vrtc *r, u8 idx, u8 val, u64 now)
{
	vrtc_write(r, VRTC_PORT_INDEX, idx, now);
	vrtc_write(r, VRTC_PORT_DATA, val, now);
}

static unsigned int bcd(unsigned int v)
{
	return (v / 10) << 4 | v % 10;
}

/* The clock registers at @now, in BCD or binary, 24-hour. */
static void check_time(struct vrtc *r, u64 now, const struct cal *c,
		       bool binary)
{
	unsigned int (*f)(unsigned int) = binary ? NULL : bcd;
#define ENC(v) (f ? f(v) : (v))
	assert_int_equal(rd(r, RTC_SECONDS, now), ENC(c->sec));
	assert_int_equal(rd(r, RTC_MINUTES, now), ENC(c->min));
	assert_int_equal(rd(r, RTC_HOURS, now), ENC(c->hour));
	assert_int_equal(rd(r, RTC_DAY_OF_WEEK, now), ENC(c->wday));
	assert_int_equal(rd(r, RTC_DAY_OF_MONTH, now), ENC(c->day));
	assert_int_equal(rd(r, RTC_MONTH, now), ENC(c->mon));
	assert_int_equal(rd(r, RTC_YEAR, now), ENC(c->year % 100));
	assert_int_equal(rd(r, RTC_CENTURY, now), ENC(c->year / 100));
#undef ENC
}

static void test_reset_state(void **state)
{
	const struct cal c = { 2026, 1, 1, 0, 0, 0, 5 };
	struct vrtc *r = *state;
	unsigned int i;

	assert_int_equal(rd(r, RTC_REG_A, T0), VRTC_REG_A_RESET);
	assert_int_equal(rd(r, RTC_REG_B, T0), RTC_24H);
	assert_int_equal(rd(r, RTC_REG_C, T0), 0);
	assert_int_equal(rd(r, RTC_REG_D, T0), RTC_VRT);
	check_time(r, T0, &c, false);
	for (i = 0x0e; i < VRTC_REGS; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(rd(r, i, T0), 0);
	for (i = RTC_SECONDS_ALARM; i <= RTC_HOURS_ALARM; i += 2)
		assert_int_equal(rd(r, i, T0), 0);
	assert_int_equal(vrtc_read(r, VRTC_PORT_INDEX, T0), 0xff);
	assert_int_equal(vrtc_read(r, 2, T0), 0xff);
	assert_int_equal(vrtc_time(r, T0), VRTC_EPOCH_DEFAULT);
}

/* Linux's mc146818_avoid_UIP(): UIP never shows, even as seconds tick. */
static void test_uip_clear(void **state)
{
	struct vrtc *r = *state;
	u64 now;

	for (now = T0; now < T0 + 5 * HZ; now += 7)
		assert_false(rd(r, RTC_REG_A, now) & RTC_UIP);
	wr(r, RTC_REG_A, 0xa6, now);
	assert_int_equal(rd(r, RTC_REG_A, now), 0x26);
	wr(r, RTC_REG_A, 0x70, now); /* divider off: stored, no effect */
	assert_int_equal(rd(r, RTC_REG_A, now), 0x70);
	assert_int_equal(rd(r, RTC_SECONDS, now + 2 * HZ), bcd(7));
}

static void test_storage(void **state)
{
	struct vrtc *r = *state;
	unsigned int i;

	for (i = 0x0e; i < VRTC_REGS; i++)
		if (i != RTC_CENTURY)
			wr(r, i, (u8)(i * 7 + 1), T0);
	for (i = RTC_SECONDS_ALARM; i <= RTC_HOURS_ALARM; i += 2)
		wr(r, i, (u8)(0xc0 + i), T0);
	for (i = 0x0e; i < VRTC_REGS; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(rd(r, i, T0), (u8)(i * 7 + 1));
	for (i = RTC_SECONDS_ALARM; i <= RTC_HOURS_ALARM; i += 2)
		assert_int_equal(rd(r, i, T0), (u8)(0xc0 + i));
	/* Bit 7 of the index is the NMI mask: the same registers. */
	assert_int_equal(rd(r, 0x80 | 0x0f, T0), (u8)(0x0f * 7 + 1));
	wr(r, 0x80 | 0x40, 0x5a, T0);
	assert_int_equal(rd(r, 0x40, T0), 0x5a);
	/* C and D are read-only. */
	wr(r, RTC_REG_C, 0xff, T0);
	wr(r, RTC_REG_D, 0x00, T0);
	assert_int_equal(rd(r, RTC_REG_C, T0), 0);
	assert_int_equal(rd(r, RTC_REG_D, T0), RTC_VRT);
	vrtc_write(r, 2, 0x0e, T0); /* not a port: the index stays D */
	assert_int_equal(vrtc_read(r, VRTC_PORT_DATA, T0), RTC_VRT);
	assert_int_equal(vrtc_time(r, T0), VRTC_EPOCH_DEFAULT);
}

static void test_formats(void **state)
{
	static const struct {
		u64 t;
		u8 b;
		u8 hours;
	} cases[] = {
		{ 1955972759, RTC_24H, 0x13 },               /* 13:45:59 */
		{ 1955972759, RTC_24H | RTC_DM_BINARY, 13 },
		{ 1955972759, 0, RTC_PM | 0x01 },
		{ 1955972759, RTC_DM_BINARY, RTC_PM | 1 },
		{ 1709164800, 0, 0x12 },                     /* midnight */
		{ 1709164800 + 43200, 0, RTC_PM | 0x12 },    /* noon */
		{ 1709164800 + 43200 - 1, 0, 0x11 },
		{ 1709164800 + 86399, RTC_DM_BINARY, RTC_PM | 11 },
		{ 1709164800 + 86399, RTC_24H, 0x23 },
	};
	struct vrtc *r = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cal c = ref_cal(cases[i].t);
		bool bin = cases[i].b & RTC_DM_BINARY;

		vrtc_init(r, cases[i].t, HZ, T0);
		wr(r, RTC_REG_B, cases[i].b, T0);
		assert_int_equal(rd(r, RTC_HOURS, T0), cases[i].hours);
		assert_int_equal(rd(r, RTC_MINUTES, T0),
				 bin ? c.min : bcd(c.min));
		assert_int_equal(rd(r, RTC_DAY_OF_MONTH, T0),
				 bin ? c.day : bcd(c.day));
		assert_int_equal(rd(r, RTC_YEAR, T0),
				 bin ? c.year % 100 : bcd(c.year % 100));
		assert_int_equal(rd(r, RTC_CENTURY, T0),
				 bin ? c.year / 100 : bcd(c.year / 100));
	}
}

/* 2028-02-29 23:59:59 rolls over to 2028-03-01 00:00:00, a Wednesday. */
static void test_leap_rollover(void **state)
{
	const struct cal before = { 2028, 2, 29, 23, 59, 59, 3 };
	const struct cal after = { 2028, 3, 1, 0, 0, 0, 4 };
	struct vrtc *r = *state;

	vrtc_init(r, LEAP_EVE, HZ, T0);
	check_time(r, T0, &before, false);
	check_time(r, T0 + HZ - 1, &before, false);
	check_time(r, T0 + HZ, &after, false);
	wr(r, RTC_REG_B, RTC_24H | RTC_DM_BINARY, T0 + HZ);
	check_time(r, T0 + HZ, &after, true);
	check_time(r, T0 + HZ + 86400 * HZ * 365,
		   &(struct cal){ 2029, 3, 1, 0, 0, 0, 5 }, true);
}

/* Dates through 2099 (and past) against the day-by-day reference. */
static void test_calendar(void **state)
{
	static const u64 edges[] = {
		0, 951825600, 1830297599, 1830297600, 4102444799, 4102444800,
		4107542399, 4107542400, 2147483647, 253402300799ull,
	};
	struct vrtc *r = *state;
	struct cal c;
	unsigned int i;
	u64 t;

	wr(r, RTC_REG_B, RTC_24H | RTC_DM_BINARY, T0);
	for (i = 0; i < ARRAY_SIZE(edges); i++) {
		vrtc_init(r, edges[i], HZ, T0);
		c = ref_cal(edges[i]);
		check_time(r, T0, &c, false);
	}
	/* Every 100003 s (a bit over a day) from 1970 to 2101. */
	vrtc_init(r, 0, 1, 0);
	wr(r, RTC_REG_B, RTC_24H | RTC_DM_BINARY, 0);
	for (t = 0; t < 4133980800ull; t += 100003) {
		c = ref_cal(t);
		check_time(r, t, &c, true);
	}
}

/* Linux's mc146818_set_time(): SET, the fields, then B as it was. */
static void test_set_time(void **state)
{
	const struct cal set = { 2031, 12, 25, 13, 45, 59, 5 };
	const struct cal next = { 2031, 12, 25, 13, 46, 1, 5 };
	struct vrtc *r = *state;
	u64 now = T0 + 10 * HZ + 600;
	u8 save = rd(r, RTC_REG_B, now);

	wr(r, RTC_REG_B, save | RTC_SET, now);
	/* Frozen: still 2026-01-01 00:00:10 long after. */
	assert_int_equal(rd(r, RTC_SECONDS, now + 100 * HZ), bcd(10));
	assert_int_equal(vrtc_time(r, now + 100 * HZ), VRTC_EPOCH_DEFAULT + 10);
	wr(r, RTC_YEAR, 0x31, now);
	wr(r, RTC_MONTH, 0x12, now);
	wr(r, RTC_DAY_OF_MONTH, 0x25, now);
	wr(r, RTC_HOURS, 0x13, now);
	wr(r, RTC_MINUTES, 0x45, now);
	wr(r, RTC_SECONDS, 0x59, now);
	assert_int_equal(rd(r, RTC_MINUTES, now + 5 * HZ), 0x45);
	assert_int_equal(vrtc_time(r, now + HZ), VRTC_EPOCH_DEFAULT + 10);
	wr(r, RTC_REG_B, save, now + 5 * HZ); /* runs from here */
	assert_int_equal(vrtc_time(r, now + 5 * HZ), 1955972759);
	check_time(r, now + 5 * HZ + 999, &set, false);
	check_time(r, now + 7 * HZ, &next, false);
}

/* Writes outside SET change one field of the running clock. */
static void test_write_running(void **state)
{
	struct vrtc *r = *state;
	u64 now = T0 + 3 * HZ + 500;

	wr(r, RTC_MINUTES, 0x30, now);  /* 2026-01-01 00:30:03 */
	assert_int_equal(vrtc_time(r, now), VRTC_EPOCH_DEFAULT + 1803);
	assert_int_equal(rd(r, RTC_SECONDS, now + HZ), bcd(4));
	wr(r, RTC_REG_B, RTC_DM_BINARY | RTC_24H, now + HZ);
	wr(r, RTC_MONTH, 6, now + HZ);  /* 2026-06-01 00:30:04 */
	wr(r, RTC_DAY_OF_WEEK, 1, now + HZ); /* follows from the date */
	assert_int_equal(rd(r, RTC_DAY_OF_WEEK, now + HZ), 2); /* Monday */
	assert_int_equal(vrtc_time(r, now + HZ), 1780273804);
	/* 12-hour writes: 1 PM. */
	wr(r, RTC_REG_B, RTC_DM_BINARY, now + HZ);
	wr(r, RTC_HOURS, RTC_PM | 1, now + HZ);
	assert_int_equal(vrtc_time(r, now + HZ), 1780273804 + 13 * 3600);
	wr(r, RTC_HOURS, 12, now + HZ); /* 12 AM */
	assert_int_equal(vrtc_time(r, now + HZ), 1780273804);
}

/* Nonsense written under SET is clamped, never trusted. */
static void test_set_clamps(void **state)
{
	struct vrtc *r = *state;
	const struct cal feb30 = { 2026, 3, 2, 23, 59, 59, 2 };
	u64 now = T0;

	wr(r, RTC_REG_B, RTC_24H | RTC_SET, now);
	wr(r, RTC_MONTH, 0x02, now);
	wr(r, RTC_DAY_OF_MONTH, 0x30, now);  /* Feb 30: runs on into March */
	wr(r, RTC_HOURS, 0x99, now);
	wr(r, RTC_MINUTES, 0xff, now);
	wr(r, RTC_SECONDS, 0x7a, now);
	wr(r, RTC_REG_B, RTC_24H, now);
	check_time(r, now, &feb30, false);
	wr(r, RTC_REG_B, RTC_24H | RTC_SET, now);
	wr(r, RTC_CENTURY, 0x00, now);         /* year 26: before 1970 */
	wr(r, RTC_MONTH, 0x00, now);
	wr(r, RTC_DAY_OF_MONTH, 0x00, now);
	wr(r, RTC_REG_B, RTC_24H, now);
	assert_int_equal(vrtc_time(r, now), 86399); /* 1970-01-01 23:59:59 */
	wr(r, RTC_REG_B, RTC_24H | RTC_SET | RTC_DM_BINARY, now);
	wr(r, RTC_CENTURY, 0xff, now);
	wr(r, RTC_YEAR, 0xff, now);
	wr(r, RTC_MONTH, 0xff, now);
	wr(r, RTC_DAY_OF_MONTH, 0xff, now);
	wr(r, RTC_REG_B, RTC_24H | RTC_DM_BINARY, now);
	assert_int_equal(vrtc_time(r, now), 253402300799ull); /* 9999 */
}

static void test_elapsed(void **state)
{
	struct vrtc *r = *state;
	const u64 hz = 3000000000ull, start = 1ull << 60;

	vrtc_init(r, LEAP_EVE, hz, start);
	assert_int_equal(vrtc_time(r, start + hz - 1), LEAP_EVE);
	assert_int_equal(vrtc_time(r, start + hz), LEAP_EVE + 1);
	/* Ten years of uptime. */
	assert_int_equal(vrtc_time(r, start + hz * 315360000), LEAP_EVE +
			 315360000);
	/* A clock that steps back stands still. */
	assert_int_equal(vrtc_time(r, start - 1), LEAP_EVE);
	assert_int_equal(rd(r, RTC_SECONDS, 0), 0x59);
	vrtc_init(r, 0, 0, 5); /* 0 Hz is 1 Hz */
	assert_int_equal(r->hz, 1);
	assert_int_equal(vrtc_time(r, 65), 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_state),
		T(test_uip_clear),
		T(test_storage),
		T(test_formats),
		T(test_leap_rollover),
		T(test_calendar),
		T(test_set_time),
		T(test_write_running),
		T(test_set_clamps),
		T(test_elapsed),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
