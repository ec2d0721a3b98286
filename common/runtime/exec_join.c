/* common/runtime/exec_join.c - the inside half of `exec` (exec_join.h; DESIGN.md "run"; issue
 * 6): the joiner, re-executed from a sealed memfd copy of ctrbox, makes itself non-dumpable,
 * joins the container's cgroup and namespaces and forks the process inside the PID namespace;
 * the process sets up its terminal or stdio, closes every inherited descriptor, resolves the
 * user in the container's /etc/passwd, enters the working directory, applies the container's
 * limits and privileges and execs the target directly. A failure before exec travels back as
 * a message with docker's exit code. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/runtime/exec_join.h"
#include "common/runtime/procexec.h"
#include "common/runtime/secure.h"
#include "common/util/exit.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

#define JOB_MAX_BYTES (4 << 20)
#define PAUSE_MAX_MS  30000
#define PAUSE_STEP_MS 50

/* The descriptors of `ctrbox __exec`: the report socket, the job, the namespace files, and the
 * memfd it was executed from (close-on-exec). */
enum { FD_REPORT = 3, FD_JOB = 4, FD_NS = 5, FD_EXE = FD_NS + EXEC_N_NS, FD_END };

extern char **environ;

const struct exec_ns exec_ns_order[EXEC_N_NS] = {
    {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
};

void exec_job_release(struct exec_job *j)
{
	spec_release(&j->spec);
	free(j->user);
	free(j->workdir);
	free(j->pause_path);
	cgroup_release(&j->cg);
	for (size_t i = 0; i < EXEC_N_NS; i++)
		if (j->ns[i] >= 0)
			close(TAKE_FD(j->ns[i]));
}

/* ---- messages ---- */

int exec_msg_send(int fd, const struct exec_msg *m, int pass_fd)
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

int exec_msg_recv(int fd, struct exec_msg *m, int *got_fd)
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

__attribute__((noreturn, format(printf, 3, 4))) static void fail(int rfd, int code, const char *fmt,
                                                                 ...)
{
	struct exec_msg m = {.kind = EXEC_MSG_FAILED, .code = code};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.msg, sizeof(m.msg), fmt, ap);
	va_end(ap);
	(void)exec_msg_send(rfd, &m, -1);
	_exit(code);
}

/* ---- the job, across the re-execution ---- */

static struct json_object *job_to_json(const struct exec_job *j)
{
	struct json_object *o = json_object_new_object();
	struct json_object *cg = json_object_new_object();
	cleanup_free char *spec = spec_to_json(&j->spec);

	jsonio_set_str(o, "spec", spec);
	jsonio_set_str(o, "user", j->user);
	jsonio_set_str(o, "workdir", j->workdir);
	jsonio_set_str(o, "pause_path", j->pause_path);
	jsonio_set_bool(o, "privileged", j->privileged);
	jsonio_set_bool(o, "interactive", j->interactive);
	jsonio_set_bool(o, "detach", j->detach);
	jsonio_set_bool(o, "tty", j->tty);
	jsonio_set_bool(o, "home_given", j->home_given);
	jsonio_set_int(o, "rows", j->rows);
	jsonio_set_int(o, "cols", j->cols);
	jsonio_set_bool(o, "have_cgroup", j->have_cg);
	jsonio_set_int(cg, "mode", j->cg.mode);
	jsonio_set_str(cg, "unified", j->cg.unified);
	jsonio_set_str(cg, "memory", j->cg.memory);
	jsonio_set_str(cg, "cpu", j->cg.cpu);
	jsonio_set_str(cg, "pids", j->cg.pids);
	jsonio_set_str(cg, "devices", j->cg.devices);
	json_object_object_add(o, "cgroup", cg);
	for (size_t i = 0; i < EXEC_N_NS; i++) {
		cleanup_free char *key = xasprintf("join_%s", exec_ns_order[i].name);
		jsonio_set_bool(o, key, j->ns[i] >= 0);
	}
	return o;
}

static char *dup_opt(struct json_object *o, const char *key, struct err *e, int *rc)
{
	const char *v = NULL;

	if (jsonio_get_str(o, key, false, &v, e) < 0)
		*rc = -1;
	return v ? xstrdup(v) : NULL;
}

static int job_parse(const char *data, size_t len, struct exec_job *j, struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	struct json_object *cg = NULL;
	const char *spec = NULL;
	int64_t rows = 0, cols = 0, mode = 0;
	int rc = 0;

	if (jsonio_parse(data, len, &o, e) < 0 || jsonio_get_str(o, "spec", true, &spec, e) < 0 ||
	    spec_parse(spec, strlen(spec), &j->spec, e) < 0)
		return -1;
	j->user = dup_opt(o, "user", e, &rc);
	j->workdir = dup_opt(o, "workdir", e, &rc);
	j->pause_path = dup_opt(o, "pause_path", e, &rc);
	if (rc < 0 || jsonio_get_bool(o, "privileged", false, &j->privileged, e) < 0 ||
	    jsonio_get_bool(o, "interactive", false, &j->interactive, e) < 0 ||
	    jsonio_get_bool(o, "detach", false, &j->detach, e) < 0 ||
	    jsonio_get_bool(o, "tty", false, &j->tty, e) < 0 ||
	    jsonio_get_bool(o, "home_given", false, &j->home_given, e) < 0 ||
	    jsonio_get_int(o, "rows", false, &rows, e) < 0 ||
	    jsonio_get_int(o, "cols", false, &cols, e) < 0 ||
	    jsonio_get_bool(o, "have_cgroup", false, &j->have_cg, e) < 0 ||
	    jsonio_get_obj(o, "cgroup", true, &cg, e) < 0 ||
	    jsonio_get_int(cg, "mode", false, &mode, e) < 0)
		return -1;
	j->rows = (unsigned short)rows;
	j->cols = (unsigned short)cols;
	j->cg.mode = (enum cgroup_mode)mode;
	j->cg.unified = dup_opt(cg, "unified", e, &rc);
	j->cg.memory = dup_opt(cg, "memory", e, &rc);
	j->cg.cpu = dup_opt(cg, "cpu", e, &rc);
	j->cg.pids = dup_opt(cg, "pids", e, &rc);
	j->cg.devices = dup_opt(cg, "devices", e, &rc);
	for (size_t i = 0; rc == 0 && i < EXEC_N_NS; i++) {
		cleanup_free char *key = xasprintf("join_%s", exec_ns_order[i].name);
		bool join = false;
		if (jsonio_get_bool(o, key, false, &join, e) < 0)
			rc = -1;
		j->ns[i] = join ? FD_NS + (int)i : -1;
	}
	return rc;
}

/* A memfd holding the file at path, sealed: nobody can write it, shrink or grow it, or unseal
 * it. */
static int sealed_copy(const char *path, const char *name, int rfd)
{
	cleanup_close int src = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int fd;

	if (src < 0 || fstat(src, &st) < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s: %s", path, strerror(errno));
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		fail(rfd, EXIT_RUN_ERROR, "memfd_create: %s", strerror(errno));
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(fd, src, NULL, (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail(rfd, EXIT_RUN_ERROR, "copy %s: %s", path,
			     n < 0 ? strerror(errno) : "short file");
		left -= n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		fail(rfd, EXIT_RUN_ERROR, "seal the copy of %s: %s", path, strerror(errno));
	return fd;
}

void exec_join_spawn(const char *self_exe, const struct exec_job *j, int rfd)
{
	cleanup_json struct json_object *doc = job_to_json(j);
	cleanup_free char *text = jsonio_to_string(doc, false);
	char *argv[] = {"ctrbox", "__exec", NULL};
	int src[FD_END - FD_REPORT], tmp[FD_END - FD_REPORT];
	int job, exe;

	job = memfd_create("ctrbox-exec-job", MFD_CLOEXEC);
	if (job < 0)
		fail(rfd, EXIT_RUN_ERROR, "memfd_create: %s", strerror(errno));
	for (size_t off = 0, len = strlen(text); off < len;) {
		ssize_t n = write(job, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail(rfd, EXIT_RUN_ERROR, "write the job: %s", strerror(errno));
		off += (size_t)n;
	}
	if (lseek(job, 0, SEEK_SET) < 0)
		fail(rfd, EXIT_RUN_ERROR, "rewind the job: %s", strerror(errno));
	exe = sealed_copy(self_exe, "ctrbox", rfd);

	/* Lay the descriptors out where __exec expects them: each one first above the range,
	 * then down into its place, then everything else closed. */
	src[0] = rfd;
	src[FD_JOB - FD_REPORT] = job;
	for (size_t i = 0; i < EXEC_N_NS; i++)
		src[FD_NS - FD_REPORT + (int)i] = j->ns[i];
	src[FD_EXE - FD_REPORT] = exe;
	for (size_t k = 0; k < ARRAY_SIZE(src); k++) {
		tmp[k] = src[k] >= 0 ? fcntl(src[k], F_DUPFD_CLOEXEC, FD_END + 64) : -1;
		if (src[k] >= 0 && tmp[k] < 0)
			fail(rfd, EXIT_RUN_ERROR, "dup: %s", strerror(errno));
	}
	for (size_t k = 0; k < ARRAY_SIZE(src); k++) {
		int want = FD_REPORT + (int)k;
		if (tmp[k] < 0)
			close(want);
		else if (dup2(tmp[k], want) < 0)
			_exit(EXIT_RUN_ERROR); /* the report socket may be gone already */
	}
	if (syscall(SYS_close_range, (unsigned)FD_END, ~0U, 0U) < 0 ||
	    fcntl(FD_EXE, F_SETFD, FD_CLOEXEC) < 0)
		fail(FD_REPORT, EXIT_RUN_ERROR, "descriptors: %s", strerror(errno));
	fexecve(FD_EXE, argv, environ);
	fail(FD_REPORT, EXIT_RUN_ERROR, "execute the sealed copy of ctrbox: %s", strerror(errno));
}

/* ---- the process, inside the container ---- */

/* execve with the container's PATH (looked up inside the container: we are in its mount
 * namespace) and docker's exit codes and words, as the container's init does. */
__attribute__((noreturn)) static void exec_target(int rfd, char *const *argv, char *const *env)
{
	char msg[512];
	int code = procexec_exec(argv, env, msg, sizeof(msg));

	fail(rfd, code, "%s", msg);
}

/* A pty from the container's own devpts instance: the slave (opened through the master, never
 * by a path the container controls) becomes 0, 1, 2 and our controlling terminal in a new
 * session; the master goes to the waiter. */
static void setup_pty(const struct exec_job *j, int rfd, uid_t uid)
{
	struct exec_msg m = {.kind = EXEC_MSG_PTY};
	int unlock = 0, master, slave;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		fail(rfd, EXIT_RUN_ERROR, "open /dev/ptmx in the container: %s", strerror(errno));
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fail(rfd, EXIT_RUN_ERROR, "unlock the pty: %s", strerror(errno));
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		fail(rfd, EXIT_RUN_ERROR, "open the pty: %s", strerror(errno));
	if (j->rows && j->cols) {
		struct winsize ws = {.ws_row = j->rows, .ws_col = j->cols};
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
	if (exec_msg_send(rfd, &m, master) < 0)
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
	if (j->interactive && !j->detach)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		fail(rfd, EXIT_RUN_ERROR, "open /dev/null in the container: %s", strerror(errno));
	if (dup2(null, 0) < 0 || (j->detach && (dup2(null, 1) < 0 || dup2(null, 2) < 0)))
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

__attribute__((noreturn)) static void process_main(struct exec_job *j,
                                                   const struct secure_filter *filter, int rfd)
{
	struct spec *s = &j->spec;
	struct err e = ERR_INIT;
	const char *root_layer[] = {"/"};

	/* Only 0, 1, 2 and the report socket from here on: nothing of the host can be reached
	 * through a descriptor, not even by the working directory. */
	if ((rfd > 3 && syscall(SYS_close_range, 3U, (unsigned)rfd - 1, 0U) < 0) ||
	    syscall(SYS_close_range, (unsigned)rfd + 1, ~0U, 0U) < 0)
		fail(rfd, EXIT_RUN_ERROR, "close descriptors: %s", strerror(errno));
	if (j->user) {
		struct spec_user u = {0};

		if (spec_resolve_user(j->user, root_layer, 1, &u, &e) < 0)
			fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
		s->uid = u.uid;
		s->gid = u.gid;
		free(s->gids);
		s->gids = TAKE_PTR(u.gids);
		s->n_gids = u.n_gids;
		if (!j->home_given) {
			cleanup_free char *kv =
			    xasprintf("HOME=%s", u.home && *u.home ? u.home : "/");
			env_put(&s->env, kv);
		}
		spec_user_release(&u);
	}
	umask(022); /* runc's default for a process without one, not the caller's */
	if (j->tty)
		setup_pty(j, rfd, s->uid);
	else
		setup_stdio(j, rfd);
	if (j->privileged)
		s->caps = ~0ULL;
	if (secure_rlimits(s, &e) < 0 || secure_user(s, &e) < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
	/* A change of credentials can make a process dumpable again (fs.suid_dumpable). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(rfd, EXIT_RUN_ERROR, "non-dumpable: %s", strerror(errno));
	enter_workdir(rfd, j->workdir ? j->workdir : s->cwd && *s->cwd ? s->cwd : "/");
	if (secure_no_new_privs(s, &e) < 0 || secure_seccomp_load(filter, &e) < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
	if (j->pause_path)
		pause_for_test(j->pause_path);
	if (secure_close_fds(&e) < 0)
		fail(rfd, EXIT_RUN_ERROR, "%s", e.msg);
	exec_target(rfd, s->args, s->env);
}

/* ---- the joiner: cgroup and namespaces ---- */

void exec_join_main(void)
{
	struct exec_job j = {0};
	struct exec_msg m = {.kind = EXEC_MSG_PID};
	struct secure_filter filter;
	struct err e = ERR_INIT;
	cleanup_free char *data = xmalloc(JOB_MAX_BYTES + 1);
	size_t len = 0;
	pid_t pid;

	/* Before anything else: exec made us dumpable again, and nothing of the container may
	 * open our /proc/PID/exe or ptrace us; exec of the target makes that one dumpable. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(FD_REPORT, EXIT_RUN_ERROR, "non-dumpable: %s", strerror(errno));
	(void)prctl(PR_SET_NAME, "ctrbox-exec", 0, 0, 0);
	if (fcntl(FD_REPORT, F_SETFD, FD_CLOEXEC) < 0)
		_exit(EXIT_RUN_ERROR); /* not started by exec_join_spawn */
	for (;;) {
		ssize_t n = read(FD_JOB, data + len, JOB_MAX_BYTES - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(FD_REPORT, EXIT_RUN_ERROR, "read the job: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == JOB_MAX_BYTES)
			fail(FD_REPORT, EXIT_RUN_ERROR, "the job is too large");
	}
	data[len] = '\0';
	close(FD_JOB);
	for (size_t i = 0; i < EXEC_N_NS; i++)
		j.ns[i] = -1;
	if (job_parse(data, len, &j, &e) < 0)
		fail(FD_REPORT, EXIT_RUN_ERROR, "the job: %s", e.msg);
	/* Compiled here, in the host's mount namespace, where libseccomp can still be loaded:
	 * the container's root need not have it. */
	if (secure_seccomp_compile(&j.spec, NULL, &filter, &e) < 0)
		fail(FD_REPORT, EXIT_RUN_ERROR, "%s", e.msg);
	procexec_reset_signals();
	if (j.have_cg && cgroup_add_pid(&j.cg, getpid(), &e) < 0)
		fail(FD_REPORT, EXIT_RUN_ERROR, "join the container's cgroup: %s", e.msg);
	for (size_t i = 0; i < EXEC_N_NS; i++) {
		if (j.ns[i] < 0)
			continue;
		if (setns(j.ns[i], exec_ns_order[i].type) < 0)
			fail(FD_REPORT, EXIT_RUN_ERROR, "join the container's %s namespace: %s",
			     exec_ns_order[i].name, strerror(errno));
		close(TAKE_FD(j.ns[i]));
	}
	pid = fork();
	if (pid < 0)
		fail(FD_REPORT, EXIT_RUN_ERROR, "%s",
		     errno == ENOMEM ? "the container is exiting" : strerror(errno));
	if (pid == 0)
		process_main(&j, &filter, FD_REPORT);
	m.pid = pid;
	(void)exec_msg_send(FD_REPORT, &m, -1);
	_exit(0);
}
