/* common/runtime/shim.h - the per-container shim (DESIGN.md lesson 3): started by `run` through
 * an intermediate that exits so it is reparented to PID 1 or the nearest subreaper, in its own
 * session with stdio on /dev/null and no inherited descriptors but its status socket. It is a child
 * subreaper and the container's parent: it creates the namespaces, starts the init
 * (init.h), reaps it and any orphans, records state.json, writes the CRI log, serves the
 * attach socket, emits Started, Died and OOMKilled, cleans up the cgroup (and with --rm the
 * container), and exits. With process.terminal it holds the master of the container's pty
 * (the init sends it), relays its output, and takes input and window sizes from clients.
 * Output never waits for a client: each has a bounded queue (ATTACH_CLIENT_BUF_MAX) past
 * which its output is dropped with a notice; the log gets everything. */
#ifndef CTRBOX_RUNTIME_SHIM_H
#define CTRBOX_RUNTIME_SHIM_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

struct shim_opts {
	const char *id;      /* NULL: started before the container exists; the id and overlay come
	                      * later in a struct shim_start (static shim only) */
	bool rm;             /* remove the container after it exits */
	bool wait_attach;    /* hold the container until a client attaches (or `run` is gone) */
	bool open_stdin;     /* run -i: the container's stdin is what attach clients send */
	const char *overlay; /* the rootfs overlay's mount data (container_overlay_options), or
	                      * NULL for a bundle's rootfs (config.json root.path) */
	bool netns;          /* run's side: the container will have a network namespace of its
	                      * own, so the early shim makes it while it waits (netns.h) */
	bool have_netns;     /* the shim's side: netns_fd is that namespace, for the init */
	int netns_fd;
	const char *early_id; /* run's side: the container's id, chosen before its records, so
	                       * the early shim makes its cgroup meanwhile (shim_cgroup.h) */
	bool cgroup_ready;    /* the shim's side: the container's cgroup directories and the
	                       * default device rules exist already */
};

/* What the shim tells `run` over the status socket. */
enum shim_msg_kind {
	SHIM_READY = 1, /* listening on attach.sock; pid is the shim */
	SHIM_STARTED,   /* exec happened; pid is the container's init */
	SHIM_FAILED,    /* the container did not start: code 125/126/127 and msg */
};

struct shim_msg {
	int32_t kind, code, pid;
	char msg[1024];
};

/* What `run` sends a shim started early (shim_opts.id NULL) once the container's records are
 * written: its id, and the overlay's mount data ("" for a bundle's rootfs). Overlay data is
 * at most a page, as mount(2) takes. */
#define SHIM_OVERLAY_MAX 4096
struct shim_start {
	char id[72];
	char overlay[SHIM_OVERLAY_MAX];
};

/* How much heap `run` and the shim fault in up front (mem_prefault_heap): about what each
 * touches before the container starts, counted with perf's exceptions:page_fault_user. */
#define RUN_HEAP_PREFAULT  (256u << 10)
#define SHIM_HEAP_PREFAULT (256u << 10)

/* The small static shim program (ctrbox-shim) beside the running ctrbox binary, or NULL when
 * there is none (then `ctrbox __shim` serves). The caller frees. */
char *shim_binary(void);

/* `run`'s side: starts the shim with the roots and host paths of ctx and returns the status
 * socket: shim_bin, or with NULL this ctrbox binary's `__shim` applet. An intermediate that
 * shares run's memory (so nothing is copied) makes a new session, starts the shim and exits
 * as soon as the shim has exec'd: the shim is orphaned, adopted by PID 1 or the nearest
 * subreaper, and never forks to get there. With starter NULL it blocks until the
 * intermediate is reaped; otherwise it returns at once with the intermediate's pid in
 * *starter, for shim_starter_wait once the caller's own work is done. */
int shim_spawn(const struct ctx *ctx, const char *shim_bin, const struct shim_opts *o,
               int *status_fd, pid_t *starter, struct err *e);

/* Reaps the intermediate shim_spawn left running: E_IO when it failed (no shim then). */
int shim_starter_wait(pid_t starter, struct err *e);

/* Reads the next message; E_IO when the shim died without saying (the socket closed). */
int shim_read_msg(int fd, struct shim_msg *m, struct err *e);

/* `run`'s side, for a shim started early: sends the container's id and overlay data (or NULL).
 * E_INVALID when the overlay data is longer than a page. */
int shim_send_start(int fd, const char *id, const char *overlay, struct err *e);

/* The early shim's side: waits for shim_send_start's message. E_IO when `run` closed the socket
 * first (no container was made), E_INVALID for a malformed id. */
int shim_read_start(int fd, struct shim_start *out, struct err *e);

/* The shim itself, from the hidden `__shim` applet: runs the container to its end. Returns the
 * shim's exit status (0 once the container ran, 125 when it could not be started). */
int shim_main(const struct ctx *ctx, const struct shim_opts *o, int status_fd);

#endif
