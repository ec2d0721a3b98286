/* common/runtime/rootfs.h - the container's file system, built inside its own mount namespace
 * (DESIGN.md lesson 2 and "run"): the overlay (or a bundle's rootfs bound), the spec's mounts
 * resolved inside the rootfs, /dev with the standard nodes and symlinks, pivot_root, masked and
 * read-only paths. Runs in the container's init before exec; nothing here allocates much. */
#ifndef CTRBOX_RUNTIME_ROOTFS_H
#define CTRBOX_RUNTIME_ROOTFS_H

#include <stdbool.h>

#include "common/runtime/spec.h"
#include "common/util/err.h"

/* Makes every mount private to this namespace, then mounts overlay data opts at target from
 * the directory chdir_to (opts may hold lowerdirs relative to it), or with bind_src set binds
 * that directory on target instead. */
int rootfs_mount_root(const char *target, const char *chdir_to, const char *opts,
                      const char *bind_src, struct err *e);

/* Mounts the spec's mounts under rootfs (each destination resolved inside it, created when
 * missing), fills /dev, creates the working directory (as docker does), pivots into rootfs,
 * then masks, makes paths read-only and the root read-only as the spec says. cgroup_v2 picks
 * how a "cgroup" mount is made. before_cgroup(arg), when given, is called once: before the
 * first "cgroup" mount, or after the last mount when there is none, and before /dev is
 * filled (the init waits there to be moved into its cgroup and enters its cgroup namespace,
 * so the mounts before it overlap with the shim's work). Afterwards "/" is the container's
 * root. */
int rootfs_setup(const struct spec *s, const char *rootfs, bool cgroup_v2,
                 void (*before_cgroup)(void *arg), void *arg, struct err *e);

#endif
