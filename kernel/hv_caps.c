/*
 * The processor compatibility check's comparison (KVM runs
 * check_processor_compat on every CPU): every raw capability field of an AP
 * must equal the boot CPU's. Pure, so the unit tests run it too.
 */
#include <lamina/hv.h>
#include <lamina/lib.h>

const struct caps_field *hv_caps_diff(const struct hv_caps *a,
				      const struct hv_caps *b,
				      const struct caps_field *fields,
				      size_t nr_fields)
{
	for (size_t i = 0; i < nr_fields; i++) {
		u64 x, y;

		memcpy(&x, (const u8 *)a + fields[i].offset, sizeof(x));
		memcpy(&y, (const u8 *)b + fields[i].offset, sizeof(y));
		if (x != y)
			return &fields[i];
	}
	return NULL;
}
