/* common/node/diag_dstate.c - the dstate check: tasks in uninterruptible sleep, how long they have
 * been there, and where (umount, sync, fsync, writeback throttling) from their wait channel and
 * kernel stack (DESIGN.md lessons 2 and 5; issue 8).
 *
 * How long a task has been in D is not in procfs. The scheduler's /proc/PID/sched shows
 * se.exec_start, the scheduler clock when the task last got a CPU; a task in D has not run
 * since it blocked, so the time in D is at most our own se.exec_start (read from
 * /proc/self/sched, i.e. now on the same clock) minus the task's. When sched is not readable
 * (a kernel without CONFIG_SCHED_DEBUG), tasks are sampled twice env->dstate_sample_ns apart
 * and those in D both times are reported as "at least" that long. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/node/diag.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

#define DSTATE_MAX_TASKS 200000 /* bound on the walk */
#define DSTATE_SHOWN     10     /* tasks listed in the evidence */

struct dtask {
	int pid, tid;
	char comm[64];
	uint64_t starttime;
	int64_t blocked_ns; /* -1: unknown */
	char wchan[64];
	char where[96];   /* the named diagnosis, or "" */
	char frames[256]; /* the top of the kernel stack, "a < b < c" */
};

/* Kernel functions on the stack (or the wait channel), most specific first. */
static const struct {
	const char *fn, *comm, *what;
} paths[] = {
    {"wb_wait_for_completion", "umount", "hung unmount flushing dirty pages"},
    {"sync_inodes_sb", "umount", "hung unmount flushing dirty pages"},
    {"generic_shutdown_super", NULL, "unmount flushing dirty pages"},
    {"deactivate_super", NULL, "unmount flushing dirty pages"},
    {"sync_filesystem", NULL, "sync of a file system (unmount or syncfs)"},
    {"ksys_sync", NULL, "sync(2) flushing every file system"},
    {"iterate_supers", NULL, "sync(2) flushing every file system"},
    {"jbd2_log_wait_commit", NULL, "fsync waiting for the ext4 journal commit"},
    {"xfs_log_force", NULL, "fsync waiting for the XFS log"},
    {"file_write_and_wait_range", NULL, "fsync waiting for its data to reach the disk"},
    {"do_fsync", NULL, "fsync waiting for its data to reach the disk"},
    {"balance_dirty_pages", NULL, "writer throttled by the dirty limits"},
    {"wb_wait_for_completion", NULL, "waiting for writeback"},
    {"folio_wait_writeback", NULL, "waiting for a page under writeback"},
    {"wait_on_page_writeback", NULL, "waiting for a page under writeback"},
    {"rpc_wait_bit_killable", NULL, "waiting on an NFS server"},
    {"nfs_", NULL, "waiting on an NFS server"},
    {"blk_mq_get_tag", NULL, "waiting for a free request on a saturated disk"},
    {"io_schedule", NULL, "waiting for block I/O"},
};

static void classify(struct dtask *t, const char *stack)
{
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (paths[i].comm && strcmp(t->comm, paths[i].comm) != 0)
			continue;
		if ((stack && strstr(stack, paths[i].fn)) || strstr(t->wchan, paths[i].fn)) {
			snprintf(t->where, sizeof(t->where), "%s", paths[i].what);
			return;
		}
	}
}

/* "[<0>] wb_wait_for_completion+0x5a/0x90\n" lines -> "wb_wait_for_completion < ..." */
static void frames(struct dtask *t, const char *stack)
{
	size_t len = 0;
	int n = 0;

	for (const char *p = stack; p && *p && n < 6; n++) {
		const char *fn = strchr(p, ']'), *nl = strchr(p, '\n');
		size_t fl;

		if (!fn || (nl && fn > nl))
			break;
		fn++;
		while (*fn == ' ')
			fn++;
		fl = strcspn(fn, "+\n ");
		len += (size_t)snprintf(t->frames + len, sizeof(t->frames) - len, "%s%.*s",
		                        n ? " < " : "", (int)fl, fn);
		if (len >= sizeof(t->frames))
			break;
		p = nl ? nl + 1 : NULL;
	}
}

static int sched_start(const struct diag_env *env, const char *rel, int64_t *out)
{
	cleanup_free char *text = NULL;
	struct err e = ERR_INIT;

	if (host_read(env->ctx, HOST_PROC, rel, 64 * 1024, &text, &e) < 0)
		return -1;
	return sched_exec_start_parse(text, out, &e);
}

static bool numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Calls fn for every task (thread) under proc: PID/task/TID, or PID itself when it has no task
 * directory (fixture trees). */
static size_t walk_tasks(const struct diag_env *env,
                         void (*fn)(const struct diag_env *, int, int, const char *, void *),
                         void *arg)
{
	cleanup_free char *proc = host_path(env->ctx, HOST_PROC, "");
	DIR *d = opendir(proc);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < DSTATE_MAX_TASKS) {
		cleanup_free char *taskdir = NULL;
		DIR *td;
		struct dirent *te;

		if (!numeric(de->d_name))
			continue;
		taskdir = xasprintf("%s/%s/task", proc, de->d_name);
		td = opendir(taskdir);
		if (!td) {
			cleanup_free char *rel = xasprintf("%s", de->d_name);

			fn(env, atoi(de->d_name), atoi(de->d_name), rel, arg);
			n++;
			continue;
		}
		while ((te = readdir(td)) && n < DSTATE_MAX_TASKS) {
			cleanup_free char *rel = NULL;

			if (!numeric(te->d_name))
				continue;
			rel = xasprintf("%s/task/%s", de->d_name, te->d_name);
			fn(env, atoi(de->d_name), atoi(te->d_name), rel, arg);
			n++;
		}
		closedir(td);
	}
	closedir(d);
	return n;
}

struct scan {
	struct dtask *v;
	size_t n;
	int64_t now_ns; /* se.exec_start of ourselves; -1 when sched is unreadable */
};

static void scan_one(const struct diag_env *env, int pid, int tid, const char *rel, void *arg)
{
	struct scan *s = arg;
	cleanup_free char *path = xasprintf("%s/stat", rel);
	cleanup_free char *text = NULL;
	struct err e = ERR_INIT;
	struct proc_stat st;
	struct dtask *t;
	int64_t start;

	if (host_read(env->ctx, HOST_PROC, path, 4096, &text, &e) < 0 ||
	    proc_stat_parse(text, &st, &e) < 0 || st.state != 'D')
		return;
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	t = &s->v[s->n++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	t->starttime = st.starttime;
	snprintf(t->comm, sizeof(t->comm), "%s", st.comm);
	t->blocked_ns = -1;
	free(path);
	path = xasprintf("%s/sched", rel);
	/* Our own exec_start may be a tick old: a task that ran after it has just blocked. */
	if (s->now_ns >= 0 && sched_start(env, path, &start) == 0)
		t->blocked_ns = start < s->now_ns ? s->now_ns - start : 0;
}

static void details(const struct diag_env *env, struct dtask *t)
{
	cleanup_free char *wrel = xasprintf("%d/task/%d/wchan", t->pid, t->tid);
	cleanup_free char *srel = xasprintf("%d/task/%d/stack", t->pid, t->tid);
	cleanup_free char *wchan = NULL, *stack = NULL;
	struct err e = ERR_INIT;

	if (host_read(env->ctx, HOST_PROC, wrel, 256, &wchan, &e) < 0) {
		free(wrel);
		wrel = xasprintf("%d/wchan", t->pid);
		(void)host_read(env->ctx, HOST_PROC, wrel, 256, &wchan, &e);
	}
	if (host_read(env->ctx, HOST_PROC, srel, 16 * 1024, &stack, &e) < 0) {
		free(srel);
		srel = xasprintf("%d/stack", t->pid);
		(void)host_read(env->ctx, HOST_PROC, srel, 16 * 1024, &stack, &e);
	}
	/* "0" when the kernel hides it (kptr_restrict) */
	if (wchan && strcmp(str_trim(wchan), "0") != 0)
		snprintf(t->wchan, sizeof(t->wchan), "%s", str_trim(wchan));
	if (stack)
		frames(t, stack);
	classify(t, stack);
}

static int by_blocked(const void *a, const void *b)
{
	const struct dtask *x = a, *y = b;

	return x->blocked_ns < y->blocked_ns ? 1 : x->blocked_ns > y->blocked_ns ? -1 : 0;
}

int diag_check_dstate(const struct diag_env *env, struct diag_result *r)
{
	static const char remedy[] =
	    "find what the tasks wait on (the stack names it): a saturated or failing disk, a "
	    "dirty-page backlog being flushed by an unmount or sync, or a dead network file system; "
	    "avoid unmounts and syncs until writeback drains";
	struct scan s = {.now_ns = -1};
	const char *method = "sched exec_start";
	size_t tasks, shown = 0;
	int64_t longest = -1;
	int64_t now;

	if (sched_start(env, "self/sched", &now) == 0)
		s.now_ns = now;
	tasks = walk_tasks(env, scan_one, &s);
	if (tasks == 0) {
		diag_set(r, DIAG_UNKNOWN, NULL, "make /proc readable", "no tasks readable under proc");
		return 0;
	}
	if (s.n > 0 && s.now_ns < 0) {
		/* No scheduler clock: keep the tasks that are still in D after the interval. */
		struct scan again = {.now_ns = -1};
		struct timespec ts = {(time_t)(env->dstate_sample_ns / NSEC_PER_SEC),
		                      (long)(env->dstate_sample_ns % NSEC_PER_SEC)};
		size_t k = 0;

		nanosleep(&ts, NULL);
		walk_tasks(env, scan_one, &again);
		for (size_t i = 0; i < s.n; i++)
			for (size_t j = 0; j < again.n; j++)
				if (s.v[i].tid == again.v[j].tid &&
				    s.v[i].starttime == again.v[j].starttime) {
					s.v[k] = s.v[i];
					s.v[k++].blocked_ns = -1;
					break;
				}
		s.n = k;
		free(again.v);
		method = "two samples";
	}
	diag_num(r, "tasks_scanned", (double)tasks);
	diag_num(r, "tasks_in_d", (double)s.n);
	diag_text(r, "method", "%s", method);
	if (s.now_ns < 0)
		diag_num(r, "sample_interval_seconds", (double)env->dstate_sample_ns / 1e9);
	if (s.n > 1)
		qsort(s.v, s.n, sizeof(*s.v), by_blocked);
	for (size_t i = 0; i < s.n; i++) {
		struct dtask *t = &s.v[i];
		char key[48], dur[UNITS_BUFSZ];

		if (t->blocked_ns > longest)
			longest = t->blocked_ns;
		if (shown >= DSTATE_SHOWN)
			continue;
		details(env, t);
		shown++;
		if (t->blocked_ns >= 0)
			units_format_elapsed(t->blocked_ns, dur, sizeof(dur));
		else
			units_format_elapsed(env->dstate_sample_ns, dur, sizeof(dur));
		snprintf(key, sizeof(key), "task_%d", t->tid);
		diag_text(r, key, "comm=%s blocked=%s%s wchan=%s%s%s%s", t->comm,
		          t->blocked_ns >= 0 ? "" : ">=", dur, t->wchan[0] ? t->wchan : "?",
		          t->where[0] ? " diagnosis=\"" : "", t->where, t->where[0] ? "\"" : "");
		if (t->frames[0]) {
			snprintf(key, sizeof(key), "task_%d_stack", t->tid);
			diag_text(r, key, "%s", t->frames);
		}
		if (t->blocked_ns >= env->th.dstate_fail_ns)
			diag_set(r, DIAG_FAIL, "TaskHung", remedy, "%s (pid %d) in D for %s: %s",
			         t->comm, t->tid, dur, t->where[0] ? t->where : "uninterruptible wait");
		else if (t->blocked_ns >= env->th.dstate_warn_ns)
			diag_set(r, DIAG_WARN, "TaskBlocked", remedy, "%s (pid %d) in D for %s: %s",
			         t->comm, t->tid, dur, t->where[0] ? t->where : "uninterruptible wait");
		else if (t->blocked_ns < 0)
			diag_set(r, DIAG_WARN, "TaskBlocked", remedy,
			         "%s (pid %d) in D across two samples %s apart: %s", t->comm, t->tid,
			         dur, t->where[0] ? t->where : "uninterruptible wait");
	}
	if (longest >= 0)
		diag_num(r, "longest_in_d_seconds", (double)longest / 1e9);
	if (!r->summary)
		diag_set(r, DIAG_OK, NULL, NULL, "%zu task%s in D, none for %lds or more", s.n,
		         s.n == 1 ? "" : "s", (long)(env->th.dstate_warn_ns / NSEC_PER_SEC));
	free(s.v);
	return 0;
}
