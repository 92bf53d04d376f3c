/*
 * Unit tests for the second-level table builder (mm/stage2.c) and dirty
 * logging (mm/dirty_log.c), with the real memslots (mm/memslot.c).
 *
 * The tables are never read through mm/stage2.c's own decoding: a reference
 * walker below decodes EPT and NPT entries straight from their bits (and
 * refuses any bit the builder has no business setting), and a model holds
 * what every 4 KiB guest frame of a window should map to. Table pages come
 * from a counting allocator that can fail its Nth call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <lamina/compiler.h>
#include <lamina/dirty_log.h>
#include <lamina/errno.h>
#include <lamina/memslot.h>
#include <lamina/stage2.h>

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define PG (4 * KiB)
#define BIT(n) (1ull << (n))
#define BITS(hi, lo) ((~0ull >> (63 - (hi))) & ~(BIT(lo) - 1))
#define HPA_LIMIT BIT(52)

/* ------------------------------------------------------- fake allocator */

struct fake_alloc {
	u64 outstanding; /* pages handed out and not yet back */
	u64 calls;       /* alloc_page calls since the counter was reset */
	u64 fail_at;     /* this call (from 1) returns NULL; 0: none does */
};

static void *fake_alloc_page(void *ctx)
{
	struct fake_alloc *fa = ctx;
	void *p;

	if (++fa->calls == fa->fail_at)
		return NULL;
	p = aligned_alloc(PG, PG);
	assert_non_null(p);
	memset(p, 0, PG);
	fa->outstanding++;
	return p;
}

static void fake_free_page(void *ctx, void *page)
{
	struct fake_alloc *fa = ctx;

	assert_true(fa->outstanding > 0);
	assert_int_equal((uintptr_t)page % PG, 0);
	/* A table still linked after this reads as garbage to the walker
	 * (and ASan reports any later access). */
	memset(page, 0xa5, PG);
	free(page);
	fa->outstanding--;
}

struct harness {
	struct fake_alloc fa;
	struct s2_table t;
};

static void h_init(struct harness *h, enum s2_format f, bool a2m, bool a1g)
{
	struct s2_env env = { fake_alloc_page, fake_free_page, &h->fa };

	memset(h, 0, sizeof(*h));
	assert_int_equal(s2_init(&h->t, f, a2m, a1g, &env), 0);
	assert_int_equal(h->t.nr_table_pages, 1);
	assert_int_equal(h->fa.outstanding, 1);
}

static void h_fail_at(struct harness *h, u64 n)
{
	h->fa.calls = 0;
	h->fa.fail_at = n;
}

static void h_destroy(struct harness *h)
{
	s2_destroy(&h->t);
	assert_null(h->t.root);
	assert_int_equal(h->t.nr_table_pages, 0);
	assert_int_equal(h->fa.outstanding, 0);
}

/* ------------------------------------------------------ reference walker */

enum ref_kind { REF_NONE, REF_TABLE, REF_LEAF };

struct ref_entry {
	enum ref_kind kind;
	u64 addr;
	unsigned int perm;
	enum s2_memtype mt;
};

/* Bytes one entry of each level spans: PML4E, PDPTE, PDE, PTE. */
static const u64 ref_span[4] = { 512 * GiB, GiB, 2 * MiB, 4 * KiB };

/* EPT: RWX in bits 2:0 (none: not present), type 5:3, ignore-PAT 6,
 * page-size 7 in PDPTEs and PDEs. */
static void ref_decode_ept(u64 e, int level, struct ref_entry *r)
{
	u64 type;

	if (!(e & BITS(2, 0))) {
		assert_int_equal(e, 0);
		return;
	}
	assert_int_equal(e & BITS(63, 52), 0);
	r->addr = e & BITS(51, 12);
	if (level == 0 || (level < 3 && !(e & BIT(7)))) {
		assert_int_equal(e & BITS(11, 0), 0x7);
		r->kind = REF_TABLE;
		return;
	}
	r->kind = REF_LEAF;
	assert_int_equal(r->addr % ref_span[level], 0);
	assert_true(e & BIT(6));
	assert_int_equal(e & BITS(11, 8), 0);
	if (level == 3)
		assert_false(e & BIT(7));
	type = (e >> 3) & 7;
	assert_true(type == 6 || type == 0);
	r->mt = type == 6 ? S2_WB : S2_UC;
	r->perm = e & 7;
	assert_true(r->perm & S2_R);
}

/* NPT: P 0, RW 1, US 2, PWT 3, PCD 4, PS (PAT in a PTE) 7, NX 63. */
static void ref_decode_npt(u64 e, int level, struct ref_entry *r)
{
	if (!(e & BIT(0))) {
		assert_int_equal(e, 0);
		return;
	}
	assert_int_equal(e & BITS(62, 52), 0);
	r->addr = e & BITS(51, 12);
	if (level == 0 || (level < 3 && !(e & BIT(7)))) {
		assert_int_equal(e & (BITS(11, 0) | BIT(63)), 0x7);
		r->kind = REF_TABLE;
		return;
	}
	r->kind = REF_LEAF;
	/* Large pages: the PAT bit 12 is part of the zero low address bits. */
	assert_int_equal(r->addr % ref_span[level], 0);
	assert_true(e & BIT(2));
	assert_int_equal(e & (BITS(6, 5) | BITS(11, 8)), 0);
	if (level == 3)
		assert_false(e & BIT(7));
	/* PAT index 3 (UC) or 0 (WB), nothing between. */
	assert_int_equal(!!(e & BIT(3)), !!(e & BIT(4)));
	r->mt = e & BIT(4) ? S2_UC : S2_WB;
	r->perm = S2_R | (e & BIT(1) ? S2_W : 0) | (e & BIT(63) ? 0 : S2_X);
}

static struct ref_entry ref_decode(enum s2_format f, u64 e, int level)
{
	struct ref_entry r = { .kind = REF_NONE };

	if (f == S2_EPT)
		ref_decode_ept(e, level, &r);
	else
		ref_decode_npt(e, level, &r);
	return r;
}

struct ref_xlate {
	unsigned int levels;
	u64 entry[4], table[4];
	bool mapped;
	u64 span; /* of the leaf, or of the entry found not present */
	u64 hpa;
	unsigned int perm;
	enum s2_memtype mt;
};

static void ref_translate(const struct s2_table *t, u64 gpa,
			  struct ref_xlate *x)
{
	const u64 *table = t->root;

	memset(x, 0, sizeof(*x));
	for (int level = 0; level < 4; level++) {
		u64 e = table[(gpa >> (39 - 9 * level)) & 0x1ff];
		struct ref_entry r = ref_decode(t->format, e, level);

		x->entry[level] = e;
		x->table[level] = (uintptr_t)table;
		x->levels = level + 1;
		x->span = ref_span[level];
		if (r.kind == REF_NONE)
			return;
		if (r.kind == REF_LEAF) {
			x->mapped = true;
			x->hpa = r.addr + gpa % x->span;
			x->perm = r.perm;
			x->mt = r.mt;
			return;
		}
		table = (const u64 *)(uintptr_t)r.addr;
	}
	fail_msg("walk of 0x%llx went past the PT", (unsigned long long)gpa);
}

/* ----------------------------------------------------------------- model */

/*
 * What each 4 KiB frame of [base, base + npages pages) maps to, one word a
 * frame: hpa | perm (bits 2:0) | UC (bit 3), or 0 when not mapped.
 */
struct model {
	u64 base, npages;
	u64 *pg;
};

#define MODEL_UC BIT(3)

static u64 model_hpa(const struct model *m, u64 i)
{
	return m->pg[i] & ~(PG - 1);
}

static unsigned int model_perm(const struct model *m, u64 i)
{
	return m->pg[i] & 7;
}

static enum s2_memtype model_mt(const struct model *m, u64 i)
{
	return m->pg[i] & MODEL_UC ? S2_UC : S2_WB;
}

static void model_init(struct model *m, u64 base, u64 size)
{
	m->base = base;
	m->npages = size / PG;
	m->pg = calloc(m->npages, sizeof(*m->pg));
	assert_non_null(m->pg);
}

static void model_copy(struct model *dst, const struct model *src)
{
	model_init(dst, src->base, src->npages * PG);
	memcpy(dst->pg, src->pg, src->npages * sizeof(*src->pg));
}

static void model_free(struct model *m)
{
	free(m->pg);
}

static void model_set(struct model *m, u64 i, u64 hpa, unsigned int perm,
		      enum s2_memtype mt)
{
	m->pg[i] = perm ? hpa | perm | (mt == S2_UC ? MODEL_UC : 0) : 0;
}

enum op_kind { OP_MAP, OP_UNMAP, OP_PROTECT };

struct op {
	enum op_kind kind;
	u64 gpa, size, hpa;
	unsigned int perm;
	enum s2_memtype mt;
};

static int op_run(struct s2_table *t, const struct op *o)
{
	switch (o->kind) {
	case OP_MAP:
		return s2_map(t, o->gpa, o->hpa, o->size, o->perm, o->mt);
	case OP_UNMAP:
		return s2_unmap(t, o->gpa, o->size);
	default:
		return s2_protect(t, o->gpa, o->size, o->perm);
	}
}

static void model_apply(struct model *m, const struct op *o)
{
	u64 first = (o->gpa - m->base) / PG;

	assert_true(o->gpa >= m->base && first + o->size / PG <= m->npages);
	for (u64 k = 0; k < o->size / PG; k++) {
		u64 i = first + k;

		if (o->kind == OP_MAP)
			model_set(m, i, o->hpa + k * PG, o->perm, o->mt);
		else if (o->kind == OP_UNMAP)
			model_set(m, i, 0, 0, S2_WB);
		else if (m->pg[i])
			model_set(m, i, model_hpa(m, i), o->perm,
				  model_mt(m, i));
	}
}

/* What s2_protect does, in the model. */
static void model_protect(struct model *m, u64 gpa, u64 size, unsigned int perm)
{
	const struct op o = { OP_PROTECT, gpa, size, 0, perm, S2_WB };

	model_apply(m, &o);
}

/* --------------------------------------------- whole-table decode (dump) */

struct dump {
	const struct s2_table *t;
	struct model *out;
	u64 tables;
	struct s2_stats leaves;
};

static void dump_leaf(struct dump *d, u64 gpa, int level,
		      const struct ref_entry *r)
{
	struct model *m = d->out;
	u64 n = ref_span[level] / PG, first = (gpa - m->base) / PG;

	/* Nothing is ever mapped outside the model's window... */
	assert_true(gpa >= m->base && first + n <= m->npages);
	/* ...nor with a page size the CPU lacks. */
	assert_true(level == 3 || (level == 2 && d->t->allow_2m) ||
		    (level == 1 && d->t->allow_1g));
	for (u64 k = 0; k < n; k++)
		model_set(m, first + k, r->addr + k * PG, r->perm, r->mt);
	d->leaves.pages_1g += level == 1;
	d->leaves.pages_2m += level == 2;
	d->leaves.pages_4k += level == 3;
}

static void dump_table(struct dump *d, const u64 *table, int level, u64 gpa)
{
	unsigned int present = 0;

	d->tables++;
	for (int i = 0; i < 512; i++) {
		struct ref_entry r = ref_decode(d->t->format, table[i], level);
		u64 g = gpa + i * ref_span[level];

		present += r.kind != REF_NONE;
		if (r.kind == REF_TABLE)
			dump_table(d, (const u64 *)(uintptr_t)r.addr, level + 1, g);
		else if (r.kind == REF_LEAF)
			dump_leaf(d, g, level, &r);
	}
	/* Tables left empty go back to the allocator; only the root stays. */
	if (level > 0)
		assert_true(present > 0);
}

/*
 * Decode all tables into @out, a model over @like's window whose words are
 * a buffer reused from call to call (a fresh one each time costs more than
 * the test), and check the page counts: reachable == nr_table_pages ==
 * outstanding.
 */
static void dump_tables(struct harness *h, const struct model *like,
			struct model *out)
{
	static u64 *scratch, scratch_pages;
	struct dump d = { .t = &h->t, .out = out };
	struct s2_stats st;

	if (like->npages > scratch_pages) {
		free(scratch);
		scratch = malloc(like->npages * sizeof(*scratch));
		assert_non_null(scratch);
		scratch_pages = like->npages;
	}
	*out = (struct model){ like->base, like->npages, scratch };
	memset(scratch, 0, like->npages * sizeof(*scratch));
	dump_table(&d, h->t.root, 0, 0);
	assert_int_equal(d.tables, h->t.nr_table_pages);
	assert_int_equal(d.tables, h->fa.outstanding);
	s2_count(&h->t, &st);
	assert_int_equal(st.pages_1g, d.leaves.pages_1g);
	assert_int_equal(st.pages_2m, d.leaves.pages_2m);
	assert_int_equal(st.pages_4k, d.leaves.pages_4k);
}

static void check_all(struct harness *h, const struct model *m)
{
	struct model got;

	dump_tables(h, m, &got);
	if (!memcmp(got.pg, m->pg, m->npages * sizeof(*m->pg)))
		return;
	for (u64 i = 0; i < m->npages; i++)
		if (got.pg[i] != m->pg[i])
			fail_msg("gpa 0x%llx: tables 0x%llx, model 0x%llx",
				 (unsigned long long)(m->base + i * PG),
				 (unsigned long long)got.pg[i],
				 (unsigned long long)m->pg[i]);
}

/* After a failed operation every page shows its old or its new state. */
static void check_old_or_new(struct harness *h, const struct model *old,
			     const struct model *new)
{
	struct model got;

	dump_tables(h, old, &got);
	for (u64 i = 0; i < old->npages; i++)
		assert_true(got.pg[i] == old->pg[i] || got.pg[i] == new->pg[i]);
}

/* One address: the reference walk, s2_walk and the model agree. */
static void check_gpa(struct harness *h, const struct model *m, u64 gpa)
{
	struct ref_xlate x;
	struct s2_walk w;
	u64 i = (gpa - m->base) / PG;

	if (gpa < m->base || i >= m->npages)
		return;
	ref_translate(&h->t, gpa, &x);
	assert_int_equal(x.mapped, m->pg[i] != 0);
	if (x.mapped) {
		assert_int_equal(x.hpa, model_hpa(m, i) + gpa % PG);
		assert_int_equal(x.perm, model_perm(m, i));
		assert_int_equal(x.mt, model_mt(m, i));
	}
	s2_walk(&h->t, gpa, &w);
	assert_int_equal(w.levels, x.levels);
	assert_memory_equal(w.entry, x.entry, x.levels * sizeof(u64));
	assert_memory_equal(w.table, x.table, x.levels * sizeof(u64));
	assert_int_equal(w.mapped, x.mapped);
	if (w.mapped) {
		assert_int_equal(w.hpa, x.hpa);
		assert_int_equal(w.page_size, x.span);
		assert_int_equal(w.perm, x.perm);
		assert_int_equal(w.mt, x.mt);
	}
}

/* ---------------------------------------------------------- random test */

/* Two 1 GiB slots: room for 1G pages, small enough to check often. */
#define RANDOM_WINDOW (2 * GiB)

static u64 rng_state;

static u64 rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static u64 rnd_below(u64 n)
{
	return n ? rnd() % n : 0;
}

/* Sizes from a page to the whole window, often large-page multiples with
 * a few pages more or less. */
static u64 random_size(u64 window)
{
	static const u64 units[] = { PG, PG, 2 * MiB, 2 * MiB, GiB };
	u64 unit = units[rnd_below(5)], n = 1 + rnd_below(unit == GiB ? 2 : 16);
	u64 size = n * unit;

	/* -4 to +4 pages */
	if (rnd_below(3) == 0 && size > 4 * PG)
		size = size - 4 * PG + rnd_below(9) * PG;
	if (rnd_below(50) == 0)
		size = window;
	return size;
}

static void random_range(const struct model *m, struct op *o)
{
	static const u64 aligns[] = { PG, 2 * MiB, GiB };
	u64 window = m->npages * PG;
	u64 align = aligns[rnd_below(3)], size = random_size(window);

	o->gpa = m->base + ALIGN_DOWN(rnd_below(window), align);
	if (rnd_below(4) == 0)
		o->gpa += rnd_below(4) * PG;
	if (size == window || o->gpa >= m->base + window)
		o->gpa = size == window ? m->base : m->base + window - PG;
	o->size = MIN(size, m->base + window - o->gpa);
}

/* The backing is mostly congruent to the gpa modulo 1G (large pages fit),
 * sometimes only modulo 2M or 4K, sometimes ends right at 2^52. */
static u64 random_hpa(const struct op *o)
{
	u64 base = ALIGN_DOWN(rnd_below(HPA_LIMIT - 16 * GiB), GiB);
	u64 hpa = base + o->gpa % (8 * GiB);

	switch (rnd_below(8)) {
	case 0:
		hpa += (1 + rnd_below(511)) * 2 * MiB;
		break;
	case 1:
		hpa += (1 + rnd_below(511)) * PG;
		break;
	case 2:
		hpa = HPA_LIMIT - o->size;
		break;
	}
	return hpa;
}

static void random_op(const struct model *m, struct op *o)
{
	static const unsigned int perms[] = { S2_RWX, S2_R, S2_R | S2_W,
					      S2_R | S2_X, 0 };
	u64 k = rnd_below(10);

	memset(o, 0, sizeof(*o));
	o->kind = k < 5 ? OP_MAP : k < 7 ? OP_UNMAP : OP_PROTECT;
	random_range(m, o);
	o->perm = perms[rnd_below(rnd_below(20) ? 4 : 5)];
	o->mt = rnd_below(4) ? S2_WB : S2_UC;
	if (o->kind == OP_MAP)
		o->hpa = random_hpa(o);
}

static bool page_fits(u64 gpa, u64 hpa, u64 end, u64 size)
{
	return gpa % size == 0 && hpa % size == 0 && end - gpa >= size;
}

/*
 * After a map the range holds, from its start, the largest page that the
 * caps, the alignment of both addresses and the size left allow. Checked
 * at every large page and at the first and last 64 pages.
 */
static void check_page_choice(struct harness *h, const struct op *o)
{
	u64 gpa = o->gpa, end = o->gpa + o->size;
	struct ref_xlate x;

	for (unsigned int n = 0; o->kind == OP_MAP && o->perm && gpa < end; n++) {
		u64 hpa = o->hpa + (gpa - o->gpa), size = PG;

		if (h->t.allow_1g && page_fits(gpa, hpa, end, GiB))
			size = GiB;
		else if (h->t.allow_2m && page_fits(gpa, hpa, end, 2 * MiB))
			size = 2 * MiB;
		if (size > PG || n < 64 || end - gpa <= 64 * PG) {
			ref_translate(&h->t, gpa, &x);
			assert_int_equal(x.span, size);
		}
		gpa += size;
	}
}

static void spot_checks(struct harness *h, const struct model *m,
			const struct op *o)
{
	static const u64 blocks[] = { PG, 2 * MiB, GiB };
	u64 ends[2] = { o->gpa, o->gpa + o->size };

	/* Around both ends: the first and last page of each enclosing 4K,
	 * 2M and 1G block, and the pages either side of it. */
	for (int e = 0; e < 2; e++)
		for (int k = 0; k < 3; k++) {
			u64 a = ALIGN_DOWN(ends[e], blocks[k]);

			check_gpa(h, m, a - PG);
			check_gpa(h, m, a);
			check_gpa(h, m, a + blocks[k] - PG);
			check_gpa(h, m, a + blocks[k]);
		}
	for (int k = 0; k < 32; k++)
		check_gpa(h, m, m->base + rnd_below(m->npages) * PG +
					rnd_below(PG));
	assert_int_equal(h->t.nr_table_pages, h->fa.outstanding);
}

/* The allocator fails one of the op's first few calls; then the op runs
 * again, whole. */
static void random_op_enomem(struct harness *h, struct model *m,
			     const struct op *o)
{
	struct model new;
	int err;

	model_copy(&new, m);
	model_apply(&new, o);
	h_fail_at(h, 1 + rnd_below(3));
	err = op_run(&h->t, o);
	h_fail_at(h, 0);
	if (err) {
		assert_int_equal(err, -HV_ENOMEM);
		check_old_or_new(h, m, &new);
		err = op_run(&h->t, o);
	}
	assert_int_equal(err, 0);
	model_free(&new);
}

static unsigned int random_ops(void)
{
	const char *s = getenv("STAGE2_OPS");

	return s ? (unsigned int)strtoul(s, NULL, 0) : 300;
}

static void random_run(enum s2_format f, bool a2m, bool a1g, u64 base)
{
	struct harness h;
	struct model m;
	struct op o;
	unsigned int n = random_ops();

	h_init(&h, f, a2m, a1g);
	model_init(&m, base, RANDOM_WINDOW);
	for (unsigned int i = 0; i < n; i++) {
		random_op(&m, &o);
		if (rnd_below(16) == 0)
			random_op_enomem(&h, &m, &o);
		else
			assert_int_equal(op_run(&h.t, &o), 0);
		model_apply(&m, &o);
		check_page_choice(&h, &o);
		spot_checks(&h, &m, &o);
		if (i % 25 == 24 || i == n - 1)
			check_all(&h, &m);
	}
	h_destroy(&h);
	model_free(&m);
}

/* Formats x caps x windows (bottom of the space, and up to 2^48). */
static void test_random_ops(void **state)
{
	const char *s = getenv("STAGE2_SEED");
	u64 seed = s ? strtoull(s, NULL, 0) : 0x5eed2ull;
	static const bool caps[][2] = { { true, true }, { true, false },
					{ false, false } };

	(void)state;
	rng_state = seed ? seed : 1;
	print_message("stage2 random: seed 0x%llx, %u ops per run, 12 runs\n",
		      (unsigned long long)seed, random_ops());
	for (int f = 0; f < 2; f++)
		for (int c = 0; c < 3; c++) {
			random_run(f ? S2_NPT : S2_EPT, caps[c][0], caps[c][1], 0);
			random_run(f ? S2_NPT : S2_EPT, caps[c][0], caps[c][1],
				   S2_GPA_LIMIT - RANDOM_WINDOW);
		}
}

/* -------------------------------------------------------- targeted cases */

static const enum s2_format formats[] = { S2_EPT, S2_NPT };

static void assert_layout(struct harness *h, u64 n1g, u64 n2m, u64 n4k,
			  u64 tables)
{
	struct s2_stats st;

	s2_count(&h->t, &st);
	assert_int_equal(st.pages_1g, n1g);
	assert_int_equal(st.pages_2m, n2m);
	assert_int_equal(st.pages_4k, n4k);
	assert_int_equal(h->t.nr_table_pages, tables);
	assert_int_equal(h->fa.outstanding, tables);
}

/* Run @o on tables and model, which must then agree everywhere. */
static void step(struct harness *h, struct model *m, const struct op *o)
{
	assert_int_equal(op_run(&h->t, o), 0);
	model_apply(m, o);
	check_all(h, m);
}

struct choice_case {
	bool a2m, a1g;
	u64 gpa, hpa, size;
	u64 n1g, n2m, n4k, tables;
};

static void test_large_page_choice(void **state)
{
	static const struct choice_case cases[] = {
		/* 1 GiB aligned both sides: one leaf, PML4 + PDPT */
		{ true, true, GiB, 5 * GiB, GiB, 1, 0, 0, 2 },
		{ true, false, GiB, 5 * GiB, GiB, 0, 512, 0, 3 },
		{ false, false, GiB, 5 * GiB, GiB, 0, 0, 262144, 515 },
		/* the backing decides as much as the guest address */
		{ true, true, GiB, 5 * GiB + 2 * MiB, GiB, 0, 512, 0, 3 },
		{ true, true, GiB, 5 * GiB + PG, GiB, 0, 0, 262144, 515 },
		/* and so does the size left */
		{ true, true, GiB, 5 * GiB, GiB - PG, 0, 511, 511, 4 },
		/* 4K, 2M, 1G, 2M, 4K: PML4, PDPT, 2 PDs, 2 PTs */
		{ true, true, GiB - 2 * MiB - PG, 5 * GiB - 2 * MiB - PG,
		  GiB + 4 * MiB + 2 * PG, 1, 2, 2, 6 },
	};

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++)
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			const struct choice_case *c = &cases[i];
			struct op o = { OP_MAP, c->gpa, c->size, c->hpa,
					S2_RWX, S2_WB };
			struct harness h;
			struct model m;

			h_init(&h, formats[f], c->a2m, c->a1g);
			model_init(&m, 0, 4 * GiB);
			step(&h, &m, &o);
			assert_layout(&h, c->n1g, c->n2m, c->n4k, c->tables);
			h_destroy(&h);
			model_free(&m);
		}
}

/* A 4 KiB change inside a 1 GiB page splits 1G -> 512 x 2M -> 512 x 4K. */
static void test_split_inside_1g(void **state)
{
	const u64 page = 2 * GiB + 300 * 2 * MiB + 123 * PG;
	const struct op map = { OP_MAP, 2 * GiB, GiB, 7 * GiB, S2_RWX, S2_WB };
	const struct op ops[] = {
		{ OP_PROTECT, page, PG, 0, S2_R, S2_WB },
		{ OP_UNMAP, page, PG, 0, 0, S2_WB },
		{ OP_MAP, page, PG, 0x1234000, S2_R | S2_W, S2_UC },
	};
	const u64 n4k[] = { 512, 511, 512 };

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++)
		for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
			struct harness h;
			struct model m;

			h_init(&h, formats[f], true, true);
			model_init(&m, 0, 4 * GiB);
			step(&h, &m, &map);
			/* Same permissions: nothing to split. */
			assert_int_equal(s2_protect(&h.t, page, PG, S2_RWX), 0);
			assert_layout(&h, 1, 0, 0, 2);
			/* check_all compares every other page too. */
			step(&h, &m, &ops[i]);
			assert_layout(&h, 0, 511, n4k[i], 4);
			h_destroy(&h);
			model_free(&m);
		}
}

static void test_subtree_freed(void **state)
{
	const struct op small = { OP_MAP, GiB, GiB, 5 * GiB + PG, S2_RWX, S2_WB };
	const struct op large = { OP_MAP, GiB, GiB, 5 * GiB, S2_R, S2_UC };
	const struct op one = { OP_MAP, 600 * GiB, PG, 8 * GiB, S2_RWX, S2_WB };
	const struct op drop = { OP_UNMAP, 600 * GiB, PG, 0, 0, S2_WB };

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
		struct harness h;
		struct model m;

		h_init(&h, formats[f], true, true);
		model_init(&m, 0, 4 * GiB);
		step(&h, &m, &small);
		assert_layout(&h, 0, 0, 262144, 515);
		/* A 1G leaf replaces the PD and its 512 PTs. */
		step(&h, &m, &large);
		assert_layout(&h, 1, 0, 0, 2);
		/* Unmapping the only page of a PML4 slot frees PDPT, PD, PT. */
		assert_int_equal(op_run(&h.t, &one), 0);
		assert_layout(&h, 1, 0, 1, 5);
		assert_int_equal(op_run(&h.t, &drop), 0);
		assert_layout(&h, 1, 0, 0, 2);
		step(&h, &m, &(struct op){ OP_UNMAP, 0, 4 * GiB, 0, 0, S2_WB });
		assert_layout(&h, 0, 0, 0, 1);
		h_destroy(&h);
		model_free(&m);
	}
}

/* Permission 0 means no mapping, for s2_map and s2_protect alike. */
static void test_perm_zero_unmaps(void **state)
{
	struct harness h;
	struct model m;

	(void)state;
	h_init(&h, S2_NPT, true, true);
	model_init(&m, 0, 4 * GiB);
	step(&h, &m, &(struct op){ OP_MAP, 0, 8 * MiB, GiB, S2_RWX, S2_WB });
	step(&h, &m, &(struct op){ OP_MAP, 2 * MiB, PG, GiB, 0, S2_WB });
	step(&h, &m, &(struct op){ OP_PROTECT, 4 * MiB, 4 * MiB, 0, 0, S2_WB });
	assert_layout(&h, 0, 1, 511, 4);
	h_destroy(&h);
	model_free(&m);
}

struct enomem_case {
	u64 base;             /* of the model's 4 GiB window */
	struct op setup[2];   /* size 0: none */
	struct op op;
	unsigned int allocs;  /* table pages the op needs */
};

/*
 * Fail the op's 1st, 2nd, ... allocation until it needs no more: each
 * failure must return -HV_ENOMEM, leave every page in its old or new state
 * and hold no page that is not reachable; the op then runs again whole.
 */
static void enomem_sweep(enum s2_format f, const struct enomem_case *c)
{
	for (u64 n = 1; n <= c->allocs + 1; n++) {
		struct harness h;
		struct model old, new;
		int err;

		h_init(&h, f, true, true);
		model_init(&old, c->base, 4 * GiB);
		for (int i = 0; i < 2 && c->setup[i].size; i++)
			step(&h, &old, &c->setup[i]);
		model_copy(&new, &old);
		model_apply(&new, &c->op);
		h_fail_at(&h, n);
		err = op_run(&h.t, &c->op);
		h_fail_at(&h, 0);
		/* Exactly @allocs allocation points. */
		assert_int_equal(err, n <= c->allocs ? -HV_ENOMEM : 0);
		if (err) {
			check_old_or_new(&h, &old, &new);
			assert_int_equal(op_run(&h.t, &c->op), 0);
		}
		check_all(&h, &new);
		h_destroy(&h);
		model_free(&old);
		model_free(&new);
	}
}

static void test_enomem_every_allocation(void **state)
{
	const struct op one_g = { OP_MAP, GiB, GiB, 9 * GiB, S2_RWX, S2_WB };
	const struct op two_g = { OP_MAP, 2 * GiB, GiB, 10 * GiB, S2_RWX, S2_WB };
	const u64 inside = GiB + 5 * 2 * MiB + 7 * PG;
	const struct enomem_case cases[] = {
		/* PDPT, PD, PT at the head; PD, PT at the tail */
		{ 0, { { 0 } }, { OP_MAP, GiB - 2 * PG, 2 * GiB + 2 * MiB + 5 * PG,
				  5 * GiB - 2 * PG, S2_RWX, S2_WB }, 5 },
		/* splitting 1G, then 2M */
		{ 0, { one_g }, { OP_MAP, inside, PG, 0x777000, S2_R, S2_UC }, 2 },
		{ 0, { one_g }, { OP_PROTECT, inside, PG, 0, S2_R, S2_WB }, 2 },
		{ 0, { one_g }, { OP_UNMAP, inside, PG, 0, 0, S2_WB }, 2 },
		/* both ends of a range over two 1G pages */
		{ 0, { one_g, two_g },
		  { OP_PROTECT, GiB + PG, 2 * GiB - 2 * PG, 0, S2_R, S2_WB }, 4 },
		/* across the first 512 GiB: PDPT, PD, PT on each side */
		{ 510 * GiB, { { 0 } },
		  { OP_MAP, 512 * GiB - 2 * MiB - PG, 4 * MiB + 2 * PG,
		    20 * GiB - 2 * MiB - PG, S2_R | S2_X, S2_WB }, 6 },
	};

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++)
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
			enomem_sweep(formats[f], &cases[i]);
}

static void test_init_errors(void **state)
{
	struct fake_alloc fa = { .fail_at = 1 };
	struct s2_env env = { fake_alloc_page, fake_free_page, &fa };
	struct s2_env no_free = { fake_alloc_page, NULL, &fa };
	struct s2_table t;

	(void)state;
	assert_int_equal(s2_init(&t, S2_EPT, true, true, &env), -HV_ENOMEM);
	assert_null(t.root);
	assert_int_equal(t.nr_table_pages, 0);
	assert_int_equal(fa.outstanding, 0);
	assert_int_equal(s2_init(&t, S2_EPT, true, true, &no_free), -HV_EINVAL);
	assert_int_equal(s2_init(&t, (enum s2_format)7, true, true, &env),
			 -HV_EINVAL);
	/* Splitting a 1G page needs 2M pages: 1G alone is not taken. */
	fa.fail_at = 0;
	assert_int_equal(s2_init(&t, S2_NPT, false, true, &env), 0);
	assert_false(t.allow_1g);
	s2_destroy(&t);
	s2_destroy(&t);
	assert_int_equal(fa.outstanding, 0);
}

static void test_invalid_args(void **state)
{
	const u64 top = S2_GPA_LIMIT;
	const struct op bad[] = {
		{ OP_MAP, 0x1001, PG, 0, S2_RWX, S2_WB },
		{ OP_MAP, 0, PG, 0x800, S2_RWX, S2_WB },
		{ OP_MAP, 0, PG + 1, 0, S2_RWX, S2_WB },
		{ OP_MAP, 0, 0, 0, S2_RWX, S2_WB },
		{ OP_MAP, -PG, 2 * PG, 0, S2_RWX, S2_WB },
		{ OP_MAP, top - PG, 2 * PG, 0, S2_RWX, S2_WB },
		{ OP_MAP, top, PG, 0, S2_RWX, S2_WB },
		{ OP_MAP, 0, PG, HPA_LIMIT, S2_RWX, S2_WB },
		{ OP_MAP, 0, 2 * PG, HPA_LIMIT - PG, S2_RWX, S2_WB },
		{ OP_MAP, 0, 2 * PG, -PG, S2_RWX, S2_WB },
		{ OP_MAP, 0, PG, 0, S2_W, S2_WB },
		{ OP_MAP, 0, PG, 0, S2_X, S2_WB },
		{ OP_MAP, 0, PG, 0, S2_W | S2_X, S2_WB },
		{ OP_MAP, 0, PG, 0, S2_RWX | 8, S2_WB },
		{ OP_MAP, 0, PG, 0, S2_RWX, (enum s2_memtype)2 },
		{ OP_UNMAP, 0, 0, 0, 0, S2_WB },
		{ OP_UNMAP, 0x10, PG, 0, 0, S2_WB },
		{ OP_UNMAP, top - PG, 2 * PG, 0, 0, S2_WB },
		{ OP_UNMAP, -PG, PG, 0, 0, S2_WB },
		{ OP_PROTECT, 0, PG, 0, S2_W, S2_WB },
		{ OP_PROTECT, 0, PG, 0, 16, S2_WB },
		{ OP_PROTECT, 0, PG - 1, 0, S2_R, S2_WB },
		{ OP_PROTECT, top, PG, 0, S2_R, S2_WB },
	};
	const struct op edge = { OP_MAP, top - PG, PG, HPA_LIMIT - PG, S2_R, S2_UC };
	struct s2_table none = { 0 };
	struct harness h;
	struct model m;

	(void)state;
	h_init(&h, S2_EPT, true, true);
	model_init(&m, top - 4 * GiB, 4 * GiB);
	step(&h, &m, &(struct op){ OP_MAP, top - 2 * GiB, GiB, 0, S2_RWX, S2_WB });
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(op_run(&h.t, &bad[i]), -HV_EINVAL);
		assert_int_equal(op_run(&none, &bad[i]), -HV_EINVAL);
	}
	check_all(&h, &m);
	/* The last page below both limits is fine. */
	step(&h, &m, &edge);
	assert_int_equal(s2_map(&none, 0, 0, PG, S2_R, S2_WB), -HV_EINVAL);
	h_destroy(&h);
	model_free(&m);
}

struct enc_case {
	u64 gpa, size, hpa;
	unsigned int perm;
	enum s2_memtype mt;
	int level;
	u64 ept, npt; /* the leaf, hand-encoded */
};

static void test_entry_encodings(void **state)
{
	const u64 h2m = 0x12345600000ull, h4k = 0xabcdef000ull, h1g = 15 * GiB;
	const u64 nx = BIT(63);
	const struct enc_case cases[] = {
		{ 4 * MiB, 2 * MiB, h2m, S2_RWX, S2_WB, 2,
		  h2m | 0x7 | 6 << 3 | BIT(6) | BIT(7), h2m | 0x87 },
		{ PG, PG, h4k, S2_R, S2_UC, 3,
		  h4k | 0x1 | BIT(6), h4k | 0x1d | nx },
		{ GiB, GiB, h1g, S2_R | S2_X, S2_WB, 1,
		  h1g | 0x5 | 6 << 3 | BIT(6) | BIT(7), h1g | 0x85 },
		{ 2 * PG, PG, h4k, S2_R | S2_W, S2_WB, 3,
		  h4k | 0x3 | 6 << 3 | BIT(6), h4k | 0x7 | nx },
		{ 4 * GiB, 2 * MiB, h2m, S2_R, S2_UC, 2,
		  h2m | 0x1 | BIT(6) | BIT(7), h2m | 0x9d | nx },
	};

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
		struct harness h;

		h_init(&h, formats[f], true, true);
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			const struct enc_case *c = &cases[i];
			struct ref_xlate x;

			assert_int_equal(s2_map(&h.t, c->gpa, c->hpa, c->size,
						c->perm, c->mt), 0);
			ref_translate(&h.t, c->gpa, &x);
			assert_int_equal(x.levels, c->level + 1);
			assert_int_equal(x.entry[c->level],
					 formats[f] == S2_EPT ? c->ept : c->npt);
			/* Tables: EPT RWX, NPT P|RW|US, both 7. */
			for (int l = 0; l < c->level; l++)
				assert_int_equal(x.entry[l], x.table[l + 1] | 0x7);
		}
		h_destroy(&h);
	}
}

static void test_root_pointer_and_walk(void **state)
{
	struct harness h;
	struct s2_walk w;
	u64 root;

	(void)state;
	h_init(&h, S2_EPT, true, true);
	root = (uintptr_t)h.t.root;
	assert_int_equal(root % PG, 0);
	/* WB walk, 4 levels (3 in bits 5:3) */
	assert_int_equal(s2_root_pointer(&h.t), root | 0x1e);
	assert_int_equal(s2_map(&h.t, GiB, 3 * GiB, GiB, S2_RWX, S2_WB), 0);
	s2_walk(&h.t, GiB + 0x12345, &w);
	assert_true(w.mapped);
	assert_int_equal(w.levels, 2);
	assert_int_equal(w.table[0], root);
	assert_int_equal(w.hpa, 3 * GiB + 0x12345);
	assert_int_equal(w.page_size, GiB);
	s2_walk(&h.t, 3 * GiB, &w);
	assert_false(w.mapped);
	assert_int_equal(w.levels, 2);
	s2_walk(&h.t, S2_GPA_LIMIT, &w);
	assert_false(w.mapped);
	assert_int_equal(w.levels, 0);
	h_destroy(&h);
	h_init(&h, S2_NPT, true, false);
	assert_int_equal(s2_root_pointer(&h.t), (uintptr_t)h.t.root);
	h_destroy(&h);
}

/* ------------------------------------------------------------- dirty log */

struct dirty_vm {
	struct harness h;
	struct memslots ms;
	struct model m; /* [1 GiB, 5 GiB) */
	u64 *bitmap;
};

#define LOG_GFN (GiB / PG)      /* slot 0: 1 GiB at 1 GiB, logged */
#define LOG_PAGES (GiB / PG)
#define PLAIN_GFN (3 * GiB / PG) /* slot 1: 2 MiB, not logged */
#define RO_GFN (4 * GiB / PG)    /* slot 2: 64 KiB, read-only */

static void dirty_add(struct dirty_vm *v, const struct memslot *s,
		      unsigned int perm)
{
	char why[96];

	assert_int_equal(memslot_add(&v->ms, s, why, sizeof(why)), 0);
	step(&v->h, &v->m, &(struct op){ OP_MAP, s->base_gfn * PG, s->npages * PG,
					 s->backing, perm, S2_WB });
}

static void dirty_setup(struct dirty_vm *v, enum s2_format f)
{
	v->bitmap = malloc(DIRTY_BITMAP_WORDS(LOG_PAGES) * 8);
	assert_non_null(v->bitmap);
	/* start clears whatever was there */
	memset(v->bitmap, 0xff, DIRTY_BITMAP_WORDS(LOG_PAGES) * 8);
	h_init(&v->h, f, true, true);
	memslots_init(&v->ms);
	model_init(&v->m, GiB, 4 * GiB);
	dirty_add(v, &(struct memslot){ LOG_GFN, LOG_PAGES, 6 * GiB,
					MEMSLOT_LOG_DIRTY, 0, v->bitmap }, S2_RWX);
	dirty_add(v, &(struct memslot){ PLAIN_GFN, 512, 9 * GiB, 0, 1, NULL },
		  S2_RWX);
	dirty_add(v, &(struct memslot){ RO_GFN, 16, 10 * GiB, MEMSLOT_READONLY,
					2, NULL }, S2_R | S2_X);
	assert_layout(&v->h, 1, 1, 16, 5);
}

static void dirty_teardown(struct dirty_vm *v)
{
	h_destroy(&v->h);
	model_free(&v->m);
	free(v->bitmap);
}

static const struct memslot *log_slot(struct dirty_vm *v)
{
	return memslot_by_id(&v->ms, 0);
}

/* A fault that must resolve: its page alone becomes writable. */
static void dirty_fault(struct dirty_vm *v, u64 gfn)
{
	struct s2_walk w;

	assert_true(dirty_log_fault(&v->h.t, &v->ms, gfn));
	model_protect(&v->m, gfn * PG, PG, S2_RWX);
	s2_walk(&v->h.t, gfn * PG, &w);
	assert_int_equal(w.page_size, PG);
	assert_int_equal(w.hpa, 6 * GiB + (gfn - LOG_GFN) * PG);
	assert_true(v->bitmap[(gfn - LOG_GFN) / 64] &
		    BIT((gfn - LOG_GFN) % 64));
}

/* A fault that is not dirty logging's: false, and nothing changes. */
static void foreign_fault(struct dirty_vm *v, u64 gfn)
{
	u64 before = v->h.t.nr_table_pages, first = v->bitmap[0];

	assert_false(dirty_log_fault(&v->h.t, &v->ms, gfn));
	assert_int_equal(v->h.t.nr_table_pages, before);
	assert_int_equal(v->bitmap[0], first);
	check_all(&v->h, &v->m);
}

static void dirty_read(struct dirty_vm *v, const u64 *pages, unsigned int n)
{
	u64 words = DIRTY_BITMAP_WORDS(LOG_PAGES);
	u64 *out = calloc(words, 8), *want = calloc(words, 8);

	assert_true(out && want);
	for (unsigned int i = 0; i < n; i++) {
		want[pages[i] / 64] |= BIT(pages[i] % 64);
		model_protect(&v->m, (LOG_GFN + pages[i]) * PG, PG, S2_R | S2_X);
	}
	memset(out, 0x5a, words * 8);
	assert_int_equal(dirty_log_get_and_clear(&v->h.t, log_slot(v), out), n);
	assert_memory_equal(out, want, words * 8);
	for (u64 i = 0; i < words; i++)
		assert_int_equal(v->bitmap[i], 0);
	check_all(&v->h, &v->m);
	free(out);
	free(want);
}

static void test_dirty_log(void **state)
{
	/* first, last, neighbours, a whole word, one across a word edge */
	u64 pages[80] = { 0, LOG_PAGES - 1, 12345, 12346, 64 * 100 + 63,
			  64 * 100 + 64 };
	unsigned int n = 6;

	(void)state;
	for (u64 p = 64 * 7; p < 64 * 8; p++)
		pages[n++] = p;
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
		struct dirty_vm v;

		dirty_setup(&v, formats[f]);
		assert_int_equal(dirty_log_start(&v.h.t, log_slot(&v)), 0);
		model_protect(&v.m, GiB, GiB, S2_R | S2_X);
		/* No page writable, and the 1G page is still one page. */
		check_all(&v.h, &v.m);
		assert_layout(&v.h, 1, 1, 16, 5);
		for (u64 i = 0; i < DIRTY_BITMAP_WORDS(LOG_PAGES); i++)
			assert_int_equal(v.bitmap[i], 0);
		/* One fault: that page alone is writable. */
		dirty_fault(&v, LOG_GFN + pages[0]);
		check_all(&v.h, &v.m);
		for (unsigned int i = 1; i < n; i++)
			dirty_fault(&v, LOG_GFN + pages[i]);
		check_all(&v.h, &v.m);
		foreign_fault(&v, PLAIN_GFN + 3);
		foreign_fault(&v, RO_GFN + 1);
		foreign_fault(&v, 5 * GiB / PG);
		foreign_fault(&v, 0);
		dirty_read(&v, pages, n);
		/* Nothing written since: an empty log. */
		dirty_read(&v, pages, 0);
		dirty_fault(&v, LOG_GFN + 77);
		dirty_read(&v, (const u64[]){ 77 }, 1);
		dirty_teardown(&v);
	}
}

static void test_dirty_log_refuses(void **state)
{
	struct dirty_vm v;
	u64 out[1];
	struct memslot *s;
	struct memslot no_bitmap = { LOG_GFN, 64, 6 * GiB, MEMSLOT_LOG_DIRTY,
				     9, NULL };

	(void)state;
	dirty_setup(&v, S2_EPT);
	assert_int_equal(dirty_log_start(&v.h.t, memslot_by_id(&v.ms, 1)),
			 -HV_EINVAL);
	assert_int_equal(dirty_log_start(&v.h.t, &no_bitmap), -HV_EINVAL);
	assert_int_equal(dirty_log_get_and_clear(&v.h.t, memslot_by_id(&v.ms, 2),
						 out), -HV_EINVAL);
	assert_int_equal(dirty_log_get_and_clear(&v.h.t, log_slot(&v), NULL),
			 -HV_EINVAL);
	check_all(&v.h, &v.m);
	/*
	 * memslot_add refuses READONLY | LOG_DIRTY; should the flags ever
	 * meet anyway, a read-only slot still never becomes writable.
	 */
	assert_int_equal(dirty_log_start(&v.h.t, log_slot(&v)), 0);
	model_protect(&v.m, GiB, GiB, S2_R | S2_X);
	s = &v.ms.slots[v.ms.id_to_index[0]];
	s->flags |= MEMSLOT_READONLY;
	foreign_fault(&v, LOG_GFN + 5);
	s->flags &= ~MEMSLOT_READONLY;
	dirty_fault(&v, LOG_GFN + 5);
	dirty_teardown(&v);
}

/* No table page for the split: false, no bit, same translations. */
static void test_dirty_log_fault_enomem(void **state)
{
	(void)state;
	for (u64 n = 1; n <= 2; n++) {
		struct dirty_vm v;

		dirty_setup(&v, S2_NPT);
		assert_int_equal(dirty_log_start(&v.h.t, log_slot(&v)), 0);
		model_protect(&v.m, GiB, GiB, S2_R | S2_X);
		h_fail_at(&v.h, n);
		assert_false(dirty_log_fault(&v.h.t, &v.ms, LOG_GFN + 4096 + 3));
		h_fail_at(&v.h, 0);
		/* The 1G page may now be 512 2M pages, all still read-only. */
		assert_int_equal(v.bitmap[64], 0);
		check_all(&v.h, &v.m);
		dirty_fault(&v, LOG_GFN + 4096 + 3);
		check_all(&v.h, &v.m);
		dirty_teardown(&v);
	}
}

/*
 * Reading the log must split a large page that is still writable (the log
 * was never started): when it cannot, the bit stays for the next read.
 */
static void test_dirty_log_read_enomem(void **state)
{
	struct dirty_vm v;
	u64 out[DIRTY_BITMAP_WORDS(LOG_PAGES)];

	(void)state;
	dirty_setup(&v, S2_EPT);
	memset(v.bitmap, 0, sizeof(out));
	v.bitmap[3] = BIT(9);
	h_fail_at(&v.h, 2);
	assert_int_equal(dirty_log_get_and_clear(&v.h.t, log_slot(&v), out),
			 -HV_ENOMEM);
	h_fail_at(&v.h, 0);
	assert_int_equal(v.bitmap[3], BIT(9));
	check_all(&v.h, &v.m);
	assert_int_equal(dirty_log_get_and_clear(&v.h.t, log_slot(&v), out), 1);
	assert_int_equal(out[3], BIT(9));
	model_protect(&v.m, (LOG_GFN + 3 * 64 + 9) * PG, PG, S2_R | S2_X);
	check_all(&v.h, &v.m);
	dirty_teardown(&v);
}

/* Slot of 100 pages mapped with 4K pages: bits past the end are ignored. */
static void test_dirty_log_small_slot(void **state)
{
	struct dirty_vm v;
	u64 bitmap[2], out[2];
	const struct memslot s = { 2 * GiB / PG, 100, 12 * GiB + PG,
				   MEMSLOT_LOG_DIRTY, 5, bitmap };

	(void)state;
	dirty_setup(&v, S2_EPT);
	dirty_add(&v, &s, S2_RWX);
	assert_int_equal(dirty_log_start(&v.h.t, memslot_by_id(&v.ms, 5)), 0);
	model_protect(&v.m, 2 * GiB, 100 * PG, S2_R | S2_X);
	assert_true(dirty_log_fault(&v.h.t, &v.ms, s.base_gfn + 99));
	assert_false(dirty_log_fault(&v.h.t, &v.ms, s.base_gfn + 100));
	bitmap[1] |= BIT(63); /* not a page of the slot */
	assert_int_equal(dirty_log_get_and_clear(&v.h.t, memslot_by_id(&v.ms, 5),
						 out), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], BIT(35));
	check_all(&v.h, &v.m);
	dirty_teardown(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_page_choice),
		cmocka_unit_test(test_split_inside_1g),
		cmocka_unit_test(test_subtree_freed),
		cmocka_unit_test(test_perm_zero_unmaps),
		cmocka_unit_test(test_enomem_every_allocation),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_entry_encodings),
		cmocka_unit_test(test_root_pointer_and_walk),
		cmocka_unit_test(test_dirty_log),
		cmocka_unit_test(test_dirty_log_refuses),
		cmocka_unit_test(test_dirty_log_fault_enomem),
		cmocka_unit_test(test_dirty_log_read_enomem),
		cmocka_unit_test(test_dirty_log_small_slot),
		cmocka_unit_test(test_random_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
