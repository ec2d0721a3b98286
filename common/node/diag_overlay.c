/* common/node/diag_overlay.c - the overlay check: overlayfs available, "volatile" available on this
 * kernel (5.10+) and used by ctrbox's container mounts as the config asks, and how many overlay
 * mounts on the host lack it (DESIGN.md lesson 2: teardown never forces a sync; issue 8) */
#include <stdio.h>
#include <string.h>

#include "common/node/diag.h"
#include "common/node/listing.h"
#include "common/util/config.h"
#include "common/util/host.h"
#include "common/util/mem.h"

/* Overlay mounts in a mountinfo text, and those without "volatile"; with root_only, only the
 * mount at "/" (a container's own mount namespace). */
static void count(const char *mi, bool root_only, size_t *n, size_t *nonvol)
{
	*n = *nonvol = 0;
	for (const char *line = mi; line && *line;) {
		const char *nl = strchr(line, '\n');
		char l[4096], mp[1024], fstype[64], opts[2048];
		const char *sep;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len < sizeof(l)) {
			memcpy(l, line, len);
			l[len] = '\0';
			sep = strstr(l, " - ");
			if (sep && sscanf(l, "%*s %*s %*s %*s %1023s", mp) == 1 &&
			    sscanf(sep + 3, "%63s %*s %2047s", fstype, opts) == 2 &&
			    strcmp(fstype, "overlay") == 0 && (!root_only || strcmp(mp, "/") == 0)) {
				(*n)++;
				if (!strstr(opts, "volatile"))
					(*nonvol)++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

int diag_check_overlay(const struct diag_env *env, struct diag_result *r)
{
	cleanup_free char *fss = NULL, *rel = NULL, *mi = NULL;
	struct err e = ERR_INIT;
	int major = 0, minor = 0;
	bool vol_ok, want_vol;
	size_t n, nonvol, checked = 0, without = 0;
	struct listing l = {0};
	enum config_volatile mode = env->ctx->cfg ? env->ctx->cfg->snapshot_volatile : VOLATILE_AUTO;

	if (host_read(env->ctx, HOST_PROC, "filesystems", 64 * 1024, &fss, &e) < 0) {
		diag_text(r, "error", "%s", e.msg);
		diag_set(r, DIAG_UNKNOWN, NULL, "make /proc readable", "cannot read filesystems");
		return 0;
	}
	if (!strstr(fss, "\toverlay\n")) {
		diag_num(r, "overlay_supported", 0);
		diag_set(r, DIAG_FAIL, "OverlayMissing", "load it (modprobe overlay) or use a kernel "
		                                         "with CONFIG_OVERLAY_FS",
		         "overlayfs is not available: containers cannot start");
		return 0;
	}
	diag_num(r, "overlay_supported", 1);
	if (host_read(env->ctx, HOST_PROC, "sys/kernel/osrelease", 256, &rel, &e) == 0 &&
	    sscanf(rel, "%d.%d", &major, &minor) == 2)
		diag_text(r, "kernel", "%d.%d", major, minor);
	vol_ok = major > 5 || (major == 5 && minor >= 10);
	want_vol = mode == VOLATILE_ON || (mode == VOLATILE_AUTO && vol_ok);
	diag_num(r, "volatile_supported", vol_ok);
	diag_text(r, "volatile_config", "%s",
	          mode == VOLATILE_ON ? "true" : mode == VOLATILE_OFF ? "false" : "auto");
	if (host_read(env->ctx, HOST_PROC, "self/mountinfo", 4 << 20, &mi, &e) == 0) {
		count(mi, false, &n, &nonvol);
		diag_num(r, "host_overlay_mounts", (double)n);
		diag_num(r, "host_overlay_mounts_without_volatile", (double)nonvol);
	}
	if (mode == VOLATILE_ON && !vol_ok)
		diag_set(r, DIAG_FAIL, "OverlayVolatileUnsupported",
		         "set snapshots.volatile to auto, or upgrade the kernel to 5.10 or later",
		         "snapshots.volatile is true but this kernel (%d.%d) has no overlay volatile",
		         major, minor);
	/* ctrbox mounts a container's overlay inside its own mount namespace: look there. */
	if (listing_read(env->ctx, &l, &e) == 0) {
		for (size_t c = 0; c < l.n; c++) {
			const struct listing_entry *le = &l.v[c];
			cleanup_free char *mrel = NULL, *cmi = NULL;

			if (le->status != STATUS_RUNNING || !le->init_alive || le->st.pid <= 0)
				continue;
			mrel = xasprintf("%d/mountinfo", le->st.pid);
			if (host_read(env->ctx, HOST_PROC, mrel, 4 << 20, &cmi, &e) < 0)
				continue;
			count(cmi, true, &n, &nonvol);
			if (n == 0)
				continue; /* run --bundle with a plain rootfs */
			checked++;
			if (nonvol && want_vol) {
				without++;
				diag_set(r, DIAG_WARN, "OverlayNotVolatile",
				         "restart the container with this ctrbox so its teardown does not "
				         "sync (snapshots.volatile: auto)",
				         "container %s: overlay mounted without volatile: its unmount "
				         "will flush dirty pages",
				         le->doc.name ? le->doc.name : le->doc.id);
			}
		}
		listing_release(&l);
	}
	diag_num(r, "container_overlay_mounts", (double)checked);
	diag_num(r, "container_overlay_mounts_without_volatile", (double)without);
	if (!r->summary)
		diag_set(r, DIAG_OK, NULL, NULL, "overlay available, volatile %s%s",
		         vol_ok ? "available" : "unavailable (kernel < 5.10)",
		         want_vol ? " and used" : "");
	return 0;
}
