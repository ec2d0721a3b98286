/* common/runtime/spec_json.c - config.json in and out (DESIGN.md "run": "writes an OCI
 * runtime-spec config.json (valid for runc/crun too)"): a struct spec serialised as
 * runtime-spec JSON, and the subset ctrbox runs parsed back for the shim and `run --bundle`;
 * with the names that JSON spells (capabilities, rlimits, namespaces). Building a spec from an
 * image and the run options is spec.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/runtime/spec.h"
#include "common/runtime/spec_int.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

/* ---- names ---- */

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
_Static_assert(ARRAY_SIZE(cap_names) == SPEC_N_CAPS, "SPEC_N_CAPS counts cap_names");

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
