/* common/image/archive_dl.h - libarchive, opened on first use (common/util/dynlib.h). */
#ifndef CTRBOX_IMAGE_ARCHIVE_DL_H
#define CTRBOX_IMAGE_ARCHIVE_DL_H

#include "common/util/err.h"

/* Loads libarchive now, so that a missing library is an error with its reason; called before
 * the first archive_read_new. */
int archive_dl_require(struct err *e);

#endif
