/* common/runtime/exec.c - `exec`: a new process in a running container (DESIGN.md "run"; issue
 * 6). The caller checks the container's init is still the process state.json recorded, opens
 * its namespaces and loads its config.json; a waiter (host namespaces, child subreaper) starts
 * the joiner (exec_join.c: a sealed copy of ctrbox that joins the cgroup and namespaces and
 * forks the process inside the PID namespace), journals ExecStarted and ExecDied, forwards
 * signals, and reports the exec and the exit status back. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/runtime/cgroup.h"
#include "common/runtime/exec.h"
#include "common/runtime/exec_join.h"
#include "common/runtime/procexec.h"
#include "common/runtime/lifecycle.h"
#include "common/runtime/lookup.h"
#include "common/runtime/spec.h"
#include "common/store/container_record.h"
#include "common/store/event.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/exit.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"

/* The caller's side of a job: what the waiter needs besides what the joiner gets. */
struct exec_run {
	const struct ctx *ctx;
	char id[65];
	char *name;
	char *devnull;  /* the host's /dev/null, for the waiter */
	char *self_exe; /* the host's <proc>/self/exe, copied for the joiner */
	char *const *argv;
	struct exec_job job;
};

static void run_release(struct exec_run *r)
{
	free(r->name);
	free(r->devnull);
	free(r->self_exe);
	exec_job_release(&r->job);
}

void exec_signal(int fd, int sig)
{
	struct exec_msg m = {.kind = EXEC_MSG_SIGNAL, .code = sig};

	if (fd >= 0)
		(void)send(fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- the waiter: host namespaces, the process's parent ---- */

/* Closes every descriptor from 3 up but a and b: the waiter may outlive the caller (-d), and
 * must not hold its pipes (a shell's $(...), bats' fd 3) open all that time. */
static void close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		(void)syscall(SYS_close_range, 3U, (unsigned)lo - 1, 0U);
	if (hi > lo + 1)
		(void)syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0U);
	(void)syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0U);
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_RUN_ERROR;
}

static void tell(int pfd, int kind, int code, pid_t pid, const char *msg, int pass_fd)
{
	struct exec_msg m = {.kind = kind, .code = code, .pid = pid};

	if (msg)
		snprintf(m.msg, sizeof(m.msg), "%s", msg);
	(void)exec_msg_send(pfd, &m, pass_fd);
}

static char *command_line(char *const *argv)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; argv[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
	return buf_take(&b);
}

/* Waits for the process, forwarding what the caller asks; journals and reports the exit. With
 * a pty we keep the master open: once the caller is gone (-d, the detach keys) the process
 * keeps its terminal, and we drain what it writes so it never blocks on a full pty. */
__attribute__((noreturn)) static void waiter_watch(struct exec_run *r, int pfd, pid_t pid, int pty,
                                                   const char *cmd)
{
	struct err e = ERR_INIT;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = 0, code;
	char drain[4096];

	for (bool caller = true; pidfd >= 0;) {
		struct pollfd p[3] = {{pidfd, POLLIN, 0},
		                      {caller ? pfd : -1, POLLIN, 0},
		                      {caller ? -1 : pty, POLLIN, 0}};
		struct exec_msg m = {0};

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			if (exec_msg_recv(pfd, &m, NULL) == 1) {
				if (m.kind == EXEC_MSG_SIGNAL && m.code > 0 && m.code < NSIG)
					(void)kill(pid, m.code);
			} else {
				caller = false; /* gone (-d, detached): carry on alone */
			}
		}
		if (p[2].revents) {
			ssize_t n = read(pty, drain, sizeof(drain));
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				close(TAKE_FD(pty)); /* the slave side is closed */
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	code = status_code(status);
	err_clear(&e);
	(void)event_emit(r->ctx, EVENT_NORMAL, "ExecDied", OBJECT_CONTAINER, r->id, r->name, "exec",
	                 &e, "%s (pid %d) exited with code %d", cmd, (int)pid, code);
	tell(pfd, EXEC_MSG_EXITED, code, pid, NULL, -1);
	_exit(0);
}

__attribute__((noreturn)) static void waiter_main(struct exec_run *r, int pfd)
{
	struct exec_msg m = {0}, failed = {0};
	struct err e = ERR_INIT;
	char *cmd;
	int sv[2], null, pty = -1;
	pid_t joiner, pid = 0;

	/* Our own session: the caller's terminal hanging up must not take us (and the exit
	 * record) with it. */
	(void)setsid();
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		tell(pfd, EXEC_MSG_FAILED, EXIT_RUN_ERROR, 0,
		     "child subreaper: cannot wait for the process", -1);
		_exit(0);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		tell(pfd, EXEC_MSG_FAILED, EXIT_RUN_ERROR, 0, "socketpair failed", -1);
		_exit(0);
	}
	joiner = fork();
	if (joiner < 0) {
		tell(pfd, EXEC_MSG_FAILED, EXIT_RUN_ERROR, 0, "fork failed", -1);
		_exit(0);
	}
	if (joiner == 0) {
		close(sv[0]);
		close(pfd);
		exec_join_spawn(r->self_exe, &r->job, sv[1]);
	}
	close(sv[1]);
	for (size_t i = 0; i < EXEC_N_NS; i++)
		r->job.ns[i] = -1;
	/* The caller's descriptors are the process's business now, not ours to hold open. */
	close_all_but(pfd, sv[0]);
	null = open(r->devnull, O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		(void)dup2(null, 0);
		(void)dup2(null, 1);
		(void)dup2(null, 2);
		close(null);
	}
	for (;;) {
		int got = -1;
		if (exec_msg_recv(sv[0], &m, &got) <= 0)
			break;
		if (m.kind == EXEC_MSG_PID)
			pid = m.pid;
		else if (m.kind == EXEC_MSG_PTY && got >= 0 && pty < 0)
			pty = TAKE_FD(got);
		else if (m.kind == EXEC_MSG_FAILED && !failed.kind)
			failed = m;
		if (got >= 0)
			close(got);
	}
	close(sv[0]);
	while (waitpid(joiner, NULL, 0) < 0 && errno == EINTR)
		;
	if (failed.kind || pid <= 0) {
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		if (failed.kind)
			tell(pfd, EXEC_MSG_FAILED, failed.code, 0, failed.msg, -1);
		else
			tell(pfd, EXEC_MSG_FAILED, EXIT_RUN_ERROR, 0, "the joining process died",
			     -1);
		_exit(0);
	}
	if (r->job.tty && pty < 0) {
		(void)kill(pid, SIGKILL);
		tell(pfd, EXEC_MSG_FAILED, EXIT_RUN_ERROR, 0, "no pty came back from the container",
		     -1);
		_exit(0);
	}
	/* Journaled before the caller hears of it, so the event is there when exec -d returns. */
	cmd = command_line(r->argv);
	(void)event_emit(r->ctx, EVENT_NORMAL, "ExecStarted", OBJECT_CONTAINER, r->id, r->name,
	                 "exec", &e, "%s (pid %d)", cmd, (int)pid);
	tell(pfd, EXEC_MSG_STARTED, 0, pid, NULL, pty);
	waiter_watch(r, pfd, pid, pty, cmd);
}

/* ---- the caller ---- */

/* The container's namespaces that differ from ours, opened while its init is verified. */
static int open_namespaces(const struct ctx *ctx, int pid, struct exec_job *j, struct err *e)
{
	for (size_t i = 0; i < EXEC_N_NS; i++) {
		cleanup_free char *rel = xasprintf("%d/ns/%s", pid, exec_ns_order[i].name);
		cleanup_free char *self_rel = xasprintf("self/ns/%s", exec_ns_order[i].name);
		cleanup_free char *p = host_path(ctx, HOST_PROC, rel);
		cleanup_free char *self = host_path(ctx, HOST_PROC, self_rel);
		struct stat theirs, ours;
		int fd = open(p, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			/* A kernel without cgroup namespaces has no ns/cgroup to join. */
			if (errno == ENOENT && exec_ns_order[i].type == CLONE_NEWCGROUP)
				continue;
			return err_sys(e, "open %s", p);
		}
		if (fstat(fd, &theirs) == 0 && stat(self, &ours) == 0 &&
		    theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
			close(fd);
			continue;
		}
		j->ns[i] = fd;
	}
	return 0;
}

/* 1 when the container's init is the process state.json recorded and is alive, with its
 * namespaces open in j; 0 when the container is not running. */
static int find_init(const struct ctx *ctx, const char *id, struct exec_job *j, struct err *e)
{
	struct container_state st = {0};
	struct err local = ERR_INIT;
	cleanup_close int pidfd = -1;
	uint64_t start = 0;
	struct pollfd p;

	if (container_state_load(ctx, id, &st, &local) < 0) {
		if (local.code == E_NOTFOUND)
			return 0;
		*e = local;
		return -1;
	}
	if (st.status != STATUS_RUNNING || st.pid <= 0)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : err_sys(e, "pidfd_open %d", st.pid);
	if (open_namespaces(ctx, st.pid, j, e) < 0)
		return -1;
	/* Checked after the namespaces were opened: the pidfd names the process that had the
	 * PID then, the start time proves it is the container's init, and a pidfd that is not
	 * readable says it is still alive, so the PID was never reused in between. */
	if (rt_proc_start_time(ctx, st.pid, &start, &local) < 0) {
		if (local.code == E_NOTFOUND)
			return 0;
		*e = local;
		return -1;
	}
	if (start != st.pid_start_time)
		return 0;
	p = (struct pollfd){pidfd, POLLIN, 0};
	if (poll(&p, 1, 0) != 0)
		return 0;
	return 1;
}

/* The container's environment with -e/--env-file on top (KEY alone: the caller's value, and
 * nothing when the caller has none, as docker does). */
static int merge_env(const struct exec_opts *o, struct exec_job *j, struct err *e)
{
	for (const char *const *p = o->env; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		if (!**p || eq == *p)
			return err_set(e, E_INVALID, "invalid environment variable: %s", *p);
		if (strncmp(*p, "HOME", 4) == 0 && ((*p)[4] == '=' || !(*p)[4]))
			j->home_given = true;
		if (eq) {
			env_put(&j->spec.env, *p);
		} else {
			size_t n = strlen(*p);
			for (const char *const *v = o->envp; v && *v; v++)
				if (strncmp(*v, *p, n) == 0 && (*v)[n] == '=') {
					env_put(&j->spec.env, *v);
					break;
				}
		}
	}
	return 0;
}

static int prepare(const struct ctx *ctx, const char *arg, const struct exec_opts *o,
                   struct exec_run *run, struct err *e)
{
	struct exec_job *j = &run->job;
	struct container_doc doc = {0};
	struct err local = ERR_INIT;
	cleanup_free char *dir = NULL, *cfg = NULL;
	enum cgroup_mode mode;
	int r;

	if (!o->argv || !o->argv[0] || !*o->argv[0])
		return err_set(e, E_INVALID, "no command given");
	if (o->workdir && o->workdir[0] != '/')
		return err_set(e, E_INVALID, "workdir %s: not an absolute path", o->workdir);
	if (container_lookup(ctx, arg, run->id, e) < 0)
		return -1;
	r = find_init(ctx, run->id, j, e);
	if (r < 0)
		return err_wrap(e, "%s", arg);
	if (r == 0)
		return err_set(e, E_INVALID, "%s: container is not running", arg);
	dir = store_container_dir(ctx, run->id);
	cfg = path_join(dir, "config.json");
	if (spec_load(cfg, &j->spec, e) < 0)
		return err_wrap(e, "%s", arg);
	if (container_doc_load(ctx, run->id, &doc, &local) == 0 && doc.name)
		run->name = xstrdup(doc.name);
	container_doc_release(&doc);
	/* The process's argv replaces the container's. */
	strv_free(j->spec.args);
	j->spec.args = NULL;
	for (size_t n = 0; o->argv[n]; n++) {
		j->spec.args = xreallocarray(j->spec.args, n + 2, sizeof(char *));
		j->spec.args[n] = xstrdup(o->argv[n]);
		j->spec.args[n + 1] = NULL;
	}
	if (merge_env(o, j, e) < 0)
		return -1;
	if (cgroup_detect(ctx, &mode, &local) == 0) {
		cgroup_paths(ctx, mode, run->id, &j->cg);
		j->have_cg = true;
	}
	j->user = o->user ? xstrdup(o->user) : NULL;
	j->workdir = o->workdir ? xstrdup(o->workdir) : NULL;
	j->pause_path = o->pause_path ? xstrdup(o->pause_path) : NULL;
	j->privileged = o->privileged;
	j->interactive = o->interactive;
	j->detach = o->detach;
	j->tty = o->tty;
	j->rows = o->rows;
	j->cols = o->cols;
	run->devnull = host_path(ctx, HOST_DEV, "null");
	run->self_exe = host_path(ctx, HOST_PROC, "self/exe");
	run->argv = o->argv;
	run->ctx = ctx;
	return 0;
}

/* A directory passed as stdio would be a door out of the container (fchdir, openat). */
static int check_stdio(const struct exec_opts *o, struct err *e)
{
	static const char *const names[] = {"stdin", "stdout", "stderr"};

	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (o->tty || o->detach || (fd == 0 && !o->interactive))
			continue;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			return err_set(e, E_INVALID,
			               "%s is a directory: it would reach the host from inside the "
			               "container",
			               names[fd]);
	}
	return 0;
}

int exec_start(const struct ctx *ctx, const char *arg, const struct exec_opts *o,
               struct exec_session *s, int *fail_code, struct err *e)
{
	struct exec_run r = {0};
	struct exec_msg m = {0};
	int sv[2], got = -1, n;
	pid_t w;

	for (size_t i = 0; i < EXEC_N_NS; i++)
		r.job.ns[i] = -1;
	*fail_code = EXIT_RUN_ERROR;
	if (check_stdio(o, e) < 0 || prepare(ctx, arg, o, &r, e) < 0) {
		run_release(&r);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		run_release(&r);
		return err_sys(e, "socketpair");
	}
	fflush(ctx->out);
	fflush(ctx->err);
	w = fork();
	if (w < 0) {
		close(sv[0]);
		close(sv[1]);
		run_release(&r);
		return err_sys(e, "fork");
	}
	if (w == 0) {
		close(sv[0]);
		waiter_main(&r, sv[1]);
	}
	close(sv[1]);
	n = exec_msg_recv(sv[0], &m, &got);
	if (n <= 0 || (m.kind != EXEC_MSG_STARTED && m.kind != EXEC_MSG_FAILED)) {
		if (got >= 0)
			close(got);
		close(sv[0]);
		while (waitpid(w, NULL, 0) < 0 && errno == EINTR)
			;
		run_release(&r);
		return err_set(e, E_IO, "%s: the exec waiter died before the process started", arg);
	}
	if (m.kind == EXEC_MSG_FAILED) {
		close(sv[0]);
		while (waitpid(w, NULL, 0) < 0 && errno == EINTR)
			;
		run_release(&r);
		*fail_code = m.code ? m.code : EXIT_RUN_ERROR;
		return err_set(e,
		               m.code == EXIT_RUN_NOTFOUND ? E_NOTFOUND
		               : m.code == EXIT_RUN_NOEXEC ? E_PERM
		                                           : E_INVALID,
		               "%s", m.msg);
	}
	memcpy(s->id, r.id, sizeof(s->id));
	s->fd = sv[0];
	s->pty_fd = got;
	s->pid = m.pid;
	s->waiter = w;
	run_release(&r);
	return 0;
}

int exec_wait(struct exec_session *s, int *code, struct err *e)
{
	struct exec_msg m = {0};
	int r;

	do
		r = exec_msg_recv(s->fd, &m, NULL);
	while (r == 1 && m.kind != EXEC_MSG_EXITED);
	if (r != 1)
		return err_set(e, E_IO, "the exec waiter died without reporting the exit of pid %d",
		               (int)s->pid);
	*code = m.code;
	/* The waiter exits right after telling. */
	while (waitpid(s->waiter, NULL, 0) < 0 && errno == EINTR)
		;
	s->waiter = 0;
	return 0;
}

void exec_session_release(struct exec_session *s)
{
	if (s->fd >= 0)
		close(TAKE_FD(s->fd));
	if (s->pty_fd >= 0)
		close(TAKE_FD(s->pty_fd));
	if (s->waiter > 0)
		(void)waitpid(s->waiter, NULL, WNOHANG);
	s->waiter = 0;
}
