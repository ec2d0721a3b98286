/* common/runtime/netfiles.h - a container's /etc/hosts, /etc/hostname and /etc/resolv.conf
 * (DESIGN.md "run"), made as docker makes them: written beside the container's records in
 * ROOT/containers/<id>/ and bind-mounted over the rootfs paths by the spec's mounts, so the
 * image's files are never written and runc running the same config.json sees the same. */
#ifndef CTRBOX_RUNTIME_NETFILES_H
#define CTRBOX_RUNTIME_NETFILES_H

#include "common/util/ctx.h"
#include "common/util/err.h"

enum netfiles_net {
	NETFILES_PRIVATE = 0, /* a network namespace of its own (loopback only) */
	NETFILES_NONE,        /* --net none: the same, said explicitly */
	NETFILES_HOST,        /* --net host: the host's network namespace */
};

#define NETFILES_HOST_MAX (1 << 20) /* the host's hosts or resolv.conf read at most */

/* /etc/hosts: with the host's network, host_hosts as it is (the generated lines when NULL);
 * otherwise localhost, the IPv6 lines, and "127.0.1.1 <hostname>". The caller frees. */
char *netfiles_hosts(enum netfiles_net net, const char *host_hosts, const char *hostname);

/* /etc/resolv.conf from the host's (host_resolv, NULL when it has none): as it is with the
 * host's network; otherwise without nameservers on the host's loopback (127.0.0.0/8, ::1),
 * which the container cannot reach, and with 8.8.8.8 and 8.8.4.4 when none remain (docker's
 * rule). The caller frees. */
char *netfiles_resolv(enum netfiles_net net, const char *host_resolv);

/* Writes hosts, hostname and resolv.conf into dir (which must exist), reading the host's
 * files under ctx->cfg->host.etc (/etc). Each is written atomically, mode 0644, not fsynced
 * (derived data, rewritten with the container). No locks. */
int netfiles_write(const struct ctx *ctx, const char *dir, enum netfiles_net net,
                   const char *hostname, struct err *e);

#endif
