/* common/image/source.c - offline image sources imported into the content store: oci:DIR
 * layouts, oci-archive: and docker-archive: tarballs (DESIGN.md "pull": offline sources; "Content
 * is the truth and is verified"; "Nothing outside ROOT ... is ever written, whatever the input").
 * A layout's blobs are opened by digest under blobs/sha256 with openat and O_NOFOLLOW, never by
 * a name a document gives. An archive is read with libarchive, never extracted: a first pass
 * indexes its members and keeps the small ones in memory, a member needed later is read by
 * another pass, and a last pass streams the layers into ingests. Member names are only ever
 * compared with names, never used as paths. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/image/archive_dl.h"
#include "common/image/source.h"
#include "common/store/blob.h"
#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"

#define COPY_CHUNK     (1 << 20)
#define CACHE_EACH     (256 << 10) /* archive members the first pass keeps in memory... */
#define CACHE_TOTAL    (16 << 20)  /* ...up to this much in all */
#define MEMBERS_MAX    100000
#define LINK_HOPS      8
#define TAGS_LISTED    20
#define LAYOUT_FILE    "oci-layout"
#define INDEX_FILE     "index.json"
#define DOCKER_FILE    "manifest.json"
#define LAYOUT_VERSION "1.0.0"

/* One archive member, as the first pass saw it. */
struct member {
	char *name; /* cleaned: no "./", "//" or ".." */
	char *link; /* a hardlink's or symlink's target as a cleaned archive path ("" when it
	             * points outside the archive); NULL for a regular file */
	int64_t size;
	char *data;             /* the content, when the first pass kept it */
	unsigned char magic[4]; /* its first bytes (gzip, zstd or not) */
	bool dup;               /* another member has the same name: refused when used */
};

struct src {
	const struct ctx *ctx;
	const struct image_ref *ref;
	source_progress_fn progress;
	void *arg;
	int64_t committed;
	/* oci: */
	int dirfd; /* the layout directory */
	int shafd; /* its blobs/sha256 */
	/* archives */
	int fd;
	struct member *m; /* sorted by name after the first pass */
	size_t n;
	size_t cached;
};

/* A blob to stream into the store: a layer. */
struct want {
	const char *member; /* archives: the regular member holding it */
	struct digest d;
	int64_t size;
	const char *media_type; /* docker-archive: what the made manifest says it is */
	char *what;             /* "layer 2 (abc/layer.tar)" */
	bool done;
};

/* Where a copy reads from: a file, the current archive member, or memory. */
struct copy_in {
	int fd;
	struct archive *a;
	const char *mem;
	size_t len, off;
};

static void progress_of(const struct src *s, const struct digest *d, int64_t done, int64_t total)
{
	if (s->progress)
		s->progress(s->arg, d, done, total);
}

/* ---- paths and names ------------------------------------------------------------------- */

/* A name from a document or an archive as a message shows it: control characters as '?', cut
 * at 128 bytes. The caller frees. */
static char *shown(const char *s)
{
	char *out = xstrndup(s ? s : "", 128);

	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return out;
}

/* p as a clean relative archive path, resolved against dir when given ("./a//b/" -> "a/b",
 * "x/../y" -> "y"); NULL when it is absolute, empty, or climbs out with "..". */
static char *path_clean(const char *dir, const char *p)
{
	cleanup_free char *joined = NULL;
	struct buf out = BUF_INIT;
	char *save = NULL, *tok;

	if (!p || p[0] == '/')
		return NULL;
	joined = dir && *dir ? xasprintf("%s/%s", dir, p) : xstrdup(p);
	for (tok = strtok_r(joined, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *slash;

			if (out.len == 0) {
				buf_release(&out);
				return NULL;
			}
			slash = strrchr(out.data, '/');
			out.len = slash ? (size_t)(slash - out.data) : 0;
			out.data[out.len] = '\0';
			continue;
		}
		if (out.len)
			buf_addc(&out, '/');
		buf_adds(&out, tok);
	}
	if (out.len == 0) {
		buf_release(&out);
		return NULL;
	}
	return buf_take(&out);
}

/* "localhost/<base>:<tag>" where base is the last component of path without archive
 * extensions, reduced to what a repository name allows; normalised through ref_parse. */
static char *name_default(const char *path, const char *tag, struct err *e)
{
	static const char *const exts[] = {".gz", ".tgz", ".zst", ".xz", ".bz2", ".tar", ".oci"};
	cleanup_free char *copy = xstrdup(path);
	cleanup_free char *raw = NULL;
	struct image_ref r;
	struct buf base = BUF_INIT;
	char *b;
	size_t i, len;
	bool stripped = true;

	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	b = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	while (stripped) {
		stripped = false;
		for (i = 0; i < ARRAY_SIZE(exts); i++) {
			size_t bl = strlen(b), el = strlen(exts[i]);

			if (bl > el && !strcasecmp(b + bl - el, exts[i])) {
				b[bl - el] = '\0';
				stripped = true;
			}
		}
	}
	/* Letters and digits stay (lowercased); a lone '.', '_' or '-' between them stays;
	 * any other run of characters becomes one '-'. */
	for (i = 0; b[i];) {
		size_t run = 0;

		if (isalnum((unsigned char)b[i])) {
			buf_addc(&base, (char)tolower((unsigned char)b[i++]));
			continue;
		}
		while (b[i + run] && !isalnum((unsigned char)b[i + run]))
			run++;
		if (base.len && b[i + run])
			buf_addc(&base, run == 1 && strchr("._-", b[i]) ? b[i] : '-');
		i += run;
	}
	if (base.len == 0)
		buf_adds(&base, "image");
	raw = xasprintf("localhost/%s:%s", buf_str(&base), tag ? tag : REF_DEFAULT_TAG);
	buf_release(&base);
	if (ref_parse(raw, &r, e) < 0) {
		err_wrap(e, "cannot name the image \"%s\"", raw);
		return NULL;
	}
	b = TAKE_PTR(r.name);
	ref_release(&r);
	return b;
}

/* The normalised name of s when it is a full registry reference ("a/b:c", "alpine:3.20"),
 * else NULL: a bare tag such as "latest" is not one. */
static char *name_if_reference(const char *s)
{
	struct err scratch = ERR_INIT;
	struct image_ref r;
	char *name;

	if (!s || !strpbrk(s, "/:@") || ref_parse(s, &r, &scratch) < 0)
		return NULL;
	name = r.kind == REF_REGISTRY ? TAKE_PTR(r.name) : NULL;
	ref_release(&r);
	return name;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Reads fd to its end, at most max bytes (E_INVALID beyond), into a NUL-terminated buffer. */
static int read_fd_bounded(int fd, const char *what, size_t max, char **out, size_t *len,
                           struct err *e)
{
	cleanup_free char *data = xmalloc(max + 1);
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, data + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, "%s", what);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			return err_set(e, E_INVALID, "%s: larger than %zu bytes", what, max);
	}
	data[n] = '\0';
	*out = TAKE_PTR(data);
	*len = n;
	return 0;
}

/* Opens name in dirfd without following a symlink, and only when it is a regular file (a FIFO
 * would block, a device could be anything). */
static int open_regular(int dirfd, const char *name, const char *label, int64_t *size,
                        struct err *e)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;

	if (fd < 0 && errno == ELOOP)
		return err_set(e, E_INVALID, "%s: is a symbolic link: refused", label);
	if (fd < 0)
		return err_sys(e, "%s", label);
	if (fstat(fd, &st) < 0)
		return err_sys(e, "%s", label);
	if (!S_ISREG(st.st_mode))
		return err_set(e, E_INVALID, "%s: not a regular file", label);
	if (fcntl(fd, F_SETFL, 0) < 0)
		return err_sys(e, "%s", label);
	if (size)
		*size = st.st_size;
	return TAKE_FD(fd);
}

static ssize_t copy_read(struct copy_in *in, void *buf, size_t n, struct err *e)
{
	if (in->a) {
		la_ssize_t r = archive_read_data(in->a, buf, n);

		if (r < 0)
			return err_set(e, E_CORRUPT, "%s", archive_error_string(in->a));
		return r;
	}
	if (in->fd >= 0) {
		for (;;) {
			ssize_t r = read(in->fd, buf, n);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return err_sys(e, "read");
			return r;
		}
	}
	if (n > in->len - in->off)
		n = in->len - in->off;
	memcpy(buf, in->mem + in->off, n);
	in->off += n;
	return (ssize_t)n;
}

/* ---- archives ---------------------------------------------------------------------------- */

static struct archive *archive_begin(struct src *s, struct err *e)
{
	struct archive *a;

	if (lseek(s->fd, 0, SEEK_SET) < 0) {
		err_sys(e, "%s", s->ref->path);
		return NULL;
	}
	if (archive_dl_require(e) < 0)
		return NULL;
	a = archive_read_new();
	if (!a) {
		fprintf(stderr, "ctrbox: out of memory reading %s\n", s->ref->path);
		abort();
	}
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_fd(a, s->fd, 64 << 10) != ARCHIVE_OK) {
		err_set(e, E_INVALID, "not a tar archive: %s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Called for each member in order with its cleaned name (NULL when it has none usable);
 * returns 1 to stop the walk, 0 to go on, -1 on an error. */
typedef int (*visit_fn)(struct src *s, struct archive *a, struct archive_entry *ent,
                        const char *name, void *arg, struct err *e);

static int archive_walk(struct src *s, visit_fn visit, void *arg, struct err *e)
{
	struct archive *a = archive_begin(s, e);
	struct archive_entry *ent;
	bool any = false;
	int rc = 0;

	if (!a)
		return -1;
	for (;;) {
		cleanup_free char *name = NULL;
		int r = archive_read_next_header(a, &ent);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			/* Before any member: not a tar at all; after: a damaged or cut one. */
			rc = err_set(e, any ? E_CORRUPT : E_INVALID, "%s%s",
			             any ? "" : "not a tar archive: ", archive_error_string(a));
			break;
		}
		any = true;
		name = path_clean(NULL, archive_entry_pathname(ent));
		rc = visit(s, a, ent, name, arg, e);
		if (rc != 0)
			break;
	}
	archive_read_free(a);
	return rc < 0 ? -1 : 0;
}

/* Reads the current member's size bytes into a new buffer. */
static int member_slurp(struct archive *a, const char *name, int64_t size, char **out,
                        struct err *e)
{
	cleanup_free char *data = xmalloc((size_t)size + 1);
	size_t n = 0;

	while (n < (size_t)size) {
		la_ssize_t r = archive_read_data(a, data + n, (size_t)size - n);

		if (r < 0)
			return err_set(e, E_CORRUPT, "%s: %s", name, archive_error_string(a));
		if (r == 0)
			return err_set(e, E_CORRUPT, "%s: truncated", name);
		n += (size_t)r;
	}
	data[n] = '\0';
	*out = TAKE_PTR(data);
	return 0;
}

static bool is_document(const char *name)
{
	return !strcmp(name, LAYOUT_FILE) || !strcmp(name, INDEX_FILE) ||
	       !strcmp(name, DOCKER_FILE);
}

/* The first pass: every member's name, kind and size; small ones kept. */
static int index_visit(struct src *s, struct archive *a, struct archive_entry *ent,
                       const char *name, void *arg, struct err *e)
{
	struct member mb = {0};
	const char *hard = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);

	if (!name)
		return 0;
	if (s->n == MEMBERS_MAX)
		return err_set(e, E_INVALID, "more than %d members", MEMBERS_MAX);
	if (hard) {
		mb.link = path_clean(NULL, hard);
	} else if (type == AE_IFLNK) {
		cleanup_free char *dir = xstrdup(name);
		char *slash = strrchr(dir, '/');

		if (slash)
			*slash = '\0';
		else
			dir[0] = '\0';
		mb.link = path_clean(dir, archive_entry_symlink(ent));
	} else if (type == AE_IFREG) {
		mb.size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : -1;
		if (mb.size < 0)
			return 0;
		if ((mb.size <= CACHE_EACH && s->cached + (size_t)mb.size <= CACHE_TOTAL) ||
		    (is_document(name) && mb.size <= MANIFEST_MAX)) {
			if (member_slurp(a, name, mb.size, &mb.data, e) < 0 || !mb.data)
				return -1;
			s->cached += (size_t)mb.size;
			memcpy(mb.magic, mb.data,
			       mb.size < (int64_t)sizeof(mb.magic) ? (size_t)mb.size
			                                           : sizeof(mb.magic));
		} else if (archive_read_data(a, mb.magic, sizeof(mb.magic)) < 0) {
			return err_set(e, E_CORRUPT, "%s: %s", name, archive_error_string(a));
		}
	} else {
		return 0;
	}
	if ((hard || type == AE_IFLNK) && !mb.link)
		mb.link = xstrdup("");
	mb.name = xstrdup(name);
	s->m = xreallocarray(s->m, s->n + 1, sizeof(*s->m));
	s->m[s->n++] = mb;
	return 0;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static int archive_index(struct src *s, struct err *e)
{
	struct stat st;
	size_t i;

	s->fd = open(s->ref->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return err_sys(e, "%s", s->ref->path);
	if (fstat(s->fd, &st) < 0)
		return err_sys(e, "%s", s->ref->path);
	/* Several passes read it from the start again. */
	if (!S_ISREG(st.st_mode))
		return err_set(e, E_INVALID, "%s: not a regular file", s->ref->path);
	if (archive_walk(s, index_visit, NULL, e) < 0)
		return -1;
	if (s->n)
		qsort(s->m, s->n, sizeof(*s->m), member_cmp);
	for (i = 1; i < s->n; i++)
		if (!strcmp(s->m[i - 1].name, s->m[i].name))
			s->m[i - 1].dup = s->m[i].dup = true;
	return 0;
}

/* The regular member name stands for, following links within the archive. */
static int member_resolve(const struct src *s, const char *name, const struct member **out,
                          struct err *e)
{
	const char *at = name;
	int hops;

	for (hops = 0; hops <= LINK_HOPS; hops++) {
		struct member key = {.name = (char *)at};
		const struct member *m =
		    s->n ? bsearch(&key, s->m, s->n, sizeof(*s->m), member_cmp) : NULL;

		cleanup_free char *show = shown(at);

		if (!m)
			return err_set(e, E_NOTFOUND, "%s: not in the archive", show);
		if (m->dup)
			return err_set(e, E_INVALID,
			               "%s: the archive has more than one member so named", show);
		if (!m->link) {
			*out = m;
			return 0;
		}
		if (!*m->link)
			return err_set(e, E_INVALID, "%s: a link pointing outside the archive",
			               show);
		at = m->link;
	}
	{
		cleanup_free char *show = shown(name);

		return err_set(e, E_INVALID, "%s: too many levels of links", show);
	}
}

struct fetch {
	const struct member *m;
	char *data;
};

static int fetch_visit(struct src *s, struct archive *a, struct archive_entry *ent,
                       const char *name, void *arg, struct err *e)
{
	struct fetch *f = arg;

	if (!name || strcmp(name, f->m->name) != 0 || archive_entry_filetype(ent) != AE_IFREG ||
	    archive_entry_hardlink(ent))
		return 0;
	if (archive_entry_size(ent) != f->m->size)
		return err_set(e, E_CORRUPT, "%s: changed while being read", name);
	if (member_slurp(a, name, f->m->size, &f->data, e) < 0)
		return -1;
	return 1;
}

/* A member's content, at most max bytes: from memory, or by another pass. */
static int member_read(struct src *s, const char *name, size_t max, char **out, size_t *len,
                       struct err *e)
{
	struct fetch f = {0};

	if (member_resolve(s, name, &f.m, e) < 0 || !f.m)
		return -1;
	if ((uint64_t)f.m->size > max)
		return err_set(e, E_INVALID, "%s: %lld bytes, limit %zu", name,
		               (long long)f.m->size, max);
	if (f.m->data) {
		*out = xmalloc((size_t)f.m->size + 1);
		memcpy(*out, f.m->data, (size_t)f.m->size + 1);
		*len = (size_t)f.m->size;
		return 0;
	}
	if (archive_walk(s, fetch_visit, &f, e) < 0)
		return -1;
	if (!f.data)
		return err_set(e, E_CORRUPT, "%s: changed while being read", name);
	*out = f.data;
	*len = (size_t)f.m->size;
	return 0;
}

/* ---- the store --------------------------------------------------------------------------- */

/* Streams one blob into its ingest; a blob already committed is skipped. */
static int stream_blob(struct src *s, const struct digest *d, int64_t size, struct copy_in *in,
                       struct err *e)
{
	cleanup_free char *buf = NULL;
	struct ingest ing = {.fd = -1, .lock_fd = -1};
	struct err oe = ERR_INIT;

	if (ingest_open(s->ctx, d, size, -1, &ing, &oe) < 0) {
		if (oe.code == E_EXISTS) {
			progress_of(s, d, size, size);
			return 0;
		}
		*e = oe;
		return -1;
	}
	/* A partial from an interrupted import: the source starts at 0 again. */
	if (ing.offset > 0 && ingest_restart(&ing, e) < 0) {
		ingest_abort(&ing);
		return -1;
	}
	progress_of(s, d, 0, size);
	buf = xmalloc(COPY_CHUNK);
	for (;;) {
		ssize_t r = copy_read(in, buf, COPY_CHUNK, e);

		if (r < 0) {
			ingest_abort(&ing);
			return -1;
		}
		if (r == 0)
			break;
		if (ingest_write(&ing, buf, (size_t)r, e) < 0) {
			ingest_abort(&ing);
			return -1;
		}
		progress_of(s, d, ing.offset, size);
	}
	if (ingest_commit(&ing, e) < 0)
		return -1;
	s->committed += size;
	return 0;
}

/* Commits a small blob verified by the caller. */
static int put_small(struct src *s, const struct digest *d, const char *data, size_t len,
                     struct err *e)
{
	struct err se = ERR_INIT;
	int64_t have;

	if (blob_stat(s->ctx, d, &have, &se) < 0) {
		if (blob_put(s->ctx, d, data, len, e) < 0)
			return -1;
		s->committed += (int64_t)len;
	}
	progress_of(s, d, (int64_t)len, (int64_t)len);
	return 0;
}

static int verify(const struct digest *d, int64_t size, const char *data, size_t len, struct err *e)
{
	struct digest got;

	if ((int64_t)len != size)
		return err_set(e, E_CORRUPT,
		               "sha256:%s: size mismatch: got %zu bytes, expected %lld", d->hex,
		               len, (long long)size);
	digest_of(data, len, &got);
	if (!digest_equal(&got, d))
		return err_set(e, E_CORRUPT, "sha256:%s: digest mismatch: got sha256:%s", d->hex,
		               got.hex);
	return 0;
}

/* A blob an OCI document names, read whole (at most max bytes) and verified. */
static int oci_blob_read(struct src *s, const struct descriptor *d, size_t max, char **out,
                         size_t *len, struct err *e)
{
	cleanup_free char *data = NULL;
	size_t n = 0;

	if ((uint64_t)d->size > max)
		return err_set(e, E_INVALID, "sha256:%s: %lld bytes, limit %zu", d->digest.hex,
		               (long long)d->size, max);
	if (s->dirfd >= 0) {
		cleanup_free char *label = xasprintf("blobs/sha256/%s", d->digest.hex);
		cleanup_close int fd = open_regular(s->shafd, d->digest.hex, label, NULL, e);

		if (fd < 0 || read_fd_bounded(fd, label, max, &data, &n, e) < 0)
			return -1;
	} else {
		cleanup_free char *name = xasprintf("blobs/sha256/%s", d->digest.hex);

		if (member_read(s, name, max, &data, &n, e) < 0)
			return -1;
	}
	if (verify(&d->digest, d->size, data, n, e) < 0)
		return -1;
	*out = TAKE_PTR(data);
	*len = n;
	return 0;
}

/* Streams every wanted blob into the store: from the layout, from memory, or in one last pass
 * over the archive for those neither committed already nor kept in memory. */
static int want_find(struct want *w, size_t n, const char *member)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!w[i].done && !strcmp(w[i].member, member))
			return (int)i;
	return -1;
}

struct wants {
	struct want *w;
	size_t n;
};

static int stream_visit(struct src *s, struct archive *a, struct archive_entry *ent,
                        const char *name, void *arg, struct err *e)
{
	struct wants *ws = arg;
	struct want *w = ws->w;
	struct copy_in in = {.fd = -1, .a = a};
	int i;

	if (!name || archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent))
		return 0;
	i = want_find(w, ws->n, name);
	if (i < 0)
		return 0;
	if (stream_blob(s, &w[i].d, w[i].size, &in, e) < 0)
		return err_wrap(e, "%s", w[i].what);
	w[i].done = true;
	return 0;
}

static int stream_all(struct src *s, struct want *w, size_t n, struct err *e)
{
	size_t i, pending = 0;

	for (i = 0; i < n; i++) {
		struct err se = ERR_INIT;
		int64_t have;

		if (w[i].done)
			continue;
		if (blob_stat(s->ctx, &w[i].d, &have, &se) == 0) {
			progress_of(s, &w[i].d, w[i].size, w[i].size);
			w[i].done = true;
			continue;
		}
		if (s->dirfd >= 0) {
			cleanup_free char *label = xasprintf("blobs/sha256/%s", w[i].d.hex);
			cleanup_close int fd = -1;
			struct copy_in in = {.fd = -1};
			int64_t size = -1;

			fd = open_regular(s->shafd, w[i].d.hex, label, &size, e);
			if (fd < 0)
				return err_wrap(e, "%s", w[i].what);
			if (size != w[i].size)
				return err_set(
				    e, E_CORRUPT,
				    "%s: sha256:%s: size mismatch: %lld bytes, expected %lld",
				    w[i].what, w[i].d.hex, (long long)size, (long long)w[i].size);
			in.fd = fd;
			if (stream_blob(s, &w[i].d, w[i].size, &in, e) < 0)
				return err_wrap(e, "%s", w[i].what);
			w[i].done = true;
			continue;
		}
		{
			const struct member *m = NULL;

			/* Resolved when the wants were built; the data may be in memory. */
			if (member_resolve(s, w[i].member, &m, e) < 0)
				return err_wrap(e, "%s", w[i].what);
			if (m->data) {
				struct copy_in in = {
				    .fd = -1, .mem = m->data, .len = (size_t)m->size};

				if (stream_blob(s, &w[i].d, w[i].size, &in, e) < 0)
					return err_wrap(e, "%s", w[i].what);
				w[i].done = true;
				continue;
			}
		}
		pending++;
	}
	if (pending) {
		struct wants ws = {w, n};

		if (archive_walk(s, stream_visit, &ws, e) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (!w[i].done)
				return err_set(e, E_CORRUPT, "%s: %s: changed while being read",
				               w[i].what, w[i].member);
	}
	return 0;
}

/* The archive member for a wanted blob, its regular name after links, and a check that the
 * same member is not wanted under two digests. */
static int want_member(struct src *s, struct want *w, size_t i, const char *name, struct err *e)
{
	const struct member *m;
	size_t j;

	if (member_resolve(s, name, &m, e) < 0)
		return err_wrap(e, "%s", w[i].what);
	w[i].member = m->name;
	if (w[i].size < 0)
		w[i].size = m->size;
	else if (w[i].size != m->size)
		return err_set(e, E_CORRUPT,
		               "%s: sha256:%s: size mismatch: %lld bytes, expected %lld", w[i].what,
		               w[i].d.hex, (long long)m->size, (long long)w[i].size);
	for (j = 0; j < i; j++) {
		if (strcmp(w[j].member, w[i].member) != 0)
			continue;
		if (!digest_equal(&w[j].d, &w[i].d))
			return err_set(e, E_CORRUPT,
			               "%s: the same member as %s, with another digest", w[i].what,
			               w[j].what);
		w[i].done = true; /* the same blob twice: streamed once */
	}
	return 0;
}

static void wants_free(struct want *w, size_t n)
{
	size_t i;

	for (i = 0; w && i < n; i++)
		free(w[i].what);
	free(w);
}

/* ---- OCI layouts ------------------------------------------------------------------------- */

static int layout_open(struct src *s, struct err *e)
{
	s->dirfd = open(s->ref->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return err_sys(e, "%s", s->ref->path);
	return 0;
}

/* blobs/sha256 of the layout, neither of them a symlink. */
static int layout_blobs(struct src *s, struct err *e)
{
	cleanup_close int blobs =
	    openat(s->dirfd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (blobs < 0)
		return err_sys(e, "blobs");
	s->shafd = openat(blobs, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->shafd < 0)
		return err_sys(e, "blobs/sha256");
	return 0;
}

/* A top-level document of the layout or archive: oci-layout, index.json, manifest.json. */
static int doc_read(struct src *s, const char *name, char **out, size_t *len, struct err *e)
{
	if (s->dirfd >= 0) {
		cleanup_close int fd = open_regular(s->dirfd, name, name, NULL, e);

		if (fd < 0)
			return -1;
		return read_fd_bounded(fd, name, MANIFEST_MAX, out, len, e);
	}
	return member_read(s, name, MANIFEST_MAX, out, len, e);
}

static int layout_check(struct src *s, struct err *e)
{
	cleanup_free char *data = NULL;
	cleanup_json struct json_object *doc = NULL;
	const char *version = NULL;
	size_t len = 0;

	if (doc_read(s, LAYOUT_FILE, &data, &len, e) < 0) {
		if (e && e->code == E_NOTFOUND)
			return err_set(e, E_INVALID, "not an OCI image layout: no %s file",
			               LAYOUT_FILE);
		return -1;
	}
	if (jsonio_parse(data, len, &doc, e) < 0 ||
	    jsonio_get_str(doc, "imageLayoutVersion", true, &version, e) < 0)
		return err_wrap(e, "%s", LAYOUT_FILE);
	if (strcmp(version, LAYOUT_VERSION) != 0)
		return err_set(e, E_UNSUPPORTED,
		               "%s: imageLayoutVersion \"%.32s\", expected \"%s\"", LAYOUT_FILE,
		               version, LAYOUT_VERSION);
	return 0;
}

/* "a, b, c": the distinct tags of index.json, in order. */
static void tags_list(const struct manifest *idx, struct buf *b)
{
	size_t i, j, listed = 0;

	for (i = 0; i < idx->n_manifests; i++) {
		const char *t = idx->manifests[i].ref_name;
		bool seen = false;

		if (!t)
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = idx->manifests[j].ref_name && !strcmp(idx->manifests[j].ref_name, t);
		cleanup_free char *show = NULL;

		if (seen)
			continue;
		if (listed++ == TAGS_LISTED) {
			buf_adds(b, ", ...");
			break;
		}
		show = shown(t);
		buf_printf(b, "%s%s", b->len ? ", " : "", show);
	}
	if (!b->len)
		buf_adds(b, "no tags");
}

/* The entry of index.json for tag (NULL: the only image): among several entries with the same
 * tag (or none), the one for the platform. *out points into idx. */
static int oci_choose(const struct manifest *idx, const char *tag, const struct platform *want,
                      const struct descriptor **out, struct err *e)
{
	cleanup_free struct descriptor *cand = NULL; /* shallow copies: idx keeps ownership */
	cleanup_free size_t *at = NULL;              /* cand[k] is idx->manifests[at[k]] */
	cleanup_buf struct buf tags = BUF_INIT;
	struct manifest sub = {.kind = MANIFEST_INDEX, .media_type = MT_OCI_INDEX};
	const struct descriptor *pick;
	const char *first_tag = NULL;
	size_t i, n = 0;
	bool platforms = true;

	cand = xcalloc(idx->n_manifests ? idx->n_manifests : 1, sizeof(*cand));
	at = xcalloc(idx->n_manifests ? idx->n_manifests : 1, sizeof(*at));
	for (i = 0; i < idx->n_manifests; i++) {
		const struct descriptor *d = &idx->manifests[i];

		if (tag && (!d->ref_name || strcmp(d->ref_name, tag) != 0))
			continue;
		if (!tag && d->ref_name) {
			if (first_tag && strcmp(first_tag, d->ref_name) != 0) {
				tags_list(idx, &tags);
				return err_set(e, E_INVALID,
				               "%s: several tags, name one (it has %s)", INDEX_FILE,
				               buf_str(&tags));
			}
			first_tag = d->ref_name;
		}
		at[n] = i;
		cand[n++] = *d;
		platforms = platforms && d->platform.os;
	}
	if (n == 0 && tag) {
		tags_list(idx, &tags);
		return err_set(e, E_NOTFOUND, "%s: no tag \"%.128s\" (it has %s)", INDEX_FILE, tag,
		               buf_str(&tags));
	}
	if (n == 0)
		return err_set(e, E_INVALID, "%s: no manifests", INDEX_FILE);
	if (n == 1) {
		*out = &idx->manifests[at[0]];
		return 0;
	}
	if (!platforms)
		return err_set(
		    e, E_INVALID, "%s: %zu manifests%s%.128s%s and no platforms to choose by",
		    INDEX_FILE, n, tag ? " tagged \"" : "", tag ? tag : "", tag ? "\"" : "");
	sub.manifests = cand;
	sub.n_manifests = n;
	if (index_select(&sub, want, &pick, e) < 0)
		return err_wrap(e, "%s", INDEX_FILE);
	*out = &idx->manifests[at[pick - cand]];
	return 0;
}

static int oci_import(struct src *s, const struct platform *want, struct source_result *out,
                      struct err *e)
{
	cleanup_free char *idata = NULL, *mdata = NULL, *cdata = NULL;
	struct manifest idx = {0}, m = {0}, nested[INDEX_DEPTH_MAX];
	struct image_config cfg = {0};
	const struct descriptor *top = NULL, *d;
	struct want *w = NULL;
	size_t ilen = 0, mlen = 0, clen = 0, depth = 0, i;
	char *name = NULL;
	int rc = -1;

	memset(nested, 0, sizeof(nested));
	if (layout_check(s, e) < 0 || (s->dirfd >= 0 && layout_blobs(s, e) < 0))
		return -1;
	if (doc_read(s, INDEX_FILE, &idata, &ilen, e) < 0)
		return -1;
	if (manifest_parse(idata, ilen, MT_OCI_INDEX, &idx, e) < 0)
		return err_wrap(e, "%s", INDEX_FILE);
	if (idx.kind != MANIFEST_INDEX) {
		err_set(e, E_INVALID, "%s: not an image index", INDEX_FILE);
		goto out;
	}
	if (oci_choose(&idx, s->ref->path_ref, want, &top, e) < 0 || !top)
		goto out;

	/* Through nested indexes to the image manifest for the platform. */
	for (d = top;;) {
		struct manifest *cur = depth < INDEX_DEPTH_MAX ? &nested[depth] : NULL;
		const struct descriptor *next;

		free(mdata);
		mdata = NULL;
		if (!cur) {
			err_set(e, E_INVALID, "indexes nested more than %d deep", INDEX_DEPTH_MAX);
			goto out;
		}
		if (oci_blob_read(s, d, MANIFEST_MAX, &mdata, &mlen, e) < 0 ||
		    manifest_parse(mdata, mlen, d->media_type, cur, e) < 0) {
			err_wrap(e, "manifest sha256:%s", d->digest.hex);
			goto out;
		}
		depth++;
		if (cur->kind == MANIFEST_IMAGE)
			break;
		if (index_select(cur, want, &next, e) < 0) {
			err_wrap(e, "index sha256:%s", d->digest.hex);
			goto out;
		}
		d = next;
	}
	m = nested[depth - 1];
	memset(&nested[depth - 1], 0, sizeof(m));

	if (oci_blob_read(s, &m.config, CONFIG_MAX, &cdata, &clen, e) < 0 ||
	    image_config_parse(cdata, clen, &cfg, e) < 0) {
		err_wrap(e, "config sha256:%s", m.config.digest.hex);
		goto out;
	}
	if (cfg.n_diff_ids != m.n_layers) {
		err_set(e, E_INVALID, "config sha256:%s: %zu diff_ids for %zu layers",
		        m.config.digest.hex, cfg.n_diff_ids, m.n_layers);
		goto out;
	}
	w = xcalloc(m.n_layers ? m.n_layers : 1, sizeof(*w));
	for (i = 0; i < m.n_layers; i++) {
		const struct descriptor *l = &m.layers[i];

		w[i].d = l->digest;
		w[i].size = l->size;
		w[i].what = xasprintf("layer %zu", i);
		/* An uncompressed layer is its own diff: check it now rather than at unpack. */
		if (l->media_type && !strcmp(l->media_type, MT_OCI_LAYER) &&
		    !digest_equal(&l->digest, &cfg.diff_ids[i])) {
			err_set(e, E_CORRUPT,
			        "layer %zu: sha256:%s is not the config's diff_id sha256:%s", i,
			        l->digest.hex, cfg.diff_ids[i].hex);
			goto out_w;
		}
		if (s->dirfd < 0) {
			cleanup_free char *member = xasprintf("blobs/sha256/%s", l->digest.hex);

			if (want_member(s, w, i, member, e) < 0)
				goto out_w;
		}
	}
	/* Layers, then config, then the manifest: a committed manifest has all it names. */
	if (stream_all(s, w, m.n_layers, e) < 0 ||
	    put_small(s, &m.config.digest, cdata, clen, e) < 0 ||
	    put_small(s, &d->digest, mdata, mlen, e) < 0)
		goto out_w;

	name = name_if_reference(top->ref_name);
	if (!name) {
		const char *tag = top->ref_name ? top->ref_name : s->ref->path_ref;

		name = name_default(s->ref->path, tag, e);
		if (!name)
			goto out_w;
	}
	out->name = name;
	out->manifest = d->digest;
	out->media_type = xstrdup(d->media_type ? d->media_type : m.media_type);
	rc = 0;
out_w:
	wants_free(w, m.n_layers);
out:
	image_config_release(&cfg);
	manifest_release(&m);
	for (i = 0; i < INDEX_DEPTH_MAX; i++)
		manifest_release(&nested[i]);
	manifest_release(&idx);
	return rc;
}

/* ---- docker-archive ---------------------------------------------------------------------- */

/* The digest a docker-archive member name carries: "<hex>.json" or "blobs/sha256/<hex>". */
static bool name_digest(const char *name, struct digest *out)
{
	const char *b = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	size_t n = strlen(b);
	char hex[DIGEST_HEX_LEN + 1];

	bool json = n == DIGEST_HEX_LEN + 5 && !strcmp(b + DIGEST_HEX_LEN, ".json");

	if (!json && (n != DIGEST_HEX_LEN || strncmp(name, "blobs/sha256/", 13) != 0))
		return false;
	memcpy(hex, b, DIGEST_HEX_LEN);
	hex[DIGEST_HEX_LEN] = '\0';
	if (!str_is_hex(hex))
		return false;
	memcpy(out->hex, hex, sizeof(hex));
	return true;
}

/* "a, b": the tags of every image in manifest.json. */
static void docker_tags(struct json_object *arr, struct buf *b)
{
	size_t i, j, listed = 0;

	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *tags = NULL;

		if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "RepoTags",
		                               &tags) ||
		    !json_object_is_type(tags, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(tags); j++) {
			cleanup_free char *show =
			    shown(json_object_get_string(json_object_array_get_idx(tags, j)));

			if (listed++ == TAGS_LISTED) {
				buf_adds(b, ", ...");
				return;
			}
			buf_printf(b, "%s%s", b->len ? ", " : "", show);
		}
	}
	if (!b->len)
		buf_adds(b, "no tags");
}

/* The image of manifest.json named by ref (NULL: the only one), and the name to record. */
static int docker_choose(struct json_object *arr, const char *ref, struct json_object **entry,
                         char **name, struct err *e)
{
	cleanup_buf struct buf tags = BUF_INIT;
	struct image_ref want = {0};
	size_t i, j, n = json_object_array_length(arr);

	if (n == 0)
		return err_set(e, E_INVALID, "%s: no images", DOCKER_FILE);
	if (!ref) {
		if (n > 1) {
			docker_tags(arr, &tags);
			return err_set(e, E_INVALID, "%s: %zu images, name one (it has %s)",
			               DOCKER_FILE, n, buf_str(&tags));
		}
		*entry = json_object_array_get_idx(arr, 0);
		*name = NULL;
		return 0;
	}
	if (ref_parse(ref, &want, e) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct json_object *tl = NULL;

		if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "RepoTags",
		                               &tl) ||
		    !json_object_is_type(tl, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(tl); j++) {
			cleanup_free char *have = name_if_reference(
			    json_object_get_string(json_object_array_get_idx(tl, j)));
			struct err se = ERR_INIT;
			struct image_ref r;

			if (!have) {
				/* "busybox" has no '/' or ':' yet is a reference too. */
				if (ref_parse(
				        json_object_get_string(json_object_array_get_idx(tl, j)),
				        &r, &se) < 0)
					continue;
				have = TAKE_PTR(r.name);
				ref_release(&r);
			}
			if (!strcmp(have, want.name)) {
				*entry = json_object_array_get_idx(arr, i);
				*name = TAKE_PTR(want.name);
				ref_release(&want);
				return 0;
			}
		}
	}
	docker_tags(arr, &tags);
	err_set(e, E_NOTFOUND, "%s: no image tagged \"%.128s\" (it has %s)", DOCKER_FILE, ref,
	        buf_str(&tags));
	ref_release(&want);
	return -1;
}

/* Layer i of a docker-archive, named lname. docker save writes uncompressed tars, each its own
 * diff, so the config's diff_id is the digest to verify. Docker with the containerd image store
 * writes the layers as pulled, compressed, as blobs/sha256/<hex>: then the name's digest is
 * verified, and the diff_id is left to unpack. */
static int docker_layer(struct src *s, struct want *w, size_t i, const char *lname,
                        const struct digest *diff_id, struct err *e)
{
	static const unsigned char gzip[] = {0x1f, 0x8b}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
	cleanup_free char *show = shown(lname);
	const struct member *m;
	struct digest named;
	bool compressed;

	w[i].d = *diff_id;
	w[i].size = -1;
	w[i].media_type = MT_OCI_LAYER;
	w[i].what = xasprintf("layer %zu (%s; diff_id sha256:%s)", i, show, diff_id->hex);
	if (member_resolve(s, lname, &m, e) < 0)
		return err_wrap(e, "%s", w[i].what);
	if (m->size >= (int64_t)sizeof(gzip) && !memcmp(m->magic, gzip, sizeof(gzip)))
		w[i].media_type = MT_OCI_LAYER_GZIP;
	else if (m->size >= (int64_t)sizeof(zstd) && !memcmp(m->magic, zstd, sizeof(zstd)))
		w[i].media_type = MT_OCI_LAYER_ZSTD;
	compressed = strcmp(w[i].media_type, MT_OCI_LAYER) != 0;
	if (compressed) {
		if (!name_digest(lname, &named) && !name_digest(m->name, &named))
			return err_set(e, E_UNSUPPORTED,
			               "%s: compressed, and its name does not give its digest",
			               w[i].what);
		free(w[i].what);
		w[i].what = xasprintf("layer %zu (%s)", i, show);
		w[i].d = named;
	}
	return want_member(s, w, i, lname, e);
}

/* The OCI image manifest for the archive's image: its config and its layers. */
static char *docker_manifest(const struct digest *cfg, size_t cfg_len, const struct want *w,
                             size_t n)
{
	cleanup_json struct json_object *doc = json_object_new_object();
	struct json_object *c = json_object_new_object(), *layers = json_object_new_array();
	char ds[DIGEST_STR_LEN];
	size_t i;

	json_object_object_add(doc, "schemaVersion", json_object_new_int(2));
	jsonio_set_str(doc, "mediaType", MT_OCI_MANIFEST);
	digest_format(cfg, ds);
	jsonio_set_str(c, "mediaType", MT_OCI_CONFIG);
	jsonio_set_str(c, "digest", ds);
	jsonio_set_int(c, "size", (int64_t)cfg_len);
	json_object_object_add(doc, "config", c);
	for (i = 0; i < n; i++) {
		struct json_object *l = json_object_new_object();

		digest_format(&w[i].d, ds);
		jsonio_set_str(l, "mediaType", w[i].media_type);
		jsonio_set_str(l, "digest", ds);
		jsonio_set_int(l, "size", w[i].size);
		json_object_array_add(layers, l);
	}
	json_object_object_add(doc, "layers", layers);
	return jsonio_to_string(doc, false);
}

static int docker_import(struct src *s, struct source_result *out, struct err *e)
{
	cleanup_free char *jdata = NULL, *cdata = NULL, *mdata = NULL, *name = NULL;
	cleanup_free char *cshown = NULL;
	cleanup_json struct json_object *doc = NULL;
	struct json_object *entry = NULL, *layers = NULL, *tags = NULL;
	struct image_config cfg = {0};
	struct manifest check = {0};
	struct digest cd, named, md;
	const char *config = NULL;
	struct want *w = NULL;
	size_t jlen = 0, clen = 0, i, n = 0;
	int rc = -1;

	if (doc_read(s, DOCKER_FILE, &jdata, &jlen, e) < 0)
		return -1;
	if (jsonio_parse(jdata, jlen, &doc, e) < 0)
		return err_wrap(e, "%s", DOCKER_FILE);
	if (!json_object_is_type(doc, json_type_array))
		return err_set(e, E_INVALID, "%s: expected an array", DOCKER_FILE);
	if (docker_choose(doc, s->ref->path_ref, &entry, &name, e) < 0)
		return -1;
	if (!json_object_is_type(entry, json_type_object))
		return err_set(e, E_INVALID, "%s: expected an object for each image", DOCKER_FILE);
	if (jsonio_get_str(entry, "Config", true, &config, e) < 0 ||
	    jsonio_get_array(entry, "Layers", true, &layers, e) < 0 ||
	    jsonio_get_array(entry, "RepoTags", false, &tags, e) < 0)
		return err_wrap(e, "%s", DOCKER_FILE);

	if (member_read(s, config, CONFIG_MAX, &cdata, &clen, e) < 0)
		return err_wrap(e, "config");
	cshown = shown(config);
	digest_of(cdata, clen, &cd);
	if (name_digest(config, &named) && !digest_equal(&named, &cd))
		return err_set(e, E_CORRUPT, "config %s: digest mismatch: got sha256:%s", cshown,
		               cd.hex);
	if (image_config_parse(cdata, clen, &cfg, e) < 0)
		return err_wrap(e, "config %s", cshown);
	n = json_object_array_length(layers);
	if (n > MANIFEST_LAYERS_MAX) {
		err_set(e, E_INVALID, "%s: %zu layers, limit %d", DOCKER_FILE, n,
		        MANIFEST_LAYERS_MAX);
		goto out;
	}
	if (n != cfg.n_diff_ids) {
		err_set(e, E_INVALID, "config %s: %zu diff_ids for %zu layers", cshown,
		        cfg.n_diff_ids, n);
		goto out;
	}
	w = xcalloc(n ? n : 1, sizeof(*w));
	for (i = 0; i < n; i++) {
		struct json_object *l = json_object_array_get_idx(layers, i);
		const char *lname;

		if (!json_object_is_type(l, json_type_string)) {
			err_set(e, E_INVALID, "%s: Layers[%zu]: expected a string", DOCKER_FILE, i);
			goto out;
		}
		lname = json_object_get_string(l);
		if (docker_layer(s, w, i, lname, &cfg.diff_ids[i], e) < 0)
			goto out;
	}
	if (stream_all(s, w, n, e) < 0 || put_small(s, &cd, cdata, clen, e) < 0)
		goto out;
	mdata = docker_manifest(&cd, clen, w, n);
	if (manifest_parse(mdata, strlen(mdata), MT_OCI_MANIFEST, &check, e) < 0) {
		err_wrap(e, "the manifest made for it");
		goto out;
	}
	digest_of(mdata, strlen(mdata), &md);
	if (put_small(s, &md, mdata, strlen(mdata), e) < 0)
		goto out;

	if (!name && tags && json_object_array_length(tags) > 0) {
		struct json_object *t0 = json_object_array_get_idx(tags, 0);
		struct image_ref r;

		if (!json_object_is_type(t0, json_type_string)) {
			err_set(e, E_INVALID, "%s: RepoTags[0]: expected a string", DOCKER_FILE);
			goto out;
		}
		if (ref_parse(json_object_get_string(t0), &r, e) < 0) {
			err_wrap(e, "%s: RepoTags[0]", DOCKER_FILE);
			goto out;
		}
		if (r.kind == REF_REGISTRY)
			name = TAKE_PTR(r.name);
		ref_release(&r);
		if (!name) {
			err_set(e, E_INVALID, "%s: RepoTags[0]: not a registry reference",
			        DOCKER_FILE);
			goto out;
		}
	}
	if (!name)
		name = name_default(s->ref->path, NULL, e);
	if (!name)
		goto out;
	out->name = TAKE_PTR(name);
	out->manifest = md;
	out->media_type = xstrdup(MT_OCI_MANIFEST);
	rc = 0;
out:
	manifest_release(&check);
	wants_free(w, n);
	image_config_release(&cfg);
	return rc;
}

/* ---- the entry point --------------------------------------------------------------------- */

static void src_release(struct src *s)
{
	size_t i;

	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->shafd >= 0)
		close(s->shafd);
	if (s->fd >= 0)
		close(s->fd);
	for (i = 0; i < s->n; i++) {
		free(s->m[i].name);
		free(s->m[i].link);
		free(s->m[i].data);
	}
	free(s->m);
}

int source_import(const struct ctx *ctx, const struct image_ref *ref, const struct platform *want,
                  source_progress_fn progress, void *arg, struct source_result *out, struct err *e)
{
	struct src s = {.ctx = ctx,
	                .ref = ref,
	                .progress = progress,
	                .arg = arg,
	                .dirfd = -1,
	                .shafd = -1,
	                .fd = -1};
	struct source_result res = {0};
	struct platform host = {0};
	struct err le = ERR_INIT; /* the helpers read the code back: never NULL below */
	int rc;

	if (!ref->path || !*ref->path)
		return err_set(e, E_INVALID, "no path");
	if (!want) {
		platform_host(&host);
		want = &host;
	}
	switch (ref->kind) {
	case REF_OCI_LAYOUT:
		rc = layout_open(&s, &le);
		if (rc == 0)
			rc = oci_import(&s, want, &res, &le);
		break;
	case REF_OCI_ARCHIVE:
		rc = archive_index(&s, &le);
		if (rc == 0)
			rc = oci_import(&s, want, &res, &le);
		break;
	case REF_DOCKER_ARCHIVE:
		rc = archive_index(&s, &le);
		if (rc == 0)
			rc = docker_import(&s, &res, &le);
		break;
	default:
		rc = err_set(&le, E_INVALID, "not an offline source");
		break;
	}
	src_release(&s);
	platform_release(&host);
	if (rc < 0) {
		source_result_release(&res);
		if (e)
			*e = le;
		return -1;
	}
	res.bytes_committed = s.committed;
	*out = res;
	return 0;
}

void source_result_release(struct source_result *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->media_type);
	memset(r, 0, sizeof(*r));
}
