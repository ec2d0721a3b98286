/* common/node/diag_watch.c - diagnose --watch's memory: each check's last status and reason in
 * STATE/diagnose/status.json, and an event in the journal whenever one changes, so the journal
 * holds the node's condition history (DESIGN.md lesson 4 and "diagnose"; issue 8) */
#include <string.h>

#include <json-c/json.h>

#include "common/node/diag.h"
#include "common/store/doc.h"
#include "common/store/event.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

static void prev_of(struct json_object *doc, const char *name, enum diag_status *st,
                    const char **reason)
{
	struct json_object *c = NULL, *v = NULL;

	*st = DIAG_OK;
	*reason = NULL;
	if (!doc || !json_object_object_get_ex(doc, name, &c) || !json_object_is_type(c, json_type_object))
		return;
	if (json_object_object_get_ex(c, "status", &v) && json_object_is_type(v, json_type_string)) {
		for (int s = DIAG_OK; s <= DIAG_UNKNOWN; s++)
			if (strcmp(json_object_get_string(v), diag_status_name(s)) == 0)
				*st = (enum diag_status)s;
	}
	if (json_object_object_get_ex(c, "reason", &v) && json_object_is_type(v, json_type_string))
		*reason = json_object_get_string(v);
}

int diag_watch_record(const struct ctx *ctx, const char *const *names,
                      const struct diag_result *results, size_t n, size_t *changed, struct err *e)
{
	cleanup_free char *dir = path_join(ctx->path.state, "diagnose");
	cleanup_free char *path = path_join(dir, "status.json");
	struct json_object *prev = NULL, *next = json_object_new_object();
	struct err ee = ERR_INIT;
	int rc = 0;

	*changed = 0;
	if (doc_read(path, &prev, &ee) < 0 && ee.code != E_NOTFOUND) {
		json_object_put(next);
		return err_set(e, ee.code, "%s", ee.msg);
	}
	for (size_t i = 0; i < n; i++) {
		const struct diag_result *r = &results[i];
		enum diag_status was;
		const char *was_reason;
		struct json_object *c = json_object_new_object();
		char reason[EVENT_REASON_MAX + 1];
		enum event_type type;
		int worse;

		prev_of(prev, names[i], &was, &was_reason);
		jsonio_set_str(c, "status", diag_status_name(r->status));
		if (r->reason)
			jsonio_set_str(c, "reason", r->reason);
		else if (r->status != DIAG_OK && was_reason && was == r->status)
			jsonio_set_str(c, "reason", was_reason);
		json_object_object_add(next, names[i], c);
		if (was == r->status)
			continue;
		worse = diag_status_rank(r->status) > diag_status_rank(was);
		if (worse) {
			type = EVENT_WARNING;
			snprintf(reason, sizeof(reason), "%s",
			         r->reason && event_reason_valid(r->reason) ? r->reason
			                                                    : "CheckWorsened");
		} else {
			type = EVENT_NORMAL;
			if (r->status == DIAG_OK && was_reason &&
			    strlen(was_reason) + 9 <= EVENT_REASON_MAX)
				snprintf(reason, sizeof(reason), "%sRecovered", was_reason);
			else
				snprintf(reason, sizeof(reason), "%s",
				         r->status == DIAG_OK ? "CheckRecovered" : "CheckImproved");
			if (!event_reason_valid(reason))
				snprintf(reason, sizeof(reason), "CheckRecovered");
		}
		if (event_emit(ctx, type, reason, OBJECT_NODE, NULL, NULL, "diagnose", &ee,
		               "check %s: %s -> %s: %s", names[i], diag_status_name(was),
		               diag_status_name(r->status), r->summary ? r->summary : "") < 0) {
			if (rc == 0)
				err_set(e, ee.code, "journal: %s", ee.msg);
			rc = -1;
			continue;
		}
		(*changed)++;
	}
	if (prev)
		json_object_put(prev);
	if (fs_mkdir_p(dir, 0700, &ee) < 0 || doc_write(path, next, 0, &ee) < 0) {
		json_object_put(next);
		return err_set(e, ee.code, "%s", ee.msg);
	}
	json_object_put(next);
	return rc;
}
