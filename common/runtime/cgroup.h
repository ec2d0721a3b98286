/* common/runtime/cgroup.h - a container's cgroup on v1, hybrid or v2 hosts (DESIGN.md "run":
 * cgroup limits; issue 5 "cgroups: v1 and v2, detected at run time"). Everything is reached
 * under ctx->path.cgroup, so a fixture tree stands in for /sys/fs/cgroup in tests. */
#ifndef CTRBOX_RUNTIME_CGROUP_H
#define CTRBOX_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

enum cgroup_mode {
	CGROUP_V1 = 1, /* one hierarchy per controller, no cgroup2 */
	CGROUP_HYBRID, /* v1 controllers, and a cgroup2 mount (unified/) without them */
	CGROUP_V2,     /* the unified hierarchy at the root */
};

#define CGROUP_PARENT "ctrbox" /* containers live in <hierarchy>/ctrbox/<id> */

struct cgroup {
	enum cgroup_mode mode;
	/* v2: dir[0] only. v1: memory, cpu, pids (and the name=systemd-less others unused). */
	char *memory, *cpu, *pids, *devices, *unified;
};

struct cgroup_limits {
	int64_t memory_bytes; /* 0: none */
	int64_t cpu_quota_us; /* 0: none */
	int64_t cpu_period_us;
	int64_t pids; /* 0: none */
};

/* How the host mounts cgroups: v2 when ctx->path.cgroup holds cgroup.controllers, v1 when it
 * holds per-controller directories (hybrid when a unified/ cgroup2 sits beside them).
 * E_UNSUPPORTED when neither. */
int cgroup_detect(const struct ctx *ctx, enum cgroup_mode *out, struct err *e);

/* The container's cgroup paths for mode (nothing is created). The caller releases. */
void cgroup_paths(const struct ctx *ctx, enum cgroup_mode mode, const char *id, struct cgroup *out);
void cgroup_release(struct cgroup *cg);

/* Creates the container's cgroups (v2: enables memory, cpu and pids for the parents first)
 * and writes the limits. E_IO naming the file on failure. */
int cgroup_create(const struct cgroup *cg, const struct cgroup_limits *l, struct err *e);

/* v1: appends one rule ("c 1:3 rwm", "a *:* rwm") to devices.allow or devices.deny. v2
 * controls devices with a BPF program ctrbox does not load: E_UNSUPPORTED. */
int cgroup_device_rule(const struct cgroup *cg, bool allow, const char *rule, struct err *e);

/* v1: the n rules in order, rules[i] to devices.allow when allow[i] else to devices.deny, each
 * file opened once (the kernel takes one rule per write). E_UNSUPPORTED on v2. */
int cgroup_device_rules(const struct cgroup *cg, const bool *allow, const char *const *rules,
                        size_t n, struct err *e);

/* Moves pid into every hierarchy of the container's cgroup. */
int cgroup_add_pid(const struct cgroup *cg, pid_t pid, struct err *e);

/* Reads the limits back from the cgroup files (0 for "max"/unlimited). */
int cgroup_read_limits(const struct cgroup *cg, struct cgroup_limits *out, struct err *e);

/* How many times the kernel's OOM killer killed a task in the cgroup (v2 memory.events
 * oom_kill; v1 memory.oom_control oom_kill, else memory.failcnt > 0 under a limit as 1). */
int cgroup_oom_kills(const struct cgroup *cg, uint64_t *out, struct err *e);

/* Removes the container's cgroup directories (they must be empty of tasks: E_BUSY then).
 * Missing directories are fine. */
int cgroup_remove(const struct cgroup *cg, struct err *e);

/* True when the kernel offers cgroup namespaces (<proc>/self/ns/cgroup). */
bool cgroup_ns_supported(const struct ctx *ctx);

#endif
