/* tests/unit/test_attach.c - the attach socket's framing (DESIGN.md "run"): output frames and the
 * exit frame arrive whole and in order, end of stream reads as kind 0, a bad header is
 * E_CORRUPT, and listen/connect work under a STATE deeper than a socket path may be */
#include <sys/socket.h>

#include "tests/unit/unit.h"
#include "common/runtime/attach.h"
#include "common/store/layout.h"

static const char *const ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void test_frames(void **state)
{
	int sv[2];
	char buf[ATTACH_PAYLOAD_MAX];
	enum attach_kind k;
	size_t len;
	int32_t code = 137;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(attach_send(sv[0], ATTACH_STDOUT, "hello\n", 6, &e), 0);
	assert_int_equal(attach_send(sv[0], ATTACH_STDERR, "", 0, &e), 0);
	assert_int_equal(attach_send(sv[0], ATTACH_EXIT, &code, sizeof(code), &e), 0);
	close(sv[0]);
	assert_int_equal(attach_recv(sv[1], &k, buf, &len, &e), 0);
	assert_int_equal(k, ATTACH_STDOUT);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "hello\n", 6);
	assert_int_equal(attach_recv(sv[1], &k, buf, &len, &e), 0);
	assert_int_equal(k, ATTACH_STDERR);
	assert_int_equal(len, 0);
	assert_int_equal(attach_recv(sv[1], &k, buf, &len, &e), 0);
	assert_int_equal(k, ATTACH_EXIT);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, &code, 4);
	assert_int_equal(attach_recv(sv[1], &k, buf, &len, &e), 0);
	assert_int_equal(k, 0);
	close(sv[1]);
}

static void test_bad_frames(void **state)
{
	int sv[2];
	char buf[ATTACH_PAYLOAD_MAX];
	enum attach_kind k;
	size_t len;
	struct err e = ERR_INIT;
	struct attach_hdr h = {.kind = 9, .len = 1};
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(attach_recv(sv[1], &k, buf, &len, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	/* A frame cut short is an error, not the end. */
	h = (struct attach_hdr){.kind = ATTACH_STDOUT, .len = 10};
	assert_int_equal(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	assert_int_equal(attach_recv(sv[1], &k, buf, &len, &e), -1);
	assert_int_equal(e.code, E_IO);
	close(sv[1]);
}

static void test_deep_state(void **state)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;
	cleanup_free char *deep = xasprintf("%s/%0100d/state", u->dir, 0);
	cleanup_free char *sdir = NULL;
	int l = -1, c = -1, s;
	(void)state;

	u->ctx.path.state = deep;
	sdir = store_container_state_dir(&u->ctx, ID);
	assert_int_equal(fs_mkdir_p(sdir, 0700, &e), 0);
	assert_int_equal(attach_connect(&u->ctx, ID, &c, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_int_equal(attach_listen(&u->ctx, ID, &l, &e), 0);
	assert_int_equal(attach_connect(&u->ctx, ID, &c, &e), 0);
	s = accept(l, NULL, NULL);
	assert_true(s >= 0);
	assert_int_equal(attach_send(s, ATTACH_STDOUT, "x", 1, &e), 0);
	{
		char buf[ATTACH_PAYLOAD_MAX];
		enum attach_kind k;
		size_t len;
		assert_int_equal(attach_recv(c, &k, buf, &len, &e), 0);
		assert_int_equal(k, ATTACH_STDOUT);
	}
	close(s);
	close(c);
	close(l);
	u->ctx.path.state = u->state;
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_bad_frames),
	    cmocka_unit_test(test_deep_state),
	};
	return cmocka_run_group_tests_name("attach", tests, NULL, NULL);
}
