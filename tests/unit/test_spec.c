/* tests/unit/test_spec.c - the runtime-spec config.json (DESIGN.md "run"): args from
 * Entrypoint/Cmd/--entrypoint/COMMAND, env merging, users resolved from layered passwd/group
 * files (whiteouts honoured), docker's defaults, limits, and a round trip through the parser */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "tests/unit/unit.h"
#include "common/image/manifest.h"
#include "common/runtime/spec.h"

static const char *const ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void put(const char *dir, const char *rel, const char *content)
{
	cleanup_free char *p = path_join(dir, rel);
	cleanup_free char *d = xstrdup(p);
	struct err e = ERR_INIT;
	FILE *f;

	*strrchr(d, '/') = '\0';
	assert_int_equal(fs_mkdir_p(d, 0755, &e), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static char **sv(const char *a, const char *b)
{
	char **v = xcalloc(3, sizeof(*v));

	v[0] = a ? xstrdup(a) : NULL;
	v[1] = a && b ? xstrdup(b) : NULL;
	return v;
}

static void test_args(void **state)
{
	struct image_config img = {.entrypoint = sv("/ep", NULL), .cmd = sv("c1", "c2")};
	static const char *const cmd[] = {"x", "y", NULL};
	struct spec_opts o = {0};
	struct spec s;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), 0);
	assert_string_equal(s.args[0], "/ep");
	assert_string_equal(s.args[2], "c2");
	assert_null(s.args[3]);
	assert_string_equal(s.hostname, "0123456789ab");
	assert_string_equal(s.cwd, "/");
	assert_int_equal(s.caps, SPEC_DEFAULT_CAPS);
	assert_true(s.no_new_privs);
	assert_true(s.seccomp);
	spec_release(&s);

	o.command = cmd;
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), 0);
	assert_string_equal(s.args[1], "x");
	assert_null(s.args[3]);
	spec_release(&s);

	/* --entrypoint replaces the entrypoint and drops the image's Cmd. */
	o.command = NULL;
	o.entrypoint = "/bin/sh";
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), 0);
	assert_string_equal(s.args[0], "/bin/sh");
	assert_null(s.args[1]);
	spec_release(&s);

	o.entrypoint = "";
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), -1);
	assert_string_equal(e.msg, "no command specified");
	image_config_release(&img);
}

static void test_env(void **state)
{
	struct image_config img = {.env = sv("PATH=/img", "A=1"), .cmd = sv("sh", NULL)};
	static const char *const env[] = {"A=2", "B", "C", "D=x=y", NULL};
	static const char *const envp[] = {"B=from-caller", NULL};
	static const char *const bad[] = {"=x", NULL};
	struct spec_opts o = {.env = env, .envp = envp, .hostname = "box"};
	struct spec s;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), 0);
	assert_string_equal(s.env[0], "PATH=/img");
	assert_string_equal(s.env[1], "A=2");
	assert_string_equal(s.env[2], "B=from-caller");
	assert_string_equal(s.env[3], "D=x=y");
	assert_string_equal(s.env[4], "HOSTNAME=box");
	assert_string_equal(s.env[5], "HOME=/");
	assert_null(s.env[6]);
	spec_release(&s);
	o.env = bad;
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	image_config_release(&img);
}

static void test_users(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *top = path_join(u->dir, "top");
	cleanup_free char *low = path_join(u->dir, "low");
	cleanup_free char *wh = NULL;
	const char *dirs[2] = {top, low};
	struct spec_user su;
	struct err e = ERR_INIT;
	(void)state;

	put(low, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nold:x:5:5::/old:/bin/sh\n");
	put(top, "etc/passwd",
	    "root:x:0:0:root:/root:/bin/sh\nbad line\nwww:x:33:33:www:/var/www:/bin/false\n");
	put(top, "etc/group", "root:x:0:\nwww:x:33:\nadm:x:4:www,other\naudio:x:29:www\n");
	assert_int_equal(spec_resolve_user("www", dirs, 2, &su, &e), 0);
	assert_int_equal(su.uid, 33);
	assert_int_equal(su.gid, 33);
	assert_int_equal(su.n_gids, 2);
	assert_int_equal(su.gids[0], 4);
	assert_int_equal(su.gids[1], 29);
	assert_string_equal(su.home, "/var/www");
	spec_user_release(&su);
	/* The top layer's passwd wins: "old" is not there any more. */
	assert_int_equal(spec_resolve_user("old", dirs, 2, &su, &e), -1);
	assert_string_equal(e.msg, "unable to find user old: no matching entries in passwd file");
	assert_int_equal(spec_resolve_user("1000:adm", dirs, 2, &su, &e), 0);
	assert_int_equal(su.uid, 1000);
	assert_int_equal(su.gid, 4);
	assert_int_equal(su.n_gids, 0);
	spec_user_release(&su);
	assert_int_equal(spec_resolve_user("www:nogroup", dirs, 2, &su, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_int_equal(spec_resolve_user("7:8", NULL, 0, &su, &e), 0);
	assert_int_equal(su.uid, 7);
	assert_int_equal(su.gid, 8);
	spec_user_release(&su);
	/* A whiteout in the top layer hides the lower passwd. */
	wh = path_join(top, "etc/passwd");
	unlink(wh);
	assert_int_equal(mknod(wh, S_IFCHR | 0, makedev(0, 0)) == 0 || getuid() != 0, 1);
	if (getuid() == 0) {
		assert_int_equal(spec_resolve_user("old", dirs, 2, &su, &e), -1);
		assert_int_equal(e.code, E_INVALID);
	}
	unit_env_free(u);
}

static void test_options(void **state)
{
	struct image_config img = {.cmd = sv("sh", NULL), .working_dir = xstrdup("/srv")};
	static const char *const add[] = {"SYS_ADMIN", "cap_net_admin", NULL};
	static const char *const drop[] = {"CAP_CHOWN", NULL};
	static const char *const bogus[] = {"FLY", NULL};
	static const char *const vols[] = {"/tmp:/data:ro", NULL};
	static const char *const badvol[] = {"/tmp:relative", NULL};
	struct spec_opts o = {.cap_add = add,
	                      .cap_drop = drop,
	                      .volumes = vols,
	                      .memory_bytes = 64 << 20,
	                      .cpus_milli = 1500,
	                      .pids_limit = 10,
	                      .net_host = true,
	                      .read_only = true};
	struct spec s;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), 0);
	assert_int_equal(s.caps, (SPEC_DEFAULT_CAPS | (1ULL << 21) | (1ULL << 12)) & ~1ULL);
	assert_string_equal(s.cwd, "/srv");
	assert_int_equal(s.cpu_quota_us, 150000);
	assert_int_equal(s.cpu_period_us, 100000);
	assert_int_equal(s.memory_bytes, 64 << 20);
	assert_int_equal(s.pids_limit, 10);
	assert_false(s.ns & SPEC_NS_NET);
	assert_true(s.ns & SPEC_NS_PID);
	assert_true(s.root_readonly);
	assert_string_equal(s.mounts[s.n_mounts - 1].dest, "/data");
	assert_string_equal(s.mounts[s.n_mounts - 1].options[2], "ro");
	spec_release(&s);

	o.cap_add = bogus;
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), -1);
	assert_string_equal(e.msg, "unknown capability: FLY");
	o.cap_add = NULL;
	o.volumes = badvol;
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	o.volumes = NULL;
	o.workdir = "rel";
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), -1);
	o.workdir = NULL;
	o.memory_bytes = 1024;
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), -1);
	assert_string_equal(e.msg, "minimum memory limit allowed is 6MB");
	o.memory_bytes = 0;
	o.privileged = true;
	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), 0);
	assert_false(s.seccomp);
	assert_null(s.masked);
	assert_false(s.no_new_privs);
	spec_release(&s);
	image_config_release(&img);
}

static void test_round_trip(void **state)
{
	struct image_config img = {.cmd = sv("echo", "hi"), .user = xstrdup("5:6")};
	struct spec_opts o = {
	    .memory_bytes = 8 << 20, .cpus_milli = 500, .pids_limit = 3, .cgroupns = true};
	struct spec s, back;
	struct err e = ERR_INIT;
	cleanup_free char *json = NULL;
	(void)state;

	assert_int_equal(spec_build(&img, &o, NULL, 0, ID, &s, &e), 0);
	json = spec_to_json(&s);
	assert_non_null(strstr(json, "\"CAP_AUDIT_WRITE\""));
	assert_non_null(strstr(json, "\"/proc/kcore\""));
	assert_int_equal(spec_parse(json, strlen(json), &back, &e), 0);
	assert_string_equal(back.args[1], "hi");
	assert_int_equal(back.uid, 5);
	assert_int_equal(back.gid, 6);
	assert_int_equal(back.caps, SPEC_DEFAULT_CAPS);
	assert_int_equal(back.ns, s.ns);
	assert_true(back.ns & SPEC_NS_CGROUP);
	assert_int_equal(back.memory_bytes, 8 << 20);
	assert_int_equal(back.cpu_quota_us, 50000);
	assert_int_equal(back.pids_limit, 3);
	assert_int_equal(back.n_mounts, s.n_mounts);
	assert_int_equal(back.n_syscalls, s.n_syscalls);
	assert_int_equal(back.syscalls[1].arg_mask, s.syscalls[1].arg_mask);
	assert_int_equal(back.n_rlimits, 1);
	assert_int_equal(back.n_devices, s.n_devices);
	assert_false(back.devices[0].allow);
	assert_int_equal(back.devices[0].type, 'a');
	assert_int_equal(back.devices[3].major, 1);
	assert_int_equal(back.devices[3].minor, 3);
	assert_int_equal(back.devices[1].minor, -1);
	assert_string_equal(back.devices[1].access, "m");
	assert_true(back.seccomp);
	assert_true(back.no_new_privs);
	assert_string_equal(back.masked[2], "/proc/kcore");
	assert_string_equal(back.root_path, "rootfs");
	spec_release(&back);
	spec_release(&s);
	image_config_release(&img);
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
	    "[]",
	    "{\"root\":{\"path\":\"r\"}}",
	    "{\"process\":{\"args\":[]},\"root\":{\"path\":\"r\"}}",
	    "{\"process\":{\"args\":[\"x\"],\"cwd\":1},\"root\":{\"path\":\"r\"}}",
	    "{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"r\"},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
	    "{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"r\"},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}]}}",
	    "{\"process\":{\"args\":[\"x\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}},"
	    "\"root\":{\"path\":\"r\"}}",
	    "{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"r\"},"
	    "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]}}",
	};
	struct spec s;
	struct err e = ERR_INIT;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (spec_parse(bad[i], strlen(bad[i]), &s, &e) == 0)
			fail_msg("accepted %s", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args),       cmocka_unit_test(test_env),
	    cmocka_unit_test(test_users),      cmocka_unit_test(test_options),
	    cmocka_unit_test(test_round_trip), cmocka_unit_test(test_parse_refuses),
	};
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
