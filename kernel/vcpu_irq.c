/*
 * The in-kernel interrupt controller of a VM (KVM's irqchip): a local
 * APIC per vCPU (kernel/vdev/vlapic.c) and one IOAPIC (vioapic.c), wired
 * here to each other, to the VM's UART, to the vCPUs' INIT/SIPI state
 * and to injection.
 *
 * Isolation lives in deliver(): every interrupt message, whether a
 * guest's ICR write or an IOAPIC pin, is matched against the vCPUs of
 * the same VM and nothing else. An IPI naming an APIC ID outside the VM
 * reaches nobody (counted in ipi_unmatched); an NMI or SMI IPI is
 * dropped (counted): no guest can make any physical CPU do anything.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define MAX_EOI_MSGS VIOAPIC_PINS

void vcpu_irq_init(struct vcpu *v)
{
	vlapic_reset(&v->lapic, v->id);
	v->apic_base = VLAPIC_BASE_DEFAULT | APIC_BASE_ENABLE |
		       (v->id == 0 ? APIC_BASE_BSP : 0);
	/* Application processors wait for their STARTUP IPI, as on a PC. */
	v->wait_sipi = v->vm->irqchip && v->id != 0;
	v->init_pending = false;
	v->sipi_vector = -1;
	v->pat = 0x0007040600070406ull;
}

/* One target accepts @m; true when it must look at its interrupts. */
static bool accept(struct vm *vm, struct vcpu *t, const struct vlapic_ipi *m)
{
	bool wake = true;

	spin_lock(&t->irq_lock);
	switch (m->mode) {
	case VLAPIC_DM_FIXED:
	case VLAPIC_DM_LOWEST:
		vlapic_set_irq(&t->lapic, m->vector, m->trigger_level);
		break;
	case VLAPIC_DM_INIT:
		/* The level-triggered de-assert of old SMP protocols does nothing. */
		if (m->trigger_level && !m->level) {
			wake = false;
		} else {
			t->init_pending = true;
			t->sipi_vector = -1; /* a later INIT cancels an earlier SIPI */
		}
		break;
	case VLAPIC_DM_STARTUP:
		/* The target may not have seen the INIT yet: the SIPI waits. */
		if ((t->wait_sipi || t->init_pending) && t->sipi_vector < 0)
			t->sipi_vector = m->vector;
		break;
	default:
		__atomic_add_fetch(&vm->ipi_dropped, 1, __ATOMIC_RELAXED);
		wake = false;
	}
	spin_unlock(&t->irq_lock);
	return wake;
}

/* @m from the APIC with ID @src_id (@src its vCPU, or NULL: the IOAPIC). */
static void deliver(struct vm *vm, const struct vlapic_ipi *m, u32 src_id,
		    struct vcpu *src)
{
	bool matched = false;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *t = vm->vcpus[i];

		if (!vlapic_match_dest(&t->lapic, m, src_id))
			continue;
		matched = true;
		if (accept(vm, t, m)) {
			vcpu_make_request(t, VCPU_REQ_IRQ);
			if (t != src)
				vcpu_kick(t);
		}
		/* Lowest priority: any one target will do; the first takes it. */
		if (m->mode == VLAPIC_DM_LOWEST)
			break;
	}
	__atomic_add_fetch(matched ? &vm->ipi_sent : &vm->ipi_unmatched, 1,
			   __ATOMIC_RELAXED);
}

void vcpu_apic_msi(struct vcpu *v, u8 vector)
{
	spin_lock(&v->irq_lock);
	vlapic_set_irq(&v->lapic, vector, false);
	spin_unlock(&v->irq_lock);
	vcpu_make_request(v, VCPU_REQ_IRQ);
	vcpu_kick(v);
}

static void deliver_msg(struct vm *vm, const struct vioapic_msg *msg)
{
	struct vlapic_ipi m = {
		.vector = msg->vector, .mode = msg->mode,
		.shorthand = VLAPIC_DEST_FIELD, .logical = msg->logical,
		.level = true, .trigger_level = msg->level, .dest = msg->dest,
	};

	deliver(vm, &m, ~0u, NULL);
}

/* dev.lock held: pin @pin to @level; true with *@msg to deliver. */
static bool line_locked(struct vm *vm, unsigned int pin, bool level,
			struct vioapic_msg *msg)
{
	return vm->irqchip && pin < VIOAPIC_PINS &&
	       vioapic_set_line(&vm->dev.ioapic, pin, level, msg);
}

void vm_irq_line(struct vm *vm, unsigned int pin, bool level)
{
	struct vioapic_msg msg;
	bool send;

	spin_lock(&vm->dev.lock);
	send = line_locked(vm, pin, level, &msg);
	spin_unlock(&vm->dev.lock);
	if (send)
		deliver_msg(vm, &msg);
}

/*
 * The UART's IRQ line follows its registers: called after anything that
 * may change them (a guest access, input from the monitor). Only a change
 * reaches the IOAPIC, whose edge pins fire on the rising one.
 */
void vm_uart_irq_sync(struct vm *vm)
{
	struct vm_devices *d = &vm->dev;
	struct vioapic_msg msg;
	bool send = false, level;

	if (!vm->irqchip || !d->uart_cfg)
		return;
	spin_lock(&d->lock);
	level = vuart_irq_pending(&d->uart);
	if (level != d->uart_line) {
		d->uart_line = level;
		send = line_locked(vm, d->uart_cfg->irq, level, &msg);
	}
	spin_unlock(&d->lock);
	if (send)
		deliver_msg(vm, &msg);
}

int vm_ioapic_access(struct vm *vm, u32 offset, unsigned int size, bool write,
		     u32 *val)
{
	struct vioapic_msg msg;
	int r;

	spin_lock(&vm->dev.lock);
	r = write ? vioapic_write(&vm->dev.ioapic, offset, size, *val, &msg) :
		    vioapic_read(&vm->dev.ioapic, offset, size, val);
	spin_unlock(&vm->dev.lock);
	if (write && r > 0)
		deliver_msg(vm, &msg);
	return r < 0 ? r : 0;
}

/* A level-triggered vector's EOI goes back to the IOAPIC. */
static void eoi_to_ioapic(struct vm *vm, u8 vector)
{
	struct vioapic_msg msgs[MAX_EOI_MSGS];
	unsigned int n;

	spin_lock(&vm->dev.lock);
	n = vioapic_eoi(&vm->dev.ioapic, vector, msgs, MAX_EOI_MSGS);
	spin_unlock(&vm->dev.lock);
	for (unsigned int i = 0; i < n; i++)
		deliver_msg(vm, &msgs[i]);
}

enum exit_action vcpu_apic_access(struct vcpu *v, u32 offset, bool write,
				  u32 *val)
{
	struct vlapic_ipi ipi;
	u8 eoi_vector = 0;
	int r;

	spin_lock(&v->irq_lock);
	r = write ? vlapic_write(&v->lapic, offset, *val, rdtsc(), &ipi, &eoi_vector) :
		    vlapic_read(&v->lapic, offset, rdtsc(), val);
	spin_unlock(&v->irq_lock);
	/* No register there: reads give 0 and writes vanish, as on a PC. */
	if (r < 0) {
		if (!write)
			*val = 0;
		return EXIT_RESUME;
	}
	if (!write)
		return EXIT_RESUME;
	if (r & VLAPIC_W_IPI)
		deliver(v->vm, &ipi, v->lapic.id, v);
	if (r & VLAPIC_W_EOI)
		eoi_to_ioapic(v->vm, eoi_vector);
	/* The run loop returns; vcpu_irq_sync injects and re-arms the timer. */
	if (r & (VLAPIC_W_EOI | VLAPIC_W_TIMER | VLAPIC_W_IRQ))
		vcpu_make_request(v, VCPU_REQ_IRQ);
	return EXIT_RESUME;
}

bool vcpu_apic_base(struct vcpu *v, bool write, u64 *val)
{
	u64 fixed = VLAPIC_BASE_DEFAULT | (v->id == 0 ? APIC_BASE_BSP : 0);

	if (!v->vm->irqchip)
		return false;
	if (!write) {
		*val = v->apic_base;
		return true;
	}
	/* The page does not move and there is no x2APIC mode to enter. */
	if ((*val & ~APIC_BASE_ENABLE) != fixed)
		return false;
	v->apic_base = *val;
	return true;
}

bool vcpu_irq_sync(struct vcpu *v)
{
	int vector, sipi = -1;

	spin_lock(&v->irq_lock);
	if (v->init_pending) {
		v->init_pending = false;
		vlapic_reset(&v->lapic, v->id);
		v->wait_sipi = true;
	}
	if (v->wait_sipi && v->sipi_vector >= 0) {
		sipi = v->sipi_vector;
		v->wait_sipi = false;
		v->sipi_vector = -1;
	}
	vlapic_timer_expire(&v->lapic, rdtsc());
	vector = v->wait_sipi ? -1 : vlapic_pending(&v->lapic);
	spin_unlock(&v->irq_lock);
	if (sipi >= 0) {
		vcpu_sipi_state(v, (u8)sipi);
		WRITE_ONCE(v->halted, false);
	}
	if (vector >= 0 && !v->parked && hv_ops->inject_irq(v, vector)) {
		spin_lock(&v->irq_lock);
		vlapic_ack(&v->lapic, (u8)vector);
		spin_unlock(&v->irq_lock);
		WRITE_ONCE(v->halted, false);
	}
	return v->wait_sipi;
}

u32 vcpu_timer_us(struct vcpu *v, u32 max_us)
{
	u64 deadline, now, us;

	if (!v->vm->irqchip)
		return max_us;
	spin_lock(&v->irq_lock);
	deadline = vlapic_timer_deadline(&v->lapic);
	spin_unlock(&v->irq_lock);
	if (deadline == ~0ull)
		return max_us;
	now = rdtsc();
	us = deadline > now ? (deadline - now) * 1000 / tsc_khz : 0;
	us = MAX(us, 1ull);
	return max_us && us > max_us ? max_us : (u32)MIN(us, 0xffffffffull);
}

void vcpu_cr8(struct vcpu *v, bool write, u64 *val)
{
	u32 tpr = (u32)(*val & 15) << 4;

	if (write) {
		vcpu_apic_access(v, APIC_TPR, true, &tpr);
		return;
	}
	vcpu_apic_access(v, APIC_TPR, false, &tpr);
	*val = tpr >> 4;
}
