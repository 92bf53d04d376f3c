/*
 * A validated blob back to YAML. The output compiles to the same bytes
 * (blob.c's layout is fixed by the values alone), with one difference
 * from the original YAML: images are named by their module names, since
 * that is all the blob keeps.
 */
#include <lamina/lib.h>

#include "cfg_tool.h"

static const char *const special_words[] = {
	"null", "true", "false", "yes", "no", "on", "off", "y", "n",
};

static bool word_is_special(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(special_words); i++)
		if (!strcasecmp(s, special_words[i]))
			return true;
	return false;
}

/* Safe to write plainly: a name that YAML reads back as the same string. */
static bool plain_ok(const char *s)
{
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      s[0] == '_') || word_is_special(s))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.' || *s == '+'))
			return false;
	return true;
}

/* The code point of the UTF-8 sequence at @s (*len bytes); -1 if invalid. */
static long utf8_decode(const unsigned char *s, size_t *len)
{
	unsigned int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	long cp = s[0] & (0x7f >> n);
	static const long min[] = { 0, 0, 0x80, 0x800, 0x10000 };

	if (s[0] < 0xc0 || s[0] >= 0xf8)
		return -1;
	for (unsigned int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = n;
	return cp;
}

/* A double-quoted scalar: ASCII only, everything else escaped. */
static void put_quoted(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len;
	long cp;

	fputc('"', out);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fprintf(out, "\\%c", *s++);
		} else if (*s >= 0x20 && *s < 0x7f) {
			fputc(*s++, out);
		} else if (*s < 0x80) {
			fprintf(out, "\\x%02x", *s++);
		} else if ((cp = utf8_decode(s, &len)) < 0) {
			fprintf(out, "\\x%02x", *s++); /* not from lamina-cfg */
		} else {
			fprintf(out, cp > 0xffff ? "\\U%08lx" : "\\u%04lx", cp);
			s += len;
		}
	}
	fputc('"', out);
}

static void put_str(FILE *out, const char *s)
{
	if (plain_ok(s))
		fputs(s, out);
	else
		put_quoted(out, s);
}

/* A size the way people write them: 16M, 4K, else hex. */
static void put_size(FILE *out, u64 v)
{
	static const struct { unsigned int shift; char suffix; } units[] = {
		{ 30, 'G' }, { 20, 'M' }, { 10, 'K' },
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (v && !(v & ((1ull << units[i].shift) - 1))) {
			fprintf(out, "%llu%c",
				(unsigned long long)(v >> units[i].shift),
				units[i].suffix);
			return;
		}
	fprintf(out, "0x%llx", (unsigned long long)v);
}

static void put_cpus(FILE *out, u64 cpus)
{
	const char *sep = "";

	fputc('[', out);
	for (unsigned int i = 0; i < CFG_MAX_CPUS; i++)
		if (cpus >> i & 1) {
			fprintf(out, "%s%u", sep, i);
			sep = ", ";
		}
	fputc(']', out);
}

const char *cfg_mem_flag_name(u32 bit)
{
	switch (bit) {
	case CFG_MEM_READONLY:
		return "readonly";
	case CFG_MEM_LOG_DIRTY:
		return "log_dirty";
	default:
		return NULL;
	}
}

static void dump_region(FILE *out, const void *blob, u32 i)
{
	const struct cfg_region *r = cfg_region_at(blob, i);
	const char *sep = "";

	fprintf(out, "      - gpa: 0x%llx\n        size: ",
		(unsigned long long)r->gpa);
	put_size(out, r->size);
	fputc('\n', out);
	if (r->flags) {
		fputs("        flags: [", out);
		for (u32 bit = 1; bit & CFG_MEM_FLAGS_ALL; bit <<= 1)
			if (r->flags & bit) {
				fprintf(out, "%s%s", sep, cfg_mem_flag_name(bit));
				sep = ", ";
			}
		fputs("]\n", out);
	}
	if (r->image != CFG_NONE) {
		fputs("        image: ", out);
		put_str(out, cfg_str(blob, r->image));
		fputc('\n', out);
	}
}

static void dump_device(FILE *out, const struct cfg_device *d)
{
	unsigned long long base = d->base, size = d->size;

	switch (d->kind) {
	case CFG_DEV_UART:
		fprintf(out, "      - uart: {port: 0x%llx, irq: %u}\n", base,
			d->irq);
		break;
	case CFG_DEV_DEBUG_EXIT:
		fprintf(out, "      - debug_exit: {port: 0x%llx, size: %llu}\n",
			base, size);
		break;
	case CFG_DEV_PIO:
		fprintf(out, "      - pio: {base: 0x%llx, size: %llu}\n", base,
			size);
		break;
	case CFG_DEV_MMIO:
		fprintf(out, "      - mmio: {base: 0x%llx, size: ", base);
		put_size(out, d->size);
		fprintf(out, ", gpa: 0x%llx}\n", (unsigned long long)d->gpa);
		break;
	}
}

static void dump_key_str(FILE *out, const char *key, const void *blob,
			 u32 off)
{
	if (off == CFG_NONE)
		return;
	fprintf(out, "      %s: ", key);
	put_str(out, cfg_str(blob, off));
	fputc('\n', out);
}

static void dump_boot(FILE *out, const void *blob, const struct cfg_vm *v)
{
	bool raw = v->boot_kind <= CFG_BOOT_REAL16;

	fprintf(out, "    boot:\n      kind: %s\n",
		cfg_boot_kind_name(v->boot_kind));
	dump_key_str(out, "image", blob, v->boot_image);
	if (raw)
		fprintf(out, "      entry: 0x%llx\n",
			(unsigned long long)v->entry);
	if (v->cmdline != CFG_NONE) {
		fputs("      cmdline: ", out);
		put_quoted(out, cfg_str(blob, v->cmdline));
		fputc('\n', out);
	}
	dump_key_str(out, "initrd", blob, v->initrd);
}

static void dump_vm(FILE *out, const void *blob, const struct cfg_vm *v)
{
	fputs("  - name: ", out);
	put_str(out, cfg_str(blob, v->name));
	fputs("\n    cpus: ", out);
	put_cpus(out, v->cpus);
	fprintf(out, "\n    autostart: %s\n    crash: %s\n",
		v->flags & CFG_VM_AUTOSTART ? "true" : "false",
		cfg_crash_policy_name(v->crash_policy));
	if (v->crash_policy == CFG_CRASH_RESTART)
		fprintf(out, "    restart_budget: %u\n", v->restart_budget);
	fputs("    memory:\n", out);
	for (u32 i = 0; i < v->nr_regions; i++)
		dump_region(out, blob, v->first_region + i);
	dump_boot(out, blob, v);
	if (v->nr_devices)
		fputs("    devices:\n", out);
	for (u32 i = 0; i < v->nr_devices; i++)
		dump_device(out, cfg_device_at(blob, v->first_device + i));
}

void cfg_dump(const void *blob, FILE *out, const char *source)
{
	const struct cfg_header *h = cfg_hdr(blob);

	fputs("# ", out);
	for (const char *p = source; *p; p++) /* a comment stays one line */
		fputc(*p >= 0x20 && *p < 0x7f ? *p : '?', out);
	fprintf(out, ": configuration blob, ABI %u.%u, %u bytes, CRC-32 0x%08x\n",
		h->abi_major, h->abi_minor, h->total_size, h->crc32);
	fputs("# Images are named by their module names, as in the blob.\n", out);
	fprintf(out, "log_level: %s\nmonitor_cpu: %u\nvms:%s\n",
		cfg_log_level_names[h->log_level], h->monitor_cpu,
		h->nr_vms ? "" : " []");
	for (u32 i = 0; i < h->nr_vms; i++)
		dump_vm(out, blob, cfg_vm_at(blob, i));
}
