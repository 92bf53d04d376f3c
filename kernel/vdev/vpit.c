/*
 * Virtual 8254 PIT: the three counters at ports 0x40-0x43 and the PC's
 * port 0x61, which gates channel 2 and shows its OUT. Linux times its TSC
 * calibration with channel 2 (quick_pit_calibrate(), pit_calibrate_tsc());
 * without a PIT that reads back a real count it spins for seconds.
 *
 * Nothing is timed here: the counters are computed from the caller's
 * clock whenever the guest looks. Each channel keeps how many PIT ticks it
 * has counted since its count was loaded (ticks, up to stamp); a channel
 * that counts (count loaded, gate high) adds the PIT time since stamp.
 * Every guest access first brings ticks up to date (advance), so a change
 * of gate, count or mode starts from the right place.
 *
 * No locking here: the caller holds the VM's device lock. See vpit.h for
 * what is simplified.
 */
#include <lamina/vpit.h>
#include <lamina/lib.h>

/* x * VPIT_FREQ for any x < hz must fit in 64 bits (see pit_time). */
BUILD_BUG_ON(VPIT_HZ_MAX > ~0ull / VPIT_FREQ);

/*
 * PIT ticks since vpit_init at @now: floor(elapsed * VPIT_FREQ / hz),
 * computed as whole seconds plus the remainder so no product overflows.
 * Exact, since (elapsed / hz) * hz * VPIT_FREQ / hz is a whole number.
 */
static u64 pit_time(const struct vpit *p, u64 now)
{
	u64 e = now > p->base ? now - p->base : 0;

	return e / p->hz * VPIT_FREQ + e % p->hz * VPIT_FREQ / p->hz;
}

static unsigned int rw_mode(const struct vpit_channel *c)
{
	return (c->ctrl >> VPIT_CW_RW_SHIFT) & 3;
}

/* 0-5: modes 6 and 7 are 2 and 3 (the chip ignores M2 when M1 is set). */
static unsigned int mode(const struct vpit_channel *c)
{
	unsigned int m = (c->ctrl >> VPIT_CW_MODE_SHIFT) & 7;

	return m >= 6 ? m - 4 : m;
}

static bool counting(const struct vpit_channel *c)
{
	return c->loaded && c->gate;
}

/* Ticks counted since the load, as of PIT time @t; no side effects. */
static u64 ticks_at(const struct vpit_channel *c, u64 t)
{
	if (counting(c) && t > c->stamp)
		return c->ticks + (t - c->stamp);
	return c->ticks;
}

/* Bring ticks up to PIT time @t, before anything changes counting. */
static void sync(struct vpit_channel *c, u64 t)
{
	c->ticks = ticks_at(c, t);
	c->stamp = MAX(c->stamp, t);
}

/* The counting element after @d ticks (0 stands for 0x10000). */
static u16 counter(const struct vpit_channel *c, u64 d)
{
	switch (mode(c)) {
	case 2:
		return (u16)(c->count - d % c->count);
	case 3:
		return (u16)(c->count - d % c->count * 2 % c->count);
	default: /* 0, 1, 4, 5: one-shot, then wraps on through 0xffff */
		return (u16)(c->count - d);
	}
}

static bool out_after(const struct vpit_channel *c, u64 d)
{
	unsigned int m = mode(c);

	if (!c->loaded) /* control word written, no count yet */
		return m != 0;
	if (!c->gate && (m == 2 || m == 3))
		return true;
	switch (m) {
	case 2: /* low for the one tick the counter shows 1 */
		return d % c->count != c->count - 1;
	case 3:
		return d % c->count < (c->count + 1) / 2;
	case 4:
	case 5: /* low for the one tick at terminal count */
		return d != c->count;
	default: /* 0, 1: high from terminal count on */
		return d >= c->count;
	}
}

bool vpit_out(const struct vpit *p, unsigned int ch, u64 now)
{
	const struct vpit_channel *c;

	if (ch >= VPIT_CHANNELS)
		return false;
	c = &p->ch[ch];
	return out_after(c, ticks_at(c, pit_time(p, now)));
}

void vpit_init(struct vpit *p, u64 hz, u64 now)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->hz = MIN(MAX(hz, 1ull), VPIT_HZ_MAX);
	p->base = now;
	for (i = 0; i < VPIT_CHANNELS; i++) {
		p->ch[i].ctrl = VPIT_RW_WORD << VPIT_CW_RW_SHIFT |
				3 << VPIT_CW_MODE_SHIFT;
		p->ch[i].count = 0x10000;
		p->ch[i].loaded = true;
		p->ch[i].gate = i != 2;
	}
}

/* A second latch before the first is read is ignored, as on the chip. */
static void latch_count(struct vpit_channel *c, u64 t)
{
	if (c->latch_rw)
		return;
	c->latch = counter(c, ticks_at(c, t));
	c->latch_rw = rw_mode(c);
}

static void latch_status(struct vpit_channel *c, u64 t)
{
	if (c->status_latched)
		return;
	c->status = (c->ctrl & 0x3f) |
		    (out_after(c, ticks_at(c, t)) ? VPIT_ST_OUT : 0) |
		    (c->loaded ? 0 : VPIT_ST_NULL);
	c->status_latched = true;
}

static u8 read_channel(struct vpit_channel *c, u64 t)
{
	u16 v;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_rw) {
		v = c->latch;
		switch (c->latch_rw) {
		case VPIT_RW_LO:
			c->latch_rw = 0;
			return v & 0xff;
		case VPIT_RW_HI:
			c->latch_rw = 0;
			return v >> 8;
		default:
			c->latch_rw = VPIT_RW_HI;
			return v & 0xff;
		}
	}
	v = counter(c, ticks_at(c, t));
	switch (rw_mode(c)) {
	case VPIT_RW_LO:
		return v & 0xff;
	case VPIT_RW_HI:
		return v >> 8;
	default:
		c->read_hi = !c->read_hi;
		return c->read_hi ? v & 0xff : v >> 8;
	}
}

/*
 * Every access brings all channels up to @now first, so that a clock
 * that steps back finds them where the latest access left them.
 */
static u64 advance(struct vpit *p, u64 now)
{
	u64 t = pit_time(p, now);
	unsigned int i;

	for (i = 0; i < VPIT_CHANNELS; i++)
		sync(&p->ch[i], t);
	return t;
}

u8 vpit_read(struct vpit *p, unsigned int port, u64 now)
{
	u64 t = advance(p, now);

	if (port >= VPIT_CHANNELS)
		return 0xff; /* the control port is write-only */
	return read_channel(&p->ch[port], t);
}

/* The channel is up to date (advance): a new count restarts it now. */
static void write_count(struct vpit_channel *c, u8 val)
{
	u32 v;

	switch (rw_mode(c)) {
	case VPIT_RW_LO:
		v = val;
		break;
	case VPIT_RW_HI:
		v = (u32)val << 8;
		break;
	default:
		c->write_hi = !c->write_hi;
		if (c->write_hi) {
			c->write_lo = val;
			return;
		}
		v = c->write_lo | (u32)val << 8;
		break;
	}
	c->count = v ? v : 0x10000;
	c->ticks = 0;
	c->loaded = true;
}

static void write_ctrl(struct vpit *p, u8 val, u64 t)
{
	unsigned int sc = val >> VPIT_CW_SC_SHIFT, i;
	struct vpit_channel *c;

	if (sc == 3) { /* read-back: bits 3:1 pick channels 2:0 */
		for (i = 0; i < VPIT_CHANNELS; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & VPIT_RB_NO_COUNT))
				latch_count(&p->ch[i], t);
			if (!(val & VPIT_RB_NO_STATUS))
				latch_status(&p->ch[i], t);
		}
		return;
	}
	c = &p->ch[sc];
	if (((val >> VPIT_CW_RW_SHIFT) & 3) == VPIT_RW_LATCH) {
		latch_count(c, t);
		return;
	}
	/* A new control word stops the counter until a count comes. */
	c->ctrl = val & 0x3f;
	c->loaded = false;
	c->read_hi = false;
	c->write_hi = false;
	c->latch_rw = 0;
	c->status_latched = false;
}

void vpit_write(struct vpit *p, unsigned int port, u8 val, u64 now)
{
	u64 t = advance(p, now);

	if (port < VPIT_CHANNELS)
		write_count(&p->ch[port], val);
	else if (port == VPIT_PORT_CTRL)
		write_ctrl(p, val, t);
}

u8 vpit_port61_read(struct vpit *p, u64 now)
{
	const struct vpit_channel *c = &p->ch[2];
	u64 t = advance(p, now);

	p->refresh = !p->refresh;
	return p->port61 | (p->refresh ? VPIT_61_REFRESH : 0) |
	       (out_after(c, ticks_at(c, t)) ? VPIT_61_OUT2 : 0);
}

void vpit_port61_write(struct vpit *p, u8 val, u64 now)
{
	struct vpit_channel *c = &p->ch[2];
	bool gate = val & VPIT_61_GATE2;
	unsigned int m = mode(c);

	advance(p, now);
	/* A rising gate triggers the modes that reload on it. */
	if (gate && !c->gate && m != 0 && m != 4)
		c->ticks = 0;
	c->gate = gate;
	p->port61 = val & VPIT_61_RW;
}
