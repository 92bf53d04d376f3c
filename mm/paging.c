/*
 * Lamina's own page tables: all RAM and the first 4 GiB identity mapped,
 * Lamina's text read-only and executable, everything else not executable,
 * read-only data read-only, and anything that is not RAM uncached.
 */
#define pr_fmt(fmt) "paging: " fmt

#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/panic.h>
#include <lamina/printk.h>
#include <lamina/x86.h>

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define PTE_UC (PTE_PCD | PTE_PWT)

#define SIZE_2M (2ull << 20)
#define SIZE_1G (1ull << 30)
#define ENTRIES 512
#define TABLE_LIMIT (4ull << 30) /* the AP trampoline loads CR3 in 32-bit mode */

u64 efer_features;
static u64 *pml4;
static u64 nx_bit;
static unsigned int nr_tables, nr_small_regions;

enum region_kind { REGION_NONE, REGION_RAM, REGION_MIXED };

static u64 *new_table(void)
{
	u64 *t = page_alloc(1, PAGE_SIZE, TABLE_LIMIT, PG_OWNER_PAGETABLE);

	if (!t)
		panic("out of memory for page tables");
	nr_tables++;
	return t;
}

static bool is_ram_type(u32 type)
{
	return type == MEM_USABLE || type == MEM_ACPI_RECLAIM ||
	       type == MEM_ACPI_NVS;
}

/* How much of [base, base+len) is RAM: none, all, or some. */
static enum region_kind classify(u64 base, u64 len)
{
	u64 covered = 0;

	for (unsigned int i = 0; i < bootinfo.nr_mmap; i++) {
		const struct mem_range *r = &bootinfo.mmap[i];
		u64 s = MAX(r->base, base), e = MIN(r->base + r->len, base + len);

		if (is_ram_type(r->type) && s < e)
			covered += e - s;
	}
	if (!covered)
		return REGION_NONE;
	return covered >= len ? REGION_RAM : REGION_MIXED;
}

/* Permissions of a 4 KiB page inside Lamina's image. */
static u64 image_page_flags(u64 addr)
{
	u64 text_s = (u64)(uintptr_t)__text_start, text_e = (u64)(uintptr_t)__text_end;
	u64 ro_e = (u64)(uintptr_t)__rodata_end;

	if (addr >= text_s && addr < text_e)
		return PTE_P;
	if (addr < ro_e) /* header, rodata */
		return PTE_P | nx_bit;
	return PTE_P | PTE_W | nx_bit;
}

static bool in_image(u64 addr, u64 len)
{
	return addr < (u64)(uintptr_t)__image_end &&
	       (u64)(uintptr_t)__image_start < addr + len;
}

static u64 small_page_entry(u64 addr)
{
	if (in_image(addr, PAGE_SIZE))
		return addr | image_page_flags(addr);
	if (classify(addr, PAGE_SIZE) == REGION_NONE)
		return addr | PTE_P | PTE_W | PTE_UC | nx_bit;
	return addr | PTE_P | PTE_W | nx_bit;
}

static u64 map_2m(u64 base)
{
	enum region_kind kind = classify(base, SIZE_2M);
	u64 *pt;

	if (!in_image(base, SIZE_2M) && kind != REGION_MIXED) {
		u64 flags = PTE_P | PTE_W | PTE_PS | nx_bit;

		return base | flags | (kind == REGION_NONE ? PTE_UC : 0);
	}
	pt = new_table();
	nr_small_regions++;
	for (unsigned int i = 0; i < ENTRIES; i++)
		pt[i] = small_page_entry(base + i * PAGE_SIZE);
	return (u64)(uintptr_t)pt | PTE_P | PTE_W;
}

void paging_init(u64 ram_top)
{
	u64 top = ALIGN_UP(MAX(ram_top, TABLE_LIMIT), SIZE_1G);

	if (cpuid(0x80000000, 0).eax >= 0x80000001 &&
	    (cpuid(0x80000001, 0).edx & (1u << 20))) {
		nx_bit = PTE_NX;
		efer_features |= EFER_NXE;
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	} else {
		pr_warn("CPU has no NX bit: data pages stay executable\n");
	}
	pml4 = new_table();
	for (u64 gb = 0; gb < top; gb += SIZE_1G) {
		u64 *pdpt, *pd;
		unsigned int l4 = (gb >> 39) & 511, l3 = (gb >> 30) & 511;

		if (!(pml4[l4] & PTE_P))
			pml4[l4] = (u64)(uintptr_t)new_table() | PTE_P | PTE_W;
		pdpt = (u64 *)(uintptr_t)(pml4[l4] & PTE_ADDR);
		pd = new_table();
		pdpt[l3] = (u64)(uintptr_t)pd | PTE_P | PTE_W;
		for (unsigned int i = 0; i < ENTRIES; i++)
			pd[i] = map_2m(gb + i * SIZE_2M);
	}
	write_cr0(read_cr0() | CR0_WP);
	paging_load();
	pr_info("identity map 0-%llu GiB: %u table pages, %u 2 MiB regions split into 4 KiB pages, NX %s\n",
		(unsigned long long)(top >> 30), nr_tables, nr_small_regions,
		nx_bit ? "on" : "off");
}

void paging_load(void)
{
	write_cr3((u64)(uintptr_t)pml4);
}

u64 paging_cr3(void)
{
	return (u64)(uintptr_t)pml4;
}

/* The 4 KiB entry for @addr, which must lie in a region mapped small. */
static u64 *small_entry(u64 addr)
{
	u64 *pdpt = (u64 *)(uintptr_t)(pml4[(addr >> 39) & 511] & PTE_ADDR);
	u64 *pd = (u64 *)(uintptr_t)(pdpt[(addr >> 30) & 511] & PTE_ADDR);
	u64 pde = pd[(addr >> 21) & 511];

	BUG_ON(pde & PTE_PS);
	return (u64 *)(uintptr_t)(pde & PTE_ADDR) + ((addr >> 12) & 511);
}

/*
 * The AP trampoline runs from a low page after paging is on, so that one
 * page is executable while CPUs start, and only then.
 */
void paging_set_exec(u64 addr, bool exec)
{
	u64 *pte = small_entry(addr);

	*pte = exec ? (*pte & ~PTE_NX) : (*pte | nx_bit);
	invlpg(addr);
}
