/* cmd/shim/main.c - ctrbox-shim: the per-container shim as its own small, statically linked
 * program (DESIGN.md lesson 3: "It is small: its memory per container is a headline figure").
 * `run` execs it when it sits beside the ctrbox binary; the hidden `ctrbox __shim` applet runs
 * the same shim_main() otherwise. `run` passes the roots, host paths and rootfs. */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/runtime/netns.h"
#include "common/runtime/shim.h"
#include "common/runtime/shim_cgroup.h"
#include "common/store/layout.h"
#include "common/util/config.h"
#include "common/util/ctx.h"
#include "common/util/mem.h"

static int usage(void)
{
	fputs("usage: ctrbox-shim --root DIR --state DIR [--proc DIR] [--sys DIR] [--cgroup DIR] "
	      "[--config FILE] [--overlay DATA] [--status-fd FD] [--rm] [--wait-attach] "
	      "[--stdin] ID|--await-start [--netns] [--early-id ID]\n"
	      "(started by `ctrbox run`, not by hand)\n",
	      stderr);
	return 2;
}

/* Whether fd has something to read already (the start message, or run's EOF). */
static bool readable_now(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

int main(int argc, char **argv)
{
	struct config defaults, *cfg = NULL;
	struct ctx ctx = {0};
	const char *config_file = NULL;
	int rc;
	struct shim_opts o = {0};
	int status_fd = -1;
	bool await_start = false, netns = false;
	struct shim_start start;

	/* The spec's JSON and the setup are built on the heap, trimmed once the container runs
	 * (shim_main), and most of the code runs once: fault both in at once (mem.h). */
	mem_prefault_heap(SHIM_HEAP_PREFAULT);
	mem_prefault_image(true);
	config_defaults(&defaults);
	ctx.path.proc = "/proc";
	ctx.path.sys = "/sys";
	ctx.path.dev = "/dev";
	ctx.path.cgroup = "/sys/fs/cgroup";
	ctx.cfg = &defaults;
	ctx.applet = "shim";
	ctx.out = stdout;
	ctx.err = stderr;
	ctx.now_ns = ctx_clock_realtime;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--rm") == 0) {
			o.rm = true;
			continue;
		}
		if (strcmp(a, "--wait-attach") == 0) {
			o.wait_attach = true;
			continue;
		}
		if (strcmp(a, "--stdin") == 0) {
			o.open_stdin = true;
			continue;
		}
		if (strcmp(a, "--await-start") == 0) {
			await_start = true;
			continue;
		}
		if (strcmp(a, "--netns") == 0) {
			netns = true;
			continue;
		}
		if (a[0] != '-') {
			if (o.id || i + 1 != argc)
				return usage();
			o.id = a;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (strcmp(a, "--root") == 0)
			ctx.path.root = v;
		else if (strcmp(a, "--state") == 0)
			ctx.path.state = v;
		else if (strcmp(a, "--proc") == 0)
			ctx.path.proc = v;
		else if (strcmp(a, "--sys") == 0)
			ctx.path.sys = v;
		else if (strcmp(a, "--cgroup") == 0)
			ctx.path.cgroup = v;
		else if (strcmp(a, "--status-fd") == 0) {
			char *end;
			long fd = strtol(v, &end, 10);
			if (*end || fd < 3 || fd > 1024)
				return usage();
			status_fd = (int)fd;
		} else if (strcmp(a, "--config") == 0)
			config_file = v;
		else if (strcmp(a, "--overlay") == 0)
			o.overlay = v;
		else if (strcmp(a, "--early-id") == 0 && store_id_valid(v))
			o.early_id = v;
		else
			return usage();
	}
	if (await_start ? o.id || status_fd < 0 : !o.id || !store_id_valid(o.id))
		return usage();
	if (!ctx.path.root || !ctx.path.state)
		return usage();
	/* run started us orphaned already (shim_spawn): there is no fork here. The event
	 * journal's limits come from the config; a bad file means defaults. */
	if (config_file) {
		struct err e = ERR_INIT;
		if (config_load(config_file, false, &cfg, &e) == 0) {
			ctx.cfg = cfg;
			ctx.config_path = config_file;
		}
	}
	/* Started while `run` writes the container's records: it sends the id when they are
	 * complete, or closes the socket when there is no container to run. */
	if (await_start) {
		struct err e = ERR_INIT;
		struct cgroup early = {0};
		bool stranded = false;

		/* While run writes the records: the container's cgroup and device rules, then its
		 * network namespace. Whatever is not done when the records are (the start message
		 * waits already) is done after it, as it would be anyway. */
		if (o.early_id && !readable_now(status_fd) &&
		    shim_prepare_cgroup(&ctx, o.early_id, &early, &e) == 0)
			o.cgroup_ready = true;
		err_clear(&e);
		if (netns && !readable_now(status_fd) &&
		    netns_prepare(&ctx, &o.netns_fd, &stranded, &e) == 0)
			o.have_netns = true;
		if (stranded) {
			/* Inside the new namespace: no place to run a shim from. */
			if (o.cgroup_ready)
				shim_unprepare_cgroup(&early);
			return 1;
		}
		err_clear(&e);
		if (shim_read_start(status_fd, &start, &e) < 0) {
			/* No container after all: nothing of it may stay. */
			if (o.cgroup_ready)
				shim_unprepare_cgroup(&early);
			config_free(cfg);
			return e.code == E_IO ? 0 : 2;
		}
		if (o.cgroup_ready && strcmp(start.id, o.early_id) != 0) {
			shim_unprepare_cgroup(&early);
			o.cgroup_ready = false;
		}
		cgroup_release(&early);
		o.id = start.id;
		o.overlay = start.overlay[0] ? start.overlay : NULL;
	}
	rc = shim_main(&ctx, &o, status_fd);
	config_free(cfg);
	return rc;
}
