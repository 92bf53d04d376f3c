/*
 * A VM's memory: one memslot per configured region with its backing from
 * the page allocator, one per pass-through MMIO range, and the second-level
 * tables (EPT or NPT) that map them. Teardown frees all of it.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/config.h>
#include <lamina/dirty_log.h>
#include <lamina/errno.h>
#include <lamina/guest_walk.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/vm.h>

static void *s2_page_alloc(void *ctx)
{
	(void)ctx;
	return page_alloc(1, PAGE_SIZE, 0, PG_OWNER_STAGE2);
}

static void s2_page_free(void *ctx, void *page)
{
	(void)ctx;
	page_free(page, 1, PG_OWNER_STAGE2);
}

static const struct s2_env s2_env = { s2_page_alloc, s2_page_free, NULL };

/* Backing aligned for the largest second-level page the region can use. */
static u64 alloc_backing(u64 gpa, u64 size)
{
	static const u64 sizes[] = { S2_SIZE_1G, S2_SIZE_2M, S2_SIZE_4K };
	const struct hv_features *f = &hv_boot_caps.f;

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		u64 a = sizes[i];
		void *p;

		if ((a == S2_SIZE_1G && !f->s2_1g) ||
		    (a == S2_SIZE_2M && !f->s2_2m) || size < a ||
		    !IS_ALIGNED(gpa, a))
			continue;
		p = page_alloc(size / PAGE_SIZE, a, 0, PG_OWNER_GUEST);
		if (p)
			return (u64)(uintptr_t)p;
	}
	return 0;
}

static u64 bitmap_pages(u64 npages)
{
	return ALIGN_UP(DIRTY_BITMAP_WORDS(npages) * 8, PAGE_SIZE) / PAGE_SIZE;
}

static const u8 zero_page[PAGE_SIZE];

int vm_zero_gpa(struct vm *vm, u64 gpa, u64 len)
{
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE);
		int err = vm_write_gpa(vm, gpa, zero_page, chunk);

		if (err)
			return err;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

const struct boot_module *vm_module_find(const char *name)
{
	for (unsigned int i = 0; name && i < bootinfo.nr_modules; i++)
		if (!strcmp(bootinfo.modules[i].name, name))
			return &bootinfo.modules[i];
	return NULL;
}

static void load_image(struct vm *vm, u64 backing, const char *name)
{
	const struct boot_module *m = vm_module_find(name);

	/* The validator checked that the module exists and fits. */
	memcpy((void *)(uintptr_t)backing, (const void *)(uintptr_t)m->start,
	       m->end - m->start);
	pr_info("vm '%s': loaded '%s' (%llu bytes)\n", vm->name, name,
		(unsigned long long)(m->end - m->start));
}

static void free_slot_memory(const struct memslot *s)
{
	if (!(s->flags & MEMSLOT_MMIO))
		page_free((void *)(uintptr_t)s->backing, s->npages,
			  PG_OWNER_GUEST);
	if (s->dirty_bitmap)
		page_free(s->dirty_bitmap, bitmap_pages(s->npages), PG_OWNER_VM);
}

/* Add the slot and map it; on failure nothing of it stays. */
static int add_slot(struct vm *vm, struct memslot *slot, unsigned int perm,
		    enum s2_memtype mt)
{
	u64 gpa = slot->base_gfn << PAGE_SHIFT, size = slot->npages << PAGE_SHIFT;
	char why[96];
	int err = memslot_add(&vm->slots, slot, why, sizeof(why));

	if (err) {
		pr_err("vm '%s': slot %u: %s\n", vm->name, slot->id, why);
		return err;
	}
	err = s2_map(&vm->s2, gpa, slot->backing, size, perm, mt);
	if (!err && (slot->flags & MEMSLOT_LOG_DIRTY))
		err = dirty_log_start(&vm->s2, memslot_by_id(&vm->slots, slot->id));
	if (err) {
		s2_unmap(&vm->s2, gpa, size);
		memslot_delete(&vm->slots, slot->id, why, sizeof(why));
	}
	return err;
}

/*
 * A RAM slot of @size bytes at @gpa, with MEMSLOT_* @flags, its backing
 * zeroed (or filled from the module @image), mapped; all or nothing.
 */
int vm_mem_add_ram(struct vm *vm, u16 id, u64 gpa, u64 size, u32 flags,
		   const char *image)
{
	struct memslot slot = { .base_gfn = gpa >> PAGE_SHIFT,
				.npages = size >> PAGE_SHIFT, .id = id,
				.flags = flags & (MEMSLOT_READONLY | MEMSLOT_LOG_DIRTY) };
	int err = -HV_ENOMEM;

	slot.backing = alloc_backing(gpa, size);
	if (!slot.backing)
		goto err_backing;
	if (slot.flags & MEMSLOT_LOG_DIRTY) {
		slot.dirty_bitmap = page_alloc(bitmap_pages(slot.npages), PAGE_SIZE,
					       0, PG_OWNER_VM);
		if (!slot.dirty_bitmap)
			goto err_bitmap;
	}
	if (image)
		load_image(vm, slot.backing, image);
	err = add_slot(vm, &slot, slot.flags & MEMSLOT_READONLY ?
			     S2_R | S2_X : S2_RWX, S2_WB);
	if (err)
		goto err_slot;
	vm->ram_bytes += size;
	return 0;

err_slot:
	free_slot_memory(&slot);
	return err;
err_bitmap:
	page_free((void *)(uintptr_t)slot.backing, slot.npages, PG_OWNER_GUEST);
err_backing:
	pr_err("vm '%s': no memory for slot %u (%llu KiB)\n", vm->name, id,
	       (unsigned long long)(size >> 10));
	return err;
}

static int add_region(struct vm *vm, u16 id, const struct cfg_region *r)
{
	u32 flags = (r->flags & CFG_MEM_READONLY ? MEMSLOT_READONLY : 0) |
		    (r->flags & CFG_MEM_LOG_DIRTY ? MEMSLOT_LOG_DIRTY : 0);

	return vm_mem_add_ram(vm, id, r->gpa, r->size, flags,
			      cfg_str(vm->blob, r->image));
}

static int add_mmio(struct vm *vm, u16 id, const struct cfg_device *d)
{
	struct memslot slot = { .base_gfn = d->gpa >> PAGE_SHIFT,
				.npages = d->size >> PAGE_SHIFT,
				.backing = d->base, .flags = MEMSLOT_MMIO,
				.id = id };

	return add_slot(vm, &slot, S2_R | S2_W, S2_UC);
}

int vm_mem_create(struct vm *vm)
{
	const struct cfg_vm *c = vm->cfg;
	u16 id = 0;
	int err;

	memslots_init(&vm->slots);
	err = s2_init(&vm->s2, hv_ops->vendor == HV_VENDOR_INTEL ? S2_EPT : S2_NPT,
		      hv_boot_caps.f.s2_2m, hv_boot_caps.f.s2_1g, &s2_env);
	if (err)
		return err;
	for (u32 i = 0; i < c->nr_regions && !err; i++)
		err = add_region(vm, id++,
				 cfg_region_at(vm->blob, c->first_region + i));
	for (u32 i = 0; i < c->nr_devices && !err; i++) {
		const struct cfg_device *d =
			cfg_device_at(vm->blob, c->first_device + i);

		if (d->kind == CFG_DEV_MMIO)
			err = add_mmio(vm, id++, d);
	}
	if (err)
		vm_mem_destroy(vm);
	return err;
}

/* Unmapped, out of the set, its memory freed (the VM does not run). */
static void del_slot(struct vm *vm, const struct memslot *slot)
{
	struct memslot s = *slot;
	char why[96];

	s2_unmap(&vm->s2, s.base_gfn << PAGE_SHIFT, s.npages << PAGE_SHIFT);
	memslot_delete(&vm->slots, s.id, why, sizeof(why));
	if (!(s.flags & MEMSLOT_MMIO))
		vm->ram_bytes -= s.npages << PAGE_SHIFT;
	free_slot_memory(&s);
}

int vm_mem_del(struct vm *vm, u16 id)
{
	const struct memslot *s = memslot_by_id(&vm->slots, id);

	if (!s)
		return -HV_ENOENT;
	del_slot(vm, s);
	return 0;
}

/*
 * Dirty logging on or off for a RAM slot: on, a bitmap and the slot
 * write-protected; off, writable again and the bitmap freed.
 */
int vm_mem_log_dirty(struct vm *vm, u16 id, bool on)
{
	const struct memslot *s = memslot_by_id(&vm->slots, id);
	u64 *bitmap;
	char why[96];
	int err;

	if (!s)
		return -HV_ENOENT;
	if (s->flags & (MEMSLOT_MMIO | MEMSLOT_READONLY))
		return -HV_EINVAL;
	if (!!(s->flags & MEMSLOT_LOG_DIRTY) == on)
		return 0;
	bitmap = s->dirty_bitmap;
	if (on) {
		bitmap = page_alloc(bitmap_pages(s->npages), PAGE_SIZE, 0, PG_OWNER_VM);
		if (!bitmap)
			return -HV_ENOMEM;
	}
	err = memslot_set_flags(&vm->slots, id, on ? s->flags | MEMSLOT_LOG_DIRTY :
				s->flags & ~MEMSLOT_LOG_DIRTY, on ? bitmap : NULL,
				why, sizeof(why));
	if (err) {
		if (on)
			page_free(bitmap, bitmap_pages(s->npages), PG_OWNER_VM);
		return err;
	}
	s = memslot_by_id(&vm->slots, id);
	if (on)
		return dirty_log_start(&vm->s2, s);
	page_free(bitmap, bitmap_pages(s->npages), PG_OWNER_VM);
	return s2_protect(&vm->s2, s->base_gfn << PAGE_SHIFT,
			  s->npages << PAGE_SHIFT, S2_RWX);
}

void vm_mem_destroy(struct vm *vm)
{
	while (vm->slots.used)
		del_slot(vm, &vm->slots.slots[vm->slots.used - 1]);
	if (vm->s2.root)
		s2_destroy(&vm->s2);
	vm->ram_bytes = 0;
}

/*
 * Copy between the guest at @gpa and @buf, page by page through the slots.
 * -HV_EINVAL when part of the range is in no RAM slot (or, to write, in a
 * read-only one).
 */
static int copy_gpa(struct vm *vm, u64 gpa, u8 *buf, u64 len, bool write)
{
	while (len) {
		const struct memslot *s = memslot_find(&vm->slots, gpa >> PAGE_SHIFT);
		u64 chunk = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		u8 *host;

		if (!s || (s->flags & MEMSLOT_MMIO) ||
		    (write && (s->flags & MEMSLOT_READONLY)))
			return -HV_EINVAL;
		host = (u8 *)(uintptr_t)(memslot_gfn_to_hpa(s, gpa >> PAGE_SHIFT) +
					 (gpa & (PAGE_SIZE - 1)));
		memcpy(write ? host : buf, write ? buf : host, chunk);
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/* guest_walk()'s reader of page-table entries: @ctx is the VM. */
int vm_read_pte(void *ctx, u64 gpa, unsigned int size, u64 *val)
{
	*val = 0;
	return vm_read_gpa(ctx, gpa, val, size);
}

void vcpu_walk_mode(const struct vcpu_sregs *s, struct gw_mode *m)
{
	*m = (struct gw_mode){ .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4,
			       .efer = s->efer,
			       .amd = hv_ops->vendor == HV_VENDOR_AMD };
}

int vm_write_gpa(struct vm *vm, u64 gpa, const void *data, u64 len)
{
	return copy_gpa(vm, gpa, (u8 *)data, len, true);
}

int vm_read_gpa(struct vm *vm, u64 gpa, void *buf, u64 len)
{
	return copy_gpa(vm, gpa, buf, len, false);
}
