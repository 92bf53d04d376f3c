/*
 * Guest page-table walker (include/lamina/guest_walk.h).
 *
 * One loop serves every paging mode. A mode is its number of levels, its
 * entry size and its index width (struct gw_format); what differs beyond
 * that (where the top table comes from, which levels may map a page, which
 * bits are reserved) is a small function of the mode and the level. Levels
 * are numbered from the leaf: 1 is the page table, 2 the page directory,
 * 3 the PDPT, 4 the PML4, 5 the PML5.
 *
 * Left out on purpose:
 *  - accessed and dirty bits are never written. The walk serves the monitor,
 *    which must only look, and the emulation of an access the guest already
 *    made; writing the guest's tables behind its back could race with the
 *    guest's own updates of the same entries.
 *  - SMEP, SMAP and protection keys are not checked: they depend on CPL,
 *    RFLAGS.AC and PKRU, which the caller has and we do not. The error
 *    code's I/D bit still follows CR4.SMEP, as the CPU's does.
 *  - no TLB: the walk sees the tables as they are in memory now, not what
 *    the guest's TLB may still hold.
 */
#include <lamina/guest_walk.h>
#include <lamina/lib.h>

enum gw_paging { GW_OFF, GW_32BIT, GW_PAE, GW_4LEVEL, GW_5LEVEL };

struct gw_format {
	unsigned int levels;     /* entries read for a 4 KiB page */
	unsigned int entry_size; /* bytes */
	unsigned int index_bits; /* linear-address bits each level uses */
	const char *name;
};

static const struct gw_format formats[] = {
	[GW_OFF] = { 0, 0, 0, "off" },
	[GW_32BIT] = { 2, 4, 10, "32-bit" },
	/* The PDPT has 4 entries; with a 32-bit address, 9 bits give 2. */
	[GW_PAE] = { 3, 8, 9, "PAE" },
	[GW_4LEVEL] = { 4, 8, 9, "4-level" },
	[GW_5LEVEL] = { 5, 8, 9, "5-level" },
};

/* Paging-structure entry bits common to all modes. */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_BIT8 (1ull << 8)
#define PTE_XD (1ull << 63)

#define PAGE_SHIFT_4K 12
#define PSE36_MAX_BITS 40 /* 4 MiB pages reach at most 40-bit addresses */

struct walk {
	const struct gw_mode *m;
	const struct gw_format *f;
	enum gw_paging mode;
	unsigned int pa_bits; /* MAXPHYADDR, clamped */
	u64 gva;
	u32 access;
	bool nx;       /* XD bits exist and are honoured */
	bool writable; /* R/W set at every level so far */
	bool user;     /* U/S set at every level so far */
	bool xd;       /* XD set at some level so far */
	gw_read_fn read;
	void *ctx;
	struct gw_result *r;
};

/* Bits @hi down to @lo set; none when @lo > @hi. */
static u64 bit_range(unsigned int hi, unsigned int lo)
{
	if (lo > hi)
		return 0;
	return (~0ull >> (63 - hi)) & ~((1ull << lo) - 1);
}

/*
 * The first rule that matches wins. LMA without PAE, or LA57 outside long
 * mode, are states VM entry refuses (or the CPU ignores), so the order
 * only has to be the CPU's: PG, then PAE, then LMA, then LA57.
 */
static enum gw_paging paging_mode(const struct gw_mode *m)
{
	if (!(m->cr0 & CR0_PG))
		return GW_OFF;
	if (!(m->cr4 & CR4_PAE))
		return GW_32BIT;
	if (!(m->efer & EFER_LMA))
		return GW_PAE;
	return m->cr4 & CR4_LA57 ? GW_5LEVEL : GW_4LEVEL;
}

const char *gw_mode_name(const struct gw_mode *m)
{
	return formats[paging_mode(m)].name;
}

/*
 * 0 means "the architectural maximum". Below 32 would make 32-bit paging
 * produce addresses past MAXPHYADDR; no CPU with paging reports that.
 */
static unsigned int clamp_pa_bits(unsigned int bits)
{
	if (!bits || bits > 52)
		return 52;
	return bits < 32 ? 32 : bits;
}

static unsigned int level_shift(const struct gw_format *f, unsigned int level)
{
	return PAGE_SHIFT_4K + f->index_bits * (level - 1);
}

/* Long mode: bits 63 down to the top index bit must all be equal. */
static bool canonical(u64 gva, unsigned int va_bits)
{
	unsigned int unused = 64 - va_bits;

	return (u64)((s64)(gva << unused) >> unused) == gva;
}

/* Where the top-level table starts: CR3's address bits for the mode. */
static u64 root_table(const struct walk *w)
{
	switch (w->mode) {
	case GW_32BIT:
		return w->m->cr3 & 0xfffff000ull;
	case GW_PAE:
		return w->m->cr3 & 0xffffffe0ull; /* 32-byte aligned PDPT */
	default:
		/* PCID, PWT/PCD and LAM bits are not address bits. */
		return w->m->cr3 & bit_range(w->pa_bits - 1, PAGE_SHIFT_4K);
	}
}

/* Whether a present entry at @level with PS set maps a page. */
static bool may_map_page(const struct walk *w, unsigned int level)
{
	switch (w->mode) {
	case GW_32BIT:
		/* Without CR4.PSE the PS bit is ignored. */
		return level == 2 && (w->m->cr4 & CR4_PSE);
	case GW_PAE:
		return level == 2;
	default:
		return level == 2 || (level == 3 && !w->m->no_gbpages);
	}
}

/* Bits that must be 0 in the present entry @e at @level. */
static u64 reserved_bits(const struct walk *w, unsigned int level, u64 e)
{
	unsigned int m = w->pa_bits;
	bool large = (e & PTE_PS) && level > 1;
	u64 rsvd;

	switch (w->mode) {
	case GW_32BIT:
		/* 4 MiB page: address bits (M'-1):32 sit in 20:13, M' <= 40. */
		if (level == 2 && large && (w->m->cr4 & CR4_PSE))
			return bit_range(21, MIN(m, PSE36_MAX_BITS) - 19);
		return 0;
	case GW_PAE:
		/* A PDPTE has no R/W, U/S or XD: 2:1 and 8:5 are reserved. */
		if (level == 3)
			return bit_range(63, m) | bit_range(8, 5) |
			       bit_range(2, 1);
		rsvd = bit_range(62, m);
		break;
	default:
		/* Bits 62:52 are ignored (or protection keys) in long mode. */
		rsvd = bit_range(51, m);
		if (level >= 4)
			rsvd |= PTE_PS | (w->m->amd ? PTE_BIT8 : 0);
		if (level == 3 && w->m->no_gbpages)
			rsvd |= PTE_PS;
		break;
	}
	if (!w->nx)
		rsvd |= PTE_XD;
	/* A large page's address starts at bit 21 or 30; below, 12 is PAT. */
	if (large && level <= 3)
		rsvd |= bit_range(level_shift(w->f, level) - 1,
				  PAGE_SHIFT_4K + 1);
	return rsvd;
}

static void page_fault(struct walk *w, u32 why)
{
	u32 code = why | (w->access & (GW_WRITE | GW_USER));

	/* I/D is only reported where execute-disable or SMEP can apply. */
	if ((w->access & GW_FETCH) &&
	    ((w->m->cr4 & CR4_SMEP) ||
	     ((w->m->cr4 & CR4_PAE) && (w->m->efer & EFER_NXE))))
		code |= GW_FETCH;
	w->r->status = GW_PAGE_FAULT;
	w->r->pf_error = code;
}

/*
 * Read the entry for w->gva at @level of the table at @table, and record
 * it. Returns false with r->status set when it is not in guest RAM.
 */
static bool read_entry(struct walk *w, unsigned int level, u64 table, u64 *e)
{
	unsigned int size = w->f->entry_size;
	u64 index = (w->gva >> level_shift(w->f, level)) &
		    ((1ull << w->f->index_bits) - 1);
	u64 gpa = table + index * size;

	if (w->mode == GW_PAE && level == 3 && w->m->pdpte_regs) {
		*e = w->m->pdpte[index & 3];
	} else if (w->read(w->ctx, gpa, size, e)) {
		w->r->status = GW_TABLE_UNREADABLE;
		w->r->table_gpa = gpa;
		return false;
	}
	if (size == 4)
		*e = (u32)*e;
	w->r->entries[w->r->levels++] = *e;
	return true;
}

/* Rights combine across levels: R/W and U/S by AND, XD by OR. */
static void add_rights(struct walk *w, unsigned int level, u64 e)
{
	if (w->mode == GW_PAE && level == 3)
		return;
	w->writable &= !!(e & PTE_RW);
	w->user &= !!(e & PTE_US);
	if (w->nx && (e & PTE_XD))
		w->xd = true;
}

/* SDM 4.6 without SMEP/SMAP/PKRU (see the top of the file). */
static bool access_allowed(const struct walk *w)
{
	bool user = w->access & GW_USER;

	if (user && !w->user)
		return false;
	/* Supervisor writes ignore R/W unless CR0.WP. */
	if ((w->access & GW_WRITE) && !w->writable &&
	    (user || (w->m->cr0 & CR0_WP)))
		return false;
	return !((w->access & GW_FETCH) && w->xd);
}

/* The leaf @e maps a page of 1 << @shift bytes. */
static void finish(struct walk *w, u64 e, unsigned int shift)
{
	u64 size = 1ull << shift;
	u64 gpa = e & bit_range(w->pa_bits - 1, shift);

	if (!access_allowed(w)) {
		page_fault(w, GW_PF_P);
		return;
	}
	/* PSE-36: the reserved-bit check left only bits below M'-20. */
	if (w->mode == GW_32BIT && shift > PAGE_SHIFT_4K)
		gpa = (e & bit_range(31, shift)) | (((e >> 13) & 0xff) << 32);
	w->r->status = GW_OK;
	w->r->gpa = gpa | (w->gva & (size - 1));
	w->r->page_size = size;
}

static void walk_tables(struct walk *w)
{
	u64 table = root_table(w), e;
	unsigned int level;

	for (level = w->f->levels; level >= 1; level--) {
		if (!read_entry(w, level, table, &e))
			return;
		if (!(e & PTE_P)) {
			page_fault(w, 0);
			return;
		}
		if (e & reserved_bits(w, level, e)) {
			page_fault(w, GW_PF_P | GW_PF_RSVD);
			return;
		}
		add_rights(w, level, e);
		if (level == 1 || ((e & PTE_PS) && may_map_page(w, level))) {
			finish(w, e, level_shift(w->f, level));
			return;
		}
		table = e & bit_range(w->pa_bits - 1, PAGE_SHIFT_4K);
	}
}

void guest_walk(const struct gw_mode *m, u64 gva, u32 access, gw_read_fn read,
		void *ctx, struct gw_result *r)
{
	struct walk w = {
		.m = m,
		.mode = paging_mode(m),
		.pa_bits = clamp_pa_bits(m->maxphyaddr),
		.access = access & (GW_WRITE | GW_USER | GW_FETCH),
		.writable = true,
		.user = true,
		.read = read,
		.ctx = ctx,
		.r = r,
	};

	memset(r, 0, sizeof(*r));
	w.f = &formats[w.mode];
	w.nx = w.mode >= GW_PAE && (m->efer & EFER_NXE);
	if (w.mode >= GW_4LEVEL) {
		if (!canonical(gva, level_shift(w.f, w.f->levels) + 9)) {
			r->status = GW_NONCANONICAL;
			return;
		}
		w.gva = gva;
	} else {
		w.gva = (u32)gva; /* linear addresses are 32 bits here */
	}
	if (w.mode == GW_OFF) {
		r->status = GW_OK;
		r->gpa = w.gva;
		r->page_size = 1ull << PAGE_SHIFT_4K;
		return;
	}
	walk_tables(&w);
}
