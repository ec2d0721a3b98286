/* cmd/applet.h - what every applet file needs: the applet descriptor, the option table and
 * parser, and every ctrbox_<name>() entry point (STYLE.md "An applet file"). Help text, the man
 * page synopsis and shell completion are all generated from these tables. */
#ifndef CTRBOX_CMD_APPLET_H
#define CTRBOX_CMD_APPLET_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"
#include "common/util/exit.h"

/* What completion offers for an option's value or an applet's arguments. */
enum comp {
	COMP_NONE = 0,          /* nothing (a free-form value) */
	COMP_FILE,              /* file names */
	COMP_DIR,               /* directory names only */
	COMP_WORDS,             /* the fixed words in opt.words / applet.words, "a|b|c" */
	COMP_APPLET,            /* applet names */
	COMP_CONTAINER,         /* container IDs and names */
	COMP_CONTAINER_RUNNING, /* running containers only */
	COMP_CONTAINER_STOPPED, /* containers not running (all with the applet's --force) */
	COMP_IMAGE,             /* image references */
};

enum opt_flags {
	OPT_HIDDEN = 1 << 0, /* accepted, not shown in --help */
};

/* Long-only options use ids from OPT_LONG upwards. */
#define OPT_LONG 256

struct opt {
	int id;           /* the short letter, or OPT_LONG + n for long-only options */
	const char *name; /* the --long-name, kebab-case */
	const char *arg;  /* the value's name in capitals (DURATION), or NULL for a flag */
	const char *help;
	enum comp comp;    /* completion of the value */
	const char *words; /* for COMP_WORDS: "table|json" */
	unsigned flags;    /* enum opt_flags */
};

enum applet_flags {
	AP_HIDDEN = 1 << 0,      /* not listed (e.g. __complete) */
	AP_NO_PLAIN = 1 << 1,    /* its name shadows a system tool: no plain-name link */
	AP_OUTPUT = 1 << 2,      /* takes --format, -q and --no-trunc (parsed into the context) */
	AP_WRITES_STORE = 1 << 3, /* creates ROOT/STATE before running */
	AP_ARGS_STOP = 1 << 4,   /* options end at the first argument (run IMAGE CMD...) */
	AP_NO_CONFIG = 1 << 5,   /* runs without loading the config (help, completion) */
};

struct ctx;

struct applet {
	const char *name;
	int (*main)(struct ctx *ctx, int argc, char **argv);
	const struct opt *opts; /* ends with a zeroed entry; may be NULL */
	unsigned flags;         /* enum applet_flags */
	const char *usage;      /* "stop [-t DURATION] CONTAINER..." without "ctrbox " */
	const char *summary;    /* one line, lowercase, no full stop */
	const char *description; /* a paragraph for --help, or NULL */
	enum comp complete_args;
	const char *words; /* for complete_args == COMP_WORDS */
	const char *formats; /* for AP_OUTPUT: the accepted --format words, "table|json" */
};

/* The version baked in at build time (cmd/main.c). */
extern const char ctrbox_version[];

/* The applet table (cmd/main.c), sorted by name, NULL-terminated. */
extern const struct applet *const applets[];
const struct applet *applet_find(const char *name);

/* The options every applet with AP_OUTPUT accepts, appended to its own in help and parsing. */
extern const struct opt output_opts[];
/* The global options, before the applet (cmd/main.c), and one by long name (len bytes). */
extern const struct opt global_opts[];
const struct opt *global_opt_find(const char *name, size_t len);

struct optparse {
	struct ctx *ctx;
	const struct applet *ap;
	const char *arg; /* the current option's value */
	int argc;        /* after parsing: the arguments that are not options */
	char **argv;
	int rc;          /* when opt_next returns -1: the exit code (0 after --help, 2 on error) */
	/* private */
	int in_argc;
	char **in_argv;
	int idx;
	const char *short_rest;
	bool done;
};

/* Starts parsing argv (argv[0] is the applet name). */
void opt_begin(struct optparse *op, struct ctx *ctx, const struct applet *ap, int argc,
	       char **argv);
/* The next option's id (> 0), 0 when the options are over (op->argc/argv then hold the
 * arguments), or -1 when parsing must stop: --help was printed (op->rc 0) or a usage error
 * was printed (op->rc 2). --format/-q/--no-trunc are handled here for AP_OUTPUT applets. */
int opt_next(struct optparse *op);
/* The applet's option (its own, the output options, --help) by long name (len bytes of name)
 * or by short letter; NULL when it has none. */
const struct opt *opt_find_long(const struct applet *ap, const char *name, size_t len);
const struct opt *opt_find_short(const struct applet *ap, int c);
/* Converters for the current option's value; on a bad value they print a usage error naming
 * the option, set op->rc to 2 and return -1. */
int opt_duration(struct optparse *op, int64_t *out_ns);
int opt_size(struct optparse *op, int64_t *out_bytes);
int opt_uint(struct optparse *op, uint64_t max, uint64_t *out);
/* Prints "ctrbox <applet>: <message>" and a hint to --help; returns EXIT_USAGE. */
int opt_usage_error(struct optparse *op, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints the applet's --help (usage, summary, options) to f. */
void applet_help(const struct applet *ap, FILE *f);
/* Prints ctrbox's own help: usage, the applets, the global options. */
void help_general(FILE *f);
/* Prints an option table's lines ("  -t, --time DURATION   help") to f. */
void help_options(const struct opt *opts, const char *formats, FILE *f);
/* Prints 'unknown applet' with a suggestion to f; returns EXIT_USAGE. */
int help_unknown_applet(const char *name, FILE *f);
/* Prints "ctrbox <applet>: <message>" on ctx->err once and returns EXIT_FAIL. */
int applet_fail(struct ctx *ctx, const struct err *e);
/* Creates the store roots (store_init) or prints why not; 0 or EXIT_FAIL. */
int applet_need_store(struct ctx *ctx);

/* The applets. */
int ctrbox_attach(struct ctx *ctx, int argc, char **argv);
int ctrbox_complete(struct ctx *ctx, int argc, char **argv);
int ctrbox_diagnose(struct ctx *ctx, int argc, char **argv);
int ctrbox_events(struct ctx *ctx, int argc, char **argv);
int ctrbox_exec(struct ctx *ctx, int argc, char **argv);
int ctrbox_exec_join(struct ctx *ctx, int argc, char **argv);
int ctrbox_help(struct ctx *ctx, int argc, char **argv);
int ctrbox_images(struct ctx *ctx, int argc, char **argv);
int ctrbox_info(struct ctx *ctx, int argc, char **argv);
int ctrbox_inspect(struct ctx *ctx, int argc, char **argv);
int ctrbox_kill(struct ctx *ctx, int argc, char **argv);
int ctrbox_logs(struct ctx *ctx, int argc, char **argv);
int ctrbox_metrics(struct ctx *ctx, int argc, char **argv);
int ctrbox_prune(struct ctx *ctx, int argc, char **argv);
int ctrbox_ps(struct ctx *ctx, int argc, char **argv);
int ctrbox_pull(struct ctx *ctx, int argc, char **argv);
int ctrbox_relist(struct ctx *ctx, int argc, char **argv);
int ctrbox_rm(struct ctx *ctx, int argc, char **argv);
int ctrbox_rmi(struct ctx *ctx, int argc, char **argv);
int ctrbox_run(struct ctx *ctx, int argc, char **argv);
int ctrbox_shell(struct ctx *ctx, int argc, char **argv);
int ctrbox_shim(struct ctx *ctx, int argc, char **argv);
int ctrbox_stop(struct ctx *ctx, int argc, char **argv);
int ctrbox_unpack(struct ctx *ctx, int argc, char **argv);

extern const struct applet applet_attach;
extern const struct applet applet_complete;
extern const struct applet applet_diagnose;
extern const struct applet applet_events;
extern const struct applet applet_exec;
extern const struct applet applet_exec_join;
extern const struct applet applet_help_;
extern const struct applet applet_images;
extern const struct applet applet_info;
extern const struct applet applet_inspect;
extern const struct applet applet_kill;
extern const struct applet applet_logs;
extern const struct applet applet_metrics;
extern const struct applet applet_prune;
extern const struct applet applet_ps;
extern const struct applet applet_pull;
extern const struct applet applet_relist;
extern const struct applet applet_rm;
extern const struct applet applet_rmi;
extern const struct applet applet_run;
extern const struct applet applet_shell;
extern const struct applet applet_shim;
extern const struct applet applet_stop;
extern const struct applet applet_unpack;

#endif
