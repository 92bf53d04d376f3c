/* The VM list, its lock and the vCPU cache (KVM's vm_list, kvm_lock and
 * kvm_vcpu_cache). hv_init() sets them up. */
#include <lamina/vm.h>

struct objcache vcpu_cache;
struct list_head vm_list = LIST_HEAD_INIT(vm_list);
spinlock_t vm_list_lock = SPINLOCK_INIT;
