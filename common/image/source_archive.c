/* common/image/source_archive.c - how offline image sources are read (DESIGN.md "pull": offline
 * sources; "Nothing outside ROOT ... is ever written, whatever the input"): bounded reads of a
 * layout's files, opened with openat and O_NOFOLLOW, and the passes over an archive with
 * libarchive. An archive is never extracted: a first pass indexes its members and keeps the
 * small ones in memory, a member needed later is read by another pass. Member names are only
 * ever compared with names, never used as paths. Internal to the offline sources: the formats
 * are in source.c, the copy into the store in source_store.c, the shared declarations in
 * source_int.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/image/archive_dl.h"
#include "common/image/source.h"
#include "common/image/source_int.h"
#include "common/util/buf.h"
#include "common/util/mem.h"

#define CACHE_EACH  (256 << 10) /* archive members the first pass keeps in memory... */
#define CACHE_TOTAL (16 << 20)  /* ...up to this much in all */
#define MEMBERS_MAX 100000
#define LINK_HOPS   8

/* ---- paths and names ------------------------------------------------------------------- */

/* A name from a document or an archive as a message shows it: control characters as '?', cut
 * at 128 bytes. The caller frees. */
char *source_shown(const char *s)
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

/* ---- reading ----------------------------------------------------------------------------- */

/* Reads fd to its end, at most max bytes (E_INVALID beyond), into a NUL-terminated buffer. */
int source_read_fd_bounded(int fd, const char *what, size_t max, char **out, size_t *len,
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
int source_open_regular(int dirfd, const char *name, const char *label, int64_t *size,
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

int source_archive_walk(struct src *s, visit_fn visit, void *arg, struct err *e)
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

int source_archive_index(struct src *s, struct err *e)
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
	if (source_archive_walk(s, index_visit, NULL, e) < 0)
		return -1;
	if (s->n)
		qsort(s->m, s->n, sizeof(*s->m), member_cmp);
	for (i = 1; i < s->n; i++)
		if (!strcmp(s->m[i - 1].name, s->m[i].name))
			s->m[i - 1].dup = s->m[i].dup = true;
	return 0;
}

/* The regular member name stands for, following links within the archive. */
int source_member_resolve(const struct src *s, const char *name, const struct member **out,
                          struct err *e)
{
	const char *at = name;
	int hops;

	for (hops = 0; hops <= LINK_HOPS; hops++) {
		struct member key = {.name = (char *)at};
		const struct member *m =
		    s->n ? bsearch(&key, s->m, s->n, sizeof(*s->m), member_cmp) : NULL;

		cleanup_free char *show = source_shown(at);

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
		cleanup_free char *show = source_shown(name);

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
int source_member_read(struct src *s, const char *name, size_t max, char **out, size_t *len,
                       struct err *e)
{
	struct fetch f = {0};

	if (source_member_resolve(s, name, &f.m, e) < 0 || !f.m)
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
	if (source_archive_walk(s, fetch_visit, &f, e) < 0)
		return -1;
	if (!f.data)
		return err_set(e, E_CORRUPT, "%s: changed while being read", name);
	*out = f.data;
	*len = (size_t)f.m->size;
	return 0;
}
