/* common/runtime/seccomp_dl.h - libseccomp, opened on first use (common/util/dynlib.h). */
#ifndef CTRBOX_RUNTIME_SECCOMP_DL_H
#define CTRBOX_RUNTIME_SECCOMP_DL_H

#include "common/util/err.h"

/* Loads libseccomp now, so that a missing library is an error with its reason rather than a
 * failed seccomp_init. Call it before the first seccomp_init, and before pivot_root: the
 * container's root has no host library to open. */
int seccomp_dl_require(struct err *e);

#endif
