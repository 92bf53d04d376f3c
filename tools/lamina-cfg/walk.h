/*
 * Walking a libyaml document against a schema: typed scalar readers and a
 * mapping walker driven by a table of keys. Every reader reports its own
 * problem as "FILE:LINE:COL: PATH: what is wrong" and returns false; the
 * caller just skips the value and goes on, so one run shows every mistake.
 */
#ifndef LAMINA_CFG_WALK_H
#define LAMINA_CFG_WALK_H

#include <yaml.h>

#include "cfg_tool.h"

#define PATH_MAX_LEN 160

/* The compiler's state while it walks one document. */
struct cc {
	yaml_document_t *doc;
	struct diag *d;
	const struct cfg_compile_opts *opts;
	struct cfg_spec *spec;
};

struct src_mark node_mark(const yaml_node_t *n);
yaml_node_t *node_get(struct cc *cc, int id);

/* A short printable form of @n for messages: "16Q", a list, nothing. */
const char *node_describe(const yaml_node_t *n, char *buf, size_t size);

void report(struct cc *cc, const yaml_node_t *n, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

bool expect_list(struct cc *cc, yaml_node_t *n, const char *path);
bool expect_map(struct cc *cc, yaml_node_t *n, const char *path);

/* Integers: decimal or 0x hex, at most @max. */
bool get_u64(struct cc *cc, yaml_node_t *n, const char *path, u64 max,
	     u64 *out);
/* Sizes: an integer, or decimal with K, M or G (powers of 1024). */
bool get_size(struct cc *cc, yaml_node_t *n, const char *path, u64 *out);
bool get_bool(struct cc *cc, yaml_node_t *n, const char *path, bool *out);
/* One of @names (a NULL entry is skipped); *out is its index. */
bool get_enum(struct cc *cc, yaml_node_t *n, const char *path,
	      const char *const *names, unsigned int nr, unsigned int *out);
/* Any scalar but an empty one; no NUL inside. *out is malloc'ed. */
bool get_string(struct cc *cc, yaml_node_t *n, const char *path, char **out);

/* One key of a mapping: its reader gets the value and the value's path. */
struct key_rule {
	const char *name;
	bool required;
	void (*read)(struct cc *cc, yaml_node_t *val, const char *path,
		     void *obj);
};

/*
 * Read the mapping @n with @rules: unknown, duplicate and missing keys are
 * reported; each known key's reader runs once. False if @n is no mapping.
 */
bool walk_map(struct cc *cc, yaml_node_t *n, const char *path,
	      const struct key_rule *rules, unsigned int nr, void *obj);

/* "PATH[I]" and "PATH.KEY" into @buf. */
const char *path_index(char *buf, const char *path, unsigned int i);
const char *path_key(char *buf, const char *path, const char *key);

/* Items of a list, in order; NULL after the last. */
#define for_each_item(cc, list, i, item) \
	for ((i) = 0; ((item) = list_item((cc), (list), (i))) != NULL; (i)++)
yaml_node_t *list_item(struct cc *cc, yaml_node_t *list, unsigned int i);

/* compile_vm.c: the parts of one VM. */
void read_vm(struct cc *cc, yaml_node_t *n, const char *path);
/* compile_vm.c: an image file named at @n; returns its module name. */
const char *add_image(struct cc *cc, yaml_node_t *n, const char *path);

#endif
