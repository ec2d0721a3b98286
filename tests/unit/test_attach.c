/* tests/unit/test_attach.c - the attach socket's framing (DESIGN.md "run"): output frames and the
 * exit frame arrive whole and in order, end of stream reads as kind 0, a bad header is
 * E_CORRUPT, and listen/connect work under a STATE deeper than a socket path may be; the shim's
 * per-client queue (never blocks, drops past its limit for that client with a notice, keeps
 * frames whole) and its frame assembly; the client session (hello, notices, exit code) */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>

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

/* Reads frames from fd until the exit frame; returns the stdout bytes, counts notices. */
static size_t drain(int fd, int *notices, char *last_notice)
{
	char buf[ATTACH_PAYLOAD_MAX];
	enum attach_kind k;
	size_t len, out = 0;
	struct err e = ERR_INIT;

	for (;;) {
		assert_int_equal(attach_recv(fd, &k, buf, &len, &e), 0);
		if (k == ATTACH_EXIT || k == 0)
			return out;
		if (k == ATTACH_NOTICE) {
			(*notices)++;
			memcpy(last_notice, buf, len);
			last_notice[len] = '\0';
		} else {
			assert_int_equal(k, ATTACH_STDOUT);
			out += len;
		}
	}
}

static void test_client_queue(void **state)
{
	struct attach_client c;
	int sv[2], sndbuf = 4096, notices = 0;
	char chunk[4000], note[256] = "";
	int32_t code = 0;
	size_t sent = 0, got;
	(void)state;

	memset(chunk, 'x', sizeof(chunk));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	attach_client_init(&c, sv[0]);
	/* Nobody reads: the socket fills, then the queue up to its limit, then frames drop. */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(
		    attach_client_send(&c, ATTACH_STDOUT, chunk, sizeof(chunk), 65536, false), 0);
		sent += sizeof(chunk);
	}
	assert_true(attach_client_pending(&c));
	assert_true(c.q_len - c.q_off <= 65536);
	assert_true(c.dropped > 0);
	/* The exit frame is forced past the limit; the notice goes first. */
	assert_int_equal(attach_client_send(&c, ATTACH_EXIT, &code, sizeof(code), 65536, true), 0);
	assert_int_equal(c.dropped, 0);
	{
		/* The reader catches up while the queue is flushed. */
		int flags = fcntl(sv[1], F_GETFL);
		pid_t child;
		assert_int_equal(fcntl(sv[1], F_SETFL, flags & ~O_NONBLOCK), 0);
		child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			close(sv[0]);
			got = drain(sv[1], &notices, note);
			_exit(notices == 1 && got < sent && got % sizeof(chunk) == 0 &&
			              strncmp(note, "output dropped: client too slow (", 33) == 0
			          ? 0
			          : 1);
		}
		close(sv[1]);
		while (attach_client_pending(&c)) {
			assert_int_equal(attach_client_flush(&c), 0);
			usleep(1000);
		}
		assert_null(c.q);
		attach_client_close(&c);
		{
			int st;
			assert_int_equal(waitpid(child, &st, 0), child);
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
		}
	}
}

static void test_client_read(void **state)
{
	struct attach_client c;
	struct attach_hdr h = {.kind = ATTACH_STDIN, .len = 5};
	struct attach_winsize ws = {30, 100};
	enum attach_kind k;
	char *data = NULL;
	size_t len;
	int sv[2];
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	attach_client_init(&c, sv[0]);
	assert_int_equal(attach_client_read(&c, &k, &data, &len), 0); /* nothing yet */
	/* A frame arriving in pieces is assembled without blocking. */
	assert_int_equal(write(sv[1], &h, 3), 3);
	assert_int_equal(attach_client_read(&c, &k, &data, &len), 0);
	assert_int_equal(write(sv[1], (char *)&h + 3, sizeof(h) - 3), (ssize_t)(sizeof(h) - 3));
	assert_int_equal(attach_client_read(&c, &k, &data, &len), 0);
	assert_int_equal(write(sv[1], "hel", 3), 3);
	assert_int_equal(attach_client_read(&c, &k, &data, &len), 0);
	assert_int_equal(write(sv[1], "lo", 2), 2);
	assert_int_equal(attach_client_read(&c, &k, &data, &len), 1);
	assert_int_equal(k, ATTACH_STDIN);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	assert_int_equal(attach_write(sv[1], ATTACH_RESIZE, &ws, sizeof(ws), &e), 0);
	assert_int_equal(attach_client_read(&c, &k, &data, &len), 1);
	assert_int_equal(k, ATTACH_RESIZE);
	assert_memory_equal(data, &ws, sizeof(ws));
	free(data);
	/* An empty frame, then a bad kind breaks the stream. */
	assert_int_equal(attach_write(sv[1], ATTACH_STDIN, NULL, 0, &e), 0);
	assert_int_equal(attach_client_read(&c, &k, &data, &len), 1);
	assert_int_equal(len, 0);
	assert_null(data);
	h = (struct attach_hdr){.kind = 42, .len = 0};
	assert_int_equal(write(sv[1], &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(attach_client_read(&c, &k, &data, &len), -1);
	attach_client_close(&c);
	assert_int_equal(c.fd, -1);
	close(sv[1]);
}

static void notice_cb(void *arg, const char *msg)
{
	snprintf(arg, 64, "%s", msg);
}

static void test_session(void **state)
{
	struct attach_session s;
	struct err e = ERR_INIT;
	int sv[2], out[2];
	uint32_t hello = ATTACH_HELLO_TTY | ATTACH_HELLO_STDIN;
	int32_t code = 3;
	char note[64] = "", buf[16];
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(out), 0);
	attach_session_init(&s, sv[1]);
	s.out_fd = s.err_fd = out[1];
	s.on_notice = notice_cb;
	s.arg = note;
	assert_int_equal(attach_send(sv[0], ATTACH_HELLO, &hello, sizeof(hello), &e), 0);
	assert_int_equal(attach_send(sv[0], ATTACH_STDOUT, "ab", 2, &e), 0);
	assert_int_equal(attach_send(sv[0], ATTACH_NOTICE, "slow", 4, &e), 0);
	assert_int_equal(attach_send(sv[0], ATTACH_EXIT, &code, sizeof(code), &e), 0);
	assert_int_equal(attach_session_hello(&s, &e), 0);
	assert_int_equal(s.flags, hello);
	assert_int_equal(attach_session_step(&s, &e), 1);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 2);
	assert_int_equal(attach_session_step(&s, &e), 1);
	assert_string_equal(note, "slow");
	assert_int_equal(attach_session_step(&s, &e), 0);
	assert_true(s.exited);
	assert_int_equal(s.code, 3);
	/* Input and sizes go out as frames. */
	assert_int_equal(attach_session_input(&s, "x", 1, &e), 0);
	assert_int_equal(attach_session_resize(&s, 24, 80, &e), 0);
	{
		enum attach_kind k;
		size_t len;
		char b[ATTACH_PAYLOAD_MAX];
		struct attach_winsize ws;
		assert_int_equal(attach_recv(sv[0], &k, b, &len, &e), 0);
		assert_int_equal(k, ATTACH_STDIN);
		assert_int_equal(attach_recv(sv[0], &k, b, &len, &e), 0);
		assert_int_equal(k, ATTACH_RESIZE);
		memcpy(&ws, b, sizeof(ws));
		assert_int_equal(ws.rows, 24);
		assert_int_equal(ws.cols, 80);
	}
	attach_session_release(&s);
	close(sv[0]);
	close(sv[1]);
	close(out[0]);
	close(out[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames),      cmocka_unit_test(test_bad_frames),
	    cmocka_unit_test(test_deep_state),  cmocka_unit_test(test_client_queue),
	    cmocka_unit_test(test_client_read), cmocka_unit_test(test_session),
	};
	return cmocka_run_group_tests_name("attach", tests, NULL, NULL);
}
