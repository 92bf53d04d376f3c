/*
 * Memslots, as in KVM's struct kvm_memslots: a VM's guest-physical memory
 * as a set of slots sorted by guest frame, with an id-to-index table, a
 * last-hit cache and a generation number that every change bumps.
 * Pure bookkeeping (mm/memslot.c): the VM layer allocates backing and dirty
 * bitmaps and keeps the second-level tables in step.
 */
#ifndef LAMINA_MEMSLOT_H
#define LAMINA_MEMSLOT_H

#include <lamina/types.h>

#define MEMSLOT_READONLY (1u << 0)  /* guest writes fault */
#define MEMSLOT_LOG_DIRTY (1u << 1) /* first write to each page is logged */
#define MEMSLOT_MMIO (1u << 2)      /* pass-through MMIO: uncached, no dirty log */
#define MEMSLOT_FLAGS_ALL (MEMSLOT_READONLY | MEMSLOT_LOG_DIRTY | MEMSLOT_MMIO)

#define MAX_MEMSLOTS 64
#define MEMSLOT_GFN_LIMIT (1ull << 40) /* 52-bit guest-physical addresses */

struct memslot {
	u64 base_gfn;
	u64 npages;
	u64 backing;       /* host-physical address of the slot's first page */
	u32 flags;
	u16 id;            /* < MAX_MEMSLOTS, chosen by the caller */
	u64 *dirty_bitmap; /* one bit per page, set by the caller for LOG_DIRTY */
};

struct memslots {
	u64 generation;
	unsigned int used;
	struct memslot slots[MAX_MEMSLOTS]; /* [0, used), sorted by base_gfn */
	s16 id_to_index[MAX_MEMSLOTS];      /* -1: no slot with this id */
	unsigned int last_hit;              /* index of the last slot found */
};

void memslots_init(struct memslots *ms);

/*
 * Each change returns 0 and bumps the generation, or returns a negative
 * HV_E* code, changes nothing, and writes the reason into @why: empty,
 * wrapping or beyond MEMSLOT_GFN_LIMIT, overlapping slot N, id in use,
 * no such id, unknown flags, table full, misaligned backing.
 */
int memslot_add(struct memslots *ms, const struct memslot *slot, char *why,
		size_t len);
int memslot_delete(struct memslots *ms, u16 id, char *why, size_t len);
int memslot_move(struct memslots *ms, u16 id, u64 new_base_gfn, char *why,
		 size_t len);
int memslot_set_flags(struct memslots *ms, u16 id, u32 flags,
		      u64 *dirty_bitmap, char *why, size_t len);

/*
 * Each slot of @ms that is guest memory, not an MMIO hole, in guest-address
 * order: what a boot loader lists as the guest's RAM (read-only ones as
 * reserved ROM). Use as a statement: for_each_memory_slot(ms, s) { ... }
 */
#define for_each_memory_slot(ms, s)					\
	for (const struct memslot *s = (ms)->slots;			\
	     s < (ms)->slots + (ms)->used; s++)				\
		if (s->flags & MEMSLOT_MMIO) {} else

/* The slot holding @gfn, or NULL. Tries the last hit first. */
const struct memslot *memslot_find(struct memslots *ms, u64 gfn);
const struct memslot *memslot_by_id(const struct memslots *ms, u16 id);

/* Host-physical address of @gfn's page in @slot (which must hold it). */
static inline u64 memslot_gfn_to_hpa(const struct memslot *slot, u64 gfn)
{
	return slot->backing + ((gfn - slot->base_gfn) << 12);
}

#endif
