/* common/runtime/rootfs.c - the container's file system inside its mount namespace: root
 * mount, the spec's mounts resolved inside the rootfs (openat2 RESOLVE_IN_ROOT, so a symlink in
 * the image cannot send a mount outside it), /dev, pivot_root, masked and read-only paths
 * (DESIGN.md "run"). Runs in the container's init between clone and exec. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/runtime/rootfs.h"
#include "common/util/mem.h"

struct mnt_flag {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct mnt_flag mnt_flags[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"noatime", false, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"sync", false, MS_SYNCHRONOUS},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"private", false, 0},
    {"rprivate", false, 0},
    {"slave", false, 0},
    {"rslave", false, 0},
    {"shared", false, 0},
    {"rshared", false, 0},
    {"defaults", false, 0},
};

/* Splits runtime-spec options into mount flags and the data string (data is len bytes). */
static unsigned long parse_options(char *const *opts, char *data, size_t len)
{
	unsigned long flags = 0;
	size_t used = 0;

	data[0] = '\0';
	for (; opts && *opts; opts++) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(mnt_flags); i++)
			if (strcmp(*opts, mnt_flags[i].name) == 0)
				break;
		if (i < ARRAY_SIZE(mnt_flags)) {
			if (mnt_flags[i].clear)
				flags &= ~mnt_flags[i].flag;
			else
				flags |= mnt_flags[i].flag;
			continue;
		}
		used += (size_t)snprintf(data + used, used < len ? len - used : 0, "%s%s",
		                         used ? "," : "", *opts);
	}
	return flags;
}

#define LINK_HOPS_MAX 40 /* as the kernel's MAXSYMLINKS */

static int open_in_root_at(int root, const char *path, bool create, bool file, int hops,
                           struct err *e);

/* The last component of buf (its parent open as parent) is a symlink whose target does not
 * exist yet: create that target instead, resolved inside root as the link would be (a
 * relative target from the link's directory, an absolute one from root), as docker does for
 * a dangling /etc/hosts. */
static int follow_dangling(int root, int parent, char *buf, char *slash, int hops, struct err *e)
{
	char target[4096];
	ssize_t n = readlinkat(parent, slash + 1, target, sizeof(target) - 1);
	cleanup_free char *next = NULL;

	if (n < 0)
		return err_sys(e, "%s", buf);
	target[n] = '\0';
	if (hops >= LINK_HOPS_MAX)
		return err_errno(e, ELOOP, "%s", buf);
	if (target[0] == '/') {
		next = xstrdup(target);
	} else {
		*slash = '\0';
		next = xasprintf("%s/%s", buf, target);
		*slash = '/';
	}
	return open_in_root_at(root, next, true, true, hops + 1, e);
}

/* An O_PATH descriptor of path inside root (symlinks resolved as if root were "/"), creating
 * missing directories on the way and the last component as a directory or, with file, an
 * empty file (through a dangling symlink, its target inside root). */
static int open_in_root_at(int root, const char *path, bool create, bool file, int hops,
                           struct err *e)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	char buf[4096];
	char *p;
	int fd;

	if (strlen(path) >= sizeof(buf))
		return err_set(e, E_INVALID, "%s: path too long", path);
	snprintf(buf, sizeof(buf), "%s", path);
	fd = (int)syscall(SYS_openat2, root, buf, &how, sizeof(how));
	if (fd >= 0 || errno != ENOENT || !create)
		return fd >= 0 ? fd : err_sys(e, "%s", path);
	/* Create each missing component through its resolved parent. */
	for (p = buf + 1;; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		fd = (int)syscall(SYS_openat2, root, buf, &how, sizeof(how));
		if (fd < 0 && errno == ENOENT) {
			char *slash = strrchr(buf, '/');
			int parent;
			*slash = '\0';
			parent =
			    (int)syscall(SYS_openat2, root, *buf ? buf : "/", &how, sizeof(how));
			*slash = '/';
			if (parent < 0)
				return err_sys(e, "%s", buf);
			if (last && file) {
				/* O_NOFOLLOW: a dangling symlink is followed inside root only. */
				int c = openat(parent, slash + 1,
				               O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
				if (c < 0 && errno == ELOOP) {
					fd = follow_dangling(root, parent, buf, slash, hops, e);
					close(parent);
					return fd;
				}
				if (c >= 0)
					close(c);
			} else {
				(void)mkdirat(parent, slash + 1, 0755);
			}
			close(parent);
			fd = (int)syscall(SYS_openat2, root, buf, &how, sizeof(how));
		}
		if (fd < 0)
			return err_sys(e, "%s", buf);
		if (last)
			return fd;
		close(fd);
		*p = '/';
	}
}

static int open_in_root(int root, const char *path, bool create, bool file, struct err *e)
{
	return open_in_root_at(root, path, create, file, 0, e);
}

static void fd_path(int fd, char *buf, size_t n)
{
	snprintf(buf, n, "/proc/self/fd/%d", fd);
}

int rootfs_mount_root(const char *target, const char *chdir_to, const char *opts,
                      const char *bind_src, struct err *e)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(e, "make / private");
	if (bind_src) {
		if (mount(bind_src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return err_sys(e, "bind %s", bind_src);
		return 0;
	}
	if (chdir_to && chdir(chdir_to) < 0)
		return err_sys(e, "chdir %s", chdir_to);
	if (mount("overlay", target, "overlay", 0, opts) < 0)
		return err_sys(e, "mount overlay on %s", target);
	return 0;
}

/* v1: a tmpfs with each of this process's hierarchies mounted below it (inside the cgroup
 * namespace they show the container's own cgroup as their root); v2: cgroup2 itself. */
static int mount_cgroup(int root, const char *dest, int target_fd, unsigned long flags, bool v2,
                        struct err *e)
{
	char tp[64], line[512];
	FILE *f;
	int fd;

	fd_path(target_fd, tp, sizeof(tp));
	if (v2) {
		if (mount("cgroup", tp, "cgroup2", flags, NULL) < 0)
			return err_sys(e, "mount cgroup2");
		return 0;
	}
	if (mount("tmpfs", tp, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		return err_sys(e, "mount tmpfs on /sys/fs/cgroup");
	/* The descriptor still names the directory under the new tmpfs: walk the path again
	 * to land on the tmpfs itself. */
	fd = open_in_root(root, dest, false, false, e);
	if (fd < 0)
		return -1;
	fd_path(fd, tp, sizeof(tp));
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return err_sys(e, "/proc/self/cgroup");
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *end, dir[128], data[128];
		if (!ctl || !(end = strchr(++ctl, ':')) || end == ctl)
			continue; /* the cgroup2 line ("0::/") */
		*end = '\0';
		if (strncmp(ctl, "name=", 5) == 0) {
			snprintf(dir, sizeof(dir), "%s", ctl + 5);
			snprintf(data, sizeof(data), "none,%s", ctl);
		} else {
			snprintf(dir, sizeof(dir), "%s", ctl);
			snprintf(data, sizeof(data), "%s", ctl);
		}
		{
			char sub[256];
			snprintf(sub, sizeof(sub), "%s/%s", tp, dir);
			(void)mkdir(sub, 0755);
			if (mount("cgroup", sub, "cgroup", flags, data) < 0) {
				int errno_ = errno;
				fclose(f);
				close(fd);
				return err_errno(e, errno_, "mount cgroup %s", ctl);
			}
		}
	}
	fclose(f);
	if (mount(NULL, tp, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          "mode=755") < 0) {
		int errno_ = errno;
		close(fd);
		return err_errno(e, errno_, "remount /sys/fs/cgroup read-only");
	}
	close(fd);
	return 0;
}

/* Whether a bind destination declared outside /proc and /sys was led there by a symlink in
 * the image (runc refuses the same): a bind over a kernel file is never what was meant. */
static bool escapes_to_kernel_fs(int fd, const char *dest)
{
	struct statfs sf;

	if (strncmp(dest, "/proc", 5) == 0 || strncmp(dest, "/sys", 4) == 0)
		return false;
	return fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC);
}

static int do_mount(int root, const struct spec_mount *m, bool cgroup_v2, struct err *e)
{
	char data[1024], tp[64];
	unsigned long flags = parse_options(m->options, data, sizeof(data));
	bool bind = (flags & MS_BIND) || strcmp(m->type, "bind") == 0;
	struct stat st;
	bool file = false;
	int fd, rc = 0;

	if (bind) {
		if (stat(m->source, &st) < 0)
			return err_sys(e, "mount %s: source %s", m->dest, m->source);
		file = !S_ISDIR(st.st_mode);
	}
	fd = open_in_root(root, m->dest, true, file, e);
	if (fd < 0)
		return err_wrap(e, "mount %s", m->dest);
	if (bind && escapes_to_kernel_fs(fd, m->dest)) {
		close(fd);
		return err_set(e, E_PERM, "mount %s: resolves into /proc or /sys, refusing",
		               m->dest);
	}
	fd_path(fd, tp, sizeof(tp));
	if (strcmp(m->type, "cgroup") == 0) {
		rc = mount_cgroup(root, m->dest, fd, flags & ~(MS_BIND | MS_REC), cgroup_v2, e);
	} else if (bind) {
		unsigned long extra = flags & ~(MS_BIND | MS_REC);
		if (mount(m->source, tp, NULL, MS_BIND | (flags & MS_REC), NULL) < 0) {
			rc = err_sys(e, "bind %s on %s", m->source, m->dest);
		} else if (extra) {
			/* Bind flags only take with a remount, of the new mount: walk the path
			 * again, the descriptor still names what is underneath. */
			int top = open_in_root(root, m->dest, false, false, e);
			if (top < 0) {
				rc = -1;
			} else {
				fd_path(top, tp, sizeof(tp));
				if (mount(NULL, tp, NULL, MS_REMOUNT | MS_BIND | extra, NULL) < 0)
					rc = err_sys(e, "remount %s", m->dest);
				close(top);
			}
		}
	} else if (mount(m->source, tp, m->type, flags, *data ? data : NULL) < 0) {
		rc = err_sys(e, "mount %s on %s", m->type, m->dest);
	}
	close(fd);
	return rc;
}

static int make_dev(int root, struct err *e)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
	             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	static const struct {
		const char *link, *target;
	} links[] = {{"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
	             {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
	             {"ptmx", "pts/ptmx"},          {"core", "/proc/kcore"}};
	int dev = open_in_root(root, "/dev", false, false, e);

	if (dev < 0)
		return err_wrap(e, "/dev");
	{
		/* O_PATH cannot mknod; reopen as a directory through the magic link. */
		char p[64];
		int d;
		fd_path(dev, p, sizeof(p));
		d = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(dev);
		if (d < 0)
			return err_sys(e, "/dev");
		dev = d;
	}
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		if (mknodat(dev, nodes[i].name, S_IFCHR | 0666,
		            makedev(nodes[i].maj, nodes[i].min)) < 0 &&
		    errno != EEXIST) {
			int errno_ = errno;
			close(dev);
			return err_errno(e, errno_, "mknod /dev/%s", nodes[i].name);
		}
		if (fchmodat(dev, nodes[i].name, 0666, 0) < 0) {
			int errno_ = errno;
			close(dev);
			return err_errno(e, errno_, "chmod /dev/%s", nodes[i].name);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i].target, dev, links[i].link) < 0 && errno != EEXIST) {
			int errno_ = errno;
			close(dev);
			return err_errno(e, errno_, "symlink /dev/%s", links[i].link);
		}
	close(dev);
	return 0;
}

static int pivot(const char *rootfs, struct err *e)
{
	if (chdir(rootfs) < 0)
		return err_sys(e, "chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(e, "pivot_root");
	/* The old root is stacked on "."; detach it without waiting on anything. */
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(e, "detach the old root");
	if (chdir("/") < 0)
		return err_sys(e, "chdir /");
	return 0;
}

static int mask_paths(char *const *paths, struct err *e)
{
	struct stat st;

	for (; paths && *paths; paths++) {
		if (stat(*paths, &st) < 0)
			continue; /* nothing to hide */
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", *paths, "tmpfs", MS_RDONLY, "size=0") < 0)
				return err_sys(e, "mask %s", *paths);
		} else if (mount("/dev/null", *paths, NULL, MS_BIND, NULL) < 0) {
			return err_sys(e, "mask %s", *paths);
		}
	}
	return 0;
}

static int readonly_paths(char *const *paths, struct err *e)
{
	for (; paths && *paths; paths++) {
		if (mount(*paths, *paths, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return err_sys(e, "bind %s", *paths);
		}
		if (mount(NULL, *paths, NULL,
		          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		          NULL) < 0)
			return err_sys(e, "make %s read-only", *paths);
	}
	return 0;
}

int rootfs_setup(const struct spec *s, const char *rootfs, bool cgroup_v2,
                 void (*before_cgroup)(void *arg), void *arg, struct err *e)
{
	int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	if (root < 0)
		return err_sys(e, "%s", rootfs);
	for (size_t i = 0; i < s->n_mounts; i++) {
		if (before_cgroup && strcmp(s->mounts[i].type, "cgroup") == 0) {
			before_cgroup(arg);
			before_cgroup = NULL;
		}
		if (do_mount(root, &s->mounts[i], cgroup_v2, e) < 0) {
			close(root);
			return -1;
		}
	}
	if (before_cgroup)
		before_cgroup(arg);
	if (make_dev(root, e) < 0) {
		close(root);
		return -1;
	}
	/* A missing working directory is created, as docker does; one that cannot be (a file
	 * in the way) is the caller's error. */
	fd = open_in_root(root, s->cwd ? s->cwd : "/", true, false, e);
	close(root);
	if (fd < 0)
		return err_wrap(e, "workdir");
	close(fd);
	if (pivot(rootfs, e) < 0)
		return -1;
	if (mask_paths(s->masked, e) < 0 || readonly_paths(s->readonly, e) < 0)
		return -1;
	if (s->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return err_sys(e, "make / read-only");
	return 0;
}
