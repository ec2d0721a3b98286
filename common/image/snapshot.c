/* common/image/snapshot.c - layer snapshots: chain IDs, numbered directories that become visible
 * only through their chain index (written last), garbage collection of what an interrupted or
 * failed unpack left, and overlay mount options for run (DESIGN.md lesson 2, "unpack"). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/image/snapshot.h"
#include "common/store/doc.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

#define SNAPSHOT_MAX_N 100000000 /* numbers stay short: 8 digits at most */

void snapshot_chain_ids(const struct digest *diff_ids, size_t n, struct digest *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char buf[2 * DIGEST_STR_LEN + 1], a[DIGEST_STR_LEN], b[DIGEST_STR_LEN];

		if (i == 0) {
			out[0] = diff_ids[0];
			continue;
		}
		digest_format(&out[i - 1], a);
		digest_format(&diff_ids[i], b);
		snprintf(buf, sizeof(buf), "%s %s", a, b);
		digest_of(buf, strlen(buf), &out[i]);
	}
}

char *snapshot_dir(const struct ctx *ctx, int n)
{
	cleanup_free char *dir = store_snapshots_dir(ctx);

	return xasprintf("%s/%d", dir, n);
}

char *snapshot_fs_dir(const struct ctx *ctx, int n)
{
	cleanup_free char *dir = store_snapshots_dir(ctx);

	return xasprintf("%s/%d/fs", dir, n);
}

static char *chains_dir(const struct ctx *ctx)
{
	cleanup_free char *dir = store_snapshots_dir(ctx);

	return xasprintf("%s/chains", dir);
}

static char *chain_index_path(const struct ctx *ctx, const struct digest *chain)
{
	cleanup_free char *dir = chains_dir(ctx);

	return xasprintf("%s/%s", dir, chain->hex);
}

/* A snapshot directory name: digits only, no leading zero, within SNAPSHOT_MAX_N. */
static int parse_n(const char *s)
{
	long v = 0;
	const char *p;

	if (!*s || *s == '0' || strlen(s) > 8)
		return 0;
	for (p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		v = v * 10 + (*p - '0');
	}
	return (int)v;
}

int snapshot_meta_load(const struct ctx *ctx, int n, struct snapshot_meta *out, struct err *e)
{
	cleanup_free char *dir = snapshot_dir(ctx, n);
	cleanup_free char *path = xasprintf("%s/meta.json", dir);
	cleanup_json struct json_object *doc = NULL;
	struct snapshot_meta m = {.n = n};
	const char *chain = NULL, *diff = NULL, *layer = NULL;
	int64_t parent = 0;

	if (doc_read(path, &doc, e) < 0)
		return -1;
	if (jsonio_get_str(doc, "chain_id", true, &chain, e) < 0 ||
	    jsonio_get_str(doc, "diff_id", true, &diff, e) < 0 ||
	    jsonio_get_str(doc, "layer", false, &layer, e) < 0 ||
	    jsonio_get_int(doc, "parent", false, &parent, e) < 0 ||
	    jsonio_get_int(doc, "size_bytes", true, &m.size_bytes, e) < 0 ||
	    jsonio_get_int(doc, "entries", true, &m.entries, e) < 0 ||
	    jsonio_get_time(doc, "created", false, &m.created_ns, e) < 0 ||
	    digest_parse(chain, &m.chain_id, e) < 0 || digest_parse(diff, &m.diff_id, e) < 0 ||
	    (layer && digest_parse(layer, &m.layer, e) < 0)) {
		e->code = E_CORRUPT;
		return err_wrap(e, "%s", path);
	}
	m.parent = (int)parent;
	*out = m;
	return 0;
}

int snapshot_lookup(const struct ctx *ctx, const struct digest *chain, struct snapshot_meta *out,
                    struct err *e)
{
	cleanup_free char *path = chain_index_path(ctx, chain);
	cleanup_free char *data = NULL;
	struct snapshot_meta m = {0};
	struct err local = ERR_INIT;
	size_t len;
	int n;

	if (fs_read_file(path, 64, &data, &len, &local) < 0) {
		if (local.code == E_NOTFOUND)
			return err_set(e, E_NOTFOUND, "no snapshot of chain sha256:%s", chain->hex);
		*e = local;
		return -1;
	}
	data[strcspn(data, "\n")] = '\0';
	n = parse_n(data);
	if (n <= 0 || snapshot_meta_load(ctx, n, &m, &local) < 0 ||
	    !digest_equal(&m.chain_id, chain))
		return err_set(e, E_NOTFOUND, "no snapshot of chain sha256:%s (stale index)",
		               chain->hex);
	*out = m;
	return 0;
}

int snapshot_chain_lock(const struct ctx *ctx, const struct digest *chain, int64_t timeout_ns,
                        struct lock *out, struct err *e)
{
	cleanup_free char *dir = chains_dir(ctx);
	cleanup_free char *path = xasprintf("%s/%s.lock", dir, chain->hex);

	if (fs_mkdir_p(dir, 0700, e) < 0)
		return -1;
	return lock_take(path, timeout_ns, out, e);
}

/* The highest snapshot number in use, 0 when none. */
static int max_n(const char *dir)
{
	DIR *d = opendir(dir);
	const struct dirent *de;
	int max = 0, n;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if ((n = parse_n(de->d_name)) > max)
			max = n;
	closedir(d);
	return max;
}

int snapshot_begin(const struct ctx *ctx, struct snapshot_new *out, struct err *e)
{
	cleanup_free char *dir = store_snapshots_dir(ctx);
	cleanup_free char *chains = chains_dir(ctx);
	int n, tries;

	if (fs_mkdir_p(dir, 0755, e) < 0 || fs_mkdir_p(chains, 0700, e) < 0)
		return -1;
	n = max_n(dir) + 1;
	for (tries = 0; tries < 1000 && n < SNAPSHOT_MAX_N; tries++, n++) {
		cleanup_free char *sdir = xasprintf("%s/%d", dir, n);
		cleanup_free char *lockp = xasprintf("%s/lock", sdir);
		cleanup_free char *fsdir = xasprintf("%s/fs", sdir);
		struct lock l = LOCK_INIT;
		struct err local = ERR_INIT;
		int fd;

		if (mkdir(sdir, 0755) < 0) {
			if (errno == EEXIST)
				continue;
			return err_sys(e, "mkdir %s", sdir);
		}
		/* A collection may remove a fresh directory before its lock is taken: try again
		 * with another number. */
		if (lock_take(lockp, 0, &l, &local) < 0)
			continue;
		if (mkdir(fsdir, 0755) < 0 ||
		    (fd = open(fsdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
			lock_release(&l);
			if (errno == ENOENT)
				continue;
			return err_sys(e, "%s", fsdir);
		}
		out->n = n;
		out->fs_fd = fd;
		out->lock = l;
		return 0;
	}
	return err_set(e, E_BUSY, "%s: no free snapshot number after %d tries", dir, tries);
}

static int measure_at(int dfd, int64_t *entries, int64_t *bytes, int depth, struct err *e)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	const struct dirent *de;
	int rc = 0;

	if (depth > 4096)
		return err_set(e, E_INVALID, "directory tree deeper than 4096 levels");
	if (fd < 0)
		return err_sys(e, "open");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(e, "open");
	}
	while (rc == 0 && (de = readdir(d))) {
		unsigned char type = de->d_type;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		(*entries)++;
		if (type == DT_UNKNOWN || type == DT_REG) {
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				rc = err_sys(e, "stat %s", de->d_name);
				break;
			}
			if (S_ISREG(st.st_mode))
				*bytes += st.st_size;
			type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
		}
		if (type == DT_DIR) {
			int cfd = openat(dirfd(d), de->d_name,
			                 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0) {
				rc = err_sys(e, "open %s", de->d_name);
				break;
			}
			rc = measure_at(cfd, entries, bytes, depth + 1, e);
			close(cfd);
		}
	}
	closedir(d);
	return rc;
}

int snapshot_measure(int dir_fd, int64_t *entries, int64_t *bytes, struct err *e)
{
	int64_t n = 0, b = 0;

	if (measure_at(dir_fd, &n, &b, 0, e) < 0)
		return -1;
	*entries = n;
	*bytes = b;
	return 0;
}

int snapshot_write_meta(const struct ctx *ctx, struct snapshot_new *s, struct snapshot_meta *meta,
                        struct err *e)
{
	cleanup_free char *dir = snapshot_dir(ctx, s->n);
	cleanup_free char *path = xasprintf("%s/meta.json", dir);
	cleanup_json struct json_object *doc = json_object_new_object();
	char buf[DIGEST_STR_LEN];

	meta->n = s->n;
	digest_format(&meta->chain_id, buf);
	jsonio_set_str(doc, "chain_id", buf);
	digest_format(&meta->diff_id, buf);
	jsonio_set_str(doc, "diff_id", buf);
	if (meta->layer.hex[0]) {
		digest_format(&meta->layer, buf);
		jsonio_set_str(doc, "layer", buf);
	}
	jsonio_set_int(doc, "parent", meta->parent);
	jsonio_set_int(doc, "size_bytes", meta->size_bytes);
	jsonio_set_int(doc, "entries", meta->entries);
	jsonio_set_time(doc, "created", meta->created_ns);
	return doc_write(path, doc, 0, e);
}

int snapshot_finish(const struct ctx *ctx, struct snapshot_new *s, struct snapshot_meta *meta,
                    struct err *e)
{
	if (snapshot_measure(s->fs_fd, &meta->entries, &meta->size_bytes, e) < 0)
		return err_wrap(e, "snapshot %d", s->n);
	return snapshot_write_meta(ctx, s, meta, e);
}

int snapshot_publish(const struct ctx *ctx, struct snapshot_new *s,
                     const struct snapshot_meta *meta, struct err *e)
{
	cleanup_free char *path = chain_index_path(ctx, &meta->chain_id);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", s->n);

	if (fs_write_atomic(path, buf, (size_t)len, 0644, 0, e) < 0)
		return -1;
	if (s->fs_fd >= 0)
		close(s->fs_fd);
	s->fs_fd = -1;
	lock_release(&s->lock);
	s->n = 0;
	return 0;
}

void snapshot_abort(const struct ctx *ctx, struct snapshot_new *s)
{
	cleanup_free char *dir = NULL;

	if (s->n <= 0)
		return; /* never begun, or published */
	dir = snapshot_dir(ctx, s->n);
	fs_remove_tree(dir, NULL);
	if (s->fs_fd >= 0)
		close(s->fs_fd);
	s->fs_fd = -1;
	lock_release(&s->lock);
	s->n = 0;
}

int snapshot_verify(const struct ctx *ctx, const struct digest *chain, const struct digest *diff,
                    struct snapshot_meta *out, struct err *e)
{
	struct snapshot_meta m = {0};
	cleanup_free char *fsdir = NULL;
	cleanup_close int fd = -1;
	int64_t entries, bytes;

	if (snapshot_lookup(ctx, chain, &m, e) < 0)
		return -1;
	fsdir = snapshot_fs_dir(ctx, m.n);
	if (diff && !digest_equal(&m.diff_id, diff))
		return err_set(e, E_CORRUPT, "snapshot %d: diff_id sha256:%s, expected sha256:%s",
		               m.n, m.diff_id.hex, diff->hex);
	fd = open(fsdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(e, "snapshot %d: %s", m.n, fsdir);
	if (snapshot_measure(fd, &entries, &bytes, e) < 0)
		return err_wrap(e, "snapshot %d", m.n);
	if (entries != m.entries || bytes != m.size_bytes)
		return err_set(e, E_CORRUPT,
		               "snapshot %d: fs holds %lld entries and %lld bytes, meta.json "
		               "recorded %lld and %lld",
		               m.n, (long long)entries, (long long)bytes, (long long)m.entries,
		               (long long)m.size_bytes);
	*out = m;
	return 0;
}

/* The snapshot numbers present (published or not), ascending. The caller frees. */
static int list_numbers(const struct ctx *ctx, int **out, size_t *n, struct err *e)
{
	cleanup_free char *dir = store_snapshots_dir(ctx);
	DIR *d = opendir(dir);
	const struct dirent *de;
	int *v = NULL;
	size_t cnt = 0, cap = 0, i, j;

	if (!d) {
		if (errno == ENOENT) {
			*out = NULL;
			*n = 0;
			return 0;
		}
		return err_sys(e, "%s", dir);
	}
	while ((de = readdir(d))) {
		int k = parse_n(de->d_name);

		if (k <= 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[cnt++] = k;
	}
	closedir(d);
	for (i = 1; i < cnt; i++) /* insertion sort: a node has hundreds, not millions */
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	*n = cnt;
	return 0;
}

/* Whether snapshot n is published: meta.json readable and its chain's index names n. */
static bool is_published(const struct ctx *ctx, int n, struct snapshot_meta *m)
{
	struct snapshot_meta idx = {0};
	struct err local = ERR_INIT;

	return snapshot_meta_load(ctx, n, m, &local) == 0 &&
	       snapshot_lookup(ctx, &m->chain_id, &idx, &local) == 0 && idx.n == n;
}

int snapshot_list(const struct ctx *ctx, struct snapshot_meta **out, size_t *n, struct err *e)
{
	cleanup_free int *ns = NULL;
	struct snapshot_meta *v = NULL;
	size_t cnt = 0, i, k = 0;

	if (list_numbers(ctx, &ns, &cnt, e) < 0)
		return -1;
	if (cnt)
		v = xcalloc(cnt, sizeof(*v));
	for (i = 0; i < cnt; i++)
		if (is_published(ctx, ns[i], &v[k]))
			k++;
	*out = v;
	*n = k;
	return 0;
}

int snapshot_gc(const struct ctx *ctx, int *removed, struct err *e)
{
	cleanup_free int *ns = NULL;
	cleanup_free char *chains = chains_dir(ctx);
	size_t cnt = 0, i;
	int count = 0;
	DIR *d;
	const struct dirent *de;

	if (list_numbers(ctx, &ns, &cnt, e) < 0)
		return -1;
	for (i = 0; i < cnt; i++) {
		struct snapshot_meta m = {0};
		cleanup_free char *dir = NULL;
		cleanup_free char *lockp = NULL;
		struct lock l = LOCK_INIT;
		struct err local = ERR_INIT;

		if (is_published(ctx, ns[i], &m))
			continue;
		dir = snapshot_dir(ctx, ns[i]);
		lockp = xasprintf("%s/lock", dir);
		if (lock_take(lockp, 0, &l, &local) < 0)
			continue; /* being written, or already gone */
		/* Published between the check and the lock? Then it stays. */
		if (!is_published(ctx, ns[i], &m) && fs_remove_tree(dir, &local) == 0)
			count++;
		lock_release(&l);
	}
	/* Index files naming nothing (their snapshot was removed by hand, or a crash). */
	d = opendir(chains);
	if (d) {
		while ((de = readdir(d))) {
			struct digest chain;
			struct snapshot_meta m = {0};
			struct lock l = LOCK_INIT;
			struct err local = ERR_INIT;
			cleanup_free char *name = NULL;

			if (strlen(de->d_name) != DIGEST_HEX_LEN)
				continue;
			name = xasprintf("sha256:%s", de->d_name);
			if (digest_parse(name, &chain, &local) < 0 ||
			    snapshot_lookup(ctx, &chain, &m, &local) == 0)
				continue;
			if (snapshot_chain_lock(ctx, &chain, 0, &l, &local) < 0)
				continue;
			if (snapshot_lookup(ctx, &chain, &m, &local) < 0) {
				cleanup_free char *p = chain_index_path(ctx, &chain);

				unlink(p);
			}
			lock_release(&l);
		}
		closedir(d);
	}
	if (removed)
		*removed = count;
	return 0;
}

int snapshot_remove(const struct ctx *ctx, int n, struct err *e)
{
	struct snapshot_meta m = {0}, idx = {0};
	struct lock cl = LOCK_INIT, sl = LOCK_INIT;
	cleanup_free char *dir = snapshot_dir(ctx, n);
	cleanup_free char *lockp = xasprintf("%s/lock", dir);
	struct err local = ERR_INIT;
	int rc = 0;

	if (snapshot_meta_load(ctx, n, &m, e) < 0)
		return -1;
	if (snapshot_chain_lock(ctx, &m.chain_id, 0, &cl, e) < 0)
		return -1;
	if (snapshot_lookup(ctx, &m.chain_id, &idx, &local) == 0 && idx.n == n) {
		cleanup_free char *p = chain_index_path(ctx, &m.chain_id);

		if (unlink(p) < 0 && errno != ENOENT)
			rc = err_sys(e, "%s", p);
	}
	if (rc == 0 && lock_take(lockp, 0, &sl, e) < 0)
		rc = -1;
	if (rc == 0)
		rc = fs_remove_tree(dir, e);
	lock_release(&sl);
	lock_release(&cl);
	return rc;
}

int snapshot_prune(const struct ctx *ctx, const int *keep, size_t n_keep, bool dry_run,
                   struct snapshot_meta **out, size_t *n_out, struct err *e)
{
	struct snapshot_meta *all = NULL, *gone = NULL;
	size_t n = 0, k = 0, i, j;
	struct err ignored = ERR_INIT;

	if (!dry_run)
		snapshot_gc(ctx, NULL, &ignored);
	if (snapshot_list(ctx, &all, &n, e) < 0)
		return -1;
	if (n)
		gone = xcalloc(n, sizeof(*gone));
	for (i = 0; i < n; i++) {
		bool kept = false;
		struct err local = ERR_INIT;

		for (j = 0; j < n_keep && !kept; j++)
			kept = keep[j] == all[i].n;
		if (kept || (!dry_run && snapshot_remove(ctx, all[i].n, &local) < 0))
			continue;
		gone[k++] = all[i];
	}
	free(all);
	if (out)
		*out = gone;
	else
		free(gone);
	if (n_out)
		*n_out = k;
	return 0;
}

int snapshot_discard(const struct ctx *ctx, const struct snapshot_meta *m, struct err *e)
{
	cleanup_free char *p = chain_index_path(ctx, &m->chain_id);
	cleanup_free char *dir = snapshot_dir(ctx, m->n);
	struct snapshot_meta idx = {0};
	struct err local = ERR_INIT;

	if (snapshot_lookup(ctx, &m->chain_id, &idx, &local) == 0 && idx.n == m->n &&
	    unlink(p) < 0 && errno != ENOENT)
		return err_sys(e, "%s", p);
	return fs_remove_tree(dir, e);
}

bool snapshot_volatile_supported(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 5 || (major == 5 && minor >= 10);
}

bool snapshot_overlay_supported(const struct ctx *ctx)
{
	cleanup_free char *path = path_join(ctx->path.proc, "filesystems");
	cleanup_free char *data = NULL;
	size_t len;
	struct err local = ERR_INIT;

	if (fs_read_file(path, 1 << 16, &data, &len, &local) < 0)
		return false;
	return strstr(data, "\toverlay\n") != NULL;
}

static int add_path(struct buf *b, const char *p, struct err *e)
{
	if (strpbrk(p, ",:"))
		return err_set(e, E_INVALID,
		               "%s: a ',' or ':' cannot be carried in overlay options", p);
	buf_adds(b, p);
	return 0;
}

int snapshot_overlay_options(const struct ctx *ctx, const int *ns, size_t n, const char *upper,
                             const char *work, enum config_volatile mode, bool rel, char **out,
                             struct err *e)
{
	cleanup_buf struct buf b = BUF_INIT;
	cleanup_free char *dir = store_snapshots_dir(ctx);
	long page = sysconf(_SC_PAGESIZE);
	size_t i;

	if (n == 0 || (n == 1 && !upper))
		return err_set(
		    e, E_INVALID,
		    "an overlay needs an upperdir or at least two lower layers (%zu given)", n);
	if (page <= 0)
		page = 4096;
	buf_adds(&b, "lowerdir=");
	for (i = 0; i < n; i++) {
		cleanup_free char *p =
		    rel ? xasprintf("%d/fs", ns[i]) : xasprintf("%s/%d/fs", dir, ns[i]);

		if (i)
			buf_addc(&b, ':');
		if (add_path(&b, p, e) < 0)
			return -1;
	}
	if (upper) {
		buf_adds(&b, ",upperdir=");
		if (add_path(&b, upper, e) < 0)
			return -1;
		buf_adds(&b, ",workdir=");
		if (add_path(&b, work ? work : "", e) < 0)
			return -1;
		if (mode == VOLATILE_ON && !snapshot_volatile_supported())
			return err_set(e, E_UNSUPPORTED,
			               "snapshots.volatile is on but overlay volatile needs Linux "
			               "5.10 or later");
		if (mode == VOLATILE_ON || (mode == VOLATILE_AUTO && snapshot_volatile_supported()))
			buf_adds(&b, ",volatile");
	}
	if (b.len + 1 > (size_t)page)
		return err_set(e, E_INVALID,
		               "overlay options for %zu layers are %zu bytes, the kernel takes at "
		               "most %ld%s",
		               n, b.len + 1, page,
		               rel ? "" : " (mount relative to the snapshots directory)");
	*out = buf_take(&b);
	return 0;
}
