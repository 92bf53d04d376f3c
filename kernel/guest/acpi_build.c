/*
 * The ACPI tables of a Linux VM (include/lamina/linux_boot.h): an RSDP,
 * an XSDT naming the FADT and MADT, a hardware-reduced FADT (no PM1 blocks,
 * no SCI, no FACS) whose sleep and reset registers are 8-bit I/O ports, a
 * DSDT that names \_S5 so that the guest can power off and describes its
 * UART as \_SB.COM1, and a MADT with one local APIC per CPU and one IOAPIC.
 *
 * The layout uses the header structures of the host parser
 * (include/lamina/acpi.h) and its checksum; the unit test reads the result
 * back through that parser, so writer and reader are checked against each
 * other. Offsets inside the FADT are those of ACPI 6.0, table 5-34.
 */
#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>

#define TABLE_ALIGN 16
#define SDT_HDR_LEN 36
#define LIMIT_4G (1ull << 32)

#define XSDT_REV 1
#define XSDT_ENTRIES 2 /* FADT, MADT */

#define FADT_REV 6
#define FADT_LEN 276
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256
#define FADT_HYPERVISOR_ID 268
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
/* No 8042 (bit 1 clear), no VGA, no CMOS RTC: Linux probes none of them. */
#define IAPC_VGA_NOT_PRESENT (1u << 2)

#define DSDT_REV 2 /* 64-bit AML integers */

#define MADT_REV 4 /* ACPI 6.0 */
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_HDR_LEN 44
#define MADT_LAPIC 0
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC 1
#define MADT_IOAPIC_LEN 12
#define MADT_CPU_ENABLED 1u
#define MADT_MAX_CPUS 255

#define OEM_ID "LAMINA"
#define OEM_TABLE_ID "LAMINAVM"
#define CREATOR_ID "LMNA"

BUILD_BUG_ON(sizeof(struct acpi_sdt_header) != SDT_HDR_LEN);
BUILD_BUG_ON(sizeof(struct acpi_gas) != 12);
BUILD_BUG_ON(FADT_HYPERVISOR_ID + 8 != FADT_LEN);

/* Name(_S5, Package(2) { typ, typ }): the two typ bytes are filled in. */
static const u8 s5_aml[] = {
	0x08, '_', 'S', '5', '_',  /* NameOp, NameSeg */
	0x12, 0x06, 0x02,          /* PackageOp, PkgLength 6, 2 elements */
	0x0a, 0x00, 0x0a, 0x00,    /* BytePrefix typ, BytePrefix typ */
};
#define S5_TYP_A 9
#define S5_TYP_B 11

/*
 * Device(\_SB.COM1) { Name(_HID, EisaId("PNP0501")) Name(_UID, 1)
 * Name(_CRS, ResourceTemplate() { IO(Decode16, port, port, 1, 8)
 * IRQNoFlags() { irq } }) }: the 16550 and its interrupt. Without it a
 * guest that finds no 8259 PIC has no legacy IRQ numbers, and its serial
 * driver's IRQ 4 would be wired to nothing; with it, the PNP serial driver
 * takes the port with the IOAPIC pin the firmware names, as on a PC.
 */
static const u8 com1_aml[] = {
	0x5b, 0x82, 0x31,                          /* DeviceOp, PkgLength 49 */
	'\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1', /* \_SB.COM1 */
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01, /* PNP0501 */
	0x08, '_', 'U', 'I', 'D', 0x01,            /* One */
	0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d, /* Buffer, 13 bytes */
	0x47, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, /* IO: min, max */
	0x22, 0x00, 0x00,                          /* IRQNoFlags: mask */
	0x79, 0x00,                                /* End tag */
};
#define COM1_IO_MIN 40
#define COM1_IO_MAX 42
#define COM1_IRQ_MASK 47
#define ISA_IRQS 16 /* what an IRQ descriptor's 16-bit mask can name */
#define DSDT_LEN (SDT_HDR_LEN + sizeof(s5_aml) + sizeof(com1_aml))
BUILD_BUG_ON(sizeof(com1_aml) != 51);

/* Each table's offset in the buffer; only the MADT's length varies. */
#define XSDT_LEN (SDT_HDR_LEN + XSDT_ENTRIES * 8)
#define XSDT_OFF ALIGN_UP((u32)sizeof(struct acpi_rsdp), TABLE_ALIGN)
#define FADT_OFF ALIGN_UP(XSDT_OFF + XSDT_LEN, TABLE_ALIGN)
#define DSDT_OFF ALIGN_UP(FADT_OFF + FADT_LEN, TABLE_ALIGN)
#define MADT_OFF ALIGN_UP(DSDT_OFF + (u32)DSDT_LEN, TABLE_ALIGN)

BUILD_BUG_ON(ACPI_BUILD_SIZE(1) !=
	     MADT_OFF + MADT_HDR_LEN + MADT_LAPIC_LEN + MADT_IOAPIC_LEN);
BUILD_BUG_ON(ACPI_BUILD_SIZE(2) - ACPI_BUILD_SIZE(1) != MADT_LAPIC_LEN);
BUILD_BUG_ON(ACPI_BUILD_SIZE(MADT_MAX_CPUS) > LINUX_ACPI_SIZE);

static void put16(u8 *p, u16 v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, sizeof(v));
}

/* The header of a table of @len bytes; sdt_seal() sums it last. */
static void sdt_begin(u8 *t, const char *sig, u32 len, u8 rev)
{
	struct acpi_sdt_header h = {
		.length = len,
		.revision = rev,
		.oem_revision = 1,
		.creator_revision = 1,
	};

	memcpy(h.signature, sig, sizeof(h.signature));
	memcpy(h.oem_id, OEM_ID, sizeof(h.oem_id));
	memcpy(h.oem_table_id, OEM_TABLE_ID, sizeof(h.oem_table_id));
	memcpy(&h.creator_id, CREATOR_ID, sizeof(h.creator_id));
	memcpy(t, &h, sizeof(h));
}

static void sdt_seal(u8 *t, u32 len)
{
	t[offsetof(struct acpi_sdt_header, checksum)] = (u8)-acpi_checksum(t, len);
}

/* An 8-bit register in system I/O space, accessed a byte at a time. */
static void put_io_gas(u8 *p, u16 port)
{
	struct acpi_gas g = {
		.space_id = ACPI_GAS_IO,
		.bit_width = 8,
		.bit_offset = 0,
		.access_size = 1,
		.address = port,
	};

	memcpy(p, &g, sizeof(g));
}

static void build_rsdp(u8 *buf, u64 xsdt_gpa)
{
	struct acpi_rsdp r = {
		.revision = 2,
		.length = sizeof(r),
		.xsdt_address = xsdt_gpa,
	};

	memcpy(r.signature, "RSD PTR ", sizeof(r.signature));
	memcpy(r.oem_id, OEM_ID, sizeof(r.oem_id));
	r.checksum = (u8)-acpi_checksum(&r, offsetof(struct acpi_rsdp, length));
	r.extended_checksum = (u8)-acpi_checksum(&r, sizeof(r));
	memcpy(buf, &r, sizeof(r));
}

static void build_xsdt(u8 *t, u64 gpa)
{
	sdt_begin(t, "XSDT", XSDT_LEN, XSDT_REV);
	put64(t + SDT_HDR_LEN, gpa + FADT_OFF);
	put64(t + SDT_HDR_LEN + 8, gpa + MADT_OFF);
	sdt_seal(t, XSDT_LEN);
}

static void build_fadt(u8 *t, u64 dsdt_gpa, const struct acpi_build_cfg *c)
{
	sdt_begin(t, "FACP", FADT_LEN, FADT_REV);
	/* A CMOS clock is there (kernel/vdev/vrtc.c), with its century byte. */
	put16(t + FADT_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT);
	t[FADT_CENTURY] = 0x32;
	put32(t + FADT_FLAGS, FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP);
	put_io_gas(t + FADT_RESET_REG, c->reset_port);
	t[FADT_RESET_VALUE] = c->reset_value;
	put64(t + FADT_X_DSDT, dsdt_gpa);
	put_io_gas(t + FADT_SLEEP_CONTROL_REG, c->sleep_ctl_port);
	put_io_gas(t + FADT_SLEEP_STATUS_REG, c->sleep_sts_port);
	memcpy(t + FADT_HYPERVISOR_ID, OEM_TABLE_ID, 8);
	sdt_seal(t, FADT_LEN);
}

static void build_dsdt(u8 *t, const struct acpi_build_cfg *c)
{
	u8 *com1 = t + SDT_HDR_LEN + sizeof(s5_aml);

	sdt_begin(t, "DSDT", DSDT_LEN, DSDT_REV);
	memcpy(t + SDT_HDR_LEN, s5_aml, sizeof(s5_aml));
	t[SDT_HDR_LEN + S5_TYP_A] = c->s5_typ;
	t[SDT_HDR_LEN + S5_TYP_B] = c->s5_typ;
	memcpy(com1, com1_aml, sizeof(com1_aml));
	put16(com1 + COM1_IO_MIN, c->uart_port);
	put16(com1 + COM1_IO_MAX, c->uart_port);
	put16(com1 + COM1_IRQ_MASK, (u16)(1u << c->uart_irq));
	sdt_seal(t, DSDT_LEN);
}

/* Flags 0: no dual 8259s for the guest to program. */
static void build_madt(u8 *t, u32 len, const struct acpi_build_cfg *c)
{
	u8 *e = t + MADT_HDR_LEN;

	sdt_begin(t, "APIC", len, MADT_REV);
	put32(t + MADT_LAPIC_ADDR, (u32)c->lapic_base);
	put32(t + MADT_FLAGS, 0);
	for (unsigned int i = 0; i < c->nr_cpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (u8)i; /* processor UID */
		e[3] = (u8)i; /* APIC ID */
		put32(e + 4, MADT_CPU_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = MADT_IOAPIC_LEN;
	e[2] = (u8)c->ioapic_id;
	e[3] = 0;
	put32(e + 4, (u32)c->ioapic_base);
	put32(e + 8, 0); /* GSI base */
	sdt_seal(t, len);
}

static bool cfg_ok(const struct acpi_build_cfg *c)
{
	return c->nr_cpus && c->nr_cpus <= MADT_MAX_CPUS &&
	       c->lapic_base < LIMIT_4G && c->ioapic_base < LIMIT_4G &&
	       c->ioapic_id <= 0xff && c->uart_irq < ISA_IRQS;
}

int acpi_build(u8 *buf, size_t size, u64 gpa, const struct acpi_build_cfg *c)
{
	u32 end;

	if (!cfg_ok(c))
		return -HV_EINVAL;
	end = ACPI_BUILD_SIZE(c->nr_cpus);
	if (size < end || gpa > ~0ull - end)
		return -HV_EINVAL;
	memset(buf, 0, end);
	build_rsdp(buf, gpa + XSDT_OFF);
	build_xsdt(buf + XSDT_OFF, gpa);
	build_fadt(buf + FADT_OFF, gpa + DSDT_OFF, c);
	build_dsdt(buf + DSDT_OFF, c);
	build_madt(buf + MADT_OFF, end - MADT_OFF, c);
	return (int)end;
}
