/* tests/unit/test_lifecycle.c - stop, kill and remove against hand-made records and real child
 * processes standing in for containers without a shim (common/runtime/lifecycle.h) */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/unit.h"
#include "common/runtime/lifecycle.h"
#include "common/store/blob.h"
#include "common/store/container_record.h"
#include "common/store/layout.h"
#include "common/util/units.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MS (1000000LL)

enum child_kind {
	CHILD_PLAIN,       /* default dispositions: SIGTERM ends it */
	CHILD_IGNORE_TERM, /* needs SIGKILL */
};

static pid_t child_start(enum child_kind kind)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (kind == CHILD_IGNORE_TERM)
			signal(SIGTERM, SIG_IGN);
		close(p[0]);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1); /* its dispositions are set */
	close(p[0]);
	return pid;
}

/* The signal that ended the child, or 0 when it is still running (then it is killed). */
static int child_end(pid_t pid)
{
	int status = 0;

	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return 0;
	}
	return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

static void make_container(struct unit_env *u, const char *name, pid_t pid, uint64_t start,
                           enum units_status status)
{
	struct container_doc c = {0};
	struct container_state st = {0};
	struct err e = ERR_INIT;

	u->ctx.path.cgroup = u->dir; /* no cgroup mount: never the host's */
	memcpy(c.id, ID, 65);
	c.name = (char *)name;
	c.image = (char *)"busybox";
	c.created_ns = unit_fixed_now();
	assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	st.status = status;
	st.pid = pid;
	st.pid_start_time = start;
	st.started_ns = unit_fixed_now();
	assert_int_equal(container_state_save(&u->ctx, ID, &st, &e), 0);
}

static struct unit_env *env_with_child(enum child_kind kind, pid_t *pid)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;
	uint64_t start = 0;

	assert_int_equal(store_init(&u->ctx, &e), 0);
	*pid = child_start(kind);
	assert_int_equal(rt_proc_start_time(&u->ctx, *pid, &start, &e), 0);
	make_container(u, "web", *pid, start, STATUS_RUNNING);
	return u;
}

static void assert_exited(struct unit_env *u, int code)
{
	struct container_state st = {0};
	struct err e = ERR_INIT;

	assert_int_equal(container_state_load(&u->ctx, ID, &st, &e), 0);
	assert_int_equal(st.status, STATUS_STOPPED);
	assert_int_equal(st.exit_code, code);
	assert_true(st.finished_ns > 0);
}

static void test_signal_parse(void **state)
{
	static const struct {
		const char *in;
		int sig;
	} ok[] = {{"KILL", SIGKILL}, {"SIGKILL", SIGKILL}, {"kill", SIGKILL},   {"9", SIGKILL},
	          {"TERM", SIGTERM}, {"sigterm", SIGTERM}, {"15", SIGTERM},     {"HUP", SIGHUP},
	          {"USR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"WINCH", SIGWINCH}, {"1", 1},
	          {"064", 64},       {"RTMAX", 64},        {"SIGRTMAX-1", 63}};
	static const char *const bad[] = {
	    "",         "0",       "65", "999", "1000",
	    "NOPE",     "SIG",     "-9", "9x",  "KILLKILLKILLKILLKILL",
	    "RTMIN+99", "RTMAX-99"};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct err e = ERR_INIT;
		int sig = -1;

		assert_int_equal(rt_signal_parse(ok[i].in, &sig, &e), 0);
		assert_int_equal(sig, ok[i].sig);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct err e = ERR_INIT;
		int sig = -1;
		char want[64];

		assert_int_equal(rt_signal_parse(bad[i], &sig, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		snprintf(want, sizeof(want), "signal \"%s\": unknown", bad[i]);
		assert_string_equal(e.msg, want);
		assert_int_equal(sig, -1);
	}
	{
		struct err e = ERR_INIT;
		int sig = -1;

		assert_int_equal(rt_signal_parse("RTMIN+2", &sig, &e), 0);
		assert_int_equal(sig, SIGRTMIN + 2);
	}
}

static void test_proc_start_time(void **state)
{
	struct unit_env *u = unit_env_new();
	char *stat = NULL, *p;
	size_t len = 0;
	uint64_t got = 0, want;
	struct err e = ERR_INIT;
	pid_t pid;

	(void)state;
	assert_int_equal(fs_read_file("/proc/self/stat", 4096, &stat, &len, &e), 0);
	p = strrchr(stat, ')') + 2;
	for (int f = 3; f < 22; f++)
		p = strchr(p, ' ') + 1;
	want = strtoull(p, NULL, 10);
	free(stat);
	assert_int_equal(rt_proc_start_time(&u->ctx, getpid(), &got, &e), 0);
	assert_int_equal(got, want);
	assert_int_equal(rt_proc_start_time(&u->ctx, 0, &got, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	/* A zombie is not running. */
	pid = fork();
	if (pid == 0)
		_exit(0);
	usleep(100000);
	err_clear(&e);
	assert_int_equal(rt_proc_start_time(&u->ctx, pid, &got, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	waitpid(pid, NULL, 0);
	err_clear(&e);
	assert_int_equal(rt_proc_start_time(&u->ctx, pid, &got, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	unit_env_free(u);
}

static void test_stop_term(void **state)
{
	pid_t pid;
	struct unit_env *u = env_with_child(CHILD_PLAIN, &pid);
	struct err e = ERR_INIT;
	int64_t t0 = ctx_clock_monotonic();

	(void)state;
	assert_int_equal(rt_stop(&u->ctx, "web", 5000 * MS, &e), 0);
	assert_true(ctx_clock_monotonic() - t0 < 2000 * MS);
	assert_int_equal(child_end(pid), SIGTERM);
	assert_exited(u, 255); /* no shim saw the exit */
	/* Stopping a stopped container is success, and changes nothing. */
	assert_int_equal(rt_stop(&u->ctx, "web", 5000 * MS, &e), 0);
	assert_exited(u, 255);
	unit_env_free(u);
}

static void test_stop_escalates(void **state)
{
	pid_t pid;
	struct unit_env *u = env_with_child(CHILD_IGNORE_TERM, &pid);
	struct err e = ERR_INIT;
	int64_t t0 = ctx_clock_monotonic(), took;

	(void)state;
	assert_int_equal(rt_stop(&u->ctx, ID, 300 * MS, &e), 0);
	took = ctx_clock_monotonic() - t0;
	assert_true(took >= 300 * MS);
	assert_true(took < 3000 * MS);
	assert_int_equal(child_end(pid), SIGKILL);
	assert_exited(u, 255);
	unit_env_free(u);
}

/* Commits a blob and returns its "sha256:..." (caller frees). */
static char *put_blob(struct unit_env *u, const char *content)
{
	struct digest d;
	struct err e = ERR_INIT;
	char s[DIGEST_STR_LEN];

	digest_of(content, strlen(content), &d);
	assert_int_equal(blob_put(&u->ctx, &d, content, strlen(content), &e), 0);
	digest_format(&d, s);
	return xstrdup(s);
}

static void test_stop_signal_from_image(void **state)
{
	pid_t pid;
	struct unit_env *u = env_with_child(CHILD_IGNORE_TERM, &pid);
	struct container_doc c = {0};
	struct err e = ERR_INIT;
	cleanup_free char *cfg =
	    put_blob(u, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"StopSignal\":"
	                "\"SIGUSR1\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
	cleanup_free char *manifest = NULL;
	cleanup_free char *mtext = xasprintf(
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
	    "\"%s\",\"size\":%zu},\"layers\":[]}",
	    cfg, (size_t)0);
	int64_t t0 = ctx_clock_monotonic();

	(void)state;
	manifest = put_blob(u, mtext);
	assert_int_equal(container_doc_load(&u->ctx, ID, &c, &e), 0);
	c.image_digest = xstrdup(manifest);
	assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	container_doc_release(&c);
	/* SIGTERM is ignored by this init; the image's SIGUSR1 ends it well before the timeout. */
	assert_int_equal(rt_stop(&u->ctx, "web", 5000 * MS, &e), 0);
	assert_true(ctx_clock_monotonic() - t0 < 2000 * MS);
	assert_int_equal(child_end(pid), SIGUSR1);
	unit_env_free(u);
}

static void test_stop_all_in_parallel(void **state)
{
	struct unit_env *u = unit_env_new();
	static const char *const names[] = {"a", "b", "c", "nosuch"};
	char ids[3][65];
	pid_t pids[3];
	struct err errs[4] = {ERR_INIT, ERR_INIT, ERR_INIT, ERR_INIT};
	char *args[4];
	struct err e = ERR_INIT;
	int64_t t0, took;

	(void)state;
	u->ctx.path.cgroup = u->dir;
	for (int i = 0; i < 3; i++) {
		struct container_doc c = {0};
		struct container_state st = {.status = STATUS_RUNNING};

		snprintf(ids[i], sizeof(ids[i]), "%064x", i + 1);
		memcpy(c.id, ids[i], 65);
		c.name = (char *)names[i];
		assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
		pids[i] = child_start(CHILD_IGNORE_TERM);
		st.pid = pids[i];
		assert_int_equal(rt_proc_start_time(&u->ctx, pids[i], &st.pid_start_time, &e), 0);
		assert_int_equal(container_state_save(&u->ctx, ids[i], &st, &e), 0);
	}
	for (int i = 0; i < 4; i++)
		args[i] = (char *)names[i];
	t0 = ctx_clock_monotonic();
	assert_int_equal(rt_stop_all(&u->ctx, args, 4, 400 * MS, errs), 1);
	took = ctx_clock_monotonic() - t0;
	/* Three timeouts in sequence would be 1.2 s. */
	assert_true(took >= 400 * MS);
	assert_true(took < 1000 * MS);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(errs[i].code, E_OK);
		assert_int_equal(child_end(pids[i]), SIGKILL);
	}
	assert_int_equal(errs[3].code, E_NOTFOUND);
	assert_string_equal(errs[3].msg, "nosuch: no such container");
	unit_env_free(u);
}

static void test_reused_pid_never_signalled(void **state)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;
	uint64_t start = 0;
	pid_t pid = child_start(CHILD_PLAIN);

	(void)state;
	assert_int_equal(rt_proc_start_time(&u->ctx, pid, &start, &e), 0);
	/* state.json names the PID, but a process started at another time. */
	make_container(u, "web", pid, start + 1, STATUS_RUNNING);
	assert_int_equal(rt_kill(&u->ctx, "web", SIGKILL, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_string_equal(e.msg, "web: container is not running");
	assert_int_equal(rt_stop(&u->ctx, "web", 100 * MS, &e), 0);
	assert_exited(u, 255);
	assert_int_equal(rt_remove(&u->ctx, "web", true, &e), 0);
	assert_int_equal(child_end(pid), 0); /* still running: nobody signalled it */
	unit_env_free(u);
}

static void test_kill(void **state)
{
	pid_t pid;
	struct unit_env *u = env_with_child(CHILD_PLAIN, &pid);
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(rt_kill(&u->ctx, "0123", SIGUSR1, &e), 0);
	usleep(100000);
	assert_int_equal(child_end(pid), SIGUSR1);
	assert_int_equal(rt_kill(&u->ctx, "web", SIGKILL, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_string_equal(e.msg, "web: container is not running");
	err_clear(&e);
	assert_int_equal(rt_kill(&u->ctx, "nosuch", SIGKILL, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_string_equal(e.msg, "nosuch: no such container");
	unit_env_free(u);
}

static void test_remove(void **state)
{
	pid_t pid;
	struct unit_env *u = env_with_child(CHILD_IGNORE_TERM, &pid);
	cleanup_free char *dir = xasprintf("%s/containers/%s", u->root, ID);
	cleanup_free char *sdir = xasprintf("%s/containers/%s", u->state, ID);
	cleanup_free char *outside = xasprintf("%s/outside", u->dir);
	cleanup_free char *upper = xasprintf("%s/upper/etc", dir);
	cleanup_free char *link = xasprintf("%s/upper/escape", dir);
	cleanup_free char *cg = xasprintf("%s/cgroup", u->dir);
	cleanup_free char *cg1 = xasprintf("%s/memory/ctrbox/%s", cg, ID);
	cleanup_free char *cg2 = xasprintf("%s/pids/ctrbox/%s", cg, ID);
	cleanup_free char *cgother = xasprintf("%s/memory/ctrbox/other", cg);
	cleanup_free char *journal = NULL;
	cleanup_free char *jpath = xasprintf("%s/events/journal.jsonl", u->root);
	struct err e = ERR_INIT;
	size_t len;

	(void)state;
	u->ctx.path.cgroup = cg;
	assert_int_equal(fs_mkdir_p(upper, 0755, &e), 0);
	assert_int_equal(fs_mkdir_p(outside, 0755, &e), 0);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(fs_mkdir_p(cg1, 0755, &e), 0);
	assert_int_equal(fs_mkdir_p(cg2, 0755, &e), 0);
	assert_int_equal(fs_mkdir_p(cgother, 0755, &e), 0);

	assert_int_equal(rt_remove(&u->ctx, "web", false, &e), -1);
	assert_int_equal(e.code, E_BUSY);
	assert_string_equal(e.msg, "web: container is running: stop it first, or use rm -f");
	assert_true(fs_exists(dir));
	assert_int_equal(rt_remove(&u->ctx, "web", true, &e), 0);
	assert_int_equal(child_end(pid), SIGKILL);
	assert_false(fs_exists(dir));
	assert_false(fs_exists(sdir));
	assert_true(fs_exists(outside)); /* the symlink was removed, not followed */
	assert_false(fs_exists(cg1));
	assert_false(fs_exists(cg2));
	assert_true(fs_exists(cgother));
	assert_int_equal(fs_read_file(jpath, 1 << 20, &journal, &len, &e), 0);
	assert_non_null(strstr(journal, "\"Removed\""));
	assert_int_equal(rt_remove(&u->ctx, "web", false, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	unit_env_free(u);
}

static void test_remove_stopped_without_state(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *sfile = xasprintf("%s/containers/%s/state.json", u->state, ID);
	struct err e = ERR_INIT;

	(void)state;
	make_container(u, NULL, 0, 0, STATUS_STOPPED);
	assert_int_equal(unlink(sfile), 0); /* STATE is gone after a reboot */
	assert_int_equal(rt_stop(&u->ctx, ID, 100 * MS, &e), 0);
	assert_int_equal(rt_remove(&u->ctx, "0", false, &e), 0);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signal_parse),
	    cmocka_unit_test(test_proc_start_time),
	    cmocka_unit_test(test_stop_term),
	    cmocka_unit_test(test_stop_escalates),
	    cmocka_unit_test(test_stop_signal_from_image),
	    cmocka_unit_test(test_stop_all_in_parallel),
	    cmocka_unit_test(test_reused_pid_never_signalled),
	    cmocka_unit_test(test_kill),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_remove_stopped_without_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
