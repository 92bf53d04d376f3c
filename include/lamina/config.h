/*
 * The one validator of configuration blobs (kernel/config_check.c),
 * compiled into Lamina and into tools/lamina-cfg. It reports every problem
 * it finds, not just the first, and never reads outside the blob.
 */
#ifndef LAMINA_CONFIG_H
#define LAMINA_CONFIG_H

#include <abi/config.h>

/* A multiboot2 module (Lamina) or an image file (the tool). */
struct cfg_module {
	const char *name;
	u64 size;
	/*
	 * Its @size bytes, or NULL when they are not at hand: then what only
	 * the contents tell (a multiboot kernel's header) is not checked.
	 */
	const void *data;
};

/* What the validator may check beyond the blob itself. */
struct cfg_env {
	u64 cpus_present;   /* bitmap of usable pCPUs; 0: unknown (the tool) */
	bool caps_known;    /* false in the tool */
	bool real16_ok;     /* VMX unrestricted guest or SVM */
	bool modules_known; /* check that images exist and fit */
	const struct cfg_module *modules;
	unsigned int nr_modules;
};

typedef void (*cfg_report_fn)(void *ctx, const char *problem);

/*
 * Check @len bytes at @blob. Each problem is reported as one line of text
 * naming the record ("vm 'web' region 2: ...") and the rule broken.
 * Returns the number of problems: 0 means the blob may be used. Stops
 * early only where going on would read outside the blob (then says so).
 */
unsigned int cfg_validate(const void *blob, size_t len,
			  const struct cfg_env *env, cfg_report_fn report,
			  void *ctx);

/* Accessors for a validated blob. */
static inline const struct cfg_header *cfg_hdr(const void *blob)
{
	return (const struct cfg_header *)blob;
}

static inline const struct cfg_vm *cfg_vm_at(const void *blob, u32 i)
{
	return (const struct cfg_vm *)((const u8 *)blob +
				       cfg_hdr(blob)->vms_offset) + i;
}

static inline const struct cfg_region *cfg_region_at(const void *blob, u32 i)
{
	return (const struct cfg_region *)((const u8 *)blob +
					   cfg_hdr(blob)->regions_offset) + i;
}

static inline const struct cfg_device *cfg_device_at(const void *blob, u32 i)
{
	return (const struct cfg_device *)((const u8 *)blob +
					   cfg_hdr(blob)->devices_offset) + i;
}

/* A string of a validated blob, or NULL for CFG_NONE. */
static inline const char *cfg_str(const void *blob, u32 off)
{
	if (off == CFG_NONE)
		return NULL;
	return (const char *)blob + cfg_hdr(blob)->strings_offset + off;
}

const char *cfg_boot_kind_name(u32 kind);
const char *cfg_crash_policy_name(u32 policy);
const char *cfg_device_kind_name(u32 kind);

#endif
