/*
 * Running the shared validator (kernel/config_check.c) from the tool.
 *
 * On a blob just compiled, each problem names a record the way Lamina
 * prints it at boot ("vm 'web' (vm 1) region 2: ..."); that text is kept
 * as it is, and prefixed with the position and YAML path the record came
 * from, so the message leads back to the line to fix.
 */
#include <lamina/lib.h>
#include <stddef.h>

#include "cfg_tool.h"

#define WHERE_PATH_MAX 64

struct where {
	struct src_mark at;
	char path[WHERE_PATH_MAX];
};

struct spec_report {
	const struct cfg_spec *spec;
	struct diag *d;
};

/* VM-level problems: how the text after "LABEL: " starts picks the part. */
#define PART(phrase, mark, key) \
	{ phrase, offsetof(struct spec_vm_marks, mark), key }
static const struct {
	const char *phrase;
	size_t mark;            /* offset in struct spec_vm_marks */
	const char *key;
} vm_parts[] = {
	PART("name", name, "name"),
	PART("has no name", name, "name"),
	PART("pCPU", cpus, "cpus"),
	PART("has no pCPU", cpus, "cpus"),
	PART("has no memory region", memory, "memory"),
	PART("regions [", memory, "memory"),
	PART("region ", memory, "memory"),
	PART("devices [", devices, "devices"),
	PART("device ", devices, "devices"),
	PART("restart_budget", budget, "restart_budget"),
	PART("crash policy", crash, "crash"),
	PART("entry", entry, "boot.entry"),
	PART("boot image", image, "boot.image"),
	PART("boot kind", kind, "boot.kind"),
	PART("initrd", initrd, "boot.initrd"),
	PART("an initrd", initrd, "boot.initrd"),
	PART("cmdline", cmdline, "boot.cmdline"),
	PART("a command line", cmdline, "boot.cmdline"),
	PART("real16", kind, "boot.kind"),
};

static struct src_mark vm_part(const struct spec_vm *vm, size_t off)
{
	return *(const struct src_mark *)((const char *)&vm->m + off);
}

/* A part of VM @i named by how @text starts; the boot or the VM if absent. */
static void where_in_part(const struct spec_vm *vm, u32 i, const char *text,
			  struct where *w)
{
	for (unsigned int k = 0; k < ARRAY_SIZE(vm_parts); k++) {
		const char *key = vm_parts[k].key;
		struct src_mark at = vm_part(vm, vm_parts[k].mark);

		if (strncmp(text, vm_parts[k].phrase, strlen(vm_parts[k].phrase)))
			continue;
		if (!at.line && !strncmp(key, "boot.", 5)) {
			at = vm->m.boot;
			key = "boot";
		}
		if (at.line) {
			w->at = at;
			snprintf(w->path, sizeof(w->path), "vms[%u].%s", i, key);
		}
		return;
	}
}

/* Where in VM @i the problem @text (after the VM's label) points. */
static void where_in_vm(const struct cfg_spec *s, u32 i, const char *text,
			struct where *w)
{
	const struct spec_vm *vm = &s->vms[i];
	unsigned int k;

	w->at = vm->m.vm;
	snprintf(w->path, sizeof(w->path), "vms[%u]", i);
	if (sscanf(text, " region %u", &k) == 1 && k < s->nr_regions &&
	    k - vm->first_region < vm->nr_regions) {
		w->at = s->regions[k].at;
		snprintf(w->path, sizeof(w->path), "vms[%u].memory[%u]", i,
			 k - vm->first_region);
	} else if (sscanf(text, " device %u", &k) == 1 && k < s->nr_devices &&
		   k - vm->first_device < vm->nr_devices) {
		w->at = s->devices[k].at;
		snprintf(w->path, sizeof(w->path), "vms[%u].devices[%u]", i,
			 k - vm->first_device);
	} else if (!strncmp(text, ": ", 2)) {
		where_in_part(vm, i, text + 2, w);
	}
}

/* The VM a problem's label names: "vm 'web' (vm 1)..." or "vm 1...". */
static bool label_vm(const char *text, u32 *vm, const char **rest)
{
	const char *p = text;
	unsigned int i;
	int n = 0;

	if (!strncmp(p, "vm '", 4)) {
		p = strstr(p + 4, "' (vm ");
		if (!p || sscanf(p, "' (vm %u)%n", &i, &n) != 1 || !n)
			return false;
	} else if (sscanf(p, "vm %u%n", &i, &n) != 1 || !n) {
		return false;
	}
	*vm = i;
	*rest = p + n;
	return true;
}

static void locate(const struct cfg_spec *s, const char *text,
		   struct where *w)
{
	const char *rest;
	u32 vm;

	w->at = (struct src_mark){ 0 };
	w->path[0] = '\0';
	if (!strncmp(text, "header: log_level", 17)) {
		w->at = s->log_level_at;
		snprintf(w->path, sizeof(w->path), "log_level");
	} else if (!strncmp(text, "header: monitor_cpu", 19)) {
		w->at = s->monitor_cpu_at;
		snprintf(w->path, sizeof(w->path), "monitor_cpu");
	} else if (label_vm(text, &vm, &rest) && vm < s->nr_vms) {
		where_in_vm(s, vm, rest, w);
	}
	if (!w->at.line)
		w->path[0] = '\0';
}

static void report_spec(void *ctx, const char *problem)
{
	struct spec_report *r = ctx;
	struct where w;

	locate(r->spec, problem, &w);
	if (w.path[0])
		diag_at(r->d, w.at, "%s: %s", w.path, problem);
	else
		diag_at(r->d, w.at, "%s", problem);
}

/* Is image @name the kernel of a multiboot VM? Only those are read. */
static bool multiboot_kernel(const struct cfg_spec *s, const char *name)
{
	for (unsigned int i = 0; i < s->nr_vms; i++)
		if (s->vms[i].boot_kind == CFG_BOOT_MULTIBOOT &&
		    s->vms[i].boot_image && !strcmp(s->vms[i].boot_image, name))
			return true;
	return false;
}

/*
 * The bytes of @img, as many as it had when it was opened; NULL if they
 * cannot be read (then the validator leaves its contents unchecked).
 */
static void *read_image(const struct cfg_image *img)
{
	FILE *f = fopen(img->path, "rb");
	void *buf = malloc(img->size ? img->size : 1);
	bool ok = f && buf && fread(buf, 1, img->size, f) == img->size;

	if (f)
		fclose(f);
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

unsigned int cfg_check_spec(const void *blob, size_t size,
			    const struct cfg_spec *spec, bool modules_known,
			    struct diag *d)
{
	struct cfg_module mods[CFG_MAX_IMAGES] = { { 0 } };
	struct spec_report r = { .spec = spec, .d = d };
	struct cfg_env env = {
		.modules_known = modules_known,
		.modules = mods,
		.nr_modules = spec->nr_images,
	};
	unsigned int problems;

	for (unsigned int i = 0; i < spec->nr_images; i++) {
		mods[i].name = spec->images[i].name;
		mods[i].size = spec->images[i].size;
		if (modules_known && multiboot_kernel(spec, mods[i].name))
			mods[i].data = read_image(&spec->images[i]);
	}
	problems = cfg_validate(blob, size, &env, report_spec, &r);
	for (unsigned int i = 0; i < spec->nr_images; i++)
		free((void *)mods[i].data);
	return problems;
}

static void report_plain(void *ctx, const char *problem)
{
	diag_at(ctx, (struct src_mark){ 0 }, "%s", problem);
}

unsigned int cfg_check_blob(const void *blob, size_t size, struct diag *d)
{
	struct cfg_env env = { 0 };

	return cfg_validate(blob, size, &env, report_plain, d);
}
