/* common/image/isal_dl.h - ISA-L's inflate, opened on first use (common/util/dynlib.h). */
#ifndef CTRBOX_IMAGE_ISAL_DL_H
#define CTRBOX_IMAGE_ISAL_DL_H

#include "common/util/err.h"

/* Loads libisal now, so that a missing library is an error with its reason rather than a
 * layer that fails to inflate; called before the first isal_inflate_init. */
int isal_dl_require(struct err *e);

#endif
