/*
 * libFuzzer target for the virtual MC146818 RTC (kernel/vdev/vrtc.c). The
 * input is a program of index and data port accesses, steps of the
 * caller's clock (forwards and back) and re-inits at other times and
 * rates.
 *
 * A shadow model keeps the storage registers, the frozen time registers
 * while RTC_SET is set, and the clock as a base plus elapsed seconds. Its
 * calendar is a separate one, counted out in years and months: every time
 * register read while the clock runs must show the shadow's time in
 * register B's format, and every time the guest sets the clock to a valid
 * date, vrtc_time() must agree with the shadow's reading of it. After
 * every step: vrtc_time() agrees with the shadow's base and elapsed time.
 *
 * Program bytes, op = data[i]:
 *   op & 7 == 0     write the index port with the next byte
 *   op & 7 == 1, 7  write the data port with the next byte
 *   op & 7 == 2, 6  read the data port (op & 8: the index port)
 *   op & 7 == 3, 4  clock forward (3) or back (4) by next << (op >> 3)
 *   op & 7 == 5     vrtc_init: epoch from the next 5 bytes, rate
 *                   1 << (op >> 3)
 */
#include <lamina/vrtc.h>
#include <lamina/lib.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define ERA_DAYS 146097u /* days in 400 Gregorian years */

struct cal {
	u64 year;
	unsigned int mon, day, hour, min, sec, wday;
};

struct shadow {
	u8 index;
	u8 regs[VRTC_REGS]; /* storage; the time registers while halted */
	bool halted;
	u64 tbase, nbase, hz;
};

static const u8 time_regs[] = { 0, 2, 4, 6, 7, 8, 9, 0x32 };

static bool is_time(unsigned int idx)
{
	unsigned int i;

	for (i = 0; i < sizeof(time_regs); i++)
		if (time_regs[i] == idx)
			return true;
	return false;
}

static bool leap(u64 y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned int mdays(u64 y, unsigned int m)
{
	static const u8 d[] = { 31, 28, 31, 30, 31, 30,
				31, 31, 30, 31, 30, 31 };

	return d[m - 1] + (m == 2 && leap(y));
}

static struct cal ref_cal(u64 t)
{
	u64 days = t / 86400;
	struct cal c = { .year = 1970, .mon = 1 };

	c.wday = (days + 4) % 7 + 1;
	c.hour = t % 86400 / 3600;
	c.min = t % 3600 / 60;
	c.sec = t % 60;
	c.year += days / ERA_DAYS * 400;
	days %= ERA_DAYS;
	while (days >= (leap(c.year) ? 366u : 365u))
		days -= leap(c.year++) ? 366 : 365;
	while (days >= mdays(c.year, c.mon))
		days -= mdays(c.year, c.mon++);
	c.day = days + 1;
	return c;
}

static u64 ref_secs(const struct cal *c)
{
	u64 days = (c->year - 1970) / 400 * ERA_DAYS, y;
	unsigned int m;

	for (y = c->year - (c->year - 1970) % 400; y < c->year; y++)
		days += leap(y) ? 366 : 365;
	for (m = 1; m < c->mon; m++)
		days += mdays(c->year, m);
	days += c->day - 1;
	return days * 86400 + c->hour * 3600 + c->min * 60 + c->sec;
}

static u8 enc(u8 b, unsigned int v)
{
	return (b & RTC_DM_BINARY) ? v : v / 10 * 16 + v % 10;
}

/* Decode one register to *@v; false for a bad BCD digit. */
static bool dec(u8 b, u8 raw, unsigned int *v)
{
	if (b & RTC_DM_BINARY) {
		*v = raw;
		return true;
	}
	*v = (raw >> 4) * 10 + (raw & 15);
	return (raw >> 4) < 10 && (raw & 15) < 10;
}

static u8 enc_hour(u8 b, unsigned int h)
{
	if (b & RTC_24H)
		return enc(b, h);
	return enc(b, (h + 11) % 12 + 1) | (h >= 12 ? RTC_PM : 0);
}

/* The time registers @tr show in the format of @b; false if invalid. */
static bool decode(u8 b, const u8 *tr, u64 *t)
{
	unsigned int cen, yy, h, pm = 0;
	struct cal c;
	u8 hr = tr[RTC_HOURS];

	if (!(b & RTC_24H)) {
		pm = hr & RTC_PM;
		hr &= ~RTC_PM;
	}
	if (!dec(b, tr[RTC_CENTURY], &cen) || !dec(b, tr[RTC_YEAR], &yy) ||
	    !dec(b, tr[RTC_MONTH], &c.mon) || !dec(b, hr, &h) ||
	    !dec(b, tr[RTC_DAY_OF_MONTH], &c.day) ||
	    !dec(b, tr[RTC_MINUTES], &c.min) ||
	    !dec(b, tr[RTC_SECONDS], &c.sec))
		return false;
	c.year = cen * 100ull + yy;
	if (yy > 99 || c.year < 1970 || c.year > 9999 || c.mon < 1 ||
	    c.mon > 12 || c.day < 1 || c.day > mdays(c.year, c.mon) ||
	    c.min > 59 || c.sec > 59)
		return false;
	if (b & RTC_24H) {
		if (h > 23)
			return false;
	} else {
		if (h < 1 || h > 12)
			return false;
		h = h % 12 + (pm ? 12 : 0);
	}
	c.hour = h;
	*t = ref_secs(&c);
	return true;
}

/* The time registers showing @t in the format of @b (year <= 9999). */
static void encode(u8 b, u64 t, u8 *tr)
{
	struct cal c = ref_cal(t);

	tr[RTC_SECONDS] = enc(b, c.sec);
	tr[RTC_MINUTES] = enc(b, c.min);
	tr[RTC_HOURS] = enc_hour(b, c.hour);
	tr[RTC_DAY_OF_WEEK] = enc(b, c.wday);
	tr[RTC_DAY_OF_MONTH] = enc(b, c.day);
	tr[RTC_MONTH] = enc(b, c.mon);
	tr[RTC_YEAR] = enc(b, c.year % 100);
	tr[RTC_CENTURY] = enc(b, c.year / 100);
}

static u64 sh_time(const struct shadow *s, u64 now)
{
	if (s->halted || now <= s->nbase)
		return s->tbase;
	return s->tbase + (now - s->nbase) / s->hz;
}

static bool in_range(u64 t)
{
	return t < 253402300800ull; /* before the year 10000 */
}

static void sh_init(struct shadow *s, u64 epoch, u64 hz, u64 now)
{
	memset(s, 0, sizeof(*s));
	s->regs[RTC_REG_A] = 0x26;
	s->regs[RTC_REG_B] = RTC_24H;
	s->tbase = epoch;
	s->nbase = now;
	s->hz = hz;
}

/*
 * The clock was just set at @now from time registers @tr (NULL: not
 * known): check it if they were valid, then follow the model.
 */
static void clock_set(struct vrtc *r, struct shadow *s, u8 b, const u8 *tr,
		      u64 now)
{
	u64 want;

	if (tr && decode(b, tr, &want))
		CHECK(vrtc_time(r, now) == want);
	s->tbase = vrtc_time(r, now);
	s->nbase = now;
}

static void do_write(struct vrtc *r, struct shadow *s, u8 val, u64 now)
{
	unsigned int idx = s->index;
	u8 b = s->regs[RTC_REG_B], tr[VRTC_REGS];

	vrtc_write(r, VRTC_PORT_DATA, val, now);
	if (idx == RTC_REG_C || idx == RTC_REG_D)
		return;
	if (idx == RTC_REG_A) {
		s->regs[idx] = val & 0x7f;
	} else if (idx == RTC_REG_B) {
		s->regs[idx] = val;
		if (!s->halted && (val & RTC_SET)) {
			s->tbase = sh_time(s, now);
			s->nbase = now;
			s->halted = true;
			if (in_range(s->tbase))
				encode(val, s->tbase, s->regs);
			else /* no reference: take the model's word */
				for (idx = 0; idx < sizeof(time_regs); idx++)
					s->regs[time_regs[idx]] =
						r->regs[time_regs[idx]];
		} else if (s->halted && !(val & RTC_SET)) {
			s->halted = false;
			clock_set(r, s, b, s->regs, now);
		}
	} else if (!is_time(idx) || s->halted) {
		s->regs[idx] = val;
	} else if (in_range(sh_time(s, now))) {
		encode(b, sh_time(s, now), tr);
		tr[idx] = val;
		clock_set(r, s, b, tr, now);
	} else {
		clock_set(r, s, b, NULL, now);
	}
}

static void do_read(struct vrtc *r, struct shadow *s, u64 now)
{
	unsigned int idx = s->index;
	u8 v = vrtc_read(r, VRTC_PORT_DATA, now), tr[VRTC_REGS];

	if (idx == RTC_REG_C)
		CHECK(v == 0);
	else if (idx == RTC_REG_D)
		CHECK(v == RTC_VRT);
	else if (!is_time(idx) || s->halted)
		CHECK(v == s->regs[idx]);
	else if (in_range(sh_time(s, now))) {
		encode(s->regs[RTC_REG_B], sh_time(s, now), tr);
		CHECK(v == tr[idx]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vrtc r;
	static struct shadow s;
	u64 now = 1000, delta, epoch;
	size_t i = 0;

	vrtc_init(&r, VRTC_EPOCH_DEFAULT, 1000, now);
	sh_init(&s, VRTC_EPOCH_DEFAULT, 1000, now);
	while (i < size) {
		u8 op = data[i++], arg = i < size ? data[i] : 0;
		unsigned int shift = op >> 3;

		switch (op & 7) {
		case 0:
			vrtc_write(&r, VRTC_PORT_INDEX, arg, now);
			s.index = arg & 0x7f;
			i++;
			break;
		case 1:
		case 7:
			do_write(&r, &s, arg, now);
			i++;
			break;
		case 2:
		case 6:
			if (op & 8)
				CHECK(vrtc_read(&r, VRTC_PORT_INDEX, now) ==
				      0xff);
			else
				do_read(&r, &s, now);
			break;
		case 3:
		case 4:
			delta = (u64)arg << shift;
			if (op & 4)
				now = now > delta ? now - delta : 0;
			else
				now = now + delta < now ? ~0ull : now + delta;
			i++;
			break;
		case 5:
			epoch = 0;
			memcpy(&epoch, data + i, MIN(size - i, (size_t)5));
			i += 5;
			vrtc_init(&r, epoch, 1ull << (shift & 31), now);
			sh_init(&s, epoch, 1ull << (shift & 31), now);
			break;
		}
		CHECK(vrtc_time(&r, now) == sh_time(&s, now));
	}
	return 0;
}
