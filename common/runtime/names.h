/* common/runtime/names.h - the per-name lock files that make container names unique (DESIGN.md
 * "run": --name; "a writer takes a lock on the one object it changes"): a claimer holds
 * ROOT/containers/names/<name>.lock while it checks the name is free and records it, and rm
 * unlinks the file, so a node that ran many uniquely named containers keeps no file per name.
 *
 * Unlinking a lock file others may be waiting on is safe because every taker re-checks, once
 * it holds the lock, that its descriptor is still the file linked at the path, and starts over
 * when it is not; and the unlink is the last step before the holder releases. Two holders of
 * one name at once would need two linked files at one path. */
#ifndef CTRBOX_RUNTIME_NAMES_H
#define CTRBOX_RUNTIME_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "common/store/lock.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

/* The lock file's path; the caller frees. name must be a valid container name. */
char *names_lock_path(const struct ctx *ctx, const char *name);

/* Takes the name's lock (creating the directory and the file), timeout_ns as lock_take
 * (E_BUSY when it expires). Blocks only on the lock. With fresh, says whether this call
 * created the file: then no container can have recorded itself in it before. */
int names_lock(const struct ctx *ctx, const char *name, int64_t timeout_ns, struct lock *out,
               bool *fresh, struct err *e);

/* The owner a name's file records: the ID of the container that claimed the name, written
 * under the lock before the container's records, so that "is this name taken?" is one file
 * and one stat instead of every container.json. A file from before owners were recorded (or
 * from a claimer that died before writing) records none. */
int names_set_owner(const struct lock *l, const char *id, struct err *e);

/* Reads the owner recorded in an open name file into id: true when there is one. */
bool names_owner(int fd, char id[65]);

/* Without a lock, for a fast early answer: *exists says whether the name's file is there, and
 * the return value whether it records an owner (into id). */
bool names_peek(const struct ctx *ctx, const char *name, bool *exists, char id[65]);

/* Unlinks the name's lock file, which l must hold, then releases l: the end of a critical
 * section that leaves the name free. */
void names_unlock_remove(const struct ctx *ctx, const char *name, struct lock *l);

/* For rm, once container id's records are gone: takes the name's lock, unlinks its file and
 * releases it. The file stays when it records another owner (a container that took the name
 * once ours was gone), and when another process holds the lock for longer than timeout_ns
 * (E_BUSY); a missing file is success. */
int names_forget(const struct ctx *ctx, const char *name, const char *id, int64_t timeout_ns,
                 struct err *e);

#endif
