/*
 * The VM list and VM lifecycle (KVM's kvm_create_vm / kvm_destroy_vm).
 * Destruction undoes creation in reverse; the page allocator's counters
 * return to where they were.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/panic.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/config.h>
#include <lamina/vm.h>

static unsigned int next_vm_id = 1;

#define VM_PAGES (ALIGN_UP(sizeof(struct vm), PAGE_SIZE) / PAGE_SIZE)

const char *vm_state_name(enum vm_state state)
{
	static const char *const names[] = {
		[VM_CREATED] = "created", [VM_RUNNING] = "running",
		[VM_PAUSED] = "paused",   [VM_STOPPED] = "stopped",
		[VM_CRASHED] = "crashed",
	};

	return (unsigned int)state < ARRAY_SIZE(names) ? names[state] : "?";
}

int vm_create(const void *blob, const struct cfg_vm *cfg, struct vm **out)
{
	struct vm *vm = page_alloc(VM_PAGES, PAGE_SIZE, 0, PG_OWNER_VM);
	int err;

	if (!vm)
		return -HV_ENOMEM;
	vm->blob = blob;
	vm->cfg = cfg;
	vm->cpus = cfg->cpus;
	vm->irqchip = cfg->boot_kind == CFG_BOOT_LINUX;
	strlcpy_hv(vm->name, cfg_str(blob, cfg->name), sizeof(vm->name));
	err = vm_mem_create(vm);
	if (err)
		goto err_mem;
	vm_devices_init(vm);
	vm->state = VM_CREATED;
	spin_lock(&vm_list_lock);
	vm->id = next_vm_id++;
	list_add_tail(&vm->link, &vm_list);
	spin_unlock(&vm_list_lock);
	pr_info("vm %u '%s' created: %llu MiB in %u slots\n", vm->id, vm->name,
		(unsigned long long)(vm->ram_bytes >> 20), vm->slots.used);
	*out = vm;
	return 0;

err_mem:
	page_free(vm, VM_PAGES, PG_OWNER_VM);
	return err;
}

void vm_destroy(struct vm *vm)
{
	spin_lock(&vm_list_lock);
	list_del(&vm->link);
	spin_unlock(&vm_list_lock);
	/* Only VMs that do not run are destroyed (hv_init's unwinding). */
	BUG_ON(vm->state == VM_RUNNING);
	vm_vcpus_free(vm);
	vm_mem_destroy(vm);
	pr_info("vm %u '%s' destroyed\n", vm->id, vm->name);
	page_free(vm, VM_PAGES, PG_OWNER_VM);
}

void vm_destroy_all(void)
{
	while (!list_empty(&vm_list))
		vm_destroy(container_of(vm_list.prev, struct vm, link));
}

/* By name, or by id when @s is a number. */
struct vm *vm_find(const char *s)
{
	struct list_head *pos;
	struct vm *found = NULL;
	u64 id;
	bool by_id = parse_u64(s, &id) == 0;

	spin_lock(&vm_list_lock);
	list_for_each(pos, &vm_list) {
		struct vm *vm = container_of(pos, struct vm, link);

		if (by_id ? vm->id == id : !strcmp(vm->name, s)) {
			found = vm;
			break;
		}
	}
	spin_unlock(&vm_list_lock);
	return found;
}
