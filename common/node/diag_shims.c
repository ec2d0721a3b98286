/* common/node/diag_shims.c - the shims check: each running container's shim alive and the same
 * process (PID and start time), reparented to the recorded adopter (DESIGN.md lesson 3), no
 * zombies left under a shim, and no shim of this STATE without a container (issue 8) */
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/node/diag.h"
#include "common/node/listing.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"

#define SHIM_COMM "ctrbox-shim"

struct task {
	int pid;
	struct proc_stat st;
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

static struct task *tasks_read(const struct diag_env *env, size_t *n)
{
	cleanup_free char *proc = host_path(env->ctx, HOST_PROC, "");
	DIR *d = opendir(proc);
	struct dirent *de;
	struct task *v = NULL;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		cleanup_free char *rel = NULL, *text = NULL;
		struct err e = ERR_INIT;
		struct proc_stat st;

		if (!numeric(de->d_name))
			continue;
		rel = xasprintf("%s/stat", de->d_name);
		if (host_read(env->ctx, HOST_PROC, rel, 4096, &text, &e) < 0 ||
		    proc_stat_parse(text, &st, &e) < 0)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[*n].pid = atoi(de->d_name);
		v[(*n)++].st = st;
	}
	closedir(d);
	return v;
}

/* A host proc file with its length (cmdline holds NULs, so host_read's string is not enough). */
static int fs_read_file_rel(const struct diag_env *env, const char *rel, char **out, size_t *len)
{
	cleanup_free char *path = host_path(env->ctx, HOST_PROC, rel);
	struct err e = ERR_INIT;

	return fs_read_file(path, 64 * 1024, out, len, &e);
}

/* The --state a shim was started with, from its command line (NUL-separated). */
static bool shim_of_state(const struct diag_env *env, int pid)
{
	cleanup_free char *rel = xasprintf("%d/cmdline", pid), *cl = NULL;
	struct err e = ERR_INIT;
	size_t len;

	if (fs_read_file_rel(env, rel, &cl, &len) < 0)
		return false;
	for (const char *p = cl; p < cl + len; p += strlen(p) + 1)
		if (strcmp(p, "--state") == 0 && p + strlen(p) + 1 < cl + len)
			return strcmp(p + strlen(p) + 1, env->ctx->path.state) == 0;
	(void)e;
	return false;
}

int diag_check_shims(const struct diag_env *env, struct diag_result *r)
{
	static const char lost_remedy[] =
	    "the container can no longer be managed: kill its processes (ctrbox rm -f) and run it "
	    "again";
	struct listing l = {0};
	struct err e = ERR_INIT;
	struct task *t = NULL;
	size_t nt = 0, running = 0, lost = 0, zombies = 0, orphans = 0, notrep = 0;

	if (listing_read(env->ctx, &l, &e) < 0) {
		diag_text(r, "error", "%s", e.msg);
		diag_set(r, DIAG_UNKNOWN, NULL, NULL, "cannot list containers: %s", e.msg);
		return 0;
	}
	t = tasks_read(env, &nt);
	for (size_t c = 0; c < l.n; c++) {
		const struct listing_entry *le = &l.v[c];
		const char *name = le->doc.name ? le->doc.name : le->doc.id;
		int ppid = -1;

		if (!le->has_state || le->st.status != STATUS_RUNNING)
			continue;
		running++;
		/* a killed shim not yet reaped by its adopter is a zombie: same PID and start time,
		 * but gone */
		bool zombie = false;
		for (size_t i = 0; i < nt; i++)
			if (t[i].pid == le->st.shim_pid && t[i].st.state == 'Z')
				zombie = true;
		if (!le->shim_alive || zombie) {
			char key[96];

			lost++;
			snprintf(key, sizeof(key), "lost_%s", name);
			diag_text(r, key, "shim pid %d %s", le->st.shim_pid,
			          le->init_alive ? "gone, container init still running"
			                         : "gone with the container");
			diag_set(r, DIAG_FAIL, "ShimLost", lost_remedy,
			         "container %s: its shim (pid %d) is gone", name, le->st.shim_pid);
			continue;
		}
		for (size_t i = 0; i < nt; i++) {
			if (t[i].pid == le->st.shim_pid)
				ppid = t[i].st.ppid;
			if (t[i].st.ppid == le->st.shim_pid && t[i].st.state == 'Z') {
				zombies++;
				diag_set(r, DIAG_WARN, "ShimZombies",
				         "the shim is not reaping its children: restart the container",
				         "container %s: zombie pid %d (%s) under its shim", name,
				         t[i].pid, t[i].st.comm);
			}
		}
		if (ppid >= 0 && le->st.shim_parent_pid > 0 && ppid != le->st.shim_parent_pid) {
			char key[96];

			notrep++;
			snprintf(key, sizeof(key), "parent_%s", name);
			diag_text(r, key, "shim pid %d has parent %d, recorded adopter %d",
			          le->st.shim_pid, ppid, le->st.shim_parent_pid);
			diag_set(r, DIAG_WARN, "ShimNotReparented",
			         "the shim is still a child of its launcher: a ctrbox crash would take "
			         "the container down; check the subreaper setup",
			         "container %s: shim %d's parent is %d, not the adopter %d", name,
			         le->st.shim_pid, ppid, le->st.shim_parent_pid);
		}
	}
	for (size_t i = 0; i < nt; i++) {
		bool known = false;

		if (strcmp(t[i].st.comm, SHIM_COMM) != 0 || t[i].st.state == 'Z')
			continue;
		for (size_t c = 0; c < l.n && !known; c++)
			known = l.v[c].has_state && l.v[c].st.shim_pid == t[i].pid;
		if (known || !shim_of_state(env, t[i].pid))
			continue;
		orphans++;
		diag_set(r, DIAG_WARN, "ShimOrphaned",
		         "kill the shim (its container record is gone) and check what removed the record",
		         "shim pid %d serves no recorded container", t[i].pid);
	}
	diag_num(r, "containers", (double)l.n);
	diag_num(r, "running", (double)running);
	diag_num(r, "shims_lost", (double)lost);
	diag_num(r, "shims_not_reparented", (double)notrep);
	diag_num(r, "zombies_under_shims", (double)zombies);
	diag_num(r, "orphan_shims", (double)orphans);
	if (!r->summary)
		diag_set(r, DIAG_OK, NULL, NULL, "%zu running container%s, each with its shim", running,
		         running == 1 ? "" : "s");
	free(t);
	listing_release(&l);
	return 0;
}
