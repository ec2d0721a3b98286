/* common/store/event.c - the event schema every applet and the shim emit, as one JSON line
 * (DESIGN.md lesson 4 "Events are kept"; the foundation issue's event schema) */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include "common/store/event.h"
#include "common/store/journal.h"
#include "common/util/host.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/units.h"

static const char *const type_names[] = {[EVENT_NORMAL] = "Normal", [EVENT_WARNING] = "Warning"};
static const char *const kind_names[] = {
    [OBJECT_NODE] = "node", [OBJECT_IMAGE] = "image", [OBJECT_CONTAINER] = "container"};

void event_release(struct event *ev)
{
	free(ev->reason);
	free(ev->object.id);
	free(ev->object.name);
	free(ev->message);
	free(ev->source);
	free(ev->host);
	memset(ev, 0, sizeof(*ev));
}

const char *event_type_name(enum event_type t)
{
	return (size_t)t < ARRAY_SIZE(type_names) ? type_names[t] : "Normal";
}

int event_type_parse(const char *s, enum event_type *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(type_names); i++)
		if (strcmp(s, type_names[i]) == 0) {
			*out = (enum event_type)i;
			return 0;
		}
	return -1;
}

const char *object_kind_name(enum object_kind k)
{
	return (size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "node";
}

int object_kind_parse(const char *s, enum object_kind *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum object_kind)i;
			return 0;
		}
	return -1;
}

int event_reason_valid(const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	if (n == 0 || n > EVENT_REASON_MAX || !isupper((unsigned char)reason[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)reason[i]))
			return 0;
	return 1;
}

static struct json_object *event_json(const struct event *ev, const char *message)
{
	struct json_object *o = json_object_new_object(), *obj = json_object_new_object();

	jsonio_set_time(o, "time", ev->time_ns);
	jsonio_set_str(o, "type", event_type_name(ev->type));
	jsonio_set_str(o, "reason", ev->reason);
	jsonio_set_str(obj, "kind", object_kind_name(ev->object.kind));
	jsonio_set_str(obj, "id", ev->object.id);
	jsonio_set_str(obj, "name", ev->object.name);
	json_object_object_add(o, "object", obj);
	jsonio_set_str(o, "message", message ? message : "");
	jsonio_set_str(o, "source", ev->source ? ev->source : "ctrbox");
	jsonio_set_str(o, "host", ev->host);
	return o;
}

/* The event as one JSON line (no '\n') with its message cut to keep bytes plus "..." when
 * keep is shorter than it; the caller frees. */
static char *event_line(const struct event *ev, const char *msg, size_t keep, size_t *len)
{
	cleanup_free char *cut = NULL;
	struct json_object *o;
	char *s;

	if (keep < strlen(msg))
		cut = xasprintf("%.*s...", (int)keep, msg);
	o = event_json(ev, cut ? cut : msg);
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	*len = strlen(s);
	return s;
}

int event_format(const struct event *ev, struct buf *b, struct err *e)
{
	const char *msg = ev->message ? ev->message : "";
	size_t lo = 0, hi = strlen(msg), len;
	cleanup_free char *best = NULL;

	if (!event_reason_valid(ev->reason))
		return err_set(e, E_INVALID, "event reason \"%.80s\": expected CamelCase letters",
		               ev->reason ? ev->reason : "");
	best = event_line(ev, msg, hi, &len);
	if (len + 1 > EVENT_LINE_MAX) {
		/* Escaping grows a message by up to six times, so search for the longest cut that
		 * fits: the line at lo fits, the line at hi does not. */
		free(best);
		best = event_line(ev, msg, 0, &len);
		if (len + 1 > EVENT_LINE_MAX)
			return err_set(e, E_INVALID, "event: too large even without its message");
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2, mlen;
			char *s;

			while (mid > lo && ((unsigned char)msg[mid] & 0xC0) == 0x80)
				mid--; /* never cut inside a UTF-8 sequence */
			if (mid == lo)
				break;
			s = event_line(ev, msg, mid, &mlen);
			if (mlen + 1 <= EVENT_LINE_MAX) {
				free(best);
				best = s;
				len = mlen;
				lo = mid;
			} else {
				free(s);
				hi = mid;
			}
		}
	}
	buf_add(b, best, len);
	buf_addc(b, '\n');
	return 0;
}

static int dup_str(struct json_object *o, const char *key, bool required, char **out, struct err *e)
{
	const char *s = NULL;

	if (jsonio_get_str(o, key, required, &s, e) < 0)
		return -1;
	*out = s ? xstrdup(s) : NULL;
	return 0;
}

int event_parse(const char *line, size_t len, struct event *ev, struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	struct json_object *obj = NULL;
	struct event out = {0};
	const char *type = NULL, *kind = NULL;

	if (len && line[len - 1] == '\n')
		len--;
	if (jsonio_parse(line, len, &o, e) < 0 || !json_object_is_type(o, json_type_object)) {
		if (o)
			return err_set(e, E_CORRUPT, "event: not a JSON object");
		if (e)
			e->code = E_CORRUPT;
		return -1;
	}
	if (jsonio_get_time(o, "time", true, &out.time_ns, e) < 0 ||
	    jsonio_get_str(o, "type", true, &type, e) < 0 ||
	    jsonio_get_obj(o, "object", true, &obj, e) < 0 ||
	    jsonio_get_str(obj, "kind", true, &kind, e) < 0 ||
	    dup_str(o, "reason", true, &out.reason, e) < 0 ||
	    dup_str(obj, "id", false, &out.object.id, e) < 0 ||
	    dup_str(obj, "name", false, &out.object.name, e) < 0 ||
	    dup_str(o, "message", false, &out.message, e) < 0 ||
	    dup_str(o, "source", true, &out.source, e) < 0 ||
	    dup_str(o, "host", false, &out.host, e) < 0)
		goto bad;
	if (event_type_parse(type, &out.type) < 0) {
		err_set(e, E_CORRUPT, "event: type \"%.40s\": expected Normal or Warning", type);
		goto bad;
	}
	if (object_kind_parse(kind, &out.object.kind) < 0) {
		err_set(e, E_CORRUPT,
		        "event: object kind \"%.40s\": expected node, image or container", kind);
		goto bad;
	}
	if (!event_reason_valid(out.reason)) {
		err_set(e, E_CORRUPT, "event: reason \"%.80s\": expected CamelCase", out.reason);
		goto bad;
	}
	*ev = out;
	return 0;
bad:
	event_release(&out);
	if (e)
		e->code = E_CORRUPT;
	return -1;
}

int event_emit(const struct ctx *ctx, enum event_type type, const char *reason,
               enum object_kind kind, const char *id, const char *name, const char *source,
               struct err *e, const char *fmt, ...)
{
	struct event ev = {0};
	cleanup_buf struct buf msg = BUF_INIT;
	cleanup_free char *host = host_name(ctx);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	ev.time_ns = ctx->now_ns ? ctx->now_ns() : ctx_clock_realtime();
	ev.type = type;
	ev.reason = (char *)reason;
	ev.object.kind = kind;
	ev.object.id = (char *)id;
	ev.object.name = (char *)name;
	ev.message = (char *)buf_str(&msg);
	ev.source = (char *)(source ? source : ctx->applet);
	ev.host = host;
	return journal_append(ctx, &ev, e);
}
