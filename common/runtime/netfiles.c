/* common/runtime/netfiles.c - a container's /etc/hosts, /etc/hostname and /etc/resolv.conf,
 * written into ROOT/containers/<id>/ for the spec's bind mounts (DESIGN.md "run"; ctrbox-run(1)
 * "FILES"). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "common/runtime/netfiles.h"
#include "common/util/buf.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

static const char localhost_lines[] = "127.0.0.1\tlocalhost\n"
                                      "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                      "fe00::0\tip6-localnet\n"
                                      "ff00::0\tip6-mcastprefix\n"
                                      "ff02::1\tip6-allnodes\n"
                                      "ff02::2\tip6-allrouters\n";

char *netfiles_hosts(enum netfiles_net net, const char *host_hosts, const char *hostname)
{
	struct buf b;

	if (net == NETFILES_HOST && host_hosts)
		return xstrdup(host_hosts);
	buf_init(&b);
	buf_adds(&b, localhost_lines);
	/* No address of its own (ctrbox gives containers loopback only): the Debian name for
	 * the host's own name, so the container resolves its name without DNS. */
	if (net != NETFILES_HOST && hostname && *hostname)
		buf_printf(&b, "127.0.1.1\t%s\n", hostname);
	return buf_take(&b);
}

/* Whether a nameserver address is on the loopback: 127.0.0.0/8 or ::1. */
static bool loopback_addr(const char *a, size_t n)
{
	char s[INET6_ADDRSTRLEN + 1];
	struct in_addr v4;
	struct in6_addr v6;

	if (n >= sizeof(s))
		return false;
	memcpy(s, a, n);
	s[n] = '\0';
	if (inet_pton(AF_INET, s, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, s, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

char *netfiles_resolv(enum netfiles_net net, const char *host_resolv)
{
	struct buf b;
	const char *p = host_resolv ? host_resolv : "";
	int kept = 0;

	if (net == NETFILES_HOST && host_resolv)
		return xstrdup(host_resolv);
	buf_init(&b);
	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *q = p, *end = p + len;
		bool drop = false;

		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(end - q) > 10 && strncmp(q, "nameserver", 10) == 0 &&
		    (q[10] == ' ' || q[10] == '\t')) {
			const char *a = q + 10;
			size_t alen;
			while (a < end && (*a == ' ' || *a == '\t'))
				a++;
			alen = strcspn(a, " \t\r\n");
			if (a + alen > end)
				alen = (size_t)(end - a);
			if (net != NETFILES_HOST && loopback_addr(a, alen))
				drop = true;
			else
				kept++;
		}
		if (!drop) {
			buf_add(&b, p, len);
			buf_addc(&b, '\n');
		}
		p = *end ? end + 1 : end;
	}
	if (kept == 0)
		buf_adds(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	return buf_take(&b);
}

/* A host file under host.etc; NULL when it is missing or unreadable (a node without
 * resolv.conf gets the fallback, not an error). */
static char *host_etc_file(const struct ctx *ctx, const char *name)
{
	const char *etc = ctx->cfg && ctx->cfg->host.etc ? ctx->cfg->host.etc : "/etc";
	cleanup_free char *path = path_join(etc, name);
	char *data = NULL;
	size_t len = 0;
	struct err e = ERR_INIT;

	if (fs_read_file(path, NETFILES_HOST_MAX, &data, &len, &e) < 0)
		return NULL;
	return data;
}

static int write_one(const char *dir, const char *name, const char *data, struct err *e)
{
	cleanup_free char *path = path_join(dir, name);

	if (fs_write_atomic(path, data, strlen(data), 0644, 0, e) < 0)
		return err_wrap(e, "%s", name);
	return 0;
}

int netfiles_write(const struct ctx *ctx, const char *dir, enum netfiles_net net,
                   const char *hostname, struct err *e)
{
	cleanup_free char *hh = net == NETFILES_HOST ? host_etc_file(ctx, "hosts") : NULL;
	cleanup_free char *hr = host_etc_file(ctx, "resolv.conf");
	cleanup_free char *hosts = netfiles_hosts(net, hh, hostname);
	cleanup_free char *resolv = netfiles_resolv(net, hr);
	cleanup_free char *name = xasprintf("%s\n", hostname ? hostname : "");

	if (write_one(dir, "hosts", hosts, e) < 0 || write_one(dir, "hostname", name, e) < 0 ||
	    write_one(dir, "resolv.conf", resolv, e) < 0)
		return -1;
	return 0;
}
