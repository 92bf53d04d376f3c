/*
 * The boot CPU's vCPU. pCPU 0 runs the monitor; a VM that owns it gets
 * the CPU whenever the monitor has nothing to do, one slice at a time:
 * the monitor calls vcpu_bsp_poll() from its idle loop, which takes one
 * vcpu_step() with a timer armed (the VMX preemption timer where the
 * vendor offers it, else the local APIC timer) whose expiry makes the
 * guest exit and the run loop return.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/kernel.h>
#include <lamina/vm.h>

#define SLICE_US 2000

static struct vcpu *bsp_vcpu;

void vcpu_bsp_take(struct vcpu *v)
{
	WRITE_ONCE(bsp_vcpu, v);
}

/* One slice: vcpu_step's run, with the timer that ends it. */
static enum exit_action run_slice(struct vcpu *v)
{
	return vcpu_run_timed(v, SLICE_US);
}

bool vcpu_bsp_shared(void)
{
	return READ_ONCE(bsp_vcpu) != NULL;
}

bool vcpu_bsp_poll(void)
{
	struct vcpu *v = READ_ONCE(bsp_vcpu);
	enum vcpu_step s;

	if (!v)
		return false;
	if (!v->loaded && vcpu_enter_first(v))
		goto done;
	s = vcpu_step(v, run_slice);
	if (s != VCPU_ENDED)
		return s == VCPU_RAN;
done:
	WRITE_ONCE(bsp_vcpu, NULL);
	vcpu_leave_last(v);
	return true;
}
