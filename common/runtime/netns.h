/* common/runtime/netns.h - a container's network namespace made ahead of its init (DESIGN.md
 * "run"): the shim makes it, loopback up, while it waits for `run` to finish the records,
 * and the init joins it instead of cloning a new one. A clone with CLONE_NEWNET and the
 * loopback's bring-up cost 0.55-0.85 ms here against 0.35 ms for a clone without it: that
 * much comes off the container's start. */
#ifndef CTRBOX_RUNTIME_NETNS_H
#define CTRBOX_RUNTIME_NETNS_H

#include "common/util/ctx.h"
#include "common/util/err.h"

/* Brings up the calling process's loopback, best effort (a namespace without one only has
 * no localhost). */
void netns_loopback_up(void);

/* Makes a new network namespace with its loopback up and returns it as an fd (close-on-exec)
 * in *out, leaving the caller in its own namespace. -1 with e when it cannot be made; then
 * nothing changed, except when the way back failed: *stranded is then true and the caller,
 * left inside the new namespace, must not go on. */
int netns_prepare(const struct ctx *ctx, int *out, bool *stranded, struct err *e);

#endif
