/* common/node/metrics.c - Prometheus metrics of the node: containers from their cgroups (v1 and
 * v2), relist timing, pulls and events from the journal (DESIGN.md "diagnose"; issue 8) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/node/listing.h"
#include "common/node/metrics.h"
#include "common/node/prom.h"
#include "common/node/relist.h"
#include "common/runtime/cgroup.h"
#include "common/store/event.h"
#include "common/store/journal.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"
#include "common/util/units.h"

/* The first number in dir/file, or the value of "key " in it; -1 when missing. */
static double read_num(const char *dir, const char *file, const char *key)
{
	cleanup_free char *path = NULL, *text = NULL;
	struct err e = ERR_INIT;
	const char *p;

	if (!dir)
		return -1;
	path = path_join(dir, file);
	if (fs_read_file(path, 64 * 1024, &text, NULL, &e) < 0)
		return -1;
	p = text;
	if (key) {
		size_t kl = strlen(key);

		for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
			if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
				break;
		if (!p)
			return -1;
		p += kl + 1;
	}
	if (strncmp(p, "max", 3) == 0)
		return -1;
	return strtod(p, NULL);
}

/* CPU seconds of the processes in a v1 cgroup directory (utime + stime, and cutime + cstime of
 * the children they reaped, from <proc>/PID/stat): for hosts where the container has no cpuacct
 * cgroup of its own (cpuacct mounted apart from cpu). -1 when dir lists no process. */
static double procs_cpu(const struct ctx *ctx, const char *dir)
{
	cleanup_free char *path = NULL, *procs = NULL;
	struct err e = ERR_INIT;
	long tck = sysconf(_SC_CLK_TCK);
	double ticks = 0;
	size_t n = 0;

	if (!dir || tck <= 0)
		return -1;
	path = path_join(dir, "cgroup.procs");
	if (fs_read_file(path, 1 << 20, &procs, NULL, &e) < 0)
		return -1;
	for (char *p = procs, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);
		cleanup_free char *rel = NULL, *stat = NULL;
		unsigned long long ut, st, cut, cst;
		const char *rp;

		if (end == p)
			break;
		rel = xasprintf("%ld/stat", pid);
		if (host_read(ctx, HOST_PROC, rel, 4096, &stat, &e) < 0 ||
		    !(rp = strrchr(stat, ')')) ||
		    sscanf(rp + 1,
		           " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut,
		           &st, &cut, &cst) != 4)
			continue;
		ticks += (double)(ut + st + cut + cst);
		n++;
	}
	return n ? ticks / (double)tck : -1;
}

struct cfig {
	double cpu_s, mem, ws;
	bool ok;
};

static struct cfig cgroup_figures(const struct ctx *ctx, enum cgroup_mode mode, const char *id)
{
	struct cgroup cg;
	struct cfig f = {0};
	double inactive;

	cgroup_paths(ctx, mode, id, &cg);
	if (mode == CGROUP_V2) {
		f.cpu_s = read_num(cg.unified, "cpu.stat", "usage_usec") / 1e6;
		f.mem = read_num(cg.unified, "memory.current", NULL);
		inactive = read_num(cg.unified, "memory.stat", "inactive_file");
	} else {
		/* cpuacct may be its own hierarchy or co-mounted with cpu */
		static const char *const acct[] = {"cpuacct", "cpu,cpuacct", "cpuacct,cpu"};
		double ns = -1;

		for (size_t i = 0; i < ARRAY_SIZE(acct) && ns < 0; i++) {
			cleanup_free char *dir =
			    xasprintf("%s/%s/" CGROUP_PARENT "/%s", ctx->path.cgroup, acct[i], id);
			ns = read_num(dir, "cpuacct.usage", NULL);
		}
		if (ns < 0)
			ns = read_num(cg.cpu, "cpuacct.usage", NULL);
		f.cpu_s = ns < 0 ? procs_cpu(ctx, cg.memory) : ns / 1e9;
		f.mem = read_num(cg.memory, "memory.usage_in_bytes", NULL);
		inactive = read_num(cg.memory, "memory.stat", "total_inactive_file");
	}
	f.ok = f.mem >= 0;
	/* cAdvisor's working set: usage less inactive file pages, never below 0 */
	f.ws = f.mem - (inactive > 0 ? inactive : 0);
	if (f.ws < 0)
		f.ws = 0;
	cgroup_release(&cg);
	return f;
}

static void containers(const struct ctx *ctx, struct buf *b)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"container_cpu_usage_seconds_total", "counter",
	     "Cumulative CPU time consumed in seconds."},
	    {"container_memory_usage_bytes", "gauge",
	     "Current memory usage in bytes, including cache."},
	    {"container_memory_working_set_bytes", "gauge",
	     "Current working set in bytes (usage less inactive file pages)."},
	    {"container_oom_events_total", "counter",
	     "Count of out of memory kills in the container."},
	    {"container_start_time_seconds", "gauge",
	     "Start time of the container since unix epoch in seconds."},
	    {"container_last_seen", "gauge", "Last time a container was seen by the exporter."},
	};
	struct listing l = {0};
	struct err e = ERR_INIT;
	enum cgroup_mode mode;
	struct cfig *f;
	double *ooms;
	double now = (double)ctx->now_ns() / 1e9;

	if (cgroup_detect(ctx, &mode, &e) < 0 || listing_read(ctx, &l, &e) < 0) {
		for (size_t k = 0; k < ARRAY_SIZE(fam); k++)
			prom_family(b, fam[k].name, fam[k].type, fam[k].help);
		return;
	}
	f = xcalloc(l.n + 1, sizeof(*f));
	ooms = xcalloc(l.n + 1, sizeof(*ooms));
	for (size_t i = 0; i < l.n; i++) {
		struct cgroup cg;
		uint64_t oom = 0;

		if (l.v[i].status != STATUS_RUNNING)
			continue;
		f[i] = cgroup_figures(ctx, mode, l.v[i].doc.id);
		cgroup_paths(ctx, mode, l.v[i].doc.id, &cg);
		ooms[i] = cgroup_oom_kills(&cg, &oom, &e) == 0 ? (double)oom : -1;
		cgroup_release(&cg);
	}
	for (size_t k = 0; k < ARRAY_SIZE(fam); k++) {
		prom_family(b, fam[k].name, fam[k].type, fam[k].help);
		for (size_t i = 0; i < l.n; i++) {
			const struct listing_entry *le = &l.v[i];
			const char *kv[] = {"id",    le->doc.id,
			                    "name",  le->doc.name ? le->doc.name : "",
			                    "image", le->doc.image ? le->doc.image : ""};
			double v;

			if (!f[i].ok)
				continue;
			switch (k) {
			case 0:
				v = f[i].cpu_s;
				break;
			case 1:
				v = f[i].mem;
				break;
			case 2:
				v = f[i].ws;
				break;
			case 3:
				v = ooms[i];
				break;
			case 4:
				v = (double)le->st.started_ns / 1e9;
				break;
			default:
				v = now;
				break;
			}
			if (v >= 0)
				prom_sample(b, fam[k].name, v, 3, kv);
		}
	}
	free(f);
	free(ooms);
	listing_release(&l);
}

static void relist(const struct ctx *ctx, struct buf *b)
{
	struct relist_timing t;
	struct err e = ERR_INIT;

	if (relist_timing_load(ctx, &t, &e) < 0)
		return;
	prom_histogram(b, "ctrbox_relist_duration_seconds",
	               "Duration of ctrbox relists (kubelet's PLEG relist) in seconds.",
	               relist_bucket_le, t.buckets, RELIST_BUCKETS, t.count,
	               (double)t.sum_ns / 1e9);
	prom_histogram(b, "ctrbox_relist_interval_seconds",
	               "Interval between the starts of consecutive ctrbox relists in seconds.",
	               relist_interval_le, t.interval_buckets, RELIST_INTERVAL_BUCKETS,
	               t.interval_count, (double)t.interval_sum_ns / 1e9);
	prom_family(b, "ctrbox_relist_last_completion_timestamp_seconds", "gauge",
	            "When the last relist completed, since unix epoch in seconds.");
	prom_sample(b, "ctrbox_relist_last_completion_timestamp_seconds",
	            (double)t.last_finished_ns / 1e9, 0, NULL);
}

double metrics_parse_size(const char *s)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {{"B", 1}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15}};
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strcmp(end, units[i].unit) == 0)
			return v * units[i].mult;
	return -1;
}

struct ev_count {
	char *reason;
	enum event_type type;
	uint64_t n;
};

/* "pulled image NAME (12.3MB fetched in 1.24s, 3 layers, linux/amd64)" */
static void pulled(const struct event *ev, double *bytes, double *secs)
{
	const char *p = ev->message ? strrchr(ev->message, '(') : NULL;
	char size[32], dur[32];
	int64_t ns;
	struct err e = ERR_INIT;

	if (!p || sscanf(p, "(%31s fetched in %31[^,]", size, dur) != 2)
		return;
	if (metrics_parse_size(size) >= 0)
		*bytes += metrics_parse_size(size);
	if (units_parse_duration(dur, &ns, &e) == 0)
		*secs += (double)ns / 1e9;
}

static int journal(const struct ctx *ctx, struct buf *b, struct err *e)
{
	struct journal_reader *r = NULL;
	struct ev_count *c = NULL;
	size_t n = 0;
	double pulls = 0, bytes = 0, secs = 0;
	struct event ev = {0};
	int got;

	if (journal_reader_open(ctx, &r, e) < 0)
		return -1;
	while ((got = journal_next(r, &ev, e)) > 0) {
		size_t i;

		for (i = 0; i < n; i++)
			if (c[i].type == ev.type && strcmp(c[i].reason, ev.reason) == 0)
				break;
		if (i == n) {
			c = xreallocarray(c, n + 1, sizeof(*c));
			c[n++] = (struct ev_count){xstrdup(ev.reason), ev.type, 0};
		}
		c[i].n++;
		if (strcmp(ev.reason, "Pulled") == 0) {
			pulls++;
			pulled(&ev, &bytes, &secs);
		}
		event_release(&ev);
	}
	journal_reader_free(r);
	if (got < 0) {
		for (size_t i = 0; i < n; i++)
			free(c[i].reason);
		free(c);
		return -1;
	}
	prom_family(b, "ctrbox_pulls_total", "counter",
	            "Images pulled, from the journal's Pulled events.");
	prom_sample(b, "ctrbox_pulls_total", pulls, 0, NULL);
	prom_family(b, "ctrbox_pull_bytes_total", "counter",
	            "Bytes fetched by pulls, as journaled (three significant digits).");
	prom_sample(b, "ctrbox_pull_bytes_total", bytes, 0, NULL);
	prom_family(b, "ctrbox_pull_seconds_total", "counter", "Seconds spent pulling images.");
	prom_sample(b, "ctrbox_pull_seconds_total", secs, 0, NULL);
	prom_family(b, "ctrbox_events_total", "counter",
	            "Events in the journal by reason and type.");
	for (size_t i = 0; i < n; i++) {
		const char *kv[] = {"reason", c[i].reason, "type", event_type_name(c[i].type)};

		prom_sample(b, "ctrbox_events_total", (double)c[i].n, 2, kv);
		free(c[i].reason);
	}
	free(c);
	return 0;
}

int metrics_collect(const struct ctx *ctx, struct buf *b, struct err *e)
{
	containers(ctx, b);
	relist(ctx, b);
	return journal(ctx, b, e);
}
