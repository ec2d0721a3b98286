/* common/runtime/spec.h - the OCI runtime-spec config.json of a container (DESIGN.md "run":
 * "writes an OCI runtime-spec config.json (valid for runc/crun too)"): built from the image
 * config and the run options, written to ROOT/containers/<id>/config.json, and read back (the
 * subset ctrbox runs: process, root, mounts, hostname, namespaces, resources, seccomp) by the
 * shim and by `run --bundle DIR`. */
#ifndef CTRBOX_RUNTIME_SPEC_H
#define CTRBOX_RUNTIME_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util/err.h"

struct image_config;

#define SPEC_MAX_BYTES (1 << 20)

/* docker's default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 * NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
#define SPEC_DEFAULT_CAPS 0x00000000a80425fbULL

enum spec_ns {
	SPEC_NS_PID = 1 << 0,
	SPEC_NS_MOUNT = 1 << 1,
	SPEC_NS_IPC = 1 << 2,
	SPEC_NS_UTS = 1 << 3,
	SPEC_NS_NET = 1 << 4,
	SPEC_NS_CGROUP = 1 << 5,
};

struct spec_mount {
	char *dest, *type, *source;
	char **options; /* NULL-terminated, or NULL */
};

/* One seccomp rule as runtime-spec words it: the syscalls, the action, and at most one
 * argument comparison (SCMP_CMP_MASKED_EQ is the only one ctrbox writes). */
enum spec_sc_action { SPEC_SC_ERRNO = 0, SPEC_SC_ALLOW, SPEC_SC_KILL };
struct spec_syscall {
	char **names;
	enum spec_sc_action action;
	int errno_ret;
	bool has_arg;
	unsigned arg_index;
	uint64_t arg_value, arg_mask; /* (arg & mask) == value */
};

/* A linux.resources.devices rule: type 'a', 'c' or 'b'; major/minor -1 for "*". */
struct spec_device {
	bool allow;
	char type;
	int64_t major, minor;
	char access[4]; /* some of "rwm" */
};

struct spec_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct spec {
	/* process */
	char **args, **env; /* NULL-terminated */
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *gids; /* additional groups */
	size_t n_gids;
	bool no_new_privs;
	bool terminal; /* process.terminal: the shim gives the process a pty (run -t) */
	uint64_t caps; /* bounding = effective = permitted; inheritable and ambient empty */
	struct spec_rlimit *rlimits;
	size_t n_rlimits;
	/* root */
	char *root_path;
	bool root_readonly;
	char *hostname;
	struct spec_mount *mounts;
	size_t n_mounts;
	/* linux */
	unsigned ns;                         /* enum spec_ns */
	int64_t memory_bytes;                /* 0: no limit */
	int64_t cpu_quota_us, cpu_period_us; /* quota 0: no limit */
	int64_t pids_limit;                  /* 0: no limit */
	struct spec_device *devices;         /* the device cgroup rules, in order */
	size_t n_devices;
	char **masked, **readonly; /* NULL-terminated, or NULL */
	bool seccomp;              /* a seccomp section: default ALLOW and the rules below */
	struct spec_syscall *syscalls;
	size_t n_syscalls;
};

/* What `run` was asked for, on top of the image config. */
struct spec_opts {
	const char *const *command; /* COMMAND [ARG...], or NULL for the image's Cmd */
	const char *entrypoint;     /* --entrypoint ("" clears it), or NULL for the image's */
	const char *const *env;     /* -e/--env-file KEY=VALUE (KEY alone: taken from envp) */
	const char *const *envp;    /* the caller's environment for bare KEYs, or NULL */
	const char *workdir;        /* -w, or NULL */
	const char *user;           /* -u uid[:gid]|name[:group], or NULL for the image's */
	const char *hostname;       /* --hostname, or NULL (the ID's first 12 characters) */
	const char *const *volumes; /* -v SRC:DST[:ro|rw] */
	bool read_only, privileged, net_host, net_none;
	bool terminal; /* -t: process.terminal */
	int64_t memory_bytes, pids_limit;
	int64_t cpus_milli;                           /* --cpus in thousandths, 0: none */
	const char *const *cap_add, *const *cap_drop; /* names with or without CAP_, or ALL */
	bool cgroupns;                                /* the kernel has cgroup namespaces */
	const char *netfiles_dir; /* holds hosts, hostname, resolv.conf to bind, or NULL */
};

void spec_release(struct spec *s);

/* Builds the spec for a container: args from Entrypoint/Cmd/--entrypoint/COMMAND, env from the
 * image and opts, cwd, the user resolved against the rootfs layers in layer_dirs (top first:
 * each a directory holding the layer's files, overlay whiteouts honoured), hostname, docker's
 * mounts, masked and readonly paths, capabilities and seccomp profile, namespaces and
 * resources. img may be NULL (no image defaults). E_INVALID for a bad option value, an empty
 * command, or a user or group the image does not have; E_NOTFOUND for a volume source that
 * does not exist. The caller releases *out. No locks, reads the layers' /etc/passwd and
 * /etc/group only. */
int spec_build(const struct image_config *img, const struct spec_opts *o,
               const char *const *layer_dirs, size_t n_layers, const char *id, struct spec *out,
               struct err *e);

/* Binds dir/hosts, dir/hostname and dir/resolv.conf over /etc/hosts, /etc/hostname and
 * /etc/resolv.conf (read-only with ro, as docker does for a read-only root), each unless s
 * mounts something at that destination already. spec_build does it when o->netfiles_dir is
 * set, before the volumes, so a volume on one of the three wins. */
void spec_add_netfiles(struct spec *s, const char *dir, bool ro);

/* A user resolved from "uid[:gid]" or "name[:group]" (docker's -u). */
struct spec_user {
	uid_t uid;
	gid_t gid;
	gid_t *gids; /* the user's additional groups from /etc/group */
	size_t n_gids;
	char *home; /* from /etc/passwd, or NULL */
};
void spec_user_release(struct spec_user *u);

/* Resolves user against the passwd/group files found in layer_dirs (top first; a whiteout
 * hides the files below). A numeric uid need not exist (gid 0 then); a name must (E_INVALID
 * "unable to find user NAME: no matching entries in passwd file", as docker words it). */
int spec_resolve_user(const char *user, const char *const *layer_dirs, size_t n_layers,
                      struct spec_user *out, struct err *e);

/* Serialises as runtime-spec JSON (ociVersion 1.0.2); the caller frees. */
char *spec_to_json(const struct spec *s);

/* Writes config.json atomically (not fsynced: derived from container.json and the image). */
int spec_save(const struct spec *s, const char *path, struct err *e);

/* Parses the subset of a config.json ctrbox runs. Unknown fields are ignored as runtimes do;
 * a known field of the wrong type is E_INVALID naming it; a bundle asking for what ctrbox
 * cannot honour (a user namespace, joining a namespace, hooks) is E_UNSUPPORTED. The caller
 * releases *out. */
int spec_parse(const char *data, size_t len, struct spec *out, struct err *e);
int spec_load(const char *path, struct spec *out, struct err *e);

/* The default seccomp denylist (ctrbox-run(1) "SECURITY"), appended to s. */
void spec_seccomp_default(struct spec *s);

/* Appends docker's device cgroup rules to s->devices: with privileged, everything; otherwise
 * deny all, then mknod of any node and use of the standard nodes of /dev. */
void spec_devices_default(struct spec *s, bool privileged);

/* Capability bit from "SYS_ADMIN", "CAP_SYS_ADMIN", "cap_sys_admin"; -1 when unknown. */
int spec_cap_parse(const char *name);

#endif
