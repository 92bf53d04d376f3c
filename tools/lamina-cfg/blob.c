/*
 * The layout of a blob (include/abi/config.h): header, VMs, regions,
 * devices, strings, in that order, each array right after the one before.
 * Strings are stored once each, in a fixed order (per VM: name, boot
 * image, cmdline, initrd, region images), so the same spec always gives
 * the same bytes: `--dump` then compile reproduces a blob exactly.
 */
#include <lamina/crc32.h>
#include <lamina/lib.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_tool.h"

/* Even a full blob fits: no size check is needed beyond the strings'. */
_Static_assert(sizeof(struct cfg_header) +
	       CFG_MAX_VMS * sizeof(struct cfg_vm) +
	       CFG_MAX_REGIONS * sizeof(struct cfg_region) +
	       CFG_MAX_DEVICES * sizeof(struct cfg_device) +
	       CFG_MAX_STRINGS <= CFG_MAX_SIZE, "a full blob fits CFG_MAX_SIZE");

#define MAX_STRS (CFG_MAX_VMS * 4 + CFG_MAX_REGIONS)

struct strtab {
	char buf[CFG_MAX_STRINGS];
	u32 size;
	u32 offs[MAX_STRS];
	unsigned int nr;
	bool full;
};

/* The offset of @s in @t, added if new; CFG_NONE for NULL or no room. */
static u32 str_add(struct strtab *t, const char *s)
{
	size_t len;

	if (!s)
		return CFG_NONE;
	for (unsigned int i = 0; i < t->nr; i++)
		if (!strcmp(t->buf + t->offs[i], s))
			return t->offs[i];
	len = strlen(s) + 1;
	if (t->nr == MAX_STRS || len > sizeof(t->buf) - t->size) {
		t->full = true;
		return CFG_NONE;
	}
	memcpy(t->buf + t->size, s, len);
	t->offs[t->nr++] = t->size;
	t->size += (u32)len;
	return t->offs[t->nr - 1];
}

static struct cfg_vm vm_record(const struct cfg_spec *spec,
			       const struct spec_vm *v, struct strtab *t)
{
	struct cfg_vm r = {
		.name = str_add(t, v->name),
		.flags = v->flags,
		.cpus = v->cpus,
		.first_region = v->first_region,
		.nr_regions = v->nr_regions,
		.first_device = v->nr_devices ? v->first_device : 0,
		.nr_devices = v->nr_devices,
		.boot_kind = v->boot_kind,
		.boot_image = str_add(t, v->boot_image),
		.entry = v->entry,
		.cmdline = str_add(t, v->cmdline),
		.initrd = str_add(t, v->initrd),
		.crash_policy = v->crash_policy,
		.restart_budget = v->restart_budget,
	};

	/* With no devices, first_device is 0 whatever "devices: []" said. */
	for (u32 i = 0; i < v->nr_regions; i++)
		str_add(t, spec->regions[v->first_region + i].image);
	return r;
}

static struct cfg_region region_record(const struct spec_region *s,
				       struct strtab *t)
{
	return (struct cfg_region){
		.gpa = s->gpa,
		.size = s->size,
		.flags = s->flags,
		.image = str_add(t, s->image),
	};
}

static struct cfg_device device_record(const struct spec_device *s)
{
	return (struct cfg_device){
		.kind = s->kind,
		.irq = s->irq,
		.base = s->base,
		.size = s->size,
		.gpa = s->gpa,
	};
}

static struct cfg_header header(const struct cfg_spec *spec, u32 strings_size)
{
	struct cfg_header h = {
		.magic = CFG_MAGIC,
		.abi_major = CFG_ABI_MAJOR,
		.abi_minor = CFG_ABI_MINOR,
		.log_level = spec->log_level,
		.monitor_cpu = spec->monitor_cpu,
		.nr_vms = spec->nr_vms,
		.vms_offset = sizeof(struct cfg_header),
		.nr_regions = spec->nr_regions,
		.nr_devices = spec->nr_devices,
		.strings_size = strings_size,
	};

	h.regions_offset = h.vms_offset + h.nr_vms * (u32)sizeof(struct cfg_vm);
	h.devices_offset = h.regions_offset +
			   h.nr_regions * (u32)sizeof(struct cfg_region);
	h.strings_offset = h.devices_offset +
			   h.nr_devices * (u32)sizeof(struct cfg_device);
	h.total_size = h.strings_offset + strings_size;
	return h;
}

/* Records in their arrays; the strings collected on the way into @t. */
static void fill(u8 *blob, const struct cfg_header *h,
		 const struct cfg_spec *spec, struct strtab *t)
{
	for (u32 i = 0; i < spec->nr_vms; i++) {
		struct cfg_vm r = vm_record(spec, &spec->vms[i], t);

		memcpy(blob + h->vms_offset + i * sizeof(r), &r, sizeof(r));
	}
	for (u32 i = 0; i < spec->nr_regions; i++) {
		struct cfg_region r = region_record(&spec->regions[i], t);

		memcpy(blob + h->regions_offset + i * sizeof(r), &r, sizeof(r));
	}
	for (u32 i = 0; i < spec->nr_devices; i++) {
		struct cfg_device r = device_record(&spec->devices[i]);

		memcpy(blob + h->devices_offset + i * sizeof(r), &r, sizeof(r));
	}
}

void *cfg_build_blob(const struct cfg_spec *spec, struct diag *d,
		     size_t *size)
{
	struct strtab *t = calloc(1, sizeof(*t));
	size_t records = sizeof(struct cfg_header) +
			 spec->nr_vms * sizeof(struct cfg_vm) +
			 spec->nr_regions * sizeof(struct cfg_region) +
			 spec->nr_devices * sizeof(struct cfg_device);
	u8 *blob = t ? malloc(records + CFG_MAX_STRINGS) : NULL;
	struct cfg_header h;

	if (!blob) {
		diag_at(d, (struct src_mark){ 0 }, "out of memory");
		goto out;
	}
	/* Only the string table's size waits for the records. */
	h = header(spec, 0);
	fill(blob, &h, spec, t);
	if (t->full) {
		diag_at(d, (struct src_mark){ 0 }, "the strings (names, command lines, image names) need more than %u bytes",
			CFG_MAX_STRINGS);
		free(blob);
		blob = NULL;
		goto out;
	}
	h = header(spec, t->size);
	memcpy(blob + h.strings_offset, t->buf, t->size);
	memcpy(blob, &h, sizeof(h));
	h.crc32 = crc32(0, blob, h.total_size);
	memcpy(blob, &h, sizeof(h));
	*size = h.total_size;
out:
	free(t);
	return blob;
}

/* ---------------------------------------------------------------- output */

static int write_all(int fd, const void *data, size_t size)
{
	const u8 *p = data;

	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

int cfg_write_file(const char *path, const void *data, size_t size)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + sizeof(".XXXXXX"));
	mode_t mask;
	int fd, err;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".XXXXXX", sizeof(".XXXXXX"));
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		goto err_mkstemp;
	}
	mask = umask(0);
	umask(mask);
	err = write_all(fd, data, size);
	if (!err && fchmod(fd, 0666 & ~mask))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
err_mkstemp:
	free(tmp);
	return err;
}
