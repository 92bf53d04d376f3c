/*
 * libFuzzer target for the guest page-table walker (mm/guest_walk.c).
 *
 * The input is a fixed header (control registers, MAXPHYADDR, access, the
 * walker's options, PDPTE registers, the address) followed by guest RAM at
 * guest-physical 0, copied into a buffer of exactly its size so that
 * AddressSanitizer sees any read past it. The read callback checks what
 * the walker asks for (entry size, alignment, below MAXPHYADDR, at most
 * five reads); the result is checked against the paging mode, against the
 * reads the walker made, and against a second walk as a supervisor read,
 * which must find the same translation (only the rights may differ).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/guest_walk.h>
#include <lamina/lib.h>

/* Header layout, little-endian. */
#define H_CR_BITS 0  /* u8: PG PAE LMA LA57 PSE WP NXE SMEP, bit 0 first */
#define H_MAXPHY 1   /* u8: raw maxphyaddr */
#define H_ACCESS 2   /* u8: raw access bits */
#define H_OPTS 3     /* u8: amd, no_gbpages, pdpte_regs, bit 0 first */
#define H_CR3 4      /* u64 */
#define H_GVA 12     /* u64 */
#define H_PDPTE 20   /* u64[4] */
#define H_SIZE 52

#define MAX_READS 8

struct fuzz_ram {
	const u8 *bytes;
	size_t size;
	unsigned int entry_size;
	u64 pa_limit;
	unsigned int nr_reads;
	struct {
		u64 gpa;
		u64 val;
		bool ok;
	} reads[MAX_READS];
};

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static u64 get64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int fuzz_read(void *ctx, u64 gpa, unsigned int size, u64 *val)
{
	struct fuzz_ram *ram = ctx;
	unsigned int i = ram->nr_reads++;

	check(i < GW_MAX_LEVELS);
	check(size == ram->entry_size);
	check(gpa % size == 0);
	check(gpa < ram->pa_limit);
	ram->reads[i].gpa = gpa;
	ram->reads[i].ok = gpa < ram->size && ram->size - gpa >= size;
	if (!ram->reads[i].ok)
		return 1;
	*val = 0;
	memcpy(val, ram->bytes + gpa, size);
	ram->reads[i].val = *val;
	return 0;
}

/* The mode, worked out apart from the walker: levels for a 4 KiB page. */
static unsigned int mode_levels(const struct gw_mode *m, const char **name)
{
	static const char *const names[] = { "off", "", "32-bit", "PAE",
					     "4-level", "5-level" };
	unsigned int levels;

	if (!(m->cr0 & CR0_PG))
		levels = 0;
	else if (!(m->cr4 & CR4_PAE))
		levels = 2;
	else if (!(m->efer & EFER_LMA))
		levels = 3;
	else
		levels = m->cr4 & CR4_LA57 ? 5 : 4;
	if (name)
		*name = names[levels];
	return levels;
}

/* A page size the mode can map, and the entries read to reach it. */
static void check_page(const struct gw_mode *m, unsigned int levels,
		       const struct gw_result *r)
{
	unsigned int skipped;

	switch (r->page_size) {
	case 1ull << 12:
		skipped = 0;
		break;
	case 1ull << 21:
		check(levels >= 3);
		skipped = 1;
		break;
	case 1ull << 22:
		check(levels == 2 && (m->cr4 & CR4_PSE));
		skipped = 1;
		break;
	case 1ull << 30:
		check(levels >= 4 && !m->no_gbpages);
		skipped = 2;
		break;
	default:
		check(false);
		return;
	}
	check(r->levels == levels - skipped);
}

/* The entries reported are those read, in order (a PDPTE register too). */
static void check_entries(const struct gw_mode *m, u64 gva,
			  unsigned int levels, const struct fuzz_ram *ram,
			  const struct gw_result *r)
{
	unsigned int i, read = 0;

	for (i = 0; i < r->levels; i++) {
		if (levels == 3 && i == 0 && m->pdpte_regs) {
			check(r->entries[0] == m->pdpte[(u32)gva >> 30]);
			continue;
		}
		check(read < ram->nr_reads && ram->reads[read].ok);
		check(r->entries[i] == ram->reads[read].val);
		read++;
	}
	for (; i < GW_MAX_LEVELS; i++)
		check(r->entries[i] == 0);
	if (r->status == GW_TABLE_UNREADABLE) {
		check(read + 1 == ram->nr_reads && !ram->reads[read].ok);
		check(r->table_gpa == ram->reads[read].gpa);
	} else {
		check(read == ram->nr_reads);
	}
}

/*
 * Addresses, stated apart from the walker's reserved-bit rules: each table
 * read lies at the address field of the entry above it, taken whole, and a
 * translation's frame is its leaf's address field, taken whole (but for
 * PAT, bit 12 of a large page). A bit the walker failed to reject as
 * reserved would show here as a mismatch.
 */
static void check_addresses(const struct gw_mode *m, unsigned int levels,
			    const struct fuzz_ram *ram,
			    const struct gw_result *r)
{
	const u64 addr = levels == 2 ? 0xfffff000ull : 0x000ffffffffff000ull;
	unsigned int j, skip = levels == 3 && m->pdpte_regs;
	u64 leaf, frame;

	for (j = 0; j < ram->nr_reads; j++) {
		if (j + skip == 0)
			continue; /* the top table: CR3, masked per mode */
		check((ram->reads[j].gpa & ~0xfffull) ==
		      (r->entries[j + skip - 1] & addr));
	}
	if (r->status != GW_OK || !levels)
		return;
	leaf = r->entries[r->levels - 1];
	frame = r->gpa & ~(r->page_size - 1);
	if (levels == 2 && r->page_size == 1ull << 22)
		check(((leaf & 0xffc00000ull) | ((leaf & 0x3fe000) << 19)) ==
		      frame);
	else if (r->page_size > 1ull << 12)
		check((leaf & addr & ~0x1000ull) == frame);
	else
		check((leaf & addr) == frame);
}

static void check_result(const struct gw_mode *m, u64 gva, u32 access,
			 const struct fuzz_ram *ram, const struct gw_result *r)
{
	const u32 pf_bits = GW_PF_P | GW_PF_RSVD | GW_WRITE | GW_USER |
			    GW_FETCH;
	unsigned int levels = mode_levels(m, NULL);
	u32 e = r->pf_error;
	unsigned int i;

	check(r->levels <= GW_MAX_LEVELS && r->levels <= levels);
	check_entries(m, gva, levels, ram, r);
	check_addresses(m, levels, ram, r);
	for (i = 0; i + 1 < r->levels; i++)
		check(r->entries[i] & 1); /* only the last may be not present */
	switch (r->status) {
	case GW_OK:
		check(r->gpa < ram->pa_limit);
		if (!levels) {
			check(r->levels == 0 && r->gpa == (u32)gva &&
			      r->page_size == 1ull << 12);
			break;
		}
		check(r->levels >= 1);
		check_page(m, levels, r);
		check((r->entries[r->levels - 1] & 1) != 0);
		check((r->gpa & (r->page_size - 1)) ==
		      (gva & (r->page_size - 1)));
		break;
	case GW_PAGE_FAULT:
		check(levels && r->levels >= 1);
		check((e & ~pf_bits) == 0);
		check((e & GW_WRITE) == (access & GW_WRITE));
		check((e & GW_USER) == (access & GW_USER));
		check(!(e & GW_FETCH) || (access & GW_FETCH));
		check(!(e & GW_PF_RSVD) || (e & GW_PF_P));
		/* Not present: the last entry read has P clear. */
		check(!!(e & GW_PF_P) == (r->entries[r->levels - 1] & 1));
		break;
	case GW_NONCANONICAL:
		check(levels >= 4 && r->levels == 0 && ram->nr_reads == 0);
		break;
	case GW_TABLE_UNREADABLE:
		/* The entry may start in RAM and run past its end. */
		check(levels &&
		      r->table_gpa + ram->entry_size > ram->size);
		break;
	default:
		check(false);
	}
}

/*
 * What the tables say does not depend on the access: a supervisor read
 * finds the same translation, or the same missing or reserved entry. It
 * can only lose protection faults (SMEP and SMAP are not checked).
 */
static void check_supervisor_read(const struct gw_result *a,
				  const struct gw_result *s)
{
	const u32 kind = GW_PF_P | GW_PF_RSVD;

	check(s->levels == a->levels);
	check(!memcmp(s->entries, a->entries, sizeof(a->entries)));
	if (a->status == GW_PAGE_FAULT && (a->pf_error & kind) == GW_PF_P) {
		check(s->status == GW_OK);
		return;
	}
	check(s->status == a->status);
	check(s->gpa == a->gpa && s->page_size == a->page_size);
	check(s->table_gpa == a->table_gpa);
	check(s->pf_error == (a->pf_error & kind));
}

static bool same_result(const struct gw_result *a, const struct gw_result *b)
{
	return a->status == b->status && a->gpa == b->gpa &&
	       a->page_size == b->page_size && a->pf_error == b->pf_error &&
	       a->table_gpa == b->table_gpa && a->levels == b->levels &&
	       !memcmp(a->entries, b->entries, sizeof(a->entries));
}

static void setup(const u8 *h, struct gw_mode *m)
{
	static const u64 cr_bits[][2] = {
		{ 0, CR0_PG }, { 1, CR4_PAE }, { 2, EFER_LMA }, { 1, CR4_LA57 },
		{ 1, CR4_PSE }, { 0, CR0_WP }, { 2, EFER_NXE }, { 1, CR4_SMEP },
	};
	u64 *regs[] = { &m->cr0, &m->cr4, &m->efer };
	unsigned int i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < ARRAY_SIZE(cr_bits); i++)
		if (h[H_CR_BITS] & (1u << i))
			*regs[cr_bits[i][0]] |= cr_bits[i][1];
	m->cr0 |= CR0_PE;
	m->cr3 = get64(h + H_CR3);
	m->maxphyaddr = h[H_MAXPHY];
	m->amd = h[H_OPTS] & 1;
	m->no_gbpages = h[H_OPTS] & 2;
	m->pdpte_regs = h[H_OPTS] & 4;
	for (i = 0; i < 4; i++)
		m->pdpte[i] = get64(h + H_PDPTE + 8 * i);
}

static unsigned int pa_bits(const struct gw_mode *m)
{
	if (!m->maxphyaddr || m->maxphyaddr > 52)
		return 52;
	return m->maxphyaddr < 32 ? 32 : m->maxphyaddr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ram ram = { 0 };
	struct gw_result r, again;
	struct gw_mode m;
	const char *name;
	u32 access;
	u64 gva;
	u8 *copy;

	if (size < H_SIZE)
		return 0;
	setup(data, &m);
	access = data[H_ACCESS];
	gva = get64(data + H_GVA);
	copy = malloc(size - H_SIZE ? size - H_SIZE : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + H_SIZE, size - H_SIZE);
	ram.bytes = copy;
	ram.size = size - H_SIZE;
	ram.entry_size = mode_levels(&m, &name) == 2 ? 4 : 8;
	ram.pa_limit = 1ull << pa_bits(&m);

	check(!strcmp(gw_mode_name(&m), name));
	guest_walk(&m, gva, access, fuzz_read, &ram, &r);
	check_result(&m, gva, access & (GW_WRITE | GW_USER | GW_FETCH), &ram,
		     &r);

	ram.nr_reads = 0;
	guest_walk(&m, gva, access, fuzz_read, &ram, &again);
	check(same_result(&r, &again)); /* no hidden state */

	ram.nr_reads = 0;
	guest_walk(&m, gva, 0, fuzz_read, &ram, &again);
	check_supervisor_read(&r, &again);
	free(copy);
	return 0;
}
