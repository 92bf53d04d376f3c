/*
 * Fuzz target for the virtual I/O APIC (kernel/vdev/vioapic.c): runs a
 * program of MMIO accesses (good and bad), line changes and EOIs against
 * the model and against a shadow of what the 82093AA would do, and checks
 * every message handed out and, after every step, that both agree: each
 * redirection entry, the line states, the count of messages. Bits the
 * model must never set (delivery status, reserved bits, remote IRR on an
 * edge pin) are checked on their own as well.
 *
 * Program bytes, op = data[i]; V is the next four bytes, little endian:
 *   op & 7 == 0   read IOREGSEL or IOWIN ((op >> 3) & 1)
 *   op & 7 == 1   IOREGSEL = next
 *   op & 7 == 2   IOWIN = V
 *   op & 7 == 3   pin next % 32 (some missing) goes to op & 8
 *   op & 7 == 4   EOI of next (op & 8: pin next % 24's vector), with room
 *                 for (op >> 4) messages when op & 128, else for all
 *   op & 7 == 5   vioapic_reset(id = next)
 *   op & 7 == 6   access offset next with size (op >> 3) & 7: write if
 *                 op & 64 (mostly refused)
 *   op & 7 == 7   IOREGSEL = redirection entry of pin next % 24, high
 *                 half if op & 8
 */
#include <lamina/vioapic.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define LOW_WRITABLE 0x1afffull
#define RESERVED 0x00fffffffffe0000ull

struct shadow {
	u32 id, regsel, lines;
	u64 rte[VIOAPIC_PINS];
	u64 delivered;
};

static void sh_reset(struct shadow *s, u32 id)
{
	unsigned int pin;

	memset(s, 0, sizeof(*s));
	s->id = id & 0xf;
	for (pin = 0; pin < VIOAPIC_PINS; pin++)
		s->rte[pin] = IOAPIC_RTE_MASKED;
}

static bool sh_level_ready(const struct shadow *s, unsigned int pin)
{
	u64 r = s->rte[pin];

	return (r & IOAPIC_RTE_LEVEL) && !(r & IOAPIC_RTE_MASKED) &&
	       !(r & IOAPIC_RTE_REMOTE_IRR) && (s->lines & (1u << pin));
}

/* A message the model handed out for @pin must match the shadow's entry. */
static void sh_deliver(struct shadow *s, unsigned int pin,
		       const struct vioapic_msg *m)
{
	u64 r = s->rte[pin];

	CHECK(m->vector == (r & 0xff));
	CHECK(m->mode == ((r >> 8) & 7));
	CHECK(m->logical == !!(r & IOAPIC_RTE_LOGICAL));
	CHECK(m->level == !!(r & IOAPIC_RTE_LEVEL));
	CHECK(m->dest == (r >> 56));
	if (r & IOAPIC_RTE_LEVEL)
		s->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
	s->delivered++;
}

static u32 sh_window(const struct shadow *s)
{
	unsigned int reg = s->regsel, pin = (reg - 0x10) / 2;

	if (reg >= 0x10 && reg < 0x10 + 2 * VIOAPIC_PINS)
		return (u32)(s->rte[pin] >> (reg & 1 ? 32 : 0));
	if (reg == IOAPIC_REG_ID || reg == IOAPIC_REG_ARB)
		return s->id << 24;
	return reg == IOAPIC_REG_VER ? 0x00170011 : 0;
}

static void check_state(const struct vioapic *io, const struct shadow *s)
{
	unsigned int pin;
	u64 r;

	CHECK(io->lines == s->lines && io->delivered == s->delivered);
	CHECK(io->regsel == s->regsel);
	for (pin = 0; pin < VIOAPIC_PINS; pin++) {
		r = io->rte[pin];
		CHECK(r == s->rte[pin]);
		CHECK(!(r & (IOAPIC_RTE_PENDING | RESERVED)));
		if (!(r & IOAPIC_RTE_LEVEL))
			CHECK(!(r & IOAPIC_RTE_REMOTE_IRR));
	}
}

static void do_read(struct vioapic *io, const struct shadow *s, u32 offset)
{
	u32 val = 0;

	CHECK(vioapic_read(io, offset, 4, &val) == 0);
	CHECK(val == (offset == IOAPIC_WIN ? sh_window(s) : s->regsel));
}

static void do_window_write(struct vioapic *io, struct shadow *s, u32 val)
{
	unsigned int reg = s->regsel, pin = (reg - 0x10) / 2;
	struct vioapic_msg msg;
	int ret = vioapic_write(io, IOAPIC_WIN, 4, val, &msg);
	bool rte = reg >= 0x10 && reg < 0x10 + 2 * VIOAPIC_PINS;

	if (reg == IOAPIC_REG_ID)
		s->id = (val >> 24) & 0xf;
	if (rte && (reg & 1))
		s->rte[pin] = (s->rte[pin] & 0xffffffffull) |
			      ((u64)(val >> 24) << 56);
	if (!rte || (reg & 1)) {
		CHECK(ret == 0);
		return;
	}
	s->rte[pin] = (s->rte[pin] & ~LOW_WRITABLE) | (val & LOW_WRITABLE);
	if (!(s->rte[pin] & IOAPIC_RTE_LEVEL))
		s->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
	CHECK(ret == sh_level_ready(s, pin));
	if (ret == 1)
		sh_deliver(s, pin, &msg);
}

static void do_line(struct vioapic *io, struct shadow *s, unsigned int pin,
		    bool on)
{
	struct vioapic_msg msg;
	bool was, want, got = vioapic_set_line(io, pin, on, &msg);

	if (pin >= VIOAPIC_PINS) {
		CHECK(!got);
		return;
	}
	was = s->lines & (1u << pin);
	s->lines = (s->lines & ~(1u << pin)) | ((u32)on << pin);
	if (s->rte[pin] & IOAPIC_RTE_LEVEL)
		want = sh_level_ready(s, pin);
	else
		want = on && !was && !(s->rte[pin] & IOAPIC_RTE_MASKED);
	CHECK(got == want);
	if (got)
		sh_deliver(s, pin, &msg);
}

static void do_eoi(struct vioapic *io, struct shadow *s, u8 vector,
		   unsigned int max)
{
	struct vioapic_msg msgs[VIOAPIC_PINS];
	unsigned int n = vioapic_eoi(io, vector, msgs, max), k = 0, pin;

	CHECK(n <= max);
	for (pin = 0; pin < VIOAPIC_PINS; pin++) {
		if ((s->rte[pin] & 0xff) != vector ||
		    !(s->rte[pin] & IOAPIC_RTE_REMOTE_IRR))
			continue;
		s->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
		if (k < max && sh_level_ready(s, pin))
			sh_deliver(s, pin, &msgs[k++]);
	}
	CHECK(n == k);
}

/* Any offset and size: only 4-byte IOREGSEL and IOWIN are accepted. */
static void do_raw(struct vioapic *io, u32 offset, unsigned int size,
		   bool write)
{
	bool ok = size == 4 &&
		  (offset == IOAPIC_REGSEL || offset == IOAPIC_WIN);
	struct vioapic_msg msg;
	u32 val = 0;

	if (ok) /* the good ones are exercised elsewhere */
		return;
	if (write)
		CHECK(vioapic_write(io, offset, size, 0xffffffff, &msg) ==
		      -HV_EINVAL);
	else
		CHECK(vioapic_read(io, offset, size, &val) == -HV_EINVAL);
}

static u32 le32(const u8 *data, size_t size, size_t i)
{
	u32 v = 0;
	unsigned int k;

	for (k = 0; k < 4 && i + k < size; k++)
		v |= (u32)data[i + k] << (8 * k);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vioapic io;
	static struct shadow s;
	size_t i = 0;

	vioapic_reset(&io, 0);
	sh_reset(&s, 0);
	while (i < size) {
		u8 op = data[i++], arg = i < size ? data[i] : 0;
		unsigned int pin = arg % VIOAPIC_PINS;

		switch (op & 7) {
		case 0:
			do_read(&io, &s, op & 8 ? IOAPIC_WIN : IOAPIC_REGSEL);
			break;
		case 1:
		case 7:
			s.regsel = (op & 7) == 1 ? arg :
				   0x10 + 2 * pin + !!(op & 8);
			CHECK(vioapic_write(&io, IOAPIC_REGSEL, 4, s.regsel,
					    NULL) == 0);
			i++;
			break;
		case 2:
			do_window_write(&io, &s, le32(data, size, i));
			i += 4;
			break;
		case 3:
			do_line(&io, &s, arg % 32, op & 8);
			i++;
			break;
		case 4:
			do_eoi(&io, &s, op & 8 ? (u8)s.rte[pin] : arg,
			       op & 128 ? (op >> 4) & 7 : VIOAPIC_PINS);
			i++;
			break;
		case 5:
			vioapic_reset(&io, arg);
			sh_reset(&s, arg);
			i++;
			break;
		case 6:
			do_raw(&io, arg, (op >> 3) & 7, op & 64);
			i++;
			break;
		}
		check_state(&io, &s);
	}
	return 0;
}
