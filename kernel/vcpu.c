/*
 * The shared vCPU layer: starting a VM's vCPUs on their pCPUs, the loop
 * each runs there, requests and kicks from other CPUs (KVM's
 * kvm_make_request / kvm_vcpu_kick), HLT, and stopping a VM with a reason.
 * The exit handlers all vendors share are in vcpu_exits.c and vcpu_pio.c.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lapic.h>
#include <lamina/lib.h>
#include <lamina/panic.h>
#include <lamina/percpu.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k)
{
	static const char *const names[VCPU_EXIT_KINDS] = {
		"cpuid", "io", "hlt", "msr", "npf", "hypercall", "shutdown",
		"other",
	};

	return (unsigned int)k < VCPU_EXIT_KINDS ? names[k] : "?";
}

void vcpu_make_request(struct vcpu *v, enum vcpu_request req)
{
	__atomic_or_fetch(&v->requests, 1ul << req, __ATOMIC_RELEASE);
}

/*
 * Make @v's pCPU look at its requests. The kick is an NMI: in the guest
 * it forces an exit on both vendors whatever the guest's IF (Bochs 2.7
 * lets an ordinary interrupt exit a VMX guest only when the guest has
 * interrupts on: docs/testing.md); halted in vcpu_halt(), it ends the HLT; in
 * Lamina's own code its handler just returns. The loop tests the
 * requests right before each entry, and an NMI that lands after that
 * test makes the entry exit at once: no request is missed.
 */
void vcpu_kick(struct vcpu *v)
{
	if (v->pcpu != this_cpu()->index)
		lapic_send_ipi(percpu[v->pcpu].apic_id, ICR_NMI);
}

/* Stop every other vCPU of the VM; the first stop's reason stays. */
enum exit_action vcpu_stop(struct vcpu *v, bool crashed, const char *fmt, ...)
{
	struct vm *vm = v->vm;
	va_list ap;

	if (__atomic_exchange_n(&vm->stopping, true, __ATOMIC_ACQ_REL))
		return EXIT_STOP_VM;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i] == v)
			continue;
		vcpu_make_request(vm->vcpus[i], VCPU_REQ_STOP);
		vcpu_kick(vm->vcpus[i]);
	}
	WRITE_ONCE(vm->state, crashed ? VM_CRASHED : VM_STOPPED);
	printk(crashed ? LOG_ERR : LOG_INFO, pr_fmt("vm '%s' %s: %s\n"), vm->name,
	       crashed ? "crashed" : "stopped", vm->stop_reason);
	return EXIT_STOP_VM;
}

/*
 * HLT: sleep on this pCPU until a request (no virtual interrupt source
 * exists yet, so nothing else can end the wait). STI's one-instruction
 * shadow makes the kick that races with the test end the HLT instead.
 * On the boot CPU the monitor must go on: the vCPU stays halted there and
 * vcpu_bsp_poll() does not enter it again.
 */
enum exit_action vcpu_halt(struct vcpu *v, bool intr_on, u64 rip)
{
	if (!intr_on)
		pr_warn("vm '%s' vCPU %u: HLT with interrupts off at rip 0x%llx: nothing can wake it\n",
			v->vm->name, v->id, (unsigned long long)rip);
	WRITE_ONCE(v->halted, true);
	if (v->pcpu == 0)
		return EXIT_TO_MONITOR;
	while (!vcpu_has_requests(v))
		__asm__ __volatile__("sti; hlt; cli" ::: "memory");
	WRITE_ONCE(v->halted, false);
	return EXIT_RESUME;
}

/* Requests taken between runs. Returns true when the vCPU must end. */
static bool vcpu_take_requests(struct vcpu *v)
{
	unsigned long r = __atomic_exchange_n(&v->requests, 0, __ATOMIC_ACQ_REL);

	return r & (1ul << VCPU_REQ_STOP);
}

/* On the vCPU's pCPU, before it first runs: its vendor and start state. */
static int vcpu_enter_first(struct vcpu *v)
{
	int err = hv_ops->vcpu_load ? hv_ops->vcpu_load(v) : 0;

	if (err) {
		vcpu_stop(v, true, "vCPU %u: its %s state could not be loaded (%d)",
			  v->id, hv_ops->name, err);
		return err;
	}
	hv_ops->set_sregs(v, &v->boot_sregs);
	hv_ops->set_regs(v, &v->boot_regs);
	v->loaded = true;
	return 0;
}

/* After its last run: nothing of it stays on the pCPU. */
static void vcpu_leave_last(struct vcpu *v)
{
	if (v->loaded && hv_ops->vcpu_put)
		hv_ops->vcpu_put(v);
	if (read_cr4() & CR4_OSXSAVE) /* the next VM here starts at reset */
		xsetbv(0, XCR0_X87);
	__atomic_sub_fetch(&v->vm->vcpus_running, 1, __ATOMIC_RELEASE);
}

/* On the vCPU's pCPU (an AP), until its VM stops. */
static void vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	if (!vcpu_enter_first(v)) {
		while (hv_ops->vcpu_run(v) != EXIT_STOP_VM &&
		       !vcpu_take_requests(v))
			;
	}
	vcpu_leave_last(v);
}

/* ------------------------------------------------- the boot CPU's vCPU */

#define SLICE_US 2000

static struct vcpu *bsp_vcpu;

void vcpu_slice_expired(void)
{
	struct vcpu *v = READ_ONCE(bsp_vcpu);

	if (v)
		vcpu_make_request(v, VCPU_REQ_YIELD);
}

bool vcpu_bsp_poll(void)
{
	struct vcpu *v = READ_ONCE(bsp_vcpu);
	enum exit_action a = EXIT_TO_MONITOR;

	if (!v)
		return false;
	if (!v->loaded && vcpu_enter_first(v))
		goto done;
	/* A halted vCPU stays out until an event: requests only, for now. */
	if (!READ_ONCE(v->halted)) {
		bool own = hv_ops->set_slice && hv_ops->set_slice(v, SLICE_US);

		if (!own)
			lapic_timer_oneshot(VEC_SLICE, SLICE_US);
		a = hv_ops->vcpu_run(v);
		if (!own)
			lapic_timer_stop();
	}
	if (!vcpu_take_requests(v) && a != EXIT_STOP_VM)
		return true;
done:
	WRITE_ONCE(bsp_vcpu, NULL);
	vcpu_leave_last(v);
	return true;
}

static int refuse(char *why, size_t len, const char *fmt, const char *arg)
{
	snprintf(why, len, fmt, arg);
	return -HV_EOPNOTSUPP;
}

static void vcpus_free(struct vm *vm)
{
	while (vm->nr_vcpus) {
		struct vcpu *v = vm->vcpus[--vm->nr_vcpus];

		vm->vcpus[vm->nr_vcpus] = NULL;
		hv_ops->vcpu_destroy(v);
		objcache_free(&vcpu_cache, v);
	}
}

/* One vCPU per pCPU the VM owns, in pCPU order, with its start state. */
static int vcpus_create(struct vm *vm, char *why, size_t len)
{
	u64 cpus = vm->cpus;
	int err;

	while (cpus) {
		unsigned int pcpu = (unsigned int)__builtin_ctzll(cpus);
		struct vcpu *v = objcache_alloc(&vcpu_cache);

		cpus &= cpus - 1;
		if (!v)
			return refuse(why, len, "%s", "out of memory for the vCPUs");
		v->vm = vm;
		v->id = vm->nr_vcpus;
		v->pcpu = pcpu;
		err = hv_ops->vcpu_create(v);
		if (err) {
			objcache_free(&vcpu_cache, v);
			snprintf(why, len, "vCPU %u: the %s state could not be made (%d)",
				 v->id, hv_ops->name, err);
			return err;
		}
		vm->vcpus[vm->nr_vcpus++] = v;
		err = vcpu_boot_state(v, why, len);
		if (err)
			return err;
	}
	return 0;
}

/* Start @v on its pCPU: posted to an AP, or taken in by the monitor's. */
static int vcpu_launch(struct vcpu *v)
{
	__atomic_add_fetch(&v->vm->vcpus_running, 1, __ATOMIC_ACQ_REL);
	if (v->pcpu == 0) {
		WRITE_ONCE(bsp_vcpu, v);
		return 0;
	}
	if (!smp_post(v->pcpu, vcpu_thread, v))
		return 0;
	__atomic_sub_fetch(&v->vm->vcpus_running, 1, __ATOMIC_ACQ_REL);
	return -HV_EBUSY;
}

int vm_start(struct vm *vm, char *why, size_t len)
{
	int err;

	if (vm->state != VM_CREATED)
		return refuse(why, len, "it is %s (only a created VM starts)",
			      vm_state_name(vm->state));
	if (!hv_ops->vcpu_run)
		return refuse(why, len, "running guests on %s is not implemented yet",
			      hv_ops->long_name);
	err = vcpus_create(vm, why, len);
	if (err)
		goto err_vcpus;
	vm->state = VM_RUNNING;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		err = vcpu_launch(vm->vcpus[i]);
		if (!err)
			continue;
		snprintf(why, len, "pCPU %u cannot take vCPU %u (%d)",
			 vm->vcpus[i]->pcpu, i, err);
		if (i == 0)
			goto err_launch;
		/* Some vCPUs run: stop them as any stop would. */
		vcpu_stop(vm->vcpus[i], true, "%s", why);
		return 0;
	}
	return 0;

err_launch:
	vm->state = VM_CREATED;
err_vcpus:
	vcpus_free(vm);
	return err;
}

void vm_vcpus_free(struct vm *vm)
{
	BUG_ON(READ_ONCE(vm->vcpus_running));
	vcpus_free(vm);
}
