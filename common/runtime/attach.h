/* common/runtime/attach.h - the shim's attach socket (DESIGN.md "run": STATE/containers/<id>/
 * attach.sock): a unix stream socket over which the shim sends each attached client a hello
 * (tty? stdin?), the container's output as frames, notices, and the exit code as the last
 * frame; clients send input and window sizes. `run` in the foreground and `attach` stream
 * through it with an attach_session. */
#ifndef CTRBOX_RUNTIME_ATTACH_H
#define CTRBOX_RUNTIME_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

enum attach_kind {
	ATTACH_STDOUT = 1,
	ATTACH_STDERR = 2,
	ATTACH_EXIT = 3,   /* payload: the exit code as 4 bytes, host order */
	ATTACH_STDIN = 4,  /* client to shim (run -i): the container's input; empty: end of it
	                    * (ignored with a terminal: a tty has no end of input to give) */
	ATTACH_RESIZE = 5, /* client to shim: struct attach_winsize, for the container's tty */
	ATTACH_NOTICE = 6, /* shim to client: a message for the client's user ("output dropped:
	                    * client too slow") */
	ATTACH_HELLO = 7,  /* shim to client, first: enum attach_hello_flags as 4 bytes */
};
#define ATTACH_KIND_MAX ATTACH_HELLO

enum attach_hello_flags {
	ATTACH_HELLO_TTY = 1 << 0,   /* the container's stdio is a pty (run -t) */
	ATTACH_HELLO_STDIN = 1 << 1, /* the container takes input from clients (run -i) */
};

struct attach_winsize {
	uint16_t rows, cols;
};

/* A frame: kind, 3 zero bytes, payload length (host order), payload. */
struct attach_hdr {
	uint8_t kind;
	uint8_t pad[3];
	uint32_t len;
};

#define ATTACH_PAYLOAD_MAX 65536

/* STATE/containers/<id>/attach.sock; the caller frees. */
char *attach_path(const struct ctx *ctx, const char *id);

/* Connects to the container's attach socket; E_NOTFOUND when no shim listens. */
int attach_connect(const struct ctx *ctx, const char *id, int *out, struct err *e);

/* Binds and listens on the socket (non-blocking, close-on-exec), replacing a stale file. */
int attach_listen(const struct ctx *ctx, const char *id, int *out, struct err *e);

/* Sends one frame without blocking: a client that cannot take it whole is E_BUSY (the shim
 * drops it rather than stall the container's output). */
int attach_send(int fd, enum attach_kind kind, const void *data, size_t len, struct err *e);

/* Sends one frame, waiting as long as the peer needs (run's side). */
int attach_write(int fd, enum attach_kind kind, const void *data, size_t len, struct err *e);

/* Reads one frame into buf (ATTACH_PAYLOAD_MAX bytes); 0 and *kind 0 at end of stream. */
int attach_recv(int fd, enum attach_kind *kind, void *buf, size_t *len, struct err *e);

/* The shim's side of one client: output it has not taken yet is queued, boundedly, so a slow
 * client never blocks the container; its frames in are assembled without blocking. */
#define ATTACH_CLIENT_BUF_MAX (1 << 20)

struct attach_client {
	int fd;                     /* non-blocking; -1: a free slot */
	char *q;                    /* whole frames the socket has not taken */
	size_t q_off, q_len, q_cap; /* q[q_off, q_len) is pending */
	uint64_t dropped;           /* payload bytes dropped since the last notice */
	struct attach_hdr ih;       /* the frame coming in */
	size_t ih_got, ib_got;
	char *ib;
};

void attach_client_init(struct attach_client *c, int fd);
/* Closes the socket and frees the queues; the slot is free again. */
void attach_client_close(struct attach_client *c);

/* Sends one frame, queuing what the socket does not take; never blocks. Unless force, a frame
 * that would take the queue past limit bytes is dropped and counted, and before the next frame
 * that fits the client gets an ATTACH_NOTICE "output dropped: client too slow (N bytes)".
 * -1: the client is gone (the caller closes it). */
int attach_client_send(struct attach_client *c, enum attach_kind kind, const void *data, size_t len,
                       size_t limit, bool force);

/* Whether output waits in the queue (poll for POLLOUT). */
bool attach_client_pending(const struct attach_client *c);

/* Sends what the socket takes of the queue; -1: the client is gone. */
int attach_client_flush(struct attach_client *c);

/* Reads what is there of the next frame: 1 with a whole frame in *kind, *data (the caller
 * frees; NULL when empty) and *len; 0 when more is to come; -1 when the client hung up or
 * broke the framing. */
int attach_client_read(struct attach_client *c, enum attach_kind *kind, char **data, size_t *len);

/* A client's side of one attachment: frames from the shim to out_fd/err_fd, notices to a
 * callback, the exit code kept. Its step/input/resize functions fit term_relay (term.h). */
struct attach_session {
	int fd;             /* the connected socket (the caller's) */
	int out_fd, err_fd; /* where ATTACH_STDOUT/STDERR payloads go (1 and 2) */
	unsigned flags;     /* enum attach_hello_flags, once the hello arrived */
	bool hello, exited;
	int32_t code; /* the container's exit code, once exited */
	void (*on_notice)(void *arg, const char *msg);
	void *arg;
	char *buf; /* ATTACH_PAYLOAD_MAX, owned */
};

void attach_session_init(struct attach_session *s, int fd);
void attach_session_release(struct attach_session *s);

/* Reads frames until the shim's hello (the first frame); E_IO when the stream ends first. */
int attach_session_hello(struct attach_session *s, struct err *e);

/* Reads and handles one frame: 1 goes on, 0 at the exit frame or the end of the stream
 * (s->exited says which), -1 on a broken stream. A write error on out_fd/err_fd is ignored: a
 * closed stdout is no reason to miss the exit code. arg is the session (term_relay's on_peer). */
int attach_session_step(void *arg, struct err *e);

/* Sends our input (len 0: its end) and our window size; arg is the session. */
int attach_session_input(void *arg, const void *buf, size_t len, struct err *e);
int attach_session_resize(void *arg, unsigned short rows, unsigned short cols, struct err *e);

#endif
