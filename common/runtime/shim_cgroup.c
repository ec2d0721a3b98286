/* common/runtime/shim_cgroup.c - the device rules and the early cgroup
 * (common/runtime/shim_cgroup.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/runtime/shim_cgroup.h"
#include "common/util/mem.h"

#define RULE_MAX 64

static const char *const std_devices[] = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
                                          "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"};

/* The rules for sp in the devices cgroup's words, in order; what rules[] points at lives in
 * r->text or std_devices. */
struct device_rules {
	size_t n;
	char *text;
	const char **rules;
	bool *allow;
};

static void rules_release(struct device_rules *r)
{
	free(r->text);
	free(r->rules);
	free(r->allow);
	*r = (struct device_rules){0};
}

static void rules_for(const struct spec *sp, struct device_rules *r)
{
	size_t max = sp->n_devices + ARRAY_SIZE(std_devices);

	r->n = 0;
	r->text = xcalloc(max, RULE_MAX);
	r->rules = xcalloc(max, sizeof(*r->rules));
	r->allow = xcalloc(max, sizeof(*r->allow));
	for (size_t i = 0; i < sp->n_devices; i++) {
		const struct spec_device *d = &sp->devices[i];
		char *rule = r->text + RULE_MAX * r->n, maj[24] = "*", min[24] = "*";
		if (d->major >= 0)
			snprintf(maj, sizeof(maj), "%lld", (long long)d->major);
		if (d->minor >= 0)
			snprintf(min, sizeof(min), "%lld", (long long)d->minor);
		if (d->type == 'a')
			snprintf(rule, RULE_MAX, "a");
		else
			snprintf(rule, RULE_MAX, "%c %s:%s %s", d->type, maj, min, d->access);
		r->rules[r->n] = rule;
		r->allow[r->n++] = d->allow;
	}
	/* As runc does, the nodes every container's /dev holds stay usable whatever a bundle's
	 * rules say (umoci's deny everything); a rule allowed after the last deny is not
	 * written twice. */
	for (size_t i = 0; i < ARRAY_SIZE(std_devices); i++) {
		bool allowed = false;
		for (size_t j = r->n; j-- > 0 && r->allow[j];)
			if (strcmp(r->rules[j], std_devices[i]) == 0) {
				allowed = true;
				break;
			}
		if (!allowed) {
			r->rules[r->n] = std_devices[i];
			r->allow[r->n++] = true;
		}
	}
}

static bool rules_equal(const struct device_rules *a, const struct device_rules *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->allow[i] != b->allow[i] || strcmp(a->rules[i], b->rules[i]) != 0)
			return false;
	return true;
}

int shim_write_device_rules(const struct cgroup *cg, const struct spec *sp, bool made_default,
                            struct err *e)
{
	struct device_rules want = {0}, made = {0};
	struct spec def = {0};
	bool same = false;
	int rc;

	if (cg->mode == CGROUP_V2 || sp->n_devices == 0)
		return 0;
	rules_for(sp, &want);
	if (made_default) {
		spec_devices_default(&def, false);
		rules_for(&def, &made);
		same = rules_equal(&want, &made);
		rules_release(&made);
		spec_release(&def);
	}
	rc = same ? 0 : cgroup_device_rules(cg, want.allow, want.rules, want.n, e);
	rules_release(&want);
	return rc;
}

int shim_prepare_cgroup(const struct ctx *ctx, const char *id, struct cgroup *out,
                        struct err *e)
{
	struct cgroup_limits none = {0};
	struct spec def = {0};
	enum cgroup_mode mode;
	int rc;

	if (cgroup_detect(ctx, &mode, e) < 0)
		return -1;
	cgroup_paths(ctx, mode, id, out);
	spec_devices_default(&def, false);
	rc = cgroup_create(out, &none, e) < 0 ? -1 : shim_write_device_rules(out, &def, false, e);
	spec_release(&def);
	if (rc < 0)
		shim_unprepare_cgroup(out);
	return rc;
}

void shim_unprepare_cgroup(struct cgroup *cg)
{
	struct err ignored = ERR_INIT;

	(void)cgroup_remove(cg, &ignored);
	cgroup_release(cg);
}
