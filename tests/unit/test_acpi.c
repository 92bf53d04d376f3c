/* Unit tests for ACPI table discovery (drivers/acpi_tables.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

/* ------------------------------------------------------------ fake memory */

/* A few buffers at chosen physical addresses; everything else is a hole. */
#define LOW_BASE 0x0ull
#define LOW_SIZE 0x1000
#define EBDA_BASE 0x9fc00ull
#define EBDA_SIZE 0x400
#define BIOS_BASE 0xe0000ull
#define BIOS_SIZE 0x20000
#define TBL_BASE 0x7fe0000ull
#define TBL_SIZE 0x10000

#define RSDT_AT (TBL_BASE + 0x0)
#define XSDT_AT (TBL_BASE + 0x400)
#define MADT_AT (TBL_BASE + 0x1000)
#define FADT_AT (TBL_BASE + 0x3000)
#define HPET_AT (TBL_BASE + 0x4000)
#define HOLE_AT 0x90000000ull

static u8 low_mem[LOW_SIZE], ebda_mem[EBDA_SIZE], bios_mem[BIOS_SIZE];
static u8 tbl_mem[TBL_SIZE];

static const struct region {
	u64 base;
	u8 *buf;
	u64 size;
} regions[] = {
	{ LOW_BASE, low_mem, LOW_SIZE },
	{ EBDA_BASE, ebda_mem, EBDA_SIZE },
	{ BIOS_BASE, bios_mem, BIOS_SIZE },
	{ TBL_BASE, tbl_mem, TBL_SIZE },
};

static unsigned int map_calls;

static const void *fake_map(void *ctx, u64 phys, u64 len)
{
	unsigned int i;

	assert_ptr_equal(ctx, regions);
	assert_true(len > 0);
	map_calls++;
	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		const struct region *r = &regions[i];

		if (phys >= r->base && phys - r->base <= r->size &&
		    len <= r->size - (phys - r->base))
			return r->buf + (phys - r->base);
	}
	return NULL;
}

static const struct acpi_mem mem = { fake_map, (void *)regions };

static u8 *at(u64 phys)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regions); i++)
		if (phys >= regions[i].base &&
		    phys < regions[i].base + regions[i].size)
			return regions[i].buf + (phys - regions[i].base);
	fail_msg("0x%llx is in no region", (unsigned long long)phys);
	return NULL;
}

static void put16(u8 *p, u16 v)
{
	memcpy(p, &v, 2);
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, 8);
}

static u32 get32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return v;
}

/* ------------------------------------------------------------ builders */

static u8 sum(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void rsdp_build(u8 *p, u8 rev, u32 rsdt, u64 xsdt)
{
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "LAMINA", 6);
	p[15] = rev;
	put32(p + 16, rsdt);
	if (rev >= 2) {
		put32(p + 20, 36);
		put64(p + 24, xsdt);
	}
	p[8] = (u8)-sum(p, 20);
	if (rev >= 2)
		p[32] = (u8)-sum(p, 36);
}

static void sdt_fix(u8 *p)
{
	p[9] = 0;
	p[9] = (u8)-sum(p, get32(p + 4));
}

static u8 *sdt_begin(u64 phys, const char *sig, u32 len)
{
	u8 *p = at(phys);

	memset(p, 0, len);
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = 1;
	memcpy(p + 10, "LAMINA", 6);
	memcpy(p + 16, "TESTTBL ", 8);
	return p;
}

static void root_build(u64 phys, bool xsdt, const u64 *entry, unsigned int n)
{
	unsigned int i, esize = xsdt ? 8 : 4;
	u8 *p = sdt_begin(phys, xsdt ? "XSDT" : "RSDT", 36 + n * esize);

	for (i = 0; i < n; i++) {
		if (xsdt)
			put64(p + 36 + i * 8, entry[i]);
		else
			put32(p + 36 + i * 4, (u32)entry[i]);
	}
	sdt_fix(p);
}

struct madt_b {
	u8 *p;
	u32 len;
};

static struct madt_b madt_begin(u64 phys)
{
	struct madt_b b = { sdt_begin(phys, "APIC", 44), 44 };

	put32(b.p + 36, 0xfee00000);
	put32(b.p + 40, 1);
	return b;
}

static void madt_raw(struct madt_b *b, const u8 *e, u32 n)
{
	memcpy(b->p + b->len, e, n);
	b->len += n;
}

static void madt_lapic(struct madt_b *b, u8 uid, u8 id, u32 flags)
{
	u8 e[8] = { 0, 8, uid, id };

	put32(e + 4, flags);
	madt_raw(b, e, sizeof(e));
}

static void madt_ioapic(struct madt_b *b, u8 id, u32 addr, u32 gsi)
{
	u8 e[12] = { 1, 12, id, 0 };

	put32(e + 4, addr);
	put32(e + 8, gsi);
	madt_raw(b, e, sizeof(e));
}

static void madt_override(struct madt_b *b, u64 addr)
{
	u8 e[12] = { 5, 12 };

	put64(e + 4, addr);
	madt_raw(b, e, sizeof(e));
}

static void madt_x2apic(struct madt_b *b, u32 id, u32 flags, u32 uid)
{
	u8 e[16] = { 9, 16 };

	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, uid);
	madt_raw(b, e, sizeof(e));
}

static void madt_end(struct madt_b *b)
{
	put32(b->p + 4, b->len);
	sdt_fix(b->p);
}

/* The usual MADT: 4 CPUs, an I/O APIC, an interrupt override, a moved LAPIC. */
static void madt_standard(u64 phys)
{
	struct madt_b b = madt_begin(phys);
	u8 iso[10] = { 2, 10, 0, 0, 2 }; /* type 2: skipped */
	unsigned int i;

	for (i = 0; i < 4; i++)
		madt_lapic(&b, (u8)i, (u8)(i * 2), 1);
	madt_ioapic(&b, 8, 0xfec00000, 0);
	madt_raw(&b, iso, sizeof(iso));
	madt_override(&b, 0xfee10000ull);
	madt_end(&b);
}

#define FADT_FULL_LEN 276

static u8 *fadt_begin(u64 phys, u32 len)
{
	return sdt_begin(phys, "FACP", len);
}

/* A modern FADT: PM timer at 0x608 (32 bit), reset via 0xcf9. */
static void fadt_standard(u64 phys)
{
	u8 *p = fadt_begin(phys, FADT_FULL_LEN);

	put32(p + 76, 0x608);
	p[91] = 4;
	put16(p + 109, 0x3);
	put32(p + 112, (1u << 8) | (1u << 10));
	p[116] = 1;		/* reset reg: system I/O */
	p[117] = 8;
	put64(p + 120, 0xcf9);
	p[128] = 6;
	p[208] = 1;		/* X_PM_TMR_BLK: system I/O */
	p[209] = 32;
	put64(p + 212, 0x608);
	sdt_fix(p);
}

static u8 rsdp[36];
static struct acpi_info info;

static void world_v0(void)
{
	const u64 e[] = { HPET_AT, MADT_AT, FADT_AT };

	sdt_fix(sdt_begin(HPET_AT, "HPET", 56));
	madt_standard(MADT_AT);
	fadt_standard(FADT_AT);
	root_build(RSDT_AT, false, e, ARRAY_SIZE(e));
	rsdp_build(rsdp, 0, (u32)RSDT_AT, 0);
}

static void world_v2(void)
{
	const u64 e[] = { HPET_AT, FADT_AT, MADT_AT };

	world_v0();
	root_build(XSDT_AT, true, e, ARRAY_SIZE(e));
	/* A broken RSDT proves the XSDT was the one used. */
	at(RSDT_AT)[9] ^= 0x55;
	rsdp_build(rsdp, 2, (u32)RSDT_AT, XSDT_AT);
}

static int setup(void **state)
{
	(void)state;
	memset(low_mem, 0, sizeof(low_mem));
	memset(ebda_mem, 0, sizeof(ebda_mem));
	memset(bios_mem, 0, sizeof(bios_mem));
	memset(tbl_mem, 0, sizeof(tbl_mem));
	memset(&info, 0xa5, sizeof(info));
	map_calls = 0;
	return 0;
}

#define assert_contains(hay, needle) do {				\
	if (!strstr((hay), (needle)))					\
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

static int parse(void)
{
	return acpi_parse(&mem, rsdp, sizeof(rsdp), &info);
}

/* ------------------------------------------------------------ good input */

static void check_standard_madt(void)
{
	unsigned int i;

	assert_true(info.madt_ok);
	assert_int_equal(info.madt_phys, MADT_AT);
	assert_int_equal(info.lapic_addr, 0xfee10000ull);
	assert_int_equal(info.madt_flags, 1);
	assert_int_equal(info.nr_cpus, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(info.cpus[i].apic_id, i * 2);
		assert_int_equal(info.cpus[i].uid, i);
		assert_false(info.cpus[i].x2apic);
	}
	assert_int_equal(info.nr_cpus_disabled, 0);
	assert_int_equal(info.nr_cpus_dropped, 0);
	assert_int_equal(info.nr_ioapics, 1);
	assert_int_equal(info.ioapics[0].id, 8);
	assert_int_equal(info.ioapics[0].addr, 0xfec00000);
	assert_int_equal(info.ioapics[0].gsi_base, 0);
}

static void check_standard_fadt(void)
{
	assert_true(info.fadt_ok);
	assert_int_equal(info.fadt_phys, FADT_AT);
	assert_int_equal(info.fadt_flags, (1u << 8) | (1u << 10));
	assert_int_equal(info.iapc_boot_arch, 3);
	assert_int_equal(info.pm_tmr_port, 0x608);
	assert_true(info.pm_tmr_32bit);
	assert_true(info.has_reset_reg);
	assert_int_equal(info.reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(info.reset_reg.bit_width, 8);
	assert_int_equal(info.reset_reg.address, 0xcf9);
	assert_int_equal(info.reset_value, 6);
}

static void test_rsdp_v0_rsdt(void **state)
{
	(void)state;
	world_v0();
	assert_int_equal(parse(), 0);
	assert_string_equal(info.error, "");
	assert_int_equal(info.rsdp_revision, 0);
	assert_false(info.use_xsdt);
	assert_int_equal(info.rsdt_phys, RSDT_AT);
	assert_string_equal(info.oem_id, "LAMINA");
	check_standard_madt();
	check_standard_fadt();
	/* A 20-byte copy (multiboot2 tag 14) is enough for ACPI 1.0. */
	assert_int_equal(acpi_parse(&mem, rsdp, 20, &info), 0);
	check_standard_madt();
}

static void test_rsdp_v2_xsdt(void **state)
{
	(void)state;
	world_v2();
	assert_int_equal(parse(), 0);
	assert_string_equal(info.error, "");
	assert_int_equal(info.rsdp_revision, 2);
	assert_true(info.use_xsdt);
	assert_int_equal(info.rsdt_phys, XSDT_AT);
	check_standard_madt();
	check_standard_fadt();
}

static void test_rsdp_v2_without_xsdt(void **state)
{
	(void)state;
	world_v0();
	rsdp_build(rsdp, 2, (u32)RSDT_AT, 0);
	assert_int_equal(parse(), 0);
	assert_false(info.use_xsdt);
	assert_int_equal(info.rsdt_phys, RSDT_AT);
	check_standard_madt();
}

/* Tag 14 may carry the first 20 bytes of an ACPI 2.0 RSDP: use its RSDT. */
static void test_rsdp_v2_first_20_bytes(void **state)
{
	(void)state;
	world_v0();
	rsdp_build(rsdp, 2, (u32)RSDT_AT, HOLE_AT);
	assert_int_equal(acpi_parse(&mem, rsdp, 20, &info), 0);
	assert_false(info.use_xsdt);
	assert_int_equal(info.rsdp_revision, 2);
	check_standard_madt();
}

/* ------------------------------------------------------------ RSDP, root */

static void test_no_rsdp(void **state)
{
	(void)state;
	assert_int_equal(acpi_parse(&mem, NULL, 36, &info), -HV_ENOENT);
	assert_int_equal(acpi_parse(&mem, rsdp, 0, &info), -HV_ENOENT);
	assert_false(info.madt_ok);
	assert_false(info.fadt_ok);
}

static void test_checksum(void **state)
{
	static const u8 b[] = { 1, 2, 3, 0xfa };

	(void)state;
	assert_int_equal(acpi_checksum(b, 3), 6);
	assert_int_equal(acpi_checksum(b, 4), 0);
	assert_int_equal(acpi_checksum(b, 0), 0);
}

/* A good RSDP of revision @rev, then one change; checked with @len bytes. */
struct rsdp_case {
	const char *name;
	u8 rev;
	size_t len;
	int flip;	/* byte to corrupt, or -1 */
	u32 length;	/* if non-zero: new length field, extended sum redone */
	int expect;
};

static const struct rsdp_case rsdp_cases[] = {
	{ "good v2", 2, 36, -1, 0, 0 },
	{ "good v0", 0, 20, -1, 0, 0 },
	{ "v0: bytes past 20 ignored", 0, 36, 32, 0, 0 },
	{ "too short", 0, 19, -1, 0, -HV_EINVAL },
	{ "v2 given 20 bytes", 2, 20, -1, 0, -HV_EINVAL },
	{ "signature", 2, 36, 3, 0, -HV_EINVAL },
	{ "checksum", 2, 36, 8, 0, -HV_EINVAL },
	{ "extended checksum", 2, 36, 32, 0, -HV_EINVAL },
	{ "length < 36", 2, 36, -1, 20, -HV_EINVAL },
	{ "length > len", 2, 36, -1, 40, -HV_EINVAL },
};

static void test_check_rsdp_table(void **state)
{
	unsigned int i;
	u8 p[36];

	(void)state;
	assert_int_equal(acpi_check_rsdp(NULL, 36), -HV_EINVAL);
	for (i = 0; i < ARRAY_SIZE(rsdp_cases); i++) {
		const struct rsdp_case *c = &rsdp_cases[i];

		print_message("  %s\n", c->name);
		rsdp_build(p, c->rev, 0x1000, 0x2000);
		if (c->length) {
			/* Bytes 20.. only: the 20-byte checksum still holds. */
			put32(p + 20, c->length);
			p[32] = 0;
			p[32] = (u8)-sum(p, 36);
		}
		if (c->flip >= 0)
			p[c->flip] ^= 1;
		assert_int_equal(acpi_check_rsdp(p, c->len), c->expect);
	}
}

/* Each spoils one link of a good chain; acpi_parse must refuse the root. */
static void spoil_rsdp_sum(void)
{
	rsdp[8] ^= 0x10;
}

static void spoil_ext_sum(void)
{
	rsdp[32] ^= 0x10;
}

static void spoil_rsdt_sum(void)
{
	at(RSDT_AT)[40] ^= 1;
}

static void spoil_xsdt_sig(void)
{
	memcpy(at(XSDT_AT), "RSDT", 4);
	sdt_fix(at(XSDT_AT));
}

static void spoil_rsdt_unmapped(void)
{
	rsdp_build(rsdp, 0, (u32)HOLE_AT, 0);
}

static void spoil_rsdt_zero(void)
{
	rsdp_build(rsdp, 0, 0, 0);
}

/* An XSDT at the top of the address space must not wrap around. */
static void spoil_xsdt_wraps(void)
{
	rsdp_build(rsdp, 2, (u32)RSDT_AT, 0xfffffffffffffff0ull);
}

/* Lengths are judged before checksums: no sdt_fix needed. */
static void spoil_rsdt_huge(void)
{
	put32(at(RSDT_AT) + 4, 0x80000000u);
}

static void spoil_rsdt_beyond_memory(void)
{
	put32(at(RSDT_AT) + 4, 0x20000);
}

static void spoil_rsdt_tiny(void)
{
	put32(at(RSDT_AT) + 4, 35);
}

static const struct root_case {
	const char *name;
	void (*world)(void);
	void (*spoil)(void);
	const char *msg;
} root_cases[] = {
	{ "RSDP checksum", world_v0, spoil_rsdp_sum, "RSDP: bad" },
	{ "RSDP extended checksum", world_v2, spoil_ext_sum, "RSDP: bad" },
	{ "RSDT checksum", world_v0, spoil_rsdt_sum,
	  "RSDT at 0x7fe0000: bad checksum" },
	{ "XSDT signature", world_v2, spoil_xsdt_sig,
	  "XSDT at 0x7fe0400: signature is not XSDT" },
	{ "RSDT unmapped", world_v0, spoil_rsdt_unmapped,
	  "RSDT at 0x90000000: not mapped" },
	{ "no RSDT", world_v0, spoil_rsdt_zero, "RSDP: no RSDT address" },
	{ "XSDT wraps", world_v0, spoil_xsdt_wraps,
	  "XSDT at 0xfffffffffffffff0: not mapped" },
	{ "RSDT length huge", world_v0, spoil_rsdt_huge,
	  "RSDT at 0x7fe0000: length 2147483648 out of range" },
	{ "RSDT beyond memory", world_v0, spoil_rsdt_beyond_memory,
	  "RSDT at 0x7fe0000: 131072 bytes not mapped" },
	{ "RSDT length 35", world_v0, spoil_rsdt_tiny,
	  "RSDT at 0x7fe0000: length 35 out of range" },
};

static void test_bad_root_table(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(root_cases); i++) {
		print_message("  %s\n", root_cases[i].name);
		setup(NULL);
		root_cases[i].world();
		root_cases[i].spoil();
		assert_int_equal(parse(), -HV_EINVAL);
		assert_contains(info.error, root_cases[i].msg);
		assert_false(info.madt_ok);
		assert_false(info.fadt_ok);
		assert_int_equal(info.nr_cpus, 0);
	}
}

/* Only the first ACPI_MAX_TABLES entries are looked at. */
static void test_root_entry_limit(void **state)
{
	u64 e[ACPI_MAX_TABLES + 2];
	unsigned int i;

	(void)state;
	world_v0();
	for (i = 0; i < ARRAY_SIZE(e); i++)
		e[i] = HPET_AT;
	e[ACPI_MAX_TABLES - 1] = FADT_AT;
	e[ACPI_MAX_TABLES] = MADT_AT;
	root_build(RSDT_AT, false, e, ARRAY_SIZE(e));
	assert_int_equal(parse(), 0);
	assert_true(info.fadt_ok);
	assert_false(info.madt_ok);
	assert_contains(info.error, "MADT: not found");
}

/* ------------------------------------------------------------ MADT */

/* A good v0 world whose MADT the caller is about to replace. */
static struct madt_b madt_fresh(void)
{
	world_v0();
	return madt_begin(MADT_AT);
}

/* Install the MADT under construction and parse the v0 world around it. */
static int parse_with_madt(struct madt_b *b)
{
	madt_end(b);
	return parse();
}

static void assert_madt_rejected(const char *msg)
{
	assert_false(info.madt_ok);
	assert_int_equal(info.nr_cpus, 0);
	assert_int_equal(info.nr_ioapics, 0);
	assert_contains(info.error, msg);
	/* The FADT does not suffer for it. */
	assert_true(info.fadt_ok);
}

static void test_madt_bad_checksum(void **state)
{
	(void)state;
	world_v0();
	at(MADT_AT)[50] ^= 1;
	assert_int_equal(parse(), 0);
	assert_madt_rejected("MADT at 0x7fe1000: bad checksum");
}

static void test_madt_unmapped_entry(void **state)
{
	const u64 e[] = { HPET_AT, HOLE_AT, FADT_AT };

	(void)state;
	world_v0();
	root_build(RSDT_AT, false, e, ARRAY_SIZE(e));
	assert_int_equal(parse(), 0);
	assert_false(info.madt_ok);
	assert_contains(info.error, "root entry 1: 0x90000000 not mapped");
	assert_true(info.fadt_ok);
}

static void test_madt_length_huge(void **state)
{
	(void)state;
	world_v0();
	put32(at(MADT_AT) + 4, 0xfffffff0u);
	assert_int_equal(parse(), 0);
	assert_madt_rejected("MADT at 0x7fe1000: length 4294967280 out of range");
}

static void test_madt_too_short(void **state)
{
	struct madt_b b = madt_fresh();

	(void)state;
	b.len = 40;
	assert_int_equal(parse_with_madt(&b), 0);
	assert_madt_rejected("MADT: length 40 < 44");
}

struct madt_bad_case {
	const char *name;
	u8 entry[16];
	u32 len;	/* bytes of @entry placed after one good CPU */
	const char *msg;
};

static const struct madt_bad_case madt_bad_cases[] = {
	{ "zero length", { 0, 0 }, 8, "MADT: entry at +0x34 has length 0" },
	{ "length 1", { 7, 1 }, 8, "MADT: entry at +0x34 has length 1" },
	{ "truncated LAPIC", { 0, 6, 1, 1, 1, 0 }, 6,
	  "MADT: type 0 entry at +0x34 has length 6 < 8" },
	{ "truncated I/O APIC", { 1, 10 }, 10,
	  "MADT: type 1 entry at +0x34 has length 10 < 12" },
	{ "truncated override", { 5, 8 }, 8,
	  "MADT: type 5 entry at +0x34 has length 8 < 12" },
	{ "truncated x2APIC", { 9, 12 }, 12,
	  "MADT: type 9 entry at +0x34 has length 12 < 16" },
	{ "past the end", { 0, 8, 1, 1, 1 }, 4,
	  "MADT: entry at +0x34 (length 8) runs past the end" },
	{ "unknown type past the end", { 0x7f, 16 }, 8,
	  "MADT: entry at +0x34 (length 16) runs past the end" },
	{ "one byte left", { 0 }, 1, "MADT: entry at +0x34 runs past the end" },
};

static void test_madt_bad_entries(void **state)
{
	struct madt_b b;
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(madt_bad_cases); i++) {
		const struct madt_bad_case *c = &madt_bad_cases[i];

		print_message("  %s\n", c->name);
		setup(NULL);
		b = madt_fresh();
		madt_lapic(&b, 0, 0, 1);
		madt_raw(&b, c->entry, c->len);
		assert_int_equal(parse_with_madt(&b), 0);
		assert_madt_rejected(c->msg);
	}
}

static void test_madt_duplicate_apic_id(void **state)
{
	struct madt_b b = madt_fresh();

	(void)state;
	madt_lapic(&b, 0, 0, 1);
	madt_lapic(&b, 1, 1, 1);
	madt_lapic(&b, 2, 1, 2);
	assert_int_equal(parse_with_madt(&b), 0);
	assert_madt_rejected("MADT: entry at +0x3c repeats APIC ID 1");
}

/* Firmware lists absent sockets as disabled, often all with one ID. */
static void test_madt_disabled_cpus(void **state)
{
	struct madt_b b = madt_fresh();

	(void)state;
	madt_lapic(&b, 0, 0, 1);
	madt_lapic(&b, 1, 0xff, 0);
	madt_lapic(&b, 2, 2, 2);	/* online-capable: usable */
	madt_lapic(&b, 3, 0xff, 0);
	madt_lapic(&b, 4, 0, 0);	/* disabled: its ID is no duplicate */
	assert_int_equal(parse_with_madt(&b), 0);
	assert_true(info.madt_ok);
	assert_int_equal(info.nr_cpus, 2);
	assert_int_equal(info.cpus[0].apic_id, 0);
	assert_int_equal(info.cpus[1].apic_id, 2);
	assert_int_equal(info.cpus[1].uid, 2);
	assert_int_equal(info.nr_cpus_disabled, 3);
	assert_int_equal(info.lapic_addr, 0xfee00000);
}

static void test_madt_no_usable_cpu(void **state)
{
	struct madt_b b = madt_fresh();

	(void)state;
	madt_lapic(&b, 0, 0, 0);
	madt_ioapic(&b, 1, 0xfec00000, 0);
	assert_int_equal(parse_with_madt(&b), 0);
	assert_madt_rejected("MADT: no usable CPU");
}

static void test_madt_too_many_cpus(void **state)
{
	struct madt_b b = madt_fresh();
	unsigned int i;

	(void)state;
	for (i = 0; i < ACPI_MAX_CPUS + 6; i++)
		madt_lapic(&b, (u8)i, (u8)i, 1);
	madt_lapic(&b, 0xfe, 0xfe, 0);
	assert_int_equal(parse_with_madt(&b), 0);
	assert_true(info.madt_ok);
	assert_int_equal(info.nr_cpus, ACPI_MAX_CPUS);
	assert_int_equal(info.nr_cpus_dropped, 6);
	assert_int_equal(info.nr_cpus_disabled, 1);
	assert_int_equal(info.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
}

static void test_madt_too_many_ioapics(void **state)
{
	struct madt_b b = madt_fresh();
	unsigned int i;

	(void)state;
	madt_lapic(&b, 0, 0, 1);
	for (i = 0; i < ACPI_MAX_IOAPICS + 1; i++)
		madt_ioapic(&b, (u8)i, 0xfec00000 + i * 0x1000, i * 24);
	assert_int_equal(parse_with_madt(&b), 0);
	assert_true(info.madt_ok);
	assert_int_equal(info.nr_ioapics, ACPI_MAX_IOAPICS);
	assert_int_equal(info.ioapics[7].gsi_base, 7 * 24);
	assert_contains(info.error, "I/O APIC at +0x");
}

static void test_madt_x2apic(void **state)
{
	struct madt_b b = madt_fresh();

	(void)state;
	madt_lapic(&b, 0, 0, 1);
	madt_lapic(&b, 1, 1, 1);
	madt_x2apic(&b, 0x100, 1, 10);
	madt_x2apic(&b, 0x101, 2, 11);
	madt_x2apic(&b, 0x102, 0, 12);
	madt_x2apic(&b, 0xffffffffu, 0, 13);
	assert_int_equal(parse_with_madt(&b), 0);
	assert_true(info.madt_ok);
	assert_int_equal(info.nr_cpus, 4);
	assert_int_equal(info.nr_cpus_disabled, 2);
	assert_false(info.cpus[1].x2apic);
	assert_int_equal(info.cpus[2].apic_id, 0x100);
	assert_int_equal(info.cpus[2].uid, 10);
	assert_true(info.cpus[2].x2apic);
	assert_int_equal(info.cpus[3].apic_id, 0x101);
	assert_true(info.cpus[3].x2apic);
}

/* The same CPU listed by a type-0 and a type-9 entry is one CPU twice. */
static void test_madt_x2apic_duplicates_xapic(void **state)
{
	struct madt_b b = madt_fresh();

	(void)state;
	madt_lapic(&b, 0, 0, 1);
	madt_lapic(&b, 1, 1, 1);
	madt_x2apic(&b, 1, 1, 1);
	assert_int_equal(parse_with_madt(&b), 0);
	assert_madt_rejected("MADT: entry at +0x3c repeats APIC ID 1");
}

/* ------------------------------------------------------------ FADT */

static void test_fadt_bad_checksum(void **state)
{
	(void)state;
	world_v0();
	at(FADT_AT)[100] ^= 1;
	assert_int_equal(parse(), 0);
	assert_false(info.fadt_ok);
	assert_int_equal(info.pm_tmr_port, 0);
	assert_false(info.has_reset_reg);
	assert_contains(info.error, "FADT at 0x7fe3000: bad checksum");
	check_standard_madt();
}

static void test_fadt_too_short(void **state)
{
	(void)state;
	world_v0();
	sdt_fix(fadt_begin(FADT_AT, 100));
	assert_int_equal(parse(), 0);
	assert_false(info.fadt_ok);
	assert_contains(info.error, "FADT: length 100 < 116");
	assert_true(info.madt_ok);
}

struct fadt_case {
	const char *name;
	u32 len, pm_blk;
	u8 pm_len;
	u8 x_space;
	u64 x_addr;
	u32 flags;
	u16 expect_port;
	bool expect_reset;
};

static const struct fadt_case fadt_cases[] = {
	{ "legacy timer", 244, 0x408, 4, 0, 0, 0, 0x408, false },
	{ "X timer preferred", 244, 0x408, 4, 1, 0x608, 0, 0x608, false },
	{ "X timer in memory space", 244, 0x408, 4, 0, 0xfed00000, 0, 0x408,
	  false },
	{ "X timer zero", 244, 0x408, 4, 1, 0, 0, 0x408, false },
	{ "FADT too short for X", 212, 0x408, 4, 1, 0x608, 0, 0x408, false },
	{ "no timer: PM_TMR_LEN 0", 244, 0x408, 0, 1, 0x608, 0, 0, false },
	{ "PM_TMR_LEN 3", 244, 0x408, 3, 0, 0, 0, 0, false },
	{ "port beyond 16 bits", 244, 0x10008, 4, 0, 0, 0, 0, false },
	{ "X port beyond 16 bits", 244, 0x408, 4, 1, 0x10008, 0, 0, false },
	{ "reset reg", 129, 0x408, 4, 0, 0, 1u << 10, 0x408, true },
	/* ACPI 1.0 size: the flag says "reset register", but it does not fit. */
	{ "too short for reset reg", 116, 0x408, 4, 0, 0, 1u << 10, 0x408, false },
	{ "one byte short of it", 128, 0x408, 4, 0, 0, 1u << 10, 0x408, false },
	{ "reset reg flag clear", 244, 0x408, 4, 0, 0, 0, 0x408, false },
};

static void test_fadt_table(void **state)
{
	unsigned int i;
	u8 *p;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(fadt_cases); i++) {
		const struct fadt_case *c = &fadt_cases[i];

		print_message("  %s\n", c->name);
		setup(NULL);
		world_v0();
		p = fadt_begin(FADT_AT, c->len);
		put32(p + 76, c->pm_blk);
		p[91] = c->pm_len;
		put32(p + 112, c->flags);
		p[116] = 1;
		put64(p + 120, 0xcf9);
		p[208] = c->x_space;
		if (c->len >= 220)
			put64(p + 212, c->x_addr);
		sdt_fix(p);
		assert_int_equal(parse(), 0);
		assert_true(info.fadt_ok);
		assert_int_equal(info.pm_tmr_port, c->expect_port);
		assert_int_equal(info.has_reset_reg, c->expect_reset);
	}
}

/* ------------------------------------------------------------ RSDP scan */

static void set_ebda(u16 seg)
{
	put16(at(0x40e), seg);
}

static void test_scan_ebda(void **state)
{
	(void)state;
	set_ebda(EBDA_BASE >> 4);
	rsdp_build(at(EBDA_BASE + 0x40), 0, 0x1000, 0);
	rsdp_build(at(0xf6a20), 2, 0x1000, 0x2000); /* EBDA comes first */
	assert_int_equal(acpi_scan_rsdp(&mem), EBDA_BASE + 0x40);
}

static void test_scan_bios_area(void **state)
{
	(void)state;
	rsdp_build(at(0xf6a20), 2, 0x1000, 0x2000);
	assert_int_equal(acpi_scan_rsdp(&mem), 0xf6a20);
	/* An EBDA segment pointing at nothing is skipped. */
	set_ebda(0x8000);
	assert_int_equal(acpi_scan_rsdp(&mem), 0xf6a20);
}

/* The last 16-byte slot below 1 MiB has room for 32 bytes only. */
static void rsdp_at_top(u8 rev)
{
	u8 tmp[36];

	rsdp_build(tmp, rev, 0x1000, 0x2000);
	memcpy(at(0xfffe0), tmp, 32);
}

static void test_scan_rejects_bad_checksum(void **state)
{
	(void)state;
	set_ebda(EBDA_BASE >> 4);
	rsdp_build(at(EBDA_BASE + 0x100), 0, 0x1000, 0);
	at(EBDA_BASE + 0x100)[8] ^= 1;
	assert_int_equal(acpi_scan_rsdp(&mem), 0);

	/* A good one later in the BIOS area is still found. */
	rsdp_build(at(0xe0010), 2, 0x1000, 0x2000);
	at(0xe0010)[32] ^= 1;
	rsdp_at_top(0);
	assert_int_equal(acpi_scan_rsdp(&mem), 0xfffe0);
}

static void test_scan_misc(void **state)
{
	(void)state;
	assert_int_equal(acpi_scan_rsdp(&mem), 0);
	/* Not on a 16-byte boundary: not an RSDP. */
	rsdp_build(at(0xe0108), 0, 0x1000, 0);
	assert_int_equal(acpi_scan_rsdp(&mem), 0);
	/* A v2 RSDP whose 36 bytes would cross 1 MiB into a hole. */
	rsdp_at_top(2);
	assert_int_equal(acpi_scan_rsdp(&mem), 0);
	assert_true(map_calls > 0);
	/* No map callback: nothing found, nothing read. */
	{
		const struct acpi_mem none = { NULL, NULL };

		assert_int_equal(acpi_scan_rsdp(&none), 0);
	}
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rsdp_v0_rsdt),
		T(test_rsdp_v2_xsdt),
		T(test_rsdp_v2_without_xsdt),
		T(test_rsdp_v2_first_20_bytes),
		T(test_no_rsdp),
		T(test_checksum),
		T(test_check_rsdp_table),
		T(test_bad_root_table),
		T(test_root_entry_limit),
		T(test_madt_bad_checksum),
		T(test_madt_unmapped_entry),
		T(test_madt_length_huge),
		T(test_madt_too_short),
		T(test_madt_bad_entries),
		T(test_madt_duplicate_apic_id),
		T(test_madt_disabled_cpus),
		T(test_madt_no_usable_cpu),
		T(test_madt_too_many_cpus),
		T(test_madt_too_many_ioapics),
		T(test_madt_x2apic),
		T(test_madt_x2apic_duplicates_xapic),
		T(test_fadt_bad_checksum),
		T(test_fadt_too_short),
		T(test_fadt_table),
		T(test_scan_ebda),
		T(test_scan_bios_area),
		T(test_scan_rejects_bad_checksum),
		T(test_scan_misc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
