/*
 * Guest page-table walker: translate a guest-virtual (linear) address to a
 * guest-physical address through the guest's own page tables, as the CPU
 * would under the guest's CR0, CR3, CR4 and EFER (Intel SDM Vol. 3A ch. 4,
 * AMD APM Vol. 2 ch. 5). String I/O emulation uses it to reach DS:RSI and
 * ES:RDI; the monitor's `xlate VM GVA` (KVM_TRANSLATE) prints the entries.
 *
 * Pure logic: the caller supplies a callback that reads guest RAM, so the
 * walker runs the same in the hypervisor and in the host tests.
 */
#ifndef LAMINA_GUEST_WALK_H
#define LAMINA_GUEST_WALK_H

#include <lamina/types.h>
#include <lamina/x86.h>

/*
 * Control-register bits x86.h does not name (yet). x86.h comes first, so a
 * name it gains later wins over these.
 */
#ifndef CR4_PSE
#define CR4_PSE (1ull << 4)
#endif
#ifndef CR4_LA57
#define CR4_LA57 (1ull << 12)
#endif
#ifndef CR4_SMEP
#define CR4_SMEP (1ull << 20)
#endif

struct gw_mode {
	u64 cr0, cr3, cr4, efer;
	/* Guest MAXPHYADDR in bits, e.g. 48; 0 means 52. Clamped to 32..52. */
	unsigned int maxphyaddr;
	/* Guest CPUID lacks Page1GB: PS in a long-mode PDPTE is reserved. */
	bool no_gbpages;
	/* AMD rules: bit 8 of a PML4E/PML5E is reserved (Intel ignores it). */
	bool amd;
	/*
	 * PAE paging: take the PDPTEs from pdpte[] instead of reading them at
	 * CR3. The CPU loads them into registers at MOV CR3 and uses those
	 * until the next load; under EPT they live in the VMCS
	 * (GUEST_PDPTE0-3), so VMX passes them here. Under NPT the CPU reads
	 * them from memory: SVM leaves this false.
	 */
	bool pdpte_regs;
	u64 pdpte[4];
};

/* What the access is, as the #PF error code bits: */
#define GW_WRITE (1u << 1)
#define GW_USER (1u << 2)  /* CPL 3 */
#define GW_FETCH (1u << 4)

/* The #PF error code bits the walker reports besides the access bits. */
#define GW_PF_P (1u << 0)    /* protection fault; 0: not present */
#define GW_PF_RSVD (1u << 3) /* a reserved bit set in a present entry */

#define GW_MAX_LEVELS 5

enum gw_status {
	GW_OK,
	GW_PAGE_FAULT,
	GW_NONCANONICAL,     /* the CPU raises #GP (#SS for stack), not #PF */
	GW_TABLE_UNREADABLE, /* a table entry lies outside guest RAM */
};

struct gw_result {
	enum gw_status status;
	u64 gpa;             /* GW_OK: the translation */
	u64 page_size;       /* GW_OK: 4K, 2M, 4M, 1G; paging off: 4K */
	u32 pf_error;        /* GW_PAGE_FAULT: P, W, U, RSVD, I/D, as pushed */
	u64 table_gpa;       /* GW_TABLE_UNREADABLE: entry not in RAM */
	unsigned int levels; /* entries read (a PDPTE register counts) */
	u64 entries[GW_MAX_LEVELS]; /* the entries read, top level first */
};

/*
 * Reads one page-table entry of @size bytes (4 or 8, naturally aligned) at
 * guest-physical @gpa; returns 0, or nonzero when @gpa is not guest RAM.
 */
typedef int (*gw_read_fn)(void *ctx, u64 gpa, unsigned int size, u64 *val);

/*
 * Translate @gva for an access of kind @access (GW_* bits; 0 is a
 * supervisor read). Outside long mode only the low 32 bits of @gva count.
 * Fills all of @r. Never writes guest memory: accessed and dirty bits are
 * left as they are.
 */
void guest_walk(const struct gw_mode *m, u64 gva, u32 access, gw_read_fn read,
		void *ctx, struct gw_result *r);

/* The paging mode @m selects: "off", "32-bit", "PAE", "4-level", "5-level". */
const char *gw_mode_name(const struct gw_mode *m);

#endif
