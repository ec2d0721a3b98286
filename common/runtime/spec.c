/* common/runtime/spec.c - the OCI runtime-spec config.json of a container, built from the image
 * config and the run options (DESIGN.md "run"): args, env, user, mounts, devices, resources. The
 * mounts, masked/readonly paths, capabilities and seccomp denylist follow docker's defaults
 * (ctrbox-run(1) "SECURITY"). Writing and parsing config.json is spec_json.c. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/image/manifest.h"
#include "common/runtime/procexec.h"
#include "common/runtime/spec.h"
#include "common/runtime/spec_int.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PASSWD_MAX   (4 << 20)
#define NOFILE_LIMIT 1048576

static const char *const masked_default[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};
static const char *const readonly_default[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* ---- small vectors ---- */

void spec_add_netfiles(struct spec *s, const char *dir, bool ro)
{
	static const char *const names[] = {"hosts", "hostname", "resolv.conf"};
	const char *opts[] = {"rbind", "rprivate", ro ? "ro" : "rw", NULL};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		cleanup_free char *dest = xasprintf("/etc/%s", names[i]);
		cleanup_free char *src = path_join(dir, names[i]);
		bool taken = false;

		for (size_t k = 0; k < s->n_mounts && !taken; k++)
			taken = strcmp(s->mounts[k].dest, dest) == 0;
		if (!taken)
			mount_add(s, dest, "bind", src, opts);
	}
}

static void syscall_add(struct spec *s, const char *const *names, enum spec_sc_action action,
                        int errno_ret)
{
	struct spec_syscall *r;

	s->syscalls = xreallocarray(s->syscalls, s->n_syscalls + 1, sizeof(*s->syscalls));
	r = &s->syscalls[s->n_syscalls++];
	*r = (struct spec_syscall){
	    .names = strv_dup(names), .action = action, .errno_ret = errno_ret};
}

void spec_release(struct spec *s)
{
	size_t i;

	if (!s)
		return;
	strv_free(s->args);
	strv_free(s->env);
	free(s->cwd);
	free(s->gids);
	free(s->rlimits);
	free(s->root_path);
	free(s->hostname);
	for (i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].dest);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		strv_free(s->mounts[i].options);
	}
	free(s->mounts);
	free(s->devices);
	strv_free(s->masked);
	strv_free(s->readonly);
	for (i = 0; i < s->n_syscalls; i++)
		strv_free(s->syscalls[i].names);
	free(s->syscalls);
	*s = (struct spec){0};
}

void spec_user_release(struct spec_user *u)
{
	if (!u)
		return;
	free(u->gids);
	free(u->home);
	*u = (struct spec_user){0};
}

/* ---- the seccomp denylist ---- */

void spec_seccomp_default(struct spec *s)
{
	/* What docker's default profile refuses to a container without extra capabilities:
	 * keyrings, kernel modules, kexec and reboot, mounts, BPF and perf, userfaultfd,
	 * tracing, clock and swap changes, personality games and obsolete calls. */
	static const char *const eperm[] = {
	    "add_key",
	    "request_key",
	    "keyctl",
	    "init_module",
	    "finit_module",
	    "delete_module",
	    "create_module",
	    "query_module",
	    "get_kernel_syms",
	    "kexec_load",
	    "kexec_file_load",
	    "reboot",
	    "mount",
	    "umount",
	    "umount2",
	    "mount_setattr",
	    "move_mount",
	    "open_tree",
	    "fsopen",
	    "fsconfig",
	    "fsmount",
	    "fspick",
	    "pivot_root",
	    "swapon",
	    "swapoff",
	    "bpf",
	    "perf_event_open",
	    "userfaultfd",
	    "ptrace",
	    "process_vm_readv",
	    "process_vm_writev",
	    "kcmp",
	    "settimeofday",
	    "clock_settime",
	    "clock_adjtime",
	    "adjtimex",
	    "stime",
	    "acct",
	    "lookup_dcookie",
	    "nfsservctl",
	    "uselib",
	    "ustat",
	    "sysfs",
	    "_sysctl",
	    "vm86",
	    "vm86old",
	    "iopl",
	    "ioperm",
	    "quotactl",
	    "name_to_handle_at",
	    "open_by_handle_at",
	    "setns",
	    "syslog",
	    "fanotify_init",
	    "set_mempolicy",
	    "move_pages",
	    "mbind",
	    "get_mempolicy",
	    "pciconfig_read",
	    "pciconfig_write",
	    "pciconfig_iobase",
	    NULL,
	};
	static const char *const clone_names[] = {"clone", NULL};
	static const char *const unshare_names[] = {"unshare", NULL};
	static const char *const clone3_names[] = {"clone3", NULL};
	/* CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET|
	 * CLONE_NEWCGROUP: no new namespaces of any kind without CAP_SYS_ADMIN. */
	const uint64_t ns_flags = 0x7E020000ULL;

	s->seccomp = true;
	syscall_add(s, eperm, SPEC_SC_ERRNO, EPERM);
	/* A masked comparison tests equality only, so a denylist fails every clone and
	 * unshare whose flags hold any namespace bit with one rule per bit. */
	for (int bit = 0; bit < 64; bit++) {
		if (!(ns_flags & (1ULL << bit)))
			continue;
		syscall_add(s, clone_names, SPEC_SC_ERRNO, EPERM);
		s->syscalls[s->n_syscalls - 1].has_arg = true;
		s->syscalls[s->n_syscalls - 1].arg_mask = 1ULL << bit;
		s->syscalls[s->n_syscalls - 1].arg_value = 1ULL << bit;
		syscall_add(s, unshare_names, SPEC_SC_ERRNO, EPERM);
		s->syscalls[s->n_syscalls - 1].has_arg = true;
		s->syscalls[s->n_syscalls - 1].arg_mask = 1ULL << bit;
		s->syscalls[s->n_syscalls - 1].arg_value = 1ULL << bit;
	}
	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back
	 * to clone, which the rules above do check (docker does the same). */
	syscall_add(s, clone3_names, SPEC_SC_ERRNO, ENOSYS);
}

/* ---- users ---- */

/* The file rel (etc/passwd) as the overlay of layer_dirs would show it: the topmost layer
 * that has it, unless a whiteout hides it. NULL when absent. */
static char *layer_file(const char *const *dirs, size_t n, const char *rel)
{
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		cleanup_free char *p = xasprintf("%s/%s", dirs[i], rel);
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			char *data = NULL;
			size_t len;
			struct err e = ERR_INIT;
			return fs_read_file(p, PASSWD_MAX, &data, &len, &e) == 0 ? data : NULL;
		}
		return NULL; /* a whiteout or something that is not a file */
	}
	return NULL;
}

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out < 0xFFFFFFFFUL;
}

/* Splits a passwd/group line into at most max fields in place; the number found. */
static size_t split_colon(char *line, char **f, size_t max)
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

int spec_resolve_user(const char *user, const char *const *layer_dirs, size_t n_layers,
                      struct spec_user *out, struct err *e)
{
	cleanup_free char *passwd = layer_file(layer_dirs, n_layers, "etc/passwd");
	cleanup_free char *group = layer_file(layer_dirs, n_layers, "etc/group");
	cleanup_free char *uname = xstrdup(user && *user ? user : "0");
	struct spec_user u = {0};
	char *gname = strchr(uname, ':'), *line, *save = NULL;
	const char *login = NULL;
	unsigned long v;
	bool by_id, found = false, gid_found = false;

	if (gname)
		*gname++ = '\0';
	by_id = parse_id(uname, &v);
	if (by_id)
		u.uid = (uid_t)v;
	for (line = passwd ? strtok_r(passwd, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[7];
		unsigned long pu, pg;
		if (split_colon(line, f, 7) < 7 || !parse_id(f[2], &pu) || !parse_id(f[3], &pg))
			continue;
		if (by_id ? pu != u.uid : strcmp(f[0], uname) != 0)
			continue;
		u.uid = (uid_t)pu;
		u.gid = (gid_t)pg;
		u.home = xstrdup(f[5]);
		login = f[0];
		found = true;
		break;
	}
	if (!found && !by_id)
		return err_set(e, E_INVALID,
		               "unable to find user %s: no matching entries in passwd file", uname);
	if (gname && *gname) {
		if (parse_id(gname, &v)) {
			u.gid = (gid_t)v;
			gid_found = true;
		}
	}
	save = NULL;
	for (line = group ? strtok_r(group, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4], *m, *msave = NULL;
		unsigned long g;
		if (split_colon(line, f, 4) < 4 || !parse_id(f[2], &g))
			continue;
		if (gname && *gname && !gid_found && strcmp(f[0], gname) == 0) {
			u.gid = (gid_t)g;
			gid_found = true;
		}
		/* Supplementary groups only when the group was not given, as docker does. */
		if (!login || (gname && *gname))
			continue;
		for (m = strtok_r(f[3], ",", &msave); m; m = strtok_r(NULL, ",", &msave))
			if (strcmp(m, login) == 0 && (gid_t)g != u.gid) {
				u.gids = xreallocarray(u.gids, u.n_gids + 1, sizeof(*u.gids));
				u.gids[u.n_gids++] = (gid_t)g;
			}
	}
	if (gname && *gname && !gid_found) {
		spec_user_release(&u);
		return err_set(e, E_INVALID,
		               "unable to find group %s: no matching entries in group file", gname);
	}
	*out = u;
	return 0;
}

/* ---- building ---- */

static bool env_has(char **env, const char *key)
{
	size_t klen = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, klen) == 0 && (*env)[klen] == '=')
			return true;
	return false;
}

static const char *env_lookup(const char *const *envp, const char *key)
{
	size_t klen = strlen(key);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=')
			return *envp + klen + 1;
	return NULL;
}

static int build_env(const struct image_config *img, const struct spec_opts *o,
                     const char *hostname, const char *home, char ***out, struct err *e)
{
	cleanup_strv char **env = NULL;

	if (img)
		for (char **p = img->env; p && *p; p++)
			env_put(&env, *p);
	for (const char *const *p = o->env; p && *p; p++) {
		if (**p == '=' || !**p)
			return err_set(e, E_INVALID, "invalid environment variable: %s", *p);
		if (strchr(*p, '=')) {
			env_put(&env, *p);
		} else {
			/* KEY alone: the caller's value, as docker does; unset stays unset. */
			const char *v = env_lookup(o->envp, *p);
			if (v) {
				cleanup_free char *kv = xasprintf("%s=%s", *p, v);
				env_put(&env, kv);
			}
		}
	}
	if (!env_has(env, "PATH"))
		env_put(&env, DEFAULT_PATH);
	if (!env_has(env, "HOSTNAME")) {
		cleanup_free char *kv = xasprintf("HOSTNAME=%s", hostname);
		env_put(&env, kv);
	}
	if (!env_has(env, "HOME")) {
		cleanup_free char *kv = xasprintf("HOME=%s", home && *home ? home : "/");
		env_put(&env, kv);
	}
	*out = TAKE_PTR(env);
	return 0;
}

static int build_args(const struct image_config *img, const struct spec_opts *o, char ***out,
                      struct err *e)
{
	cleanup_strv char **args = NULL;

	if (o->entrypoint) {
		if (*o->entrypoint)
			strv_push(&args, o->entrypoint);
	} else if (img) {
		for (char **p = img->entrypoint; p && *p; p++)
			strv_push(&args, *p);
	}
	if (o->command && o->command[0]) {
		for (const char *const *p = o->command; *p; p++)
			strv_push(&args, *p);
	} else if (img && !o->entrypoint) {
		/* An --entrypoint drops the image's Cmd, as docker does. */
		for (char **p = img->cmd; p && *p; p++)
			strv_push(&args, *p);
	}
	if (!args || !args[0] || !args[0][0])
		return err_set(e, E_INVALID, "no command specified");
	*out = TAKE_PTR(args);
	return 0;
}

static int add_volume(struct spec *s, const char *v, struct err *e)
{
	cleanup_free char *copy = xstrdup(v);
	char *src = copy, *dst = strchr(copy, ':'), *mode = NULL;
	const char *opts[4] = {"rbind", "rprivate", "rw", NULL};
	struct stat st;

	if (!dst)
		return err_set(e, E_INVALID, "volume %s: expected SRC:DST[:ro|rw]", v);
	*dst++ = '\0';
	if ((mode = strchr(dst, ':')))
		*mode++ = '\0';
	if (src[0] != '/')
		return err_set(e, E_INVALID, "volume %s: the source must be an absolute path", v);
	if (dst[0] != '/' || strstr(dst, "/../") || strcmp(dst, "/") == 0 ||
	    (strlen(dst) >= 3 && strcmp(dst + strlen(dst) - 3, "/..") == 0))
		return err_set(e, E_INVALID,
		               "volume %s: the destination must be an absolute path other than /",
		               v);
	if (mode && strcmp(mode, "ro") == 0)
		opts[2] = "ro";
	else if (mode && strcmp(mode, "rw") != 0)
		return err_set(e, E_INVALID, "volume %s: mode must be ro or rw", v);
	if (stat(src, &st) < 0)
		return err_sys(e, "volume %s: %s", v, src);
	mount_add(s, dst, "bind", src, opts);
	return 0;
}

static int apply_caps(struct spec *s, const struct spec_opts *o, struct err *e)
{
	s->caps = o->privileged ? CAP_ALL : SPEC_DEFAULT_CAPS;
	for (const char *const *p = o->cap_add; p && *p; p++) {
		int c = strcasecmp(*p, "ALL") == 0 ? 64 : spec_cap_parse(*p);
		if (c < 0)
			return err_set(e, E_INVALID, "unknown capability: %s", *p);
		s->caps |= c == 64 ? CAP_ALL : 1ULL << c;
	}
	for (const char *const *p = o->cap_drop; p && *p; p++) {
		int c = strcasecmp(*p, "ALL") == 0 ? 64 : spec_cap_parse(*p);
		if (c < 0)
			return err_set(e, E_INVALID, "unknown capability: %s", *p);
		s->caps &= c == 64 ? 0 : ~(1ULL << c);
	}
	return 0;
}

int spec_build(const struct image_config *img, const struct spec_opts *o,
               const char *const *layer_dirs, size_t n_layers, const char *id, struct spec *out,
               struct err *e)
{
	static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
	static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
	                                    NULL};
	static const char *const pts_o[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
	                                    "mode=0620", "gid=5",  NULL};
	static const char *const sys_ro[] = {"nosuid", "noexec", "nodev", "ro", NULL};
	static const char *const sys_rw[] = {"nosuid", "noexec", "nodev", NULL};
	static const char *const cg_o[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};
	static const char *const mq_o[] = {"nosuid", "noexec", "nodev", NULL};
	static const char *const shm_o[] = {"nosuid",    "noexec",        "nodev",
	                                    "mode=1777", "size=67108864", NULL};
	struct spec s = {0};
	struct spec_user u = {0};
	const char *user = o->user ? o->user : (img && img->user ? img->user : NULL);
	const char *cwd =
	    o->workdir ? o->workdir
	               : (img && img->working_dir && *img->working_dir ? img->working_dir : "/");
	char host[13];

	snprintf(host, sizeof(host), "%.12s", id);
	s.hostname = xstrdup(o->hostname && *o->hostname ? o->hostname : host);
	if (cwd[0] != '/') {
		spec_release(&s);
		return err_set(e, E_INVALID,
		               "the working directory '%s' is invalid, it needs to be an absolute "
		               "path",
		               cwd);
	}
	s.cwd = xstrdup(cwd);
	if (build_args(img, o, &s.args, e) < 0 ||
	    spec_resolve_user(user, layer_dirs, n_layers, &u, e) < 0 ||
	    build_env(img, o, s.hostname, u.home, &s.env, e) < 0 || apply_caps(&s, o, e) < 0)
		goto fail;
	s.uid = u.uid;
	s.gid = u.gid;
	s.gids = TAKE_PTR(u.gids);
	s.n_gids = u.n_gids;
	s.no_new_privs = !o->privileged;
	s.terminal = o->terminal;
	{
		/* containerd's default, 1024 soft, within the hard limit we hold (raising it
		 * needs CAP_SYS_RESOURCE, which a node's service manager may withhold). */
		struct rlimit rl;
		uint64_t hard = NOFILE_LIMIT;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
		    rl.rlim_max < hard)
			hard = rl.rlim_max;
		s.rlimits = xcalloc(1, sizeof(*s.rlimits));
		s.rlimits[0] = (struct spec_rlimit){RLIMIT_NOFILE, hard < 1024 ? hard : 1024, hard};
		s.n_rlimits = 1;
	}
	s.root_path = xstrdup("rootfs");
	s.root_readonly = o->read_only;

	mount_add(&s, "/proc", "proc", "proc", proc_o);
	mount_add(&s, "/dev", "tmpfs", "tmpfs", dev_o);
	mount_add(&s, "/dev/pts", "devpts", "devpts", pts_o);
	mount_add(&s, "/dev/shm", "tmpfs", "shm", shm_o);
	mount_add(&s, "/dev/mqueue", "mqueue", "mqueue", mq_o);
	mount_add(&s, "/sys", "sysfs", "sysfs", o->privileged ? sys_rw : sys_ro);
	mount_add(&s, "/sys/fs/cgroup", "cgroup", "cgroup", cg_o);
	if (o->netfiles_dir)
		spec_add_netfiles(&s, o->netfiles_dir, o->read_only);
	for (const char *const *v = o->volumes; v && *v; v++)
		if (add_volume(&s, *v, e) < 0)
			goto fail;

	s.ns = SPEC_NS_PID | SPEC_NS_MOUNT | SPEC_NS_IPC | SPEC_NS_UTS;
	if (!o->net_host)
		s.ns |= SPEC_NS_NET;
	if (o->cgroupns)
		s.ns |= SPEC_NS_CGROUP;
	if (o->memory_bytes < 0 || o->pids_limit < 0 || o->cpus_milli < 0) {
		err_set(e, E_INVALID, "resource limits must not be negative");
		goto fail;
	}
	if (o->memory_bytes > 0 && o->memory_bytes < 6 * 1024 * 1024) {
		err_set(e, E_INVALID, "minimum memory limit allowed is 6MB");
		goto fail;
	}
	s.memory_bytes = o->memory_bytes;
	s.pids_limit = o->pids_limit;
	if (o->cpus_milli > 0) {
		s.cpu_period_us = CPU_PERIOD;
		s.cpu_quota_us = o->cpus_milli * CPU_PERIOD / 1000;
		if (s.cpu_quota_us < 1000) {
			err_set(e, E_INVALID, "--cpus: the minimum is 0.01");
			goto fail;
		}
	}
	spec_devices_default(&s, o->privileged);
	if (!o->privileged) {
		s.masked = strv_dup(masked_default);
		s.readonly = strv_dup(readonly_default);
		spec_seccomp_default(&s);
	}
	spec_user_release(&u);
	*out = s;
	return 0;
fail:
	spec_user_release(&u);
	spec_release(&s);
	return -1;
}
