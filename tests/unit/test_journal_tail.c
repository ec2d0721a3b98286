/* tests/unit/test_journal_tail.c - following the journal: concurrent writers across many
 * rotations are seen exactly once and in order, a position resumes exactly, a vanished file
 * restarts from the oldest, partial lines wait for their newline (issue 7 --follow, --sink) */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/unit.h"
#include "common/store/event.h"
#include "common/store/journal.h"
#include "common/store/journal_tail.h"
#include "common/store/layout.h"
#include "common/util/units.h"

#define WRITERS    4
#define PER_WRITER 1500

static void append(struct unit_env *u, int writer, int seq)
{
	struct err e = ERR_INIT;
	char id[16], msg[16];
	struct event ev = {.time_ns = unit_fixed_now(), .reason = "Tested", .source = "unit"};

	snprintf(id, sizeof(id), "%d", writer);
	snprintf(msg, sizeof(msg), "%d", seq);
	ev.object.id = id;
	ev.message = msg;
	if (journal_append(&u->ctx, &ev, &e) < 0) {
		fprintf(stderr, "append: %s\n", e.msg);
		_exit(1);
	}
}

/* Reads everything available now into seen (writer, seq) and checks the order per writer. */
static int drain(struct journal_tail *t, int *last, unsigned char *seen)
{
	struct err e = ERR_INIT;
	struct event ev = {0};
	int r, got = 0;

	while ((r = journal_tail_next(t, &ev, &e)) > 0) {
		int w = atoi(ev.object.id), s = atoi(ev.message);

		assert_true(w >= 0 && w < WRITERS && s >= 0 && s < PER_WRITER);
		if (seen[w * PER_WRITER + s])
			fail_msg("writer %d line %d read twice", w, s);
		if (s <= last[w])
			fail_msg("writer %d line %d after %d", w, s, last[w]);
		seen[w * PER_WRITER + s] = 1;
		last[w] = s;
		got++;
		event_release(&ev);
	}
	if (r < 0)
		fail_msg("tail: %s", e.msg);
	return got;
}

static void test_concurrent_writers_across_rotation(void **state)
{
	struct unit_env *u = unit_env_new();
	struct journal_tail *t = NULL;
	struct err e = ERR_INIT;
	cleanup_free unsigned char *seen = xcalloc(WRITERS * PER_WRITER, 1);
	int last[WRITERS], got = 0, status, running = WRITERS;
	int64_t deadline = ctx_clock_monotonic() + 120 * NSEC_PER_SEC;
	pid_t pids[WRITERS];
	(void)state;

	u->cfg.events.rotate_bytes = 4096;
	u->cfg.events.max_bytes = 1LL << 40;
	for (int w = 0; w < WRITERS; w++)
		last[w] = -1;
	assert_int_equal(journal_tail_open(&u->ctx, JOURNAL_TAIL_END, JOURNAL_TAIL_WATCH, &t, &e), 0);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			for (int s = 0; s < PER_WRITER; s++)
				append(u, w, s);
			_exit(0);
		}
	}
	while (got < WRITERS * PER_WRITER && ctx_clock_monotonic() < deadline) {
		got += drain(t, last, seen);
		if (running && waitpid(-1, &status, WNOHANG) > 0) {
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			running--;
			continue;
		}
		if (got < WRITERS * PER_WRITER &&
		    journal_tail_wait(t, 100 * NSEC_PER_MSEC, NULL, &e) < 0)
			fail_msg("wait: %s", e.msg);
	}
	while (running-- > 0)
		wait(&status);
	assert_int_equal(got, WRITERS * PER_WRITER);
	assert_int_equal(journal_tail_skipped(t), 0);
	journal_tail_free(t);
	unit_env_free(u);
}

/* journal_tail_next, waiting (bounded) while it says "nothing now". */
static int next_wait(struct journal_tail *t, struct event *ev)
{
	struct err e = ERR_INIT;
	int64_t deadline = ctx_clock_monotonic() + 5 * NSEC_PER_SEC;
	int r;

	while ((r = journal_tail_next(t, ev, &e)) == 0 && ctx_clock_monotonic() < deadline)
		assert_true(journal_tail_wait(t, 100 * NSEC_PER_MSEC, NULL, &e) >= 0);
	return r;
}

static void test_resume_at_position(void **state)
{
	struct unit_env *u = unit_env_new();
	struct journal_tail *t = NULL;
	struct journal_pos pos, end;
	struct err e = ERR_INIT;
	struct event ev = {0};
	bool resumed = false;
	(void)state;

	for (int s = 0; s < 10; s++)
		append(u, 0, s);
	assert_int_equal(journal_rotate(&u->ctx, &e), 0);
	for (int s = 10; s < 20; s++)
		append(u, 0, s);
	assert_int_equal(journal_tail_open(&u->ctx, JOURNAL_TAIL_OLDEST, JOURNAL_TAIL_WATCH, &t, &e),
	                 0);
	for (int s = 0; s < 13; s++) {
		assert_int_equal(next_wait(t, &ev), 1);
		assert_int_equal(atoi(ev.message), s);
		event_release(&ev);
	}
	journal_tail_pos(t, &pos);
	journal_tail_free(t);

	/* resumed: exactly the 7 after it, then nothing */
	assert_int_equal(journal_tail_open_at(&u->ctx, &pos, JOURNAL_TAIL_WATCH, &resumed, &t, &e),
	                 0);
	assert_true(resumed);
	for (int s = 13; s < 20; s++) {
		assert_int_equal(next_wait(t, &ev), 1);
		assert_int_equal(atoi(ev.message), s);
		event_release(&ev);
	}
	assert_int_equal(journal_tail_next(t, &ev, &e), 0);
	journal_tail_pos(t, &end);
	journal_tail_free(t);

	/* a position inside a line is not trusted (an inode reused): from the oldest */
	end.offset -= 3;
	assert_int_equal(journal_tail_open_at(&u->ctx, &end, JOURNAL_TAIL_WATCH, &resumed, &t, &e),
	                 0);
	assert_false(resumed);
	assert_int_equal(journal_tail_next(t, &ev, &e), 1);
	assert_int_equal(atoi(ev.message), 0);
	event_release(&ev);
	journal_tail_free(t);

	/* a file that is gone: from the oldest */
	pos.ino = 1;
	assert_int_equal(journal_tail_open_at(&u->ctx, &pos, JOURNAL_TAIL_WATCH, &resumed, &t, &e),
	                 0);
	assert_false(resumed);
	assert_int_equal(journal_tail_next(t, &ev, &e), 1);
	assert_int_equal(atoi(ev.message), 0);
	event_release(&ev);
	journal_tail_free(t);
	unit_env_free(u);
}

static void test_partial_line_waits(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *dir = store_events_dir(&u->ctx);
	cleanup_free char *path = path_join(dir, "journal.jsonl");
	struct journal_tail *t = NULL;
	struct journal_pos pos;
	struct err e = ERR_INIT;
	struct event ev = {0};
	struct buf line = BUF_INIT;
	struct event src = {.time_ns = unit_fixed_now(), .reason = "Tested", .source = "unit",
	                    .message = "whole"};
	int fd;
	(void)state;

	assert_int_equal(journal_tail_open(&u->ctx, JOURNAL_TAIL_END, JOURNAL_TAIL_WATCH, &t, &e), 0);
	assert_int_equal(event_format(&src, &line, &e), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, line.data, 10), 10);
	assert_int_equal(journal_tail_next(t, &ev, &e), 0);
	journal_tail_pos(t, &pos);
	assert_int_equal(pos.offset, 0);
	/* the wait sees the change */
	assert_int_equal(write(fd, line.data + 10, line.len - 10), (ssize_t)(line.len - 10));
	assert_int_equal(journal_tail_wait(t, NSEC_PER_SEC, NULL, &e), 1);
	assert_int_equal(journal_tail_next(t, &ev, &e), 1);
	assert_string_equal(ev.message, "whole");
	event_release(&ev);
	journal_tail_pos(t, &pos);
	assert_int_equal(pos.offset, (int64_t)line.len);
	/* garbage is skipped and counted, and the position moves past it */
	assert_int_equal(write(fd, "not json\n", 9), 9);
	assert_int_equal(journal_tail_next(t, &ev, &e), 0);
	assert_int_equal(journal_tail_skipped(t), 1);
	journal_tail_pos(t, &pos);
	assert_int_equal(pos.offset, (int64_t)line.len + 9);
	/* once the pending change is consumed, nothing happens: the wait times out */
	assert_int_equal(journal_tail_wait(t, 0, NULL, &e), 1);
	assert_int_equal(journal_tail_wait(t, 50 * NSEC_PER_MSEC, NULL, &e), 0);
	close(fd);
	buf_release(&line);
	journal_tail_free(t);
	unit_env_free(u);
}

static void test_rotation_waits_for_the_old_file_to_be_quiet(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *dir = store_events_dir(&u->ctx);
	cleanup_free char *active = path_join(dir, "journal.jsonl");
	cleanup_free char *rotated = path_join(dir, "journal.jsonl.00000001");
	struct journal_tail *t = NULL;
	struct err e = ERR_INIT;
	struct event ev = {0};
	int fd, r, order[3], n = 0;
	int64_t deadline = ctx_clock_monotonic() + 5 * NSEC_PER_SEC;
	(void)state;

	append(u, 0, 0);
	assert_int_equal(journal_tail_open(&u->ctx, JOURNAL_TAIL_OLDEST, JOURNAL_TAIL_WATCH, &t, &e),
	                 0);
	assert_int_equal(journal_tail_next(t, &ev, &e), 1);
	event_release(&ev);
	/* a writer opened the active file, a rotation renamed it, a new file got a line, and only
	 * then did the first writer write: its line must still be read, before the new file's */
	fd = open(active, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(rename(active, rotated), 0);
	append(u, 0, 2);
	assert_int_equal(journal_tail_next(t, &ev, &e), 0);
	{
		struct buf line = BUF_INIT;
		struct event late = {.time_ns = unit_fixed_now(), .reason = "Tested",
		                     .source = "unit", .message = "1", .object = {.id = "0"}};

		assert_int_equal(event_format(&late, &line, &e), 0);
		assert_int_equal(write(fd, line.data, line.len), (ssize_t)line.len);
		buf_release(&line);
	}
	close(fd);
	while (n < 2 && ctx_clock_monotonic() < deadline) {
		r = journal_tail_next(t, &ev, &e);
		assert_true(r >= 0);
		if (r == 0) {
			assert_true(journal_tail_wait(t, NSEC_PER_SEC, NULL, &e) >= 0);
			continue;
		}
		order[n++] = atoi(ev.message);
		event_release(&ev);
	}
	assert_int_equal(n, 2);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	journal_tail_free(t);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_writers_across_rotation),
	    cmocka_unit_test(test_resume_at_position),
	    cmocka_unit_test(test_partial_line_waits),
	    cmocka_unit_test(test_rotation_waits_for_the_old_file_to_be_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
