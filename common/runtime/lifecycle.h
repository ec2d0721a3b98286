/* common/runtime/lifecycle.h - stop, kill and remove a container (DESIGN.md "run": `stop`,
 * `kill`, `rm`). The container's init is signalled through a pidfd opened and then checked
 * against the pid_start_time in state.json, so a reused PID is never signalled. The shim, the
 * container's parent, records the exit; when the shim is gone these record it themselves. */
#ifndef CTRBOX_RUNTIME_LIFECYCLE_H
#define CTRBOX_RUNTIME_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

/* How long a container may take to die after SIGKILL, and the shim to record it. */
#define RT_KILL_WAIT_NS   (10LL * 1000000000LL)
#define RT_RECORD_WAIT_NS (5LL * 1000000000LL)

/* The signal names kill -s offers for completion (any case, SIG prefix optional). */
#define RT_SIGNAL_WORDS                                                                            \
	"HUP|INT|QUIT|ILL|TRAP|ABRT|BUS|FPE|KILL|USR1|SEGV|USR2|PIPE|ALRM|TERM|STKFLT|CHLD|CONT|"  \
	"STOP|TSTP|TTIN|TTOU|URG|XCPU|XFSZ|VTALRM|PROF|WINCH|IO|PWR|SYS"

/* Parses a signal as operators write it: "KILL", "SIGKILL", "kill", "9", "RTMIN+3". E_INVALID
 * "signal \"X\": unknown" for anything else (0 and numbers past SIGRTMAX included). */
int rt_signal_parse(const char *s, int *out, struct err *e);

/* /proc/PID/stat's starttime (field 22, clock ticks since boot) of a live, non-zombie pid under
 * ctx->path.proc. E_NOTFOUND when the process is gone or a zombie. */
int rt_proc_start_time(const struct ctx *ctx, int pid, uint64_t *out, struct err *e);

/* Stops the container arg names (ID, prefix or name): its image's StopSignal (else SIGTERM) to
 * its init, SIGKILL once timeout_ns has passed, then waits (at most RT_KILL_WAIT_NS and
 * RT_RECORD_WAIT_NS) until state.json says exited. A container that is not running is
 * success. Takes the container's lock only to record an exit the shim cannot (shim gone). */
int rt_stop(const struct ctx *ctx, const char *arg, int64_t timeout_ns, struct err *e);

/* rt_stop for several containers at once (at most RT_STOP_PARALLEL threads), so stopping N
 * containers takes about one timeout, not N. errs[i] (n of them, ERR_INIT on entry) gets the
 * result for args[i]; returns how many failed. */
#define RT_STOP_PARALLEL 32
size_t rt_stop_all(const struct ctx *ctx, char *const *args, size_t n, int64_t timeout_ns,
                   struct err *errs);

/* Sends sig to the container's init; E_INVALID "ARG: container is not running". No lock, no
 * wait. */
int rt_kill(const struct ctx *ctx, const char *arg, int sig, struct err *e);

/* Removes the container: its STATE and ROOT directories (records, config.json, log, upper and
 * work dirs, never following a symlink), its cgroup and its name, then journals Removed. A
 * running container is E_BUSY unless force, which SIGKILLs it first and waits for it and its
 * shim to exit (bounded). Takes the container's lock for the removal only. */
int rt_remove(const struct ctx *ctx, const char *arg, bool force, struct err *e);

#endif
