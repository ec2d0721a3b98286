/* common/runtime/init.c - the container's first process between clone and exec: waits to be
 * in its cgroup, enters the cgroup namespace, builds the rootfs, sets hostname, loopback,
 * limits, user, capabilities, no_new_privs and seccomp, leaves only fds 0-2, and execs
 * (DESIGN.md "run"). Errors become a report to the shim with docker's exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
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
#include "common/runtime/rootfs.h"
#include "common/runtime/secure.h"

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

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static void loopback_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		(void)ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

/* execvp with the container's PATH, and docker's exit codes and words for what went wrong. */
__attribute__((noreturn)) static void exec_command(const struct init_args *a)
{
	char *const *argv = a->spec->args;
	char *const *env = a->spec->env;
	const char *path = env_get(env, "PATH");
	char buf[4096];
	bool denied = false;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		if (errno == ENOENT)
			fail(a, 127, "exec: \"%s\": stat %s: no such file or directory", argv[0],
			     argv[0]);
		fail(a, errno == EACCES || errno == ENOEXEC || errno == EISDIR ? 126 : 125,
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
		fail(a, 126, "exec: \"%s\": permission denied", argv[0]);
	fail(a, 127, "exec: \"%s\": executable file not found in $PATH", argv[0]);
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

/* The container starts with every signal at its default and none blocked: the shim blocks
 * SIGCHLD and ignores SIGTERM/SIGINT/SIGHUP/SIGPIPE, and whatever started ctrbox may have
 * ignored more (a shell's background job ignores SIGINT and SIGQUIT); exec keeps both. */
static void reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	/* All zeroes is SIG_DFL, no flags, no mask in every architecture's kernel layout. */
	unsigned long kdfl[4] = {0};

	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* glibc refuses the two signals it reserves (32 and 33), but an ignore of them
		 * inherited from whatever started ctrbox survives exec all the same: reset them
		 * through the system call. */
		if (sigaction(sig, &dfl, NULL) < 0)
			(void)syscall(SYS_rt_sigaction, sig, kdfl, NULL, (size_t)(_NSIG / 8));
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

void init_container(const struct init_args *a)
{
	const struct spec *s = a->spec;
	struct err e = ERR_INIT;
	char go;
	int null;

	reset_signals();

	/* Wait for the shim to move us into the cgroup, so the cgroup namespace roots there. */
	if (read(a->go_fd, &go, 1) != 1)
		fail(a, 125, "the shim did not start the container");
	close(a->go_fd);
	if ((s->ns & SPEC_NS_CGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		fail(a, 125, "cgroup namespace: %s", strerror(errno));
	if (a->console_fd < 0 && (dup2(a->out_fd, 1) < 0 || dup2(a->err_fd, 2) < 0))
		fail(a, 125, "stdio: %s", strerror(errno));
	if (rootfs_mount_root(a->rootfs, a->overlay_dir, a->overlay_opts, a->bind_src, &e) < 0 ||
	    rootfs_setup(s, a->rootfs, a->cgroup_v2, &e) < 0)
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
	if (s->ns & SPEC_NS_NET)
		loopback_up();
	if (chdir(s->cwd ? s->cwd : "/") < 0)
		fail(a, 125, "workdir %s: %s", s->cwd, strerror(errno));
	if (secure_rlimits(s, &e) < 0 || secure_user(s, &e) < 0 || secure_no_new_privs(s, &e) < 0 ||
	    secure_seccomp(s, &e) < 0 || secure_close_fds(&e) < 0)
		fail(a, 125, "%s", e.msg);
	exec_command(a);
}
