/*
 * SVM vCPUs: the VMCB, its conversion to and from the vendor-neutral
 * register form, and the run loop. The exit table is in svm_exit.c.
 */
#define pr_fmt(fmt) "svm: " fmt

#include <lamina/errno.h>
#include <lamina/hv.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/mce.h>
#include <lamina/vm.h>
#include <lamina/x86.h>

#include "svm.h"
#include "vmcb.h"

#define IOPM_PAGES 3
#define MSRPM_PAGES 2
#define GUEST_ASID 1 /* one vCPU per pCPU at a time: one ASID is enough */
/* A vCPU's pages: its VMCB, and where VMSAVE keeps the host's state. */
#define VCPU_PAGES 2
/* Exception intercepts: one bit per vector (APM vol. 2, 15.12). */
#define VMCB_INTERCEPT_EXC 0x008

BUILD_BUG_ON(offsetof(struct guest_gprs, rsi) != 3 * 8);
BUILD_BUG_ON(offsetof(struct guest_gprs, r15) != 13 * 8);

void svm_save_host(u64 host_pa);

/* All I/O ports and MSRs intercepted: one shared pair of maps. */
static u8 *iopm, *msrpm;

/*
 * MSRs the guest reads and writes without an exit: VMLOAD and VMSAVE
 * switch every one of them with the rest of the guest's state (FS, GS,
 * KernelGSbase, the SYSCALL and SYSENTER MSRs), so none reaches Lamina.
 */
static const u32 guest_owned_msrs[] = {
	0x174, 0x175, 0x176,                    /* SYSENTER_CS/ESP/EIP */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR SFMASK */
	0xc0000100, 0xc0000101, 0xc0000102,     /* FS, GS, KernelGS base */
};

/* Clear both intercept bits of @msr (AMD APM vol. 2, 15.11: two bits per
 * MSR, three 2 KiB ranges). */
static void msrpm_pass(u32 msr)
{
	u32 base = msr < 0x2000 ? 0 : msr >= 0xc0000000u && msr < 0xc0002000u ?
		   0x800 : 0x1000;
	u32 index = (msr & 0x1fff) * 2;

	msrpm[base + index / 8] &= (u8)~(3u << (index % 8));
}

static bool alloc_maps(void)
{
	if (!iopm)
		iopm = page_alloc(IOPM_PAGES, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!msrpm)
		msrpm = page_alloc(MSRPM_PAGES, PAGE_SIZE, 0, PG_OWNER_VIRT);
	if (!iopm || !msrpm)
		return false;
	memset(iopm, 0xff, IOPM_PAGES * PAGE_SIZE);
	memset(msrpm, 0xff, MSRPM_PAGES * PAGE_SIZE);
	for (unsigned int i = 0; i < ARRAY_SIZE(guest_owned_msrs); i++)
		msrpm_pass(guest_owned_msrs[i]);
	return true;
}

int svm_vcpu_create(struct vcpu *v)
{
	u8 *vmcb;

	if (!alloc_maps())
		return -HV_ENOMEM;
	vmcb = page_alloc(VCPU_PAGES, PAGE_SIZE, 0, PG_OWNER_VM);
	if (!vmcb)
		return -HV_ENOMEM;
	FIELD(vmcb, VMCB_INTERCEPT_MISC1, u32) = MISC1_INTR | MISC1_NMI |
		MISC1_CPUID | MISC1_INVD | MISC1_HLT | MISC1_INVLPGA | MISC1_IOIO |
		MISC1_MSR |
		MISC1_SHUTDOWN;
	FIELD(vmcb, VMCB_INTERCEPT_MISC2, u32) = MISC2_SVM_INSNS | MISC2_XSETBV;
	/* A machine check in guest mode is the host's: without the intercept
	 * it would go through the guest's IDT (kernel/mce.c takes it). */
	FIELD(vmcb, VMCB_INTERCEPT_EXC, u32) = 1u << VEC_MC;
	FIELD(vmcb, VMCB_IOPM_BASE, u64) = (u64)(uintptr_t)iopm;
	FIELD(vmcb, VMCB_MSRPM_BASE, u64) = (u64)(uintptr_t)msrpm;
	FIELD(vmcb, VMCB_ASID, u32) = GUEST_ASID;
	/* The ASID's entries may be another VM's that ran here before. */
	FIELD(vmcb, VMCB_TLB_CONTROL, u8) = TLB_FLUSH_ALL;
	FIELD(vmcb, VMCB_VINTR, u64) = VINTR_MASKING;
	FIELD(vmcb, VMCB_NP_ENABLE, u64) = 1;
	FIELD(vmcb, VMCB_NCR3, u64) = s2_root_pointer(&v->vm->s2);
	FIELD(vmcb, VMCB_DR6, u64) = 0xffff0ff0;
	FIELD(vmcb, VMCB_DR7, u64) = 0x400;
	FIELD(vmcb, VMCB_GPAT, u64) = 0x0007040600070406ull;
	v->vendor = vmcb;
	return 0;
}

void svm_vcpu_destroy(struct vcpu *v)
{
	page_free(v->vendor, VCPU_PAGES, PG_OWNER_VM);
	v->vendor = NULL;
}

/* On the vCPU's pCPU: the host state VMLOAD brings back after each exit. */
int svm_vcpu_load(struct vcpu *v)
{
	svm_save_host((u64)(uintptr_t)v->vendor + PAGE_SIZE);
	return 0;
}

/* ------------------------------------------- the vendor-neutral state */

static const u16 seg_offset[VSEG_COUNT] = {
	[VSEG_ES] = VMCB_ES, [VSEG_CS] = VMCB_CS, [VSEG_SS] = VMCB_SS,
	[VSEG_DS] = VMCB_DS, [VSEG_FS] = VMCB_FS, [VSEG_GS] = VMCB_GS,
	[VSEG_LDTR] = VMCB_LDTR, [VSEG_TR] = VMCB_TR,
};

void svm_get_regs(struct vcpu *v, struct vcpu_regs *r)
{
	u8 *vmcb = v->vendor;

	r->g = v->gprs;
	r->g.rax = FIELD(vmcb, VMCB_RAX, u64);
	r->rsp = FIELD(vmcb, VMCB_RSP, u64);
	r->rip = FIELD(vmcb, VMCB_RIP, u64);
	r->rflags = FIELD(vmcb, VMCB_RFLAGS, u64);
}

void svm_set_regs(struct vcpu *v, const struct vcpu_regs *r)
{
	u8 *vmcb = v->vendor;

	v->gprs = r->g;
	FIELD(vmcb, VMCB_RAX, u64) = r->g.rax;
	FIELD(vmcb, VMCB_RSP, u64) = r->rsp;
	FIELD(vmcb, VMCB_RIP, u64) = r->rip;
	FIELD(vmcb, VMCB_RFLAGS, u64) = r->rflags;
}

static void get_table(const u8 *vmcb, u32 off, struct vcpu_dtable *t)
{
	t->limit = (u16)FIELD(vmcb, off + 4, u32);
	t->base = FIELD(vmcb, off + 8, u64);
}

static void set_table(u8 *vmcb, u32 off, const struct vcpu_dtable *t)
{
	FIELD(vmcb, off + 4, u32) = t->limit;
	FIELD(vmcb, off + 8, u64) = t->base;
}

void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	const u8 *vmcb = v->vendor;

	for (unsigned int i = 0; i < VSEG_COUNT; i++) {
		u32 off = seg_offset[i];

		s->seg[i].sel = FIELD(vmcb, off, u16);
		s->seg[i].attr = FIELD(vmcb, off + 2, u16);
		s->seg[i].limit = FIELD(vmcb, off + 4, u32);
		s->seg[i].base = FIELD(vmcb, off + 8, u64);
	}
	get_table(vmcb, VMCB_GDTR, &s->gdt);
	get_table(vmcb, VMCB_IDTR, &s->idt);
	s->cr0 = FIELD(vmcb, VMCB_CR0, u64);
	s->cr2 = FIELD(vmcb, VMCB_CR2, u64);
	s->cr3 = FIELD(vmcb, VMCB_CR3, u64);
	s->cr4 = FIELD(vmcb, VMCB_CR4, u64);
	s->efer = FIELD(vmcb, VMCB_EFER, u64) & ~EFER_SVME;
}

void svm_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	u8 *vmcb = v->vendor;

	for (unsigned int i = 0; i < VSEG_COUNT; i++) {
		u32 off = seg_offset[i];

		FIELD(vmcb, off, u16) = s->seg[i].sel;
		FIELD(vmcb, off + 2, u16) = s->seg[i].attr;
		FIELD(vmcb, off + 4, u32) = s->seg[i].limit;
		FIELD(vmcb, off + 8, u64) = s->seg[i].base;
	}
	set_table(vmcb, VMCB_GDTR, &s->gdt);
	set_table(vmcb, VMCB_IDTR, &s->idt);
	/* CPL is SS.DPL; in real mode it is 0 whatever SS says. */
	FIELD(vmcb, VMCB_CPL, u8) = s->cr0 & CR0_PE ?
		(s->seg[VSEG_SS].attr >> 5) & 3 : 0;
	FIELD(vmcb, VMCB_CR0, u64) = s->cr0;
	FIELD(vmcb, VMCB_CR2, u64) = s->cr2;
	FIELD(vmcb, VMCB_CR3, u64) = s->cr3;
	FIELD(vmcb, VMCB_CR4, u64) = s->cr4 | mce_guest_cr4_bits(); /* mce.h */
	FIELD(vmcb, VMCB_EFER, u64) = s->efer | EFER_SVME; /* VMRUN requires it */
}

/* Applied by the next VMRUN (the run loop clears it after each). */
void svm_flush_tlb(struct vcpu *v)
{
	FIELD(v->vendor, VMCB_TLB_CONTROL, u8) = TLB_FLUSH_ALL;
}
