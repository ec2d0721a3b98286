/* tests/unit/test_secure.c - the seccomp filter compiled once and loaded later
 * (common/runtime/secure.h): the cache in STATE/seccomp is written on a miss and read on a hit,
 * keyed by the rules; a damaged entry is compiled afresh and replaced; a spec without seccomp
 * gives no filter; and a compiled filter really refuses what it should once loaded. */
#include <dirent.h>
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/unit.h"
#include "common/runtime/secure.h"

static int setup(void **state)
{
	*state = unit_env_new();
	return 0;
}

static int teardown(void **state)
{
	unit_env_free(*state);
	return 0;
}

/* How many entries the cache holds, and the path of the last one seen (for the caller to
 * free). */
static size_t entries(const char *dir, char **last)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (last)
		*last = NULL;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (last) {
			free(*last);
			*last = path_join(dir, de->d_name);
		}
	}
	if (d)
		closedir(d);
	return n;
}

static void test_cache_miss_then_hit(void **state)
{
	struct unit_env *u = *state;
	cleanup_free char *dir = path_join(u->state, "seccomp");
	cleanup_free char *entry = NULL, *data = NULL;
	struct spec s = {0};
	struct secure_filter a, b, c;
	struct err e = ERR_INIT;
	size_t len = 0;

	spec_seccomp_default(&s);
	assert_int_equal(secure_seccomp_compile(&s, NULL, &a, &e), 0);
	assert_true(a.len > 10);

	/* A miss compiles and writes the same program. */
	assert_int_equal(secure_seccomp_compile(&s, dir, &b, &e), 0);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.insns, a.insns, a.len * sizeof(*a.insns));
	assert_int_equal(entries(dir, &entry), 1);
	assert_int_equal(fs_read_file(entry, 1 << 20, &data, &len, &e), 0);
	assert_int_equal(len, a.len * sizeof(*a.insns));
	assert_memory_equal(data, a.insns, len);

	/* A hit is read from the file, not compiled: a different (shorter) program there is
	 * what comes back. */
	assert_int_equal(fs_write_atomic(entry, a.insns, 8 * sizeof(*a.insns), 0600, 0, &e), 0);
	assert_int_equal(secure_seccomp_compile(&s, dir, &c, &e), 0);
	assert_int_equal(c.len, 8);
	assert_memory_equal(c.insns, a.insns, 8 * sizeof(*a.insns));
	secure_filter_release(&c);

	/* A damaged entry (not whole instructions) is compiled afresh and replaced. */
	assert_int_equal(fs_write_atomic(entry, "garbage", 7, 0600, 0, &e), 0);
	assert_int_equal(secure_seccomp_compile(&s, dir, &c, &e), 0);
	assert_int_equal(c.len, a.len);
	assert_memory_equal(c.insns, a.insns, a.len * sizeof(*a.insns));
	free(data);
	data = NULL;
	assert_int_equal(fs_read_file(entry, 1 << 20, &data, &len, &e), 0);
	assert_int_equal(len, a.len * sizeof(*a.insns));

	secure_filter_release(&a);
	secure_filter_release(&b);
	secure_filter_release(&c);
	spec_release(&s);
}

static void test_key_follows_rules(void **state)
{
	struct unit_env *u = *state;
	cleanup_free char *dir = path_join(u->state, "seccomp");
	struct spec s = {0};
	struct secure_filter f;
	struct err e = ERR_INIT;

	spec_seccomp_default(&s);
	assert_int_equal(secure_seccomp_compile(&s, dir, &f, &e), 0);
	secure_filter_release(&f);
	/* One rule fewer is another profile, another entry. */
	s.n_syscalls--;
	assert_int_equal(secure_seccomp_compile(&s, dir, &f, &e), 0);
	secure_filter_release(&f);
	s.n_syscalls++;
	assert_int_equal(entries(dir, NULL), 2);
	spec_release(&s);
}

static void test_no_seccomp(void **state)
{
	struct unit_env *u = *state;
	cleanup_free char *dir = path_join(u->state, "seccomp");
	struct spec s = {0};
	struct secure_filter f;
	struct err e = ERR_INIT;
	struct stat st;

	assert_int_equal(secure_seccomp_compile(&s, dir, &f, &e), 0);
	assert_int_equal(f.len, 0);
	assert_null(f.insns);
	assert_int_equal(secure_seccomp_load(&f, &e), 0); /* nothing to do */
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* Loaded in a child, the default filter refuses mount(2) with EPERM and lets getpid through. */
static void test_loaded_filter_refuses(void **state)
{
	struct unit_env *u = *state;
	cleanup_free char *dir = path_join(u->state, "seccomp");
	struct spec s = {0};
	struct secure_filter f;
	struct err e = ERR_INIT;
	int status;
	pid_t pid;

	spec_seccomp_default(&s);
	assert_int_equal(secure_seccomp_compile(&s, dir, &f, &e), 0);
	secure_filter_release(&f);
	assert_int_equal(secure_seccomp_compile(&s, dir, &f, &e), 0); /* from the cache */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (secure_seccomp_load(&f, &e) < 0)
			_exit(10);
		if (getpid() <= 0)
			_exit(11);
		if (mount("none", "/nonexistent", "tmpfs", 0, NULL) == 0 || errno != EPERM)
			_exit(12);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	secure_filter_release(&f);
	spec_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cache_miss_then_hit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_follows_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_seccomp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loaded_filter_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
