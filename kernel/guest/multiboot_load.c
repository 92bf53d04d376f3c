/*
 * Putting a Multiboot (version 1) kernel into a VM: its segments at their
 * physical addresses, the initrd as the one module page-aligned after the
 * kernel, and the information structure at MB1_INFO_GPA. The parsing and
 * the layout of the information are kernel/guest/multiboot.c's; this file
 * only copies into guest memory. The caller then starts the vCPU in 32-bit
 * protected mode with EAX = MB1_BOOT_MAGIC and EBX = the information.
 *
 * The validator checked the image and where it goes against the config;
 * everything is checked again here, against the memslots the VM really
 * has, so that a failure is a message and never a write outside the guest.
 */
#define pr_fmt(fmt) "multiboot: " fmt

#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/multiboot1.h>
#include <lamina/printk.h>
#include <lamina/vm.h>

BUILD_BUG_ON(MB1_INFO_SIZE % PAGE_SIZE);

static const u8 *module_bytes(const struct boot_module *m)
{
	return (const u8 *)(uintptr_t)m->start;
}

/* Every segment: its file bytes, then zeros up to its memory size. */
static int load_segments(struct vm *vm, const u8 *img,
			 const struct mb1_image *mi, char *why, size_t len)
{
	for (unsigned int i = 0; i < mi->nr_segments; i++) {
		const struct mb1_segment *s = &mi->seg[i];
		u64 end = s->gpa + s->memsz;

		if (s->gpa < MB1_INFO_GPA + MB1_INFO_SIZE && end > MB1_INFO_GPA) {
			snprintf(why, len, "multiboot: segment [0x%llx, 0x%llx) overlaps the information area [0x%x, 0x%x)",
				 (unsigned long long)s->gpa,
				 (unsigned long long)end, MB1_INFO_GPA,
				 MB1_INFO_GPA + MB1_INFO_SIZE);
			return -HV_EINVAL;
		}
		if (vm_write_gpa(vm, s->gpa, img + s->file_off, s->filesz) ||
		    vm_zero_gpa(vm, s->gpa + s->filesz, s->memsz - s->filesz)) {
			snprintf(why, len, "multiboot: segment [0x%llx, 0x%llx) is not all in writable RAM",
				 (unsigned long long)s->gpa,
				 (unsigned long long)end);
			return -HV_EINVAL;
		}
	}
	return 0;
}

/* The initrd, where mb1_module_gpa() says, as module record @mod. */
static int load_initrd(struct vm *vm, const struct mb1_image *mi,
		       const char *name, struct mb1_module *mod, char *why,
		       size_t len)
{
	const struct boot_module *m = vm_module_find(name);
	u64 size, gpa;

	if (!m) {
		snprintf(why, len, "multiboot: no module '%s' for the initrd",
			 name);
		return -HV_ENOENT;
	}
	size = m->end - m->start;
	gpa = mb1_module_gpa(mi, size);
	if (gpa + size > 1ull << 32 ||
	    vm_write_gpa(vm, gpa, module_bytes(m), size)) {
		snprintf(why, len, "multiboot: the initrd '%s' at [0x%llx, 0x%llx) is not all in writable RAM below 4 GiB",
			 name, (unsigned long long)gpa,
			 (unsigned long long)(gpa + size));
		return -HV_EINVAL;
	}
	mod->gpa_start = (u32)gpa;
	mod->gpa_end = (u32)(gpa + size);
	mod->string = name;
	return 0;
}

/* The guest's memory map: its RAM slots, read-only ones reserved. */
static unsigned int vm_mmap(const struct vm *vm, struct mb1_mem *map)
{
	unsigned int n = 0;

	for_each_memory_slot(&vm->slots, s) {
		map[n].base = s->base_gfn << PAGE_SHIFT;
		map[n].len = s->npages << PAGE_SHIFT;
		map[n].type = s->flags & MEMSLOT_READONLY ? MB1_MEM_RESERVED :
							     MB1_MEM_RAM;
		n++;
	}
	return n;
}

/* Build the information in a bounce buffer and copy it to MB1_INFO_GPA. */
static int write_info(struct vm *vm, struct mb1_env *env, char *why,
		      size_t len)
{
	struct mb1_mem map[MAX_MEMSLOTS];
	u8 *buf;
	size_t used;
	int err;

	env->info_gpa = MB1_INFO_GPA;
	env->cmdline = cfg_str(vm->blob, vm->cfg->cmdline);
	env->loader_name = MB1_LOADER_NAME;
	env->mmap = map;
	env->nr_mmap = vm_mmap(vm, map);
	buf = page_alloc(MB1_INFO_SIZE / PAGE_SIZE, PAGE_SIZE, 0, PG_OWNER_VM);
	if (!buf) {
		snprintf(why, len, "multiboot: no memory for the information");
		return -HV_ENOMEM;
	}
	err = mb1_build_info(env, buf, MB1_INFO_SIZE, &used, why, len);
	if (!err && vm_write_gpa(vm, MB1_INFO_GPA, buf, used)) {
		snprintf(why, len, "multiboot: the information area [0x%x, 0x%x) is not all in writable RAM",
			 MB1_INFO_GPA, MB1_INFO_GPA + MB1_INFO_SIZE);
		err = -HV_EINVAL;
	}
	page_free(buf, MB1_INFO_SIZE / PAGE_SIZE, PG_OWNER_VM);
	return err;
}

int mb1_vm_load(struct vm *vm, u32 *entry, u32 *info_gpa, char *why,
		size_t len)
{
	const char *kernel = cfg_str(vm->blob, vm->cfg->boot_image);
	const char *initrd = cfg_str(vm->blob, vm->cfg->initrd);
	const struct boot_module *m = vm_module_find(kernel);
	struct mb1_module mod;
	struct mb1_env env = { 0 };
	struct mb1_image mi;
	int err;

	if (!m) {
		snprintf(why, len, "multiboot: no module '%s' for the kernel",
			 kernel ? kernel : "(none)");
		return -HV_ENOENT;
	}
	err = mb1_parse(module_bytes(m), m->end - m->start, &mi, why, len);
	if (err)
		return err;
	err = load_segments(vm, module_bytes(m), &mi, why, len);
	if (err)
		return err;
	if (initrd) {
		err = load_initrd(vm, &mi, initrd, &mod, why, len);
		if (err)
			return err;
		env.mods = &mod;
		env.nr_mods = 1;
	}
	err = write_info(vm, &env, why, len);
	if (err)
		return err;
	*entry = mi.entry;
	*info_gpa = MB1_INFO_GPA;
	pr_info("vm '%s': kernel '%s' loaded (%u segments, entry 0x%x)%s%s\n",
		vm->name, kernel, mi.nr_segments, mi.entry,
		initrd ? ", module " : "", initrd ? initrd : "");
	return 0;
}
