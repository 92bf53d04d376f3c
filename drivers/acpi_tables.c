/*
 * ACPI table discovery: RSDP, RSDT/XSDT, MADT, FADT, HPET; the SPCR is read
 * in acpi_spcr.c and \_S5 found in acpi_aml.c.
 *
 * Firmware tables are input we did not write and cannot fix, so each one is
 * mapped by its header first, its length checked for sanity before the whole
 * table is mapped, and its checksum verified before a field is believed.
 * Memory is only ever read through acpi_mem.map and every field is copied
 * out with memcpy: nothing here depends on where a table happens to lie.
 */
#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/unaligned.h>

#define ACPI_HDR_LEN 36
#define ACPI_TABLE_MAX (1u << 20) /* far beyond any real MADT or FADT */
#define AML_TABLE_MAX (16u << 20) /* a server's DSDT can pass 1 MiB */
#define SDT_LENGTH_OFF 4

#define RSDP_SIG "RSD PTR "
#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define RSDP_SCAN_STEP 16
#define RSDP_MAX_LEN 4096 /* a longer "RSDP" is not one */

#define BDA_EBDA_SEG 0x40e
#define EBDA_SCAN_LEN 1024
#define BIOS_AREA_START 0xe0000
#define BIOS_AREA_END 0x100000

/* MADT layout. */
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_LAPIC_NMI 4
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC 9
#define MADT_X2APIC_NMI 10
#define MADT_CPU_ENABLED (1u << 0)
#define MADT_CPU_ONLINE_CAPABLE (1u << 1)

/* FADT layout, by the offsets the ACPI specification gives. */
#define FADT_REVISION 8
#define FADT_DSDT 40
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1B_CNT_BLK 68
#define FADT_PM_TMR_BLK 76
#define FADT_PM_TMR_LEN 91
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_MIN_LEN 116	/* ACPI 1.0 ends just after the flags */
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM1B_CNT_BLK 184
#define FADT_X_PM_TMR_BLK 208
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256
#define FADT_TMR_VAL_EXT (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define FADT_REV_HW_REDUCED 5	/* ACPI 5.0: that flag, sleep registers */

/* HPET layout (IA-PC HPET specification 1.0a, table 3). */
#define HPET_BLOCK_ID 36
#define HPET_BASE 40
#define HPET_NUMBER 52
#define HPET_MIN_TICK 53
#define HPET_PAGE_PROT 55
#define HPET_LEN 56
#define HPET_REGS_LEN 1024	/* one event timer block */

BUILD_BUG_ON(sizeof(struct acpi_sdt_header) != ACPI_HDR_LEN);
BUILD_BUG_ON(sizeof(struct acpi_rsdp) != RSDP_V2_LEN);
BUILD_BUG_ON(sizeof(struct acpi_gas) != 12);
BUILD_BUG_ON(offsetof(struct acpi_rsdp, length) != RSDP_V1_LEN);

/*
 * Keep the first problem: later ones are usually its consequences. A table
 * that has its own verdict (SPCR, HPET, \_S5) also keeps its first one,
 * which an earlier table's problem must not hide.
 */
static int acpi_vfail(struct acpi_info *info, char *why, const char *fmt,
		      va_list ap)
{
	char msg[ACPI_ERR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!info->error[0])
		memcpy(info->error, msg, sizeof(msg));
	if (why && !why[0])
		memcpy(why, msg, sizeof(msg));
	return -HV_EINVAL;
}

int acpi_fail(struct acpi_info *info, char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acpi_vfail(info, why, fmt, ap);
	va_end(ap);
	return -HV_EINVAL;
}

static __printf(2, 3) int acpi_err(struct acpi_info *info, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acpi_vfail(info, NULL, fmt, ap);
	va_end(ap);
	return -HV_EINVAL;
}

/* The callback is not asked about empty or wrapping ranges. */
static const u8 *acpi_map(const struct acpi_mem *mem, u64 phys, u64 len)
{
	if (!mem || !mem->map || !len || phys + (len - 1) < phys)
		return NULL;
	return mem->map(mem->ctx, phys, len);
}

u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/* The ACPI 1.0 part: signature and the checksum over the first 20 bytes. */
static bool rsdp_v1_ok(const u8 *p)
{
	return !memcmp(p, RSDP_SIG, 8) && !acpi_checksum(p, RSDP_V1_LEN);
}

int acpi_check_rsdp(const void *rsdp, size_t len)
{
	const u8 *p = rsdp;
	u32 length;

	if (!p || len < RSDP_V1_LEN || !rsdp_v1_ok(p))
		return -HV_EINVAL;
	if (p[offsetof(struct acpi_rsdp, revision)] < 2)
		return 0;
	if (len < RSDP_V2_LEN)
		return -HV_EINVAL;
	length = rd32(p + offsetof(struct acpi_rsdp, length));
	if (length < RSDP_V2_LEN || length > len)
		return -HV_EINVAL;
	return acpi_checksum(p, length) ? -HV_EINVAL : 0;
}

/* ------------------------------------------------------------ RSDP scan */

/* Validate a candidate whose signature matched, mapping just what it needs. */
static bool rsdp_valid_at(const struct acpi_mem *mem, u64 phys)
{
	const u8 *p = acpi_map(mem, phys, RSDP_V1_LEN);
	u32 len = RSDP_V1_LEN;

	if (!p)
		return false;
	if (p[offsetof(struct acpi_rsdp, revision)] >= 2) {
		p = acpi_map(mem, phys, RSDP_V2_LEN);
		if (!p)
			return false;
		len = rd32(p + offsetof(struct acpi_rsdp, length));
		if (len < RSDP_V2_LEN || len > RSDP_MAX_LEN)
			return false;
		p = acpi_map(mem, phys, len);
		if (!p)
			return false;
	}
	return acpi_check_rsdp(p, len) == 0;
}

static u64 rsdp_scan_range(const struct acpi_mem *mem, u64 start, u64 end)
{
	u64 a;
	const u8 *p;

	for (a = start; a + RSDP_V1_LEN <= end; a += RSDP_SCAN_STEP) {
		p = acpi_map(mem, a, 8);
		if (p && !memcmp(p, RSDP_SIG, 8) && rsdp_valid_at(mem, a))
			return a;
	}
	return 0;
}

u64 acpi_scan_rsdp(const struct acpi_mem *mem)
{
	const u8 *p = acpi_map(mem, BDA_EBDA_SEG, 2);
	u64 ebda, found;

	if (p) {
		ebda = (u64)rd16(p) << 4;
		/* Segment 0 means "no EBDA", not "scan the vector table". */
		if (ebda) {
			found = rsdp_scan_range(mem, ebda, ebda + EBDA_SCAN_LEN);
			if (found)
				return found;
		}
	}
	return rsdp_scan_range(mem, BIOS_AREA_START, BIOS_AREA_END);
}

/* ------------------------------------------------------------ tables */

/* The name the specification uses; @sig is a NUL-terminated signature. */
static const char *sig_name(const char *sig)
{
	if (!memcmp(sig, "APIC", 4))
		return "MADT";
	if (!memcmp(sig, "FACP", 4))
		return "FADT";
	return sig;
}

static bool is_aml_table(const char *sig)
{
	return !memcmp(sig, "DSDT", 4) || !memcmp(sig, "SSDT", 4);
}

/*
 * Map the table at @phys: header first, so a corrupt length is refused
 * before anyone is asked to map it, then the whole table for the checksum.
 * A DSDT or SSDT with a bad checksum is still used (and the fact noted):
 * firmware that patches its AML at boot often forgets the sum, Linux only
 * warns about it, and the _S5 scan checks every length it reads anyway.
 */
int acpi_map_table(const struct acpi_mem *mem, u64 phys, const char *sig,
		   struct acpi_table *t, struct acpi_info *info, char *why)
{
	const char *name = sig_name(sig);
	const u8 *p = acpi_map(mem, phys, ACPI_HDR_LEN);
	u32 len, max = is_aml_table(sig) ? AML_TABLE_MAX : ACPI_TABLE_MAX;

	if (!p)
		return acpi_fail(info, why, "%s at 0x%llx: not mapped", name,
				 (unsigned long long)phys);
	if (memcmp(p, sig, 4))
		return acpi_fail(info, why, "%s at 0x%llx: signature is not %s",
				 name, (unsigned long long)phys, sig);
	len = rd32(p + SDT_LENGTH_OFF);
	if (len < ACPI_HDR_LEN || len > max)
		return acpi_fail(info, why,
				 "%s at 0x%llx: length %u out of range", name,
				 (unsigned long long)phys, len);
	p = acpi_map(mem, phys, len);
	if (!p)
		return acpi_fail(info, why, "%s at 0x%llx: %u bytes not mapped",
				 name, (unsigned long long)phys, len);
	if (acpi_checksum(p, len)) {
		if (!is_aml_table(sig))
			return acpi_fail(info, why, "%s at 0x%llx: bad checksum",
					 name, (unsigned long long)phys);
		acpi_err(info, "%s at 0x%llx: bad checksum, scanned anyway",
			 name, (unsigned long long)phys);
	}
	t->phys = phys;
	t->p = p;
	t->len = len;
	return 0;
}

/* ------------------------------------------------------------ MADT */

static int madt_add_cpu(struct acpi_info *info, const struct acpi_cpu *cpu,
			u32 flags, u32 off)
{
	unsigned int i;

	if (!(flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE))) {
		info->nr_cpus_disabled++;
		return 0;
	}
	/* Two CPUs answering to one APIC ID cannot both be started. */
	for (i = 0; i < info->nr_cpus; i++)
		if (info->cpus[i].apic_id == cpu->apic_id)
			return acpi_err(info,
					"MADT: entry at +0x%x repeats APIC ID %u",
					off, cpu->apic_id);
	if (info->nr_cpus == ACPI_MAX_CPUS) {
		info->nr_cpus_dropped++;
		return 0;
	}
	info->cpus[info->nr_cpus++] = *cpu;
	return 0;
}

static int madt_lapic(struct acpi_info *info, const u8 *e, u32 off)
{
	struct acpi_cpu cpu = { .uid = e[2], .apic_id = e[3] };

	return madt_add_cpu(info, &cpu, rd32(e + 4), off);
}

static int madt_x2apic(struct acpi_info *info, const u8 *e, u32 off)
{
	struct acpi_cpu cpu = {
		.apic_id = rd32(e + 4),
		.uid = rd32(e + 12),
		.x2apic = true,
	};

	return madt_add_cpu(info, &cpu, rd32(e + 8), off);
}

static int madt_ioapic(struct acpi_info *info, const u8 *e, u32 off)
{
	struct acpi_ioapic *io;

	if (info->nr_ioapics == ACPI_MAX_IOAPICS) {
		/* Not fatal: the CPUs are still right. Say so in the log. */
		acpi_err(info, "MADT: I/O APIC at +0x%x beyond %u ignored", off,
			 ACPI_MAX_IOAPICS);
		return 0;
	}
	io = &info->ioapics[info->nr_ioapics++];
	io->id = e[2];
	io->addr = rd32(e + 4);
	io->gsi_base = rd32(e + 8);
	return 0;
}

static int madt_add_nmi(struct acpi_info *info, u32 uid, u16 flags, u8 lint,
			u32 off)
{
	if (lint > 1)
		return acpi_err(info, "MADT: NMI entry at +0x%x names LINT%u",
				off, lint);
	if (info->nr_lapic_nmis == ACPI_MAX_LAPIC_NMIS)
		return acpi_err(info, "MADT: NMI entry at +0x%x beyond %u ignored",
				off, ACPI_MAX_LAPIC_NMIS);
	info->lapic_nmis[info->nr_lapic_nmis++] =
		(struct acpi_lapic_nmi){ .uid = uid, .flags = flags, .lint = lint };
	return 0;
}

/* Type 4: UID 0xff means every processor. A bad one costs only itself. */
static int madt_lapic_nmi(struct acpi_info *info, const u8 *e, u32 off)
{
	madt_add_nmi(info, e[2] == 0xff ? ACPI_NMI_ALL_CPUS : e[2],
		     rd16(e + 3), e[5], off);
	return 0;
}

static int madt_x2apic_nmi(struct acpi_info *info, const u8 *e, u32 off)
{
	madt_add_nmi(info, rd32(e + 4), rd16(e + 2), e[8], off);
	return 0;
}

unsigned int acpi_lapic_nmi_pins(const struct acpi_info *info, u32 apic_id,
				 u16 flags[2])
{
	const struct acpi_cpu *cpu = NULL;
	unsigned int pins = 0;

	for (unsigned int i = 0; i < info->nr_cpus && !cpu; i++)
		if (info->cpus[i].apic_id == apic_id)
			cpu = &info->cpus[i];
	if (!cpu)
		return 0;
	for (unsigned int i = 0; i < info->nr_lapic_nmis; i++) {
		const struct acpi_lapic_nmi *n = &info->lapic_nmis[i];

		if (n->uid != ACPI_NMI_ALL_CPUS && n->uid != cpu->uid)
			continue;
		pins |= 1u << n->lint;
		flags[n->lint] = n->flags;
	}
	return pins;
}

static int madt_lapic_override(struct acpi_info *info, const u8 *e, u32 off)
{
	(void)off;
	info->lapic_addr = rd64(e + 4);
	return 0;
}

static const struct madt_entry_desc {
	u8 min_len;
	int (*parse)(struct acpi_info *info, const u8 *e, u32 off);
} madt_entries[] = {
	[MADT_LAPIC] = { 8, madt_lapic },
	[MADT_IOAPIC] = { 12, madt_ioapic },
	[MADT_LAPIC_OVERRIDE] = { 12, madt_lapic_override },
	[MADT_LAPIC_NMI] = { 6, madt_lapic_nmi },
	[MADT_X2APIC] = { 16, madt_x2apic },
	[MADT_X2APIC_NMI] = { 12, madt_x2apic_nmi },
};

static int madt_entry(struct acpi_info *info, const u8 *e, u32 off)
{
	const struct madt_entry_desc *d;
	u8 type = e[0], len = e[1];

	if (type >= ARRAY_SIZE(madt_entries) || !madt_entries[type].parse)
		return 0;
	d = &madt_entries[type];
	if (len < d->min_len)
		return acpi_err(info,
				"MADT: type %u entry at +0x%x has length %u < %u",
				type, off, len, d->min_len);
	return d->parse(info, e, off);
}

static int madt_walk(const struct acpi_table *t, struct acpi_info *info)
{
	u32 off, len;
	int err;

	for (off = MADT_ENTRIES; off < t->len; off += len) {
		if (t->len - off < 2)
			return acpi_err(info,
					"MADT: entry at +0x%x runs past the end",
					off);
		len = t->p[off + 1];
		/* A zero length would make this loop spin forever. */
		if (len < 2)
			return acpi_err(info,
					"MADT: entry at +0x%x has length %u",
					off, len);
		if (len > t->len - off)
			return acpi_err(info,
					"MADT: entry at +0x%x (length %u) runs past the end",
					off, len);
		err = madt_entry(info, t->p + off, off);
		if (err)
			return err;
	}
	return 0;
}

static int madt_parse(const struct acpi_mem *mem, struct acpi_info *info)
{
	struct acpi_table t;
	int err;

	err = acpi_map_table(mem, info->madt_phys, "APIC", &t, info, NULL);
	if (err)
		return err;
	if (t.len < MADT_ENTRIES)
		return acpi_err(info, "MADT: length %u < %u", t.len,
				MADT_ENTRIES);
	info->lapic_addr = rd32(t.p + MADT_LAPIC_ADDR);
	info->madt_flags = rd32(t.p + MADT_FLAGS);
	err = madt_walk(&t, info);
	if (err)
		return err;
	if (!info->nr_cpus)
		return acpi_err(info, "MADT: no usable CPU");
	return 0;
}

/* A rejected MADT must not leave half its CPUs behind for someone to use. */
static void madt_discard(struct acpi_info *info)
{
	info->lapic_addr = 0;
	info->madt_flags = 0;
	info->nr_cpus = 0;
	info->nr_cpus_disabled = 0;
	info->nr_cpus_dropped = 0;
	info->nr_ioapics = 0;
	info->nr_lapic_nmis = 0;
	memset(info->cpus, 0, sizeof(info->cpus));
	memset(info->ioapics, 0, sizeof(info->ioapics));
}

/* ------------------------------------------------------------ FADT */

/*
 * A fixed-hardware register block's port: the ACPI 2.0 X_ GAS when the
 * table is long enough and it names a port, else the ACPI 1.0 32-bit field.
 * Returns 0 when there is none, or when it is no port (noted as @what).
 */
static u16 fadt_port(const struct acpi_table *t, u32 off, u32 x_off,
		     const char *what, struct acpi_info *info)
{
	struct acpi_gas x;
	u64 port = rd32(t->p + off);

	if (t->len >= x_off + sizeof(x)) {
		memcpy(&x, t->p + x_off, sizeof(x));
		if (x.space_id == ACPI_GAS_IO && x.address)
			port = x.address;
	}
	if (port > 0xffff) {
		acpi_err(info, "FADT: %s 0x%llx is not a port", what,
			 (unsigned long long)port);
		return 0;
	}
	return (u16)port;
}

static void fadt_pm_timer(const struct acpi_table *t, struct acpi_info *info)
{
	/* PM_TMR_LEN is 4 exactly when the timer exists (ACPI 4.8.3.3). */
	if (t->p[FADT_PM_TMR_LEN] != 4)
		return;
	info->pm_tmr_port = fadt_port(t, FADT_PM_TMR_BLK, FADT_X_PM_TMR_BLK,
				      "PM timer port", info);
}

/*
 * What entering S5 needs: the PM1 control blocks of fixed-hardware ACPI,
 * or the sleep registers of hardware-reduced ACPI (ACPI 5.0, 4.8.3.7),
 * the SMI command that switches to ACPI mode, and where the DSDT is.
 */
static void fadt_sleep(const struct acpi_table *t, struct acpi_info *info)
{
	u64 x_dsdt = 0;

	info->fadt_revision = t->p[FADT_REVISION];
	info->smi_cmd = rd32(t->p + FADT_SMI_CMD);
	info->acpi_enable = t->p[FADT_ACPI_ENABLE];
	if (t->len >= FADT_X_DSDT + 8)
		x_dsdt = rd64(t->p + FADT_X_DSDT);
	info->dsdt_phys = x_dsdt ? x_dsdt : rd32(t->p + FADT_DSDT);
	info->pm1a_cnt_port = fadt_port(t, FADT_PM1A_CNT_BLK,
					FADT_X_PM1A_CNT_BLK,
					"PM1a control block", info);
	info->pm1b_cnt_port = fadt_port(t, FADT_PM1B_CNT_BLK,
					FADT_X_PM1B_CNT_BLK,
					"PM1b control block", info);
	/* Before ACPI 5.0 bit 20 was reserved: believe it from 5 on only. */
	if (info->fadt_revision < FADT_REV_HW_REDUCED)
		return;
	info->hw_reduced = info->fadt_flags & FADT_HW_REDUCED_ACPI;
	if (t->len < FADT_SLEEP_STATUS_REG + sizeof(struct acpi_gas))
		return;
	memcpy(&info->sleep_ctl, t->p + FADT_SLEEP_CONTROL_REG,
	       sizeof(info->sleep_ctl));
	memcpy(&info->sleep_sts, t->p + FADT_SLEEP_STATUS_REG,
	       sizeof(info->sleep_sts));
}

static void fadt_reset_reg(const struct acpi_table *t, struct acpi_info *info)
{
	if (t->len < FADT_RESET_VALUE + 1 ||
	    !(info->fadt_flags & FADT_RESET_REG_SUP))
		return;
	memcpy(&info->reset_reg, t->p + FADT_RESET_REG,
	       sizeof(info->reset_reg));
	info->reset_value = t->p[FADT_RESET_VALUE];
	info->has_reset_reg = info->reset_reg.address != 0;
}

static int fadt_parse(const struct acpi_mem *mem, struct acpi_info *info)
{
	struct acpi_table t;
	int err;

	err = acpi_map_table(mem, info->fadt_phys, "FACP", &t, info, NULL);
	if (err)
		return err;
	if (t.len < FADT_MIN_LEN)
		return acpi_err(info, "FADT: length %u < %u", t.len,
				FADT_MIN_LEN);
	info->fadt_flags = rd32(t.p + FADT_FLAGS);
	info->pm_tmr_32bit = info->fadt_flags & FADT_TMR_VAL_EXT;
	if (t.len >= FADT_IAPC_BOOT_ARCH + 2)
		info->iapc_boot_arch = rd16(t.p + FADT_IAPC_BOOT_ARCH);
	fadt_pm_timer(&t, info);
	fadt_reset_reg(&t, info);
	fadt_sleep(&t, info);
	return 0;
}

static void fadt_discard(struct acpi_info *info)
{
	info->fadt_flags = 0;
	info->iapc_boot_arch = 0;
	info->pm_tmr_port = 0;
	info->pm_tmr_32bit = false;
	info->has_reset_reg = false;
	memset(&info->reset_reg, 0, sizeof(info->reset_reg));
	info->reset_value = 0;
	info->fadt_revision = 0;
	info->dsdt_phys = 0;
	info->smi_cmd = 0;
	info->acpi_enable = 0;
	info->pm1a_cnt_port = 0;
	info->pm1b_cnt_port = 0;
	info->hw_reduced = false;
	memset(&info->sleep_ctl, 0, sizeof(info->sleep_ctl));
	memset(&info->sleep_sts, 0, sizeof(info->sleep_sts));
}

/* ------------------------------------------------------------ HPET */

static int hpet_parse(const struct acpi_mem *mem, struct acpi_info *info)
{
	char *why = info->hpet_error;
	struct acpi_gas base;
	struct acpi_table t;
	u32 id;
	int err;

	err = acpi_map_table(mem, info->hpet_phys, "HPET", &t, info, why);
	if (err)
		return err;
	if (t.len < HPET_LEN)
		return acpi_fail(info, why, "HPET: length %u < %u", t.len,
				 HPET_LEN);
	memcpy(&base, t.p + HPET_BASE, sizeof(base));
	/* The specification allows only memory; a port would be a guess. */
	if (base.space_id != ACPI_GAS_MEMORY)
		return acpi_fail(info, why,
				 "HPET: base in address space %u, not memory",
				 base.space_id);
	if (!base.address || base.address + (HPET_REGS_LEN - 1) < base.address)
		return acpi_fail(info, why, "HPET: base address 0x%llx unusable",
				 (unsigned long long)base.address);
	id = rd32(t.p + HPET_BLOCK_ID);
	info->hpet_base = base.address;
	info->hpet_block_id = id;
	info->hpet_hw_rev = (u8)id;
	info->hpet_timers = ((id >> 8) & 0x1f) + 1;
	info->hpet_64bit = id & (1u << 13);
	info->hpet_legacy = id & (1u << 15);
	info->hpet_vendor_id = (u16)(id >> 16);
	info->hpet_number = t.p[HPET_NUMBER];
	info->hpet_min_tick = rd16(t.p + HPET_MIN_TICK);
	info->hpet_page_prot = t.p[HPET_PAGE_PROT];
	return 0;
}

/* ------------------------------------------------------------ root */

/*
 * Pick the root table from the RSDP. An ACPI 2.0+ RSDP handed over as its
 * 20-byte ACPI 1.0 part (multiboot2 tag 14) is still a good RSDT pointer.
 */
static int rsdp_root(const u8 *rsdp, size_t len, struct acpi_info *info)
{
	bool v1_only;
	u8 rev;
	u64 xsdt = 0;

	if (len < RSDP_V1_LEN)
		return acpi_err(info, "RSDP: %lu bytes, need %u",
				(unsigned long)len, RSDP_V1_LEN);
	rev = rsdp[offsetof(struct acpi_rsdp, revision)];
	v1_only = rev < 2 || len < RSDP_V2_LEN;
	if (v1_only ? !rsdp_v1_ok(rsdp) : acpi_check_rsdp(rsdp, len) != 0)
		return acpi_err(info, "RSDP: bad signature, length or checksum");
	info->rsdp_revision = rev;
	memcpy(info->oem_id, rsdp + offsetof(struct acpi_rsdp, oem_id), 6);
	info->oem_id[6] = '\0';
	if (!v1_only)
		xsdt = rd64(rsdp + offsetof(struct acpi_rsdp, xsdt_address));
	info->use_xsdt = xsdt != 0;
	info->rsdt_phys = xsdt ? xsdt :
		rd32(rsdp + offsetof(struct acpi_rsdp, rsdt_address));
	if (!info->rsdt_phys)
		return acpi_err(info, "RSDP: no RSDT address");
	return 0;
}

/* Copy the entries out so no mapping is held while others are made. */
static unsigned int root_entries(const struct acpi_table *root, bool xsdt,
				 u64 *addr)
{
	unsigned int i, esize = xsdt ? 8 : 4;
	unsigned int n = (root->len - ACPI_HDR_LEN) / esize;
	const u8 *e = root->p + ACPI_HDR_LEN;

	n = MIN(n, ACPI_MAX_TABLES);
	for (i = 0; i < n; i++, e += esize)
		addr[i] = xsdt ? rd64(e) : rd32(e);
	return n;
}

/*
 * Note where the tables we read are. The SSDTs' addresses are moved, in
 * root order, to the front of @addr; returns how many there are.
 */
static unsigned int find_tables(const struct acpi_mem *mem, u64 *addr,
				unsigned int n, struct acpi_info *info)
{
	const u8 *h;
	unsigned int i, nr_ssdt = 0;

	for (i = 0; i < n; i++) {
		if (!addr[i])
			continue;
		h = acpi_map(mem, addr[i], ACPI_HDR_LEN);
		if (!h) {
			acpi_err(info, "root entry %u: 0x%llx not mapped", i,
				 (unsigned long long)addr[i]);
			continue;
		}
		if (!info->madt_phys && !memcmp(h, "APIC", 4))
			info->madt_phys = addr[i];
		else if (!info->fadt_phys && !memcmp(h, "FACP", 4))
			info->fadt_phys = addr[i];
		else if (!info->spcr_phys && !memcmp(h, "SPCR", 4))
			info->spcr_phys = addr[i];
		else if (!info->hpet_phys && !memcmp(h, "HPET", 4))
			info->hpet_phys = addr[i];
		else if (!memcmp(h, "SSDT", 4))
			addr[nr_ssdt++] = addr[i]; /* nr_ssdt <= i */
	}
	return nr_ssdt;
}

int acpi_parse(const struct acpi_mem *mem, const void *rsdp, size_t rsdp_len,
	       struct acpi_info *info)
{
	struct acpi_table root;
	u64 addr[ACPI_MAX_TABLES];
	unsigned int n, nr_ssdt;
	int err;

	memset(info, 0, sizeof(*info));
	if (!rsdp || !rsdp_len) {
		acpi_err(info, "no RSDP");
		return -HV_ENOENT;
	}
	err = rsdp_root(rsdp, rsdp_len, info);
	if (err)
		return err;
	err = acpi_map_table(mem, info->rsdt_phys,
			     info->use_xsdt ? "XSDT" : "RSDT", &root, info, NULL);
	if (err)
		return err;
	n = root_entries(&root, info->use_xsdt, addr);
	nr_ssdt = find_tables(mem, addr, n, info);

	/* Past the root, a bad table costs that table only. */
	if (!info->madt_phys)
		acpi_err(info, "MADT: not found");
	else if (madt_parse(mem, info) == 0)
		info->madt_ok = true;
	else
		madt_discard(info);
	if (!info->fadt_phys)
		acpi_err(info, "FADT: not found");
	else if (fadt_parse(mem, info) == 0)
		info->fadt_ok = true;
	else
		fadt_discard(info);
	/* The rest are optional: a machine without them is no problem. */
	if (info->spcr_phys)
		acpi_parse_spcr(mem, info);
	if (info->hpet_phys)
		info->hpet_ok = hpet_parse(mem, info) == 0;
	acpi_find_s5(mem, addr, nr_ssdt, info);
	return 0;
}
