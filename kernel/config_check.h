/*
 * Private to the configuration blob validator: what kernel/config_check.c
 * (entry point, header, layout, VMs, regions) and kernel/config_check_dev.c
 * (devices) share. Not part of any interface; include/lamina/config.h is.
 */
#ifndef LAMINA_KERNEL_CONFIG_CHECK_H
#define LAMINA_KERNEL_CONFIG_CHECK_H

#include <lamina/config.h>
#include <lamina/lib.h>

#define SZ_4K 0x1000ull
#define GPA_LIMIT (1ull << 48)      /* guest-physical addresses stage 2 maps */
#define LABEL_MAX 64

#define ULL(v) ((unsigned long long)(v))

/* A half-open range [start, end). */
struct span {
	u64 start;
	u64 end;
};

struct checker {
	const u8 *blob;
	u32 size;                   /* total_size, once checked */
	struct cfg_header h;
	const struct cfg_env *env;
	cfg_report_fn report;
	void *ctx;
	unsigned int problems;
	bool vms_ok;                /* records in bounds and within the limits */
	bool regions_ok;
	bool devices_ok;
	bool strings_ok;            /* in bounds, within the limit, NUL-ended */
	u8 region_owner[CFG_MAX_REGIONS]; /* 1 + the first owning VM; 0: none */
	u8 device_owner[CFG_MAX_DEVICES];
};

/* Reports one problem, formatted, and counts it. */
void cfgc_problem(struct checker *c, const char *fmt, ...) __printf(2, 3);

/* [base, base + size) as a span: false if empty or it ends past @limit. */
static inline bool make_span(u64 base, u64 size, u64 limit, struct span *s)
{
	if (size == 0 || size > limit || base > limit - size)
		return false;
	s->start = base;
	s->end = base + size;
	return true;
}

static inline bool overlap(const struct span *a, const struct span *b)
{
	return a->start < b->end && b->start < a->end;
}

/*
 * Reserved words must be zero, unless the blob has a newer minor version:
 * a minor version gives meaning to reserved space, and a reader accepts
 * any minor, ignoring the fields it does not know.
 */
static inline bool reserved_set(const struct checker *c, const void *p,
				size_t n)
{
	const u8 *b = p;

	if (c->h.abi_minor > CFG_ABI_MINOR)
		return false;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return true;
	return false;
}

static inline struct cfg_vm read_vm(const struct checker *c, u32 i)
{
	struct cfg_vm v;

	memcpy(&v, c->blob + c->h.vms_offset + (size_t)i * sizeof(v), sizeof(v));
	return v;
}

static inline struct cfg_region read_region(const struct checker *c, u32 i)
{
	struct cfg_region r;

	memcpy(&r, c->blob + c->h.regions_offset + (size_t)i * sizeof(r), sizeof(r));
	return r;
}

static inline struct cfg_device read_device(const struct checker *c, u32 i)
{
	struct cfg_device d;

	memcpy(&d, c->blob + c->h.devices_offset + (size_t)i * sizeof(d), sizeof(d));
	return d;
}

/* A VM's records [*first, *end) when the whole range lies in the array. */
static inline bool vm_range(bool array_ok, u32 first, u32 nr, u32 count,
			    u32 *start, u32 *end)
{
	if (!array_ok || (u64)first + nr > count)
		return false;
	*start = first;
	*end = first + nr;
	return true;
}

/* Names of VMs and records for the reports; config_check.c. */
void cfgc_vm_label(const struct checker *c, u32 i, char *buf, size_t size);
void cfgc_rec_label(const struct checker *c, const char *what, u8 owner,
		    u32 i, char *buf, size_t size);

/* config_check_boot.c: boot kind multiboot; @kernel, @initrd may be NULL */
void cfgc_check_multiboot(struct checker *c, const char *label,
			  const struct cfg_vm *v, const char *cmdline,
			  const struct cfg_module *kernel,
			  const struct cfg_module *initrd);

/* config_check_dev.c */
void cfgc_check_linux(struct checker *c, const char *label,
		      const struct cfg_vm *v, const char *cmdline,
		      const struct cfg_module *kernel);
void cfgc_check_device(struct checker *c, u32 i);
void cfgc_check_vm_devices(struct checker *c, u32 vm);
void cfgc_check_cross_vm(struct checker *c);

#endif
