/* common/runtime/shim.c - the per-container shim (DESIGN.md lesson 3, "run"): double-forked by
 * `run`, a child subreaper in its own session, the parent of the container's init; it reaps,
 * logs (CRI format), serves attach clients (a pty's master with -t; a bounded queue per
 * client), records state.json and events, and cleans up. Kept small: fixed buffers, no
 * threads, one poll loop. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
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
#include "common/runtime/shim.h"
#include "common/runtime/spec.h"
#include "common/runtime/term.h"
#include "common/store/container_record.h"
#include "common/store/event.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define LOG_MAX_BYTES  (10LL << 20) /* for a container.json without log_max_* */
#define LOG_MAX_FILES  3
#define ATTACH_WAIT_MS 10000
#define NAME_FORGET_NS (5LL * 1000000000LL)
#define MAX_CLIENTS    8
#define STR_(x)        #x
#define STR(x)         STR_(x)
#define READ_CHUNK     16384
#define DRAIN_MS       5000

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

int shim_spawn(const struct ctx *ctx, const char *shim_bin, const struct shim_opts *o,
               int *status_fd, struct err *e)
{
	const char *argv[24];
	const char *self = shim_bin ? shim_bin : "/proc/self/exe";
	int sv[2], n = 0, st;
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
	argv[n++] = o->id;
	argv[n] = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, "socketpair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_sys(e, "fork");
	}
	if (pid == 0) {
		int null;
		/* The intermediate: a new session, then exit at once so the shim is orphaned
		 * and adopted by PID 1 or the nearest subreaper. */
		if (setsid() < 0)
			_exit(1);
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		if (sv[1] == 3) {
			if (fcntl(3, F_SETFD, 0) < 0)
				_exit(1);
		} else if (dup2(sv[1], 3) < 0) {
			_exit(1);
		}
		null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		syscall(SYS_close_range, 4U, ~0U, 0U);
		execv(self, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			close(sv[0]);
			return err_sys(e, "wait for the shim's starter");
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		close(sv[0]);
		return err_set(e, E_IO, "the shim's starter failed");
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

/* ---- the shim ---- */

struct shim {
	const struct ctx *ctx;
	const struct shim_opts *o;
	char *name;
	char *cdir, *sdir;
	struct spec spec;
	struct cgroup cg;
	bool have_cg;
	struct crilog *log;
	int status_fd, listen_fd, sig_fd;
	int out_fd, err_fd;
	int pty_fd;   /* run -t: the master of the container's terminal (its output and input) */
	int in_fd;    /* run -i without -t: the write end of the container's stdin, or -1 */
	char *in_buf; /* one ATTACH_STDIN frame not yet taken by the container */
	size_t in_len, in_off;
	int in_client; /* the client feeding stdin, or -1 */
	struct attach_client clients[MAX_CLIENTS];
	pid_t pid;
	int wstatus;
	bool exited;
	struct container_state st;
};

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

static void client_gone(struct shim *s, int i);

static void client_add(struct shim *s, int fd)
{
	uint32_t hello =
	    (s->spec.terminal ? ATTACH_HELLO_TTY : 0) | (s->o->open_stdin ? ATTACH_HELLO_STDIN : 0);

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].fd < 0) {
			attach_client_init(&s->clients[i], fd);
			if (attach_client_send(&s->clients[i], ATTACH_HELLO, &hello, sizeof(hello),
			                       ATTACH_CLIENT_BUF_MAX, true) < 0)
				client_gone(s, i);
			return;
		}
	{
		/* Full: say why, then hang up (a fresh socket takes a short frame whole). */
		static const char msg[] = "too many clients attached (" STR(MAX_CLIENTS) ")";
		struct attach_client c;
		attach_client_init(&c, fd);
		(void)attach_client_send(&c, ATTACH_NOTICE, msg, sizeof(msg) - 1, 0, true);
		attach_client_close(&c);
	}
}

static void accept_clients(struct shim *s)
{
	int fd;

	while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		client_add(s, fd);
}

/* Output goes to every client without ever blocking: a client that cannot keep up has it
 * queued up to ATTACH_CLIENT_BUF_MAX, then dropped for it alone, with a notice. */
static void broadcast(struct shim *s, enum attach_kind k, const void *data, size_t len, bool force)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && attach_client_send(&s->clients[i], k, data, len,
		                                                ATTACH_CLIENT_BUF_MAX, force) < 0)
			client_gone(s, i);
}

/* Foreground `run`: hold the container until it attached, or went away, or a timeout. */
static void wait_attach(struct shim *s)
{
	struct pollfd p[2] = {{s->listen_fd, POLLIN, 0}, {s->status_fd, POLLIN, 0}};
	int rc;

	do
		rc = poll(p, s->status_fd >= 0 ? 2 : 1, ATTACH_WAIT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc > 0 && (p[0].revents & POLLIN))
		accept_clients(s);
}

static void reap(struct shim *s)
{
	struct signalfd_siginfo si;
	int st;
	pid_t p;

	while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si))
		;
	/* The init, and any orphan re-parented to us as subreaper. */
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == s->pid) {
			s->exited = true;
			s->wstatus = st;
		}
}

static bool pump(struct shim *s, int *fd, enum crilog_stream stream)
{
	char buf[READ_CHUNK];
	struct err e = ERR_INIT;
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return false;
	}
	if (s->log)
		(void)crilog_write(s->log, stream, s->ctx->now_ns(), buf, (size_t)n, &e);
	broadcast(s, stream == CRILOG_STDOUT ? ATTACH_STDOUT : ATTACH_STDERR, buf, (size_t)n,
	          false);
	return true;
}

/* Where ATTACH_STDIN frames go: the pty with -it, the stdin pipe with -i, else nowhere. */
static int stdin_target(const struct shim *s)
{
	if (s->pty_fd >= 0)
		return s->o->open_stdin ? s->pty_fd : -1;
	return s->in_fd;
}

static void stdin_drop(struct shim *s)
{
	free(s->in_buf);
	s->in_buf = NULL;
	s->in_len = s->in_off = 0;
}

/* The end of the container's input: the pipe closes; a terminal has no end to give. */
static void stdin_close(struct shim *s)
{
	if (s->in_fd >= 0)
		close(s->in_fd);
	s->in_fd = -1;
	stdin_drop(s);
}

/* Feeds what is pending to the container's stdin without blocking the shim. */
static void stdin_flush(struct shim *s)
{
	int fd = stdin_target(s);

	while (fd >= 0 && s->in_off < s->in_len) {
		ssize_t n = write(fd, s->in_buf + s->in_off, s->in_len - s->in_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) { /* the container closed its stdin, or its terminal is gone */
			if (fd == s->in_fd)
				stdin_close(s);
			else
				stdin_drop(s);
			return;
		}
		s->in_off += (size_t)n;
	}
	stdin_drop(s);
}

static void client_gone(struct shim *s, int i)
{
	attach_client_close(&s->clients[i]);
	if (s->in_client == i) {
		s->in_client = -1;
		/* A client leaving a terminal (detach keys) leaves the container as it is. */
		if (s->pty_fd < 0)
			stdin_close(s);
	}
}

/* A whole frame from client i: input (with -i), a window size (with -t); the rest is
 * discarded. */
static void client_frame(struct shim *s, int i, enum attach_kind k, char *data, size_t len)
{
	if (k == ATTACH_RESIZE && s->pty_fd >= 0 && len == sizeof(struct attach_winsize)) {
		struct attach_winsize ws;
		struct err e = ERR_INIT;
		memcpy(&ws, data, sizeof(ws));
		(void)term_set_winsize(s->pty_fd, ws.rows, ws.cols, &e);
	} else if (k == ATTACH_STDIN && stdin_target(s) >= 0) {
		s->in_client = i;
		if (len == 0) {
			if (s->pty_fd < 0)
				stdin_close(s);
		} else {
			s->in_buf = data;
			s->in_len = len;
			s->in_off = 0;
			stdin_flush(s);
			return;
		}
	}
	free(data);
}

static void client_input(struct shim *s, int i)
{
	enum attach_kind k;
	char *data = NULL;
	size_t len = 0;
	int rc = attach_client_read(&s->clients[i], &k, &data, &len);

	if (rc < 0)
		client_gone(s, i);
	else if (rc > 0)
		client_frame(s, i, k, data, len);
}

static void loop(struct shim *s)
{
	while (!s->exited || s->out_fd >= 0 || s->err_fd >= 0 || s->pty_fd >= 0) {
		struct pollfd p[6 + MAX_CLIENTS];
		int n = 0, rc, idx_out = -1, idx_err = -1, idx_pty = -1, idx_in = -1, idx_cl = 0;
		bool pending = stdin_target(s) >= 0 && s->in_off < s->in_len;

		p[n++] = (struct pollfd){s->sig_fd, POLLIN, 0};
		p[n++] = (struct pollfd){s->listen_fd, POLLIN, 0};
		if (s->out_fd >= 0) {
			idx_out = n;
			p[n++] = (struct pollfd){s->out_fd, POLLIN, 0};
		}
		if (s->err_fd >= 0) {
			idx_err = n;
			p[n++] = (struct pollfd){s->err_fd, POLLIN, 0};
		}
		if (s->pty_fd >= 0) {
			idx_pty = n;
			p[n++] = (struct pollfd){s->pty_fd, POLLIN, 0};
		}
		if (pending) {
			idx_in = n;
			p[n++] = (struct pollfd){stdin_target(s), POLLOUT, 0};
		}
		idx_cl = n;
		/* While a stdin frame waits for the container, clients are not read: that is the
		 * back-pressure on `run -i`. Their output is still sent. */
		for (int i = 0; i < MAX_CLIENTS; i++) {
			const struct attach_client *c = &s->clients[i];
			short ev = (short)((pending ? 0 : POLLIN) |
			                   (attach_client_pending(c) ? POLLOUT : 0));
			p[n++] = (struct pollfd){c->fd, ev, 0};
		}
		/* Once the init is gone, its namespace is too: the pipes end at once. The
		 * timeout only guards a descriptor leaked out of the namespace. */
		rc = poll(p, (nfds_t)n, s->exited ? 2000 : -1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0 && s->exited)
			break;
		if (p[0].revents)
			reap(s);
		if (p[1].revents & POLLIN)
			accept_clients(s);
		if (idx_out >= 0 && p[idx_out].revents)
			pump(s, &s->out_fd, CRILOG_STDOUT);
		if (idx_err >= 0 && p[idx_err].revents)
			pump(s, &s->err_fd, CRILOG_STDERR);
		if (idx_pty >= 0 && p[idx_pty].revents)
			pump(s, &s->pty_fd, CRILOG_STDOUT); /* EIO: every slave fd is closed */
		if (idx_in >= 0 && p[idx_in].revents)
			stdin_flush(s);
		for (int i = 0; i < MAX_CLIENTS; i++) {
			short r = p[idx_cl + i].revents;
			if (s->clients[i].fd < 0 || !r)
				continue;
			if ((r & POLLOUT) && attach_client_flush(&s->clients[i]) < 0) {
				client_gone(s, i);
				continue;
			}
			/* A frame another client sent this round may be waiting for the
			 * container now: then this one is read next round. */
			if (r & POLLIN) {
				if (!(stdin_target(s) >= 0 && s->in_off < s->in_len))
					client_input(s, i);
			} else if (r & (POLLHUP | POLLERR)) {
				client_gone(s, i);
			}
		}
	}
}

/* The exit frame (and what is queued before it) gets a moment to reach slow clients. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drain_clients(struct shim *s)
{
	int64_t deadline = mono_ms() + DRAIN_MS;

	for (;;) {
		struct pollfd p[MAX_CLIENTS];
		int64_t left = deadline - mono_ms();
		int n = 0, rc;

		for (int i = 0; i < MAX_CLIENTS; i++)
			p[i] = (struct pollfd){-1, POLLOUT, 0};
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (attach_client_pending(&s->clients[i])) {
				p[i].fd = s->clients[i].fd;
				n++;
			}
		if (n == 0 || left <= 0)
			return;
		rc = poll(p, MAX_CLIENTS, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (p[i].revents && ((p[i].revents & (POLLHUP | POLLERR)) ||
			                     attach_client_flush(&s->clients[i]) < 0))
				client_gone(s, i);
	}
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
	broadcast(s, ATTACH_EXIT, &c32, sizeof(c32), true);
	drain_clients(s);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_gone(s, i);
	cleanup_cgroup(s);
	if (s->o->rm) {
		(void)fs_remove_tree(s->cdir, &e);
		(void)fs_remove_tree(s->sdir, &e);
		if (s->name)
			(void)names_forget(s->ctx, s->name, NAME_FORGET_NS, &e);
		emit(s, EVENT_NORMAL, "Removed", "removed after exit (--rm)");
	}
}

static void shim_release(struct shim *s)
{
	int *fds[] = {&s->status_fd, &s->listen_fd, &s->sig_fd, &s->out_fd,
	              &s->err_fd,    &s->in_fd,     &s->pty_fd};

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

static const char *const std_devices[] = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
                                          "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"};

/* The spec's device rules into the v1 devices cgroup (v2 has no file interface for them). */
static int apply_devices(struct shim *s, struct err *e)
{
	if (s->cg.mode == CGROUP_V2)
		return 0;
	for (size_t i = 0; i < s->spec.n_devices; i++) {
		const struct spec_device *d = &s->spec.devices[i];
		char rule[64], maj[24] = "*", min[24] = "*";
		if (d->major >= 0)
			snprintf(maj, sizeof(maj), "%lld", (long long)d->major);
		if (d->minor >= 0)
			snprintf(min, sizeof(min), "%lld", (long long)d->minor);
		if (d->type == 'a')
			snprintf(rule, sizeof(rule), "a");
		else
			snprintf(rule, sizeof(rule), "%c %s:%s %s", d->type, maj, min, d->access);
		if (cgroup_device_rule(&s->cg, d->allow, rule, e) < 0)
			return -1;
	}
	/* As runc does, the nodes every container's /dev holds stay usable whatever a bundle's
	 * rules say (umoci's deny everything). */
	for (size_t i = 0; s->spec.n_devices && i < ARRAY_SIZE(std_devices); i++)
		if (cgroup_device_rule(&s->cg, true, std_devices[i], e) < 0)
			return -1;
	return 0;
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

/* Everything up to a started container; a failure is reported as 125 and recorded. */
static int start(struct shim *s, struct err *e)
{
	struct container_doc doc = {0};
	cleanup_free char *cfg = path_join(s->cdir, "config.json");
	cleanup_free char *rootfs = path_join(s->cdir, "rootfs");
	const char *opts = s->o->overlay;
	cleanup_free char *snapdir = store_snapshots_dir(s->ctx);
	cleanup_free char *logpath = path_join(s->cdir, "log");
	struct cgroup_limits lim;
	enum cgroup_mode mode = CGROUP_V1;
	int pipes[12] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
	int *out = pipes, *errp = pipes + 2, *go = pipes + 4, *rep = pipes + 6, *in = pipes + 8;
	int *con = pipes + 10; /* the console socket: the init sends the pty master */
	bool tty;
	struct init_report r;
	ssize_t n;
	pid_t pid;

	if (container_doc_load(s->ctx, s->o->id, &doc, e) < 0)
		return -1;
	s->name = doc.name ? xstrdup(doc.name) : NULL;
	if (spec_load(cfg, &s->spec, e) < 0)
		goto fail;
	lim = (struct cgroup_limits){s->spec.memory_bytes, s->spec.cpu_quota_us,
	                             s->spec.cpu_period_us, s->spec.pids_limit};
	if (cgroup_detect(s->ctx, &mode, e) == 0) {
		cgroup_paths(s->ctx, mode, s->o->id, &s->cg);
		s->have_cg = true;
		if (cgroup_create(&s->cg, &lim, e) < 0 || apply_devices(s, e) < 0)
			goto fail;
	} else if (lim.memory_bytes || lim.cpu_quota_us || lim.pids) {
		goto fail; /* limits asked for and no cgroups to hold them */
	}
	if (crilog_open(logpath, doc.log_max_bytes > 0 ? doc.log_max_bytes : LOG_MAX_BYTES,
	                doc.log_max_files > 0 ? doc.log_max_files : LOG_MAX_FILES, &s->log,
	                e) < 0 ||
	    attach_listen(s->ctx, s->o->id, &s->listen_fd, e) < 0)
		goto fail;
	send_msg(s, SHIM_READY, 0, getpid(), NULL);

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
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(clone_flags(&s->spec) | SIGCHLD), NULL,
	                     NULL, NULL, NULL);
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
		};
		init_container(&a);
	}
	s->pid = pid;
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
	if (s->have_cg && cgroup_add_pid(&s->cg, pid, e) < 0) {
		kill(pid, SIGKILL);
		close(go[1]);
		close(rep[0]);
		if (tty)
			close(con[0]);
		goto fail;
	}
	if (s->o->wait_attach)
		wait_attach(s);
	if (write(go[1], "g", 1) != 1) {
		err_sys(e, "start the container");
		kill(pid, SIGKILL);
	}
	close(go[1]);
	do
		n = read(rep[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	container_doc_release(&doc);
	if (tty) {
		/* exec happened or the init died: either way its end is closed, so this
		 * cannot hang; the master is queued before a successful exec. */
		int rc = n == 0 ? init_recv_console(con[0], &s->pty_fd, e) : 0;
		close(con[0]);
		if (rc < 0) {
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
	if (n != 0)
		return err_set(e, E_IO, "the container's init died before exec");
	return 0;

fail_pipes:
	for (size_t i = 0; i < ARRAY_SIZE(pipes); i++)
		if (pipes[i] >= 0)
			close(pipes[i]);
fail:
	container_doc_release(&doc);
	return -1;
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
	                 .in_client = -1};
	struct err e = ERR_INIT;
	sigset_t mask;
	int code;

	for (int i = 0; i < MAX_CLIENTS; i++)
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
	loop(&s);
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
