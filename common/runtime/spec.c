/* common/runtime/spec.c - the OCI runtime-spec config.json of a container: built from the image
 * config and the run options, written for the shim (and for runc), and parsed back (DESIGN.md
 * "run"). The mounts, masked/readonly paths, capabilities and seccomp denylist follow docker's
 * defaults (ctrbox-run(1) "SECURITY"). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/image/manifest.h"
#include "common/runtime/procexec.h"
#include "common/runtime/spec.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PASSWD_MAX   (4 << 20)
#define CPU_PERIOD   100000
#define NOFILE_LIMIT 1048576

static const char *const cap_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};
#define CAP_ALL ((1ULL << ARRAY_SIZE(cap_names)) - 1)

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

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static const struct {
	const char *name;
	unsigned flag;
} ns_names[] = {
    {"pid", SPEC_NS_PID}, {"mount", SPEC_NS_MOUNT}, {"ipc", SPEC_NS_IPC},
    {"uts", SPEC_NS_UTS}, {"network", SPEC_NS_NET}, {"cgroup", SPEC_NS_CGROUP},
};

/* ---- small vectors ---- */

static char **strv_dup(const char *const *v)
{
	char **out = NULL;

	for (; v && *v; v++)
		strv_push(&out, *v);
	return out;
}

static void mount_add(struct spec *s, const char *dest, const char *type, const char *source,
                      const char *const *options)
{
	struct spec_mount *m;

	s->mounts = xreallocarray(s->mounts, s->n_mounts + 1, sizeof(*s->mounts));
	m = &s->mounts[s->n_mounts++];
	m->dest = xstrdup(dest);
	m->type = xstrdup(type);
	m->source = xstrdup(source);
	m->options = strv_dup(options);
}

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

int spec_cap_parse(const char *name)
{
	size_t i;

	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return (int)i;
	return -1;
}

static void device_add(struct spec *s, bool allow, char type, int64_t major, int64_t minor,
                       const char *access)
{
	struct spec_device *d;

	s->devices = xreallocarray(s->devices, s->n_devices + 1, sizeof(*s->devices));
	d = &s->devices[s->n_devices++];
	*d = (struct spec_device){.allow = allow, .type = type, .major = major, .minor = minor};
	snprintf(d->access, sizeof(d->access), "%s", access);
}

/* docker's device cgroup defaults: nothing but mknod, and the standard nodes of /dev. */
static void devices_default(struct spec *s, bool privileged)
{
	static const struct {
		char type;
		int64_t major, minor;
	} allowed[] = {{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 1, 8},    {'c', 1, 9},
	               {'c', 5, 0}, {'c', 5, 1}, {'c', 5, 2}, {'c', 136, -1}, {'c', 10, 200}};

	if (privileged) {
		device_add(s, true, 'a', -1, -1, "rwm");
		return;
	}
	device_add(s, false, 'a', -1, -1, "rwm");
	device_add(s, true, 'c', -1, -1, "m");
	device_add(s, true, 'b', -1, -1, "m");
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		device_add(s, true, allowed[i].type, allowed[i].major, allowed[i].minor, "rwm");
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
	devices_default(&s, o->privileged);
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

/* ---- JSON out ---- */

static struct json_object *strv_json(char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static struct json_object *caps_json(uint64_t caps)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (caps & (1ULL << i)) {
			cleanup_free char *n = xasprintf("CAP_%s", cap_names[i]);
			json_object_array_add(a, json_object_new_string(n));
		}
	return a;
}

static const char *rlimit_name(int res)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i].resource == res)
			return rlimit_names[i].name;
	return "RLIMIT_NOFILE";
}

static struct json_object *seccomp_json(const struct spec *s)
{
	static const char *const arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
	                                     NULL};
	static const char *const actions[] = {"SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW", "SCMP_ACT_KILL"};
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	jsonio_set_str(o, "defaultAction", "SCMP_ACT_ALLOW");
	json_object_object_add(o, "architectures", strv_json((char *const *)arches));
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct spec_syscall *r = &s->syscalls[i];
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "names", strv_json(r->names));
		jsonio_set_str(j, "action", actions[r->action]);
		if (r->action == SPEC_SC_ERRNO)
			jsonio_set_int(j, "errnoRet", r->errno_ret);
		if (r->has_arg) {
			struct json_object *args = json_object_new_array(),
			                   *arg = json_object_new_object();
			jsonio_set_int(arg, "index", r->arg_index);
			json_object_object_add(arg, "value", json_object_new_uint64(r->arg_mask));
			json_object_object_add(arg, "valueTwo",
			                       json_object_new_uint64(r->arg_value));
			jsonio_set_str(arg, "op", "SCMP_CMP_MASKED_EQ");
			json_object_array_add(args, arg);
			json_object_object_add(j, "args", args);
		}
		json_object_array_add(a, j);
	}
	json_object_object_add(o, "syscalls", a);
	return o;
}

char *spec_to_json(const struct spec *s)
{
	cleanup_json struct json_object *root = json_object_new_object();
	struct json_object *proc = json_object_new_object(), *user = json_object_new_object();
	struct json_object *caps = json_object_new_object(), *rl = json_object_new_array();
	struct json_object *rootfs = json_object_new_object(), *mounts = json_object_new_array();
	struct json_object *linux_ = json_object_new_object(), *nss = json_object_new_array();
	struct json_object *res = json_object_new_object(), *gids = json_object_new_array();
	struct json_object *devs = json_object_new_array();
	size_t i;

	jsonio_set_str(root, "ociVersion", "1.0.2");
	jsonio_set_bool(proc, "terminal", s->terminal);
	jsonio_set_int(user, "uid", s->uid);
	jsonio_set_int(user, "gid", s->gid);
	for (i = 0; i < s->n_gids; i++)
		json_object_array_add(gids, json_object_new_int64(s->gids[i]));
	if (s->n_gids)
		json_object_object_add(user, "additionalGids", gids);
	else
		json_object_put(gids);
	json_object_object_add(proc, "user", user);
	json_object_object_add(proc, "args", strv_json(s->args));
	json_object_object_add(proc, "env", strv_json(s->env));
	jsonio_set_str(proc, "cwd", s->cwd ? s->cwd : "/");
	json_object_object_add(caps, "bounding", caps_json(s->caps));
	json_object_object_add(caps, "effective", caps_json(s->caps));
	json_object_object_add(caps, "permitted", caps_json(s->caps));
	json_object_object_add(proc, "capabilities", caps);
	for (i = 0; i < s->n_rlimits; i++) {
		struct json_object *r = json_object_new_object();
		jsonio_set_str(r, "type", rlimit_name(s->rlimits[i].resource));
		json_object_object_add(r, "hard", json_object_new_uint64(s->rlimits[i].hard));
		json_object_object_add(r, "soft", json_object_new_uint64(s->rlimits[i].soft));
		json_object_array_add(rl, r);
	}
	json_object_object_add(proc, "rlimits", rl);
	jsonio_set_bool(proc, "noNewPrivileges", s->no_new_privs);
	json_object_object_add(root, "process", proc);

	jsonio_set_str(rootfs, "path", s->root_path ? s->root_path : "rootfs");
	jsonio_set_bool(rootfs, "readonly", s->root_readonly);
	json_object_object_add(root, "root", rootfs);
	jsonio_set_str(root, "hostname", s->hostname);
	for (i = 0; i < s->n_mounts; i++) {
		struct json_object *m = json_object_new_object();
		jsonio_set_str(m, "destination", s->mounts[i].dest);
		jsonio_set_str(m, "type", s->mounts[i].type);
		jsonio_set_str(m, "source", s->mounts[i].source);
		json_object_object_add(m, "options", strv_json(s->mounts[i].options));
		json_object_array_add(mounts, m);
	}
	json_object_object_add(root, "mounts", mounts);

	for (i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (s->ns & ns_names[i].flag) {
			struct json_object *n = json_object_new_object();
			jsonio_set_str(n, "type", ns_names[i].name);
			json_object_array_add(nss, n);
		}
	json_object_object_add(linux_, "namespaces", nss);
	for (i = 0; i < s->n_devices; i++) {
		const struct spec_device *d = &s->devices[i];
		struct json_object *j = json_object_new_object();
		char type[2] = {d->type, '\0'};
		jsonio_set_bool(j, "allow", d->allow);
		if (d->type != 'a')
			jsonio_set_str(j, "type", type);
		if (d->major >= 0)
			jsonio_set_int(j, "major", d->major);
		if (d->minor >= 0)
			jsonio_set_int(j, "minor", d->minor);
		jsonio_set_str(j, "access", d->access);
		json_object_array_add(devs, j);
	}
	json_object_object_add(res, "devices", devs);
	if (s->memory_bytes > 0) {
		struct json_object *m = json_object_new_object();
		jsonio_set_int(m, "limit", s->memory_bytes);
		json_object_object_add(res, "memory", m);
	}
	if (s->cpu_quota_us > 0) {
		struct json_object *c = json_object_new_object();
		jsonio_set_int(c, "quota", s->cpu_quota_us);
		jsonio_set_int(c, "period", s->cpu_period_us);
		json_object_object_add(res, "cpu", c);
	}
	if (s->pids_limit > 0) {
		struct json_object *p = json_object_new_object();
		jsonio_set_int(p, "limit", s->pids_limit);
		json_object_object_add(res, "pids", p);
	}
	json_object_object_add(linux_, "resources", res);
	if (s->masked)
		json_object_object_add(linux_, "maskedPaths", strv_json(s->masked));
	if (s->readonly)
		json_object_object_add(linux_, "readonlyPaths", strv_json(s->readonly));
	if (s->seccomp)
		json_object_object_add(linux_, "seccomp", seccomp_json(s));
	json_object_object_add(root, "linux", linux_);
	return jsonio_to_string(root, true);
}

int spec_save(const struct spec *s, const char *path, struct err *e)
{
	cleanup_free char *json = spec_to_json(s);

	if (fs_write_atomic(path, json, strlen(json), 0600, 0, e) < 0)
		return err_wrap(e, "config.json");
	return 0;
}

/* ---- JSON in ---- */

static int get_strv(struct json_object *o, const char *key, char ***out, struct err *e)
{
	struct json_object *a = NULL;
	cleanup_strv char **v = NULL;

	if (jsonio_get_array(o, key, false, &a, e) < 0)
		return -1;
	if (!a)
		return 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *x = json_object_array_get_idx(a, i);
		if (!json_object_is_type(x, json_type_string))
			return err_set(e, E_INVALID, "%s: expected strings", key);
		strv_push(&v, json_object_get_string(x));
	}
	if (!v)
		v = xcalloc(1, sizeof(*v));
	*out = TAKE_PTR(v);
	return 0;
}

static int parse_caps(struct json_object *proc, uint64_t *out, struct err *e)
{
	struct json_object *caps = NULL, *a = NULL;

	*out = 0;
	if (jsonio_get_obj(proc, "capabilities", false, &caps, e) < 0)
		return -1;
	if (!caps)
		return 0;
	if (jsonio_get_array(caps, "bounding", false, &a, e) < 0)
		return err_wrap(e, "process.capabilities");
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		const char *n = json_object_get_string(json_object_array_get_idx(a, i));
		int c = n ? spec_cap_parse(n) : -1;
		if (c < 0)
			return err_set(e, E_INVALID, "process.capabilities: unknown capability %s",
			               n ? n : "(not a string)");
		*out |= 1ULL << c;
	}
	return 0;
}

static int parse_process(struct json_object *proc, struct spec *s, struct err *e)
{
	struct json_object *user = NULL, *gids = NULL, *rl = NULL;
	const char *cwd = "/";
	int64_t uid = 0, gid = 0;

	if (get_strv(proc, "args", &s->args, e) < 0 || get_strv(proc, "env", &s->env, e) < 0 ||
	    jsonio_get_str(proc, "cwd", false, &cwd, e) < 0 ||
	    jsonio_get_bool(proc, "terminal", false, &s->terminal, e) < 0 ||
	    jsonio_get_bool(proc, "noNewPrivileges", false, &s->no_new_privs, e) < 0 ||
	    jsonio_get_obj(proc, "user", false, &user, e) < 0 ||
	    parse_caps(proc, &s->caps, e) < 0 ||
	    jsonio_get_array(proc, "rlimits", false, &rl, e) < 0)
		return err_wrap(e, "process");
	if (!s->args || !s->args[0])
		return err_set(e, E_INVALID, "process.args: no command");
	s->cwd = xstrdup(cwd);
	if (user && (jsonio_get_int(user, "uid", false, &uid, e) < 0 ||
	             jsonio_get_int(user, "gid", false, &gid, e) < 0 ||
	             jsonio_get_array(user, "additionalGids", false, &gids, e) < 0))
		return err_wrap(e, "process.user");
	if (uid < 0 || uid > 0xFFFFFFFE || gid < 0 || gid > 0xFFFFFFFE)
		return err_set(e, E_INVALID, "process.user: id out of range");
	s->uid = (uid_t)uid;
	s->gid = (gid_t)gid;
	for (size_t i = 0; gids && i < json_object_array_length(gids); i++) {
		s->gids = xreallocarray(s->gids, s->n_gids + 1, sizeof(*s->gids));
		s->gids[s->n_gids++] =
		    (gid_t)json_object_get_int64(json_object_array_get_idx(gids, i));
	}
	for (size_t i = 0; rl && i < json_object_array_length(rl); i++) {
		struct json_object *r = json_object_array_get_idx(rl, i);
		const char *type = NULL;
		int64_t hard = 0, soft = 0;
		size_t k;
		if (jsonio_get_str(r, "type", true, &type, e) < 0 ||
		    jsonio_get_int(r, "hard", true, &hard, e) < 0 ||
		    jsonio_get_int(r, "soft", true, &soft, e) < 0)
			return err_wrap(e, "process.rlimits");
		for (k = 0; k < ARRAY_SIZE(rlimit_names); k++)
			if (strcmp(type, rlimit_names[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(rlimit_names))
			return err_set(e, E_INVALID, "process.rlimits: unknown %s", type);
		s->rlimits = xreallocarray(s->rlimits, s->n_rlimits + 1, sizeof(*s->rlimits));
		s->rlimits[s->n_rlimits++] =
		    (struct spec_rlimit){rlimit_names[k].resource, (uint64_t)soft, (uint64_t)hard};
	}
	return 0;
}

static int parse_mounts(struct json_object *root, struct spec *s, struct err *e)
{
	struct json_object *a = NULL;

	if (jsonio_get_array(root, "mounts", false, &a, e) < 0)
		return -1;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *m = json_object_array_get_idx(a, i);
		const char *dest = NULL, *type = NULL, *source = NULL;
		cleanup_strv char **opts = NULL;
		if (!json_object_is_type(m, json_type_object) ||
		    jsonio_get_str(m, "destination", true, &dest, e) < 0 ||
		    jsonio_get_str(m, "type", false, &type, e) < 0 ||
		    jsonio_get_str(m, "source", false, &source, e) < 0 ||
		    get_strv(m, "options", &opts, e) < 0)
			return err_wrap(e, "mounts[%zu]", i);
		if (dest[0] != '/')
			return err_set(e, E_INVALID, "mounts[%zu]: %s is not absolute", i, dest);
		if (!type)
			type = "bind"; /* runtime-spec: a bind mount may leave type out */
		mount_add(s, dest, type, source ? source : "none", (const char *const *)opts);
	}
	return 0;
}

static int parse_seccomp(struct json_object *sc, struct spec *s, struct err *e)
{
	const char *def = NULL;
	struct json_object *a = NULL;

	if (jsonio_get_str(sc, "defaultAction", true, &def, e) < 0 ||
	    jsonio_get_array(sc, "syscalls", false, &a, e) < 0)
		return err_wrap(e, "linux.seccomp");
	if (strcmp(def, "SCMP_ACT_ALLOW") != 0)
		return err_set(e, E_UNSUPPORTED,
		               "linux.seccomp: defaultAction %s (ctrbox runs denylists only)", def);
	s->seccomp = true;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *r = json_object_array_get_idx(a, i), *args = NULL;
		const char *act = NULL;
		int64_t eno = EPERM;
		struct spec_syscall sc_ = {0};
		if (get_strv(r, "names", &sc_.names, e) < 0 ||
		    jsonio_get_str(r, "action", true, &act, e) < 0 ||
		    jsonio_get_int(r, "errnoRet", false, &eno, e) < 0 ||
		    jsonio_get_array(r, "args", false, &args, e) < 0) {
			strv_free(sc_.names);
			return err_wrap(e, "linux.seccomp.syscalls[%zu]", i);
		}
		if (strcmp(act, "SCMP_ACT_ERRNO") == 0)
			sc_.action = SPEC_SC_ERRNO;
		else if (strcmp(act, "SCMP_ACT_ALLOW") == 0)
			sc_.action = SPEC_SC_ALLOW;
		else if (strcmp(act, "SCMP_ACT_KILL") == 0 ||
		         strcmp(act, "SCMP_ACT_KILL_THREAD") == 0)
			sc_.action = SPEC_SC_KILL;
		else {
			strv_free(sc_.names);
			return err_set(e, E_UNSUPPORTED, "linux.seccomp: action %s", act);
		}
		sc_.errno_ret = (int)eno;
		if (args && json_object_array_length(args) > 1) {
			strv_free(sc_.names);
			return err_set(e, E_UNSUPPORTED,
			               "linux.seccomp: more than one argument comparison");
		}
		if (args && json_object_array_length(args) == 1) {
			struct json_object *g = json_object_array_get_idx(args, 0), *v;
			const char *op = NULL;
			int64_t idx = 0;
			if (jsonio_get_int(g, "index", true, &idx, e) < 0 ||
			    jsonio_get_str(g, "op", true, &op, e) < 0 ||
			    strcmp(op, "SCMP_CMP_MASKED_EQ") != 0 || idx < 0 || idx > 5) {
				strv_free(sc_.names);
				return err_set(
				    e, E_UNSUPPORTED,
				    "linux.seccomp: only SCMP_CMP_MASKED_EQ comparisons");
			}
			sc_.has_arg = true;
			sc_.arg_index = (unsigned)idx;
			if (json_object_object_get_ex(g, "value", &v))
				sc_.arg_mask = json_object_get_uint64(v);
			if (json_object_object_get_ex(g, "valueTwo", &v))
				sc_.arg_value = json_object_get_uint64(v);
		}
		s->syscalls = xreallocarray(s->syscalls, s->n_syscalls + 1, sizeof(*s->syscalls));
		s->syscalls[s->n_syscalls++] = sc_;
	}
	return 0;
}

static int parse_devices(struct json_object *res, struct spec *s, struct err *e)
{
	struct json_object *a = NULL;

	if (jsonio_get_array(res, "devices", false, &a, e) < 0)
		return -1;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *d = json_object_array_get_idx(a, i);
		const char *type = "a", *access = "rwm";
		int64_t major = -1, minor = -1;
		bool allow = false;
		if (jsonio_get_bool(d, "allow", true, &allow, e) < 0 ||
		    jsonio_get_str(d, "type", false, &type, e) < 0 ||
		    jsonio_get_int(d, "major", false, &major, e) < 0 ||
		    jsonio_get_int(d, "minor", false, &minor, e) < 0 ||
		    jsonio_get_str(d, "access", false, &access, e) < 0)
			return err_wrap(e, "devices[%zu]", i);
		if (strlen(type) != 1 || !strchr("acb", type[0]) || strlen(access) > 3 ||
		    strspn(access, "rwm") != strlen(access))
			return err_set(e, E_INVALID, "devices[%zu]: bad type or access", i);
		device_add(s, allow, type[0], major, minor, access);
	}
	return 0;
}

static int parse_linux(struct json_object *lx, struct spec *s, struct err *e)
{
	struct json_object *nss = NULL, *res = NULL, *x = NULL, *sc = NULL;

	if (jsonio_get_array(lx, "namespaces", false, &nss, e) < 0 ||
	    jsonio_get_obj(lx, "resources", false, &res, e) < 0 ||
	    get_strv(lx, "maskedPaths", &s->masked, e) < 0 ||
	    get_strv(lx, "readonlyPaths", &s->readonly, e) < 0 ||
	    jsonio_get_obj(lx, "seccomp", false, &sc, e) < 0)
		return err_wrap(e, "linux");
	for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
		struct json_object *n = json_object_array_get_idx(nss, i);
		const char *type = NULL, *path = NULL;
		size_t k;
		if (jsonio_get_str(n, "type", true, &type, e) < 0 ||
		    jsonio_get_str(n, "path", false, &path, e) < 0)
			return err_wrap(e, "linux.namespaces[%zu]", i);
		if (path)
			return err_set(
			    e, E_UNSUPPORTED,
			    "linux.namespaces: joining a namespace (%s) is not supported", path);
		for (k = 0; k < ARRAY_SIZE(ns_names); k++)
			if (strcmp(type, ns_names[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(ns_names))
			return err_set(e, E_UNSUPPORTED,
			               "linux.namespaces: a %s namespace is not supported", type);
		s->ns |= ns_names[k].flag;
	}
	if (res) {
		if (jsonio_get_obj(res, "memory", false, &x, e) < 0 ||
		    (x && jsonio_get_int(x, "limit", false, &s->memory_bytes, e) < 0))
			return err_wrap(e, "linux.resources");
		x = NULL;
		if (jsonio_get_obj(res, "cpu", false, &x, e) < 0 ||
		    (x && (jsonio_get_int(x, "quota", false, &s->cpu_quota_us, e) < 0 ||
		           jsonio_get_int(x, "period", false, &s->cpu_period_us, e) < 0)))
			return err_wrap(e, "linux.resources");
		x = NULL;
		if (jsonio_get_obj(res, "pids", false, &x, e) < 0 ||
		    (x && jsonio_get_int(x, "limit", false, &s->pids_limit, e) < 0))
			return err_wrap(e, "linux.resources");
		if (parse_devices(res, s, e) < 0)
			return err_wrap(e, "linux.resources");
		if (s->memory_bytes < 0)
			s->memory_bytes = 0;
		if (s->pids_limit < 0)
			s->pids_limit = 0;
		if (s->cpu_quota_us > 0 && s->cpu_period_us <= 0)
			s->cpu_period_us = CPU_PERIOD;
		if (s->cpu_quota_us < 0)
			s->cpu_quota_us = 0;
	}
	if (sc && parse_seccomp(sc, s, e) < 0)
		return -1;
	return 0;
}

int spec_parse(const char *data, size_t len, struct spec *out, struct err *e)
{
	cleanup_json struct json_object *root = NULL;
	struct json_object *proc = NULL, *rootfs = NULL, *lx = NULL, *hooks = NULL;
	const char *path = NULL, *hostname = NULL;
	struct spec s = {0};

	if (jsonio_parse(data, len, &root, e) < 0)
		return -1;
	if (!json_object_is_type(root, json_type_object))
		return err_set(e, E_INVALID, "not a JSON object");
	if (jsonio_get_obj(root, "process", true, &proc, e) < 0 ||
	    jsonio_get_obj(root, "root", true, &rootfs, e) < 0 ||
	    jsonio_get_str(rootfs, "path", true, &path, e) < 0 ||
	    jsonio_get_bool(rootfs, "readonly", false, &s.root_readonly, e) < 0 ||
	    jsonio_get_str(root, "hostname", false, &hostname, e) < 0 ||
	    jsonio_get_obj(root, "linux", false, &lx, e) < 0 ||
	    jsonio_get_obj(root, "hooks", false, &hooks, e) < 0)
		goto fail;
	if (hooks && json_object_object_length(hooks) > 0) {
		err_set(e, E_UNSUPPORTED, "hooks are not supported");
		goto fail;
	}
	s.root_path = xstrdup(path);
	s.hostname = hostname ? xstrdup(hostname) : NULL;
	if (parse_process(proc, &s, e) < 0 || parse_mounts(root, &s, e) < 0 ||
	    (lx && parse_linux(lx, &s, e) < 0))
		goto fail;
	*out = s;
	return 0;
fail:
	spec_release(&s);
	return -1;
}

int spec_load(const char *path, struct spec *out, struct err *e)
{
	cleanup_free char *data = NULL;
	size_t len = 0;

	if (fs_read_file(path, SPEC_MAX_BYTES, &data, &len, e) < 0)
		return err_wrap(e, "%s", path);
	if (spec_parse(data, len, out, e) < 0)
		return err_wrap(e, "%s", path);
	return 0;
}
