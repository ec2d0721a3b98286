/* common/image/layer.c - one layer blob applied into a directory without mounts (DESIGN.md lesson
 * 2 and "unpack"). The stream: ISA-L inflate (or libarchive's zstd filter, or nothing) -> SHA-256
 * -> libarchive's tar reader through our read callback, so every uncompressed byte is hashed
 * exactly once. The writes: descriptor-relative, last component never followed, parents
 * resolved inside the target (see layer.h for the containment rules). This file holds the tar
 * entry applier (paths resolved beneath the target, files, directories, links, metadata) and
 * layer_apply(); the decompressing stream is layer_stream.c, whiteouts and opaque directories
 * layer_whiteout.c, the shared declarations layer_int.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <linux/openat2.h>

#include "common/image/archive_dl.h"
#include "common/image/layer.h"
#include "common/image/layer_int.h"
#include "common/util/buf.h"
#include "common/util/mem.h"

static void cache_drop(struct applier *ap)
{
	if (ap->cache.path) {
		close(ap->cache.fd);
		free(ap->cache.path);
		ap->cache.path = NULL;
	}
}

/* After a replacement the cached parent may be gone or reached differently: the next entry
 * resolves afresh, while the current one keeps using its descriptor. */
void layer_cache_invalidate(struct applier *ap)
{
	ap->cache.stale = true;
}

/* The process umask, read without changing it (threads may be creating files). */
static mode_t read_umask(void)
{
	cleanup_fclose FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned m;

	if (f)
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Umask: %o", &m) == 1)
				return (mode_t)m;
	return 0777; /* unknown: chmod every entry */
}

/* Lexical cleaning of an entry name (see layer.h): never leaves DIR. The caller frees. */
static char *clean_path(const char *raw)
{
	size_t len = strlen(raw), o = 0, i = 0;
	char *out = xmalloc(len + 1);

	while (i < len) {
		size_t j = i;

		while (j < len && raw[j] != '/')
			j++;
		if (j == i || (j - i == 1 && raw[i] == '.')) {
			/* empty or "." */
		} else if (j - i == 2 && raw[i] == '.' && raw[i + 1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, raw + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	out[o] = '\0';
	return out;
}

/* Parents never go through a symlink (a layer written from a file system names real paths;
 * only a crafted one goes through its own symlinks, which could also build trees of any
 * depth), nor a magic link, nor out of the root. */
#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int sys_openat2(int dfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = resolve};

	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

/* Opens the directory at cleaned path beneath the root (O_PATH), following no symlink: -1 with
 * errno on failure, -2 when openat2 is unavailable. */
static int open_in_root(struct applier *ap, const char *path)
{
	int fd;

	if (ap->openat2) {
		fd = sys_openat2(ap->root, path, O_PATH | O_DIRECTORY, RESOLVE_FLAGS);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return fd;
		ap->openat2 = false; /* no openat2 (or a seccomp filter refusing it) */
	}
	return -2;
}

/* The manual walk: component by component, O_NOFOLLOW, creating missing directories when
 * create; a symlink anywhere in the path is refused. */
static int walk_dirs(struct applier *ap, const char *path, bool create, const char *entry,
                     struct err *e)
{
	cleanup_close int cur = -1;
	cleanup_free char *copy = xstrdup(path);
	char *save = NULL, *comp;
	struct buf done = BUF_INIT;
	const char *pre = entry ? entry : "", *sep = entry ? ": " : ""; /* what is resolved */

	cur = fcntl(ap->root, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return err_sys(e, "dup");
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;

		if (done.len)
			buf_addc(&done, '/');
		buf_adds(&done, comp);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				err_sys(e, "%s%smkdir %s", pre, sep, buf_str(&done));
				buf_release(&done);
				return -1;
			}
			if (ap->flags & LAYER_APPLY_WHITEOUTS)
				layer_strset_add(&ap->created, buf_str(&done));
			fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int saved = errno;

			if (saved == ENOENT && !create) {
				buf_release(&done);
				return err_set(e, E_NOTFOUND, "%s%sno such directory", pre, sep);
			}
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				err_set(e, E_INVALID, "%s%srefused: parent %s is a symlink", pre,
				        sep, buf_str(&done));
			else if (saved == ENOTDIR || saved == ELOOP)
				err_set(e, E_INVALID, "%s%srefused: parent %s is not a directory",
				        pre, sep, buf_str(&done));
			else
				err_errno(e, saved, "%s%sopen %s", pre, sep, buf_str(&done));
			buf_release(&done);
			return -1;
		}
		close(cur);
		cur = fd;
	}
	buf_release(&done);
	return TAKE_FD(cur);
}

/* A new O_PATH descriptor on the directory at cleaned path, created with its missing parents
 * (mode 0755) when create. E_NOTFOUND when missing and !create. */
int layer_resolve_dir(struct applier *ap, const char *path, bool create, const char *entry,
                      struct err *e)
{
	int fd = open_in_root(ap, path);

	/* One openat2 for a directory that exists; the walk creates what is missing and says
	 * precisely what is wrong (a symlink, a non-directory) otherwise. */
	if (fd >= 0)
		return fd;
	return walk_dirs(ap, path, create, entry, e);
}

/* The parent directory of cleaned path as a borrowed descriptor (cached: tar lists a
 * directory's entries together). *base points at the last component. */
int layer_parent_of(struct applier *ap, const char *path, bool create, const char **base,
                    bool *setgid, const char *entry, struct err *e)
{
	const char *slash = strrchr(path, '/');
	cleanup_free char *parent = NULL;
	struct stat st;
	int fd;

	*base = slash ? slash + 1 : path;
	if (!slash) {
		*setgid = false;
		return ap->root;
	}
	parent = xstrndup(path, (size_t)(slash - path));
	if (ap->cache.path && !ap->cache.stale && strcmp(ap->cache.path, parent) == 0) {
		*setgid = ap->cache.setgid;
		return ap->cache.fd;
	}
	fd = layer_resolve_dir(ap, parent, create, entry, e);
	if (fd < 0)
		return -1;
	cache_drop(ap);
	ap->cache.path = TAKE_PTR(parent);
	ap->cache.fd = fd;
	ap->cache.stale = false;
	ap->cache.setgid = fstat(fd, &st) == 0 && (st.st_mode & S_ISGID);
	*setgid = ap->cache.setgid;
	return fd;
}

/* Removes name under dfd, recursively for a directory, never following a symlink. */
int layer_remove_at(int dfd, const char *name, struct err *e)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(e, "stat %s", name);
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		const struct dirent *de;
		int rc = 0;

		if (fd < 0)
			return err_sys(e, "open %s", name);
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return err_sys(e, "open %s", name);
		}
		while (rc == 0 && (de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				rc = layer_remove_at(dirfd(d), de->d_name, e);
		closedir(d);
		if (rc < 0)
			return -1;
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return err_sys(e, "remove %s", name);
		return 0;
	}
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return err_sys(e, "remove %s", name);
	return 0;
}

/* Makes room for a new entry: whatever is at base goes (last entry wins). */
int layer_replace_at(struct applier *ap, int pfd, const char *base, struct err *e)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(e, "stat %s", base);
	/* The cached parent may lie inside a tree that goes, or have been reached through a
	 * symlink that is replaced: the next entry resolves afresh (replacements are rare). */
	layer_cache_invalidate(ap);
	if (S_ISDIR(st.st_mode))
		return layer_remove_at(pfd, base, e);
	if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
		return err_sys(e, "remove %s", base);
	return 0;
}

static bool xattr_dropped(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 ||
	       strncmp(name, "user.overlay.", 13) == 0;
}

/* Sets the entry's xattrs on fd (security.capability last: a chown clears it). Unsupported
 * namespaces and, when not root, privileged ones are skipped and counted. */
static int set_xattrs(struct applier *ap, struct archive_entry *ae, int fd, const char *lpath,
                      struct err *e)
{
	const char *name;
	const void *val;
	size_t size;

	if (archive_entry_xattr_reset(ae) == 0)
		return 0;
	while (archive_entry_xattr_next(ae, &name, &val, &size) == ARCHIVE_OK) {
		int r;

		if (xattr_dropped(name)) {
			ap->skipped++;
			continue;
		}
		r = fd >= 0 ? fsetxattr(fd, name, val, size, 0)
		            : lsetxattr(lpath, name, val, size, 0);
		if (r < 0) {
			if (errno == ENOTSUP || (errno == EPERM && !ap->as_root)) {
				ap->skipped++;
				continue;
			}
			return err_sys(e, "set xattr %s", name);
		}
	}
	return 0;
}

static struct timespec entry_mtime(struct archive_entry *ae)
{
	struct timespec ts = {archive_entry_mtime(ae), archive_entry_mtime_nsec(ae)};

	return ts;
}

static void entry_times(struct archive_entry *ae, struct timespec ts[2])
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = ts[0];
	if (archive_entry_atime_is_set(ae)) {
		ts[0].tv_sec = archive_entry_atime(ae);
		ts[0].tv_nsec = archive_entry_atime_nsec(ae);
	}
	if (archive_entry_mtime_is_set(ae))
		ts[1] = entry_mtime(ae);
}

/* Ownership is set only as root and only when the kernel's default (0:0, or the parent's group
 * under a setgid parent) differs. */
static bool need_chown(const struct applier *ap, struct archive_entry *ae, bool setgid)
{
	return ap->as_root && (archive_entry_uid(ae) != 0 || archive_entry_gid(ae) != 0 || setgid);
}

static bool need_chmod(const struct applier *ap, mode_t mode)
{
	return (mode & 07000) || (mode & ap->umask);
}

static int apply_file(struct applier *ap, struct archive *a, struct archive_entry *ae, int pfd,
                      const char *base, bool setgid, struct err *e)
{
	mode_t mode = archive_entry_perm(ae) & 07777;
	cleanup_close int fd = -1;
	int64_t pos = 0, size = archive_entry_size(ae);
	struct timespec ts[2];

	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
	if (fd < 0 && errno == EEXIST) {
		if (layer_replace_at(ap, pfd, base, e) < 0)
			return -1;
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            mode & 0777);
	}
	if (fd < 0)
		return err_sys(e, "create");
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return err_set(e, E_CORRUPT, "%s", archive_error_string(a));
		while (len > 0) {
			ssize_t n = pwrite(fd, buf, len, off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return err_sys(e, "write");
			buf = (const char *)buf + n;
			len -= (size_t)n;
			off += n;
		}
		pos = off;
	}
	if (pos < size && ftruncate(fd, size) < 0) /* a sparse file ending in a hole */
		return err_sys(e, "truncate");
	if (need_chown(ap, ae, setgid) &&
	    fchown(fd, (uid_t)archive_entry_uid(ae), (gid_t)archive_entry_gid(ae)) < 0)
		return err_sys(e, "chown");
	if (need_chmod(ap, mode) && fchmod(fd, mode) < 0)
		return err_sys(e, "chmod");
	if (set_xattrs(ap, ae, fd, NULL, e) < 0)
		return -1;
	entry_times(ae, ts);
	if (ts[1].tv_nsec != UTIME_OMIT && futimens(fd, ts) < 0)
		return err_sys(e, "set times");
	return 0;
}

static void dirmeta_add(struct applier *ap, const char *path, struct archive_entry *ae)
{
	struct dirmeta *d;

	if (ap->n_dirs == ap->cap_dirs) {
		ap->cap_dirs = ap->cap_dirs ? ap->cap_dirs * 2 : 64;
		ap->dirs = xreallocarray(ap->dirs, ap->cap_dirs, sizeof(*ap->dirs));
	}
	d = &ap->dirs[ap->n_dirs++];
	memset(d, 0, sizeof(*d));
	d->path = xstrdup(path);
	d->mode = archive_entry_perm(ae) & 07777;
	d->has_mtime = archive_entry_mtime_is_set(ae);
	d->mtime = entry_mtime(ae);
	d->has_atime = archive_entry_atime_is_set(ae);
	d->atime.tv_sec = archive_entry_atime(ae);
	d->atime.tv_nsec = archive_entry_atime_nsec(ae);
}

static int apply_dir(struct applier *ap, struct archive_entry *ae, const char *path, int pfd,
                     const char *base, bool setgid, struct err *e)
{
	mode_t mode = archive_entry_perm(ae) & 07777;
	/* Not root: keep the directory writable for what follows; the mode is set at the end. */
	mode_t initial = ap->as_root ? mode & 0777 : (mode & 0777) | 0700;

	if (*path == '\0') {
		if (need_chown(ap, ae, false) && fchown(ap->root, (uid_t)archive_entry_uid(ae),
		                                        (gid_t)archive_entry_gid(ae)) < 0)
			return err_sys(e, "chown");
	} else {
		if (mkdirat(pfd, base, initial) < 0) {
			struct stat st;

			if (errno != EEXIST)
				return err_sys(e, "mkdir");
			if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
				return err_sys(e, "stat");
			if (!S_ISDIR(st.st_mode)) {
				if (layer_replace_at(ap, pfd, base, e) < 0)
					return -1;
				if (mkdirat(pfd, base, initial) < 0)
					return err_sys(e, "mkdir");
			}
		}
		if (need_chown(ap, ae, setgid) &&
		    fchownat(pfd, base, (uid_t)archive_entry_uid(ae), (gid_t)archive_entry_gid(ae),
		             AT_SYMLINK_NOFOLLOW) < 0)
			return err_sys(e, "chown");
	}
	if (archive_entry_xattr_count(ae) > 0) {
		cleanup_close int fd =
		    *path ? openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		          : openat(ap->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			return err_sys(e, "open");
		if (set_xattrs(ap, ae, fd, NULL, e) < 0)
			return -1;
	}
	dirmeta_add(ap, path, ae);
	return 0;
}

/* Runs fn until it stops failing with EEXIST, replacing what is in the way once. */
#define CREATE_REPLACING(call)                                                                     \
	({                                                                                         \
		int r_ = (call);                                                                   \
		if (r_ < 0 && errno == EEXIST) {                                                   \
			if (layer_replace_at(ap, pfd, base, e) < 0)                                \
				return -1;                                                         \
			r_ = (call);                                                               \
		}                                                                                  \
		r_;                                                                                \
	})

static int apply_meta_at(struct applier *ap, struct archive_entry *ae, int pfd, const char *base,
                         bool setgid, bool chmod_too, struct err *e)
{
	mode_t mode = archive_entry_perm(ae) & 07777;
	struct timespec ts[2];

	if (need_chown(ap, ae, setgid) &&
	    fchownat(pfd, base, (uid_t)archive_entry_uid(ae), (gid_t)archive_entry_gid(ae),
	             AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, "chown");
	if (chmod_too && need_chmod(ap, mode) && fchmodat(pfd, base, mode, 0) < 0)
		return err_sys(e, "chmod");
	if (archive_entry_xattr_count(ae) > 0) {
		cleanup_free char *lpath = xasprintf("/proc/self/fd/%d/%s", pfd, base);

		if (set_xattrs(ap, ae, -1, lpath, e) < 0)
			return -1;
	}
	entry_times(ae, ts);
	if (ts[1].tv_nsec != UTIME_OMIT && utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, "set times");
	return 0;
}

static int apply_hardlink(struct applier *ap, struct archive_entry *ae, const char *path, int pfd,
                          const char *base, struct err *e)
{
	cleanup_free char *target = clean_path(archive_entry_hardlink(ae));
	cleanup_close int tfd = -1;
	const char *tslash = strrchr(target, '/');
	const char *tbase = tslash ? tslash + 1 : target;
	struct err local = ERR_INIT;
	int tpfd = ap->root;

	if (strcmp(target, path) == 0)
		return 0;
	if (*target == '\0')
		return err_set(e, E_INVALID, "refused: hardlink to the root directory");
	if (tslash) {
		cleanup_free char *tparent = xstrndup(target, (size_t)(tslash - target));

		tfd = layer_resolve_dir(ap, tparent, false, "hardlink target", &local);
		if (tfd < 0 && local.code == E_NOTFOUND)
			return err_set(e, E_INVALID,
			               "refused: hardlink target \"%s\" is not in this layer",
			               target);
		if (tfd < 0) {
			*e = local;
			return -1;
		}
		tpfd = tfd;
	}
	if (CREATE_REPLACING(linkat(tpfd, tbase, pfd, base, 0)) < 0) {
		if (errno == ENOENT)
			return err_set(e, E_INVALID,
			               "refused: hardlink target \"%s\" is not in this layer",
			               target);
		if (errno == EPERM)
			return err_set(e, E_INVALID,
			               "refused: hardlink target \"%s\" is a directory", target);
		return err_sys(e, "link to %s", target);
	}
	return 0;
}

static int apply_entry(struct applier *ap, struct archive *a, struct archive_entry *ae,
                       const char *path, struct err *e)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	mode_t type = archive_entry_filetype(ae);
	bool setgid = false;
	int pfd;

	if (strncmp(base, ".wh.", 4) == 0) {
		if (strcmp(base, ".wh..wh..opq") == 0) {
			cleanup_free char *dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);

			return layer_apply_opaque(ap, dir, e);
		}
		if (strncmp(base, ".wh..wh.", 8) == 0) { /* aufs metadata (.wh..wh.plnk) */
			ap->skipped++;
			return 0;
		}
		return layer_apply_whiteout(ap, path, base + 4, e);
	}
	if (*path == '\0' && type != AE_IFDIR)
		return err_set(e, E_INVALID, "refused: a non-directory entry names the root");
	if (*path == '\0')
		return apply_dir(ap, ae, path, ap->root, "", false, e);
	pfd = layer_parent_of(ap, path, true, &base, &setgid, NULL, e);
	if (pfd < 0)
		return -1;
	if (ap->flags & LAYER_APPLY_WHITEOUTS)
		layer_strset_add(&ap->created, path);
	if (archive_entry_hardlink(ae))
		return apply_hardlink(ap, ae, path, pfd, base, e);
	switch (type) {
	case AE_IFREG:
		return apply_file(ap, a, ae, pfd, base, setgid, e);
	case AE_IFDIR:
		return apply_dir(ap, ae, path, pfd, base, setgid, e);
	case AE_IFLNK:
		if (CREATE_REPLACING(symlinkat(archive_entry_symlink(ae), pfd, base)) < 0)
			return err_sys(e, "symlink");
		return apply_meta_at(ap, ae, pfd, base, setgid, false, e);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO: {
		mode_t mode = archive_entry_perm(ae) & 07777;

		if (type != AE_IFIFO && !ap->as_root) {
			ap->skipped++;
			return 0;
		}
		if (CREATE_REPLACING(mknodat(
		        pfd, base, type | (mode & 0777),
		        makedev(archive_entry_rdevmajor(ae), archive_entry_rdevminor(ae)))) < 0)
			return err_sys(e, "mknod");
		return apply_meta_at(ap, ae, pfd, base, setgid, true, e);
	}
	default:
		ap->skipped++; /* sockets and unknown types: nothing to create */
		return 0;
	}
}

/* Directory modes and times, last so the entries written inside did not change them; children
 * before parents (reverse order), the last entry for a path winning. */
static int finish_dirs(struct applier *ap, struct err *e)
{
	struct strset done = {0};
	size_t i;
	int rc = 0;

	cache_drop(ap);
	for (i = ap->n_dirs; i-- > 0 && rc == 0;) {
		const struct dirmeta *d = &ap->dirs[i];
		struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
		cleanup_close int fd = -1;

		if (layer_strset_has(&done, d->path))
			continue;
		layer_strset_add(&done, d->path);
		if (*d->path == '\0')
			fd = openat(ap->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		else if (ap->openat2)
			fd = sys_openat2(ap->root, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
			                 RESOLVE_FLAGS);
		else {
			cleanup_free char *copy = xstrdup(d->path);
			char *slash = strrchr(copy, '/');
			cleanup_close int pfd = -1;

			if (slash) {
				struct err local = ERR_INIT;

				*slash = '\0';
				pfd = walk_dirs(ap, copy, false, d->path, &local);
			}
			if (!slash || pfd >= 0)
				fd = openat(slash ? pfd : ap->root, slash ? slash + 1 : copy,
				            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			continue; /* replaced by a later non-directory entry */
		if ((!ap->as_root || need_chmod(ap, d->mode)) && fchmod(fd, d->mode) < 0)
			rc = err_sys(e, "%s: chmod", d->path);
		if (d->has_atime)
			ts[0] = d->atime;
		if (d->has_mtime)
			ts[1] = d->mtime;
		if (rc == 0 && d->has_mtime && futimens(fd, ts) < 0)
			rc = err_sys(e, "%s: set times", d->path);
	}
	layer_strset_release(&done);
	return rc;
}

static void applier_release(struct applier *ap)
{
	size_t i;

	cache_drop(ap);
	for (i = 0; i < ap->n_dirs; i++)
		free(ap->dirs[i].path);
	free(ap->dirs);
	layer_strset_release(&ap->created);
}

static int run_archive(struct applier *ap, struct archive *a, struct src *s,
                       struct layer_result *res, struct err *e)
{
	struct archive_entry *ae;
	int r;

	while ((r = archive_read_next_header(a, &ae)) != ARCHIVE_EOF) {
		const char *raw;
		cleanup_free char *path = NULL;

		if (r < ARCHIVE_WARN) {
			if (layer_src_error(s, e))
				return -1;
			return err_set(e, E_CORRUPT, "%s", archive_error_string(a));
		}
		raw = archive_entry_pathname(ae);
		if (!raw)
			raw = archive_entry_pathname_utf8(ae);
		if (!raw)
			return err_set(e, E_INVALID, "entry %lld has no readable name",
			               (long long)res->entries);
		res->entries++;
		path = clean_path(raw);
		if (apply_entry(ap, a, ae, path, e) < 0) {
			if (!layer_src_error(s, e))
				err_wrap(e, "entry \"%s\"", raw);
			return -1;
		}
	}
	return 0;
}

int layer_apply(int blob_fd, int dir_fd, const struct layer_opts *o, struct layer_result *out,
                struct err *e)
{
	struct layer_opts defaults = {0};
	struct applier ap = {0};
	struct layer_result res = {0};
	struct src s;
	struct archive *a = NULL;
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = (locale_t)0;
	int64_t csize, limit;
	int rc = -1;

	if (!o)
		o = &defaults;
	csize = o->compressed_size;
	if (csize <= 0) {
		struct stat st;

		csize = fstat(blob_fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
	}
	limit = o->max_bytes > 0
	            ? o->max_bytes
	            : (csize > LAYER_MIN_LIMIT / LAYER_RATIO_LIMIT ? csize * LAYER_RATIO_LIMIT
	                                                           : LAYER_MIN_LIMIT);
	if (layer_src_open(&s, blob_fd, limit, e) < 0)
		goto out;
	ap.root = dir_fd;
	ap.flags = o->flags;
	ap.as_root = geteuid() == 0;
	ap.umask = read_umask();
	ap.openat2 = !(o->flags & LAYER_NO_OPENAT2);
	if (archive_dl_require(e) < 0)
		goto out;
	/* Names are bytes: a UTF-8 locale in this thread only keeps libarchive from refusing
	 * PAX UTF-8 names it cannot convert to the C locale. */
	if (utf8)
		old = uselocale(utf8);
	a = archive_read_new();
	if (!a) {
		err_set(e, E_IO, "libarchive: out of memory");
		goto out;
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open(a, &s, NULL, layer_tar_read_cb, NULL) != ARCHIVE_OK) {
		if (!layer_src_error(&s, e))
			err_set(e, E_CORRUPT, "%s", archive_error_string(a));
		goto out;
	}
	if (run_archive(&ap, a, &s, &res, e) < 0)
		goto out;
	/* The digest covers the whole stream: the end-of-archive blocks and record padding. */
	for (;;) {
		const void *buf;
		ssize_t n = layer_src_next(&s, &buf);

		if (n == 0)
			break;
		if (n < 0) {
			layer_src_error(&s, e);
			goto out;
		}
	}
	layer_src_stop(&s);
	if (finish_dirs(&ap, e) < 0)
		goto out;
	hasher_final(s.h, &res.diff_id);
	res.bytes = s.total;
	res.skipped = ap.skipped;
	*out = res;
	rc = 0;
out:
	if (a)
		archive_read_free(a);
	if (old)
		uselocale(old);
	if (utf8)
		freelocale(utf8);
	applier_release(&ap);
	layer_src_release(&s);
	if (rc < 0)
		err_wrap(e, "layer");
	return rc;
}
