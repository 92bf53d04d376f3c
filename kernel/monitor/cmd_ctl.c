/*
 * Monitor commands that change or inspect a VM, each standing in for a
 * KVM ioctl: create, destroy, pause, resume, reset (the VM's life), regs
 * (KVM_GET/SET_REGS and SREGS), x and w (reading and writing guest memory
 * as user space does through its mapping), dump (the last crash report).
 */
#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>

#include "commands.h"

#define X_MAX 4096   /* bytes `x` shows at once */
#define W_MAX 64     /* bytes `w` writes at once */

static int failed(struct mon_ctx *ctx, const char *what, const char *name,
		  const char *why)
{
	mon_printf(ctx, "error: cannot %s '%s': %s\r\n", what, name, why);
	return -1;
}

int cmd_create(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm;
	char why[96];

	(void)argc;
	if (vm_create_named(argv[1], &vm, why, sizeof(why)))
		return failed(ctx, "create", argv[1], why);
	mon_printf(ctx, "vm '%s' created (id %u)\r\n", vm->name, vm->id);
	return 0;
}

int cmd_destroy(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	char name[CFG_NAME_MAX + 1], why[96];

	(void)argc;
	if (!vm)
		return -1;
	strlcpy_hv(name, vm->name, sizeof(name));
	if (vm_destroy_any(vm, why, sizeof(why)))
		return failed(ctx, "destroy", name, why);
	mon_printf(ctx, "vm '%s' destroyed\r\n", name);
	return 0;
}

int cmd_pause(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	char why[96];
	u64 us;

	(void)argc;
	if (!vm)
		return -1;
	if (vm_pause(vm, &us, why, sizeof(why)))
		return failed(ctx, "pause", vm->name, why);
	mon_printf(ctx, "vm '%s' paused in %llu us\r\n", vm->name,
		   (unsigned long long)us);
	return 0;
}

int cmd_resume(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	char why[96];

	(void)argc;
	if (!vm)
		return -1;
	if (vm_resume(vm, why, sizeof(why)))
		return failed(ctx, "resume", vm->name, why);
	mon_printf(ctx, "vm '%s' resumed\r\n", vm->name);
	return 0;
}

int cmd_reset(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]), *fresh;
	char name[CFG_NAME_MAX + 1], why[96];
	bool running;

	(void)argc;
	if (!vm)
		return -1;
	strlcpy_hv(name, vm->name, sizeof(name));
	running = vm->state == VM_RUNNING || vm->state == VM_PAUSED;
	if (vm_reset(vm, running, &fresh, why, sizeof(why)))
		return failed(ctx, "reset", name, why);
	mon_printf(ctx, "vm '%s' reset (id %u, %s)\r\n", name, fresh->id,
		   vm_state_name(fresh->state));
	return 0;
}

static void mon_print(void *ctx, const char *fmt, ...)
{
	char line[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	mon_printf(ctx, "%s", line);
}

/* The vCPU named by @s, of a VM whose registers can be read now. */
static struct vcpu *vcpu_arg(struct mon_ctx *ctx, struct vm *vm, const char *s)
{
	u64 id = 0;

	if (vm->state == VM_RUNNING) {
		mon_printf(ctx, "error: vm '%s' is running: pause it first (`pause %s`)\r\n",
			   vm->name, vm->name);
		return NULL;
	}
	if (!vm->nr_vcpus) {
		mon_printf(ctx, "error: vm '%s' has no vCPUs until it starts\r\n",
			   vm->name);
		return NULL;
	}
	if (s && (parse_u64(s, &id) || id >= vm->nr_vcpus)) {
		mon_printf(ctx, "error: vm '%s' has vCPUs 0 to %u, not '%s'\r\n",
			   vm->name, vm->nr_vcpus - 1, s);
		return NULL;
	}
	return vm->vcpus[id];
}

static int regs_set(struct mon_ctx *ctx, struct vcpu *v, char **argv)
{
	u64 *field = mon_reg_field(argv[4], &v->regs, &v->sregs);
	u64 val;

	if (v->vm->state != VM_PAUSED) {
		mon_printf(ctx, "error: registers change only while the VM is paused\r\n");
		return -1;
	}
	if (!field) {
		mon_printf(ctx, "error: no register '%s' (rax..r15, rsp, rip, rflags, cr0, cr2, cr3, cr4, efer)\r\n",
			   argv[4]);
		return -1;
	}
	if (parse_u64(argv[5], &val)) {
		mon_printf(ctx, "error: '%s' is not a number (decimal or 0x hex)\r\n",
			   argv[5]);
		return -1;
	}
	*field = val;
	v->regs_dirty = true; /* loaded by the vCPU before it runs again */
	mon_printf(ctx, "vm '%s' vCPU %u: %s = 0x%llx\r\n", v->vm->name, v->id,
		   argv[4], (unsigned long long)val);
	return 0;
}

int cmd_regs(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	struct vcpu *v;

	if (!vm || !(v = vcpu_arg(ctx, vm, argc > 2 ? argv[2] : NULL)))
		return -1;
	if (argc > 3) {
		if (argc != 6 || strcmp(argv[3], "set")) {
			mon_printf(ctx, "error: usage: regs VM [VCPU] | regs VM VCPU set REG VALUE\r\n");
			return -1;
		}
		return regs_set(ctx, v, argv);
	}
	mon_printf(ctx, "vm '%s' vCPU %u (%s):\r\n", vm->name, v->id,
		   vm_state_name(vm->state));
	vcpu_print_state(&v->regs, &v->sregs, mon_print, ctx);
	return 0;
}

static void hexdump_line(struct mon_ctx *ctx, u64 gpa, const u8 *b, size_t n)
{
	char hex[16 * 3 + 1], text[17];

	for (size_t i = 0; i < 16; i++) {
		if (i < n)
			snprintf(hex + i * 3, 4, "%02x ", b[i]);
		else
			memcpy(hex + i * 3, "   ", 4);
		text[i] = i < n ? (b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.') : ' ';
	}
	text[16] = '\0';
	mon_printf(ctx, "0x%016llx: %s |%s|\r\n", (unsigned long long)gpa, hex, text);
}

int cmd_x(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	static u8 buf[X_MAX]; /* the monitor is one thread */
	u64 gpa, len;

	(void)argc;
	if (!vm)
		return -1;
	if (parse_u64(argv[2], &gpa) || parse_u64(argv[3], &len) || !len ||
	    len > X_MAX) {
		mon_printf(ctx, "error: usage: x VM GPA LEN (LEN 1 to %d)\r\n", X_MAX);
		return -1;
	}
	if (gpa + len < gpa || vm_read_gpa(vm, gpa, buf, len)) {
		mon_printf(ctx, "error: [0x%llx, 0x%llx) is not all in vm '%s''s RAM (see `slots %s`)\r\n",
			   (unsigned long long)gpa, (unsigned long long)(gpa + len),
			   vm->name, vm->name);
		return -1;
	}
	for (u64 off = 0; off < len; off += 16)
		hexdump_line(ctx, gpa + off, buf + off, MIN(16, len - off));
	return 0;
}

int cmd_w(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	u8 bytes[W_MAX];
	size_t n;
	u64 gpa;
	int err;

	(void)argc;
	if (!vm)
		return -1;
	if (parse_u64(argv[2], &gpa)) {
		mon_printf(ctx, "error: '%s' is not an address\r\n", argv[2]);
		return -1;
	}
	err = mon_parse_hex_bytes(argv[3], bytes, sizeof(bytes), &n);
	if (err) {
		mon_printf(ctx, "error: '%s': %s\r\n", argv[3], err == -HV_E2BIG ?
			   "more than 64 bytes" :
			   "not hex bytes (two hex digits per byte, like 0fa0c3)");
		return -1;
	}
	if (gpa + n < gpa || vm_write_gpa(vm, gpa, bytes, n)) {
		mon_printf(ctx, "error: [0x%llx, 0x%llx) is not all in vm '%s''s writable RAM\r\n",
			   (unsigned long long)gpa, (unsigned long long)(gpa + n),
			   vm->name);
		return -1;
	}
	mon_printf(ctx, "wrote %zu bytes at GPA 0x%llx\r\n", n,
		   (unsigned long long)gpa);
	return 0;
}

int cmd_dump(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	const struct vm_crash *c;

	(void)argc;
	if (!vm)
		return -1;
	c = &vm->crash;
	if (!c->valid) {
		mon_printf(ctx, "vm '%s': no crash report (it has not crashed)\r\n",
			   vm->name);
		return 0;
	}
	mon_printf(ctx, "vm '%s' crash %u at %llu.%06llu s: vCPU %u: %s\r\n",
		   vm->name, c->count, (unsigned long long)(c->at_us / 1000000),
		   (unsigned long long)(c->at_us % 1000000), c->vcpu, c->reason);
	vcpu_print_state(&c->regs, &c->sregs, mon_print, ctx);
	return 0;
}

int cmd_irq(struct mon_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = mon_vm_arg(ctx, argv[1]);
	u64 vector, vcpu = 0;
	char why[128];

	if (!vm)
		return -1;
	if (parse_u64(argv[2], &vector) || vector < 32 || vector > 255 ||
	    (argc > 3 && parse_u64(argv[3], &vcpu))) {
		mon_printf(ctx, "error: usage: irq VM VECTOR [VCPU] (VECTOR 32 to 255: 0 to 31 are exceptions)\r\n");
		return -1;
	}
	if (vm_irq(vm, (unsigned int)MIN(vcpu, 0xffffffffull), (u8)vector, why,
		   sizeof(why)))
		return failed(ctx, "interrupt", vm->name, why);
	mon_printf(ctx, "vm '%s' vCPU %llu: interrupt 0x%llx queued\r\n", vm->name,
		   (unsigned long long)vcpu, (unsigned long long)vector);
	return 0;
}
