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
#include <lamina/mce.h>
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
		nmi_kick_send(v->pcpu);
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
	vm->crash_vcpu = v->id;
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
 * HLT: the vCPU leaves its run loop and sleeps (vcpu_step says idle)
 * until an interrupt it can take ends the HLT (vcpu_step injects it), or
 * an INIT; stop, pause and resume requests wake it only to look, and a
 * halted vCPU stays halted across them (it does not run past its HLT).
 */
enum exit_action vcpu_halt(struct vcpu *v, bool intr_on, u64 rip)
{
	/* With an irqchip an INIT may still come (an offline CPU waits so). */
	if (!intr_on && !v->vm->irqchip)
		pr_warn("vm '%s' vCPU %u: HLT with interrupts off at rip 0x%llx: nothing can wake it\n",
			v->vm->name, v->id, (unsigned long long)rip);
	WRITE_ONCE(v->halted, true);
	return EXIT_TO_MONITOR;
}

/* The registers the vCPU leaves behind, for the monitor. */
static void vcpu_save_state(struct vcpu *v)
{
	hv_ops->get_regs(v, &v->regs);
	hv_ops->get_sregs(v, &v->sregs);
}

static void vcpu_load_state(struct vcpu *v)
{
	hv_ops->set_sregs(v, &v->sregs);
	hv_ops->set_regs(v, &v->regs);
	v->regs_dirty = false;
}

/* The vCPU each pCPU runs, for its timer interrupt (vcpu_slice_expired). */
static struct vcpu *running_on[MAX_CPUS];

void vcpu_slice_expired(void)
{
	struct vcpu *v = READ_ONCE(running_on[this_cpu()->index]);

	if (v)
		vcpu_make_request(v, VCPU_REQ_YIELD);
}

/* On the vCPU's pCPU, before it first runs: its vendor and start state. */
int vcpu_enter_first(struct vcpu *v)
{
	int err = hv_ops->vcpu_load ? hv_ops->vcpu_load(v) : 0;

	if (err) {
		vcpu_stop(v, true, "vCPU %u: its %s state could not be loaded (%d)",
			  v->id, hv_ops->name, err);
		return err;
	}
	vcpu_load_state(v);
	v->loaded = true;
	WRITE_ONCE(running_on[v->pcpu], v);
	return 0;
}

/*
 * Requests between runs, then one run. A pause parks the vCPU: its
 * registers saved for the monitor, it runs no more until its VM is
 * resumed (the resume wakes it), loading what the monitor changed.
 */
enum vcpu_step vcpu_step(struct vcpu *v, enum exit_action (*run)(struct vcpu *))
{
	unsigned long r = __atomic_exchange_n(&v->requests, 0, __ATOMIC_ACQ_REL);
	bool wait_sipi = false;

	if (r & (1ul << VCPU_REQ_STOP))
		return VCPU_ENDED;
	if (r & (1ul << VCPU_REQ_TLB_FLUSH))
		hv_ops->flush_tlb(v);
	/* An interrupt ends a HLT only when the guest can take it. */
	if (v->vm->irqchip) {
		wait_sipi = vcpu_irq_sync(v);
	} else if (READ_ONCE(v->irq_pending) >= 0 && !v->parked &&
		   hv_ops->inject_irq(v, READ_ONCE(v->irq_pending))) {
		WRITE_ONCE(v->irq_pending, -1);
		WRITE_ONCE(v->halted, false);
	}
	if ((r & (1ul << VCPU_REQ_PAUSE)) && !v->parked) {
		vcpu_save_state(v);
		WRITE_ONCE(v->parked, true);
	}
	if (v->parked && READ_ONCE(v->vm->state) != VM_PAUSED) {
		if (v->regs_dirty)
			vcpu_load_state(v);
		WRITE_ONCE(v->parked, false);
	}
	if (v->parked || READ_ONCE(v->halted) || wait_sipi)
		return VCPU_IDLE;
	return run(v) == EXIT_STOP_VM ? VCPU_ENDED : VCPU_RAN;
}

/* After its last run: its registers kept, nothing of it on the pCPU. */
void vcpu_leave_last(struct vcpu *v)
{
	if (v->loaded) {
		vcpu_save_state(v);
		if (hv_ops->vcpu_put)
			hv_ops->vcpu_put(v);
	}
	WRITE_ONCE(running_on[v->pcpu], NULL);
	if (read_cr4() & CR4_OSXSAVE) /* the next VM here starts at reset */
		xsetbv(0, XCR0_X87);
	WRITE_ONCE(v->running, false);
	/* The last one out reports; only then may the monitor free the VM. */
	if (!__atomic_sub_fetch(&v->vm->vcpus_leaving, 1, __ATOMIC_ACQ_REL))
		vm_vcpus_ended(v->vm);
	__atomic_sub_fetch(&v->vm->vcpus_running, 1, __ATOMIC_RELEASE);
}

/*
 * One run that ends by @max_us at the latest (0: no limit of the caller's)
 * or when the guest's own local APIC timer is due, whichever is first:
 * the vendor's own timer where it has one, else the local APIC timer, whose
 * interrupt exits the guest and calls vcpu_slice_expired().
 */
enum exit_action vcpu_run_timed(struct vcpu *v, u32 max_us)
{
	u32 us = vcpu_timer_us(v, max_us);
	bool own = us && hv_ops->set_slice && hv_ops->set_slice(v, us);
	enum exit_action a;

	if (us && !own)
		lapic_timer_oneshot(VEC_SLICE, us);
	a = hv_ops->vcpu_run(v);
	if (us && !own)
		lapic_timer_stop();
	return a;
}

static enum exit_action run_untimed(struct vcpu *v)
{
	return vcpu_run_timed(v, 0);
}

/* Idle until a request, or the guest's timer expiring (its interrupt
 * makes one). */
static void vcpu_idle(struct vcpu *v)
{
	u32 us = vcpu_timer_us(v, 0);

	if (us)
		lapic_timer_oneshot(VEC_SLICE, us);
	vcpu_idle_wait(&v->requests);
	if (us)
		lapic_timer_stop();
}

/* On the vCPU's pCPU (an AP), until its VM stops. */
static void vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	enum vcpu_step s;

	if (!vcpu_enter_first(v)) {
		while ((s = vcpu_step(v, run_untimed)) != VCPU_ENDED)
			if (s == VCPU_IDLE)
				vcpu_idle(v);
	}
	vcpu_leave_last(v);
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
			return vm_refuse(why, len, -HV_EOPNOTSUPP, "%s", "out of memory for the vCPUs");
		v->vm = vm;
		v->id = vm->nr_vcpus;
		v->pcpu = pcpu;
		v->irq_pending = -1;
		vcpu_irq_init(v);
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
	__atomic_add_fetch(&v->vm->vcpus_leaving, 1, __ATOMIC_ACQ_REL);
	WRITE_ONCE(v->running, true);
	if (v->pcpu == 0) {
		vcpu_bsp_take(v);
		return 0;
	}
	if (!smp_post(v->pcpu, vcpu_thread, v))
		return 0;
	WRITE_ONCE(v->running, false);
	__atomic_sub_fetch(&v->vm->vcpus_leaving, 1, __ATOMIC_ACQ_REL);
	__atomic_sub_fetch(&v->vm->vcpus_running, 1, __ATOMIC_ACQ_REL);
	return -HV_EBUSY;
}

int vm_start(struct vm *vm, char *why, size_t len)
{
	int err;

	if (vm->state != VM_CREATED)
		return vm_refuse(why, len, -HV_EOPNOTSUPP, "it is %s (only a created VM starts)",
			      vm_state_name(vm->state));
	if (!hv_ops->vcpu_run)
		return vm_refuse(why, len, -HV_EOPNOTSUPP, "running guests on %s is not implemented yet",
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
