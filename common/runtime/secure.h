/* common/runtime/secure.h - the container process's privileges (DESIGN.md "run": user,
 * capabilities, no_new_privs, seccomp, resource limits, only fds 0-2 at exec). Called in the
 * container's init after the rootfs is in place, in this order: secure_rlimits, secure_user
 * (which also trims capabilities), secure_no_new_privs, secure_seccomp, secure_close_fds. */
#ifndef CTRBOX_RUNTIME_SECURE_H
#define CTRBOX_RUNTIME_SECURE_H

#include <linux/filter.h>
#include <stdint.h>

#include "common/runtime/spec.h"
#include "common/util/err.h"

int secure_rlimits(const struct spec *s, struct err *e);

/* Drops every capability outside s->caps from the bounding set, clears the ambient and
 * inheritable sets, switches to uid/gid/groups keeping s->caps permitted and effective. */
int secure_user(const struct spec *s, struct err *e);

int secure_no_new_privs(const struct spec *s, struct err *e);

/* A seccomp filter compiled to classic BPF: built where there is time for it (the shim,
 * while the init mounts the rootfs) and loaded where it must be (the init, just before exec),
 * so libseccomp's 0.7 ms of compiling is off the path to the container's exec. */
#define SECURE_FILTER_MAX 4096 /* BPF_MAXINSNS */
struct secure_filter {
	struct sock_filter *insns; /* owned */
	uint16_t len;              /* 0: no filter */
};

/* Compiles the spec's seccomp rules (default allow, rules as given) with libseccomp; a spec
 * without seccomp gives an empty filter. Syscalls the kernel or libseccomp does not know are
 * skipped. With cache_dir (STATE/seccomp), a program compiled before for the same rules and
 * the same libseccomp is read from there instead, and a new one is written there: containers
 * share a handful of profiles, and compiling one costs the shim 0.7 ms of CPU. The cache is
 * as trusted as the rest of STATE (root's, 0700); the kernel checks every program it loads. */
int secure_seccomp_compile(const struct spec *s, const char *cache_dir,
                           struct secure_filter *out, struct err *e);

/* Loads a compiled filter on the calling thread (no_new_privs set first, as libseccomp
 * does); an empty filter is nothing to do. */
int secure_seccomp_load(const struct secure_filter *f, struct err *e);

void secure_filter_release(struct secure_filter *f);

/* Compile and load in one: for a process that has no one to compile it beforehand (exec). */
int secure_seccomp(const struct spec *s, struct err *e);

/* Marks every descriptor from 3 up close-on-exec (close_range), so only 0, 1 and 2 survive
 * exec, and a descriptor kept to report a failed exec closes when exec succeeds. */
int secure_close_fds(struct err *e);

#endif
