/* common/runtime/secure.c - the container process's privileges: rlimits, user and groups,
 * capabilities in every set (bounding, ambient, inheritable, permitted, effective),
 * no_new_privs, the seccomp filter, and fds closed at exec (DESIGN.md "run"). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/runtime/seccomp_dl.h"
#include "common/runtime/secure.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/util/sha256.h"

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

static int compile_rules(const struct spec *s, struct secure_filter *out, struct err *e)
{
	scmp_filter_ctx sc;
	struct stat st;
	int rc, fd;

	if (seccomp_dl_require(e) < 0)
		return err_wrap(e, "seccomp");
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
	/* libseccomp 2.5 exports only to a descriptor: the same program seccomp_load would
	 * load, written to a memfd and read back. */
	fd = memfd_create("seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(sc);
		return err_sys(e, "seccomp: memfd");
	}
	rc = seccomp_export_bpf(sc, fd);
	seccomp_release(sc);
	if (rc < 0) {
		close(fd);
		return err_errno(e, -rc, "seccomp: build the filter");
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > SECURE_FILTER_MAX) {
		close(fd);
		return err_set(e, E_INVALID, "seccomp: a filter of %lld bytes", (long long)st.st_size);
	}
	out->len = (uint16_t)(st.st_size / sizeof(struct sock_filter));
	out->insns = xcalloc(out->len, sizeof(struct sock_filter));
	if (pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		close(fd);
		secure_filter_release(out);
		return err_sys(e, "seccomp: read the filter back");
	}
	close(fd);
	return 0;
}

/* The cache's name for the rules: SHA-256 over everything the program depends on (the rules
 * in order, libseccomp's version, which fixes its syscall table and code generator), in hex.
 * The version is the one built against: the shim, the cache's user, links libseccomp
 * statically. */
static void cache_key(const struct spec *s, char hex[2 * SHA256_LEN + 1])
{
	struct buf b = BUF_INIT;
	uint8_t md[SHA256_LEN];

	buf_printf(&b, "ctrbox seccomp 1 libseccomp %d.%d.%d\n", SCMP_VER_MAJOR, SCMP_VER_MINOR,
	           SCMP_VER_MICRO);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct spec_syscall *r = &s->syscalls[i];
		buf_printf(&b, "%d %u %d %u %llu %llu", (int)r->action, (unsigned)r->errno_ret,
		           (int)r->has_arg, (unsigned)r->arg_index,
		           (unsigned long long)r->arg_mask, (unsigned long long)r->arg_value);
		for (char **n = r->names; n && *n; n++)
			buf_printf(&b, " %s", *n);
		buf_printf(&b, "\n");
	}
	sha256(b.data, b.len, md);
	buf_release(&b);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static bool cache_read(const char *path, struct secure_filter *out)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	struct err e = ERR_INIT;

	if (fs_read_file(path, SECURE_FILTER_MAX * sizeof(struct sock_filter), &data, &len, &e) < 0 ||
	    len == 0 || len % sizeof(struct sock_filter))
		return false;
	out->len = (uint16_t)(len / sizeof(struct sock_filter));
	out->insns = (struct sock_filter *)TAKE_PTR(data); /* malloc's alignment suits it */
	return true;
}

int secure_seccomp_compile(const struct spec *s, const char *cache_dir,
                           struct secure_filter *out, struct err *e)
{
	char key[2 * SHA256_LEN + 1], name[2 * SHA256_LEN + 8];
	cleanup_free char *path = NULL;
	struct err ignored = ERR_INIT;

	*out = (struct secure_filter){0};
	if (!s->seccomp)
		return 0;
	if (!cache_dir)
		return compile_rules(s, out, e);
	cache_key(s, key);
	snprintf(name, sizeof(name), "%s.bpf", key);
	path = path_join(cache_dir, name);
	if (cache_read(path, out))
		return 0;
	if (compile_rules(s, out, e) < 0)
		return -1;
	/* Best effort: a cache that cannot be written costs the next start a compile. */
	if (fs_mkdir_p(cache_dir, 0700, &ignored) < 0)
		return 0;
	(void)fs_write_atomic(path, out->insns, (size_t)out->len * sizeof(struct sock_filter), 0600,
	                      0, &ignored);
	return 0;
}

int secure_seccomp_load(const struct secure_filter *f, struct err *e)
{
	struct sock_fprog prog = {.len = f->len, .filter = f->insns};

	if (!f->len)
		return 0;
	/* As libseccomp's default: the filter is loaded with no_new_privs, which an
	 * unprivileged process needs and a privileged one should have anyway. */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, "no_new_privs");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_sys(e, "load the seccomp filter");
	return 0;
}

void secure_filter_release(struct secure_filter *f)
{
	free(f->insns);
	*f = (struct secure_filter){0};
}

int secure_seccomp(const struct spec *s, struct err *e)
{
	struct secure_filter f;
	int rc;

	if (secure_seccomp_compile(s, NULL, &f, e) < 0)
		return -1;
	rc = secure_seccomp_load(&f, e);
	secure_filter_release(&f);
	return rc;
}

int secure_close_fds(struct err *e)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return err_sys(e, "close_range");
	return 0;
}
