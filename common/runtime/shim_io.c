/* common/runtime/shim_io.c - the shim's streams (DESIGN.md lesson 3, "run"; shim_io.h): the
 * container's output (pipes, or a pty's master with -t) to the CRI log and to attach clients
 * through a bounded queue each, clients' stdin frames and window sizes to the container, all in
 * one poll loop that also reaps. No threads, fixed buffers. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/runtime/shim_io.h"
#include "common/runtime/term.h"

#define ATTACH_WAIT_MS 10000
#define STR_(x)        #x
#define STR(x)         STR_(x)
#define READ_CHUNK     16384
#define DRAIN_MS       5000

static void client_gone(struct shim *s, int i);

static void client_add(struct shim *s, int fd)
{
	uint32_t hello =
	    (s->spec.terminal ? ATTACH_HELLO_TTY : 0) | (s->o->open_stdin ? ATTACH_HELLO_STDIN : 0);

	for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
		if (s->clients[i].fd < 0) {
			attach_client_init(&s->clients[i], fd);
			if (attach_client_send(&s->clients[i], ATTACH_HELLO, &hello, sizeof(hello),
			                       ATTACH_CLIENT_BUF_MAX, true) < 0)
				client_gone(s, i);
			return;
		}
	{
		/* Full: say why, then hang up (a fresh socket takes a short frame whole). */
		static const char msg[] = "too many clients attached (" STR(SHIM_MAX_CLIENTS) ")";
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
void shim_io_broadcast(struct shim *s, enum attach_kind k, const void *data, size_t len, bool force)
{
	for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && attach_client_send(&s->clients[i], k, data, len,
		                                                ATTACH_CLIENT_BUF_MAX, force) < 0)
			client_gone(s, i);
}

/* Foreground `run`: hold the container until it attached, or went away, or a timeout. */
void shim_io_wait_attach(struct shim *s)
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
	shim_io_broadcast(s, stream == CRILOG_STDOUT ? ATTACH_STDOUT : ATTACH_STDERR, buf,
	                  (size_t)n, false);
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

void shim_io_loop(struct shim *s)
{
	while (!s->exited || s->out_fd >= 0 || s->err_fd >= 0 || s->pty_fd >= 0) {
		struct pollfd p[6 + SHIM_MAX_CLIENTS];
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
		for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
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
		for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
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

void shim_io_drain(struct shim *s)
{
	int64_t deadline = mono_ms() + DRAIN_MS;

	for (;;) {
		struct pollfd p[SHIM_MAX_CLIENTS];
		int64_t left = deadline - mono_ms();
		int n = 0, rc;

		for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
			p[i] = (struct pollfd){-1, POLLOUT, 0};
		for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
			if (attach_client_pending(&s->clients[i])) {
				p[i].fd = s->clients[i].fd;
				n++;
			}
		if (n == 0 || left <= 0)
			break;
		rc = poll(p, SHIM_MAX_CLIENTS, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
			if (p[i].revents && ((p[i].revents & (POLLHUP | POLLERR)) ||
			                     attach_client_flush(&s->clients[i]) < 0))
				client_gone(s, i);
	}
	for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_gone(s, i);
}
