/* common/runtime/shim.c - the per-container shim's lifecycle (DESIGN.md lesson 3, "run"):
 * started by `run` (the static ctrbox-shim, or `ctrbox __shim`) through an intermediate that
 * exits at once (spawn_orphan) so it is orphaned, a child subreaper in its own session and
 * the parent of the container's init; it creates the cgroup and namespaces, starts the init,
 * records state.json and events, and cleans up. The streams (log, attach clients, pty) are
 * shim_io.c. Kept small: fixed buffers, no threads, one poll loop. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "common/runtime/attach.h"
#include "common/runtime/cgroup.h"
#include "common/runtime/crilog.h"
#include "common/runtime/init.h"
#include "common/runtime/names.h"
#include "common/runtime/secure.h"
#include "common/runtime/shim.h"
#include "common/runtime/shim_cgroup.h"
#include "common/runtime/shim_io.h"
#include "common/runtime/spec.h"
#include "common/store/container_record.h"
#include "common/store/event.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define LOG_MAX_BYTES  (10LL << 20) /* for a container.json without log_max_* */
#define LOG_MAX_FILES  3
#define NAME_FORGET_NS (5LL * 1000000000LL)

extern char **environ;

/* ---- run's side ---- */

char *shim_binary(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash, *p;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if (!(slash = strrchr(self, '/')))
		return NULL;
	*slash = '\0';
	p = xasprintf("%s/ctrbox-shim", self);
	if (access(p, X_OK) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* spawn_orphan's two short-lived children run in run's memory (CLONE_VM), one after the
 * other, while run waits (CLONE_VFORK): no page tables are copied, and the shim needs no fork
 * of its own after its exec. Until they exec or exit they make system calls only. */
struct orphan {
	const char *bin;
	char *const *argv;
	int status_fd;
	sigset_t mask;            /* run's signal mask, for the shim */
	volatile int exec_errno;  /* why the intermediate or the exec failed; 0 when it did not */
	char stack[2][16384] __attribute__((aligned(16)));
};

/* The shim's process: status socket on 3, stdio on /dev/null, nothing else open, default
 * handlers instead of run's (ignored signals stay ignored, as across any exec), run's mask. */
__attribute__((no_sanitize_address)) static int orphan_exec(void *arg)
{
	struct orphan *o = arg;
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
	int null;

	for (int sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
		    old.sa_handler != SIG_IGN)
			(void)sigaction(sig, &dfl, NULL);
	if (o->status_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(o->status_fd, 3) < 0)
		goto fail;
	null = open("/dev/null", O_RDWR);
	if (null < 0 || (null != 0 && dup2(null, 0) < 0) || dup2(0, 1) < 0 || dup2(0, 2) < 0)
		goto fail;
	if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
		goto fail;
	sigprocmask(SIG_SETMASK, &o->mask, NULL);
	execv(o->bin, o->argv);
fail:
	o->exec_errno = errno;
	_exit(127);
}

/* The intermediate: a session of its own, which the shim joins without leading it (so it can
 * never acquire a controlling terminal), then the shim, then exit at once: the shim is
 * orphaned as soon as it has exec'd, and adopted by PID 1 or the nearest subreaper. */
__attribute__((no_sanitize_address)) static int orphan_start(void *arg)
{
	struct orphan *o = arg;

	if (setsid() < 0 ||
	    clone(orphan_exec, o->stack[1] + sizeof(o->stack[1]), CLONE_VM | CLONE_VFORK | SIGCHLD,
	          o) < 0)
		o->exec_errno = errno ? errno : EAGAIN;
	_exit(o->exec_errno ? 1 : 0);
}

/* Starts bin orphaned, as a double fork would, without copying run: returns the
 * intermediate's pid to reap once bin has exec'd, or -1 with errno (then nothing runs). */
static pid_t spawn_orphan(const char *bin, char *const *argv, int status_fd)
{
	struct orphan o = {.bin = bin, .argv = argv, .status_fd = status_fd};
	sigset_t all;
	pid_t pid;
	int saved;

	/* No handler of run's may run on the children's stacks. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &o.mask);
	pid = clone(orphan_start, o.stack[0] + sizeof(o.stack[0]), CLONE_VM | CLONE_VFORK | SIGCHLD,
	            &o);
	saved = pid < 0 ? errno : o.exec_errno;
	sigprocmask(SIG_SETMASK, &o.mask, NULL);
	if (pid > 0 && saved)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (saved) {
		errno = saved;
		return -1;
	}
	return pid;
}

int shim_starter_wait(pid_t starter, struct err *e)
{
	int st;

	while (waitpid(starter, &st, 0) < 0)
		if (errno != EINTR)
			return err_sys(e, "wait for the shim's starter");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return err_set(e, E_IO, "the shim's starter failed");
	return 0;
}

int shim_spawn(const struct ctx *ctx, const char *shim_bin, const struct shim_opts *o,
               int *status_fd, pid_t *starter, struct err *e)
{
	const char *argv[28];
	const char *self = shim_bin ? shim_bin : "/proc/self/exe";
	int sv[2], n = 0;
	pid_t pid;

	if (shim_bin) {
		argv[n++] = "ctrbox-shim";
		argv[n++] = "--root";
		argv[n++] = ctx->path.root;
		argv[n++] = "--state";
		argv[n++] = ctx->path.state;
		argv[n++] = "--proc";
		argv[n++] = ctx->path.proc;
		argv[n++] = "--sys";
		argv[n++] = ctx->path.sys;
		argv[n++] = "--cgroup";
		argv[n++] = ctx->path.cgroup;
		if (ctx->config_path) {
			argv[n++] = "--config";
			argv[n++] = ctx->config_path;
		}
		argv[n++] = "--status-fd";
		argv[n++] = "3";
		if (o->netns && !o->id)
			argv[n++] = "--netns";
		if (o->early_id && !o->id) {
			argv[n++] = "--early-id";
			argv[n++] = o->early_id;
		}
	} else {
		argv[n++] = "ctrbox";
		argv[n++] = "--root";
		argv[n++] = ctx->path.root;
		argv[n++] = "--state";
		argv[n++] = ctx->path.state;
		if (ctx->config_path && ctx->origin.config &&
		    strcmp(ctx->origin.config, "flag") == 0) {
			argv[n++] = "--config";
			argv[n++] = ctx->config_path;
		}
		argv[n++] = "__shim";
		argv[n++] = "--status-fd=3";
	}
	if (o->rm)
		argv[n++] = "--rm";
	if (o->wait_attach)
		argv[n++] = "--wait-attach";
	if (o->open_stdin)
		argv[n++] = "--stdin";
	if (o->overlay) {
		argv[n++] = "--overlay";
		argv[n++] = o->overlay;
	}
	if (o->id)
		argv[n++] = o->id;
	else if (shim_bin)
		argv[n++] = "--await-start";
	else
		return err_set(e, E_INVALID, "a shim without its container id needs ctrbox-shim");
	argv[n] = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, "socketpair");
	pid = spawn_orphan(self, (char *const *)argv, sv[1]);
	if (pid < 0) {
		err_sys(e, "start the shim %s", self);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	if (starter) {
		*starter = pid;
	} else if (shim_starter_wait(pid, e) < 0) {
		close(sv[0]);
		return -1;
	}
	*status_fd = sv[0];
	return 0;
}

int shim_read_msg(int fd, struct shim_msg *m, struct err *e)
{
	size_t got = 0;

	while (got < sizeof(*m)) {
		ssize_t n = read(fd, (char *)m + got, sizeof(*m) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "shim status");
		if (n == 0)
			return err_set(e, E_IO, "the shim exited without reporting");
		got += (size_t)n;
	}
	m->msg[sizeof(m->msg) - 1] = '\0';
	return 0;
}

static int full_io(int fd, void *buf, size_t len, bool wr, struct err *e)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
		               : read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "shim status");
		if (n == 0)
			return err_set(e, E_IO, "the shim's status socket closed");
		done += (size_t)n;
	}
	return 0;
}

int shim_send_start(int fd, const char *id, const char *overlay, struct err *e)
{
	struct shim_start m = {0};

	if (overlay && strlen(overlay) >= sizeof(m.overlay))
		return err_set(e, E_INVALID, "overlay mount data is %zu bytes, limit %zu",
		               strlen(overlay), sizeof(m.overlay) - 1);
	snprintf(m.id, sizeof(m.id), "%s", id);
	if (overlay)
		memcpy(m.overlay, overlay, strlen(overlay) + 1);
	return full_io(fd, &m, sizeof(m), true, e);
}

int shim_read_start(int fd, struct shim_start *out, struct err *e)
{
	if (full_io(fd, out, sizeof(*out), false, e) < 0)
		return -1;
	out->id[sizeof(out->id) - 1] = '\0';
	out->overlay[sizeof(out->overlay) - 1] = '\0';
	if (!store_id_valid(out->id))
		return err_set(e, E_INVALID, "shim start: not a container id");
	return 0;
}

/* ---- the shim ---- */

static void send_msg(struct shim *s, int kind, int code, int pid, const char *msg)
{
	struct shim_msg m = {.kind = kind, .code = code, .pid = pid};

	if (s->status_fd < 0)
		return;
	if (msg)
		snprintf(m.msg, sizeof(m.msg), "%s", msg);
	/* `run` may be gone (killed): a failed send changes nothing for the container. */
	if (send(s->status_fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
		close(s->status_fd);
		s->status_fd = -1;
	}
}

/* /proc/PID/stat field 22, to tell a reused PID from ours. */
static uint64_t start_time(const struct ctx *ctx, pid_t pid)
{
	char rel[32], *data = NULL, *p;
	struct err e = ERR_INIT;
	size_t len;
	uint64_t v = 0;
	cleanup_free char *path = NULL;

	snprintf(rel, sizeof(rel), "%d/stat", (int)pid);
	path = path_join(ctx->path.proc, rel);
	if (fs_read_file(path, 4096, &data, &len, &e) < 0)
		return 0;
	p = strrchr(data, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	free(data);
	return v;
}

static void emit(struct shim *s, enum event_type t, const char *reason, const char *msg)
{
	struct err e = ERR_INIT;

	(void)event_emit(s->ctx, t, reason, OBJECT_CONTAINER, s->o->id, s->name, "shim", &e, "%s",
	                 msg);
}

static void save_state(struct shim *s)
{
	struct err e = ERR_INIT;

	(void)container_state_save(s->ctx, s->o->id, &s->st, &e);
}

static void cleanup_cgroup(struct shim *s)
{
	struct err e = ERR_INIT;

	if (!s->have_cg)
		return;
	for (int i = 0; i < 100; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		err_clear(&e);
		if (cgroup_remove(&s->cg, &e) == 0 || e.sys_errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
}

/* The init's exit would tear its mount namespace down (the overlay and every mount in it, and
 * an RCU grace period) before its parent hears of the exit. The shim holds the namespace
 * until the exit is recorded and sent, then lets it go here: the same work, off the path
 * between the container's exit and `run`'s. */
static void hold_mounts(struct shim *s)
{
	char rel[32];
	cleanup_free char *path = NULL;

	if (!(s->spec.ns & SPEC_NS_MOUNT))
		return;
	snprintf(rel, sizeof(rel), "%d/ns/mnt", (int)s->pid);
	path = path_join(s->ctx->path.proc, rel);
	s->mnt_fd = open(path, O_RDONLY | O_CLOEXEC);
}

static void release_mounts(struct shim *s)
{
	if (s->mnt_fd >= 0)
		close(s->mnt_fd);
	s->mnt_fd = -1;
}

static void finish(struct shim *s, int code, bool started)
{
	struct err e = ERR_INIT;
	uint64_t ooms = 0;
	int32_t c32;
	char buf[32];

	if (s->log)
		(void)crilog_flush(s->log, s->ctx->now_ns(), &e);
	if (started && s->have_cg && cgroup_oom_kills(&s->cg, &ooms, &e) == 0 && ooms > 0)
		s->st.oom_killed = true;
	s->st.status = STATUS_STOPPED;
	s->st.exit_code = code;
	s->st.finished_ns = s->ctx->now_ns();
	s->st.pid = 0;
	s->st.pid_start_time = 0;
	save_state(s);
	if (s->st.oom_killed)
		emit(s, EVENT_WARNING, "OOMKilled", "the kernel's OOM killer killed a process");
	snprintf(buf, sizeof(buf), "exit code %d", code);
	if (started)
		emit(s, code == 0 ? EVENT_NORMAL : EVENT_WARNING, "Died", buf);
	{
		/* No new clients for a container that is gone. */
		cleanup_free char *sock = attach_path(s->ctx, s->o->id);
		(void)unlink(sock);
	}
	c32 = code;
	shim_io_broadcast(s, ATTACH_EXIT, &c32, sizeof(c32), true);
	release_mounts(s);
	shim_io_drain(s);
	cleanup_cgroup(s);
	if (s->o->rm) {
		(void)fs_remove_tree(s->cdir, &e);
		(void)container_state_remove(s->ctx, s->o->id, &e);
		if (s->name)
			(void)names_forget(s->ctx, s->name, s->o->id, NAME_FORGET_NS, &e);
		emit(s, EVENT_NORMAL, "Removed", "removed after exit (--rm)");
	}
}

static void shim_release(struct shim *s)
{
	int *fds[] = {&s->status_fd, &s->listen_fd, &s->sig_fd, &s->out_fd,
	              &s->err_fd,    &s->in_fd,     &s->pty_fd, &s->mnt_fd};

	free(s->name);
	free(s->in_buf);
	free(s->cdir);
	free(s->sdir);
	spec_release(&s->spec);
	cgroup_release(&s->cg);
	if (s->log)
		crilog_close(s->log);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

static unsigned clone_flags(const struct spec *sp)
{
	unsigned f = 0;

	if (sp->ns & SPEC_NS_PID)
		f |= CLONE_NEWPID;
	if (sp->ns & SPEC_NS_MOUNT)
		f |= CLONE_NEWNS;
	if (sp->ns & SPEC_NS_IPC)
		f |= CLONE_NEWIPC;
	if (sp->ns & SPEC_NS_UTS)
		f |= CLONE_NEWUTS;
	if (sp->ns & SPEC_NS_NET)
		f |= CLONE_NEWNET;
	return f;
}

/* The init's report: sizeof(*r) when it could not exec, 0 when it did (or died). */
static ssize_t read_report(int fd, struct init_report *r)
{
	ssize_t n;

	do
		n = read(fd, r, sizeof(*r));
	while (n < 0 && errno == EINTR);
	return n;
}

/* What needs no init: the cgroup (made early by shim_prepare_cgroup, or now) with its limits
 * and device rules, the log, the attach socket and the seccomp filter. All before the clone:
 * after it, every heap page we write is copied on a fault of its own until the init execs,
 * and the init, new on our CPU, tends to take that CPU from us until it waits. The device
 * rules, a deny-all and then the allows, must be complete before the init is moved in. */
static int prepare_unstarted(struct shim *s, const struct cgroup_limits *lim,
                             struct secure_filter *filter, struct err *e)
{
	cleanup_free char *logpath = path_join(s->cdir, "log");
	cleanup_free char *bpf_cache = path_join(s->ctx->path.state, "seccomp");
	int64_t max_bytes = s->log_max_bytes > 0 ? s->log_max_bytes : LOG_MAX_BYTES;
	int max_files = s->log_max_files > 0 ? s->log_max_files : LOG_MAX_FILES;

	if (s->have_cg && (cgroup_create(&s->cg, lim, e) < 0 ||
	                   shim_write_device_rules(&s->cg, &s->spec, s->o->cgroup_ready, e) < 0))
		return -1;
	if (crilog_open(logpath, max_bytes, max_files, &s->log, e) < 0 ||
	    attach_listen(s->ctx, s->o->id, &s->listen_fd, e) < 0 ||
	    secure_seccomp_compile(&s->spec, bpf_cache, filter, e) < 0)
		return -1;
	return 0;
}

/* The init into its cgroup and released ("g"); READY to `run`; then, once a client attached
 * (wait_attach), the seccomp filter, the last thing the init waits for before exec. */
static int release_init(struct shim *s, int go_fd, const struct secure_filter *filter,
                        bool *go_failed, struct err *e)
{
	if (s->have_cg && cgroup_add_pid(&s->cg, s->pid, e) < 0) {
		kill(s->pid, SIGKILL);
		return -1;
	}
	if (write(go_fd, "g", 1) != 1) {
		/* The init is gone already: its report (read next) says why. */
		*go_failed = true;
		err_sys(e, "start the container");
		kill(s->pid, SIGKILL);
		return 0;
	}
	send_msg(s, SHIM_READY, 0, getpid(), NULL);
	if (s->o->wait_attach)
		shim_io_wait_attach(s);
	if (init_send_filter(go_fd, filter, e) < 0) {
		*go_failed = true;
		kill(s->pid, SIGKILL);
	}
	return 0;
}

/* start's body; filter is the seccomp program prepare_unstarted compiles, released by start. */
static int start_with(struct shim *s, struct secure_filter *filter, struct err *e)
{
	struct container_doc doc = {0};
	cleanup_free char *cfg = path_join(s->cdir, "config.json");
	cleanup_free char *rootfs = path_join(s->cdir, "rootfs");
	const char *opts = s->o->overlay;
	cleanup_free char *snapdir = store_snapshots_dir(s->ctx);
	struct cgroup_limits lim;
	enum cgroup_mode mode = CGROUP_V1;
	int pipes[12] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
	int *out = pipes, *errp = pipes + 2, *go = pipes + 4, *rep = pipes + 6, *in = pipes + 8;
	int *con = pipes + 10; /* the console socket: the init sends the pty master */
	bool tty, go_failed = false;
	struct init_report r;
	ssize_t n;
	pid_t pid;
	unsigned flags;
	int rc;
	/* Ours now: closed on return, once the init has joined it (or does not need it). */
	cleanup_close int netns = s->o->have_netns ? s->o->netns_fd : -1;
	bool join_netns;

	if (container_doc_load(s->ctx, s->o->id, &doc, e) < 0)
		return -1;
	s->name = doc.name ? xstrdup(doc.name) : NULL;
	s->log_max_bytes = doc.log_max_bytes;
	s->log_max_files = doc.log_max_files;
	container_doc_release(&doc);
	if (spec_load(cfg, &s->spec, e) < 0)
		return -1;
	join_netns = netns >= 0 && (s->spec.ns & SPEC_NS_NET);
	lim = (struct cgroup_limits){s->spec.memory_bytes, s->spec.cpu_quota_us,
	                             s->spec.cpu_period_us, s->spec.pids_limit};
	if (cgroup_detect(s->ctx, &mode, e) == 0) {
		cgroup_paths(s->ctx, mode, s->o->id, &s->cg);
		s->have_cg = true;
	} else if (lim.memory_bytes || lim.cpu_quota_us || lim.pids) {
		return -1; /* limits asked for and no cgroups to hold them */
	}
	if (prepare_unstarted(s, &lim, filter, e) < 0)
		return -1;

	/* With a terminal the pty is stdin, stdout and stderr: no pipes for them. */
	tty = s->spec.terminal;
	if ((!tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) ||
	    pipe2(go, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0 ||
	    (!tty && s->o->open_stdin && pipe2(in, O_CLOEXEC) < 0)) {
		err_sys(e, "pipe");
		goto fail_pipes;
	}
	if (tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0) {
		err_sys(e, "socketpair");
		goto fail_pipes;
	}
	/* The network namespace made while we waited for `run` is joined instead of cloned. */
	flags = clone_flags(&s->spec);
	if (join_netns)
		flags &= ~(unsigned)CLONE_NEWNET;
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, NULL);
	if (pid < 0) {
		err_sys(e, "clone");
		goto fail_pipes;
	}
	if (pid == 0) {
		struct init_args a = {
		    .spec = &s->spec,
		    .rootfs = opts ? rootfs : s->spec.root_path,
		    .overlay_opts = opts,
		    .overlay_dir = snapdir,
		    .bind_src = opts ? NULL : s->spec.root_path,
		    .cgroup_v2 = mode == CGROUP_V2,
		    .go_fd = go[0],
		    .report_fd = rep[1],
		    .out_fd = out[1],
		    .err_fd = errp[1],
		    .in_fd = in[0],
		    .console_fd = con[1],
		    .netns_fd = join_netns ? netns : -1,
		};
		init_container(&a);
	}
	s->pid = pid;
	hold_mounts(s);
	if (!tty) {
		close(out[1]);
		close(errp[1]);
	} else {
		close(con[1]);
	}
	close(go[0]);
	close(rep[1]);
	s->out_fd = out[0];
	s->err_fd = errp[0];
	if (in[0] >= 0) {
		close(in[0]);
		s->in_fd = in[1];
		/* Never block the shim on a container that does not read its input. */
		(void)fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
	}
	rc = release_init(s, go[1], filter, &go_failed, e);
	close(go[1]);
	n = read_report(rep[0], &r);
	close(rep[0]);
	if (rc < 0) {
		/* The init may have failed first (a mount): then its reason is the one to give. */
		if (n == (ssize_t)sizeof(r)) {
			r.msg[sizeof(r.msg) - 1] = '\0';
			err_set(e, E_INVALID, "%s", r.msg);
		}
		if (tty)
			close(con[0]);
		return -1;
	}
	if (tty) {
		/* exec happened or the init died: either way its end is closed, so this
		 * cannot hang; the master is queued before a successful exec. */
		int crc = n == 0 ? init_recv_console(con[0], &s->pty_fd, e) : 0;
		close(con[0]);
		if (crc < 0) {
			kill(pid, SIGKILL);
			return -1;
		}
		if (s->pty_fd >= 0)
			(void)fcntl(s->pty_fd, F_SETFL, O_NONBLOCK);
	}
	if (n == (ssize_t)sizeof(r)) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		return err_set(e,
		               r.code == 127   ? E_NOTFOUND
		               : r.code == 126 ? E_PERM
		                               : E_INVALID,
		               "%s", r.msg);
	}
	if (n != 0 || go_failed)
		return err_set(e, E_IO, "the container's init died before exec");
	return 0;

fail_pipes:
	for (size_t i = 0; i < ARRAY_SIZE(pipes); i++)
		if (pipes[i] >= 0)
			close(pipes[i]);
	return -1;
}

/* Everything up to a started container; a failure is reported as 125 and recorded. */
static int start(struct shim *s, struct err *e)
{
	struct secure_filter filter = {0};
	int rc = start_with(s, &filter, e);

	secure_filter_release(&filter);
	return rc;
}

static int failed_code(const struct err *e)
{
	return e->code == E_NOTFOUND && strncmp(e->msg, "exec:", 5) == 0 ? 127
	       : e->code == E_PERM && strncmp(e->msg, "exec:", 5) == 0   ? 126
	                                                                 : 125;
}

int shim_main(const struct ctx *ctx, const struct shim_opts *o, int status_fd)
{
	struct shim s = {.ctx = ctx,
	                 .o = o,
	                 .status_fd = status_fd,
	                 .listen_fd = -1,
	                 .sig_fd = -1,
	                 .out_fd = -1,
	                 .err_fd = -1,
	                 .in_fd = -1,
	                 .pty_fd = -1,
	                 .mnt_fd = -1,
	                 .in_client = -1};
	struct err e = ERR_INIT;
	sigset_t mask;
	int code;

	for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
		attach_client_init(&s.clients[i], -1);
	s.cdir = store_container_dir(ctx, o->id);
	s.sdir = store_container_state_dir(ctx, o->id);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	(void)prctl(PR_SET_NAME, "ctrbox-shim", 0, 0, 0);
	/* Only SIGKILL ends the shim: the container is stopped through its init. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	/* run made it with state.json; a walk from "/" only when it did not. */
	if (mkdir(s.sdir, 0700) < 0 && errno == ENOENT)
		(void)fs_mkdir_p(s.sdir, 0700, &e);

	s.st.shim_pid = getpid();
	s.st.shim_start_time = start_time(ctx, getpid());
	s.st.shim_parent_pid = getppid();
	if (s.sig_fd < 0 || start(&s, &e) < 0) {
		code = failed_code(&e);
		send_msg(&s, SHIM_FAILED, code, 0, e.msg);
		emit(&s, EVENT_WARNING, "Failed", e.msg);
		if (s.pid > 0)
			while (waitpid(s.pid, NULL, 0) < 0 && errno == EINTR)
				;
		finish(&s, code, false);
		shim_release(&s);
		return 0;
	}
	s.st.status = STATUS_RUNNING;
	s.st.pid = s.pid;
	s.st.pid_start_time = start_time(ctx, s.pid);
	s.st.started_ns = ctx->now_ns();
	save_state(&s);
	emit(&s, EVENT_NORMAL, "Started", s.spec.args[0]);
	send_msg(&s, SHIM_STARTED, 0, s.pid, NULL);
	if (s.status_fd >= 0) {
		close(s.status_fd);
		s.status_fd = -1;
	}

	/* The spec's JSON and the setup are done with: give their pages back, since the shim
	 * lives as long as the container (its memory per container is a headline figure). */
	malloc_trim(0);
	shim_io_loop(&s);
	if (!s.exited) {
		/* A pipe outlived the namespace's teardown; wait for the init itself. */
		while (waitpid(s.pid, &s.wstatus, 0) < 0 && errno == EINTR)
			;
	}
	code = WIFEXITED(s.wstatus)     ? WEXITSTATUS(s.wstatus)
	       : WIFSIGNALED(s.wstatus) ? 128 + WTERMSIG(s.wstatus)
	                                : 255;
	finish(&s, code, true);
	shim_release(&s);
	return 0;
}
