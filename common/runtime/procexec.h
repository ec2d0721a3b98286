/* common/runtime/procexec.h - what every process ctrbox starts in a container shares, the
 * container's init (init.c) and an exec'd process (exec_join.c) alike: its environment read
 * the docker way, signals put back to their defaults, and the execve along the container's
 * PATH with docker's exit codes and words for what went wrong. */
#ifndef CTRBOX_RUNTIME_PROCEXEC_H
#define CTRBOX_RUNTIME_PROCEXEC_H

#include <stddef.h>

#include "common/util/err.h"

/* The value of key in a KEY=VALUE vector, or NULL. */
const char *env_get(char *const *env, const char *key);

/* Replaces KEY's entry in *env (kv is "KEY=VALUE") or appends a copy of kv. */
void env_put(char ***env, const char *kv);

/* docker's --env-file: KEY=VALUE or KEY lines, appended to *env; blank lines, # comments and
 * CR line ends skipped. At most 1 MiB. */
int env_file_read(const char *path, char ***env, struct err *e);

/* Every signal at its default and none blocked, as a freshly started container process has
 * them: whatever started ctrbox may have ignored some (a shell's background job ignores
 * SIGINT and SIGQUIT), and exec keeps ignores and the mask. Async-signal-safe. */
void procexec_reset_signals(void);

/* execve of argv[0], looked up in env's PATH (or the default PATH) when it has no '/'. Returns
 * only on failure: the exit code docker gives (126 found but not executable, 127 not found,
 * 125 anything else) with its message in msg. Async-signal-safe but for the message. */
int procexec_exec(char *const *argv, char *const *env, char *msg, size_t len);

#endif
