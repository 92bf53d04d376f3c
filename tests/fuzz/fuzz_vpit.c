/*
 * libFuzzer target for the virtual 8254 PIT (kernel/vdev/vpit.c). The
 * input is a program of guest port reads and writes (0x40-0x43, 0x61),
 * steps of the caller's clock (forwards and back) and re-inits at other
 * clock rates.
 *
 * A shadow model checks every byte read back: the read and write flip-
 * flops, latches and read-back status are kept independently, and the
 * count is predicted from the PIT time, computed here with 128-bit
 * arithmetic against the model's 64-bit split. The shadow predicts the
 * count only where it is simple: since the last load (or restart by a
 * rising gate) the gate has not changed. Elsewhere it only follows the
 * byte sequencing, and port 0x61's fixed bits are checked.
 *
 * Program bytes, op = data[i]:
 *   op & 7 == 0  read port (op >> 3) & 3
 *   op & 7 == 1  write port (op >> 3) & 3 with the next byte
 *   op & 7 == 2  read port 0x61, and check vpit_out() of every channel
 *   op & 7 == 3  write port 0x61 with the next byte
 *   op & 7 == 4  clock forward by next << (op >> 3)
 *   op & 7 == 5  clock back by next << (op >> 3)
 *   op & 7 == 6  vpit_init at a rate of the next 4 bytes << (op >> 3)
 *   op & 7 == 7  latch command for channel (op >> 3) & 3, or for 3 a
 *                read-back of count and status of channels op >> 5
 */
#include <lamina/vpit.h>
#include <lamina/lib.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define START_HZ 2500000000ull
#define START_NOW 0x123456789ull

struct sch {
	u8 ctrl;
	bool loaded;
	bool exact;      /* gate unchanged since load_t: d is known */
	bool gate_at_load;
	u32 count;
	u64 load_t;
	bool read_hi, write_hi;
	u8 write_lo;
	u8 latch_rw;
	int latch;       /* -1: not predicted */
	bool st_latched;
	int status;      /* -1: not predicted */
};

struct shadow {
	struct sch ch[VPIT_CHANNELS];
	u64 hz, base, tmax; /* tmax: PIT time of the latest access */
	bool gate2, refresh;
	u8 p61;
};

static u64 sh_pit_time(const struct shadow *s, u64 now)
{
	if (now <= s->base)
		return 0;
	return (u64)((unsigned __int128)(now - s->base) * VPIT_FREQ / s->hz);
}

static void sh_access(struct shadow *s, u64 now)
{
	s->tmax = MAX(s->tmax, sh_pit_time(s, now));
}

static void sh_init(struct shadow *s, u64 hz, u64 now)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->hz = hz ? MIN(hz, VPIT_HZ_MAX) : 1;
	s->base = now;
	for (i = 0; i < VPIT_CHANNELS; i++) {
		s->ch[i].ctrl = 0x36;
		s->ch[i].count = 0x10000;
		s->ch[i].loaded = s->ch[i].exact = true;
		s->ch[i].gate_at_load = i != 2;
	}
}

static unsigned int sh_mode(const struct sch *c)
{
	unsigned int m = (c->ctrl >> 1) & 7;

	return m > 5 ? m & 3 : m;
}

static bool sh_gate(const struct shadow *s, unsigned int ch)
{
	return ch != 2 || s->gate2;
}

/* Ticks counted since the load at PIT time @t; false if not known. */
static bool sh_d(const struct sch *c, u64 t, u64 *d)
{
	if (!c->loaded || !c->exact)
		return false;
	*d = c->gate_at_load ? t - c->load_t : 0;
	return true;
}

static int sh_counter(const struct sch *c, u64 t)
{
	u64 d;

	if (!sh_d(c, t, &d))
		return -1;
	switch (sh_mode(c)) {
	case 2:
		return (c->count - d % c->count) & 0xffff;
	case 3:
		return (c->count - (2 * (d % c->count)) % c->count) & 0xffff;
	default:
		return (u16)((u64)c->count - d);
	}
}

/* OUT: 0, 1, or -1 when not known. */
static int sh_out(const struct shadow *s, unsigned int ch, u64 t)
{
	const struct sch *c = &s->ch[ch];
	unsigned int m = sh_mode(c);
	u64 d;

	if (!c->loaded)
		return m != 0;
	if ((m == 2 || m == 3) && !sh_gate(s, ch))
		return 1;
	if (!sh_d(c, t, &d))
		return -1;
	if (m == 2)
		return sh_counter(c, t) != 1;
	if (m == 3)
		return d % c->count < (c->count + 1) / 2;
	if (m == 4 || m == 5)
		return d != c->count;
	return d >= c->count;
}

static int sh_read(struct sch *c, u64 t)
{
	int v;

	if (c->st_latched) {
		c->st_latched = false;
		return c->status;
	}
	if (c->latch_rw) {
		v = c->latch;
		if (c->latch_rw == VPIT_RW_WORD) {
			c->latch_rw = VPIT_RW_HI;
			return v < 0 ? -1 : v & 0xff;
		}
		v = v < 0 ? -1 : c->latch_rw == VPIT_RW_LO ? v & 0xff : v >> 8;
		c->latch_rw = 0;
		return v;
	}
	v = sh_counter(c, t);
	switch ((c->ctrl >> 4) & 3) {
	case VPIT_RW_LO:
		return v < 0 ? -1 : v & 0xff;
	case VPIT_RW_HI:
		return v < 0 ? -1 : v >> 8;
	default:
		c->read_hi = !c->read_hi;
		return v < 0 ? -1 : c->read_hi ? v & 0xff : v >> 8;
	}
}

static void sh_write_count(struct shadow *s, unsigned int ch, u8 val)
{
	struct sch *c = &s->ch[ch];
	unsigned int rw = (c->ctrl >> 4) & 3;
	u32 v = val;

	if (rw == VPIT_RW_HI)
		v = (u32)val << 8;
	if (rw == VPIT_RW_WORD) {
		c->write_hi = !c->write_hi;
		if (c->write_hi) {
			c->write_lo = val;
			return;
		}
		v = c->write_lo + 256u * val;
	}
	c->count = v ? v : 65536;
	c->loaded = c->exact = true;
	c->load_t = s->tmax;
	c->gate_at_load = sh_gate(s, ch);
}

static void sh_latch(struct sch *c, u64 t)
{
	if (!c->latch_rw) {
		c->latch = sh_counter(c, t);
		c->latch_rw = (c->ctrl >> 4) & 3;
	}
}

static void sh_ctrl(struct shadow *s, u8 val)
{
	unsigned int sc = val >> 6, i;
	struct sch *c;
	int out;

	for (i = 0; sc == 3 && i < VPIT_CHANNELS; i++) {
		c = &s->ch[i];
		if (!(val & (2 << i)))
			continue;
		if (!(val & VPIT_RB_NO_COUNT))
			sh_latch(c, s->tmax);
		if (!(val & VPIT_RB_NO_STATUS) && !c->st_latched) {
			out = sh_out(s, i, s->tmax);
			c->status = out < 0 ? -1 : (c->ctrl | (out ? 0x80 : 0) |
						    (c->loaded ? 0 : 0x40));
			c->st_latched = true;
		}
	}
	if (sc == 3)
		return;
	c = &s->ch[sc];
	if (!(val & 0x30)) {
		sh_latch(c, s->tmax);
		return;
	}
	c->ctrl = val & 0x3f;
	c->loaded = false;
	c->read_hi = c->write_hi = false;
	c->latch_rw = 0;
	c->st_latched = false;
}

static void sh_port61_write(struct shadow *s, u8 val)
{
	struct sch *c = &s->ch[2];
	bool gate = val & VPIT_61_GATE2;
	unsigned int m = sh_mode(c);

	if (gate != s->gate2) {
		c->exact = false;
		if (gate && m != 0 && m != 4) { /* restarts: a fresh load */
			c->exact = true;
			c->load_t = s->tmax;
			c->gate_at_load = true;
		}
	}
	s->gate2 = gate;
	s->p61 = val & 0x0f;
}

static void check_port61(struct vpit *p, struct shadow *s, u64 now)
{
	u8 v = vpit_port61_read(p, now);
	unsigned int i;
	int out;

	s->refresh = !s->refresh;
	CHECK((v & 0xdf) == (s->p61 | (s->refresh ? VPIT_61_REFRESH : 0)));
	out = sh_out(s, 2, s->tmax);
	if (out >= 0)
		CHECK(!!(v & VPIT_61_OUT2) == out);
	for (i = 0; i < VPIT_CHANNELS; i++) {
		out = sh_out(s, i, MAX(s->tmax, sh_pit_time(s, now)));
		if (out >= 0)
			CHECK(vpit_out(p, i, now) == out);
	}
	CHECK(!vpit_out(p, VPIT_CHANNELS, now));
}

static void do_read(struct vpit *p, struct shadow *s, unsigned int port,
		    u64 now)
{
	u8 v = vpit_read(p, port, now);
	int want = port < VPIT_CHANNELS ? sh_read(&s->ch[port], s->tmax) : 0xff;

	if (want >= 0)
		CHECK(v == want);
}

static void do_write(struct vpit *p, struct shadow *s, unsigned int port,
		     u8 val, u64 now)
{
	vpit_write(p, port, val, now);
	if (port < VPIT_CHANNELS)
		sh_write_count(s, port, val);
	else
		sh_ctrl(s, val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vpit p;
	static struct shadow s;
	u64 now = START_NOW, delta, hz;
	size_t i = 0;

	vpit_init(&p, START_HZ, now);
	sh_init(&s, START_HZ, now);
	while (i < size) {
		u8 op = data[i++], arg = i < size ? data[i] : 0;
		unsigned int port = (op >> 3) & 3, shift = op >> 3;

		switch (op & 7) {
		case 0:
			sh_access(&s, now);
			do_read(&p, &s, port, now);
			break;
		case 1:
			sh_access(&s, now);
			do_write(&p, &s, port, arg, now);
			i++;
			break;
		case 2:
			sh_access(&s, now);
			check_port61(&p, &s, now);
			break;
		case 3:
			sh_access(&s, now);
			vpit_port61_write(&p, arg, now);
			sh_port61_write(&s, arg);
			i++;
			break;
		case 4:
		case 5:
			delta = (u64)arg << shift;
			if (op & 1)
				now = now > delta ? now - delta : 0;
			else
				now = now + delta < now ? ~0ull : now + delta;
			i++;
			break;
		case 6:
			hz = 0;
			memcpy(&hz, data + i, MIN(size - i, (size_t)4));
			hz <<= shift;
			i += 4;
			vpit_init(&p, hz, now);
			sh_init(&s, hz, now);
			CHECK(p.hz == s.hz);
			break;
		case 7:
			sh_access(&s, now);
			do_write(&p, &s, VPIT_PORT_CTRL,
				 port < 3 ? port << 6 : 0xc0 | (op >> 5) << 1,
				 now);
			break;
		}
	}
	return 0;
}
