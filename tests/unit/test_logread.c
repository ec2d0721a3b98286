/* tests/unit/test_logread.c - reading container logs: rotated files in order, partial records
 * joined, --tail, --since, torn and foreign lines, and following a log a writer appends to and
 * rotates until the container exits (common/runtime/logread.h) */
#include <pthread.h>

#include "tests/unit/unit.h"
#include "common/runtime/crilog.h"
#include "common/runtime/lifecycle.h"
#include "common/runtime/logread.h"
#include "common/store/container_record.h"
#include "common/util/buf.h"

#define ID "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"
#define T0 1795000000000000000LL
#define S  1000000000LL

/* Collects lines as "o|e <time-offset-s> <msg>[$ if complete]\n". */
static int collect(void *arg, const struct logread_line *l, struct err *e)
{
	struct buf *b = arg;

	(void)e;
	buf_printf(b, "%c %lld %.*s%s\n", l->stream == CRILOG_STDOUT ? 'o' : 'e',
	           (long long)((l->time_ns - T0) / S), (int)l->len, l->msg, l->complete ? "$" : "");
	return 0;
}

static char *log_path(struct unit_env *u)
{
	cleanup_free char *dir = xasprintf("%s/containers/%s", u->root, ID);
	struct err e = ERR_INIT;

	assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);
	return path_join(dir, "log");
}

static void put(const char *path, const char *text)
{
	struct err e = ERR_INIT;

	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0600, 0, &e), 0);
}

static char *run(struct unit_env *u, int64_t tail, int64_t since)
{
	struct logread_opts o = {.tail = tail, .since_ns = since};
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	assert_int_equal(logread_run(&u->ctx, ID, &o, collect, &b, NULL, &e), 0);
	return b.data ? buf_take(&b) : xstrdup("");
}

#define REC(sec, stream, tag, msg) "2026-11-18T11:06:" #sec "Z " stream " " tag " " msg "\n"

static struct unit_env *rotated_env(void)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = log_path(u);
	cleanup_free char *p1 = xasprintf("%s.1", path);
	cleanup_free char *p2 = xasprintf("%s.2", path);

	/* T0 is 2026-11-18T11:06:40Z. */
	put(p2, REC(40, "stdout", "F", "one") REC(41, "stderr", "F", "two"));
	put(p1, REC(42, "stdout", "P", "thr") "not a record\n" REC(43, "stderr", "F", "four")
	            REC(44, "stdout", "P", "e"));
	put(path, REC(45, "stdout", "F", "e!") REC(46, "stdout", "F", "")
	              REC(47, "stderr", "F", "seven"));
	return u;
}

static void test_read_all(void **state)
{
	struct unit_env *u = rotated_env();
	cleanup_free char *got = run(u, -1, 0);

	(void)state;
	/* Partial records join across files, per stream; the foreign line is skipped. */
	assert_string_equal(got, "o 0 one$\n"
	                         "e 1 two$\n"
	                         "e 3 four$\n"
	                         "o 2 three!$\n"
	                         "o 6 $\n"
	                         "e 7 seven$\n");
	unit_env_free(u);
}

static void test_tail_and_since(void **state)
{
	struct unit_env *u = rotated_env();
	cleanup_free char *t2 = run(u, 2, 0);
	cleanup_free char *t0 = run(u, 0, 0);
	cleanup_free char *t99 = run(u, 99, 0);
	cleanup_free char *s3 = run(u, -1, T0 + 3 * S);
	cleanup_free char *s3t1 = run(u, 1, T0 + 3 * S);
	cleanup_free char *s99 = run(u, -1, T0 + 99 * S);

	(void)state;
	assert_string_equal(t2, "o 6 $\ne 7 seven$\n");
	assert_string_equal(t0, "");
	assert_string_equal(t99, "o 0 one$\ne 1 two$\ne 3 four$\no 2 three!$\no 6 $\ne 7 seven$\n");
	/* A joined line carries the time of its first record (42 < 43). */
	assert_string_equal(s3, "e 3 four$\no 6 $\ne 7 seven$\n");
	assert_string_equal(s3t1, "e 7 seven$\n");
	assert_string_equal(s99, "");
	unit_env_free(u);
}

static void test_missing_and_unfinished(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = log_path(u);
	cleanup_free char *none = run(u, -1, 0);
	cleanup_free char *got = NULL;

	(void)state;
	assert_string_equal(none, "");
	/* A log that ends inside a line (P last), and a record still being written. */
	put(path, REC(40, "stdout", "F", "a")
	              REC(41, "stdout", "P", "no newline") "2026-11-18T11:06:42Z stdout F torn");
	got = run(u, -1, 0);
	assert_string_equal(got, "o 0 a$\no 1 no newline\n");
	unit_env_free(u);
}

/* A container that is "running" as this test process, then exits: a writer appends through
 * crilog with a small rotation size, then records the exit. */
struct writer {
	struct unit_env *u;
	int lines;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	cleanup_free char *path = log_path(w->u);
	struct crilog *l = NULL;
	struct container_state st = {0};
	struct err e = ERR_INIT;
	char msg[64];

	usleep(100000); /* the reader is following by now */
	if (crilog_open(path, 300, 3, &l, &e) < 0)
		return NULL;
	for (int i = 0; i < w->lines; i++) {
		int n = snprintf(msg, sizeof(msg), "line %d%s", i, i % 7 == 3 ? "" : "\n");

		crilog_write(l, i % 2 ? CRILOG_STDERR : CRILOG_STDOUT, T0 + i * S, msg, (size_t)n,
		             &e);
		if (i % 10 == 0)
			usleep(2000);
	}
	crilog_write(l, CRILOG_STDOUT, T0, "unfinished", 10, &e);
	crilog_flush(l, T0, &e);
	crilog_close(l);
	st.status = STATUS_STOPPED;
	st.finished_ns = T0;
	container_state_save(&w->u->ctx, ID, &st, &e);
	return NULL;
}

static void test_follow(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = log_path(u);
	struct container_doc c = {0};
	struct container_state st = {0};
	struct logread_opts o = {.tail = 1, .follow = true};
	struct writer w = {u, 40};
	struct buf b = BUF_INIT, want = BUF_INIT;
	struct err e = ERR_INIT;
	pthread_t t;

	(void)state;
	memcpy(c.id, ID, 65);
	assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	st.status = STATUS_RUNNING;
	st.pid = getpid();
	assert_int_equal(rt_proc_start_time(&u->ctx, st.pid, &st.pid_start_time, &e), 0);
	assert_int_equal(container_state_save(&u->ctx, ID, &st, &e), 0);
	put(path, REC(30, "stdout", "F", "old") REC(31, "stdout", "F", "last before"));

	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	assert_int_equal(logread_run(&u->ctx, ID, &o, collect, &b, NULL, &e), 0);
	pthread_join(t, NULL);
	/* Every line, in order, though the log rotated many times past the 3 kept files. */
	buf_adds(&want, "o -9 last before$\n");
	for (int i = 0; i < w.lines; i++) {
		if (i % 7 == 3)
			continue; /* joined with the next line of the same stream */
		if (i % 7 == 5)   /* crilog completed the fragment: one F record */
			buf_printf(&want, "%c %d line %dline %d$\n", i % 2 ? 'e' : 'o', i, i - 2,
			           i);
		else
			buf_printf(&want, "%c %d line %d$\n", i % 2 ? 'e' : 'o', i, i);
	}
	buf_adds(&want, "o 0 line 38unfinished\n"); /* 38 % 7 == 3: still open at the exit */
	assert_string_equal(buf_str(&b), buf_str(&want));
	buf_release(&b);
	buf_release(&want);
	unit_env_free(u);
}

static void test_follow_exited(void **state)
{
	struct unit_env *u = rotated_env();
	struct logread_opts o = {.tail = 1, .follow = true};
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	struct container_doc c = {0};
	int64_t t0 = ctx_clock_monotonic();

	(void)state;
	/* No state.json (a reboot) and no container.json: nothing can write; it returns. */
	assert_int_equal(logread_run(&u->ctx, ID, &o, collect, &b, NULL, &e), 0);
	memcpy(c.id, ID, 65);
	assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	assert_int_equal(logread_run(&u->ctx, ID, &o, collect, &b, NULL, &e), 0);
	assert_string_equal(buf_str(&b), "e 7 seven$\ne 7 seven$\n");
	assert_true(ctx_clock_monotonic() - t0 < S);
	buf_release(&b);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_all),
	    cmocka_unit_test(test_tail_and_since),
	    cmocka_unit_test(test_missing_and_unfinished),
	    cmocka_unit_test(test_follow),
	    cmocka_unit_test(test_follow_exited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
