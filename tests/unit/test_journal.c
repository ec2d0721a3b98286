/* tests/unit/test_journal.c - the event journal: concurrent appends across rotations lose and
 * tear nothing; retention by size and age; a reader sees a rotation once (DESIGN.md lesson 4) */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/unit.h"
#include "common/store/event.h"
#include "common/store/journal.h"
#include "common/store/layout.h"
#include "common/util/buf.h"

#define WRITERS    8
#define PER_WRITER 2000

static int count_rotated(const char *root)
{
	int n = 0;

	for (int i = 1; i < 100000; i++) {
		cleanup_free char *p = xasprintf("%s/events/journal.jsonl.%08d", root, i);

		if (fs_exists(p))
			n++;
		else if (n)
			break;
	}
	return n;
}

static void append_one(struct unit_env *u, int writer, int seq)
{
	struct err e = ERR_INIT;
	char id[16], msg[16];
	struct event ev = {.time_ns = unit_fixed_now(), .reason = "Tested", .source = "unit"};

	snprintf(id, sizeof(id), "%d", writer);
	snprintf(msg, sizeof(msg), "%d", seq);
	ev.object.kind = OBJECT_NODE;
	ev.object.id = id;
	ev.message = msg;
	if (journal_append(&u->ctx, &ev, &e) < 0) {
		fprintf(stderr, "append: %s\n", e.msg);
		_exit(1);
	}
}

static void test_concurrent_appends_with_rotation(void **state)
{
	struct unit_env *u = unit_env_new();
	struct journal_reader *r = NULL;
	struct err e = ERR_INIT;
	struct event ev = {0};
	cleanup_free unsigned char *seen = xcalloc(WRITERS * PER_WRITER, 1);
	int got = 0, status;
	(void)state;
	u->cfg.events.rotate_bytes = 64 * 1024;
	u->cfg.events.max_bytes = 1LL << 40;
	assert_int_equal(store_init(&u->ctx, &e), 0);
	for (int w = 0; w < WRITERS; w++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < PER_WRITER; i++)
				append_one(u, w, i);
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_true(count_rotated(u->root) > 10);
	assert_int_equal(journal_reader_open(&u->ctx, &r, &e), 0);
	while (journal_next(r, &ev, &e) == 1) {
		int w = atoi(ev.object.id), i = atoi(ev.message);

		assert_true(w >= 0 && w < WRITERS && i >= 0 && i < PER_WRITER);
		assert_int_equal(seen[w * PER_WRITER + i], 0); /* exactly once */
		seen[w * PER_WRITER + i] = 1;
		got++;
		event_release(&ev);
	}
	assert_int_equal(journal_reader_skipped(r), 0);
	assert_int_equal(got, WRITERS * PER_WRITER);
	journal_reader_free(r);
	unit_env_free(u);
}

static void test_retention(void **state)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;
	cleanup_free char *oldest = NULL;
	struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
	(void)state;
	u->cfg.events.rotate_bytes = 4096;
	u->cfg.events.max_bytes = 1LL << 30;
	assert_int_equal(store_init(&u->ctx, &e), 0);
	for (int f = 0; f < 5; f++) {
		append_one(u, 0, f);
		assert_int_equal(journal_rotate(&u->ctx, &e), 0);
	}
	assert_int_equal(count_rotated(u->root), 5);
	/* By age: the first file is made old, then dropped at the next rotation. */
	oldest = xasprintf("%s/events/journal.jsonl.00000001", u->root);
	assert_int_equal(utimensat(AT_FDCWD, oldest, old, 0), 0);
	append_one(u, 0, 99);
	assert_int_equal(journal_rotate(&u->ctx, &e), 0);
	assert_false(fs_exists(oldest));
	/* By size: a limit of one line keeps at most the newest file or two. */
	u->cfg.events.max_bytes = 300;
	append_one(u, 0, 100);
	assert_int_equal(journal_rotate(&u->ctx, &e), 0);
	assert_true(count_rotated(u->root) <= 2);
	unit_env_free(u);
}

static void test_reader_sees_rotation_once(void **state)
{
	struct unit_env *u = unit_env_new();
	struct journal_reader *r = NULL;
	struct err e = ERR_INIT;
	struct event ev = {0};
	int got = 0;
	(void)state;
	assert_int_equal(store_init(&u->ctx, &e), 0);
	for (int i = 0; i < 10; i++)
		append_one(u, 1, i);
	assert_int_equal(journal_reader_open(&u->ctx, &r, &e), 0);
	assert_int_equal(journal_rotate(&u->ctx, &e), 0); /* after the reader opened */
	while (journal_next(r, &ev, &e) == 1) {
		assert_int_equal(atoi(ev.message), got);
		got++;
		event_release(&ev);
	}
	assert_int_equal(got, 10);
	journal_reader_free(r);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_appends_with_rotation),
	    cmocka_unit_test(test_retention),
	    cmocka_unit_test(test_reader_sees_rotation_once),
	};
	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
