/*
 * YAML text to a blob: load the one document with libyaml, read the top
 * level (the VMs are compile_vm.c's), lay the result out (blob.c) and
 * validate it (check.c). Problems of the YAML itself stop before layout;
 * the validator runs only on a blob that compiled cleanly, so no mistake
 * is reported twice.
 */
#include <lamina/lib.h>
#include <stdarg.h>

#include "walk.h"

const char *const cfg_log_level_names[4] = { "error", "warn", "info", "debug" };

#define DEFAULT_LOG_LEVEL 2 /* info */

void diag_at(struct diag *d, struct src_mark at, const char *fmt, ...)
{
	va_list ap;

	d->count++;
	if (!d->out)
		return;
	if (at.line)
		fprintf(d->out, "%s:%u:%u: ", d->file, at.line, at.col);
	else
		fprintf(d->out, "%s: ", d->file);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
}

/* ---------------------------------------------------------------- top level */

static void read_log_level(struct cc *cc, yaml_node_t *v, const char *path,
			   void *obj)
{
	unsigned int level;

	(void)obj;
	cc->spec->log_level_at = node_mark(v);
	if (get_enum(cc, v, path, cfg_log_level_names,
		     ARRAY_SIZE(cfg_log_level_names), &level))
		cc->spec->log_level = level;
}

static void read_monitor_cpu(struct cc *cc, yaml_node_t *v, const char *path,
			     void *obj)
{
	u64 cpu;

	(void)obj;
	cc->spec->monitor_cpu_at = node_mark(v);
	if (get_u64(cc, v, path, CFG_MAX_CPUS - 1, &cpu))
		cc->spec->monitor_cpu = (u32)cpu;
}

static void read_vms(struct cc *cc, yaml_node_t *v, const char *path,
		     void *obj)
{
	char ipath[PATH_MAX_LEN];
	yaml_node_t *item;
	unsigned int i;

	(void)obj;
	cc->spec->vms_at = node_mark(v);
	if (!expect_list(cc, v, path))
		return;
	for_each_item(cc, v, i, item) {
		if (i == CFG_MAX_VMS) {
			report(cc, item, path_index(ipath, path, i),
			       "more than %u VMs", CFG_MAX_VMS);
			return;
		}
		read_vm(cc, item, path_index(ipath, path, i));
	}
}

static const struct key_rule top_rules[] = {
	{ "log_level", false, read_log_level },
	{ "monitor_cpu", false, read_monitor_cpu },
	{ "vms", true, read_vms },
};

/* ---------------------------------------------------------------- loading */

/* Line and column of byte @offset, for errors libyaml gives no mark for. */
static struct src_mark offset_mark(const char *text, size_t len,
				   size_t offset)
{
	struct src_mark m = { 1, 1 };

	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			m.line++;
			m.col = 1;
		} else {
			m.col++;
		}
	}
	return m;
}

static void syntax_error(struct diag *d, const yaml_parser_t *p,
			 const char *text, size_t len)
{
	struct src_mark at = { (unsigned int)p->problem_mark.line + 1,
			       (unsigned int)p->problem_mark.column + 1 };
	const char *problem = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_MEMORY_ERROR) {
		diag_at(d, (struct src_mark){ 0 }, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR)
		at = offset_mark(text, len, p->problem_offset);
	if (p->context)
		diag_at(d, at, "syntax error: %s (%s, line %u)", problem,
			p->context, (unsigned int)p->context_mark.line + 1);
	else
		diag_at(d, at, "syntax error: %s", problem);
}

/* After the first document: nothing but the end of the stream. */
static void expect_end(struct diag *d, yaml_parser_t *p, const char *text,
		       size_t len)
{
	yaml_document_t extra;
	yaml_node_t *root;

	if (!yaml_parser_load(p, &extra)) {
		syntax_error(d, p, text, len);
		return;
	}
	root = yaml_document_get_root_node(&extra);
	if (root)
		diag_at(d, (struct src_mark){
				(unsigned int)extra.start_mark.line + 1,
				(unsigned int)extra.start_mark.column + 1 },
			"a second YAML document: a configuration is one document");
	yaml_document_delete(&extra);
}

static void read_document(struct cc *cc)
{
	yaml_node_t *root = yaml_document_get_root_node(cc->doc);

	if (!root) {
		diag_at(cc->d, (struct src_mark){ 1, 1 },
			"the file is empty: expected a mapping with \"vms\"");
		return;
	}
	walk_map(cc, root, "", top_rules, ARRAY_SIZE(top_rules), NULL);
}

/* Parse and read @text into @spec; problems go to @d. */
static void parse(const char *text, size_t len,
		  const struct cfg_compile_opts *opts, struct diag *d,
		  struct cfg_spec *spec)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct cc cc = { .doc = &doc, .d = d, .opts = opts, .spec = spec };

	if (!yaml_parser_initialize(&parser)) {
		diag_at(d, (struct src_mark){ 0 }, "out of memory");
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(d, &parser, text, len);
	} else {
		read_document(&cc);
		yaml_document_delete(&doc);
		expect_end(d, &parser, text, len);
	}
	yaml_parser_delete(&parser);
}

/* ---------------------------------------------------------------- entry */

unsigned int cfg_compile(const char *yaml, size_t len,
			 const struct cfg_compile_opts *opts,
			 struct diag *d, struct cfg_output *out)
{
	unsigned int before = d->count;

	memset(out, 0, sizeof(*out));
	out->spec = calloc(1, sizeof(*out->spec));
	if (!out->spec) {
		diag_at(d, (struct src_mark){ 0 }, "out of memory");
		return d->count - before;
	}
	out->spec->log_level = DEFAULT_LOG_LEVEL;
	parse(yaml, len, opts, d, out->spec);
	if (d->count != before)
		return d->count - before;
	out->blob = cfg_build_blob(out->spec, d, &out->size);
	if (!out->blob)
		return d->count - before;
	cfg_check_spec(out->blob, out->size, out->spec, opts->open_images, d);
	if (d->count != before) {
		free(out->blob);
		out->blob = NULL;
		out->size = 0;
	}
	return d->count - before;
}

void cfg_output_free(struct cfg_output *out)
{
	struct cfg_spec *s = out->spec;

	free(out->blob);
	if (s) {
		for (unsigned int i = 0; i < s->nr_vms; i++) {
			free(s->vms[i].name);
			free(s->vms[i].cmdline);
		}
		for (unsigned int i = 0; i < s->nr_images; i++) {
			free(s->images[i].name);
			free(s->images[i].path);
		}
		free(s);
	}
	memset(out, 0, sizeof(*out));
}
