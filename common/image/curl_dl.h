/* common/image/curl_dl.h - libcurl, opened on first use (common/util/dynlib.h). */
#ifndef CTRBOX_IMAGE_CURL_DL_H
#define CTRBOX_IMAGE_CURL_DL_H

#include "common/util/err.h"

/* Loads libcurl now, so that a missing library is an error with its reason rather than a
 * failed handle; every user calls it before its first curl function. */
int curl_dl_require(struct err *e);

#endif
