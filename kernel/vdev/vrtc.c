/*
 * Virtual MC146818 CMOS RTC at ports 0x70/0x71: the wall clock a PC guest
 * reads at boot, and the 128 bytes of CMOS it may keep notes in. Linux
 * waits for register A's UIP bit to clear before it reads the time; with
 * no RTC at all it spins for seconds and then boots without a date.
 *
 * The clock is kept as seconds since 1970 (base, at caller time base_now)
 * and turned into calendar registers whenever the guest reads one, so it
 * never needs ticking and never shows an update in progress. Calendar
 * arithmetic is Howard Hinnant's days_from_civil / civil_from_days,
 * in unsigned integers for dates from 1970 on.
 *
 * No locking here: the caller holds the VM's device lock.
 */
#include <lamina/vrtc.h>
#include <lamina/lib.h>

#define SECS_PER_DAY 86400u
#define DAYS_0000_TO_1970 719468u /* from 0000-03-01, Hinnant's era start */
#define DAYS_PER_ERA 146097u      /* 400 Gregorian years */
#define YEAR_MIN 1970u
#define YEAR_MAX 9999u

struct date {
	u64 year;
	unsigned int mon, day, hour, min, sec, wday; /* wday 1-7, 1 Sunday */
};

static bool halted(const struct vrtc *r)
{
	return r->regs[RTC_REG_B] & RTC_SET;
}

u64 vrtc_time(const struct vrtc *r, u64 now)
{
	if (halted(r) || now <= r->base_now)
		return r->base;
	return r->base + (now - r->base_now) / r->hz;
}

static struct date date_from_secs(u64 t)
{
	u64 z = t / SECS_PER_DAY + DAYS_0000_TO_1970, era, doe, yoe, doy, mp;
	unsigned int s = t % SECS_PER_DAY;
	struct date d;

	era = z / DAYS_PER_ERA;
	doe = z - era * DAYS_PER_ERA;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153; /* months from March */
	d.day = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	d.mon = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	d.year = yoe + era * 400 + (d.mon <= 2);
	d.hour = s / 3600;
	d.min = s / 60 % 60;
	d.sec = s % 60;
	d.wday = (unsigned int)((t / SECS_PER_DAY + 4) % 7) + 1; /* Thursday */
	return d;
}

/* @d->year >= 1970, mon 1-12, day 1-31 (a day past the month runs on). */
static u64 secs_from_date(const struct date *d)
{
	u64 y = d->year - (d->mon <= 2), era = y / 400, yoe = y - era * 400;
	unsigned int mp = d->mon > 2 ? d->mon - 3 : d->mon + 9;
	u64 doy = (153 * mp + 2) / 5 + d->day - 1;
	u64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	u64 days = era * DAYS_PER_ERA + doe - DAYS_0000_TO_1970;

	return days * SECS_PER_DAY + d->hour * 3600u + d->min * 60u + d->sec;
}

static bool binary(const struct vrtc *r)
{
	return r->regs[RTC_REG_B] & RTC_DM_BINARY;
}

static u8 to_reg(const struct vrtc *r, u64 v)
{
	if (binary(r))
		return (u8)v;
	return (u8)((v / 10 % 10) << 4 | v % 10);
}

static unsigned int from_reg(const struct vrtc *r, u8 b)
{
	return binary(r) ? b : (b >> 4) * 10u + (b & 0xf);
}

static u8 hours_to_reg(const struct vrtc *r, unsigned int h)
{
	if (r->regs[RTC_REG_B] & RTC_24H)
		return to_reg(r, h);
	return to_reg(r, h % 12 ? h % 12 : 12) | (h >= 12 ? RTC_PM : 0);
}

static unsigned int hours_from_reg(const struct vrtc *r, u8 b)
{
	unsigned int h;

	if (r->regs[RTC_REG_B] & RTC_24H)
		return MIN(from_reg(r, b), 23u);
	h = MIN(from_reg(r, b & ~RTC_PM), 12u) % 12; /* 12 AM is 0 */
	return h + (b & RTC_PM ? 12 : 0);
}

/* The time registers, in register B's format, showing @t. */
static void store_time(struct vrtc *r, u64 t)
{
	struct date d = date_from_secs(t);

	r->regs[RTC_SECONDS] = to_reg(r, d.sec);
	r->regs[RTC_MINUTES] = to_reg(r, d.min);
	r->regs[RTC_HOURS] = hours_to_reg(r, d.hour);
	r->regs[RTC_DAY_OF_WEEK] = to_reg(r, d.wday);
	r->regs[RTC_DAY_OF_MONTH] = to_reg(r, d.day);
	r->regs[RTC_MONTH] = to_reg(r, d.mon);
	r->regs[RTC_YEAR] = to_reg(r, d.year % 100);
	r->regs[RTC_CENTURY] = to_reg(r, d.year / 100);
}

/* The time the stored registers show, clamped (see vrtc.h). */
static u64 load_time(const struct vrtc *r)
{
	struct date d;
	u64 year = from_reg(r, r->regs[RTC_CENTURY]) * 100ull +
		   MIN(from_reg(r, r->regs[RTC_YEAR]), 99u);

	d.year = MIN(MAX(year, (u64)YEAR_MIN), (u64)YEAR_MAX);
	d.mon = MIN(MAX(from_reg(r, r->regs[RTC_MONTH]), 1u), 12u);
	d.day = MIN(MAX(from_reg(r, r->regs[RTC_DAY_OF_MONTH]), 1u), 31u);
	d.hour = hours_from_reg(r, r->regs[RTC_HOURS]);
	d.min = MIN(from_reg(r, r->regs[RTC_MINUTES]), 59u);
	d.sec = MIN(from_reg(r, r->regs[RTC_SECONDS]), 59u);
	return secs_from_date(&d);
}

static bool is_time_reg(unsigned int idx)
{
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

void vrtc_init(struct vrtc *r, u64 epoch, u64 hz, u64 now)
{
	memset(r, 0, sizeof(*r));
	r->regs[RTC_REG_A] = VRTC_REG_A_RESET;
	r->regs[RTC_REG_B] = VRTC_REG_B_RESET;
	r->base = epoch;
	r->base_now = now;
	r->hz = MAX(hz, 1ull);
}

u8 vrtc_read(struct vrtc *r, unsigned int port, u64 now)
{
	unsigned int idx = r->index;

	if (port != VRTC_PORT_DATA)
		return 0xff; /* the index port is write-only */
	switch (idx) {
	case RTC_REG_A:
		return r->regs[idx] & ~RTC_UIP;
	case RTC_REG_C:
		return 0;
	case RTC_REG_D:
		return RTC_VRT;
	}
	if (is_time_reg(idx) && !halted(r))
		store_time(r, vrtc_time(r, now));
	return r->regs[idx];
}

/* Start the clock from the stored time registers at @now. */
static void set_clock(struct vrtc *r, u64 now)
{
	r->base = load_time(r);
	r->base_now = now;
}

static void write_reg_b(struct vrtc *r, u8 val, u64 now)
{
	bool was = halted(r);

	if (!was && (val & RTC_SET)) {
		/* Freeze: the registers keep the time, in the new format. */
		r->base = vrtc_time(r, now);
		r->base_now = now;
		r->regs[RTC_REG_B] = val;
		store_time(r, r->base);
		return;
	}
	if (was && !(val & RTC_SET))
		set_clock(r, now); /* in the format the guest wrote them in */
	r->regs[RTC_REG_B] = val;
}

void vrtc_write(struct vrtc *r, unsigned int port, u8 val, u64 now)
{
	unsigned int idx = r->index;

	if (port == VRTC_PORT_INDEX) {
		r->index = val & VRTC_INDEX_MASK;
		return;
	}
	if (port != VRTC_PORT_DATA)
		return;
	switch (idx) {
	case RTC_REG_A:
		r->regs[idx] = val & ~RTC_UIP;
		return;
	case RTC_REG_B:
		write_reg_b(r, val, now);
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return; /* read-only */
	}
	if (!is_time_reg(idx) || halted(r)) {
		r->regs[idx] = val;
		return;
	}
	/* A running clock: change one field of the time it shows now. */
	store_time(r, vrtc_time(r, now));
	r->regs[idx] = val;
	set_clock(r, now);
}
