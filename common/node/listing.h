/* common/node/listing.h - every container as ps and relist see it (DESIGN.md lesson 1 "Listing
 * never waits", "ps", "relist"): container.json and state.json read without any lock, and the
 * recorded status checked against the live processes: a running container whose shim is gone
 * (its PID dead, or reused by another process: start times are compared) is shown as such. */
#ifndef CTRBOX_NODE_LISTING_H
#define CTRBOX_NODE_LISTING_H

#include <stdbool.h>
#include <stddef.h>

#include "common/store/container_record.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

struct listing_entry {
	struct container_doc doc;
	struct container_state st; /* as recorded; zeroed with status Created when there is none */
	bool has_state;
	bool state_unreadable;     /* state.json exists but cannot be read (counted in skipped) */
	enum units_status status;  /* the live status: STATUS_UNKNOWN when the shim is lost */
	bool init_alive;           /* the recorded init PID is alive and the same process */
	bool shim_alive;           /* likewise for the shim */
};

struct listing {
	struct listing_entry *v; /* sorted by ID */
	size_t n;
	size_t skipped; /* records that could not be read (not those removed meanwhile) */
	char **unreadable; /* IDs whose container.json cannot be read, NULL-terminated or NULL */
};

/* Reads every container (ROOT/containers/<id>/container.json, STATE/containers/<id>/
 * state.json) with no lock and checks the recorded processes under ctx->path.proc. A container
 * removed while listing is left out; a record that cannot be read is counted in skipped. The
 * caller releases l with listing_release. */
int listing_read(const struct ctx *ctx, struct listing *l, struct err *e);

void listing_release(struct listing *l);

/* "created", "running", "paused", "exited", "unknown": the status words filters use. */
const char *listing_status_word(enum units_status s);
int listing_status_parse(const char *s, enum units_status *out);

#endif
