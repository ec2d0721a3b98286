/* common/node/diag_disk.c - the disk check: space and inodes of ROOT and STATE against kubelet's
 * eviction defaults (imagefs.available<15%, nodefs.available<10%, nodefs.inodesFree<5%); WARN
 * within half as much again above them (DESIGN.md "diagnose"; issue 8) */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/node/diag.h"
#include "common/util/mem.h"
#include "common/util/units.h"

static const char remedy[] =
    "free space: remove unused images and stopped containers (ctrbox prune), rotate logs, or "
    "grow the file system before kubelet starts evicting";

/* statvfs of path, or of its nearest existing parent when it does not exist yet (reading it
 * creates nothing). */
static int stat_fs(const char *path, struct statvfs *out, struct stat *st, char **at)
{
	cleanup_free char *p = xstrdup(path);

	for (;;) {
		if (statvfs(p, out) == 0 && stat(p, st) == 0) {
			*at = TAKE_PTR(p);
			return 0;
		}
		if (errno != ENOENT)
			return -1;
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			return -1;
		*slash = '\0';
	}
}

static void judge(const struct diag_env *env, struct diag_result *r, const char *what,
                  const char *path, double min_avail)
{
	struct statvfs v;
	struct stat st;
	cleanup_free char *at = NULL;
	char key[64], sz[UNITS_BUFSZ];
	double avail_pct, inodes_pct = 100;

	if (stat_fs(path, &v, &st, &at) < 0) {
		snprintf(key, sizeof(key), "%s_error", what);
		diag_text(r, key, "%s: %s", path, strerror(errno));
		diag_set(r, DIAG_UNKNOWN, NULL, "check that the path is readable",
		         "%s (%s) unreadable: %s", what, path, strerror(errno));
		return;
	}
	if (strcmp(at, path) != 0) {
		snprintf(key, sizeof(key), "%s_measured_at", what);
		diag_text(r, key, "%s", at);
	}
	avail_pct = v.f_blocks ? 100.0 * (double)v.f_bavail / (double)v.f_blocks : 100;
	snprintf(key, sizeof(key), "%s_available_bytes", what);
	diag_num(r, key, (double)v.f_bavail * (double)v.f_frsize);
	snprintf(key, sizeof(key), "%s_size_bytes", what);
	diag_num(r, key, (double)v.f_blocks * (double)v.f_frsize);
	snprintf(key, sizeof(key), "%s_available_percent", what);
	diag_num(r, key, avail_pct);
	if (v.f_files) { /* 0 on file systems without an inode table (btrfs) */
		inodes_pct = 100.0 * (double)v.f_favail / (double)v.f_files;
		snprintf(key, sizeof(key), "%s_inodes_free_percent", what);
		diag_num(r, key, inodes_pct);
		snprintf(key, sizeof(key), "%s_inodes_free", what);
		diag_num(r, key, (double)v.f_favail);
	}
	units_format_size((int64_t)(v.f_bavail * v.f_frsize), sz, sizeof(sz));
	if (avail_pct < min_avail)
		diag_set(r, DIAG_FAIL, "DiskPressure", remedy,
		         "%s %s: %.1f%% available (%s) < %.0f%% (kubelet evicts)", what, path,
		         avail_pct, sz, min_avail);
	else if (inodes_pct < env->th.inodes_free_min)
		diag_set(r, DIAG_FAIL, "InodePressure", remedy,
		         "%s %s: %.1f%% inodes free < %.0f%% (kubelet evicts)", what, path, inodes_pct,
		         env->th.inodes_free_min);
	else if (avail_pct < min_avail * 1.5)
		diag_set(r, DIAG_WARN, "DiskPressure", remedy,
		         "%s %s: %.1f%% available (%s), eviction below %.0f%%", what, path, avail_pct,
		         sz, min_avail);
	else if (inodes_pct < env->th.inodes_free_min * 1.5)
		diag_set(r, DIAG_WARN, "InodePressure", remedy,
		         "%s %s: %.1f%% inodes free, eviction below %.0f%%", what, path, inodes_pct,
		         env->th.inodes_free_min);
}

int diag_check_disk(const struct diag_env *env, struct diag_result *r)
{
	judge(env, r, "root", env->ctx->path.root, env->th.root_available_min);
	judge(env, r, "state", env->ctx->path.state, env->th.state_available_min);
	if (!r->summary)
		diag_set(r, DIAG_OK, NULL, NULL, "ROOT and STATE have space and inodes to spare");
	return 0;
}
