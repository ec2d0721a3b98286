/* common/util/config.c - the config file's schema (ctrbox(1) "CONFIGURATION"): the table of keys
 * for each mapping level with their types and bounds, the checks that span keys, the built-in
 * defaults, and the registry lookup. config_yaml.c reads the YAML into these tables. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <regex.h>

#include "common/util/config.h"
#include "common/util/config_int.h"
#include "common/util/mem.h"
#include "common/util/units.h"

#define AT(f) offsetof(struct config, f)
#define KEY(n, t, f, ...)                                                                          \
	{                                                                                          \
		.name = (n), .type = (t), .at = AT(f), __VA_ARGS__                                 \
	}
#define MAP(n, m)                                                                                  \
	{                                                                                          \
		.name = (n), .type = CT_MAP, .map = (m)                                            \
	}
#define RAT(f) offsetof(struct config_registry, f)
#define RKEY(n, t, f, ...)                                                                         \
	{                                                                                          \
		.name = (n), .type = (t), .at = RAT(f), __VA_ARGS__                                \
	}

static int events_check(const struct config_parse *p, const struct config_map *m, const char *name,
                        void *base, const struct config_seen *seen, struct err *e);
static int registry_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e);
static void registry_defaults(void *elem);
static bool host_ok(const char *v);
static bool reason_ok(const char *v);
static int diagnose_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e);
static int rule_check(const struct config_parse *p, const struct config_map *m, const char *name,
                      void *base, const struct config_seen *seen, struct err *e);

static const struct config_key host_keys[] = {
    KEY("proc", CT_PATH, host.proc),
    KEY("sys", CT_PATH, host.sys),
    KEY("dev", CT_PATH, host.dev),
    KEY("cgroup", CT_PATH, host.cgroup),
    KEY("etc", CT_PATH, host.etc),
    {0},
};
static const struct config_map host_map = {host_keys, NULL, NULL};

static const struct config_key events_keys[] = {
    KEY("rotate_size", CT_SIZE, events.rotate_bytes, .min = 4096, .min_text = "at least 4KiB"),
    KEY("max_size", CT_SIZE, events.max_bytes), /* >= rotate_size: events_check() */
    KEY("max_age", CT_DURATION, events.max_age_ns, .min = 1, .min_text = "more than 0"),
    {0},
};
static const struct config_map events_map = {events_keys, NULL, events_check};

static const struct config_key container_log_keys[] = {
    KEY("max_size", CT_SIZE, container_log.max_bytes, .min = CONFIG_CONTAINER_LOG_SIZE_MIN,
        .min_text = "at least 4KiB"),
    KEY("max_files", CT_UINT, container_log.max_files, .min = 1,
        .max = CONFIG_CONTAINER_LOG_FILES_MAX),
    {0},
};
static const struct config_map container_log_map = {container_log_keys, NULL, NULL};

static const struct config_key pull_keys[] = {
    KEY("max_concurrent_downloads", CT_UINT, pull.max_concurrent_downloads, .min = 1, .max = 64),
    KEY("max_concurrent_pulls", CT_UINT, pull.max_concurrent_pulls, .min = 1, .max = 64),
    KEY("unpack", CT_BOOL, pull.unpack),
    KEY("retries", CT_UINT, pull.retries, .min = 0, .max = 20),
    KEY("connect_timeout", CT_DURATION, pull.connect_timeout_ns, .min = 1,
        .min_text = "more than 0"),
    KEY("low_speed_time", CT_DURATION, pull.low_speed_time_ns), /* 0: never abort */
    {0},
};
static const struct config_map pull_map = {pull_keys, NULL, NULL};

static const struct config_key registry_keys[] = {
    RKEY("mirrors", CT_STRLIST, mirrors, .accept = host_ok, .what = "a registry host[:port]"),
    RKEY("plain_http", CT_BOOL, plain_http),
    RKEY("tls_verify", CT_BOOL, tls_verify),
    RKEY("ca_file", CT_PATH, ca_file),
    RKEY("cert_file", CT_PATH, cert_file), /* with key_file: registry_check() */
    RKEY("key_file", CT_PATH, key_file),
    {0},
};
static const struct config_map registry_map = {registry_keys, registry_defaults, registry_check};

static const char *const volatile_words[] = {
    [VOLATILE_AUTO] = "auto", [VOLATILE_ON] = "true", [VOLATILE_OFF] = "false", NULL};

static const struct config_key snapshots_keys[] = {
    KEY("volatile", CT_ENUM, snapshot_volatile, .words = volatile_words),
    {0},
};
static const struct config_map snapshots_map = {snapshots_keys, NULL, NULL};

#define DAT(f) offsetof(struct config_diag_rule, f)
static const char *const severity_words[] = {[SEVERITY_WARN] = "warn", [SEVERITY_FAIL] = "fail",
                                             NULL};
static const struct config_key rule_keys[] = {
    {.name = "pattern", .type = CT_STRING, .at = DAT(pattern)}, /* required: rule_check() */
    {.name = "reason", .type = CT_STRING, .at = DAT(reason), .accept = reason_ok,
     .what = "a CamelCase reason like NetdevTimeout"},
    {.name = "severity", .type = CT_ENUM, .at = DAT(severity), .words = severity_words},
    {0},
};
static const struct config_map rule_map = {rule_keys, NULL, rule_check};

#define PCT(n, f) KEY(n, CT_UINT, f, .min = 0, .max = 100)
static const struct config_key diagnose_keys[] = {
    PCT("pressure_some_warn", diagnose.pressure_some_warn),
    PCT("pressure_some_fail", diagnose.pressure_some_fail),
    PCT("pressure_full_warn", diagnose.pressure_full_warn),
    PCT("pressure_full_fail", diagnose.pressure_full_fail),
    KEY("dirty_warn", CT_SIZE, diagnose.dirty_warn_bytes),
    KEY("dirty_fail", CT_SIZE, diagnose.dirty_fail_bytes),
    KEY("dstate_warn", CT_DURATION, diagnose.dstate_warn_ns),
    KEY("dstate_fail", CT_DURATION, diagnose.dstate_fail_ns),
    KEY("fsync_warn", CT_DURATION, diagnose.fsync_warn_ns),
    KEY("fsync_fail", CT_DURATION, diagnose.fsync_fail_ns),
    PCT("root_available_min", diagnose.root_available_min),
    PCT("state_available_min", diagnose.state_available_min),
    PCT("inodes_free_min", diagnose.inodes_free_min),
    PCT("limits_warn", diagnose.limits_warn),
    PCT("limits_fail", diagnose.limits_fail),
    KEY("clock_max_error_warn", CT_DURATION, diagnose.clock_max_error_warn_ns),
    KEY("clock_max_error_fail", CT_DURATION, diagnose.clock_max_error_fail_ns),
    KEY("relist_slow", CT_DURATION, diagnose.relist_slow_ns),
    KEY("relist_stall", CT_DURATION, diagnose.relist_stall_ns),
    KEY("rules", CT_SEQMAP, diagnose.rules, .map = &rule_map, .count_at = AT(diagnose.n_rules),
        .elem_size = sizeof(struct config_diag_rule)),
    {0},
};
static const struct config_map diagnose_map = {diagnose_keys, NULL, diagnose_check};

static const struct config_key top_keys[] = {
    KEY("root", CT_PATH, root),
    KEY("state", CT_PATH, state),
    KEY("log_level", CT_LOGLEVEL, log_level, .set_at = AT(log_level_set)),
    MAP("host", &host_map),
    MAP("events", &events_map),
    MAP("container_log", &container_log_map),
    MAP("pull", &pull_map),
    KEY("registries", CT_NAMEDMAP, registries, .map = &registry_map, .accept = host_ok,
        .what = "a registry host[:port]", .count_at = AT(n_registries),
        .elem_size = sizeof(struct config_registry), .name_at = RAT(host)),
    MAP("snapshots", &snapshots_map),
    MAP("diagnose", &diagnose_map),
    {0},
};
const struct config_map config_top_map = {top_keys, NULL, NULL};

#define EVENTS_ROTATE_DEFAULT (8LL << 20)
#define EVENTS_MAX_DEFAULT    (64LL << 20)
#define EVENTS_AGE_DEFAULT    (7LL * 86400 * NSEC_PER_SEC)
#define PULL_TIMEOUT_DEFAULT  (30LL * NSEC_PER_SEC)

/* "512MiB", "4KiB" or "1000 bytes": exact, in the units the file is written in. */
static const char *size_text(int64_t v, char *buf, size_t n)
{
	static const char *const units[] = {"PiB", "TiB", "GiB", "MiB", "KiB"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		int shift = 10 * (int)(ARRAY_SIZE(units) - i);

		if (v > 0 && v % (1LL << shift) == 0) {
			snprintf(buf, n, "%lld%s", (long long)(v >> shift), units[i]);
			return buf;
		}
	}
	snprintf(buf, n, "%lld bytes", (long long)v);
	return buf;
}

/* A registry host as a key or a mirror: "host", "host:port", "[v6]:port"; no scheme, no path,
 * no spaces. */
static bool host_ok(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 261)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr(".-_:[]", v[i]))
			return false;
	return true;
}

static const struct config_seen *seen_find(const struct config_map *m,
                                           const struct config_seen *seen, const char *key)
{
	size_t i;

	for (i = 0; m->keys[i].name; i++)
		if (!strcmp(m->keys[i].name, key))
			return seen[i].set ? &seen[i] : NULL;
	return NULL;
}

static int events_check(const struct config_parse *p, const struct config_map *m, const char *name,
                        void *base, const struct config_seen *seen, struct err *e)
{
	const struct config *c = base;
	const struct config_seen *max = seen_find(m, seen, "max_size");
	const struct config_seen *rot = seen_find(m, seen, "rotate_size");
	char a[32], b[32];

	if (c->events.max_bytes >= c->events.rotate_bytes)
		return 0;
	size_text(c->events.max_bytes, a, sizeof(a));
	size_text(c->events.rotate_bytes, b, sizeof(b));
	/* Blame the key written: max_size if given, else a rotate_size above the default max. */
	if (max)
		return fail_at(p, max->value, e,
		               "\"events.max_size\": must be at least events.rotate_size (%s), "
		               "got %s",
		               b, a);
	return fail_at(p, rot ? rot->value : (yaml_mark_t){0}, e,
	               "\"events.rotate_size\": must be at most events.max_size (%s), got %s", a,
	               b);
}

/* A client certificate needs its key and the other way round; blame the one given alone. */
static int registry_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e)
{
	const struct config_registry *r = base;

	if (!r->cert_file == !r->key_file)
		return 0;
	if (r->cert_file)
		return fail_at(p, seen_find(m, seen, "cert_file")->value, e,
		               "\"%s.cert_file\": needs key_file too", name);
	return fail_at(p, seen_find(m, seen, "key_file")->value, e,
	               "\"%s.key_file\": needs cert_file too", name);
}

static void registry_defaults(void *elem)
{
	struct config_registry *r = elem;

	r->tls_verify = true;
}

/* An event reason: CamelCase ASCII letters and digits, starting upper case, at most 64. */
static bool reason_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 64 || !isupper((unsigned char)v[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]))
			return false;
	return true;
}

/* Each WARN threshold must come before its FAIL one. */
static int diagnose_check(const struct config_parse *p, const struct config_map *m,
                          const char *name, void *base, const struct config_seen *seen,
                          struct err *e)
{
	static const struct {
		const char *warn, *fail;
		bool lower_is_worse;
	} pairs[] = {
	    {"pressure_some_warn", "pressure_some_fail", false},
	    {"pressure_full_warn", "pressure_full_fail", false},
	    {"dirty_warn", "dirty_fail", false},
	    {"dstate_warn", "dstate_fail", false},
	    {"fsync_warn", "fsync_fail", false},
	    {"limits_warn", "limits_fail", false},
	    {"clock_max_error_warn", "clock_max_error_fail", false},
	};
	(void)name;
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		const struct config_key *kw = NULL, *kf = NULL;
		const struct config_seen *sw, *sf;

		for (const struct config_key *k = m->keys; k->name; k++) {
			if (!strcmp(k->name, pairs[i].warn))
				kw = k;
			if (!strcmp(k->name, pairs[i].fail))
				kf = k;
		}
		if (!kw || !kf || *(int64_t *)field(base, kw->at) <= *(int64_t *)field(base, kf->at))
			continue;
		sw = seen_find(m, seen, pairs[i].warn);
		sf = seen_find(m, seen, pairs[i].fail);
		return fail_at(p, sw && sw->set ? sw->value : sf->value, e,
		               "\"diagnose.%s\" must not be above \"diagnose.%s\"", pairs[i].warn,
		               pairs[i].fail);
	}
	return 0;
}

/* A rule needs a pattern that compiles and a reason. */
static int rule_check(const struct config_parse *p, const struct config_map *m, const char *name,
                      void *base, const struct config_seen *seen, struct err *e)
{
	const struct config_diag_rule *r = base;
	regex_t re;
	int rc;

	(void)seen;
	(void)m;
	if (!r->pattern)
		return fail_at(p, p->ev.start_mark, e, "\"%s\": needs a pattern", name);
	if (!r->reason)
		return fail_at(p, p->ev.start_mark, e, "\"%s\": needs a reason", name);
	rc = regcomp(&re, r->pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];

		regerror(rc, &re, why, sizeof(why));
		return fail_at(p, seen_find(m, seen, "pattern")->value, e,
		               "\"%s.pattern\": not an extended regular expression: %s", name, why);
	}
	regfree(&re);
	return 0;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_WARN;
	c->events.rotate_bytes = EVENTS_ROTATE_DEFAULT;
	c->events.max_bytes = EVENTS_MAX_DEFAULT;
	c->events.max_age_ns = EVENTS_AGE_DEFAULT;
	c->container_log.max_bytes = CONFIG_CONTAINER_LOG_SIZE_DEFAULT;
	c->container_log.max_files = CONFIG_CONTAINER_LOG_FILES_DEFAULT;
	c->pull.max_concurrent_downloads = 3;
	c->pull.max_concurrent_pulls = 4;
	c->pull.retries = 4;
	c->pull.connect_timeout_ns = PULL_TIMEOUT_DEFAULT;
	c->pull.low_speed_time_ns = PULL_TIMEOUT_DEFAULT;
	c->pull.unpack = true;
	c->snapshot_volatile = VOLATILE_AUTO;
	c->diagnose.pressure_some_warn = 20;
	c->diagnose.pressure_some_fail = 50;
	c->diagnose.pressure_full_warn = 5;
	c->diagnose.pressure_full_fail = 20;
	c->diagnose.dirty_warn_bytes = 1LL << 30;
	c->diagnose.dirty_fail_bytes = 4LL << 30;
	c->diagnose.dstate_warn_ns = 10 * NSEC_PER_SEC;
	c->diagnose.dstate_fail_ns = 60 * NSEC_PER_SEC;
	c->diagnose.fsync_warn_ns = 10 * NSEC_PER_MSEC;
	c->diagnose.fsync_fail_ns = 100 * NSEC_PER_MSEC;
	c->diagnose.root_available_min = 15; /* kubelet's imagefs.available */
	c->diagnose.state_available_min = 10; /* nodefs.available */
	c->diagnose.inodes_free_min = 5;      /* nodefs.inodesFree */
	c->diagnose.limits_warn = 80;
	c->diagnose.limits_fail = 95;
	c->diagnose.clock_max_error_warn_ns = 100 * NSEC_PER_MSEC;
	c->diagnose.clock_max_error_fail_ns = NSEC_PER_SEC;
	c->diagnose.relist_slow_ns = NSEC_PER_SEC;
	c->diagnose.relist_stall_ns = 180 * NSEC_PER_SEC;
}

const struct config_registry *config_registry_find(const struct config *c, const char *host)
{
	size_t i;

	for (i = 0; c && host && i < c->n_registries; i++)
		if (!strcasecmp(c->registries[i].host, host))
			return &c->registries[i];
	return NULL;
}
