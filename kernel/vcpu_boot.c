/*
 * The state a vCPU starts in, per boot kind, in the vendor-neutral form
 * (struct vcpu_regs / vcpu_sregs); vmx/ and svm/ only convert it. Writing
 * it once here keeps the two vendors from each growing their own idea of
 * what "raw32" means.
 */
#define pr_fmt(fmt) "vm: " fmt

#include <lamina/config.h>
#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>
#include <lamina/multiboot1.h>
#include <lamina/spinlock.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#define CR0_ET (1ull << 4)
#define CR0_NE_FLAG (1ull << 5)
#define RFLAGS_FIXED 0x2ull

static void seg(struct vcpu_seg *s, u16 sel, u64 base, u32 limit, u16 attr)
{
	s->sel = sel;
	s->base = base;
	s->limit = limit;
	s->attr = attr;
}

/* Flat 32-bit protected mode, paging off: selectors 0x08 code, 0x10 data. */
static void state_raw32(struct vcpu_regs *r, struct vcpu_sregs *s, u64 entry)
{
	for (unsigned int i = VSEG_ES; i <= VSEG_GS; i++)
		seg(&s->seg[i], i == VSEG_CS ? 0x08 : 0x10, 0, 0xffffffff,
		    i == VSEG_CS ? VSEG_ATTR_CODE32 : VSEG_ATTR_DATA32);
	seg(&s->seg[VSEG_TR], 0, 0, 0x67, VSEG_ATTR_TSS32);
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
	s->cr0 = CR0_PE | CR0_ET | CR0_NE_FLAG;
	r->rip = entry;
}

/* Long mode on the identity tables vm_start() wrote. */
static void state_raw64(struct vcpu_regs *r, struct vcpu_sregs *s, u64 entry)
{
	state_raw32(r, s, entry);
	s->seg[VSEG_CS].attr = VSEG_ATTR_CODE64;
	s->cr0 |= CR0_PG;
	s->cr3 = CFG_RAW64_TABLES_GPA;
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
}

/*
 * Real mode as a PC leaves it to a boot sector: CS:IP = the 64 KiB block
 * of @entry : its offset (0x7c00 is 0000:7c00), data segments 0, SP 0.
 */
static void state_real16(struct vcpu_regs *r, struct vcpu_sregs *s, u64 entry)
{
	u16 cs = (u16)((entry & 0xf0000) >> 4);

	for (unsigned int i = VSEG_ES; i <= VSEG_GS; i++)
		seg(&s->seg[i], 0, 0, 0xffff, VSEG_ATTR_DATA16);
	seg(&s->seg[VSEG_CS], cs, (u64)cs << 4, 0xffff, VSEG_ATTR_CODE16);
	seg(&s->seg[VSEG_TR], 0, 0, 0xffff, VSEG_ATTR_TSS32);
	s->gdt.limit = 0xffff;
	s->idt.limit = 0x3ff; /* the real-mode vector table at 0 */
	s->cr0 = CR0_ET;
	r->rip = entry & 0xffff;
}

/*
 * raw64: identity tables for the first 4 GiB on 2 MiB pages, at the place
 * include/abi/config.h documents (PML4, PDPT, then four PDs).
 */
static int write_raw64_tables(struct vm *vm)
{
	static u64 t[CFG_RAW64_TABLES_SIZE / 8];
	static spinlock_t lock;
	u64 base = CFG_RAW64_TABLES_GPA;
	u64 *pml4 = t, *pdpt = t + 512, *pd = t + 1024;
	int err;

	spin_lock(&lock);
	memset(t, 0, sizeof(t));
	pml4[0] = (base + 0x1000) | 3;
	for (u64 i = 0; i < 4; i++)
		pdpt[i] = (base + 0x2000 + i * 0x1000) | 3;
	for (u64 i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
	err = vm_write_gpa(vm, base, t, sizeof(t));
	spin_unlock(&lock);
	return err;
}

/*
 * Multiboot: the kernel, its module and the information block go into
 * guest memory; the entry state is the specification's (section 3.2):
 * flat 32-bit protected mode, paging off, EAX the magic, EBX the block.
 */
static int state_multiboot(struct vcpu *v, char *why, size_t len)
{
	u32 entry, info;
	int err = mb1_vm_load(v->vm, &entry, &info, why, len);

	if (err)
		return err;
	state_raw32(&v->regs, &v->sregs, entry);
	v->regs.g.rax = MB1_BOOT_MAGIC;
	v->regs.g.rbx = info;
	return 0;
}

/*
 * Linux. The 64-bit boot protocol (Documentation/arch/x86/boot.rst): long
 * mode on identity tables, CS = __BOOT_CS (0x10) and the data segments
 * __BOOT_DS (0x18) from a GDT that has them, RSI = the zero page. The PVH
 * entry: flat 32-bit protected mode, paging off, EBX = the start info.
 * Interrupts off in both. Only the boot vCPU loads; the others wait for
 * their INIT-SIPI-SIPI in real mode (vcpu_irq_init set wait_sipi).
 */
static int state_linux(struct vcpu *v, char *why, size_t len)
{
	struct vcpu_sregs *s = &v->sregs;
	struct linux_entry e;
	int err;

	if (v->id != 0) {
		state_real16(&v->regs, s, 0);
		return 0;
	}
	err = linux_vm_load(v->vm, &e, why, len);
	if (err)
		return err;
	if (e.pvh) {
		state_raw32(&v->regs, s, e.rip);
		v->regs.g.rbx = e.boot_data;
		return 0;
	}
	if (write_raw64_tables(v->vm)) {
		snprintf(why, len, "linux: no writable memory for the identity tables");
		return -HV_EINVAL;
	}
	state_raw64(&v->regs, s, e.rip);
	for (unsigned int i = VSEG_ES; i <= VSEG_GS; i++)
		s->seg[i].sel = i == VSEG_CS ? 0x10 : 0x18;
	s->gdt.base = LINUX_GDT_GPA;
	s->gdt.limit = 0x1f;
	s->idt.limit = 0;
	v->regs.g.rsi = e.boot_data;
	return 0;
}

void vcpu_sipi_state(struct vcpu *v, u8 vector)
{
	struct vcpu_regs r = { .rflags = RFLAGS_FIXED };
	struct vcpu_sregs s = { 0 };

	state_real16(&r, &s, 0);
	seg(&s.seg[VSEG_CS], (u16)(vector << 8), (u64)vector << 12, 0xffff,
	    VSEG_ATTR_CODE16);
	r.rip = 0;
	hv_ops->set_sregs(v, &s);
	hv_ops->set_regs(v, &r);
}

int vcpu_boot_state(struct vcpu *v, char *why, size_t len)
{
	const struct cfg_vm *c = v->vm->cfg;
	struct vcpu_regs *r = &v->regs;
	struct vcpu_sregs *s = &v->sregs;

	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	r->rflags = RFLAGS_FIXED;
	switch (c->boot_kind) {
	case CFG_BOOT_RAW32:
		state_raw32(r, s, c->entry);
		return 0;
	case CFG_BOOT_RAW64:
		state_raw64(r, s, c->entry);
		/* Once per VM: every vCPU starts on the same tables. */
		if (v->id == 0 && write_raw64_tables(v->vm)) {
			snprintf(why, len, "no writable memory for the raw64 tables");
			return -HV_EINVAL;
		}
		return 0;
	case CFG_BOOT_REAL16:
		state_real16(r, s, c->entry);
		return 0;
	case CFG_BOOT_MULTIBOOT:
		/* Its other processors would wait for an INIT-SIPI: not yet. */
		if (v->vm->nr_vcpus > 1 || v->vm->cpus & (v->vm->cpus - 1)) {
			snprintf(why, len, "a multiboot VM has one vCPU for now");
			return -HV_EOPNOTSUPP;
		}
		return state_multiboot(v, why, len);
	case CFG_BOOT_LINUX:
		return state_linux(v, why, len);
	default:
		snprintf(why, len, "boot kind %s cannot run yet",
			 cfg_boot_kind_name(c->boot_kind));
		return -HV_EOPNOTSUPP;
	}
}
