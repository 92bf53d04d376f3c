/*
 * The one validator of configuration blobs (include/lamina/config.h),
 * compiled into Lamina and into tools/lamina-cfg. It depends on nothing
 * but <lamina/lib.h> and crc32(), so it builds freestanding and hosted.
 *
 * Every problem is reported, one line each, naming the record and the rule.
 * Records are named by their index in their own array ("region 2" is the
 * blob's third region), prefixed with the VM that owns them where one does.
 * Nothing outside [blob, blob + len) is read, and fields are read through
 * copies made with memcpy, so the blob may sit at any alignment. Checking
 * stops early only where the layout is unknown or going on would read
 * outside the blob; the report then says so.
 *
 * This file holds the entry point and the checks of the header, layout,
 * VMs and regions; config_check_dev.c checks the devices.
 */
#include <lamina/config.h>
#include <lamina/crc32.h>
#include <lamina/lib.h>

#include "config_check.h"

#define RAW32_LIMIT (1ull << 32)
#define REAL16_LIMIT (1ull << 20)
#define MSG_MAX 224
#define STR_SHOWN "48"              /* at most this many characters of a string */

void cfgc_problem(struct checker *c, const char *fmt, ...)
{
	char buf[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (c->report)
		c->report(c->ctx, buf);
	c->problems++;
}

/* ---------------------------------------------------------------- helpers */

const char *cfg_boot_kind_name(u32 kind)
{
	static const char *const names[] = {
		[CFG_BOOT_RAW32] = "raw32", [CFG_BOOT_RAW64] = "raw64",
		[CFG_BOOT_REAL16] = "real16", [CFG_BOOT_MULTIBOOT] = "multiboot",
		[CFG_BOOT_LINUX] = "linux",
	};

	return kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "?";
}

const char *cfg_crash_policy_name(u32 policy)
{
	static const char *const names[] = {
		[CFG_CRASH_STOP] = "stop", [CFG_CRASH_RESTART] = "restart",
		[CFG_CRASH_DUMP] = "dump",
	};

	return policy < ARRAY_SIZE(names) && names[policy] ? names[policy] : "?";
}

const char *cfg_device_kind_name(u32 kind)
{
	static const char *const names[] = {
		[CFG_DEV_UART] = "uart", [CFG_DEV_DEBUG_EXIT] = "debug_exit",
		[CFG_DEV_PIO] = "pio", [CFG_DEV_MMIO] = "mmio",
	};

	return kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "?";
}

/* "0-3,5": the CPUs in @mask. */
static void cpu_list(char *buf, size_t size, u64 mask)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < CFG_MAX_CPUS && n < size; i++) {
		unsigned int j = i;

		if (!(mask >> i & 1))
			continue;
		while (j + 1 < CFG_MAX_CPUS && (mask >> (j + 1) & 1))
			j++;
		if (j == i)
			n += snprintf(buf + n, size - n, "%s%u", n ? "," : "", i);
		else
			n += snprintf(buf + n, size - n, "%s%u-%u", n ? "," : "", i, j);
		i = j;
	}
}

/* The string at @off, or NULL if absent or unreadable. */
static const char *str_at(const struct checker *c, u32 off)
{
	if (off == CFG_NONE || !c->strings_ok || off >= c->h.strings_size)
		return NULL;
	return (const char *)c->blob + c->h.strings_offset + off;
}

static bool name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static bool name_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (n >= CFG_NAME_MAX || !name_char_ok(s[n]))
			return false;
	return n > 0;
}

/* "vm 'web' (vm 1)", or "vm 1" while the name is not a valid one. */
void cfgc_vm_label(const struct checker *c, u32 i, char *buf, size_t size)
{
	const char *name = str_at(c, read_vm(c, i).name);

	if (name_ok(name))
		snprintf(buf, size, "vm '%s' (vm %u)", name, i);
	else
		snprintf(buf, size, "vm %u", i);
}

/* "vm 'web' (vm 1) region 2", or "region 2" for one no VM owns. */
void cfgc_rec_label(const struct checker *c, const char *what, u8 owner,
		    u32 i, char *buf, size_t size)
{
	char vm[LABEL_MAX];

	if (!owner) {
		snprintf(buf, size, "%s %u", what, i);
		return;
	}
	cfgc_vm_label(c, owner - 1u, vm, sizeof(vm));
	snprintf(buf, size, "%s %s %u", vm, what, i);
}

static const struct cfg_module *find_module(const struct checker *c,
					    const char *name)
{
	for (unsigned int i = 0; i < c->env->nr_modules; i++)
		if (c->env->modules[i].name &&
		    !strcmp(c->env->modules[i].name, name))
			return &c->env->modules[i];
	return NULL;
}

/*
 * A string reference: CFG_NONE or inside the string table. Returns the
 * string when it can be read, else NULL.
 */
static const char *check_ref(struct checker *c, const char *label,
			     const char *what, u32 off)
{
	if (off != CFG_NONE && off >= c->h.strings_size)
		cfgc_problem(c, "%s: %s offset 0x%x is outside the string table (%u bytes)",
			     label, what, off, c->h.strings_size);
	return str_at(c, off);
}

/* With the modules known, @name must be one of them. */
static const struct cfg_module *check_module(struct checker *c,
					     const char *label,
					     const char *what, const char *name)
{
	const struct cfg_module *m;

	if (!name || !c->env->modules_known)
		return NULL;
	m = find_module(c, name);
	if (!m)
		cfgc_problem(c, "%s: %s '%." STR_SHOWN "s' is not a module",
			     label, what, name);
	return m;
}

/* ---------------------------------------------------------------- header */

static u32 blob_crc(const u8 *blob, u32 size)
{
	static const u8 zero[sizeof(u32)];
	const size_t at = offsetof(struct cfg_header, crc32);
	u32 crc;

	crc = crc32(0, blob, at);
	crc = crc32(crc, zero, sizeof(zero));
	return crc32(crc, blob + at + sizeof(zero), size - at - sizeof(zero));
}

/* Magic, version and size: false when checking cannot go on. */
static bool check_frame(struct checker *c, size_t len)
{
	const struct cfg_header *h = &c->h;
	bool ok = true;

	if (len < sizeof(*h)) {
		cfgc_problem(c, "header: the blob is %zu bytes, shorter than the %zu-byte header; not checked further",
			     len, sizeof(*h));
		return false;
	}
	memcpy(&c->h, c->blob, sizeof(c->h));
	if (h->magic != CFG_MAGIC)
		cfgc_problem(c, "header: magic 0x%08x is not 0x%08x (\"LCFG\")",
			     h->magic, CFG_MAGIC);
	if (h->abi_major != CFG_ABI_MAJOR) {
		cfgc_problem(c, "header: ABI version %u.%u, this Lamina reads %u.x; the layout is unknown, not checked further",
			     h->abi_major, h->abi_minor, CFG_ABI_MAJOR);
		return false;
	}
	if (h->total_size < sizeof(*h)) {
		cfgc_problem(c, "header: total_size %u is smaller than the %zu-byte header; not checked further",
			     h->total_size, sizeof(*h));
		ok = false;
	}
	if (h->total_size > len) {
		cfgc_problem(c, "header: total_size %u is more than the %zu bytes given; not checked further",
			     h->total_size, len);
		ok = false;
	}
	if (h->total_size > CFG_MAX_SIZE) {
		cfgc_problem(c, "header: total_size %u is more than the limit of %u; not checked further",
			     h->total_size, CFG_MAX_SIZE);
		ok = false;
	}
	c->size = h->total_size;
	return ok;
}

static void check_globals(struct checker *c)
{
	const struct cfg_header *h = &c->h;
	u64 present = c->env->cpus_present;
	u32 crc = blob_crc(c->blob, c->size);
	char list[LABEL_MAX];

	if (crc != h->crc32)
		cfgc_problem(c, "header: CRC-32 0x%08x does not match the contents (0x%08x)",
			     h->crc32, crc);
	if (h->flags)
		cfgc_problem(c, "header: flags 0x%x: none are defined",
			     h->flags);
	if (reserved_set(c, h->reserved, sizeof(h->reserved)))
		cfgc_problem(c, "header: reserved words are not zero");
	if (h->log_level > 3)
		cfgc_problem(c, "header: log_level %u is more than 3 (debug)",
			     h->log_level);
	if (h->monitor_cpu >= CFG_MAX_CPUS) {
		cfgc_problem(c, "header: monitor_cpu %u is not below %u",
			     h->monitor_cpu, CFG_MAX_CPUS);
	} else if (present && !(present >> h->monitor_cpu & 1)) {
		cpu_list(list, sizeof(list), present);
		cfgc_problem(c, "header: monitor_cpu %u is not present (present: %s)",
			     h->monitor_cpu, list);
	}
}

/* One counted array: false when its records may not be read. */
static bool check_array(struct checker *c, const char *name, u32 count,
			u32 offset, u32 rec_size, u32 max, struct span *s)
{
	u64 end = (u64)offset + (u64)count * rec_size;
	bool ok = true;

	if (count > max) {
		cfgc_problem(c, "header: nr_%s %u is more than %u; the %s are not checked",
			     name, count, max, name);
		ok = false;
	}
	if (end > c->size) {
		cfgc_problem(c, "header: the %s array [0x%x, 0x%llx) runs past total_size 0x%x; the %s are not checked",
			     name, offset, ULL(end), c->size, name);
		return false;
	}
	s->start = offset;
	s->end = end;
	return ok;
}

static void check_strings(struct checker *c, struct span *s)
{
	const struct cfg_header *h = &c->h;
	u64 end = (u64)h->strings_offset + h->strings_size;
	bool ok = true;

	if (h->strings_size > CFG_MAX_STRINGS) {
		cfgc_problem(c, "header: strings_size %u is more than %u; the strings are not checked",
			     h->strings_size, CFG_MAX_STRINGS);
		ok = false;
	}
	if (end > c->size) {
		cfgc_problem(c, "header: the string table [0x%x, 0x%llx) runs past total_size 0x%x; the strings are not checked",
			     h->strings_offset, ULL(end), c->size);
		return;
	}
	s->start = h->strings_offset;
	s->end = end;
	if (h->strings_size && c->blob[end - 1] != '\0') {
		cfgc_problem(c, "header: the string table does not end in NUL; the strings are not checked");
		ok = false;
	}
	c->strings_ok = ok;
}

static void check_layout(struct checker *c)
{
	static const char *const names[] = {
		"header", "vms array", "regions array", "devices array",
		"string table",
	};
	const struct cfg_header *h = &c->h;
	struct span s[ARRAY_SIZE(names)] = { { 0, sizeof(*h) } };

	c->vms_ok = check_array(c, "vms", h->nr_vms, h->vms_offset,
				sizeof(struct cfg_vm), CFG_MAX_VMS, &s[1]);
	c->regions_ok = check_array(c, "regions", h->nr_regions,
				    h->regions_offset, sizeof(struct cfg_region),
				    CFG_MAX_REGIONS, &s[2]);
	c->devices_ok = check_array(c, "devices", h->nr_devices,
				    h->devices_offset, sizeof(struct cfg_device),
				    CFG_MAX_DEVICES, &s[3]);
	check_strings(c, &s[4]);
	for (unsigned int i = 1; i < ARRAY_SIZE(s); i++)
		for (unsigned int j = 0; j < i; j++)
			if (overlap(&s[i], &s[j]))
				cfgc_problem(c, "header: the %s [0x%llx, 0x%llx) overlaps the %s [0x%llx, 0x%llx)",
					     names[i], ULL(s[i].start),
					     ULL(s[i].end), names[j],
					     ULL(s[j].start), ULL(s[j].end));
}

/* ---------------------------------------------------------------- VMs */

static void check_vm_name(struct checker *c, u32 i, const char *label,
			  const struct cfg_vm *v)
{
	const char *name = check_ref(c, label, "name", v->name);
	size_t n;

	if (v->name == CFG_NONE) {
		cfgc_problem(c, "%s: has no name", label);
		return;
	}
	if (!name)
		return;
	n = strlen(name);
	if (n == 0 || n > CFG_NAME_MAX) {
		cfgc_problem(c, "%s: name is %zu characters, not 1 to %u",
			     label, n, CFG_NAME_MAX);
	} else if (!name_ok(name)) {
		cfgc_problem(c, "%s: name '%s' has characters other than [A-Za-z0-9_-]",
			     label, name);
	} else {
		for (u32 j = 0; j < i; j++) {
			const char *other = str_at(c, read_vm(c, j).name);

			if (name_ok(other) && !strcmp(name, other)) {
				cfgc_problem(c, "%s: name is also used by vm %u",
					     label, j);
				break;
			}
		}
	}
}

static void check_vm_cpus(struct checker *c, const char *label,
			  const struct cfg_vm *v)
{
	u64 present = c->env->cpus_present;
	char missing[LABEL_MAX], have[LABEL_MAX];

	if (v->flags & ~CFG_VM_AUTOSTART)
		cfgc_problem(c, "%s: flags 0x%x has unknown bits", label,
			     v->flags);
	if (reserved_set(c, v->reserved, sizeof(v->reserved)))
		cfgc_problem(c, "%s: reserved words are not zero", label);
	if (!v->cpus) {
		cfgc_problem(c, "%s: has no pCPU", label);
	} else if (present && (v->cpus & ~present)) {
		cpu_list(missing, sizeof(missing), v->cpus & ~present);
		cpu_list(have, sizeof(have), present);
		cfgc_problem(c, "%s: pCPU %s not present (present: %s)", label,
			     missing, have);
	}
}

/* Claim [first, first + nr) of an array for VM @i, as far as it exists. */
static void claim(struct checker *c, const char *label, const char *what,
		  u8 *owner, u32 count, u32 first, u32 nr, u32 i)
{
	u64 end = MIN((u64)first + nr, (u64)count);
	char other[LABEL_MAX];

	for (u64 k = first; k < end; k++) {
		if (!owner[k]) {
			owner[k] = (u8)(i + 1);
			continue;
		}
		cfgc_vm_label(c, owner[k] - 1u, other, sizeof(other));
		cfgc_problem(c, "%s: %s %u is also in %s", label, what, (u32)k,
			     other);
	}
}

static void check_vm_ranges(struct checker *c, u32 i, const char *label,
			    const struct cfg_vm *v)
{
	const struct cfg_header *h = &c->h;

	if (v->nr_regions == 0)
		cfgc_problem(c, "%s: has no memory region", label);
	else if ((u64)v->first_region + v->nr_regions > h->nr_regions)
		cfgc_problem(c, "%s: regions [%u, %llu) are past the %u regions of the blob",
			     label, v->first_region,
			     ULL((u64)v->first_region + v->nr_regions),
			     h->nr_regions);
	if (v->nr_devices &&
	    (u64)v->first_device + v->nr_devices > h->nr_devices)
		cfgc_problem(c, "%s: devices [%u, %llu) are past the %u devices of the blob",
			     label, v->first_device,
			     ULL((u64)v->first_device + v->nr_devices),
			     h->nr_devices);
	if (c->regions_ok)
		claim(c, label, "region", c->region_owner, h->nr_regions,
		      v->first_region, v->nr_regions, i);
	if (c->devices_ok && v->nr_devices)
		claim(c, label, "device", c->device_owner, h->nr_devices,
		      v->first_device, v->nr_devices, i);
}

/* Does one writable region among [r, end) hold the raw64 tables? */
static bool raw64_tables_fit(const struct checker *c, u32 r, u32 end)
{
	for (; r < end; r++) {
		struct cfg_region reg = read_region(c, r);

		if (!(reg.flags & CFG_MEM_READONLY) &&
		    reg.gpa <= CFG_RAW64_TABLES_GPA &&
		    reg.gpa + reg.size >= CFG_RAW64_TABLES_GPA + CFG_RAW64_TABLES_SIZE)
			return true;
	}
	return false;
}

static void check_vm_entry(struct checker *c, const char *label,
			   const struct cfg_vm *v)
{
	u32 r, end;

	if (v->boot_kind == CFG_BOOT_RAW32 && v->entry >= RAW32_LIMIT)
		cfgc_problem(c, "%s: entry 0x%llx is not below 4 GiB (raw32)",
			     label, ULL(v->entry));
	if (v->boot_kind == CFG_BOOT_REAL16 && v->entry >= REAL16_LIMIT)
		cfgc_problem(c, "%s: entry 0x%llx is not below 1 MiB (real16)",
			     label, ULL(v->entry));
	if (!vm_range(c->regions_ok, v->first_region, v->nr_regions,
		      c->h.nr_regions, &r, &end) || r == end)
		return;
	if (v->boot_kind == CFG_BOOT_RAW64 && !raw64_tables_fit(c, r, end))
		cfgc_problem(c, "%s: raw64 needs a writable region holding "
			     "[0x%x, 0x%x) for its page tables", label,
			     CFG_RAW64_TABLES_GPA,
			     CFG_RAW64_TABLES_GPA + CFG_RAW64_TABLES_SIZE);
	for (; r < end; r++) {
		struct cfg_region reg = read_region(c, r);

		if (v->entry >= reg.gpa && v->entry - reg.gpa < reg.size)
			return;
	}
	cfgc_problem(c, "%s: entry 0x%llx is not inside any of its regions",
		     label, ULL(v->entry));
}

static void check_vm_boot(struct checker *c, const char *label,
			  const struct cfg_vm *v)
{
	const char *kind = cfg_boot_kind_name(v->boot_kind);
	bool loader = v->boot_kind == CFG_BOOT_MULTIBOOT ||
		      v->boot_kind == CFG_BOOT_LINUX;
	const char *image = check_ref(c, label, "boot image", v->boot_image);
	const char *initrd = check_ref(c, label, "initrd", v->initrd);
	const char *cmdline = check_ref(c, label, "cmdline", v->cmdline);
	const struct cfg_module *image_mod, *initrd_mod;

	if (!strcmp(kind, "?"))
		cfgc_problem(c, "%s: boot kind %u is not valid", label,
			     v->boot_kind);
	if (!strcmp(cfg_crash_policy_name(v->crash_policy), "?"))
		cfgc_problem(c, "%s: crash policy %u is not valid", label,
			     v->crash_policy);
	if (v->restart_budget && v->crash_policy != CFG_CRASH_RESTART)
		cfgc_problem(c, "%s: restart_budget %u needs crash policy restart (is %s)",
			     label, v->restart_budget,
			     cfg_crash_policy_name(v->crash_policy));
	if (loader && v->boot_image == CFG_NONE)
		cfgc_problem(c, "%s: boot kind %s needs a boot image", label,
			     kind);
	if (v->initrd != CFG_NONE && !loader)
		cfgc_problem(c, "%s: an initrd needs boot kind multiboot or linux (is %s)",
			     label, kind);
	if (v->cmdline != CFG_NONE && !loader)
		cfgc_problem(c, "%s: a command line needs boot kind multiboot or linux (is %s)",
			     label, kind);
	if (v->boot_kind == CFG_BOOT_REAL16 && c->env->caps_known &&
	    !c->env->real16_ok)
		cfgc_problem(c, "%s: real16 needs unrestricted guest (VMX) or SVM",
			     label);
	if (v->boot_kind >= CFG_BOOT_RAW32 && v->boot_kind <= CFG_BOOT_REAL16)
		check_vm_entry(c, label, v);
	image_mod = check_module(c, label, "boot image", image);
	initrd_mod = check_module(c, label, "initrd", initrd);
	if (v->boot_kind == CFG_BOOT_MULTIBOOT)
		cfgc_check_multiboot(c, label, v, cmdline, image_mod, initrd_mod);
	if (v->boot_kind == CFG_BOOT_LINUX)
		cfgc_check_linux(c, label, v, cmdline, image_mod);
}

static void check_vms(struct checker *c)
{
	char label[LABEL_MAX];

	for (u32 i = 0; i < c->h.nr_vms; i++) {
		struct cfg_vm v = read_vm(c, i);

		cfgc_vm_label(c, i, label, sizeof(label));
		check_vm_name(c, i, label, &v);
		check_vm_cpus(c, label, &v);
		check_vm_ranges(c, i, label, &v);
		check_vm_boot(c, label, &v);
	}
}

/* No pCPU in two VMs. */
static void check_cpu_sharing(struct checker *c)
{
	char label[LABEL_MAX], other[LABEL_MAX], list[LABEL_MAX];

	for (u32 i = 1; i < c->h.nr_vms; i++) {
		u64 cpus = read_vm(c, i).cpus;

		for (u32 j = 0; j < i; j++) {
			u64 both = cpus & read_vm(c, j).cpus;

			if (!both)
				continue;
			cfgc_vm_label(c, i, label, sizeof(label));
			cfgc_vm_label(c, j, other, sizeof(other));
			cpu_list(list, sizeof(list), both);
			cfgc_problem(c, "%s: pCPU %s also in %s", label, list,
				     other);
		}
	}
}

/* ---------------------------------------------------------------- regions */

static void check_region_image(struct checker *c, const char *label,
			       const struct cfg_region *r)
{
	const char *image = check_ref(c, label, "image", r->image);
	const struct cfg_module *m = check_module(c, label, "image", image);

	if (m && m->size > r->size)
		cfgc_problem(c, "%s: image '%." STR_SHOWN "s' is %llu bytes, more than the region's 0x%llx",
			     label, image, ULL(m->size), ULL(r->size));
}

static void check_region(struct checker *c, u32 i)
{
	struct cfg_region r = read_region(c, i);
	char label[2 * LABEL_MAX];
	struct span s;

	cfgc_rec_label(c, "region", c->region_owner[i], i, label,
		       sizeof(label));
	if (c->vms_ok && !c->region_owner[i])
		cfgc_problem(c, "%s: belongs to no VM", label);
	if (!IS_ALIGNED(r.gpa, SZ_4K))
		cfgc_problem(c, "%s: gpa 0x%llx is not 4 KiB aligned", label,
			     ULL(r.gpa));
	if (r.size == 0)
		cfgc_problem(c, "%s: size is 0", label);
	else if (!IS_ALIGNED(r.size, SZ_4K))
		cfgc_problem(c, "%s: size 0x%llx is not a multiple of 4 KiB",
			     label, ULL(r.size));
	if (r.size && !make_span(r.gpa, r.size, GPA_LIMIT, &s))
		cfgc_problem(c, "%s: gpa 0x%llx + size 0x%llx runs past 2^48",
			     label, ULL(r.gpa), ULL(r.size));
	if (r.flags & ~CFG_MEM_FLAGS_ALL)
		cfgc_problem(c, "%s: flags 0x%x has unknown bits", label,
			     r.flags);
	if ((r.flags & CFG_MEM_FLAGS_ALL) == CFG_MEM_FLAGS_ALL)
		cfgc_problem(c, "%s: readonly and log_dirty together", label);
	if (reserved_set(c, r.reserved, sizeof(r.reserved)))
		cfgc_problem(c, "%s: reserved words are not zero", label);
	check_region_image(c, label, &r);
}

/* The regions of one VM do not overlap each other. */
static void check_vm_regions(struct checker *c, u32 vm)
{
	struct cfg_vm v = read_vm(c, vm);
	char label[2 * LABEL_MAX];
	u32 first, end;

	if (!vm_range(c->regions_ok, v.first_region, v.nr_regions,
		      c->h.nr_regions, &first, &end))
		return;
	for (u32 i = first + 1; i < end; i++) {
		struct cfg_region a = read_region(c, i);
		struct span sa, sb;

		if (!make_span(a.gpa, a.size, GPA_LIMIT, &sa))
			continue;
		for (u32 j = first; j < i; j++) {
			struct cfg_region b = read_region(c, j);

			if (!make_span(b.gpa, b.size, GPA_LIMIT, &sb) ||
			    !overlap(&sa, &sb))
				continue;
			cfgc_rec_label(c, "region", (u8)(vm + 1), i, label,
				       sizeof(label));
			cfgc_problem(c, "%s: [0x%llx, 0x%llx) overlaps region %u",
				     label, ULL(sa.start), ULL(sa.end), j);
		}
	}
}

/* ---------------------------------------------------------------- entry */

static void check_records(struct checker *c)
{
	if (c->vms_ok) {
		check_vms(c);
		check_cpu_sharing(c);
	}
	if (c->regions_ok)
		for (u32 i = 0; i < c->h.nr_regions; i++)
			check_region(c, i);
	if (c->devices_ok)
		for (u32 i = 0; i < c->h.nr_devices; i++)
			cfgc_check_device(c, i);
	if (!c->vms_ok)
		return;
	for (u32 i = 0; i < c->h.nr_vms; i++) {
		check_vm_regions(c, i);
		cfgc_check_vm_devices(c, i);
	}
	cfgc_check_cross_vm(c);
}

unsigned int cfg_validate(const void *blob, size_t len,
			  const struct cfg_env *env, cfg_report_fn report,
			  void *ctx)
{
	static const struct cfg_env unknown;
	struct checker c = {
		.blob = blob, .env = env ? env : &unknown,
		.report = report, .ctx = ctx,
	};

	if (!blob)
		len = 0;
	if (!check_frame(&c, len))
		return c.problems;
	check_globals(&c);
	check_layout(&c);
	check_records(&c);
	return c.problems;
}
