/*
 * \_S5 without an AML interpreter: the soft-off sleep types are almost
 * always a constant package, Name(_S5, Package() { a, b, ... }), which a
 * byte scan for the NameOp finds. The package is decoded as far as its
 * first two elements, every length checked against the table; anything
 * richer (a Method, a computed element) is refused with the reason, and
 * power-off then goes without ACPI.
 */
#include <lamina/acpi.h>
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/unaligned.h>

/* AML encodings, ACPI 6.5 chapter 20. */
#define AML_NAME_OP 0x08
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_PREFIX '^'
#define AML_PACKAGE_OP 0x12
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_ONES_OP 0xff
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_NAMESEG_LEN 4

#define SLP_TYP_MAX 7	/* 3 bits in PM1_CNT and SLEEP_CONTROL_REG */
#define SDT_HDR_LEN 36

/* A read position inside [.., end) of one AML byte stream. */
struct aml_cursor {
	const u8 *p;
	u32 pos, end;
	char *why;
	size_t why_len;
};

static __printf(2, 3) int aml_fail(struct aml_cursor *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why_len) {
		va_start(ap, fmt);
		vsnprintf(c->why, c->why_len, fmt, ap);
		va_end(ap);
	}
	return -HV_EINVAL;
}

/*
 * The offset of the first NameOp whose NameString is _S5_, alone or behind
 * a root or parent prefix; @len when there is none.
 */
static u32 find_s5_name(const u8 *aml, u32 len, u32 start, u32 *name_end)
{
	u32 i, j;

	for (i = start; i < len; i++) {
		if (aml[i] != AML_NAME_OP)
			continue;
		j = i + 1;
		if (j < len && aml[j] == AML_ROOT_CHAR)
			j++;
		else
			while (j < len && aml[j] == AML_PARENT_PREFIX)
				j++;
		if (len - j >= AML_NAMESEG_LEN &&
		    !memcmp(aml + j, "_S5_", AML_NAMESEG_LEN)) {
			*name_end = j + AML_NAMESEG_LEN;
			return i;
		}
	}
	return len;
}

/*
 * PkgLength (20.2.4): bits 7:6 of the lead byte count the bytes that
 * follow it. With none, bits 5:0 are the length; with some, bits 3:0 are
 * its low nibble and each following byte the next 8 bits. Bits 5:4 are
 * then reserved; they are ignored, as ACPICA does. The length counts
 * itself and what follows. Sets *end to the package's end.
 */
static int aml_pkg_length(struct aml_cursor *c, u32 *end)
{
	u32 start = c->pos, n, len, i;
	u8 lead;

	if (c->pos >= c->end)
		return aml_fail(c, "PkgLength at +0x%x is past the end", start);
	lead = c->p[c->pos];
	n = lead >> 6;
	if (c->end - c->pos <= n)
		return aml_fail(c, "%u-byte PkgLength at +0x%x runs past the end",
				n + 1, start);
	len = n ? lead & 0x0fu : lead & 0x3fu;
	for (i = 0; i < n; i++)
		len |= (u32)c->p[start + 1 + i] << (4 + 8 * i);
	c->pos += 1 + n;
	/* Room for itself and NumElements at least. */
	if (len < n + 2)
		return aml_fail(c, "PkgLength %u at +0x%x is too short", len,
				start);
	if (len > c->end - start)
		return aml_fail(c,
				"package at +0x%x (PkgLength %u) runs past the end (0x%x bytes left)",
				start, len, c->end - start);
	*end = start + len;
	return 0;
}

/* A ComputationalData integer constant (20.2.3) inside [.., end). */
static int aml_integer(struct aml_cursor *c, u32 end, unsigned int idx,
		       u64 *val)
{
	u32 at = c->pos, n, i;
	u8 op;

	if (at >= end)
		return aml_fail(c, "element %u at +0x%x is past the package end",
				idx, at);
	op = c->p[at];
	switch (op) {
	case AML_ZERO_OP:
	case AML_ONE_OP:
	case AML_ONES_OP:
		*val = op == AML_ZERO_OP ? 0 : op == AML_ONE_OP ? 1 : ~0ull;
		c->pos++;
		return 0;
	case AML_BYTE_PREFIX:
		n = 1;
		break;
	case AML_WORD_PREFIX:
		n = 2;
		break;
	case AML_DWORD_PREFIX:
		n = 4;
		break;
	case AML_QWORD_PREFIX:
		n = 8;
		break;
	default:
		return aml_fail(c,
				"element %u at +0x%x: opcode 0x%02x is no integer constant",
				idx, at, op);
	}
	if (end - at - 1 < n)
		return aml_fail(c, "element %u at +0x%x runs past the package end",
				idx, at);
	*val = 0;
	for (i = 0; i < n; i++)
		*val |= (u64)c->p[at + 1 + i] << (8 * i);
	c->pos += 1 + n;
	return 0;
}

static int aml_slp_typ(struct aml_cursor *c, u32 end, unsigned int idx,
		       u8 *typ)
{
	u64 v = 0;
	int err = aml_integer(c, end, idx, &v);

	if (err)
		return err;
	if (v > SLP_TYP_MAX)
		return aml_fail(c, "SLP_TYP%c 0x%llx does not fit 3 bits",
				idx ? 'b' : 'a', (unsigned long long)v);
	*typ = (u8)v;
	return 0;
}

int acpi_aml_find_s5(const u8 *aml, u32 len, u32 start, u8 *slp_typa,
		     u8 *slp_typb, char *why, size_t why_len)
{
	struct aml_cursor c = { aml, 0, len, why, why_len };
	u32 name, pkg_end = 0;
	u8 elements;
	int err;

	if (why_len)
		why[0] = '\0';
	if (!aml || start >= len)
		return -HV_ENOENT;
	name = find_s5_name(aml, len, start, &c.pos);
	if (name == len)
		return -HV_ENOENT;
	if (c.pos >= len || aml[c.pos] != AML_PACKAGE_OP)
		return aml_fail(&c, "_S5_ at +0x%x is not a Package", name);
	c.pos++;
	err = aml_pkg_length(&c, &pkg_end);
	if (err)
		return err;
	elements = aml[c.pos++];
	if (elements < 2)
		return aml_fail(&c, "_S5_ at +0x%x has %u elements, not 2",
				name, elements);
	err = aml_slp_typ(&c, pkg_end, 0, slp_typa);
	if (!err)
		err = aml_slp_typ(&c, pkg_end, 1, slp_typb);
	return err;
}

/* ------------------------------------------------------------ tables */

/*
 * Look in one DSDT or SSDT. Returns 0 when _S5_ was found and good,
 * -HV_EINVAL when it was found and bad, -HV_ENOENT when the search goes on
 * (not named here, or this table unreadable: that reason is kept).
 */
static int s5_in_table(const struct acpi_mem *mem, u64 phys, const char *sig,
		       struct acpi_info *info)
{
	char why[ACPI_ERR_MAX];
	struct acpi_table t;
	int err;

	if (acpi_map_table(mem, phys, sig, &t, info, info->s5_error))
		return -HV_ENOENT;
	err = acpi_aml_find_s5(t.p, t.len, SDT_HDR_LEN, &info->slp_typa,
			       &info->slp_typb, why, sizeof(why));
	if (err == -HV_EINVAL)
		acpi_fail(info, info->s5_error, "S5: %s at 0x%llx: %s", sig,
			  (unsigned long long)phys, why);
	if (!err)
		info->s5_phys = phys;
	return err;
}

/* What writing SLP_TYP and SLP_EN needs, fixed or hardware-reduced. */
static int s5_registers(struct acpi_info *info)
{
	const struct acpi_gas *g = &info->sleep_ctl;

	if (!info->hw_reduced)
		return info->pm1a_cnt_port ? 0 :
			acpi_fail(info, info->s5_error,
				  "S5: the FADT has no PM1a control block");
	if (!g->address)
		return acpi_fail(info, info->s5_error,
				 "S5: hardware-reduced FADT without SLEEP_CONTROL_REG");
	if (g->space_id == ACPI_GAS_IO && g->address <= 0xffff)
		return 0;
	if (g->space_id == ACPI_GAS_MEMORY)
		return 0;
	return acpi_fail(info, info->s5_error,
			 "S5: SLEEP_CONTROL_REG 0x%llx in address space %u",
			 (unsigned long long)g->address, g->space_id);
}

void acpi_find_s5(const struct acpi_mem *mem, const u64 *ssdt,
		  unsigned int nr_ssdt, struct acpi_info *info)
{
	unsigned int i;
	int err = -HV_ENOENT;

	if (!info->fadt_ok) {
		acpi_fail(info, info->s5_error, "S5: no usable FADT");
		return;
	}
	if (info->dsdt_phys)
		err = s5_in_table(mem, info->dsdt_phys, "DSDT", info);
	else
		acpi_fail(info, info->s5_error, "S5: the FADT names no DSDT");
	for (i = 0; i < nr_ssdt && err == -HV_ENOENT; i++) {
		info->nr_ssdts_scanned++;
		err = s5_in_table(mem, ssdt[i], "SSDT", info);
	}
	if (err == -HV_ENOENT)
		acpi_fail(info, info->s5_error,
			  "S5: no _S5_ in the DSDT or %u SSDTs", nr_ssdt);
	if (!err)
		err = s5_registers(info);
	if (err) {
		info->slp_typa = info->slp_typb = 0;
		info->s5_phys = 0;
		return;
	}
	/* An unreadable DSDT is in info->error; _S5 came from an SSDT. */
	info->s5_error[0] = '\0';
	info->s5_ok = true;
}
