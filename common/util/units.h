/* common/util/units.h - human-friendly sizes, durations and times, both ways (DESIGN.md
 * "common/util"). Formatting follows docker's wording so operators read what they expect. */
#ifndef CTRBOX_UTIL_UNITS_H
#define CTRBOX_UTIL_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

#define NSEC_PER_SEC  1000000000LL
#define NSEC_PER_MSEC 1000000LL

/* Parses a duration: "500ms", "10s", "5m", "2h", "1d", "1h30m", "1.5s"; units ns, us, ms, s, m,
 * h, d; a bare number is seconds. Negative, overflowing or malformed input is E_INVALID. */
int units_parse_duration(const char *s, int64_t *out_ns, struct err *e);

/* Parses a size: "100" (bytes), "512k", "64M", "64MiB", "1.5G", "2T". As docker's --memory,
 * k/m/g/t/p (any case, optional "b" or "ib") are powers of 1024. E_INVALID on bad input. */
int units_parse_size(const char *s, int64_t *out_bytes, struct err *e);

/* "512B", "2kB", "12.3MB", "1.23GB": decimal units, three significant digits (docker's
 * HumanSize). Writes at most n bytes including the NUL. */
void units_format_size(int64_t bytes, char *buf, size_t n);

/* "Less than a second", "1 second", "5 seconds", "About a minute", "5 minutes",
 * "About an hour", "3 hours", "2 days", "3 weeks", "4 months", "2 years" (docker's
 * HumanDuration). */
void units_format_duration(int64_t ns, char *buf, size_t n);

/* "<duration> ago", or "Less than a second ago"; a time in the future reads "Less than a
 * second ago" rather than a negative. */
void units_format_ago(int64_t then_ns, int64_t now_ns, char *buf, size_t n);

/* A precise short duration for figures: "850us", "12.3ms", "1.24s", "2m3s". */
void units_format_elapsed(int64_t ns, char *buf, size_t n);

/* RFC 3339 in UTC: "2026-11-22T10:04:05Z", or with nanoseconds "2026-11-22T10:04:05.123456789Z". */
void units_format_rfc3339(int64_t ns, bool nanos, char *buf, size_t n);

/* Parses RFC 3339 with any fraction and a Z or +hh:mm offset. E_INVALID on bad input, and on a
 * time that nanoseconds since 1970 cannot hold in 64 bits (before 1677-09-21T00:12:44Z or after
 * 2262-04-11T23:47:16Z). */
int units_parse_rfc3339(const char *s, int64_t *out_ns, struct err *e);

/* A point in time as operators write it: RFC 3339, a date "2026-11-22", Unix seconds
 * ("1700000000"), or a duration ago ("10m", "2h") counted back from now_ns. */
int units_parse_time(const char *s, int64_t now_ns, int64_t *out_ns, struct err *e);

/* Container status as docker words it. */
enum units_status {
	STATUS_CREATED,
	STATUS_RUNNING,
	STATUS_PAUSED,
	STATUS_STOPPED, /* exited */
	STATUS_UNKNOWN, /* the shim is gone */
};
/* "Created", "Up 5 minutes", "Exited (0) 2 hours ago", "Unknown (shim lost)". */
void units_format_status(enum units_status st, int exit_code, int64_t started_ns,
			 int64_t finished_ns, int64_t now_ns, char *buf, size_t n);

#define UNITS_BUFSZ 64

#endif
