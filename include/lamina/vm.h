/*
 * VMs and vCPUs (KVM's struct kvm and struct kvm_vcpu). Only what hv_init()
 * sets up exists so far: the vCPU cache, the VM list and its lock. The
 * structures grow as VMs learn to run.
 */
#ifndef LAMINA_VM_H
#define LAMINA_VM_H

#include <lamina/list.h>
#include <lamina/objcache.h>

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;   /* within the VM */
	unsigned int pcpu; /* the physical CPU it is pinned to */
};

struct vm {
	struct list_head link; /* in vm_list */
	unsigned int id;
	char name[32];
};

extern struct objcache vcpu_cache;
extern struct list_head vm_list;
extern spinlock_t vm_list_lock;

#endif
