/* common/store/lock.c - per-object flock locks held only for a change (DESIGN.md "The metadata
 * layer on disk": readers never lock, a writer locks the one object it changes) */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/store/lock.h"
#include "common/util/mem.h"

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int lock_take(const char *lockpath, int64_t timeout_ns, struct lock *out, struct err *e)
{
	cleanup_close int fd = -1;
	int64_t deadline = 0, backoff = 1000000, now;

	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_sys(e, "open %s", lockpath);
	if (timeout_ns < 0) {
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return err_sys(e, "lock %s", lockpath);
		out->fd = TAKE_FD(fd);
		return 0;
	}
	if (timeout_ns > 0)
		deadline = mono_ns() + timeout_ns;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return err_sys(e, "lock %s", lockpath);
		now = mono_ns();
		if (timeout_ns == 0 || now >= deadline)
			return err_set(e, E_BUSY, "%s: locked by another process", lockpath);
		sleep_ns(backoff < deadline - now ? backoff : deadline - now);
		if (backoff < 20000000)
			backoff = backoff * 2 > 20000000 ? 20000000 : backoff * 2;
	}
	out->fd = TAKE_FD(fd);
	return 0;
}

void lock_release(struct lock *l)
{
	if (l && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
}
