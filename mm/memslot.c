/*
 * Memslots: a VM's guest-physical memory as a sorted array of slots, with an
 * id-to-index table, a last-hit cache and a generation number (KVM's struct
 * kvm_memslots).
 *
 * Every change validates everything first and only then writes, so a refused
 * change leaves the whole struct as it was: the caller may hold pointers into
 * it and may already have acted on the generation it read.
 *
 * Changes are serialised by the caller (the VM layer). Lookups may run on
 * several vCPUs at once; the only thing they write is the last-hit hint,
 * which any of them may overwrite since every reader checks it anyway.
 */
#include <lamina/memslot.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define MEMSLOT_BACKING_ALIGN 4096u

/* id_to_index holds s16 indices; -1 must stay distinct from every index. */
BUILD_BUG_ON(MAX_MEMSLOTS > 32767);

static inline u64 slot_last(const struct memslot *s)
{
	return s->base_gfn + s->npages - 1;
}

/* Unsigned subtraction makes a gfn below the base wrap to a huge offset. */
static inline bool slot_holds(const struct memslot *s, u64 gfn)
{
	return gfn - s->base_gfn < s->npages;
}

static int __printf(4, 5) refuse(char *why, size_t len, int err,
				 const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int check_flags(u16 id, u32 flags, const u64 *bitmap, char *why,
		       size_t len)
{
	if (flags & ~MEMSLOT_FLAGS_ALL)
		return refuse(why, len, -HV_EINVAL,
			      "slot %u: unknown flags 0x%x", id,
			      flags & ~MEMSLOT_FLAGS_ALL);
	if (!(flags & MEMSLOT_LOG_DIRTY))
		return 0;
	/* A device's writes never go through the dirty-tracking fault. */
	if (flags & MEMSLOT_MMIO)
		return refuse(why, len, -HV_EINVAL,
			      "slot %u: MMIO slot cannot log dirty pages", id);
	if (flags & MEMSLOT_READONLY)
		return refuse(why, len, -HV_EINVAL,
			      "slot %u: read-only slot has no writes to log", id);
	if (!bitmap)
		return refuse(why, len, -HV_EINVAL,
			      "slot %u: LOG_DIRTY without a dirty bitmap", id);
	return 0;
}

static int check_range(u16 id, u64 base, u64 npages, char *why, size_t len)
{
	if (!npages)
		return refuse(why, len, -HV_EINVAL,
			      "slot %u at gfn 0x%llx: no pages", id,
			      (unsigned long long)base);
	if (npages > ~0ull - base)
		return refuse(why, len, -HV_ERANGE,
			      "slot %u: gfn 0x%llx + 0x%llx pages wraps", id,
			      (unsigned long long)base,
			      (unsigned long long)npages);
	if (base + npages > MEMSLOT_GFN_LIMIT)
		return refuse(why, len, -HV_ERANGE,
			      "slot %u [0x%llx-0x%llx] ends beyond gfn limit 0x%llx",
			      id, (unsigned long long)base,
			      (unsigned long long)(base + npages - 1),
			      (unsigned long long)MEMSLOT_GFN_LIMIT);
	return 0;
}

/* @id is skipped, so a slot being moved may overlap its own old place. */
static int check_overlap(const struct memslots *ms, u16 id, u64 base,
			 u64 npages, char *why, size_t len)
{
	u64 last = base + npages - 1;

	for (unsigned int i = 0; i < ms->used; i++) {
		const struct memslot *s = &ms->slots[i];

		if (s->id == id || base > slot_last(s) || last < s->base_gfn)
			continue;
		return refuse(why, len, -HV_EEXIST,
			      "slot %u [0x%llx-0x%llx] overlaps slot %u [0x%llx-0x%llx]",
			      id, (unsigned long long)base,
			      (unsigned long long)last, s->id,
			      (unsigned long long)s->base_gfn,
			      (unsigned long long)slot_last(s));
	}
	return 0;
}

static void rebuild_id_to_index(struct memslots *ms)
{
	for (unsigned int i = 0; i < MAX_MEMSLOTS; i++)
		ms->id_to_index[i] = -1;
	for (unsigned int i = 0; i < ms->used; i++)
		ms->id_to_index[ms->slots[i].id] = (s16)i;
}

static void insert_sorted(struct memslots *ms, const struct memslot *slot)
{
	unsigned int pos = 0;

	while (pos < ms->used && ms->slots[pos].base_gfn < slot->base_gfn)
		pos++;
	memmove(&ms->slots[pos + 1], &ms->slots[pos],
		(ms->used - pos) * sizeof(ms->slots[0]));
	ms->slots[pos] = *slot;
	ms->used++;
	rebuild_id_to_index(ms);
}

static void remove_at(struct memslots *ms, unsigned int idx)
{
	memmove(&ms->slots[idx], &ms->slots[idx + 1],
		(ms->used - idx - 1) * sizeof(ms->slots[0]));
	ms->used--;
	/* No stale backing or bitmap pointer is left beyond used. */
	memset(&ms->slots[ms->used], 0, sizeof(ms->slots[0]));
	rebuild_id_to_index(ms);
}

/* The slot with @id for changing it, or NULL with @why written. */
static struct memslot *slot_for_change(struct memslots *ms, u16 id,
				       char *why, size_t len)
{
	if (id >= MAX_MEMSLOTS || ms->id_to_index[id] < 0) {
		refuse(why, len, -HV_ENOENT, "no slot with id %u", id);
		return NULL;
	}
	return &ms->slots[ms->id_to_index[id]];
}

void memslots_init(struct memslots *ms)
{
	memset(ms, 0, sizeof(*ms));
	rebuild_id_to_index(ms);
}

/* Everything about a new slot except where it lies against the others. */
static int check_new(const struct memslots *ms, const struct memslot *slot,
		     char *why, size_t len)
{
	int err;

	if (slot->id >= MAX_MEMSLOTS)
		return refuse(why, len, -HV_EINVAL, "slot id %u not below %u",
			      slot->id, MAX_MEMSLOTS);
	/* Before the id check: with every id taken, "full" is the reason. */
	if (ms->used >= MAX_MEMSLOTS)
		return refuse(why, len, -HV_ENOMEM,
			      "slot %u: table full (%u slots)", slot->id,
			      MAX_MEMSLOTS);
	if (ms->id_to_index[slot->id] >= 0)
		return refuse(why, len, -HV_EEXIST, "slot id %u in use",
			      slot->id);
	err = check_flags(slot->id, slot->flags, slot->dirty_bitmap, why, len);
	if (err)
		return err;
	err = check_range(slot->id, slot->base_gfn, slot->npages, why, len);
	if (err)
		return err;
	if (!IS_ALIGNED(slot->backing, MEMSLOT_BACKING_ALIGN))
		return refuse(why, len, -HV_EINVAL,
			      "slot %u: backing 0x%llx not 4 KiB aligned",
			      slot->id, (unsigned long long)slot->backing);
	return 0;
}

int memslot_add(struct memslots *ms, const struct memslot *slot, char *why,
		size_t len)
{
	struct memslot s = *slot;
	int err;

	err = check_new(ms, slot, why, len);
	if (!err)
		err = check_overlap(ms, slot->id, slot->base_gfn, slot->npages,
				    why, len);
	if (err)
		return err;
	/* A slot's bitmap pointer then always means that it is logging. */
	if (!(s.flags & MEMSLOT_LOG_DIRTY))
		s.dirty_bitmap = NULL;
	insert_sorted(ms, &s);
	ms->generation++;
	return 0;
}

int memslot_delete(struct memslots *ms, u16 id, char *why, size_t len)
{
	if (!slot_for_change(ms, id, why, len))
		return -HV_ENOENT;
	remove_at(ms, (unsigned int)ms->id_to_index[id]);
	ms->generation++;
	return 0;
}

int memslot_move(struct memslots *ms, u16 id, u64 new_base_gfn, char *why,
		 size_t len)
{
	struct memslot *cur = slot_for_change(ms, id, why, len);
	struct memslot s;
	int err;

	if (!cur)
		return -HV_ENOENT;
	err = check_range(id, new_base_gfn, cur->npages, why, len);
	if (!err)
		err = check_overlap(ms, id, new_base_gfn, cur->npages, why,
				    len);
	if (err)
		return err;
	s = *cur;
	s.base_gfn = new_base_gfn;
	remove_at(ms, (unsigned int)ms->id_to_index[id]);
	insert_sorted(ms, &s);
	ms->generation++;
	return 0;
}

int memslot_set_flags(struct memslots *ms, u16 id, u32 flags,
		      u64 *dirty_bitmap, char *why, size_t len)
{
	struct memslot *cur = slot_for_change(ms, id, why, len);
	int err;

	if (!cur)
		return -HV_ENOENT;
	err = check_flags(id, flags, dirty_bitmap, why, len);
	if (err)
		return err;
	cur->flags = flags;
	cur->dirty_bitmap = flags & MEMSLOT_LOG_DIRTY ? dirty_bitmap : NULL;
	ms->generation++;
	return 0;
}

const struct memslot *memslot_find(struct memslots *ms, u64 gfn)
{
	unsigned int hit = READ_ONCE(ms->last_hit), lo = 0, hi = ms->used;

	/* The hint may name a slot since moved or deleted: check it. */
	if (hit < ms->used && slot_holds(&ms->slots[hit], gfn))
		return &ms->slots[hit];
	/* lo ends on the first slot above gfn: only lo - 1 can hold it. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (ms->slots[mid].base_gfn <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || !slot_holds(&ms->slots[lo - 1], gfn))
		return NULL;
	WRITE_ONCE(ms->last_hit, lo - 1);
	return &ms->slots[lo - 1];
}

const struct memslot *memslot_by_id(const struct memslots *ms, u16 id)
{
	if (id >= MAX_MEMSLOTS || ms->id_to_index[id] < 0)
		return NULL;
	return &ms->slots[ms->id_to_index[id]];
}
