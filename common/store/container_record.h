/* common/store/container_record.h - the container's two documents (DESIGN.md):
 * ROOT/containers/<id>/container.json (what it is: image, name, labels, created, snapshot
 * chain, command) and STATE/containers/<id>/state.json (what it is doing: status, pids, times,
 * exit). Writers lock the one container (ROOT/containers/<id>/lock); readers never lock.
 *
 * STATE/running/<id>, an empty file, is an index derived from state.json for completion only:
 * it exists while the recorded status is running or paused. container_state_save, the one
 * writer of state.json, keeps it in step (after the rename), and container_state_remove drops
 * it with the state. One readdir of STATE/running gives `__complete` the running set without
 * reading 1,000 state.json files. ps, relist, inspect and every decision read state.json, the
 * truth: a missing or stale entry (a crash between the two writes, a STATE from before the
 * index) only changes what TAB offers, until the container's next state change. */
#ifndef CTRBOX_STORE_CONTAINER_RECORD_H
#define CTRBOX_STORE_CONTAINER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "common/util/ctx.h"
#include "common/util/err.h"
#include "common/util/units.h"

struct label {
	char *key, *value;
};

struct container_doc {
	char id[65];
	char *name;
	char *image;        /* the reference as given */
	char *image_digest; /* "sha256:..." of the manifest, or NULL */
	char **command;     /* NULL-terminated argv, may be NULL */
	struct label *labels;
	size_t n_labels;
	char **snapshots;   /* NULL-terminated snapshot chain, lowest first, may be NULL */
	int64_t created_ns;
	bool auto_remove;   /* run --rm: removed when it exits, so never written durably */
	int64_t log_max_bytes; /* rotate the log past this; 0: not recorded (the default) */
	int log_max_files;     /* rotated log files kept; 0: not recorded (the default) */
};

struct container_state {
	enum units_status status;
	int pid;                 /* the container's init, 0 when not running */
	uint64_t pid_start_time; /* /proc/PID/stat starttime, to tell PID reuse */
	int shim_pid;
	uint64_t shim_start_time;
	int shim_parent_pid;     /* who adopted the shim: 1 or the nearest subreaper (0: unknown) */
	int64_t started_ns, finished_ns;
	int exit_code;
	bool oom_killed;
};

void container_doc_release(struct container_doc *c);

/* container.json: durable (unless auto_remove: such a container does not outlive its shim,
 * so its record is not worth an fsync), under the container's lock. */
int container_doc_save(const struct ctx *ctx, const struct container_doc *c, struct err *e);
int container_doc_load(const struct ctx *ctx, const char *id, struct container_doc *out,
		       struct err *e);
/* For listings of many: as container_doc_load, reading containers_dirfd (an open
 * ROOT/containers, container_dir_open) + "<id>/container.json" with doc_read_at into b, a
 * buffer the caller reuses (three system calls for a record under FS_SMALL_BYTES). Stricter
 * than container_doc_load in one way: a container.json that is a symbolic link is E_CORRUPT.
 * No lock. */
int container_doc_load_at(int containers_dirfd, const char *id, struct buf *b,
			  struct container_doc *out, struct err *e);
/* Opens ROOT/containers (O_DIRECTORY, close-on-exec) for container_doc_load_at; returns the
 * descriptor the caller closes, or -1 (E_NOTFOUND before the store exists). */
int container_dir_open(const struct ctx *ctx, struct err *e);

/* state.json: in STATE (tmpfs), not fsynced, under the container's lock. Also creates
 * (running, paused) or removes (any other status) STATE/running/<id>, after state.json is
 * replaced; -1 from that step means state.json is already written but the index is not. */
int container_state_save(const struct ctx *ctx, const char *id, const struct container_state *s,
			 struct err *e);
/* Removes STATE/running/<id> (first) and STATE/containers/<id> with everything in it (the
 * state, the attach socket); missing ones are success. Does not lock: the caller holds the
 * container's lock, or is its shim with the container gone. */
int container_state_remove(const struct ctx *ctx, const char *id, struct err *e);
int container_state_load(const struct ctx *ctx, const char *id, struct container_state *out,
			 struct err *e);

/* ROOT/containers/<id>/container.json; the caller frees. */
char *container_doc_path(const struct ctx *ctx, const char *id);

/* The IDs of every container directory, sorted; no lock, and no stat per container: one
 * whose container.json is not written yet (or is being removed) is listed too, and loading it
 * is E_NOTFOUND, which every caller skips. The caller frees with strv_free. */
int container_list_ids(const struct ctx *ctx, char ***out, size_t *n, struct err *e);
/* The IDs in STATE/running (recorded running or paused, see above), sorted; one readdir, no
 * lock, an empty list when the directory is missing. Completion only: anything that decides
 * reads state.json. The caller frees with strv_free. */
int container_running_ids(const struct ctx *ctx, char ***out, size_t *n, struct err *e);

#endif
