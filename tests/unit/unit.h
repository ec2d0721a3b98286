/* tests/unit/unit.h - what every cmocka unit test shares: a scratch directory and a context
 * pointing ROOT and STATE into it, with a fixed clock. Header-only; each test is one binary. */
#ifndef CTRBOX_TESTS_UNIT_H
#define CTRBOX_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util/config.h"
#include "common/util/ctx.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

struct unit_env {
	char *dir; /* scratch directory, removed by unit_env_free */
	char *root, *state;
	struct config cfg;
	struct ctx ctx;
};

static inline int64_t unit_fixed_now(void)
{
	return 1795000000LL * 1000000000LL; /* 2026-11-18T11:06:40Z */
}

/* A fresh scratch directory and a context over it. */
static inline struct unit_env *unit_env_new(void)
{
	struct unit_env *u = xcalloc(1, sizeof(*u));
	const char *tmp = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/ctrbox-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");

	assert_non_null(mkdtemp(tmpl));
	u->dir = tmpl;
	u->root = xasprintf("%s/root", u->dir);
	u->state = xasprintf("%s/state", u->dir);
	config_defaults(&u->cfg);
	u->ctx.path.root = u->root;
	u->ctx.path.state = u->state;
	u->ctx.path.proc = "/proc";
	u->ctx.path.sys = "/sys";
	u->ctx.path.dev = "/dev";
	u->ctx.path.cgroup = "/sys/fs/cgroup";
	u->ctx.cfg = &u->cfg;
	u->ctx.applet = "unit";
	u->ctx.out = stdout;
	u->ctx.err = stderr;
	u->ctx.verbosity = LOG_WARN;
	u->ctx.now_ns = ctx_clock_realtime;
	return u;
}

static inline void unit_env_free(struct unit_env *u)
{
	if (!u)
		return;
	fs_remove_tree(u->dir, NULL);
	free(u->dir);
	free(u->root);
	free(u->state);
	free(u);
}

#endif
