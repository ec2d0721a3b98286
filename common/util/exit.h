/* common/util/exit.h - the only list of exit codes (STYLE.md "Exit codes", ctrbox(1)) */
#ifndef CTRBOX_UTIL_EXIT_H
#define CTRBOX_UTIL_EXIT_H

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* a failure, also a partial failure over several arguments */
	EXIT_USAGE = 2, /* bad command line: unknown applet or option, bad value */
};

/* run: docker's convention; otherwise the container's own status (128+N for signal N). */
enum {
	EXIT_RUN_ERROR = 125,
	EXIT_RUN_NOEXEC = 126,
	EXIT_RUN_NOTFOUND = 127,
};

/* diagnose: the monitoring-plugin convention. */
enum {
	EXIT_DIAG_OK = 0,
	EXIT_DIAG_WARNING = 1,
	EXIT_DIAG_CRITICAL = 2,
	EXIT_DIAG_UNKNOWN = 3,
};

#endif
