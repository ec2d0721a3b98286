/* common/util/log.h - diagnostics on stderr, filtered by --log-level (never stdout) */
#ifndef CTRBOX_UTIL_LOG_H
#define CTRBOX_UTIL_LOG_H

#include "common/util/ctx.h"

/* Prints "ctrbox <applet>: <level>: <message>" to ctx->err when level <= ctx->verbosity. */
void log_msg(const struct ctx *ctx, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(ctx, ...) log_msg((ctx), LOG_DEBUG, __VA_ARGS__)
#define log_info(ctx, ...)  log_msg((ctx), LOG_INFO, __VA_ARGS__)
#define log_warn(ctx, ...)  log_msg((ctx), LOG_WARN, __VA_ARGS__)

/* Parses "error", "warn"/"warning", "info", "debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

#endif
