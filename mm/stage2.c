/*
 * Second-level page tables: one builder for Intel EPT and AMD NPT. Both
 * walk four levels of 512 entries (PML4, PDPT, PD, PT) and keep the table
 * or page address in bits 51:12; only the meaning of the low and high bits
 * differs, so the builder works on raw entries and asks a per-format
 * encoder to make and read them.
 *
 * Invariants the code keeps between calls:
 *  - every table below the root holds at least one present entry;
 *  - nr_table_pages counts the pages reachable from the root;
 *  - an entry is either 0 (not present), a table or a leaf, never anything
 *    else, so a partial failure leaves tables the CPU can walk.
 * The caller flushes translations (INVEPT, TLB flush by ASID) after a
 * change, and before table pages handed back can be reused.
 */
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/stage2.h>

#define S2_LEVELS 4
#define S2_LEAF_LEVEL (S2_LEVELS - 1)
#define S2_ENTRIES 512
#define S2_ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 in both formats */
#define S2_HPA_LIMIT (1ull << 52)
/* EPT bit 7 and x86 PS share the place: a PDPTE or PDE that maps a page. */
#define S2_LARGE (1ull << 7)

/* EPT entries (Intel SDM Vol. 3C, "EPT Translation Mechanism"). */
#define EPT_RWX 0x7ull /* read, write, execute: bits 0-2, as S2_R/W/X */
#define EPT_MT_SHIFT 3
#define EPT_MT_UC 0ull
#define EPT_MT_WB 6ull
#define EPT_IPAT (1ull << 6)
/* EPTP: memory type of the walk in bits 2:0, walk length - 1 in 5:3. */
#define EPTP_WALK_4 (3ull << 3)

/* NPT entries: the x86 long-mode format (AMD APM Vol. 2, "Nested Paging"). */
#define NPT_P (1ull << 0)
#define NPT_RW (1ull << 1)
#define NPT_US (1ull << 2)
#define NPT_PWT (1ull << 3)
#define NPT_PCD (1ull << 4)
#define NPT_NX (1ull << 63)

struct s2_encoder {
	u64 (*leaf)(u64 hpa, unsigned int perm, enum s2_memtype mt, bool large);
	u64 (*table)(u64 pa);
	bool (*present)(u64 e);
	unsigned int (*perm)(u64 e);
	enum s2_memtype (*memtype)(u64 e);
};

/*
 * EPT. Ignore-PAT is set on every leaf: the type written here is the type
 * the guest gets, whatever its own PAT says.
 */
static u64 ept_leaf(u64 hpa, unsigned int perm, enum s2_memtype mt, bool large)
{
	u64 type = mt == S2_UC ? EPT_MT_UC : EPT_MT_WB;

	return hpa | (perm & EPT_RWX) | type << EPT_MT_SHIFT | EPT_IPAT |
	       (large ? S2_LARGE : 0);
}

/* Non-leaf entries allow everything: the leaf alone decides. */
static u64 ept_table(u64 pa)
{
	return pa | EPT_RWX;
}

static bool ept_present(u64 e)
{
	return e & EPT_RWX;
}

static unsigned int ept_perm(u64 e)
{
	return e & EPT_RWX;
}

static enum s2_memtype ept_memtype(u64 e)
{
	return ((e >> EPT_MT_SHIFT) & 7) == EPT_MT_WB ? S2_WB : S2_UC;
}

/*
 * NPT. Guest accesses count as user accesses, so US is set everywhere.
 * PWT|PCD selects host PAT entry 3, UC in the power-on PAT; entry 0 is WB
 * (the guest's own type then combines with it). Readable is implied by P:
 * check_perm() refuses write- or execute-only pages. NX takes effect only
 * with EFER.NXE set, as Lamina's own non-executable data needs anyway.
 */
static u64 npt_leaf(u64 hpa, unsigned int perm, enum s2_memtype mt, bool large)
{
	return hpa | NPT_P | NPT_US | (perm & S2_W ? NPT_RW : 0) |
	       (mt == S2_UC ? NPT_PWT | NPT_PCD : 0) |
	       (large ? S2_LARGE : 0) | (perm & S2_X ? 0 : NPT_NX);
}

static u64 npt_table(u64 pa)
{
	return pa | NPT_P | NPT_RW | NPT_US;
}

static bool npt_present(u64 e)
{
	return e & NPT_P;
}

static unsigned int npt_perm(u64 e)
{
	return S2_R | (e & NPT_RW ? S2_W : 0) | (e & NPT_NX ? 0 : S2_X);
}

static enum s2_memtype npt_memtype(u64 e)
{
	return e & NPT_PCD ? S2_UC : S2_WB;
}

static const struct s2_encoder ept_encoder = {
	.leaf = ept_leaf,
	.table = ept_table,
	.present = ept_present,
	.perm = ept_perm,
	.memtype = ept_memtype,
};

static const struct s2_encoder npt_encoder = {
	.leaf = npt_leaf,
	.table = npt_table,
	.present = npt_present,
	.perm = npt_perm,
	.memtype = npt_memtype,
};

static const struct s2_encoder *enc_of(const struct s2_table *t)
{
	return t->format == S2_EPT ? &ept_encoder : &npt_encoder;
}

/* Level 0 is the PML4, level 3 the PT. */
static unsigned int level_shift(unsigned int level)
{
	return 39 - 9 * level;
}

static u64 level_size(unsigned int level)
{
	return 1ull << level_shift(level);
}

static unsigned int level_index(u64 gpa, unsigned int level)
{
	return (gpa >> level_shift(level)) & (S2_ENTRIES - 1);
}

/* For a present entry: does it map a page rather than a table? */
static bool is_leaf(u64 e, unsigned int level)
{
	return level == S2_LEAF_LEVEL || (level > 0 && (e & S2_LARGE));
}

static bool leaf_allowed(const struct s2_table *t, unsigned int level)
{
	return level == S2_LEAF_LEVEL || (level == 2 && t->allow_2m) ||
	       (level == 1 && t->allow_1g);
}

static u64 leaf_addr(u64 e, unsigned int level)
{
	return e & S2_ADDR_MASK & ~(level_size(level) - 1);
}

static u64 *table_of(u64 e)
{
	return (u64 *)(uintptr_t)(e & S2_ADDR_MASK);
}

static u64 table_pa(const u64 *table)
{
	return (u64)(uintptr_t)table;
}

static u64 *table_alloc(struct s2_table *t)
{
	u64 *table = t->env.alloc_page(t->env.ctx);

	if (table)
		t->nr_table_pages++;
	return table;
}

static void table_free(struct s2_table *t, u64 *table)
{
	t->env.free_page(t->env.ctx, table);
	t->nr_table_pages--;
}

static bool table_empty(const struct s2_encoder *enc, const u64 *table)
{
	for (unsigned int i = 0; i < S2_ENTRIES; i++)
		if (enc->present(table[i]))
			return false;
	return true;
}

/* Free @table, a table of @level, and every table below it. */
static void free_subtree(struct s2_table *t, u64 *table, unsigned int level)
{
	const struct s2_encoder *enc = enc_of(t);

	for (unsigned int i = 0; level < S2_LEAF_LEVEL && i < S2_ENTRIES; i++) {
		u64 e = table[i];

		if (enc->present(e) && !is_leaf(e, level))
			free_subtree(t, table_of(e), level + 1);
	}
	table_free(t, table);
}

/*
 * Replace the large leaf *@e of @level by a table of the next level that
 * maps the same addresses with the same attributes, so that the caller can
 * change part of it. The CPU sees the same translation before and after.
 */
static int split_leaf(struct s2_table *t, u64 *e, unsigned int level)
{
	const struct s2_encoder *enc = enc_of(t);
	u64 old = *e, hpa = leaf_addr(old, level);
	u64 child_size = level_size(level + 1);
	bool large = level + 1 < S2_LEAF_LEVEL;
	u64 *child = table_alloc(t);

	if (!child)
		return -HV_ENOMEM;
	for (unsigned int i = 0; i < S2_ENTRIES; i++)
		child[i] = enc->leaf(hpa + i * child_size, enc->perm(old),
				     enc->memtype(old), large);
	*e = enc->table(table_pa(child));
	return 0;
}

enum s2_op { S2_OP_MAP, S2_OP_UNMAP, S2_OP_PROTECT };

/* One operation over [gpa, end): map to hpa, unmap, or set permissions. */
struct s2_req {
	enum s2_op op;
	u64 gpa, hpa;
	unsigned int perm;
	enum s2_memtype mt;
};

static int update_range(struct s2_table *t, const struct s2_req *r,
			u64 *table, unsigned int level, u64 lo, u64 hi);

/*
 * The range covers all of *@e's span: change the entry itself when the
 * operation can be done at this level. True when it was.
 */
static bool update_whole(struct s2_table *t, const struct s2_req *r, u64 *e,
			 unsigned int level, u64 lo)
{
	const struct s2_encoder *enc = enc_of(t);
	u64 old = *e, hpa = r->hpa + (lo - r->gpa);
	bool old_table = enc->present(old) && !is_leaf(old, level);
	bool large = level < S2_LEAF_LEVEL;

	switch (r->op) {
	case S2_OP_MAP:
		if (!leaf_allowed(t, level) ||
		    !IS_ALIGNED(hpa, level_size(level)))
			return false;
		*e = enc->leaf(hpa, r->perm, r->mt, large);
		break;
	case S2_OP_UNMAP:
		*e = 0;
		break;
	case S2_OP_PROTECT:
		if (old_table)
			return false;
		/* Holes stay holes. */
		if (enc->present(old))
			*e = enc->leaf(leaf_addr(old, level), r->perm,
				       enc->memtype(old), large);
		return true;
	}
	/* The new entry is in place before the old subtree goes. */
	if (old_table)
		free_subtree(t, table_of(old), level + 1);
	return true;
}

/* Apply @r to [lo, hi) below the table entry *@e of @level. */
static int descend(struct s2_table *t, const struct s2_req *r, u64 *e,
		   unsigned int level, u64 lo, u64 hi)
{
	u64 *child = table_of(*e);
	int err = update_range(t, r, child, level + 1, lo, hi);

	/*
	 * An unmap can leave the table empty, and so can a map that ran out
	 * of memory right below a table it had just made: give it back.
	 */
	if ((r->op == S2_OP_UNMAP || err) && table_empty(enc_of(t), child)) {
		*e = 0;
		table_free(t, child);
	}
	return err;
}

/* [lo, hi) lies inside the span of *@e, an entry of @level. */
static int update_entry(struct s2_table *t, const struct s2_req *r, u64 *e,
			unsigned int level, u64 lo, u64 hi)
{
	const struct s2_encoder *enc = enc_of(t);
	u64 old = *e;
	u64 *child;
	int err;

	if (hi - lo == level_size(level) && update_whole(t, r, e, level, lo))
		return 0;
	if (!enc->present(old)) {
		if (r->op != S2_OP_MAP)
			return 0;
		child = table_alloc(t);
		if (!child)
			return -HV_ENOMEM;
		*e = enc->table(table_pa(child));
	} else if (is_leaf(old, level)) {
		/* Nothing to gain from splitting a page that stays as it is. */
		if (r->op == S2_OP_PROTECT && enc->perm(old) == r->perm)
			return 0;
		err = split_leaf(t, e, level);
		if (err)
			return err;
	}
	return descend(t, r, e, level, lo, hi);
}

/*
 * Map [lo, hi) in one PT. Every PTE has the same flags and the next
 * address, so encode once and step; an entry that was mapped before has
 * nothing below it to free. (The address cannot carry into the flags:
 * s2_map checked that the backing ends at or below 2^52.)
 */
static void map_ptes(const struct s2_table *t, const struct s2_req *r,
		     u64 *table, u64 lo, u64 hi)
{
	u64 e = enc_of(t)->leaf(r->hpa + (lo - r->gpa), r->perm, r->mt, false);

	for (unsigned int i = level_index(lo, S2_LEAF_LEVEL); lo < hi; i++) {
		table[i] = e;
		e += S2_SIZE_4K;
		lo += S2_SIZE_4K;
	}
}

static int update_range(struct s2_table *t, const struct s2_req *r,
			u64 *table, unsigned int level, u64 lo, u64 hi)
{
	u64 size = level_size(level);
	int err = 0;

	if (level == S2_LEAF_LEVEL && r->op == S2_OP_MAP) {
		map_ptes(t, r, table, lo, hi);
		return 0;
	}
	while (lo < hi && !err) {
		u64 end = MIN(hi, ALIGN_DOWN(lo, size) + size);

		err = update_entry(t, r, &table[level_index(lo, level)], level,
				   lo, end);
		lo = end;
	}
	return err;
}

static int check_range(const struct s2_table *t, u64 gpa, u64 size)
{
	if (!t || !t->root || !size || !IS_ALIGNED(gpa | size, S2_SIZE_4K))
		return -HV_EINVAL;
	/* Also refuses a range that wraps. */
	if (gpa >= S2_GPA_LIMIT || size > S2_GPA_LIMIT - gpa)
		return -HV_EINVAL;
	return 0;
}

/* NPT has no write- or execute-only pages; EPT is held to the same rule. */
static int check_perm(unsigned int perm)
{
	if ((perm & ~S2_RWX) || (perm && !(perm & S2_R)))
		return -HV_EINVAL;
	return 0;
}

static int apply(struct s2_table *t, const struct s2_req *r, u64 size)
{
	return update_range(t, r, t->root, 0, r->gpa, r->gpa + size);
}

int s2_init(struct s2_table *t, enum s2_format format, bool allow_2m,
	    bool allow_1g, const struct s2_env *env)
{
	if (!t || !env || !env->alloc_page || !env->free_page ||
	    (format != S2_EPT && format != S2_NPT))
		return -HV_EINVAL;
	memset(t, 0, sizeof(*t));
	t->format = format;
	t->allow_2m = allow_2m;
	/*
	 * Splitting a 1G page needs 2M pages; no CPU offers 1G pages without
	 * 2M ones, so such caps only come from a broken caller.
	 */
	t->allow_1g = allow_1g && allow_2m;
	t->env = *env;
	t->root = table_alloc(t);
	return t->root ? 0 : -HV_ENOMEM;
}

int s2_map(struct s2_table *t, u64 gpa, u64 hpa, u64 size, unsigned int perm,
	   enum s2_memtype mt)
{
	struct s2_req r = { .op = S2_OP_MAP, .gpa = gpa, .hpa = hpa,
			    .perm = perm, .mt = mt };
	int err = check_range(t, gpa, size);

	if (!err)
		err = check_perm(perm);
	if (err)
		return err;
	if (!IS_ALIGNED(hpa, S2_SIZE_4K) || hpa >= S2_HPA_LIMIT ||
	    size > S2_HPA_LIMIT - hpa || (mt != S2_WB && mt != S2_UC))
		return -HV_EINVAL;
	/* No permission at all is no mapping. */
	if (!perm)
		r.op = S2_OP_UNMAP;
	return apply(t, &r, size);
}

int s2_unmap(struct s2_table *t, u64 gpa, u64 size)
{
	struct s2_req r = { .op = S2_OP_UNMAP, .gpa = gpa };
	int err = check_range(t, gpa, size);

	return err ? err : apply(t, &r, size);
}

int s2_protect(struct s2_table *t, u64 gpa, u64 size, unsigned int perm)
{
	struct s2_req r = { .op = perm ? S2_OP_PROTECT : S2_OP_UNMAP,
			    .gpa = gpa, .perm = perm };
	int err = check_range(t, gpa, size);

	if (!err)
		err = check_perm(perm);
	return err ? err : apply(t, &r, size);
}

static void walk_leaf(const struct s2_encoder *enc, u64 e, unsigned int level,
		      u64 gpa, struct s2_walk *w)
{
	w->mapped = true;
	w->page_size = level_size(level);
	w->hpa = leaf_addr(e, level) | (gpa & (w->page_size - 1));
	w->perm = enc->perm(e);
	w->mt = enc->memtype(e);
}

void s2_walk(const struct s2_table *t, u64 gpa, struct s2_walk *w)
{
	const struct s2_encoder *enc = enc_of(t);
	const u64 *table = t->root;

	memset(w, 0, sizeof(*w));
	if (!table || gpa >= S2_GPA_LIMIT)
		return;
	for (unsigned int level = 0; level < S2_LEVELS; level++) {
		u64 e = table[level_index(gpa, level)];

		w->levels = level + 1;
		w->table[level] = table_pa(table);
		w->entry[level] = e;
		if (!enc->present(e))
			return;
		if (is_leaf(e, level)) {
			walk_leaf(enc, e, level, gpa, w);
			return;
		}
		table = table_of(e);
	}
}

void s2_destroy(struct s2_table *t)
{
	if (!t->root)
		return;
	free_subtree(t, t->root, 0);
	t->root = NULL;
}

u64 s2_root_pointer(const struct s2_table *t)
{
	u64 root = table_pa(t->root);

	if (!t->root || t->format == S2_NPT)
		return root;
	/* The CPU reads the tables themselves as write-back. */
	return root | EPTP_WALK_4 | EPT_MT_WB;
}

static void count_leaves(const struct s2_encoder *enc, const u64 *table,
			 unsigned int level, struct s2_stats *st)
{
	for (unsigned int i = 0; i < S2_ENTRIES; i++) {
		u64 e = table[i];

		if (!enc->present(e))
			continue;
		if (!is_leaf(e, level))
			count_leaves(enc, table_of(e), level + 1, st);
		else if (level == 1)
			st->pages_1g++;
		else if (level == 2)
			st->pages_2m++;
		else
			st->pages_4k++;
	}
}

void s2_count(const struct s2_table *t, struct s2_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (t->root)
		count_leaves(enc_of(t), t->root, 0, st);
}
