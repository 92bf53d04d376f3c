/*
 * Unit tests for the ACPI tables of a Linux VM (kernel/guest/acpi_build.c).
 *
 * The output is read back twice: byte by byte here, against the ACPI 6.0
 * layouts (every checksum, signature, length, pointer, FADT register and
 * MADT entry, the DSDT's AML byte for byte), and through Lamina's own host
 * parser (drivers/acpi_tables.c),
 * which must find the RSDP by the BIOS scan, the CPUs, the IOAPIC, the
 * FADT's reset and sleep registers and the DSDT's \_S5: two independent
 * pieces that have to agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>

#define HIGH_GPA 0x1234560000ull /* tables above 4 GiB */
#define CANARY 0xc5

static u8 buf[LINUX_ACPI_SIZE];
static u64 buf_gpa;
static int used;

static const struct acpi_build_cfg base_cfg = {
	.nr_cpus = 2,
	.lapic_base = 0xfee00000,
	.ioapic_base = 0xfec00000,
	.ioapic_id = 2,
	.sleep_ctl_port = LINUX_PM_SLEEP_CTL,
	.sleep_sts_port = LINUX_PM_SLEEP_STS,
	.reset_port = LINUX_PM_RESET,
	.reset_value = LINUX_PM_RESET_VALUE,
	.s5_typ = LINUX_S5_TYP,
	.uart_port = 0x3f8,
	.uart_irq = 4,
};
static struct acpi_build_cfg cfg; /* what buf was built from */

/* Where each table goes for any CPU count. */
#define XSDT_OFF 0x30
#define FADT_OFF 0x70
#define DSDT_OFF 0x190
#define DSDT_LEN (36 + 12 + 51) /* header, _S5, COM1 */
#define MADT_OFF 0x200

static u16 get16(const u8 *p)
{
	u16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static u32 get32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static u64 get64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static u8 sum(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void build_cfg(const struct acpi_build_cfg *c, u64 gpa)
{
	cfg = *c;
	memset(buf, CANARY, sizeof(buf));
	buf_gpa = gpa;
	used = acpi_build(buf, sizeof(buf), gpa, c);
	assert_int_equal(used, ACPI_BUILD_SIZE(c->nr_cpus));
	for (size_t i = (size_t)used; i < sizeof(buf); i++)
		assert_int_equal(buf[i], CANARY);
}

static void build(unsigned int nr_cpus, u64 gpa)
{
	struct acpi_build_cfg c = base_cfg;

	c.nr_cpus = nr_cpus;
	build_cfg(&c, gpa);
}

/* The table at @gpa: inside the output, aligned, whole and summing to 0. */
static const u8 *table(u64 gpa, const char *sig, u32 len, u8 rev)
{
	const u8 *t;
	u64 off;

	assert_true(gpa >= buf_gpa && gpa - buf_gpa + 36 <= (u64)used);
	off = gpa - buf_gpa;
	assert_int_equal(off % 16, 0);
	t = buf + off;
	assert_memory_equal(t, sig, 4);
	assert_int_equal(get32(t + 4), len);
	assert_true(off + len <= (u64)used);
	assert_int_equal(t[8], rev);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "LAMINA", 6);
	return t;
}

static u64 xsdt_gpa(void)
{
	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(sum(buf, 20), 0);
	assert_int_equal(sum(buf, 36), 0);
	assert_memory_equal(buf + 9, "LAMINA", 6);
	assert_int_equal(buf[15], 2);
	assert_int_equal(get32(buf + 16), 0);   /* no RSDT */
	assert_int_equal(get32(buf + 20), 36);
	return get64(buf + 24);
}

/* XSDT entry @i, which must hold the table named @sig. */
static u64 xsdt_entry(unsigned int i, const char *sig)
{
	const u8 *x = table(xsdt_gpa(), "XSDT", 36 + 2 * 8, 1);
	u64 gpa = get64(x + 36 + 8 * i);

	assert_true(gpa >= buf_gpa && gpa - buf_gpa < (u64)used);
	assert_memory_equal(buf + (gpa - buf_gpa), sig, 4);
	return gpa;
}

static void check_gas(const u8 *g, u16 port)
{
	assert_int_equal(g[0], 1);  /* system I/O */
	assert_int_equal(g[1], 8);  /* bit width */
	assert_int_equal(g[2], 0);  /* bit offset */
	assert_int_equal(g[3], 1);  /* byte access */
	assert_int_equal(get64(g + 4), port);
}

/*
 * The DSDT's AML, encoded here by hand from ACPI 6.0 chapters 19-20 and
 * 6.4.2 (small resource descriptors); `iasl -d` decodes it as
 *
 *	Name (_S5, Package (0x02) { typ, typ })
 *	Device (\_SB.COM1) {
 *		Name (_HID, EisaId ("PNP0501"))
 *		Name (_UID, One)
 *		Name (_CRS, ResourceTemplate () {
 *			IO (Decode16, port, port, 0x01, 0x08)
 *			IRQNoFlags () { irq }
 *		})
 *	}
 *
 * @mask is the IRQ descriptor's, 1 << irq.
 */
static void check_dsdt(const u8 *d, u8 typ, u16 port, u16 mask)
{
	const u8 lo = (u8)port, hi = (u8)(port >> 8);
	const u8 want[] = {
		0x08, '_', 'S', '5', '_',       /* NameOp */
		0x12, 0x06, 0x02,               /* PackageOp, PkgLength, 2 */
		0x0a, typ, 0x0a, typ,           /* BytePrefix typ, twice */
		0x5b, 0x82, 0x31,               /* DeviceOp, PkgLength 49 */
		'\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
		0x08, '_', 'H', 'I', 'D',       /* NameOp */
		0x0c, 0x41, 0xd0, 0x05, 0x01,   /* DWordPrefix, EISA ID */
		0x08, '_', 'U', 'I', 'D', 0x01, /* NameOp, OneOp */
		0x08, '_', 'C', 'R', 'S',       /* NameOp */
		0x11, 0x10, 0x0a, 0x0d,         /* BufferOp, PkgLength 16, 13 bytes */
		0x47, 0x01, lo, hi, lo, hi,     /* I/O port, decode16, min, max */
		0x01, 0x08,                     /* alignment, length */
		0x22, (u8)mask, (u8)(mask >> 8), /* IRQ, no flags byte */
		0x79, 0x00,                     /* end tag, no checksum */
	};

	/* A PkgLength counts itself and all that follows it. */
	BUILD_BUG_ON(sizeof(want) != DSDT_LEN - 36);
	BUILD_BUG_ON(sizeof(want) - 14 != 0x31);
	assert_memory_equal(d + 36, want, sizeof(want));
}

/* Checks the FADT and the DSDT it names; returns the DSDT. */
static const u8 *check_fadt(void)
{
	const u8 *f = table(xsdt_entry(0, "FACP"), "FACP", 276, 6);
	u32 flags = get32(f + 112);
	const u8 *d;

	assert_int_equal(flags, (1u << 20) | (1u << 10));
	assert_int_equal(get16(f + 109), 0x4); /* no VGA; a CMOS clock */
	assert_int_equal(f[108], 0x32);        /* its century register */
	check_gas(f + 116, LINUX_PM_RESET);
	assert_int_equal(f[128], LINUX_PM_RESET_VALUE);
	check_gas(f + 244, LINUX_PM_SLEEP_CTL);
	check_gas(f + 256, LINUX_PM_SLEEP_STS);
	/* No FACS, no 32-bit DSDT, no PM1/PM timer/GPE blocks, no SCI. */
	assert_int_equal(get32(f + 36) | get32(f + 40), 0);
	assert_int_equal(get16(f + 46), 0);
	for (unsigned int i = 56; i < 108; i++)
		assert_int_equal(f[i], 0);
	assert_int_equal(get64(f + 132), 0);
	for (unsigned int i = 148; i < 244; i++)
		assert_int_equal(f[i], 0);
	d = table(get64(f + 140), "DSDT", DSDT_LEN, 2);
	check_dsdt(d, cfg.s5_typ, cfg.uart_port, (u16)(1u << cfg.uart_irq));
	return d;
}

static void check_madt(unsigned int nr_cpus)
{
	u32 len = 44 + 8 * nr_cpus + 12;
	const u8 *m = table(xsdt_entry(1, "APIC"), "APIC", len, 4);
	const u8 *e = m + 44;

	assert_int_equal(get32(m + 36), base_cfg.lapic_base);
	assert_int_equal(get32(m + 40), 0);     /* no 8259s */
	for (unsigned int i = 0; i < nr_cpus; i++, e += 8) {
		assert_int_equal(e[0], 0);
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], i);
		assert_int_equal(e[3], i);
		assert_int_equal(get32(e + 4), 1);
	}
	assert_int_equal(e[0], 1);
	assert_int_equal(e[1], 12);
	assert_int_equal(e[2], base_cfg.ioapic_id);
	assert_int_equal(e[3], 0);
	assert_int_equal(get32(e + 4), base_cfg.ioapic_base);
	assert_int_equal(get32(e + 8), 0);
	assert_ptr_equal(e + 12, m + len);
	assert_ptr_equal(m + len, buf + used);  /* the MADT comes last */
}

/* ------------------------------------------------------------ layout */

static void test_two_cpus(void **state)
{
	(void)state;
	build(2, LINUX_ACPI_GPA);
	assert_int_equal(used, 584);
	assert_int_equal(xsdt_gpa(), LINUX_ACPI_GPA + XSDT_OFF);
	assert_int_equal(xsdt_entry(0, "FACP"), LINUX_ACPI_GPA + FADT_OFF);
	assert_ptr_equal(check_fadt(), buf + DSDT_OFF);
	assert_int_equal(xsdt_entry(1, "APIC"), LINUX_ACPI_GPA + MADT_OFF);
	check_madt(2);
	/* The padding between the tables is zero. */
	for (unsigned int i = DSDT_OFF + DSDT_LEN; i < MADT_OFF; i++)
		assert_int_equal(buf[i], 0);
}

static void test_cpu_counts(void **state)
{
	static const unsigned int counts[] = { 1, 2, 3, 64, 65, 254, 255 };

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(counts); i++) {
		build(counts[i], LINUX_ACPI_GPA);
		check_fadt();
		check_madt(counts[i]);
	}
	assert_int_equal(ACPI_BUILD_SIZE(255), 2608);
}

/* Above 4 GiB the XSDT and X_DSDT carry the full addresses. */
static void test_high_gpa(void **state)
{
	(void)state;
	build(4, HIGH_GPA);
	assert_int_equal(xsdt_gpa(), HIGH_GPA + XSDT_OFF);
	assert_int_equal(xsdt_entry(0, "FACP"), HIGH_GPA + FADT_OFF);
	assert_int_equal(xsdt_entry(1, "APIC"), HIGH_GPA + MADT_OFF);
	assert_ptr_equal(check_fadt(), buf + DSDT_OFF);
	check_madt(4);
}

/* ------------------------------------------------------------ COM1 */

/* The port and IRQ land in the DSDT's COM1, little-endian, as given. */
static void test_com1(void **state)
{
	static const struct {
		u16 port;
		u8 irq;
		u16 mask;
	} uarts[] = {
		{ 0x3f8, 4, 0x0010 }, { 0x2f8, 3, 0x0008 }, { 0x3e8, 0, 0x0001 },
		{ 0x2e8, 15, 0x8000 }, { 0xfff8, 9, 0x0200 },
	};
	struct acpi_build_cfg c = base_cfg;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(uarts); i++) {
		c.uart_port = uarts[i].port;
		c.uart_irq = uarts[i].irq;
		build_cfg(&c, LINUX_ACPI_GPA);
		check_dsdt(check_fadt(), LINUX_S5_TYP, uarts[i].port,
			   uarts[i].mask);
		check_madt(2);
	}
	/* 0x3f8 and IRQ 4, spelled out at their offsets in the DSDT. */
	build(2, LINUX_ACPI_GPA);
	assert_int_equal(get16(buf + DSDT_OFF + 36 + 12 + 40), 0x3f8);
	assert_int_equal(get16(buf + DSDT_OFF + 36 + 12 + 42), 0x3f8);
	assert_int_equal(get16(buf + DSDT_OFF + 36 + 12 + 47), 1u << 4);
}

/* ------------------------------------------------------------ refusals */

/* One byte short is refused and writes nothing; exactly enough is fine. */
static void test_too_small(void **state)
{
	static const unsigned int counts[] = { 1, 2, 255 };
	struct acpi_build_cfg c = base_cfg;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(counts); i++) {
		size_t need = ACPI_BUILD_SIZE(counts[i]);

		c.nr_cpus = counts[i];
		memset(buf, CANARY, sizeof(buf));
		assert_int_equal(acpi_build(buf, need - 1, LINUX_ACPI_GPA, &c),
				 -HV_EINVAL);
		assert_int_equal(acpi_build(buf, 0, LINUX_ACPI_GPA, &c), -HV_EINVAL);
		for (size_t j = 0; j < sizeof(buf); j++)
			assert_int_equal(buf[j], CANARY);
		assert_int_equal(acpi_build(buf, need, LINUX_ACPI_GPA, &c),
				 (int)need);
	}
}

static void test_bad_cfg(void **state)
{
	struct acpi_build_cfg c;

	(void)state;
	c = base_cfg;
	c.nr_cpus = 0;
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), -HV_EINVAL);
	c.nr_cpus = 256;
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), -HV_EINVAL);
	c = base_cfg;
	c.lapic_base = 1ull << 32;
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), -HV_EINVAL);
	c = base_cfg;
	c.ioapic_base = 1ull << 32;
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), -HV_EINVAL);
	c = base_cfg;
	c.ioapic_id = 256;
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), -HV_EINVAL);
	c = base_cfg;
	c.uart_irq = 16;        /* past what an IRQ descriptor can name */
	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), -HV_EINVAL);
	c.uart_irq = 255;
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), -HV_EINVAL);
	for (size_t j = 0; j < sizeof(buf); j++)
		assert_int_equal(buf[j], CANARY);
	c.uart_irq = 15;
	assert_int_equal(acpi_build(buf, sizeof(buf), 0, &c), 584);
	c = base_cfg;
	assert_int_equal(acpi_build(buf, sizeof(buf), ~0ull - 583, &c), -HV_EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), ~0ull - 584, &c), 584);
}

/* ------------------------------------------------------------ host parser */

static const void *map_buf(void *ctx, u64 phys, u64 len)
{
	(void)ctx;
	if (phys < buf_gpa || phys - buf_gpa > sizeof(buf) ||
	    len > sizeof(buf) - (phys - buf_gpa))
		return NULL;
	return buf + (phys - buf_gpa);
}

static const struct acpi_mem mem = { map_buf, NULL };

static void parse_back(unsigned int nr_cpus, u64 gpa)
{
	static struct acpi_info info;
	unsigned int listed = MIN(nr_cpus, ACPI_MAX_CPUS);

	build(nr_cpus, gpa);
	assert_int_equal(acpi_check_rsdp(buf, 36), 0);
	assert_int_equal(acpi_parse(&mem, buf, 36, &info), 0);
	if (info.error[0])
		fail_msg("%u CPUs: the parser says \"%s\"", nr_cpus, info.error);
	assert_int_equal(info.rsdp_revision, 2);
	assert_true(info.use_xsdt);
	assert_int_equal(info.rsdt_phys, gpa + XSDT_OFF);
	assert_string_equal(info.oem_id, "LAMINA");

	assert_true(info.madt_ok);
	assert_int_equal(info.lapic_addr, base_cfg.lapic_base);
	assert_int_equal(info.madt_flags, 0);
	assert_int_equal(info.nr_cpus, listed);
	assert_int_equal(info.nr_cpus_dropped, nr_cpus - listed);
	assert_int_equal(info.nr_cpus_disabled, 0);
	for (unsigned int i = 0; i < listed; i++) {
		assert_int_equal(info.cpus[i].apic_id, i);
		assert_int_equal(info.cpus[i].uid, i);
		assert_false(info.cpus[i].x2apic);
	}
	assert_int_equal(info.nr_ioapics, 1);
	assert_int_equal(info.ioapics[0].id, base_cfg.ioapic_id);
	assert_int_equal(info.ioapics[0].addr, base_cfg.ioapic_base);
	assert_int_equal(info.ioapics[0].gsi_base, 0);

	assert_true(info.fadt_ok);
	assert_int_equal(info.fadt_flags, (1u << 20) | (1u << 10));
	assert_int_equal(info.iapc_boot_arch, 1u << 2);
	assert_int_equal(info.pm_tmr_port, 0);
	assert_true(info.has_reset_reg);
	assert_int_equal(info.reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(info.reset_reg.bit_width, 8);
	assert_int_equal(info.reset_reg.address, LINUX_PM_RESET);
	assert_int_equal(info.reset_value, LINUX_PM_RESET_VALUE);

	/* What a guest's power-off uses: hardware-reduced sleep registers. */
	assert_int_equal(info.fadt_revision, 6);
	assert_true(info.hw_reduced);
	assert_int_equal(info.dsdt_phys, gpa + DSDT_OFF);
	assert_int_equal(info.smi_cmd, 0);
	assert_int_equal(info.pm1a_cnt_port, 0);
	assert_int_equal(info.pm1b_cnt_port, 0);
	assert_int_equal(info.sleep_ctl.space_id, ACPI_GAS_IO);
	assert_int_equal(info.sleep_ctl.bit_width, 8);
	assert_int_equal(info.sleep_ctl.address, LINUX_PM_SLEEP_CTL);
	assert_int_equal(info.sleep_sts.space_id, ACPI_GAS_IO);
	assert_int_equal(info.sleep_sts.address, LINUX_PM_SLEEP_STS);
	assert_true(info.s5_ok);
	assert_int_equal(info.s5_phys, gpa + DSDT_OFF);
	assert_int_equal(info.slp_typa, LINUX_S5_TYP);
	assert_int_equal(info.slp_typb, LINUX_S5_TYP);
	assert_string_equal(info.s5_error, "");
	/* No SPCR, no HPET: nothing to find, nothing to complain about. */
	assert_false(info.spcr_ok);
	assert_int_equal(info.spcr_phys, 0);
	assert_false(info.hpet_ok);
	assert_int_equal(info.hpet_phys, 0);
}

static void test_host_parser(void **state)
{
	(void)state;
	parse_back(1, LINUX_ACPI_GPA);
	parse_back(2, LINUX_ACPI_GPA);
	parse_back(64, LINUX_ACPI_GPA);
	parse_back(255, LINUX_ACPI_GPA);
	parse_back(8, HIGH_GPA);
}

/* A guest without acpi_rsdp_addr (protocol < 2.14) scans 0xe0000 for it. */
static void test_bios_scan(void **state)
{
	(void)state;
	build(2, LINUX_ACPI_GPA);
	assert_int_equal(acpi_scan_rsdp(&mem), LINUX_ACPI_GPA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_cpus),
		cmocka_unit_test(test_cpu_counts),
		cmocka_unit_test(test_high_gpa),
		cmocka_unit_test(test_com1),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_bad_cfg),
		cmocka_unit_test(test_host_parser),
		cmocka_unit_test(test_bios_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
