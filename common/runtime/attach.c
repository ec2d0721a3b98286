/* common/runtime/attach.c - the shim's attach socket: framing, listen, connect (DESIGN.md
 * "run"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/runtime/attach.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

char *attach_path(const struct ctx *ctx, const char *id)
{
	cleanup_free char *dir = store_container_state_dir(ctx, id);

	return path_join(dir, "attach.sock");
}

/* Socket paths are limited to 107 bytes and STATE can be deep: the address goes through
 * the directory's descriptor ("/proc/self/fd/N/attach.sock", the kernel's own magic link, so
 * not a host path to inject), which the caller closes after bind or connect. */
static int fill_addr(const struct ctx *ctx, const char *id, struct sockaddr_un *sa, int *dirfd,
                     struct err *e)
{
	cleanup_free char *dir = store_container_state_dir(ctx, id);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, E_NOTFOUND, "container %.12s: no shim is listening", id);
		return err_sys(e, "%s", dir);
	}
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/attach.sock", fd);
	*dirfd = fd;
	return 0;
}

int attach_connect(const struct ctx *ctx, const char *id, int *out, struct err *e)
{
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cleanup_close int dirfd = -1;
	struct sockaddr_un sa;

	if (fd < 0)
		return err_sys(e, "socket");
	if (fill_addr(ctx, id, &sa, &dirfd, e) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return err_set(e, E_NOTFOUND, "container %.12s: no shim is listening", id);
		return err_sys(e, "connect to container %.12s", id);
	}
	*out = TAKE_FD(fd);
	return 0;
}

int attach_listen(const struct ctx *ctx, const char *id, int *out, struct err *e)
{
	cleanup_free char *path = attach_path(ctx, id);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cleanup_close int dirfd = -1;
	struct sockaddr_un sa;

	if (fd < 0)
		return err_sys(e, "socket");
	if (fill_addr(ctx, id, &sa, &dirfd, e) < 0)
		return -1;
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys(e, "bind %s", path);
	if (listen(fd, 16) < 0)
		return err_sys(e, "listen %s", path);
	*out = TAKE_FD(fd);
	return 0;
}

int attach_send(int fd, enum attach_kind kind, const void *data, size_t len, struct err *e)
{
	struct attach_hdr h = {.kind = (uint8_t)kind, .len = (uint32_t)len};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)data, len}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	do
		n = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(e, "attach client");
	if ((size_t)n != sizeof(h) + len)
		return err_set(e, E_BUSY, "attach client too slow");
	return 0;
}

int attach_write(int fd, enum attach_kind kind, const void *data, size_t len, struct err *e)
{
	struct attach_hdr h = {.kind = (uint8_t)kind, .len = (uint32_t)len};

	if (len > ATTACH_PAYLOAD_MAX)
		return err_set(e, E_INVALID, "attach frame of %zu bytes", len);
	if (fs_write_all(fd, &h, sizeof(h), e) < 0 || (len && fs_write_all(fd, data, len, e) < 0))
		return -1;
	return 0;
}

static int read_full(int fd, void *buf, size_t len, struct err *e)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "attach socket");
		if (n == 0)
			return got == 0 ? 1 : err_set(e, E_IO, "attach socket: truncated frame");
		got += (size_t)n;
	}
	return 0;
}

int attach_recv(int fd, enum attach_kind *kind, void *buf, size_t *len, struct err *e)
{
	struct attach_hdr h;
	int rc = read_full(fd, &h, sizeof(h), e);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		*kind = 0;
		*len = 0;
		return 0;
	}
	if (h.len > ATTACH_PAYLOAD_MAX || h.kind < ATTACH_STDOUT || h.kind > ATTACH_KIND_MAX)
		return err_set(e, E_CORRUPT, "attach socket: bad frame");
	if (h.len && read_full(fd, buf, h.len, e) != 0)
		return err_set(e, E_IO, "attach socket: truncated frame");
	*kind = (enum attach_kind)h.kind;
	*len = h.len;
	return 0;
}

void attach_session_init(struct attach_session *s, int fd)
{
	*s = (struct attach_session){.fd = fd, .out_fd = 1, .err_fd = 2};
	s->buf = xmalloc(ATTACH_PAYLOAD_MAX + 1);
}

void attach_session_release(struct attach_session *s)
{
	free(s->buf);
	s->buf = NULL;
}

int attach_session_step(void *arg, struct err *e)
{
	struct attach_session *s = arg;
	struct err ignore = ERR_INIT;
	enum attach_kind k = 0;
	size_t len = 0;

	if (attach_recv(s->fd, &k, s->buf, &len, e) < 0)
		return -1;
	if (k == 0)
		return 0;
	switch (k) {
	case ATTACH_EXIT:
		if (len != sizeof(int32_t))
			return err_set(e, E_CORRUPT, "attach socket: bad exit frame");
		memcpy(&s->code, s->buf, sizeof(s->code));
		s->exited = true;
		return 0;
	case ATTACH_HELLO:
		if (len == sizeof(uint32_t)) {
			uint32_t f;
			memcpy(&f, s->buf, sizeof(f));
			s->flags = f;
		}
		s->hello = true;
		return 1;
	case ATTACH_NOTICE:
		s->buf[len] = '\0';
		if (s->on_notice)
			s->on_notice(s->arg, s->buf);
		return 1;
	case ATTACH_STDOUT:
	case ATTACH_STDERR:
		(void)fs_write_all(k == ATTACH_STDERR ? s->err_fd : s->out_fd, s->buf, len,
		                   &ignore);
		return 1;
	default:
		return 1; /* client-to-shim kinds: nothing for us */
	}
}

int attach_session_hello(struct attach_session *s, struct err *e)
{
	while (!s->hello) {
		int rc = attach_session_step(s, e);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return err_set(e, E_IO, "the shim hung up before saying hello");
	}
	return 0;
}

int attach_session_input(void *arg, const void *buf, size_t len, struct err *e)
{
	struct attach_session *s = arg;
	const char *p = buf;

	if (len == 0)
		return attach_write(s->fd, ATTACH_STDIN, NULL, 0, e);
	for (size_t off = 0; off < len; off += ATTACH_PAYLOAD_MAX) {
		size_t n = len - off < ATTACH_PAYLOAD_MAX ? len - off : ATTACH_PAYLOAD_MAX;
		if (attach_write(s->fd, ATTACH_STDIN, p + off, n, e) < 0)
			return -1;
	}
	return 0;
}

int attach_session_resize(void *arg, unsigned short rows, unsigned short cols, struct err *e)
{
	struct attach_session *s = arg;
	struct attach_winsize ws = {rows, cols};

	return attach_write(s->fd, ATTACH_RESIZE, &ws, sizeof(ws), e);
}

void attach_client_init(struct attach_client *c, int fd)
{
	*c = (struct attach_client){.fd = fd};
}

void attach_client_close(struct attach_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->q);
	free(c->ib);
	*c = (struct attach_client){.fd = -1};
}

bool attach_client_pending(const struct attach_client *c)
{
	return c->fd >= 0 && c->q_off < c->q_len;
}

static void queue_add(struct attach_client *c, const void *data, size_t len)
{
	if (c->q_len + len > c->q_cap) {
		if (c->q_off) {
			memmove(c->q, c->q + c->q_off, c->q_len - c->q_off);
			c->q_len -= c->q_off;
			c->q_off = 0;
		}
		if (c->q_len + len > c->q_cap) {
			size_t cap = c->q_cap ? c->q_cap : 16384;
			while (cap < c->q_len + len)
				cap *= 2;
			c->q = xrealloc(c->q, cap);
			c->q_cap = cap;
		}
	}
	memcpy(c->q + c->q_len, data, len);
	c->q_len += len;
}

int attach_client_flush(struct attach_client *c)
{
	while (c->q_off < c->q_len) {
		ssize_t n =
		    send(c->fd, c->q + c->q_off, c->q_len - c->q_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->q_off += (size_t)n;
	}
	/* Drained: give the memory back, the shim's size per container is a headline figure. */
	free(c->q);
	c->q = NULL;
	c->q_off = c->q_len = c->q_cap = 0;
	return 0;
}

int attach_client_send(struct attach_client *c, enum attach_kind kind, const void *data, size_t len,
                       size_t limit, bool force)
{
	struct attach_hdr h = {.kind = (uint8_t)kind, .len = (uint32_t)len};
	size_t need = sizeof(h) + len, sent = 0;

	if (!force && c->q_len - c->q_off + need > limit) {
		c->dropped += len;
		return 0;
	}
	if (c->dropped) {
		char msg[96];
		int n = snprintf(msg, sizeof(msg), "output dropped: client too slow (%llu bytes)",
		                 (unsigned long long)c->dropped);
		c->dropped = 0;
		if (attach_client_send(c, ATTACH_NOTICE, msg, (size_t)n, limit, true) < 0)
			return -1;
	}
	if (c->q_off == c->q_len) {
		struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)data, len}};
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
		ssize_t n;
		do
			n = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN)
			return -1;
		sent = n > 0 ? (size_t)n : 0;
		if (sent == need)
			return 0;
	}
	/* Whatever the socket did not take, header first, goes to the queue. */
	if (sent < sizeof(h))
		queue_add(c, (const char *)&h + sent, sizeof(h) - sent);
	sent = sent > sizeof(h) ? sent - sizeof(h) : 0;
	if (len > sent)
		queue_add(c, (const char *)data + sent, len - sent);
	return 0;
}

int attach_client_read(struct attach_client *c, enum attach_kind *kind, char **data, size_t *len)
{
	ssize_t n;

	if (c->ih_got < sizeof(c->ih)) {
		do
			n = read(c->fd, (char *)&c->ih + c->ih_got, sizeof(c->ih) - c->ih_got);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->ih_got += (size_t)n;
		if (c->ih_got < sizeof(c->ih))
			return 0;
		if (c->ih.len > ATTACH_PAYLOAD_MAX || c->ih.kind < ATTACH_STDOUT ||
		    c->ih.kind > ATTACH_KIND_MAX)
			return -1;
		if (c->ih.len)
			c->ib = xmalloc(c->ih.len);
	}
	if (c->ib_got < c->ih.len) {
		do
			n = read(c->fd, c->ib + c->ib_got, c->ih.len - c->ib_got);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->ib_got += (size_t)n;
		if (c->ib_got < c->ih.len)
			return 0;
	}
	*kind = (enum attach_kind)c->ih.kind;
	*len = c->ih.len;
	*data = c->ib;
	c->ib = NULL;
	c->ih_got = c->ib_got = 0;
	return 1;
}
