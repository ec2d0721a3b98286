/* common/runtime/spec_int.h - internal to the spec module (spec.c builds a struct spec, spec_json.c
 * reads and writes it as config.json, spec_devices.c holds the default device rules); no other
 * file includes it. The helpers its files use
 * to fill a struct spec, and the constants they share. */
#ifndef CTRBOX_RUNTIME_SPEC_INT_H
#define CTRBOX_RUNTIME_SPEC_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/runtime/spec.h"
#include "common/util/mem.h"

#define CPU_PERIOD 100000

/* The capabilities spec_json.c names, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40): --privileged
 * and --cap-add ALL set them all. */
#define SPEC_N_CAPS 41
#define CAP_ALL     ((1ULL << SPEC_N_CAPS) - 1)

static inline char **strv_dup(const char *const *v)
{
	char **out = NULL;

	for (; v && *v; v++)
		strv_push(&out, *v);
	return out;
}

static inline void mount_add(struct spec *s, const char *dest, const char *type, const char *source,
                             const char *const *options)
{
	struct spec_mount *m;

	s->mounts = xreallocarray(s->mounts, s->n_mounts + 1, sizeof(*s->mounts));
	m = &s->mounts[s->n_mounts++];
	m->dest = xstrdup(dest);
	m->type = xstrdup(type);
	m->source = xstrdup(source);
	m->options = strv_dup(options);
}

static inline void device_add(struct spec *s, bool allow, char type, int64_t major, int64_t minor,
                              const char *access)
{
	struct spec_device *d;

	s->devices = xreallocarray(s->devices, s->n_devices + 1, sizeof(*s->devices));
	d = &s->devices[s->n_devices++];
	*d = (struct spec_device){.allow = allow, .type = type, .major = major, .minor = minor};
	snprintf(d->access, sizeof(d->access), "%s", access);
}

#endif
