/* common/util/config_int.h - internal to the config module (config.c holds the schema tables,
 * config_yaml.c reads YAML into them); no other file includes it. The schema's types, the state of
 * one parse, and the two helpers the tables' checks share with the reader. */
#ifndef CTRBOX_UTIL_CONFIG_INT_H
#define CTRBOX_UTIL_CONFIG_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <yaml.h>

#include "common/util/config.h"
#include "common/util/err.h"

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

/* The top level's table (config.c): parse_stream() reads the file into it,
 * config_free() frees by it. */
extern const struct config_map config_top_map;

/* One parse: the text (for positions of reader errors) and the one event held at a time. */
struct config_parse {
	const char *path;
	const char *text;
	size_t len;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
};

static inline void *field(void *base, size_t at)
{
	return (char *)base + at;
}

/* "<path>:<line>:<column>: <reason>", 1-based, E_INVALID. */
static inline int __attribute__((format(printf, 4, 5)))
fail_at(const struct config_parse *p, yaml_mark_t m, struct err *e, const char *fmt, ...)
{
	char reason[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return err_set(e, E_INVALID, "%s:%zu:%zu: %s", p->path, m.line + 1, m.column + 1, reason);
}

#endif
