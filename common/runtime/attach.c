/* common/runtime/attach.c - the shim's attach socket: framing, listen, connect (DESIGN.md
 * "run"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
	if (h.len > ATTACH_PAYLOAD_MAX || h.kind < ATTACH_STDOUT || h.kind > ATTACH_STDIN)
		return err_set(e, E_CORRUPT, "attach socket: bad frame");
	if (h.len && read_full(fd, buf, h.len, e) != 0)
		return err_set(e, E_IO, "attach socket: truncated frame");
	*kind = (enum attach_kind)h.kind;
	*len = h.len;
	return 0;
}
