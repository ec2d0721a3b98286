/* common/runtime/lookup.h - what names a container on the command line (DESIGN.md "run"): its
 * full 64-hex ID, any unique prefix of it, or its name. Lock-free: reads container.json files. */
#ifndef CTRBOX_RUNTIME_LOOKUP_H
#define CTRBOX_RUNTIME_LOOKUP_H

#include "common/util/ctx.h"
#include "common/util/err.h"

/* The full ID of the container arg names into id (65 bytes). As docker resolves: an exact ID,
 * then a name, then a unique ID prefix (a name wins over a prefix). E_NOTFOUND "ARG: no such
 * container" (the object first, STYLE.md); E_INVALID "ARG: ambiguous: N containers match".
 * No lock. */
int container_lookup(const struct ctx *ctx, const char *arg, char id[65], struct err *e);

/* E_EXISTS when a container already has this name; E_INVALID when the name is not
 * [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 128 characters). No lock: the caller that creates a
 * container under a name takes the name's lock (ROOT/containers/names/<name>.lock). */
int container_name_check(const struct ctx *ctx, const char *name, struct err *e);

/* The format half of container_name_check alone: E_INVALID with the rule. */
int container_name_valid(const char *name, struct err *e);

#endif
