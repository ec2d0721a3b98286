/* common/node/prom.c - Prometheus text exposition into a buffer (DESIGN.md "diagnose"; issue 8) */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/node/prom.h"
#include "common/util/mem.h"

void prom_family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			buf_adds(b, "\\\\");
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *p);
	}
	buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

char *prom_escape(const char *v)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "");
	for (const char *p = v; *p; p++) {
		if (*p == '\\')
			buf_adds(&b, "\\\\");
		else if (*p == '"')
			buf_adds(&b, "\\\"");
		else if (*p == '\n')
			buf_adds(&b, "\\n");
		else
			buf_addc(&b, *p);
	}
	return buf_take(&b);
}

char *prom_name(const char *s)
{
	char *n = xstrdup(*s ? s : "_");

	for (char *p = n; *p; p++)
		if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':' ||
		      (p > n && isdigit((unsigned char)*p))))
			*p = '_';
	return n;
}

void prom_sample(struct buf *b, const char *name, double value, size_t n, const char *const *kv)
{
	buf_adds(b, name);
	if (n) {
		buf_addc(b, '{');
		for (size_t i = 0; i < n; i++) {
			cleanup_free char *v = prom_escape(kv[2 * i + 1]);

			buf_printf(b, "%s%s=\"%s\"", i ? "," : "", kv[2 * i], v);
		}
		buf_addc(b, '}');
	}
	if (isnan(value))
		buf_adds(b, " NaN\n");
	else if (isinf(value))
		buf_adds(b, value > 0 ? " +Inf\n" : " -Inf\n");
	else if (value < 1e15 && value > -1e15 && value == (double)(long long)value)
		buf_printf(b, " %lld\n", (long long)value);
	else
		buf_printf(b, " %.15g\n", value);
}

void prom_histogram(struct buf *b, const char *name, const char *help, const double *le,
                    const uint64_t *buckets, size_t n, uint64_t count, double sum)
{
	cleanup_free char *bucket = xasprintf("%s_bucket", name);
	cleanup_free char *sum_name = xasprintf("%s_sum", name);
	cleanup_free char *count_name = xasprintf("%s_count", name);
	char v[32];
	const char *kv[2] = {"le", v};

	prom_family(b, name, "histogram", help);
	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%g", le[i]);
		prom_sample(b, bucket, (double)buckets[i], 1, kv);
	}
	snprintf(v, sizeof(v), "+Inf");
	prom_sample(b, bucket, (double)count, 1, kv);
	prom_sample(b, sum_name, sum, 0, NULL);
	prom_sample(b, count_name, (double)count, 0, NULL);
}

void prom_checks(struct buf *b, const char *const *names, const struct diag_result *r, size_t n)
{
	prom_family(b, "ctrbox_check_status", "gauge",
	            "Status of a ctrbox diagnose check: 0 OK, 1 WARN, 2 FAIL, 3 UNKNOWN.");
	for (size_t i = 0; i < n; i++) {
		const char *kv[] = {"check", names[i]};

		prom_sample(b, "ctrbox_check_status", r[i].status, 1, kv);
	}
	prom_family(
	    b, "ctrbox_check_evidence", "gauge",
	    "A number a ctrbox diagnose check read, by check and key (the key names the unit).");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < r[i].n_ev; k++) {
			const char *kv[] = {"check", names[i], "key", r[i].ev[k].key};

			if (!r[i].ev[k].text)
				prom_sample(b, "ctrbox_check_evidence", r[i].ev[k].num, 2, kv);
		}
}
