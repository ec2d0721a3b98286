/* common/util/yaml_dl.h - libyaml, opened on first use (common/util/dynlib.h). */
#ifndef CTRBOX_UTIL_YAML_DL_H
#define CTRBOX_UTIL_YAML_DL_H

#include "common/util/err.h"

/* Loads libyaml now, so that a missing library is an error with its reason rather than a
 * parser that fails to initialise (which reads as out of memory); called before the first
 * yaml_parser_initialize. */
int yaml_dl_require(struct err *e);

#endif
