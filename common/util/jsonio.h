/* common/util/jsonio.h - bounded JSON parsing and typed field access over json-c, for the
 * document modules (STYLE.md "JSON and YAML at the edges"). No json_object crosses a module
 * boundary above common/store. */
#ifndef CTRBOX_UTIL_JSONIO_H
#define CTRBOX_UTIL_JSONIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/util/err.h"

void jsonio_putp(struct json_object **o);
#define cleanup_json __attribute__((cleanup(jsonio_putp)))

/* Parses exactly one JSON value from buf (trailing whitespace allowed, anything else E_INVALID);
 * nesting is bounded. The caller owns *out. */
int jsonio_parse(const char *buf, size_t len, struct json_object **out, struct err *e);

/* Typed getters. With required false a missing key (or JSON null) leaves *out untouched and
 * returns 0; a present key of the wrong type is always E_INVALID naming the key. */
int jsonio_get_str(struct json_object *obj, const char *key, bool required, const char **out,
		   struct err *e);
int jsonio_get_int(struct json_object *obj, const char *key, bool required, int64_t *out,
		   struct err *e);
int jsonio_get_bool(struct json_object *obj, const char *key, bool required, bool *out,
		    struct err *e);
int jsonio_get_obj(struct json_object *obj, const char *key, bool required,
		   struct json_object **out, struct err *e);
int jsonio_get_array(struct json_object *obj, const char *key, bool required,
		     struct json_object **out, struct err *e);

/* Setters that take ownership of nothing the caller keeps; a NULL string is skipped. */
void jsonio_set_str(struct json_object *obj, const char *key, const char *val);
void jsonio_set_int(struct json_object *obj, const char *key, int64_t val);
void jsonio_set_bool(struct json_object *obj, const char *key, bool val);
/* Sets key to an RFC 3339 UTC time with nanoseconds; 0 is skipped. */
void jsonio_set_time(struct json_object *obj, const char *key, int64_t ns);
/* Reads an RFC 3339 time (as written by jsonio_set_time) into ns. */
int jsonio_get_time(struct json_object *obj, const char *key, bool required, int64_t *out,
		    struct err *e);

/* Serialises compactly (no spaces, no escaped slashes) into a string the caller frees. */
char *jsonio_to_string(struct json_object *obj, bool pretty) __attribute__((returns_nonnull));

#endif
