/*
 * libFuzzer target for ACPI table discovery (drivers/acpi_tables.c).
 *
 * Input: one flag byte, a little-endian u16 RSDP offset, then a memory image
 * that appears at physical IMG_BASE, the start of the BIOS area, so the RSDP
 * scan walks it too. Tables point at each other by physical address, as in
 * firmware. With FIX_SUMS set the harness repairs the checksums along the
 * RSDP -> root -> table (and FADT -> DSDT) chain first, so the fuzzer does
 * not have to find them byte by byte before it reaches the MADT, FADT,
 * SPCR and HPET parsers and the \_S5 scan of the DSDT and SSDTs. With
 * AML_ONLY the image is instead handed to the AML scanner as it is.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define FIX_SUMS	(1u << 0)
#define SCAN		(1u << 1) /* find the RSDP like the BIOS path does */
#define EBDA_IS_IMAGE	(1u << 2) /* BDA points the EBDA at the image */
#define RSDP_20_BYTES	(1u << 3) /* hand over an ACPI 1.0-sized copy */
#define AML_ONLY	(1u << 4) /* scan the image from the offset for _S5 */
#define SHORT_WHY	(1u << 5) /* ... with a 5-byte reason buffer */

#define IMG_BASE 0xe0000ull
#define IMG_MAX 0x20000u
#define BDA_BASE 0x400ull

struct fake_mem {
	uint8_t *img;
	size_t size;
	uint8_t bda[0x100];
};

static const void *fake_map(void *ctx, u64 phys, u64 len)
{
	struct fake_mem *m = ctx;

	if (phys >= IMG_BASE && phys - IMG_BASE <= m->size &&
	    len <= m->size - (phys - IMG_BASE))
		return m->img + (phys - IMG_BASE);
	if (phys >= BDA_BASE && phys - BDA_BASE <= sizeof(m->bda) &&
	    len <= sizeof(m->bda) - (phys - BDA_BASE))
		return m->bda + (phys - BDA_BASE);
	return NULL;
}

static u32 rd32(const uint8_t *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return v;
}

static u64 rd64(const uint8_t *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

/* Image bytes for [phys, phys + len), or NULL. */
static uint8_t *img_at(struct fake_mem *m, u64 phys, u64 len)
{
	if (phys < IMG_BASE || phys - IMG_BASE > m->size ||
	    len > m->size - (phys - IMG_BASE))
		return NULL;
	return m->img + (phys - IMG_BASE);
}

static void fix_sum(uint8_t *p, u32 len, unsigned int at)
{
	p[at] = 0;
	p[at] = (uint8_t)-acpi_checksum(p, len);
}

/*
 * Repair one table's checksum; returns it, or NULL when not in the image.
 * With follow set, a FADT's DSDT is repaired first: it hangs off the FADT,
 * not the root. One level only, as the fuzzer soon finds a FADT whose DSDT
 * pointer is the FADT itself (or another FADT pointing back).
 */
static uint8_t *fix_table(struct fake_mem *m, u64 phys, bool follow)
{
	uint8_t *p = img_at(m, phys, 36);
	u32 len;

	if (!p)
		return NULL;
	len = rd32(p + 4);
	if (len < 36 || !img_at(m, phys, len))
		return NULL;
	if (follow && !memcmp(p, "FACP", 4) && len >= 44) {
		fix_table(m, rd32(p + 40), false);
		if (len >= 148)
			fix_table(m, rd64(p + 140), false);
	}
	fix_sum(p, len, 9);
	return p;
}

static void fix_root(struct fake_mem *m, u64 phys, unsigned int esize)
{
	uint8_t *p = img_at(m, phys, 36);
	u32 i, n;

	if (!p || rd32(p + 4) < 36 || !img_at(m, phys, rd32(p + 4)))
		return;
	n = (rd32(p + 4) - 36) / esize;
	for (i = 0; i < n && i < ACPI_MAX_TABLES; i++)
		fix_table(m, esize == 8 ? rd64(p + 36 + i * 8) :
					  rd32(p + 36 + i * 4), true);
	fix_table(m, phys, false);
}

static void fix_sums(struct fake_mem *m, size_t off)
{
	uint8_t *p = m->img + off;
	size_t room = m->size - off;
	u32 len;

	if (room < 20)
		return;
	fix_root(m, rd32(p + 16), 4);
	if (p[15] >= 2 && room >= 36)
		fix_root(m, rd64(p + 24), 8);
	fix_sum(p, 20, 8);
	if (p[15] < 2 || room < 36)
		return;
	len = rd32(p + 20);
	if (len >= 36 && len <= room)
		fix_sum(p, len, 32);
}

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static bool terminated(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

static void check_spcr(const struct acpi_info *info)
{
	const struct acpi_spcr *s = &info->spcr;

	check(terminated(info->spcr_error, sizeof(info->spcr_error)));
	if (!info->spcr_ok) {
		/* Refused or absent: nothing half-filled. */
		check(!s->base.address && !s->baud && !s->iface && !s->pci);
		check(info->spcr_phys || !info->spcr_error[0]);
		return;
	}
	check(info->spcr_phys && !info->spcr_error[0]);
	check(s->iface == ACPI_SPCR_16550 || s->iface == ACPI_SPCR_16450 ||
	      s->iface == ACPI_SPCR_16550_GAS);
	check(s->base.address != 0);
	check(s->reg_shift <= 2 && s->reg_width == 8u << s->reg_shift);
	if (s->base.space_id == ACPI_GAS_IO)
		check(s->reg_shift == 0 && s->base.address <= 0xfff8);
	else
		check(s->base.space_id == ACPI_GAS_MEMORY);
	check(s->revision >= 4 || s->baud == 0 || s->baud == 9600 ||
	      s->baud == 19200 || s->baud == 57600 || s->baud == 115200);
}

static void check_hpet(const struct acpi_info *info)
{
	check(terminated(info->hpet_error, sizeof(info->hpet_error)));
	if (!info->hpet_ok) {
		check(!info->hpet_base && !info->hpet_block_id);
		return;
	}
	check(info->hpet_phys && info->hpet_base && !info->hpet_error[0]);
	check(info->hpet_timers >= 1 && info->hpet_timers <= 32);
}

static void check_sleep(const struct acpi_info *info, int err)
{
	check(terminated(info->s5_error, sizeof(info->s5_error)));
	if (!info->fadt_ok)
		check(!info->dsdt_phys && !info->pm1a_cnt_port &&
		      !info->pm1b_cnt_port && !info->hw_reduced &&
		      !info->sleep_ctl.address && !info->smi_cmd);
	if (info->hw_reduced)
		check(info->fadt_revision >= 5);
	/* After a good root, a verdict either way, and a reason if "no". */
	check(err || info->s5_ok == !info->s5_error[0]);
	if (!info->s5_ok) {
		check(!info->slp_typa && !info->slp_typb && !info->s5_phys);
		return;
	}
	check(info->fadt_ok && info->s5_phys);
	check(info->slp_typa <= 7 && info->slp_typb <= 7);
	check(info->hw_reduced ? info->sleep_ctl.address != 0 :
				 info->pm1a_cnt_port != 0);
}

static void check_info(const struct acpi_info *info, int err)
{
	unsigned int i, j;

	check(strnlen(info->error, sizeof(info->error)) < sizeof(info->error));
	check(strnlen(info->oem_id, sizeof(info->oem_id)) < sizeof(info->oem_id));
	check(info->nr_cpus <= ACPI_MAX_CPUS);
	check(info->nr_ioapics <= ACPI_MAX_IOAPICS);
	check(info->nr_lapic_nmis <= ACPI_MAX_LAPIC_NMIS);
	check(info->madt_ok || !info->nr_lapic_nmis);
	for (i = 0; i < info->nr_lapic_nmis; i++)
		check(info->lapic_nmis[i].lint <= 1);
	for (i = 0; i < info->nr_cpus; i++) {
		u16 flags[2];

		check(acpi_lapic_nmi_pins(info, info->cpus[i].apic_id, flags) <= 3);
	}
	check(!err || (!info->madt_ok && !info->fadt_ok && !info->spcr_ok &&
		       !info->hpet_ok && !info->s5_ok));
	check(info->madt_ok ? info->nr_cpus > 0 : info->nr_cpus == 0);
	check(info->fadt_ok || (!info->pm_tmr_port && !info->has_reset_reg));
	for (i = 0; i < info->nr_cpus; i++)
		for (j = 0; j < i; j++)
			check(info->cpus[i].apic_id != info->cpus[j].apic_id);
	check_spcr(info);
	check_hpet(info);
	check_sleep(info, err);
}

/* The AML scanner alone, over the raw image from @off. */
static void run_aml(const struct fake_mem *m, u8 flags, size_t off)
{
	char why[ACPI_ERR_MAX];
	size_t why_len = (flags & SHORT_WHY) ? 5 : sizeof(why);
	u8 a = 0xee, b = 0xee;
	int err;

	memset(why, 'X', sizeof(why));
	err = acpi_aml_find_s5(m->img, (u32)m->size, (u32)off, &a, &b, why,
			       why_len);
	check(err == 0 || err == -HV_ENOENT || err == -HV_EINVAL);
	check(terminated(why, why_len));
	check(err != 0 || (a <= 7 && b <= 7 && !why[0]));
	check(err != -HV_EINVAL || why[0]);
	check(err != -HV_ENOENT || !why[0]);
}

static void run(struct fake_mem *m, u8 flags, size_t off)
{
	const struct acpi_mem mem = { fake_map, m };
	static struct acpi_info info;
	const void *rsdp = m->img + off;
	size_t len = MIN(m->size - off, (flags & RSDP_20_BYTES) ? 20u : 36u);
	u64 phys;
	int err;

	if (flags & SCAN) {
		phys = acpi_scan_rsdp(&mem);
		if (!phys)
			return;
		rsdp = fake_map(m, phys, 20);
		check(phys % 16 == 0 && rsdp && !memcmp(rsdp, "RSD PTR ", 8) &&
		      !acpi_checksum(rsdp, 20));
		len = MIN(m->size - (phys - IMG_BASE), 36u);
		rsdp = fake_map(m, phys, len);
	}
	err = acpi_parse(&mem, rsdp, len, &info);
	check_info(&info, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_mem m;
	u8 flags;
	size_t off;

	if (size < 4 || size - 3 > IMG_MAX)
		return 0;
	flags = data[0];
	m.size = size - 3;
	off = (data[1] | (size_t)data[2] << 8) % m.size;
	m.img = malloc(m.size);
	if (!m.img)
		return 0;
	memcpy(m.img, data + 3, m.size);
	memset(m.bda, 0, sizeof(m.bda));
	if (flags & EBDA_IS_IMAGE) {
		u16 seg = IMG_BASE >> 4;

		memcpy(m.bda + 0xe, &seg, 2); /* the word at 0x40e */
	}
	if (flags & AML_ONLY) {
		run_aml(&m, flags, off);
	} else {
		if (flags & FIX_SUMS)
			fix_sums(&m, off);
		run(&m, flags, off);
	}
	free(m.img);
	return 0;
}
