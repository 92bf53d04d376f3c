/*
 * Guest accesses to emulated MMIO: the local APIC and IOAPIC pages of a
 * VM with an in-kernel irqchip. Neither page is mapped in the VM's
 * second-level tables, so every access exits as a nested page fault with
 * the guest-physical address; the instruction itself is fetched through
 * the guest's page tables and decoded here (QEMU TCG offers no decode
 * assists), emulated, and skipped.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/guest_walk.h>
#include <lamina/hv.h>
#include <lamina/insn.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define PAGE_OF(a) ((a) & ~0xfffull)

bool vcpu_mmio_claims(struct vcpu *v, u64 gpa)
{
	return v->vm->irqchip && (PAGE_OF(gpa) == VLAPIC_BASE_DEFAULT ||
				  PAGE_OF(gpa) == VIOAPIC_BASE_DEFAULT);
}

/* Register @idx in the x86 encoding's order. */
static u64 *gpr(struct vcpu_regs *r, int idx)
{
	return vcpu_gpr(&r->g, &r->rsp, (unsigned int)idx);
}

static u64 size_mask(unsigned int size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* The value a store writes. */
static u64 store_value(struct vcpu_regs *r, const struct insn_mmio *d)
{
	u64 val;

	if (d->kind == INSN_MMIO_STORE_IMM)
		return d->imm & size_mask(d->size);
	val = *gpr(r, d->high8 ? d->reg - 4 : d->reg);
	if (d->high8)
		val >>= 8;
	return val & size_mask(d->size);
}

/* A load's result into its register, as the CPU merges it. */
static void load_value(struct vcpu_regs *r, const struct insn_mmio *d, u64 val)
{
	unsigned int bytes = d->kind == INSN_MMIO_LOAD_ZX ? d->dst_size : d->size;
	u64 *reg = gpr(r, d->high8 ? d->reg - 4 : d->reg);

	val &= size_mask(d->size);
	if (d->high8)
		*reg = (*reg & ~0xff00ull) | (val << 8);
	else if (bytes >= 4) /* a 32-bit write clears the upper half */
		*reg = val;
	else
		*reg = (*reg & ~size_mask(bytes)) | val;
}

/* The device access itself; only aligned 4-byte accesses reach a register. */
static enum exit_action device_access(struct vcpu *v, u64 gpa,
				      const struct insn_mmio *d, bool write,
				      u64 *val)
{
	u32 offset = (u32)(gpa & 0xfff), v32 = (u32)*val;
	enum exit_action a = EXIT_RESUME;

	if (d->size != 4 || (offset & 3)) {
		*val = 0;
		return EXIT_RESUME;
	}
	if (PAGE_OF(gpa) == VLAPIC_BASE_DEFAULT)
		a = vcpu_apic_access(v, offset, write, &v32);
	else if (vm_ioapic_access(v->vm, offset, 4, write, &v32))
		v32 = 0;
	*val = v32;
	return a;
}

enum exit_action vcpu_mmio(struct vcpu *v, u64 gpa)
{
	struct vcpu_regs r;
	struct vcpu_sregs s;
	const struct vcpu_seg *cs;
	struct insn_mmio d;
	struct gva_fault f;
	struct gw_mode mode;
	u8 bytes[INSN_MAX_LEN];
	unsigned int n;
	enum exit_action a;
	bool lm, write;
	u64 la, val = 0;

	hv_ops->get_regs(v, &r);
	hv_ops->get_sregs(v, &s);
	cs = &s.seg[VSEG_CS];
	lm = (s.efer & EFER_LMA) && (cs->attr & VSEG_ATTR_L);
	la = lm ? r.rip : (u32)(cs->base + r.rip);
	vcpu_walk_mode(&s, &mode);
	if (vcpu_fetch_insn(v, &mode, ((cs->attr >> 5) & 3) == 3 ? GW_USER : 0,
			    la, bytes, &n, &f))
		return vcpu_gva_fault(v, "MMIO instruction fetch", &f);
	if (insn_decode_mmio(bytes, n, lm, cs->attr & VSEG_ATTR_DB, &d))
		return vcpu_stop(v, true, "MMIO at GPA 0x%llx: the instruction at rip 0x%llx (%02x %02x %02x %02x) is not a MOV Lamina emulates",
				 (unsigned long long)gpa, (unsigned long long)r.rip,
				 bytes[0], bytes[1], bytes[2], bytes[3]);
	write = d.kind == INSN_MMIO_STORE_REG || d.kind == INSN_MMIO_STORE_IMM;
	if (write)
		val = store_value(&r, &d);
	v->exits[VEXIT_NPF]++;
	a = device_access(v, gpa, &d, write, &val);
	if (!write)
		load_value(&r, &d, val);
	r.rip += d.len;
	hv_ops->set_regs(v, &r);
	return a;
}
