/* common/node/listing.c - every container as ps and relist see it (DESIGN.md lesson 1 "Listing
 * never waits", "ps", "relist"): records read lock-free, each recorded process checked by PID
 * and /proc start time so a dead shim or a reused PID is never taken for a live one. */
#include <stdlib.h>
#include <string.h>

#include "common/node/listing.h"
#include "common/runtime/lifecycle.h"
#include "common/util/mem.h"

static const char *const status_words[] = {
    [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running", [STATUS_PAUSED] = "paused",
    [STATUS_STOPPED] = "exited",  [STATUS_UNKNOWN] = "unknown",
};

const char *listing_status_word(enum units_status s)
{
	return (size_t)s < ARRAY_SIZE(status_words) ? status_words[s] : "unknown";
}

int listing_status_parse(const char *s, enum units_status *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_words); i++)
		if (strcmp(s, status_words[i]) == 0) {
			*out = (enum units_status)i;
			return 0;
		}
	return -1;
}

/* True when pid is alive and is the process that had start_time (0: unknown, PID only). */
static bool proc_same(const struct ctx *ctx, int pid, uint64_t start_time)
{
	struct err e = ERR_INIT;
	uint64_t now = 0;

	if (pid <= 0 || rt_proc_start_time(ctx, pid, &now, &e) < 0)
		return false;
	return !start_time || now == start_time;
}

void listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		container_doc_release(&l->v[i].doc);
	free(l->v);
	strv_free(l->unreadable);
	memset(l, 0, sizeof(*l));
}

int listing_read(const struct ctx *ctx, struct listing *l, struct err *e)
{
	cleanup_strv char **ids = NULL;
	size_t n = 0, n_bad_states = 0;

	memset(l, 0, sizeof(*l));
	if (container_list_ids(ctx, &ids, &n, e) < 0)
		return -1;
	l->v = xcalloc(n ? n : 1, sizeof(*l->v));
	for (size_t i = 0; i < n; i++) {
		struct listing_entry *c = &l->v[l->n];
		struct err le = ERR_INIT;

		if (container_doc_load(ctx, ids[i], &c->doc, &le) < 0) {
			/* removed between the listing and the load: not an error */
			if (le.code != E_NOTFOUND) {
				size_t k = l->skipped - n_bad_states;

				l->unreadable = xreallocarray(l->unreadable, k + 2, sizeof(char *));
				l->unreadable[k] = xstrdup(ids[i]);
				l->unreadable[k + 1] = NULL;
				l->skipped++;
			}
			continue;
		}
		if (container_state_load(ctx, ids[i], &c->st, &le) == 0) {
			c->has_state = true;
		} else {
			if (le.code != E_NOTFOUND) {
				c->state_unreadable = true;
				n_bad_states++;
				l->skipped++;
			}
			memset(&c->st, 0, sizeof(c->st));
			c->st.status = STATUS_CREATED;
		}
		c->status = c->st.status;
		if (c->has_state && c->st.pid)
			c->init_alive = proc_same(ctx, c->st.pid, c->st.pid_start_time);
		if (c->has_state && c->st.shim_pid)
			c->shim_alive = proc_same(ctx, c->st.shim_pid, c->st.shim_start_time);
		/* A running container's exit is recorded by its shim: without the shim nobody will,
		 * so the recorded "running" can no longer be trusted. */
		if ((c->status == STATUS_RUNNING || c->status == STATUS_PAUSED) && !c->shim_alive)
			c->status = STATUS_UNKNOWN;
		l->n++;
	}
	return 0;
}
