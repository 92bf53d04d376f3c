/*
 * Unit tests for the guest page-table walker (mm/guest_walk.c).
 *
 * Each "world" builds a guest's page tables in a 64 KiB buffer that stands
 * for guest RAM at guest-physical 0 and sets the control registers of one
 * paging mode; each case walks one address in a world, maybe with the mode
 * changed a little (CR0.WP off, NXE off, another MAXPHYADDR...), and names
 * the exact result: the translation and page size, or the #PF error code,
 * or the table entry outside RAM, and how many entries were read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/guest_walk.h>
#include <lamina/lib.h>

#define RAM_SIZE 0x10000

#define P (1ull << 0)
#define W (1ull << 1)
#define U (1ull << 2)
#define PS (1ull << 7)
#define BIT8 (1ull << 8)
#define XD (1ull << 63)

#define K4 0x1000ull
#define M2 0x200000ull
#define M4 0x400000ull
#define G1 0x40000000ull

/* #PF error codes, spelled out. */
#define PF_NP 0x0u
#define PF_PROT 0x1u
#define PF_W 0x2u
#define PF_U 0x4u
#define PF_RSVD 0x9u /* RSVD comes with P */
#define PF_I 0x10u

static u8 ram[RAM_SIZE];
static unsigned int want_size; /* the entry size the world's mode reads */
static unsigned int nr_reads;

static int read_ram(void *ctx, u64 gpa, unsigned int size, u64 *val)
{
	(void)ctx;
	assert_int_equal(size, want_size);
	assert_true(IS_ALIGNED(gpa, size));
	nr_reads++;
	if (gpa >= RAM_SIZE || RAM_SIZE - gpa < size)
		return -1;
	*val = 0;
	memcpy(val, ram + gpa, size); /* little-endian, as the guest's */
	return 0;
}

static void put(u64 gpa, u64 val)
{
	assert_true(gpa + want_size <= RAM_SIZE);
	memcpy(ram + gpa, &val, want_size);
}

/*
 * 32-bit paging, CR4.PSE, CR0.WP, MAXPHYADDR 36. PD at 0x1000, PT at
 * 0x2000. PDE i covers i * 4 MiB.
 */
static void world_32(struct gw_mode *m)
{
	want_size = 4;
	m->cr0 = CR0_PE | CR0_PG | CR0_WP;
	m->cr3 = 0x1000;
	m->cr4 = CR4_PSE;
	m->maxphyaddr = 36;
	put(0x1000 + 0 * 4, 0x2000 | P | W | U);
	put(0x2000 + 1 * 4, 0x123000 | P | W | U);
	put(0x2000 + 2 * 4, 0x124000 | P);     /* supervisor, read-only */
	put(0x2000 + 3 * 4, 0x125000 | P | U); /* user, read-only */
	/* PTE 4 not present */
	put(0x1000 + 1 * 4, 0xc00000 | P | W | U | PS);
	/* 4 MiB pages whose address bits 39:32 sit in PDE bits 20:13. */
	put(0x1000 + 2 * 4, 0x40000000 | (3 << 13) | P | W | U | PS);
	put(0x1000 + 3 * 4, 0x40000000 | (1 << 17) | P | W | U | PS);
	put(0x1000 + 4 * 4, 0x7fff000 | P | W | U); /* PT outside RAM */
	put(0x1000 + 5 * 4, 0x40000000 | (1 << 21) | P | W | U | PS);
	put(0x1000 + 8 * 4, 0x40000000 | (1 << 12) | P | W | U | PS); /* PAT */
	put(0x1000 + 6 * 4, 0x3000 | P | W); /* supervisor PDE */
	put(0x3000 + 0 * 4, 0x126000 | P | W | U);
	/* PDE 7 not present */
}

/*
 * PAE paging, NXE, MAXPHYADDR 36. PDPT at 0x1020 (CR3 bits 31:5), PD at
 * 0x2000, PT at 0x4000. PDPTE i covers i GiB, PDE i covers i * 2 MiB.
 */
static void world_pae(struct gw_mode *m)
{
	want_size = 8;
	m->cr0 = CR0_PE | CR0_PG | CR0_WP;
	m->cr3 = 0x1020;
	m->cr4 = CR4_PAE;
	m->efer = EFER_NXE;
	m->maxphyaddr = 36;
	put(0x1020 + 0 * 8, 0x2000 | P);
	/* PDPTE 1 not present */
	put(0x1020 + 2 * 8, 0x3000 | P | W); /* R/W is reserved in a PDPTE */
	put(0x1020 + 3 * 8, 0x100000000ull | P); /* PD above 4 GiB, not RAM */
	put(0x2000 + 0 * 8, 0x4000 | P | W | U);
	put(0x4000 + 1 * 8, 0x923456000ull | P | W | U);
	put(0x4000 + 2 * 8, 0x124000 | P | W | U | XD);
	put(0x4000 + 3 * 8, 0x125000 | P | W | U | (1ull << 62));
	put(0x4000 + 4 * 8, 0x1000000000ull | P | W | U); /* bit 36 */
	put(0x2000 + 1 * 8, 0x40200000 | P | W | U | PS);
	put(0x2000 + 2 * 8, 0x40400000 | (1 << 13) | P | W | U | PS);
	put(0x2000 + 3 * 8, 0x40600000 | XD | P | W | U | PS);
	put(0x2000 + 4 * 8, 0x5000 | P | W | XD); /* supervisor, no-execute */
	put(0x2000 + 5 * 8, 0x40a00000 | (1 << 12) | P | W | U | PS); /* PAT */
	put(0x5000 + 0 * 8, 0x127000 | P | W | U);
}

/*
 * 4-level paging, NXE, MAXPHYADDR 48. PML4 at 0x1000, PDPT 0x2000, PD
 * 0x3000, PT 0x4000; the top 1 GiB through PDPT 0x6000.
 */
static void world_4level(struct gw_mode *m)
{
	want_size = 8;
	m->cr0 = CR0_PE | CR0_PG | CR0_WP;
	m->cr3 = 0x1000;
	m->cr4 = CR4_PAE;
	m->efer = EFER_LME | EFER_LMA | EFER_NXE;
	m->maxphyaddr = 48;
	put(0x1000 + 0 * 8, 0x2000 | P | W | U);
	put(0x1000 + 1 * 8, 0x2000 | P | W | U | PS);   /* PS reserved */
	put(0x1000 + 2 * 8, 0x2000 | P | W | U | BIT8); /* reserved on AMD */
	put(0x1000 + 3 * 8, 0x2000 | P | W | U | XD);
	put(0x1000 + 4 * 8, 0x2000 | P | U); /* read-only above RW leaves */
	put(0x1000 + 511 * 8, 0x6000 | P | W); /* supervisor half */
	put(0x6000 + 511 * 8, 0xc0000000 | P | W | U | PS);
	put(0x2000 + 0 * 8, 0x3000 | P | W | U);
	put(0x2000 + 1 * 8, 0x80000000 | P | W | U | PS);
	put(0x2000 + 2 * 8, 0xc0000000 | (1 << 13) | P | W | U | PS);
	put(0x2000 + 4 * 8, 0x40000000 | (1 << 12) | P | W | U | PS); /* PAT */
	put(0x3000 + 0 * 8, 0x4000 | P | W | U);
	put(0x3000 + 1 * 8, 0x600000 | P | W | U | PS);
	put(0x3000 + 2 * 8, 0x100000000ull | P | W | U); /* PT not in RAM */
	put(0x3000 + 3 * 8, 0x800000 | (1 << 20) | P | W | U | PS);
	put(0x4000 + 1 * 8, 0x5000 | P | W | U);
	put(0x4000 + 2 * 8, 0x7000 | P | W | U | XD);
	put(0x4000 + 3 * 8, 0x10000000000ull | P | W | U); /* bit 40 */
	put(0x4000 + 4 * 8, 0x8000 | (0x7ffull << 52) | P | W | U); /* 62:52 */
	put(0x4000 + 5 * 8, 0x9000 | P | U); /* user, read-only */
	put(0x4000 + 6 * 8, 0xa000 | P | W); /* supervisor */
	put(0x4000 + 7 * 8, 0xb000 | (1ull << 48) | P | W | U);
}

/* The 4-level world under a PML5 at 0xc000. */
static void world_5level(struct gw_mode *m)
{
	world_4level(m);
	m->cr3 = 0xc000;
	m->cr4 |= CR4_LA57;
	put(0xc000 + 0 * 8, 0x1000 | P | W | U);
	put(0xc000 + 1 * 8, 0x1000 | P | W | U | PS); /* PS reserved */
}

static void world_off(struct gw_mode *m)
{
	want_size = 0; /* no reads at all */
	m->cr0 = CR0_PE;
	m->cr4 = CR4_PAE | CR4_PSE;
	m->efer = EFER_LME | EFER_NXE;
}

struct walk_case {
	const char *what;
	void (*world)(struct gw_mode *m);
	u64 gva;
	u32 access;
	/* Changes to the world's mode. */
	u64 cr0_clr, cr4_set, cr4_clr, efer_set, efer_clr, cr3;
	unsigned int maxphyaddr; /* 0: the world's */
	bool amd, no_gbpages;
	/* What the walk must give. */
	enum gw_status status;
	u64 gpa, page_size, table;
	u32 pf;
	unsigned int levels;
};

#define OK(g, sz, lv) .status = GW_OK, .gpa = (g), .page_size = (sz), \
	.levels = (lv)
#define PF(code, lv) .status = GW_PAGE_FAULT, .pf = (code), .levels = (lv)
#define UNREADABLE(t, lv) .status = GW_TABLE_UNREADABLE, .table = (t), \
	.levels = (lv)
#define NONCANON .status = GW_NONCANONICAL, .levels = 0

static const struct walk_case off_cases[] = {
	{ "off: gpa is gva's low 32 bits", world_off, 0x123456789ull, 0,
	  OK(0x23456789, K4, 0) },
	{ "off: no access is refused", world_off, 0xfffff000,
	  GW_WRITE | GW_USER, OK(0xfffff000, K4, 0) },
	{ "off: LMA without PG is still off", world_off, 0x1000, GW_FETCH,
	  .efer_set = EFER_LMA, OK(0x1000, K4, 0) },
};

static const struct walk_case c32_cases[] = {
	{ "32: 4K page", world_32, 0x1abc, 0, OK(0x123abc, K4, 2) },
	{ "32: linear address bits 63:32 ignored", world_32,
	  0xdead00001abcull, 0, OK(0x123abc, K4, 2) },
	{ "32: CR3 bits 63:32 and 11:0 ignored", world_32, 0x1abc, 0,
	  .cr3 = 0xffffffff00001018ull, OK(0x123abc, K4, 2) },
	{ "32: supervisor read of read-only", world_32, 0x2010, 0,
	  OK(0x124010, K4, 2) },
	{ "32: supervisor write, WP=1", world_32, 0x2010, GW_WRITE,
	  PF(PF_PROT | PF_W, 2) },
	{ "32: supervisor write, WP=0", world_32, 0x2010, GW_WRITE,
	  .cr0_clr = CR0_WP, OK(0x124010, K4, 2) },
	{ "32: user read of supervisor page", world_32, 0x2010, GW_USER,
	  PF(PF_PROT | PF_U, 2) },
	{ "32: user read of user read-only", world_32, 0x3004, GW_USER,
	  OK(0x125004, K4, 2) },
	{ "32: user write, WP=1", world_32, 0x3004, GW_USER | GW_WRITE,
	  PF(PF_PROT | PF_W | PF_U, 2) },
	{ "32: user write, WP=0", world_32, 0x3004, GW_USER | GW_WRITE,
	  .cr0_clr = CR0_WP, PF(PF_PROT | PF_W | PF_U, 2) },
	{ "32: supervisor PDE makes the page supervisor", world_32, 0x1800000,
	  GW_USER, PF(PF_PROT | PF_U, 2) },
	{ "32: PTE not present", world_32, 0x4000, 0, PF(PF_NP, 2) },
	{ "32: PTE not present, user write", world_32, 0x4000,
	  GW_USER | GW_WRITE, PF(PF_NP | PF_W | PF_U, 2) },
	{ "32: PDE not present", world_32, 0x1c00000, 0, PF(PF_NP, 1) },
	{ "32: 4M page", world_32, M4 + 0x12345, 0, OK(0xc12345, M4, 1) },
	{ "32: 4M page, PSE-36 bits", world_32, 2 * M4 + 0x3ff123, 0,
	  OK(0x3403ff123ull, M4, 1) },
	{ "32: 4M page, address bit 36 above MAXPHYADDR 36", world_32,
	  3 * M4, 0, PF(PF_RSVD, 1) },
	{ "32: 4M page, address bit 36 with MAXPHYADDR 40", world_32,
	  3 * M4 + 0x10, 0, .maxphyaddr = 40, OK(0x1040000010ull, M4, 1) },
	{ "32: 4M page, bit 21 reserved even at MAXPHYADDR 52", world_32,
	  5 * M4, GW_WRITE, .maxphyaddr = 52, PF(PF_RSVD | PF_W, 1) },
	{ "32: 4M page, PAT bit 12", world_32, 8 * M4 + 0x1000, 0,
	  OK(0x40001000, M4, 1) },
	{ "32: PS ignored without CR4.PSE", world_32, M4 + 0x5000, 0,
	  .cr4_clr = CR4_PSE, UNREADABLE(0xc00000 + 5 * 4, 1) },
	{ "32: page table outside RAM", world_32, 4 * M4 + 0x3000, 0,
	  UNREADABLE(0x7fff000 + 3 * 4, 1) },
	{ "32: page directory outside RAM", world_32, 0x400000, 0,
	  .cr3 = 0x20000000, UNREADABLE(0x20000000 + 1 * 4, 0) },
	{ "32: fetch, no XD here", world_32, 0x1abc, GW_FETCH,
	  .efer_set = EFER_NXE, OK(0x123abc, K4, 2) },
	{ "32: fetch fault, no I/D without PAE", world_32, 0x4000, GW_FETCH,
	  .efer_set = EFER_NXE, PF(PF_NP, 2) },
	{ "32: fetch fault, I/D with SMEP", world_32, 0x4000, GW_FETCH,
	  .cr4_set = CR4_SMEP, PF(PF_NP | PF_I, 2) },
};

static const struct walk_case pae_cases[] = {
	{ "PAE: 4K page above 4 GiB", world_pae, 0x1abc, 0,
	  OK(0x923456abcull, K4, 3) },
	{ "PAE: 2M page", world_pae, M2 + 0x1234, 0, OK(0x40201234, M2, 2) },
	{ "PAE: 2M page, PAT bit 12 is not an address bit", world_pae,
	  5 * M2 + 0x1000, 0, OK(0x40a01000, M2, 2) },
	{ "PAE: 2M page, bit 13 reserved", world_pae, 2 * M2, 0,
	  PF(PF_RSVD, 2) },
	{ "PAE: fetch from XD 4K page", world_pae, 0x2000, GW_FETCH,
	  PF(PF_PROT | PF_I, 3) },
	{ "PAE: user fetch from XD 4K page", world_pae, 0x2000,
	  GW_FETCH | GW_USER, PF(PF_PROT | PF_U | PF_I, 3) },
	{ "PAE: read of XD page", world_pae, 0x2000, GW_USER,
	  OK(0x124000, K4, 3) },
	{ "PAE: XD reserved when NXE=0", world_pae, 0x2000, 0,
	  .efer_clr = EFER_NXE, PF(PF_RSVD, 3) },
	{ "PAE: fetch from XD 2M page", world_pae, 3 * M2 + 8, GW_FETCH,
	  PF(PF_PROT | PF_I, 2) },
	{ "PAE: XD in the PDE covers the PTE", world_pae, 4 * M2, GW_FETCH,
	  PF(PF_PROT | PF_I, 3) },
	{ "PAE: supervisor PDE", world_pae, 4 * M2, GW_USER,
	  PF(PF_PROT | PF_U, 3) },
	{ "PAE: bit 62 reserved", world_pae, 0x3000, 0, PF(PF_RSVD, 3) },
	{ "PAE: address bit 36 above MAXPHYADDR 36", world_pae, 0x4000,
	  GW_USER, PF(PF_RSVD | PF_U, 3) },
	{ "PAE: address bit 36 with MAXPHYADDR 52", world_pae, 0x4008, 0,
	  .maxphyaddr = 52, OK(0x1000000008ull, K4, 3) },
	{ "PAE: PDPTE not present", world_pae, G1, 0, PF(PF_NP, 1) },
	{ "PAE: PDPTE not present, fetch NXE=1", world_pae, G1, GW_FETCH,
	  PF(PF_NP | PF_I, 1) },
	{ "PAE: PDPTE not present, fetch NXE=0", world_pae, G1, GW_FETCH,
	  .efer_clr = EFER_NXE, PF(PF_NP, 1) },
	{ "PAE: PDPTE reserved bit", world_pae, 2 * G1, 0, PF(PF_RSVD, 1) },
	{ "PAE: PDPTE reserved bit, user write", world_pae, 2 * G1,
	  GW_USER | GW_WRITE, PF(PF_RSVD | PF_W | PF_U, 1) },
	{ "PAE: page directory outside RAM", world_pae, 3 * G1 + 0x200000, 0,
	  UNREADABLE(0x100000000ull + 1 * 8, 1) },
	{ "PAE: PDPT outside RAM", world_pae, 0, 0, .cr3 = 0xfffe0,
	  UNREADABLE(0xfffe0, 0) },
	{ "PAE: CR4.PSE changes nothing", world_pae, M2 + 0x1234, 0,
	  .cr4_set = CR4_PSE, OK(0x40201234, M2, 2) },
	{ "PAE: LA57 ignored outside long mode", world_pae, 0x1abc, 0,
	  .cr4_set = CR4_LA57, OK(0x923456abcull, K4, 3) },
};

static const struct walk_case l4_cases[] = {
	{ "4L: 4K page", world_4level, 0x1abc, 0, OK(0x5abc, K4, 4) },
	{ "4L: CR3 PCID and LAM bits ignored", world_4level, 0x1abc, 0,
	  .cr3 = 0x1000 | 0xfff | (1ull << 62), OK(0x5abc, K4, 4) },
	{ "4L: 1G page", world_4level, G1 + 0x12345678, 0,
	  OK(0x92345678, G1, 2) },
	{ "4L: 1G page without Page1GB", world_4level, G1, 0,
	  .no_gbpages = true, PF(PF_RSVD, 2) },
	{ "4L: 1G page, PAT bit 12", world_4level, 4 * G1 + 0x1000, 0,
	  OK(0x40001000, G1, 2) },
	{ "4L: 1G page, bit 13 reserved", world_4level, 2 * G1, 0,
	  PF(PF_RSVD, 2) },
	{ "4L: 2M page", world_4level, M2 + 0x1234, 0, OK(0x601234, M2, 3) },
	{ "4L: 2M page, bit 20 reserved", world_4level, 3 * M2, GW_FETCH,
	  PF(PF_RSVD | PF_I, 3) },
	{ "4L: PS in a PML4E", world_4level, 1ull << 39, 0, PF(PF_RSVD, 1) },
	{ "4L: PML4E bit 8 on Intel", world_4level, (2ull << 39) + 0x1abc, 0,
	  OK(0x5abc, K4, 4) },
	{ "4L: PML4E bit 8 on AMD", world_4level, (2ull << 39) + 0x1abc, 0,
	  .amd = true, PF(PF_RSVD, 1) },
	{ "4L: XD in the PML4E", world_4level, (3ull << 39) + 0x1000,
	  GW_FETCH, PF(PF_PROT | PF_I, 4) },
	{ "4L: read under an XD PML4E", world_4level, (3ull << 39) + 0x1000,
	  0, OK(0x5000, K4, 4) },
	{ "4L: fetch from XD PTE", world_4level, 0x2000, GW_FETCH,
	  PF(PF_PROT | PF_I, 4) },
	{ "4L: XD reserved when NXE=0", world_4level, 0x2000, 0,
	  .efer_clr = EFER_NXE, PF(PF_RSVD, 4) },
	{ "4L: address bit 40, MAXPHYADDR 48", world_4level, 0x3000, 0,
	  OK(0x10000000000ull, K4, 4) },
	{ "4L: address bit 40, MAXPHYADDR 40", world_4level, 0x3000, 0,
	  .maxphyaddr = 40, PF(PF_RSVD, 4) },
	{ "4L: address bit 48, MAXPHYADDR 48", world_4level, 0x7000, 0,
	  PF(PF_RSVD, 4) },
	{ "4L: address bit 48, MAXPHYADDR 52", world_4level, 0x7010, 0,
	  .maxphyaddr = 52, OK(0x100000000b010ull, K4, 4) },
	{ "4L: bits 62:52 ignored", world_4level, 0x4010, 0,
	  OK(0x8010, K4, 4) },
	{ "4L: read-only PML4E over a writable PTE", world_4level,
	  (4ull << 39) + 0x1000, GW_USER | GW_WRITE,
	  PF(PF_PROT | PF_W | PF_U, 4) },
	{ "4L: user write to read-only", world_4level, 0x5000,
	  GW_USER | GW_WRITE, PF(PF_PROT | PF_W | PF_U, 4) },
	{ "4L: supervisor write to read-only, WP=1", world_4level, 0x5000,
	  GW_WRITE, PF(PF_PROT | PF_W, 4) },
	{ "4L: supervisor write to read-only, WP=0", world_4level, 0x5000,
	  GW_WRITE, .cr0_clr = CR0_WP, OK(0x9000, K4, 4) },
	{ "4L: user read of supervisor page", world_4level, 0x6000, GW_USER,
	  PF(PF_PROT | PF_U, 4) },
	{ "4L: user fetch of supervisor page", world_4level, 0x6000,
	  GW_USER | GW_FETCH, PF(PF_PROT | PF_U | PF_I, 4) },
	{ "4L: top 1G, supervisor", world_4level, 0xffffffffc0001000ull, 0,
	  OK(0xc0001000, G1, 2) },
	{ "4L: top 1G, user: PML4E is supervisor", world_4level,
	  0xffffffffc0001000ull, GW_USER, PF(PF_PROT | PF_U, 2) },
	{ "4L: lowest canonical upper half", world_4level,
	  0xffff800000000000ull, 0, PF(PF_NP, 1) },
	{ "4L: non-canonical, bit 47", world_4level, 0x0000800000000000ull,
	  0, NONCANON },
	{ "4L: non-canonical, below upper half", world_4level,
	  0xffff7fffffffffffull, 0, NONCANON },
	{ "4L: non-canonical, bit 63 only", world_4level,
	  0x8000000000001000ull, 0, NONCANON },
	{ "4L: PT not present", world_4level, 0x8000, 0, PF(PF_NP, 4) },
	{ "4L: PDPTE not present", world_4level, 3 * G1, GW_WRITE,
	  PF(PF_NP | PF_W, 2) },
	{ "4L: page table outside RAM", world_4level, 2 * M2 + 0x5000, 0,
	  UNREADABLE(0x100000000ull + 5 * 8, 3) },
	{ "4L: PML4 outside RAM", world_4level, 0x1000, 0, .cr3 = 0x100000,
	  UNREADABLE(0x100000, 0) },
	{ "4L: CR3 bits above MAXPHYADDR dropped", world_4level, 0x1abc, 0,
	  .cr3 = 0x1000 | (1ull << 50), OK(0x5abc, K4, 4) },
	{ "4L: CR4.PSE changes nothing", world_4level, 0x1abc, 0,
	  .cr4_set = CR4_PSE, OK(0x5abc, K4, 4) },
};

static const struct walk_case l5_cases[] = {
	{ "5L: 4K page", world_5level, 0x1abc, 0, OK(0x5abc, K4, 5) },
	{ "5L: 1G page", world_5level, G1 + 0x10, 0, OK(0x80000010, G1, 3) },
	{ "5L: 2M page", world_5level, M2 + 0x10, 0, OK(0x600010, M2, 4) },
	{ "5L: bit 47 is canonical here", world_5level,
	  0x0000800000000000ull, 0, PF(PF_NP, 2) },
	{ "5L: upper half", world_5level, 0xff00000000000000ull, GW_USER,
	  PF(PF_NP | PF_U, 1) },
	{ "5L: non-canonical, bit 56", world_5level, 0x0100000000000000ull,
	  0, NONCANON },
	{ "5L: non-canonical, below upper half", world_5level,
	  0xfeffffffffffffffull, 0, NONCANON },
	{ "5L: PS in a PML5E", world_5level, 1ull << 48, 0, PF(PF_RSVD, 1) },
	{ "5L: the 4-level top 1G is not mapped here", world_5level,
	  0xffffffffc0000000ull, 0, PF(PF_NP, 1) },
	{ "5L: PML4 511 is reached through PML5 0", world_5level,
	  0x0000ffffc0001000ull, 0, OK(0xc0001000, G1, 3) },
};

static void run_case(const struct walk_case *c)
{
	struct gw_mode m = { 0 };
	struct gw_result r;
	unsigned int want_reads;

	memset(ram, 0, sizeof(ram));
	c->world(&m);
	m.cr0 &= ~c->cr0_clr;
	m.cr4 = (m.cr4 | c->cr4_set) & ~c->cr4_clr;
	m.efer = (m.efer | c->efer_set) & ~c->efer_clr;
	if (c->cr3)
		m.cr3 = c->cr3;
	if (c->maxphyaddr)
		m.maxphyaddr = c->maxphyaddr;
	m.amd = c->amd;
	m.no_gbpages = c->no_gbpages;
	nr_reads = 0;
	guest_walk(&m, c->gva, c->access, read_ram, NULL, &r);

	if (r.status != c->status || r.levels != c->levels)
		fail_msg("%s: status %d levels %u, want %d levels %u", c->what,
			 r.status, r.levels, c->status, c->levels);
	if (c->status == GW_OK && (r.gpa != c->gpa ||
				   r.page_size != c->page_size))
		fail_msg("%s: gpa %#llx size %#llx, want %#llx size %#llx",
			 c->what, (unsigned long long)r.gpa,
			 (unsigned long long)r.page_size,
			 (unsigned long long)c->gpa,
			 (unsigned long long)c->page_size);
	if (c->status == GW_PAGE_FAULT && r.pf_error != c->pf)
		fail_msg("%s: error code %#x, want %#x", c->what, r.pf_error,
			 c->pf);
	if (c->status == GW_TABLE_UNREADABLE && r.table_gpa != c->table)
		fail_msg("%s: table %#llx, want %#llx", c->what,
			 (unsigned long long)r.table_gpa,
			 (unsigned long long)c->table);
	/* Every entry read is reported; the failed read is one more. */
	want_reads = r.levels + (r.status == GW_TABLE_UNREADABLE);
	if (nr_reads != want_reads)
		fail_msg("%s: %u reads, want %u", c->what, nr_reads,
			 want_reads);
}

static void run_cases(const struct walk_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_case(&c[i]);
}

static void test_off(void **state)
{
	(void)state;
	run_cases(off_cases, ARRAY_SIZE(off_cases));
}

static void test_32bit(void **state)
{
	(void)state;
	run_cases(c32_cases, ARRAY_SIZE(c32_cases));
}

static void test_pae(void **state)
{
	(void)state;
	run_cases(pae_cases, ARRAY_SIZE(pae_cases));
}

static void test_4level(void **state)
{
	(void)state;
	run_cases(l4_cases, ARRAY_SIZE(l4_cases));
}

static void test_5level(void **state)
{
	(void)state;
	run_cases(l5_cases, ARRAY_SIZE(l5_cases));
}

/* A reader that fills all 8 bytes of *val for a 4-byte entry. */
static int read_ram_sloppy(void *ctx, u64 gpa, unsigned int size, u64 *val)
{
	int err = read_ram(ctx, gpa, size, val);

	*val |= 0xdead000000000000ull;
	return err;
}

/* The monitor prints r.entries: the raw entries, top level first. */
static void test_entries_recorded(void **state)
{
	struct gw_mode m = { 0 };
	struct gw_result r;

	(void)state;
	memset(ram, 0, sizeof(ram));
	world_5level(&m);
	guest_walk(&m, 0x1abc, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_OK);
	assert_int_equal(r.levels, 5);
	assert_int_equal(r.entries[0], 0x1000 | P | W | U);
	assert_int_equal(r.entries[1], 0x2000 | P | W | U);
	assert_int_equal(r.entries[2], 0x3000 | P | W | U);
	assert_int_equal(r.entries[3], 0x4000 | P | W | U);
	assert_int_equal(r.entries[4], 0x5000 | P | W | U);

	/* 32-bit entries are 4 bytes: nothing of the next entry leaks in. */
	memset(ram, 0, sizeof(ram));
	m = (struct gw_mode){ 0 };
	world_32(&m);
	guest_walk(&m, 0x2000, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_OK);
	assert_int_equal(r.levels, 2);
	assert_int_equal(r.entries[0], 0x2000 | P | W | U);
	assert_int_equal(r.entries[1], 0x124000 | P);
	guest_walk(&m, 0x1abc, 0, read_ram_sloppy, NULL, &r);
	assert_int_equal(r.status, GW_OK);
	assert_int_equal(r.gpa, 0x123abc);
	assert_int_equal(r.entries[1], 0x123000 | P | W | U);

	/* A fault keeps the entries up to the faulting one. */
	guest_walk(&m, 0x4000, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_PAGE_FAULT);
	assert_int_equal(r.levels, 2);
	assert_int_equal(r.entries[1], 0);
	assert_int_equal(r.gpa, 0);
}

/* PAE under EPT: the PDPTE registers win over the PDPT in memory. */
static void test_pdpte_regs(void **state)
{
	struct gw_mode m = { 0 };
	struct gw_result r;

	(void)state;
	memset(ram, 0, sizeof(ram));
	world_pae(&m);
	m.pdpte_regs = true;
	m.pdpte[0] = 0; /* the guest wrote its PDPT but did not reload CR3 */
	m.pdpte[1] = 0x2000 | P;
	nr_reads = 0;
	guest_walk(&m, 0x1abc, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_PAGE_FAULT);
	assert_int_equal(r.pf_error, PF_NP);
	assert_int_equal(r.levels, 1);
	assert_int_equal(nr_reads, 0);

	nr_reads = 0;
	guest_walk(&m, G1 + 0x1abc, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_OK);
	assert_int_equal(r.gpa, 0x923456abcull);
	assert_int_equal(r.levels, 3);
	assert_int_equal(r.entries[0], 0x2000 | P);
	assert_int_equal(nr_reads, 2);

	m.pdpte[2] = 0x2000 | P | (1ull << 63); /* no XD in a PDPTE */
	guest_walk(&m, 2 * G1, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_PAGE_FAULT);
	assert_int_equal(r.pf_error, PF_RSVD);

	m.pdpte[3] = 0x2000 | P | PS; /* no 1 GiB pages in PAE: 8:5 reserved */
	guest_walk(&m, 3 * G1, GW_FETCH, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_PAGE_FAULT);
	assert_int_equal(r.pf_error, PF_RSVD | PF_I);
}

/* 0 means 52; values outside 32..52 are clamped. */
static void test_maxphyaddr_clamp(void **state)
{
	static const struct {
		unsigned int given;
		enum gw_status status;
	} cases[] = {
		{ 0, GW_OK }, { 52, GW_OK }, { 60, GW_OK }, { 49, GW_OK },
		{ 48, GW_PAGE_FAULT }, { 20, GW_PAGE_FAULT },
	};
	struct gw_mode m = { 0 };
	struct gw_result r;
	size_t i;

	(void)state;
	memset(ram, 0, sizeof(ram));
	world_4level(&m);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		m.maxphyaddr = cases[i].given;
		guest_walk(&m, 0x7000, 0, read_ram, NULL, &r);
		assert_int_equal(r.status, cases[i].status);
	}
	/* Past 52, bits 62:52 stay ignored bits, not address bits. */
	m.maxphyaddr = 60;
	guest_walk(&m, 0x4010, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_OK);
	assert_int_equal(r.gpa, 0x8010);
	/* Below 32, 32-bit paging still reaches all of 4 GiB. */
	memset(ram, 0, sizeof(ram));
	world_32(&m);
	m.maxphyaddr = 20;
	guest_walk(&m, 0x1abc, 0, read_ram, NULL, &r);
	assert_int_equal(r.status, GW_OK);
	assert_int_equal(r.gpa, 0x123abc);
}

static void test_mode_names(void **state)
{
	struct gw_mode m = { 0 };

	(void)state;
	assert_string_equal(gw_mode_name(&m), "off");
	m.cr4 = CR4_PAE | CR4_LA57;
	m.efer = EFER_LMA;
	assert_string_equal(gw_mode_name(&m), "off");
	m = (struct gw_mode){ .cr0 = CR0_PG | CR0_PE, .cr4 = CR4_PSE };
	assert_string_equal(gw_mode_name(&m), "32-bit");
	m.cr4 = CR4_PAE | CR4_LA57;
	assert_string_equal(gw_mode_name(&m), "PAE");
	m.efer = EFER_LME | EFER_LMA;
	assert_string_equal(gw_mode_name(&m), "5-level");
	m.cr4 = CR4_PAE;
	assert_string_equal(gw_mode_name(&m), "4-level");
	m.efer = EFER_LME; /* LME without LMA: paging not yet on in long mode */
	assert_string_equal(gw_mode_name(&m), "PAE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_32bit),
		cmocka_unit_test(test_pae),
		cmocka_unit_test(test_4level),
		cmocka_unit_test(test_5level),
		cmocka_unit_test(test_entries_recorded),
		cmocka_unit_test(test_pdpte_regs),
		cmocka_unit_test(test_maxphyaddr_clamp),
		cmocka_unit_test(test_mode_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
