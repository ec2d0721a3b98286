/* common/runtime/init.c - the container's first process between clone and exec: builds the
 * rootfs (waiting to be in its cgroup before its first cgroup mount, and entering the cgroup
 * namespace there), sets hostname, loopback, limits, user, capabilities, no_new_privs and
 * seccomp, leaves only fds 0-2, and execs (DESIGN.md "run"). Errors become a report to the
 * shim with docker's exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/runtime/init.h"
#include "common/runtime/netns.h"
#include "common/runtime/procexec.h"
#include "common/runtime/rootfs.h"
#include "common/runtime/secure.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

__attribute__((noreturn, format(printf, 3, 4))) static void fail(const struct init_args *a,
                                                                 int code, const char *fmt, ...)
{
	struct init_report r = {.code = code};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	if (write(a->report_fd, &r, sizeof(r)) < 0) {
		/* The shim is gone; the exit code is all that is left. */
	}
	_exit(code);
}

/* execvp with the container's PATH, and docker's exit codes and words for what went wrong. */
__attribute__((noreturn)) static void exec_command(const struct init_args *a)
{
	char msg[512];
	int code = procexec_exec(a->spec->args, a->spec->env, msg, sizeof(msg));

	fail(a, code, "%s", msg);
}

/* The container's terminal, as runc's console socket makes it: allocated in the container's
 * own devpts (so /dev/pts/0 inside is what the process sees), owned by its user, controlling
 * a new session, and its master handed to the shim. */
static void setup_console(const struct init_args *a)
{
	const struct spec *s = a->spec;
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)"c", .iov_len = 1};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	int unlock = 0, master, slave;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		fail(a, 125, "terminal: open /dev/ptmx: %s", strerror(errno));
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fail(a, 125, "terminal: unlock: %s", strerror(errno));
	/* The peer by the master, not by a path under /dev/pts a mount could redirect. */
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		fail(a, 125, "terminal: open the pty's slave: %s", strerror(errno));
	/* A user other than root reopens /dev/tty and /dev/pts/N, as runc allows. */
	if (s->uid != 0 && fchown(slave, s->uid, (gid_t)-1) < 0)
		fail(a, 125, "terminal: chown: %s", strerror(errno));
	if (setsid() < 0)
		fail(a, 125, "terminal: setsid: %s", strerror(errno));
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		fail(a, 125, "terminal: make it the controlling terminal: %s", strerror(errno));
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		fail(a, 125, "terminal: stdio: %s", strerror(errno));
	close(slave);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(a->console_fd, &msg, MSG_NOSIGNAL) < 0)
		fail(a, 125, "terminal: send it to the shim: %s", strerror(errno));
	close(master);
	close(a->console_fd);
}

int init_recv_console(int fd, int *master, struct err *e)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, c;
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;
	int got;

	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(e, "receive the container's terminal");
	cm = CMSG_FIRSTHDR(&msg);
	if (n == 0 || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return err_set(e, E_IO, "the container's init sent no terminal");
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	*master = got;
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int init_send_filter(int fd, const struct secure_filter *f, struct err *e)
{
	/* One writer and a reader that reads exactly these lengths: two writes are one message. */
	if (fs_write_all(fd, &f->len, sizeof(f->len), e) < 0 ||
	    (f->len && fs_write_all(fd, f->insns, (size_t)f->len * sizeof(*f->insns), e) < 0))
		return err_wrap(e, "start the container");
	return 0;
}

/* The second message on go_fd, the last thing the init waits for: the seccomp filter the shim
 * compiled meanwhile (and sends once a foreground run is attached). */
static void receive_filter(const struct init_args *a, struct secure_filter *f)
{
	*f = (struct secure_filter){0};
	if (read_full(a->go_fd, &f->len, sizeof(f->len)) < 0)
		fail(a, 125, "the shim did not start the container");
	if (f->len > SECURE_FILTER_MAX)
		fail(a, 125, "seccomp: a filter of %u instructions", (unsigned)f->len);
	if (f->len) {
		f->insns = xcalloc(f->len, sizeof(*f->insns));
		if (read_full(a->go_fd, f->insns, (size_t)f->len * sizeof(*f->insns)) < 0)
			fail(a, 125, "the shim did not send the seccomp filter");
	}
	close(a->go_fd);
}

/* Waits for the shim to move us into the cgroup, so the cgroup namespace roots there, and
 * enters it: before the container's cgroup is mounted and before anything in /dev is made
 * or opened (the devices cgroup judges that). */
static void await_cgroup(void *arg)
{
	const struct init_args *a = arg;
	char go;

	if (read(a->go_fd, &go, 1) != 1)
		fail(a, 125, "the shim did not start the container");
	if ((a->spec->ns & SPEC_NS_CGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		fail(a, 125, "cgroup namespace: %s", strerror(errno));
}

void init_container(const struct init_args *a)
{
	const struct spec *s = a->spec;
	struct secure_filter filter;
	struct err e = ERR_INIT;
	int null;

	/* fork left our page tables without the shim's code: map it in a few calls rather than
	 * a fault per 64 KiB (mem.h). */
	mem_prefault_image(false);
	procexec_reset_signals();
	/* First, so /sys shows this namespace's devices. */
	if (a->netns_fd >= 0 && (setns(a->netns_fd, CLONE_NEWNET) < 0 || close(a->netns_fd) < 0))
		fail(a, 125, "join the network namespace: %s", strerror(errno));

	if (a->console_fd < 0 && (dup2(a->out_fd, 1) < 0 || dup2(a->err_fd, 2) < 0))
		fail(a, 125, "stdio: %s", strerror(errno));
	/* The overlay and the mounts before the first cgroup mount are made while the shim
	 * moves us into the cgroup; await_cgroup waits for that. */
	if (rootfs_mount_root(a->rootfs, a->overlay_dir, a->overlay_opts, a->bind_src, &e) < 0 ||
	    rootfs_setup(s, a->rootfs, a->cgroup_v2, await_cgroup, (void *)a, &e) < 0)
		fail(a, 125, "rootfs: %s", e.msg);
	if (a->console_fd >= 0) {
		setup_console(a);
	} else {
		/* stdin is the container's own /dev/null, opened after the pivot. */
		null = a->in_fd >= 0 ? a->in_fd : open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0)
			fail(a, 125, "stdin: %s", strerror(errno));
	}
	if ((s->ns & SPEC_NS_UTS) && s->hostname &&
	    sethostname(s->hostname, strlen(s->hostname)) < 0)
		fail(a, 125, "sethostname: %s", strerror(errno));
	if ((s->ns & SPEC_NS_NET) && a->netns_fd < 0)
		netns_loopback_up();
	if (chdir(s->cwd ? s->cwd : "/") < 0)
		fail(a, 125, "workdir %s: %s", s->cwd, strerror(errno));
	receive_filter(a, &filter);
	if (secure_rlimits(s, &e) < 0 || secure_user(s, &e) < 0 || secure_no_new_privs(s, &e) < 0 ||
	    secure_seccomp_load(&filter, &e) < 0 || secure_close_fds(&e) < 0)
		fail(a, 125, "%s", e.msg);
	exec_command(a);
}
