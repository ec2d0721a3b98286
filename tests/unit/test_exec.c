/* tests/unit/test_exec.c - exec's pieces that need no container (common/runtime/exec.h,
 * exec_join.h): the environment merge, the messages and the descriptor they carry, EOF once
 * every writer is gone, and the errors exec_start gives before it forks. */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "tests/unit/unit.h"
#include "common/runtime/exec.h"
#include "common/runtime/exec_join.h"
#include "common/runtime/procexec.h"
#include "common/util/exit.h"

static void test_env_put(void **state)
{
	char **env = NULL;
	(void)state;

	env_put(&env, "PATH=/bin");
	env_put(&env, "HOME=/root");
	env_put(&env, "PATH=/usr/bin:/bin");
	env_put(&env, "PATHX=1"); /* a longer key is another key */
	env_put(&env, "EMPTY=");
	assert_string_equal(env[0], "PATH=/usr/bin:/bin");
	assert_string_equal(env[1], "HOME=/root");
	assert_string_equal(env[2], "PATHX=1");
	assert_string_equal(env[3], "EMPTY=");
	assert_null(env[4]);
	strv_free(env);
}

static void test_messages(void **state)
{
	int sv[2], fds[2], got = -1;
	struct exec_msg m = {.kind = EXEC_MSG_FAILED, .code = 127, .pid = 42};
	struct exec_msg r = {0};
	char c = 0;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe(fds), 0);
	snprintf(m.msg, sizeof(m.msg), "exec: \"x\": executable file not found in $PATH");
	assert_int_equal(exec_msg_send(sv[1], &m, -1), 0);
	m.kind = EXEC_MSG_PTY;
	assert_int_equal(exec_msg_send(sv[1], &m, fds[1]), 0);

	assert_int_equal(exec_msg_recv(sv[0], &r, &got), 1);
	assert_int_equal(r.kind, EXEC_MSG_FAILED);
	assert_int_equal(r.code, 127);
	assert_int_equal(r.pid, 42);
	assert_string_equal(r.msg, "exec: \"x\": executable file not found in $PATH");
	assert_int_equal(got, -1);

	/* the passed descriptor arrives close-on-exec and works */
	assert_int_equal(exec_msg_recv(sv[0], &r, &got), 1);
	assert_int_equal(r.kind, EXEC_MSG_PTY);
	assert_true(got >= 0);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(got, "y", 1), 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	close(got);

	/* EOF once the other end is closed; async-signal-safe exec_signal on a dead peer is
	 * harmless */
	close(sv[1]);
	assert_int_equal(exec_msg_recv(sv[0], &r, &got), 0);
	exec_signal(sv[0], 15);
	exec_signal(-1, 15);
	close(sv[0]);
	close(fds[0]);
	close(fds[1]);
}

static void test_start_errors(void **state)
{
	struct unit_env *u = unit_env_new();
	char *argv[] = {"true", NULL}, *empty[] = {NULL};
	struct exec_opts o = {.argv = argv};
	struct exec_session s = EXEC_SESSION_INIT;
	struct err e = ERR_INIT;
	int code = 0;
	(void)state;

	assert_int_equal(exec_start(&u->ctx, "nosuch", &o, &s, &code, &e), -1);
	assert_int_equal(code, EXIT_RUN_ERROR);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_string_equal(e.msg, "nosuch: no such container");

	err_clear(&e);
	o.workdir = "relative";
	assert_int_equal(exec_start(&u->ctx, "nosuch", &o, &s, &code, &e), -1);
	assert_string_equal(e.msg, "workdir relative: not an absolute path");

	err_clear(&e);
	o.workdir = NULL;
	o.argv = empty;
	assert_int_equal(exec_start(&u->ctx, "nosuch", &o, &s, &code, &e), -1);
	assert_string_equal(e.msg, "no command given");
	assert_int_equal(s.fd, -1);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_put),
	    cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_start_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
