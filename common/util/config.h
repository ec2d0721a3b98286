/* common/util/config.h - the YAML config file (/etc/ctrbox/config.yaml, --config, CTRBOX_CONFIG):
 * a typed struct loaded through a schema table, with file:line:column in every error. The schema
 * is documented in ctrbox(1) "CONFIGURATION"; a key added here is added there in the same commit. */
#ifndef CTRBOX_UTIL_CONFIG_H
#define CTRBOX_UTIL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

#define CONFIG_DEFAULT_PATH "/etc/ctrbox/config.yaml"
#define CONFIG_MAX_BYTES    (1 << 20)

/* container_log bounds, shared with run's --log-max-size and --log-max-files. */
#define CONFIG_CONTAINER_LOG_SIZE_DEFAULT (10LL << 20)
#define CONFIG_CONTAINER_LOG_SIZE_MIN     (4LL << 10)
#define CONFIG_CONTAINER_LOG_FILES_DEFAULT 3
#define CONFIG_CONTAINER_LOG_FILES_MAX     100 /* as many as `logs` reads back */

/* One entry of registries: the settings for one registry host. */
struct config_registry {
	char *host;      /* the key: "registry.example.com:5000", "docker.io" */
	char **mirrors;  /* host[:port] tried in order before host; NULL-terminated, or NULL */
	bool plain_http; /* speak http:// to host and its mirrors (false) */
	bool tls_verify; /* verify certificates (true) */
	char *ca_file;   /* absolute paths, NULL = not set; cert_file and key_file go */
	char *cert_file; /* together (a client certificate) */
	char *key_file;
};

/* One diagnose.rules element: a kernel log rule added to the built-in ones (ctrbox-diagnose(1)). */
struct config_diag_rule {
	char *pattern; /* a POSIX extended regular expression over the message */
	char *reason;  /* CamelCase, as event reasons */
	enum config_severity { SEVERITY_WARN, SEVERITY_FAIL } severity;
};

struct config {
	char *path;  /* the file loaded, or NULL when built-in defaults only */
	char *root;  /* root: NULL = not set in the file */
	char *state; /* state */
	bool log_level_set;
	enum log_level log_level; /* log_level: error|warn|info|debug */
	struct {
		char *proc, *sys, *dev, *cgroup; /* host.*: NULL = not set */
		char *etc; /* host.etc: hosts and resolv.conf for containers (NULL: /etc) */
	} host;
	struct {
		int64_t rotate_bytes; /* events.rotate_size: rotate the journal past this (8MiB) */
		int64_t max_bytes;    /* events.max_size: all journal files together (64MiB) */
		int64_t max_age_ns;   /* events.max_age: drop rotated files older than this (7d) */
	} events;
	struct {
		int64_t max_bytes; /* container_log.max_size: rotate a container's log past this */
		int64_t max_files; /* container_log.max_files: rotated files kept (log.1 .. log.N) */
	} container_log;
	struct {
		int64_t max_concurrent_downloads; /* pull.*: layers at once per image (3, 1..64) */
		int64_t max_concurrent_pulls;     /* images at once per `pull` (4, 1..64) */
		int64_t retries;                  /* attempts after the first (4, 0..20) */
		int64_t connect_timeout_ns;       /* (30s, more than 0) */
		int64_t low_speed_time_ns; /* below 1kB/s this long aborts (30s, 0 = never) */
		bool unpack;               /* unpack after pull by default (true) */
	} pull;
	struct config_registry *registries; /* registries: in file order, hosts unique */
	size_t n_registries;
	struct {
		/* diagnose.*: thresholds, WARN then FAIL (defaults in ctrbox-diagnose(1)) */
		int64_t pressure_some_warn, pressure_some_fail; /* percent (20, 50) */
		int64_t pressure_full_warn, pressure_full_fail; /* percent (5, 20) */
		int64_t dirty_warn_bytes, dirty_fail_bytes;     /* (1GiB, 4GiB) */
		int64_t dstate_warn_ns, dstate_fail_ns;         /* (10s, 60s) */
		int64_t fsync_warn_ns, fsync_fail_ns;           /* p99 (10ms, 100ms) */
		int64_t root_available_min, state_available_min, inodes_free_min; /* % (15, 10, 5) */
		int64_t limits_warn, limits_fail;               /* percent (80, 95) */
		int64_t clock_max_error_warn_ns, clock_max_error_fail_ns; /* (100ms, 1s) */
		int64_t relist_slow_ns, relist_stall_ns;        /* (1s, 3m) */
		struct config_diag_rule *rules;                 /* diagnose.rules, in file order */
		size_t n_rules;
	} diagnose;
	/* snapshots.volatile: mount container overlays with "volatile" (auto: when supported). */
	enum config_volatile { VOLATILE_AUTO, VOLATILE_ON, VOLATILE_OFF } snapshot_volatile;
};

/* Fills c with the built-in defaults (no file). */
void config_defaults(struct config *c);

/* Loads path over the defaults into a new config the caller frees with config_free(). When
 * must_exist is false a missing file yields the defaults. Errors (E_INVALID, E_NOTFOUND, E_IO)
 * read "<path>:<line>:<column>: <reason>" for anything wrong inside the file: YAML syntax, an
 * unknown key, a wrong type, a bad value. Reads at most CONFIG_MAX_BYTES. No locking. */
int config_load(const char *path, bool must_exist, struct config **out, struct err *e);

void config_free(struct config *c);

/* The registries entry for host ("registry.example.com:5000", compared case-insensitively), or
 * NULL when the file has none: the caller then uses HTTPS with verification and no mirrors. The
 * result points into c. */
const struct config_registry *config_registry_find(const struct config *c, const char *host);

#endif
