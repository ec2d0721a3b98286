/* common/util/log.c - diagnostics on stderr, filtered by --log-level */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util/log.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *log_level_name(enum log_level level)
{
	if ((size_t)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "debug";
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

void log_msg(const struct ctx *ctx, enum log_level level, const char *fmt, ...)
{
	FILE *f = ctx && ctx->err ? ctx->err : stderr;
	va_list ap;

	if (ctx && level > ctx->verbosity)
		return;
	if (ctx && ctx->applet)
		fprintf(f, "ctrbox %s: %s: ", ctx->applet, log_level_name(level));
	else
		fprintf(f, "ctrbox: %s: ", log_level_name(level));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}
