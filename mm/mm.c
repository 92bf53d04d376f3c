/*
 * Physical memory: the page allocator over the multiboot2 memory map, less
 * Lamina's image, the boot information, the modules and the frame bitmap.
 */
#define pr_fmt(fmt) "mm: " fmt

#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/panic.h>
#include <lamina/printk.h>
#include <lamina/spinlock.h>

#define EARLY_MAPPED_TOP (4ull << 30) /* boot/entry.asm maps 0-4 GiB */
#define LOW_MEMORY_END (1ull << 20)

static struct palloc pa;
static spinlock_t pa_lock = SPINLOCK_INIT;
static struct mm_stats boot_stats;
static u64 mapped_top = EARLY_MAPPED_TOP;

static u64 ram_top(void)
{
	u64 top = 0;

	for (unsigned int i = 0; i < bootinfo.nr_mmap; i++) {
		const struct mem_range *r = &bootinfo.mmap[i];

		if (r->type == MEM_USABLE && r->base + r->len > top)
			top = r->base + r->len;
	}
	return top;
}

struct busy {
	u64 start, end;
};

/* Ranges that hold something before the allocator exists. */
static unsigned int boot_busy_ranges(struct busy *b, unsigned int max)
{
	unsigned int n = 0;

	b[n++] = (struct busy){ (u64)(uintptr_t)__image_start,
				(u64)(uintptr_t)__image_end };
	b[n++] = (struct busy){ bootinfo.mbi_addr,
				bootinfo.mbi_addr + bootinfo.mbi_size };
	for (unsigned int i = 0; i < bootinfo.nr_modules && n < max; i++)
		b[n++] = (struct busy){ bootinfo.modules[i].start,
					bootinfo.modules[i].end };
	return n;
}

/* First page-aligned run of @size bytes of usable RAM above 1 MiB that
 * overlaps nothing busy and lies in the early mapping. */
static u64 find_early_run(u64 size)
{
	struct busy busy[2 + BOOTINFO_MAX_MODULES];
	unsigned int nb = boot_busy_ranges(busy, ARRAY_SIZE(busy));

	for (unsigned int i = 0; i < bootinfo.nr_mmap; i++) {
		const struct mem_range *r = &bootinfo.mmap[i];
		u64 at = ALIGN_UP(MAX(r->base, LOW_MEMORY_END), PAGE_SIZE);
		u64 end = MIN(r->base + r->len, EARLY_MAPPED_TOP);
		bool moved = true;

		if (r->type != MEM_USABLE)
			continue;
		while (moved && at + size <= end) {
			moved = false;
			for (unsigned int j = 0; j < nb; j++) {
				if (at < busy[j].end && busy[j].start < at + size) {
					at = ALIGN_UP(busy[j].end, PAGE_SIZE);
					moved = true;
				}
			}
		}
		if (at + size <= end)
			return at;
	}
	return 0;
}

static void pool_reserve_busy(void)
{
	struct busy busy[2 + BOOTINFO_MAX_MODULES];
	unsigned int nb = boot_busy_ranges(busy, ARRAY_SIZE(busy));

	boot_stats.image = busy[0].end - busy[0].start;
	for (unsigned int j = 0; j < nb; j++) {
		u64 n = palloc_reserve(&pa, busy[j].start,
				       busy[j].end - busy[j].start);

		if (j > 0)
			boot_stats.bootdata += n * PAGE_SIZE;
	}
}

void mm_init(void)
{
	u64 top = ram_top();
	u64 frames = top >> PAGE_SHIFT;
	u64 bitmap_bytes = ALIGN_UP(PALLOC_BITMAP_WORDS(frames) * 8, PAGE_SIZE);
	u64 bitmap = find_early_run(bitmap_bytes);

	if (!top)
		panic("no usable RAM in the memory map");
	if (!bitmap)
		panic("no room for the frame bitmap (%llu KiB) below 4 GiB",
		      (unsigned long long)(bitmap_bytes >> 10));
	palloc_init(&pa, (u64 *)(uintptr_t)bitmap, frames);
	for (unsigned int i = 0; i < bootinfo.nr_mmap; i++) {
		const struct mem_range *r = &bootinfo.mmap[i];

		if (r->type == MEM_USABLE) {
			palloc_add_free(&pa, r->base, r->len);
			boot_stats.usable += r->len;
		}
	}
	/* Reserved entries can overlap usable ones in broken maps: they win. */
	for (unsigned int i = 0; i < bootinfo.nr_mmap; i++)
		if (bootinfo.mmap[i].type != MEM_USABLE)
			palloc_reserve(&pa, bootinfo.mmap[i].base,
				       bootinfo.mmap[i].len);
	pool_reserve_busy();
	boot_stats.bitmap = palloc_reserve(&pa, bitmap, bitmap_bytes) * PAGE_SIZE;
	pr_info("%llu MiB usable, top 0x%llx, %llu KiB free; frame bitmap %llu KiB at 0x%llx\n",
		(unsigned long long)(boot_stats.usable >> 20),
		(unsigned long long)top,
		(unsigned long long)(pa.free_pages * PAGE_SIZE >> 10),
		(unsigned long long)(bitmap_bytes >> 10),
		(unsigned long long)bitmap);
	paging_init(top);
	mapped_top = MAX(top, EARLY_MAPPED_TOP);
}

void *page_alloc(u64 npages, u64 align, u64 limit, enum pg_owner owner)
{
	u64 addr;

	spin_lock(&pa_lock);
	addr = palloc_alloc(&pa, npages, align, limit, owner);
	spin_unlock(&pa_lock);
	if (addr)
		memset((void *)(uintptr_t)addr, 0, npages * PAGE_SIZE);
	return (void *)(uintptr_t)addr;
}

void page_free(void *p, u64 npages, enum pg_owner owner)
{
	int err;

	spin_lock(&pa_lock);
	err = palloc_free(&pa, (u64)(uintptr_t)p, npages, owner);
	spin_unlock(&pa_lock);
	BUG_ON(err);
}

void mm_stats(struct mm_stats *st)
{
	spin_lock(&pa_lock);
	*st = boot_stats;
	st->free = pa.free_pages * PAGE_SIZE;
	for (int i = 0; i < PG_NR_OWNERS; i++)
		st->owned[i] = pa.owned[i] * PAGE_SIZE;
	spin_unlock(&pa_lock);
}

bool phys_mapped(u64 phys, u64 len)
{
	return phys && phys + len >= phys && phys + len <= mapped_top;
}
