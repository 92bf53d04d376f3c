/*
 * A small builder of configuration blobs (include/abi/config.h) for tests,
 * fuzz seeds and anything else hosted. Header-only, static functions, no
 * test framework: add records to a struct cfg_spec, then cfgb_build() lays
 * out header, VMs, regions, devices and strings in that order and fills in
 * counts, offsets, total_size and the CRC-32. Link lib/crc32.c.
 *
 *	struct cfg_spec s;
 *
 *	cfgb_init(&s);
 *	cfgb_vm(&s, "web", 0x1, CFG_BOOT_RAW64, 0x100000);
 *	cfgb_region(&s, 0, 0x200000, 0, NULL);
 *	cfgb_device(&s, CFG_DEV_UART, 0x3f8, 0, 4, 0);
 *	len = cfgb_build(&s, buf, sizeof(buf));
 *
 * Regions and devices added after a VM belong to it (its first_* and nr_*
 * follow); a test may then edit any record, or the built bytes, and call
 * cfgb_fix_crc() after editing bytes.
 */
#ifndef LAMINA_TESTS_CFG_BUILD_H
#define LAMINA_TESTS_CFG_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <abi/config.h>
#include <lamina/crc32.h>

#define CFGB_MAX_STRINGS 4096

/* Users take what they need: no warning for the rest. */
#define CFGB_FN static __attribute__((unused))

struct cfg_spec {
	struct cfg_header hdr; /* counts, offsets, sizes and CRC are computed */
	struct cfg_vm vm[CFG_MAX_VMS];
	struct cfg_region region[CFG_MAX_REGIONS];
	struct cfg_device device[CFG_MAX_DEVICES];
	char strings[CFGB_MAX_STRINGS];
	u32 nr_vms, nr_regions, nr_devices, strings_size;
};

/* Builder misuse (too many records, a full string table): a bug in a test. */
CFGB_FN void cfgb_check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "cfg_build: %s\n", what);
		abort();
	}
}

CFGB_FN void cfgb_init(struct cfg_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->hdr.magic = CFG_MAGIC;
	s->hdr.abi_major = CFG_ABI_MAJOR;
	s->hdr.abi_minor = CFG_ABI_MINOR;
	s->hdr.log_level = 2;
}

/* Add @str to the string table (once); returns its offset, CFG_NONE for NULL. */
CFGB_FN u32 cfgb_str(struct cfg_spec *s, const char *str)
{
	size_t n;
	u32 off;

	if (!str)
		return CFG_NONE;
	n = strlen(str) + 1;
	for (off = 0; off < s->strings_size; off += strlen(s->strings + off) + 1)
		if (!strcmp(s->strings + off, str))
			return off;
	cfgb_check(s->strings_size + n <= sizeof(s->strings), "string table full");
	memcpy(s->strings + s->strings_size, str, n);
	off = s->strings_size;
	s->strings_size += (u32)n;
	return off;
}

/* A VM with no image, cmdline or initrd, crash policy stop. */
CFGB_FN struct cfg_vm *cfgb_vm(struct cfg_spec *s, const char *name, u64 cpus,
			       u32 boot_kind, u64 entry)
{
	struct cfg_vm *v;

	cfgb_check(s->nr_vms < CFG_MAX_VMS, "too many VMs");
	v = &s->vm[s->nr_vms++];
	memset(v, 0, sizeof(*v));
	v->name = cfgb_str(s, name);
	v->cpus = cpus;
	v->first_region = s->nr_regions;
	v->first_device = s->nr_devices;
	v->boot_kind = boot_kind;
	v->boot_image = v->cmdline = v->initrd = CFG_NONE;
	v->entry = entry;
	v->crash_policy = CFG_CRASH_STOP;
	return v;
}

/* A region of the last VM added (of none if there is no VM yet). */
CFGB_FN struct cfg_region *cfgb_region(struct cfg_spec *s, u64 gpa, u64 size,
				       u32 flags, const char *image)
{
	struct cfg_region *r;

	cfgb_check(s->nr_regions < CFG_MAX_REGIONS, "too many regions");
	r = &s->region[s->nr_regions++];
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->size = size;
	r->flags = flags;
	r->image = cfgb_str(s, image);
	if (s->nr_vms)
		s->vm[s->nr_vms - 1].nr_regions++;
	return r;
}

/* A device of the last VM added (of none if there is no VM yet). */
CFGB_FN struct cfg_device *cfgb_device(struct cfg_spec *s, u32 kind, u64 base,
				       u64 size, u32 irq, u64 gpa)
{
	struct cfg_device *d;

	cfgb_check(s->nr_devices < CFG_MAX_DEVICES, "too many devices");
	d = &s->device[s->nr_devices++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->base = base;
	d->size = size;
	d->irq = irq;
	d->gpa = gpa;
	if (s->nr_vms)
		s->vm[s->nr_vms - 1].nr_devices++;
	return d;
}

/*
 * The CRC-32 of @blob as its header describes it (total_size bytes, the
 * crc32 field taken as zero); the caller's buffer must hold total_size.
 */
CFGB_FN u32 cfgb_crc(const void *blob)
{
	struct cfg_header h;
	u32 crc;

	memcpy(&h, blob, sizeof(h));
	h.crc32 = 0;
	crc = crc32(0, &h, sizeof(h));
	if (h.total_size <= sizeof(h))
		return crc;
	return crc32(crc, (const u8 *)blob + sizeof(h), h.total_size - sizeof(h));
}

/* After editing built bytes: the CRC-32 matches again. */
CFGB_FN void cfgb_fix_crc(void *blob)
{
	u32 crc = cfgb_crc(blob);

	memcpy((u8 *)blob + offsetof(struct cfg_header, crc32), &crc, sizeof(crc));
}

/*
 * Lay out header, records from arrays and a string table of @strings_size
 * bytes into @out (@cap bytes); returns the blob's size. @hdr gives magic,
 * versions, flags, log_level, monitor_cpu and reserved words.
 */
CFGB_FN size_t cfgb_build_arrays(void *out, size_t cap,
				 const struct cfg_header *hdr,
				 const struct cfg_vm *vms, u32 nr_vms,
				 const struct cfg_region *regions, u32 nr_regions,
				 const struct cfg_device *devices, u32 nr_devices,
				 const char *strings, u32 strings_size)
{
	struct cfg_header h = *hdr;
	u8 *p = out;
	size_t at = sizeof(h);

	h.nr_vms = nr_vms;
	h.vms_offset = (u32)at;
	at += (size_t)nr_vms * sizeof(*vms);
	h.nr_regions = nr_regions;
	h.regions_offset = (u32)at;
	at += (size_t)nr_regions * sizeof(*regions);
	h.nr_devices = nr_devices;
	h.devices_offset = (u32)at;
	at += (size_t)nr_devices * sizeof(*devices);
	h.strings_size = strings_size;
	h.strings_offset = (u32)at;
	at += strings_size;
	cfgb_check(at <= cap, "output buffer too small");
	h.total_size = (u32)at;
	memcpy(p, &h, sizeof(h));
	if (nr_vms)
		memcpy(p + h.vms_offset, vms, nr_vms * sizeof(*vms));
	if (nr_regions)
		memcpy(p + h.regions_offset, regions, nr_regions * sizeof(*regions));
	if (nr_devices)
		memcpy(p + h.devices_offset, devices, nr_devices * sizeof(*devices));
	if (strings_size)
		memcpy(p + h.strings_offset, strings, strings_size);
	cfgb_fix_crc(out);
	return at;
}

CFGB_FN size_t cfgb_build(const struct cfg_spec *s, void *out, size_t cap)
{
	return cfgb_build_arrays(out, cap, &s->hdr, s->vm, s->nr_vms, s->region,
				 s->nr_regions, s->device, s->nr_devices,
				 s->strings, s->strings_size);
}


#ifndef KiB
#define KiB 0x400ull
#define MiB 0x100000ull
#define GiB 0x40000000ull
#endif

/*
 * A valid blob's spec using every boot kind and device kind: the unit
 * tests mutate it, the fuzzer's seeds start from it.
 */
static inline void cfgb_good_spec(struct cfg_spec *s)
{
	struct cfg_vm *v;

	cfgb_init(s);
	v = cfgb_vm(s, "web", 0x1, CFG_BOOT_RAW64, 0x100000);
	v->flags = CFG_VM_AUTOSTART;
	cfgb_region(s, 0, 8 * MiB, 0, "web.bin");
	cfgb_region(s, 16 * MiB, 2 * MiB, CFG_MEM_LOG_DIRTY, NULL);
	cfgb_device(s, CFG_DEV_UART, 0x3f8, 8, 4, 0);
	cfgb_device(s, CFG_DEV_DEBUG_EXIT, 0xf4, 4, 0, 0);
	cfgb_device(s, CFG_DEV_PIO, 0x60, 5, 0, 0);

	v = cfgb_vm(s, "db_1", 0x6, CFG_BOOT_LINUX, 0);
	v->boot_image = cfgb_str(s, "bzImage");
	v->cmdline = cfgb_str(s, "console=ttyS0 quiet");
	v->initrd = cfgb_str(s, "initrd.img");
	v->crash_policy = CFG_CRASH_RESTART;
	v->restart_budget = 3;
	cfgb_region(s, 0, 256 * MiB, 0, NULL);
	cfgb_region(s, 4 * GiB, 4 * KiB, CFG_MEM_READONLY, NULL);
	cfgb_device(s, CFG_DEV_UART, 0x2f8, 0, 3, 0);
	cfgb_device(s, CFG_DEV_MMIO, 0xfe000000, 0x4000, 0, 0xc0000000);

	v = cfgb_vm(s, "rt-16", 0x8, CFG_BOOT_REAL16, 0x7c00);
	v->crash_policy = CFG_CRASH_DUMP;
	cfgb_region(s, 0, 1 * MiB, 0, NULL);
	cfgb_device(s, CFG_DEV_DEBUG_EXIT, 0x501, 1, 0, 0);
	cfgb_device(s, CFG_DEV_PIO, 0x3000, 0x100, 0, 0);

	v = cfgb_vm(s, "mboot", 0x10, CFG_BOOT_MULTIBOOT, 0);
	v->boot_image = cfgb_str(s, "kernel.elf");
	v->cmdline = cfgb_str(s, "quiet");
	cfgb_region(s, 0, 16 * MiB, 0, NULL);
}

#endif
