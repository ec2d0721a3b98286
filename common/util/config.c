/* common/util/config.c - the YAML config file read through schema tables with libyaml's event
 * parser, every error at file:line:column (DESIGN.md "The metadata layer on disk": the config
 * file; STYLE.md "JSON and YAML at the edges"; ctrbox(1) "CONFIGURATION") */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <regex.h>

#include <yaml.h>

#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

/*
 * The schema: one table of keys per mapping level; a key names its type and where its value
 * lives in struct config (offsetof). Adding a setting is adding a row. A new kind of value is a
 * new type: a case in parse_value() and expected(), and, if it owns memory, one in
 * free_fields(). A named map (registries) is an array of elements keyed by arbitrary names:
 * its key carries the element size, where the count and each element's name live, and the
 * element's own table, parsed with parse_mapping() over each element in turn.
 */
enum config_type {
	CT_STRING,   /* char *, owned */
	CT_PATH,     /* char *, owned, absolute */
	CT_BOOL,     /* bool: true or false */
	CT_SIZE,     /* int64_t bytes: "8MiB", or a number of bytes */
	CT_DURATION, /* int64_t ns: "30d", "10m", or a number of seconds */
	CT_LOGLEVEL, /* enum log_level */
	CT_UINT,     /* int64_t: a whole number from min to max */
	CT_ENUM,     /* an int-sized enum: value i for words[i] */
	CT_STRLIST,  /* char **, owned, NULL-terminated: a sequence of strings */
	CT_MAP,      /* a nested mapping with its own table, stored in the same struct */
	CT_NAMEDMAP, /* an owned array of elements keyed by name, each parsed with map */
	CT_SEQMAP,   /* an owned array of elements from a sequence of mappings, each parsed with map */
};

struct config_map;

struct config_key {
	const char *name;
	enum config_type type;
	size_t at;            /* offsetof the value (unused for CT_MAP) */
	size_t set_at;        /* offsetof a bool set when the key is given; 0 = none */
	int64_t min;          /* CT_SIZE, CT_DURATION, CT_UINT: the smallest value allowed */
	int64_t max;          /* CT_UINT: the largest */
	const char *min_text; /* CT_SIZE, CT_DURATION: as the error puts it: "at least 4KiB" */
	const struct config_map *map;  /* CT_MAP; CT_NAMEDMAP: each element's table */
	const char *const *words;      /* CT_ENUM: NULL-terminated, compared case-insensitively */
	bool (*accept)(const char *v); /* CT_STRING, CT_STRLIST items, CT_NAMEDMAP names */
	const char *what;              /* what accept wants, for errors: "a registry host[:port]" */
	size_t count_at;  /* CT_NAMEDMAP, CT_SEQMAP: offsetof the size_t count of elements */
	size_t elem_size; /* CT_NAMEDMAP, CT_SEQMAP: sizeof one element */
	size_t name_at;                /* CT_NAMEDMAP: offsetof the element's owned char *name */
};

/* Where each key of one mapping was seen, for duplicates and for cross-key checks. */
struct config_seen {
	bool set;
	yaml_mark_t key, value;
};

struct config_parse;

struct config_map {
	const struct config_key *keys; /* ends with {0} */
	/* CT_NAMEDMAP elements: fills a zeroed element with its defaults; NULL = all zero. */
	void (*defaults)(void *elem);
	/* Checks that span keys, once the mapping has been read; seen is indexed like keys, name
	 * is the mapping's dotted path for messages. */
	int (*check)(const struct config_parse *p, const struct config_map *m, const char *name,
	             void *base, const struct config_seen *seen, struct err *e);
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
#define RAT(f) offsetof(struct config_registry, f)
#define RKEY(n, t, f, ...)                                                                         \
	{                                                                                          \
		.name = (n), .type = (t), .at = RAT(f), __VA_ARGS__                                \
	}

static int events_check(const struct config_parse *p, const struct config_map *m, const char *name,
                        void *base, const struct config_seen *seen, struct err *e);
static int registry_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e);
static void registry_defaults(void *elem);
static bool host_ok(const char *v);
static bool reason_ok(const char *v);
static int diagnose_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e);
static int rule_check(const struct config_parse *p, const struct config_map *m, const char *name,
                      void *base, const struct config_seen *seen, struct err *e);

static const struct config_key host_keys[] = {
    KEY("proc", CT_PATH, host.proc),
    KEY("sys", CT_PATH, host.sys),
    KEY("dev", CT_PATH, host.dev),
    KEY("cgroup", CT_PATH, host.cgroup),
    KEY("etc", CT_PATH, host.etc),
    {0},
};
static const struct config_map host_map = {host_keys, NULL, NULL};

static const struct config_key events_keys[] = {
    KEY("rotate_size", CT_SIZE, events.rotate_bytes, .min = 4096, .min_text = "at least 4KiB"),
    KEY("max_size", CT_SIZE, events.max_bytes), /* >= rotate_size: events_check() */
    KEY("max_age", CT_DURATION, events.max_age_ns, .min = 1, .min_text = "more than 0"),
    {0},
};
static const struct config_map events_map = {events_keys, NULL, events_check};

static const struct config_key container_log_keys[] = {
    KEY("max_size", CT_SIZE, container_log.max_bytes, .min = CONFIG_CONTAINER_LOG_SIZE_MIN,
        .min_text = "at least 4KiB"),
    KEY("max_files", CT_UINT, container_log.max_files, .min = 1,
        .max = CONFIG_CONTAINER_LOG_FILES_MAX),
    {0},
};
static const struct config_map container_log_map = {container_log_keys, NULL, NULL};

static const struct config_key pull_keys[] = {
    KEY("max_concurrent_downloads", CT_UINT, pull.max_concurrent_downloads, .min = 1, .max = 64),
    KEY("max_concurrent_pulls", CT_UINT, pull.max_concurrent_pulls, .min = 1, .max = 64),
    KEY("unpack", CT_BOOL, pull.unpack),
    KEY("retries", CT_UINT, pull.retries, .min = 0, .max = 20),
    KEY("connect_timeout", CT_DURATION, pull.connect_timeout_ns, .min = 1,
        .min_text = "more than 0"),
    KEY("low_speed_time", CT_DURATION, pull.low_speed_time_ns), /* 0: never abort */
    {0},
};
static const struct config_map pull_map = {pull_keys, NULL, NULL};

static const struct config_key registry_keys[] = {
    RKEY("mirrors", CT_STRLIST, mirrors, .accept = host_ok, .what = "a registry host[:port]"),
    RKEY("plain_http", CT_BOOL, plain_http),
    RKEY("tls_verify", CT_BOOL, tls_verify),
    RKEY("ca_file", CT_PATH, ca_file),
    RKEY("cert_file", CT_PATH, cert_file), /* with key_file: registry_check() */
    RKEY("key_file", CT_PATH, key_file),
    {0},
};
static const struct config_map registry_map = {registry_keys, registry_defaults, registry_check};

static const char *const volatile_words[] = {
    [VOLATILE_AUTO] = "auto", [VOLATILE_ON] = "true", [VOLATILE_OFF] = "false", NULL};

static const struct config_key snapshots_keys[] = {
    KEY("volatile", CT_ENUM, snapshot_volatile, .words = volatile_words),
    {0},
};
static const struct config_map snapshots_map = {snapshots_keys, NULL, NULL};

#define DAT(f) offsetof(struct config_diag_rule, f)
static const char *const severity_words[] = {[SEVERITY_WARN] = "warn", [SEVERITY_FAIL] = "fail",
                                             NULL};
static const struct config_key rule_keys[] = {
    {.name = "pattern", .type = CT_STRING, .at = DAT(pattern)}, /* required: rule_check() */
    {.name = "reason", .type = CT_STRING, .at = DAT(reason), .accept = reason_ok,
     .what = "a CamelCase reason like NetdevTimeout"},
    {.name = "severity", .type = CT_ENUM, .at = DAT(severity), .words = severity_words},
    {0},
};
static const struct config_map rule_map = {rule_keys, NULL, rule_check};

#define PCT(n, f) KEY(n, CT_UINT, f, .min = 0, .max = 100)
static const struct config_key diagnose_keys[] = {
    PCT("pressure_some_warn", diagnose.pressure_some_warn),
    PCT("pressure_some_fail", diagnose.pressure_some_fail),
    PCT("pressure_full_warn", diagnose.pressure_full_warn),
    PCT("pressure_full_fail", diagnose.pressure_full_fail),
    KEY("dirty_warn", CT_SIZE, diagnose.dirty_warn_bytes),
    KEY("dirty_fail", CT_SIZE, diagnose.dirty_fail_bytes),
    KEY("dstate_warn", CT_DURATION, diagnose.dstate_warn_ns),
    KEY("dstate_fail", CT_DURATION, diagnose.dstate_fail_ns),
    KEY("fsync_warn", CT_DURATION, diagnose.fsync_warn_ns),
    KEY("fsync_fail", CT_DURATION, diagnose.fsync_fail_ns),
    PCT("root_available_min", diagnose.root_available_min),
    PCT("state_available_min", diagnose.state_available_min),
    PCT("inodes_free_min", diagnose.inodes_free_min),
    PCT("limits_warn", diagnose.limits_warn),
    PCT("limits_fail", diagnose.limits_fail),
    KEY("clock_max_error_warn", CT_DURATION, diagnose.clock_max_error_warn_ns),
    KEY("clock_max_error_fail", CT_DURATION, diagnose.clock_max_error_fail_ns),
    KEY("relist_slow", CT_DURATION, diagnose.relist_slow_ns),
    KEY("relist_stall", CT_DURATION, diagnose.relist_stall_ns),
    KEY("rules", CT_SEQMAP, diagnose.rules, .map = &rule_map, .count_at = AT(diagnose.n_rules),
        .elem_size = sizeof(struct config_diag_rule)),
    {0},
};
static const struct config_map diagnose_map = {diagnose_keys, NULL, diagnose_check};

static const struct config_key top_keys[] = {
    KEY("root", CT_PATH, root),
    KEY("state", CT_PATH, state),
    KEY("log_level", CT_LOGLEVEL, log_level, .set_at = AT(log_level_set)),
    MAP("host", &host_map),
    MAP("events", &events_map),
    MAP("container_log", &container_log_map),
    MAP("pull", &pull_map),
    KEY("registries", CT_NAMEDMAP, registries, .map = &registry_map, .accept = host_ok,
        .what = "a registry host[:port]", .count_at = AT(n_registries),
        .elem_size = sizeof(struct config_registry), .name_at = RAT(host)),
    MAP("snapshots", &snapshots_map),
    MAP("diagnose", &diagnose_map),
    {0},
};
static const struct config_map top_map = {top_keys, NULL, NULL};

#define EVENTS_ROTATE_DEFAULT (8LL << 20)
#define EVENTS_MAX_DEFAULT    (64LL << 20)
#define EVENTS_AGE_DEFAULT    (7LL * 86400 * NSEC_PER_SEC)
#define PULL_TIMEOUT_DEFAULT  (30LL * NSEC_PER_SEC)

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

/* What key k wants, as an error says it; buf holds what is built (enum words, ranges). */
static const char *expected(const struct config_key *k, char *buf, size_t n)
{
	size_t i, len = 0;

	switch (k->type) {
	case CT_STRING:
		return k->what ? k->what : "a string";
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
	case CT_UINT:
		snprintf(buf, n, "a whole number from %lld to %lld", (long long)k->min,
		         (long long)k->max);
		return buf;
	case CT_ENUM:
		/* "auto, true or false" */
		buf[0] = '\0';
		for (i = 0; k->words[i] && len < n; i++)
			len += (size_t)snprintf(buf + len, n - len, "%s%s",
			                        i == 0            ? ""
			                        : k->words[i + 1] ? ", "
			                                          : " or ",
			                        k->words[i]);
		return buf;
	case CT_STRLIST:
		return "a list";
	case CT_MAP:
	case CT_NAMEDMAP:
		return "a mapping";
	case CT_SEQMAP:
		return "a list of mappings";
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

static int parse_mapping(struct config_parse *p, const struct config_map *m, const char *name,
                         void *base, struct err *e);

/* A registry host as a key or a mirror: "host", "host:port", "[v6]:port"; no scheme, no path,
 * no spaces. */
static bool host_ok(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 261)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr(".-_:[]", v[i]))
			return false;
	return true;
}

/* A scalar's value, or NULL after an error: NUL characters are refused. */
static const char *scalar_text(const struct config_parse *p, const char *name, struct err *e)
{
	const yaml_event_t *ev = &p->ev;
	const char *v = (const char *)ev->data.scalar.value;

	if (strlen(v) != ev->data.scalar.length) {
		fail_at(p, ev->start_mark, e, "\"%s\": contains a NUL character", name);
		return NULL;
	}
	return v;
}

/* A whole number of at most 18 digits (no sign, no exponent): fits int64_t. */
static bool parse_uint(const char *v, int64_t *out)
{
	size_t i;
	int64_t n = 0;

	if (!v[0] || strlen(v) > 18)
		return false;
	for (i = 0; v[i]; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		n = n * 10 + (v[i] - '0');
	}
	*out = n;
	return true;
}

/* A CT_STRLIST sequence whose SEQUENCE-START is in p->ev, up to its SEQUENCE-END. */
static int parse_strlist(struct config_parse *p, const struct config_key *k, const char *name,
                         void *base, struct err *e)
{
	cleanup_strv char **list = xcalloc(1, sizeof(*list));
	char ***slot = field(base, k->at);
	size_t n = 0;

	for (;;) {
		const char *what = k->what ? k->what : "a string";
		char shown[64];
		const char *v;

		if (next_event(p, e) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (check_node(p, e) < 0)
			return -1;
		if (p->ev.type != YAML_SCALAR_EVENT)
			return fail_at(p, p->ev.start_mark, e, "\"%s[%zu]\": expected %s, got %s",
			               name, n, what, node_kind(&p->ev));
		if (is_null(&p->ev))
			return fail_at(p, p->ev.start_mark, e, "\"%s[%zu]\": expected %s, got null",
			               name, n, what);
		v = scalar_text(p, name, e);
		if (!v)
			return -1;
		if (k->accept && !k->accept(v))
			return fail_at(p, p->ev.start_mark, e,
			               "\"%s[%zu]\": expected %s, got \"%s\"", name, n, what,
			               show(v, shown, sizeof(shown)));
		list = xreallocarray(list, n + 2, sizeof(*list));
		list[n++] = xstrdup(v);
		list[n] = NULL;
	}
	strv_free(*slot);
	*slot = TAKE_PTR(list);
	return 0;
}

/* A CT_NAMEDMAP mapping whose MAPPING-START is in p->ev: one element per key, in file order,
 * each kept in the array as soon as it exists so that config_free() frees a half-read one. */
static int parse_namedmap(struct config_parse *p, const struct config_key *k, const char *name,
                          void *base, struct err *e)
{
	size_t *count = field(base, k->count_at);
	cleanup_free yaml_mark_t *marks = NULL;
	const char *what = k->what ? k->what : "a name";
	size_t i, first = *count; /* the key appears once, so 0; marks[i - first] is element i */
	char *arr;

	memcpy(&arr, field(base, k->at), sizeof(arr));
	for (;;) {
		cleanup_free char *elem_name = NULL;
		yaml_mark_t key_mark;
		char shown[64];
		const char *v;
		char *elem;

		if (next_event(p, e) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (check_node(p, e) < 0)
			return -1;
		key_mark = p->ev.start_mark;
		if (p->ev.type != YAML_SCALAR_EVENT)
			return fail_at(p, key_mark, e, "expected %s in \"%s\", got %s", what, name,
			               node_kind(&p->ev));
		v = (const char *)p->ev.data.scalar.value;
		if (strlen(v) != p->ev.data.scalar.length)
			return fail_at(p, key_mark, e, "key contains a NUL character");
		if (k->accept && !k->accept(v))
			return fail_at(p, key_mark, e, "expected %s in \"%s\", got \"%s\"", what,
			               name, show(v, shown, sizeof(shown)));
		for (i = first; i < *count; i++) {
			const char *seen_name;

			memcpy(&seen_name, arr + i * k->elem_size + k->name_at, sizeof(seen_name));
			if (!strcasecmp(seen_name, v))
				return fail_at(p, key_mark, e,
				               "duplicate key \"%s\" in \"%s\" (first at line %zu)",
				               show(v, shown, sizeof(shown)), name,
				               marks[i - first].line + 1);
		}
		elem_name = xasprintf("%s[%s]", name, v);

		arr = xreallocarray(arr, *count + 1, k->elem_size);
		memcpy(field(base, k->at), &arr, sizeof(arr));
		marks = xreallocarray(marks, *count - first + 1, sizeof(*marks));
		marks[*count - first] = key_mark;
		elem = arr + *count * k->elem_size;
		memset(elem, 0, k->elem_size);
		if (k->map->defaults)
			k->map->defaults(elem);
		*(char **)field(elem, k->name_at) = xstrdup(v);
		(*count)++;

		if (next_event(p, e) < 0 || check_node(p, e) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_START_EVENT) {
			if (parse_mapping(p, k->map, elem_name, elem, e) < 0)
				return -1;
		} else if (!is_null(&p->ev)) {
			return fail_at(p, p->ev.start_mark, e, "\"%s\": expected a mapping, got %s",
			               elem_name, node_kind(&p->ev));
		}
	}
	return 0;
}

/* A CT_SEQMAP sequence whose SEQUENCE-START is in p->ev: one element per mapping, in file order,
 * each kept in the array as soon as it exists so that config_free() frees a half-read one. */
static int parse_seqmap(struct config_parse *p, const struct config_key *k, const char *name,
                        void *base, struct err *e)
{
	size_t *count = field(base, k->count_at);
	char *arr;

	memcpy(&arr, field(base, k->at), sizeof(arr));
	for (;;) {
		cleanup_free char *elem_name = NULL;
		char *elem;

		if (next_event(p, e) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (check_node(p, e) < 0)
			return -1;
		elem_name = xasprintf("%s[%zu]", name, *count);
		if (p->ev.type != YAML_MAPPING_START_EVENT)
			return fail_at(p, p->ev.start_mark, e, "\"%s\": expected a mapping, got %s",
			               elem_name, node_kind(&p->ev));
		arr = xreallocarray(arr, *count + 1, k->elem_size);
		memcpy(field(base, k->at), &arr, sizeof(arr));
		elem = arr + *count * k->elem_size;
		memset(elem, 0, k->elem_size);
		if (k->map->defaults)
			k->map->defaults(elem);
		(*count)++;
		if (parse_mapping(p, k->map, elem_name, elem, e) < 0)
			return -1;
	}
	return 0;
}

/* The value of key k, in p->ev; name is its dotted path for messages. */
static int parse_value(struct config_parse *p, const struct config_key *k, const char *name,
                       void *base, struct err *e)
{
	const yaml_event_t *ev = &p->ev;
	struct err ue = ERR_INIT;
	char shown[64], want[96];
	const char *v;
	int64_t n;
	size_t i;

	if (k->type == CT_SEQMAP) {
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			return parse_seqmap(p, k, name, base, e);
		if (is_null(ev))
			return 0;
		return fail_at(p, ev->start_mark, e, "\"%s\": expected %s, got %s", name,
		               expected(k, want, sizeof(want)), node_kind(ev));
	}
	if (k->type == CT_MAP || k->type == CT_NAMEDMAP || k->type == CT_STRLIST) {
		if (k->type != CT_STRLIST && ev->type == YAML_MAPPING_START_EVENT)
			return k->type == CT_MAP ? parse_mapping(p, k->map, name, base, e)
			                         : parse_namedmap(p, k, name, base, e);
		if (k->type == CT_STRLIST && ev->type == YAML_SEQUENCE_START_EVENT)
			return parse_strlist(p, k, name, base, e);
		if (is_null(ev))
			return 0;
		return fail_at(p, ev->start_mark, e, "\"%s\": expected %s, got %s", name,
		               expected(k, want, sizeof(want)), node_kind(ev));
	}
	if (ev->type != YAML_SCALAR_EVENT)
		return fail_at(p, ev->start_mark, e, "\"%s\": expected %s, got %s", name,
		               expected(k, want, sizeof(want)), node_kind(ev));
	if (is_null(ev))
		return 0;
	v = scalar_text(p, name, e);
	if (!v)
		return -1;

	switch (k->type) {
	case CT_PATH:
		if (v[0] != '/')
			goto bad;
		/* fall through */
	case CT_STRING: {
		char **s = field(base, k->at);

		if (k->type == CT_STRING && k->accept && !k->accept(v))
			goto bad;
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
	case CT_UINT:
		if (!parse_uint(v, &n) || n < k->min || n > k->max)
			goto bad;
		*(int64_t *)field(base, k->at) = n;
		break;
	case CT_ENUM:
		for (i = 0; k->words[i] && strcasecmp(k->words[i], v) != 0; i++)
			;
		if (!k->words[i])
			goto bad;
		*(int *)field(base, k->at) = (int)i;
		break;
	case CT_LOGLEVEL: {
		enum log_level lv;

		if (log_level_parse(v, &lv) < 0)
			goto bad;
		*(enum log_level *)field(base, k->at) = lv;
		break;
	}
	case CT_STRLIST:
	case CT_MAP:
	case CT_NAMEDMAP:
	case CT_SEQMAP:
		break;
	}
	if (k->set_at)
		*(bool *)field(base, k->set_at) = true;
	return 0;
bad:
	return fail_at(p, ev->start_mark, e, "\"%s\": expected %s, got \"%s\"", name,
	               expected(k, want, sizeof(want)), show(v, shown, sizeof(shown)));
}

static int unknown_key(const struct config_parse *p, const struct config_map *m, const char *mname,
                       const char *key, yaml_mark_t at, struct err *e)
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
	if (mname)
		snprintf(in, sizeof(in), " in \"%s\"", mname);
	if (hint)
		snprintf(mean, sizeof(mean), " (did you mean \"%s\"?)", hint);
	return fail_at(p, at, e, "unknown key \"%s\"%s%s", show(key, shown, sizeof(shown)), in,
	               mean);
}

/* A mapping whose MAPPING-START is in p->ev, up to and including its MAPPING-END; mname is its
 * dotted path for messages, NULL at the top. */
static int parse_mapping(struct config_parse *p, const struct config_map *m, const char *mname,
                         void *base, struct err *e)
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
		if (mname)
			snprintf(in, sizeof(in), " in \"%s\"", mname);
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
			return unknown_key(p, m, mname, key, key_mark, e);
		if (seen[i].set)
			return fail_at(p, key_mark, e, "duplicate key \"%s\"%s (first at line %zu)",
			               show(key, shown, sizeof(shown)), in, seen[i].key.line + 1);
		name = mname ? xasprintf("%s.%s", mname, key) : xstrdup(key);

		if (next_event(p, e) < 0 || check_node(p, e) < 0)
			return -1;
		seen[i].set = true;
		seen[i].key = key_mark;
		seen[i].value = p->ev.start_mark;
		if (parse_value(p, &m->keys[i], name, base, e) < 0)
			return -1;
	}
	if (m->check && m->check(p, m, mname, base, seen, e) < 0)
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

static int events_check(const struct config_parse *p, const struct config_map *m, const char *name,
                        void *base, const struct config_seen *seen, struct err *e)
{
	const struct config *c = base;
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

/* A client certificate needs its key and the other way round; blame the one given alone. */
static int registry_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e)
{
	const struct config_registry *r = base;

	if (!r->cert_file == !r->key_file)
		return 0;
	if (r->cert_file)
		return fail_at(p, seen_find(m, seen, "cert_file")->value, e,
		               "\"%s.cert_file\": needs key_file too", name);
	return fail_at(p, seen_find(m, seen, "key_file")->value, e,
	               "\"%s.key_file\": needs cert_file too", name);
}

static void registry_defaults(void *elem)
{
	struct config_registry *r = elem;

	r->tls_verify = true;
}

/* An event reason: CamelCase ASCII letters and digits, starting upper case, at most 64. */
static bool reason_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 64 || !isupper((unsigned char)v[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]))
			return false;
	return true;
}

/* Each WARN threshold must come before its FAIL one. */
static int diagnose_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e)
{
	static const struct {
		const char *warn, *fail;
		bool lower_is_worse;
	} pairs[] = {
	    {"pressure_some_warn", "pressure_some_fail", false},
	    {"pressure_full_warn", "pressure_full_fail", false},
	    {"dirty_warn", "dirty_fail", false},
	    {"dstate_warn", "dstate_fail", false},
	    {"fsync_warn", "fsync_fail", false},
	    {"limits_warn", "limits_fail", false},
	    {"clock_max_error_warn", "clock_max_error_fail", false},
	};
	(void)name;
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		const struct config_key *kw = NULL, *kf = NULL;
		const struct config_seen *sw, *sf;

		for (const struct config_key *k = m->keys; k->name; k++) {
			if (!strcmp(k->name, pairs[i].warn))
				kw = k;
			if (!strcmp(k->name, pairs[i].fail))
				kf = k;
		}
		if (!kw || !kf || *(int64_t *)field(base, kw->at) <= *(int64_t *)field(base, kf->at))
			continue;
		sw = seen_find(m, seen, pairs[i].warn);
		sf = seen_find(m, seen, pairs[i].fail);
		return fail_at(p, sw && sw->set ? sw->value : sf->value, e,
		               "\"diagnose.%s\" must not be above \"diagnose.%s\"", pairs[i].warn,
		               pairs[i].fail);
	}
	return 0;
}

/* A rule needs a pattern that compiles and a reason. */
static int rule_check(const struct config_parse *p, const struct config_map *m, const char *name,
                      void *base, const struct config_seen *seen, struct err *e)
{
	const struct config_diag_rule *r = base;
	regex_t re;
	int rc;

	(void)seen;
	(void)m;
	if (!r->pattern)
		return fail_at(p, p->ev.start_mark, e, "\"%s\": needs a pattern", name);
	if (!r->reason)
		return fail_at(p, p->ev.start_mark, e, "\"%s\": needs a reason", name);
	rc = regcomp(&re, r->pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];

		regerror(rc, &re, why, sizeof(why));
		return fail_at(p, seen_find(m, seen, "pattern")->value, e,
		               "\"%s.pattern\": not an extended regular expression: %s", name, why);
	}
	regfree(&re);
	return 0;
}

static void free_fields(const struct config_map *m, void *base)
{
	const struct config_key *k;
	char *arr;
	size_t i, *count;

	for (k = m->keys; k->name; k++) {
		switch (k->type) {
		case CT_STRING:
		case CT_PATH:
			freep(field(base, k->at));
			break;
		case CT_STRLIST:
			strvp_free(field(base, k->at));
			break;
		case CT_MAP:
			free_fields(k->map, base);
			break;
		case CT_NAMEDMAP:
			memcpy(&arr, field(base, k->at), sizeof(arr));
			count = field(base, k->count_at);
			for (i = 0; i < *count; i++) {
				free_fields(k->map, arr + i * k->elem_size);
				freep(field(arr + i * k->elem_size, k->name_at));
			}
			free(arr);
			memset(field(base, k->at), 0, sizeof(arr));
			*count = 0;
			break;
		case CT_SEQMAP:
			memcpy(&arr, field(base, k->at), sizeof(arr));
			count = field(base, k->count_at);
			for (i = 0; i < *count; i++)
				free_fields(k->map, arr + i * k->elem_size);
			free(arr);
			memset(field(base, k->at), 0, sizeof(arr));
			*count = 0;
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
		if (parse_mapping(p, &top_map, NULL, c, e) < 0)
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
	c->container_log.max_bytes = CONFIG_CONTAINER_LOG_SIZE_DEFAULT;
	c->container_log.max_files = CONFIG_CONTAINER_LOG_FILES_DEFAULT;
	c->pull.max_concurrent_downloads = 3;
	c->pull.max_concurrent_pulls = 4;
	c->pull.retries = 4;
	c->pull.connect_timeout_ns = PULL_TIMEOUT_DEFAULT;
	c->pull.low_speed_time_ns = PULL_TIMEOUT_DEFAULT;
	c->pull.unpack = true;
	c->snapshot_volatile = VOLATILE_AUTO;
	c->diagnose.pressure_some_warn = 20;
	c->diagnose.pressure_some_fail = 50;
	c->diagnose.pressure_full_warn = 5;
	c->diagnose.pressure_full_fail = 20;
	c->diagnose.dirty_warn_bytes = 1LL << 30;
	c->diagnose.dirty_fail_bytes = 4LL << 30;
	c->diagnose.dstate_warn_ns = 10 * NSEC_PER_SEC;
	c->diagnose.dstate_fail_ns = 60 * NSEC_PER_SEC;
	c->diagnose.fsync_warn_ns = 10 * NSEC_PER_MSEC;
	c->diagnose.fsync_fail_ns = 100 * NSEC_PER_MSEC;
	c->diagnose.root_available_min = 15; /* kubelet's imagefs.available */
	c->diagnose.state_available_min = 10; /* nodefs.available */
	c->diagnose.inodes_free_min = 5;      /* nodefs.inodesFree */
	c->diagnose.limits_warn = 80;
	c->diagnose.limits_fail = 95;
	c->diagnose.clock_max_error_warn_ns = 100 * NSEC_PER_MSEC;
	c->diagnose.clock_max_error_fail_ns = NSEC_PER_SEC;
	c->diagnose.relist_slow_ns = NSEC_PER_SEC;
	c->diagnose.relist_stall_ns = 180 * NSEC_PER_SEC;
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

const struct config_registry *config_registry_find(const struct config *c, const char *host)
{
	size_t i;

	for (i = 0; c && host && i < c->n_registries; i++)
		if (!strcasecmp(c->registries[i].host, host))
			return &c->registries[i];
	return NULL;
}
