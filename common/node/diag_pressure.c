/* common/node/diag_pressure.c - the pressure check: PSI for io, memory and cpu, system-wide and
 * per running container on cgroup v2 (DESIGN.md lesson 5, "diagnose"; issue 8) */
#include <stdio.h>
#include <string.h>

#include "common/node/diag.h"
#include "common/node/listing.h"
#include "common/runtime/cgroup.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"

static const struct {
	const char *res;      /* the PSI resource: pressure/<res>, <res>.pressure */
	const char *reason;   /* the event reason when it is high */
	const char *remedy;
} resources[] = {
    {"io", "IOPressure",
     "find the writers (iotop -o, /proc/PID/io) and move image pulls and bulk writes off this "
     "disk or throttle them (io.max)"},
    {"memory", "MemoryPressure",
     "the node is reclaiming: lower containers' memory use or limits, or move work off the "
     "node"},
    {"cpu", "CPUPressure",
     "the CPUs are oversubscribed: lower containers' --cpus or move work off the node"},
};

static double max2(double a, double b)
{
	return a > b ? a : b;
}

/* Judges one PSI reading; who is "" for the node or "container NAME ". */
static void judge(const struct diag_env *env, struct diag_result *r, size_t i, const char *who,
                  const struct psi *p)
{
	const struct diag_thresholds *th = &env->th;
	double some = max2(p->some_avg10, p->some_avg60);
	double full = p->has_full ? max2(p->full_avg10, p->full_avg60) : 0;
	const char *res = resources[i].res;

	/* cpu "full" is meaningless system-wide (always 0 there), so only "some" is judged for it */
	if (strcmp(res, "cpu") == 0)
		full = 0;
	if (some >= th->psi_some_fail)
		diag_set(r, DIAG_FAIL, resources[i].reason, resources[i].remedy,
		         "%s%s pressure: some %.1f%% >= %.0f%%", who, res, some, th->psi_some_fail);
	else if (full >= th->psi_full_fail)
		diag_set(r, DIAG_FAIL, resources[i].reason, resources[i].remedy,
		         "%s%s pressure: full %.1f%% >= %.0f%%", who, res, full, th->psi_full_fail);
	else if (some >= th->psi_some_warn)
		diag_set(r, DIAG_WARN, resources[i].reason, resources[i].remedy,
		         "%s%s pressure: some %.1f%% >= %.0f%%", who, res, some, th->psi_some_warn);
	else if (full >= th->psi_full_warn)
		diag_set(r, DIAG_WARN, resources[i].reason, resources[i].remedy,
		         "%s%s pressure: full %.1f%% >= %.0f%%", who, res, full, th->psi_full_warn);
}

static void evidence(struct diag_result *r, const char *prefix, const char *res,
                     const struct psi *p)
{
	char key[160];

	snprintf(key, sizeof(key), "%s%s_some_avg10_percent", prefix, res);
	diag_num(r, key, p->some_avg10);
	snprintf(key, sizeof(key), "%s%s_some_avg60_percent", prefix, res);
	diag_num(r, key, p->some_avg60);
	if (p->has_full) {
		snprintf(key, sizeof(key), "%s%s_full_avg10_percent", prefix, res);
		diag_num(r, key, p->full_avg10);
		snprintf(key, sizeof(key), "%s%s_full_avg60_percent", prefix, res);
		diag_num(r, key, p->full_avg60);
	}
}

/* Per-container PSI lives in the container's cgroup2 directory (v2 only: v1 has none). */
static void containers(const struct diag_env *env, struct diag_result *r)
{
	struct listing l = {0};
	struct err e = ERR_INIT;
	enum cgroup_mode mode;
	size_t n = 0;

	if (cgroup_detect(env->ctx, &mode, &e) < 0 || mode != CGROUP_V2)
		return;
	if (listing_read(env->ctx, &l, &e) < 0)
		return;
	for (size_t c = 0; c < l.n; c++) {
		const struct listing_entry *le = &l.v[c];
		struct cgroup cg;
		char who[128], prefix[96];

		if (le->status != STATUS_RUNNING)
			continue;
		cgroup_paths(env->ctx, mode, le->doc.id, &cg);
		snprintf(who, sizeof(who), "container %s: ", le->doc.name ? le->doc.name : le->doc.id);
		snprintf(prefix, sizeof(prefix), "container_%.12s_", le->doc.id);
		for (size_t i = 0; i < ARRAY_SIZE(resources); i++) {
			cleanup_free char *path = xasprintf("%s/%s.pressure", cg.unified,
			                                    resources[i].res);
			cleanup_free char *text = NULL;
			struct psi p;

			if (fs_read_file(path, 4096, &text, NULL, &e) < 0 ||
			    psi_parse(text, &p, &e) < 0)
				continue;
			evidence(r, prefix, resources[i].res, &p);
			judge(env, r, i, who, &p);
		}
		cgroup_release(&cg);
		n++;
	}
	diag_num(r, "containers_checked", (double)n);
	listing_release(&l);
}

int diag_check_pressure(const struct diag_env *env, struct diag_result *r)
{
	size_t found = 0;

	for (size_t i = 0; i < ARRAY_SIZE(resources); i++) {
		cleanup_free char *rel = xasprintf("pressure/%s", resources[i].res);
		cleanup_free char *text = NULL;
		struct err e = ERR_INIT;
		struct psi p;

		if (host_read(env->ctx, HOST_PROC, rel, 4096, &text, &e) < 0) {
			if (e.code != E_NOTFOUND)
				diag_text(r, resources[i].res, "unreadable: %s", e.msg);
			continue;
		}
		if (psi_parse(text, &p, &e) < 0) {
			diag_text(r, resources[i].res, "%s", e.msg);
			continue;
		}
		found++;
		evidence(r, "", resources[i].res, &p);
		judge(env, r, i, "", &p);
	}
	if (found == 0) {
		diag_set(r, DIAG_UNKNOWN, NULL,
		         "boot with psi=1 (a kernel with CONFIG_PSI) so pressure can be measured",
		         "PSI is not available (no readable /proc/pressure)");
		return 0;
	}
	containers(env, r);
	if (!r->summary)
		diag_set(r, DIAG_OK, NULL, NULL, "io, memory and cpu pressure below %.0f%%",
		         env->th.psi_some_warn);
	return 0;
}
