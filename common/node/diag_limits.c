/* common/node/diag_limits.c - the limits check: open files (file-nr vs file-max), tasks (vs
 * pid_max and threads-max) and inotify watches and instances per user (vs max_user_watches and
 * max_user_instances, counted from fdinfo) (DESIGN.md "diagnose"; issue 8) */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/node/diag.h"
#include "common/util/host.h"
#include "common/util/mem.h"

#define INOTIFY_MAX_FDS    (1 << 20) /* bound on the fd walk */
#define INOTIFY_MAX_USERS  64
#define INOTIFY_BUDGET_NS  (500 * 1000000LL)

static int read_nums(const struct diag_env *env, const char *rel, long long *v, int n)
{
	cleanup_free char *text = NULL;
	struct err e = ERR_INIT;
	char *p, *end;
	int i;

	if (host_read(env->ctx, HOST_PROC, rel, 256, &text, &e) < 0)
		return -1;
	for (i = 0, p = text; i < n; i++, p = end) {
		v[i] = strtoll(p, &end, 10);
		if (end == p)
			return -1;
	}
	return 0;
}

static void judge(const struct diag_env *env, struct diag_result *r, const char *what,
                  double used, double max, const char *reason, const char *remedy)
{
	double pct = max > 0 ? 100.0 * used / max : 0;

	if (pct >= env->th.limits_fail)
		diag_set(r, DIAG_FAIL, reason, remedy, "%s: %.0f of %.0f in use (%.1f%%)", what, used,
		         max, pct);
	else if (pct >= env->th.limits_warn)
		diag_set(r, DIAG_WARN, reason, remedy, "%s: %.0f of %.0f in use (%.1f%%)", what, used,
		         max, pct);
}

struct user_count {
	uid_t uid;
	long watches, instances;
};

static bool numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static long count_wd(const char *fdinfo)
{
	long n = 0;

	for (const char *p = fdinfo; (p = strstr(p, "inotify wd:")); p++)
		n++;
	return n;
}

/* Counts inotify instances and watches per user from <proc>/PID/fd and fdinfo. */
static size_t inotify_count(const struct diag_env *env, struct user_count *u, size_t *nu,
                            bool *truncated)
{
	cleanup_free char *proc = host_path(env->ctx, HOST_PROC, "");
	int64_t began = ctx_clock_monotonic();
	DIR *d = opendir(proc);
	struct dirent *de;
	size_t fds = 0;

	*nu = 0;
	*truncated = false;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		cleanup_free char *fddir = NULL;
		struct stat st;
		DIR *fdd;
		struct dirent *fe;
		size_t k;

		if (!numeric(de->d_name))
			continue;
		if (fds >= INOTIFY_MAX_FDS || ctx_clock_monotonic() - began > INOTIFY_BUDGET_NS) {
			*truncated = true;
			break;
		}
		fddir = xasprintf("%s/%s/fd", proc, de->d_name);
		if (stat(fddir, &st) < 0 || !(fdd = opendir(fddir)))
			continue;
		for (k = 0; k < *nu && u[k].uid != st.st_uid; k++)
			;
		while ((fe = readdir(fdd))) {
			char link[64];
			ssize_t ln;
			cleanup_free char *lp = NULL, *rel = NULL, *info = NULL;
			struct err e = ERR_INIT;

			if (!numeric(fe->d_name))
				continue;
			fds++;
			lp = xasprintf("%s/%s", fddir, fe->d_name);
			ln = readlink(lp, link, sizeof(link) - 1);
			if (ln < 0)
				continue;
			link[ln] = '\0';
			if (strcmp(link, "anon_inode:inotify") != 0)
				continue;
			if (k == *nu) {
				if (*nu == INOTIFY_MAX_USERS)
					continue;
				u[k] = (struct user_count){.uid = st.st_uid};
				(*nu)++;
			}
			u[k].instances++;
			rel = xasprintf("%s/fdinfo/%s", de->d_name, fe->d_name);
			if (host_read(env->ctx, HOST_PROC, rel, 1 << 20, &info, &e) == 0)
				u[k].watches += count_wd(info);
		}
		closedir(fdd);
	}
	closedir(d);
	return fds;
}

int diag_check_limits(const struct diag_env *env, struct diag_result *r)
{
	long long fnr[3], pid_max = 0, threads_max = 0, max_watches = 0, max_inst = 0;
	cleanup_free char *loadavg = NULL;
	struct err e = ERR_INIT;
	struct user_count users[INOTIFY_MAX_USERS];
	size_t nu = 0, fds;
	bool truncated, any = false;
	long top_w = 0, top_i = 0;
	uid_t top_uid = 0;

	if (read_nums(env, "sys/fs/file-nr", fnr, 3) == 0) {
		any = true;
		diag_num(r, "files_allocated", (double)fnr[0]);
		diag_num(r, "file_max", (double)fnr[2]);
		judge(env, r, "open files (file-nr vs file-max)", (double)fnr[0], (double)fnr[2],
		      "FileDescriptorsExhausted",
		      "raise fs.file-max or find the process leaking descriptors (ls /proc/*/fd | wc)");
	}
	if (host_read(env->ctx, HOST_PROC, "loadavg", 256, &loadavg, &e) == 0) {
		long long running, total;

		if (sscanf(loadavg, "%*s %*s %*s %lld/%lld", &running, &total) == 2) {
			static const char prem[] =
			    "raise kernel.pid_max/threads-max or set --pids-limit on the containers "
			    "forking without bound";

			any = true;
			diag_num(r, "tasks", (double)total);
			if (read_nums(env, "sys/kernel/pid_max", &pid_max, 1) == 0) {
				diag_num(r, "pid_max", (double)pid_max);
				judge(env, r, "tasks vs pid_max", (double)total, (double)pid_max,
				      "PIDPressure", prem);
			}
			if (read_nums(env, "sys/kernel/threads-max", &threads_max, 1) == 0) {
				diag_num(r, "threads_max", (double)threads_max);
				judge(env, r, "tasks vs threads-max", (double)total,
				      (double)threads_max, "PIDPressure", prem);
			}
		}
	}
	if (read_nums(env, "sys/fs/inotify/max_user_watches", &max_watches, 1) == 0 &&
	    read_nums(env, "sys/fs/inotify/max_user_instances", &max_inst, 1) == 0) {
		any = true;
		fds = inotify_count(env, users, &nu, &truncated);
		for (size_t i = 0; i < nu; i++) {
			if (users[i].watches > top_w) {
				top_w = users[i].watches;
				top_uid = users[i].uid;
			}
			if (users[i].instances > top_i)
				top_i = users[i].instances;
		}
		diag_num(r, "fds_scanned", (double)fds);
		if (truncated)
			diag_text(r, "inotify_scan", "stopped early (bounded): counts are a lower bound");
		diag_num(r, "inotify_max_user_watches", (double)max_watches);
		diag_num(r, "inotify_max_user_instances", (double)max_inst);
		diag_num(r, "inotify_watches_top_user", (double)top_w);
		diag_num(r, "inotify_top_uid", (double)top_uid);
		diag_num(r, "inotify_instances_top_user", (double)top_i);
		judge(env, r, "inotify watches of one user vs max_user_watches", (double)top_w,
		      (double)max_watches, "InotifyWatchesExhausted",
		      "raise fs.inotify.max_user_watches (e.g. 524288) or stop the watcher leaking them");
		judge(env, r, "inotify instances of one user vs max_user_instances", (double)top_i,
		      (double)max_inst, "InotifyInstancesExhausted",
		      "raise fs.inotify.max_user_instances (e.g. 8192)");
	}
	if (!any) {
		diag_set(r, DIAG_UNKNOWN, NULL, "make /proc/sys readable",
		         "no limit readable under proc");
		return 0;
	}
	if (!r->summary)
		diag_set(r, DIAG_OK, NULL, NULL, "files, tasks and inotify below %.0f%% of their limits",
		         env->th.limits_warn);
	return 0;
}
