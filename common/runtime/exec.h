/* common/runtime/exec.h - a new process in a running container (DESIGN.md "run": `exec`; issue
 * 6): it joins the container's cgroup and namespaces, takes the container's user (or -u),
 * environment, rlimits, capabilities, no_new_privs and seccomp filter, keeps only fds 0-2 and
 * execs the target directly. What enters the container is a sealed memfd copy of ctrbox, made
 * non-dumpable before it joins anything, and the host's ctrbox file is never executed in
 * there, so nothing in the container can reach or overwrite the host binary through /proc
 * (the runc CVE-2019-5736 class) nor a host descriptor or directory (CVE-2024-21626).
 *
 * Processes: the caller forks a waiter that stays in the host's namespaces, is a child
 * subreaper, and reports to the caller over a socket; the waiter starts the joiner
 * (exec_join.h: cgroup, setns), which forks the process itself inside the container's PID
 * namespace and exits. The waiter journals ExecStarted and ExecDied and outlives the caller
 * when it goes first (-d, detach keys), so the exit is always recorded. */
#ifndef CTRBOX_RUNTIME_EXEC_H
#define CTRBOX_RUNTIME_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

struct exec_opts {
	char *const *argv;         /* COMMAND [ARG...], NULL-terminated, at least COMMAND */
	const char *const *env;    /* -e/--env-file KEY=VALUE or KEY (the caller's), or NULL */
	const char *const *envp;   /* the caller's environment for a bare KEY, or NULL */
	const char *user;          /* -u USER[:GROUP] resolved in the container, or NULL */
	const char *workdir;       /* -w, absolute, or NULL for the container's process.cwd */
	bool privileged;           /* every capability (the seccomp filter stays) */
	bool interactive;          /* stdin is ours; else the container's /dev/null */
	bool detach;               /* 0, 1 and 2 are the container's /dev/null */
	bool tty;                  /* a pty from the container's devpts is 0, 1, 2 and the
	                            * controlling terminal; the caller gets the master */
	unsigned short rows, cols; /* with tty: the initial window size (0: unset) */
	/* Test hook (CTRBOX_TEST_EXEC_PAUSE): the process waits, after joining and before
	 * exec, until this path exists inside the container (at most 30s). NULL: never. */
	const char *pause_path;
};

struct exec_session {
	char id[65];  /* the container's full ID */
	int fd;       /* the waiter's socket */
	int pty_fd;   /* with tty: the pty master, else -1 */
	pid_t pid;    /* the process, as the host sees it */
	pid_t waiter; /* our child */
};
#define EXEC_SESSION_INIT                                                                          \
	{                                                                                          \
		.fd = -1, .pty_fd = -1                                                             \
	}

/* Starts argv in the running container arg names (ID, prefix or name) and returns once it
 * has exec'd, with *s filled. On failure *fail_code is docker's exit code: 127 the command
 * was not found, 126 it cannot be executed, 125 anything else, such as E_INVALID "ARG:
 * container is not running" or a setup step that failed inside the container. Takes no lock;
 * forks; blocks until the process has exec'd or failed. The caller releases *s. */
int exec_start(const struct ctx *ctx, const char *arg, const struct exec_opts *o,
               struct exec_session *s, int *fail_code, struct err *e);

/* Waits for the process to exit: *code is its exit status, or 128+N for signal N. E_IO when
 * the waiter died without telling. Blocks. */
int exec_wait(struct exec_session *s, int *code, struct err *e);

/* Asks the waiter to send sig to the process. Async-signal-safe; errors are ignored. */
void exec_signal(int fd, int sig);

/* Closes the session's descriptors and reaps the waiter when it is done; a waiter still
 * waiting (-d, detached) carries on alone and records the exit. */
void exec_session_release(struct exec_session *s);

#endif
