/* common/store/lock.h - per-object locks: flock on a lock file beside the object, held only for
 * the change (DESIGN.md "Readers never lock. A writer takes a lock on the one object it changes").
 * There is no global lock and no lock is ever needed to read. */
#ifndef CTRBOX_STORE_LOCK_H
#define CTRBOX_STORE_LOCK_H

#include <stdint.h>

#include "common/util/err.h"

struct lock {
	int fd; /* -1 when not held */
};

#define LOCK_INIT {-1}

/* Takes an exclusive lock on lockpath (created 0600 if missing). timeout_ns 0 tries once
 * (E_BUSY when held elsewhere), < 0 waits without bound, > 0 waits at most that long (E_BUSY
 * naming the path when it expires). Blocks only on the lock itself. */
int lock_take(const char *lockpath, int64_t timeout_ns, struct lock *out, struct err *e);

/* Releases the lock (closing its descriptor); safe on a lock not held. */
void lock_release(struct lock *l);

#define cleanup_lock __attribute__((cleanup(lock_release)))

#endif
