/* tests/unit/test_snapshot.c - snapshots and unpack (DESIGN.md "unpack"): chain IDs as the OCI
 * spec defines them, layers unpacked into numbered snapshots that are reused across images,
 * nothing visible after a diff_id mismatch, garbage from killed unpacks collected, --verify
 * rebuilding a damaged snapshot, two processes unpacking one image doing the work once, the
 * flattened rootfs and bundle, and the overlay options for run. Images are built here with
 * libarchive's writer and committed to a scratch content store. */
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <archive.h>
#include <archive_entry.h>

#include "tests/unit/unit.h"
#include "common/image/snapshot.h"
#include "common/image/unpack.h"
#include "common/store/blob.h"
#include "common/store/digest.h"
#include "common/store/layout.h"
#include "common/util/buf.h"

/* ---- building images ---- */

struct tb {
	struct archive *a;
	struct buf out;
};

static la_ssize_t tb_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	(void)a;
	buf_add(arg, buf, n);
	return (la_ssize_t)n;
}

static struct tb *tb_new(bool gzip)
{
	struct tb *t = xcalloc(1, sizeof(*t));

	t->a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
	if (gzip)
		assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(t->a, 1);
	assert_int_equal(archive_write_open(t->a, &t->out, NULL, tb_write_cb, NULL), ARCHIVE_OK);
	return t;
}

static void tb_add(struct tb *t, const char *name, mode_t type, const char *data)
{
	struct archive_entry *ae = archive_entry_new();
	size_t n = data ? strlen(data) : 0;

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(ae, 1600000000, 0);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(ae, data);
	else
		archive_entry_set_size(ae, (la_int64_t)n);
	assert_int_equal(archive_write_header(t->a, ae), ARCHIVE_OK);
	if (type == AE_IFREG && n)
		assert_int_equal(archive_write_data(t->a, data, n), (la_ssize_t)n);
	archive_entry_free(ae);
}

struct blob {
	char *data;
	size_t len;
	struct digest d;
};

static void tb_finish(struct tb *t, struct blob *out)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	out->data = t->out.data;
	out->len = t->out.len;
	digest_of(out->data, out->len, &out->d);
	free(t);
}

/* A layer: the gzip blob committed to the store, and its diff_id. */
struct layer {
	struct blob gz;
	struct digest diff_id;
};

typedef void (*layer_fn)(struct tb *t);

static void make_layer(struct unit_env *u, layer_fn fill, struct layer *out)
{
	struct tb *plain = tb_new(false), *gz = tb_new(true);
	struct blob tar;
	struct err e = ERR_INIT;

	fill(plain);
	fill(gz);
	tb_finish(plain, &tar);
	tb_finish(gz, &out->gz);
	out->diff_id = tar.d;
	free(tar.data);
	assert_int_equal(blob_put(&u->ctx, &out->gz.d, out->gz.data, out->gz.len, &e), 0);
}

static void put_json(struct unit_env *u, const char *json, struct digest *d)
{
	struct err e = ERR_INIT;

	digest_of(json, strlen(json), d);
	assert_int_equal(blob_put(&u->ctx, d, json, strlen(json), &e), 0);
}

/* Commits config and manifest for layers (diff_ids taken from them unless diffs is given). */
static void make_image(struct unit_env *u, const struct layer *layers, size_t n,
                       const struct digest *diffs, struct digest *manifest)
{
	struct buf cfg = BUF_INIT, man = BUF_INIT;
	struct digest cd;
	size_t i;

	buf_adds(&cfg, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":"
	               "[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],\"Env\":[\"A=1\"],\"User\":"
	               "\"app\",\"WorkingDir\":\"/work\"},\"rootfs\":{\"type\":\"layers\","
	               "\"diff_ids\":[");
	for (i = 0; i < n; i++)
		buf_printf(&cfg, "%s\"sha256:%s\"", i ? "," : "",
		           (diffs ? &diffs[i] : &layers[i].diff_id)->hex);
	buf_adds(&cfg, "]}}");
	put_json(u, buf_str(&cfg), &cd);
	buf_printf(&man,
	           "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+"
	           "json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	           "\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[",
	           cd.hex, cfg.len);
	for (i = 0; i < n; i++)
		buf_printf(&man,
		           "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
		           "\"digest\":\"sha256:%s\",\"size\":%zu}",
		           i ? "," : "", layers[i].gz.d.hex, layers[i].gz.len);
	buf_adds(&man, "]}");
	put_json(u, buf_str(&man), manifest);
	buf_release(&cfg);
	buf_release(&man);
}

static void fill_base(struct tb *t)
{
	tb_add(t, "etc/", AE_IFDIR, NULL);
	tb_add(t, "etc/passwd", AE_IFREG,
	       "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/:/bin/sh\n");
	tb_add(t, "etc/group", AE_IFREG, "root:x:0:\napp:x:1001:\n");
	tb_add(t, "var/", AE_IFDIR, NULL);
	tb_add(t, "var/old", AE_IFREG, "old");
	tb_add(t, "d/", AE_IFDIR, NULL);
	tb_add(t, "d/f", AE_IFREG, "f");
	tb_add(t, "gone", AE_IFREG, "gone");
	tb_add(t, "bin/", AE_IFDIR, NULL);
	tb_add(t, "bin/sh", AE_IFREG, "#!sh");
}

static void fill_mid(struct tb *t)
{
	tb_add(t, ".wh.gone", AE_IFREG, NULL);
	tb_add(t, "var/", AE_IFDIR, NULL);
	tb_add(t, "var/.wh..wh..opq", AE_IFREG, NULL);
	tb_add(t, "var/new", AE_IFREG, "new");
	tb_add(t, "d", AE_IFREG, "d is a file");
}

static void fill_top(struct tb *t)
{
	tb_add(t, "d/", AE_IFDIR, NULL);
	tb_add(t, "d/g", AE_IFREG, "g");
	tb_add(t, "work/", AE_IFDIR, NULL);
}

static void fill_other(struct tb *t)
{
	tb_add(t, "other", AE_IFREG, "other");
}

static void fill_big(struct tb *t)
{
	static char chunk[65536];
	char name[32];
	int i;

	memset(chunk, 'z', sizeof(chunk) - 1);
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "big/%d", i);
		tb_add(t, name, AE_IFREG, chunk);
	}
}

static struct unit_env *env_new(void)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;

	assert_int_equal(store_init(&u->ctx, &e), 0);
	return u;
}

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	const struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Numbered snapshot directories under ROOT/snapshots. */
static int count_snapshot_dirs(struct unit_env *u)
{
	cleanup_free char *dir = store_snapshots_dir(&u->ctx);
	DIR *d = opendir(dir);
	const struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			n++;
	closedir(d);
	return n;
}

/* Chain index files (not their .lock files). */
static int count_indexes(struct unit_env *u)
{
	cleanup_free char *sd = store_snapshots_dir(&u->ctx);
	cleanup_free char *chains = xasprintf("%s/chains", sd);
	DIR *d = opendir(chains);
	const struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strlen(de->d_name) == DIGEST_HEX_LEN)
			n++;
	closedir(d);
	return n;
}

static mode_t type_at(const char *dir, const char *rel)
{
	cleanup_free char *p = xasprintf("%s/%s", dir, rel);
	struct stat st;

	return lstat(p, &st) < 0 ? 0 : st.st_mode & S_IFMT;
}

static void free_layers(struct layer *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i].gz.data);
}

/* ---- tests ---- */

static void test_chain_ids(void **state)
{
	struct digest d[2], c[2], want;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(
	    digest_parse("sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e",
	                 &d[0], &e),
	    0);
	assert_int_equal(
	    digest_parse("sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2",
	                 &d[1], &e),
	    0);
	/* sha256("sha256:<d0> sha256:<d1>"), computed independently */
	assert_int_equal(
	    digest_parse("sha256:ef232af0eb422cdfd7917631657cd8ed2bfd5b9461b37c427aa0d3e0a19adf79",
	                 &want, &e),
	    0);
	snapshot_chain_ids(d, 2, c);
	assert_true(digest_equal(&c[0], &d[0]));
	assert_true(digest_equal(&c[1], &want));
}

static void test_unpack_and_reuse(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[4];
	struct digest m1, m2;
	struct unpack_result r, r2;
	struct unpack_opts o = {.jobs = 3, .name = "test/one"};
	struct err e = ERR_INIT;
	struct snapshot_meta meta;
	char v[4];
	(void)state;
	make_layer(u, fill_base, &l[0]);
	make_layer(u, fill_mid, &l[1]);
	make_layer(u, fill_top, &l[2]);
	make_layer(u, fill_other, &l[3]);
	make_image(u, l, 3, NULL, &m1);
	if (unpack_image(&u->ctx, &m1, &o, &r, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(r.n_layers, 3);
	assert_int_equal(r.n_reused, 0);
	assert_true(r.bytes > 0);
	{
		cleanup_free char *fs0 = snapshot_fs_dir(&u->ctx, r.snapshots[0]);
		cleanup_free char *fs1 = snapshot_fs_dir(&u->ctx, r.snapshots[1]);
		cleanup_free char *fs2 = snapshot_fs_dir(&u->ctx, r.snapshots[2]);
		cleanup_free char *var = xasprintf("%s/var", fs1);

		assert_int_equal(type_at(fs0, "etc/passwd"), S_IFREG);
		assert_int_equal(type_at(fs0, "d/f"), S_IFREG);
		if (geteuid() == 0) {
			assert_int_equal(type_at(fs1, "gone"), S_IFCHR);
			assert_int_equal(getxattr(var, "trusted.overlay.opaque", v, sizeof(v)), 1);
		}
		assert_int_equal(type_at(fs1, "var/old"), 0); /* not applied to lower layers */
		assert_int_equal(type_at(fs1, "d"), S_IFREG);
		assert_int_equal(type_at(fs2, "d/g"), S_IFREG);
		assert_int_equal(count_dir(fs2), 2);
	}
	assert_int_equal(snapshot_lookup(&u->ctx, &r.chain_ids[1], &meta, &e), 0);
	assert_int_equal(meta.n, r.snapshots[1]);
	assert_int_equal(meta.parent, r.snapshots[0]);
	assert_true(digest_equal(&meta.diff_id, &l[1].diff_id));
	assert_true(digest_equal(&meta.layer, &l[1].gz.d));
	assert_int_equal(meta.entries, 4); /* gone, var, var/new, d */
	/* Again: everything reused. */
	assert_int_equal(unpack_image(&u->ctx, &m1, &o, &r2, &e), 0);
	assert_int_equal(r2.n_reused, 3);
	assert_int_equal(r2.bytes, 0);
	assert_memory_equal(r.snapshots, r2.snapshots, 3 * sizeof(int));
	unpack_result_release(&r2);
	/* Another image sharing the first two layers: only its third is new. */
	{
		struct layer l2[3] = {l[0], l[1], l[3]};

		make_image(u, l2, 3, NULL, &m2);
		assert_int_equal(unpack_image(&u->ctx, &m2, &o, &r2, &e), 0);
		assert_int_equal(r2.n_reused, 2);
		assert_int_equal(r2.snapshots[0], r.snapshots[0]);
		assert_int_not_equal(r2.snapshots[2], r.snapshots[2]);
		unpack_result_release(&r2);
	}
	assert_int_equal(count_snapshot_dirs(u), 4);
	{ /* prune keeps what it is told to (image one's snapshots), removes the rest */
		struct snapshot_meta *gone = NULL;
		size_t ngone = 0;

		assert_int_equal(snapshot_prune(&u->ctx, r.snapshots, 3, true, &gone, &ngone, &e),
		                 0);
		assert_int_equal(ngone, 1);
		assert_true(digest_equal(&gone[0].layer, &l[3].gz.d));
		free(gone);
		assert_int_equal(count_snapshot_dirs(u), 4); /* dry run */
	}
	{ /* what is unpacked, without unpacking */
		struct unpack_result st;
		struct digest m3;
		struct layer l3[2] = {l[3], l[2]};

		assert_int_equal(unpack_lookup(&u->ctx, &m1, &st, &e), 0);
		assert_int_equal(st.n_reused, 3);
		assert_int_equal(st.size_bytes, r.size_bytes);
		assert_memory_equal(st.snapshots, r.snapshots, 3 * sizeof(int));
		unpack_result_release(&st);
		make_image(u, l3, 2, NULL, &m3);
		assert_int_equal(unpack_lookup(&u->ctx, &m3, &st, &e), 0);
		assert_int_equal(st.n_layers, 2);
		assert_int_equal(st.n_reused, 0);
		assert_int_equal(st.snapshots[0], 0);
		unpack_result_release(&st);
	}
	{
		struct snapshot_meta *all;
		size_t n, ngone = 0;

		assert_int_equal(snapshot_list(&u->ctx, &all, &n, &e), 0);
		assert_int_equal(n, 4);
		free(all);
		assert_int_equal(snapshot_prune(&u->ctx, r.snapshots, 3, false, NULL, &ngone, &e),
		                 0);
		assert_int_equal(ngone, 1);
		assert_int_equal(count_snapshot_dirs(u), 3);
		assert_int_equal(count_indexes(u), 3);
	}
	/* The journal has the events. */
	{
		cleanup_free char *dir = store_events_dir(&u->ctx);
		cleanup_free char *p = xasprintf("%s/journal.jsonl", dir);
		cleanup_free char *data = NULL;
		size_t len;

		assert_int_equal(fs_read_file(p, 1 << 20, &data, &len, &e), 0);
		assert_non_null(strstr(data, "\"Unpacking\""));
		assert_non_null(strstr(data, "\"Unpacked\""));
		assert_non_null(strstr(data, "3 layers (3 reused"));
	}
	unpack_result_release(&r);
	free_layers(l, 4);
	unit_env_free(u);
}

static void test_diff_id_mismatch(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[3];
	struct digest m, diffs[3];
	struct unpack_result r;
	struct err e = ERR_INIT;
	(void)state;
	make_layer(u, fill_base, &l[0]);
	make_layer(u, fill_mid, &l[1]);
	make_layer(u, fill_top, &l[2]);
	diffs[0] = l[0].diff_id;
	diffs[1] = l[2].diff_id; /* wrong */
	diffs[2] = l[2].diff_id;
	make_image(u, l, 3, diffs, &m);
	assert_int_equal(unpack_image(&u->ctx, &m, NULL, &r, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	assert_non_null(strstr(e.msg, "layer 2 (sha256:"));
	assert_non_null(strstr(e.msg, "does not match the config's diff_id"));
	/* Nothing visible, nothing left: not even the good layers' snapshots. */
	assert_int_equal(count_snapshot_dirs(u), 0);
	assert_int_equal(count_indexes(u), 0);
	free_layers(l, 3);
	unit_env_free(u);
}

/* What a killed unpack leaves (a begun snapshot, a finished but unpublished one) and stale
 * indexes are garbage: collected, while a snapshot being written (locked) is left alone. */
static void test_garbage(void **state)
{
	struct unit_env *u = env_new();
	struct snapshot_new half = SNAPSHOT_NEW_INIT, done = SNAPSHOT_NEW_INIT,
	                    busy = SNAPSHOT_NEW_INIT;
	struct snapshot_meta meta = {0};
	struct err e = ERR_INIT;
	struct layer l[1];
	struct digest m;
	struct unpack_result r;
	int removed = -1;
	(void)state;
	assert_int_equal(snapshot_begin(&u->ctx, &half, &e), 0);
	assert_int_equal(mkdirat(half.fs_fd, "junk", 0755), 0);
	close(half.fs_fd);
	lock_release(&half.lock); /* the process died */
	assert_int_equal(snapshot_begin(&u->ctx, &done, &e), 0);
	digest_of("x", 1, &meta.chain_id);
	meta.diff_id = meta.chain_id;
	assert_int_equal(snapshot_finish(&u->ctx, &done, &meta, &e), 0);
	close(done.fs_fd);
	lock_release(&done.lock); /* died before publishing */
	assert_int_equal(snapshot_begin(&u->ctx, &busy, &e), 0);
	assert_int_equal(count_snapshot_dirs(u), 3);
	assert_int_equal(snapshot_gc(&u->ctx, &removed, &e), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(count_snapshot_dirs(u), 1);
	snapshot_abort(&u->ctx, &busy);
	assert_int_equal(count_snapshot_dirs(u), 0);
	/* An unpack collects garbage first. */
	assert_int_equal(snapshot_begin(&u->ctx, &half, &e), 0);
	close(half.fs_fd);
	lock_release(&half.lock);
	make_layer(u, fill_base, &l[0]);
	make_image(u, l, 1, NULL, &m);
	assert_int_equal(unpack_image(&u->ctx, &m, NULL, &r, &e), 0);
	assert_int_equal(count_snapshot_dirs(u), 1);
	/* A snapshot removed by hand leaves a stale index: not found, then collected. */
	{
		cleanup_free char *dir = snapshot_dir(&u->ctx, r.snapshots[0]);
		struct snapshot_meta got;

		assert_int_equal(fs_remove_tree(dir, &e), 0);
		assert_int_equal(snapshot_lookup(&u->ctx, &r.chain_ids[0], &got, &e), -1);
		assert_int_equal(e.code, E_NOTFOUND);
		assert_int_equal(snapshot_gc(&u->ctx, NULL, &e), 0);
		{
			cleanup_free char *sd = store_snapshots_dir(&u->ctx);
			cleanup_free char *idx = xasprintf("%s/chains/%s", sd, r.chain_ids[0].hex);

			assert_false(fs_exists(idx));
		}
	}
	unpack_result_release(&r);
	free_layers(l, 1);
	unit_env_free(u);
}

/* A real kill -9 in the middle of an unpack, then an unpack: correct, nothing left over. */
static void test_killed_unpack(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[2];
	struct digest m;
	struct unpack_result r;
	struct err e = ERR_INIT;
	pid_t pid;
	int st, i;
	(void)state;
	make_layer(u, fill_big, &l[0]);
	make_layer(u, fill_top, &l[1]);
	make_image(u, l, 2, NULL, &m);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct unpack_result cr;
		struct err ce = ERR_INIT;

		_exit(unpack_image(&u->ctx, &m, NULL, &cr, &ce) == 0 ? 0 : 1);
	}
	/* Kill it once it has begun a snapshot (or after 5 s, when it may have finished). */
	for (i = 0; i < 5000 && count_snapshot_dirs(u) == 0; i++)
		usleep(1000);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) { /* killed midway: garbage, nothing published */
		assert_true(count_snapshot_dirs(u) >= 1);
		assert_int_equal(count_indexes(u), 0);
	}
	if (unpack_image(&u->ctx, &m, NULL, &r, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(count_snapshot_dirs(u), 2);
	{
		cleanup_free char *fs0 = snapshot_fs_dir(&u->ctx, r.snapshots[0]);
		cleanup_free char *big = xasprintf("%s/big", fs0);

		assert_int_equal(count_dir(big), 400);
	}
	unpack_result_release(&r);
	free_layers(l, 2);
	unit_env_free(u);
}

/* Two processes unpacking the same image at once: one does the work, both succeed, one set of
 * snapshots. */
static void test_concurrent_unpacks(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[2];
	struct digest m;
	struct err e = ERR_INIT;
	pid_t pids[2];
	int i, st;
	(void)state;
	make_layer(u, fill_big, &l[0]);
	make_layer(u, fill_top, &l[1]);
	make_image(u, l, 2, NULL, &m);
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct unpack_result cr;
			struct err ce = ERR_INIT;

			_exit(unpack_image(&u->ctx, &m, NULL, &cr, &ce) == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(count_snapshot_dirs(u), 2);
	(void)e;
	free_layers(l, 2);
	unit_env_free(u);
}

static void test_verify_rebuilds(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[2];
	struct digest m;
	struct unpack_result r, r2;
	struct unpack_opts o = {.flags = UNPACK_VERIFY};
	struct err e = ERR_INIT;
	struct snapshot_meta meta;
	(void)state;
	make_layer(u, fill_base, &l[0]);
	make_layer(u, fill_top, &l[1]);
	make_image(u, l, 2, NULL, &m);
	assert_int_equal(unpack_image(&u->ctx, &m, NULL, &r, &e), 0);
	assert_int_equal(unpack_image(&u->ctx, &m, &o, &r2, &e), 0);
	assert_int_equal(r2.n_reused, 2);
	assert_int_equal(r2.n_rebuilt, 0);
	unpack_result_release(&r2);
	{
		cleanup_free char *fs0 = snapshot_fs_dir(&u->ctx, r.snapshots[0]);
		cleanup_free char *p = xasprintf("%s/etc/passwd", fs0);

		assert_int_equal(truncate(p, 3), 0); /* lost data after a crash */
	}
	assert_int_equal(snapshot_verify(&u->ctx, &r.chain_ids[0], &l[0].diff_id, &meta, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	assert_non_null(strstr(e.msg, "meta.json recorded"));
	assert_int_equal(unpack_image(&u->ctx, &m, &o, &r2, &e), 0);
	assert_int_equal(r2.n_rebuilt, 1);
	assert_int_equal(r2.n_reused, 1);
	assert_int_equal(snapshot_verify(&u->ctx, &r.chain_ids[0], &l[0].diff_id, &meta, &e), 0);
	assert_int_equal(count_snapshot_dirs(u), 2);
	unpack_result_release(&r);
	unpack_result_release(&r2);
	free_layers(l, 2);
	unit_env_free(u);
}

static void test_flatten_and_bundle(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[3];
	struct digest m;
	struct unpack_result r;
	struct err e = ERR_INIT;
	cleanup_free char *to = xasprintf("%s/flat", u->dir);
	cleanup_free char *bundle = xasprintf("%s/bundle", u->dir);
	cleanup_free char *rootfs = xasprintf("%s/rootfs", bundle);
	cleanup_free char *cfgp = xasprintf("%s/config.json", bundle);
	cleanup_free char *cfg = NULL;
	size_t len;
	(void)state;
	make_layer(u, fill_base, &l[0]);
	make_layer(u, fill_mid, &l[1]);
	make_layer(u, fill_top, &l[2]);
	make_image(u, l, 3, NULL, &m);
	{
		struct unpack_opts o = {.to_dir = to};

		if (unpack_image(&u->ctx, &m, &o, &r, &e) < 0)
			fail_msg("%s", e.msg);
		unpack_result_release(&r);
	}
	assert_int_equal(type_at(to, "gone"), 0);
	assert_int_equal(type_at(to, "var/old"), 0);
	assert_int_equal(type_at(to, "var/new"), S_IFREG);
	assert_int_equal(type_at(to, "d"), S_IFDIR);
	assert_int_equal(type_at(to, "d/f"), 0);
	assert_int_equal(type_at(to, "d/g"), S_IFREG);
	assert_int_equal(count_snapshot_dirs(u), 0); /* no snapshots in this mode */
	{                                            /* not empty: refused, left as it was */
		struct unpack_opts o = {.to_dir = to};

		assert_int_equal(unpack_image(&u->ctx, &m, &o, &r, &e), -1);
		assert_int_equal(e.code, E_EXISTS);
		assert_int_equal(type_at(to, "var/new"), S_IFREG);
	}
	{
		struct unpack_opts o = {.bundle_dir = bundle};

		if (unpack_image(&u->ctx, &m, &o, &r, &e) < 0)
			fail_msg("%s", e.msg);
		unpack_result_release(&r);
	}
	assert_int_equal(type_at(rootfs, "d/g"), S_IFREG);
	assert_int_equal(fs_read_file(cfgp, 1 << 20, &cfg, &len, &e), 0);
	assert_non_null(
	    strstr(cfg, "\"args\": [\n      \"/bin/sh\",\n      \"-c\",\n      \"echo hi\"\n"));
	assert_non_null(strstr(cfg, "\"uid\": 1000"));
	assert_non_null(strstr(cfg, "\"gid\": 1001"));
	assert_non_null(strstr(cfg, "\"cwd\": \"/work\""));
	assert_non_null(strstr(cfg, "\"A=1\""));
	assert_non_null(strstr(cfg, "PATH=/usr/local/sbin"));
	assert_non_null(strstr(cfg, "\"path\": \"rootfs\""));
	assert_non_null(strstr(cfg, "\"destination\": \"/dev/pts\""));
	/* A diff_id mismatch in flattened mode removes what it wrote. */
	{
		struct digest bad[3] = {l[0].diff_id, l[0].diff_id, l[2].diff_id};
		struct digest m2;
		cleanup_free char *to2 = xasprintf("%s/flat2", u->dir);
		struct unpack_opts o = {.to_dir = to2};

		make_image(u, l, 3, bad, &m2);
		assert_int_equal(unpack_image(&u->ctx, &m2, &o, &r, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_false(fs_exists(to2));
	}
	free_layers(l, 3);
	unit_env_free(u);
}

static void test_overlay_options(void **state)
{
	struct unit_env *u = unit_env_new();
	int ns[3] = {12, 7, 3};
	int many[2000];
	cleanup_free char *abs = NULL;
	cleanup_free char *rel = NULL;
	cleanup_free char *vol = NULL;
	char *none = NULL;
	struct err e = ERR_INIT;
	size_t i;
	(void)state;
	assert_int_equal(
	    snapshot_overlay_options(&u->ctx, ns, 3, NULL, NULL, VOLATILE_AUTO, false, &abs, &e),
	    0);
	{
		cleanup_free char *want =
		    xasprintf("lowerdir=%s/snapshots/12/fs:%s/snapshots/7/fs:%s/snapshots/3/fs",
		              u->root, u->root, u->root);

		assert_string_equal(abs, want);
	}
	assert_int_equal(
	    snapshot_overlay_options(&u->ctx, ns, 3, "/u", "/w", VOLATILE_OFF, true, &rel, &e), 0);
	assert_string_equal(rel, "lowerdir=12/fs:7/fs:3/fs,upperdir=/u,workdir=/w");
	if (snapshot_volatile_supported()) {
		assert_int_equal(snapshot_overlay_options(&u->ctx, ns, 1, "/u", "/w", VOLATILE_AUTO,
		                                          true, &vol, &e),
		                 0);
		assert_string_equal(vol, "lowerdir=12/fs,upperdir=/u,workdir=/w,volatile");
	}
	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (int)i + 1000;
	assert_int_equal(snapshot_overlay_options(&u->ctx, many, ARRAY_SIZE(many), NULL, NULL,
	                                          VOLATILE_OFF, true, &none, &e),
	                 -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "overlay options for 2000 layers are"));
	assert_null(none);
	assert_int_equal(
	    snapshot_overlay_options(&u->ctx, ns, 1, "/a:b", "/w", VOLATILE_OFF, true, &none, &e),
	    -1);
	assert_int_equal(e.code, E_INVALID);
	unit_env_free(u);
}

struct layer_call {
	struct unpack_session *s;
	size_t i;
	int rc;
};

static void *call_layer(void *arg)
{
	struct layer_call *c = arg;
	struct err e = ERR_INIT;

	c->rc = unpack_session_layer(c->s, c->i, &e);
	return NULL;
}

/* A pull's pipeline: layers applied from several threads as their blobs arrive, in any order;
 * nothing visible until the end; the parents recorded right. */
static void test_session_pipelined(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[3];
	struct digest m;
	struct unpack_session *s;
	struct unpack_result r;
	struct err e = ERR_INIT;
	struct layer_call calls[2];
	pthread_t th[2];
	struct snapshot_meta meta;
	int i;
	(void)state;
	make_layer(u, fill_base, &l[0]);
	make_layer(u, fill_mid, &l[1]);
	make_layer(u, fill_top, &l[2]);
	make_image(u, l, 3, NULL, &m);
	assert_int_equal(unpack_session_begin(&u->ctx, &m, NULL, &s, &e), 0);
	assert_int_equal(unpack_session_layers(s), 3);
	calls[0] = (struct layer_call){s, 2, -9};
	calls[1] = (struct layer_call){s, 0, -9};
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, call_layer, &calls[i]), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(calls[i].rc, 0);
	}
	assert_int_equal(unpack_session_layer(s, 0, &e), 0); /* done already: a no-op */
	assert_int_equal(unpack_session_layer(s, 7, &e), -1);
	assert_int_equal(count_snapshot_dirs(u), 2);
	assert_int_equal(count_indexes(u), 0); /* nothing visible yet */
	assert_int_equal(unpack_session_end(s, true, &r, &e), 0);
	assert_int_equal(r.n_reused, 0);
	assert_int_equal(count_indexes(u), 3);
	assert_int_equal(snapshot_lookup(&u->ctx, &r.chain_ids[2], &meta, &e), 0);
	assert_int_equal(meta.parent, r.snapshots[1]);
	assert_int_equal(snapshot_lookup(&u->ctx, &r.chain_ids[1], &meta, &e), 0);
	assert_int_equal(meta.parent, r.snapshots[0]);
	assert_int_equal(meta.entries, 4);
	unpack_result_release(&r);
	/* A pull that failed after some layers were applied leaves nothing. */
	{
		struct layer l2[2] = {l[2], l[1]};

		make_image(u, l2, 2, NULL, &m);
		assert_int_equal(unpack_session_begin(&u->ctx, &m, NULL, &s, &e), 0);
		assert_int_equal(unpack_session_layer(s, 0, &e), 0);
		assert_int_equal(count_snapshot_dirs(u), 4);
		err_set(&e, E_NET, "the registry went away");
		assert_int_equal(unpack_session_end(s, false, &r, &e), -1);
		assert_int_equal(count_snapshot_dirs(u), 3);
		assert_int_equal(count_indexes(u), 3);
	}
	free_layers(l, 3);
	unit_env_free(u);
}

/* A second unpack of chains another one holds defers them, applies nothing, and reuses what
 * the first published. */
static void test_session_defers(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[2];
	struct digest m;
	struct unpack_session *a, *b;
	struct unpack_result ra, rb;
	struct err e = ERR_INIT;
	(void)state;
	make_layer(u, fill_base, &l[0]);
	make_layer(u, fill_top, &l[1]);
	make_image(u, l, 2, NULL, &m);
	assert_int_equal(unpack_session_begin(&u->ctx, &m, NULL, &a, &e), 0);
	assert_int_equal(unpack_session_begin(&u->ctx, &m, NULL, &b, &e), 0);
	assert_int_equal(unpack_session_layer(b, 0, &e), 0);
	assert_int_equal(count_snapshot_dirs(u), 0); /* b did nothing: a holds the chain */
	assert_int_equal(unpack_session_layer(a, 0, &e), 0);
	assert_int_equal(unpack_session_end(a, true, &ra, &e), 0);
	assert_int_equal(unpack_session_end(b, true, &rb, &e), 0);
	assert_int_equal(rb.n_reused, 2);
	assert_memory_equal(ra.snapshots, rb.snapshots, 2 * sizeof(int));
	assert_int_equal(count_snapshot_dirs(u), 2);
	unpack_result_release(&ra);
	unpack_result_release(&rb);
	free_layers(l, 2);
	unit_env_free(u);
}

/* Two processes unpacking two images that share their base, at once, many times: no deadlock,
 * the base unpacked once. */
static void test_concurrent_shared_base(void **state)
{
	struct unit_env *u = env_new();
	struct layer l[3];
	struct digest m[2];
	int round, i, st;
	(void)state;
	make_layer(u, fill_base, &l[0]);
	make_layer(u, fill_mid, &l[1]);
	make_layer(u, fill_top, &l[2]);
	{
		struct layer a[2] = {l[0], l[1]}, b[2] = {l[0], l[2]};

		make_image(u, a, 2, NULL, &m[0]);
		make_image(u, b, 2, NULL, &m[1]);
	}
	for (round = 0; round < 5; round++) {
		cleanup_free char *sd = store_snapshots_dir(&u->ctx);
		pid_t pids[2];
		struct err e = ERR_INIT;

		assert_int_equal(fs_remove_tree(sd, &e), 0);
		for (i = 0; i < 2; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				struct unpack_result cr;
				struct err ce = ERR_INIT;

				alarm(20); /* a deadlock fails the test instead of hanging it */
				_exit(unpack_image(&u->ctx, &m[i], NULL, &cr, &ce) == 0 ? 0 : 1);
			}
		}
		for (i = 0; i < 2; i++) {
			assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
		}
		assert_int_equal(count_snapshot_dirs(u), 3);
	}
	free_layers(l, 3);
	unit_env_free(u);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_ids),        cmocka_unit_test(test_unpack_and_reuse),
	    cmocka_unit_test(test_diff_id_mismatch), cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_killed_unpack),    cmocka_unit_test(test_concurrent_unpacks),
	    cmocka_unit_test(test_verify_rebuilds),  cmocka_unit_test(test_flatten_and_bundle),
	    cmocka_unit_test(test_overlay_options),  cmocka_unit_test(test_session_pipelined),
	    cmocka_unit_test(test_session_defers),   cmocka_unit_test(test_concurrent_shared_base),
	};

	return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
