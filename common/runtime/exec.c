/* common/runtime/exec.c - `exec`: a new process in a running container (DESIGN.md "run"; issue
 * 6). The caller checks the container's init is still the process state.json recorded, opens
 * its namespaces and loads its config.json; a waiter (host namespaces, child subreaper) forks
 * the joiner, which makes itself non-dumpable, joins the cgroup and the namespaces and forks
 * the process inside the PID namespace; the process sets up its terminal or stdio, closes
 * every inherited descriptor, resolves the user in the container's /etc/passwd, changes to the
 * working directory, applies the container's limits and privileges and execs the target. A
 * failure before exec travels back as a message with docker's exit code. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/runtime/cgroup.h"
#include "common/runtime/exec.h"
#include "common/runtime/lifecycle.h"
#include "common/runtime/lookup.h"
#include "common/runtime/secure.h"
#include "common/runtime/spec.h"
#include "common/store/container_record.h"
#include "common/store/event.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/exit.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"

#define PAUSE_MAX_MS 30000
#define PAUSE_STEP_MS 50

/* What travels on the sockets: joiner and process to the waiter, waiter to the caller and back
 * (SOCK_SEQPACKET: one message per send, EOF once every copy of the other end is closed). */
enum exec_msg_kind {
	MSG_PID = 1, /* joiner -> waiter: the process's host PID */
	MSG_PTY,     /* process -> waiter -> caller: the pty master rides along (SCM_RIGHTS) */
	MSG_FAILED,  /* -> caller: code (125/126/127) and msg; the process did not exec */
	MSG_STARTED, /* waiter -> caller: exec happened; pid */
	MSG_EXITED,  /* waiter -> caller: code */
	MSG_SIGNAL,  /* caller -> waiter: send code to the process */
};

struct exec_msg {
	int32_t kind, code, pid;
	char msg[1024];
};

/* The namespaces in the order they are joined: the mount namespace last, once nothing needs
 * the host's file system any more (the PID namespace takes effect for children only). */
static const struct {
	const char *name;
	int type;
} ns_order[] = {
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
};
#define N_NS (sizeof(ns_order) / sizeof(ns_order[0]))

/* Everything the waiter, joiner and process need, prepared by the caller before the fork. */
struct exec_job {
	const struct ctx *ctx;
	const struct exec_opts *o;
	char id[65];
	char *name;
	struct spec spec; /* the container's, env already merged */
	bool home_given;  /* -e set HOME: -u does not replace it */
	struct cgroup cg;
	bool have_cg;
	int ns[N_NS]; /* -1: the same as ours, not joined */
	char *devnull; /* the host's /dev/null, for the waiter */
};

static void job_release(struct exec_job *j)
{
	free(j->name);
	spec_release(&j->spec);
	cgroup_release(&j->cg);
	for (size_t i = 0; i < N_NS; i++)
		if (j->ns[i] >= 0)
			close(j->ns[i]);
	free(j->devnull);
}

/* ---- messages ---- */

static int msg_send(int fd, const struct exec_msg *m, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {(void *)m, sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *c;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

/* 1 with a message (and *got_fd, or -1), 0 at EOF, -1 on error. */
static int msg_recv(int fd, struct exec_msg *m, int *got_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (got_fd)
		*got_fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int f;
			memcpy(&f, CMSG_DATA(c), sizeof(int));
			if (got_fd && *got_fd < 0)
				*got_fd = f;
			else
				close(f);
		}
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*m))
		return -1;
	m->msg[sizeof(m->msg) - 1] = '\0';
	return 1;
}

void exec_signal(int fd, int sig)
{
	struct exec_msg m = {.kind = MSG_SIGNAL, .code = sig};

	if (fd >= 0)
		(void)send(fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- the process, inside the container ---- */

__attribute__((noreturn, format(printf, 3, 4))) static void fail(int rfd, int code,
                                                                 const char *fmt, ...)
{
	struct exec_msg m = {.kind = MSG_FAILED, .code = code};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.msg, sizeof(m.msg), fmt, ap);
	va_end(ap);
	(void)msg_send(rfd, &m, -1);
	_exit(code);
}

/* Every signal at its default and none blocked, as a freshly started container process has
 * them: whatever started ctrbox may have ignored some, and exec keeps ignores and the mask. */
static void reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	unsigned long kdfl[4] = {0}; /* SIG_DFL, no flags, no mask in the kernel's layout */
	sigset_t none;

	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* glibc refuses its two reserved signals: reset them through the system call. */
		if (sigaction(sig, &dfl, NULL) < 0)
			(void)syscall(SYS_rt_sigaction, sig, kdfl, NULL, (size_t)(_NSIG / 8));
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* Replaces KEY's entry (kv is "KEY=VALUE") or appends it. */
static void env_put(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "="), n = 0;

	for (; *env && (*env)[n]; n++)
		if (strncmp((*env)[n], kv, klen) == 0 && (*env)[n][klen] == '=') {
			free((*env)[n]);
			(*env)[n] = xstrdup(kv);
			return;
		}
	*env = xreallocarray(*env, n + 2, sizeof(**env));
	(*env)[n] = xstrdup(kv);
	(*env)[n + 1] = NULL;
}

/* execve with the container's PATH (looked up inside the container: we are in its mount
 * namespace) and docker's exit codes and words, as the container's init does. */
__attribute__((noreturn)) static void exec_target(int rfd, char *const *argv, char *const *env)
{
	const char *path = env_get(env, "PATH");
	char buf[4096];
	bool denied = false;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		if (errno == ENOENT)
			fail(rfd, EXIT_RUN_NOTFOUND,
			     "exec: \"%s\": stat %s: no such file or directory", argv[0], argv[0]);
		fail(rfd,
		     errno == EACCES || errno == ENOEXEC || errno == EISDIR ? EXIT_RUN_NOEXEC
		                                                            : EXIT_RUN_ERROR,
		     "exec: \"%s\": %s", argv[0], strerror(errno));
	}
	for (const char *p = path ? path
	                          : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	     p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", argv[0]);
		execve(buf, argv, env);
		if (errno == EACCES || errno == ENOEXEC || errno == EISDIR)
			denied = true;
	}
	if (denied)
		fail(rfd, EXIT_RUN_NOEXEC, "exec: \"%s\": permission denied", argv[0]);
	fail(rfd, EXIT_RUN_NOTFOUND, "exec: \"%s\": executable file not found in $PATH", argv[0]);
}

/* A pty from the container's own devpts instance: the slave (opened through the master, never
 * by a path the container controls) becomes 0, 1, 2 and our controlling terminal in a new
 * session; the master goes to the waiter. */
static void setup_pty(const struct exec_job *j, int rfd, uid_t uid)
{
	struct exec_msg m = {.kind = MSG_PTY};
	int unlock = 0, master, slave;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		fail(rfd, EXIT_RUN_ERROR, "open /dev/ptmx in the container: %s", strerror(errno));
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fail(rfd, EXIT_RUN_ERROR, "unlock the pty: %s", strerror(errno));
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		fail(rfd, EXIT_RUN_ERROR, "open the pty: %s", strerror(errno));
	if (j->o->rows && j->o->cols) {
		struct winsize ws = {.ws_row = j->o->rows, .ws_col = j->o->cols};
		(void)ioctl(master, TIOCSWINSZ, &ws);
	}
	/* The user's own terminal, as a login gives it; a failure leaves it root's. */
	if (fchown(slave, uid, (gid_t)-1) < 0) {
		/* best effort */
	}
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		fail(rfd, EXIT_RUN_ERROR, "controlling terminal: %s", strerror(errno));
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		fail(rfd, EXIT_RUN_ERROR, "stdio: %s", strerror(errno));
	if (slave > 2)
		close(slave);
	if (msg_send(rfd, &m, master) < 0)
		fail(rfd, EXIT_RUN_ERROR, "pass the pty: %s", strerror(errno));
	close(master);
}

/* stdio without a terminal: ours passed through, except what must be the container's
 * /dev/null (stdin without -i; everything with -d). */
static void setup_stdio(const struct exec_job *j, int rfd)
{
	int null;

	if (setsid() < 0)
		fail(rfd, EXIT_RUN_ERROR, "setsid: %s", strerror(errno));
	if (j->o->interactive && !j->o->detach)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		fail(rfd, EXIT_RUN_ERROR, "open /dev/null in the container: %s", strerror(errno));
	if (dup2(null, 0) < 0 || (j->o->detach && (dup2(null, 1) < 0 || dup2(null, 2) < 0)))
		fail(rfd, EXIT_RUN_ERROR, "stdio: %s", strerror(errno));
	close(null);
}

/* The working directory, entered as the user; it must resolve inside the container (a path
 * through /proc/self/fd or /proc/PID/cwd that led out would show as unreachable). */
static void enter_workdir(int rfd, const char *dir)
{
	char cwd[4096];

	if (chdir(dir) < 0)
		fail(rfd, EXIT_RUN_ERROR, "workdir %s: %s", dir, strerror(errno));
	if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
		fail(rfd, EXIT_RUN_ERROR, "workdir %s: not inside the container", dir);
}

static void pause_for_test(const char *path)
{
	struct timespec step = {0, PAUSE_STEP_MS * 1000000L};

	for (int waited = 0; waited < PAUSE_MAX_MS && access(path, F_OK) < 0;
	     waited += PAUSE_STEP_MS)
		nanosleep(&step, NULL);
}

__attribute__((noreturn)) static void process_main(struct exec_job *j, int rfd)
{
	struct spec *s = &j->spec;
	struct err e = ERR_INIT;
	const char *root_layer[] = {"/"};

	/* Only 0, 1, 2 and the report socket from here on: nothing of the host can be reached
	 * through a descriptor, not even by the working directory. */
	if ((rfd > 3 && syscall(SYS_close_range, 3U, (unsigned)rfd - 1, 0U) < 0) ||
	    syscall(SYS_close_range, (unsigned)rfd + 1, ~0U, 0U) < 0)
		fail(rfd, EXIT_RUN_ERROR, "close descriptors: %s", strerror(errno));
	if (j->o->user) {
		struct spec_user u = {0};

		if (spec_resolve_user(j->o->user, root_layer, 1, &u, &e) < 0)
			fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
		s->uid = u.uid;
		s->gid = u.gid;
		free(s->gids);
		s->gids = TAKE_PTR(u.gids);
		s->n_gids = u.n_gids;
		if (!j->home_given) {
			cleanup_free char *kv = xasprintf("HOME=%s", u.home && *u.home ? u.home : "/");
			env_put(&s->env, kv);
		}
		spec_user_release(&u);
	}
	if (j->o->tty)
		setup_pty(j, rfd, s->uid);
	else
		setup_stdio(j, rfd);
	if (j->o->privileged)
		s->caps = ~0ULL;
	if (secure_rlimits(s, &e) < 0 || secure_user(s, &e) < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
	/* A change of credentials can make a process dumpable again (fs.suid_dumpable). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(rfd, EXIT_RUN_ERROR, "non-dumpable: %s", strerror(errno));
	enter_workdir(rfd, j->o->workdir ? j->o->workdir : s->cwd && *s->cwd ? s->cwd : "/");
	if (secure_no_new_privs(s, &e) < 0 || secure_seccomp(s, &e) < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
	if (j->o->pause_path)
		pause_for_test(j->o->pause_path);
	if (secure_close_fds(&e) < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
	exec_target(rfd, s->args, s->env);
}

/* ---- the joiner: cgroup and namespaces ---- */

__attribute__((noreturn)) static void joiner_main(struct exec_job *j, int rfd)
{
	struct exec_msg m = {.kind = MSG_PID};
	struct err e = ERR_INIT;
	pid_t pid;

	/* Before entering anything: no process of the container may open our /proc/PID/exe
	 * (the host's ctrbox binary) or ptrace us; exec of the target makes it dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(rfd, EXIT_RUN_ERROR, "non-dumpable: %s", strerror(errno));
	reset_signals();
	if (j->have_cg && cgroup_add_pid(&j->cg, getpid(), &e) < 0)
		fail(rfd, EXIT_RUN_ERROR, "join the container's cgroup: %s", e.msg);
	for (size_t i = 0; i < N_NS; i++) {
		if (j->ns[i] < 0)
			continue;
		if (setns(j->ns[i], ns_order[i].type) < 0)
			fail(rfd, EXIT_RUN_ERROR, "join the container's %s namespace: %s",
			     ns_order[i].name, strerror(errno));
		close(j->ns[i]);
		j->ns[i] = -1;
	}
	pid = fork();
	if (pid < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s",
		     errno == ENOMEM ? "the container is exiting" : strerror(errno));
	if (pid == 0)
		process_main(j, rfd);
	m.pid = pid;
	(void)msg_send(rfd, &m, -1);
	_exit(0);
}

/* ---- the waiter: host namespaces, the process's parent ---- */

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
	(void)msg_send(pfd, &m, pass_fd);
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
__attribute__((noreturn)) static void waiter_watch(struct exec_job *j, int pfd, pid_t pid,
                                                  int pty, const char *cmd)
{
	struct err e = ERR_INIT;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = 0, code;
	char drain[4096];

	for (bool caller = true; pidfd >= 0;) {
		struct pollfd p[3] = {{pidfd, POLLIN, 0},
		                      {caller ? pfd : -1, POLLIN, 0},
		                      {caller ? -1 : pty, POLLIN, 0}};
		struct exec_msg m;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			if (msg_recv(pfd, &m, NULL) == 1) {
				if (m.kind == MSG_SIGNAL && m.code > 0 && m.code < NSIG)
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
	(void)event_emit(j->ctx, EVENT_NORMAL, "ExecDied", OBJECT_CONTAINER, j->id, j->name,
	                 "exec", &e, "%s (pid %d) exited with code %d", cmd, (int)pid, code);
	tell(pfd, MSG_EXITED, code, pid, NULL, -1);
	_exit(0);
}

__attribute__((noreturn)) static void waiter_main(struct exec_job *j, int pfd)
{
	struct exec_msg m, failed = {0};
	struct err e = ERR_INIT;
	char *cmd;
	int sv[2], null, pty = -1;
	pid_t joiner, pid = 0;

	/* Our own session: the caller's terminal hanging up must not take us (and the exit
	 * record) with it. */
	(void)setsid();
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		tell(pfd, MSG_FAILED, EXIT_RUN_ERROR, 0, "child subreaper: cannot wait for the process",
		     -1);
		_exit(0);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		tell(pfd, MSG_FAILED, EXIT_RUN_ERROR, 0, "socketpair failed", -1);
		_exit(0);
	}
	joiner = fork();
	if (joiner < 0) {
		tell(pfd, MSG_FAILED, EXIT_RUN_ERROR, 0, "fork failed", -1);
		_exit(0);
	}
	if (joiner == 0) {
		close(sv[0]);
		close(pfd);
		joiner_main(j, sv[1]);
	}
	close(sv[1]);
	for (size_t i = 0; i < N_NS; i++)
		if (j->ns[i] >= 0)
			close(TAKE_FD(j->ns[i]));
	/* The caller's stdio is the process's business now, not ours to hold open. */
	null = open(j->devnull, O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		(void)dup2(null, 0);
		(void)dup2(null, 1);
		(void)dup2(null, 2);
		close(null);
	}
	for (;;) {
		int got = -1, r = msg_recv(sv[0], &m, &got);
		if (r <= 0)
			break;
		if (m.kind == MSG_PID)
			pid = m.pid;
		else if (m.kind == MSG_PTY && got >= 0 && pty < 0)
			pty = TAKE_FD(got);
		else if (m.kind == MSG_FAILED && !failed.kind)
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
			tell(pfd, MSG_FAILED, failed.code, 0, failed.msg, -1);
		else
			tell(pfd, MSG_FAILED, EXIT_RUN_ERROR, 0, "the joining process died", -1);
		_exit(0);
	}
	if (j->o->tty && pty < 0) {
		(void)kill(pid, SIGKILL);
		tell(pfd, MSG_FAILED, EXIT_RUN_ERROR, 0, "no pty came back from the container", -1);
		_exit(0);
	}
	/* Journaled before the caller hears of it, so the event is there when exec -d returns. */
	cmd = command_line(j->o->argv);
	(void)event_emit(j->ctx, EVENT_NORMAL, "ExecStarted", OBJECT_CONTAINER, j->id, j->name,
	                 "exec", &e, "%s (pid %d)", cmd, (int)pid);
	tell(pfd, MSG_STARTED, 0, pid, NULL, pty);
	waiter_watch(j, pfd, pid, pty, cmd);
}

/* ---- the caller ---- */

/* The container's namespaces that differ from ours, opened while its init is verified. */
static int open_namespaces(const struct ctx *ctx, int pid, struct exec_job *j, struct err *e)
{
	for (size_t i = 0; i < N_NS; i++) {
		cleanup_free char *rel = xasprintf("%d/ns/%s", pid, ns_order[i].name);
		cleanup_free char *self_rel = xasprintf("self/ns/%s", ns_order[i].name);
		cleanup_free char *p = host_path(ctx, HOST_PROC, rel);
		cleanup_free char *self = host_path(ctx, HOST_PROC, self_rel);
		struct stat theirs, ours;
		int fd = open(p, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			/* A kernel without cgroup namespaces has no ns/cgroup to join. */
			if (errno == ENOENT && ns_order[i].type == CLONE_NEWCGROUP)
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
                   struct exec_job *j, struct err *e)
{
	struct container_doc doc = {0};
	struct err local = ERR_INIT;
	cleanup_free char *dir = NULL, *cfg = NULL;
	enum cgroup_mode mode;
	int r;

	if (!o->argv || !o->argv[0] || !*o->argv[0])
		return err_set(e, E_INVALID, "no command given");
	if (o->workdir && o->workdir[0] != '/')
		return err_set(e, E_INVALID, "workdir %s: not an absolute path", o->workdir);
	if (container_lookup(ctx, arg, j->id, e) < 0)
		return -1;
	r = find_init(ctx, j->id, j, e);
	if (r < 0)
		return err_wrap(e, "%s", arg);
	if (r == 0)
		return err_set(e, E_INVALID, "%s: container is not running", arg);
	dir = store_container_dir(ctx, j->id);
	cfg = path_join(dir, "config.json");
	if (spec_load(cfg, &j->spec, e) < 0)
		return err_wrap(e, "%s", arg);
	if (container_doc_load(ctx, j->id, &doc, &local) == 0 && doc.name)
		j->name = xstrdup(doc.name);
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
		cgroup_paths(ctx, mode, j->id, &j->cg);
		j->have_cg = true;
	}
	j->devnull = host_path(ctx, HOST_DEV, "null");
	j->ctx = ctx;
	j->o = o;
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
	struct exec_job j = {0};
	struct exec_msg m;
	int sv[2], got = -1, r;
	pid_t w;

	for (size_t i = 0; i < N_NS; i++)
		j.ns[i] = -1;
	*fail_code = EXIT_RUN_ERROR;
	if (check_stdio(o, e) < 0 || prepare(ctx, arg, o, &j, e) < 0) {
		job_release(&j);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		job_release(&j);
		return err_sys(e, "socketpair");
	}
	fflush(ctx->out);
	fflush(ctx->err);
	w = fork();
	if (w < 0) {
		close(sv[0]);
		close(sv[1]);
		job_release(&j);
		return err_sys(e, "fork");
	}
	if (w == 0) {
		close(sv[0]);
		waiter_main(&j, sv[1]);
	}
	close(sv[1]);
	r = msg_recv(sv[0], &m, &got);
	if (r <= 0 || (m.kind != MSG_STARTED && m.kind != MSG_FAILED)) {
		if (got >= 0)
			close(got);
		close(sv[0]);
		while (waitpid(w, NULL, 0) < 0 && errno == EINTR)
			;
		job_release(&j);
		return err_set(e, E_IO, "%s: the exec waiter died before the process started", arg);
	}
	if (m.kind == MSG_FAILED) {
		close(sv[0]);
		while (waitpid(w, NULL, 0) < 0 && errno == EINTR)
			;
		job_release(&j);
		*fail_code = m.code ? m.code : EXIT_RUN_ERROR;
		return err_set(e,
		               m.code == EXIT_RUN_NOTFOUND ? E_NOTFOUND
		               : m.code == EXIT_RUN_NOEXEC ? E_PERM
		                                           : E_INVALID,
		               "%s", m.msg);
	}
	memcpy(s->id, j.id, sizeof(s->id));
	s->fd = sv[0];
	s->pty_fd = got;
	s->pid = m.pid;
	s->waiter = w;
	job_release(&j);
	return 0;
}

int exec_wait(struct exec_session *s, int *code, struct err *e)
{
	struct exec_msg m;
	int r;

	do
		r = msg_recv(s->fd, &m, NULL);
	while (r == 1 && m.kind != MSG_EXITED);
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
