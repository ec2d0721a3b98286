/* common/util/ctx.h - the context every call that touches the outside world takes (STYLE.md
 * "The context, not globals"). cmd/main.c fills it; common/ only reads it. */
#ifndef CTRBOX_UTIL_CTX_H
#define CTRBOX_UTIL_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config;

enum out_format {
	OUT_TABLE = 0, /* aligned columns for people */
	OUT_JSON,      /* one JSON document (an array for listings) */
	OUT_JSONL,     /* one JSON object per line */
};

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

struct ctx {
	struct {
		const char *root;   /* ROOT: survives reboots (/var/lib/ctrbox) */
		const char *state;  /* STATE: tmpfs, gone at reboot (/run/ctrbox) */
		const char *proc;   /* host /proc, injectable for fixture trees */
		const char *sys;    /* host /sys */
		const char *dev;    /* host /dev */
		const char *cgroup; /* the cgroup mount root (/sys/fs/cgroup) */
	} path;
	struct {
		/* Where each setting came from: "flag", "env", "config" or "default". */
		const char *root, *state, *config, *log_level, *proc, *sys, *dev, *cgroup;
	} origin;
	const char *config_path;  /* the config file in effect (may not exist) */
	const struct config *cfg; /* never NULL once main.c has built the context */
	const char *applet;       /* the running applet's name, for messages */
	enum out_format fmt;
	bool quiet;    /* -q: IDs only */
	bool no_trunc; /* --no-trunc: full IDs in tables */
	bool tty;      /* stdout is a terminal */
	enum log_level verbosity;
	FILE *out, *err;
	int64_t (*now_ns)(void); /* the wall clock (CLOCK_REALTIME ns); fixed in tests */
};

/* The real wall clock, in nanoseconds since the epoch. */
int64_t ctx_clock_realtime(void);
/* A monotonic clock in nanoseconds, for measuring durations. */
int64_t ctx_clock_monotonic(void);

#endif
