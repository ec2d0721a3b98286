/* common/runtime/term.h - the client's side of an interactive container (DESIGN.md "run": `-t`
 * "puts the local terminal in raw mode and restores it on every exit path, forwards
 * window-size changes"; `attach`, `exec -t`): raw mode with a saved termios, the window size,
 * docker's detach keys (parser and scanner), and one poll loop relaying our stdin to the
 * container, the container's output to us, SIGWINCH as resizes, and SIGINT/SIGTERM/SIGHUP to a
 * callback instead of killing us in raw mode. */
#ifndef CTRBOX_RUNTIME_TERM_H
#define CTRBOX_RUNTIME_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "common/util/err.h"

#define TERM_KEYS_MAX       16
#define TERM_DETACH_DEFAULT "ctrl-p,ctrl-q"

/* A detach sequence: the bytes, in order. */
struct term_keys {
	unsigned char seq[TERM_KEYS_MAX];
	size_t len;
};

/* Parses docker's --detach-keys syntax: comma-separated keys, each one character ("a", ",") or
 * "ctrl-X" for X in a-z (either case), @, [, \, ], ^, _. E_INVALID names the bad key. */
int term_keys_parse(const char *spec, struct term_keys *out, struct err *e);

/* The scanner's state over a stream of input bytes. */
struct term_scan {
	const struct term_keys *keys; /* NULL or empty: never detaches */
	size_t matched;               /* bytes of keys held back, not yet forwarded */
};

/* Feeds n input bytes. Writes the bytes to forward to out, which must hold n + TERM_KEYS_MAX
 * bytes, and returns how many: a partial match is held back and forwarded once the match fails.
 * Sets *detach when the whole sequence arrived; the bytes after it are dropped. */
size_t term_scan_feed(struct term_scan *s, const void *in, size_t n, void *out, bool *detach);

/* A terminal's settings saved by term_raw, for term_restore. */
struct term_saved {
	int fd; /* -1: nothing to restore */
	struct termios tio;
};
#define TERM_SAVED_INIT                                                                            \
	{                                                                                          \
		.fd = -1                                                                           \
	}

/* Puts the terminal fd into raw mode (cfmakeraw: no echo, no line editing, no signals from
 * keys, no output processing), saving its settings in *saved first. E_INVALID when fd is not
 * a terminal. */
int term_raw(int fd, struct term_saved *saved, struct err *e);

/* Restores what term_raw saved (TCSADRAIN) and forgets it; idempotent. Only tcsetattr, so
 * safe in a signal handler or atexit. */
void term_restore(struct term_saved *saved);
#define cleanup_term __attribute__((cleanup(term_restore)))

/* The window size of terminal fd. */
int term_winsize(int fd, unsigned short *rows, unsigned short *cols, struct err *e);

/* Sets the window size of a pty (the master, in the shim). */
int term_set_winsize(int fd, unsigned short rows, unsigned short cols, struct err *e);

/* How term_relay ended. */
enum term_end {
	TERM_END_PEER = 1, /* the peer ended (on_peer returned 0, or EOF on a raw peer_fd) */
	TERM_END_DETACH,   /* the detach keys were typed */
	TERM_END_SIGNAL,   /* on_signal asked to stop; *sig says which */
};

struct term_relay {
	int in_fd;   /* our input (0), or -1 for none */
	int tty_fd;  /* the terminal whose size is sent (0 with -t), or -1 */
	int peer_fd; /* the container's side: readable means on_peer, or raw output */
	int out_fd;  /* with on_peer NULL: where peer_fd's bytes are copied (1) */
	bool raw;    /* tty_fd is raw for the loop's duration (signals blocked first, restored
	              * before they are unblocked, so no path leaves the terminal raw) */
	const struct term_keys *detach; /* scan in_fd for these, or NULL */
	/* Input bytes read from in_fd (len 0: EOF, then in_fd is no longer read). -1 ends the
	 * relay with the error in e. */
	int (*on_input)(void *arg, const void *buf, size_t len, struct err *e);
	/* peer_fd is readable: 1 goes on, 0 ends (TERM_END_PEER), -1 is an error. NULL: copy
	 * peer_fd to out_fd raw until EOF. */
	int (*on_peer)(void *arg, struct err *e);
	/* The window size, once at the start and after each SIGWINCH (with tty_fd >= 0). */
	int (*on_resize)(void *arg, unsigned short rows, unsigned short cols, struct err *e);
	/* SIGINT, SIGTERM or SIGHUP arrived: true ends the relay (TERM_END_SIGNAL). NULL: end. */
	bool (*on_signal)(void *arg, int sig);
	void *arg;
};

/* Runs the loop until the peer ends, the detach keys, a signal that ends it, or an error (-1).
 * SIGINT, SIGTERM, SIGHUP and SIGWINCH are blocked for its duration and read through a
 * signalfd, so none of them kills us while the terminal is raw; with r->raw the terminal is
 * restored, then the caller's mask (a signal that arrived after the loop ended is delivered
 * then). Blocks on poll; returns the enum term_end, with the signal in *sig. */
int term_relay_run(const struct term_relay *r, int *sig, struct err *e);

#endif
