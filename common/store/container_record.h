/* common/store/container_record.h - the container's two documents (DESIGN.md):
 * ROOT/containers/<id>/container.json (what it is: image, name, labels, created, snapshot
 * chain, command) and STATE/containers/<id>/state.json (what it is doing: status, pids, times,
 * exit). Writers lock the one container (ROOT/containers/<id>/lock); readers never lock. */
#ifndef CTRBOX_STORE_CONTAINER_RECORD_H
#define CTRBOX_STORE_CONTAINER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* state.json: in STATE (tmpfs), not fsynced, under the container's lock. */
int container_state_save(const struct ctx *ctx, const char *id, const struct container_state *s,
			 struct err *e);
int container_state_load(const struct ctx *ctx, const char *id, struct container_state *out,
			 struct err *e);

/* ROOT/containers/<id>/container.json; the caller frees. */
char *container_doc_path(const struct ctx *ctx, const char *id);

/* The IDs of every container directory, sorted; no lock, and no stat per container: one
 * whose container.json is not written yet (or is being removed) is listed too, and loading it
 * is E_NOTFOUND, which every caller skips. The caller frees with strv_free. */
int container_list_ids(const struct ctx *ctx, char ***out, size_t *n, struct err *e);

#endif
