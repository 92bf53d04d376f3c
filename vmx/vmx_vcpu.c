/*
 * VMX vCPUs: the VMCS, its conversion to and from the vendor-neutral
 * register form, and the run loop. The VMCS is made current on the vCPU's
 * own pCPU (VMPTRLD is per CPU) by vmx_vcpu_load. The exit table is in
 * vmx_exit.c.
 */
#define pr_fmt(fmt) "vmx: " fmt

#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/mce.h>
#include <lamina/percpu.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "vmx.h"
#include "vmcs.h"

int vmx_enter(struct guest_gprs *g, int launched);
extern const char vmx_exit_point[];

BUILD_BUG_ON(offsetof(struct guest_gprs, rax) != 14 * 8);

#define VMCS_EXCEPTION_BITMAP 0x4004 /* one bit per vector: exit on it */

/* Every port and MSR exits: one shared set of bitmaps. */
static u8 *io_bitmaps, *msr_bitmap;

static bool vmcs_op(const char *insn_is_clear, u64 pa)
{
	u8 failed;

	if (insn_is_clear)
		__asm__ __volatile__("vmclear %1; setna %0"
				     : "=q"(failed) : "m"(pa) : "cc", "memory");
	else
		__asm__ __volatile__("vmptrld %1; setna %0"
				     : "=q"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

#define INVEPT_SINGLE 1ull
#define INVEPT_ALL 2ull

static void invept(u64 type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	__asm__ __volatile__("invept %0, %1" ::"m"(desc), "r"(type)
			     : "cc", "memory");
}

/* All EPT-derived translations, of every VM that ran here before. */
static void invept_all(void)
{
	if (hv_boot_caps.f.invept_all)
		invept(INVEPT_ALL, 0);
}

/* This VM's translations, after its EPT changed. */
void vmx_flush_tlb(struct vcpu *v)
{
	if (hv_boot_caps.f.invept_single)
		invept(INVEPT_SINGLE, s2_root_pointer(&v->vm->s2));
	else
		invept_all();
}

/*
 * MSRs the guest has without exits. FS/GS base and SYSENTER live in the
 * VMCS; KernelGSbase and the SYSCALL MSRs are not switched by VM entry
 * and exit, but Lamina uses none of them: the guest's values stay in the
 * CPU while its vCPU is there, and vmx_vcpu_load/put clear them so that
 * no VM sees what another left (swapped_msrs).
 */
static const u32 swapped_msrs[] = {
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR SFMASK */
	0xc0000102,                                     /* KernelGSbase */
};
static const u32 guest_owned_msrs[] = {
	0x174, 0x175, 0x176, 0xc0000100, 0xc0000101,
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102,
};

/* Clear the read and write bits of @msr (SDM 24.6.9: read-low, read-high,
 * write-low, write-high, 1 KiB each). */
static void msr_bitmap_pass(u32 msr)
{
	u32 high = msr >= 0xc0000000u ? 0x400 : 0, bit = msr & 0x1fff;

	msr_bitmap[high + bit / 8] &= (u8)~(1u << (bit % 8));
	msr_bitmap[0x800 + high + bit / 8] &= (u8)~(1u << (bit % 8));
}

static void clear_swapped_msrs(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(swapped_msrs); i++)
		wrmsr(swapped_msrs[i], 0);
}

static bool alloc_bitmaps(void)
{
	if (!io_bitmaps)
		io_bitmaps = page_alloc(2, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!msr_bitmap)
		msr_bitmap = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!io_bitmaps || !msr_bitmap)
		return false;
	memset(io_bitmaps, 0xff, 2 * PAGE_SIZE);
	memset(msr_bitmap, 0xff, PAGE_SIZE);
	for (unsigned int i = 0; i < ARRAY_SIZE(guest_owned_msrs); i++)
		msr_bitmap_pass(guest_owned_msrs[i]);
	return true;
}

int vmx_vcpu_create(struct vcpu *v)
{
	u32 *vmcs;

	/* raw32 and real16 run with paging off: only an unrestricted guest may. */
	if (!(vmx_config.proc2 & PROC2_UNRESTRICTED))
		return -HV_EOPNOTSUPP;
	/* Without it the guest's EFER.LME/LMA cannot be set at entry. */
	if ((v->vm->cfg->boot_kind == CFG_BOOT_RAW64 ||
	     v->vm->cfg->boot_kind == CFG_BOOT_LINUX) &&
	    !(vmx_config.entry & ENTRY_LOAD_EFER))
		return -HV_EOPNOTSUPP;
	if (!alloc_bitmaps())
		return -HV_ENOMEM;
	vmcs = page_alloc(1, PAGE_SIZE, 0, PG_OWNER_VM);
	if (!vmcs)
		return -HV_ENOMEM;
	vmcs[0] = hv_boot_caps.f.vmcs_revision;
	v->vendor = vmcs;
	return 0;
}

void vmx_vcpu_destroy(struct vcpu *v)
{
	page_free(v->vendor, 1, PG_OWNER_VM);
	v->vendor = NULL;
}

static bool vmx_slices_possible(void)
{
	return vmx_config.pin & PIN_PREEMPTION_TIMER;
}

static void setup_controls(const struct vcpu *v)
{
	const struct vmx_config *c = &vmx_config;

	/* The preemption timer ends the slices of a vCPU on the boot CPU
	 * (vmx_set_slice); elsewhere it stays off. */
	bool slices = v->pcpu == 0 && vmx_slices_possible();

	vmwrite(VMCS_PIN_CTLS, slices ? c->pin : c->pin & ~PIN_PREEMPTION_TIMER);
	vmwrite(VMCS_PROC_CTLS, c->proc);
	vmwrite(VMCS_PROC2_CTLS, c->proc2);
	vmwrite(VMCS_EXIT_CTLS, c->exit);
	vmwrite(VMCS_ENTRY_CTLS, c->entry);
	if (c->proc2 & PROC2_VPID)
		vmwrite(VMCS_VPID, 1); /* INVEPT at load clears what it tags */
	vmwrite(VMCS_IO_BITMAP_A, (u64)(uintptr_t)io_bitmaps);
	vmwrite(VMCS_IO_BITMAP_B, (u64)(uintptr_t)io_bitmaps + PAGE_SIZE);
	vmwrite(VMCS_MSR_BITMAP, (u64)(uintptr_t)msr_bitmap);
	/* A machine check in guest mode is the host's (vmx_exit.c). */
	vmwrite(VMCS_EXCEPTION_BITMAP, 1u << VEC_MC);
	vmwrite(VMCS_EPT_POINTER, s2_root_pointer(&v->vm->s2));
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	/* CR0.NE and CR4.VMXE must stay set in VMX operation, CR4.MCE as the
	 * host has it (mce.h): the host owns them and the guest reads its own
	 * values from the shadows. */
	vmwrite(VMCS_CR0_MASK, CR0_NE_BIT);
	vmwrite(VMCS_CR4_MASK, CR4_VMXE_BIT | CR4_MCE);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
}

/*
 * A slice ending @us from now, on the TSC. The run loop loads what is left
 * of it into the preemption timer before each entry (vmx_arm_slice): the
 * timer restarts from the VMCS value at every entry, and a guest that
 * exits often would otherwise never see it run out. False when the CPU has
 * no preemption timer: the caller then uses the local APIC timer.
 */
bool vmx_set_slice(struct vcpu *v, u32 us)
{
	if (v->pcpu != 0 || !vmx_slices_possible())
		return false;
	v->slice_end = rdtsc() + (u64)us * tsc_khz / 1000;
	return true;
}

static void setup_host(void)
{
	struct percpu *pc = this_cpu();
	struct desc_ptr idtr;

	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SEL, SEL_CODE);
	vmwrite(VMCS_HOST_SS_SEL, SEL_DATA);
	vmwrite(VMCS_HOST_DS_SEL, SEL_DATA);
	vmwrite(VMCS_HOST_ES_SEL, SEL_DATA);
	vmwrite(VMCS_HOST_TR_SEL, SEL_TSS);
	vmwrite(VMCS_HOST_GS_BASE, (u64)(uintptr_t)pc);
	vmwrite(VMCS_HOST_TR_BASE, (u64)(uintptr_t)&pc->tss);
	vmwrite(VMCS_HOST_GDTR_BASE, (u64)(uintptr_t)pc->gdt);
	vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_point);
	if (vmx_config.exit & EXIT_LOAD_EFER)
		vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
}

int vmx_vcpu_load(struct vcpu *v)
{
	u64 pa = (u64)(uintptr_t)v->vendor;

	if (!vmcs_op("clear", pa) || !vmcs_op(NULL, pa))
		return -HV_EIO;
	setup_controls(v);
	setup_host();
	invept_all();
	clear_swapped_msrs();
	v->launched = false;
	return 0;
}

void vmx_vcpu_put(struct vcpu *v)
{
	vmcs_op("clear", (u64)(uintptr_t)v->vendor);
	clear_swapped_msrs();
}

/* ------------------------------------------- the vendor-neutral state */

/* The VMX access rights from the VMCB-style attribute (0: unusable). */
static u32 to_ar(u16 attr)
{
	return attr ? (attr & 0xffu) | ((attr & 0xf00u) << 4) : AR_UNUSABLE;
}

static u16 from_ar(u32 ar)
{
	return ar & AR_UNUSABLE ? 0 : (u16)((ar & 0xff) | ((ar >> 4) & 0xf00));
}

void vmx_get_regs(struct vcpu *v, struct vcpu_regs *r)
{
	r->g = v->gprs;
	r->rsp = vmread(VMCS_GUEST_RSP);
	r->rip = vmread(VMCS_GUEST_RIP);
	r->rflags = vmread(VMCS_GUEST_RFLAGS);
}

void vmx_set_regs(struct vcpu *v, const struct vcpu_regs *r)
{
	v->gprs = r->g;
	vmwrite(VMCS_GUEST_RSP, r->rsp);
	vmwrite(VMCS_GUEST_RIP, r->rip);
	vmwrite(VMCS_GUEST_RFLAGS, r->rflags);
}

/* The guest's view of CR0/CR4: owned bits from the shadow. */
static u64 guest_cr(u64 field, u64 mask_field, u64 shadow_field)
{
	u64 mask = vmread(mask_field);

	return (vmread(field) & ~mask) | (vmread(shadow_field) & mask);
}

void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	(void)v;
	for (unsigned int i = 0; i < VSEG_COUNT; i++) {
		s->seg[i].sel = (u16)vmread(VMCS_GUEST_ES_SEL + 2 * i);
		s->seg[i].attr = from_ar((u32)vmread(VMCS_GUEST_ES_AR + 2 * i));
		s->seg[i].limit = (u32)vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
		s->seg[i].base = vmread(VMCS_GUEST_ES_BASE + 2 * i);
	}
	s->gdt.base = vmread(VMCS_GUEST_GDTR_BASE);
	s->gdt.limit = (u16)vmread(VMCS_GUEST_GDTR_LIMIT);
	s->idt.base = vmread(VMCS_GUEST_IDTR_BASE);
	s->idt.limit = (u16)vmread(VMCS_GUEST_IDTR_LIMIT);
	s->cr0 = guest_cr(VMCS_GUEST_CR0, VMCS_CR0_MASK, VMCS_CR0_SHADOW);
	s->cr4 = guest_cr(VMCS_GUEST_CR4, VMCS_CR4_MASK, VMCS_CR4_SHADOW);
	s->cr3 = vmread(VMCS_GUEST_CR3);
	s->cr2 = read_cr2(); /* VMX does not switch CR2: it is the guest's */
	s->efer = vmx_config.entry & ENTRY_LOAD_EFER ? vmread(VMCS_GUEST_EFER) : 0;
}

void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	u64 entry = vmread(VMCS_ENTRY_CTLS) & ~(u64)ENTRY_IA32E_GUEST;

	(void)v;
	for (unsigned int i = 0; i < VSEG_COUNT; i++) {
		vmwrite(VMCS_GUEST_ES_SEL + 2 * i, s->seg[i].sel);
		vmwrite(VMCS_GUEST_ES_AR + 2 * i, to_ar(s->seg[i].attr));
		vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, s->seg[i].limit);
		vmwrite(VMCS_GUEST_ES_BASE + 2 * i, s->seg[i].base);
	}
	vmwrite(VMCS_GUEST_GDTR_BASE, s->gdt.base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, s->gdt.limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, s->idt.base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, s->idt.limit);
	vmwrite(VMCS_GUEST_CR0, s->cr0 | CR0_NE_BIT);
	vmwrite(VMCS_CR0_SHADOW, s->cr0);
	vmwrite(VMCS_GUEST_CR4, s->cr4 | CR4_VMXE_BIT | mce_guest_cr4_bits());
	vmwrite(VMCS_CR4_SHADOW, s->cr4);
	vmwrite(VMCS_GUEST_CR3, s->cr3);
	write_cr2(s->cr2);
	if (vmx_config.entry & ENTRY_LOAD_EFER)
		vmwrite(VMCS_GUEST_EFER, s->efer);
	vmwrite(VMCS_ENTRY_CTLS, entry | (s->efer & EFER_LMA ? ENTRY_IA32E_GUEST : 0));
}
