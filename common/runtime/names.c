/* common/runtime/names.c - per-name lock files that can be removed while others wait on them
 * (common/runtime/names.h; DESIGN.md "run" --name). Kept apart from container.c so the shim,
 * which forgets the name of a --rm container, links no image code. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/runtime/names.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define NAMES_RETRIES 1000 /* unlinked under us this often in a row: something is wrong */

/* A name that cannot leave the names directory (a corrupt container.json must not make rm
 * unlink another file); the full rule is container_name_check's. */
static int name_ok(const char *name, struct err *e)
{
	if (!name[0] || name[0] == '.' || strchr(name, '/'))
		return err_set(e, E_INVALID, "name \"%s\": not a container name", name);
	return 0;
}

char *names_lock_path(const struct ctx *ctx, const char *name)
{
	return xasprintf("%s/containers/names/%s.lock", ctx->path.root, name);
}

int names_lock(const struct ctx *ctx, const char *name, int64_t timeout_ns, struct lock *out,
               bool *fresh, struct err *e)
{
	cleanup_free char *dir = path_join(ctx->path.root, "containers/names");
	cleanup_free char *path = names_lock_path(ctx, name);

	if (name_ok(name, e) < 0 || fs_mkdir_p(dir, 0700, e) < 0)
		return -1;
	if (fresh) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

		*fresh = fd >= 0;
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST)
			return err_sys(e, "open %s", path);
	}
	for (int i = 0; i < NAMES_RETRIES; i++) {
		struct lock l = LOCK_INIT;
		struct stat a, b;

		if (lock_take(path, timeout_ns, &l, e) < 0)
			return -1;
		if (fstat(l.fd, &a) < 0) {
			lock_release(&l);
			return err_sys(e, "stat %s", path);
		}
		/* Still the linked file: ours. Otherwise a remover unlinked what we locked (and
		 * maybe someone made a new one): lock whatever is at the path now. */
		if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			*out = l;
			return 0;
		}
		lock_release(&l);
	}
	return err_set(e, E_BUSY, "%s: removed under us %d times", path, NAMES_RETRIES);
}

void names_unlock_remove(const struct ctx *ctx, const char *name, struct lock *l)
{
	cleanup_free char *path = names_lock_path(ctx, name);

	if (l->fd >= 0)
		(void)unlink(path);
	lock_release(l);
}

int names_forget(const struct ctx *ctx, const char *name, const char *id, int64_t timeout_ns,
                 struct err *e)
{
	cleanup_free char *path = names_lock_path(ctx, name);
	struct lock l = LOCK_INIT;
	char owner[65];

	if (name_ok(name, e) < 0)
		return -1;
	if (!fs_exists(path))
		return 0; /* nothing to forget; do not create it just to remove it */
	if (names_lock(ctx, name, timeout_ns, &l, NULL, e) < 0)
		return -1;
	/* Our records went first, so the name was free meanwhile: a container made since then
	 * may own it now, and its file stays. */
	if (names_owner(l.fd, owner) && strcmp(owner, id) != 0) {
		lock_release(&l);
		return 0;
	}
	names_unlock_remove(ctx, name, &l);
	return 0;
}

int names_set_owner(const struct lock *l, const char *id, struct err *e)
{
	if (pwrite(l->fd, id, 64, 0) != 64 || ftruncate(l->fd, 64) < 0)
		return err_sys(e, "record the name's owner");
	return 0;
}

bool names_owner(int fd, char id[65])
{
	ssize_t n = pread(fd, id, 64, 0);

	if (n != 64)
		return false;
	id[64] = '\0';
	return store_id_valid(id);
}

bool names_peek(const struct ctx *ctx, const char *name, bool *exists, char id[65])
{
	cleanup_free char *path = names_lock_path(ctx, name);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*exists = fd >= 0 || errno != ENOENT;
	return fd >= 0 && names_owner(fd, id);
}
