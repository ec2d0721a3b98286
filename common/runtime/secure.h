/* common/runtime/secure.h - the container process's privileges (DESIGN.md "run": user,
 * capabilities, no_new_privs, seccomp, resource limits, only fds 0-2 at exec). Called in the
 * container's init after the rootfs is in place, in this order: secure_rlimits, secure_user
 * (which also trims capabilities), secure_no_new_privs, secure_seccomp, secure_close_fds. */
#ifndef CTRBOX_RUNTIME_SECURE_H
#define CTRBOX_RUNTIME_SECURE_H

#include "common/runtime/spec.h"
#include "common/util/err.h"

int secure_rlimits(const struct spec *s, struct err *e);

/* Drops every capability outside s->caps from the bounding set, clears the ambient and
 * inheritable sets, switches to uid/gid/groups keeping s->caps permitted and effective. */
int secure_user(const struct spec *s, struct err *e);

int secure_no_new_privs(const struct spec *s, struct err *e);

/* Loads the spec's seccomp rules (default allow, rules as given) with libseccomp. Syscalls the
 * kernel or libseccomp does not know are skipped. */
int secure_seccomp(const struct spec *s, struct err *e);

/* Marks every descriptor from 3 up close-on-exec (close_range), so only 0, 1 and 2 survive
 * exec, and a descriptor kept to report a failed exec closes when exec succeeds. */
int secure_close_fds(struct err *e);

#endif
