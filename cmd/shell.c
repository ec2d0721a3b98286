/* cmd/shell.c - ctrbox shell: an interactive prompt for people at a node's keyboard, and a
 * line-by-line command reader for scripts (DESIGN.md "Shape of the program", ctrbox-shell(1)).
 * Every applet runs in a child process (/proc/self/exe with the words), so a crash, a signal
 * or ctrl-c in one never takes the prompt down; completion is the in-process completer behind
 * `ctrbox __complete` (cmd/complete.h), so TAB here and in bash offer the same. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/applet.h"
#include "cmd/complete.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/readline_dl.h"
#include "common/util/shellwords.h"
#include "common/util/strutil.h"

#define SHELL_HISTORY_FILE ".ctrbox_history"
#define SHELL_HISTORY_MAX  1000 /* lines kept in memory and in the file */
#define SHELL_LINE_MAX     (64 * 1024)

const struct applet applet_shell = {
	.name = "shell",
	.main = ctrbox_shell,
	.flags = AP_NO_PLAIN,
	.usage = "shell",
	.summary = "run applets at an interactive prompt",
	.description = "On a terminal: a prompt showing ROOT, with completion (TAB), history in "
		       "~/.ctrbox_history, help, and exit or ctrl-d to leave; ctrl-c interrupts "
		       "the running applet, not the shell. Otherwise: one command a line from "
		       "stdin, exiting with the last command's status. `ctrbox` alone on a "
		       "terminal starts it.",
};

/* readline calls its hooks without user data: the context TAB completes against, and readline
 * itself (opened on first use, common/util/readline_dl.h), are set once, before the first
 * prompt, and only read afterwards. */
static const struct ctx *shell_ctx;
static const struct readline_dl *shell_rl;
/* Set by the SIGINT handler at the prompt. */
static volatile sig_atomic_t shell_sigint;

struct shell {
	struct ctx *ctx;
	bool tty;         /* interactive: readline, the terminal restored after each applet */
	char *history;    /* ~/.ctrbox_history, or NULL without $HOME */
	int status;       /* the last command's exit status */
	bool quit;
	/* readline, opened on a terminal only: a script never loads it */
	const struct readline_dl *rl;
};

/* The child's command line: the global settings this shell was given as flags (those from
 * the environment or the config file reach the child the same way), then the words. */
static char **shell_argv(const struct ctx *ctx, char **words, size_t n)
{
	char **argv = xcalloc(n + 10, sizeof(*argv));
	size_t k = 0;

	argv[k++] = "ctrbox";
	if (strcmp(ctx->origin.root, "flag") == 0) {
		argv[k++] = "--root";
		argv[k++] = (char *)ctx->path.root;
	}
	if (strcmp(ctx->origin.state, "flag") == 0) {
		argv[k++] = "--state";
		argv[k++] = (char *)ctx->path.state;
	}
	if (strcmp(ctx->origin.config, "flag") == 0) {
		argv[k++] = "--config";
		argv[k++] = (char *)ctx->config_path;
	}
	if (strcmp(ctx->origin.log_level, "flag") == 0) {
		argv[k++] = "--log-level";
		argv[k++] = (char *)log_level_name(ctx->verbosity);
	}
	/* "ctrbox ps" typed out in full is "ps". */
	if (n > 1 && strcmp(words[0], "ctrbox") == 0) {
		words++;
		n--;
	}
	for (size_t i = 0; i < n; i++)
		argv[k++] = words[i];
	argv[k] = NULL;
	return argv;
}

static void shell_sigint_handler(int sig)
{
	(void)sig;
	shell_sigint = 1;
}

/* Runs one applet in a child and returns its exit status (128+N for signal N). The shell
 * ignores SIGINT (only noting it) and SIGQUIT meanwhile: on a terminal both go to the whole
 * foreground group, and only the applet should die of them. */
static int shell_spawn(struct shell *sh, char **words, size_t n)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, note = {.sa_handler = shell_sigint_handler};
	struct sigaction old_int, old_quit;
	cleanup_free char **argv = shell_argv(sh->ctx, words, n);
	struct termios saved;
	bool have_termios = sh->tty && tcgetattr(STDIN_FILENO, &saved) == 0;
	int status = 0, sig;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	sigemptyset(&ign.sa_mask);
	sigemptyset(&note.sa_mask);
	shell_sigint = 0;
	sigaction(SIGINT, &note, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		if (!sh->tty) {
			/* The script is on stdin: an applet must not read the lines after it. */
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (fd >= 0)
				dup2(fd, STDIN_FILENO);
		}
		/* Our own executable: this process, not the host's view, so no ctx->path. */
		execv("/proc/self/exe", argv);
		fprintf(stderr, "ctrbox shell: exec /proc/self/exe: %s\n", strerror(errno));
		_exit(EXIT_FAIL);
	}
	if (pid < 0) {
		fprintf(stderr, "ctrbox shell: fork: %s\n", strerror(errno));
		status = -1;
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	/* An applet killed mid-way may leave the terminal raw or without echo. */
	if (have_termios)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (pid < 0)
		return EXIT_FAIL;
	if (shell_sigint && sh->tty && (!WIFSIGNALED(status) || WTERMSIG(status) == SIGINT)) {
		fputc('\n', stderr); /* ^C was echoed; the prompt starts on a line of its own */
		shell_sigint = 0;
		if (WIFSIGNALED(status))
			return 128 + SIGINT;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!WIFSIGNALED(status))
		return EXIT_FAIL;
	sig = WTERMSIG(status);
	if (sig != SIGINT || !sh->tty)
		fprintf(stderr, "ctrbox shell: %s: killed by signal %d (%s)%s\n", words[0], sig,
			strsignal(sig), WCOREDUMP(status) ? ", core dumped" : "");
	return 128 + sig;
}

static void shell_help(void)
{
	printf("ctrbox shell: type an applet and its arguments, as after \"ctrbox\" on a command "
	       "line.\n"
	       "  help [APPLET]   this help, or an applet's\n"
	       "  exit [N]        leave (also ctrl-d), with status N\n"
	       "TAB completes applets, options, their values, containers and images; ctrl-c "
	       "interrupts\nthe running applet. History is kept in ~/" SHELL_HISTORY_FILE ".\n\n");
	help_general(stdout);
	fflush(stdout);
}

/* exit [N] */
static int shell_exit(struct shell *sh, char **words, size_t n)
{
	char *end;
	long v;

	if (n > 2) {
		fprintf(stderr, "ctrbox shell: exit: too many arguments\n");
		return EXIT_USAGE;
	}
	if (n == 2) {
		errno = 0;
		v = strtol(words[1], &end, 10);
		if (errno || end == words[1] || *end || v < 0 || v > 255) {
			fprintf(stderr, "ctrbox shell: exit: %s: expected a status from 0 to 255\n",
				words[1]);
			return EXIT_USAGE;
		}
		sh->status = (int)v;
	}
	sh->quit = true;
	return sh->status;
}

/* Runs one line; returns its status (the previous one for a blank line). */
static int shell_line(struct shell *sh, const char *line, unsigned long lineno)
{
	struct err e = ERR_INIT;
	cleanup_strv char **w = NULL;
	size_t n = 0;

	if (shellwords_split(line, 0, &w, &n, &e) < 0) {
		if (sh->tty)
			fprintf(stderr, "ctrbox shell: %s\n", e.msg);
		else
			fprintf(stderr, "ctrbox shell: line %lu: %s\n", lineno, e.msg);
		return sh->status = EXIT_USAGE;
	}
	if (n == 0)
		return sh->status;
	if (strcmp(w[0], "exit") == 0 || strcmp(w[0], "quit") == 0)
		return sh->status = shell_exit(sh, w, n);
	if (strcmp(w[0], "help") == 0 && n == 1) {
		shell_help();
		return sh->status = EXIT_OK;
	}
	return sh->status = shell_spawn(sh, w, n);
}

/* Not on a terminal: one command a line from stdin, no prompt. */
static int shell_script(struct shell *sh)
{
	cleanup_free char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	ssize_t len;

	while (!sh->quit && (len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if ((size_t)len > SHELL_LINE_MAX) {
			fprintf(stderr, "ctrbox shell: line %lu: longer than %d bytes\n", lineno,
				SHELL_LINE_MAX);
			sh->status = EXIT_USAGE;
			continue;
		}
		shell_line(sh, line, lineno);
	}
	return sh->status;
}

/* TAB: the words up to the cursor go through complete_words, as `ctrbox __complete` would
 * get them from bash. Returns readline's match vector (malloc'd, [0] the common prefix). */
static char **shell_complete(const char *text, int start, int end)
{
	const struct readline_dl *rl = shell_rl;
	cleanup_free char *upto = xstrndup(*rl->rl_line_buffer, (size_t)end);
	cleanup_free char *out = NULL;
	cleanup_strv char **w = NULL;
	struct err e = ERR_INIT;
	struct ctx c = *shell_ctx; /* --root on the line redirects this copy only */
	char **matches = NULL, *p, *nl;
	size_t n = 0, outlen = 0, nm = 0, cap = 0;
	int d;
	FILE *f;

	(void)start;
	*rl->rl_attempted_completion_over = 1; /* no readline file names unless asked for below */
	if (shellwords_split(upto, SHELLWORDS_PARTIAL, &w, &n, &e) < 0)
		return NULL;
	if (n == 0) {
		strv_free(w);
		w = xcalloc(2, sizeof(*w));
		w[0] = xstrdup("");
		n = 1;
	}
	f = open_memstream(&out, &outlen);
	if (!f)
		return NULL;
	c.out = f;
	if (n > 1 && strcmp(w[0], "ctrbox") == 0)
		d = complete_words(&c, (int)n - 1, w + 1, f);
	else
		d = complete_words(&c, (int)n, w, f);
	if (n == 1 && str_starts_with("exit", text))
		fputs("exit\n", f);
	fclose(f);
	if (d & DIR_ERROR)
		return NULL;
	for (p = out; p && *p; p = nl + 1) {
		char *tab;

		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		tab = strchr(p, '\t');
		if (tab)
			*tab = '\0';
		if (nm + 3 > cap) {
			cap = cap ? cap * 2 : 16;
			matches = xreallocarray(matches, cap, sizeof(*matches));
		}
		matches[++nm] = xstrdup(p);
		matches[nm + 1] = NULL;
	}
	if (nm == 0) {
		free(matches);
		/* No candidates where a file name fits: readline's own file name completion. */
		if (!(d & DIR_NOFILE))
			*rl->rl_attempted_completion_over = 0;
		return NULL;
	}
	if (d & DIR_NOSPACE)
		*rl->rl_completion_suppress_append = 1;
	/* [0] is what replaces the word: the candidates' longest common prefix. */
	{
		size_t common = strlen(matches[1]);

		for (size_t i = 2; i <= nm; i++) {
			size_t k = 0;

			while (k < common && matches[i][k] == matches[1][k])
				k++;
			common = k;
		}
		matches[0] = xstrndup(matches[1], common);
	}
	return matches;
}

/* ctrl-c at the prompt: readline has already echoed ^C and restored the terminal; start a
 * fresh line, as bash does. */
static int shell_on_signal(void)
{
	if (shell_sigint) {
		shell_sigint = 0;
		shell_rl->rl_replace_line("", 0);
		shell_rl->rl_crlf();
		shell_rl->rl_on_new_line();
		shell_rl->rl_redisplay();
	}
	return 0;
}

/* ~/.ctrbox_history, created 0600 so append_history can add to it; NULL without $HOME. */
static char *shell_history_open(void)
{
	const char *home = getenv("HOME");
	char *path;
	int fd;

	if (!home || !*home)
		return NULL;
	path = xasprintf("%s/" SHELL_HISTORY_FILE, home);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "ctrbox shell: %s: %s (history not saved)\n", path, strerror(errno));
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Remembers a line: not blank, not the same as the one before; appended to the file at once
 * so a second shell or a lost terminal keeps it. */
static void shell_history_add(struct shell *sh, const char *line)
{
	const struct readline_dl *rl = sh->rl;
	HIST_ENTRY *last;
	const char *p = line;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return;
	last = *rl->history_length > 0
	               ? rl->history_get(*rl->history_base + *rl->history_length - 1)
	               : NULL;
	if (last && strcmp(last->line, line) == 0)
		return;
	rl->add_history(line);
	if (sh->history)
		rl->append_history(1, sh->history);
}

static int shell_interactive(struct shell *sh)
{
	cleanup_free char *prompt = xasprintf("ctrbox:%s> ", sh->ctx->path.root);
	struct sigaction sa = {.sa_handler = shell_sigint_handler}, old;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_quit;
	const struct readline_dl *rl = sh->rl;
	unsigned long lineno = 0;

	shell_ctx = sh->ctx;
	shell_rl = rl;
	*rl->rl_readline_name = "ctrbox";
	*rl->rl_attempted_completion_function = shell_complete;
	*rl->rl_completer_word_break_characters = " \t\n";
	*rl->rl_completer_quote_characters = "'\"";
	*rl->rl_signal_event_hook = shell_on_signal;
	rl->using_history();
	rl->stifle_history(SHELL_HISTORY_MAX);
	sh->history = shell_history_open();
	if (sh->history)
		rl->read_history(sh->history);
	sigemptyset(&sa.sa_mask);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &sa, &old);
	sigaction(SIGQUIT, &ign, &old_quit); /* ctrl-\ at the prompt must not dump the shell */
	while (!sh->quit) {
		cleanup_free char *line = NULL;

		shell_sigint = 0;
		line = rl->readline(prompt);
		if (!line) {
			fputc('\n', stdout); /* ctrl-d: leave the terminal on a fresh line */
			break;
		}
		if (strlen(line) > SHELL_LINE_MAX) {
			fprintf(stderr, "ctrbox shell: line longer than %d bytes\n", SHELL_LINE_MAX);
			continue;
		}
		shell_history_add(sh, line);
		shell_line(sh, line, ++lineno);
	}
	sigaction(SIGINT, &old, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (sh->history)
		rl->history_truncate_file(sh->history, SHELL_HISTORY_MAX);
	rl->clear_history();
	shell_ctx = NULL;
	shell_rl = NULL;
	return sh->status;
}

int ctrbox_shell(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct shell sh = {.ctx = ctx, .tty = isatty(STDIN_FILENO)};
	int c, rc;

	opt_begin(&op, ctx, &applet_shell, argc, argv);
	while ((c = opt_next(&op)) > 0)
		;
	if (c < 0)
		return op.rc;
	if (op.argc > 0)
		return opt_usage_error(&op, "takes no arguments (commands come from stdin)");
	if (sh.tty) {
		struct err e = ERR_INIT;

		sh.rl = readline_dl_open(&e);
		if (!sh.rl)
			return applet_fail(ctx, &e);
	}
	rc = sh.tty ? shell_interactive(&sh) : shell_script(&sh);
	free(sh.history);
	return rc;
}
