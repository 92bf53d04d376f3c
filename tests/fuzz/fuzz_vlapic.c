/*
 * Fuzz target for the virtual local APIC (kernel/vdev/vlapic.c): runs a
 * program of register reads and writes, accepted interrupts, acks, EOIs,
 * clock steps and timer expiries, and after every step checks what the
 * SDM promises: the pending vector is the highest in IRR and its class is
 * above PPR, PPR follows TPR and ISR, vectors 0-15 are never pending or in
 * service, a disabled APIC keeps its LVTs masked, the timer count never
 * exceeds TMICT and a deadline is never in the past after an expiry.
 *
 * Program bytes, op = data[i]; V is the next four bytes, little endian:
 *   op & 7 == 0   read offset next * 16, plus (op >> 3) & 15 if op & 128
 *   op & 7 == 1   write V to regs[(op >> 3) % NR_REGS]
 *   op & 7 == 2   vlapic_set_irq(next, level = op & 8)
 *   op & 7 == 3   ack the pending vector, if any; op & 8: then EOI it
 *   op & 7 == 4   the clock moves next << ((op >> 3) & 31) ticks on
 *   op & 7 == 5   vlapic_timer_expire(now)
 *   op & 7 == 6   vlapic_match_dest of V as shorthand, mode, dest, source
 *   op & 7 == 7   vlapic_reset(id = next)
 */
#include <lamina/vlapic.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define NOW_MAX (1ull << 62) /* about 50 years at 3 GHz */

static const u32 regs[] = {
	APIC_TPR, APIC_EOI, APIC_LDR, APIC_DFR, APIC_SVR, APIC_ESR,
	APIC_ICR, APIC_ICR2, APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0,
	APIC_LVT1, APIC_LVTERR, APIC_LVT_CMCI, APIC_TMICT, APIC_TDCR,
	APIC_SELF_IPI, APIC_ID, APIC_PPR, APIC_ISR, APIC_TMCCT, APIC_EOI,
	APIC_SVR, APIC_ICR, APIC_TMICT,
};
static const u32 lvt_offsets[] = {
	APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1,
	APIC_LVTERR, APIC_LVT_CMCI,
};

static u32 rd(struct vlapic *l, u32 offset, u64 now)
{
	u32 val;

	CHECK(vlapic_read(l, offset, now, &val) == 0);
	return val;
}

static bool test_bit(const u32 *set, unsigned int v)
{
	return set[v / 32] & (1u << (v % 32));
}

static int highest(const u32 *set)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (set[i])
			return i * 32 + 31 - __builtin_clz(set[i]);
	return -1;
}

/* PPR from the registers as the guest reads them. */
static u32 expect_ppr(struct vlapic *l)
{
	u32 tpr = rd(l, APIC_TPR, 0), isr[8];
	int i, v;

	for (i = 0; i < 8; i++)
		isr[i] = rd(l, APIC_ISR + 16 * i, 0);
	v = highest(isr);
	if (v < 0 || (tpr & 0xf0) >= ((u32)v & 0xf0))
		return tpr;
	return (u32)v & 0xf0;
}

static void check_priority(struct vlapic *l)
{
	bool on = rd(l, APIC_SVR, 0) & APIC_SVR_ENABLED;
	u32 ppr = rd(l, APIC_PPR, 0);
	int p = vlapic_pending(l), top = highest(l->irr);

	CHECK(ppr == expect_ppr(l));
	CHECK(!(l->irr[0] & 0xffff) && !(l->isr[0] & 0xffff));
	if (p >= 0) {
		CHECK(on && p == top && p >= 16);
		CHECK(((u32)p & 0xf0) > (ppr & 0xf0));
	} else {
		CHECK(!on || top < 0 || ((u32)top & 0xf0) <= (ppr & 0xf0));
	}
}

static void check_state(struct vlapic *l, u64 now)
{
	bool on = rd(l, APIC_SVR, 0) & APIC_SVR_ENABLED;
	u32 tmict = rd(l, APIC_TMICT, now), lvt;
	unsigned int i;

	check_priority(l);
	for (i = 0; i < ARRAY_SIZE(lvt_offsets); i++) {
		lvt = rd(l, lvt_offsets[i], now);
		CHECK(on || (lvt & APIC_LVT_MASKED));
		CHECK(!(lvt & (APIC_LVT_PENDING | 0xfffc0000)));
	}
	CHECK(!(rd(l, APIC_ESR, now) & ~0x60u));
	CHECK(!(rd(l, APIC_ICR, now) & APIC_LVT_PENDING));
	CHECK((rd(l, APIC_DFR, now) & 0x0fffffff) == 0x0fffffff);
	CHECK(rd(l, APIC_TMCCT, now) <= tmict);
	if (vlapic_timer_deadline(l) == ~0ull)
		CHECK(rd(l, APIC_TMCCT, now) == 0);
	else
		CHECK(tmict != 0);
}

static void do_read(struct vlapic *l, u32 offset, u64 now)
{
	u32 val = 0x5a5a5a5a;
	int rc = vlapic_read(l, offset, now, &val);

	if (offset >= VLAPIC_PAGE || (offset & 0xf))
		CHECK(rc == -HV_EINVAL && val == 0x5a5a5a5a);
	else
		CHECK(rc == 0);
}

static void check_ipi(u32 val, u32 icr2, const struct vlapic_ipi *ipi)
{
	CHECK(ipi->vector == (val & 0xff));
	CHECK(ipi->mode == ((val >> 8) & 7));
	CHECK(ipi->mode != 3 && ipi->mode != 7);
	CHECK(ipi->shorthand == ((val >> 18) & 3));
	CHECK(ipi->logical == !!(val & (1u << 11)));
	CHECK(ipi->level == !!(val & (1u << 14)));
	CHECK(ipi->trigger_level == !!(val & (1u << 15)));
	CHECK(ipi->dest == icr2 >> 24);
	if (ipi->mode <= VLAPIC_DM_LOWEST)
		CHECK(ipi->vector >= 16);
}

/* A write, checked against what it was expected to do. */
static void do_write(struct vlapic *l, u32 offset, u32 val, u64 now)
{
	int top_isr = highest(l->isr), pre_pending = vlapic_pending(l);
	u32 icr2 = rd(l, APIC_ICR2, now);
	u64 deadline = vlapic_timer_deadline(l);
	struct vlapic_ipi ipi;
	u8 eoi = 0;
	int ret = vlapic_write(l, offset, val, now, &ipi, &eoi);

	CHECK(ret >= 0 && !(ret & ~0xf));
	/* Any write collects a due expiry; the caller hears of a new time. */
	CHECK(vlapic_timer_deadline(l) == ~0ull ||
	      vlapic_timer_deadline(l) > now);
	CHECK(!!(ret & VLAPIC_W_TIMER) ==
	      (vlapic_timer_deadline(l) != deadline));
	if (ret & VLAPIC_W_IRQ)
		CHECK(vlapic_pending(l) >= 0 &&
		      vlapic_pending(l) != pre_pending);
	if (offset == APIC_ICR && (ret & VLAPIC_W_IPI))
		check_ipi(val, icr2, &ipi);
	if (offset == APIC_SELF_IPI && (ret & VLAPIC_W_IPI))
		CHECK(ipi.vector == (val & 0xff) && ipi.vector >= 16 &&
		      ipi.shorthand == VLAPIC_DEST_SELF);
	if (offset != APIC_ICR && offset != APIC_SELF_IPI)
		CHECK(!(ret & VLAPIC_W_IPI));
	if (offset == APIC_EOI && top_isr >= 0) {
		CHECK(eoi == top_isr && !test_bit(l->isr, top_isr));
		CHECK(!!(ret & VLAPIC_W_EOI) == test_bit(l->tmr, top_isr));
	} else {
		CHECK(!(ret & VLAPIC_W_EOI));
	}
	if (offset == APIC_TMICT) {
		CHECK(rd(l, APIC_TMCCT, now) == val);
		CHECK((vlapic_timer_deadline(l) == ~0ull) == !val);
	}
}

static void do_set_irq(struct vlapic *l, u8 vector, bool level)
{
	bool on = l->svr & APIC_SVR_ENABLED;

	vlapic_set_irq(l, vector, level);
	if (vector < 16 || !on)
		return;
	CHECK(test_bit(l->irr, vector));
	CHECK(test_bit(l->tmr, vector) == level);
}

static void do_ack(struct vlapic *l, bool then_eoi, u64 now)
{
	int p = vlapic_pending(l);

	if (p < 0)
		return;
	vlapic_ack(l, p);
	CHECK(!test_bit(l->irr, p) && test_bit(l->isr, p));
	CHECK(highest(l->isr) == p); /* it beat everything in service */
	if (then_eoi)
		do_write(l, APIC_EOI, 0, now);
}

/* Bus ticks per count: TDCR 0b1011 is 1, n = bits 3,1,0 else 2^(n+1). */
static u64 divide(struct vlapic *l)
{
	u32 tdcr = rd(l, APIC_TDCR, 0);

	return tdcr == 0xb ? 1 : 2ull << ((tdcr & 3) | ((tdcr >> 1) & 4));
}

static void do_expire(struct vlapic *l, u64 now)
{
	u64 fired = l->timer_fired, old = vlapic_timer_deadline(l);
	u64 period = rd(l, APIC_TMICT, now) * divide(l), deadline;
	bool periodic = rd(l, APIC_LVTT, now) & APIC_LVT_TIMER_PERIODIC;
	bool raised = vlapic_timer_expire(l, now);

	deadline = vlapic_timer_deadline(l);
	CHECK(deadline == ~0ull || deadline > now);
	if (old == ~0ull || now < old) {
		CHECK(deadline == old && !raised);
	} else if (periodic) {
		/* The next one on the old grid: missed periods are skipped. */
		CHECK(deadline != ~0ull && (deadline - old) % period == 0);
		CHECK(deadline - period <= now);
	} else {
		CHECK(deadline == ~0ull);
	}
	CHECK(l->timer_fired - fired <= 1);
	if (l->timer_fired != fired)
		CHECK(raised);
}

static void do_match(const struct vlapic *l, u32 v)
{
	struct vlapic_ipi ipi = {
		.shorthand = v & 3, .logical = v & 4, .dest = (v >> 8) & 0xff,
	};
	u32 src = v >> 24;
	bool m = vlapic_match_dest(l, &ipi, src);

	if (ipi.shorthand == VLAPIC_DEST_ALL)
		CHECK(m);
	if (ipi.shorthand == VLAPIC_DEST_SELF)
		CHECK(m == (l->id == src));
	if (ipi.shorthand == VLAPIC_DEST_ALL_BUT_SELF)
		CHECK(m == (l->id != src));
	if (!ipi.shorthand && ipi.dest == 0xff)
		CHECK(m);
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
	static struct vlapic l;
	size_t i = 0;
	u64 now = 0, step;

	vlapic_reset(&l, 0);
	while (i < size) {
		u8 op = data[i++], arg = i < size ? data[i] : 0;
		u32 v = le32(data, size, i), reg = (op >> 3) % ARRAY_SIZE(regs);

		switch (op & 7) {
		case 0:
			do_read(&l, arg * 16u + (op & 128 ? (op >> 3) & 15 : 0),
				now);
			i++;
			break;
		case 1:
			do_write(&l, regs[reg], v, now);
			i += 4;
			break;
		case 2:
			do_set_irq(&l, arg, op & 8);
			i++;
			break;
		case 3:
			do_ack(&l, op & 8, now);
			break;
		case 4:
			step = (u64)arg << ((op >> 3) & 31);
			now = MIN(now + step, NOW_MAX);
			i++;
			break;
		case 5:
			do_expire(&l, now);
			break;
		case 6:
			do_match(&l, v);
			i += 4;
			break;
		case 7:
			vlapic_reset(&l, arg);
			i++;
			break;
		}
		check_state(&l, now);
	}
	return 0;
}
