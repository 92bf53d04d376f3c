/*
 * How many table pages and how much time the second-level table builder
 * (mm/stage2.c) takes to map a guest's RAM in one go, for EPT and NPT,
 * guests of 256 MiB, 1 GiB and 4 GiB, and the page sizes a CPU may offer
 * (1G+2M, 2M only, 4K only). The backing is contiguous and 1 GiB aligned;
 * here it is only a number, nothing is touched but the tables.
 *
 * Build and run on the host:
 *   mkdir -p build/bench
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Iinclude bench/stage2_build.c \
 *       mm/stage2.c -o build/bench/stage2_build
 *   build/bench/stage2_build [RUNS]
 *
 * "minimum" is the fewest table pages any builder needs for the range with
 * those page sizes; the time is the median of RUNS (default 21) builds of
 * s2_map() alone (s2_init and s2_destroy are outside the clock), with table
 * pages from a pool that zeroes them as the hypervisor's allocator does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lamina/compiler.h>
#include <lamina/stage2.h>

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define PAGE 4096ull
#define POOL_PAGES 4096 /* 4 GiB of 4K pages needs 2054 */
#define MAX_RUNS 101

struct pool {
	void *free[POOL_PAGES];
	unsigned int nr_free;
};

static void *pool_alloc(void *ctx)
{
	struct pool *p = ctx;
	void *page;

	if (!p->nr_free)
		return NULL;
	page = p->free[--p->nr_free];
	memset(page, 0, PAGE);
	return page;
}

static void pool_free(void *ctx, void *page)
{
	struct pool *p = ctx;

	p->free[p->nr_free++] = page;
}

static void pool_init(struct pool *p)
{
	char *arena = aligned_alloc(PAGE, POOL_PAGES * PAGE);

	if (!arena) {
		fprintf(stderr, "stage2_build: no memory for the page pool\n");
		exit(1);
	}
	/* Touch it all now, so that no run pays for first-use faults. */
	memset(arena, 0, POOL_PAGES * PAGE);
	p->nr_free = 0;
	for (unsigned int i = POOL_PAGES; i-- > 0;)
		p->free[p->nr_free++] = arena + (u64)i * PAGE;
}

struct caps {
	const char *name;
	bool a2m, a1g;
};

static u64 div_up(u64 a, u64 b)
{
	return (a + b - 1) / b;
}

/*
 * Fewest table pages that can map [0, size) with these caps: the root, a
 * PDPT per 512 GiB, a PD per 1 GiB not covered by a 1G page, a PT per
 * 2 MiB not covered by a larger page.
 */
static u64 min_tables(u64 size, const struct caps *c)
{
	u64 pd = c->a1g ? (size % GiB != 0) : div_up(size, GiB);
	u64 pt = c->a2m ? (size % (2 * MiB) != 0) : div_up(size, 2 * MiB);

	return 1 + div_up(size, 512 * GiB) + pd + pt;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct result {
	u64 tables;
	struct s2_stats leaves;
	double median_us, min_us, max_us;
};

/* Build the tables @runs times; false if any build failed. */
static bool measure(struct pool *p, enum s2_format f, const struct caps *c,
		    u64 size, int runs, struct result *r)
{
	struct s2_env env = { pool_alloc, pool_free, p };
	double us[MAX_RUNS];

	for (int i = 0; i < runs; i++) {
		struct s2_table t;
		double t0;
		int err;

		if (s2_init(&t, f, c->a2m, c->a1g, &env))
			return false;
		t0 = now_us();
		err = s2_map(&t, 0, 4 * GiB, size, S2_RWX, S2_WB);
		us[i] = now_us() - t0;
		r->tables = t.nr_table_pages;
		s2_count(&t, &r->leaves);
		s2_destroy(&t);
		if (err || p->nr_free != POOL_PAGES)
			return false;
	}
	qsort(us, runs, sizeof(us[0]), cmp_double);
	r->median_us = us[runs / 2];
	r->min_us = us[0];
	r->max_us = us[runs - 1];
	return true;
}

static const struct caps caps[] = {
	{ "1G+2M", true, true },
	{ "2M", true, false },
	{ "4K", false, false },
};
static const u64 sizes[] = { 256 * MiB, GiB, 4 * GiB };

/* One line of the table; false when the build failed or was not minimal. */
static bool row(struct pool *p, enum s2_format f, const struct caps *c,
		u64 size, int runs)
{
	const char *fmt = f == S2_EPT ? "EPT" : "NPT";
	u64 min = min_tables(size, c);
	struct result r;

	printf("%-6s %-6s %5llu MiB  ", fmt, c->name,
	       (unsigned long long)(size / MiB));
	if (!measure(p, f, c, size, runs, &r)) {
		printf("build failed\n");
		return false;
	}
	printf("%6llu  %7llu  %9llu  %4llu/%4llu/%7llu  %9.1f (%.1f-%.1f)\n",
	       (unsigned long long)r.tables, (unsigned long long)min,
	       (unsigned long long)(r.tables * PAGE / KiB),
	       (unsigned long long)r.leaves.pages_1g,
	       (unsigned long long)r.leaves.pages_2m,
	       (unsigned long long)r.leaves.pages_4k,
	       r.median_us, r.min_us, r.max_us);
	return r.tables == min;
}

int main(int argc, char **argv)
{
	static const enum s2_format formats[] = { S2_EPT, S2_NPT };
	static struct pool pool;
	int runs = argc > 1 ? atoi(argv[1]) : 21;
	bool ok = true;

	if (runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: %s [RUNS, 1 to %d]\n", argv[0],
			MAX_RUNS);
		return 2;
	}
	pool_init(&pool);
	printf("format caps   guest     tables  minimum  table KiB  "
	       "leaves 1G/2M/4K      build us: median (min-max) of %d\n",
	       runs);
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++)
		for (size_t c = 0; c < ARRAY_SIZE(caps); c++)
			for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
				ok &= row(&pool, formats[f], &caps[c], sizes[s],
					  runs);
	return ok ? 0 : 1;
}
