/* tests/unit/test_cgroup.c - cgroups (DESIGN.md "run"): detection of v1, hybrid and v2 from a
 * fixture tree standing in for /sys/fs/cgroup, and the v2 paths (controller delegation, limits
 * written and read back, OOM kill counts) the host here cannot exercise */
#include <sys/stat.h>

#include "tests/unit/unit.h"
#include "common/runtime/cgroup.h"

static void put(const char *dir, const char *name, const char *content)
{
	cleanup_free char *p = path_join(dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static char *get(const char *dir, const char *name)
{
	cleanup_free char *p = path_join(dir, name);
	char *data = NULL;
	size_t len;
	struct err e = ERR_INIT;

	assert_int_equal(fs_read_file(p, 4096, &data, &len, &e), 0);
	return data;
}

static struct unit_env *cg_env(const char *const *dirs, const char *const *files)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;
	char *cg = path_join(u->dir, "cgroup");

	assert_int_equal(fs_mkdir_p(cg, 0755, &e), 0);
	for (; dirs && *dirs; dirs++) {
		cleanup_free char *d = path_join(cg, *dirs);
		assert_int_equal(fs_mkdir_p(d, 0755, &e), 0);
	}
	for (; files && *files; files += 2)
		put(cg, files[0], files[1]);
	u->ctx.path.cgroup = cg; /* leaked into the env's dir; freed with the process */
	return u;
}

static void test_detect(void **state)
{
	static const char *const v1[] = {"memory", "cpu", "pids", NULL};
	static const char *const hy[] = {"memory", "cpu", "pids", "unified", NULL};
	static const char *const hy_f[] = {"unified/cgroup.controllers", "", NULL};
	static const char *const v2_f[] = {"cgroup.controllers", "cpu memory pids\n", NULL};
	struct unit_env *u;
	enum cgroup_mode m;
	struct err e = ERR_INIT;
	(void)state;

	u = cg_env(v1, NULL);
	assert_int_equal(cgroup_detect(&u->ctx, &m, &e), 0);
	assert_int_equal(m, CGROUP_V1);
	free((char *)u->ctx.path.cgroup);
	unit_env_free(u);
	u = cg_env(hy, hy_f);
	assert_int_equal(cgroup_detect(&u->ctx, &m, &e), 0);
	assert_int_equal(m, CGROUP_HYBRID);
	free((char *)u->ctx.path.cgroup);
	unit_env_free(u);
	u = cg_env(NULL, v2_f);
	assert_int_equal(cgroup_detect(&u->ctx, &m, &e), 0);
	assert_int_equal(m, CGROUP_V2);
	free((char *)u->ctx.path.cgroup);
	unit_env_free(u);
	u = cg_env(NULL, NULL);
	assert_int_equal(cgroup_detect(&u->ctx, &m, &e), -1);
	assert_int_equal(e.code, E_UNSUPPORTED);
	free((char *)u->ctx.path.cgroup);
	unit_env_free(u);
}

static void test_v2_limits(void **state)
{
	/* The host only delegates cpu and memory: pids is left out, not an error. */
	static const char *const v2_f[] = {"cgroup.controllers", "cpuset cpu io memory\n", NULL};
	struct unit_env *u = cg_env(NULL, v2_f);
	struct cgroup cg;
	struct cgroup_limits l = {.memory_bytes = 8 << 20,
	                          .cpu_quota_us = 50000,
	                          .cpu_period_us = 100000,
	                          .pids = 0},
	                     back;
	struct err e = ERR_INIT;
	uint64_t kills = 99;
	cleanup_free char *parent = path_join(u->ctx.path.cgroup, CGROUP_PARENT);
	cleanup_free char *v = NULL, *w = NULL, *x = NULL, *procs = NULL;
	(void)state;

	cgroup_paths(&u->ctx, CGROUP_V2, "abc", &cg);
	assert_int_equal(cgroup_create(&cg, &l, &e), 0);
	v = get(u->ctx.path.cgroup, "cgroup.subtree_control");
	assert_string_equal(v, "+memory +cpu");
	w = get(parent, "cgroup.subtree_control");
	assert_string_equal(w, "+memory +cpu");
	x = get(cg.unified, "cpu.max");
	assert_string_equal(x, "50000 100000");
	put(cg.unified, "pids.max", "max\n");
	assert_int_equal(cgroup_read_limits(&cg, &back, &e), 0);
	assert_int_equal(back.memory_bytes, 8 << 20);
	assert_int_equal(back.cpu_quota_us, 50000);
	assert_int_equal(back.cpu_period_us, 100000);
	assert_int_equal(back.pids, 0);

	assert_int_equal(cgroup_add_pid(&cg, 4242, &e), 0);
	procs = get(cg.unified, "cgroup.procs");
	assert_string_equal(procs, "4242");

	put(cg.unified, "memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n");
	assert_int_equal(cgroup_oom_kills(&cg, &kills, &e), 0);
	assert_int_equal(kills, 1);
	put(cg.unified, "memory.events", "low 0\nhigh 0\n");
	assert_int_equal(cgroup_oom_kills(&cg, &kills, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_int_equal(cgroup_device_rule(&cg, true, "c 1:3 rwm", &e), -1);
	assert_int_equal(e.code, E_UNSUPPORTED);
	{
		static const bool allow[] = {true};
		static const char *const rules[] = {"c 1:3 rwm"};
		err_clear(&e);
		assert_int_equal(cgroup_device_rules(&cg, allow, rules, 1, &e), -1);
		assert_int_equal(e.code, E_UNSUPPORTED);
	}
	cgroup_release(&cg);
	free((char *)u->ctx.path.cgroup);
	unit_env_free(u);
}

static void test_v1_fixture(void **state)
{
	static const char *const v1[] = {"memory", "cpu", "pids", "devices", NULL};
	struct unit_env *u = cg_env(v1, NULL);
	struct cgroup cg;
	struct cgroup_limits l = {.memory_bytes = 16 << 20, .pids = 20}, back;
	struct err e = ERR_INIT;
	uint64_t kills = 0;
	(void)state;

	cgroup_paths(&u->ctx, CGROUP_V1, "abc", &cg);
	assert_int_equal(cgroup_create(&cg, &l, &e), 0);
	put(cg.cpu, "cpu.cfs_quota_us", "-1\n");
	put(cg.cpu, "cpu.cfs_period_us", "100000\n");
	assert_int_equal(cgroup_read_limits(&cg, &back, &e), 0);
	assert_int_equal(back.memory_bytes, 16 << 20);
	assert_int_equal(back.pids, 20);
	assert_int_equal(back.cpu_quota_us, 0);
	put(cg.memory, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	assert_int_equal(cgroup_oom_kills(&cg, &kills, &e), 0);
	assert_int_equal(kills, 3);
	/* An old kernel without the counter: failcnt tells. */
	put(cg.memory, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
	put(cg.memory, "memory.failcnt", "12\n");
	assert_int_equal(cgroup_oom_kills(&cg, &kills, &e), 0);
	assert_int_equal(kills, 1);
	assert_int_equal(cgroup_device_rule(&cg, false, "a", &e), 0);
	assert_int_equal(cgroup_device_rule(&cg, true, "c 1:3 rwm", &e), 0);
	{
		cleanup_free char *deny = get(cg.devices, "devices.deny");
		cleanup_free char *allow = get(cg.devices, "devices.allow");
		assert_string_equal(deny, "a");
		assert_string_equal(allow, "c 1:3 rwm");
	}
	{
		/* One descriptor per file: the rules follow each other in a plain file as they
		 * reach the kernel one write each on cgroupfs. */
		static const bool allow[] = {false, true, true, false};
		static const char *const rules[] = {"a", "c 1:5 rwm", "c 1:7 rwm", "b 8:* m"};
		cleanup_free char *deny = NULL, *allowed = NULL;
		assert_int_equal(cgroup_device_rules(&cg, allow, rules, 4, &e), 0);
		deny = get(cg.devices, "devices.deny");
		allowed = get(cg.devices, "devices.allow");
		assert_string_equal(deny, "ab 8:* m");
		assert_string_equal(allowed, "c 1:5 rwmc 1:7 rwm");
	}
	cgroup_release(&cg);
	free((char *)u->ctx.path.cgroup);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_v2_limits),
	    cmocka_unit_test(test_v1_fixture),
	};
	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
