/* Unit tests for the physical page allocator (mm/palloc.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/palloc.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)
#define NR_FRAMES 8192 /* 32 MiB */
#define POOL_SIZE (NR_FRAMES * PAGE_SIZE)

struct fixture {
	struct palloc pa;
	u64 bitmap[PALLOC_BITMAP_WORDS(NR_FRAMES)];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	palloc_init(&f->pa, f->bitmap, NR_FRAMES);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static struct palloc *pa_of(void **state)
{
	return &((struct fixture *)*state)->pa;
}

/* Count clear bits the slow way, independent of the allocator's code. */
static u64 count_free(const struct palloc *pa)
{
	u64 pfn, n = 0;

	for (pfn = 0; pfn < pa->nr_frames; pfn++)
		n += palloc_is_free(pa, pfn * PAGE_SIZE);
	return n;
}

static void assert_consistent(const struct palloc *pa)
{
	assert_int_equal(count_free(pa), pa->free_pages);
	assert_true(pa->free_pages <= pa->total_pages);
}

static void test_init_all_used(void **state)
{
	struct palloc *pa = pa_of(state);
	int i;

	assert_int_equal(pa->nr_frames, NR_FRAMES);
	assert_int_equal(pa->total_pages, 0);
	assert_int_equal(pa->free_pages, 0);
	for (i = 0; i < PG_NR_OWNERS; i++)
		assert_int_equal(pa->owned[i], 0);
	assert_int_equal(count_free(pa), 0);
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST), 0);
}

struct add_case {
	u64 base, len, added;
};

static void test_add_free_table(void **state)
{
	static const struct add_case cases[] = {
		{ 0, MiB, 255 },                  /* frame 0 left out */
		{ 0x1000, 0x1000, 1 },
		{ 0x1001, 0x3000, 2 },            /* rounds in at both ends */
		{ 0x1800, 0x1000, 0 },            /* no whole page inside */
		{ 0x5000, 0, 0 },
		{ POOL_SIZE - 0x2000, 0x10000, 2 }, /* clipped to nr_frames */
		{ POOL_SIZE, 0x10000, 0 },
		{ ~0ull - 0x1000, 0x5000, 0 },    /* would wrap around */
		{ 0x1000, ~0ull, NR_FRAMES - 1 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct palloc *pa = pa_of(state);

		palloc_init(pa, pa->bitmap, NR_FRAMES);
		palloc_add_free(pa, cases[i].base, cases[i].len);
		if (pa->total_pages != cases[i].added)
			fail_msg("case %zu: added %llu, want %llu", i,
				 (unsigned long long)pa->total_pages,
				 (unsigned long long)cases[i].added);
		assert_int_equal(pa->free_pages, cases[i].added);
		assert_consistent(pa);
	}
}

static void test_add_free_overlap_not_double_counted(void **state)
{
	struct palloc *pa = pa_of(state);

	palloc_add_free(pa, 0x100000, 0x100000);     /* 256 pages */
	palloc_add_free(pa, 0x180000, 0x100000);     /* 128 of them new */
	palloc_add_free(pa, 0x100000, 0x180000);     /* nothing new */
	assert_int_equal(pa->total_pages, 384);
	assert_int_equal(pa->free_pages, 384);
	assert_consistent(pa);
}

static void test_reserve(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 total;

	palloc_add_free(pa, 0, POOL_SIZE);
	total = pa->total_pages;
	assert_int_equal(total, NR_FRAMES - 1);

	/* 0x10ff0..0x12010 touches frames 0x10, 0x11 and 0x12. */
	assert_int_equal(palloc_reserve(pa, 0x10ff0, 0x1020), 3);
	assert_false(palloc_is_free(pa, 0x10000));
	assert_false(palloc_is_free(pa, 0x12000));
	assert_true(palloc_is_free(pa, 0xf000));
	assert_true(palloc_is_free(pa, 0x13000));
	assert_int_equal(pa->free_pages, total - 3);
	assert_int_equal(pa->total_pages, total - 3);

	/* Already reserved: nothing more to remove. */
	assert_int_equal(palloc_reserve(pa, 0x11000, 0x1000), 0);
	assert_int_equal(palloc_reserve(pa, 0x20000, 0), 0);
	assert_int_equal(palloc_reserve(pa, POOL_SIZE, GiB), 0);
	/* Reaching past the end is clipped. */
	assert_int_equal(palloc_reserve(pa, POOL_SIZE - 0x1000, ~0ull), 1);
	assert_int_equal(pa->total_pages, total - 4);
	assert_consistent(pa);
}

static void test_reserve_allocated_page_counts_nothing(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 addr;

	palloc_add_free(pa, 0x1000, 0x4000);
	addr = palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST);
	assert_int_equal(addr, 0x1000);
	assert_int_equal(palloc_reserve(pa, 0x1000, 0x2000), 1);
	assert_int_equal(pa->total_pages, 3);
	assert_int_equal(pa->free_pages, 2);
}

static void test_alloc_free_back_to_baseline(void **state)
{
	struct palloc *pa = pa_of(state);
	struct palloc base;
	u64 a, b, c;

	palloc_add_free(pa, 0x100000, 16 * MiB);
	palloc_reserve(pa, 0x200000, 0x10000);
	base = *pa;

	a = palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST);
	b = palloc_alloc(pa, 8, PAGE_SIZE, 0, PG_OWNER_PAGETABLE);
	c = palloc_alloc(pa, 3, PAGE_SIZE, 0, PG_OWNER_TEST);
	assert_true(a && b && c);
	assert_int_equal(pa->free_pages, base.free_pages - 12);
	assert_int_equal(pa->total_pages, base.total_pages);
	assert_int_equal(pa->owned[PG_OWNER_TEST], 4);
	assert_int_equal(pa->owned[PG_OWNER_PAGETABLE], 8);
	assert_false(palloc_is_free(pa, b + 7 * PAGE_SIZE));
	assert_consistent(pa);

	assert_int_equal(palloc_free(pa, b, 8, PG_OWNER_PAGETABLE), 0);
	assert_int_equal(palloc_free(pa, a, 1, PG_OWNER_TEST), 0);
	assert_int_equal(palloc_free(pa, c, 3, PG_OWNER_TEST), 0);
	assert_int_equal(pa->free_pages, base.free_pages);
	assert_int_equal(pa->total_pages, base.total_pages);
	assert_memory_equal(pa->owned, base.owned, sizeof(base.owned));
	assert_consistent(pa);
}

static void test_alloc_aligned_2mib(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 small, big;

	palloc_add_free(pa, 0, POOL_SIZE);
	small = palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST);
	assert_int_equal(small, 0x1000);

	big = palloc_alloc(pa, 512, 2 * MiB, 0, PG_OWNER_TEST);
	assert_int_equal(big, 2 * MiB);
	/* The next 2 MiB run cannot start inside the first. */
	big = palloc_alloc(pa, 512, 2 * MiB, 0, PG_OWNER_TEST);
	assert_int_equal(big, 4 * MiB);

	/* A used frame inside each 2 MiB block leaves no aligned run. */
	palloc_init(pa, pa->bitmap, NR_FRAMES);
	palloc_add_free(pa, 0, POOL_SIZE);
	for (big = 2 * MiB; big < POOL_SIZE; big += 2 * MiB)
		palloc_reserve(pa, big + 0x10000, 1);
	assert_int_equal(palloc_alloc(pa, 512, 2 * MiB, 0, PG_OWNER_TEST), 0);
	assert_int_not_equal(palloc_alloc(pa, 16, 64 * 1024, 0, PG_OWNER_TEST),
			     0);
	assert_consistent(pa);
}

static void test_alloc_limit_below_1mib(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 addr;

	palloc_add_free(pa, 0, POOL_SIZE);
	/* Move the hint well above 1 MiB first. */
	assert_true(palloc_alloc(pa, 1, 4 * MiB, 0, PG_OWNER_TEST) >= 4 * MiB);

	addr = palloc_alloc(pa, 2, PAGE_SIZE, MiB, PG_OWNER_TRAMPOLINE);
	assert_int_not_equal(addr, 0);
	assert_true(addr + 2 * PAGE_SIZE <= MiB);
	assert_int_equal(pa->owned[PG_OWNER_TRAMPOLINE], 2);

	assert_int_equal(addr, PAGE_SIZE);

	/* Limit is exclusive and rounded down to whole pages. */
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0x3fff, PG_OWNER_TEST),
			 0);
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0x4fff, PG_OWNER_TEST),
			 0x3000);
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0x4fff, PG_OWNER_TEST),
			 0);
	/* 252 pages are left below 1 MiB. */
	assert_int_equal(palloc_alloc(pa, 300, PAGE_SIZE, MiB, PG_OWNER_TEST),
			 0);
	assert_consistent(pa);
}

static void test_alloc_bad_arguments(void **state)
{
	static const struct {
		u64 npages, align;
		int owner;
	} cases[] = {
		{ 0, PAGE_SIZE, PG_OWNER_TEST },
		{ 1, 0, PG_OWNER_TEST },
		{ 1, 2048, PG_OWNER_TEST },
		{ 1, 3 * PAGE_SIZE, PG_OWNER_TEST },
		{ 1, PAGE_SIZE, PG_NR_OWNERS },
		{ 1, PAGE_SIZE, -1 },
		{ NR_FRAMES + 1, PAGE_SIZE, PG_OWNER_TEST },
		{ ~0ull, PAGE_SIZE, PG_OWNER_TEST },
	};
	struct palloc *pa = pa_of(state);
	size_t i;

	palloc_add_free(pa, 0, POOL_SIZE);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 addr = palloc_alloc(pa, cases[i].npages, cases[i].align, 0,
					(enum pg_owner)cases[i].owner);

		if (addr)
			fail_msg("case %zu: got %#llx", i,
				 (unsigned long long)addr);
	}
	assert_int_equal(pa->free_pages, NR_FRAMES - 1);
	/* A huge alignment is valid but nothing in the pool satisfies it. */
	assert_int_equal(palloc_alloc(pa, 1, 1ull << 63, 0, PG_OWNER_TEST), 0);
}

static void test_exhaustion(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 n = 0, addr;

	palloc_add_free(pa, 0, 4 * MiB);
	while ((addr = palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST)))
		n++;
	assert_int_equal(n, 1023);
	assert_int_equal(pa->free_pages, 0);
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST), 0);

	for (addr = PAGE_SIZE; addr < 4 * MiB; addr += PAGE_SIZE)
		assert_int_equal(palloc_free(pa, addr, 1, PG_OWNER_TEST), 0);
	assert_int_equal(pa->free_pages, 1023);
	assert_int_equal(pa->owned[PG_OWNER_TEST], 0);
	/* Now the whole range comes back as one run. */
	assert_int_equal(palloc_alloc(pa, 1023, PAGE_SIZE, 0, PG_OWNER_TEST),
			 PAGE_SIZE);
}

static void test_hint_wraps_around(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 first, addr;

	palloc_add_free(pa, 0, 64 * PAGE_SIZE);
	first = palloc_alloc(pa, 60, PAGE_SIZE, 0, PG_OWNER_TEST);
	assert_int_equal(first, PAGE_SIZE);
	assert_int_equal(pa->hint, 61);

	/* Three frames left past the hint: a run of 4 must wrap. */
	assert_int_equal(palloc_free(pa, PAGE_SIZE, 10, PG_OWNER_TEST), 0);
	addr = palloc_alloc(pa, 4, PAGE_SIZE, 0, PG_OWNER_TEST);
	assert_int_equal(addr, PAGE_SIZE);
	assert_int_equal(pa->hint, 5);

	/* The hint moves forward: the next one comes after the last. */
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST),
			 5 * PAGE_SIZE);

	/* A run may start before the hint and end after it. */
	pa->hint = 8;
	assert_int_equal(palloc_alloc(pa, 5, PAGE_SIZE, 0, PG_OWNER_TEST),
			 6 * PAGE_SIZE);
	assert_consistent(pa);
}

static void test_hint_at_end_of_bitmap(void **state)
{
	struct palloc *pa = pa_of(state);

	palloc_add_free(pa, 0, POOL_SIZE);
	palloc_reserve(pa, 0, POOL_SIZE - PAGE_SIZE);
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST),
			 POOL_SIZE - PAGE_SIZE);
	assert_int_equal(pa->hint, 0);
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST), 0);
}

static void test_free_rejects_and_changes_nothing(void **state)
{
	struct palloc *pa = pa_of(state);
	struct palloc before;
	u64 a, b;

	palloc_add_free(pa, 0, POOL_SIZE);
	a = palloc_alloc(pa, 4, PAGE_SIZE, 0, PG_OWNER_TEST);
	b = palloc_alloc(pa, 2, PAGE_SIZE, 0, PG_OWNER_PERCPU);
	assert_true(a && b);
	assert_int_equal(palloc_free(pa, a + 3 * PAGE_SIZE, 1, PG_OWNER_TEST),
			 0);

	before = *pa;
	/* double free, and a range only partly allocated */
	assert_int_equal(palloc_free(pa, a + 3 * PAGE_SIZE, 1, PG_OWNER_TEST),
			 -HV_EINVAL);
	assert_int_equal(palloc_free(pa, a, 4, PG_OWNER_TEST), -HV_EINVAL);
	/* misaligned, frame 0, outside, wrapping, empty */
	assert_int_equal(palloc_free(pa, a + 1, 1, PG_OWNER_TEST), -HV_EINVAL);
	assert_int_equal(palloc_free(pa, 0, 1, PG_OWNER_TEST), -HV_EINVAL);
	assert_int_equal(palloc_free(pa, POOL_SIZE, 1, PG_OWNER_TEST),
			 -HV_EINVAL);
	assert_int_equal(palloc_free(pa, POOL_SIZE - PAGE_SIZE, 2,
				     PG_OWNER_TEST), -HV_EINVAL);
	assert_int_equal(palloc_free(pa, a, ~0ull, PG_OWNER_TEST), -HV_EINVAL);
	assert_int_equal(palloc_free(pa, a, 0, PG_OWNER_TEST), -HV_EINVAL);
	/* owner underflow: wrong owner, more than the owner holds */
	assert_int_equal(palloc_free(pa, b, 2, PG_OWNER_VIRT), -HV_EINVAL);
	assert_int_equal(palloc_free(pa, a, 3, PG_OWNER_PERCPU), -HV_EINVAL);
	assert_int_equal(palloc_free(pa, b, 2, PG_NR_OWNERS), -HV_EINVAL);
	/* A page reserved for good was never allocated to anyone. */
	palloc_reserve(pa, 0x100000, 1);
	before.free_pages--;
	before.total_pages--;
	assert_int_equal(palloc_free(pa, 0x100000, 1, PG_OWNER_VIRT),
			 -HV_EINVAL);

	assert_int_equal(pa->free_pages, before.free_pages);
	assert_memory_equal(pa->owned, before.owned, sizeof(before.owned));
	assert_int_equal(palloc_free(pa, b, 2, PG_OWNER_PERCPU), 0);
	assert_int_equal(palloc_free(pa, a, 3, PG_OWNER_TEST), 0);
	assert_consistent(pa);
}

static void test_frame0_never_handed_out(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 addr;

	palloc_add_free(pa, 0, 64 * PAGE_SIZE);
	assert_false(palloc_is_free(pa, 0));
	assert_int_equal(palloc_alloc(pa, 1, PAGE_SIZE, PAGE_SIZE,
				      PG_OWNER_TEST), 0);
	/* Frame 0 is 2 MiB aligned, yet the first aligned run is at 2 MiB. */
	assert_int_equal(palloc_alloc(pa, 1, 2 * MiB, 0, PG_OWNER_TEST), 0);
	while ((addr = palloc_alloc(pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST)))
		assert_int_not_equal(addr, 0);
	assert_int_equal(pa->owned[PG_OWNER_TEST], 63);
	assert_false(palloc_is_free(pa, 0));
}

/* A mostly full bitmap over 64 GiB with one free page at the very top. */
static void test_large_sparse_scan(void **state)
{
	const u64 frames = 64 * GiB / PAGE_SIZE;
	u64 *bitmap = malloc(PALLOC_BITMAP_WORDS(frames) * sizeof(u64));
	struct palloc pa;
	int i;

	(void)state;
	assert_non_null(bitmap);
	palloc_init(&pa, bitmap, frames);
	palloc_add_free(&pa, 64 * GiB - PAGE_SIZE, PAGE_SIZE);
	palloc_add_free(&pa, 0x3000, PAGE_SIZE);
	pa.hint = 4;
	/* Many searches that each cross the whole bitmap. */
	for (i = 0; i < 50; i++) {
		u64 addr = palloc_alloc(&pa, 1, PAGE_SIZE, 0, PG_OWNER_TEST);

		assert_true(addr == 64 * GiB - PAGE_SIZE || addr == 0x3000);
		assert_int_equal(palloc_free(&pa, addr, 1, PG_OWNER_TEST), 0);
	}
	assert_int_equal(palloc_alloc(&pa, 2, PAGE_SIZE, 0, PG_OWNER_TEST), 0);
	free(bitmap);
}

/* Random operations against a shadow count of what each owner holds. */
static void test_random_ops_stay_consistent(void **state)
{
	struct palloc *pa = pa_of(state);
	u64 addrs[64] = { 0 }, sizes[64] = { 0 };
	unsigned int seed = 12345;
	int step;

	palloc_add_free(pa, 0, POOL_SIZE);
	for (step = 0; step < 4000; step++) {
		unsigned int slot, r;

		seed = seed * 1103515245 + 12345;
		r = seed >> 8;
		slot = r % 64;
		if (addrs[slot]) {
			assert_int_equal(palloc_free(pa, addrs[slot],
						     sizes[slot],
						     PG_OWNER_TEST), 0);
			addrs[slot] = 0;
			continue;
		}
		sizes[slot] = 1 + (r >> 6) % 40;
		addrs[slot] = palloc_alloc(pa, sizes[slot],
					   PAGE_SIZE << ((r >> 12) % 4), 0,
					   PG_OWNER_TEST);
	}
	assert_consistent(pa);
	assert_int_equal(pa->total_pages - pa->free_pages,
			 pa->owned[PG_OWNER_TEST]);
}

static void test_owner_names(void **state)
{
	(void)state;
	assert_string_equal(pg_owner_name(PG_OWNER_VIRT), "virt");
	assert_string_equal(pg_owner_name(PG_OWNER_PAGETABLE), "pagetables");
	assert_string_equal(pg_owner_name(PG_OWNER_PERCPU), "percpu");
	assert_string_equal(pg_owner_name(PG_OWNER_TRAMPOLINE), "trampoline");
	assert_string_equal(pg_owner_name(PG_OWNER_TEST), "test");
	assert_non_null(pg_owner_name(PG_NR_OWNERS));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_all_used),
		T(test_add_free_table),
		T(test_add_free_overlap_not_double_counted),
		T(test_reserve),
		T(test_reserve_allocated_page_counts_nothing),
		T(test_alloc_free_back_to_baseline),
		T(test_alloc_aligned_2mib),
		T(test_alloc_limit_below_1mib),
		T(test_alloc_bad_arguments),
		T(test_exhaustion),
		T(test_hint_wraps_around),
		T(test_hint_at_end_of_bitmap),
		T(test_free_rejects_and_changes_nothing),
		T(test_frame0_never_handed_out),
		cmocka_unit_test(test_large_sparse_scan),
		T(test_random_ops_stay_consistent),
		cmocka_unit_test(test_owner_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
