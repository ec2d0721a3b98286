/* common/node/diag_clock.c - the clock check: is the kernel clock synchronised (adjtimex(2): no
 * STA_UNSYNC, a small maxerror)? Tokens, certificates and event times depend on it (DESIGN.md
 * "diagnose"; issue 8). adjtimex is reached through env->adjtimex so tests inject its answer. */
#include <sys/timex.h>

#include "common/node/diag.h"
#include "common/util/units.h"

int diag_check_clock(const struct diag_env *env, struct diag_result *r)
{
	static const char remedy[] =
	    "run an NTP client (chronyd, systemd-timesyncd) and check that it reaches its servers";
	struct timex t = {0};
	int rc = env->adjtimex(&t);
	int64_t maxerr_ns;
	char a[UNITS_BUFSZ];

	if (rc < 0) {
		diag_set(r, DIAG_UNKNOWN, NULL, NULL, "adjtimex failed");
		return 0;
	}
	maxerr_ns = (int64_t)t.maxerror * 1000; /* microseconds */
	diag_num(r, "synchronised", !(t.status & STA_UNSYNC) && rc != TIME_ERROR);
	diag_num(r, "status_flags", (double)t.status);
	diag_num(r, "max_error_seconds", (double)maxerr_ns / 1e9);
	diag_num(r, "est_error_seconds", (double)t.esterror / 1e6);
	units_format_elapsed(maxerr_ns, a, sizeof(a));
	if ((t.status & STA_UNSYNC) || rc == TIME_ERROR)
		diag_set(r, maxerr_ns >= env->th.clock_max_error_fail_ns ? DIAG_FAIL : DIAG_WARN,
		         "ClockUnsynchronised", remedy,
		         "the clock is not synchronised (maximum error %s)", a);
	else if (maxerr_ns >= env->th.clock_max_error_fail_ns)
		diag_set(r, DIAG_FAIL, "ClockUnsynchronised", remedy,
		         "synchronised, but the maximum error is %s", a);
	else if (maxerr_ns >= env->th.clock_max_error_warn_ns)
		diag_set(r, DIAG_WARN, "ClockUnsynchronised", remedy,
		         "synchronised, but the maximum error is %s", a);
	else
		diag_set(r, DIAG_OK, NULL, NULL, "synchronised (maximum error %s)", a);
	return 0;
}
