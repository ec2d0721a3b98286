/* common/util/strutil.h - small string helpers: prefixes, splitting, edit distance for
 * "did you mean" suggestions */
#ifndef CTRBOX_UTIL_STRUTIL_H
#define CTRBOX_UTIL_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* True when s is non-empty and every character is a lowercase hex digit. */
bool str_is_hex(const char *s);
/* Levenshtein distance, capped: returns cap+1 once the distance exceeds cap. */
size_t str_distance(const char *a, const char *b, size_t cap);
/* The candidate closest to word within a small distance (a third of its length rounded up, at least
 * 1, at most 3), or a unique candidate word is a prefix of; NULL when none is close.
 * candidates ends with NULL. */
const char *str_suggest(const char *word, const char *const *candidates);
/* Removes leading and trailing ASCII whitespace in place; returns s. */
char *str_trim(char *s);

#endif
