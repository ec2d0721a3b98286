/* cmd/main.c - the applet table, argv[0]/argv[1] dispatch, global options and the context
 * (DESIGN.md "Shape of the program"; ctrbox(1)). Settings resolve flag > environment > config
 * file > built-in default, and the context records where each one came from. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/applet.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

#ifndef CTRBOX_VERSION
#define CTRBOX_VERSION "unknown"
#endif

/* Baked in at build time (Makefile: VERSION file plus git describe). */
const char ctrbox_version[] = CTRBOX_VERSION;

#define DEFAULT_ROOT  "/var/lib/ctrbox"
#define DEFAULT_STATE "/run/ctrbox"

/* Sorted by name: applet_find and --list rely on it. */
const struct applet *const applets[] = {
	&applet_complete,
	&applet_exec_join,
	&applet_shim,
	&applet_attach,
	&applet_diagnose,
	&applet_events,
	&applet_exec,
	&applet_help_,
	&applet_images,
	&applet_info,
	&applet_inspect,
	&applet_kill,
	&applet_logs,
	&applet_metrics,
	&applet_prune,
	&applet_ps,
	&applet_pull,
	&applet_relist,
	&applet_rm,
	&applet_rmi,
	&applet_run,
	&applet_shell,
	&applet_stop,
	&applet_unpack,
	NULL,
};

enum {
	G_ROOT = OPT_LONG + 1,
	G_STATE,
	G_CONFIG,
	G_LOG_LEVEL,
	G_DEBUG,
	G_LIST,
	G_INSTALL,
	G_VERSION,
	G_HELP,
};

const struct opt global_opts[] = {
	{G_ROOT, "root", "DIR", "persistent data (default /var/lib/ctrbox; env CTRBOX_ROOT)",
	 COMP_DIR, NULL, 0},
	{G_STATE, "state", "DIR", "runtime state (default /run/ctrbox; env CTRBOX_STATE)", COMP_DIR,
	 NULL, 0},
	{G_CONFIG, "config", "FILE",
	 "config file (default /etc/ctrbox/config.yaml; env CTRBOX_CONFIG)", COMP_FILE, NULL, 0},
	{G_LOG_LEVEL, "log-level", "LEVEL", "diagnostics on stderr", COMP_WORDS,
	 "error|warn|info|debug", 0},
	{G_DEBUG, "debug", NULL, "same as --log-level debug", COMP_NONE, NULL, 0},
	{G_LIST, "list", NULL, "list the applets", COMP_NONE, NULL, 0},
	{G_INSTALL, "install", "DIR", "make ctrbox-APPLET and APPLET links in DIR", COMP_DIR, NULL,
	 0},
	{G_VERSION, "version", NULL, "print the version", COMP_NONE, NULL, 0},
	{G_HELP, "help", NULL, "print this help", COMP_NONE, NULL, 0},
	{0},
};

const struct applet *applet_find(const char *name)
{
	for (const struct applet *const *a = applets; *a; a++)
		if (strcmp((*a)->name, name) == 0)
			return *a;
	return NULL;
}

/* What the command line said before the applet. */
struct globals {
	const char *root, *state, *config, *log_level, *install;
	bool debug, list, version, help;
};

/* The strings the context points at, owned here for the life of the process. */
struct owned {
	char *root, *state;
	struct config *cfg;
};

const struct opt *global_opt_find(const char *name, size_t len)
{
	for (const struct opt *o = global_opts; o->id; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static int global_unknown(const char *word)
{
	const char *cands[ARRAY_SIZE(global_opts)];
	const char *s;
	size_t n = 0;

	for (const struct opt *o = global_opts; o->id; o++)
		cands[n++] = o->name;
	cands[n] = NULL;
	s = str_suggest(word, cands);
	if (s)
		fprintf(stderr, "ctrbox: unknown option --%s (did you mean --%s?)\n", word, s);
	else
		fprintf(stderr, "ctrbox: unknown option --%s\n", word);
	fprintf(stderr, "Try 'ctrbox --help'.\n");
	return EXIT_USAGE;
}

/* Parses the global options at argv[*i...], stopping at the first word that is not one. With
 * link true (dispatched by argv[0]) only the settings are globals; --help belongs to the
 * applet. Returns 0, or an exit code after printing a usage error. */
static int globals_parse(int argc, char **argv, int *i, bool link, struct globals *g)
{
	while (*i < argc) {
		const char *w = argv[*i], *name, *eq, *val = NULL;
		const struct opt *o;
		size_t len;

		if (strcmp(w, "--") == 0) {
			(*i)++;
			return 0;
		}
		if (w[0] != '-' || w[1] == '\0')
			return 0;
		if (strcmp(w, "-h") == 0 && !link) {
			g->help = true;
			(*i)++;
			continue;
		}
		if (w[1] != '-') {
			if (link)
				return 0;
			fprintf(stderr, "ctrbox: unknown option %s\nTry 'ctrbox --help'.\n", w);
			return EXIT_USAGE;
		}
		name = w + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = global_opt_find(name, len);
		if (link && (!o || o->id >= G_LIST))
			return 0; /* the applet's own option */
		if (!o) {
			cleanup_free char *word = xstrndup(name, len);

			return global_unknown(word);
		}
		(*i)++;
		if (o->arg) {
			if (eq) {
				val = eq + 1;
			} else if (*i < argc) {
				val = argv[(*i)++];
			} else {
				fprintf(stderr, "ctrbox: option --%s needs a value (%s)\n", o->name,
					o->arg);
				return EXIT_USAGE;
			}
			if (!*val) {
				fprintf(stderr, "ctrbox: option --%s: empty value\n", o->name);
				return EXIT_USAGE;
			}
		} else if (eq) {
			fprintf(stderr, "ctrbox: option --%s takes no value\n", o->name);
			return EXIT_USAGE;
		}
		switch (o->id) {
		case G_ROOT: g->root = val; break;
		case G_STATE: g->state = val; break;
		case G_CONFIG: g->config = val; break;
		case G_LOG_LEVEL: g->log_level = val; break;
		case G_DEBUG: g->debug = true; break;
		case G_LIST: g->list = true; break;
		case G_INSTALL: g->install = val; break;
		case G_VERSION: g->version = true; break;
		case G_HELP: g->help = true; break;
		default: break;
		}
	}
	return 0;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* flag > environment > config > default, recording which one won. */
static const char *pick(const char *flag, const char *env_name, const char *cfg, const char *def,
			const char **origin)
{
	const char *env = env_name ? env_nonempty(env_name) : NULL;

	if (flag) {
		*origin = "flag";
		return flag;
	}
	if (env) {
		*origin = "env";
		return env;
	}
	if (cfg) {
		*origin = "config";
		return cfg;
	}
	*origin = "default";
	return def;
}

/* Roots are made absolute once, here: the shim and children change directory. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* CTRBOX_TEST_NOW fixes the clock for golden output: RFC 3339 or Unix seconds. It is read on
 * each call, which keeps the clock free of mutable state; tests are the only users. */
static int64_t clock_test_now(void)
{
	const char *s = getenv("CTRBOX_TEST_NOW");
	int64_t ns;

	if (s && units_parse_time(s, 0, &ns, NULL) == 0)
		return ns;
	return ctx_clock_realtime();
}

static int ctx_build(struct ctx *ctx, const struct globals *g, const struct applet *ap,
		     struct owned *own)
{
	struct err e = ERR_INIT;
	const struct config *cfg;
	const char *level;
	enum log_level lv;

	memset(ctx, 0, sizeof(*ctx));
	ctx->applet = ap->name;
	ctx->out = stdout;
	ctx->err = stderr;
	ctx->tty = isatty(STDOUT_FILENO);
	ctx->now_ns = env_nonempty("CTRBOX_TEST_NOW") ? clock_test_now : ctx_clock_realtime;
	ctx->verbosity = LOG_WARN;

	ctx->config_path = pick(g->config, "CTRBOX_CONFIG", NULL, CONFIG_DEFAULT_PATH,
				&ctx->origin.config);
	if (ap->flags & AP_NO_CONFIG) {
		own->cfg = xcalloc(1, sizeof(*own->cfg));
		config_defaults(own->cfg);
	} else if (config_load(ctx->config_path, strcmp(ctx->origin.config, "default") != 0,
			       &own->cfg, &e) < 0) {
		/* Completion must never print; it runs on the defaults instead. */
		if (!(ap->flags & AP_HIDDEN)) {
			fprintf(stderr, "ctrbox %s: %s\n", ap->name, e.msg);
			return EXIT_FAIL;
		}
		own->cfg = xcalloc(1, sizeof(*own->cfg));
		config_defaults(own->cfg);
	}
	cfg = ctx->cfg = own->cfg;

	own->root = absolute(
		pick(g->root, "CTRBOX_ROOT", cfg->root, DEFAULT_ROOT, &ctx->origin.root));
	own->state = absolute(
		pick(g->state, "CTRBOX_STATE", cfg->state, DEFAULT_STATE, &ctx->origin.state));
	ctx->path.root = own->root;
	ctx->path.state = own->state;
	ctx->path.proc =
		pick(NULL, "CTRBOX_HOST_PROC", cfg->host.proc, "/proc", &ctx->origin.proc);
	ctx->path.sys = pick(NULL, "CTRBOX_HOST_SYS", cfg->host.sys, "/sys", &ctx->origin.sys);
	ctx->path.dev = pick(NULL, "CTRBOX_HOST_DEV", cfg->host.dev, "/dev", &ctx->origin.dev);
	ctx->path.cgroup = pick(NULL, "CTRBOX_HOST_CGROUP", cfg->host.cgroup, "/sys/fs/cgroup",
				&ctx->origin.cgroup);

	level = pick(g->debug ? "debug" : g->log_level, "CTRBOX_LOG_LEVEL",
		     cfg->log_level_set ? log_level_name(cfg->log_level) : NULL, "warn",
		     &ctx->origin.log_level);
	if (log_level_parse(level, &lv) < 0) {
		fprintf(stderr, "ctrbox: log level \"%s\": expected error, warn, info or debug\n",
			level);
		return EXIT_USAGE;
	}
	ctx->verbosity = lv;
	return EXIT_OK;
}

static void owned_release(struct owned *own)
{
	free(own->root);
	free(own->state);
	config_free(own->cfg);
}

/* One link: created, replaced if it is an older link to ctrbox, refused if it is anything
 * else (never clobber a system tool). The new link appears atomically. */
static int install_link(const char *dir, const char *name, const char *target,
			const char *self_real)
{
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	cleanup_free char *tmp = xasprintf("%s/.%s.ctrbox-tmp.%d", dir, name, (int)getpid());
	struct stat st;

	if (lstat(path, &st) == 0) {
		char cur[PATH_MAX];
		cleanup_free char *real = NULL;

		if (!S_ISLNK(st.st_mode)) {
			fprintf(stderr, "ctrbox: %s: exists and is not a link to ctrbox\n", path);
			return -1;
		}
		ssize_t n = readlink(path, cur, sizeof(cur) - 1);
		if (n >= 0) {
			cur[n] = '\0';
			if (strcmp(cur, target) == 0)
				return 0;
		}
		real = realpath(path, NULL);
		if (!real || strcmp(real, self_real) != 0) {
			if (!real || strcmp(basename(real), "ctrbox") != 0) {
				fprintf(stderr, "ctrbox: %s: exists and is not a link to ctrbox\n",
					path);
				return -1;
			}
		}
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "ctrbox: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* --install DIR: ctrbox-APPLET for every applet, plain APPLET where it shadows no system tool.
 * Links are relative when the binary lives in DIR (so DESTDIR installs stay correct). */
static int install_links(const char *dir)
{
	/* Our own executable: this process, not the host's view, so no injectable root. */
	cleanup_free char *self = realpath("/proc/self/exe", NULL);
	cleanup_free char *dir_real = realpath(dir, NULL);
	cleanup_free char *self_dir = NULL;
	const char *target;
	int rc = EXIT_OK;

	if (!dir_real) {
		fprintf(stderr, "ctrbox: %s: %s\n", dir, strerror(errno));
		return EXIT_FAIL;
	}
	if (!self) {
		fprintf(stderr, "ctrbox: cannot find own executable: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	self_dir = xstrdup(self);
	target = strcmp(dirname(self_dir), dir_real) == 0 ? strrchr(self, '/') + 1 : self;
	for (const struct applet *const *a = applets; *a; a++) {
		cleanup_free char *prefixed = xasprintf("ctrbox-%s", (*a)->name);

		if ((*a)->flags & AP_HIDDEN)
			continue;
		if (install_link(dir_real, prefixed, target, self) < 0)
			rc = EXIT_FAIL;
		if (!((*a)->flags & AP_NO_PLAIN) &&
		    install_link(dir_real, (*a)->name, target, self) < 0)
			rc = EXIT_FAIL;
	}
	return rc;
}

/* The applet named by how we were invoked: "ctrbox-ps" -> ps, "relist" -> relist. */
static const struct applet *applet_from_argv0(const char *argv0, int *rc)
{
	const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	const struct applet *ap;

	*rc = EXIT_OK;
	if (str_starts_with(base, "ctrbox-")) {
		ap = applet_find(base + 7);
		if (!ap || (ap->flags & AP_HIDDEN))
			*rc = help_unknown_applet(base + 7, stderr);
		return ap;
	}
	ap = applet_find(base);
	if (ap && !(ap->flags & (AP_NO_PLAIN | AP_HIDDEN)))
		return ap;
	return NULL;
}

static int finish(int rc)
{
	/* A closed pager is not a failure; any other lost output is. */
	if (fflush(stdout) != 0 && errno != EPIPE) {
		fprintf(stderr, "ctrbox: writing output: %s\n", strerror(errno));
		return rc ? rc : EXIT_FAIL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct globals g = {0};
	struct owned own = {0};
	struct ctx ctx;
	const struct applet *ap;
	int i = 1, rc;

	signal(SIGPIPE, SIG_IGN);
	ap = applet_from_argv0(argc > 0 ? argv[0] : "ctrbox", &rc);
	if (rc)
		return rc;
	rc = globals_parse(argc, argv, &i, ap != NULL, &g);
	if (rc)
		return rc;
	if (!ap) {
		if (g.version) {
			printf("ctrbox %s\n", ctrbox_version);
			return finish(EXIT_OK);
		}
		if (g.list) {
			for (const struct applet *const *a = applets; *a; a++)
				if (!((*a)->flags & AP_HIDDEN))
					printf("%s\n", (*a)->name);
			return finish(EXIT_OK);
		}
		if (g.install)
			return install_links(g.install);
		if (g.help) {
			help_general(stdout);
			return finish(EXIT_OK);
		}
		if (i >= argc && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
			/* ctrbox alone on a terminal: the shell (ctrbox-shell(1)). */
			char *shell_argv[] = {(char *)applet_shell.name, NULL};

			rc = ctx_build(&ctx, &g, &applet_shell, &own);
			if (rc == EXIT_OK)
				rc = applet_shell.main(&ctx, 1, shell_argv);
			owned_release(&own);
			return finish(rc);
		}
		if (i >= argc) {
			help_general(stderr);
			return EXIT_USAGE;
		}
		ap = applet_find(argv[i]);
		if (!ap)
			return help_unknown_applet(argv[i], stderr);
		argv[i] = (char *)ap->name;
	} else {
		i--; /* the applet sees its own name as argv[0] */
		argv[i] = (char *)ap->name;
	}
	rc = ctx_build(&ctx, &g, ap, &own);
	if (rc == EXIT_OK)
		rc = ap->main(&ctx, argc - i, argv + i);
	owned_release(&own);
	return finish(rc);
}
