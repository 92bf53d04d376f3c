/* Unit tests for ACPI table discovery (drivers/acpi_tables.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lapic.h>
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
#define SPCR_AT (TBL_BASE + 0x5000)
#define DSDT_AT (TBL_BASE + 0x6000)	/* room for a 3-byte PkgLength */
#define SSDT1_AT (TBL_BASE + 0xb000)
#define SSDT2_AT (TBL_BASE + 0xc000)
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

static void put_gas(u8 *p, u8 space, u8 width, u8 access, u64 addr)
{
	p[0] = space;
	p[1] = width;
	p[2] = 0;
	p[3] = access;
	put64(p + 4, addr);
}

/*
 * A modern FADT: PM timer at 0x608 (32 bit), reset via 0xcf9, PM1a control
 * at 0x604 (both forms), the DSDT at DSDT_AT (both forms), SMI to 0xb2.
 */
static void fadt_standard(u64 phys)
{
	u8 *p = fadt_begin(phys, FADT_FULL_LEN);

	p[8] = 4;
	put32(p + 40, (u32)DSDT_AT);
	put32(p + 48, 0xb2);
	p[52] = 0xf0;
	put32(p + 64, 0x604);
	p[89] = 2;
	put64(p + 140, DSDT_AT);
	put_gas(p + 172, 1, 16, 2, 0x604);
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

/* An HPET as Intel chipsets describe theirs: 8 timers, 64-bit counter. */
static void hpet_standard(u64 phys, u8 space, u64 base, u32 len)
{
	u8 *p = sdt_begin(phys, "HPET", len);

	if (len >= 56) {
		put32(p + 36, 0x8086a701);
		put_gas(p + 40, space, 64, 0, base);
		p[52] = 0;
		put16(p + 53, 0x80);
		p[55] = 0;
	}
	sdt_fix(p);
}

/* An SPCR; revision 0 and length 0 stand for 2 and 80. */
struct spcr_b {
	u8 rev, iface, space, width, access, baud;
	u32 len;
	u64 addr;
	bool pci;	/* 8086:9d27 at 02:1e.3, else 0xffff "not PCI" */
	u32 precise;
};

/* The usual server one: COM1 at 115200. */
static const struct spcr_b spcr_com1 = {
	.iface = 0, .space = 1, .width = 8, .access = 1, .addr = 0x3f8,
	.baud = 7,
};

static u8 spcr_rev(const struct spcr_b *b)
{
	return b->rev ? b->rev : 2;
}

static void spcr_build(u64 phys, const struct spcr_b *b)
{
	u32 len = b->len ? b->len : 80;
	u8 *p = sdt_begin(phys, "SPCR", len);

	p[8] = spcr_rev(b);
	p[36] = b->iface;
	put_gas(p + 40, b->space, b->width, b->access, b->addr);
	p[52] = 3;		/* PC-AT IRQ and I/O APIC */
	p[53] = 4;
	put32(p + 54, 4);
	p[58] = b->baud;
	p[60] = 1;		/* one stop bit */
	p[61] = 2;		/* RTS/CTS */
	put16(p + 64, b->pci ? 0x9d27 : 0xffff);
	put16(p + 66, b->pci ? 0x8086 : 0xffff);
	if (b->pci) {
		p[68] = 2;	/* bus 2, device 0x1e, function 3 */
		p[69] = 0x1e;
		p[70] = 3;
		put32(p + 71, 1);
		p[75] = 0;
	}
	if (len >= 80)
		put32(p + 76, 1843200);
	if (len >= 84)
		put32(p + 80, b->precise);
	sdt_fix(p);
}

/* ------------------------------------------------------------ AML */

/* A DSDT or SSDT holding @n bytes of AML. */
static u8 *aml_table(u64 phys, const char *sig, const u8 *aml, u32 n)
{
	u8 *p = sdt_begin(phys, sig, 36 + n);

	p[8] = 2;
	memcpy(p + 36, aml, n);
	sdt_fix(p);
	return p;
}

/*
 * AML a real DSDT has before its \_S5: Name(_S4_, Package(4) {4, 4, 0, 0}),
 * then Store(_S5_, Local0) -- the name, but not after a NameOp. 20 bytes.
 */
static const u8 aml_head[] = {
	0x08, '_', 'S', '4', '_', 0x12, 0x08, 0x04, 0x0a, 0x04, 0x0a, 0x04,
	0x00, 0x00,
	0x70, '_', 'S', '5', '_', 0x60,
};
#define AML_HEAD_LEN 20
#define S5_OFF (36 + AML_HEAD_LEN) /* where a case's AML starts */

/* Name(_S5_, Package(4) { 5, 6, 0, 0 }) */
static const u8 aml_s5_std[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x06,
	0x00, 0x00,
};

/* Build the DSDT: aml_head, then @n bytes of @aml. */
static void dsdt_build(u64 phys, const char *sig, const u8 *aml, u32 n)
{
	static u8 body[0x5000];

	assert_true(AML_HEAD_LEN + n <= sizeof(body));
	memcpy(body, aml_head, AML_HEAD_LEN);
	if (n)
		memcpy(body + AML_HEAD_LEN, aml, n);
	aml_table(phys, sig, body, AML_HEAD_LEN + n);
}

static u8 rsdp[36];
static struct acpi_info info;

static void world_v0(void)
{
	const u64 e[] = { HPET_AT, MADT_AT, FADT_AT, SPCR_AT };

	hpet_standard(HPET_AT, 0, 0xfed00000, 56);
	madt_standard(MADT_AT);
	fadt_standard(FADT_AT);
	spcr_build(SPCR_AT, &spcr_com1);
	dsdt_build(DSDT_AT, "DSDT", aml_s5_std, sizeof(aml_s5_std));
	root_build(RSDT_AT, false, e, ARRAY_SIZE(e));
	rsdp_build(rsdp, 0, (u32)RSDT_AT, 0);
}

static void world_v2(void)
{
	const u64 e[] = { HPET_AT, FADT_AT, MADT_AT, SPCR_AT };

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
	assert_int_equal(info.fadt_revision, 4);
	assert_int_equal(info.dsdt_phys, DSDT_AT);
	assert_int_equal(info.smi_cmd, 0xb2);
	assert_int_equal(info.acpi_enable, 0xf0);
	assert_int_equal(info.pm1a_cnt_port, 0x604);
	assert_int_equal(info.pm1b_cnt_port, 0);
	assert_false(info.hw_reduced);
	assert_int_equal(info.sleep_ctl.address, 0);
}

/* The rest of the standard world: SPCR, HPET, \_S5 in the DSDT. */
static void check_standard_rest(void)
{
	assert_true(info.spcr_ok);
	assert_int_equal(info.spcr_phys, SPCR_AT);
	assert_int_equal(info.spcr.iface, ACPI_SPCR_16550);
	assert_int_equal(info.spcr.base.space_id, ACPI_GAS_IO);
	assert_int_equal(info.spcr.base.address, 0x3f8);
	assert_int_equal(info.spcr.baud, 115200);
	assert_false(info.spcr.pci);
	assert_true(info.hpet_ok);
	assert_int_equal(info.hpet_base, 0xfed00000);
	assert_true(info.s5_ok);
	assert_int_equal(info.slp_typa, 5);
	assert_int_equal(info.slp_typb, 6);
	assert_int_equal(info.s5_phys, DSDT_AT);
	assert_int_equal(info.nr_ssdts_scanned, 0);
	assert_string_equal(info.spcr_error, "");
	assert_string_equal(info.hpet_error, "");
	assert_string_equal(info.s5_error, "");
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
	check_standard_rest();
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
	check_standard_rest();
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

/*
 * Sparse 32-bit IDs far above 255 (as on a large machine) keep their order
 * and full width, and decide x2APIC mode (drivers/lapic.c) with the rule
 * lapic_want_x2apic() states.
 */
static void test_madt_x2apic_large_ids(void **state)
{
	static const u32 ids[] = { 0x0, 0xfe, 0xff, 0x100, 0x1000, 0x12345678,
				   0xfffffffeu };
	struct madt_b b = madt_fresh();
	u32 max = 0;
	unsigned int i;

	(void)state;
	madt_lapic(&b, 0, 0, 1);
	madt_lapic(&b, 1, 0xfe, 1); /* the highest ID xAPIC can address */
	for (i = 2; i < sizeof(ids) / sizeof(ids[0]); i++)
		madt_x2apic(&b, ids[i], 1, 100 + i);
	assert_int_equal(parse_with_madt(&b), 0);
	assert_true(info.madt_ok);
	assert_int_equal(info.nr_cpus, sizeof(ids) / sizeof(ids[0]));
	for (i = 0; i < info.nr_cpus; i++) {
		assert_int_equal(info.cpus[i].apic_id, ids[i]);
		assert_int_equal(info.cpus[i].x2apic, i >= 2);
		max = MAX(max, info.cpus[i].apic_id);
	}
	assert_int_equal(max, 0xfffffffeu);

	/* IDs beyond 254 need x2APIC, when the CPU has it and x2apic=off
	 * does not refuse it; firmware's x2APIC mode always stays. */
	assert_true(lapic_want_x2apic(false, true, X2APIC_OPT_DEFAULT, max));
	assert_false(lapic_want_x2apic(false, false, X2APIC_OPT_DEFAULT, max));
	assert_false(lapic_want_x2apic(false, true, X2APIC_OPT_OFF, max));
	assert_true(lapic_want_x2apic(true, true, X2APIC_OPT_OFF, max));
	/* 255 is xAPIC's broadcast: a CPU with that ID needs x2APIC too. */
	assert_true(lapic_want_x2apic(false, true, X2APIC_OPT_DEFAULT, 0xff));
	assert_false(lapic_want_x2apic(false, true, X2APIC_OPT_DEFAULT, 0xfe));
	/* Small IDs: only x2apic=on (on a CPU that has it) or the firmware. */
	assert_true(lapic_want_x2apic(false, true, X2APIC_OPT_ON, 3));
	assert_false(lapic_want_x2apic(false, false, X2APIC_OPT_ON, 3));
	assert_true(lapic_want_x2apic(true, false, X2APIC_OPT_DEFAULT, 3));
	assert_false(lapic_want_x2apic(false, true, X2APIC_OPT_DEFAULT, 0));
}

/*
 * Local-APIC NMI entries (types 4 and 0xA): every CPU's LINT1, one CPU's
 * LINT0 active low by UID, an x2APIC UID; a LINT2 and the ninth entry are
 * reported and dropped, and the CPUs stay.
 */
static void test_madt_lapic_nmi(void **state)
{
	static const u8 all_lint1[] = { 4, 6, 0xff, 0x00, 0x00, 1 };
	static const u8 uid1_lint0[] = { 4, 6, 1, 0x03, 0x00, 0 };
	static const u8 lint2[] = { 4, 6, 2, 0x00, 0x00, 2 };
	static const u8 x2_uid7_lint0[] = { 10, 12, 0x0d, 0x00, 7, 0, 0, 0,
					    0, 0, 0, 0 };
	struct madt_b b = madt_fresh();
	u16 flags[2] = { 0, 0 };

	(void)state;
	madt_raw(&b, all_lint1, sizeof(all_lint1));
	madt_lapic(&b, 0, 0, 1);
	madt_lapic(&b, 1, 2, 1);
	madt_x2apic(&b, 0x300, 1, 7);
	madt_raw(&b, uid1_lint0, sizeof(uid1_lint0));
	madt_raw(&b, x2_uid7_lint0, sizeof(x2_uid7_lint0));
	madt_raw(&b, lint2, sizeof(lint2));
	for (unsigned int i = 0; i < ACPI_MAX_LAPIC_NMIS; i++)
		madt_raw(&b, all_lint1, sizeof(all_lint1));
	assert_int_equal(parse_with_madt(&b), 0);
	assert_true(info.madt_ok);
	assert_int_equal(info.nr_cpus, 3);
	assert_int_equal(info.nr_lapic_nmis, ACPI_MAX_LAPIC_NMIS);
	assert_contains(info.error, "names LINT2");
	assert_int_equal(info.lapic_nmis[0].uid, ACPI_NMI_ALL_CPUS);

	assert_int_equal(acpi_lapic_nmi_pins(&info, 0, flags), 2);
	assert_int_equal(acpi_lapic_nmi_pins(&info, 2, flags), 3);
	assert_int_equal(flags[0], 3);
	assert_int_equal(flags[1], 0);
	assert_int_equal(acpi_lapic_nmi_pins(&info, 0x300, flags), 3);
	assert_int_equal(flags[0], 0x0d);
	assert_int_equal(acpi_lapic_nmi_pins(&info, 5, flags), 0); /* unlisted */
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

/* ------------------------------------------------------------ SPCR */

struct spcr_case {
	const char *name;
	struct spcr_b b;
	bool spoil_sum;
	const char *msg;	/* NULL: must be accepted, with these: */
	u8 width, shift;
	u32 baud;
	bool pci;
};

#define SPCR_B(...) { __VA_ARGS__ }

static const struct spcr_case spcr_cases[] = {
	{ "I/O port, revision 1, 115200",
	  SPCR_B(.rev = 1, .space = 1, .width = 8, .access = 1, .addr = 0x3f8,
		 .baud = 7), .width = 8, .shift = 0, .baud = 115200 },
	{ "16450 at 0x2f8, 9600, access size undefined",
	  SPCR_B(.iface = 1, .space = 1, .width = 8, .addr = 0x2f8, .baud = 3),
	  .width = 8, .shift = 0, .baud = 9600 },
	{ "19200", SPCR_B(.space = 1, .width = 8, .addr = 0x3f8, .baud = 4),
	  .width = 8, .baud = 19200 },
	{ "57600", SPCR_B(.space = 1, .width = 8, .addr = 0x3f8, .baud = 6),
	  .width = 8, .baud = 57600 },
	{ "MMIO 32-bit registers with a stride, baud as is",
	  SPCR_B(.iface = 0x12, .space = 0, .width = 32, .access = 3,
		 .addr = 0xfe032000, .baud = 0), .width = 32, .shift = 2 },
	{ "MMIO, access size undefined: the bit width decides",
	  SPCR_B(.space = 0, .width = 32, .access = 0, .addr = 0xfe032000,
		 .baud = 7), .width = 32, .shift = 2, .baud = 115200 },
	{ "MMIO 16-bit", SPCR_B(.space = 0, .width = 16, .access = 2,
				.addr = 0xfe032000, .baud = 7),
	  .width = 16, .shift = 1, .baud = 115200 },
	{ "MMIO byte registers", SPCR_B(.space = 0, .width = 8, .access = 1,
					.addr = 0xfedc9000, .baud = 7),
	  .width = 8, .shift = 0, .baud = 115200 },
	/* As Linux reads it: the access size wins over the bit width. */
	{ "MMIO bit width 32, byte access",
	  SPCR_B(.iface = 0x12, .space = 0, .width = 32, .access = 1,
		 .addr = 0xfedc9000, .baud = 7), .width = 8, .baud = 115200 },
	{ "PCI serial card", SPCR_B(.space = 1, .width = 8, .access = 1,
				    .addr = 0xe000, .baud = 7, .pci = true),
	  .width = 8, .baud = 115200, .pci = true },
	{ "revision 4: precise baud rate", SPCR_B(.rev = 4, .len = 90,
		.space = 1, .width = 8, .addr = 0x3f8, .baud = 7,
		.precise = 1500000), .width = 8, .baud = 1500000 },
	{ "revision 4: precise 0 keeps the code", SPCR_B(.rev = 4, .len = 88,
		.space = 1, .width = 8, .addr = 0x3f8, .baud = 6),
	  .width = 8, .baud = 57600 },
	{ "revision 2: no precise field, whatever is there",
	  SPCR_B(.len = 88, .space = 1, .width = 8, .addr = 0x3f8, .baud = 7,
		 .precise = 1500000), .width = 8, .baud = 115200 },
	{ "bad length", SPCR_B(.len = 79, .space = 1, .addr = 0x3f8),
	  .msg = "SPCR: length 79 < 80" },
	{ "bad checksum", SPCR_B(.space = 1, .addr = 0x3f8, .baud = 7),
	  .spoil_sum = true, .msg = "SPCR at 0x7fe5000: bad checksum" },
	{ "PL011", SPCR_B(.iface = 3, .space = 0, .addr = 0x9000000),
	  .msg = "SPCR: interface type 0x3 (ARM PL011) not supported" },
	{ "interface type nobody knows", SPCR_B(.iface = 0x7f, .space = 1),
	  .msg = "SPCR: interface type 0x7f (unknown) not supported" },
	{ "baud rate code 5", SPCR_B(.space = 1, .addr = 0x3f8, .baud = 5),
	  .msg = "SPCR: baud rate code 5 unknown" },
	{ "port past 0xfff8", SPCR_B(.space = 1, .addr = 0xfffa, .baud = 7),
	  .msg = "SPCR: port 0xfffa out of range" },
	{ "port 0", SPCR_B(.space = 1, .addr = 0, .baud = 7),
	  .msg = "SPCR: port 0x0 out of range" },
	{ "PCI configuration space", SPCR_B(.space = 2, .addr = 0x3f8),
	  .msg = "SPCR: base in address space 2, not memory or I/O" },
	{ "64-bit registers", SPCR_B(.space = 0, .width = 64, .access = 4,
				     .addr = 0xfe032000, .baud = 7),
	  .msg = "SPCR: no 8, 16 or 32-bit registers (bit width 64, access size 4)" },
	{ "MMIO at 0", SPCR_B(.space = 0, .width = 32, .access = 3, .baud = 7),
	  .msg = "SPCR: base address 0x0 unusable" },
	{ "MMIO wrapping", SPCR_B(.space = 0, .width = 32, .access = 3,
				  .addr = 0xfffffffffffffff0ull, .baud = 7),
	  .msg = "SPCR: base address 0xfffffffffffffff0 unusable" },
};

static void check_spcr_case(const struct spcr_case *c)
{
	assert_true(info.madt_ok);
	assert_true(info.fadt_ok);
	assert_int_equal(info.spcr_phys, SPCR_AT);
	if (c->msg) {
		assert_false(info.spcr_ok);
		assert_contains(info.spcr_error, c->msg);
		assert_contains(info.error, c->msg);
		/* Nothing half-believed stays behind. */
		assert_int_equal(info.spcr.base.address, 0);
		assert_int_equal(info.spcr.baud, 0);
		return;
	}
	assert_true(info.spcr_ok);
	assert_string_equal(info.spcr_error, "");
	assert_int_equal(info.spcr.revision, spcr_rev(&c->b));
	assert_int_equal(info.spcr.iface, c->b.iface);
	assert_int_equal(info.spcr.base.space_id, c->b.space);
	assert_int_equal(info.spcr.base.address, c->b.addr);
	assert_int_equal(info.spcr.reg_width, c->width);
	assert_int_equal(info.spcr.reg_shift, c->shift);
	assert_int_equal(info.spcr.baud_code, c->b.baud);
	assert_int_equal(info.spcr.baud, c->baud);
	assert_int_equal(info.spcr.flow_control, 2);
	assert_int_equal(info.spcr.irq, 4);
	assert_int_equal(info.spcr.gsi, 4);
	assert_int_equal(info.spcr.uart_clock,
			 spcr_rev(&c->b) >= 3 ? 1843200 : 0);
	assert_int_equal(info.spcr.pci, c->pci);
	if (!c->pci)
		return;
	assert_int_equal(info.spcr.pci_vendor_id, 0x8086);
	assert_int_equal(info.spcr.pci_device_id, 0x9d27);
	assert_int_equal(info.spcr.pci_bus, 2);
	assert_int_equal(info.spcr.pci_dev, 0x1e);
	assert_int_equal(info.spcr.pci_fn, 3);
	assert_int_equal(info.spcr.pci_flags, 1);
}

static void test_spcr_table(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(spcr_cases); i++) {
		const struct spcr_case *c = &spcr_cases[i];

		print_message("  %s\n", c->name);
		setup(NULL);
		world_v0();
		spcr_build(SPCR_AT, &c->b);
		if (c->spoil_sum)
			at(SPCR_AT)[58] ^= 1;
		assert_int_equal(parse(), 0);
		check_spcr_case(c);
	}
}

/* Most PCs have none: that is no problem to report. */
static void test_spcr_absent(void **state)
{
	const u64 e[] = { HPET_AT, MADT_AT, FADT_AT };

	(void)state;
	world_v0();
	root_build(RSDT_AT, false, e, ARRAY_SIZE(e));
	assert_int_equal(parse(), 0);
	assert_false(info.spcr_ok);
	assert_int_equal(info.spcr_phys, 0);
	assert_string_equal(info.spcr_error, "");
	assert_string_equal(info.error, "");
}

static void test_spcr_iface_names(void **state)
{
	(void)state;
	assert_string_equal(acpi_spcr_iface_name(0), "16550");
	assert_string_equal(acpi_spcr_iface_name(1), "16450");
	assert_string_equal(acpi_spcr_iface_name(0x12), "16550 (GAS)");
	assert_string_equal(acpi_spcr_iface_name(0x0e), "ARM SBSA");
	assert_string_equal(acpi_spcr_iface_name(0xff), "unknown");
}

/* ------------------------------------------------------------ HPET */

static void test_hpet_good(void **state)
{
	(void)state;
	world_v0();
	assert_int_equal(parse(), 0);
	assert_true(info.hpet_ok);
	assert_int_equal(info.hpet_phys, HPET_AT);
	assert_int_equal(info.hpet_base, 0xfed00000);
	assert_int_equal(info.hpet_block_id, 0x8086a701);
	assert_int_equal(info.hpet_hw_rev, 1);
	assert_int_equal(info.hpet_timers, 8);
	assert_true(info.hpet_64bit);
	assert_true(info.hpet_legacy);
	assert_int_equal(info.hpet_vendor_id, 0x8086);
	assert_int_equal(info.hpet_number, 0);
	assert_int_equal(info.hpet_min_tick, 0x80);
	assert_string_equal(info.hpet_error, "");
}

static const struct hpet_case {
	const char *name;
	u8 space;
	u64 base;
	u32 len;
	const char *msg;
} hpet_cases[] = {
	{ "base in I/O space", 1, 0xfed0, 56,
	  "HPET: base in address space 1, not memory" },
	{ "short", 0, 0xfed00000, 52, "HPET: length 52 < 56" },
	{ "header only", 0, 0xfed00000, 36, "HPET: length 36 < 56" },
	{ "base 0", 0, 0, 56, "HPET: base address 0x0 unusable" },
	{ "base wraps", 0, 0xfffffffffffffc01ull, 56,
	  "HPET: base address 0xfffffffffffffc01 unusable" },
};

static void test_hpet_bad(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(hpet_cases); i++) {
		const struct hpet_case *c = &hpet_cases[i];

		print_message("  %s\n", c->name);
		setup(NULL);
		world_v0();
		hpet_standard(HPET_AT, c->space, c->base, c->len);
		assert_int_equal(parse(), 0);
		assert_false(info.hpet_ok);
		assert_int_equal(info.hpet_base, 0);
		assert_contains(info.hpet_error, c->msg);
		assert_true(info.madt_ok);
		assert_true(info.fadt_ok);
		assert_true(info.spcr_ok);
	}
	/* The checksum too. */
	setup(NULL);
	world_v0();
	at(HPET_AT)[44] ^= 1;
	assert_int_equal(parse(), 0);
	assert_false(info.hpet_ok);
	assert_contains(info.hpet_error, "HPET at 0x7fe4000: bad checksum");
}

/* ------------------------------------------------------------ FADT sleep */

/* ACPI 1.0: 116 bytes, no X_ fields, PM1a control only. */
static void test_fadt_sleep_acpi1(void **state)
{
	u8 *p;

	(void)state;
	world_v0();
	p = fadt_begin(FADT_AT, 116);
	put32(p + 40, (u32)DSDT_AT);
	put32(p + 48, 0xb2);
	p[52] = 0xe1;
	put32(p + 64, 0x404);
	p[89] = 2;
	sdt_fix(p);
	assert_int_equal(parse(), 0);
	assert_true(info.fadt_ok);
	assert_int_equal(info.fadt_revision, 1);
	assert_int_equal(info.dsdt_phys, DSDT_AT);
	assert_int_equal(info.smi_cmd, 0xb2);
	assert_int_equal(info.acpi_enable, 0xe1);
	assert_int_equal(info.pm1a_cnt_port, 0x404);
	assert_int_equal(info.pm1b_cnt_port, 0);
	assert_false(info.hw_reduced);
	assert_true(info.s5_ok);
	assert_int_equal(info.slp_typa, 5);
	assert_int_equal(info.slp_typb, 6);
}

/* ACPI 2.0+: the X_ forms win when set; PM1b when there is one. */
static void test_fadt_sleep_x_fields(void **state)
{
	u8 *p;

	(void)state;
	world_v0();
	dsdt_build(SSDT1_AT, "DSDT", aml_s5_std, sizeof(aml_s5_std));
	p = at(FADT_AT);
	put32(p + 68, 0x4404);
	put_gas(p + 172, 1, 16, 2, 0x1004);	/* X_PM1a: wins over 0x604 */
	put_gas(p + 184, 0, 16, 2, 0xfe000000); /* X_PM1b in memory: legacy */
	put64(p + 140, SSDT1_AT);		/* X_DSDT: wins over DSDT */
	sdt_fix(p);
	assert_int_equal(parse(), 0);
	assert_int_equal(info.pm1a_cnt_port, 0x1004);
	assert_int_equal(info.pm1b_cnt_port, 0x4404);
	assert_int_equal(info.dsdt_phys, SSDT1_AT);
	assert_true(info.s5_ok);
	assert_int_equal(info.s5_phys, SSDT1_AT);

	/* A control block above 0xffff is no port: noted, and no S5. */
	setup(NULL);
	world_v0();
	p = at(FADT_AT);
	put_gas(p + 172, 1, 16, 2, 0x10004);
	sdt_fix(p);
	assert_int_equal(parse(), 0);
	assert_true(info.fadt_ok);
	assert_int_equal(info.pm1a_cnt_port, 0);
	assert_contains(info.error, "FADT: PM1a control block 0x10004 is not a port");
	assert_false(info.s5_ok);
	assert_contains(info.s5_error, "S5: the FADT has no PM1a control block");
}

/* A hardware-reduced ACPI 6 FADT, as on many Atom and ARM-like boards. */
static u8 *fadt_hw_reduced(u8 rev, u32 flags, u32 len)
{
	u8 *p = fadt_begin(FADT_AT, len);

	p[8] = rev;
	put32(p + 112, flags);
	put64(p + 140, DSDT_AT);
	if (len >= 268) {
		put_gas(p + 244, 1, 8, 1, 0x1804);
		put_gas(p + 256, 1, 8, 1, 0x1800);
	}
	sdt_fix(p);
	return p;
}

static void test_fadt_sleep_hw_reduced(void **state)
{
	(void)state;
	world_v0();
	fadt_hw_reduced(6, 1u << 20, FADT_FULL_LEN);
	assert_int_equal(parse(), 0);
	assert_true(info.fadt_ok);
	assert_true(info.hw_reduced);
	assert_int_equal(info.pm1a_cnt_port, 0);
	assert_int_equal(info.sleep_ctl.space_id, ACPI_GAS_IO);
	assert_int_equal(info.sleep_ctl.bit_width, 8);
	assert_int_equal(info.sleep_ctl.address, 0x1804);
	assert_int_equal(info.sleep_sts.address, 0x1800);
	assert_int_equal(info.smi_cmd, 0);
	assert_true(info.s5_ok);
	assert_int_equal(info.slp_typa, 5);
	assert_string_equal(info.error, "");

	/* Bit 20 of a revision 4 FADT is a reserved bit, not the mode. */
	setup(NULL);
	world_v0();
	fadt_hw_reduced(4, 1u << 20, FADT_FULL_LEN);
	assert_int_equal(parse(), 0);
	assert_false(info.hw_reduced);
	assert_false(info.s5_ok);
	assert_contains(info.s5_error, "S5: the FADT has no PM1a control block");

	/* Hardware-reduced, but too short for the sleep registers. */
	setup(NULL);
	world_v0();
	fadt_hw_reduced(5, 1u << 20, 244);
	assert_int_equal(parse(), 0);
	assert_true(info.hw_reduced);
	assert_int_equal(info.sleep_ctl.address, 0);
	assert_false(info.s5_ok);
	assert_int_equal(info.slp_typa, 0);
	assert_contains(info.s5_error,
			"S5: hardware-reduced FADT without SLEEP_CONTROL_REG");

	/* A sleep control register in PCI configuration space. */
	setup(NULL);
	world_v0();
	put_gas(fadt_hw_reduced(6, 1u << 20, FADT_FULL_LEN) + 244, 2, 8, 1, 4);
	sdt_fix(at(FADT_AT));
	assert_int_equal(parse(), 0);
	assert_false(info.s5_ok);
	assert_contains(info.s5_error,
			"S5: SLEEP_CONTROL_REG 0x4 in address space 2");
}

/* A FADT refused whole leaves no sleep register behind. */
static void test_fadt_sleep_discarded(void **state)
{
	(void)state;
	world_v0();
	at(FADT_AT)[100] ^= 1;
	assert_int_equal(parse(), 0);
	assert_false(info.fadt_ok);
	assert_int_equal(info.pm1a_cnt_port, 0);
	assert_int_equal(info.dsdt_phys, 0);
	assert_int_equal(info.smi_cmd, 0);
	assert_false(info.s5_ok);
	assert_string_equal(info.s5_error, "S5: no usable FADT");
}

/* ------------------------------------------------------------ \_S5 */

struct s5_case {
	const char *name;
	u8 aml[32];
	u32 len;
	int typa, typb;		/* -1: refused with @msg */
	const char *msg;
};

#define NAME_S5 0x08, '_', 'S', '5', '_'

static const struct s5_case s5_cases[] = {
	{ "byte prefixes", { NAME_S5, 0x12, 0x08, 0x04, 0x0a, 0x07, 0x0a, 0x03,
			     0x00, 0x00 }, 14, 7, 3, NULL },
	{ "Zero and One opcodes", { NAME_S5, 0x12, 0x06, 0x04, 0x00, 0x01, 0x00,
				    0x00 }, 12, 0, 1, NULL },
	{ "root prefix", { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02,
			   0x0a, 0x05, 0x0a, 0x05 }, 13, 5, 5, NULL },
	{ "parent prefixes", { 0x08, '^', '^', '_', 'S', '5', '_', 0x12, 0x04,
			       0x02, 0x01, 0x01 }, 12, 1, 1, NULL },
	{ "word, dword, qword", { NAME_S5, 0x12, 0x13, 0x03, 0x0b, 0x07, 0x00,
				  0x0c, 0x02, 0x00, 0x00, 0x00, 0x0e, 0x01 },
	  25, 7, 2, NULL },
	{ "2-byte PkgLength, not minimal", { NAME_S5, 0x12, 0x47, 0x00, 0x02,
					     0x0a, 0x05, 0x0a, 0x04 },
	  13, 5, 4, NULL },
	{ "two elements, more declared", { NAME_S5, 0x12, 0x06, 0x04, 0x0a,
					   0x05, 0x0a, 0x06 }, 12, 5, 6, NULL },
	{ "not a package", { NAME_S5, 0x0a, 0x05 }, 7, -1, -1,
	  "_S5_ at +0x38 is not a Package" },
	{ "name at the very end", { NAME_S5 }, 5, -1, -1,
	  "_S5_ at +0x38 is not a Package" },
	{ "PkgLength past the table", { NAME_S5, 0x12, 0x20, 0x02, 0x0a, 0x05,
					0x0a, 0x05 }, 12, -1, -1,
	  "package at +0x3e (PkgLength 32) runs past the end (0x6 bytes left)" },
	{ "4-byte PkgLength cut off", { NAME_S5, 0x12, 0xc0, 0x01 }, 8, -1, -1,
	  "4-byte PkgLength at +0x3e runs past the end" },
	{ "3-byte PkgLength one byte short", { NAME_S5, 0x12, 0x80, 0x01 }, 8,
	  -1, -1, "3-byte PkgLength at +0x3e runs past the end" },
	{ "PkgLength missing", { NAME_S5, 0x12 }, 6, -1, -1,
	  "PkgLength at +0x3e is past the end" },
	{ "PkgLength too short", { NAME_S5, 0x12, 0x01, 0x02, 0x0a, 0x05 },
	  10, -1, -1, "PkgLength 1 at +0x3e is too short" },
	{ "one element", { NAME_S5, 0x12, 0x04, 0x01, 0x0a, 0x05 }, 10, -1, -1,
	  "_S5_ at +0x38 has 1 elements, not 2" },
	{ "package ends in an element", { NAME_S5, 0x12, 0x05, 0x02, 0x0a,
					  0x05, 0x0c, 0x05, 0x00, 0x00, 0x00 },
	  15, -1, -1, "element 1 at +0x42 runs past the package end" },
	/* The table goes on; the package does not. */
	{ "element one byte short", { NAME_S5, 0x12, 0x08, 0x02, 0x0a, 0x05,
				      0x0c, 0x05, 0x00, 0x00, 0x00 },
	  15, -1, -1, "element 1 at +0x42 runs past the package end" },
	{ "package ends before element 1", { NAME_S5, 0x12, 0x04, 0x02, 0x0a,
					     0x05, 0x0a, 0x05 },
	  12, -1, -1, "element 1 at +0x42 is past the package end" },
	{ "a name, not a constant", { NAME_S5, 0x12, 0x0a, 0x02, 'S', 'L', 'P',
				      'A', 'S', 'L', 'P', 'B' },
	  16, -1, -1, "element 0 at +0x40: opcode 0x53 is no integer constant" },
	{ "SLP_TYP of 8", { NAME_S5, 0x12, 0x06, 0x02, 0x0a, 0x05, 0x0a, 0x08 },
	  12, -1, -1, "SLP_TYPb 0x8 does not fit 3 bits" },
	{ "Ones", { NAME_S5, 0x12, 0x04, 0x02, 0xff, 0x00 }, 10, -1, -1,
	  "SLP_TYPa 0xffffffffffffffff does not fit 3 bits" },
};

static void test_s5_table(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(s5_cases); i++) {
		const struct s5_case *c = &s5_cases[i];

		print_message("  %s\n", c->name);
		setup(NULL);
		world_v0();
		dsdt_build(DSDT_AT, "DSDT", c->aml, c->len);
		assert_int_equal(parse(), 0);
		assert_true(info.fadt_ok);
		if (c->typa < 0) {
			assert_false(info.s5_ok);
			assert_int_equal(info.slp_typa, 0);
			assert_int_equal(info.s5_phys, 0);
			assert_contains(info.s5_error, "S5: DSDT at 0x7fe6000: ");
			assert_contains(info.s5_error, c->msg);
			continue;
		}
		if (!info.s5_ok)
			fail_msg("refused: %s", info.s5_error);
		assert_int_equal(info.slp_typa, c->typa);
		assert_int_equal(info.slp_typb, c->typb);
		assert_string_equal(info.error, "");
	}
}

/* PkgLength (ACPI 20.2.4) written here independently of the parser. */
static u32 pkglen_put(u8 *p, u32 payload)
{
	u32 n = payload + 1 <= 0x3f ? 1 : payload + 2 <= 0xfff ? 2 :
		payload + 3 <= 0xfffff ? 3 : 4;
	u32 len = payload + n, i;

	if (n == 1) {
		p[0] = (u8)len;
		return 1;
	}
	p[0] = (u8)(((n - 1) << 6) | (len & 0xf));
	for (i = 1; i < n; i++)
		p[i] = (u8)(len >> (4 + 8 * (i - 1)));
	return n;
}

/*
 * Name(_S5_, Package(3) { 3, 4, "xxx..." }) with a @str_len-character
 * string, so that the PkgLength needs more than one byte.
 */
static u32 s5_long(u8 *aml, u32 str_len)
{
	u32 payload = 1 + 2 + 2 + 1 + str_len + 1, n = 0;

	memcpy(aml, (const u8[]){ NAME_S5, 0x12 }, 6);
	n = 6 + pkglen_put(aml + 6, payload);
	aml[n++] = 3;
	memcpy(aml + n, (const u8[]){ 0x0a, 3, 0x0a, 4, 0x0d }, 5);
	n += 5;
	memset(aml + n, 'x', str_len);
	n += str_len;
	aml[n++] = 0;
	return n;
}

static void test_s5_long_pkglength(void **state)
{
	static const struct {
		u32 str_len, pkglen_bytes;
	} sizes[] = { { 50, 1 }, { 60, 2 }, { 200, 2 }, { 4080, 2 },
		      { 4100, 3 }, { 0x4f00, 3 } };
	static u8 aml[0x5000];
	unsigned int i;
	u32 n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		print_message("  string of %u\n", sizes[i].str_len);
		setup(NULL);
		world_v0();
		n = s5_long(aml, sizes[i].str_len);
		assert_int_equal(aml[6] >> 6, sizes[i].pkglen_bytes - 1);
		dsdt_build(DSDT_AT, "DSDT", aml, n);
		assert_int_equal(parse(), 0);
		if (!info.s5_ok)
			fail_msg("refused: %s", info.s5_error);
		assert_int_equal(info.slp_typa, 3);
		assert_int_equal(info.slp_typb, 4);
		/* One byte short of its PkgLength: refused. */
		setup(NULL);
		world_v0();
		dsdt_build(DSDT_AT, "DSDT", aml, n - 1);
		assert_int_equal(parse(), 0);
		assert_false(info.s5_ok);
		assert_contains(info.s5_error, "runs past the end");
	}
}

/* Two SSDTs in the root after the others; the DSDT has no _S5. */
static void world_ssdts(const u8 *aml1, u32 n1, const u8 *aml2, u32 n2)
{
	const u64 e[] = { HPET_AT, SSDT1_AT, MADT_AT, FADT_AT, SPCR_AT,
			  SSDT2_AT };

	world_v0();
	dsdt_build(DSDT_AT, "DSDT", NULL, 0);
	dsdt_build(SSDT1_AT, "SSDT", aml1, n1);
	dsdt_build(SSDT2_AT, "SSDT", aml2, n2);
	root_build(RSDT_AT, false, e, ARRAY_SIZE(e));
}

static const u8 aml_s5_other[] = {
	0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x07, 0x0a,
	0x07,
};

static void test_s5_in_ssdt(void **state)
{
	(void)state;
	world_ssdts(NULL, 0, aml_s5_other, sizeof(aml_s5_other));
	assert_int_equal(parse(), 0);
	assert_true(info.s5_ok);
	assert_int_equal(info.s5_phys, SSDT2_AT);
	assert_int_equal(info.nr_ssdts_scanned, 2);
	assert_int_equal(info.slp_typa, 7);
	assert_string_equal(info.error, "");

	/* The first SSDT that names it wins. */
	setup(NULL);
	world_ssdts(aml_s5_std, sizeof(aml_s5_std), aml_s5_other,
		    sizeof(aml_s5_other));
	assert_int_equal(parse(), 0);
	assert_int_equal(info.s5_phys, SSDT1_AT);
	assert_int_equal(info.nr_ssdts_scanned, 1);
	assert_int_equal(info.slp_typa, 5);

	/* The DSDT's own comes before any SSDT's. */
	setup(NULL);
	world_ssdts(aml_s5_other, sizeof(aml_s5_other), NULL, 0);
	dsdt_build(DSDT_AT, "DSDT", aml_s5_std, sizeof(aml_s5_std));
	assert_int_equal(parse(), 0);
	assert_int_equal(info.s5_phys, DSDT_AT);
	assert_int_equal(info.nr_ssdts_scanned, 0);
}

static void test_s5_absent(void **state)
{
	static const u8 broken[] = { NAME_S5, 0x12, 0x04, 0x01, 0x0a, 0x05 };

	(void)state;
	world_ssdts(NULL, 0, NULL, 0);
	assert_int_equal(parse(), 0);
	assert_false(info.s5_ok);
	assert_int_equal(info.nr_ssdts_scanned, 2);
	assert_string_equal(info.s5_error, "S5: no _S5_ in the DSDT or 2 SSDTs");

	/* A broken _S5 decides: a later good one would not load either. */
	setup(NULL);
	world_ssdts(broken, sizeof(broken), aml_s5_other,
		    sizeof(aml_s5_other));
	assert_int_equal(parse(), 0);
	assert_false(info.s5_ok);
	assert_int_equal(info.nr_ssdts_scanned, 1);
	assert_contains(info.s5_error, "S5: SSDT at 0x7feb000: _S5_ at +0x38");

	/* No DSDT named at all. */
	setup(NULL);
	world_v0();
	put32(at(FADT_AT) + 40, 0);
	put64(at(FADT_AT) + 140, 0);
	sdt_fix(at(FADT_AT));
	assert_int_equal(parse(), 0);
	assert_false(info.s5_ok);
	assert_string_equal(info.s5_error, "S5: the FADT names no DSDT");
}

/* A bad DSDT checksum is common on real boards: noted, scanned anyway. */
static void test_s5_dsdt_checksum(void **state)
{
	(void)state;
	world_v0();
	at(DSDT_AT)[40] ^= 1;
	assert_int_equal(parse(), 0);
	assert_true(info.s5_ok);
	assert_int_equal(info.slp_typa, 5);
	assert_string_equal(info.error,
			    "DSDT at 0x7fe6000: bad checksum, scanned anyway");
	assert_string_equal(info.s5_error, "");
}

/* An unreadable DSDT costs the DSDT only; an SSDT may still name _S5. */
static void test_s5_dsdt_unreadable(void **state)
{
	(void)state;
	world_ssdts(NULL, 0, aml_s5_other, sizeof(aml_s5_other));
	put64(at(FADT_AT) + 140, HOLE_AT);
	sdt_fix(at(FADT_AT));
	assert_int_equal(parse(), 0);
	assert_true(info.s5_ok);
	assert_int_equal(info.s5_phys, SSDT2_AT);
	assert_string_equal(info.s5_error, "");
	assert_contains(info.error, "DSDT at 0x90000000: not mapped");

	/* With no SSDT to help, the DSDT's problem is the reason given. */
	setup(NULL);
	world_v0();
	memcpy(at(DSDT_AT), "SSDT", 4);
	sdt_fix(at(DSDT_AT));
	assert_int_equal(parse(), 0);
	assert_false(info.s5_ok);
	assert_string_equal(info.s5_error,
			    "DSDT at 0x7fe6000: signature is not DSDT");
}

/* The scanner on its own, as the fuzzer calls it. */
static void test_aml_find_s5_direct(void **state)
{
	static const u8 aml[] = { 0x00, NAME_S5, 0x12, 0x04, 0x02, 0x01, 0x00 };
	char why[8];
	u8 a = 9, b = 9;

	(void)state;
	assert_int_equal(acpi_aml_find_s5(NULL, 10, 0, &a, &b, why,
					  sizeof(why)), -HV_ENOENT);
	assert_int_equal(acpi_aml_find_s5(aml, sizeof(aml), sizeof(aml), &a, &b,
					  why, sizeof(why)), -HV_ENOENT);
	/* Starting past the NameOp: not found. */
	assert_int_equal(acpi_aml_find_s5(aml, sizeof(aml), 2, &a, &b, why,
					  sizeof(why)), -HV_ENOENT);
	assert_int_equal(acpi_aml_find_s5(aml, sizeof(aml), 0, &a, &b, why,
					  sizeof(why)), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 0);
	assert_string_equal(why, "");
	/* A short reason buffer truncates; a zero-sized one is left alone. */
	assert_int_equal(acpi_aml_find_s5(aml, sizeof(aml) - 1, 0, &a, &b, why,
					  sizeof(why)), -HV_EINVAL);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_int_equal(acpi_aml_find_s5(aml, sizeof(aml) - 1, 0, &a, &b, NULL,
					  0), -HV_EINVAL);
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
		T(test_madt_x2apic_large_ids),
		T(test_madt_lapic_nmi),
		T(test_madt_x2apic_duplicates_xapic),
		T(test_fadt_bad_checksum),
		T(test_fadt_too_short),
		T(test_fadt_table),
		T(test_spcr_table),
		T(test_spcr_absent),
		T(test_spcr_iface_names),
		T(test_hpet_good),
		T(test_hpet_bad),
		T(test_fadt_sleep_acpi1),
		T(test_fadt_sleep_x_fields),
		T(test_fadt_sleep_hw_reduced),
		T(test_fadt_sleep_discarded),
		T(test_s5_table),
		T(test_s5_long_pkglength),
		T(test_s5_in_ssdt),
		T(test_s5_absent),
		T(test_s5_dsdt_checksum),
		T(test_s5_dsdt_unreadable),
		T(test_aml_find_s5_direct),
		T(test_scan_ebda),
		T(test_scan_bios_area),
		T(test_scan_rejects_bad_checksum),
		T(test_scan_misc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
