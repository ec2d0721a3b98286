/* common/node/relist.c - one PLEG relist (DESIGN.md lesson 1 and "relist"; issue 7): the listing
 * (lock-free, processes checked) against the previous snapshot, the lifecycle events between
 * them, the new snapshot and the timing histogram, all under STATE/relist/lock so concurrent
 * relists take turns, and the events journaled with source "relist". */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/node/listing.h"
#include "common/node/relist.h"
#include "common/store/doc.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define RELIST_LOCK_WAIT_NS (30LL * NSEC_PER_SEC)

const double relist_bucket_le[RELIST_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                 0.5,   1,    2.5,   5,    10};

const double relist_interval_le[RELIST_INTERVAL_BUCKETS] = {0.5, 0.95, 1.05, 1.1, 1.25, 1.5, 2,
                                                            5,   10,   30,   60,  120,  180};

double relist_quantile_le(const uint64_t *buckets, const double *le, size_t n, uint64_t count,
                          double q)
{
	if (!count)
		return NAN;
	for (size_t i = 0; i < n; i++)
		if ((double)buckets[i] >= q * (double)count)
			return le[i];
	return INFINITY;
}

static const char *const reasons[] = {
    [RELIST_STARTED] = "ContainerStarted", [RELIST_DIED] = "ContainerDied",
    [RELIST_REMOVED] = "ContainerRemoved", [RELIST_CHANGED] = "ContainerChanged",
    [RELIST_SHIM_LOST] = "ShimLost",
};

const char *relist_kind_reason(enum relist_kind k)
{
	return (size_t)k < ARRAY_SIZE(reasons) ? reasons[k] : "ContainerChanged";
}

/* One container as the snapshot keeps it: the live status compared between relists, and what
 * its records said with their stat keys, so an unchanged record is not read again. */
struct snap {
	char id[65];
	char *name;
	enum units_status status;
	int pid;
	uint64_t pid_start_time;
	int exit_code;
	bool oom_killed;
	struct container_state st; /* as recorded (status, pids, start times, exit) */
	bool has_state;
	struct listing_key dk, sk;
	/* Not in snapshot.json: what relist --watch keeps between relists. shim_alive: this
	 * relist found the shim alive (or, in the previous snapshot, its pidfd vouches for it);
	 * pidfd: the shim's, owned here when has_pidfd (never copied with the struct). */
	bool shim_alive, has_pidfd;
	int pidfd;
};

static void snaps_free(struct snap *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void snaps_close_pidfds(struct snap *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].has_pidfd) {
			close(v[i].pidfd);
			v[i].has_pidfd = false;
		}
}

/* Which shims still live, for every pidfd in v at once: one poll(2) instead of an open, a read
 * and a close of /proc/PID/stat per running container. A pidfd that signals (the shim exited,
 * reaped or not) is closed; the others vouch for their shim (shim_alive). */
static void snaps_poll_pidfds(struct snap *v, size_t n)
{
	cleanup_free struct pollfd *pfd = NULL;
	cleanup_free size_t *idx = NULL;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		v[i].shim_alive = false;
	pfd = xcalloc(n ? n : 1, sizeof(*pfd));
	idx = xcalloc(n ? n : 1, sizeof(*idx));
	for (size_t i = 0; i < n; i++)
		if (v[i].has_pidfd) {
			pfd[k].fd = v[i].pidfd;
			pfd[k].events = POLLIN;
			idx[k++] = i;
		}
	if (!k)
		return;
	if (poll(pfd, k, 0) < 0) {
		snaps_close_pidfds(v, n); /* nothing vouched for: the listing checks /proc */
		return;
	}
	for (size_t j = 0; j < k; j++) {
		struct snap *s = &v[idx[j]];

		if (pfd[j].revents) {
			close(s->pidfd);
			s->has_pidfd = false;
		} else {
			s->shim_alive = true;
		}
	}
}

static int snap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap *)a)->id, ((const struct snap *)b)->id);
}

/* snapshot.json holds one JSON string per container, its fields separated by single spaces in
 * this order, the name last (it may be empty, and is the only field that may hold spaces):
 * parsing 1,000 objects of 13 members with json-c took more CPU than all the rest of a relist,
 * one string each takes a fraction. The document says its format and its fields. */
#define SNAPSHOT_FORMAT 2
#define SNAPSHOT_FIELDS                                                                            \
	"id status recorded_status has_state pid pid_start_time exit_code oom_killed shim_pid "    \
	"shim_start_time doc_ino state_dev state_ino state_size state_mtime_ns state_ctime_ns "    \
	"name"

/* The next space-terminated integer at *p; false when there is none. */
static bool row_int(const char **p, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(*p, &end, 10);
	if (end == *p || errno || *end != ' ')
		return false;
	*out = v;
	*p = end + 1;
	return true;
}

/* The next space-terminated word at *p, a status word; false when there is none. */
static bool row_status(const char **p, enum units_status *out)
{
	const char *sp = strchr(*p, ' ');
	char w[16];

	if (!sp || (size_t)(sp - *p) >= sizeof(w))
		return false;
	memcpy(w, *p, (size_t)(sp - *p));
	w[sp - *p] = '\0';
	*p = sp + 1;
	return listing_status_parse(w, out) == 0;
}

/* One row into s (name allocated); false when it is malformed. */
static bool row_parse(const char *row, struct snap *s)
{
	const char *p = row;
	int64_t f[15];

	memset(s, 0, sizeof(*s));
	if (strlen(row) < 65 || row[64] != ' ')
		return false;
	memcpy(s->id, row, 64);
	p = row + 65;
	if (!row_status(&p, &s->status) || !row_status(&p, &s->st.status))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (!row_int(&p, &f[i]))
			return false;
	s->has_state = f[0] != 0;
	s->pid = s->st.pid = (int)f[1];
	s->pid_start_time = s->st.pid_start_time = (uint64_t)f[2];
	s->exit_code = s->st.exit_code = (int)f[3];
	s->oom_killed = s->st.oom_killed = f[4] != 0;
	s->st.shim_pid = (int)f[5];
	s->st.shim_start_time = (uint64_t)f[6];
	s->dk.ino = (uint64_t)f[7];
	s->sk.dev = (uint64_t)f[8];
	s->sk.ino = (uint64_t)f[9];
	s->sk.size = f[10];
	s->sk.mtime_ns = f[11];
	s->sk.ctime_ns = f[12];
	/* f[13], f[14]: reserved, written as 0 */
	s->name = *p ? xstrdup(p) : NULL;
	return true;
}

static void row_format(struct buf *b, const struct snap *s)
{
	buf_reset(b);
	buf_printf(b, "%s %s %s %d %d %lld %d %d %d %lld %lld %lld %lld %lld %lld %lld 0 0 %s",
	           s->id, listing_status_word(s->status), listing_status_word(s->st.status),
	           s->has_state ? 1 : 0, s->pid, (long long)s->pid_start_time, s->exit_code,
	           s->oom_killed ? 1 : 0, s->st.shim_pid, (long long)s->st.shim_start_time,
	           (long long)s->dk.ino, (long long)s->sk.dev, (long long)s->sk.ino,
	           (long long)s->sk.size, (long long)s->sk.mtime_ns, (long long)s->sk.ctime_ns,
	           s->name ? s->name : "");
}

/* The previous snapshot, sorted by ID. *found false (and nothing) when there is none or it is
 * damaged: the relist then starts afresh, as kubelet's first relist does. */
static void snapshot_load(const struct ctx *ctx, const char *path, struct snap **out, size_t *n,
                          bool *found)
{
	cleanup_json struct json_object *o = NULL;
	struct json_object *arr = NULL;
	struct err e = ERR_INIT;
	struct snap *v = NULL;
	int64_t format = 0;
	size_t cnt = 0, len;

	*out = NULL;
	*n = 0;
	*found = false;
	if (doc_read(path, &o, &e) < 0) {
		if (e.code != E_NOTFOUND)
			log_warn(ctx, "%s: %s; starting afresh", path, e.msg);
		return;
	}
	if (jsonio_get_int(o, "format", false, &format, &e) < 0 || format != SNAPSHOT_FORMAT) {
		log_warn(ctx, "%s: not in format %d; starting afresh", path, SNAPSHOT_FORMAT);
		return;
	}
	if (jsonio_get_array(o, "containers", true, &arr, &e) < 0) {
		log_warn(ctx, "%s: %s; starting afresh", path, e.msg);
		return;
	}
	len = json_object_array_length(arr);
	v = xcalloc(len ? len : 1, sizeof(*v));
	for (size_t i = 0; i < len; i++) {
		struct json_object *c = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(c, json_type_string) ||
		    !row_parse(json_object_get_string(c), &v[cnt])) {
			log_warn(ctx, "%s: entry %zu is damaged; starting afresh", path, i);
			snaps_free(v, cnt);
			return;
		}
		cnt++;
	}
	qsort(v, cnt, sizeof(*v), snap_cmp);
	*out = v;
	*n = cnt;
	*found = true;
}

static int snapshot_save(const char *path, const struct snap *v, size_t n, int64_t now,
                         struct err *e)
{
	cleanup_json struct json_object *o = json_object_new_object();
	cleanup_buf struct buf row = BUF_INIT;
	struct json_object *arr = json_object_new_array_ext(n ? (int)n : 1);

	jsonio_set_time(o, "time", now);
	jsonio_set_int(o, "format", SNAPSHOT_FORMAT);
	jsonio_set_str(o, "fields", SNAPSHOT_FIELDS);
	for (size_t i = 0; i < n; i++) {
		row_format(&row, &v[i]);
		json_object_array_add(arr, json_object_new_string_len(buf_str(&row), (int)row.len));
	}
	json_object_object_add(o, "containers", arr);
	/* STATE is tmpfs: atomic, no fsync */
	return doc_write(path, o, 0, e);
}

static bool key_same(const struct listing_key *a, const struct listing_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static bool snaps_same(const struct snap *a, size_t na, const struct snap *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].id, b[i].id) != 0 || a[i].status != b[i].status ||
		    a[i].pid != b[i].pid || a[i].pid_start_time != b[i].pid_start_time ||
		    a[i].exit_code != b[i].exit_code || a[i].oom_killed != b[i].oom_killed ||
		    a[i].st.status != b[i].st.status || a[i].st.shim_pid != b[i].st.shim_pid ||
		    a[i].st.shim_start_time != b[i].st.shim_start_time ||
		    a[i].has_state != b[i].has_state || !key_same(&a[i].dk, &b[i].dk) ||
		    !key_same(&a[i].sk, &b[i].sk) ||
		    strcmp(a[i].name ? a[i].name : "", b[i].name ? b[i].name : "") != 0)
			return false;
	return true;
}

struct prev_lookup {
	const struct snap *v;
	size_t n;
	struct listing_entry scratch;
};

/* listing_read_since's view of the previous snapshot. */
static const struct listing_entry *prev_find(const char *id, void *arg)
{
	struct prev_lookup *pl = arg;
	struct snap key = {0};
	const struct snap *p;

	memcpy(key.id, id, strnlen(id, 64));
	p = pl->n ? bsearch(&key, pl->v, pl->n, sizeof(*pl->v), snap_cmp) : NULL;
	if (!p || !p->dk.ino)
		return NULL;
	memset(&pl->scratch, 0, sizeof(pl->scratch));
	memcpy(pl->scratch.doc.id, p->id, sizeof(p->id));
	pl->scratch.doc.name = p->name; /* borrowed: listing copies it */
	pl->scratch.st = p->st;
	pl->scratch.has_state = p->has_state;
	pl->scratch.doc_key = p->dk;
	pl->scratch.state_key = p->sk;
	pl->scratch.shim_alive = p->has_pidfd && p->shim_alive;
	return &pl->scratch;
}

static void add_event(struct relist_result *r, enum relist_kind kind, const struct snap *before,
                      const struct snap *after, char *message)
{
	const struct snap *s = after ? after : before;
	struct relist_event *ev;

	r->events = xreallocarray(r->events, r->n_events + 1, sizeof(*r->events));
	ev = &r->events[r->n_events++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->type = EVENT_NORMAL;
	memcpy(ev->id, s->id, 65);
	ev->name = s->name ? xstrdup(s->name) : NULL;
	ev->had_before = before != NULL;
	ev->before = before ? before->status : STATUS_CREATED;
	ev->after = after ? after->status : before->status;
	ev->exit_code = after ? after->exit_code : 0;
	ev->message = message;
	if (kind == RELIST_SHIM_LOST ||
	    (kind == RELIST_DIED && after && (after->exit_code != 0 || after->oom_killed)))
		ev->type = EVENT_WARNING;
}

/* The events between a container's previous and current state (kubelet's generateEvents). */
static void compare_one(struct relist_result *r, const struct snap *b, const struct snap *a)
{
	if (!a) {
		add_event(r, RELIST_REMOVED, b, NULL, xstrdup("container removed"));
		return;
	}
	if (b && b->status == a->status) {
		if (a->status == STATUS_RUNNING &&
		    (b->pid != a->pid || b->pid_start_time != a->pid_start_time))
			add_event(r, RELIST_CHANGED, b, a,
			          xasprintf("running under a new process (pid %d, was %d)", a->pid,
			                    b->pid));
		return;
	}
	switch (a->status) {
	case STATUS_RUNNING:
		if (b && b->status == STATUS_PAUSED)
			add_event(r, RELIST_CHANGED, b, a, xstrdup("container unpaused"));
		else
			add_event(r, RELIST_STARTED, b, a,
			          xasprintf("container started (pid %d)", a->pid));
		break;
	case STATUS_STOPPED:
		add_event(r, RELIST_DIED, b, a,
		          xasprintf("container exited with status %d%s", a->exit_code,
		                    a->oom_killed ? " (OOM killed)" : ""));
		break;
	case STATUS_UNKNOWN:
		add_event(
		    r, RELIST_SHIM_LOST, b, a,
		    xstrdup("recorded as running but its shim is gone: nobody will record its "
		            "exit"));
		break;
	case STATUS_PAUSED:
		add_event(r, RELIST_CHANGED, b, a, xstrdup("container paused"));
		break;
	case STATUS_CREATED:
		/* a new container not started yet is no lifecycle event; a reset one is a change */
		if (b)
			add_event(r, RELIST_CHANGED, b, a,
			          xasprintf("container is created again (was %s)",
			                    listing_status_word(b->status)));
		break;
	}
}

static void timing_to_json(const struct relist_timing *t, struct json_object *o)
{
	struct json_object *arr = json_object_new_array();

	jsonio_set_time(o, "last_started", t->last_started_ns);
	jsonio_set_time(o, "last_finished", t->last_finished_ns);
	jsonio_set_int(o, "last_duration_ns", t->last_duration_ns);
	jsonio_set_int(o, "last_interval_ns", t->last_interval_ns);
	jsonio_set_int(o, "count", (int64_t)t->count);
	jsonio_set_int(o, "sum_ns", t->sum_ns);
	for (size_t i = 0; i < RELIST_BUCKETS; i++)
		json_object_array_add(arr, json_object_new_int64((int64_t)t->buckets[i]));
	json_object_object_add(o, "buckets", arr);
	jsonio_set_int(o, "interval_count", (int64_t)t->interval_count);
	jsonio_set_int(o, "interval_sum_ns", t->interval_sum_ns);
	arr = json_object_new_array();
	for (size_t i = 0; i < RELIST_INTERVAL_BUCKETS; i++)
		json_object_array_add(arr, json_object_new_int64((int64_t)t->interval_buckets[i]));
	json_object_object_add(o, "interval_buckets", arr);
}

static int timing_path_load(const char *path, struct relist_timing *out, struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	struct json_object *arr = NULL, *iarr = NULL;
	struct relist_timing t = {0};
	int64_t count = 0, icount = 0;

	if (doc_read(path, &o, e) < 0)
		return -1;
	if (jsonio_get_time(o, "last_started", true, &t.last_started_ns, e) < 0 ||
	    jsonio_get_time(o, "last_finished", true, &t.last_finished_ns, e) < 0 ||
	    jsonio_get_int(o, "last_duration_ns", true, &t.last_duration_ns, e) < 0 ||
	    jsonio_get_int(o, "last_interval_ns", false, &t.last_interval_ns, e) < 0 ||
	    jsonio_get_int(o, "count", true, &count, e) < 0 ||
	    jsonio_get_int(o, "sum_ns", true, &t.sum_ns, e) < 0 ||
	    jsonio_get_array(o, "buckets", true, &arr, e) < 0 ||
	    /* absent from a timing written before intervals had a histogram: counted from now */
	    jsonio_get_int(o, "interval_count", false, &icount, e) < 0 ||
	    jsonio_get_int(o, "interval_sum_ns", false, &t.interval_sum_ns, e) < 0 ||
	    jsonio_get_array(o, "interval_buckets", false, &iarr, e) < 0) {
		e->code = E_CORRUPT;
		return err_wrap(e, "%s", path);
	}
	if (json_object_array_length(arr) != RELIST_BUCKETS || count < 0)
		return err_set(e, E_CORRUPT, "%s: expected %d buckets", path, RELIST_BUCKETS);
	if ((iarr && json_object_array_length(iarr) != RELIST_INTERVAL_BUCKETS) || icount < 0 ||
	    (!iarr && icount))
		return err_set(e, E_CORRUPT, "%s: expected %d interval buckets", path,
		               RELIST_INTERVAL_BUCKETS);
	for (size_t i = 0; i < RELIST_BUCKETS; i++)
		t.buckets[i] = (uint64_t)json_object_get_int64(json_object_array_get_idx(arr, i));
	for (size_t i = 0; iarr && i < RELIST_INTERVAL_BUCKETS; i++)
		t.interval_buckets[i] =
		    (uint64_t)json_object_get_int64(json_object_array_get_idx(iarr, i));
	t.count = (uint64_t)count;
	t.interval_count = (uint64_t)icount;
	*out = t;
	return 0;
}

int relist_timing_load(const struct ctx *ctx, struct relist_timing *out, struct err *e)
{
	cleanup_free char *dir = store_relist_dir(ctx);
	cleanup_free char *path = path_join(dir, "timing.json");

	return timing_path_load(path, out, e);
}

static void journal_events(const struct ctx *ctx, const struct relist_result *r)
{
	for (size_t i = 0; i < r->n_events; i++) {
		const struct relist_event *ev = &r->events[i];
		struct err je = ERR_INIT;

		if (event_emit(ctx, ev->type, relist_kind_reason(ev->kind), OBJECT_CONTAINER,
		               ev->id, ev->name, "relist", &je, "%s", ev->message) < 0)
			log_warn(ctx, "journal: %s", je.msg);
	}
}

struct relist_cache {
	struct snap *v; /* the snapshot as the last relist of this process left it */
	size_t n;
	struct listing_key key; /* snapshot.json's key then: another relist changes it */
	bool valid;
};

struct relist_cache *relist_cache_new(void)
{
	return xcalloc(1, sizeof(struct relist_cache));
}

void relist_cache_free(struct relist_cache *c)
{
	if (!c)
		return;
	snaps_close_pidfds(c->v, c->n);
	snaps_free(c->v, c->n);
	free(c);
}

static void file_key(const char *path, struct listing_key *k)
{
	struct stat st;

	memset(k, 0, sizeof(*k));
	if (stat(path, &st) < 0)
		return;
	k->dev = (uint64_t)st.st_dev;
	k->ino = (uint64_t)st.st_ino;
	k->size = (int64_t)st.st_size;
	k->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
}

int relist_once(const struct ctx *ctx, struct relist_result *r, struct err *e)
{
	return relist_once_cached(ctx, NULL, r, e);
}

int relist_once_cached(const struct ctx *ctx, struct relist_cache *cache, struct relist_result *r,
                       struct err *e)
{
	cleanup_free char *dir = store_relist_dir(ctx);
	cleanup_free char *lockpath = path_join(dir, "lock");
	cleanup_free char *snappath = path_join(dir, "snapshot.json");
	cleanup_free char *timepath = path_join(dir, "timing.json");
	cleanup_lock struct lock lk = LOCK_INIT;
	int64_t t0 = ctx_clock_monotonic();
	struct relist_timing tm = {0};
	struct snap *prev = NULL, *cur = NULL;
	size_t nprev = 0, ncur = 0, i = 0, j = 0;
	struct listing l = {0};
	struct err te = ERR_INIT;
	bool found, had_prev;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->started_ns = ctx->now_ns();
	if (fs_mkdir_p(dir, 0700, e) < 0 || lock_take(lockpath, RELIST_LOCK_WAIT_NS, &lk, e) < 0)
		return -1;
	if (cache) {
		struct listing_key k;

		/* The snapshot this process wrote or read last, unless another relist replaced it.
		 */
		file_key(snappath, &k);
		if (cache->valid && k.ino && key_same(&k, &cache->key)) {
			prev = TAKE_PTR(cache->v);
			nprev = cache->n;
			found = true;
			snaps_poll_pidfds(prev, nprev);
		} else {
			snaps_close_pidfds(cache->v, cache->n);
			snaps_free(cache->v, cache->n);
			cache->v = NULL;
			snapshot_load(ctx, snappath, &prev, &nprev, &found);
		}
		cache->n = 0;
		cache->valid = false;
	} else {
		snapshot_load(ctx, snappath, &prev, &nprev, &found);
	}
	{
		struct prev_lookup pl = {.v = prev, .n = nprev};

		if (listing_read_since(ctx, prev_find, &pl, &l, e) < 0) {
			snaps_close_pidfds(prev, nprev);
			snaps_free(prev, nprev);
			return -1;
		}
	}
	r->first = !found;
	r->skipped = l.skipped;
	cur = xcalloc(l.n ? l.n : 1, sizeof(*cur));
	for (size_t k = 0; k < l.n; k++) {
		const struct listing_entry *c = &l.v[k];

		memcpy(cur[ncur].id, c->doc.id, 65);
		cur[ncur].name = c->doc.name ? xstrdup(c->doc.name) : NULL;
		cur[ncur].status = c->status;
		cur[ncur].pid = c->st.pid;
		cur[ncur].pid_start_time = c->st.pid_start_time;
		cur[ncur].exit_code = c->st.exit_code;
		cur[ncur].oom_killed = c->st.oom_killed;
		cur[ncur].st = c->st;
		cur[ncur].has_state = c->has_state;
		cur[ncur].shim_alive = c->shim_alive;
		/* a state that could not be read is not remembered as read */
		if (!c->state_unreadable) {
			cur[ncur].dk = c->doc_key;
			cur[ncur].sk = c->state_key;
		}
		ncur++;
	}
	/* A record that cannot be read right now keeps its previous state: no event is made up
	 * from a read error. */
	for (size_t k = 0; k < l.n; k++) {
		struct snap key = {0};
		const struct snap *p;

		if (!l.v[k].state_unreadable)
			continue;
		memcpy(key.id, l.v[k].doc.id, 65);
		p = nprev ? bsearch(&key, prev, nprev, sizeof(*prev), snap_cmp) : NULL;
		if (p) {
			free(cur[k].name);
			cur[k] = *p;
			cur[k].name = p->name ? xstrdup(p->name) : NULL;
			cur[k].has_pidfd = cur[k].shim_alive = false; /* the pidfd stays p's */
		}
	}
	for (size_t k = 0; l.unreadable && l.unreadable[k]; k++) {
		struct snap key = {0};
		const struct snap *p;

		memcpy(key.id, l.unreadable[k], strnlen(l.unreadable[k], 64));
		p = nprev ? bsearch(&key, prev, nprev, sizeof(*prev), snap_cmp) : NULL;
		if (!p)
			continue;
		cur = xreallocarray(cur, ncur + 1, sizeof(*cur));
		cur[ncur] = *p;
		cur[ncur].name = p->name ? xstrdup(p->name) : NULL;
		cur[ncur].has_pidfd = cur[ncur].shim_alive = false; /* the pidfd stays p's */
		ncur++;
	}
	qsort(cur, ncur, sizeof(*cur), snap_cmp);
	r->containers = ncur;
	/* Both sorted by ID: one merge walk. */
	while (i < nprev || j < ncur) {
		int cmp = i == nprev ? 1 : j == ncur ? -1 : strcmp(prev[i].id, cur[j].id);

		if (cmp < 0)
			compare_one(r, &prev[i++], NULL);
		else if (cmp > 0)
			compare_one(r, NULL, &cur[j++]);
		else
			compare_one(r, &prev[i++], &cur[j++]);
	}
	/* Nothing changed, not even a record's key: the snapshot on disk is still exact. */
	if ((!found || !snaps_same(prev, nprev, cur, ncur)) &&
	    snapshot_save(snappath, cur, ncur, r->started_ns, e) < 0)
		goto out;
	journal_events(ctx, r);
	if (timing_path_load(timepath, &tm, &te) < 0) {
		if (te.code != E_NOTFOUND)
			log_warn(ctx, "%s; counting afresh", te.msg);
		memset(&tm, 0, sizeof(tm));
	}
	had_prev = tm.last_started_ns != 0;
	r->interval_ns = had_prev ? r->started_ns - tm.last_started_ns : 0;
	r->duration_ns = ctx_clock_monotonic() - t0;
	tm.last_interval_ns = r->interval_ns;
	tm.last_started_ns = r->started_ns;
	tm.last_duration_ns = r->duration_ns;
	tm.last_finished_ns = ctx->now_ns();
	tm.count++;
	tm.sum_ns += r->duration_ns;
	for (size_t b = 0; b < RELIST_BUCKETS; b++)
		if ((double)r->duration_ns / 1e9 <= relist_bucket_le[b])
			tm.buckets[b]++;
	if (had_prev && r->interval_ns >= 0) {
		tm.interval_count++;
		tm.interval_sum_ns += r->interval_ns;
		for (size_t b = 0; b < RELIST_INTERVAL_BUCKETS; b++)
			if ((double)r->interval_ns / 1e9 <= relist_interval_le[b])
				tm.interval_buckets[b]++;
	}
	{
		cleanup_json struct json_object *o = json_object_new_object();

		timing_to_json(&tm, o);
		if (doc_write(timepath, o, 0, e) < 0)
			goto out;
	}
	rc = 0;
	if (cache) {
		/* Each live shim's pidfd for the next relist: the previous one's when it is the
		 * same shim, else a new one (only for shims that appeared or restarted). Half the
		 * descriptor limit at most: the rest stay for the relist's own files, and shims
		 * past it are checked in /proc. */
		struct rlimit rl;
		size_t held = 0, max_held = 512;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			max_held = (size_t)rl.rlim_cur / 2;
		for (size_t k = 0; k < ncur; k++) {
			struct snap *c = &cur[k];
			struct snap *p;

			if (!c->shim_alive || c->st.shim_pid <= 0)
				continue;
			p = nprev ? bsearch(c, prev, nprev, sizeof(*prev), snap_cmp) : NULL;
			if (p && p->has_pidfd && p->st.shim_pid == c->st.shim_pid &&
			    p->st.shim_start_time == c->st.shim_start_time) {
				c->pidfd = p->pidfd;
				c->has_pidfd = true;
				p->has_pidfd = false;
			} else if (held < max_held) {
				c->pidfd =
				    listing_pidfd(ctx, c->st.shim_pid, c->st.shim_start_time);
				c->has_pidfd = c->pidfd >= 0;
			}
			held += c->has_pidfd;
		}
		/* cur is exactly what snapshot.json now holds */
		file_key(snappath, &cache->key);
		cache->v = TAKE_PTR(cur);
		cache->n = ncur;
		cache->valid = cache->key.ino != 0;
		ncur = 0;
	}
out:
	snaps_close_pidfds(prev, nprev);
	snaps_free(prev, nprev);
	snaps_close_pidfds(cur, ncur);
	snaps_free(cur, ncur);
	listing_release(&l);
	if (rc < 0)
		relist_result_release(r);
	return rc;
}

void relist_result_release(struct relist_result *r)
{
	for (size_t i = 0; i < r->n_events; i++) {
		free(r->events[i].name);
		free(r->events[i].message);
	}
	free(r->events);
	memset(r, 0, sizeof(*r));
}
