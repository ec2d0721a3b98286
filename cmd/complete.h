/* cmd/complete.h - the in-process completer behind `ctrbox __complete` and the shell's TAB
 * (cmd/complete.c, ctrbox-shell(1)): one function, so bash and the shell offer the same. */
#ifndef CTRBOX_CMD_COMPLETE_H
#define CTRBOX_CMD_COMPLETE_H

#include <stdio.h>

#include "common/util/ctx.h"

/* What the shell should do besides offering the candidates (bit flags). */
enum comp_directive {
	DIR_DEFAULT = 0,    /* no candidates: fall back to file names */
	DIR_ERROR = 1,      /* the line cannot be completed (unknown applet) */
	DIR_NOSPACE = 2,    /* no space after the candidate (--format=, status=) */
	DIR_NOFILE = 4,     /* no file names */
	DIR_FILTER_EXT = 8, /* file names with an extension (unused) */
	DIR_DIRS = 16,      /* directory names only */
};

/* Prints the candidates for the command line w[0..n-1] (the words after "ctrbox", the last one
 * being completed, possibly "") to f, one a line as "candidate" or "candidate TAB description",
 * and returns the directive. Global --root/--state on the line redirect ctx->path, so the
 * caller passes a context it can spare. Reads the store without any lock; never prints to
 * stderr. */
int complete_words(struct ctx *ctx, int n, char **w, FILE *f);

#endif
