/* Typed readers over a libyaml document; see walk.h. */
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <stdarg.h>

#include "walk.h"

struct src_mark node_mark(const yaml_node_t *n)
{
	return (struct src_mark){ .line = (unsigned int)n->start_mark.line + 1,
				  .col = (unsigned int)n->start_mark.column + 1 };
}

yaml_node_t *node_get(struct cc *cc, int id)
{
	return yaml_document_get_node(cc->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* An empty value, "~" or "null" written plainly: YAML's null. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const words[] = { "", "~", "null", "Null", "NULL" };

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcmp(scalar(n), words[i]))
			return true;
	return false;
}

/* Quote @len bytes of @s, escaped and shortened to fit @size (>= 16). */
static void quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (i < len)
		o += (size_t)snprintf(buf + o, size - o, "...");
	snprintf(buf + o, size - o, "\"");
}

const char *node_describe(const yaml_node_t *n, char *buf, size_t size)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type != YAML_SCALAR_NODE)
		return "nothing";
	if (is_null(n))
		return "nothing";
	quote(scalar(n), n->data.scalar.length, buf, size < 64 ? size : 64);
	return buf;
}

void report(struct cc *cc, const yaml_node_t *n, const char *path,
	    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && *path)
		diag_at(cc->d, node_mark(n), "%s: %s", path, msg);
	else
		diag_at(cc->d, node_mark(n), "%s", msg);
}

static bool expect_type(struct cc *cc, yaml_node_t *n, const char *path,
			yaml_node_type_t type, const char *what)
{
	char buf[64];

	if (n->type == type)
		return true;
	report(cc, n, path, "expected %s, found %s", what,
	       node_describe(n, buf, sizeof(buf)));
	return false;
}

bool expect_list(struct cc *cc, yaml_node_t *n, const char *path)
{
	return expect_type(cc, n, path, YAML_SEQUENCE_NODE, "a list");
}

bool expect_map(struct cc *cc, yaml_node_t *n, const char *path)
{
	return expect_type(cc, n, path, YAML_MAPPING_NODE, "a mapping");
}

/* A scalar holding text (no NUL inside), or a report. */
static bool expect_text(struct cc *cc, yaml_node_t *n, const char *path,
			const char *what)
{
	char buf[64];

	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		report(cc, n, path, "expected %s, found %s", what,
		       node_describe(n, buf, sizeof(buf)));
		return false;
	}
	if (strlen(scalar(n)) != n->data.scalar.length) {
		report(cc, n, path, "%s contains a NUL character",
		       node_describe(n, buf, sizeof(buf)));
		return false;
	}
	return true;
}

bool get_u64(struct cc *cc, yaml_node_t *n, const char *path, u64 max,
	     u64 *out)
{
	char buf[64];
	u64 val;
	int err;

	if (!expect_text(cc, n, path, "a number"))
		return false;
	err = parse_u64(scalar(n), &val);
	if (err == -HV_ERANGE || (!err && val > max)) {
		report(cc, n, path, max < 256 ? "%s is out of range (0 to %llu)"
		       : "%s is out of range (0 to 0x%llx)",
		       node_describe(n, buf, sizeof(buf)),
		       (unsigned long long)max);
		return false;
	}
	if (err) {
		report(cc, n, path, "%s is not a number (use decimal or 0x hex)",
		       node_describe(n, buf, sizeof(buf)));
		return false;
	}
	*out = val;
	return true;
}

static unsigned int size_shift(char suffix)
{
	switch (suffix) {
	case 'K':
		return 10;
	case 'M':
		return 20;
	case 'G':
		return 30;
	default:
		return 0;
	}
}

bool get_size(struct cc *cc, yaml_node_t *n, const char *path, u64 *out)
{
	char num[32], buf[64];
	unsigned int shift = 0;
	size_t len;
	u64 val;
	int err;

	if (!expect_text(cc, n, path, "a size"))
		return false;
	len = n->data.scalar.length;
	if (len > 1)
		shift = size_shift(scalar(n)[len - 1]);
	if (shift)
		len--;
	err = -HV_EINVAL;
	if (len < sizeof(num)) {
		memcpy(num, scalar(n), len);
		num[len] = '\0';
		err = parse_u64(num, &val);
	}
	if (!err && shift && val > (~0ull >> shift))
		err = -HV_ERANGE;
	if (err) {
		report(cc, n, path, err == -HV_ERANGE ? "%s is too large" :
		       "%s is not a size (use bytes or K/M/G)",
		       node_describe(n, buf, sizeof(buf)));
		return false;
	}
	*out = val << shift;
	return true;
}

bool get_bool(struct cc *cc, yaml_node_t *n, const char *path, bool *out)
{
	static const char *const names[] = { "false", "true", "False", "True",
					     "FALSE", "TRUE" };
	char buf[64];

	if (n->type == YAML_SCALAR_NODE)
		for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(scalar(n), names[i]) &&
			    strlen(names[i]) == n->data.scalar.length) {
				*out = i & 1;
				return true;
			}
	report(cc, n, path, "expected true or false, found %s",
	       node_describe(n, buf, sizeof(buf)));
	return false;
}

/* "a, b, c" of the non-NULL @names. */
static const char *name_list(const char *const *names, unsigned int nr,
			     char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < nr && o < size; i++)
		if (names[i])
			o += (size_t)snprintf(buf + o, size - o, "%s%s",
					      o ? ", " : "", names[i]);
	return buf;
}

bool get_enum(struct cc *cc, yaml_node_t *n, const char *path,
	      const char *const *names, unsigned int nr, unsigned int *out)
{
	char buf[64], list[160];

	if (n->type == YAML_SCALAR_NODE)
		for (unsigned int i = 0; i < nr; i++)
			if (names[i] && !strcmp(scalar(n), names[i]) &&
			    strlen(names[i]) == n->data.scalar.length) {
				*out = i;
				return true;
			}
	report(cc, n, path, "%s is not one of %s",
	       node_describe(n, buf, sizeof(buf)),
	       name_list(names, nr, list, sizeof(list)));
	return false;
}

bool get_string(struct cc *cc, yaml_node_t *n, const char *path, char **out)
{
	if (!expect_text(cc, n, path, "a string"))
		return false;
	*out = strdup(scalar(n));
	if (!*out) {
		report(cc, n, path, "out of memory");
		return false;
	}
	return true;
}

const char *path_index(char *buf, const char *path, unsigned int i)
{
	snprintf(buf, PATH_MAX_LEN, "%s[%u]", path, i);
	return buf;
}

const char *path_key(char *buf, const char *path, const char *key)
{
	snprintf(buf, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key);
	return buf;
}

yaml_node_t *list_item(struct cc *cc, yaml_node_t *list, unsigned int i)
{
	if (list->type != YAML_SEQUENCE_NODE ||
	    i >= (size_t)(list->data.sequence.items.top -
			  list->data.sequence.items.start))
		return NULL;
	return node_get(cc, list->data.sequence.items.start[i]);
}

static const struct key_rule *find_rule(const yaml_node_t *key,
					const struct key_rule *rules,
					unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		if (!strcmp(scalar(key), rules[i].name) &&
		    strlen(rules[i].name) == key->data.scalar.length)
			return &rules[i];
	return NULL;
}

static void unknown_key(struct cc *cc, yaml_node_t *key, const char *path,
			const struct key_rule *rules, unsigned int nr)
{
	char buf[64], list[200];
	size_t o = 0;

	list[0] = '\0';
	for (unsigned int i = 0; i < nr && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
				      i ? ", " : "", rules[i].name);
	report(cc, key, path, "unknown key %s (known: %s)",
	       node_describe(key, buf, sizeof(buf)), list);
}

/* One key/value pair of walk_map(); @seen has the first mark of each rule. */
static void walk_pair(struct cc *cc, const yaml_node_pair_t *pair,
		      const char *path, const struct key_rule *rules,
		      unsigned int nr, struct src_mark *seen, void *obj)
{
	yaml_node_t *key = node_get(cc, pair->key);
	yaml_node_t *val = node_get(cc, pair->value);
	const struct key_rule *r;
	char buf[64], kpath[PATH_MAX_LEN];
	unsigned int i;

	if (!key || !val)
		return;
	if (key->type != YAML_SCALAR_NODE) {
		report(cc, key, path, "a key must be a name, found %s",
		       node_describe(key, buf, sizeof(buf)));
		return;
	}
	r = find_rule(key, rules, nr);
	if (!r) {
		unknown_key(cc, key, path, rules, nr);
		return;
	}
	i = (unsigned int)(r - rules);
	path_key(kpath, path, r->name);
	if (seen[i].line) {
		report(cc, key, kpath, "given twice (first at line %u, column %u)",
		       seen[i].line, seen[i].col);
		return;
	}
	seen[i] = node_mark(key);
	r->read(cc, val, kpath, obj);
}

bool walk_map(struct cc *cc, yaml_node_t *n, const char *path,
	      const struct key_rule *rules, unsigned int nr, void *obj)
{
	struct src_mark seen[16] = { 0 };
	yaml_node_pair_t *pair;

	if (nr > ARRAY_SIZE(seen) || !expect_map(cc, n, path))
		return false;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++)
		walk_pair(cc, pair, path, rules, nr, seen, obj);
	for (unsigned int i = 0; i < nr; i++)
		if (rules[i].required && !seen[i].line)
			report(cc, n, path, "\"%s\" is required", rules[i].name);
	return true;
}
