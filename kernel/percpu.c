/* Per-CPU data: GDT, TSS with the IST stacks, and the GS base. */
#include <lamina/lib.h>
#include <lamina/percpu.h>
#include <lamina/x86.h>

#define GDT_CODE64 0x00af9a000000ffffull
#define GDT_DATA64 0x00cf92000000ffffull
#define TSS_TYPE_AVAILABLE 0x89ull /* present, 64-bit TSS */

struct percpu percpu[MAX_CPUS];
unsigned int nr_cpus_listed = 1;

static void set_tss_desc(u64 *gdt, const struct tss *tss)
{
	u64 base = (u64)(uintptr_t)tss, limit = sizeof(*tss) - 1;

	gdt[GDT_TSS] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		       (TSS_TYPE_AVAILABLE << 40) |
		       (((limit >> 16) & 0xf) << 48) |
		       (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS_HI] = base >> 32;
}

static void reload_segments(void)
{
	__asm__ __volatile__("pushq %0\n\t"
			     "leaq 1f(%%rip), %%rax\n\t"
			     "pushq %%rax\n\t"
			     "lretq\n"
			     "1:\n\t"
			     "movl %1, %%eax\n\t"
			     "movl %%eax, %%ds\n\t"
			     "movl %%eax, %%es\n\t"
			     "movl %%eax, %%ss\n\t"
			     :
			     : "i"(SEL_CODE), "i"(SEL_DATA)
			     : "rax", "memory");
}

void percpu_load(struct percpu *pc)
{
	struct desc_ptr p = { sizeof(pc->gdt) - 1, (u64)(uintptr_t)pc->gdt };

	pc->self = pc;
	pc->gdt[GDT_NULL] = 0;
	pc->gdt[GDT_CODE] = GDT_CODE64;
	pc->gdt[GDT_DATA] = GDT_DATA64;
	pc->tss.iomap_base = sizeof(pc->tss); /* no I/O bitmap */
	set_tss_desc(pc->gdt, &pc->tss);
	lgdt(&p);
	reload_segments();
	ltr(SEL_TSS);
	/* Guests may use XSAVE: XCR0, which VM entry does not switch, can
	 * only be written with CR4.OSXSAVE set on the host. */
	if (cpuid(1, 0).ecx & CPUID_1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)pc);
}
