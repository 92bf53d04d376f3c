/*
 * The shared vCPU layer: starting a VM's vCPU on its pCPU, the CPUID
 * policy, port I/O to the virtual devices the config gives the VM (a UART's
 * output and the debug-exit port), and stopping a VM with a reason.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <abi/hypercall.h>
#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_HV_BASE 0x40000000u
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_IDLE 0x60 /* transmitter empty, nothing received */

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k)
{
	static const char *const names[VCPU_EXIT_KINDS] = {
		"cpuid", "io", "hlt", "msr", "npf", "hypercall", "shutdown",
		"other",
	};

	return (unsigned int)k < VCPU_EXIT_KINDS ? names[k] : "?";
}

/* The host's CPUID, less virtualisation, plus a hypervisor leaf. */
void vcpu_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, u32 out[4])
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	(void)v;
	if (leaf == CPUID_HV_BASE) {
		r.eax = CPUID_HV_BASE;
		memcpy(&r.ebx, "Lami", 4);
		memcpy(&r.ecx, "naHV", 4);
		memcpy(&r.edx, "    ", 4);
	} else if (leaf != 0x8000000a && (leaf & 0xf0000000u) != CPUID_HV_BASE) {
		r = cpuid(leaf, subleaf);
	}
	if (leaf == 1) {
		r.ecx &= ~CPUID_1_ECX_VMX;
		r.ecx |= CPUID_1_ECX_HYPERVISOR;
	}
	if (leaf == 0x80000001)
		r.ecx &= ~CPUID_80000001_ECX_SVM;
	out[0] = r.eax;
	out[1] = r.ebx;
	out[2] = r.ecx;
	out[3] = r.edx;
}

enum exit_action vcpu_stop(struct vcpu *v, bool crashed, const char *fmt, ...)
{
	struct vm *vm = v->vm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	WRITE_ONCE(vm->state, crashed ? VM_CRASHED : VM_STOPPED);
	printk(crashed ? LOG_ERR : LOG_INFO, pr_fmt("vm '%s' %s: %s\n"), vm->name,
	       crashed ? "crashed" : "stopped", vm->stop_reason);
	return EXIT_STOP_VM;
}

static void console_put(struct vm *vm, char c)
{
	vm->console_bytes++;
	if (c != '\n' && c != '\r' && vm->console_len < sizeof(vm->console_line) - 1)
		vm->console_line[vm->console_len++] = c;
	if (c == '\n' || vm->console_len == sizeof(vm->console_line) - 1) {
		vm->console_line[vm->console_len] = '\0';
		pr_info("vm '%s' console: %s\n", vm->name, vm->console_line);
		vm->console_len = 0;
	}
}

/* The VM's device of @kind covering @port, if any. */
static const struct cfg_device *device_at(const struct vm *vm, u32 kind,
					  u16 port)
{
	const struct cfg_vm *c = vm->cfg;

	for (u32 i = 0; i < c->nr_devices; i++) {
		const struct cfg_device *d =
			cfg_device_at(vm->blob, c->first_device + i);

		if (d->kind == kind && port >= d->base && port < d->base + d->size)
			return d;
	}
	return NULL;
}

static void uart_access(struct vm *vm, const struct cfg_device *d, u16 port,
			bool in, u32 *val)
{
	unsigned int reg = port - (u16)d->base;

	if (in)
		*val = reg == UART_LSR ? UART_LSR_IDLE : 0;
	else if (reg == UART_THR)
		console_put(vm, (char)*val);
}

enum exit_action vcpu_pio(struct vcpu *v, u16 port, unsigned int size,
			  bool in, u32 *val)
{
	struct vm *vm = v->vm;
	const struct cfg_device *d;

	if ((d = device_at(vm, CFG_DEV_UART, port))) {
		uart_access(vm, d, port, in, val);
		return EXIT_RESUME;
	}
	if (!in && device_at(vm, CFG_DEV_DEBUG_EXIT, port)) {
		vm->exit_status = *val;
		return vcpu_stop(v, false, "debug-exit: the guest wrote 0x%x to port 0x%x",
				 *val, port);
	}
	/* Nothing there: reads float high, writes go nowhere. */
	if (in)
		*val = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	return EXIT_RESUME;
}

#define MSR_IA32_TSC 0x10
#define MSR_IA32_MTRRCAP 0xfe
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRINGS 1

bool vcpu_msr(struct vcpu *v, u32 msr, bool write, u64 *val)
{
	v->exits[VEXIT_MSR]++;
	if (write)
		return false;
	switch (msr) {
	case MSR_IA32_TSC:
		*val = rdtsc();
		return true;
	case MSR_IA32_MTRRCAP:
		*val = 0;
		return true;
	case MSR_IA32_MISC_ENABLE:
		*val = MISC_ENABLE_FAST_STRINGS;
		return true;
	default:
		return false;
	}
}

/* Bytes written, or -HV_EINVAL (nothing written) for a bad buffer. */
static u64 hc_console_write(struct vm *vm, u64 gpa, u64 len)
{
	u8 chunk[128]; /* on the stack: vCPUs of other VMs call this at once */
	u8 probe;

	if (len > HC_CONSOLE_MAX || gpa + len < gpa ||
	    (len && vm_read_gpa(vm, gpa + len - 1, &probe, 1)))
		return (u64)-HV_EINVAL;
	for (u64 done = 0; done < len;) {
		u64 n = MIN(len - done, sizeof(chunk));

		if (vm_read_gpa(vm, gpa + done, chunk, n))
			return (u64)-HV_EINVAL;
		for (u64 i = 0; i < n; i++)
			console_put(vm, (char)chunk[i]);
		done += n;
	}
	return len;
}

enum exit_action vcpu_hypercall(struct vcpu *v, u64 *rax)
{
	struct vm *vm = v->vm;

	v->exits[VEXIT_HYPERCALL]++;
	switch (*rax) {
	case HC_VERSION:
		*rax = (HC_ABI_MAJOR << 16) | HC_ABI_MINOR;
		return EXIT_RESUME;
	case HC_VM_ID:
		*rax = vm->id;
		return EXIT_RESUME;
	case HC_STOP:
		vm->exit_status = (u32)v->gprs.rbx;
		return vcpu_stop(v, false, "hypercall stop, code 0x%llx",
				 (unsigned long long)v->gprs.rbx);
	case HC_CONSOLE_WRITE:
		*rax = hc_console_write(vm, v->gprs.rbx, v->gprs.rcx);
		return EXIT_RESUME;
	default:
		*rax = (u64)-HV_ENOSYS;
		return EXIT_RESUME;
	}
}

/* On the VM's pCPU, until the VM stops. */
static void vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	enum exit_action a = hv_ops->vcpu_run(v);

	if (a != EXIT_STOP_VM)
		vcpu_stop(v, true, "vCPU loop ended with action %d", a);
}

/*
 * raw64: identity tables for the first 4 GiB on 2 MiB pages, at the place
 * include/abi/config.h documents (PML4, PDPT, then four PDs).
 */
static int write_raw64_tables(struct vm *vm)
{
	static u64 t[CFG_RAW64_TABLES_SIZE / 8];
	u64 base = CFG_RAW64_TABLES_GPA;
	u64 *pml4 = t, *pdpt = t + 512, *pd = t + 1024;

	memset(t, 0, sizeof(t));
	pml4[0] = (base + 0x1000) | 3;
	for (u64 i = 0; i < 4; i++)
		pdpt[i] = (base + 0x2000 + i * 0x1000) | 3;
	for (u64 i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
	return vm_write_gpa(vm, base, t, sizeof(t));
}

static int refuse(char *why, size_t len, const char *fmt, const char *arg)
{
	snprintf(why, len, fmt, arg);
	return -HV_EOPNOTSUPP;
}

int vm_start(struct vm *vm, char *why, size_t len)
{
	unsigned int pcpu = (unsigned int)__builtin_ctzll(vm->cpus);
	struct vcpu *v;
	int err;

	if (vm->state != VM_CREATED)
		return refuse(why, len, "it is %s (only a created VM starts)",
			      vm_state_name(vm->state));
	if (!hv_ops->vcpu_run)
		return refuse(why, len, "running guests on %s is not implemented yet",
			      hv_ops->long_name);
	if (vm->cfg->boot_kind != CFG_BOOT_RAW32 &&
	    vm->cfg->boot_kind != CFG_BOOT_RAW64)
		return refuse(why, len, "boot kind %s cannot run yet (raw32 and raw64 can)",
			      cfg_boot_kind_name(vm->cfg->boot_kind));
	if (vm->cfg->boot_kind == CFG_BOOT_RAW64 && write_raw64_tables(vm))
		return refuse(why, len, "%s", "no writable memory for the raw64 tables");
	if (pcpu == 0)
		return refuse(why, len, "%s: a VM on the boot CPU cannot run yet",
			      "pCPU 0");
	v = objcache_alloc(&vcpu_cache);
	if (!v)
		return refuse(why, len, "%s", "out of memory for the vCPU");
	v->vm = vm;
	v->pcpu = pcpu;
	err = hv_ops->vcpu_create(v);
	if (err)
		goto err_create;
	vm->vcpu = v;
	vm->state = VM_RUNNING;
	err = smp_post(pcpu, vcpu_thread, v);
	if (err)
		goto err_post;
	return 0;

err_post:
	vm->state = VM_CREATED;
	vm->vcpu = NULL;
	hv_ops->vcpu_destroy(v);
err_create:
	objcache_free(&vcpu_cache, v);
	snprintf(why, len, "pCPU %u cannot take it (%d)", pcpu, err);
	return err;
}
