/*
 * Changing a VM's memory at run time (KVM_SET_USER_MEMORY_REGION and
 * KVM_GET_DIRTY_LOG): a running VM is paused, the slot set changes (its
 * generation goes up), the second-level tables are remapped, every vCPU
 * is asked to flush what its TLB made of the old tables, and the VM runs
 * on. Slots the config made and slots added here are all the same.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/dirty_log.h>
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>

/* Pause @vm if it runs; @paused says whether to resume it after. */
static int hold(struct vm *vm, bool *paused, char *why, size_t len)
{
	u64 us;

	*paused = false;
	if (vm->state != VM_RUNNING)
		return 0;
	if (vm_pause(vm, &us, why, len))
		return -HV_EBUSY;
	*paused = true;
	return 0;
}

/* Flushes first: a vCPU loads them before it next enters the guest. */
static void release(struct vm *vm, bool paused)
{
	char why[96];

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_make_request(vm->vcpus[i], VCPU_REQ_TLB_FLUSH);
	if (paused)
		vm_resume(vm, why, sizeof(why));
}

static int slot_error(int err, char *why, size_t len, const char *what)
{
	snprintf(why, len, "%s", what);
	return err;
}

int vm_slot_add(struct vm *vm, u16 id, u64 gpa, u64 size, u32 flags,
		char *why, size_t len)
{
	bool paused;
	int err;

	if (memslot_by_id(&vm->slots, id))
		return slot_error(-HV_EEXIST, why, len, "that slot id is taken");
	if (!size || (gpa | size) & (PAGE_SIZE - 1) || gpa + size < gpa)
		return slot_error(-HV_EINVAL, why, len,
				  "GPA and SIZE must be 4 KiB multiples, SIZE > 0");
	if (hold(vm, &paused, why, len))
		return -HV_EBUSY;
	err = vm_mem_add_ram(vm, id, gpa, size, flags, NULL);
	release(vm, paused);
	return err ? slot_error(err, why, len,
				"it overlaps a slot, lies beyond 2^40 pages, or there is no memory for it (see the log)") : 0;
}

int vm_slot_del(struct vm *vm, u16 id, char *why, size_t len)
{
	bool paused;
	int err;

	if (!memslot_by_id(&vm->slots, id))
		return slot_error(-HV_ENOENT, why, len, "no slot with that id");
	if (hold(vm, &paused, why, len))
		return -HV_EBUSY;
	err = vm_mem_del(vm, id);
	release(vm, paused);
	return err ? slot_error(err, why, len, "it could not be removed") : 0;
}

int vm_slot_flags(struct vm *vm, u16 id, bool log_dirty, char *why, size_t len)
{
	bool paused;
	int err;

	if (!memslot_by_id(&vm->slots, id))
		return slot_error(-HV_ENOENT, why, len, "no slot with that id");
	if (hold(vm, &paused, why, len))
		return -HV_EBUSY;
	err = vm_mem_log_dirty(vm, id, log_dirty);
	release(vm, paused);
	return err ? slot_error(err, why, len,
				"read-only and MMIO slots log nothing, or out of memory") : 0;
}

s64 vm_dirty_log(struct vm *vm, u16 id, u64 *bitmap, u64 words, char *why,
		 size_t len)
{
	const struct memslot *s = memslot_by_id(&vm->slots, id);
	bool paused;
	s64 n;

	if (!s)
		return slot_error(-HV_ENOENT, why, len, "no slot with that id");
	if (!(s->flags & MEMSLOT_LOG_DIRTY))
		return slot_error(-HV_EINVAL, why, len,
				  "the slot does not log dirty pages (`slot VM flags ID log_dirty`)");
	if (DIRTY_BITMAP_WORDS(s->npages) > words)
		return slot_error(-HV_E2BIG, why, len, "the slot is too big to show");
	if (hold(vm, &paused, why, len))
		return -HV_EBUSY;
	n = dirty_log_get_and_clear(&vm->s2, s, bitmap);
	release(vm, paused);
	return n < 0 ? slot_error((int)n, why, len, "the log could not be read") : n;
}
