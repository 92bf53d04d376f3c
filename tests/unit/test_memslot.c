/* Unit tests for memslots (mm/memslot.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/memslot.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define LIMIT MEMSLOT_GFN_LIMIT
#define NONE (-1)

static u64 bitmap_a[4], bitmap_b[4];

static void add_ok(struct memslots *ms, u16 id, u64 base, u64 npages,
		   u64 backing, u32 flags, u64 *bitmap)
{
	struct memslot s = { .base_gfn = base, .npages = npages,
			     .backing = backing, .flags = flags, .id = id,
			     .dirty_bitmap = bitmap };
	char why[128] = "";

	if (memslot_add(ms, &s, why, sizeof(why)))
		fail_msg("add slot %u: %s", id, why);
}

/* The id of the slot holding @gfn, or NONE. */
static int find_id(struct memslots *ms, u64 gfn)
{
	const struct memslot *s = memslot_find(ms, gfn);

	return s ? s->id : NONE;
}

/* Sorted, disjoint, id_to_index both ways, bitmap only with LOG_DIRTY. */
static void assert_consistent(const struct memslots *ms)
{
	unsigned int i, mapped = 0;

	assert_true(ms->used <= MAX_MEMSLOTS);
	for (i = 0; i < ms->used; i++) {
		const struct memslot *s = &ms->slots[i];

		assert_true(s->npages > 0);
		assert_true(s->base_gfn + s->npages <= LIMIT);
		assert_true(s->id < MAX_MEMSLOTS);
		assert_int_equal(ms->id_to_index[s->id], i);
		assert_int_equal(s->flags & ~MEMSLOT_FLAGS_ALL, 0);
		assert_int_equal(!!s->dirty_bitmap,
				 !!(s->flags & MEMSLOT_LOG_DIRTY));
		if (i + 1 < ms->used)
			assert_true(s->base_gfn + s->npages <=
				    ms->slots[i + 1].base_gfn);
	}
	for (i = 0; i < MAX_MEMSLOTS; i++) {
		if (ms->id_to_index[i] == -1)
			continue;
		assert_true(ms->id_to_index[i] >= 0);
		assert_true((unsigned int)ms->id_to_index[i] < ms->used);
		assert_int_equal(ms->slots[ms->id_to_index[i]].id, i);
		mapped++;
	}
	assert_int_equal(mapped, ms->used);
}

/* Three slots, the last-hit hint on the middle one. */
static void populate(struct memslots *ms)
{
	memslots_init(ms);
	add_ok(ms, 1, 0x180, 0x100, 0x100000, 0, NULL);
	add_ok(ms, 2, 0x1000, 0x10, 0x200000, MEMSLOT_LOG_DIRTY, bitmap_a);
	add_ok(ms, 7, 0xfee00, 1, 0xfee00000, MEMSLOT_MMIO, NULL);
	assert_int_equal(find_id(ms, 0x1005), 2);
	assert_int_equal(ms->last_hit, 1);
}

static int setup(void **state)
{
	struct memslots *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return -1;
	*state = ms;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void test_init(void **state)
{
	struct memslots *ms = *state;
	static const u64 gfns[] = { 0, 1, 0x1000, LIMIT - 1, LIMIT, ~0ull };
	unsigned int i;

	memset(ms, 0xa5, sizeof(*ms));
	memslots_init(ms);
	assert_int_equal(ms->generation, 0);
	assert_int_equal(ms->used, 0);
	assert_int_equal(ms->last_hit, 0);
	for (i = 0; i < MAX_MEMSLOTS; i++) {
		assert_int_equal(ms->id_to_index[i], -1);
		assert_null(memslot_by_id(ms, i));
	}
	assert_null(memslot_by_id(ms, MAX_MEMSLOTS));
	assert_null(memslot_by_id(ms, 0xffff));
	for (i = 0; i < ARRAY_SIZE(gfns); i++)
		assert_null(memslot_find(ms, gfns[i]));
	assert_int_equal(ms->last_hit, 0);
}

/* An empty table must not trust slots[last_hit], whatever is left there. */
static void test_find_empty_stale(void **state)
{
	struct memslots *ms = *state;

	memslots_init(ms);
	ms->slots[0] = (struct memslot){ .base_gfn = 0, .npages = 0x1000 };
	ms->slots[5] = ms->slots[0];
	assert_null(memslot_find(ms, 5));
	ms->last_hit = 5;
	assert_null(memslot_find(ms, 5));
	assert_int_equal(ms->last_hit, 5);
}

enum op { OP_ADD, OP_DELETE, OP_MOVE, OP_SET_FLAGS };

/*
 * One refused change. .slot carries the arguments: all of it for OP_ADD,
 * .id for every op, .base_gfn as the new base for OP_MOVE, .flags and
 * .dirty_bitmap for OP_SET_FLAGS.
 */
struct refusal {
	const char *name;
	enum op op;
	struct memslot slot;
	int err;
	const char *why; /* expected in the message */
};

#define ADD(i, b, n, f, bm, back) { .id = i, .base_gfn = b, .npages = n, \
	.flags = f, .dirty_bitmap = bm, .backing = back }

static const struct refusal refusals[] = {
	{ "no pages", OP_ADD, ADD(3, 0x5000, 0, 0, NULL, 0), -HV_EINVAL,
	  "slot 3 at gfn 0x5000: no pages" },
	{ "wraps", OP_ADD, ADD(3, ~0ull - 0xff, 0x200, 0, NULL, 0), -HV_ERANGE,
	  "wraps" },
	{ "wraps to 0", OP_ADD, ADD(3, ~0ull, 1, 0, NULL, 0), -HV_ERANGE,
	  "wraps" },
	{ "ends past limit", OP_ADD, ADD(3, LIMIT - 1, 2, 0, NULL, 0),
	  -HV_ERANGE, "slot 3 [0xffffffffff-0x10000000000] ends beyond" },
	{ "starts at limit", OP_ADD, ADD(3, LIMIT, 1, 0, NULL, 0), -HV_ERANGE,
	  "beyond gfn limit 0x10000000000" },
	{ "id too big", OP_ADD, ADD(MAX_MEMSLOTS, 0x5000, 1, 0, NULL, 0),
	  -HV_EINVAL, "slot id 64 not below 64" },
	{ "id 0xffff", OP_ADD, ADD(0xffff, 0x5000, 1, 0, NULL, 0), -HV_EINVAL,
	  "slot id 65535" },
	{ "id in use", OP_ADD, ADD(1, 0x5000, 1, 0, NULL, 0), -HV_EEXIST,
	  "slot id 1 in use" },
	{ "unknown flag", OP_ADD, ADD(3, 0x5000, 1, 1u << 3, NULL, 0),
	  -HV_EINVAL, "slot 3: unknown flags 0x8" },
	{ "top flag", OP_ADD, ADD(3, 0x5000, 1, 0x80000001u, NULL, 0),
	  -HV_EINVAL, "unknown flags 0x80000000" },
	{ "mmio+dirty", OP_ADD, ADD(3, 0x5000, 1, MEMSLOT_MMIO |
	  MEMSLOT_LOG_DIRTY, bitmap_b, 0), -HV_EINVAL, "MMIO" },
	{ "ro+dirty", OP_ADD, ADD(3, 0x5000, 1, MEMSLOT_READONLY |
	  MEMSLOT_LOG_DIRTY, bitmap_b, 0), -HV_EINVAL, "read-only" },
	{ "dirty, no bitmap", OP_ADD, ADD(3, 0x5000, 1, MEMSLOT_LOG_DIRTY,
	  NULL, 0), -HV_EINVAL, "without a dirty bitmap" },
	{ "backing +1", OP_ADD, ADD(3, 0x5000, 1, 0, NULL, 0x100001),
	  -HV_EINVAL, "backing 0x100001 not 4 KiB aligned" },
	{ "backing 2 KiB", OP_ADD, ADD(3, 0x5000, 1, 0, NULL, 0x100800),
	  -HV_EINVAL, "not 4 KiB aligned" },
	{ "overlap head", OP_ADD, ADD(3, 0x100, 0x100, 0, NULL, 0), -HV_EEXIST,
	  "slot 3 [0x100-0x1ff] overlaps slot 1 [0x180-0x27f]" },
	{ "overlap tail", OP_ADD, ADD(3, 0x27f, 0x10, 0, NULL, 0), -HV_EEXIST,
	  "overlaps slot 1 [0x180-0x27f]" },
	{ "touch first page", OP_ADD, ADD(3, 0x100, 0x81, 0, NULL, 0),
	  -HV_EEXIST, "overlaps slot 1" },
	{ "inside", OP_ADD, ADD(3, 0x1004, 2, 0, NULL, 0), -HV_EEXIST,
	  "overlaps slot 2 [0x1000-0x100f]" },
	{ "around", OP_ADD, ADD(3, 0, 0x100000, 0, NULL, 0), -HV_EEXIST,
	  "overlaps slot" },
	{ "same range", OP_ADD, ADD(3, 0xfee00, 1, 0, NULL, 0), -HV_EEXIST,
	  "overlaps slot 7 [0xfee00-0xfee00]" },
	{ "delete absent", OP_DELETE, { .id = 3 }, -HV_ENOENT,
	  "no slot with id 3" },
	{ "delete id 64", OP_DELETE, { .id = MAX_MEMSLOTS }, -HV_ENOENT,
	  "no slot with id 64" },
	{ "move absent", OP_MOVE, { .id = 3, .base_gfn = 0x5000 }, -HV_ENOENT,
	  "no slot with id 3" },
	{ "move id 0xffff", OP_MOVE, { .id = 0xffff }, -HV_ENOENT, "no slot" },
	{ "move onto other", OP_MOVE, { .id = 1, .base_gfn = 0xf80 },
	  -HV_EEXIST, "slot 1 [0xf80-0x107f] overlaps slot 2 [0x1000-0x100f]" },
	{ "move past limit", OP_MOVE, { .id = 1, .base_gfn = LIMIT - 0xff },
	  -HV_ERANGE, "beyond gfn limit" },
	{ "move wraps", OP_MOVE, { .id = 1, .base_gfn = ~0ull - 0x10 },
	  -HV_ERANGE, "wraps" },
	{ "flags absent", OP_SET_FLAGS, { .id = 3 }, -HV_ENOENT,
	  "no slot with id 3" },
	{ "flags unknown", OP_SET_FLAGS, { .id = 1, .flags = 0x10 },
	  -HV_EINVAL, "unknown flags 0x10" },
	{ "flags mmio+dirty", OP_SET_FLAGS, { .id = 7, .flags = MEMSLOT_MMIO |
	  MEMSLOT_LOG_DIRTY, .dirty_bitmap = bitmap_b }, -HV_EINVAL, "MMIO" },
	{ "flags ro+dirty", OP_SET_FLAGS, { .id = 2, .flags = MEMSLOT_READONLY |
	  MEMSLOT_LOG_DIRTY, .dirty_bitmap = bitmap_b }, -HV_EINVAL,
	  "read-only" },
	{ "flags dirty, no bitmap", OP_SET_FLAGS, { .id = 1,
	  .flags = MEMSLOT_LOG_DIRTY }, -HV_EINVAL, "without a dirty bitmap" },
};

static int run_op(struct memslots *ms, enum op op, const struct memslot *a,
		  char *why, size_t len)
{
	switch (op) {
	case OP_ADD:
		return memslot_add(ms, a, why, len);
	case OP_DELETE:
		return memslot_delete(ms, a->id, why, len);
	case OP_MOVE:
		return memslot_move(ms, a->id, a->base_gfn, why, len);
	case OP_SET_FLAGS:
		return memslot_set_flags(ms, a->id, a->flags, a->dirty_bitmap,
					 why, len);
	}
	return 0;
}

/* Run a refused change and check that not one byte of @ms changed. */
static void check_refusal(struct memslots *ms, const struct refusal *c)
{
	struct memslots before;
	char why[128];
	int err;

	memcpy(&before, ms, sizeof(before));
	/* Garbage up to a terminator that only the length passed protects. */
	memset(why, 'X', sizeof(why));
	why[sizeof(why) - 1] = '\0';
	err = run_op(ms, c->op, &c->slot, why, sizeof(why) - 1);
	if (err != c->err)
		fail_msg("%s: returned %d, expected %d (%s)", c->name, err,
			 c->err, why);
	if (!memchr(why, 0, sizeof(why) - 1) || !strstr(why, c->why))
		fail_msg("%s: message '%s' lacks '%s'", c->name, why, c->why);
	if (strchr(why, '\n'))
		fail_msg("%s: message is not one line", c->name);
	if (memcmp(&before, ms, sizeof(before)))
		fail_msg("%s: the refused change altered the memslots",
			 c->name);
}

static void test_refusals(void **state)
{
	struct memslots *ms = *state;

	for (unsigned int i = 0; i < ARRAY_SIZE(refusals); i++) {
		populate(ms);
		check_refusal(ms, &refusals[i]);
	}
}

/* The whole message; a short buffer cut and terminated; none at all. */
static void test_why_buffer(void **state)
{
	struct memslots *ms = *state;
	struct memslots before;
	struct memslot s = { .id = 3, .base_gfn = 0x100, .npages = 0x100 };
	char why[96];

	populate(ms);
	memcpy(&before, ms, sizeof(before));
	assert_int_equal(memslot_add(ms, &s, why, sizeof(why)), -HV_EEXIST);
	assert_string_equal(why,
			    "slot 3 [0x100-0x1ff] overlaps slot 1 [0x180-0x27f]");
	assert_int_equal(memslot_add(ms, &s, why, 8), -HV_EEXIST);
	assert_string_equal(why, "slot 3 ");
	assert_int_equal(memslot_add(ms, &s, why, 1), -HV_EEXIST);
	assert_string_equal(why, "");
	assert_int_equal(memslot_add(ms, &s, NULL, 0), -HV_EEXIST);
	assert_int_equal(memslot_delete(ms, 9, NULL, 0), -HV_ENOENT);
	assert_int_equal(memcmp(&before, ms, sizeof(before)), 0);
}

static void assert_slot(const struct memslot *s, u16 id, u64 base, u64 npages,
			u64 backing, u32 flags, const u64 *bitmap)
{
	assert_non_null(s);
	assert_int_equal(s->id, id);
	assert_int_equal(s->base_gfn, base);
	assert_int_equal(s->npages, npages);
	assert_int_equal(s->backing, backing);
	assert_int_equal(s->flags, flags);
	assert_ptr_equal(s->dirty_bitmap, bitmap);
}

static void assert_order(const struct memslots *ms, const u16 *ids,
			 unsigned int n)
{
	assert_int_equal(ms->used, n);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(ms->slots[i].id, ids[i]);
	assert_consistent(ms);
}

static void test_add_sorted(void **state)
{
	struct memslots *ms = *state;
	static const u16 order[] = { 0, 3, 4, 5, 9 };

	memslots_init(ms);
	add_ok(ms, 5, 0x500, 0x10, 0x5000, MEMSLOT_READONLY, NULL);
	assert_int_equal(ms->generation, 1);
	add_ok(ms, 3, 0x100, 0x10, 0x1000, 0, NULL);
	add_ok(ms, 9, 0x900, 0x10, 0x9000, MEMSLOT_MMIO, NULL);
	add_ok(ms, 0, 0x0, 0x10, 0x0, MEMSLOT_LOG_DIRTY, bitmap_a);
	/* A bitmap without LOG_DIRTY is not kept. */
	add_ok(ms, 4, 0x300, 0x200, 0x3000, 0, bitmap_b);
	assert_int_equal(ms->generation, 5);
	assert_order(ms, order, ARRAY_SIZE(order));
	assert_slot(memslot_by_id(ms, 5), 5, 0x500, 0x10, 0x5000,
		    MEMSLOT_READONLY, NULL);
	assert_slot(memslot_by_id(ms, 0), 0, 0, 0x10, 0, MEMSLOT_LOG_DIRTY,
		    bitmap_a);
	assert_slot(memslot_by_id(ms, 4), 4, 0x300, 0x200, 0x3000, 0, NULL);
	assert_null(memslot_by_id(ms, 1));
}

/* Adjacent slots, the last gfn below the limit, one slot spanning it all. */
static void test_add_edges(void **state)
{
	struct memslots *ms = *state;

	memslots_init(ms);
	add_ok(ms, 1, 0x100, 0x80, 0, 0, NULL);
	add_ok(ms, 2, 0x180, 0x80, 0, 0, NULL);
	add_ok(ms, 3, 0x80, 0x80, 0, 0, NULL);
	add_ok(ms, 4, LIMIT - 1, 1, 0, 0, NULL);
	add_ok(ms, 5, 0, 0x80, 0, 0, NULL);
	assert_int_equal(ms->generation, 5);
	assert_consistent(ms);
	assert_int_equal(find_id(ms, LIMIT - 1), 4);
	assert_int_equal(find_id(ms, 0x17f), 1);
	assert_int_equal(find_id(ms, 0x180), 2);
	memslots_init(ms);
	add_ok(ms, 63, 0, LIMIT, 0xfffff000, 0, NULL);
	assert_int_equal(find_id(ms, 0), 63);
	assert_int_equal(find_id(ms, LIMIT - 1), 63);
	assert_int_equal(find_id(ms, LIMIT), NONE);
}

static void test_delete(void **state)
{
	struct memslots *ms = *state;
	static const u16 order[] = { 2, 7 };
	char why[96];

	populate(ms);
	assert_int_equal(memslot_delete(ms, 1, why, sizeof(why)), 0);
	assert_int_equal(ms->generation, 4);
	assert_order(ms, order, ARRAY_SIZE(order));
	assert_null(memslot_by_id(ms, 1));
	assert_int_equal(find_id(ms, 0x180), NONE);
	assert_int_equal(find_id(ms, 0x1000), 2);
	assert_int_equal(find_id(ms, 0xfee00), 7);
	/* Nothing stale is left past the end. */
	assert_null(ms->slots[2].dirty_bitmap);
	assert_int_equal(ms->slots[2].npages, 0);
	assert_int_equal(memslot_delete(ms, 1, why, sizeof(why)), -HV_ENOENT);
	assert_int_equal(ms->generation, 4);
	add_ok(ms, 1, 0x2000, 1, 0, 0, NULL);
	assert_int_equal(find_id(ms, 0x2000), 1);
	assert_int_equal(memslot_delete(ms, 7, why, sizeof(why)), 0);
	assert_int_equal(memslot_delete(ms, 2, why, sizeof(why)), 0);
	assert_int_equal(memslot_delete(ms, 1, why, sizeof(why)), 0);
	assert_int_equal(ms->generation, 8);
	assert_order(ms, NULL, 0);
	assert_null(memslot_find(ms, 0x2000));
}

static void test_move(void **state)
{
	struct memslots *ms = *state;
	static const u16 after_first[] = { 2, 1, 7 };
	static const u16 after_second[] = { 2, 7, 1 };
	char why[96];

	populate(ms);
	assert_int_equal(memslot_move(ms, 1, 0x2000, why, sizeof(why)), 0);
	assert_int_equal(ms->generation, 4);
	assert_order(ms, after_first, 3);
	assert_slot(memslot_by_id(ms, 1), 1, 0x2000, 0x100, 0x100000, 0, NULL);
	assert_int_equal(find_id(ms, 0x180), NONE);
	assert_int_equal(find_id(ms, 0x20ff), 1);
	/* Overlapping its own old place is fine. */
	assert_int_equal(memslot_move(ms, 1, 0x2001, why, sizeof(why)), 0);
	assert_int_equal(find_id(ms, 0x2000), NONE);
	assert_int_equal(find_id(ms, 0x2100), 1);
	assert_int_equal(memslot_move(ms, 1, 0x2001, why, sizeof(why)), 0);
	assert_int_equal(ms->generation, 6);
	/* Right up against its neighbours, and to the very top. */
	assert_int_equal(memslot_move(ms, 1, 0x1010, why, sizeof(why)), 0);
	assert_int_equal(memslot_move(ms, 1, LIMIT - 0x100, why, sizeof(why)),
			 0);
	assert_order(ms, after_second, 3);
	assert_slot(memslot_by_id(ms, 2), 2, 0x1000, 0x10, 0x200000,
		    MEMSLOT_LOG_DIRTY, bitmap_a);
	assert_int_equal(find_id(ms, LIMIT - 1), 1);
	assert_int_equal(ms->generation, 8);
}

static void test_set_flags(void **state)
{
	struct memslots *ms = *state;
	static const u16 order[] = { 1, 2, 7 };
	char why[96];

	populate(ms);
	assert_int_equal(memslot_set_flags(ms, 1, MEMSLOT_LOG_DIRTY, bitmap_b,
					   why, sizeof(why)), 0);
	assert_slot(memslot_by_id(ms, 1), 1, 0x180, 0x100, 0x100000,
		    MEMSLOT_LOG_DIRTY, bitmap_b);
	/* Clearing LOG_DIRTY drops the bitmap, whatever is passed. */
	assert_int_equal(memslot_set_flags(ms, 2, MEMSLOT_READONLY, bitmap_b,
					   why, sizeof(why)), 0);
	assert_slot(memslot_by_id(ms, 2), 2, 0x1000, 0x10, 0x200000,
		    MEMSLOT_READONLY, NULL);
	assert_int_equal(memslot_set_flags(ms, 7, MEMSLOT_MMIO |
					   MEMSLOT_READONLY, NULL, why,
					   sizeof(why)), 0);
	assert_int_equal(memslot_by_id(ms, 7)->flags,
			 MEMSLOT_MMIO | MEMSLOT_READONLY);
	/* The same flags again is still a change. */
	assert_int_equal(memslot_set_flags(ms, 7, MEMSLOT_MMIO |
					   MEMSLOT_READONLY, NULL, why,
					   sizeof(why)), 0);
	assert_int_equal(ms->generation, 7);
	assert_order(ms, order, 3);
}

struct find_case {
	u64 gfn;
	int id;
};

static void test_find_boundaries(void **state)
{
	struct memslots *ms = *state;
	static const struct find_case cases[] = {
		{ 0, NONE }, { 0xf, NONE }, { 0x10, 1 }, { 0x1f, 1 },
		{ 0x20, 2 }, { 0x2f, 2 }, { 0x30, NONE }, { 0xff, NONE },
		{ 0x100, 3 }, { 0x1ff, 3 }, { 0x200, NONE },
		{ LIMIT - 2, NONE }, { LIMIT - 1, 4 }, { LIMIT, NONE },
		{ ~0ull, NONE },
	};

	memslots_init(ms);
	add_ok(ms, 3, 0x100, 0x100, 0, 0, NULL);
	add_ok(ms, 1, 0x10, 0x10, 0, 0, NULL);
	add_ok(ms, 4, LIMIT - 1, 1, 0, 0, NULL);
	add_ok(ms, 2, 0x20, 0x10, 0, 0, NULL);
	/* Each gfn with the hint on every slot and past the end. */
	for (unsigned int hint = 0; hint <= ms->used + 1; hint++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
			ms->last_hit = hint;
			if (find_id(ms, cases[i].gfn) != cases[i].id)
				fail_msg("gfn 0x%llx, hint %u: not slot %d",
					 (unsigned long long)cases[i].gfn, hint,
					 cases[i].id);
		}
	}
}

static void test_find_cache(void **state)
{
	struct memslots *ms = *state;
	struct memslots before;

	populate(ms);
	/* Right hint: found through it, and nothing at all is written. */
	ms->last_hit = 0;
	memcpy(&before, ms, sizeof(before));
	assert_int_equal(find_id(ms, 0x190), 1);
	assert_int_equal(memcmp(&before, ms, sizeof(before)), 0);
	/* Wrong hint: found anyway, and the hint follows. */
	ms->last_hit = 2;
	assert_int_equal(find_id(ms, 0x27f), 1);
	assert_int_equal(ms->last_hit, 0);
	assert_int_equal(find_id(ms, 0xfee00), 7);
	assert_int_equal(ms->last_hit, 2);
	/* A hint past the end is ignored. */
	ms->last_hit = MAX_MEMSLOTS + 10;
	assert_int_equal(find_id(ms, 0x100f), 2);
	assert_int_equal(ms->last_hit, 1);
	/* A miss leaves it alone. */
	assert_int_equal(find_id(ms, 0x5000), NONE);
	assert_int_equal(find_id(ms, 0x17f), NONE);
	assert_int_equal(ms->last_hit, 1);
	assert_int_equal(memslot_gfn_to_hpa(memslot_find(ms, 0x27f), 0x27f),
			 0x1ff000);
}

static u64 rng_state;

/* xorshift64*: reproducible from the seed the test prints. */
static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_full_table(void **state)
{
	struct memslots *ms = *state;
	u16 ids[MAX_MEMSLOTS];
	struct memslot s = { .id = 0, .base_gfn = 0x5000, .npages = 1 };
	struct memslots before;
	char why[96];
	unsigned int i;

	rng_state = 0x5eed;
	for (i = 0; i < MAX_MEMSLOTS; i++)
		ids[i] = i;
	for (i = MAX_MEMSLOTS - 1; i > 0; i--) {
		unsigned int j = rnd() % (i + 1);
		u16 t = ids[i];

		ids[i] = ids[j];
		ids[j] = t;
	}
	memslots_init(ms);
	for (i = 0; i < MAX_MEMSLOTS; i++)
		add_ok(ms, ids[i], (u64)((i * 37) % MAX_MEMSLOTS) * 0x10, 0x10,
		       0, 0, NULL);
	assert_consistent(ms);
	assert_int_equal(ms->generation, MAX_MEMSLOTS);
	for (i = 0; i < MAX_MEMSLOTS; i++)
		assert_int_equal(find_id(ms, i * 0x10 + 0xf),
				 ms->slots[i].id);
	memcpy(&before, ms, sizeof(before));
	assert_int_equal(memslot_add(ms, &s, why, sizeof(why)), -HV_ENOMEM);
	assert_non_null(strstr(why, "table full (64 slots)"));
	assert_int_equal(memcmp(&before, ms, sizeof(before)), 0);
	assert_int_equal(memslot_delete(ms, 17, why, sizeof(why)), 0);
	s.id = 17;
	assert_int_equal(memslot_add(ms, &s, why, sizeof(why)), 0);
	assert_int_equal(find_id(ms, 0x5000), 17);
	assert_consistent(ms);
}

/*
 * The randomised test's model: which slot owns each gfn of a small space,
 * and each id's slot. Every range the test makes lies inside the space.
 */
#define MODEL_SPACE 1024
#define MODEL_GFNS (MODEL_SPACE + 256)
#define MODEL_IDS (MAX_MEMSLOTS + 4)

struct model {
	int owner[MODEL_GFNS];
	bool present[MAX_MEMSLOTS];
	struct memslot slot[MAX_MEMSLOTS];
	unsigned int used;
	u64 generation;
	unsigned int ok, refused, most;
};

static bool model_flags_ok(u32 flags, const u64 *bitmap)
{
	if (flags & ~MEMSLOT_FLAGS_ALL)
		return false;
	if (!(flags & MEMSLOT_LOG_DIRTY))
		return true;
	return !(flags & (MEMSLOT_MMIO | MEMSLOT_READONLY)) && bitmap;
}

/* Whether gfns [base, base + n) are free or owned by @self. */
static bool model_free(const struct model *m, u64 base, u64 n, int self)
{
	for (u64 g = base; g < base + n; g++)
		if (m->owner[g] != NONE && m->owner[g] != self)
			return false;
	return true;
}

static void model_own(struct model *m, const struct memslot *s, int id)
{
	for (u64 g = s->base_gfn; g < s->base_gfn + s->npages; g++)
		m->owner[g] = id;
}

/* Mostly valid arguments, so that the table fills and changes succeed. */
static struct memslot random_slot(void)
{
	static const u32 good_flags[] = { 0, MEMSLOT_READONLY, MEMSLOT_MMIO,
		MEMSLOT_READONLY | MEMSLOT_MMIO, MEMSLOT_LOG_DIRTY };
	static const u64 backings[] = { 0, 0x1000, 0x40000000, 0x1234 };
	struct memslot s = { 0 };

	s.id = rnd() % MODEL_IDS;
	s.base_gfn = rnd() % MODEL_SPACE;
	s.npages = rnd() % 32 ? 1 + rnd() % (rnd() % 8 ? 12 : 256) : 0;
	if (rnd() % 4)
		s.flags = good_flags[rnd() % ARRAY_SIZE(good_flags)];
	else if (rnd() % 4)
		s.flags = rnd() % 8;
	else
		s.flags = 1u << (3 + rnd() % 29);
	s.dirty_bitmap = rnd() % 8 ? (rnd() % 2 ? bitmap_a : bitmap_b) : NULL;
	s.backing = backings[rnd() % 32 ? rnd() % 3 : 3];
	return s;
}

static enum op random_op(void)
{
	static const enum op ops[] = { OP_ADD, OP_ADD, OP_ADD, OP_ADD,
		OP_DELETE, OP_MOVE, OP_MOVE, OP_SET_FLAGS, OP_SET_FLAGS };

	return ops[rnd() % ARRAY_SIZE(ops)];
}

static bool model_add(struct model *m, const struct memslot *a)
{
	if (a->id >= MAX_MEMSLOTS || m->present[a->id] || !a->npages ||
	    !model_flags_ok(a->flags, a->dirty_bitmap) ||
	    (a->backing & 0xfff) ||
	    !model_free(m, a->base_gfn, a->npages, NONE))
		return false;
	m->present[a->id] = true;
	m->slot[a->id] = *a;
	if (!(a->flags & MEMSLOT_LOG_DIRTY))
		m->slot[a->id].dirty_bitmap = NULL;
	model_own(m, a, a->id);
	m->used++;
	return true;
}

/* What the model says about @op; applies it when it should succeed. */
static bool model_apply(struct model *m, enum op op, const struct memslot *a)
{
	bool have = a->id < MAX_MEMSLOTS && m->present[a->id];
	struct memslot *s = have ? &m->slot[a->id] : NULL;

	switch (op) {
	case OP_ADD:
		return model_add(m, a);
	case OP_DELETE:
		if (!have)
			return false;
		model_own(m, s, NONE);
		m->present[a->id] = false;
		m->used--;
		return true;
	case OP_MOVE:
		if (!have || !model_free(m, a->base_gfn, s->npages, a->id))
			return false;
		model_own(m, s, NONE);
		s->base_gfn = a->base_gfn;
		model_own(m, s, a->id);
		return true;
	case OP_SET_FLAGS:
		if (!have || !model_flags_ok(a->flags, a->dirty_bitmap))
			return false;
		s->flags = a->flags;
		s->dirty_bitmap = a->flags & MEMSLOT_LOG_DIRTY ?
					  a->dirty_bitmap : NULL;
		return true;
	}
	return false;
}

static int model_owner(const struct model *m, u64 gfn)
{
	return gfn < MODEL_GFNS ? m->owner[gfn] : NONE;
}

static void check_gfn(struct memslots *ms, const struct model *m, u64 gfn,
		      unsigned int step)
{
	int want = model_owner(m, gfn), got = find_id(ms, gfn);

	if (got != want)
		fail_msg("step %u: gfn 0x%llx in slot %d, model says %d", step,
			 (unsigned long long)gfn, got, want);
}

static void check_against_model(struct memslots *ms, const struct model *m,
				unsigned int step)
{
	assert_consistent(ms);
	assert_int_equal(ms->used, m->used);
	assert_int_equal(ms->generation, m->generation);
	for (unsigned int id = 0; id < MAX_MEMSLOTS; id++) {
		const struct memslot *s = memslot_by_id(ms, id);
		const struct memslot *w = &m->slot[id];

		if (!m->present[id]) {
			assert_null(s);
			continue;
		}
		assert_slot(s, id, w->base_gfn, w->npages, w->backing,
			    w->flags, w->dirty_bitmap);
	}
	for (unsigned int i = 0; i < 64; i++)
		check_gfn(ms, m, rnd() % (MODEL_GFNS + 8), step);
	for (unsigned int i = 0; i < ms->used; i++) {
		u64 base = ms->slots[i].base_gfn;
		u64 end = base + ms->slots[i].npages;

		check_gfn(ms, m, base - 1, step);
		check_gfn(ms, m, base, step);
		check_gfn(ms, m, end - 1, step);
		check_gfn(ms, m, end, step);
	}
}

static void random_step(struct memslots *ms, struct model *m,
			unsigned int step)
{
	struct memslot a = random_slot();
	enum op op = random_op();
	struct memslots before;
	char why[128] = "";
	bool want;
	int err;

	/* Whatever the hint says, the answer must not change. */
	if (!(rnd() % 4))
		ms->last_hit = rnd() % (MAX_MEMSLOTS + 2);
	memcpy(&before, ms, sizeof(before));
	want = model_apply(m, op, &a);
	err = run_op(ms, op, &a, why, sizeof(why));
	if (want != !err)
		fail_msg("step %u: op %d on slot %u: %d (%s), model says %s",
			 step, op, a.id, err, why, want ? "ok" : "refused");
	if (err) {
		assert_true(why[0] && !strchr(why, '\n'));
		assert_int_equal(memcmp(&before, ms, sizeof(before)), 0);
		m->refused++;
	} else {
		m->generation++;
		m->ok++;
		m->most = MAX(m->most, m->used);
	}
	check_against_model(ms, m, step);
}

static void run_random(struct memslots *ms, u64 seed, unsigned int steps)
{
	struct model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	for (unsigned int g = 0; g < MODEL_GFNS; g++)
		m->owner[g] = NONE;
	rng_state = seed;
	memslots_init(ms);
	for (unsigned int i = 0; i < steps; i++)
		random_step(ms, m, i);
	print_message("seed 0x%llx: %u changes made, %u refused, %u slots at most\n",
		      (unsigned long long)seed, m->ok, m->refused, m->most);
	/* Both paths must really have been taken many times. */
	assert_true(m->ok > steps / 10);
	assert_true(m->refused > steps / 10);
	free(m);
}

static void test_random_against_model(void **state)
{
	static const u64 seeds[] = { 0x1ab1a, 0xdeadbeefcafe, 42 };

	for (unsigned int i = 0; i < ARRAY_SIZE(seeds); i++)
		run_random(*state, seeds[i], 10000);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_init), TEST(test_find_empty_stale),
		TEST(test_refusals), TEST(test_why_buffer),
		TEST(test_add_sorted), TEST(test_add_edges),
		TEST(test_delete), TEST(test_move), TEST(test_set_flags),
		TEST(test_find_boundaries), TEST(test_find_cache),
		TEST(test_full_table), TEST(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
