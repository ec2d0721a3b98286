/* common/runtime/lookup.c - a container named on the command line by full ID, name or unique ID
 * prefix (DESIGN.md "run"; docker's order: exact ID, then name, then prefix). Lock-free: reads
 * the container.json files as they are. */
#include <ctype.h>
#include <string.h>

#include "common/runtime/lookup.h"
#include "common/store/container_record.h"
#include "common/store/layout.h"
#include "common/util/mem.h"

#define NAME_MAX_LEN 128

/* The ID of the container named name, or NULL; a container.json that cannot be read is
 * skipped (it has no name anyone could have used). */
static const char *find_name(const struct ctx *ctx, char **ids, const char *name)
{
	for (size_t i = 0; ids[i]; i++) {
		struct container_doc c = {0};
		struct err e = ERR_INIT;
		bool match;

		if (container_doc_load(ctx, ids[i], &c, &e) < 0)
			continue;
		match = c.name && strcmp(c.name, name) == 0;
		container_doc_release(&c);
		if (match)
			return ids[i];
	}
	return NULL;
}

int container_lookup(const struct ctx *ctx, const char *arg, char id[65], struct err *e)
{
	cleanup_strv char **ids = NULL;
	const char *found = NULL;
	size_t n = 0, i, len = strlen(arg), matches = 0;

	if (len == 0)
		return err_set(e, E_INVALID, "empty container name or ID");
	if (container_list_ids(ctx, &ids, &n, e) < 0)
		return err_wrap(e, "%s", arg);
	for (i = 0; i < n && !found; i++)
		if (strcmp(ids[i], arg) == 0)
			found = ids[i];
	if (!found)
		found = find_name(ctx, ids, arg);
	if (!found && len < 64) {
		for (i = 0; i < n; i++) {
			if (strncmp(ids[i], arg, len) == 0) {
				found = ids[i];
				matches++;
			}
		}
		if (matches > 1)
			return err_set(e, E_INVALID, "%s: ambiguous: %zu containers match", arg,
			               matches);
	}
	if (!found)
		return err_set(e, E_NOTFOUND, "%s: no such container", arg);
	memcpy(id, found, 65);
	return 0;
}

int container_name_valid(const char *name, struct err *e)
{
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN || !isalnum((unsigned char)name[0]))
		goto invalid;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			goto invalid;
	return 0;
invalid:
	return err_set(e, E_INVALID,
	               "name \"%s\": must be [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most %d characters",
	               name, NAME_MAX_LEN);
}

int container_name_check(const struct ctx *ctx, const char *name, struct err *e)
{
	cleanup_strv char **ids = NULL;
	const char *owner;
	size_t n = 0;

	if (container_name_valid(name, e) < 0)
		return -1;
	if (container_list_ids(ctx, &ids, &n, e) < 0)
		return err_wrap(e, "name %s", name);
	owner = find_name(ctx, ids, name);
	if (owner)
		return err_set(e, E_EXISTS, "name %s: already in use by container %.12s", name,
		               owner);
	return 0;
}
