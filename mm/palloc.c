/*
 * Physical page allocator: one bit per frame, set when the frame is not
 * free. Pure logic with no locking; the hypervisor serialises callers.
 *
 * Work is done a bitmap word at a time so that boot-time range updates and
 * searches over many gigabytes of mostly full memory stay cheap.
 */
#include <lamina/palloc.h>
#include <lamina/compiler.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define BITS_PER_WORD 64ull
#define FULL_WORD (~0ull)

/*
 * Open-coded rather than __builtin_popcountll: without -mpopcnt that builtin
 * becomes a libgcc call, and the hypervisor does not link libgcc.
 */
static u64 popcount64(u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

/* Bits [lo, hi) of one word, 0 <= lo < hi <= 64. */
static u64 word_mask(u64 lo, u64 hi)
{
	u64 upper = hi == BITS_PER_WORD ? FULL_WORD : (1ull << hi) - 1;

	return upper & (FULL_WORD << lo);
}

static bool frame_used(const struct palloc *pa, u64 pfn)
{
	return pa->bitmap[pfn / BITS_PER_WORD] & (1ull << (pfn % BITS_PER_WORD));
}

/*
 * Mark frames [first, last) used or free. Returns how many actually changed
 * state, which is what the counters need.
 */
static u64 update_range(struct palloc *pa, u64 first, u64 last, bool used)
{
	u64 changed = 0;

	while (first < last) {
		u64 w = first / BITS_PER_WORD;
		u64 base = w * BITS_PER_WORD;
		u64 hi = MIN(last - base, BITS_PER_WORD);
		u64 mask = word_mask(first - base, hi);
		u64 old = pa->bitmap[w];
		u64 flip = (used ? ~old : old) & mask;

		pa->bitmap[w] = old ^ flip;
		changed += popcount64(flip);
		first = base + hi;
	}
	return changed;
}

/*
 * First frame in [from, to) whose bit equals @used, or @to if none. Words
 * with no candidate are skipped whole.
 */
static u64 find_bit(const struct palloc *pa, u64 from, u64 to, bool used)
{
	while (from < to) {
		u64 w = from / BITS_PER_WORD;
		u64 base = w * BITS_PER_WORD;
		u64 hi = MIN(to - base, BITS_PER_WORD);
		u64 bits = used ? pa->bitmap[w] : ~pa->bitmap[w];

		bits &= word_mask(from - base, hi);
		if (bits)
			return base + __builtin_ctzll(bits);
		from = base + hi;
	}
	return to;
}

void palloc_init(struct palloc *pa, u64 *bitmap, u64 nr_frames)
{
	memset(bitmap, 0xff, PALLOC_BITMAP_WORDS(nr_frames) * sizeof(u64));
	memset(pa, 0, sizeof(*pa));
	pa->bitmap = bitmap;
	pa->nr_frames = nr_frames;
}

/*
 * End of [base, base+len), saturated so that a range at the top of the
 * address space cannot wrap around to a small number.
 */
static u64 range_end(u64 base, u64 len)
{
	return len > ~0ull - base ? ~0ull : base + len;
}

void palloc_add_free(struct palloc *pa, u64 base, u64 len)
{
	u64 first = (base >> PAGE_SHIFT) + !IS_ALIGNED(base, PAGE_SIZE);
	u64 last = range_end(base, len) >> PAGE_SHIFT;
	u64 added;

	/* Frame 0 stays used: address 0 doubles as the failure value. */
	first = MAX(first, 1ull);
	last = MIN(last, pa->nr_frames);
	if (first >= last)
		return;

	added = update_range(pa, first, last, false);
	pa->total_pages += added;
	pa->free_pages += added;
}

u64 palloc_reserve(struct palloc *pa, u64 base, u64 len)
{
	u64 end = range_end(base, len);
	u64 first = base >> PAGE_SHIFT;
	u64 last = (end >> PAGE_SHIFT) + !IS_ALIGNED(end, PAGE_SIZE);
	u64 removed;

	if (!len)
		return 0;
	last = MIN(last, pa->nr_frames);
	if (first >= last)
		return 0;

	removed = update_range(pa, first, last, true);
	pa->free_pages -= removed;
	pa->total_pages -= removed;
	return removed;
}

/*
 * Lowest frame in [start, stop) aligned to @align_frames that begins a run
 * of @n free frames ending at or below @top; 0 when there is none (frame 0
 * is never free, so it cannot be a real answer).
 */
static u64 find_run(const struct palloc *pa, u64 start, u64 stop, u64 top,
		    u64 n, u64 align_frames)
{
	u64 pfn = ALIGN_UP(start, align_frames);

	while (pfn < stop && pfn <= top - n) {
		u64 used = find_bit(pa, pfn, pfn + n, true);

		if (used == pfn + n)
			return pfn;
		/* Resume at the next free frame: skips full words at once. */
		pfn = ALIGN_UP(find_bit(pa, used + 1, top, false),
			       align_frames);
	}
	return 0;
}

static bool valid_owner(enum pg_owner owner)
{
	return (unsigned int)owner < PG_NR_OWNERS;
}

u64 palloc_alloc(struct palloc *pa, u64 npages, u64 align, u64 limit,
		 enum pg_owner owner)
{
	u64 top = pa->nr_frames;
	u64 align_frames, pfn;

	if (!npages || !valid_owner(owner))
		return 0;
	if (align < PAGE_SIZE || (align & (align - 1)))
		return 0;
	if (limit)
		top = MIN(top, limit >> PAGE_SHIFT);
	if (npages > top)
		return 0;

	align_frames = align >> PAGE_SHIFT;
	pfn = find_run(pa, pa->hint, top, top, npages, align_frames);
	if (!pfn)
		pfn = find_run(pa, 0, MIN(pa->hint, top), top, npages,
			       align_frames);
	if (!pfn)
		return 0;

	update_range(pa, pfn, pfn + npages, true);
	pa->free_pages -= npages;
	pa->owned[owner] += npages;
	pa->hint = pfn + npages < pa->nr_frames ? pfn + npages : 0;
	return pfn << PAGE_SHIFT;
}

int palloc_free(struct palloc *pa, u64 addr, u64 npages, enum pg_owner owner)
{
	u64 pfn = addr >> PAGE_SHIFT;

	if (!npages || !valid_owner(owner) || !IS_ALIGNED(addr, PAGE_SIZE))
		return -HV_EINVAL;
	/* Frame 0 is never handed out, so it can never be given back. */
	if (!pfn || pfn >= pa->nr_frames || npages > pa->nr_frames - pfn)
		return -HV_EINVAL;
	if (npages > pa->owned[owner])
		return -HV_EINVAL;
	if (find_bit(pa, pfn, pfn + npages, false) != pfn + npages)
		return -HV_EINVAL;

	update_range(pa, pfn, pfn + npages, false);
	pa->free_pages += npages;
	pa->owned[owner] -= npages;
	return 0;
}

bool palloc_is_free(const struct palloc *pa, u64 addr)
{
	u64 pfn = addr >> PAGE_SHIFT;

	return pfn < pa->nr_frames && !frame_used(pa, pfn);
}

const char *pg_owner_name(enum pg_owner owner)
{
	static const char *const names[PG_NR_OWNERS] = {
		[PG_OWNER_PAGETABLE] = "pagetables",
		[PG_OWNER_PERCPU] = "percpu",
		[PG_OWNER_TRAMPOLINE] = "trampoline",
		[PG_OWNER_VIRT] = "virt",
		[PG_OWNER_OBJCACHE] = "objcache",
		[PG_OWNER_VM] = "vm",
		[PG_OWNER_STAGE2] = "stage2",
		[PG_OWNER_GUEST] = "guest",
		[PG_OWNER_TEST] = "test",
	};

	return valid_owner(owner) ? names[owner] : "?";
}
