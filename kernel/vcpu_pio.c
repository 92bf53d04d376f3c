/*
 * Port I/O from guests: the VM's devices (its 16550, the debug-exit port,
 * fw_cfg, pass-through ports), ports nobody has (reads float high, writes
 * go nowhere; both counted), and INS/OUTS with REP, which read and write
 * guest memory through the guest's own page tables.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/guest_walk.h>
#include <lamina/hv.h>
#include <lamina/insn.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define ACPI_SLP_EN (1u << 5)

/* String I/O elements done per exit; the rest re-executes (KVM does so). */
#define PIO_STRING_BATCH 4096

/* Complete lines of guest output go to Lamina's log too. */
static void log_put(struct vm *vm, char c)
{
	struct vm_devices *d = &vm->dev;

	if (c != '\n' && c != '\r' && d->line_len < sizeof(d->line) - 1)
		d->line[d->line_len++] = c;
	if (c == '\n' || d->line_len == sizeof(d->line) - 1) {
		d->line[d->line_len] = '\0';
		/* Shown raw already to whoever is attached: only logged then. */
		printk(READ_ONCE(console_attached) == vm ? LOG_DEBUG : LOG_INFO,
		       pr_fmt("vm '%s' console: %s\n"), vm->name, d->line);
		d->line_len = 0;
	}
}

void vm_console_write(struct vm *vm, const char *s, u64 n)
{
	spin_lock(&vm->dev.lock);
	for (u64 i = 0; i < n; i++) {
		vuart_out_put(&vm->dev.uart, (u8)s[i]);
		log_put(vm, s[i]);
	}
	spin_unlock(&vm->dev.lock);
}

void vm_devices_init(struct vm *vm)
{
	struct vm_devices *d = &vm->dev;

	vuart_init(&d->uart);
	fw_cfg_init(&d->fw_cfg, (u16)bits_set(vm->cpus),
		    vm->ram_bytes);
	d->line_len = 0;
	d->io_unclaimed = 0;
	vioapic_reset(&d->ioapic, bits_set(vm->cpus));
	vpit_init(&d->pit, tsc_khz * 1000, rdtsc());
	vrtc_init(&d->rtc, VRTC_EPOCH_DEFAULT, tsc_khz * 1000, rdtsc());
	d->uart_cfg = NULL;
	d->uart_line = false;
	for (u32 i = 0; i < vm->cfg->nr_devices && !d->uart_cfg; i++) {
		const struct cfg_device *c =
			cfg_device_at(vm->blob, vm->cfg->first_device + i);

		if (c->kind == CFG_DEV_UART)
			d->uart_cfg = c;
	}
}

/* The VM's configured device covering @port, if any. */
static const struct cfg_device *device_at(const struct vm *vm, u16 port)
{
	const struct cfg_vm *c = vm->cfg;

	for (u32 i = 0; i < c->nr_devices; i++) {
		const struct cfg_device *d =
			cfg_device_at(vm->blob, c->first_device + i);

		if (d->kind != CFG_DEV_MMIO && port >= d->base &&
		    port < d->base + d->size)
			return d;
	}
	return NULL;
}

static void uart_access(struct vm *vm, unsigned int reg, bool in, u32 *val)
{
	struct vm_devices *d = &vm->dev;
	u8 sent;

	spin_lock(&d->lock);
	if (in)
		*val = vuart_read(&d->uart, reg);
	else if (vuart_write(&d->uart, reg, (u8)*val, &sent))
		log_put(vm, (char)sent);
	spin_unlock(&d->lock);
	vm_uart_irq_sync(vm);
}

/*
 * A Linux VM's PC chips without interrupts: the 8254's counters (Linux
 * calibrates against channel 2, and reads 0xff forever without one) and
 * the CMOS clock (its wall time). Byte-wide: a wider access takes the low
 * byte. True when @port is theirs.
 */
static bool pc_chips_access(struct vm *vm, u16 port, bool in, u32 *val)
{
	struct vm_devices *d = &vm->dev;
	u64 now = rdtsc();

	if (!vm->irqchip || !((port >= 0x40 && port <= 0x43) || port == 0x61 ||
			      port == 0x70 || port == 0x71))
		return false;
	spin_lock(&d->lock);
	if (port == 0x61 && in)
		*val = vpit_port61_read(&d->pit, now);
	else if (port == 0x61)
		vpit_port61_write(&d->pit, (u8)*val, now);
	else if (port <= 0x43 && in)
		*val = vpit_read(&d->pit, port - 0x40, now);
	else if (port <= 0x43)
		vpit_write(&d->pit, port - 0x40, (u8)*val, now);
	else if (in)
		*val = vrtc_read(&d->rtc, port - 0x70, now);
	else
		vrtc_write(&d->rtc, port - 0x70, (u8)*val, now);
	spin_unlock(&d->lock);
	return true;
}

/*
 * The ACPI registers a Linux VM's FADT names (include/lamina/linux_boot.h):
 * S5 through the sleep control register powers the VM off, the reset
 * register stops it as reset. True when @port is one of them.
 */
static bool acpi_pm_access(struct vcpu *v, u16 port, bool in, u32 *val,
			   enum exit_action *a)
{
	if (!v->vm->irqchip || (port != LINUX_PM_SLEEP_CTL &&
				port != LINUX_PM_SLEEP_STS && port != LINUX_PM_RESET))
		return false;
	*a = EXIT_RESUME;
	if (in) {
		*val = 0;
		return true;
	}
	if (port == LINUX_PM_SLEEP_CTL && (*val & ACPI_SLP_EN) &&
	    ((*val >> 2) & 7) == LINUX_S5_TYP)
		*a = vcpu_stop(v, false, "the guest powered off (ACPI S5)");
	else if (port == LINUX_PM_RESET && (u8)*val == LINUX_PM_RESET_VALUE)
		*a = vcpu_stop(v, false, "the guest asked for a reset (ACPI reset register)");
	return true;
}

/* The real port, for a range the config passes through. */
static void passthrough(u16 port, unsigned int size, bool in, u32 *val)
{
	if (in)
		*val = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
	else if (size == 1)
		outb(port, (u8)*val);
	else if (size == 2)
		outw(port, (u16)*val);
	else
		outl(port, *val);
}

static bool fw_cfg_access(struct vm *vm, u16 port, unsigned int size,
			  bool in, u32 *val)
{
	struct vm_devices *d = &vm->dev;

	if (port != FW_CFG_PORT_SEL && port != FW_CFG_PORT_DATA)
		return false;
	spin_lock(&d->lock);
	if (port == FW_CFG_PORT_SEL && !in) {
		fw_cfg_select(&d->fw_cfg, (u16)*val);
	} else if (port == FW_CFG_PORT_DATA && in) {
		/* A wider read takes that many bytes, little-endian. */
		*val = 0;
		for (unsigned int i = 0; i < size; i++)
			*val |= (u32)fw_cfg_read(&d->fw_cfg) << (8 * i);
	} else if (in) {
		*val = 0;
	}
	spin_unlock(&d->lock);
	return true;
}

enum exit_action vcpu_pio(struct vcpu *v, u16 port, unsigned int size,
			  bool in, u32 *val)
{
	struct vm *vm = v->vm;
	const struct cfg_device *d = device_at(vm, port);
	enum exit_action a;

	if (d && d->kind == CFG_DEV_UART) {
		uart_access(vm, port - (u16)d->base, in, val);
		return EXIT_RESUME;
	}
	if (d && d->kind == CFG_DEV_DEBUG_EXIT) {
		if (in) {
			*val = 0;
			return EXIT_RESUME;
		}
		vm->exit_status = *val;
		return vcpu_stop(v, false, "debug-exit: the guest wrote 0x%x to port 0x%x",
				 *val, port);
	}
	if (d && d->kind == CFG_DEV_PIO) {
		passthrough(port, size, in, val);
		return EXIT_RESUME;
	}
	if (fw_cfg_access(vm, port, size, in, val))
		return EXIT_RESUME;
	if (acpi_pm_access(v, port, in, val, &a))
		return a;
	if (pc_chips_access(vm, port, in, val))
		return EXIT_RESUME;
	/* Nothing there: reads float high, writes go nowhere. */
	__atomic_add_fetch(&vm->dev.io_unclaimed, 1, __ATOMIC_RELAXED);
	WRITE_ONCE(vm->dev.io_unclaimed_last, port);
	if (in)
		*val = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	return EXIT_RESUME;
}

/* ------------------------------------------------------------ INS/OUTS */

/* @val with its low @bytes bytes replaced by @new (a 16-bit or 32-bit
 * register write; 32-bit writes clear the upper half, as in 64-bit mode). */
static u64 set_width(u64 val, u64 new, unsigned int bytes)
{
	if (bytes == 8)
		return new;
	if (bytes == 4)
		return (u32)new;
	return (val & ~0xffffull) | (new & 0xffff);
}

struct string_op {
	u64 seg_base;
	unsigned int asize; /* address size in bytes */
	struct gw_mode mode;
	u32 access;         /* for the memory side */
};

/* 1: the bytes do not decode (the VM stops); -1: fetching faulted (*f). */
static int decode_string(struct vcpu *v, const struct vcpu_pio_string *io,
			 const struct vcpu_regs *regs,
			 const struct vcpu_sregs *s, struct string_op *op,
			 struct gva_fault *f)
{
	const struct vcpu_seg *cs = &s->seg[VSEG_CS];
	bool lm = (s->efer & EFER_LMA) && (cs->attr & VSEG_ATTR_L);
	unsigned int asize = lm ? 8 : (s->cr0 & CR0_PE) && (cs->attr & VSEG_ATTR_DB) ? 4 : 2;
	u64 rip_la = lm ? regs->rip : (u32)(cs->base + regs->rip);
	struct insn_string_io d;
	u8 bytes[INSN_MAX_LEN];
	unsigned int n;
	int seg, err;

	vcpu_walk_mode(s, &op->mode);
	op->access = ((cs->attr >> 5) & 3) == 3 ? GW_USER : 0;
	err = vcpu_fetch_insn(v, &op->mode, op->access, rip_la, bytes, &n, f);
	if (err)
		return -1;
	if (insn_decode_string_io(bytes, n, lm, &d) ||
	    !(d.opcode & 2) != io->in)
		return 1;
	if (d.addr_prefix)
		asize = lm ? 4 : asize == 4 ? 2 : 4;
	/* INS writes at ES:rDI, never overridden; OUTS reads DS:rSI or the override. */
	seg = io->in ? VSEG_ES : d.seg == INSN_SEG_DEFAULT ? VSEG_DS : d.seg;
	op->seg_base = lm && seg != VSEG_FS && seg != VSEG_GS ? 0 : s->seg[seg].base;
	op->asize = asize;
	op->access |= io->in ? GW_WRITE : 0;
	return 0;
}

static enum exit_action string_fault(struct vcpu *v, const char *what,
				     u16 port, const struct gva_fault *f)
{
	char where[32];

	snprintf(where, sizeof(where), "%s port 0x%x", what, port);
	return vcpu_gva_fault(v, where, f);
}

static enum exit_action pio_string(struct vcpu *v, const struct vcpu_pio_string *io,
				   struct vcpu_regs *regs,
				   const struct vcpu_sregs *sregs, bool *done)
{
	u64 *ptr = io->in ? &regs->g.rdi : &regs->g.rsi;
	const char *what = io->in ? "INS from" : "OUTS to";
	s64 step = regs->rflags & RFLAGS_DF ? -(s64)io->size : io->size;
	enum exit_action a = EXIT_RESUME;
	u64 amask, count, n;
	struct string_op op;
	struct gva_fault f;
	int err;

	*done = false;
	err = decode_string(v, io, regs, sregs, &op, &f);
	if (err > 0)
		return vcpu_stop(v, true, "%s port 0x%x: the bytes at rip 0x%llx are not the INS/OUTS that exited",
				 what, io->port, (unsigned long long)regs->rip);
	if (err)
		return string_fault(v, what, io->port, &f);
	amask = op.asize == 8 ? ~0ull : (1ull << (op.asize * 8)) - 1;
	count = io->rep ? regs->g.rcx & amask : 1;
	for (n = 0; n < count && n < PIO_STRING_BATCH; n++) {
		u64 la = op.seg_base + (*ptr & amask);
		u32 val = 0;

		if (op.asize != 8)
			la = (u32)la;
		/* Elements done so far stay done: REP resumes from here. */
		if (!io->in && vcpu_gva_copy(v, &op.mode, la, (u8 *)&val, io->size,
					op.access, &f))
			break;
		a = vcpu_pio(v, io->port, io->size, io->in, &val);
		if (io->in && vcpu_gva_copy(v, &op.mode, la, (u8 *)&val, io->size,
				       op.access, &f))
			break;
		*ptr = set_width(*ptr, (*ptr & amask) + (u64)step, op.asize);
		if (a != EXIT_RESUME) {
			n++;
			break;
		}
	}
	if (io->rep)
		regs->g.rcx = set_width(regs->g.rcx, count - n, op.asize);
	if (a != EXIT_RESUME)
		return a;
	if (n < count && n < PIO_STRING_BATCH)
		return string_fault(v, what, io->port, &f);
	*done = n == count;
	return EXIT_RESUME;
}

enum exit_action vcpu_pio_string(struct vcpu *v, const struct vcpu_pio_string *io,
				 u64 next_rip)
{
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
	enum exit_action a;
	bool done;

	hv_ops->get_regs(v, &regs);
	hv_ops->get_sregs(v, &sregs);
	a = pio_string(v, io, &regs, &sregs, &done);
	if (done)
		regs.rip = next_rip;
	hv_ops->set_regs(v, &regs);
	return a;
}
