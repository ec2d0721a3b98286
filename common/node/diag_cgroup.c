/* common/node/diag_cgroup.c - the cgroup check: v1, hybrid or v2, and where each controller lives,
 * from <proc>/self/mountinfo and <proc>/cgroups (DESIGN.md "run": cgroups v1 and v2; issue 8) */
#include <stdio.h>
#include <string.h>

#include "common/node/diag.h"
#include "common/util/buf.h"
#include "common/util/host.h"
#include "common/util/mem.h"

#define MAX_CTRL 32

struct ctrl {
	char name[32];
	int hierarchy;
	bool enabled;
	char where[520]; /* "v2 " or "v1 " and the mount point */
};

/* For each v1 mount, the controllers in its super options get its mount point; reports whether
 * a cgroup2 file system is mounted and where. */
static void scan_mounts(const char *mi, struct ctrl *c, size_t n, char *v2at, size_t v2n,
                        size_t *v1mounts)
{
	for (const char *line = mi; line && *line;) {
		const char *nl = strchr(line, '\n');
		char l[1024], mp[512] = "", fstype[64] = "", opts[512] = "";
		char *sep;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len < sizeof(l)) {
			memcpy(l, line, len);
			l[len] = '\0';
			sep = strstr(l, " - ");
			if (sep && sscanf(l, "%*s %*s %*s %*s %511s", mp) == 1 &&
			    sscanf(sep + 3, "%63s %*s %511s", fstype, opts) == 2) {
				if (strcmp(fstype, "cgroup2") == 0 && !v2at[0]) {
					snprintf(v2at, v2n, "%s", mp);
				} else if (strcmp(fstype, "cgroup") == 0) {
					(*v1mounts)++;
					for (char *tok = strtok(opts, ","); tok;
					     tok = strtok(NULL, ","))
						for (size_t i = 0; i < n; i++)
							if (strcmp(tok, c[i].name) == 0)
								snprintf(c[i].where, sizeof(c[i].where),
								         "v1 %s", mp);
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

int diag_check_cgroup(const struct diag_env *env, struct diag_result *r)
{
	cleanup_free char *mi = NULL, *cg = NULL;
	struct err e = ERR_INIT;
	struct ctrl c[MAX_CTRL];
	size_t n = 0, v1mounts = 0;
	char v2at[512] = "";
	const char *version;
	cleanup_buf struct buf where = BUF_INIT;

	if (host_read(env->ctx, HOST_PROC, "self/mountinfo", 1 << 20, &mi, &e) < 0 ||
	    host_read(env->ctx, HOST_PROC, "cgroups", 64 * 1024, &cg, &e) < 0) {
		diag_text(r, "error", "%s", e.msg);
		diag_set(r, DIAG_UNKNOWN, NULL, "make /proc readable", "cannot read the cgroup setup");
		return 0;
	}
	for (const char *line = cg; line && *line && n < MAX_CTRL;) {
		const char *nl = strchr(line, '\n');
		int h, num, en;

		if (line[0] != '#' &&
		    sscanf(line, "%31s %d %d %d", c[n].name, &h, &num, &en) == 4) {
			c[n].hierarchy = h;
			c[n].enabled = en != 0;
			c[n].where[0] = '\0';
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	scan_mounts(mi, c, n, v2at, sizeof(v2at), &v1mounts);
	version = v1mounts == 0 && v2at[0] ? "v2" : v1mounts && v2at[0] ? "hybrid" : v1mounts ? "v1"
	                                                                                 : "none";
	diag_text(r, "version", "%s", version);
	if (v2at[0])
		diag_text(r, "cgroup2_mount", "%s", v2at);
	for (size_t i = 0; i < n; i++) {
		char key[64];

		/* hierarchy 0: on the unified hierarchy, when one is mounted */
		if (!c[i].where[0] && c[i].hierarchy == 0 && v2at[0])
			snprintf(c[i].where, sizeof(c[i].where), "v2 %s", v2at);
		snprintf(key, sizeof(key), "controller_%s", c[i].name);
		diag_text(r, key, "%s%s", c[i].enabled ? "" : "disabled ",
		          c[i].where[0] ? c[i].where : "not mounted");
		if (!strcmp(c[i].name, "memory") || !strcmp(c[i].name, "cpu") ||
		    !strcmp(c[i].name, "pids")) {
			if (!c[i].enabled)
				diag_set(r, DIAG_FAIL, "CgroupControllerMissing",
				         "enable it on the kernel command line (cgroup_enable=memory) so "
				         "container limits are enforced",
				         "the %s controller is disabled: --%s limits cannot be enforced",
				         c[i].name,
				         !strcmp(c[i].name, "pids") ? "pids-limit"
				         : !strcmp(c[i].name, "cpu") ? "cpus"
				                                      : "memory");
			else if (!c[i].where[0])
				diag_set(r, DIAG_WARN, "CgroupControllerMissing",
				         "mount the controller's hierarchy (or boot with the unified "
				         "hierarchy) so container limits are enforced",
				         "the %s controller is not mounted", c[i].name);
			buf_printf(&where, "%s%s: %s", where.len ? ", " : "", c[i].name,
			           c[i].where[0] ? c[i].where : "-");
		}
	}
	if (!strcmp(version, "none"))
		diag_set(r, DIAG_FAIL, "CgroupMissing", "mount cgroup2 at /sys/fs/cgroup",
		         "no cgroup file system is mounted");
	else if (strcmp(version, "v2") != 0)
		diag_set(r, DIAG_WARN, "CgroupV1",
		         "boot with systemd.unified_cgroup_hierarchy=1: kubelet and systemd are "
		         "retiring cgroup v1",
		         "cgroup %s: per-container PSI and reliable OOM accounting need v2", version);
	else
		diag_set(r, DIAG_OK, NULL, NULL, "cgroup v2 (%s)", buf_str(&where));
	return 0;
}
