/* common/util/jsonio.c - bounded JSON parsing and typed field access over json-c, used by the
 * document modules (STYLE.md "JSON and YAML at the edges") */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/units.h"

#define JSONIO_DEPTH 64

void jsonio_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
	*o = NULL;
}

/* One parser per thread, reset between documents: listing 1,000 containers parses 2,000
 * documents, and making a parser (its depth-64 stack) was an eighth of `ps`. The key's
 * destructor frees a thread's parser when the thread ends. */
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static pthread_key_t tok_key;
static bool tok_key_ok;

static void tok_free(void *tok)
{
	json_tokener_free(tok);
}

static void tok_key_init(void)
{
	tok_key_ok = pthread_key_create(&tok_key, tok_free) == 0;
}

static struct json_tokener *tokener(bool *owned)
{
	struct json_tokener *tok;

	pthread_once(&tok_once, tok_key_init);
	tok = tok_key_ok ? pthread_getspecific(tok_key) : NULL;
	*owned = false;
	if (tok) {
		json_tokener_reset(tok);
		return tok;
	}
	tok = json_tokener_new_ex(JSONIO_DEPTH);
	if (tok && (!tok_key_ok || pthread_setspecific(tok_key, tok) != 0))
		*owned = true; /* no slot for it: this call frees it */
	return tok;
}

int jsonio_parse(const char *buf, size_t len, struct json_object **out, struct err *e)
{
	bool owned;
	struct json_tokener *tok = tokener(&owned);
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (!tok)
		return err_set(e, E_IO, "json: cannot allocate a parser");
	if (len > (size_t)INT32_MAX) {
		if (owned)
			json_tokener_free(tok);
		return err_set(e, E_INVALID, "json: document too large");
	}
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (owned)
		json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		json_object_put(obj);
		return err_set(e, E_INVALID, "json: unexpected end of input");
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return err_set(e, E_INVALID, "json: %s at offset %zu",
		               json_tokener_error_desc(jerr), end);
	}
	for (size_t i = end; i < len; i++) {
		if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\t' && buf[i] != '\r') {
			json_object_put(obj);
			return err_set(e, E_INVALID, "json: trailing data at offset %zu", i);
		}
	}
	*out = obj;
	return 0;
}

/* The value at key when it is present and not null; NULL otherwise. */
static struct json_object *field(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static int field_check(struct json_object *obj, const char *key, bool required, json_type want,
                       const char *what, struct json_object **v, struct err *e)
{
	*v = field(obj, key);
	if (!*v) {
		if (required)
			return err_set(e, E_INVALID, "field \"%s\": missing", key);
		return 1;
	}
	if (!json_object_is_type(*v, want))
		return err_set(e, E_INVALID, "field \"%s\": expected %s", key, what);
	return 0;
}

int jsonio_get_str(struct json_object *obj, const char *key, bool required, const char **out,
                   struct err *e)
{
	struct json_object *v;
	int r = field_check(obj, key, required, json_type_string, "a string", &v, e);

	if (r == 0)
		*out = json_object_get_string(v);
	return r < 0 ? -1 : 0;
}

int jsonio_get_int(struct json_object *obj, const char *key, bool required, int64_t *out,
                   struct err *e)
{
	struct json_object *v;
	int r = field_check(obj, key, required, json_type_int, "an integer", &v, e);

	if (r == 0)
		*out = json_object_get_int64(v);
	return r < 0 ? -1 : 0;
}

int jsonio_get_bool(struct json_object *obj, const char *key, bool required, bool *out,
                    struct err *e)
{
	struct json_object *v;
	int r = field_check(obj, key, required, json_type_boolean, "a boolean", &v, e);

	if (r == 0)
		*out = json_object_get_boolean(v);
	return r < 0 ? -1 : 0;
}

int jsonio_get_obj(struct json_object *obj, const char *key, bool required,
                   struct json_object **out, struct err *e)
{
	struct json_object *v;
	int r = field_check(obj, key, required, json_type_object, "an object", &v, e);

	if (r == 0)
		*out = v;
	return r < 0 ? -1 : 0;
}

int jsonio_get_array(struct json_object *obj, const char *key, bool required,
                     struct json_object **out, struct err *e)
{
	struct json_object *v;
	int r = field_check(obj, key, required, json_type_array, "an array", &v, e);

	if (r == 0)
		*out = v;
	return r < 0 ? -1 : 0;
}

int jsonio_get_time(struct json_object *obj, const char *key, bool required, int64_t *out,
                    struct err *e)
{
	const char *s = NULL;

	if (jsonio_get_str(obj, key, required, &s, e) < 0)
		return -1;
	if (s && units_parse_rfc3339(s, out, e) < 0)
		return err_wrap(e, "field \"%s\"", key);
	return 0;
}

void jsonio_set_str(struct json_object *obj, const char *key, const char *val)
{
	if (val)
		json_object_object_add(obj, key, json_object_new_string(val));
}

void jsonio_set_int(struct json_object *obj, const char *key, int64_t val)
{
	json_object_object_add(obj, key, json_object_new_int64(val));
}

void jsonio_set_bool(struct json_object *obj, const char *key, bool val)
{
	json_object_object_add(obj, key, json_object_new_boolean(val));
}

void jsonio_set_time(struct json_object *obj, const char *key, int64_t ns)
{
	char buf[UNITS_BUFSZ];

	if (!ns)
		return;
	units_format_rfc3339(ns, true, buf, sizeof(buf));
	json_object_object_add(obj, key, json_object_new_string(buf));
}

char *jsonio_to_string(struct json_object *obj, bool pretty)
{
	int flags =
	    JSON_C_TO_STRING_NOSLASHESCAPE |
	    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);

	return xstrdup(json_object_to_json_string_ext(obj, flags));
}
