/* tests/unit/test_doc.c - atomic JSON documents (common/store/doc.h): round trip, missing and
 * corrupt documents, and no torn reads under concurrent writers (DESIGN.md "The metadata layer
 * on disk") */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/unit/unit.h"
#include "common/store/doc.h"
#include "common/util/jsonio.h"

#define WRITERS   6
#define READERS   3
#define MIN_READS 50

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t checksum(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* A document that can check itself: data of len bytes and its checksum. */
static struct json_object *payload(unsigned seed, size_t len)
{
	struct json_object *o = json_object_new_object();
	char *data = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		data[i] = (char)('a' + (seed + i * 7) % 26);
	data[len] = '\0';
	jsonio_set_int(o, "len", (int64_t)len);
	jsonio_set_int(o, "sum", (int64_t)(checksum(data, len) >> 1));
	jsonio_set_int(o, "writer", seed);
	jsonio_set_str(o, "data", data);
	free(data);
	return o;
}

static int self_check(struct json_object *o)
{
	struct err e = ERR_INIT;
	const char *data = NULL;
	int64_t len = -1, sum = -1;

	if (jsonio_get_int(o, "len", true, &len, &e) < 0 ||
	    jsonio_get_int(o, "sum", true, &sum, &e) < 0 ||
	    jsonio_get_str(o, "data", true, &data, &e) < 0)
		return -1;
	if ((int64_t)strlen(data) != len)
		return -1;
	return (int64_t)(checksum(data, (size_t)len) >> 1) == sum ? 0 : -1;
}

static void test_round_trip(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *p = path_join(u->dir, "d.json");
	cleanup_json struct json_object *o = json_object_new_object();
	cleanup_json struct json_object *back = NULL;
	cleanup_free char *raw = NULL;
	struct err e = ERR_INIT;
	const char *s = NULL;
	size_t len;
	(void)state;

	jsonio_set_str(o, "name", "a/b");
	jsonio_set_int(o, "n", 42);
	assert_int_equal(doc_write(p, o, DOC_DURABLE, &e), 0);
	assert_int_equal(fs_read_file(p, 4096, &raw, &len, &e), 0);
	assert_string_equal(raw, "{\"name\":\"a/b\",\"n\":42}\n");
	assert_int_equal(doc_read(p, &back, &e), 0);
	assert_int_equal(jsonio_get_str(back, "name", true, &s, &e), 0);
	assert_string_equal(s, "a/b");
	unit_env_free(u);
}

static void test_missing_and_corrupt(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *p = path_join(u->dir, "d.json");
	struct json_object *o = NULL;
	struct err e = ERR_INIT;
	static const char *const bad[] = {"", "{", "garbage", "[1,2]", "42", "\"s\"", "{} x"};
	size_t i;
	(void)state;

	assert_int_equal(doc_read(p, &o, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_null(o);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		assert_int_equal(fs_write_atomic(p, bad[i], strlen(bad[i]), 0600, 0, &e), 0);
		assert_int_equal(doc_read(p, &o, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_non_null(strstr(e.msg, p));
		assert_null(o);
	}
	unit_env_free(u);
}

static void writer(const char *p, unsigned seed, int64_t until)
{
	unsigned n = seed;

	while (mono_ms() < until) {
		struct err e = ERR_INIT;
		size_t len = 1024 + (size_t)((n * 2654435761u) % (200 * 1024 - 1024));
		struct json_object *o = payload(n, len);
		int rc = doc_write(p, o, 0, &e);

		json_object_put(o);
		if (rc < 0)
			_exit(1);
		n += WRITERS;
	}
	_exit(0);
}

static void reader(const char *p, int64_t until)
{
	long reads = 0;

	while (mono_ms() < until) {
		struct err e = ERR_INIT;
		struct json_object *o = NULL;

		if (doc_read(p, &o, &e) < 0)
			_exit(1);
		if (self_check(o) < 0)
			_exit(1);
		json_object_put(o);
		reads++;
	}
	_exit(reads >= MIN_READS ? 0 : 2);
}

static void test_torn_documents(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *p = path_join(u->dir, "d.json");
	cleanup_json struct json_object *first = payload(0, 1024);
	pid_t pids[WRITERS + READERS];
	struct err e = ERR_INIT;
	int64_t until;
	int i, status;
	(void)state;

	assert_int_equal(doc_write(p, first, 0, &e), 0);
	fflush(NULL);
	until = mono_ms() + 1000;
	for (i = 0; i < WRITERS + READERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			if (i < WRITERS)
				writer(p, (unsigned)i, until);
			reader(p, until + 100);
		}
	}
	for (i = 0; i < WRITERS + READERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_missing_and_corrupt),
	    cmocka_unit_test(test_torn_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
