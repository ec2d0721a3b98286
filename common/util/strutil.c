/* common/util/strutil.c - small string helpers and the edit distance behind "did you mean" */
#include <string.h>

#include "common/util/mem.h"
#include "common/util/strutil.h"

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

bool str_is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

size_t str_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	cleanup_free size_t *row = NULL;
	size_t best;

	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	row = xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}

const char *str_suggest(const char *word, const char *const *candidates)
{
	size_t len = strlen(word), cap = (len + 2) / 3, best_d;
	const char *best = NULL, *prefixed = NULL;
	int n_prefixed = 0;

	if (cap < 1)
		cap = 1;
	if (cap > 3)
		cap = 3;
	best_d = cap + 1;
	for (const char *const *c = candidates; *c; c++) {
		size_t d = str_distance(word, *c, cap);

		if (d < best_d) {
			best_d = d;
			best = *c;
		}
		if (len > 0 && str_starts_with(*c, word)) {
			prefixed = *c;
			n_prefixed++;
		}
	}
	if (best)
		return best;
	return n_prefixed == 1 ? prefixed : NULL;
}

char *str_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		memmove(s, s + 1, strlen(s));
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}
