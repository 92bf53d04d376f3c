/*
 * Dirty logging for LOG_DIRTY memslots (KVM_GET_DIRTY_LOG): the slot is
 * mapped write-protected; the first write to a page faults, sets the page's
 * bit and gives write access back; reading the log returns and clears the
 * bits and write-protects those pages again. Pure (mm/dirty_log.c) over
 * memslots and the stage-2 builder. The bitmap belongs to the slot.
 */
#ifndef LAMINA_DIRTY_LOG_H
#define LAMINA_DIRTY_LOG_H

#include <lamina/memslot.h>
#include <lamina/stage2.h>

#define DIRTY_BITMAP_WORDS(npages) (((npages) + 63) / 64)

/* Write-protect the whole slot (it must have MEMSLOT_LOG_DIRTY and a
 * bitmap); its bitmap is cleared. */
int dirty_log_start(struct s2_table *t, const struct memslot *slot);

/*
 * A write to @gfn faulted. When the slot holding it logs dirty pages (and
 * is not READONLY), set the page's bit, make that 4 KiB page writable and
 * return true; otherwise return false (not a dirty-log fault).
 */
bool dirty_log_fault(struct s2_table *t, struct memslots *ms, u64 gfn);

/*
 * Copy the slot's bitmap into @out (DIRTY_BITMAP_WORDS(npages) words),
 * clear it and write-protect the pages that were dirty. Returns how many
 * pages were dirty, or a negative HV_E* code.
 */
s64 dirty_log_get_and_clear(struct s2_table *t, const struct memslot *slot,
			    u64 *out);

#endif
