/* common/runtime/shim_io.h - the shim's streams (DESIGN.md lesson 3, "run"; shim.h): the
 * container's output to its log and to attach clients, each with a bounded queue, clients'
 * input to the container's stdin or pty and their window sizes, in one poll loop that also
 * reaps. shim.c keeps the lifecycle around it; both share struct shim, which only they use. */
#ifndef CTRBOX_RUNTIME_SHIM_IO_H
#define CTRBOX_RUNTIME_SHIM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/runtime/attach.h"
#include "common/runtime/cgroup.h"
#include "common/runtime/crilog.h"
#include "common/runtime/shim.h"
#include "common/runtime/spec.h"
#include "common/store/container_record.h"
#include "common/util/ctx.h"

#define SHIM_MAX_CLIENTS 8

struct shim {
	const struct ctx *ctx;
	const struct shim_opts *o;
	char *name;
	char *cdir, *sdir;
	struct spec spec;
	struct cgroup cg;
	bool have_cg;
	struct crilog *log;
	int64_t log_max_bytes; /* container.json's, or 0 for the default */
	int log_max_files;
	int status_fd, listen_fd, sig_fd;
	int out_fd, err_fd;
	int pty_fd;   /* run -t: the master of the container's terminal (its output and input) */
	int mnt_fd;   /* the container's mount namespace, held until its exit is reported */
	int in_fd;    /* run -i without -t: the write end of the container's stdin, or -1 */
	char *in_buf; /* one ATTACH_STDIN frame not yet taken by the container */
	size_t in_len, in_off;
	int in_client; /* the client feeding stdin, or -1 */
	struct attach_client clients[SHIM_MAX_CLIENTS];
	pid_t pid;
	int wstatus;
	bool exited;
	struct container_state st;
};

/* Foreground `run`: holds the container's start until a client attached, `run` went away (its
 * status socket closed), or 10 s passed. Blocks. */
void shim_io_wait_attach(struct shim *s);

/* Relays until the init was reaped and its output ended: output to the log and every client
 * (never blocking on one), client input to the container, SIGCHLD reaped (the init's status
 * into s->wstatus and s->exited; orphans as subreaper). Blocks. */
void shim_io_loop(struct shim *s);

/* Queues one frame for every client; with force past a full queue (the exit frame). A client
 * whose socket failed is closed. */
void shim_io_broadcast(struct shim *s, enum attach_kind k, const void *data, size_t len,
                       bool force);

/* Gives what is queued a moment (at most 5 s) to reach slow clients, then closes every
 * client. Blocks up to that bound. */
void shim_io_drain(struct shim *s);

#endif
