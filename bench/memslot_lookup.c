/*
 * What a gfn-to-slot lookup costs: memslot_find() with 1, 8 and 64 slots,
 * for gfns that stay in one slot (the last-hit hint answers) and for random
 * gfns across all slots (binary search). A host program (x86-64 Linux):
 *
 *   mkdir -p build/bench
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Iinclude bench/memslot_lookup.c \
 *       mm/memslot.c -o build/bench/memslot_lookup
 *   build/bench/memslot_lookup [LOOKUPS_PER_RUN]
 *
 * ns/lookup: median of RUNS timed runs (CLOCK_MONOTONIC) of a loop that
 * loads a gfn and calls through a function pointer; the "loop" row times
 * the same loop around a stub, so the lookup's own share is the difference.
 *
 * instr/lookup: counted exactly, not sampled: every instruction of a call
 * is single-stepped with the x86 trap flag, and the same call to a stub of
 * known length is subtracted. No PMU needed (none in most VMs). It counts
 * the call, the body and the return, averaged over STEP_SAMPLES lookups.
 * Under valgrind the trap flag is not emulated: the column reads n/a, and
 * callgrind's own count of memslot_find can be used instead.
 */
#define _GNU_SOURCE
#include <lamina/memslot.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 11
#define DEFAULT_LOOKUPS 1000000ul
#define NR_GFNS 4096 /* a power of two: the loop masks its index */
#define STEP_SAMPLES 512
#define SLOT_PAGES 0x200ull   /* 2 MiB */
#define SLOT_STRIDE 0x1000ull /* 16 MiB: holes between slots */

typedef const struct memslot *(*lookup_fn)(struct memslots *ms, u64 gfn);

/*
 * Exactly two instructions, so a stepped call to it measures everything
 * around the call that is not the callee.
 */
__asm__(".text\n"
	".globl bench_stub\n"
	".type bench_stub, @function\n"
	"bench_stub:\n"
	"\txorl %eax, %eax\n"
	"\tret\n"
	".size bench_stub, . - bench_stub\n");
const struct memslot *bench_stub(struct memslots *ms, u64 gfn);
#define STUB_INSNS 2

static u64 rng_state = 0x6d656d736c6f7473ull;

static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void fill_slots(struct memslots *ms, unsigned int n)
{
	char why[128];

	memslots_init(ms);
	for (unsigned int i = 0; i < n; i++) {
		struct memslot s = { .base_gfn = i * SLOT_STRIDE,
				     .npages = SLOT_PAGES,
				     .backing = (u64)i << 30, .id = i };

		if (memslot_add(ms, &s, why, sizeof(why))) {
			fprintf(stderr, "memslot_add: %s\n", why);
			exit(1);
		}
	}
}

/* @one_slot: every gfn in the middle slot; else any slot, uniformly. */
static void fill_gfns(u64 *gfns, unsigned int nslots, bool one_slot)
{
	for (unsigned int i = 0; i < NR_GFNS; i++) {
		u64 slot = one_slot ? nslots / 2 : rnd() % nslots;

		gfns[i] = slot * SLOT_STRIDE + rnd() % SLOT_PAGES;
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uintptr_t sink;

static double ns_per_lookup(lookup_fn fn, struct memslots *ms, const u64 *gfns,
			    unsigned long lookups)
{
	uintptr_t sum = 0;
	double t0 = now_ns();

	for (unsigned long i = 0; i < lookups; i++)
		sum += (uintptr_t)fn(ms, gfns[i & (NR_GFNS - 1)]);
	sink += sum;
	return (now_ns() - t0) / lookups;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_ns(lookup_fn fn, struct memslots *ms, const u64 *gfns,
			unsigned long lookups)
{
	double t[RUNS];

	ns_per_lookup(fn, ms, gfns, lookups / 4); /* warm caches and hint */
	for (int r = 0; r < RUNS; r++)
		t[r] = ns_per_lookup(fn, ms, gfns, lookups);
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	return t[RUNS / 2];
}

static volatile unsigned long steps;

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si, (void)ctx;
	steps++;
}

/* EFLAGS.TF, set or cleared around the red zone the compiler may use. */
#define SET_TRAP_FLAG(op)						\
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\t"			\
			 "pushfq\n\t"					\
			 op " (%%rsp)\n\t"				\
			 "popfq\n\t"					\
			 "lea 128(%%rsp), %%rsp" ::: "memory", "cc")
#define TRAP_FLAG_ON() SET_TRAP_FLAG("orq $0x100,")
#define TRAP_FLAG_OFF() SET_TRAP_FLAG("andq $~0x100,")

/* Read through volatile so that the compiler cannot specialise stepped(). */
static lookup_fn volatile stepped_fn;

/* Instructions stepped through from raising the trap flag to dropping it. */
static __attribute__((noinline)) unsigned long
stepped(lookup_fn fn, struct memslots *ms, u64 gfn)
{
	const struct memslot *s;

	stepped_fn = fn;
	steps = 0;
	TRAP_FLAG_ON();
	s = stepped_fn(ms, gfn);
	TRAP_FLAG_OFF();
	sink += (uintptr_t)s;
	return steps;
}

/* Mean instructions per call of memslot_find, call and return included. */
static double insns_per_lookup(struct memslots *ms, const u64 *gfns)
{
	unsigned long frame = stepped(bench_stub, ms, 0), total = 0;

	if (!frame) /* no SIGTRAP came: the trap flag is not honoured here */
		return -1;
	memslot_find(ms, gfns[0]); /* the hint as the timed loop leaves it */
	for (unsigned int i = 0; i < STEP_SAMPLES; i++)
		total += stepped(memslot_find, ms, gfns[i]) - frame;
	/* total dropped the stub's call too: add it back with the stub's. */
	return (double)total / STEP_SAMPLES + 1 + STUB_INSNS;
}

static void print_row(const char *pattern, unsigned int nslots, double ns,
		      double insns)
{
	char n[16] = "-", in[16] = "n/a";

	if (nslots)
		snprintf(n, sizeof(n), "%u", nslots);
	if (insns >= 0)
		snprintf(in, sizeof(in), "%.1f", insns);
	printf("%-10s %6s %10.2f %13s\n", pattern, n, ns, in);
}

static void bench_case(unsigned int nslots, bool one_slot,
		       unsigned long lookups)
{
	static struct memslots ms;
	static u64 gfns[NR_GFNS];
	lookup_fn fn = memslot_find;

	fill_slots(&ms, nslots);
	fill_gfns(gfns, nslots, one_slot);
	print_row(one_slot ? "same-slot" : "random", nslots,
		  median_ns(fn, &ms, gfns, lookups),
		  insns_per_lookup(&ms, gfns));
}

static void install_trap_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, NULL);
}

int main(int argc, char **argv)
{
	static const unsigned int nslots[] = { 1, 8, 64 };
	static u64 gfns[NR_GFNS];
	unsigned long lookups = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;
	struct memslots ms;

	if (!lookups)
		lookups = DEFAULT_LOOKUPS;
	install_trap_handler();
	printf("memslot_find: median of %d runs of %lu lookups; instructions "
	       "single-stepped over %d lookups\n\n", RUNS, lookups,
	       STEP_SAMPLES);
	printf("%-10s %6s %10s %13s\n", "pattern", "slots", "ns/lookup",
	       "instr/lookup");
	for (unsigned int p = 0; p < 2; p++)
		for (unsigned int i = 0; i < 3; i++)
			bench_case(nslots[i], p == 0, lookups);
	/* The same loop around a stub: the share that is not the lookup. */
	fill_slots(&ms, 1);
	fill_gfns(gfns, 1, true);
	print_row("loop", 0, median_ns(bench_stub, &ms, gfns, lookups),
		  stepped(bench_stub, &ms, 0) ? 1 + STUB_INSNS : -1);
	return 0;
}
