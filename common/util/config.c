/* common/util/config.c - the YAML config file read through schema tables with libyaml's event
 * parser, every error at file:line:column (DESIGN.md "The metadata layer on disk": the config
 * file; STYLE.md "JSON and YAML at the edges"; ctrbox(1) "CONFIGURATION") */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

/*
 * The schema: one table of keys per mapping level; a key names its type and where its value
 * lives in struct config (offsetof). Adding a setting is adding a row. A new kind of value
 * (a list of strings, a map keyed by arbitrary names such as registry hosts) is a new type:
 * a case in parse_value() and, if it owns memory, one in free_fields(); a named map would
 * carry an element size and its own key table, parsed with parse_mapping() over each element.
 */
enum config_type {
	CT_STRING,   /* char *, owned */
	CT_PATH,     /* char *, owned, absolute */
	CT_BOOL,     /* bool: true or false */
	CT_SIZE,     /* int64_t bytes: "8MiB", or a number of bytes */
	CT_DURATION, /* int64_t ns: "30d", "10m", or a number of seconds */
	CT_LOGLEVEL, /* enum log_level */
	CT_MAP,      /* a nested mapping with its own table, stored in the same struct */
};

struct config_map;

struct config_key {
	const char *name;
	enum config_type type;
	size_t at;                    /* offsetof the value (unused for CT_MAP) */
	size_t set_at;                /* offsetof a bool set when the key is given; 0 = none */
	int64_t min;                  /* CT_SIZE, CT_DURATION: the smallest value allowed */
	const char *min_text;         /* ... as the error puts it: "at least 4KiB" */
	const struct config_map *map; /* CT_MAP */
};

/* Where each key of one mapping was seen, for duplicates and for cross-key checks. */
struct config_seen {
	bool set;
	yaml_mark_t key, value;
};

struct config_parse;

struct config_map {
	const char *name;              /* the dotted path of this mapping, NULL at the top */
	const struct config_key *keys; /* ends with {0} */
	/* Checks that span keys, once the mapping has been read; seen is indexed like keys. */
	int (*check)(const struct config_parse *p, const struct config_map *m, struct config *c,
	             const struct config_seen *seen, struct err *e);
};

#define AT(f) offsetof(struct config, f)
#define KEY(n, t, f, ...)                                                                          \
	{                                                                                          \
		.name = (n), .type = (t), .at = AT(f), __VA_ARGS__                                 \
	}
#define MAP(n, m)                                                                                  \
	{                                                                                          \
		.name = (n), .type = CT_MAP, .map = (m)                                            \
	}

static int events_check(const struct config_parse *p, const struct config_map *m, struct config *c,
                        const struct config_seen *seen, struct err *e);

static const struct config_key host_keys[] = {
    KEY("proc", CT_PATH, host.proc),
    KEY("sys", CT_PATH, host.sys),
    KEY("dev", CT_PATH, host.dev),
    KEY("cgroup", CT_PATH, host.cgroup),
    {0},
};
static const struct config_map host_map = {"host", host_keys, NULL};

static const struct config_key events_keys[] = {
    KEY("rotate_size", CT_SIZE, events.rotate_bytes, .min = 4096, .min_text = "at least 4KiB"),
    KEY("max_size", CT_SIZE, events.max_bytes), /* >= rotate_size: events_check() */
    KEY("max_age", CT_DURATION, events.max_age_ns, .min = 1, .min_text = "more than 0"),
    {0},
};
static const struct config_map events_map = {"events", events_keys, events_check};

static const struct config_key top_keys[] = {
    KEY("root", CT_PATH, root),
    KEY("state", CT_PATH, state),
    KEY("log_level", CT_LOGLEVEL, log_level, .set_at = AT(log_level_set)),
    MAP("host", &host_map),
    MAP("events", &events_map),
    {0},
};
static const struct config_map top_map = {NULL, top_keys, NULL};

#define EVENTS_ROTATE_DEFAULT (8LL << 20)
#define EVENTS_MAX_DEFAULT    (256LL << 20)
#define EVENTS_AGE_DEFAULT    (30LL * 86400 * NSEC_PER_SEC)

/* One parse: the text (for positions of reader errors) and the one event held at a time. */
struct config_parse {
	const char *path;
	const char *text;
	size_t len;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
};

static void *field(void *base, size_t at)
{
	return (char *)base + at;
}

/* "<path>:<line>:<column>: <reason>", 1-based, E_INVALID. */
static int __attribute__((format(printf, 4, 5)))
fail_at(const struct config_parse *p, yaml_mark_t m, struct err *e, const char *fmt, ...)
{
	char reason[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return err_set(e, E_INVALID, "%s:%zu:%zu: %s", p->path, m.line + 1, m.column + 1, reason);
}

/* A value as an error quotes it: control characters as '?', long values cut short. */
static const char *show(const char *v, char *buf, size_t n)
{
	size_t i, max = n - 4;

	for (i = 0; i < max && v[i]; i++)
		buf[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
	if (v[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset, not a mark. */
static yaml_mark_t mark_from_offset(const struct config_parse *p, size_t offset)
{
	yaml_mark_t m = {0};
	size_t i;

	for (i = 0; i < offset && i < p->len; i++) {
		if (p->text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)p->text[i] & 0xc0) != 0x80) {
			m.column++; /* columns count characters, as libyaml's marks do */
		}
	}
	m.index = offset;
	return m;
}

static int syntax_error(const struct config_parse *p, struct err *e)
{
	const yaml_parser_t *y = &p->parser;
	const char *problem = y->problem ? y->problem : "invalid YAML";

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		/* As the x-allocators: out of memory is the one fatal error below cmd/. */
		fprintf(stderr, "ctrbox: out of memory parsing %s\n", p->path);
		abort();
	case YAML_READER_ERROR:
		if (y->problem_value != -1)
			return fail_at(p, mark_from_offset(p, y->problem_offset), e, "%s (#%x)",
			               problem, (unsigned)y->problem_value);
		return fail_at(p, mark_from_offset(p, y->problem_offset), e, "%s", problem);
	default:
		if (y->context)
			return fail_at(p, y->problem_mark, e, "%s %s at line %zu", problem,
			               y->context, y->context_mark.line + 1);
		return fail_at(p, y->problem_mark, e, "%s", problem);
	}
}

/* Drops the event held and parses the next one into p->ev. */
static int next_event(struct config_parse *p, struct err *e)
{
	if (p->have_ev) {
		yaml_event_delete(&p->ev);
		p->have_ev = false;
	}
	if (!yaml_parser_parse(&p->parser, &p->ev))
		return syntax_error(p, e);
	p->have_ev = true;
	return 0;
}

static const char *node_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return "a scalar";
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* Anchors, aliases and tags have no use in a config file; refusing them keeps "what you read is
 * what is loaded" and keeps alias expansion (billion laughs) out. */
static int check_node(const struct config_parse *p, struct err *e)
{
	const yaml_event_t *ev = &p->ev;
	const yaml_char_t *anchor = NULL, *tag = NULL;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return fail_at(p, ev->start_mark, e, "alias \"*%s\": aliases are not supported",
		               (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default:
		return 0;
	}
	if (anchor)
		return fail_at(p, ev->start_mark, e, "anchor \"&%s\": anchors are not supported",
		               (const char *)anchor);
	if (tag)
		return fail_at(p, ev->start_mark, e, "tag \"%s\": tags are not supported",
		               (const char *)tag);
	return 0;
}

/* A plain empty, ~ or null scalar: YAML's null, which leaves the default in place. */
static bool is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *expected(enum config_type t)
{
	switch (t) {
	case CT_STRING:
		return "a string";
	case CT_PATH:
		return "an absolute path";
	case CT_BOOL:
		return "true or false";
	case CT_SIZE:
		return "a size like 8MiB";
	case CT_DURATION:
		return "a duration like 30d";
	case CT_LOGLEVEL:
		return "error, warn, info or debug";
	case CT_MAP:
		return "a mapping";
	}
	return "a value";
}

/* "512MiB", "4KiB" or "1000 bytes": exact, in the units the file is written in. */
static const char *size_text(int64_t v, char *buf, size_t n)
{
	static const char *const units[] = {"PiB", "TiB", "GiB", "MiB", "KiB"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		int shift = 10 * (int)(ARRAY_SIZE(units) - i);

		if (v > 0 && v % (1LL << shift) == 0) {
			snprintf(buf, n, "%lld%s", (long long)(v >> shift), units[i]);
			return buf;
		}
	}
	snprintf(buf, n, "%lld bytes", (long long)v);
	return buf;
}

static int parse_mapping(struct config_parse *p, const struct config_map *m, void *base,
                         struct err *e);

/* The value of key k, in p->ev; name is its dotted path for messages. */
static int parse_value(struct config_parse *p, const struct config_key *k, const char *name,
                       void *base, struct err *e)
{
	const yaml_event_t *ev = &p->ev;
	struct err ue = ERR_INIT;
	char shown[64];
	const char *v;
	int64_t n;

	if (k->type == CT_MAP) {
		if (ev->type == YAML_MAPPING_START_EVENT)
			return parse_mapping(p, k->map, base, e);
		if (is_null(ev))
			return 0;
		return fail_at(p, ev->start_mark, e, "\"%s\": expected a mapping, got %s", name,
		               node_kind(ev));
	}
	if (ev->type != YAML_SCALAR_EVENT)
		return fail_at(p, ev->start_mark, e, "\"%s\": expected %s, got %s", name,
		               expected(k->type), node_kind(ev));
	if (is_null(ev))
		return 0;
	v = (const char *)ev->data.scalar.value;
	if (strlen(v) != ev->data.scalar.length)
		return fail_at(p, ev->start_mark, e, "\"%s\": contains a NUL character", name);

	switch (k->type) {
	case CT_PATH:
		if (v[0] != '/')
			goto bad;
		/* fall through */
	case CT_STRING: {
		char **s = field(base, k->at);

		free(*s);
		*s = xstrdup(v);
		break;
	}
	case CT_BOOL: {
		bool *b = field(base, k->at);

		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
			*b = true;
		else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
			*b = false;
		else
			goto bad;
		break;
	}
	case CT_SIZE:
	case CT_DURATION:
		if ((k->type == CT_SIZE ? units_parse_size(v, &n, &ue)
		                        : units_parse_duration(v, &n, &ue)) < 0)
			goto bad;
		if (n < k->min)
			return fail_at(p, ev->start_mark, e, "\"%s\": must be %s, got \"%s\"", name,
			               k->min_text, show(v, shown, sizeof(shown)));
		*(int64_t *)field(base, k->at) = n;
		break;
	case CT_LOGLEVEL: {
		enum log_level lv;

		if (log_level_parse(v, &lv) < 0)
			goto bad;
		*(enum log_level *)field(base, k->at) = lv;
		break;
	}
	case CT_MAP:
		break;
	}
	if (k->set_at)
		*(bool *)field(base, k->set_at) = true;
	return 0;
bad:
	return fail_at(p, ev->start_mark, e, "\"%s\": expected %s, got \"%s\"", name,
	               expected(k->type), show(v, shown, sizeof(shown)));
}

static int unknown_key(const struct config_parse *p, const struct config_map *m, const char *key,
                       yaml_mark_t at, struct err *e)
{
	cleanup_free const char **names = NULL;
	const char *hint;
	char in[128] = "", mean[128] = "", shown[64];
	size_t i, n;

	for (n = 0; m->keys[n].name; n++)
		;
	names = xcalloc(n + 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = m->keys[i].name;
	hint = str_suggest(key, names);
	if (m->name)
		snprintf(in, sizeof(in), " in \"%s\"", m->name);
	if (hint)
		snprintf(mean, sizeof(mean), " (did you mean \"%s\"?)", hint);
	return fail_at(p, at, e, "unknown key \"%s\"%s%s", show(key, shown, sizeof(shown)), in,
	               mean);
}

/* A mapping whose MAPPING-START is in p->ev, up to and including its MAPPING-END. */
static int parse_mapping(struct config_parse *p, const struct config_map *m, void *base,
                         struct err *e)
{
	cleanup_free struct config_seen *seen = NULL;
	size_t i, n;

	for (n = 0; m->keys[n].name; n++)
		;
	seen = xcalloc(n ? n : 1, sizeof(*seen));
	for (;;) {
		cleanup_free char *key = NULL;
		cleanup_free char *name = NULL;
		yaml_mark_t key_mark;
		char in[128] = "", shown[64];

		if (next_event(p, e) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (check_node(p, e) < 0)
			return -1;
		if (m->name)
			snprintf(in, sizeof(in), " in \"%s\"", m->name);
		if (p->ev.type != YAML_SCALAR_EVENT)
			return fail_at(p, p->ev.start_mark, e, "expected a key name%s, got %s", in,
			               node_kind(&p->ev));
		key = xstrdup((const char *)p->ev.data.scalar.value);
		key_mark = p->ev.start_mark;
		if (strlen(key) != p->ev.data.scalar.length)
			return fail_at(p, key_mark, e, "key contains a NUL character");
		for (i = 0; i < n && strcmp(m->keys[i].name, key) != 0; i++)
			;
		if (i == n)
			return unknown_key(p, m, key, key_mark, e);
		if (seen[i].set)
			return fail_at(p, key_mark, e, "duplicate key \"%s\"%s (first at line %zu)",
			               show(key, shown, sizeof(shown)), in, seen[i].key.line + 1);
		name = m->name ? xasprintf("%s.%s", m->name, key) : xstrdup(key);

		if (next_event(p, e) < 0 || check_node(p, e) < 0)
			return -1;
		seen[i].set = true;
		seen[i].key = key_mark;
		seen[i].value = p->ev.start_mark;
		if (parse_value(p, &m->keys[i], name, base, e) < 0)
			return -1;
	}
	if (m->check && m->check(p, m, base, seen, e) < 0)
		return -1;
	return 0;
}

static const struct config_seen *seen_find(const struct config_map *m,
                                           const struct config_seen *seen, const char *key)
{
	size_t i;

	for (i = 0; m->keys[i].name; i++)
		if (!strcmp(m->keys[i].name, key))
			return seen[i].set ? &seen[i] : NULL;
	return NULL;
}

static int events_check(const struct config_parse *p, const struct config_map *m, struct config *c,
                        const struct config_seen *seen, struct err *e)
{
	const struct config_seen *max = seen_find(m, seen, "max_size");
	const struct config_seen *rot = seen_find(m, seen, "rotate_size");
	char a[32], b[32];

	if (c->events.max_bytes >= c->events.rotate_bytes)
		return 0;
	size_text(c->events.max_bytes, a, sizeof(a));
	size_text(c->events.rotate_bytes, b, sizeof(b));
	/* Blame the key written: max_size if given, else a rotate_size above the default max. */
	if (max)
		return fail_at(p, max->value, e,
		               "\"events.max_size\": must be at least events.rotate_size (%s), "
		               "got %s",
		               b, a);
	return fail_at(p, rot ? rot->value : (yaml_mark_t){0}, e,
	               "\"events.rotate_size\": must be at most events.max_size (%s), got %s", a,
	               b);
}

static void free_fields(const struct config_map *m, void *base)
{
	const struct config_key *k;

	for (k = m->keys; k->name; k++) {
		switch (k->type) {
		case CT_STRING:
		case CT_PATH:
			freep(field(base, k->at));
			break;
		case CT_MAP:
			free_fields(k->map, base);
			break;
		default:
			break;
		}
	}
}

/* The stream: at most one document, whose top is a mapping or null (an empty file). */
static int parse_stream(struct config_parse *p, struct config *c, struct err *e)
{
	if (next_event(p, e) < 0) /* STREAM-START */
		return -1;
	if (next_event(p, e) < 0)
		return -1;
	if (p->ev.type == YAML_STREAM_END_EVENT)
		return 0; /* empty, or only comments */
	if (next_event(p, e) < 0 || check_node(p, e) < 0)
		return -1;
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if (parse_mapping(p, &top_map, c, e) < 0)
			return -1;
	} else if (!is_null(&p->ev)) {
		return fail_at(p, p->ev.start_mark, e, "top level: expected a mapping, got %s",
		               node_kind(&p->ev));
	}
	if (next_event(p, e) < 0) /* DOCUMENT-END */
		return -1;
	if (next_event(p, e) < 0)
		return -1;
	if (p->ev.type == YAML_DOCUMENT_START_EVENT)
		return fail_at(p, p->ev.start_mark, e, "multiple documents are not supported");
	return 0;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_WARN;
	c->events.rotate_bytes = EVENTS_ROTATE_DEFAULT;
	c->events.max_bytes = EVENTS_MAX_DEFAULT;
	c->events.max_age_ns = EVENTS_AGE_DEFAULT;
}

int config_load(const char *path, bool must_exist, struct config **out, struct err *e)
{
	struct config_parse p = {.path = path};
	cleanup_free char *text = NULL;
	struct err fe = ERR_INIT;
	struct config *c;
	size_t len = 0;
	int rc;

	if (fs_read_file(path, CONFIG_MAX_BYTES, &text, &len, &fe) < 0) {
		if (must_exist || fe.code != E_NOTFOUND) {
			if (e)
				*e = fe;
			return -1;
		}
		c = xcalloc(1, sizeof(*c));
		config_defaults(c);
		*out = c;
		return 0;
	}
	p.text = text;
	p.len = len;
	if (!yaml_parser_initialize(&p.parser)) {
		fprintf(stderr, "ctrbox: out of memory parsing %s\n", path);
		abort();
	}
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);

	c = xcalloc(1, sizeof(*c));
	config_defaults(c);
	rc = parse_stream(&p, c, e);
	if (p.have_ev)
		yaml_event_delete(&p.ev);
	yaml_parser_delete(&p.parser);
	if (rc < 0) {
		config_free(c);
		return -1;
	}
	c->path = xstrdup(path);
	*out = c;
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free_fields(&top_map, c);
	free(c->path);
	free(c);
}
