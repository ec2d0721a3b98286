/* common/runtime/attach.h - the shim's attach socket (DESIGN.md "run": STATE/containers/<id>/
 * attach.sock): a unix stream socket over which the shim sends each attached client the
 * container's output as frames, and the exit code as the last frame. `run` in the foreground
 * streams through it. */
#ifndef CTRBOX_RUNTIME_ATTACH_H
#define CTRBOX_RUNTIME_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

enum attach_kind {
	ATTACH_STDOUT = 1,
	ATTACH_STDERR = 2,
	ATTACH_EXIT = 3,  /* payload: the exit code as 4 bytes, host order */
	ATTACH_STDIN = 4, /* client to shim (run -i): the container's input; empty: end of it */
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

#endif
