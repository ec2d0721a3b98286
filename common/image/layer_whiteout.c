/* common/image/layer_whiteout.c - OCI whiteouts and opaque directories of a layer (DESIGN.md
 * "unpack": OCI whiteouts become overlay whiteouts): an overlay whiteout device and
 * trusted.overlay.opaque, or with LAYER_APPLY_WHITEOUTS (flattened rootfs) the deletion of what
 * lower layers put there, sparing what this layer wrote (the set of its paths is here too).
 * Internal to layer_apply(): the applier is layer.c, the shared declarations layer_int.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/image/layer.h"
#include "common/image/layer_int.h"
#include "common/util/mem.h"

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

bool layer_strset_has(const struct strset *set, const char *s)
{
	size_t i;

	if (!set->cap)
		return false;
	for (i = str_hash(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (strcmp(set->slot[i], s) == 0)
			return true;
	return false;
}

void layer_strset_add(struct strset *set, const char *s)
{
	size_t i;

	if (layer_strset_has(set, s))
		return;
	if ((set->n + 1) * 2 > set->cap) {
		struct strset grown = {xcalloc(set->cap ? set->cap * 2 : 64, sizeof(char *)),
		                       set->cap ? set->cap * 2 : 64, 0};

		for (i = 0; i < set->cap; i++)
			if (set->slot[i]) {
				size_t j = str_hash(set->slot[i]) & (grown.cap - 1);

				while (grown.slot[j])
					j = (j + 1) & (grown.cap - 1);
				grown.slot[j] = set->slot[i];
				grown.n++;
			}
		free(set->slot);
		*set = grown;
	}
	for (i = str_hash(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		;
	set->slot[i] = xstrdup(s);
	set->n++;
}

void layer_strset_release(struct strset *set)
{
	size_t i;

	for (i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
	memset(set, 0, sizeof(*set));
}

/* A whiteout: an overlay whiteout device, or (LAYER_APPLY_WHITEOUTS) the deletion of what lower
 * layers put there. A name this layer itself wrote stays: a whiteout hides lower layers only. */
int layer_apply_whiteout(struct applier *ap, const char *path, const char *name, struct err *e)
{
	cleanup_free char *victim = NULL;
	const char *base;
	bool setgid;
	int pfd;

	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return err_set(e, E_INVALID, "refused: whiteout of \"%s\"", name);
	{
		const char *slash = strrchr(path, '/');
		cleanup_free char *dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);

		victim = *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
	}
	if (ap->flags & LAYER_APPLY_WHITEOUTS) {
		struct err local = ERR_INIT;

		if (layer_strset_has(&ap->created, victim))
			return 0;
		pfd = layer_parent_of(ap, victim, false, &base, &setgid, "whiteout", &local);
		if (pfd < 0) {
			if (local.code == E_NOTFOUND)
				return 0;
			*e = local;
			return -1;
		}
		return layer_replace_at(ap, pfd, base, e);
	}
	if (!ap->as_root)
		return err_set(e, E_PERM, "whiteouts need root (mknod of a 0:0 device)");
	pfd = layer_parent_of(ap, victim, true, &base, &setgid, "whiteout", e);
	if (pfd < 0)
		return -1;
	if (mknodat(pfd, base, S_IFCHR, makedev(0, 0)) < 0 && errno != EEXIST)
		return err_sys(e, "mknod whiteout %s", base);
	return 0;
}

/* Deletes everything under dfd not written by this layer (opaque, LAYER_APPLY_WHITEOUTS). */
static int prune_opaque(struct applier *ap, int dfd, const char *prefix, struct err *e)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	const struct dirent *de;
	int rc = 0;

	if (fd < 0)
		return err_sys(e, "open %s", prefix);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(e, "open %s", prefix);
	}
	while (rc == 0 && (de = readdir(d))) {
		cleanup_free char *child = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
		if (!layer_strset_has(&ap->created, child)) {
			rc = layer_remove_at(dirfd(d), de->d_name, e);
		} else if (de->d_type == DT_DIR) {
			int cfd = openat(dirfd(d), de->d_name,
			                 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0) {
				rc = err_sys(e, "open %s", child);
			} else {
				rc = prune_opaque(ap, cfd, child, e);
				close(cfd);
			}
		}
	}
	closedir(d);
	return rc;
}

int layer_apply_opaque(struct applier *ap, const char *dir, struct err *e)
{
	cleanup_close int fd = -1;

	if (ap->flags & LAYER_APPLY_WHITEOUTS) {
		struct err local = ERR_INIT;

		fd = *dir ? layer_resolve_dir(ap, dir, false, "opaque directory", &local)
		          : fcntl(ap->root, F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			if (local.code == E_NOTFOUND)
				return 0;
			*e = local;
			return -1;
		}
		layer_cache_invalidate(ap);
		return prune_opaque(ap, fd, dir, e);
	}
	if (*dir) {
		cleanup_close int pfd = layer_resolve_dir(ap, dir, true, "opaque directory", e);

		if (pfd < 0)
			return -1;
		fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = openat(ap->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return err_sys(e, "open");
	if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
		return err_sys(e, "set trusted.overlay.opaque");
	return 0;
}
