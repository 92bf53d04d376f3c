/*
 * Monitor commands that change a VM's memory at run time: `slot` (KVM's
 * KVM_SET_USER_MEMORY_REGION: add, delete, dirty logging on or off) and
 * `dirty` (KVM_GET_DIRTY_LOG, then clear: the dirty pages as ranges).
 */
#include <lamina/dirty_log.h>
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>

#include "commands.h"

#define DIRTY_MAX_PAGES (1u << 18) /* 1 GiB of 4 KiB pages per `dirty` */

static int usage(struct mon_ctx *ctx)
{
	mon_printf(ctx, "error: usage: slot VM add ID GPA SIZE [readonly|log_dirty] | slot VM del ID | slot VM flags ID log_dirty|none\r\n");
	return -1;
}

static int slot_id(struct mon_ctx *ctx, const char *s, u16 *id)
{
	u64 v;

	if (parse_u64(s, &v) || v > 0xffff) {
		mon_printf(ctx, "error: '%s' is not a slot id (0 to 65535)\r\n", s);
		return -1;
	}
	*id = (u16)v;
	return 0;
}

static int slot_add(struct mon_ctx *ctx, struct vm *vm, int argc, char **argv,
		    u16 id, char *why, size_t len)
{
	u64 gpa, size;
	u32 flags = 0;

	if (argc < 6 || argc > 7)
		return usage(ctx);
	if (parse_u64(argv[4], &gpa) || parse_u64(argv[5], &size)) {
		mon_printf(ctx, "error: GPA and SIZE are numbers (decimal or 0x hex)\r\n");
		return -1;
	}
	if (argc == 7 && !strcmp(argv[6], "readonly"))
		flags = MEMSLOT_READONLY;
	else if (argc == 7 && !strcmp(argv[6], "log_dirty"))
		flags = MEMSLOT_LOG_DIRTY;
	else if (argc == 7)
		return usage(ctx);
	if (vm_slot_add(vm, id, gpa, size, flags, why, len))
		return 1;
	mon_printf(ctx, "vm '%s': slot %u added at 0x%llx, %llu KiB (generation %llu)\r\n",
		   vm->name, id, (unsigned long long)gpa,
		   (unsigned long long)(size >> 10),
		   (unsigned long long)vm->slots.generation);
	return 0;
}

int cmd_slot(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	char why[128];
	u16 id;
	int r;

	if (!vm)
		return -1;
	if (argc < 4 || slot_id(ctx, argv[3], &id))
		return argc < 4 ? usage(ctx) : -1;
	if (!strcmp(argv[2], "add")) {
		r = slot_add(ctx, vm, argc, argv, id, why, sizeof(why));
	} else if (!strcmp(argv[2], "del") && argc == 4) {
		r = vm_slot_del(vm, id, why, sizeof(why)) ? 1 : 0;
		if (!r)
			mon_printf(ctx, "vm '%s': slot %u deleted (generation %llu)\r\n",
				   vm->name, id, (unsigned long long)vm->slots.generation);
	} else if (!strcmp(argv[2], "flags") && argc == 5 &&
		   (!strcmp(argv[4], "log_dirty") || !strcmp(argv[4], "none"))) {
		r = vm_slot_flags(vm, id, argv[4][0] == 'l', why, sizeof(why)) ? 1 : 0;
		if (!r)
			mon_printf(ctx, "vm '%s': slot %u %s dirty pages\r\n", vm->name,
				   id, argv[4][0] == 'l' ? "logs" : "no longer logs");
	} else {
		return usage(ctx);
	}
	if (r > 0) {
		mon_printf(ctx, "error: vm '%s' slot %u: %s\r\n", vm->name, id, why);
		return -1;
	}
	return r;
}

/* Runs of set bits as page ranges of the slot starting at @gpa. */
static void print_ranges(struct mon_ctx *ctx, const u64 *bits, u64 npages,
			 u64 gpa)
{
	for (u64 p = 0; p < npages;) {
		u64 start;

		if (!(bits[p / 64] & (1ull << (p % 64)))) {
			p++;
			continue;
		}
		start = p;
		while (p < npages && (bits[p / 64] & (1ull << (p % 64))))
			p++;
		mon_printf(ctx, "  [0x%llx, 0x%llx) %llu pages\r\n",
			   (unsigned long long)(gpa + (start << PAGE_SHIFT)),
			   (unsigned long long)(gpa + (p << PAGE_SHIFT)),
			   (unsigned long long)(p - start));
	}
}

int cmd_dirty(struct mon_ctx *ctx, int argc, char **argv)
{
	static u64 bits[DIRTY_BITMAP_WORDS(DIRTY_MAX_PAGES)]; /* one monitor */
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	const struct memslot *s;
	char why[128];
	u16 id;
	s64 n;

	(void)argc;
	if (!vm)
		return -1;
	if (slot_id(ctx, argv[2], &id))
		return -1;
	n = vm_dirty_log(vm, id, bits, ARRAY_SIZE(bits), why, sizeof(why));
	if (n < 0) {
		mon_printf(ctx, "error: vm '%s' slot %u: %s\r\n", vm->name, id, why);
		return -1;
	}
	s = memslot_by_id(&vm->slots, id);
	mon_printf(ctx, "vm '%s' slot %u: %lld dirty pages of %llu (log cleared)\r\n",
		   vm->name, id, (long long)n, (unsigned long long)s->npages);
	print_ranges(ctx, bits, s->npages, s->base_gfn << PAGE_SHIFT);
	return 0;
}
