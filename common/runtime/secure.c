/* common/runtime/secure.c - the container process's privileges: rlimits, user and groups,
 * capabilities in every set (bounding, ambient, inheritable, permitted, effective),
 * no_new_privs, the seccomp filter, and fds closed at exec (DESIGN.md "run"). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/runtime/secure.h"

int secure_rlimits(const struct spec *s, struct err *e)
{
	for (size_t i = 0; i < s->n_rlimits; i++) {
		struct rlimit rl = {(rlim_t)s->rlimits[i].soft, (rlim_t)s->rlimits[i].hard};
		if (setrlimit(s->rlimits[i].resource, &rl) < 0)
			return err_sys(e, "setrlimit %d", s->rlimits[i].resource);
	}
	return 0;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

int secure_user(const struct spec *s, struct err *e)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	int last = last_cap();
	uint64_t caps = 0;

	/* What we were given bounds what the container gets: --privileged means every
	 * capability the shim holds, as docker gives what its daemon holds. */
	for (int c = 0; c <= last && c < 64; c++)
		if ((s->caps & (1ULL << c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			caps |= 1ULL << c;
	for (int c = 0; c <= last; c++)
		if (!(caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return err_sys(e, "drop capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_sys(e, "clear ambient capabilities");
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_sys(e, "keep capabilities");
	if (setgroups(s->n_gids, s->gids) < 0)
		return err_sys(e, "setgroups");
	if (setresgid(s->gid, s->gid, s->gid) < 0)
		return err_sys(e, "setgid %u", (unsigned)s->gid);
	if (setresuid(s->uid, s->uid, s->uid) < 0)
		return err_sys(e, "setuid %u", (unsigned)s->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return err_sys(e, "keep capabilities");
	data[0].effective = data[0].permitted = (uint32_t)caps;
	data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err_sys(e, "capset");
	return 0;
}

int secure_no_new_privs(const struct spec *s, struct err *e)
{
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, "no_new_privs");
	return 0;
}

int secure_seccomp(const struct spec *s, struct err *e)
{
	scmp_filter_ctx sc;
	int rc;

	if (!s->seccomp)
		return 0;
	sc = seccomp_init(SCMP_ACT_ALLOW);
	if (!sc)
		return err_set(e, E_IO, "seccomp_init failed");
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct spec_syscall *r = &s->syscalls[i];
		uint32_t act = r->action == SPEC_SC_ALLOW  ? SCMP_ACT_ALLOW
		               : r->action == SPEC_SC_KILL ? SCMP_ACT_KILL_PROCESS
		                                           : SCMP_ACT_ERRNO((uint16_t)r->errno_ret);
		if (act == SCMP_ACT_ALLOW)
			continue; /* the default already */
		for (char **n = r->names; n && *n; n++) {
			int nr = seccomp_syscall_resolve_name(*n);
			if (nr == __NR_SCMP_ERROR)
				continue;
			if (r->has_arg) {
				struct scmp_arg_cmp cmp = {r->arg_index, SCMP_CMP_MASKED_EQ,
				                           r->arg_mask, r->arg_value};
				rc = seccomp_rule_add_array(sc, act, nr, 1, &cmp);
			} else {
				rc = seccomp_rule_add(sc, act, nr, 0);
			}
			/* -EACCES/-EEXIST: a rule libseccomp cannot express here or already has. */
			if (rc < 0 && rc != -EACCES && rc != -EEXIST && rc != -EDOM) {
				seccomp_release(sc);
				return err_errno(e, -rc, "seccomp rule for %s", *n);
			}
		}
	}
	rc = seccomp_load(sc);
	seccomp_release(sc);
	if (rc < 0)
		return err_errno(e, -rc, "load the seccomp filter");
	return 0;
}

int secure_close_fds(struct err *e)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return err_sys(e, "close_range");
	return 0;
}
