/*
 * One entry of `vms:` into a struct spec_vm, with its memory regions,
 * boot description and devices; and the image files those name. The
 * rules that need the whole blob (overlaps, pCPUs shared between VMs,
 * pass-through over Lamina's own ports) are the validator's: check.c maps
 * its reports back to the lines read here.
 */
#include <lamina/lib.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk.h"

#define DEFAULT_ENTRY 0x100000ull
#define DEFAULT_RESTART_BUDGET 3
#define DEFAULT_DEBUG_EXIT_SIZE 4
#define UART_PORTS 8

/* ---------------------------------------------------------------- images */

static bool module_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
	       ch == '.' || ch == '+';
}

/* A basename GRUB, mkiso.sh and Lamina all take as it is. */
static const char *module_name_problem(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return "names a directory, not a file";
	if (n >= BOOTINFO_NAME_MAX)
		return "has a file name too long for a module name (63 at most)";
	for (size_t i = 0; i < n; i++)
		if (!module_char_ok(name[i]))
			return "has a file name with characters other than [A-Za-z0-9._+-]";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "names a directory, not a file";
	if (!strcmp(name, CFG_MODULE_NAME))
		return "has the file name \"config\", the module name of the blob itself";
	return NULL;
}

/* @file as seen from the current directory: relative to the YAML file. */
static char *resolve(const char *yaml_file, const char *file)
{
	const char *slash = strrchr(yaml_file, '/');
	size_t dir = slash ? (size_t)(slash - yaml_file) + 1 : 0;
	char *out;

	if (file[0] == '/')
		dir = 0;
	out = malloc(dir + strlen(file) + 1);
	if (out) {
		memcpy(out, yaml_file, dir);
		strcpy(out + dir, file);
	}
	return out;
}

/* Open @img->path: it must be a readable file; note its size and identity. */
static bool stat_image(struct cc *cc, yaml_node_t *n, const char *path,
		       const char *given, struct cfg_image *img)
{
	bool moved = strcmp(given, img->path);
	struct stat st;
	int fd = open(img->path, O_RDONLY | O_NONBLOCK); /* a FIFO: no wait */

	if (fd < 0 || fstat(fd, &st)) {
		report(cc, n, path, "cannot open \"%s\"%s%s%s: %s", given,
		       moved ? " (looked for " : "", moved ? img->path : "",
		       moved ? ")" : "", strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		report(cc, n, path, "\"%s\" is not a regular file", img->path);
		return false;
	}
	img->size = (u64)st.st_size;
	img->dev = (u64)st.st_dev;
	img->ino = (u64)st.st_ino;
	return true;
}

static bool same_file(const struct cfg_image *a, const struct cfg_image *b,
		      bool opened)
{
	if (opened)
		return a->dev == b->dev && a->ino == b->ino;
	return !strcmp(a->path, b->path);
}

static const struct cfg_image *find_image(const struct cfg_spec *s,
					  const char *name)
{
	for (unsigned int i = 0; i < s->nr_images; i++)
		if (!strcmp(s->images[i].name, name))
			return &s->images[i];
	return NULL;
}

/* The module name for the file @given, known already or added now. */
static const char *new_image(struct cc *cc, yaml_node_t *n, const char *path,
			     const char *given, const char *base)
{
	struct cfg_image img = { .at = node_mark(n) };
	struct cfg_spec *s = cc->spec;
	const struct cfg_image *old;
	const char *name = NULL;

	img.name = strdup(base);
	img.path = resolve(cc->opts->filename, given);
	if (!img.name || !img.path) {
		report(cc, n, path, "out of memory");
		goto out_free;
	}
	if (cc->opts->open_images && !stat_image(cc, n, path, given, &img))
		goto out_free;
	old = find_image(s, img.name);
	if (old && same_file(old, &img, cc->opts->open_images)) {
		name = old->name;
	} else if (old) {
		report(cc, n, path, "module name \"%s\" (the file's basename) is also that of a different file, %s (line %u)",
		       img.name, old->path, old->at.line);
	} else if (s->nr_images == CFG_MAX_IMAGES) {
		report(cc, n, path, "more than %u image files (GRUB passes Lamina at most %u modules, one of them the config)",
		       CFG_MAX_IMAGES, BOOTINFO_MAX_MODULES);
	} else {
		s->images[s->nr_images++] = img;
		return img.name;
	}
out_free:
	free(img.name);
	free(img.path);
	return name;
}

const char *add_image(struct cc *cc, yaml_node_t *n, const char *path)
{
	const char *base, *why, *name = NULL;
	char *given;

	if (!get_string(cc, n, path, &given))
		return NULL;
	base = strrchr(given, '/') ? strrchr(given, '/') + 1 : given;
	why = module_name_problem(base);
	if (why)
		report(cc, n, path, "\"%s\" %s", given, why);
	else
		name = new_image(cc, n, path, given, base);
	free(given);
	return name;
}

/* ---------------------------------------------------------------- regions */

static struct spec_region *region_of(void *obj)
{
	return obj;
}

static void region_gpa(struct cc *cc, yaml_node_t *v, const char *path,
		       void *obj)
{
	get_u64(cc, v, path, ~0ull, &region_of(obj)->gpa);
}

static void region_size(struct cc *cc, yaml_node_t *v, const char *path,
			void *obj)
{
	get_size(cc, v, path, &region_of(obj)->size);
}

static void region_flags(struct cc *cc, yaml_node_t *v, const char *path,
			 void *obj)
{
	static const char *const names[] = { "readonly", "log_dirty" };
	char ipath[PATH_MAX_LEN];
	yaml_node_t *item;
	unsigned int i, bit;

	if (!expect_list(cc, v, path))
		return;
	for_each_item(cc, v, i, item) {
		if (!get_enum(cc, item, path_index(ipath, path, i), names,
			      ARRAY_SIZE(names), &bit))
			continue;
		if (region_of(obj)->flags & (1u << bit))
			report(cc, item, ipath, "%s is listed twice", names[bit]);
		region_of(obj)->flags |= 1u << bit;
	}
}

static void region_image(struct cc *cc, yaml_node_t *v, const char *path,
			 void *obj)
{
	region_of(obj)->image = add_image(cc, v, path);
}

static const struct key_rule region_rules[] = {
	{ "gpa", true, region_gpa },
	{ "size", true, region_size },
	{ "flags", false, region_flags },
	{ "image", false, region_image },
};

static void vm_memory(struct cc *cc, yaml_node_t *v, const char *path,
		      void *obj)
{
	struct spec_vm *vm = obj;
	struct cfg_spec *s = cc->spec;
	char ipath[PATH_MAX_LEN];
	yaml_node_t *item;
	unsigned int i;

	vm->m.memory = node_mark(v);
	if (!expect_list(cc, v, path))
		return;
	vm->first_region = s->nr_regions;
	for_each_item(cc, v, i, item) {
		if (s->nr_regions == CFG_MAX_REGIONS) {
			report(cc, item, path_index(ipath, path, i),
			       "more than %u memory regions in all VMs",
			       CFG_MAX_REGIONS);
			return;
		}
		s->regions[s->nr_regions].at = node_mark(item);
		walk_map(cc, item, path_index(ipath, path, i), region_rules,
			 ARRAY_SIZE(region_rules), &s->regions[s->nr_regions]);
		s->nr_regions++;
		vm->nr_regions++;
	}
	if (!vm->nr_regions)
		report(cc, v, path, "at least one region is needed");
}

/* ---------------------------------------------------------------- boot */

static void boot_kind(struct cc *cc, yaml_node_t *v, const char *path,
		      void *obj)
{
	static const char *const names[] = {
		[CFG_BOOT_RAW32] = "raw32", [CFG_BOOT_RAW64] = "raw64",
		[CFG_BOOT_REAL16] = "real16",
		[CFG_BOOT_MULTIBOOT] = "multiboot", [CFG_BOOT_LINUX] = "linux",
	};
	struct spec_vm *vm = obj;
	unsigned int kind;

	vm->m.kind = node_mark(v);
	if (get_enum(cc, v, path, names, ARRAY_SIZE(names), &kind))
		vm->boot_kind = kind;
}

static void boot_image(struct cc *cc, yaml_node_t *v, const char *path,
		       void *obj)
{
	struct spec_vm *vm = obj;

	vm->m.image = node_mark(v);
	vm->boot_image = add_image(cc, v, path);
}

static void boot_entry(struct cc *cc, yaml_node_t *v, const char *path,
		       void *obj)
{
	struct spec_vm *vm = obj;

	vm->m.entry = node_mark(v);
	get_u64(cc, v, path, ~0ull, &vm->entry);
}

static void boot_cmdline(struct cc *cc, yaml_node_t *v, const char *path,
			 void *obj)
{
	struct spec_vm *vm = obj;

	vm->m.cmdline = node_mark(v);
	get_string(cc, v, path, &vm->cmdline);
}

static void boot_initrd(struct cc *cc, yaml_node_t *v, const char *path,
			void *obj)
{
	struct spec_vm *vm = obj;

	vm->m.initrd = node_mark(v);
	vm->initrd = add_image(cc, v, path);
}

static const struct key_rule boot_rules[] = {
	{ "kind", true, boot_kind },
	{ "image", false, boot_image },
	{ "entry", false, boot_entry },
	{ "cmdline", false, boot_cmdline },
	{ "initrd", false, boot_initrd },
};

/* Keys that only some kinds take; @m marks where one was given. */
static void boot_not_for(struct cc *cc, const char *path, const char *key,
			 struct src_mark m, const char *kinds)
{
	if (m.line)
		diag_at(cc->d, m, "%s.%s: only boot kinds %s take one",
			path, key, kinds);
}

static void vm_boot(struct cc *cc, yaml_node_t *v, const char *path,
		    void *obj)
{
	struct spec_vm *vm = obj;
	bool raw, loader;

	vm->m.boot = node_mark(v);
	if (!walk_map(cc, v, path, boot_rules, ARRAY_SIZE(boot_rules), vm) ||
	    !vm->boot_kind)
		return;
	raw = vm->boot_kind <= CFG_BOOT_REAL16;
	loader = !raw;
	if (loader && !vm->m.image.line)
		report(cc, v, path, "boot kind %s needs an \"image\"",
		       vm->boot_kind == CFG_BOOT_LINUX ? "linux" : "multiboot");
	if (!raw)
		boot_not_for(cc, path, "entry", vm->m.entry,
			     "raw32, raw64 and real16");
	else if (!vm->m.entry.line)
		vm->entry = DEFAULT_ENTRY;
	if (!loader)
		boot_not_for(cc, path, "cmdline", vm->m.cmdline,
			     "multiboot and linux");
	if (!loader)
		boot_not_for(cc, path, "initrd", vm->m.initrd,
			     "multiboot and linux");
}

/* ---------------------------------------------------------------- devices */

struct dev_ctx {
	struct spec_device *dev;
	bool gpa_given;
	bool size_given;
};

static void dev_port(struct cc *cc, yaml_node_t *v, const char *path,
		     void *obj)
{
	get_u64(cc, v, path, 0xffff, &((struct dev_ctx *)obj)->dev->base);
}

static void dev_base(struct cc *cc, yaml_node_t *v, const char *path,
		     void *obj)
{
	get_u64(cc, v, path, ~0ull, &((struct dev_ctx *)obj)->dev->base);
}

static void dev_irq(struct cc *cc, yaml_node_t *v, const char *path,
		    void *obj)
{
	u64 irq;

	if (get_u64(cc, v, path, 255, &irq))
		((struct dev_ctx *)obj)->dev->irq = (u32)irq;
}

static void dev_size(struct cc *cc, yaml_node_t *v, const char *path,
		     void *obj)
{
	((struct dev_ctx *)obj)->size_given = true;
	get_size(cc, v, path, &((struct dev_ctx *)obj)->dev->size);
}

static void dev_gpa(struct cc *cc, yaml_node_t *v, const char *path,
		    void *obj)
{
	((struct dev_ctx *)obj)->gpa_given = true;
	get_u64(cc, v, path, ~0ull, &((struct dev_ctx *)obj)->dev->gpa);
}

static const struct key_rule uart_rules[] = {
	{ "port", true, dev_port }, { "irq", true, dev_irq },
};
static const struct key_rule debug_exit_rules[] = {
	{ "port", true, dev_port }, { "size", false, dev_size },
};
static const struct key_rule pio_rules[] = {
	{ "base", true, dev_port }, { "size", true, dev_size },
};
static const struct key_rule mmio_rules[] = {
	{ "base", true, dev_base }, { "size", true, dev_size },
	{ "gpa", false, dev_gpa },
};

static const struct dev_schema {
	const char *name;
	const struct key_rule *rules;
	unsigned int nr;
} dev_schemas[] = {
	[CFG_DEV_UART] = { "uart", uart_rules, ARRAY_SIZE(uart_rules) },
	[CFG_DEV_DEBUG_EXIT] = { "debug_exit", debug_exit_rules,
				 ARRAY_SIZE(debug_exit_rules) },
	[CFG_DEV_PIO] = { "pio", pio_rules, ARRAY_SIZE(pio_rules) },
	[CFG_DEV_MMIO] = { "mmio", mmio_rules, ARRAY_SIZE(mmio_rules) },
};

/* The kind of a device item: the key of its one-key mapping. */
static bool device_kind(struct cc *cc, yaml_node_t *item, const char *path,
			yaml_node_t **body, unsigned int *kind)
{
	const char *names[ARRAY_SIZE(dev_schemas)];
	yaml_node_pair_t *pair;
	yaml_node_t *key;

	if (item->type != YAML_MAPPING_NODE ||
	    item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
		report(cc, item, path, "a device is a mapping with one key, its kind (uart, debug_exit, pio or mmio), e.g. \"- uart: {port: 0x3f8, irq: 4}\"");
		return false;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(dev_schemas); i++)
		names[i] = dev_schemas[i].name;
	pair = item->data.mapping.pairs.start;
	key = node_get(cc, pair->key);
	*body = node_get(cc, pair->value);
	return key && *body &&
	       get_enum(cc, key, path, names, ARRAY_SIZE(names), kind);
}

static void read_device(struct cc *cc, yaml_node_t *item, const char *path,
			struct spec_device *dev)
{
	struct dev_ctx ctx = { .dev = dev };
	char kpath[PATH_MAX_LEN];
	yaml_node_t *body;
	unsigned int kind;

	dev->at = node_mark(item);
	if (!device_kind(cc, item, path, &body, &kind))
		return;
	dev->kind = kind;
	path_key(kpath, path, dev_schemas[kind].name);
	if (!walk_map(cc, body, kpath, dev_schemas[kind].rules,
		      dev_schemas[kind].nr, &ctx))
		return;
	if (kind == CFG_DEV_UART)
		dev->size = UART_PORTS;
	if (kind == CFG_DEV_DEBUG_EXIT && !ctx.size_given)
		dev->size = DEFAULT_DEBUG_EXIT_SIZE;
	if (kind == CFG_DEV_MMIO && !ctx.gpa_given)
		dev->gpa = dev->base;
}

static void vm_devices(struct cc *cc, yaml_node_t *v, const char *path,
		       void *obj)
{
	struct spec_vm *vm = obj;
	struct cfg_spec *s = cc->spec;
	char ipath[PATH_MAX_LEN];
	yaml_node_t *item;
	unsigned int i;

	vm->m.devices = node_mark(v);
	if (!expect_list(cc, v, path))
		return;
	vm->first_device = s->nr_devices;
	for_each_item(cc, v, i, item) {
		if (s->nr_devices == CFG_MAX_DEVICES) {
			report(cc, item, path_index(ipath, path, i),
			       "more than %u devices in all VMs", CFG_MAX_DEVICES);
			return;
		}
		read_device(cc, item, path_index(ipath, path, i),
			    &s->devices[s->nr_devices++]);
		vm->nr_devices++;
	}
}

/* ---------------------------------------------------------------- the VM */

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static void vm_name(struct cc *cc, yaml_node_t *v, const char *path,
		    void *obj)
{
	struct spec_vm *vm = obj;
	struct cfg_spec *s = cc->spec;
	char buf[64];

	vm->m.name = node_mark(v);
	if (!get_string(cc, v, path, &vm->name))
		return;
	if (!name_ok(vm->name)) {
		report(cc, v, path, "%s is not a valid name (1 to %u characters of A-Z a-z 0-9 _ -)",
		       node_describe(v, buf, sizeof(buf)), CFG_NAME_MAX);
		return;
	}
	for (struct spec_vm *o = s->vms; o < vm; o++)
		if (o->name && !strcmp(o->name, vm->name)) {
			report(cc, v, path, "\"%s\" is also the name of vms[%u] (line %u): VM names must be unique",
			       vm->name, (unsigned int)(o - s->vms), o->m.name.line);
			return;
		}
}

static void vm_cpus(struct cc *cc, yaml_node_t *v, const char *path,
		    void *obj)
{
	struct spec_vm *vm = obj;
	char ipath[PATH_MAX_LEN];
	yaml_node_t *item;
	unsigned int i;
	u64 cpu;

	vm->m.cpus = node_mark(v);
	if (!expect_list(cc, v, path))
		return;
	for_each_item(cc, v, i, item) {
		if (!get_u64(cc, item, path_index(ipath, path, i),
			     CFG_MAX_CPUS - 1, &cpu))
			continue;
		if (vm->cpus & (1ull << cpu))
			report(cc, item, ipath, "pCPU %llu is listed twice",
			       (unsigned long long)cpu);
		vm->cpus |= 1ull << cpu;
	}
	if (i == 0)
		report(cc, v, path, "at least one pCPU is needed");
}

static void vm_autostart(struct cc *cc, yaml_node_t *v, const char *path,
			 void *obj)
{
	struct spec_vm *vm = obj;
	bool on;

	if (get_bool(cc, v, path, &on) && on)
		vm->flags |= CFG_VM_AUTOSTART;
}

static void vm_crash(struct cc *cc, yaml_node_t *v, const char *path,
		     void *obj)
{
	static const char *const names[] = {
		[CFG_CRASH_STOP] = "stop", [CFG_CRASH_RESTART] = "restart",
		[CFG_CRASH_DUMP] = "dump",
	};
	struct spec_vm *vm = obj;
	unsigned int policy;

	vm->m.crash = node_mark(v);
	if (get_enum(cc, v, path, names, ARRAY_SIZE(names), &policy))
		vm->crash_policy = policy;
}

static void vm_budget(struct cc *cc, yaml_node_t *v, const char *path,
		      void *obj)
{
	struct spec_vm *vm = obj;
	u64 n;

	vm->m.budget = node_mark(v);
	if (get_u64(cc, v, path, 0xffffffffu, &n))
		vm->restart_budget = (u32)n;
}

static const struct key_rule vm_rules[] = {
	{ "name", true, vm_name },
	{ "cpus", true, vm_cpus },
	{ "autostart", false, vm_autostart },
	{ "crash", false, vm_crash },
	{ "restart_budget", false, vm_budget },
	{ "memory", true, vm_memory },
	{ "boot", true, vm_boot },
	{ "devices", false, vm_devices },
};

void read_vm(struct cc *cc, yaml_node_t *n, const char *path)
{
	struct spec_vm *vm = &cc->spec->vms[cc->spec->nr_vms++];

	vm->m.vm = node_mark(n);
	vm->crash_policy = CFG_CRASH_STOP;
	if (!walk_map(cc, n, path, vm_rules, ARRAY_SIZE(vm_rules), vm))
		return;
	if (vm->crash_policy != CFG_CRASH_RESTART)
		vm->restart_budget = 0;
	else if (!vm->m.budget.line)
		vm->restart_budget = DEFAULT_RESTART_BUDGET;
	if (vm->m.budget.line && vm->crash_policy != CFG_CRASH_RESTART)
		diag_at(cc->d, vm->m.budget,
			"%s.restart_budget: only for \"crash: restart\"", path);
}
