/* tests/unit/test_lock.c - per-object locks under contention (common/store/lock.h): readers
 * never wait, writers wait as told (DESIGN.md "The metadata layer on disk") */
#include <sys/wait.h>
#include <time.h>

#include "tests/unit/unit.h"
#include "common/store/container_record.h"
#include "common/store/doc.h"
#include "common/store/layout.h"
#include "common/store/lock.h"

static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child that holds lockpath for hold_ms; returns once the lock is held. */
static pid_t hold_lock(const char *lockpath, int hold_ms)
{
	int fds[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct lock l = LOCK_INIT;
		struct err e = ERR_INIT;
		struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};

		close(fds[0]);
		if (lock_take(lockpath, 0, &l, &e) < 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		nanosleep(&ts, NULL);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static void test_contention(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *dir = NULL, *lockpath = NULL, *sdir = NULL, *spath = NULL;
	struct container_state s = {.status = STATUS_RUNNING, .pid = 42, .exit_code = 0};
	struct container_state back;
	struct json_object *o = NULL;
	struct lock l = LOCK_INIT;
	struct err e = ERR_INIT;
	int64_t t0, t;
	int status;
	pid_t pid;
	(void)state;

	assert_int_equal(store_init(&u->ctx, &e), 0);
	assert_int_equal(container_state_save(&u->ctx, id, &s, &e), 0);
	dir = store_container_dir(&u->ctx, id);
	lockpath = path_join(dir, "lock");
	sdir = store_container_state_dir(&u->ctx, id);
	spath = path_join(sdir, "state.json");

	pid = hold_lock(lockpath, 1000);

	/* readers never lock */
	t0 = mono_ms();
	assert_int_equal(container_state_load(&u->ctx, id, &back, &e), 0);
	assert_int_equal(doc_read(spath, &o, &e), 0);
	json_object_put(o);
	assert_true(mono_ms() - t0 < 100);
	assert_int_equal(back.pid, 42);

	/* timeout 0: busy at once */
	t0 = mono_ms();
	assert_int_equal(lock_take(lockpath, 0, &l, &e), -1);
	assert_int_equal(e.code, E_BUSY);
	assert_non_null(strstr(e.msg, lockpath));
	assert_true(mono_ms() - t0 < 50);
	assert_int_equal(l.fd, -1);

	/* 200 ms: busy after at least 200 ms */
	err_clear(&e);
	t0 = mono_ms();
	assert_int_equal(lock_take(lockpath, 200LL * 1000000, &l, &e), -1);
	t = mono_ms() - t0;
	assert_int_equal(e.code, E_BUSY);
	assert_true(t >= 200);
	assert_true(t < 600);

	/* unbounded: succeeds once the child exits */
	err_clear(&e);
	assert_int_equal(lock_take(lockpath, -1, &l, &e), 0);
	assert_true(l.fd >= 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	lock_release(&l);
	assert_int_equal(l.fd, -1);
	lock_release(&l); /* safe twice */

	/* free again: a bounded take succeeds at once */
	assert_int_equal(lock_take(lockpath, 200LL * 1000000, &l, &e), 0);
	lock_release(&l);
	unit_env_free(u);
}

static void test_symlink_refused(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *target = path_join(u->dir, "target");
	cleanup_free char *link = path_join(u->dir, "link");
	struct lock l = LOCK_INIT;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(lock_take(link, 0, &l, &e), -1);
	assert_false(fs_exists(target));
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contention),
	    cmocka_unit_test(test_symlink_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
