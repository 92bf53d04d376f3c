/*
 * Physical page allocator: one bit per 4 KiB frame (set = not free), with
 * counters by owner. Pure logic (mm/palloc.c) shared by the hypervisor and
 * the unit tests; the hypervisor holds its lock around every call.
 */
#ifndef LAMINA_PALLOC_H
#define LAMINA_PALLOC_H

#include <lamina/types.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ull

enum pg_owner {
	PG_OWNER_PAGETABLE, /* Lamina's own page tables */
	PG_OWNER_PERCPU,    /* per-CPU stacks and data */
	PG_OWNER_TRAMPOLINE,/* the AP start-up page below 1 MiB */
	PG_OWNER_VIRT,      /* VMXON regions, SVM host-save areas */
	PG_OWNER_OBJCACHE,  /* slabs of the object caches (vCPUs, ...) */
	PG_OWNER_VM,        /* struct vm and dirty bitmaps */
	PG_OWNER_STAGE2,    /* EPT / NPT table pages */
	PG_OWNER_GUEST,     /* guest RAM */
	PG_OWNER_TEST,      /* unit tests */
	PG_NR_OWNERS,
};

struct palloc {
	u64 *bitmap;     /* bit n set: frame n is not free */
	u64 nr_frames;   /* frames covered by the bitmap, from address 0 */
	u64 total_pages; /* pages ever handed to the pool with palloc_add_free */
	u64 free_pages;
	u64 owned[PG_NR_OWNERS];
	u64 hint;        /* frame to start the next search from */
};

/* Words of bitmap needed to cover @nr_frames frames. */
#define PALLOC_BITMAP_WORDS(nr_frames) (((nr_frames) + 63) / 64)

/* Start with every frame marked not free. */
void palloc_init(struct palloc *pa, u64 *bitmap, u64 nr_frames);

/*
 * Give the whole pages inside [base, base+len) to the pool. Frame 0 and
 * frames beyond nr_frames are never added. Pages already free are not
 * counted twice.
 */
void palloc_add_free(struct palloc *pa, u64 base, u64 len);

/*
 * Take every page touching [base, base+len) out of the pool for good (for
 * ranges that must never be handed out: the image, modules, firmware data).
 * Returns how many free pages it removed.
 */
u64 palloc_reserve(struct palloc *pa, u64 base, u64 len);

/*
 * Allocate @npages contiguous pages, aligned to @align bytes (a power of two,
 * at least PAGE_SIZE), ending at or below @limit (exclusive; 0 = no limit).
 * Returns the physical address, or 0 when no such run is free.
 */
u64 palloc_alloc(struct palloc *pa, u64 npages, u64 align, u64 limit,
		 enum pg_owner owner);

/*
 * Free @npages pages at @addr, charged to @owner. Returns -HV_EINVAL, and
 * changes nothing, when the range is misaligned, outside the bitmap, partly
 * free already (a double free) or more than @owner holds.
 */
int palloc_free(struct palloc *pa, u64 addr, u64 npages, enum pg_owner owner);

/* Is the page at @addr free? (tests and assertions) */
bool palloc_is_free(const struct palloc *pa, u64 addr);

const char *pg_owner_name(enum pg_owner owner);

#endif
