/* common/runtime/term.c - the client's side of an interactive container: raw mode, window size,
 * detach keys and the relay loop (DESIGN.md "run" -t, attach, exec -t). */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/runtime/term.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define RELAY_CHUNK 16384

/* One key of docker's syntax: a single character, or ctrl- and one of a-z @ [ \ ] ^ _. */
static int key_parse(const char *k, size_t n, unsigned char *out)
{
	static const char ctrl[] = "@abcdefghijklmnopqrstuvwxyz[\\]^_";
	const char *p;

	if (n == 1) {
		*out = (unsigned char)k[0];
		return 0;
	}
	if (n != 6 || strncasecmp(k, "ctrl-", 5) != 0)
		return -1;
	p = strchr(ctrl, tolower((unsigned char)k[5]));
	if (!p || !*p)
		return -1;
	*out = (unsigned char)(p - ctrl);
	return 0;
}

int term_keys_parse(const char *spec, struct term_keys *out, struct err *e)
{
	struct term_keys k = {0};
	const char *p = spec;

	if (!spec || !*spec)
		return err_set(e, E_INVALID, "detach keys: empty");
	for (;;) {
		/* A lone "," is a key, so a key ends at the comma after at least one character. */
		const char *comma = p[0] ? strchr(p + 1, ',') : NULL;
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (k.len == TERM_KEYS_MAX)
			return err_set(e, E_INVALID, "detach keys %s: more than %d keys", spec,
			               TERM_KEYS_MAX);
		if (n == 0 || key_parse(p, n, &k.seq[k.len]) < 0)
			return err_set(
			    e, E_INVALID,
			    "detach keys %s: bad key '%.*s' (expected a character or "
			    "ctrl-a...ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_)",
			    spec, (int)n, p);
		k.len++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = k;
	return 0;
}

size_t term_scan_feed(struct term_scan *s, const void *in, size_t n, void *out, bool *detach)
{
	const unsigned char *b = in;
	unsigned char *o = out;
	const unsigned char *seq = s->keys ? s->keys->seq : NULL;
	size_t klen = s->keys ? s->keys->len : 0, w = 0;

	*detach = false;
	if (klen == 0) {
		memcpy(out, in, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char held[TERM_KEYS_MAX + 1];
		size_t m = s->matched, cut;

		if (b[i] == seq[m]) {
			if (++s->matched == klen) {
				s->matched = 0;
				*detach = true;
				return w;
			}
			continue;
		}
		/* The match failed: forward the fewest held bytes such that what is left, with
		 * this byte, still starts the sequence (a KMP step by brute force: klen <= 16). */
		memcpy(held, seq, m);
		held[m] = b[i];
		for (cut = 1; cut <= m + 1; cut++)
			if (memcmp(held + cut, seq, m + 1 - cut) == 0)
				break;
		memcpy(o + w, held, cut);
		w += cut;
		s->matched = m + 1 - cut;
	}
	return w;
}

int term_raw(int fd, struct term_saved *saved, struct err *e)
{
	struct termios raw;

	if (tcgetattr(fd, &saved->tio) < 0) {
		if (errno == ENOTTY)
			return err_set(e, E_INVALID, "not a terminal");
		return err_sys(e, "tcgetattr");
	}
	raw = saved->tio;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return err_sys(e, "tcsetattr");
	saved->fd = fd;
	return 0;
}

void term_restore(struct term_saved *saved)
{
	int errno_ = errno;

	if (saved->fd >= 0) {
		while (tcsetattr(saved->fd, TCSADRAIN, &saved->tio) < 0 && errno == EINTR)
			;
		saved->fd = -1;
	}
	errno = errno_;
}

int term_winsize(int fd, unsigned short *rows, unsigned short *cols, struct err *e)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return err_sys(e, "window size");
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 0;
}

int term_set_winsize(int fd, unsigned short rows, unsigned short cols, struct err *e)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};

	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return err_sys(e, "set window size");
	return 0;
}

static int send_size(const struct term_relay *r, struct err *e)
{
	unsigned short rows = 0, cols = 0;

	if (r->tty_fd < 0 || !r->on_resize)
		return 0;
	if (term_winsize(r->tty_fd, &rows, &cols, e) < 0)
		return 0; /* the terminal went away: nothing to tell */
	return r->on_resize(r->arg, rows, cols, e);
}

/* Our input: through the detach scanner to on_input. 1 goes on, 0 detached, -1 error. */
static int relay_input(const struct term_relay *r, struct term_scan *scan, char *buf, char *fwd,
                       bool *in_open, struct err *e)
{
	ssize_t n;
	size_t w;
	bool detach = false;

	do
		n = read(r->in_fd, buf, RELAY_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 1;
	if (n <= 0) {
		*in_open = false;
		return r->on_input(r->arg, NULL, 0, e) < 0 ? -1 : 1;
	}
	w = term_scan_feed(scan, buf, (size_t)n, fwd, &detach);
	if (w && r->on_input(r->arg, fwd, w, e) < 0)
		return -1;
	return detach ? 0 : 1;
}

/* A raw peer: copy to out_fd. 1 goes on, 0 at EOF, -1 error. */
static int relay_copy(const struct term_relay *r, char *buf, struct err *e)
{
	ssize_t n;

	do
		n = read(r->peer_fd, buf, RELAY_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 1;
	if (n < 0 && errno == EIO)
		return 0; /* a pty master whose slave is closed */
	if (n < 0)
		return err_sys(e, "read");
	if (n == 0)
		return 0;
	/* A closed stdout is no reason to stop: the exit code still matters. */
	if (r->out_fd >= 0) {
		struct err ignore = ERR_INIT;
		(void)fs_write_all(r->out_fd, buf, (size_t)n, &ignore);
	}
	return 1;
}

int term_relay_run(const struct term_relay *r, int *sig, struct err *e)
{
	struct term_scan scan = {.keys = r->detach};
	cleanup_free char *buf = xmalloc(RELAY_CHUNK);
	cleanup_free char *fwd = xmalloc(RELAY_CHUNK + TERM_KEYS_MAX);
	cleanup_close int sfd = -1;
	struct term_saved saved = TERM_SAVED_INIT;
	sigset_t mask, old, winch;
	struct timespec zero = {0, 0};
	bool in_open = r->in_fd >= 0 && r->on_input;
	int rc = 0;

	*sig = 0;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return err_sys(e, "sigprocmask");
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		rc = err_sys(e, "signalfd");
		goto out;
	}
	if ((r->raw && r->tty_fd >= 0 && term_raw(r->tty_fd, &saved, e) < 0) ||
	    send_size(r, e) < 0) {
		rc = -1;
		goto out;
	}
	while (rc == 0) {
		struct pollfd p[3] = {{sfd, POLLIN, 0}, {r->peer_fd, POLLIN, 0}, {-1, POLLIN, 0}};
		int step = 1;

		if (in_open)
			p[2].fd = r->in_fd;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = err_sys(e, "poll");
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					if (send_size(r, e) < 0)
						step = -1;
				} else if (!r->on_signal ||
				           r->on_signal(r->arg, (int)si.ssi_signo)) {
					*sig = (int)si.ssi_signo;
					rc = TERM_END_SIGNAL;
				}
			}
			if (step < 0 || rc)
				break;
		}
		/* Output before input: what the container said before it ended is shown. */
		if (p[1].revents) {
			step = r->on_peer ? r->on_peer(r->arg, e) : relay_copy(r, buf, e);
			if (step == 0)
				rc = TERM_END_PEER;
			if (step <= 0)
				break;
		}
		if (p[2].revents) {
			step = relay_input(r, &scan, buf, fwd, &in_open, e);
			if (step == 0)
				rc = TERM_END_DETACH;
		}
		if (step < 0)
			break;
	}
	if (rc == 0)
		rc = -1;
out:
	/* The terminal first: a signal still pending is delivered once the caller's mask is
	 * back, and may end us. SIGWINCH is dropped, nothing cares after us. */
	term_restore(&saved);
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	while (sigtimedwait(&winch, NULL, &zero) > 0)
		;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
