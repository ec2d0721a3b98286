/* tests/unit/test_blob.c - the blob store (DESIGN.md "Content is the truth"): nothing is committed
 * unless size and digest match, an ingest resumes after a close or a killed writer, and two
 * processes ingesting one digest download it once */
#include <sys/wait.h>

#include "tests/unit/unit.h"
#include "common/store/blob.h"
#include "common/store/digest.h"
#include "common/store/layout.h"
#include "common/util/units.h"

static const char *content = "the quick brown fox jumps over the lazy dog, twice over";

static struct unit_env *store_env(void)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;

	assert_int_equal(store_init(&u->ctx, &e), 0);
	return u;
}

static bool ingest_partial_exists(struct unit_env *u, const struct digest *d)
{
	cleanup_free char *p = store_ingest_path(&u->ctx, d->hex);

	return fs_exists(p);
}

static void test_mismatch_commits_nothing(void **state)
{
	struct unit_env *u = store_env();
	size_t len = strlen(content);
	struct digest d;
	struct ingest ing;
	struct err e = ERR_INIT;
	int64_t size;
	(void)state;
	digest_of(content, len, &d);
	/* Wrong content of the right size. */
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	assert_int_equal(ingest_write(&ing, content, len - 1, &e), 0);
	assert_int_equal(ingest_write(&ing, "X", 1, &e), 0);
	assert_int_equal(ingest_commit(&ing, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	assert_non_null(strstr(e.msg, "digest mismatch: got sha256:"));
	assert_int_equal(blob_stat(&u->ctx, &d, &size, &e), -1);
	assert_false(ingest_partial_exists(u, &d));
	/* Short content. */
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	assert_int_equal(ingest_write(&ing, content, 5, &e), 0);
	assert_int_equal(ingest_commit(&ing, &e), -1);
	assert_non_null(strstr(e.msg, "size mismatch: got 5 bytes"));
	assert_int_equal(blob_stat(&u->ctx, &d, &size, &e), -1);
	/* Too much content is refused as it arrives. */
	assert_int_equal(ingest_open(&u->ctx, &d, 3, 0, &ing, &e), 0);
	assert_int_equal(ingest_write(&ing, content, 4, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	ingest_abort(&ing);
	assert_false(ingest_partial_exists(u, &d));
	/* blob_put verifies too. */
	assert_int_equal(blob_put(&u->ctx, &d, "nope", 4, &e), -1);
	assert_int_equal(blob_put(&u->ctx, &d, content, len, &e), 0);
	assert_int_equal(blob_stat(&u->ctx, &d, &size, &e), 0);
	assert_int_equal(size, (int64_t)len);
	assert_int_equal(blob_put(&u->ctx, &d, content, len, &e), 0); /* already there */
	/* A committed blob that rotted on disk is refused when read. */
	{
		cleanup_free char *p = store_blob_path(&u->ctx, d.hex);
		cleanup_free char *back = NULL;
		size_t blen;

		assert_int_equal(fs_write_atomic(p, "rotten", 6, 0600, 0, &e), 0);
		assert_int_equal(blob_read(&u->ctx, &d, 1024, &back, &blen, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_null(back);
		assert_int_equal(blob_remove(&u->ctx, &d, &e), 0);
		assert_int_equal(blob_remove(&u->ctx, &d, &e), 0);
	}
	unit_env_free(u);
}

static void test_resume(void **state)
{
	struct unit_env *u = store_env();
	size_t len = strlen(content), half = len / 2;
	struct digest d;
	struct ingest ing;
	struct err e = ERR_INIT;
	cleanup_free char *back = NULL;
	size_t blen;
	int status;
	pid_t pid;
	(void)state;
	digest_of(content, len, &d);
	/* Closed half way, resumed. */
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	assert_int_equal(ingest_write(&ing, content, half, &e), 0);
	ingest_close(&ing);
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	assert_int_equal(ing.offset, (int64_t)half);
	/* A server that ignores Range: start again from zero. */
	assert_int_equal(ingest_restart(&ing, &e), 0);
	assert_int_equal(ing.offset, 0);
	assert_int_equal(ingest_write(&ing, content, half, &e), 0);
	ingest_close(&ing);
	/* A writer killed half way (no close, no cleanup): the next run resumes its bytes. */
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	ingest_close(&ing);
	pid = fork();
	if (pid == 0) {
		struct ingest k;

		if (ingest_open(&u->ctx, &d, (int64_t)len, 0, &k, &e) < 0 ||
		    ingest_write(&k, content + half, 3, &e) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	assert_int_equal(ing.offset, (int64_t)half + 3);
	assert_int_equal(ingest_write(&ing, content + half + 3, len - half - 3, &e), 0);
	assert_int_equal(ingest_commit(&ing, &e), 0);
	assert_int_equal(blob_read(&u->ctx, &d, 1024, &back, &blen, &e), 0);
	assert_memory_equal(back, content, len);
	assert_false(ingest_partial_exists(u, &d));
	/* A partial longer than the expected size is discarded on open. */
	digest_of("ab", 2, &d);
	assert_int_equal(ingest_open(&u->ctx, &d, -1, 0, &ing, &e), 0);
	assert_int_equal(ingest_write(&ing, "abcdef", 6, &e), 0);
	ingest_close(&ing);
	assert_int_equal(ingest_open(&u->ctx, &d, 2, 0, &ing, &e), 0);
	assert_int_equal(ing.offset, 0);
	ingest_abort(&ing);
	unit_env_free(u);
}

static void test_two_processes_one_download(void **state)
{
	struct unit_env *u = store_env();
	size_t len = strlen(content);
	struct digest d;
	struct ingest ing;
	struct err e = ERR_INIT;
	int p[2], status;
	char c;
	pid_t pid;
	(void)state;
	digest_of(content, len, &d);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct ingest k;

		if (ingest_open(&u->ctx, &d, (int64_t)len, 0, &k, &e) < 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		usleep(300 * 1000);
		if (ingest_write(&k, content, len, &e) < 0 || ingest_commit(&k, &e) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	/* Try-once sees the first puller busy; waiting finds its blob committed. */
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), -1);
	assert_int_equal(e.code, E_BUSY);
	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 5LL * NSEC_PER_SEC, &ing, &e), -1);
	assert_int_equal(e.code, E_EXISTS);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unit_env_free(u);
}

/* The pipelined ingest: odd-sized writes across its buffers, a restart in the middle (a server
 * that ignored Range), a close and a resume, and a mismatch - each as the synchronous one. */
static void test_pipeline(void **state)
{
	struct unit_env *u = store_env();
	size_t len = (5u << 20) + 12345, i;
	cleanup_free char *data = xmalloc(len);
	cleanup_free char *back = NULL;
	struct digest d, bad;
	struct ingest ing;
	struct err e = ERR_INIT;
	size_t got = 0;
	(void)state;
	for (i = 0; i < len; i++)
		data[i] = (char)(i * 7 + i / 4096);
	digest_of(data, len, &d);

	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	ingest_pipeline(&ing);
	assert_int_equal(ingest_write(&ing, data, 777777, &e), 0);
	assert_int_equal(ingest_restart(&ing, &e), 0);
	for (i = 0; i < 3000000; i += 65537)
		assert_int_equal(ingest_write(&ing, data + i, i + 65537 > 3000000 ? 3000000 - i : 65537,
					      &e), 0);
	ingest_close(&ing);
	assert_true(ingest_partial_exists(u, &d));

	assert_int_equal(ingest_open(&u->ctx, &d, (int64_t)len, 0, &ing, &e), 0);
	assert_int_equal(ing.offset, 3000000);
	ingest_pipeline(&ing);
	assert_int_equal(ingest_write(&ing, data + 3000000, len - 3000000, &e), 0);
	assert_int_equal(ingest_commit(&ing, &e), 0);
	assert_int_equal(blob_read(&u->ctx, &d, len, &back, &got, &e), 0);
	assert_int_equal(got, len);
	assert_memory_equal(back, data, len);

	data[len / 2] ^= 1;
	digest_of(data, len, &bad);
	data[len / 2] ^= 1;
	assert_int_equal(ingest_open(&u->ctx, &bad, (int64_t)len, 0, &ing, &e), 0);
	ingest_pipeline(&ing);
	assert_int_equal(ingest_write(&ing, data, len, &e), 0);
	assert_int_equal(ingest_commit(&ing, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	assert_false(ingest_partial_exists(u, &bad));
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mismatch_commits_nothing),
	    cmocka_unit_test(test_resume),
	    cmocka_unit_test(test_two_processes_one_download),
	    cmocka_unit_test(test_pipeline),
	};
	return cmocka_run_group_tests_name("blob", tests, NULL, NULL);
}
