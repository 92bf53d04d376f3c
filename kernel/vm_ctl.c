/*
 * What the monitor does to VMs, KVM's ioctls on a VM descriptor: create a
 * VM again from its config record, pause and resume it, destroy it in any
 * state, reset it, and the crash policy (stop, dump, restart within a
 * budget). Runs on the monitor's CPU; vCPUs on other CPUs are reached by
 * requests and kicks, the one sharing the monitor's CPU by serving it
 * while waiting.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define PAUSE_TIMEOUT_US 100000
#define STOP_TIMEOUT_US 1000000

int vm_refuse(char *why, size_t len, int err, const char *fmt, const char *a)
{
	snprintf(why, len, fmt, a);
	return err;
}

/*
 * Wait until @done(@vm) or @timeout_us, giving the boot CPU's vCPU its
 * slices meanwhile (it only runs when the monitor lets it). Returns the
 * microseconds it took, or -1 on the time-out.
 */
static s64 wait_for(struct vm *vm, bool (*done)(struct vm *), u64 timeout_us)
{
	u64 start = uptime_us();

	while (!done(vm)) {
		if (uptime_us() - start > timeout_us)
			return -1;
		if (!vcpu_bsp_poll())
			cpu_relax();
	}
	return (s64)(uptime_us() - start);
}

static bool all_parked(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = vm->vcpus[i];

		if (READ_ONCE(v->running) && !READ_ONCE(v->parked))
			return false;
	}
	return true;
}

static bool none_running(struct vm *vm)
{
	return !__atomic_load_n(&vm->vcpus_running, __ATOMIC_ACQUIRE);
}

static void request_all(struct vm *vm, enum vcpu_request req)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		vcpu_make_request(vm->vcpus[i], req);
		vcpu_kick(vm->vcpus[i]);
	}
}

int vm_pause(struct vm *vm, u64 *took_us, char *why, size_t len)
{
	s64 t;

	if (vm->state != VM_RUNNING)
		return vm_refuse(why, len, -HV_EBUSY, "it is %s (only a running VM pauses)",
			      vm_state_name(vm->state));
	/* Before the requests: a parked vCPU waits while the VM is paused. */
	WRITE_ONCE(vm->state, VM_PAUSED);
	request_all(vm, VCPU_REQ_PAUSE);
	t = wait_for(vm, all_parked, PAUSE_TIMEOUT_US);
	if (READ_ONCE(vm->state) != VM_PAUSED)
		return vm_refuse(why, len, -HV_EBUSY, "it %s while pausing",
			      vm_state_name(vm->state));
	if (t < 0)
		return vm_refuse(why, len, -HV_ETIMEDOUT,
			      "%s: a vCPU did not stop within 100 ms (the VM stays paused; the log may say more)",
			      "time-out");
	*took_us = (u64)t;
	return 0;
}

int vm_resume(struct vm *vm, char *why, size_t len)
{
	if (vm->state != VM_PAUSED)
		return vm_refuse(why, len, -HV_EBUSY, "it is %s (only a paused VM resumes)",
			      vm_state_name(vm->state));
	WRITE_ONCE(vm->state, VM_RUNNING);
	request_all(vm, VCPU_REQ_WAKE);
	return 0;
}

int vm_irq(struct vm *vm, unsigned int vcpu, u8 vector, char *why, size_t len)
{
	struct vcpu *v;
	int expect = -1;

	if (vm->state != VM_RUNNING && vm->state != VM_PAUSED)
		return vm_refuse(why, len, -HV_EBUSY, "it is %s (interrupts go to a running or paused VM)",
			      vm_state_name(vm->state));
	if (vcpu >= vm->nr_vcpus)
		return vm_refuse(why, len, -HV_ENOENT, "%s: no such vCPU", "vcpu");
	v = vm->vcpus[vcpu];
	/* With the in-kernel irqchip it is a message to that local APIC
	 * (KVM_SIGNAL_MSI), which queues as hardware does. */
	if (vm->irqchip) {
		if (vector < 16)
			return vm_refuse(why, len, -HV_EINVAL, "%s: vectors below 16 are exceptions",
					 "vector");
		vcpu_apic_msi(v, vector);
		return 0;
	}
	/* One at a time, as KVM_INTERRUPT without an in-kernel irqchip. */
	if (!__atomic_compare_exchange_n(&v->irq_pending, &expect, vector, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return vm_refuse(why, len, -HV_EBUSY,
			      "%s: the vCPU has not taken the previous interrupt yet (its interrupts may be off)",
			      "busy");
	vcpu_make_request(v, VCPU_REQ_IRQ);
	vcpu_kick(v);
	return 0;
}

/* Every vCPU off its pCPU; a VM that ran is then stopped. */
static int stop_vcpus(struct vm *vm, char *why, size_t len)
{
	if (none_running(vm))
		return 0;
	if (!__atomic_exchange_n(&vm->stopping, true, __ATOMIC_ACQ_REL)) {
		strlcpy_hv(vm->stop_reason, "stopped from the monitor",
			   sizeof(vm->stop_reason));
		WRITE_ONCE(vm->state, VM_STOPPED);
	}
	request_all(vm, VCPU_REQ_STOP);
	if (wait_for(vm, none_running, STOP_TIMEOUT_US) < 0)
		return vm_refuse(why, len, -HV_ETIMEDOUT,
			      "%s: its vCPUs did not leave their CPUs within 1 s; it is kept",
			      "time-out");
	return 0;
}

/* kvm_destroy_vm's order: vCPUs stopped, then vm_destroy() frees the rest. */
int vm_destroy_any(struct vm *vm, char *why, size_t len)
{
	int err = stop_vcpus(vm, why, len);

	if (err)
		return err;
	WRITE_ONCE(vm->state, VM_STOPPED); /* vm_destroy() takes no running VM */
	vm_destroy(vm);
	return 0;
}

static const struct cfg_vm *config_record(const void *blob, const char *name)
{
	for (u32 i = 0; blob && i < cfg_hdr(blob)->nr_vms; i++)
		if (!strcmp(cfg_str(blob, cfg_vm_at(blob, i)->name), name))
			return cfg_vm_at(blob, i);
	return NULL;
}

int vm_create_named(const char *name, struct vm **out, char *why, size_t len)
{
	const void *blob = config_blob();
	const struct cfg_vm *c = config_record(blob, name);
	int err;

	if (!c)
		return vm_refuse(why, len, -HV_ENOENT,
			      "the configuration has no VM '%s'", name);
	if (vm_find(name))
		return vm_refuse(why, len, -HV_EEXIST, "VM '%s' exists already", name);
	err = vm_create(blob, c, out);
	if (err)
		snprintf(why, len, "out of memory for it (%d)", err);
	return err;
}

/* Destroyed and created again from its record: same name, new id. */
int vm_reset(struct vm *vm, bool start, struct vm **out, char *why, size_t len)
{
	const struct cfg_vm *c = vm->cfg;
	struct vm_crash crash = vm->crash;
	unsigned int restarts = vm->restarts;
	int err = vm_destroy_any(vm, why, len);

	if (err)
		return err;
	err = vm_create(config_blob(), c, out);
	if (err)
		return vm_refuse(why, len, err, "%s: out of memory to create it again",
			      "destroyed");
	(*out)->crash = crash;
	(*out)->restarts = restarts;
	return start ? vm_start(*out, why, len) : 0;
}

void vcpu_print_state(const struct vcpu_regs *r, const struct vcpu_sregs *s,
		      hv_print_fn pr, void *ctx)
{
	static const char *const seg[VSEG_COUNT] = {
		"es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr",
	};
	const struct guest_gprs *g = &r->g;

	pr(ctx, "  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\r\n",
	   (unsigned long long)g->rax, (unsigned long long)g->rbx,
	   (unsigned long long)g->rcx, (unsigned long long)g->rdx);
	pr(ctx, "  rsi %016llx  rdi %016llx  rbp %016llx  rsp %016llx\r\n",
	   (unsigned long long)g->rsi, (unsigned long long)g->rdi,
	   (unsigned long long)g->rbp, (unsigned long long)r->rsp);
	pr(ctx, "  r8  %016llx  r9  %016llx  r10 %016llx  r11 %016llx\r\n",
	   (unsigned long long)g->r8, (unsigned long long)g->r9,
	   (unsigned long long)g->r10, (unsigned long long)g->r11);
	pr(ctx, "  r12 %016llx  r13 %016llx  r14 %016llx  r15 %016llx\r\n",
	   (unsigned long long)g->r12, (unsigned long long)g->r13,
	   (unsigned long long)g->r14, (unsigned long long)g->r15);
	pr(ctx, "  rip %016llx  rflags %08llx\r\n", (unsigned long long)r->rip,
	   (unsigned long long)r->rflags);
	for (unsigned int i = 0; i < VSEG_COUNT; i++)
		pr(ctx, "  %-4s sel %04x base %016llx limit %08x attr %03x\r\n",
		   seg[i], s->seg[i].sel, (unsigned long long)s->seg[i].base,
		   s->seg[i].limit, s->seg[i].attr);
	pr(ctx, "  gdt  base %016llx limit %04x  idt base %016llx limit %04x\r\n",
	   (unsigned long long)s->gdt.base, s->gdt.limit,
	   (unsigned long long)s->idt.base, s->idt.limit);
	pr(ctx, "  cr0 %016llx  cr2 %016llx  cr3 %016llx  cr4 %016llx  efer %016llx\r\n",
	   (unsigned long long)s->cr0, (unsigned long long)s->cr2,
	   (unsigned long long)s->cr3, (unsigned long long)s->cr4,
	   (unsigned long long)s->efer);
}

static void log_print(void *ctx, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	size_t n;

	(void)ctx;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n >= 2 && line[n - 2] == '\r') /* printk lines end in \n alone */
		line[n - 2] = '\n', line[n - 1] = '\0';
	pr_err("%s", line);
}

/*
 * On the CPU of the VM's last vCPU to leave. A crash is recorded with the
 * registers of the vCPU that crashed it; the policy says what follows.
 */
void vm_vcpus_ended(struct vm *vm)
{
	const struct vcpu *v;

	if (READ_ONCE(vm->state) != VM_CRASHED)
		return;
	v = vm->vcpus[vm->crash_vcpu < vm->nr_vcpus ? vm->crash_vcpu : 0];
	vm->crash.valid = true;
	vm->crash.vcpu = v->id;
	vm->crash.count++;
	vm->crash.at_us = uptime_us();
	strlcpy_hv(vm->crash.reason, vm->stop_reason, sizeof(vm->crash.reason));
	vm->crash.regs = v->regs;
	vm->crash.sregs = v->sregs;
	switch (vm->cfg->crash_policy) {
	case CFG_CRASH_DUMP:
		pr_err("vm '%s' crash report: vCPU %u, %s\n", vm->name, v->id,
		       vm->crash.reason);
		vcpu_print_state(&v->regs, &v->sregs, log_print, NULL);
		break;
	case CFG_CRASH_RESTART:
		if (vm->restarts < vm->cfg->restart_budget)
			WRITE_ONCE(vm->restart_pending, true);
		else
			pr_err("vm '%s': restart budget of %u spent; it stays crashed\n",
			       vm->name, vm->cfg->restart_budget);
		break;
	default:
		break;
	}
}

void vm_housekeeping(void)
{
	struct list_head *pos;
	struct vm *due = NULL, *fresh;
	char why[96];

	spin_lock(&vm_list_lock);
	list_for_each(pos, &vm_list) {
		struct vm *vm = container_of(pos, struct vm, link);

		if (READ_ONCE(vm->restart_pending) && none_running(vm)) {
			due = vm;
			break;
		}
	}
	spin_unlock(&vm_list_lock);
	if (!due)
		return;
	due->restart_pending = false;
	due->restarts++;
	pr_info("vm '%s': restart %u of %u after its crash\n", due->name,
		due->restarts, due->cfg->restart_budget);
	if (vm_reset(due, true, &fresh, why, sizeof(why)))
		pr_err("vm '%s' not restarted: %s\n", due->name, why);
}
