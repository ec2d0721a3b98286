/* common/runtime/shim_cgroup.h - the shim's side of a container's cgroup (DESIGN.md "run";
 * shim.h): the device rules a spec asks for, and the cgroup an early shim makes while `run`
 * writes the records, so that after the start message only the move into it is left. */
#ifndef CTRBOX_RUNTIME_SHIM_CGROUP_H
#define CTRBOX_RUNTIME_SHIM_CGROUP_H

#include <stdbool.h>

#include "common/runtime/cgroup.h"
#include "common/runtime/spec.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

/* Writes sp's device rules into cg's v1 devices cgroup (v2 has no file interface for them),
 * plus the standard nodes every container's /dev holds, as runc does. With made_default,
 * shim_prepare_cgroup wrote the default rules already, and rules that are the same are not
 * written again. The init must not be in cg yet: the rules are a deny-all, then the allows. */
int shim_write_device_rules(const struct cgroup *cg, const struct spec *sp, bool made_default,
                            struct err *e);

/* Makes container id's cgroup directories (no limits yet) and writes the default device rules
 * (spec_devices_default) into out, before the spec exists. -1 with e when it could not; then
 * nothing is left of it. */
int shim_prepare_cgroup(const struct ctx *ctx, const char *id, struct cgroup *out,
                        struct err *e);

/* Removes what shim_prepare_cgroup made, for a container that was never started. */
void shim_unprepare_cgroup(struct cgroup *cg);

#endif
