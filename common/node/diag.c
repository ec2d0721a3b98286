/* common/node/diag.c - the check table, statuses and result helpers behind `diagnose` (DESIGN.md
 * lesson 5, "diagnose"; issue 8) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "common/node/diag.h"
#include "common/util/config.h"
#include "common/util/mem.h"
#include "common/util/units.h"

const struct diag_check diag_checks[] = {
    {"pressure", "io, memory and cpu pressure (PSI), system-wide and per container",
     diag_check_pressure},
    {"memory", "dirty and writeback pages against memory and the dirty limits", diag_check_memory},
    {"dstate", "tasks in uninterruptible sleep (D), how long, and where", diag_check_dstate},
    {"fsync", "write+fdatasync latency on ROOT's file system", diag_check_fsync},
    {"disk", "space and inodes of ROOT and STATE against kubelet's eviction defaults",
     diag_check_disk},
    {"limits", "file descriptors, PIDs and inotify watches against the kernel's limits",
     diag_check_limits},
    {"clock", "clock synchronisation (adjtimex)", diag_check_clock},
    {"cgroup", "cgroup version and where each controller lives", diag_check_cgroup},
    {"kmsg", "the kernel log since boot against node-problem-detector-like rules",
     diag_check_kmsg},
    {"store", "the metadata layer: documents parse, no stale temp files, blobs verify (--deep)",
     diag_check_store},
    {"shims", "each running container's shim alive, the same process, reparented; zombies",
     diag_check_shims},
    {"overlay", "overlayfs and volatile support, ctrbox's mounts using it", diag_check_overlay},
    {"relist", "relist latency: a live listing, the recorded histogram, the loop's last run",
     diag_check_relist},
    {0},
};

const struct diag_check *diag_check_find(const char *name)
{
	for (const struct diag_check *c = diag_checks; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static const char *const status_names[] = {"OK", "WARN", "FAIL", "UNKNOWN"};

const char *diag_status_name(enum diag_status s)
{
	return (size_t)s < ARRAY_SIZE(status_names) ? status_names[s] : "UNKNOWN";
}

int diag_status_rank(enum diag_status s)
{
	switch (s) {
	case DIAG_OK:
		return 0;
	case DIAG_UNKNOWN:
		return 1;
	case DIAG_WARN:
		return 2;
	case DIAG_FAIL:
		return 3;
	}
	return 1;
}

enum diag_status diag_worse(enum diag_status a, enum diag_status b)
{
	return diag_status_rank(b) > diag_status_rank(a) ? b : a;
}

void diag_result_release(struct diag_result *r)
{
	for (size_t i = 0; i < r->n_ev; i++) {
		free(r->ev[i].key);
		free(r->ev[i].text);
	}
	free(r->ev);
	free(r->summary);
	free(r->remedy);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

void diag_set(struct diag_result *r, enum diag_status s, const char *reason, const char *remedy,
	      const char *fmt, ...)
{
	char text[512];
	va_list ap;

	/* The first finding of the worst status names the problem. */
	if (r->summary && diag_status_rank(s) <= diag_status_rank(r->status))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	free(r->summary);
	free(r->remedy);
	free(r->reason);
	r->status = s;
	r->reason = reason ? xstrdup(reason) : NULL;
	r->summary = xstrdup(text);
	r->remedy = remedy ? xstrdup(remedy) : NULL;
}

static struct diag_ev *ev_add(struct diag_result *r, const char *key)
{
	struct diag_ev *v;

	r->ev = xreallocarray(r->ev, r->n_ev + 1, sizeof(*r->ev));
	v = &r->ev[r->n_ev++];
	memset(v, 0, sizeof(*v));
	v->key = xstrdup(key);
	return v;
}

void diag_num(struct diag_result *r, const char *key, double v)
{
	ev_add(r, key)->num = v;
}

void diag_text(struct diag_result *r, const char *key, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ev_add(r, key)->text = xstrdup(text);
}

/* The thresholds as the config holds them (its defaults are the one list of default values). */
static void thresholds_from(const struct config *c, struct diag_thresholds *th)
{
	*th = (struct diag_thresholds){
	    .psi_some_warn = (double)c->diagnose.pressure_some_warn,
	    .psi_some_fail = (double)c->diagnose.pressure_some_fail,
	    .psi_full_warn = (double)c->diagnose.pressure_full_warn,
	    .psi_full_fail = (double)c->diagnose.pressure_full_fail,
	    .dirty_warn_bytes = c->diagnose.dirty_warn_bytes,
	    .dirty_fail_bytes = c->diagnose.dirty_fail_bytes,
	    .dstate_warn_ns = c->diagnose.dstate_warn_ns,
	    .dstate_fail_ns = c->diagnose.dstate_fail_ns,
	    .fsync_warn_ns = c->diagnose.fsync_warn_ns,
	    .fsync_fail_ns = c->diagnose.fsync_fail_ns,
	    .root_available_min = (double)c->diagnose.root_available_min,
	    .state_available_min = (double)c->diagnose.state_available_min,
	    .inodes_free_min = (double)c->diagnose.inodes_free_min,
	    .limits_warn = (double)c->diagnose.limits_warn,
	    .limits_fail = (double)c->diagnose.limits_fail,
	    .clock_max_error_warn_ns = c->diagnose.clock_max_error_warn_ns,
	    .clock_max_error_fail_ns = c->diagnose.clock_max_error_fail_ns,
	    .relist_slow_ns = c->diagnose.relist_slow_ns,
	    .relist_stall_ns = c->diagnose.relist_stall_ns,
	};
}

void diag_thresholds_default(struct diag_thresholds *th)
{
	struct config c;

	config_defaults(&c);
	thresholds_from(&c, th);
}

void diag_env_init(struct diag_env *env, const struct ctx *ctx)
{
	memset(env, 0, sizeof(*env));
	env->ctx = ctx;
	diag_thresholds_default(&env->th);
	if (ctx->cfg) {
		thresholds_from(ctx->cfg, &env->th);
		/* struct diag_rule mirrors the config's rules; the config outlives the run */
		env->n_rules = ctx->cfg->diagnose.n_rules;
		if (env->n_rules) {
			struct diag_rule *r = xcalloc(env->n_rules, sizeof(*r));

			for (size_t i = 0; i < env->n_rules; i++) {
				const struct config_diag_rule *c = &ctx->cfg->diagnose.rules[i];

				r[i].pattern = c->pattern;
				r[i].reason = c->reason;
				r[i].severity =
				    c->severity == SEVERITY_FAIL ? DIAG_FAIL : DIAG_WARN;
			}
			env->rules = r;
		}
	}
	env->adjtimex = adjtimex;
	env->dstate_sample_ns = 200 * NSEC_PER_MSEC;
}

void diag_env_release(struct diag_env *env)
{
	free((void *)env->rules);
	env->rules = NULL;
	env->n_rules = 0;
}
