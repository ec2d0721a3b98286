/* tests/unit/test_source.c - offline image sources (common/image/source.c; DESIGN.md "pull":
 * oci:DIR, oci-archive:, docker-archive:): layouts and archives built here by hand, imported
 * into a scratch store, every refusal checked to leave nothing committed; and, when they can be
 * built, the fixtures made by umoci and skopeo (tests/fixtures/images.sh). */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/image/manifest.h"
#include "common/image/ref.h"
#include "common/image/source.h"
#include "common/store/blob.h"
#include "common/store/digest.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/strutil.h"

/* ---- building layouts and archives ------------------------------------------------------- */

/* A file of a layout or archive: content, or a symlink target. */
struct tfile {
	char *name;
	char *data;
	size_t len;
	char *symlink;
	bool hardlink; /* symlink holds a hardlink's target instead */
};

struct tfiles {
	struct tfile f[64];
	size_t n;
};

static void tf_add(struct tfiles *fs, const char *name, const void *data, size_t len)
{
	struct tfile *f = &fs->f[fs->n++];

	assert_true(fs->n <= ARRAY_SIZE(fs->f));
	f->name = xstrdup(name);
	f->data = xmalloc(len + 1);
	memcpy(f->data, data, len);
	f->len = len;
	f->symlink = NULL;
	f->hardlink = false;
}

static void tf_symlink(struct tfiles *fs, const char *name, const char *target)
{
	struct tfile *f = &fs->f[fs->n++];

	assert_true(fs->n <= ARRAY_SIZE(fs->f));
	f->name = xstrdup(name);
	f->data = NULL;
	f->len = 0;
	f->symlink = xstrdup(target);
	f->hardlink = false;
}

static void tf_hardlink(struct tfiles *fs, const char *name, const char *target)
{
	tf_symlink(fs, name, target);
	fs->f[fs->n - 1].hardlink = true;
}

static struct tfile *tf_find(struct tfiles *fs, const char *name)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].name, name))
			return &fs->f[i];
	fail_msg("no file %s", name);
	return NULL;
}

static void tf_free(struct tfiles *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->f[i].name);
		free(fs->f[i].data);
		free(fs->f[i].symlink);
	}
	fs->n = 0;
}

/* Adds data as blobs/sha256/<hex>; d gets its digest. */
static void tf_blob(struct tfiles *fs, const char *data, size_t len, struct digest *d)
{
	cleanup_free char *name = NULL;

	digest_of(data, len, d);
	name = xasprintf("blobs/sha256/%s", d->hex);
	tf_add(fs, name, data, len);
}

static void tf_str(struct tfiles *fs, const char *name, const char *s)
{
	tf_add(fs, name, s, strlen(s));
}

static void mkdirs_for(const char *path)
{
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	struct err e = ERR_INIT;

	*slash = '\0';
	assert_int_equal(fs_mkdir_p(dir, 0755, &e), 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd;

	mkdirs_for(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void tf_write_dir(const struct tfiles *fs, const char *dir)
{
	for (size_t i = 0; i < fs->n; i++) {
		cleanup_free char *p = xasprintf("%s/%s", dir, fs->f[i].name);

		if (fs->f[i].symlink) {
			mkdirs_for(p);
			assert_int_equal(symlink(fs->f[i].symlink, p), 0);
		} else {
			write_file(p, fs->f[i].data, fs->f[i].len);
		}
	}
}

enum tar_flags {
	TAR_GZIP = 1 << 0,    /* compressed with gzip */
	TAR_REVERSE = 1 << 1, /* members in reverse order: the documents last */
	TAR_DOTSLASH = 1 << 2 /* names as "./name" */
};

static void tf_write_tar(const struct tfiles *fs, const char *path, enum tar_flags flags)
{
	struct archive *a = archive_write_new();

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (flags & TAR_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t k = 0; k < fs->n; k++) {
		const struct tfile *f = &fs->f[flags & TAR_REVERSE ? fs->n - 1 - k : k];
		struct archive_entry *ent = archive_entry_new();
		cleanup_free char *name =
		    xasprintf("%s%s", flags & TAR_DOTSLASH ? "./" : "", f->name);

		archive_entry_set_pathname(ent, name);
		archive_entry_set_mtime(ent, 1700000000, 0);
		if (f->symlink && f->hardlink) {
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_perm(ent, 0644);
			archive_entry_set_hardlink(ent, f->symlink);
			archive_entry_set_size(ent, 0);
		} else if (f->symlink) {
			archive_entry_set_filetype(ent, AE_IFLNK);
			archive_entry_set_perm(ent, 0777);
			archive_entry_set_symlink(ent, f->symlink);
			archive_entry_set_size(ent, 0);
		} else {
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_perm(ent, 0644);
			archive_entry_set_size(ent, (la_int64_t)f->len);
		}
		assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
		if (f->len)
			assert_int_equal(archive_write_data(a, f->data, f->len),
			                 (la_ssize_t)f->len);
		archive_entry_free(ent);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* One image: its layers (uncompressed, so each digest is its diff_id unless diff_ids is
 * given), a config for os/arch, a manifest. */
struct timage {
	struct digest manifest, config, layers[4];
	size_t manifest_size, config_size, layer_sizes[4], n_layers;
};

static char *config_json(const char *os, const char *arch, const struct digest *diff_ids, size_t n)
{
	struct buf b = BUF_INIT;

	buf_printf(&b,
	           "{\"architecture\":\"%s\",\"os\":\"%s\",\"config\":{\"Cmd\":[\"sh\"]},"
	           "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[",
	           arch, os);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s\"sha256:%s\"", i ? "," : "", diff_ids[i].hex);
	buf_adds(&b, "]}}");
	return buf_take(&b);
}

static void tf_image(struct tfiles *fs, const char *os, const char *arch, const char *const *layers,
                     size_t n, struct timage *im)
{
	cleanup_free char *cfg = NULL;
	struct buf m = BUF_INIT;

	memset(im, 0, sizeof(*im));
	for (size_t i = 0; i < n; i++) {
		im->layer_sizes[i] = strlen(layers[i]);
		tf_blob(fs, layers[i], im->layer_sizes[i], &im->layers[i]);
	}
	im->n_layers = n;
	cfg = config_json(os, arch, im->layers, n);
	im->config_size = strlen(cfg);
	tf_blob(fs, cfg, im->config_size, &im->config);
	buf_printf(&m,
	           "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
	           "\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[",
	           MT_OCI_MANIFEST, MT_OCI_CONFIG, im->config.hex, im->config_size);
	for (size_t i = 0; i < n; i++)
		buf_printf(&m, "%s{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu}",
		           i ? "," : "", MT_OCI_LAYER, im->layers[i].hex, im->layer_sizes[i]);
	buf_adds(&m, "]}");
	im->manifest_size = m.len;
	tf_blob(fs, buf_str(&m), m.len, &im->manifest);
	buf_release(&m);
}

/* A descriptor for index.json: the manifest, with a tag and a platform when given. */
static char *desc(const char *mt, const struct digest *d, size_t size, const char *tag,
                  const char *os, const char *arch)
{
	cleanup_free char *ann =
	    tag ? xasprintf(",\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}", tag)
	        : xstrdup("");
	cleanup_free char *plat =
	    os ? xasprintf(",\"platform\":{\"os\":\"%s\",\"architecture\":\"%s\"}", os, arch)
	       : xstrdup("");

	return xasprintf("{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu%s%s}", mt,
	                 d->hex, size, ann, plat);
}

/* index.json (or an index blob) from descriptors. */
static char *index_json(const char *const *descs, size_t n)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[", MT_OCI_INDEX);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "," : "", descs[i]);
	buf_adds(&b, "]}");
	return buf_take(&b);
}

static void tf_layout(struct tfiles *fs)
{
	tf_str(fs, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
}

/* A layout of one image tagged tag; im gets its digests. */
static void tf_one(struct tfiles *fs, const char *tag, struct timage *im)
{
	static const char *const layers[] = {"layer one: not really a tar", "layer two"};
	cleanup_free char *d = NULL, *idx = NULL;

	tf_layout(fs);
	tf_image(fs, "linux", "amd64", layers, 2, im);
	d = desc(MT_OCI_MANIFEST, &im->manifest, im->manifest_size, tag, NULL, NULL);
	idx = index_json((const char *const *)&d, 1);
	tf_str(fs, "index.json", idx);
}

/* ---- importing --------------------------------------------------------------------------- */

struct seen {
	size_t calls;
	struct digest last;
	int64_t done, total;
	bool backwards; /* done went down within one blob */
};

static void on_progress(void *arg, const struct digest *d, int64_t done, int64_t total)
{
	struct seen *s = arg;

	if (s->calls && digest_equal(&s->last, d) && done < s->done)
		s->backwards = true;
	s->calls++;
	s->last = *d;
	s->done = done;
	s->total = total;
}

static struct unit_env *store_env(void)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;

	assert_int_equal(store_init(&u->ctx, &e), 0);
	return u;
}

static int import(struct unit_env *u, const char *refstr, const char *platform,
                  struct source_result *out, struct seen *seen, struct err *e)
{
	struct image_ref ref;
	struct platform p = {0};
	int rc;

	assert_int_equal(ref_parse(refstr, &ref, e), 0);
	assert_int_equal(platform_parse(platform ? platform : "linux/amd64", &p, e), 0);
	rc = source_import(&u->ctx, &ref, &p, on_progress, seen, out, e);
	platform_release(&p);
	ref_release(&ref);
	return rc;
}

static bool committed(struct unit_env *u, const struct digest *d)
{
	struct err e = ERR_INIT;
	int64_t size;

	return blob_stat(&u->ctx, d, &size, &e) == 0;
}

/* Nothing but lock files in content/ingest: no partial left behind. */
static void assert_no_partials(struct unit_env *u)
{
	cleanup_free char *dir = xasprintf("%s/content/ingest", u->root);
	DIR *dh = opendir(dir);
	struct dirent *de;

	assert_non_null(dh);
	while ((de = readdir(dh)))
		if (de->d_name[0] != '.' && !str_ends_with(de->d_name, ".lock"))
			fail_msg("partial ingest left: %s", de->d_name);
	closedir(dh);
}

static void assert_image_committed(struct unit_env *u, const struct timage *im, bool yes)
{
	assert_int_equal(committed(u, &im->manifest), yes);
	assert_int_equal(committed(u, &im->config), yes);
	for (size_t i = 0; i < im->n_layers; i++)
		assert_int_equal(committed(u, &im->layers[i]), yes);
}

static size_t image_bytes(const struct timage *im)
{
	size_t n = im->manifest_size + im->config_size;

	for (size_t i = 0; i < im->n_layers; i++)
		n += im->layer_sizes[i];
	return n;
}

/* ---- OCI layouts ------------------------------------------------------------------------- */

static void test_layout_one_tag(void **state)
{
	struct unit_env *u = store_env();
	cleanup_free char *dir = xasprintf("%s/My_Image.v2", u->dir);
	cleanup_free char *ref = xasprintf("oci:%s", dir);
	cleanup_free char *ref_tag = xasprintf("oci:%s:v1", dir);
	struct tfiles fs = {0};
	struct source_result r = {0};
	struct seen seen = {0};
	struct timage im;
	struct err e = ERR_INIT;

	tf_one(&fs, "v1", &im);
	tf_write_dir(&fs, dir);
	assert_int_equal(import(u, ref, NULL, &r, &seen, &e), 0);
	assert_string_equal(r.name, "localhost/my_image.v2:v1");
	assert_true(digest_equal(&r.manifest, &im.manifest));
	assert_string_equal(r.media_type, MT_OCI_MANIFEST);
	assert_int_equal(r.bytes_committed, (int64_t)image_bytes(&im));
	assert_image_committed(u, &im, true);
	assert_true(seen.calls >= 4);
	assert_false(seen.backwards);
	assert_true(digest_equal(&seen.last, &im.manifest)); /* the manifest is committed last */
	assert_int_equal(seen.done, (int64_t)im.manifest_size);
	assert_int_equal(seen.total, (int64_t)im.manifest_size);
	source_result_release(&r);

	/* Again, by its tag: all there already, nothing new written. */
	assert_int_equal(import(u, ref_tag, NULL, &r, &seen, &e), 0);
	assert_int_equal(r.bytes_committed, 0);
	assert_string_equal(r.name, "localhost/my_image.v2:v1");
	source_result_release(&r);
	assert_no_partials(u);
	tf_free(&fs);
	unit_env_free(u);
}

static void test_layout_names(void **state)
{
	struct unit_env *u = store_env();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;
	static const struct {
		const char *dir, *tag, *want;
	} cases[] = {
	    /* a full reference in the annotation is the name */
	    {"a", "docker.io/library/alpine:3.20", "docker.io/library/alpine:3.20"},
	    {"b", "alpine:3.20", "docker.io/library/alpine:3.20"},
	    {"c", "registry.example.com:5000/team/app:1.0",
	     "registry.example.com:5000/team/app:1.0"},
	    /* a bare tag names localhost/<dir>:<tag>, a missing one :latest */
	    {"busybox-oci", "1.36", "localhost/busybox-oci:1.36"},
	    {"Weird Name!!.tar.gz", NULL, "localhost/weird-name:latest"},
	    {"--", NULL, "localhost/image:latest"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *dir = xasprintf("%s/%s", u->dir, cases[i].dir);
		cleanup_free char *ref = xasprintf("oci:%s", dir);
		struct tfiles fs = {0};
		struct timage im;

		tf_one(&fs, cases[i].tag, &im);
		tf_write_dir(&fs, dir);
		if (import(u, ref, NULL, &r, &seen, &e) < 0)
			fail_msg("%s: %s", cases[i].dir, e.msg);
		assert_string_equal(r.name, cases[i].want);
		source_result_release(&r);
		tf_free(&fs);
	}
	unit_env_free(u);
}

/* Two images, tagged a and b. */
static void tf_tags(struct tfiles *fs, struct timage *a, struct timage *b)
{
	static const char *const la[] = {"image a"}, *const lb[] = {"image b"};
	char *d[2];
	cleanup_free char *idx = NULL;

	tf_layout(fs);
	tf_image(fs, "linux", "amd64", la, 1, a);
	tf_image(fs, "linux", "amd64", lb, 1, b);
	d[0] = desc(MT_OCI_MANIFEST, &a->manifest, a->manifest_size, "a", NULL, NULL);
	d[1] = desc(MT_OCI_MANIFEST, &b->manifest, b->manifest_size, "b", NULL, NULL);
	idx = index_json((const char *const *)d, 2);
	tf_str(fs, "index.json", idx);
	free(d[0]);
	free(d[1]);
}

static void test_layout_tags(void **state)
{
	struct unit_env *u = store_env();
	cleanup_free char *dir = xasprintf("%s/tags", u->dir);
	cleanup_free char *ref = xasprintf("oci:%s", dir);
	cleanup_free char *ref_b = xasprintf("oci:%s:b", dir);
	cleanup_free char *ref_c = xasprintf("oci:%s:c", dir);
	struct tfiles fs = {0};
	struct source_result r = {0};
	struct seen seen = {0};
	struct timage a, b;
	struct err e = ERR_INIT;

	tf_tags(&fs, &a, &b);
	tf_write_dir(&fs, dir);

	assert_int_equal(import(u, ref_b, NULL, &r, &seen, &e), 0);
	assert_true(digest_equal(&r.manifest, &b.manifest));
	assert_string_equal(r.name, "localhost/tags:b");
	assert_image_committed(u, &b, true);
	assert_image_committed(u, &a, false);
	source_result_release(&r);

	/* No tag, several in the layout: refused, naming them. */
	assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_string_equal(e.msg, "index.json: several tags, name one (it has a, b)");

	/* A tag that is not there. */
	assert_int_equal(import(u, ref_c, NULL, &r, &seen, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_string_equal(e.msg, "index.json: no tag \"c\" (it has a, b)");
	assert_null(r.name);
	assert_image_committed(u, &a, false);
	tf_free(&fs);
	unit_env_free(u);
}

static void test_layout_platforms(void **state)
{
	static const char *const l1[] = {"amd64 bits"}, *const l2[] = {"arm64 bits"};
	struct unit_env *u = store_env();
	cleanup_free char *dir = xasprintf("%s/plat", u->dir);
	cleanup_free char *ref = xasprintf("oci:%s", dir);
	cleanup_free char *ndir = xasprintf("%s/nested", u->dir);
	cleanup_free char *nref = xasprintf("oci:%s:multi", ndir);
	cleanup_free char *idx = NULL, *inner = NULL, *top = NULL, *nidx = NULL;
	struct tfiles fs = {0}, nfs = {0};
	struct source_result r = {0};
	struct seen seen = {0};
	struct timage amd, arm;
	struct digest inner_d;
	struct err e = ERR_INIT;
	char *d[2];

	/* index.json itself lists the platforms. */
	tf_layout(&fs);
	tf_image(&fs, "linux", "amd64", l1, 1, &amd);
	tf_image(&fs, "linux", "arm64", l2, 1, &arm);
	d[0] = desc(MT_OCI_MANIFEST, &amd.manifest, amd.manifest_size, NULL, "linux", "amd64");
	d[1] = desc(MT_OCI_MANIFEST, &arm.manifest, arm.manifest_size, NULL, "linux", "arm64");
	idx = index_json((const char *const *)d, 2);
	tf_str(&fs, "index.json", idx);
	tf_write_dir(&fs, dir);

	assert_int_equal(import(u, ref, "linux/arm64", &r, &seen, &e), 0);
	assert_true(digest_equal(&r.manifest, &arm.manifest));
	assert_string_equal(r.name, "localhost/plat:latest");
	assert_image_committed(u, &arm, true);
	assert_image_committed(u, &amd, false);
	source_result_release(&r);
	assert_int_equal(import(u, ref, "linux/s390x", &r, &seen, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_string_equal(e.msg, "index.json: no manifest for linux/s390x in the index (it has "
	                           "linux/amd64, linux/arm64)");

	/* A tag naming an index blob, as skopeo and umoci write multi-platform images. */
	tf_layout(&nfs);
	tf_image(&nfs, "linux", "amd64", l1, 1, &amd);
	tf_image(&nfs, "linux", "arm64", l2, 1, &arm);
	inner = index_json((const char *const *)d, 2);
	tf_blob(&nfs, inner, strlen(inner), &inner_d);
	top = desc(MT_OCI_INDEX, &inner_d, strlen(inner), "multi", NULL, NULL);
	nidx = index_json((const char *const *)&top, 1);
	tf_str(&nfs, "index.json", nidx);
	tf_write_dir(&nfs, ndir);
	assert_int_equal(import(u, nref, "linux/amd64", &r, &seen, &e), 0);
	assert_true(digest_equal(&r.manifest, &amd.manifest));
	assert_string_equal(r.media_type, MT_OCI_MANIFEST);
	assert_string_equal(r.name, "localhost/nested:multi");
	assert_image_committed(u, &amd, true);
	source_result_release(&r);
	assert_int_equal(import(u, nref, "linux/ppc64le", &r, &seen, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_non_null(strstr(e.msg, "no manifest for linux/ppc64le"));

	free(d[0]);
	free(d[1]);
	tf_free(&fs);
	tf_free(&nfs);
	unit_env_free(u);
}

static void test_layout_corrupt(void **state)
{
	struct unit_env *u = store_env();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;
	const char *which[] = {"layer", "config", "manifest", "short layer"};

	for (size_t i = 0; i < ARRAY_SIZE(which); i++) {
		cleanup_free char *dir = xasprintf("%s/corrupt%zu", u->dir, i);
		cleanup_free char *ref = xasprintf("oci:%s", dir);
		cleanup_free char *name = NULL;
		struct tfiles fs = {0};
		struct timage im;
		struct tfile *f;

		tf_one(&fs, "v1", &im);
		name = xasprintf("blobs/sha256/%s", i == 1   ? im.config.hex
		                                    : i == 2 ? im.manifest.hex
		                                             : im.layers[1].hex);
		f = tf_find(&fs, name);
		if (i == 3)
			f->len--;
		else
			f->data[f->len / 2] ^= 1; /* same size, other bytes */
		tf_write_dir(&fs, dir);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		if (e.code != E_CORRUPT)
			fail_msg("%s: %s", which[i], e.msg);
		assert_non_null(strstr(e.msg, i == 3 ? "size mismatch" : "digest mismatch"));
		/* Nothing at all: the layers stream first, but layer 1 fails before config and
		 * manifest, and layer 0 is the only blob committed then. */
		assert_int_equal(committed(u, &im.layers[0]), i == 0 || i == 3);
		assert_false(committed(u, &im.layers[1]));
		assert_false(committed(u, &im.config));
		assert_false(committed(u, &im.manifest));
		assert_null(r.name);
		assert_no_partials(u);
		tf_free(&fs);
		/* The next case starts from an empty store. */
		{
			struct err re = ERR_INIT;

			assert_int_equal(blob_remove(&u->ctx, &im.layers[0], &re), 0);
		}
	}
	unit_env_free(u);
}

static void test_layout_hostile(void **state)
{
	struct unit_env *u = store_env();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;

	{ /* a digest that is a path */
		cleanup_free char *dir = xasprintf("%s/notahex", u->dir);
		cleanup_free char *ref = xasprintf("oci:%s", dir);
		struct tfiles fs = {0};

		tf_layout(&fs);
		tf_str(&fs, "index.json",
		       "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST
		       "\",\"digest\":\"sha256:../../../../etc/passwd\",\"size\":10}]}");
		tf_str(&fs, "blobs/sha256/.keep", "");
		tf_write_dir(&fs, dir);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_non_null(strstr(e.msg, "index.json: "));
		assert_non_null(strstr(e.msg, "digest"));
		tf_free(&fs);
	}
	{ /* a symlink at blobs/sha256/<hex> to a file outside with the right content */
		cleanup_free char *dir = xasprintf("%s/symlinked", u->dir);
		cleanup_free char *ref = xasprintf("oci:%s", dir);
		cleanup_free char *outside = xasprintf("%s/outside", u->dir);
		cleanup_free char *name = NULL, *path = NULL;
		struct tfiles fs = {0};
		struct timage im;
		struct tfile *f;

		tf_one(&fs, "v1", &im);
		name = xasprintf("blobs/sha256/%s", im.layers[0].hex);
		f = tf_find(&fs, name);
		write_file(outside, f->data, f->len);
		free(f->data);
		f->data = NULL;
		f->symlink = xstrdup(outside);
		tf_write_dir(&fs, dir);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		path = xasprintf("layer 0: blobs/sha256/%s: is a symbolic link: refused",
		                 im.layers[0].hex);
		assert_string_equal(e.msg, path);
		assert_image_committed(u, &im, false);
		tf_free(&fs);
	}
	{ /* blobs/ itself a symlink to a directory outside */
		cleanup_free char *dir = xasprintf("%s/blobslink", u->dir);
		cleanup_free char *real = xasprintf("%s/realblobs", u->dir);
		cleanup_free char *ref = xasprintf("oci:%s", dir);
		cleanup_free char *blobs = NULL;
		struct tfiles fs = {0};
		struct timage im;

		tf_one(&fs, "v1", &im);
		tf_write_dir(&fs, real);
		assert_int_equal(mkdir(dir, 0755), 0);
		blobs = xasprintf("%s/blobs", real);
		{
			cleanup_free char *l = xasprintf("%s/blobs", dir);
			cleanup_free char *o = xasprintf("%s/oci-layout", dir);
			cleanup_free char *i = xasprintf("%s/index.json", dir);
			struct tfile *fo = tf_find(&fs, "oci-layout"),
			             *fi = tf_find(&fs, "index.json");

			assert_int_equal(symlink(blobs, l), 0);
			write_file(o, fo->data, fo->len);
			write_file(i, fi->data, fi->len);
		}
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_non_null(strstr(e.msg, "blobs"));
		assert_image_committed(u, &im, false);
		tf_free(&fs);
	}
	{ /* not a layout; a layout of another version */
		cleanup_free char *dir = xasprintf("%s/plain", u->dir);
		cleanup_free char *ref = xasprintf("oci:%s", dir);
		cleanup_free char *lay = xasprintf("%s/oci-layout", dir);

		assert_int_equal(mkdir(dir, 0755), 0);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_string_equal(e.msg, "not an OCI image layout: no oci-layout file");
		write_file(lay, "{\"imageLayoutVersion\":\"2.0.0\"}", 30);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_UNSUPPORTED);
		assert_string_equal(e.msg,
		                    "oci-layout: imageLayoutVersion \"2.0.0\", expected \"1.0.0\"");
	}
	{ /* a layout that does not exist */
		cleanup_free char *ref = xasprintf("oci:%s/nowhere", u->dir);

		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_NOTFOUND);
	}
	unit_env_free(u);
}

/* ---- archives ---------------------------------------------------------------------------- */

static void test_oci_archive(void **state)
{
	static const enum tar_flags variants[] = {0, TAR_REVERSE, TAR_GZIP | TAR_DOTSLASH};
	struct unit_env *u = store_env();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		cleanup_free char *path = xasprintf("%s/img%zu.oci.tar", u->dir, i);
		cleanup_free char *ref = xasprintf("oci-archive:%s:v1", path);
		cleanup_free char *want = xasprintf("localhost/img%zu:v1", i);
		struct tfiles fs = {0};
		struct timage im;
		char big[300 << 10]; /* larger than what the first pass keeps in memory */

		memset(big, 'x', sizeof(big));
		big[sizeof(big) - 1] = '\0';
		big[i] = 'y'; /* a different image each time */
		{
			cleanup_free char *small = xasprintf("small layer %zu", i);
			const char *layers[] = {small, big};
			cleanup_free char *d = NULL, *idx = NULL;

			tf_layout(&fs);
			tf_image(&fs, "linux", "amd64", layers, 2, &im);
			d = desc(MT_OCI_MANIFEST, &im.manifest, im.manifest_size, "v1", NULL, NULL);
			idx = index_json((const char *const *)&d, 1);
			tf_str(&fs, "index.json", idx);
		}
		tf_write_tar(&fs, path, variants[i]);
		if (import(u, ref, NULL, &r, &seen, &e) < 0)
			fail_msg("variant %zu: %s", i, e.msg);
		assert_string_equal(r.name, want);
		assert_true(digest_equal(&r.manifest, &im.manifest));
		assert_int_equal(r.bytes_committed, (int64_t)image_bytes(&im));
		assert_image_committed(u, &im, true);
		assert_false(seen.backwards);
		source_result_release(&r);
		tf_free(&fs);
	}
	{ /* a missing tag lists what is there */
		cleanup_free char *path = xasprintf("%s/img0.oci.tar", u->dir);
		cleanup_free char *ref = xasprintf("oci-archive:%s:v2", path);

		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_NOTFOUND);
		assert_string_equal(e.msg, "index.json: no tag \"v2\" (it has v1)");
	}
	unit_env_free(u);
}

static void test_archive_truncated(void **state)
{
	struct unit_env *u = store_env();
	cleanup_free char *path = xasprintf("%s/cut.tar", u->dir);
	cleanup_free char *ref = xasprintf("oci-archive:%s", path);
	cleanup_free char *junk = xasprintf("%s/junk.tar", u->dir);
	cleanup_free char *jref = xasprintf("oci-archive:%s", junk);
	struct tfiles fs = {0};
	struct source_result r = {0};
	struct seen seen = {0};
	struct timage im;
	struct err e = ERR_INIT;
	struct stat st;
	char big[600 << 10];

	memset(big, 'z', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	{
		const char *layers[] = {big};
		cleanup_free char *d = NULL, *idx = NULL;

		tf_layout(&fs);
		tf_str(&fs, "index.json", "placeholder");
		tf_image(&fs, "linux", "amd64", layers, 1, &im);
		d = desc(MT_OCI_MANIFEST, &im.manifest, im.manifest_size, "v1", NULL, NULL);
		idx = index_json((const char *const *)&d, 1);
		free(fs.f[1].data);
		fs.f[1].data = xstrdup(idx);
		fs.f[1].len = strlen(idx);
	}
	/* The documents first, then the layer cut in its middle. */
	tf_write_tar(&fs, path, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	assert_non_null(strstr(e.msg, "runcated"));
	assert_image_committed(u, &im, false);
	assert_no_partials(u);

	/* Not a tar at all. */
	write_file(junk, "this is not a tar archive, not even close to one.\n", 51);
	assert_int_equal(import(u, jref, NULL, &r, &seen, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "not a tar archive"));
	tf_free(&fs);
	unit_env_free(u);
}

/* Links inside an archive are followed only within it; duplicate names are refused. */
static void test_archive_links(void **state)
{
	struct unit_env *u = store_env();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;

	for (int c = 0; c < 4; c++) {
		cleanup_free char *path = xasprintf("%s/links%d.tar", u->dir, c);
		cleanup_free char *ref = xasprintf("oci-archive:%s", path);
		cleanup_free char *name = NULL, *want = NULL;
		struct tfiles fs = {0};
		struct timage im;
		struct tfile *f;

		tf_one(&fs, "v1", &im);
		name = xasprintf("blobs/sha256/%s", im.layers[0].hex);
		f = tf_find(&fs, name);
		switch (c) {
		case 0: /* a hardlink to the real data under another name: fine */
		case 1: /* a symlink, the same */
			free(f->name);
			f->name = xstrdup("elsewhere/data");
			if (c == 0)
				tf_hardlink(&fs, name, "elsewhere/data");
			else
				tf_symlink(&fs, name, "../../elsewhere/data");
			break;
		case 2: /* a symlink out of the archive */
			free(f->data);
			f->data = NULL;
			f->len = 0;
			f->symlink = xstrdup("../../../../etc/passwd");
			want = xasprintf("layer 0: %s: a link pointing outside the archive", name);
			break;
		default: /* index.json twice */
			tf_str(&fs, "index.json", "{\"schemaVersion\":2,\"manifests\":[]}");
			want = xstrdup("index.json: the archive has more than one member so named");
			break;
		}
		tf_write_tar(&fs, path, 0);
		if (!want) {
			if (import(u, ref, NULL, &r, &seen, &e) < 0)
				fail_msg("case %d: %s", c, e.msg);
			assert_image_committed(u, &im, true);
			source_result_release(&r);
		} else {
			assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
			assert_int_equal(e.code, E_INVALID);
			assert_string_equal(e.msg, want);
			assert_image_committed(u, &im, false);
		}
		tf_free(&fs);
		for (size_t i = 0; i < im.n_layers; i++)
			assert_int_equal(blob_remove(&u->ctx, &im.layers[i], &e), 0);
		assert_int_equal(blob_remove(&u->ctx, &im.config, &e), 0);
		assert_int_equal(blob_remove(&u->ctx, &im.manifest, &e), 0);
	}
	unit_env_free(u);
}

/* docker save's layout: manifest.json, <hex>.json config, <id>/layer.tar (one a symlink to
 * another, as docker and skopeo write a layer shared by two images). */
struct tdocker {
	struct digest config, layers[3];
	size_t layer_sizes[3];
};

static void tf_docker(struct tfiles *fs, const char *tags, bool bad_diff_id, bool linked,
                      struct tdocker *im)
{
	static const char *const layers[] = {"docker layer zero", "docker layer one"};
	struct digest diff_ids[2];
	cleanup_free char *cfg = NULL, *cfg_name = NULL, *man = NULL;

	for (size_t i = 0; i < 2; i++) {
		im->layer_sizes[i] = strlen(layers[i]);
		digest_of(layers[i], im->layer_sizes[i], &im->layers[i]);
		diff_ids[i] = im->layers[i];
	}
	if (bad_diff_id)
		digest_of("something else", 14, &diff_ids[1]);
	cfg = config_json("linux", "amd64", diff_ids, 2);
	digest_of(cfg, strlen(cfg), &im->config);
	cfg_name = xasprintf("%s.json", im->config.hex);
	tf_str(fs, "l0/layer.tar", layers[0]);
	if (linked) {
		tf_str(fs, "shared.tar", layers[1]);
		tf_symlink(fs, "l1/layer.tar", "../shared.tar");
	} else {
		tf_str(fs, "l1/layer.tar", layers[1]);
	}
	tf_str(fs, "l0/VERSION", "1.0");
	tf_str(fs, cfg_name, cfg);
	man = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":%s,\"Layers\":[\"l0/layer.tar\","
	                "\"l1/layer.tar\"]}]",
	                cfg_name, tags);
	tf_str(fs, "manifest.json", man);
}

static void test_docker_archive(void **state)
{
	struct unit_env *u = store_env();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;

	{ /* RepoTags[0] normalised; the manifest made for it is an OCI one */
		cleanup_free char *path = xasprintf("%s/bb.docker.tar", u->dir);
		cleanup_free char *ref = xasprintf("docker-archive:%s", path);
		cleanup_free char *ref2 = xasprintf("docker-archive:%s:busybox:latest", path);
		cleanup_free char *ref3 = xasprintf("docker-archive:%s:other:1", path);
		cleanup_free char *mdata = NULL;
		struct tfiles fs = {0};
		struct tdocker im;
		struct manifest m = {0};
		size_t mlen = 0;

		tf_docker(&fs, "[\"busybox:1.36\",\"busybox\"]", false, true, &im);
		tf_write_tar(&fs, path, TAR_REVERSE);
		if (import(u, ref, NULL, &r, &seen, &e) < 0)
			fail_msg("%s", e.msg);
		assert_string_equal(r.name, "docker.io/library/busybox:1.36");
		assert_string_equal(r.media_type, MT_OCI_MANIFEST);
		assert_true(committed(u, &im.config));
		assert_true(committed(u, &im.layers[0]));
		assert_true(committed(u, &im.layers[1]));
		assert_int_equal(blob_read(&u->ctx, &r.manifest, MANIFEST_MAX, &mdata, &mlen, &e),
		                 0);
		assert_int_equal(manifest_parse(mdata, mlen, r.media_type, &m, &e), 0);
		assert_int_equal(m.kind, MANIFEST_IMAGE);
		assert_string_equal(m.config.media_type, MT_OCI_CONFIG);
		assert_true(digest_equal(&m.config.digest, &im.config));
		assert_int_equal(m.n_layers, 2);
		for (size_t i = 0; i < 2; i++) {
			assert_string_equal(m.layers[i].media_type, MT_OCI_LAYER);
			assert_true(digest_equal(&m.layers[i].digest, &im.layers[i]));
			assert_int_equal(m.layers[i].size, (int64_t)im.layer_sizes[i]);
		}
		assert_int_equal(r.bytes_committed, (int64_t)(mlen + m.config.size +
		                                              m.layers[0].size + m.layers[1].size));
		manifest_release(&m);
		source_result_release(&r);

		/* Chosen by another of its tags, which names it. */
		if (import(u, ref2, NULL, &r, &seen, &e) < 0)
			fail_msg("%s", e.msg);
		assert_string_equal(r.name, "docker.io/library/busybox:latest");
		assert_int_equal(r.bytes_committed, 0);
		source_result_release(&r);
		assert_int_equal(import(u, ref3, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_NOTFOUND);
		assert_string_equal(e.msg, "manifest.json: no image tagged \"other:1\" (it has "
		                           "busybox:1.36, busybox)");
		tf_free(&fs);
	}
	{ /* Docker with the containerd image store: compressed layers as blobs/sha256/<hex> */
		static const char gz[] = "\x1f\x8b\x08 not really gzip",
		                  zs[] = "\x28\xb5\x2f\xfd zstd";
		cleanup_free char *path = xasprintf("%s/containerd.tar", u->dir);
		cleanup_free char *ref = xasprintf("docker-archive:%s", path);
		cleanup_free char *cfg = NULL, *doc = NULL, *mdata = NULL, *n0 = NULL, *n1 = NULL;
		struct digest diff_ids[2], blobs[2], cd;
		struct tfiles fs = {0};
		struct manifest m = {0};
		size_t mlen = 0;

		digest_of("uncompressed 0", 14, &diff_ids[0]);
		digest_of("uncompressed 1", 14, &diff_ids[1]);
		cfg = config_json("linux", "amd64", diff_ids, 2);
		tf_blob(&fs, cfg, strlen(cfg), &cd);
		tf_blob(&fs, gz, sizeof(gz) - 1, &blobs[0]);
		tf_blob(&fs, zs, sizeof(zs) - 1, &blobs[1]);
		n0 = xasprintf("blobs/sha256/%s", blobs[0].hex);
		n1 = xasprintf("blobs/sha256/%s", blobs[1].hex);
		doc = xasprintf("[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"app:2\"],"
		                "\"Layers\":[\"%s\",\"%s\"]}]",
		                cd.hex, n0, n1);
		tf_str(&fs, "manifest.json", doc);
		tf_write_tar(&fs, path, 0);
		if (import(u, ref, NULL, &r, &seen, &e) < 0)
			fail_msg("%s", e.msg);
		assert_string_equal(r.name, "docker.io/library/app:2");
		assert_int_equal(blob_read(&u->ctx, &r.manifest, MANIFEST_MAX, &mdata, &mlen, &e),
		                 0);
		assert_int_equal(manifest_parse(mdata, mlen, r.media_type, &m, &e), 0);
		assert_int_equal(m.n_layers, 2);
		assert_string_equal(m.layers[0].media_type, MT_OCI_LAYER_GZIP);
		assert_string_equal(m.layers[1].media_type, MT_OCI_LAYER_ZSTD);
		assert_true(digest_equal(&m.layers[0].digest, &blobs[0]));
		assert_true(digest_equal(&m.layers[1].digest, &blobs[1]));
		assert_true(committed(u, &blobs[0]));
		assert_true(committed(u, &blobs[1]));
		manifest_release(&m);
		source_result_release(&r);
		tf_free(&fs);
	}
	{ /* no RepoTags: localhost/<basename>:latest */
		cleanup_free char *path = xasprintf("%s/Saved.tar", u->dir);
		cleanup_free char *ref = xasprintf("docker-archive:%s", path);
		struct tfiles fs = {0};
		struct tdocker im;

		tf_docker(&fs, "null", false, false, &im);
		tf_write_tar(&fs, path, 0);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), 0);
		assert_string_equal(r.name, "localhost/saved:latest");
		source_result_release(&r);
		tf_free(&fs);
	}
	unit_env_free(u);
}

static void test_docker_archive_refused(void **state)
{
	struct unit_env *u = store_env();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;

	{ /* a layer that is not the config's diff_id */
		cleanup_free char *path = xasprintf("%s/bad.tar", u->dir);
		cleanup_free char *ref = xasprintf("docker-archive:%s", path);
		cleanup_free char *want = NULL;
		struct tfiles fs = {0};
		struct tdocker im;
		struct digest bad;

		tf_docker(&fs, "[\"x:1\"]", true, false, &im);
		tf_write_tar(&fs, path, 0);
		digest_of("something else", 14, &bad);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		want = xasprintf("layer 1 (l1/layer.tar; diff_id sha256:%s): sha256:%s: digest "
		                 "mismatch: got sha256:%s",
		                 bad.hex, bad.hex, im.layers[1].hex);
		assert_string_equal(e.msg, want);
		assert_false(committed(u, &bad));
		assert_false(committed(u, &im.layers[1]));
		assert_false(committed(u, &im.config));
		assert_no_partials(u);
		tf_free(&fs);
	}
	{ /* a layer path that leaves the archive, one that is not there, a config that
	     is not its name's digest */
		static const char *const docs[] = {
		    "[{\"Config\":\"c.json\",\"RepoTags\":[],\"Layers\":[\"../../etc/passwd\"]}]",
		    "[{\"Config\":\"c.json\",\"RepoTags\":[],\"Layers\":[\"missing/layer.tar\"]}]",
		    "[{\"Config\":\"/etc/passwd\",\"RepoTags\":[],\"Layers\":[]}]",
		};
		static const char *const msgs[] = {
		    "layer 0 (../../etc/passwd; diff_id sha256:",
		    "layer 0 (missing/layer.tar; diff_id sha256:",
		    "config: /etc/passwd: not in the archive",
		};

		for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
			cleanup_free char *path = xasprintf("%s/hostile%zu.tar", u->dir, i);
			cleanup_free char *ref = xasprintf("docker-archive:%s", path);
			struct digest one;
			cleanup_free char *cfg = NULL;
			struct tfiles fs = {0};

			digest_of("x", 1, &one);
			cfg = config_json("linux", "amd64", &one, 1);
			tf_str(&fs, "c.json", cfg);
			tf_str(&fs, "manifest.json", docs[i]);
			tf_write_tar(&fs, path, 0);
			assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
			if (!str_starts_with(e.msg, msgs[i]))
				fail_msg("case %zu: %s", i, e.msg);
			tf_free(&fs);
		}
	}
	{ /* a config file named for another digest */
		cleanup_free char *path = xasprintf("%s/misnamed.tar", u->dir);
		cleanup_free char *ref = xasprintf("docker-archive:%s", path);
		cleanup_free char *doc = NULL, *cfg = NULL;
		struct tfiles fs = {0};
		struct digest other;

		digest_of("other", 5, &other);
		cfg = config_json("linux", "amd64", NULL, 0);
		doc = xasprintf("[{\"Config\":\"%s.json\",\"RepoTags\":null,\"Layers\":[]}]",
		                other.hex);
		{
			cleanup_free char *name = xasprintf("%s.json", other.hex);

			tf_str(&fs, name, cfg);
		}
		tf_str(&fs, "manifest.json", doc);
		tf_write_tar(&fs, path, 0);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_non_null(strstr(e.msg, "digest mismatch"));
		tf_free(&fs);
	}
	{ /* a compressed layer whose name does not give its digest */
		cleanup_free char *path = xasprintf("%s/gz.tar", u->dir);
		cleanup_free char *ref = xasprintf("docker-archive:%s", path);
		cleanup_free char *cfg = NULL;
		struct tfiles fs = {0};
		struct digest one;

		digest_of("x", 1, &one);
		cfg = config_json("linux", "amd64", &one, 1);
		tf_str(&fs, "c.json", cfg);
		tf_str(&fs, "l/layer.tar", "\x1f\x8b\x08 compressed");
		tf_str(&fs, "manifest.json",
		       "[{\"Config\":\"c.json\",\"RepoTags\":[],\"Layers\":[\"l/layer.tar\"]}]");
		tf_write_tar(&fs, path, 0);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_UNSUPPORTED);
		assert_string_equal(e.msg,
		                    "layer 0 (l/layer.tar; diff_id sha256:2d711642b726b04401627"
		                    "ca9fbac32f5c8530fb1903cc4db02258717921a4881): compressed, "
		                    "and its name does not give its digest");
		tf_free(&fs);
	}
	{ /* two images and no REF */
		cleanup_free char *path = xasprintf("%s/two.tar", u->dir);
		cleanup_free char *ref = xasprintf("docker-archive:%s", path);
		struct tfiles fs = {0};

		tf_str(&fs, "manifest.json",
		       "[{\"Config\":\"a.json\",\"RepoTags\":[\"a:1\"],\"Layers\":[]},"
		       "{\"Config\":\"b.json\",\"RepoTags\":[\"b:2\"],\"Layers\":[]}]");
		tf_write_tar(&fs, path, 0);
		assert_int_equal(import(u, ref, NULL, &r, &seen, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_string_equal(e.msg, "manifest.json: 2 images, name one (it has a:1, b:2)");
		tf_free(&fs);
	}
	unit_env_free(u);
}

/* ---- the fixtures made with umoci and skopeo ---------------------------------------------- */

/* tests/.cache/fixtures beside this binary's build directory, built if missing; NULL (and the
 * test skipped) when the tools to build it are not installed. */
static char *fixtures(void)
{
	const char *env = getenv("CTRBOX_FIXTURES");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cleanup_free char *dir = NULL, *cmd = NULL;
	char *slash;
	int i;

	if (env && *env)
		return xstrdup(env);
	assert_true(n > 0);
	self[n] = '\0';
	for (i = 0; i < 3; i++) { /* TOP/build/tests/test_source */
		slash = strrchr(self, '/');
		assert_non_null(slash);
		*slash = '\0';
	}
	dir = xasprintf("%s/tests/.cache/fixtures", self);
	cmd = xasprintf("'%s/tests/fixtures/images.sh' '%s' >/dev/null 2>&1", self, dir);
	if (system(cmd) != 0)
		return NULL;
	return TAKE_PTR(dir);
}

static void test_fixtures(void **state)
{
	struct unit_env *u = store_env();
	cleanup_free char *fx = fixtures();
	struct source_result r = {0};
	struct seen seen = {0};
	struct err e = ERR_INIT;
	static const struct {
		const char *kind, *path, *platform, *name;
	} cases[] = {
	    {"oci", "/oci:busybox", NULL, "localhost/oci:busybox"},
	    {"oci", "/oci:layers", NULL, "localhost/oci:layers"},
	    {"oci", "/oci:multi", "linux/arm64", "localhost/oci:multi"},
	    {"oci", "/oci:multi", "linux/amd64", "localhost/oci:multi"},
	    {"oci-archive", "/busybox.oci.tar", NULL, "localhost/busybox:busybox"},
	    {"docker-archive", "/busybox.docker.tar", NULL, "docker.io/ctrbox/busybox:latest"},
	};

	if (!fx) {
		unit_env_free(u);
		skip();
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *ref = NULL;
		cleanup_free char *mdata = NULL;
		struct manifest m = {0};
		size_t mlen = 0;

		ref = xasprintf("%s:%s%s", cases[i].kind, fx, cases[i].path);
		if (import(u, ref, cases[i].platform, &r, &seen, &e) < 0)
			fail_msg("%s: %s", ref, e.msg);
		assert_string_equal(r.name, cases[i].name);
		assert_int_equal(blob_read(&u->ctx, &r.manifest, MANIFEST_MAX, &mdata, &mlen, &e),
		                 0);
		assert_int_equal(manifest_parse(mdata, mlen, r.media_type, &m, &e), 0);
		assert_int_equal(m.kind, MANIFEST_IMAGE);
		assert_true(committed(u, &m.config.digest));
		for (size_t j = 0; j < m.n_layers; j++)
			assert_true(committed(u, &m.layers[j].digest));
		manifest_release(&m);
		source_result_release(&r);
	}
	assert_no_partials(u);
	unit_env_free(u);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout_one_tag), cmocka_unit_test(test_layout_names),
	    cmocka_unit_test(test_layout_tags),    cmocka_unit_test(test_layout_platforms),
	    cmocka_unit_test(test_layout_corrupt), cmocka_unit_test(test_layout_hostile),
	    cmocka_unit_test(test_oci_archive),    cmocka_unit_test(test_archive_truncated),
	    cmocka_unit_test(test_docker_archive), cmocka_unit_test(test_docker_archive_refused),
	    cmocka_unit_test(test_fixtures),       cmocka_unit_test(test_archive_links),
	};

	return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
