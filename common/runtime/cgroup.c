/* common/runtime/cgroup.c - a container's cgroup on v1, hybrid or v2 hosts: create, limit, move
 * a pid in, read back, count OOM kills, remove (DESIGN.md "run"). Files are written with plain
 * open/write so the shim stays small and a fixture tree works the same as cgroupfs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/runtime/cgroup.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define CG_FILE_MAX 4096

static bool is_file(const char *dir, const char *name)
{
	cleanup_free char *p = path_join(dir, name);
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *dir, const char *name)
{
	cleanup_free char *p = path_join(dir, name);
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int cgroup_detect(const struct ctx *ctx, enum cgroup_mode *out, struct err *e)
{
	const char *root = ctx->path.cgroup;

	if (is_file(root, "cgroup.controllers")) {
		*out = CGROUP_V2;
		return 0;
	}
	if (is_dir(root, "memory") || is_dir(root, "pids") || is_dir(root, "cpu")) {
		*out = is_file(root, "unified/cgroup.controllers") ? CGROUP_HYBRID : CGROUP_V1;
		return 0;
	}
	return err_set(e, E_UNSUPPORTED, "%s: neither cgroup v1 controllers nor cgroup2", root);
}

void cgroup_paths(const struct ctx *ctx, enum cgroup_mode mode, const char *id, struct cgroup *out)
{
	const char *root = ctx->path.cgroup;

	*out = (struct cgroup){.mode = mode};
	if (mode == CGROUP_V2) {
		out->unified = xasprintf("%s/" CGROUP_PARENT "/%s", root, id);
		return;
	}
	out->memory = xasprintf("%s/memory/" CGROUP_PARENT "/%s", root, id);
	out->cpu = xasprintf("%s/cpu/" CGROUP_PARENT "/%s", root, id);
	out->pids = xasprintf("%s/pids/" CGROUP_PARENT "/%s", root, id);
	out->devices = xasprintf("%s/devices/" CGROUP_PARENT "/%s", root, id);
}

void cgroup_release(struct cgroup *cg)
{
	if (!cg)
		return;
	free(cg->memory);
	free(cg->cpu);
	free(cg->pids);
	free(cg->devices);
	free(cg->unified);
	*cg = (struct cgroup){0};
}

static int write_file(const char *dir, const char *name, const char *val, struct err *e)
{
	cleanup_free char *p = path_join(dir, name);
	cleanup_close int fd = open(p, O_WRONLY | O_CLOEXEC | O_CREAT, 0644);
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return err_sys(e, "%s", p);
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(e, "write %s to %s", val, p);
	if ((size_t)n != len)
		return err_set(e, E_IO, "write %s to %s: short write", val, p);
	return 0;
}

static int read_file(const char *dir, const char *name, char *buf, size_t size, struct err *e)
{
	cleanup_free char *p = path_join(dir, name);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_sys(e, "%s", p);
	n = read(fd, buf, size - 1);
	if (n < 0)
		return err_sys(e, "read %s", p);
	buf[n] = '\0';
	return 0;
}

static int read_int(const char *dir, const char *name, int64_t *out, struct err *e)
{
	char buf[64];
	char *end;

	if (read_file(dir, name, buf, sizeof(buf), e) < 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0) {
		*out = 0;
		return 0;
	}
	errno = 0;
	*out = strtoll(buf, &end, 10);
	if (errno || end == buf)
		return err_set(e, E_CORRUPT, "%s/%s: not a number: %s", dir, name, buf);
	return 0;
}

/* The value of "key N" in a flat-keyed file (memory.events, memory.oom_control). */
static int read_key(const char *dir, const char *name, const char *key, uint64_t *out,
                    struct err *e)
{
	char buf[CG_FILE_MAX] = "";
	size_t klen = strlen(key);
	char *line = buf;

	if (read_file(dir, name, buf, sizeof(buf), e) < 0)
		return -1;
	while (*line) {
		char *nl = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*out = strtoull(line + klen + 1, NULL, 10);
			return 0;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return err_set(e, E_NOTFOUND, "%s/%s: no %s", dir, name, key);
}

static int mkdir_one(const char *path, struct err *e)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_sys(e, "mkdir %s", path);
	return 0;
}

/* True when the space-separated list holds word. */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static int create_v2(const struct cgroup *cg, const struct cgroup_limits *l, struct err *e)
{
	cleanup_free char *parent = xstrdup(cg->unified);
	char *slash = strrchr(parent, '/');
	cleanup_free char *root = NULL;
	char buf[64];

	*slash = '\0';
	root = xstrdup(parent);
	*strrchr(root, '/') = '\0';
	/* Controllers are delegated level by level: root -> ctrbox -> the container. A
	 * controller the host lacks is left out rather than failing the container. */
	if (mkdir_one(parent, e) < 0)
		return -1;
	if (read_file(root, "cgroup.controllers", buf, sizeof(buf), e) < 0)
		return -1;
	{
		char want[64] = "";
		const char *ctl[] = {"memory", "cpu", "pids"};
		for (size_t i = 0; i < ARRAY_SIZE(ctl); i++) {
			if (has_word(buf, ctl[i]))
				snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s+%s",
				         *want ? " " : "", ctl[i]);
		}
		if (*want && (write_file(root, "cgroup.subtree_control", want, e) < 0 ||
		              write_file(parent, "cgroup.subtree_control", want, e) < 0))
			return -1;
	}
	if (mkdir_one(cg->unified, e) < 0)
		return -1;
	if (l->memory_bytes > 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, l->memory_bytes);
		if (write_file(cg->unified, "memory.max", buf, e) < 0)
			return -1;
		/* No swap beyond the limit, as docker's --memory without --memory-swap
		 * gives twice; ctrbox keeps it simple: none. */
		if (is_file(cg->unified, "memory.swap.max") &&
		    write_file(cg->unified, "memory.swap.max", "0", e) < 0)
			return -1;
	}
	if (l->cpu_quota_us > 0) {
		snprintf(buf, sizeof(buf), "%" PRId64 " %" PRId64, l->cpu_quota_us,
		         l->cpu_period_us);
		if (write_file(cg->unified, "cpu.max", buf, e) < 0)
			return -1;
	}
	if (l->pids > 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, l->pids);
		if (write_file(cg->unified, "pids.max", buf, e) < 0)
			return -1;
	}
	return 0;
}

static int mkdir_parent(const char *dir, struct err *e)
{
	cleanup_free char *parent = xstrdup(dir);

	*strrchr(parent, '/') = '\0';
	if (mkdir_one(parent, e) < 0 || mkdir_one(dir, e) < 0)
		return -1;
	return 0;
}

static int create_v1(const struct cgroup *cg, const struct cgroup_limits *l, struct err *e)
{
	char buf[64];

	if (mkdir_parent(cg->memory, e) < 0 || mkdir_parent(cg->cpu, e) < 0 ||
	    mkdir_parent(cg->pids, e) < 0 || mkdir_parent(cg->devices, e) < 0)
		return -1;
	if (l->memory_bytes > 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, l->memory_bytes);
		if (write_file(cg->memory, "memory.limit_in_bytes", buf, e) < 0)
			return -1;
		/* Without swap accounting memsw is absent; with it, no swap beyond the limit. */
		if (is_file(cg->memory, "memory.memsw.limit_in_bytes"))
			(void)write_file(cg->memory, "memory.memsw.limit_in_bytes", buf, e);
	}
	if (l->cpu_quota_us > 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, l->cpu_period_us);
		if (write_file(cg->cpu, "cpu.cfs_period_us", buf, e) < 0)
			return -1;
		snprintf(buf, sizeof(buf), "%" PRId64, l->cpu_quota_us);
		if (write_file(cg->cpu, "cpu.cfs_quota_us", buf, e) < 0)
			return -1;
	}
	if (l->pids > 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, l->pids);
		if (write_file(cg->pids, "pids.max", buf, e) < 0)
			return -1;
	}
	return 0;
}

int cgroup_create(const struct cgroup *cg, const struct cgroup_limits *l, struct err *e)
{
	if (cg->mode == CGROUP_V2)
		return create_v2(cg, l, e);
	return create_v1(cg, l, e);
}

int cgroup_device_rule(const struct cgroup *cg, bool allow, const char *rule, struct err *e)
{
	if (cg->mode == CGROUP_V2 || !cg->devices)
		return err_set(e, E_UNSUPPORTED, "device rules on cgroup v2 need a BPF program");
	return write_file(cg->devices, allow ? "devices.allow" : "devices.deny", rule, e);
}

int cgroup_device_rules(const struct cgroup *cg, const bool *allow, const char *const *rules,
                        size_t n, struct err *e)
{
	static const char *const names[] = {"devices.deny", "devices.allow"};
	int fds[2] = {-1, -1}, rc = 0;

	if (cg->mode == CGROUP_V2 || !cg->devices)
		return err_set(e, E_UNSUPPORTED, "device rules on cgroup v2 need a BPF program");
	for (size_t i = 0; i < n && rc == 0; i++) {
		int k = allow[i] ? 1 : 0;
		size_t len = strlen(rules[i]);
		ssize_t w;

		if (fds[k] < 0) {
			cleanup_free char *p = path_join(cg->devices, names[k]);
			fds[k] = open(p, O_WRONLY | O_CLOEXEC | O_CREAT, 0644);
			if (fds[k] < 0) {
				rc = err_sys(e, "%s", p);
				break;
			}
		}
		do
			w = write(fds[k], rules[i], len);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			rc = err_sys(e, "write %s to %s/%s", rules[i], cg->devices, names[k]);
		else if ((size_t)w != len)
			rc = err_set(e, E_IO, "write %s to %s/%s: short write", rules[i],
			             cg->devices, names[k]);
	}
	for (int k = 0; k < 2; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	return rc;
}

int cgroup_add_pid(const struct cgroup *cg, pid_t pid, struct err *e)
{
	char buf[32];
	const char *dirs[] = {cg->unified, cg->memory, cg->cpu, cg->pids, cg->devices};

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (dirs[i] && write_file(dirs[i], "cgroup.procs", buf, e) < 0)
			return -1;
	return 0;
}

int cgroup_read_limits(const struct cgroup *cg, struct cgroup_limits *out, struct err *e)
{
	struct cgroup_limits l = {0};

	if (cg->mode == CGROUP_V2) {
		char buf[64];
		if (read_int(cg->unified, "memory.max", &l.memory_bytes, e) < 0 ||
		    read_int(cg->unified, "pids.max", &l.pids, e) < 0 ||
		    read_file(cg->unified, "cpu.max", buf, sizeof(buf), e) < 0)
			return -1;
		if (strncmp(buf, "max", 3) != 0)
			l.cpu_quota_us = strtoll(buf, NULL, 10);
		l.cpu_period_us = strtoll(strchr(buf, ' ') ? strchr(buf, ' ') + 1 : "0", NULL, 10);
	} else {
		if (read_int(cg->memory, "memory.limit_in_bytes", &l.memory_bytes, e) < 0 ||
		    read_int(cg->cpu, "cpu.cfs_quota_us", &l.cpu_quota_us, e) < 0 ||
		    read_int(cg->cpu, "cpu.cfs_period_us", &l.cpu_period_us, e) < 0 ||
		    read_int(cg->pids, "pids.max", &l.pids, e) < 0)
			return -1;
		/* v1 reports "no limit" as a page-rounded huge number and quota as -1. */
		if (l.memory_bytes >= 0x7FFFFFFFFFFFF000LL)
			l.memory_bytes = 0;
		if (l.cpu_quota_us < 0)
			l.cpu_quota_us = 0;
	}
	*out = l;
	return 0;
}

int cgroup_oom_kills(const struct cgroup *cg, uint64_t *out, struct err *e)
{
	uint64_t n = 0;

	if (cg->mode == CGROUP_V2)
		return read_key(cg->unified, "memory.events", "oom_kill", out, e);
	if (read_key(cg->memory, "memory.oom_control", "oom_kill", &n, e) == 0) {
		*out = n;
		return 0;
	}
	/* Kernels before 4.13 have no oom_kill counter: a failed charge is the best sign. */
	err_clear(e);
	{
		int64_t fails = 0;
		if (read_int(cg->memory, "memory.failcnt", &fails, e) < 0)
			return -1;
		*out = fails > 0 ? 1 : 0;
	}
	return 0;
}

int cgroup_remove(const struct cgroup *cg, struct err *e)
{
	const char *dirs[] = {cg->unified, cg->memory, cg->cpu, cg->pids, cg->devices};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (dirs[i] && rmdir(dirs[i]) < 0 && errno != ENOENT)
			return err_sys(e, "rmdir %s", dirs[i]);
	return 0;
}

bool cgroup_ns_supported(const struct ctx *ctx)
{
	cleanup_free char *p = path_join(ctx->path.proc, "self/ns/cgroup");

	return access(p, F_OK) == 0;
}
