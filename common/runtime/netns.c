/* common/runtime/netns.c - a network namespace made ahead of the container's init
 * (common/runtime/netns.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/runtime/netns.h"
#include "common/util/mem.h"

void netns_loopback_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		(void)ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

int netns_prepare(const struct ctx *ctx, int *out, bool *stranded, struct err *e)
{
	cleanup_free char *path = xasprintf("%s/self/ns/net", ctx->path.proc);
	cleanup_close int self = open(path, O_RDONLY | O_CLOEXEC);
	int fd, saved;

	*stranded = false;
	if (self < 0)
		return err_sys(e, "%s", path);
	if (unshare(CLONE_NEWNET) < 0)
		return err_sys(e, "new network namespace");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	saved = errno;
	if (fd >= 0)
		netns_loopback_up();
	if (setns(self, CLONE_NEWNET) < 0) {
		*stranded = true;
		if (fd >= 0)
			close(fd);
		return err_sys(e, "back to our network namespace");
	}
	if (fd < 0) {
		errno = saved;
		return err_sys(e, "%s", path);
	}
	*out = fd;
	return 0;
}
