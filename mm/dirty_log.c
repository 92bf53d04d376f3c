/*
 * Dirty logging over memslots and the stage-2 builder. A logged slot is
 * mapped read-only (R|X); the first write to a page faults, sets the page's
 * bit and maps that one 4 KiB page writable again, so the log has page
 * granularity even where the slot was mapped with large pages. Reading the
 * log write-protects exactly the pages that were dirty.
 *
 * The caller serialises these calls against other changes to the tables
 * and flushes translations (INVEPT, TLB flush by ASID) after
 * dirty_log_start() and dirty_log_get_and_clear(): until then a vCPU may
 * still write through a stale writable translation without faulting.
 */
#include <lamina/dirty_log.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define DIRTY_PAGE_SHIFT 12
#define DIRTY_WP_PERM (S2_R | S2_X)

static u64 slot_gpa(const struct memslot *slot, u64 idx)
{
	return (slot->base_gfn + idx) << DIRTY_PAGE_SHIFT;
}

/* Only RAM that the guest may write is logged. */
static bool slot_logs(const struct memslot *slot)
{
	return slot && (slot->flags & MEMSLOT_LOG_DIRTY) &&
	       !(slot->flags & (MEMSLOT_READONLY | MEMSLOT_MMIO)) &&
	       slot->dirty_bitmap;
}

int dirty_log_start(struct s2_table *t, const struct memslot *slot)
{
	if (!t || !slot_logs(slot) || !slot->npages)
		return -HV_EINVAL;
	memset(slot->dirty_bitmap, 0,
	       DIRTY_BITMAP_WORDS(slot->npages) * sizeof(u64));
	/* Large pages stay large: a fault splits only what it must. */
	return s2_protect(t, slot_gpa(slot, 0),
			  slot->npages << DIRTY_PAGE_SHIFT, DIRTY_WP_PERM);
}

bool dirty_log_fault(struct s2_table *t, struct memslots *ms, u64 gfn)
{
	const struct memslot *slot = memslot_find(ms, gfn);
	u64 idx;

	if (!slot_logs(slot))
		return false;
	idx = gfn - slot->base_gfn;
	/*
	 * Map the page afresh rather than change its permissions: the result
	 * is right even if the page had been unmapped meanwhile. A failure
	 * (no memory for a table) changes no translation, so the bit stays
	 * clear and the caller treats the fault as one it cannot resolve.
	 */
	if (s2_map(t, gfn << DIRTY_PAGE_SHIFT, memslot_gfn_to_hpa(slot, gfn),
		   1ull << DIRTY_PAGE_SHIFT, S2_RWX, S2_WB))
		return false;
	slot->dirty_bitmap[idx / 64] |= 1ull << (idx % 64);
	return true;
}

/*
 * Write-protect the pages whose bits are set in @bits, word @word of the
 * slot's bitmap: one call per run of set bits.
 */
static int protect_word(struct s2_table *t, const struct memslot *slot,
			u64 word, u64 bits)
{
	while (bits) {
		unsigned int first = __builtin_ctzll(bits);
		u64 rest = ~(bits >> first);
		/* rest is 0 only when all 64 bits are set and first is 0. */
		unsigned int n = rest ? __builtin_ctzll(rest) : 64;
		int err = s2_protect(t, slot_gpa(slot, word * 64 + first),
				     (u64)n << DIRTY_PAGE_SHIFT, DIRTY_WP_PERM);

		if (err)
			return err;
		bits = n == 64 ? 0 : bits & ~(((1ull << n) - 1) << first);
	}
	return 0;
}

s64 dirty_log_get_and_clear(struct s2_table *t, const struct memslot *slot,
			    u64 *out)
{
	u64 words, tail;
	s64 dirty = 0;

	if (!t || !slot_logs(slot) || !out)
		return -HV_EINVAL;
	words = DIRTY_BITMAP_WORDS(slot->npages);
	tail = slot->npages % 64;
	for (u64 w = 0; w < words; w++) {
		u64 bits = slot->dirty_bitmap[w];
		int err;

		/* Bits past the slot's last page mean nothing. */
		if (w == words - 1 && tail)
			bits &= (1ull << tail) - 1;
		out[w] = bits;
		/* A bit is cleared only once its pages are read-only again. */
		err = protect_word(t, slot, w, bits);
		if (err)
			return err;
		slot->dirty_bitmap[w] = 0;
		dirty += bits_set(bits);
	}
	return dirty;
}
