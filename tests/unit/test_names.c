/* tests/unit/test_names.c - per-name lock files that rm unlinks (common/runtime/names.h): the
 * file goes with the name, and unlinking it while others wait never lets two processes hold
 * one name at once (each re-checks the locked file is the one linked at the path). */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/unit.h"
#include "common/runtime/names.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define WORKERS 4
#define ROUNDS  300

static void test_lock_and_forget(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = names_lock_path(&u->ctx, "web-1");
	struct lock l = LOCK_INIT, l2 = LOCK_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(names_lock(&u->ctx, "web-1", 0, &l, NULL, &e), 0);
	assert_true(fs_exists(path));
	/* Held: another taker (another descriptor) is refused, then gets it once released. */
	assert_int_equal(names_lock(&u->ctx, "web-1", 0, &l2, NULL, &e), -1);
	assert_int_equal(e.code, E_BUSY);
	err_clear(&e);
	lock_release(&l);
	assert_int_equal(names_forget(&u->ctx, "web-1", ID_A, 0, &e), 0);
	assert_false(fs_exists(path));
	assert_int_equal(names_forget(&u->ctx, "web-1", ID_A, 0, &e), 0); /* nothing to forget */
	assert_false(fs_exists(path));
	/* Forgetting a name someone holds waits for it, here not at all: busy, file kept. */
	assert_int_equal(names_lock(&u->ctx, "web-1", 0, &l, NULL, &e), 0);
	assert_int_equal(names_forget(&u->ctx, "web-1", ID_A, 0, &e), -1);
	assert_int_equal(e.code, E_BUSY);
	err_clear(&e);
	assert_true(fs_exists(path));
	names_unlock_remove(&u->ctx, "web-1", &l);
	assert_false(fs_exists(path));
	assert_int_equal(l.fd, -1);
	/* A name recorded for another container (one that took it once ours was gone) keeps
	 * its file; ours, or one with no owner recorded, goes. */
	assert_int_equal(names_lock(&u->ctx, "web-1", 0, &l, NULL, &e), 0);
	assert_int_equal(names_set_owner(&l, ID_B, &e), 0);
	lock_release(&l);
	assert_int_equal(names_forget(&u->ctx, "web-1", ID_A, 0, &e), 0);
	assert_true(fs_exists(path));
	assert_int_equal(names_forget(&u->ctx, "web-1", ID_B, 0, &e), 0);
	assert_false(fs_exists(path));
	/* Nothing outside the names directory. */
	assert_int_equal(names_forget(&u->ctx, "../x", ID_A, 0, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	err_clear(&e);
	assert_int_equal(names_lock(&u->ctx, ".hidden", 0, &l, NULL, &e), -1);
	unit_env_free(u);
}

/* The owner a name's file records: none in a fresh file (and the claim says it made it),
 * the ID once set, readable without the lock; a file made by someone else is not fresh. */
static void test_owner(void **state)
{
	static const char id[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct unit_env *u = unit_env_new();
	struct lock l = LOCK_INIT;
	struct err e = ERR_INIT;
	char got[65];
	bool fresh = false, exists = true;

	(void)state;
	assert_false(names_peek(&u->ctx, "db", &exists, got));
	assert_false(exists);
	assert_int_equal(names_lock(&u->ctx, "db", 0, &l, &fresh, &e), 0);
	assert_true(fresh);
	assert_false(names_owner(l.fd, got));
	assert_int_equal(names_set_owner(&l, id, &e), 0);
	assert_true(names_owner(l.fd, got));
	assert_string_equal(got, id);
	lock_release(&l);
	assert_true(names_peek(&u->ctx, "db", &exists, got));
	assert_true(exists);
	assert_string_equal(got, id);
	assert_int_equal(names_lock(&u->ctx, "db", 0, &l, &fresh, &e), 0);
	assert_false(fresh);
	names_unlock_remove(&u->ctx, "db", &l);
	assert_false(names_peek(&u->ctx, "db", &exists, got));
	assert_false(exists);
	unit_env_free(u);
}

/* Workers take the name, check nobody else is inside, stay a moment, and leave, half of the
 * time unlinking the file as rm does: any overlap is counted in shared memory. */
static void test_no_two_holders(void **state)
{
	struct unit_env *u = unit_env_new();
	int *shared =
	    mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[WORKERS];

	(void)state;
	assert_true(shared != MAP_FAILED);
	shared[0] = shared[1] = 0;
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] > 0)
			continue;
		for (int i = 0; i < ROUNDS; i++) {
			struct lock l = LOCK_INIT;
			struct err e = ERR_INIT;
			if (names_lock(&u->ctx, "busy", -1, &l, NULL, &e) < 0)
				_exit(2);
			if (__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST) != 1)
				__atomic_add_fetch(&shared[1], 1, __ATOMIC_SEQ_CST);
			usleep(50);
			__atomic_sub_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
			if ((i + w) % 2)
				names_unlock_remove(&u->ctx, "busy", &l);
			else
				lock_release(&l);
		}
		_exit(0);
	}
	for (int w = 0; w < WORKERS; w++) {
		int st = 0;
		assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(shared[1], 0);
	munmap(shared, 2 * sizeof(int));
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lock_and_forget),
	    cmocka_unit_test(test_no_two_holders),
	    cmocka_unit_test(test_owner),
	};
	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
