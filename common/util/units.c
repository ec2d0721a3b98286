/* common/util/units.c - sizes, durations and times for people, both ways (DESIGN.md
 * "common/util"); the wording follows docker's so operators read what they expect */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/util/units.h"

/* A decimal number with an optional fraction: integer part and up to 9 fraction digits as
 * nanos (parts per 1e9). Returns the characters used, 0 when there is no number. */
static size_t parse_decimal(const char *s, unsigned long long *ip, long long *frac9, bool *ovf)
{
	const char *p = s;
	unsigned long long v = 0;
	long long f = 0, scale = 100000000;

	*ovf = false;
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (~0ULL - d) / 10)
			*ovf = true;
		else
			v = v * 10 + d;
		p++;
	}
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		p++;
		while (isdigit((unsigned char)*p)) {
			f += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	} else if (p == s) {
		return 0;
	}
	*ip = v;
	*frac9 = f;
	return (size_t)(p - s);
}

/* v * mult + frac9 * mult / 1e9, or -1 on overflow. */
static int64_t scaled(unsigned long long v, long long frac9, int64_t mult)
{
	if (v > (unsigned long long)(INT64_MAX / mult))
		return -1;
	return (int64_t)v * mult + (int64_t)((long double)frac9 * mult / 1e9L);
}

int units_parse_duration(const char *s, int64_t *out_ns, struct err *e)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {{"ns", 1},
	             {"us", 1000},
	             {"ms", NSEC_PER_MSEC},
	             {"s", NSEC_PER_SEC},
	             {"m", 60 * NSEC_PER_SEC},
	             {"h", 3600 * NSEC_PER_SEC},
	             {"d", 86400 * NSEC_PER_SEC}};
	const char *p = s;
	int64_t total = 0;

	if (!*s)
		return err_set(e, E_INVALID, "duration \"\": empty");
	if (*s == '-')
		return err_set(e, E_INVALID, "duration \"%s\": negative", s);
	while (*p) {
		unsigned long long v;
		long long f;
		bool ovf;
		size_t n = parse_decimal(p, &v, &f, &ovf), ul = 0;
		int64_t mult = 0, add;

		if (!n)
			return err_set(e, E_INVALID, "duration \"%s\": expected a number at \"%s\"",
			               s, p);
		p += n;
		while (isalpha((unsigned char)p[ul]))
			ul++;
		if (ul == 0 && p == s + strlen(s) && total == 0 && p - n == s) {
			mult = NSEC_PER_SEC; /* a bare number is seconds */
		} else {
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strlen(units[i].name) == ul &&
				    strncmp(p, units[i].name, ul) == 0)
					mult = units[i].ns;
			if (!mult)
				return err_set(e, E_INVALID,
				               ul ? "duration \"%s\": unknown unit \"%.*s\""
				                  : "duration \"%s\": missing unit%.*s",
				               s, (int)ul, p);
		}
		p += ul;
		add = ovf ? -1 : scaled(v, f, mult);
		if (add < 0 || total > INT64_MAX - add)
			return err_set(e, E_INVALID, "duration \"%s\": too large", s);
		total += add;
	}
	*out_ns = total;
	return 0;
}

int units_parse_size(const char *s, int64_t *out_bytes, struct err *e)
{
	static const char pows[] = "kmgtp";
	unsigned long long v;
	long long f;
	bool ovf;
	size_t n;
	int64_t mult = 1, r;
	const char *u;

	if (!*s)
		return err_set(e, E_INVALID, "size \"\": empty");
	if (*s == '-')
		return err_set(e, E_INVALID, "size \"%s\": negative", s);
	n = parse_decimal(s, &v, &f, &ovf);
	if (!n)
		return err_set(e, E_INVALID, "size \"%s\": expected a number", s);
	u = s + n;
	if (*u) {
		const char *pw = strchr(pows, tolower((unsigned char)*u));

		if (strcasecmp(u, "b") == 0) {
			mult = 1;
		} else if (!pw || !*pw) {
			return err_set(e, E_INVALID, "size \"%s\": unknown unit \"%s\"", s, u);
		} else {
			const char *rest = u + 1;

			if (*rest && strcasecmp(rest, "b") != 0 && strcasecmp(rest, "ib") != 0)
				return err_set(e, E_INVALID, "size \"%s\": unknown unit \"%s\"", s,
				               u);
			for (int i = 0; i <= pw - pows; i++)
				mult *= 1024;
		}
	}
	r = ovf ? -1 : scaled(v, f, mult);
	if (r < 0)
		return err_set(e, E_INVALID, "size \"%s\": too large", s);
	*out_bytes = r;
	return 0;
}

/* Three significant digits without an exponent. */
static void fmt3(double v, const char *unit, char *buf, size_t n)
{
	if (v >= 100 || v == (long long)v)
		snprintf(buf, n, "%.0f%s", v, unit);
	else if (v >= 10)
		snprintf(buf, n, "%.1f%s", v, unit);
	else
		snprintf(buf, n, "%.2f%s", v, unit);
	/* Trim trailing zeros of a fraction: "1.20MB" -> "1.2MB". */
	char *dot = strchr(buf, '.');
	if (dot) {
		char *end =
		    dot + strcspn(dot, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		char *z = end;

		while (z > dot + 1 && z[-1] == '0')
			z--;
		if (z == dot + 1)
			z = dot;
		memmove(z, end, strlen(end) + 1);
	}
}

void units_format_size(int64_t bytes, char *buf, size_t n)
{
	static const char *const u[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	double v = (double)(bytes < 0 ? 0 : bytes);
	size_t i = 0;

	/* Move up a unit when three digits would round to 1000 ("999.9kB" reads "1MB"). */
	while (v >= 999.5 && i + 1 < sizeof(u) / sizeof(u[0])) {
		v /= 1000;
		i++;
	}
	fmt3(v, u[i], buf, n);
}

void units_format_duration(int64_t ns, char *buf, size_t n)
{
	long long secs = ns / NSEC_PER_SEC, mins = secs / 60;
	long long hours = (long long)((double)ns / 3600e9 + 0.5);

	if (secs < 1)
		snprintf(buf, n, "Less than a second");
	else if (secs == 1)
		snprintf(buf, n, "1 second");
	else if (secs < 60)
		snprintf(buf, n, "%lld seconds", secs);
	else if (mins == 1)
		snprintf(buf, n, "About a minute");
	else if (mins < 60)
		snprintf(buf, n, "%lld minutes", mins);
	else if (hours == 1)
		snprintf(buf, n, "About an hour");
	else if (hours < 48)
		snprintf(buf, n, "%lld hours", hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, n, "%lld days", hours / 24);
	else if (hours < 24 * 30 * 2)
		snprintf(buf, n, "%lld weeks", hours / 24 / 7);
	else if (hours < 24 * 365 * 2)
		snprintf(buf, n, "%lld months", hours / 24 / 30);
	else
		snprintf(buf, n, "%lld years", (long long)((double)ns / 3600e9 / 24 / 365));
}

void units_format_ago(int64_t then_ns, int64_t now_ns, char *buf, size_t n)
{
	char d[40];

	units_format_duration(now_ns > then_ns ? now_ns - then_ns : 0, d, sizeof(d));
	snprintf(buf, n, "%s ago", d);
}

void units_format_elapsed(int64_t ns, char *buf, size_t n)
{
	if (ns < 0)
		ns = 0;
	if (ns < 1000)
		snprintf(buf, n, "%lldns", (long long)ns);
	else if (ns < NSEC_PER_MSEC)
		fmt3((double)ns / 1e3, "us", buf, n);
	else if (ns < NSEC_PER_SEC)
		fmt3((double)ns / 1e6, "ms", buf, n);
	else if (ns < 60 * NSEC_PER_SEC)
		fmt3((double)ns / 1e9, "s", buf, n);
	else if (ns < 3600 * NSEC_PER_SEC)
		snprintf(buf, n, "%lldm%llds", (long long)(ns / (60 * NSEC_PER_SEC)),
		         (long long)(ns / NSEC_PER_SEC % 60));
	else
		snprintf(buf, n, "%lldh%lldm", (long long)(ns / (3600 * NSEC_PER_SEC)),
		         (long long)(ns / (60 * NSEC_PER_SEC) % 60));
}

void units_format_rfc3339(int64_t ns, bool nanos, char *buf, size_t n)
{
	time_t secs = (time_t)(ns / NSEC_PER_SEC);
	long frac = (long)(ns % NSEC_PER_SEC);
	struct tm tm;
	char base[40];

	if (frac < 0) {
		frac += NSEC_PER_SEC;
		secs--;
	}
	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nanos)
		snprintf(buf, n, "%s.%09ldZ", base, frac);
	else
		snprintf(buf, n, "%sZ", base);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int units_parse_rfc3339(const char *s, int64_t *out_ns, struct err *e)
{
	struct tm tm = {0};
	int Y, M, D, h, m, sec, oh = 0, om = 0;
	const char *p = s;
	int64_t frac = 0, ns, secs;
	time_t t;

	if (strlen(s) < 20 || digits(p, 4, &Y) || p[4] != '-' || digits(p + 5, 2, &M) ||
	    p[7] != '-' || digits(p + 8, 2, &D) || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
	    digits(p + 11, 2, &h) || p[13] != ':' || digits(p + 14, 2, &m) || p[16] != ':' ||
	    digits(p + 17, 2, &sec))
		return err_set(e, E_INVALID,
		               "time \"%s\": expected RFC 3339 like 2026-11-22T10:04:05Z", s);
	p += 19;
	if (*p == '.') {
		int64_t scale = 100000000;

		p++;
		if (!isdigit((unsigned char)*p))
			return err_set(e, E_INVALID, "time \"%s\": empty fraction", s);
		while (isdigit((unsigned char)*p)) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && !digits(p + 1, 2, &oh) && p[3] == ':' &&
	           !digits(p + 4, 2, &om)) {
		int sign = *p == '-' ? -1 : 1;

		oh *= sign;
		om *= sign;
		p += 6;
	} else {
		return err_set(e, E_INVALID, "time \"%s\": expected Z or an offset like +02:00", s);
	}
	if (*p)
		return err_set(e, E_INVALID, "time \"%s\": trailing characters", s);
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || oh > 23 ||
	    oh < -23 || om > 59 || om < -59)
		return err_set(e, E_INVALID, "time \"%s\": out of range", s);
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	t = timegm(&tm);
	secs = (int64_t)t - oh * 3600 - om * 60;
	/* before 1970 the fraction is taken from the next second up, so the earliest time that
	 * fits is not lost to an intermediate product that does not */
	if (secs < 0 && frac > 0) {
		secs++;
		frac -= NSEC_PER_SEC;
	}
	/* Nanoseconds since 1970 in 64 bits reach from 1677-09-21T00:12:43.145224192Z to
	 * 2262-04-11T23:47:16.854775807Z: beyond, the product would wrap into a wrong time. */
	if (__builtin_mul_overflow(secs, NSEC_PER_SEC, &ns) ||
	    __builtin_add_overflow(ns, frac, &ns))
		return err_set(e, E_INVALID,
		               "time \"%s\": out of range (ctrbox's times run from "
		               "1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z)",
		               s);
	*out_ns = ns;
	return 0;
}

int units_parse_time(const char *s, int64_t now_ns, int64_t *out_ns, struct err *e)
{
	int64_t d = 0;
	size_t len = strlen(s);
	bool all_digits = len > 0 && strspn(s, "0123456789") == len;

	if (all_digits && len <= 12) {
		long long v = 0;

		for (const char *p = s; *p; p++)
			v = v * 10 + (*p - '0');
		if (v > INT64_MAX / NSEC_PER_SEC)
			return err_set(
			    e, E_INVALID,
			    "time \"%s\": out of range (Unix seconds up to %lld, in 2262)", s,
			    (long long)(INT64_MAX / NSEC_PER_SEC));
		*out_ns = (int64_t)v * NSEC_PER_SEC;
		return 0;
	}
	if (len == 10 && s[4] == '-' && s[7] == '-') {
		char full[32];

		snprintf(full, sizeof(full), "%sT00:00:00Z", s);
		return units_parse_rfc3339(full, out_ns, e);
	}
	if (len >= 20 && s[4] == '-')
		return units_parse_rfc3339(s, out_ns, e);
	if (units_parse_duration(s, &d, NULL) == 0) {
		*out_ns = now_ns - d;
		return 0;
	}
	return err_set(
	    e, E_INVALID,
	    "time \"%s\": expected RFC 3339, a date, Unix seconds or a duration like 10m", s);
}

void units_format_status(enum units_status st, int exit_code, int64_t started_ns,
                         int64_t finished_ns, int64_t now_ns, char *buf, size_t n)
{
	char d[UNITS_BUFSZ];

	switch (st) {
	case STATUS_CREATED:
		snprintf(buf, n, "Created");
		break;
	case STATUS_RUNNING:
	case STATUS_PAUSED:
		units_format_duration(now_ns > started_ns ? now_ns - started_ns : 0, d, sizeof(d));
		snprintf(buf, n, "Up %s%s", d, st == STATUS_PAUSED ? " (Paused)" : "");
		break;
	case STATUS_STOPPED:
		units_format_ago(finished_ns, now_ns, d, sizeof(d));
		snprintf(buf, n, "Exited (%d) %s", exit_code, d);
		break;
	case STATUS_UNKNOWN:
	default:
		snprintf(buf, n, "Unknown (shim lost)");
		break;
	}
}
