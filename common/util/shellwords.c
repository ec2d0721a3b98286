/* common/util/shellwords.c - command line word splitting for ctrbox shell (ctrbox-shell(1)). */
#include <stdbool.h>
#include <string.h>

#include "common/util/buf.h"
#include "common/util/mem.h"
#include "common/util/shellwords.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void words_push(char ***v, size_t *n, size_t *cap, char *w)
{
	if (*n + 2 > *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = w;
	(*v)[*n] = NULL;
}

int shellwords_split(const char *line, unsigned flags, char ***out, size_t *n, struct err *e)
{
	bool partial = flags & SHELLWORDS_PARTIAL;
	cleanup_strv char **v = xcalloc(1, sizeof(*v));
	size_t count = 0, cap = 1;
	const char *p = line;

	for (;;) {
		struct buf w;
		char quote = 0;

		while (is_blank(*p))
			p++;
		if (!*p) {
			/* A blank at the very end starts the word being completed. */
			if (partial && p > line && is_blank(p[-1]))
				words_push(&v, &count, &cap, xstrdup(""));
			break;
		}
		if (*p == '#' && !partial)
			break;
		buf_init(&w);
		for (; *p; p++) {
			char c = *p;

			if (quote == '\'') {
				if (c == '\'')
					quote = 0;
				else
					buf_addc(&w, c);
			} else if (quote == '"') {
				if (c == '"') {
					quote = 0;
				} else if (c == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
					buf_addc(&w, *++p);
				} else {
					buf_addc(&w, c);
				}
			} else if (is_blank(c)) {
				break;
			} else if (c == '\'' || c == '"') {
				quote = c;
			} else if (c == '\\') {
				if (!p[1]) {
					if (partial)
						continue;
					buf_release(&w);
					return err_set(e, E_INVALID, "trailing backslash");
				}
				buf_addc(&w, *++p);
			} else {
				buf_addc(&w, c);
			}
		}
		if (quote && !partial) {
			buf_release(&w);
			return err_set(e, E_INVALID, "unterminated %s quote",
				       quote == '"' ? "double" : "single");
		}
		words_push(&v, &count, &cap, buf_take(&w));
		if (quote) /* partial: the open quote ran to the end of the line */
			break;
	}
	*n = count;
	*out = TAKE_PTR(v);
	return 0;
}
