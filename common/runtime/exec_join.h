/* common/runtime/exec_join.h - the inside half of `exec` (exec.h; DESIGN.md "run"; issue 6):
 * what the waiter hands the joining process, and the joining process itself. The joiner is
 * not the running ctrbox: it is ctrbox copied into a sealed memfd and executed from there as
 * the hidden `__exec` applet, so nothing that enters the container ever has the host's ctrbox
 * file as its /proc/PID/exe; not even a target whose #! line names /proc/self/exe can reach
 * the host binary to overwrite it (the runc CVE-2019-5736 exploit). Private to runtime/. */
#ifndef CTRBOX_RUNTIME_EXEC_JOIN_H
#define CTRBOX_RUNTIME_EXEC_JOIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/runtime/cgroup.h"
#include "common/runtime/spec.h"

/* What travels on the SOCK_SEQPACKET sockets: joiner and process to the waiter, waiter to the
 * caller and back. One message per send; EOF once every copy of the other end is closed. */
enum exec_msg_kind {
	EXEC_MSG_PID = 1, /* joiner -> waiter: the process's host PID */
	EXEC_MSG_PTY,     /* process -> waiter -> caller: the pty master rides along */
	EXEC_MSG_FAILED,  /* -> caller: code (125/126/127) and msg; the process did not exec */
	EXEC_MSG_STARTED, /* waiter -> caller: exec happened; pid */
	EXEC_MSG_EXITED,  /* waiter -> caller: code */
	EXEC_MSG_SIGNAL,  /* caller -> waiter: send code to the process */
};

struct exec_msg {
	int32_t kind, code, pid;
	char msg[1024];
};

/* Sends m, with pass_fd as SCM_RIGHTS when >= 0. 0 or -1 (errno). Async-signal-safe. */
int exec_msg_send(int fd, const struct exec_msg *m, int pass_fd);
/* 1 with a message (and a passed descriptor in *got_fd, close-on-exec, or -1), 0 at EOF, -1
 * on error. */
int exec_msg_recv(int fd, struct exec_msg *m, int *got_fd);

/* The namespaces in the order they are joined: the mount namespace last, once nothing needs
 * the host's file system any more (the PID namespace takes effect for children only). */
#define EXEC_N_NS 6
extern const struct exec_ns {
	const char *name; /* under /proc/PID/ns/ */
	int type;         /* CLONE_NEW* */
} exec_ns_order[EXEC_N_NS];

/* Everything the joiner and the process need. */
struct exec_job {
	struct spec spec; /* the container's, with the command and the merged environment */
	char *user;       /* -u, or NULL */
	char *workdir;    /* -w, or NULL for spec.cwd */
	char *pause_path; /* the test hook, or NULL */
	bool privileged, interactive, detach, tty;
	bool home_given; /* -e set HOME: -u does not replace it */
	unsigned short rows, cols;
	struct cgroup cg;
	bool have_cg;
	int ns[EXEC_N_NS]; /* open namespace files in exec_ns_order, -1: not joined */
};

void exec_job_release(struct exec_job *j);


/* In a child of the waiter, still in the host's namespaces: copies self_exe (the host's
 * <proc>/self/exe) into a memfd sealed against writes and executes it as `ctrbox __exec`
 * with rfd, the job and the namespace files on descriptors 3 and up. Never returns: a failure
 * is reported on rfd and exits. */
__attribute__((noreturn)) void exec_join_spawn(const char *self_exe, const struct exec_job *j,
                                               int rfd);

/* The `__exec` applet: makes itself non-dumpable, reads the job, joins the container's cgroup
 * and namespaces, forks the process inside its PID namespace, reports its PID and exits; the
 * process sets itself up and execs the target. Never returns. */
__attribute__((noreturn)) void exec_join_main(void);

#endif
