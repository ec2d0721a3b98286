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

/* A file's identity and version as stat(2) gives it: every atomic rewrite (temp file, rename)
 * makes a new inode with a new ctime, so an equal key means an unchanged document. ino 0: the
 * file is absent. */
struct listing_key {
	uint64_t dev, ino;
	int64_t size, mtime_ns, ctime_ns;
};

struct listing_entry {
	struct container_doc doc;
	struct container_state st; /* as recorded; zeroed with status Created when there is none */
	bool has_state;
	bool state_unreadable;    /* state.json exists but cannot be read (counted in skipped) */
	enum units_status status; /* the live status: STATUS_UNKNOWN when the shim is lost */
	bool init_alive;          /* the recorded init PID is alive and the same process (not
	                           * checked by listing_read_since: false there) */
	bool shim_alive;          /* likewise for the shim */
	/* with listing_read_since only: doc_key is the container directory's inode (container.json
	 * never changes), state_key state.json's stat key */
	struct listing_key doc_key, state_key;
};

struct listing {
	struct listing_entry *v; /* sorted by ID */
	size_t n;
	size_t skipped;    /* records that could not be read (not those removed meanwhile) */
	char **unreadable; /* IDs whose container.json cannot be read, NULL-terminated or NULL */
};

/* Reads every container (ROOT/containers/<id>/container.json, STATE/containers/<id>/
 * state.json) with no lock and checks the recorded processes under ctx->path.proc. A container
 * removed while listing is left out; a record that cannot be read is counted in skipped. The
 * caller releases l with listing_release. */
int listing_read(const struct ctx *ctx, struct listing *l, struct err *e);

/* What an earlier listing found for id (doc.id, doc.name, st, has_state, doc_key, state_key
 * filled), or NULL: see listing_read_since. shim_alive true says the caller knows the recorded
 * shim to be alive now (relist --watch holds a pidfd that has not signalled its exit): when the
 * keys are unchanged, the listing takes its word and spares the /proc check. */
typedef const struct listing_entry *(*listing_prev_fn)(const char *id, void *arg);

/* As listing_read, but keys each container first (doc_key from the directory listing, state_key
 * by one fstatat of state.json) and, when prev knows the container with the same two keys,
 * takes its name and recorded state from prev instead of reading and parsing the documents
 * again: a relist of 1,000 unchanged containers then costs one stat(2) call each, and the
 * shim checks (openat, read, close of /proc/PID/stat for each container recorded with a
 * shim). The status depends on the shim alone, so init_alive is not checked (left false).
 * prev may be NULL. */
int listing_read_since(const struct ctx *ctx, listing_prev_fn prev, void *arg, struct listing *l,
                       struct err *e);

void listing_release(struct listing *l);

/* A pidfd (O_CLOEXEC, the caller closes it) for pid when it is alive, not a zombie, and the
 * process started at start_time; -1 otherwise, or when ctx->path.proc is not the real /proc (a
 * fixture tree names no real process), or when no descriptor is left. The pidfd is opened
 * before the check, so it cannot name a process started after it; it polls readable (POLLIN)
 * once that process has exited, reaped or not. */
int listing_pidfd(const struct ctx *ctx, int pid, uint64_t start_time);

/* "created", "running", "paused", "exited", "unknown": the status words filters use. */
const char *listing_status_word(enum units_status s);
int listing_status_parse(const char *s, enum units_status *out);

#endif
