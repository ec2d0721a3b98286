/* common/runtime/init.h - the container's first process between clone and exec (DESIGN.md
 * "run": namespaces, overlay rootfs, /proc, /dev, hostname, user, capabilities,
 * no_new_privs, seccomp, then exec). It reports a failure to the shim over a pipe, with the
 * exit code docker would use: 127 command not found, 126 not executable, 125 anything else. */
#ifndef CTRBOX_RUNTIME_INIT_H
#define CTRBOX_RUNTIME_INIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/runtime/secure.h"
#include "common/runtime/spec.h"

/* What the init sends on the report pipe when it cannot exec; nothing (EOF) means exec
 * succeeded. */
struct init_report {
	int32_t code;
	char msg[1024];
};

struct init_args {
	const struct spec *spec;
	const char *rootfs;       /* the mount point (ROOT/containers/<id>/rootfs, or a bundle's) */
	const char *overlay_opts; /* overlay data, lowerdirs relative to overlay_dir; or NULL */
	const char *overlay_dir;  /* chdir here before mounting the overlay */
	const char *bind_src;     /* a bundle's rootfs to bind on rootfs instead; or NULL */
	bool cgroup_v2;
	int go_fd;          /* one byte arrives when the shim has put us into the cgroup (the
	                     * init mounts the overlay and what precedes the first cgroup
	                     * mount meanwhile); then the seccomp filter (init_send_filter),
	                     * the last thing the init waits for before exec */
	int report_fd;      /* close-on-exec: EOF at the shim means exec happened */
	int out_fd, err_fd; /* become 1 and 2 (-1 with a console) */
	int in_fd;          /* becomes 0 (run -i), or -1 for the container's /dev/null */
	int console_fd;     /* spec.terminal: a unix socket to send the pty master over, or -1 */
	int netns_fd;       /* a network namespace the shim made, loopback up, to join instead
	                     * of one from the clone (netns.h); or -1 */
};

/* The shim's end of go_fd after the "go" byte: the compiled seccomp filter (its length, then
 * its instructions; length 0 for none). The init execs only once it has it, so a foreground
 * run sends it after its client attached. */
int init_send_filter(int fd, const struct secure_filter *f, struct err *e);

/* Never returns: execs the container's command or _exits with the report's code. With a
 * console_fd, once the container's /dev/pts is mounted and the root pivoted, it opens
 * /dev/ptmx there (the container's own devpts instance), makes the pty's slave its
 * controlling terminal in a new session and its fds 0-2, and sends the master over
 * console_fd with SCM_RIGHTS (init_recv_console is the shim's end). */
__attribute__((noreturn)) void init_container(const struct init_args *a);

/* The shim's end of console_fd: the pty master the init sent (close-on-exec). Call it once
 * the init has exec'd or died (its end of the socket then closes, so this never hangs);
 * E_IO when no descriptor came. */
int init_recv_console(int fd, int *master, struct err *e);

#endif
