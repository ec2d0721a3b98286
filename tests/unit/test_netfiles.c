/* tests/unit/test_netfiles.c - a container's hosts and resolv.conf (common/runtime/netfiles.h):
 * docker's rule for loopback resolvers in a network namespace of its own, the host's files as
 * they are with --net host */
#include "tests/unit/unit.h"
#include "common/runtime/netfiles.h"

#define FALLBACK "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"

static void test_resolv(void **state)
{
	static const struct {
		enum netfiles_net net;
		const char *in, *out;
	} cases[] = {
	    {NETFILES_PRIVATE, "nameserver 10.0.0.2\n", "nameserver 10.0.0.2\n"},
	    {NETFILES_PRIVATE, "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
	     "options edns0 trust-ad\nsearch lan\n" FALLBACK},
	    {NETFILES_NONE,
	     "# a comment\nnameserver 127.1.2.3\n nameserver\t::1\nnameserver 1.1.1.1",
	     "# a comment\nnameserver 1.1.1.1\n"},
	    {NETFILES_PRIVATE, "nameserver 0:0:0:0:0:0:0:1\n", FALLBACK},
	    {NETFILES_PRIVATE, "nameserver 128.0.0.1\nnameserver fe80::1\n",
	     "nameserver 128.0.0.1\nnameserver fe80::1\n"},
	    {NETFILES_PRIVATE, "nameserver 127.0.0.1x\n", "nameserver 127.0.0.1x\n"},
	    {NETFILES_PRIVATE, "nameservers 127.0.0.1\n", "nameservers 127.0.0.1\n" FALLBACK},
	    {NETFILES_PRIVATE, "", FALLBACK},
	    {NETFILES_PRIVATE, NULL, FALLBACK},
	    {NETFILES_HOST, "nameserver 127.0.0.53\n", "nameserver 127.0.0.53\n"},
	    {NETFILES_HOST, NULL, FALLBACK},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *got = netfiles_resolv(cases[i].net, cases[i].in);
		assert_string_equal(got, cases[i].out);
	}
}

static void test_hosts(void **state)
{
	cleanup_free char *own = netfiles_hosts(NETFILES_PRIVATE, "10.0.0.1 node\n", "web");
	cleanup_free char *none = netfiles_hosts(NETFILES_NONE, NULL, "abc123");
	cleanup_free char *host = netfiles_hosts(NETFILES_HOST, "10.0.0.1 node\n", "web");
	cleanup_free char *nohost = netfiles_hosts(NETFILES_HOST, NULL, "web");

	(void)state;
	assert_true(strncmp(own, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost", 46) == 0);
	assert_non_null(strstr(own, "\n127.0.1.1\tweb\n"));
	assert_null(strstr(own, "10.0.0.1")); /* the host's file is not the container's */
	assert_non_null(strstr(none, "\n127.0.1.1\tabc123\n"));
	assert_string_equal(host, "10.0.0.1 node\n");
	assert_non_null(strstr(nohost, "127.0.0.1\tlocalhost\n"));
	assert_null(strstr(nohost, "web"));
}

static void test_write(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *etc = path_join(u->dir, "etc");
	cleanup_free char *out = path_join(u->dir, "c");
	cleanup_free char *hp = path_join(etc, "hosts");
	cleanup_free char *rp = path_join(etc, "resolv.conf");
	cleanup_free char *name = NULL, *resolv = NULL, *hosts = NULL;
	cleanup_free char *p1 = path_join(out, "hostname");
	cleanup_free char *p2 = path_join(out, "resolv.conf");
	cleanup_free char *p3 = path_join(out, "hosts");
	struct err e = ERR_INIT;
	size_t len;

	(void)state;
	assert_int_equal(fs_mkdir_p(etc, 0755, &e), 0);
	assert_int_equal(fs_mkdir_p(out, 0755, &e), 0);
	assert_int_equal(fs_write_atomic(hp, "1.2.3.4 h\n", 10, 0644, 0, &e), 0);
	assert_int_equal(fs_write_atomic(rp, "nameserver 127.0.0.1\n", 21, 0644, 0, &e), 0);
	u->cfg.host.etc = etc;
	assert_int_equal(netfiles_write(&u->ctx, out, NETFILES_HOST, "box", &e), 0);
	assert_int_equal(fs_read_file(p1, 100, &name, &len, &e), 0);
	assert_string_equal(name, "box\n");
	assert_int_equal(fs_read_file(p2, 100, &resolv, &len, &e), 0);
	assert_string_equal(resolv, "nameserver 127.0.0.1\n");
	assert_int_equal(fs_read_file(p3, 100, &hosts, &len, &e), 0);
	assert_string_equal(hosts, "1.2.3.4 h\n");
	free(resolv);
	resolv = NULL;
	assert_int_equal(netfiles_write(&u->ctx, out, NETFILES_PRIVATE, "box", &e), 0);
	assert_int_equal(fs_read_file(p2, 100, &resolv, &len, &e), 0);
	assert_string_equal(resolv, FALLBACK);
	u->cfg.host.etc = NULL;
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolv),
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests_name("netfiles", tests, NULL, NULL);
}
