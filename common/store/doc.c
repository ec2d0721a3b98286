/* common/store/doc.c - atomic JSON documents, written whole and read without locks (DESIGN.md
 * "The metadata layer on disk": "Every document is JSON written atomically") */
#include <string.h>

#include "common/store/doc.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

int doc_write(const char *path, struct json_object *obj, enum doc_flags flags, struct err *e)
{
	cleanup_free char *s = jsonio_to_string(obj, false);
	cleanup_free char *line = xasprintf("%s\n", s);

	return fs_write_atomic(path, line, strlen(line), 0600, (flags & DOC_DURABLE) ? FS_FSYNC : 0,
	                       e);
}

/* Parses the text of the document named name into one JSON object. */
static int doc_parse(const char *name, const char *text, size_t len, struct json_object **out,
                     struct err *e)
{
	cleanup_json struct json_object *obj = NULL;

	if (jsonio_parse(text, len, &obj, e) < 0) {
		e->code = E_CORRUPT;
		return err_wrap(e, "%s", name);
	}
	if (!json_object_is_type(obj, json_type_object))
		return err_set(e, E_CORRUPT, "%s: not a json object", name);
	*out = TAKE_PTR(obj);
	return 0;
}

int doc_read(const char *path, struct json_object **out, struct err *e)
{
	cleanup_free char *buf = NULL;
	size_t len;

	if (fs_read_file(path, DOC_MAX_BYTES, &buf, &len, e) < 0) {
		if (e->code == E_INVALID)
			e->code = E_CORRUPT; /* too large to be one of ours */
		return -1;
	}
	return doc_parse(path, buf, len, out, e);
}

int doc_read_at(int dirfd, const char *rel, struct buf *b, struct json_object **out, struct err *e)
{
	if (fs_read_small_at(dirfd, rel, DOC_MAX_BYTES, b, e) < 0) {
		if (e->code == E_INVALID)
			e->code = E_CORRUPT; /* too large, a directory or a link: not one of ours */
		return -1;
	}
	return doc_parse(rel, b->data, b->len, out, e);
}
