/* Unit tests for the virtual I/O APIC (kernel/vdev/vioapic.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/vioapic.h>
#include <lamina/vlapic.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define MASKED ((u32)IOAPIC_RTE_MASKED)
#define LEVEL ((u32)IOAPIC_RTE_LEVEL)
#define REMOTE_IRR ((u32)IOAPIC_RTE_REMOTE_IRR)

static int setup(void **state)
{
	struct vioapic *io = malloc(sizeof(*io));

	if (!io)
		return -1;
	memset(io, 0xa5, sizeof(*io)); /* reset must not rely on zeroes */
	vioapic_reset(io, 2);
	*state = io;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* An indirect register through IOREGSEL and IOWIN. */
static u32 reg_rd(struct vioapic *io, u32 reg)
{
	u32 val = 0xdeadbeef;

	assert_int_equal(vioapic_write(io, IOAPIC_REGSEL, 4, reg, NULL), 0);
	assert_int_equal(vioapic_read(io, IOAPIC_WIN, 4, &val), 0);
	return val;
}

/* Returns what the window write returned (1: *@msg was delivered). */
static int reg_wr_msg(struct vioapic *io, u32 reg, u32 val,
		      struct vioapic_msg *msg)
{
	assert_int_equal(vioapic_write(io, IOAPIC_REGSEL, 4, reg, NULL), 0);
	return vioapic_write(io, IOAPIC_WIN, 4, val, msg);
}

static void reg_wr(struct vioapic *io, u32 reg, u32 val)
{
	struct vioapic_msg msg;

	assert_int_equal(reg_wr_msg(io, reg, val, &msg), 0);
}

static u32 rte_lo(unsigned int pin)
{
	return IOAPIC_REG_REDTBL + 2 * pin;
}

/* A line change that must deliver nothing. */
static void line_quiet(struct vioapic *io, unsigned int pin, bool on)
{
	struct vioapic_msg msg;

	assert_false(vioapic_set_line(io, pin, on, &msg));
}

static void line_delivers(struct vioapic *io, unsigned int pin, u8 vector)
{
	struct vioapic_msg msg = { 0 };

	assert_true(vioapic_set_line(io, pin, true, &msg));
	assert_int_equal(msg.vector, vector);
}

static void test_reset_values(void **state)
{
	struct vioapic *io = *state;
	unsigned int pin;
	u32 val;

	assert_int_equal(vioapic_read(io, IOAPIC_REGSEL, 4, &val), 0);
	assert_int_equal(val, 0);
	assert_int_equal(reg_rd(io, IOAPIC_REG_ID), 0x02000000);
	assert_int_equal(reg_rd(io, IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(reg_rd(io, IOAPIC_REG_ARB), 0x02000000);
	for (pin = 0; pin < VIOAPIC_PINS; pin++) {
		assert_int_equal(reg_rd(io, rte_lo(pin)), MASKED);
		assert_int_equal(reg_rd(io, rte_lo(pin) + 1), 0);
	}
	assert_int_equal(io->lines, 0);
	assert_int_equal(io->delivered, 0);
}

static void test_bad_access(void **state)
{
	static const struct {
		u32 offset;
		unsigned int size;
	} bad[] = {
		{ 0x04, 4 }, { 0x08, 4 }, { 0x14, 4 }, { 0x20, 4 },
		{ IOAPIC_EOIR, 4 }, { 0xfff, 4 }, { IOAPIC_REGSEL, 1 },
		{ IOAPIC_REGSEL, 2 }, { IOAPIC_WIN, 8 }, { IOAPIC_WIN, 0 },
	};
	struct vioapic *io = *state;
	struct vioapic_msg msg;
	unsigned int i;
	u32 val;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(vioapic_read(io, bad[i].offset, bad[i].size,
					      &val), -HV_EINVAL);
		assert_int_equal(vioapic_write(io, bad[i].offset, bad[i].size,
					       0x12, &msg), -HV_EINVAL);
	}
	assert_int_equal(reg_rd(io, IOAPIC_REG_ID), 0x02000000);
}

/* IOREGSEL keeps 8 bits; missing registers read 0 and ignore writes. */
static void test_select_window(void **state)
{
	static const u32 missing[] = { 0x03, 0x0f, 0x40, 0x41, 0x80, 0xff };
	struct vioapic *io = *state;
	unsigned int i;
	u32 val;

	assert_int_equal(vioapic_write(io, IOAPIC_REGSEL, 4, 0x1ff, NULL), 0);
	assert_int_equal(vioapic_read(io, IOAPIC_REGSEL, 4, &val), 0);
	assert_int_equal(val, 0xff);
	for (i = 0; i < ARRAY_SIZE(missing); i++) {
		reg_wr(io, missing[i], ~0u);
		assert_int_equal(reg_rd(io, missing[i]), 0);
	}
	/* ID: bits 27:24 only; version and arbitration are read only. */
	reg_wr(io, IOAPIC_REG_ID, ~0u);
	assert_int_equal(reg_rd(io, IOAPIC_REG_ID), 0x0f000000);
	reg_wr(io, IOAPIC_REG_VER, 0);
	assert_int_equal(reg_rd(io, IOAPIC_REG_VER), 0x00170011);
	reg_wr(io, IOAPIC_REG_ARB, 0);
	assert_int_equal(reg_rd(io, IOAPIC_REG_ARB), 0x0f000000);
	/* Each entry is its own: the last pin, then the first still reset. */
	reg_wr(io, rte_lo(23), 0x1234);
	reg_wr(io, rte_lo(23) + 1, 0xab000000);
	assert_int_equal(reg_rd(io, rte_lo(23)), 0x0234);
	assert_int_equal(reg_rd(io, rte_lo(23) + 1), 0xab000000);
	assert_int_equal(reg_rd(io, rte_lo(0)), MASKED);
}

/* Delivery status and remote IRR are read only; reserved bits read 0. */
static void test_rte_bits(void **state)
{
	struct vioapic *io = *state;

	reg_wr(io, rte_lo(5), ~0u & ~LEVEL);
	/* All but 15 (not written) and the read-only 14 and 12. */
	assert_int_equal(reg_rd(io, rte_lo(5)), 0x12fff);
	reg_wr(io, rte_lo(5) + 1, ~0u);
	assert_int_equal(reg_rd(io, rte_lo(5) + 1), 0xff000000);
	/* A level delivery sets remote IRR; writes keep it. */
	reg_wr(io, rte_lo(5), LEVEL | 0x40);
	line_delivers(io, 5, 0x40);
	assert_int_equal(reg_rd(io, rte_lo(5)), LEVEL | REMOTE_IRR | 0x40);
	reg_wr(io, rte_lo(5), LEVEL | MASKED | 0x1000 | 0x41);
	assert_int_equal(reg_rd(io, rte_lo(5)),
			 LEVEL | MASKED | REMOTE_IRR | 0x41);
	reg_wr(io, rte_lo(5) + 1, 0x01000000); /* the high half too */
	assert_true(reg_rd(io, rte_lo(5)) & REMOTE_IRR);
}

static void test_msg_fields(void **state)
{
	struct vioapic *io = *state;
	struct vioapic_msg msg;

	/* Lowest priority, logical, level, active low, to 0x0f. */
	reg_wr(io, rte_lo(9) + 1, 0x0f000000);
	reg_wr(io, rte_lo(9), LEVEL | 0x2000 | 0x800 | 0x100 | 0x39);
	memset(&msg, 0xa5, sizeof(msg));
	assert_true(vioapic_set_line(io, 9, true, &msg));
	assert_int_equal(msg.vector, 0x39);
	assert_int_equal(msg.mode, VLAPIC_DM_LOWEST);
	assert_true(msg.logical);
	assert_true(msg.level);
	assert_int_equal(msg.dest, 0x0f);
	/* ExtINT, physical, edge. */
	reg_wr(io, rte_lo(0) + 1, 0);
	reg_wr(io, rte_lo(0), 0x700);
	assert_true(vioapic_set_line(io, 0, true, &msg));
	assert_int_equal(msg.mode, 7);
	assert_false(msg.logical);
	assert_false(msg.level);
	assert_int_equal(msg.dest, 0);
	assert_int_equal(io->delivered, 2);
}

/* Edge: each rising edge once; an edge while masked is lost. */
static void test_edge(void **state)
{
	struct vioapic *io = *state;

	reg_wr(io, rte_lo(4), 0x24);
	line_delivers(io, 4, 0x24);
	line_quiet(io, 4, true); /* still high: no edge */
	line_quiet(io, 4, false);
	line_delivers(io, 4, 0x24);
	assert_int_equal(reg_rd(io, rte_lo(4)), 0x24); /* no remote IRR */
	line_quiet(io, 4, false);
	reg_wr(io, rte_lo(4), MASKED | 0x24);
	line_quiet(io, 4, true);
	assert_int_equal(io->lines, 1u << 4);
	reg_wr(io, rte_lo(4), 0x24); /* unmasking a high edge pin: nothing */
	line_quiet(io, 4, true);
	line_quiet(io, 24, true); /* no such pin */
	line_quiet(io, ~0u, true);
	assert_int_equal(io->lines, 1u << 4);
	assert_int_equal(io->delivered, 2);
}

/* Level: one message until the EOI; redelivered while still asserted. */
static void test_level_eoi(void **state)
{
	struct vioapic *io = *state;
	struct vioapic_msg msgs[VIOAPIC_PINS];

	reg_wr(io, rte_lo(10), LEVEL | 0x3a);
	line_delivers(io, 10, 0x3a);
	line_quiet(io, 10, true);
	assert_int_equal(vioapic_eoi(io, 0x3b, msgs, VIOAPIC_PINS), 0);
	assert_true(reg_rd(io, rte_lo(10)) & REMOTE_IRR);
	assert_int_equal(vioapic_eoi(io, 0x3a, msgs, VIOAPIC_PINS), 1);
	assert_int_equal(msgs[0].vector, 0x3a);
	assert_true(msgs[0].level);
	assert_true(reg_rd(io, rte_lo(10)) & REMOTE_IRR);
	line_quiet(io, 10, false);
	assert_int_equal(vioapic_eoi(io, 0x3a, msgs, VIOAPIC_PINS), 0);
	assert_int_equal(reg_rd(io, rte_lo(10)), LEVEL | 0x3a);
	line_delivers(io, 10, 0x3a);
	/* Masked and asserted: nothing until unmasked, then at once. */
	reg_wr(io, rte_lo(11), MASKED | LEVEL | 0x3b);
	line_quiet(io, 11, true);
	assert_false(reg_rd(io, rte_lo(11)) & REMOTE_IRR);
	assert_int_equal(reg_wr_msg(io, rte_lo(11), LEVEL | 0x3b, msgs), 1);
	assert_int_equal(msgs[0].vector, 0x3b);
	assert_true(reg_rd(io, rte_lo(11)) & REMOTE_IRR);
	/* An EOI while masked clears remote IRR and delivers nothing. */
	reg_wr(io, rte_lo(11), MASKED | LEVEL | 0x3b);
	assert_int_equal(vioapic_eoi(io, 0x3b, msgs, VIOAPIC_PINS), 0);
	assert_false(reg_rd(io, rte_lo(11)) & REMOTE_IRR);
	assert_int_equal(io->delivered, 4);
}

/* Linux (IOAPIC 0x11) clears a stuck remote IRR via edge and back. */
static void test_edge_toggle_clears_remote_irr(void **state)
{
	struct vioapic *io = *state;
	struct vioapic_msg msg;

	reg_wr(io, rte_lo(3), LEVEL | 0x33);
	line_delivers(io, 3, 0x33);
	reg_wr(io, rte_lo(3), MASKED | 0x33);
	assert_int_equal(reg_rd(io, rte_lo(3)), MASKED | 0x33);
	reg_wr(io, rte_lo(3), MASKED | LEVEL | 0x33);
	assert_int_equal(reg_wr_msg(io, rte_lo(3), LEVEL | 0x33, &msg), 1);
	assert_int_equal(msg.vector, 0x33);
}

/* One EOI can end several pins sharing a vector; @max bounds the msgs. */
static void test_eoi_shared_vector(void **state)
{
	struct vioapic *io = *state;
	struct vioapic_msg msgs[2];

	reg_wr(io, rte_lo(16), LEVEL | 0x50);
	reg_wr(io, rte_lo(17), LEVEL | 0x50);
	reg_wr(io, rte_lo(18), LEVEL | 0x50);
	line_delivers(io, 16, 0x50);
	line_delivers(io, 17, 0x50);
	line_delivers(io, 18, 0x50);
	line_quiet(io, 17, false);
	assert_int_equal(vioapic_eoi(io, 0x50, msgs, 2), 2);
	assert_int_equal(io->delivered, 5);
	assert_int_equal(vioapic_eoi(io, 0x50, msgs, 0), 0);
	assert_int_equal(reg_rd(io, rte_lo(16)), LEVEL | 0x50);
	line_delivers(io, 16, 0x50); /* already high: level still counts */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_values),
		T(test_bad_access),
		T(test_select_window),
		T(test_rte_bits),
		T(test_msg_fields),
		T(test_edge),
		T(test_level_eoi),
		T(test_edge_toggle_clears_remote_irr),
		T(test_eoi_shared_vector),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
