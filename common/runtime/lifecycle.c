/* common/runtime/lifecycle.c - stop, kill and remove (DESIGN.md "run": `stop`, `kill`, `rm`;
 * lesson 3: the shim is the container's parent and records its exit). Signals go through a
 * pidfd verified against /proc/PID/stat's starttime, so a PID the kernel reused for another
 * process is never signalled; waits poll the pidfd and are bounded; the container's lock is
 * taken only for a change, never while a process is dying. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/image/manifest.h"
#include "common/runtime/cgroup.h"
#include "common/runtime/lifecycle.h"
#include "common/runtime/names.h"
#include "common/runtime/lookup.h"
#include "common/store/blob.h"
#include "common/store/container_record.h"
#include "common/store/event.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define LOCK_WAIT_NS (5LL * 1000000000LL)
#define POLL_STEP_MS 20
#define EXIT_UNKNOWN 255 /* docker's code for an exit nobody saw (the shim was gone) */

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* A decimal number of at most 3 digits, or -1. */
static int small_number(const char *s)
{
	int v = 0;

	if (!*s || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int rt_signal_parse(const char *s, int *out, struct err *e)
{
	char up[16];
	const char *name;
	size_t i, len = strlen(s);
	int n;

	if ((n = small_number(s)) >= 0) {
		if (n < 1 || n > SIGRTMAX)
			goto bad;
		*out = n;
		return 0;
	}
	if (len == 0 || len >= sizeof(up))
		goto bad;
	for (i = 0; i <= len; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	name = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
	for (i = 0; i < ARRAY_SIZE(signals); i++)
		if (strcmp(name, signals[i].name) == 0) {
			*out = signals[i].sig;
			return 0;
		}
	if (strcmp(name, "RTMIN") == 0 || strcmp(name, "RTMAX") == 0) {
		*out = name[2] == 'M' && name[3] == 'I' ? SIGRTMIN : SIGRTMAX;
		return 0;
	}
	if ((strncmp(name, "RTMIN+", 6) == 0 || strncmp(name, "RTMAX-", 6) == 0) &&
	    (n = small_number(name + 6)) >= 0) {
		int sig = name[5] == '+' ? SIGRTMIN + n : SIGRTMAX - n;

		if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
			*out = sig;
			return 0;
		}
	}
bad:
	return err_set(e, E_INVALID, "signal \"%s\": unknown", s);
}

int rt_proc_start_time(const struct ctx *ctx, int pid, uint64_t *out, struct err *e)
{
	cleanup_free char *rel = xasprintf("%d/stat", pid);
	cleanup_free char *stat = NULL;
	const char *p;
	char *end;
	unsigned long long v;
	int field;

	if (pid <= 0)
		return err_set(e, E_NOTFOUND, "process %d: not running", pid);
	if (host_read(ctx, HOST_PROC, rel, 4096, &stat, e) < 0) {
		if (e->code == E_NOTFOUND || e->sys_errno == ESRCH)
			return err_set(e, E_NOTFOUND, "process %d: not running", pid);
		return -1;
	}
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	p = strrchr(stat, ')');
	if (!p || p[1] != ' ' || !p[2])
		return err_set(e, E_CORRUPT, "process %d: unreadable stat", pid);
	p += 2; /* field 3, the state */
	if (*p == 'Z' || *p == 'X')
		return err_set(e, E_NOTFOUND, "process %d: not running (zombie)", pid);
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return err_set(e, E_CORRUPT, "process %d: unreadable stat", pid);
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\n' && *end))
		return err_set(e, E_CORRUPT, "process %d: unreadable stat", pid);
	*out = v;
	return 0;
}

/* A pidfd for pid when it is still the process started at start_time (1), or 0 when that
 * process is gone (exited, a zombie, or the PID now names another process). The pidfd is
 * opened before the check, so it cannot name a process started after it. */
static int proc_open(const struct ctx *ctx, int pid, uint64_t start_time, int *pidfd, struct err *e)
{
	cleanup_close int fd = -1;
	struct err local = ERR_INIT;
	uint64_t now_start = 0;

	if (pid <= 0)
		return 0;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH ? 0 : err_sys(e, "pidfd_open %d", pid);
	if (rt_proc_start_time(ctx, pid, &now_start, &local) < 0) {
		if (local.code == E_NOTFOUND)
			return 0;
		*e = local;
		return -1;
	}
	if (start_time && now_start != start_time)
		return 0;
	*pidfd = TAKE_FD(fd);
	return 1;
}

/* Waits up to timeout_ns for the process behind pidfd to exit; 1 when it did, 0 on timeout. */
static int proc_wait(int pidfd, int64_t timeout_ns)
{
	int64_t deadline = ctx_clock_monotonic() + timeout_ns;

	for (;;) {
		struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
		int64_t left = deadline - ctx_clock_monotonic();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		if (r > 0)
			return 1;
		if (r == 0 || (r < 0 && errno != EINTR))
			return r == 0 ? 0 : 1; /* a pidfd poll error means the process is gone */
	}
}

static int proc_signal(int pidfd, int pid, int sig, struct err *e)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		return err_sys(e, "signal %d to pid %d", sig, pid);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Whether the container's shim is still alive (verified like the init). */
static bool shim_alive(const struct ctx *ctx, const struct container_state *st)
{
	cleanup_close int fd = -1;
	struct err e = ERR_INIT;

	return proc_open(ctx, st->shim_pid, st->shim_start_time, &fd, &e) == 1;
}

/* The signal the image asks to be stopped with (its config's StopSignal), else SIGTERM. The
 * image may have been removed since; that is not an error. */
static int stop_signal(const struct ctx *ctx, const char *id)
{
	struct container_doc c = {0};
	struct manifest m = {0};
	struct image_config cfg = {0};
	struct digest d;
	struct err e = ERR_INIT;
	cleanup_free char *data = NULL;
	size_t len = 0;
	int sig = SIGTERM;

	if (container_doc_load(ctx, id, &c, &e) < 0 || !c.image_digest ||
	    digest_parse(c.image_digest, &d, &e) < 0 ||
	    blob_read(ctx, &d, MANIFEST_MAX, &data, &len, &e) < 0 ||
	    manifest_parse(data, len, NULL, &m, &e) < 0)
		goto out;
	free(TAKE_PTR(data));
	if (m.kind != MANIFEST_IMAGE ||
	    blob_read(ctx, &m.config.digest, CONFIG_MAX, &data, &len, &e) < 0 ||
	    image_config_parse(data, len, &cfg, &e) < 0)
		goto out;
	if (cfg.stop_signal && rt_signal_parse(cfg.stop_signal, &sig, &e) < 0)
		sig = SIGTERM;
out:
	image_config_release(&cfg);
	manifest_release(&m);
	container_doc_release(&c);
	return sig;
}

/* Records an exit nobody else will: the container's init is gone and so is its shim, so
 * state.json would say running for ever. Exit code 255, as docker reports an unseen exit. */
static int record_lost_exit(const struct ctx *ctx, const char *id, struct err *e)
{
	struct container_state st = {0};
	struct container_doc c = {0};
	struct err ev = ERR_INIT;

	if (container_state_load(ctx, id, &st, e) < 0)
		return -1;
	if (st.status != STATUS_RUNNING && st.status != STATUS_UNKNOWN &&
	    st.status != STATUS_PAUSED)
		return 0;
	st.status = STATUS_STOPPED;
	st.exit_code = EXIT_UNKNOWN;
	st.finished_ns = ctx->now_ns();
	st.pid = 0;
	if (container_state_save(ctx, id, &st, e) < 0)
		return -1;
	container_doc_load(ctx, id, &c, &ev);
	err_clear(&ev);
	if (event_emit(ctx, EVENT_WARNING, "Died", OBJECT_CONTAINER, id, c.name, NULL, &ev,
	               "container exited; exit status unknown (its shim was gone)") < 0)
		log_warn(ctx, "journal: %s", ev.msg);
	container_doc_release(&c);
	return 0;
}

/* After the init has died: waits until the shim has recorded the exit, or records it when
 * there is no shim to do so. */
static int await_record(const struct ctx *ctx, const char *arg, const char *id, struct err *e)
{
	int64_t deadline = ctx_clock_monotonic() + RT_RECORD_WAIT_NS;
	struct container_state st = {0};

	for (;;) {
		if (container_state_load(ctx, id, &st, e) < 0)
			return err_wrap(e, "%s", arg);
		if (st.status == STATUS_STOPPED || st.status == STATUS_CREATED)
			return 0;
		if (!shim_alive(ctx, &st)) {
			if (record_lost_exit(ctx, id, e) < 0)
				return err_wrap(e, "%s", arg);
			return 0;
		}
		if (ctx_clock_monotonic() >= deadline)
			return err_set(e, E_TIMEOUT,
			               "%s: the container exited but its shim (pid %d) has not "
			               "recorded it within %llds",
			               arg, st.shim_pid, RT_RECORD_WAIT_NS / 1000000000LL);
		sleep_ms(POLL_STEP_MS);
	}
}

/* Resolves arg and opens the container's init when it is running: 1 with *pidfd, 0 when it is
 * not running (a missing state.json is a container that never started, or a reboot). */
static int open_init(const struct ctx *ctx, const char *arg, char id[65],
                     struct container_state *st, int *pidfd, struct err *e)
{
	int r;

	if (container_lookup(ctx, arg, id, e) < 0)
		return -1;
	*st = (struct container_state){0};
	if (container_state_load(ctx, id, st, e) < 0) {
		if (e->code != E_NOTFOUND)
			return err_wrap(e, "%s", arg);
		err_clear(e);
		return 0;
	}
	if (st->status == STATUS_STOPPED || st->status == STATUS_CREATED)
		return 0;
	r = proc_open(ctx, st->pid, st->pid_start_time, pidfd, e);
	return r < 0 ? err_wrap(e, "%s", arg) : r;
}

/* Sends sig, waits up to wait_ns; 1 when the init exited. */
static int signal_and_wait(const char *arg, int pidfd, int pid, int sig, int64_t wait_ns,
                           struct err *e)
{
	if (proc_signal(pidfd, pid, sig, e) < 0)
		return err_wrap(e, "%s", arg);
	return proc_wait(pidfd, wait_ns);
}

static int kill_and_wait(const char *arg, int pidfd, int pid, struct err *e)
{
	int r = signal_and_wait(arg, pidfd, pid, SIGKILL, RT_KILL_WAIT_NS, e);

	if (r == 0)
		return err_set(e, E_TIMEOUT, "%s: pid %d still running %llds after SIGKILL", arg,
		               pid, RT_KILL_WAIT_NS / 1000000000LL);
	return r < 0 ? -1 : 0;
}

int rt_stop(const struct ctx *ctx, const char *arg, int64_t timeout_ns, struct err *e)
{
	struct container_state st;
	cleanup_close int pidfd = -1;
	char id[65];
	int r;

	r = open_init(ctx, arg, id, &st, &pidfd, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		r = signal_and_wait(arg, pidfd, st.pid, stop_signal(ctx, id), timeout_ns, e);
		if (r < 0)
			return -1;
		if (r == 0 && kill_and_wait(arg, pidfd, st.pid, e) < 0)
			return -1;
	} else if (st.status != STATUS_RUNNING && st.status != STATUS_UNKNOWN &&
	           st.status != STATUS_PAUSED) {
		return 0;
	}
	return await_record(ctx, arg, id, e);
}

struct stop_pool {
	const struct ctx *ctx;
	char *const *args;
	size_t n, next; /* next: the index a worker takes next (atomic) */
	int64_t timeout_ns;
	struct err *errs;
	size_t failed; /* atomic */
};

static void *stop_worker(void *arg)
{
	struct stop_pool *p = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->n)
		if (rt_stop(p->ctx, p->args[i], p->timeout_ns, &p->errs[i]) < 0) {
			if (p->errs[i].code == E_OK) /* the caller tells failures by the code */
				p->errs[i].code = E_IO;
			__atomic_fetch_add(&p->failed, 1, __ATOMIC_RELAXED);
		}
	return NULL;
}

size_t rt_stop_all(const struct ctx *ctx, char *const *args, size_t n, int64_t timeout_ns,
                   struct err *errs)
{
	struct stop_pool p = {ctx, args, n, 0, timeout_ns, errs, 0};
	pthread_t threads[RT_STOP_PARALLEL];
	size_t k = n < RT_STOP_PARALLEL ? n : RT_STOP_PARALLEL, started = 0;

	/* One container needs no thread; a thread that cannot start leaves its share to the
	 * others (and to this one). */
	for (; n > 1 && started < k; started++)
		if (pthread_create(&threads[started], NULL, stop_worker, &p) != 0)
			break;
	stop_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	return p.failed;
}

int rt_kill(const struct ctx *ctx, const char *arg, int sig, struct err *e)
{
	struct container_state st;
	cleanup_close int pidfd = -1;
	char id[65];
	int r;

	r = open_init(ctx, arg, id, &st, &pidfd, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, E_INVALID, "%s: container is not running", arg);
	if (proc_signal(pidfd, st.pid, sig, e) < 0)
		return err_wrap(e, "%s", arg);
	return 0;
}

/* Removes the container's cgroups where cgroup.h puts them (the shim normally has already).
 * The init's last descendants may still be leaving just after it died: EBUSY is retried for a
 * second. A host without any cgroup mount has nothing to remove. */
static int remove_cgroups(const struct ctx *ctx, const char *id, struct err *e)
{
	struct cgroup cg = {0};
	enum cgroup_mode mode;
	int rc;

	if (cgroup_detect(ctx, &mode, e) < 0) {
		if (e->code != E_UNSUPPORTED)
			return -1;
		err_clear(e);
		return 0;
	}
	cgroup_paths(ctx, mode, id, &cg);
	for (int i = 0; (rc = cgroup_remove(&cg, e)) < 0 && i < 50; i++) {
		if (e->sys_errno != EBUSY)
			break;
		err_clear(e);
		sleep_ms(POLL_STEP_MS);
	}
	cgroup_release(&cg);
	return rc;
}

/* Waits for the shim to exit (it cleans up after the container); with force, SIGKILLs a shim
 * that outstays the wait. */
static int await_shim(const struct ctx *ctx, const char *arg, const char *id, bool force,
                      struct err *e)
{
	struct container_state st = {0};
	cleanup_close int fd = -1;
	int r;

	if (container_state_load(ctx, id, &st, e) < 0) {
		if (e->code != E_NOTFOUND)
			return err_wrap(e, "%s", arg);
		err_clear(e);
		return 0;
	}
	r = proc_open(ctx, st.shim_pid, st.shim_start_time, &fd, e);
	if (r <= 0)
		return r < 0 ? err_wrap(e, "%s", arg) : 0;
	if (proc_wait(fd, RT_RECORD_WAIT_NS))
		return 0;
	if (!force)
		return err_set(e, E_BUSY, "%s: its shim (pid %d) is still running", arg,
		               st.shim_pid);
	if (proc_signal(fd, st.shim_pid, SIGKILL, e) < 0)
		return err_wrap(e, "%s: shim", arg);
	if (!proc_wait(fd, RT_KILL_WAIT_NS))
		return err_set(e, E_TIMEOUT, "%s: shim pid %d still running after SIGKILL", arg,
		               st.shim_pid);
	return 0;
}

/* Removes everything in the container's directory but container.json and the lock file:
 * config.json, the logs, rootfs/, upper/ and work/ (never following a symlink). */
static int remove_contents(const char *dir, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, "open %s", dir);
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		cleanup_free char *p = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "container.json") == 0 || strcmp(de->d_name, "lock") == 0)
			continue;
		p = path_join(dir, de->d_name);
		rc = fs_remove_tree(p, e);
	}
	if (rc == 0 && errno)
		rc = err_sys(e, "read %s", dir);
	closedir(d);
	return rc;
}

int rt_remove(const struct ctx *ctx, const char *arg, bool force, struct err *e)
{
	struct container_state st;
	struct container_doc c = {0};
	cleanup_close int pidfd = -1;
	cleanup_lock struct lock l = LOCK_INIT;
	cleanup_free char *dir = NULL, *lockpath = NULL, *doc = NULL;
	struct err ev = ERR_INIT;
	char id[65];
	int r;

	r = open_init(ctx, arg, id, &st, &pidfd, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		if (!force)
			return err_set(e, E_BUSY,
			               "%s: container is running: stop it first, or use rm -f",
			               arg);
		if (kill_and_wait(arg, pidfd, st.pid, e) < 0)
			return -1;
	}
	if (await_shim(ctx, arg, id, force, e) < 0)
		return -1;
	if (container_doc_load(ctx, id, &c, &ev) < 0)
		err_clear(&ev); /* a broken container.json must not make it unremovable */

	dir = store_container_dir(ctx, id);
	lockpath = path_join(dir, "lock");
	doc = path_join(dir, "container.json");
	if (lock_take(lockpath, LOCK_WAIT_NS, &l, e) < 0) {
		/* Removed meanwhile (run --rm's shim, another rm): say so as a lookup would. */
		if (!fs_exists(dir)) {
			container_doc_release(&c);
			return err_set(e, E_NOTFOUND, "%s: no such container", arg);
		}
		goto fail;
	}
	/* The cgroup first: if it cannot go, the records stay and rm can be retried. */
	if (remove_cgroups(ctx, id, e) < 0)
		goto fail;
	/* container.json last but the lock: whatever fails before leaves a container that
	 * lookups still find, so rm can be retried. */
	if (container_state_remove(ctx, id, e) < 0 || remove_contents(dir, e) < 0)
		goto fail;
	if (unlink(doc) < 0 && errno != ENOENT) {
		err_sys(e, "remove %s", doc);
		goto fail;
	}
	if (fs_remove_tree(dir, e) < 0)
		goto fail;
	lock_release(&l);
	if (c.name && names_forget(ctx, c.name, id, LOCK_WAIT_NS, &ev) < 0) {
		log_warn(ctx, "name %s: %s", c.name, ev.msg); /* a lock file left; harmless */
		err_clear(&ev);
	}
	if (event_emit(ctx, EVENT_NORMAL, "Removed", OBJECT_CONTAINER, id, c.name, NULL, &ev,
	               "container removed") < 0)
		log_warn(ctx, "journal: %s", ev.msg);
	container_doc_release(&c);
	return 0;
fail:
	container_doc_release(&c);
	return err_wrap(e, "%s", arg);
}
