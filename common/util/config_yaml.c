/* common/util/config_yaml.c - the YAML config file read with libyaml's event parser into the
 * schema tables of config.c, every error at file:line:column (DESIGN.md "The metadata layer on
 * disk": the config file; STYLE.md "JSON and YAML at the edges"; ctrbox(1) "CONFIGURATION") */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "common/util/config.h"
#include "common/util/config_int.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"
#include "common/util/yaml_dl.h"

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

static int parse_mapping(struct config_parse *p, const struct config_map *m, const char *name,
                         void *base, struct err *e);

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
		if (parse_mapping(p, &config_top_map, NULL, c, e) < 0)
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

/* Spaces and line breaks only: what libyaml reads as an empty stream (a tab there is an error
 * to libyaml, so it is not blank). */
static bool config_blank(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\r')
			return false;
	return true;
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
	if (config_blank(text, len)) {
		/* The defaults, as libyaml would give them, without loading libyaml. */
		c = xcalloc(1, sizeof(*c));
		config_defaults(c);
		c->path = xstrdup(path);
		*out = c;
		return 0;
	}
	if (yaml_dl_require(e) < 0)
		return err_wrap(e, "%s", path);
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
	free_fields(&config_top_map, c);
	free(c->path);
	free(c);
}
