/* common/util/shellwords.h - splitting a command line into words the way a shell does, without
 * variables or globs (ctrbox-shell(1)): blanks separate words, '...' is literal, "..." keeps
 * blanks and honours \" \\ \$ \`, a backslash outside quotes takes the next character
 * literally, and an unquoted '#' at the start of a word begins a comment. */
#ifndef CTRBOX_UTIL_SHELLWORDS_H
#define CTRBOX_UTIL_SHELLWORDS_H

#include <stddef.h>

#include "common/util/err.h"

enum shellwords_flags {
	/* For completion of a line still being typed: an unterminated quote or a trailing
	 * backslash ends the last word instead of failing, a line that ends in a blank gets an
	 * empty last word (the one being started), and '#' is an ordinary character. */
	SHELLWORDS_PARTIAL = 1 << 0,
};

/* Splits line into words. On success *out is a NULL-terminated vector the caller frees with
 * strv_free, *n its length (0 for a blank or comment line). Fails with E_INVALID on an
 * unterminated quote or a trailing backslash (unless SHELLWORDS_PARTIAL). No I/O. */
int shellwords_split(const char *line, unsigned flags, char ***out, size_t *n, struct err *e);

#endif
