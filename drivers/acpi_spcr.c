/*
 * SPCR: the serial console the firmware redirected to (Microsoft's Serial
 * Port Console Redirection Table, revisions 1 to 4). Lamina can drive a
 * 16550 only, at a port or in memory; anything else is reported with the
 * reason, never guessed at.
 */
#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/unaligned.h>

/* Layout: offsets are those of every revision; the length grew at 4. */
#define SPCR_IFACE 36
#define SPCR_BASE 40
#define SPCR_IRQ_TYPE 52
#define SPCR_IRQ 53
#define SPCR_GSI 54
#define SPCR_BAUD 58
#define SPCR_FLOW_CONTROL 61
#define SPCR_PCI_DEVICE_ID 64
#define SPCR_PCI_VENDOR_ID 66
#define SPCR_PCI_BUS 68
#define SPCR_PCI_DEV 69
#define SPCR_PCI_FN 70
#define SPCR_PCI_FLAGS 71
#define SPCR_PCI_SEGMENT 75
#define SPCR_UART_CLOCK 76	/* reserved before revision 3 */
#define SPCR_LEN 80		/* revisions 1 to 3 */
#define SPCR_PRECISE_BAUD 80	/* revision 4 */

#define UART_REGS 8		/* a 16550 decodes 8 registers */
#define PORT_MAX 0xffff

static const struct {
	u8 iface;
	const char *name;
} iface_names[] = {
	{ ACPI_SPCR_16550, "16550" },
	{ ACPI_SPCR_16450, "16450" },
	{ 0x02, "MAX311xE SPI" },
	{ 0x03, "ARM PL011" },
	{ 0x05, "NVIDIA 16550" },
	{ 0x0d, "ARM SBSA 32-bit" },
	{ 0x0e, "ARM SBSA" },
	{ 0x0f, "ARM DCC" },
	{ 0x10, "BCM2835" },
	{ ACPI_SPCR_16550_GAS, "16550 (GAS)" },
	{ 0x14, "Intel LPSS" },
	{ 0x15, "RISC-V SBI console" },
};

const char *acpi_spcr_iface_name(u8 iface)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(iface_names); i++)
		if (iface_names[i].iface == iface)
			return iface_names[i].name;
	return "unknown";
}

static bool iface_is_16550(u8 iface)
{
	return iface == ACPI_SPCR_16550 || iface == ACPI_SPCR_16450 ||
	       iface == ACPI_SPCR_16550_GAS;
}

/* The SPCR's baud rate codes; every other one is refused, as Linux does. */
static int spcr_baud(u8 code, u32 *baud)
{
	switch (code) {
	case 0:
		*baud = 0; /* "as is": the firmware programmed the divisor */
		return 0;
	case 3:
		*baud = 9600;
		return 0;
	case 4:
		*baud = 19200;
		return 0;
	case 6:
		*baud = 57600;
		return 0;
	case 7:
		*baud = 115200;
		return 0;
	}
	return -HV_EINVAL;
}

/*
 * Where the registers are. A port 16550 has byte registers one apart. In
 * memory the access size says how wide each register is and so how far
 * apart (Linux reads it the same way, so firmware has been tested
 * against it); the bit width stands in when the access size is 0, the
 * "undefined" of ACPI 1.0 GASes.
 */
static int spcr_regs(struct acpi_spcr *s, struct acpi_info *info, char *why)
{
	const struct acpi_gas *b = &s->base;
	u32 width;

	if (b->space_id == ACPI_GAS_IO) {
		if (!b->address || b->address > PORT_MAX - (UART_REGS - 1))
			return acpi_fail(info, why,
					 "SPCR: port 0x%llx out of range",
					 (unsigned long long)b->address);
		s->reg_width = 8;
		s->reg_shift = 0;
		return 0;
	}
	if (b->space_id != ACPI_GAS_MEMORY)
		return acpi_fail(info, why,
				 "SPCR: base in address space %u, not memory or I/O",
				 b->space_id);
	if (b->access_size)
		width = b->access_size <= 4 ? 4u << b->access_size : 0;
	else
		width = b->bit_width ? b->bit_width : 8;
	if (width != 8 && width != 16 && width != 32)
		return acpi_fail(info, why,
				 "SPCR: no 8, 16 or 32-bit registers (bit width %u, access size %u)",
				 b->bit_width, b->access_size);
	s->reg_width = (u8)width;
	s->reg_shift = width == 32 ? 2 : width == 16 ? 1 : 0;
	if (!b->address ||
	    b->address + ((u64)UART_REGS << s->reg_shift) - 1 < b->address)
		return acpi_fail(info, why, "SPCR: base address 0x%llx unusable",
				 (unsigned long long)b->address);
	return 0;
}

/* Informational: the base address already is the card's BAR. */
static void spcr_pci(const struct acpi_table *t, struct acpi_spcr *s)
{
	s->pci_device_id = rd16(t->p + SPCR_PCI_DEVICE_ID);
	s->pci_vendor_id = rd16(t->p + SPCR_PCI_VENDOR_ID);
	/* "0xFFFF if not a PCI device"; some firmware writes 0, no vendor. */
	s->pci = s->pci_vendor_id != 0xffff && s->pci_vendor_id != 0;
	if (!s->pci)
		return;
	s->pci_bus = t->p[SPCR_PCI_BUS];
	s->pci_dev = t->p[SPCR_PCI_DEV];
	s->pci_fn = t->p[SPCR_PCI_FN];
	s->pci_flags = rd32(t->p + SPCR_PCI_FLAGS);
	s->pci_segment = t->p[SPCR_PCI_SEGMENT];
}

static int spcr_fill(const struct acpi_table *t, struct acpi_spcr *s,
		     struct acpi_info *info, char *why)
{
	u32 precise;
	int err;

	if (t->len < SPCR_LEN)
		return acpi_fail(info, why, "SPCR: length %u < %u", t->len,
				 SPCR_LEN);
	s->revision = t->p[8];
	s->iface = t->p[SPCR_IFACE];
	if (!iface_is_16550(s->iface))
		return acpi_fail(info, why,
				 "SPCR: interface type 0x%x (%s) not supported",
				 s->iface, acpi_spcr_iface_name(s->iface));
	memcpy(&s->base, t->p + SPCR_BASE, sizeof(s->base));
	err = spcr_regs(s, info, why);
	if (err)
		return err;
	s->baud_code = t->p[SPCR_BAUD];
	if (spcr_baud(s->baud_code, &s->baud))
		return acpi_fail(info, why, "SPCR: baud rate code %u unknown",
				 s->baud_code);
	/* Revision 4: a non-zero precise rate overrides the code. */
	if (s->revision >= 4 && t->len >= SPCR_PRECISE_BAUD + 4) {
		precise = rd32(t->p + SPCR_PRECISE_BAUD);
		if (precise)
			s->baud = precise;
	}
	s->flow_control = t->p[SPCR_FLOW_CONTROL];
	s->irq_type = t->p[SPCR_IRQ_TYPE];
	s->irq = t->p[SPCR_IRQ];
	s->gsi = rd32(t->p + SPCR_GSI);
	if (s->revision >= 3)
		s->uart_clock = rd32(t->p + SPCR_UART_CLOCK);
	spcr_pci(t, s);
	return 0;
}

void acpi_parse_spcr(const struct acpi_mem *mem, struct acpi_info *info)
{
	struct acpi_spcr s;
	struct acpi_table t;

	memset(&s, 0, sizeof(s));
	if (acpi_map_table(mem, info->spcr_phys, "SPCR", &t, info,
			   info->spcr_error))
		return;
	/* Filled aside: a refused SPCR leaves nothing half-believed. */
	if (spcr_fill(&t, &s, info, info->spcr_error))
		return;
	info->spcr = s;
	info->spcr_ok = true;
}
