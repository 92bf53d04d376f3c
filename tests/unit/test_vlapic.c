/* Unit tests for the virtual local APIC (kernel/vdev/vlapic.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/vlapic.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define NONE (~0ull)
#define MASKED APIC_LVT_MASKED
#define DM(m) VLAPIC_DM_##m
#define LVT_OFFSETS { APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, \
		      APIC_LVT1, APIC_LVTERR, APIC_LVT_CMCI }

static int setup(void **state)
{
	struct vlapic *l = malloc(sizeof(*l));

	if (!l)
		return -1;
	memset(l, 0xa5, sizeof(*l)); /* vlapic_reset must not rely on zeroes */
	vlapic_reset(l, 3);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static u32 rd_at(struct vlapic *l, u32 offset, u64 now)
{
	u32 val = 0xdeadbeef;

	assert_int_equal(vlapic_read(l, offset, now, &val), 0);
	return val;
}

static u32 rd(struct vlapic *l, u32 offset)
{
	return rd_at(l, offset, 0);
}

/* A write; returns its VLAPIC_W_* bits. */
static int wr_at(struct vlapic *l, u32 offset, u32 val, u64 now)
{
	struct vlapic_ipi ipi;
	u8 eoi = 0;
	int ret = vlapic_write(l, offset, val, now, &ipi, &eoi);

	assert_true(ret >= 0);
	return ret;
}

static int wr(struct vlapic *l, u32 offset, u32 val)
{
	return wr_at(l, offset, val, 0);
}

/* An EOI that must end @vector; returns its VLAPIC_W_* bits. */
static int eoi(struct vlapic *l, int vector)
{
	struct vlapic_ipi ipi;
	u8 v = 0;
	int ret = vlapic_write(l, APIC_EOI, 0, 0, &ipi, &v);

	assert_int_equal(v, vector);
	return ret;
}

static void enable(struct vlapic *l)
{
	wr(l, APIC_SVR, APIC_SVR_ENABLED | 0xff);
}

static bool bit(const u32 *set, unsigned int v)
{
	return set[v / 32] & (1u << (v % 32));
}

/* What the ESR shows after the write that latches it. */
static u32 esr(struct vlapic *l)
{
	wr(l, APIC_ESR, 0);
	return rd(l, APIC_ESR);
}

static void test_reset_values(void **state)
{
	static const struct {
		u32 offset, val;
	} regs[] = {
		{ APIC_ID, 0x03000000 }, { APIC_LVR, 0x00060014 },
		{ APIC_TPR, 0 }, { APIC_APR, 0 }, { APIC_PPR, 0 },
		{ APIC_EOI, 0 }, { APIC_RRD, 0 }, { APIC_LDR, 0 },
		{ APIC_DFR, 0xffffffff }, { APIC_SVR, 0xff },
		{ APIC_ESR, 0 }, { APIC_ICR, 0 }, { APIC_ICR2, 0 },
		{ APIC_LVTT, MASKED }, { APIC_LVTTHMR, MASKED },
		{ APIC_LVTPC, MASKED }, { APIC_LVT0, MASKED },
		{ APIC_LVT1, MASKED }, { APIC_LVTERR, MASKED },
		{ APIC_LVT_CMCI, MASKED }, { APIC_TMICT, 0 },
		{ APIC_TMCCT, 0 }, { APIC_TDCR, 0 }, { APIC_SELF_IPI, 0 },
		{ 0x000, 0 }, { 0x010, 0 }, { 0x040, 0 }, { 0x3a0, 0 },
		{ 0xff0, 0 },
	};
	struct vlapic *l = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		assert_int_equal(rd(l, regs[i].offset), regs[i].val);
	for (i = 0; i < 8; i++) {
		assert_int_equal(rd(l, APIC_ISR + i * 16), 0);
		assert_int_equal(rd(l, APIC_TMR + i * 16), 0);
		assert_int_equal(rd(l, APIC_IRR + i * 16), 0);
	}
	assert_int_equal(vlapic_pending(l), -1);
	assert_true(vlapic_timer_deadline(l) == NONE);
}

static void test_bad_offsets(void **state)
{
	static const u32 bad[] = { 0x1000, 0x1010, 0x21, 0x24, 0x28, 0x2c,
				   0xffc, 0xffffffff };
	struct vlapic *l = *state;
	struct vlapic_ipi ipi;
	u32 val, off;
	u8 v;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(vlapic_read(l, bad[i], 0, &val), -HV_EINVAL);
		assert_int_equal(vlapic_write(l, bad[i], 0, 0, &ipi, &v),
				 -HV_EINVAL);
	}
	for (off = 0; off < VLAPIC_PAGE; off += 16)
		assert_int_equal(vlapic_read(l, off, 0, &val), 0);
}

/* What reads back after writing all ones (or @written), APIC enabled. */
static void test_register_masks(void **state)
{
	static const struct {
		u32 offset, written, read;
	} cases[] = {
		{ APIC_TPR, ~0u, 0xff }, { APIC_LDR, ~0u, 0xff000000 },
		{ APIC_DFR, 0, 0x0fffffff },
		{ APIC_DFR, 0x12345678, 0x1fffffff },
		{ APIC_ICR2, ~0u, 0xff000000 }, { APIC_TDCR, ~0u, 0xb },
		{ APIC_LVTT, ~0u, 0x300ff }, { APIC_LVTT, 0x400ec, 0xec },
		{ APIC_LVTTHMR, ~0u, 0x107ff }, { APIC_LVTPC, ~0u, 0x107ff },
		{ APIC_LVT0, ~0u, 0x1a7ff }, { APIC_LVT1, ~0u, 0x1a7ff },
		{ APIC_LVTERR, ~0u, 0x100ff }, { APIC_LVT_CMCI, ~0u, 0x107ff },
		{ APIC_LVT0, 0x700, 0x700 }, /* ExtINT, unmasked */
		/* Read only: ID, version, priorities (TPR is 0xff by now),
		 * vector sets, TMCCT. */
		{ APIC_ID, ~0u, 0x03000000 }, { APIC_LVR, 0, 0x00060014 },
		{ APIC_APR, 0, 0xff }, { APIC_PPR, 0, 0xff },
		{ APIC_RRD, ~0u, 0 },
		{ APIC_ISR + 0x70, ~0u, 0 }, { APIC_TMR, ~0u, 0 },
		{ APIC_IRR + 0x10, ~0u, 0 }, { APIC_TMCCT, ~0u, 0 },
		{ 0x3a0, ~0u, 0 }, { APIC_SVR, ~0u, 0x3ff },
	};
	struct vlapic *l = *state;
	unsigned int i;

	enable(l);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		wr(l, cases[i].offset, cases[i].written);
		assert_int_equal(rd(l, cases[i].offset), cases[i].read);
	}
	/* ICR: no delivery status, no reserved bits. */
	assert_int_equal(wr(l, APIC_ICR, 0xfffff0ff), VLAPIC_W_IPI);
	assert_int_equal(rd(l, APIC_ICR), 0x000cc0ff);
}

/* Software disabled: LVT masks forced on, and they stay on. */
static void test_sw_disable(void **state)
{
	static const u32 lvts[] = LVT_OFFSETS;
	struct vlapic *l = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lvts); i++) {
		wr(l, lvts[i], 0x40);
		assert_int_equal(rd(l, lvts[i]), APIC_LVT_MASKED | 0x40);
	}
	enable(l);
	for (i = 0; i < ARRAY_SIZE(lvts); i++) {
		wr(l, lvts[i], 0x41);
		assert_int_equal(rd(l, lvts[i]), 0x41);
	}
	wr(l, APIC_SVR, 0x1ff & ~APIC_SVR_ENABLED);
	for (i = 0; i < ARRAY_SIZE(lvts); i++)
		assert_int_equal(rd(l, lvts[i]), APIC_LVT_MASKED | 0x41);
	enable(l);
	assert_int_equal(rd(l, APIC_LVTT), APIC_LVT_MASKED | 0x41);

	/* Fixed interrupts are dropped while disabled... */
	wr(l, APIC_SVR, 0xff);
	vlapic_set_irq(l, 0x50, false);
	assert_false(bit(l->irr, 0x50));
	/* ...those in IRR before wait for the APIC to be enabled. */
	enable(l);
	vlapic_set_irq(l, 0x50, false);
	wr(l, APIC_SVR, 0xff);
	assert_int_equal(vlapic_pending(l), -1);
	assert_int_equal(wr(l, APIC_SVR, 0x1ff), VLAPIC_W_IRQ);
	assert_int_equal(vlapic_pending(l), 0x50);
}

/* PPR = TPR, or the highest in-service class when that is above it. */
static void test_ppr(void **state)
{
	static const struct {
		u32 tpr;
		int isr; /* -1: none */
		u32 ppr;
	} cases[] = {
		{ 0x00, -1, 0x00 }, { 0x35, -1, 0x35 }, { 0x35, 0x31, 0x35 },
		{ 0x35, 0x3f, 0x35 }, { 0x35, 0x41, 0x40 },
		{ 0x00, 0xfe, 0xf0 },
		{ 0xff, 0xfe, 0xff },
	};
	struct vlapic *l = *state;
	unsigned int i;

	enable(l);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(l->isr, 0, sizeof(l->isr));
		if (cases[i].isr >= 0)
			l->isr[cases[i].isr / 32] = 1u << (cases[i].isr % 32);
		wr(l, APIC_TPR, cases[i].tpr);
		assert_int_equal(rd(l, APIC_PPR), cases[i].ppr);
	}
}

/* Only a class above PPR's is delivered; lowering TPR says so. */
static void test_tpr_masking(void **state)
{
	struct vlapic *l = *state;

	enable(l);
	assert_int_equal(wr(l, APIC_TPR, 0x50), 0);
	vlapic_set_irq(l, 0x5f, false);
	assert_int_equal(vlapic_pending(l), -1); /* same class */
	vlapic_set_irq(l, 0x61, false);
	assert_int_equal(vlapic_pending(l), 0x61);
	assert_int_equal(rd(l, APIC_APR), 0x60); /* IRR class above TPR */
	assert_int_equal(wr(l, APIC_TPR, 0x70), 0);
	assert_int_equal(vlapic_pending(l), -1);
	assert_int_equal(rd(l, APIC_APR), 0x70);
	assert_int_equal(wr(l, APIC_TPR, 0x4f), VLAPIC_W_IRQ);
	assert_int_equal(vlapic_pending(l), 0x61);
	vlapic_ack(l, 0x61);
	assert_int_equal(vlapic_pending(l), -1); /* 0x5f below ISR's 0x60 */
	assert_int_equal(eoi(l, 0x61), VLAPIC_W_IRQ);
	assert_int_equal(vlapic_pending(l), 0x5f);
}

/* Nested interrupts: acks push, EOIs pop the highest first. */
static void test_ack_eoi_nested(void **state)
{
	struct vlapic *l = *state;

	enable(l);
	vlapic_set_irq(l, 0x40, false);
	vlapic_set_irq(l, 0x41, false);
	assert_int_equal(vlapic_pending(l), 0x41);
	vlapic_ack(l, 0x41);
	assert_int_equal(rd(l, APIC_ISR + 0x20), 1u << 1);
	assert_int_equal(rd(l, APIC_IRR + 0x20), 1u << 0);
	assert_int_equal(vlapic_pending(l), -1);
	vlapic_set_irq(l, 0x80, false);
	assert_int_equal(vlapic_pending(l), 0x80);
	vlapic_ack(l, 0x80);
	vlapic_set_irq(l, 0xa0, false);
	vlapic_ack(l, 0xa0);
	assert_int_equal(rd(l, APIC_PPR), 0xa0);
	vlapic_set_irq(l, 0x90, false);
	assert_int_equal(vlapic_pending(l), -1);
	assert_int_equal(eoi(l, 0xa0), VLAPIC_W_IRQ); /* 0x90 now beats 0x80 */
	assert_int_equal(vlapic_pending(l), 0x90);
	vlapic_ack(l, 0x90);
	assert_int_equal(eoi(l, 0x90), 0);
	assert_int_equal(eoi(l, 0x80), 0);
	assert_int_equal(eoi(l, 0x41), VLAPIC_W_IRQ);
	assert_int_equal(vlapic_pending(l), 0x40);
	vlapic_ack(l, 0x40);
	assert_int_equal(eoi(l, 0x40), 0);
	assert_int_equal(eoi(l, 0), 0); /* nothing in service: no-op */
	vlapic_ack(l, 0x77); /* not in IRR: ignored */
	assert_int_equal(rd(l, APIC_ISR + 0x30), 0);
}

/* TMR follows the last acceptance; a level EOI tells the IOAPIC. */
static void test_level_eoi(void **state)
{
	struct vlapic *l = *state;

	enable(l);
	vlapic_set_irq(l, 0x61, true);
	assert_true(bit(l->tmr, 0x61));
	assert_int_equal(rd(l, APIC_TMR + 0x30), 1u << 1);
	vlapic_ack(l, 0x61);
	assert_int_equal(eoi(l, 0x61), VLAPIC_W_EOI);
	vlapic_set_irq(l, 0x61, false);
	assert_false(bit(l->tmr, 0x61));
	vlapic_ack(l, 0x61);
	assert_int_equal(eoi(l, 0x61), 0);
}

static void test_illegal_vectors(void **state)
{
	struct vlapic *l = *state;
	struct vlapic_ipi ipi;
	u8 v;

	enable(l);
	vlapic_set_irq(l, 15, false);
	assert_int_equal(l->irr[0], 0);
	assert_int_equal(rd(l, APIC_ESR), 0); /* not latched yet */
	assert_int_equal(esr(l), 0x40);       /* receive illegal vector */
	assert_int_equal(esr(l), 0);          /* the write cleared it */
	/* Fixed or lowest-priority ICR: send illegal vector, nothing sent. */
	assert_int_equal(vlapic_write(l, APIC_ICR, 0x4003, 0, &ipi, &v), 0);
	assert_int_equal(vlapic_write(l, APIC_ICR, 0x410f, 0, &ipi, &v), 0);
	assert_int_equal(esr(l), 0x20);
	/* NMI, INIT and SIPI ignore or accept any vector. */
	assert_int_equal(wr(l, APIC_ICR, 0x4400), VLAPIC_W_IPI);
	assert_int_equal(wr(l, APIC_ICR, 0x4600), VLAPIC_W_IPI);
	assert_int_equal(esr(l), 0);
	assert_int_equal(wr(l, APIC_SELF_IPI, 2), 0);
	assert_int_equal(esr(l), 0x40);
	/* Unmasked error LVT: an error raises its vector. */
	wr(l, APIC_LVTERR, 0xfe);
	assert_int_equal(wr(l, APIC_ICR, 0x4001), VLAPIC_W_IRQ);
	assert_int_equal(vlapic_pending(l), 0xfe);
	/* An illegal vector in the error LVT itself: logged, no loop. */
	wr(l, APIC_LVTERR, 0x05);
	vlapic_set_irq(l, 1, false);
	assert_int_equal(esr(l), 0x60);
	/* An LVT with an illegal vector errs when it fires. */
	wr(l, APIC_LVTT, 0x0a);
	assert_int_equal(esr(l), 0);
	wr(l, APIC_TDCR, 0xb);
	wr_at(l, APIC_TMICT, 10, 100);
	assert_false(vlapic_timer_expire(l, 110));
	assert_int_equal(l->irr[0], 0);
	assert_int_equal(esr(l), 0x40);
}

static void arm(struct vlapic *l, u32 lvtt, u32 tdcr, u32 count, u64 now)
{
	wr(l, APIC_LVTT, lvtt);
	wr(l, APIC_TDCR, tdcr);
	assert_int_equal(wr_at(l, APIC_TMICT, count, now), VLAPIC_W_TIMER);
}

static void test_timer_oneshot(void **state)
{
	struct vlapic *l = *state;

	enable(l);
	arm(l, 0xec, 0xb, 1000, 100);
	assert_int_equal(vlapic_timer_deadline(l), 1100);
	assert_int_equal(rd_at(l, APIC_TMCCT, 100), 1000);
	assert_int_equal(rd_at(l, APIC_TMCCT, 600), 500);
	assert_int_equal(rd_at(l, APIC_TMCCT, 1099), 1);
	assert_int_equal(rd_at(l, APIC_TMCCT, 1100), 0);
	assert_int_equal(rd_at(l, APIC_TMICT, 5000), 1000);
	assert_false(vlapic_timer_expire(l, 1099));
	assert_true(vlapic_timer_expire(l, 1100));
	assert_true(bit(l->irr, 0xec));
	assert_int_equal(l->timer_fired, 1);
	assert_true(vlapic_timer_deadline(l) == NONE);
	assert_false(vlapic_timer_expire(l, 5000));
	assert_int_equal(rd_at(l, APIC_TMCCT, 5000), 0);
	/* Mode 2 (TSC deadline) is not offered: it reads back one-shot. */
	wr(l, APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | 0xec);
	assert_int_equal(rd(l, APIC_LVTT), 0xec);
}

/* TDCR bits 3,1,0: 0b111 is 1, n otherwise 2^(n+1). */
static void test_timer_divide(void **state)
{
	static const struct {
		u32 tdcr, divide;
	} cases[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 },
		{ 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 }, { 0xf4, 2 },
	};
	struct vlapic *l = *state;
	unsigned int i;
	u64 d, t0 = 1000;

	enable(l);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		d = cases[i].divide;
		arm(l, 0x30, cases[i].tdcr, 0xffffffff, t0);
		assert_true(vlapic_timer_deadline(l) == t0 + 0xffffffffull * d);
		/* Each count takes d ticks. */
		assert_int_equal(rd_at(l, APIC_TMCCT, t0 + 3 * d), 0xfffffffc);
		assert_int_equal(rd_at(l, APIC_TMCCT, t0 + 4 * d - 1),
				 0xfffffffc);
	}
}

static void test_timer_periodic(void **state)
{
	struct vlapic *l = *state;

	enable(l);
	arm(l, APIC_LVT_TIMER_PERIODIC | 0xec, 0x0, 50, 0); /* 100 ticks */
	assert_int_equal(vlapic_timer_deadline(l), 100);
	assert_true(vlapic_timer_expire(l, 100));
	assert_int_equal(vlapic_timer_deadline(l), 200);
	assert_int_equal(rd_at(l, APIC_TMCCT, 100), 50);
	assert_int_equal(rd_at(l, APIC_TMCCT, 150), 25);
	/* Late: the reload wraps even before vlapic_timer_expire runs. */
	assert_int_equal(rd_at(l, APIC_TMCCT, 220), 40);
	/* Missed periods collapse into one interrupt, on the old grid. */
	assert_true(vlapic_timer_expire(l, 455));
	assert_int_equal(vlapic_timer_deadline(l), 500);
	assert_int_equal(l->timer_fired, 2);
	/* Masked: no interrupt, but the count keeps its period. */
	wr(l, APIC_LVTT, APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | 0xec);
	assert_false(vlapic_timer_expire(l, 500));
	assert_int_equal(vlapic_timer_deadline(l), 600);
	/* Back to one-shot mid-count: the next expiry is the last. */
	wr(l, APIC_LVTT, 0xec);
	assert_true(vlapic_timer_expire(l, 600));
	assert_true(vlapic_timer_deadline(l) == NONE);
	assert_int_equal(l->timer_fired, 3);
}

static void test_timer_restart_stop(void **state)
{
	struct vlapic *l = *state;

	enable(l);
	arm(l, 0xec, 0xb, 1000, 0);
	assert_int_equal(wr_at(l, APIC_TMICT, 300, 500), VLAPIC_W_TIMER);
	assert_int_equal(vlapic_timer_deadline(l), 800);
	assert_int_equal(rd_at(l, APIC_TMCCT, 500), 300);
	assert_int_equal(wr_at(l, APIC_TMICT, 0, 600), VLAPIC_W_TIMER);
	assert_true(vlapic_timer_deadline(l) == NONE);
	assert_int_equal(rd_at(l, APIC_TMCCT, 600), 0);
	assert_false(vlapic_timer_expire(l, 10000));
	/* A new divider mid-count: what is left runs at the new rate. */
	arm(l, 0xec, 0xb, 1000, 0);
	assert_int_equal(wr_at(l, APIC_TDCR, 0x0, 400), VLAPIC_W_TIMER);
	assert_int_equal(rd_at(l, APIC_TMCCT, 400), 600);
	assert_int_equal(vlapic_timer_deadline(l), 400 + 600 * 2);
	/* ...and none while stopped. */
	wr_at(l, APIC_TMICT, 0, 500);
	assert_int_equal(wr_at(l, APIC_TDCR, 0xb, 500), 0);
	/* A restart after an expiry not yet collected raises it first. */
	arm(l, 0xec, 0xb, 100, 1000);
	assert_int_equal(wr_at(l, APIC_TMICT, 50, 1150),
			 VLAPIC_W_TIMER | VLAPIC_W_IRQ);
	assert_true(bit(l->irr, 0xec));
	assert_int_equal(l->timer_fired, 1);
	assert_int_equal(vlapic_timer_deadline(l), 1200);
	vlapic_ack(l, 0xec);
	eoi(l, 0xec);
	/* Software-disabled: the count goes on, the interrupt does not. */
	arm(l, 0xec, 0xb, 10, 0);
	wr(l, APIC_SVR, 0xff);
	assert_false(vlapic_timer_expire(l, 10));
	assert_false(bit(l->irr, 0xec));
}

/* ICR low bits to vlapic_ipi fields; ICR2 gives the destination. */
static void test_icr_decode(void **state)
{
	static const struct {
		u32 icr;
		struct vlapic_ipi ipi;
	} cases[] = {
		/* vector, mode, shorthand, logical, level, trigger, dest */
		{ 0x000040fd, { 0xfd, DM(FIXED), 0, 0, 1, 0, 0x12 } },
		{ 0x00004931, { 0x31, DM(LOWEST), 0, 1, 1, 0, 0x12 } },
		{ 0x00004400, { 0, DM(NMI), 0, 0, 1, 0, 0x12 } },
		{ 0x00004200, { 0, DM(SMI), 0, 0, 1, 0, 0x12 } },
		{ 0x0000c500, { 0, DM(INIT), 0, 0, 1, 1, 0x12 } },
		/* INIT de-assert: level clear, trigger level */
		{ 0x00008500, { 0, DM(INIT), 0, 0, 0, 1, 0x12 } },
		{ 0x000c4500, { 0, DM(INIT), 3, 0, 1, 0, 0x12 } },
		{ 0x00004608, { 0x08, DM(STARTUP), 0, 0, 1, 0, 0x12 } },
		{ 0x000c4690, { 0x90, DM(STARTUP), 3, 0, 1, 0, 0x12 } },
		{ 0x000440f0, { 0xf0, DM(FIXED), 1, 0, 1, 0, 0x12 } },
		{ 0x000840f1, { 0xf1, DM(FIXED), 2, 0, 1, 0, 0x12 } },
		{ 0x000c08f2, { 0xf2, DM(FIXED), 3, 1, 0, 0, 0x12 } },
	};
	struct vlapic *l = *state;
	struct vlapic_ipi ipi;
	unsigned int i;
	u8 v;

	wr(l, APIC_ICR2, 0x12345678);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&ipi, 0xa5, sizeof(ipi));
		assert_int_equal(vlapic_write(l, APIC_ICR, cases[i].icr, 0,
					      &ipi, &v), VLAPIC_W_IPI);
		assert_int_equal(ipi.vector, cases[i].ipi.vector);
		assert_int_equal(ipi.mode, cases[i].ipi.mode);
		assert_int_equal(ipi.shorthand, cases[i].ipi.shorthand);
		assert_int_equal(ipi.logical, cases[i].ipi.logical);
		assert_int_equal(ipi.level, cases[i].ipi.level);
		assert_int_equal(ipi.trigger_level, cases[i].ipi.trigger_level);
		assert_int_equal(ipi.dest, cases[i].ipi.dest);
		assert_int_equal(rd(l, APIC_ICR), cases[i].icr);
	}
	/* Reserved delivery modes send nothing. */
	assert_int_equal(wr(l, APIC_ICR, 0x4330), 0);
	assert_int_equal(wr(l, APIC_ICR, 0x4730), 0);
	/* The x2APIC SELF_IPI register: a fixed IPI to self. */
	assert_int_equal(vlapic_write(l, APIC_SELF_IPI, 0x1f3, 0, &ipi, &v),
			 VLAPIC_W_IPI);
	assert_int_equal(ipi.vector, 0xf3);
	assert_int_equal(ipi.mode, VLAPIC_DM_FIXED);
	assert_int_equal(ipi.shorthand, VLAPIC_DEST_SELF);
}

static void test_match_dest(void **state)
{
	static const struct {
		u32 id, ldr, dfr;
		u8 shorthand;
		bool logical;
		u32 dest, src;
		bool match;
	} cases[] = {
		/* Physical, then broadcast. */
		{ 3, 0, ~0u, 0, false, 3, 0, true },
		{ 3, 0, ~0u, 0, false, 4, 0, false },
		{ 3, 0, ~0u, 0, false, 0xff, 3, true },
		{ 0x103, 0, ~0u, 0, false, 3, 0, true }, /* xAPIC: 8 bits */
		/* Flat: any shared bit. */
		{ 3, 0x05000000, ~0u, 0, true, 0x04, 0, true },
		{ 3, 0x05000000, ~0u, 0, true, 0x0a, 0, false },
		{ 3, 0x00000000, ~0u, 0, true, 0x0f, 0, false },
		{ 3, 0x00000000, ~0u, 0, true, 0xff, 0, true },
		/* Cluster: same cluster, a shared bit. */
		{ 3, 0x21000000, 0x0fffffff, 0, true, 0x23, 0, true },
		{ 3, 0x21000000, 0x0fffffff, 0, true, 0x22, 0, false },
		{ 3, 0x21000000, 0x0fffffff, 0, true, 0x31, 0, false },
		{ 3, 0x21000000, 0x0fffffff, 0, true, 0xff, 0, true },
		/* A model neither flat nor cluster matches nothing. */
		{ 3, 0x21000000, 0x5fffffff, 0, true, 0x21, 0, false },
		/* Shorthands ignore the destination. */
		{ 3, 0, ~0u, VLAPIC_DEST_SELF, false, 7, 3, true },
		{ 3, 0, ~0u, VLAPIC_DEST_SELF, false, 3, 4, false },
		{ 3, 0, ~0u, VLAPIC_DEST_ALL, false, 7, 3, true },
		{ 3, 0, ~0u, VLAPIC_DEST_ALL, true, 7, 4, true },
		{ 3, 0, ~0u, VLAPIC_DEST_ALL_BUT_SELF, false, 3, 3, false },
		{ 3, 0, ~0u, VLAPIC_DEST_ALL_BUT_SELF, false, 3, 4, true },
	};
	struct vlapic *l = *state;
	struct vlapic_ipi ipi = { 0 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		vlapic_reset(l, cases[i].id);
		wr(l, APIC_LDR, cases[i].ldr);
		wr(l, APIC_DFR, cases[i].dfr);
		ipi.shorthand = cases[i].shorthand;
		ipi.logical = cases[i].logical;
		ipi.dest = cases[i].dest;
		assert_int_equal(vlapic_match_dest(l, &ipi, cases[i].src),
				 cases[i].match);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_values),
		T(test_bad_offsets),
		T(test_register_masks),
		T(test_sw_disable),
		T(test_ppr),
		T(test_tpr_masking),
		T(test_ack_eoi_nested),
		T(test_level_eoi),
		T(test_illegal_vectors),
		T(test_timer_oneshot),
		T(test_timer_divide),
		T(test_timer_periodic),
		T(test_timer_restart_stop),
		T(test_icr_decode),
		T(test_match_dest),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
