/* tests/unit/test_term.c - the terminal client (DESIGN.md "run" -t, attach): docker's detach
 * key syntax, the detach scanner (held bytes forwarded when a match fails, across reads), raw
 * mode saved and restored on a real pty, window sizes, and the relay loop's ends (peer EOF,
 * detach keys, a signal) */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

#include "tests/unit/unit.h"
#include "common/runtime/term.h"

static void test_keys_parse(void **state)
{
	static const struct {
		const char *spec;
		const char *bytes; /* NULL: E_INVALID */
		size_t len;
	} cases[] = {
	    {"ctrl-p,ctrl-q", "\x10\x11", 2},
	    {"CTRL-P,Ctrl-Q", "\x10\x11", 2},
	    {"ctrl-a", "\x01", 1},
	    {"ctrl-@", "\0", 1},
	    {"ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", "\x1b\x1c\x1d\x1e\x1f", 5},
	    {"a,b", "ab", 2},
	    {"x", "x", 1},
	    {",", ",", 1},
	    {"a,,", "a,", 2},
	    {"", NULL, 0},
	    {"ctrl-", NULL, 0},
	    {"ctrl-1", NULL, 0},
	    {"ctrl-pq", NULL, 0},
	    {"ab", NULL, 0},
	    {"a,", NULL, 0},
	    {"alt-x", NULL, 0},
	    {"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", NULL, 0},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct term_keys k = {0};
		struct err e = ERR_INIT;
		int rc = term_keys_parse(cases[i].spec, &k, &e);
		if (!cases[i].bytes) {
			if (rc != -1 || e.code != E_INVALID)
				fail_msg("%s: expected E_INVALID", cases[i].spec);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", cases[i].spec, e.msg);
		assert_int_equal(k.len, cases[i].len);
		assert_memory_equal(k.seq, cases[i].bytes, cases[i].len);
	}
}

/* Feeds input in chunks of `chunk` bytes; returns what is forwarded and whether it detached. */
static char *scan_all(const char *keys, const char *in, size_t chunk, bool *detached)
{
	struct term_keys k;
	struct err e = ERR_INIT;
	struct term_scan s = {.keys = &k};
	char *out = xcalloc(1, strlen(in) + TERM_KEYS_MAX + 1);
	size_t w = 0, n = strlen(in);

	assert_int_equal(term_keys_parse(keys, &k, &e), 0);
	*detached = false;
	for (size_t off = 0; off < n && !*detached; off += chunk) {
		size_t c = n - off < chunk ? n - off : chunk;
		char tmp[64 + TERM_KEYS_MAX];
		size_t got = term_scan_feed(&s, in + off, c, tmp, detached);
		memcpy(out + w, tmp, got);
		w += got;
	}
	out[w] = '\0';
	return out;
}

static void test_scan(void **state)
{
	static const struct {
		const char *keys, *in, *out;
		bool detach;
	} cases[] = {
	    {"ctrl-p,ctrl-q", "ls\r", "ls\r", false},
	    {"ctrl-p,ctrl-q",
	     "ab\x10\x11"
	     "cd",
	     "ab", true},
	    {"ctrl-p,ctrl-q", "\x10x", "\x10x", false},      /* a failed match is forwarded */
	    {"ctrl-p,ctrl-q", "\x10\x10\x11", "\x10", true}, /* the second ctrl-p restarts */
	    {"ctrl-p,ctrl-q", "a\x10", "a", false},          /* held until the next byte */
	    {"ctrl-p,ctrl-q", "\x11\x10\x03", "\x11\x10\x03", false},
	    {"a,a,b", "aaab", "a", true}, /* overlapping prefixes */
	    {"a,b,a,c", "ababac", "ab", true},
	    {"a,b,a,c", "abax", "abax", false},
	    {"x", "1x2", "1", true},
	    {"ctrl-c", "\x03", "", true},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		for (size_t chunk = 1; chunk <= 8; chunk++) {
			bool detached;
			cleanup_free char *out =
			    scan_all(cases[i].keys, cases[i].in, chunk, &detached);
			if (strcmp(out, cases[i].out) != 0 || detached != cases[i].detach)
				fail_msg("case %zu chunk %zu: forwarded %zu bytes, detach %d", i,
				         chunk, strlen(out), detached);
		}
}

static void test_scan_no_keys(void **state)
{
	struct term_scan s = {0};
	char out[8 + TERM_KEYS_MAX];
	bool d;
	(void)state;

	assert_int_equal(term_scan_feed(&s, "\x10\x11", 2, out, &d), 2);
	assert_false(d);
}

static int open_pty(int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	*slave = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(*slave >= 0);
	return m;
}

static void test_raw_restore(void **state)
{
	struct term_saved saved = TERM_SAVED_INIT;
	struct termios t;
	struct err e = ERR_INIT;
	unsigned short rows = 0, cols = 0;
	int s, m = open_pty(&s);
	(void)state;

	assert_int_equal(tcgetattr(s, &t), 0);
	assert_true(t.c_lflag & ICANON);
	assert_int_equal(term_raw(s, &saved, &e), 0);
	assert_int_equal(tcgetattr(s, &t), 0);
	assert_false(t.c_lflag & (ICANON | ECHO | ISIG));
	term_restore(&saved);
	term_restore(&saved); /* idempotent */
	assert_int_equal(tcgetattr(s, &t), 0);
	assert_true(t.c_lflag & ICANON);
	assert_true(t.c_lflag & ECHO);
	assert_int_equal(saved.fd, -1);

	assert_int_equal(term_set_winsize(m, 30, 100, &e), 0);
	assert_int_equal(term_winsize(s, &rows, &cols, &e), 0);
	assert_int_equal(rows, 30);
	assert_int_equal(cols, 100);

	{
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(term_raw(sv[0], &saved, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		close(sv[0]);
		close(sv[1]);
	}
	close(s);
	close(m);
}

struct sink {
	char in[256];
	size_t in_len;
	int eofs, resizes;
	unsigned short rows, cols;
	int signals;
};

static int sink_input(void *arg, const void *buf, size_t len, struct err *e)
{
	struct sink *k = arg;
	(void)e;

	if (len == 0) {
		k->eofs++;
		return 0;
	}
	memcpy(k->in + k->in_len, buf, len);
	k->in_len += len;
	return 0;
}

static int sink_resize(void *arg, unsigned short rows, unsigned short cols, struct err *e)
{
	struct sink *k = arg;
	(void)e;

	k->resizes++;
	k->rows = rows;
	k->cols = cols;
	return 0;
}

static bool sink_signal(void *arg, int sig)
{
	struct sink *k = arg;

	k->signals++;
	return sig == SIGTERM;
}

static void test_relay(void **state)
{
	struct keys_and_pipes {
		int in[2], peer[2], out[2];
	} p;
	struct term_keys keys;
	struct sink k = {0};
	struct err e = ERR_INIT;
	char got[64] = {0};
	int sig, s, m = open_pty(&s);
	struct term_relay r = {.on_input = sink_input, .on_resize = sink_resize, .arg = &k};
	(void)state;

	assert_int_equal(term_keys_parse(TERM_DETACH_DEFAULT, &keys, &e), 0);
	assert_int_equal(term_set_winsize(m, 24, 80, &e), 0);
	assert_int_equal(pipe(p.in), 0);
	assert_int_equal(pipe(p.peer), 0);
	assert_int_equal(pipe(p.out), 0);
	r.in_fd = p.in[0];
	r.tty_fd = s;
	r.peer_fd = p.peer[0];
	r.out_fd = p.out[1];
	r.detach = &keys;

	/* The peer's output is copied raw; the peer's EOF ends the relay. */
	assert_int_equal(write(p.peer[1], "hello", 5), 5);
	close(p.peer[1]);
	assert_int_equal(term_relay_run(&r, &sig, &e), TERM_END_PEER);
	assert_int_equal(read(p.out[0], got, sizeof(got)), 5);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(k.resizes, 1);
	assert_int_equal(k.rows, 24);
	assert_int_equal(k.cols, 80);
	close(p.peer[0]);

	/* Input goes through the scanner; the detach keys end the relay. */
	assert_int_equal(pipe(p.peer), 0);
	r.peer_fd = p.peer[0];
	assert_int_equal(write(p.in[1], "ls\r\x10x\x10\x11tail", 9), 9);
	assert_int_equal(term_relay_run(&r, &sig, &e), TERM_END_DETACH);
	assert_int_equal(k.in_len, 5);
	assert_memory_equal(k.in, "ls\r\x10x", 5);

	/* EOF on our input is told once, and the relay goes on until the peer ends. */
	close(p.in[1]);
	{
		pid_t child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			usleep(100000);
			_exit(0); /* the peer's last writer goes */
		}
		close(p.peer[1]);
		assert_int_equal(term_relay_run(&r, &sig, &e), TERM_END_PEER);
		waitpid(child, NULL, 0);
	}
	assert_int_equal(k.eofs, 1);
	close(p.in[0]);
	close(p.peer[0]);
	close(p.out[0]);
	close(p.out[1]);
	close(s);
	close(m);
}

/* Signals reach the callback instead of killing us: SIGINT carries on, SIGTERM ends the
 * relay, and the caller's mask is back afterwards. */
static void test_relay_signals(void **state)
{
	struct sink k = {0};
	struct err e = ERR_INIT;
	int peer[2], sig;
	pid_t child;
	struct term_relay r = {
	    .in_fd = -1, .tty_fd = -1, .out_fd = -1, .on_signal = sink_signal, .arg = &k};
	sigset_t mask, now;
	(void)state;

	assert_int_equal(pipe(peer), 0);
	r.peer_fd = peer[0];
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		usleep(100000);
		kill(getppid(), SIGINT);
		usleep(100000);
		kill(getppid(), SIGTERM);
		_exit(0);
	}
	assert_int_equal(term_relay_run(&r, &sig, &e), TERM_END_SIGNAL);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(k.signals, 2);
	sigprocmask(SIG_SETMASK, NULL, &now);
	assert_int_equal(sigismember(&now, SIGTERM), sigismember(&mask, SIGTERM));
	waitpid(child, NULL, 0);
	close(peer[0]);
	close(peer[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_parse),   cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_scan_no_keys), cmocka_unit_test(test_raw_restore),
	    cmocka_unit_test(test_relay),        cmocka_unit_test(test_relay_signals),
	};
	return cmocka_run_group_tests_name("term", tests, NULL, NULL);
}
