/* common/runtime/procexec.c - the environment, signals and execve of a container process
 * (procexec.h). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/runtime/procexec.h"
#include "common/util/exit.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

void env_put(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "="), n = 0;

	for (; *env && (*env)[n]; n++)
		if (strncmp((*env)[n], kv, klen) == 0 && (*env)[n][klen] == '=') {
			free((*env)[n]);
			(*env)[n] = xstrdup(kv);
			return;
		}
	strv_push(env, kv);
}

int env_file_read(const char *path, char ***env, struct err *e)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	char *save = NULL;

	if (fs_read_file(path, 1 << 20, &data, &len, e) < 0)
		return -1;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l;

		while (*line == ' ' || *line == '\t')
			line++;
		l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[l - 1] = '\0';
		if (!*line || *line == '#')
			continue;
		strv_push(env, line);
	}
	return 0;
}

void procexec_reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	unsigned long kdfl[4] = {0}; /* SIG_DFL, no flags, no mask in the kernel's layout */
	sigset_t none;

	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* glibc refuses the two signals it reserves (32 and 33), but an ignore of them
		 * inherited from whatever started ctrbox survives exec all the same: reset them
		 * through the system call. */
		if (sigaction(sig, &dfl, NULL) < 0)
			(void)syscall(SYS_rt_sigaction, sig, kdfl, NULL, (size_t)(_NSIG / 8));
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static bool not_executable(int err)
{
	return err == EACCES || err == ENOEXEC || err == EISDIR;
}

int procexec_exec(char *const *argv, char *const *env, char *msg, size_t len)
{
	const char *path = env_get(env, "PATH");
	char buf[4096];
	bool denied = false;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		if (errno == ENOENT) {
			snprintf(msg, len, "exec: \"%s\": stat %s: no such file or directory",
			         argv[0], argv[0]);
			return EXIT_RUN_NOTFOUND;
		}
		snprintf(msg, len, "exec: \"%s\": %s", argv[0], strerror(errno));
		return not_executable(errno) ? EXIT_RUN_NOEXEC : EXIT_RUN_ERROR;
	}
	for (const char *p = path ? path : DEFAULT_PATH; p;
	     p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", argv[0]);
		execve(buf, argv, env);
		if (not_executable(errno))
			denied = true;
	}
	if (denied) {
		snprintf(msg, len, "exec: \"%s\": permission denied", argv[0]);
		return EXIT_RUN_NOEXEC;
	}
	snprintf(msg, len, "exec: \"%s\": executable file not found in $PATH", argv[0]);
	return EXIT_RUN_NOTFOUND;
}
