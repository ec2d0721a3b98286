/* common/node/diag_parse.c - the parsers the node checks share: PSI, meminfo, /proc/PID/stat,
 * /proc/PID/sched and /dev/kmsg records (DESIGN.md "diagnose"; issue 8) */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/node/diag.h"
#include "common/util/mem.h"

/* Parses "avg10=1.00 avg60=2.00 avg300=3.00 total=N" after the some/full word. */
static int psi_line(const char *p, double *a10, double *a60, double *a300)
{
	int n = 0;

	if (sscanf(p, " avg10=%lf avg60=%lf avg300=%lf total=%*u%n", a10, a60, a300, &n) < 3 ||
	    n == 0)
		return -1;
	return 0;
}

int psi_parse(const char *text, struct psi *out, struct err *e)
{
	struct psi p = {0};
	bool some = false;
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, "some", 4) == 0) {
			if (psi_line(line + 4, &p.some_avg10, &p.some_avg60, &p.some_avg300) < 0)
				return err_set(e, E_INVALID, "malformed PSI line \"%.*s\"",
				               (int)(nl ? nl - line : (long)strlen(line)), line);
			some = true;
		} else if (strncmp(line, "full", 4) == 0) {
			if (psi_line(line + 4, &p.full_avg10, &p.full_avg60, &p.full_avg300) < 0)
				return err_set(e, E_INVALID, "malformed PSI line \"%.*s\"",
				               (int)(nl ? nl - line : (long)strlen(line)), line);
			p.has_full = true;
		} else if (*line != '\n') {
			return err_set(e, E_INVALID, "unexpected PSI line \"%.*s\"",
			               (int)(nl ? nl - line : (long)strlen(line)), line);
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!some)
		return err_set(e, E_INVALID, "no \"some\" line in PSI text");
	*out = p;
	return 0;
}

int meminfo_get(const char *text, const char *key, int64_t *out, struct err *e)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(p + klen + 1, &end, 10);
			if (errno || end == p + klen + 1 || v < 0)
				return err_set(e, E_INVALID, "meminfo %s: not a number", key);
			while (*end == ' ')
				end++;
			if (strncmp(end, "kB", 2) == 0)
				v *= 1024;
			*out = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return err_set(e, E_NOTFOUND, "meminfo has no %s", key);
}

int proc_stat_parse(const char *text, struct proc_stat *out, struct err *e)
{
	const char *lp = strchr(text, '('), *rp = strrchr(text, ')');
	struct proc_stat s = {0};
	unsigned long long start = 0;
	const char *p;
	size_t n;
	int field;

	if (!lp || !rp || rp < lp || rp[1] != ' ' || !rp[2])
		return err_set(e, E_INVALID, "malformed stat line");
	n = (size_t)(rp - lp - 1);
	if (n >= sizeof(s.comm))
		n = sizeof(s.comm) - 1;
	memcpy(s.comm, lp + 1, n);
	s.state = rp[2];
	if (sscanf(rp + 3, " %d", &s.ppid) != 1)
		return err_set(e, E_INVALID, "malformed stat line: no ppid");
	/* starttime is field 22; field 3 is the state right after the ')' */
	p = rp + 2;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return err_set(e, E_INVALID, "malformed stat line: no starttime");
	s.starttime = start;
	*out = s;
	return 0;
}

int sched_exec_start_parse(const char *text, int64_t *out_ns, struct err *e)
{
	const char *p = strstr(text, "se.exec_start");
	long long ms = 0;
	unsigned long long frac = 0;
	int fl = 0, n0 = 0, n1 = 0;

	if (!p)
		return err_set(e, E_NOTFOUND, "no se.exec_start in sched");
	p = strchr(p, ':');
	if (!p || sscanf(p + 1, " %n%lld.%n%llu%n", &n0, &ms, &n1, &frac, &fl) < 2)
		return err_set(e, E_INVALID, "malformed se.exec_start");
	/* the fraction is printed with 6 digits: nanoseconds of the millisecond */
	fl -= n1;
	while (fl < 6) {
		frac *= 10;
		fl++;
	}
	while (fl > 6) {
		frac /= 10;
		fl--;
	}
	*out_ns = (int64_t)ms * 1000000 + (int64_t)frac;
	return 0;
}

int kmsg_record_parse(const char *line, size_t len, struct kmsg_record *out, struct err *e)
{
	struct kmsg_record r = {0};
	const char *semi = memchr(line, ';', len);
	unsigned long long pri, seq, usec;
	char head[128];
	size_t hl;

	if (!semi || (hl = (size_t)(semi - line)) >= sizeof(head) || hl == 0)
		return err_set(e, E_INVALID, "malformed kmsg record");
	memcpy(head, line, hl);
	head[hl] = '\0';
	if (!isdigit((unsigned char)head[0]) ||
	    sscanf(head, "%llu,%llu,%llu", &pri, &seq, &usec) != 3)
		return err_set(e, E_INVALID, "malformed kmsg record header \"%s\"", head);
	r.level = (int)(pri & 7);
	r.seq = seq;
	r.usec = usec;
	r.msg = semi + 1;
	r.msg_len = len - hl - 1;
	while (r.msg_len && (r.msg[r.msg_len - 1] == '\n' || r.msg[r.msg_len - 1] == '\r'))
		r.msg_len--;
	*out = r;
	return 0;
}

int64_t diag_percentile(const int64_t *sorted, size_t n, double pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)((pct / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}
