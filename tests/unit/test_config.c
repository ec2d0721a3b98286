/* tests/unit/test_config.c - the YAML config file: every key, every error kind at its exact
 * file:line:column (common/util/config.c, ctrbox(1) "CONFIGURATION") */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/util/buf.h"
#include "common/util/config.h"
#include "common/util/err.h"
#include "common/util/units.h"

#define MiB (1LL << 20)
#define DAY (86400LL * NSEC_PER_SEC)

/* pull.*, registries and snapshots as a load should leave them. */
struct want_pull {
	int64_t downloads, pulls, retries, connect_ns, low_speed_ns;
	bool unpack;
	/* Each registry as "host mirrors=a,b plain_http=0 tls_verify=1 ca=- cert=- key=-",
	 * joined by "; " in file order; NULL = none. */
	const char *registries;
	enum config_volatile vol;
};

/* What a successful load holds; strings NULL = not set, log_level -1 = not set. */
struct want {
	const char *root, *state, *proc, *sys, *dev, *cgroup;
	int log_level;
	int64_t rotate, max, age;
	const struct want_pull *pull; /* NULL = the defaults */
};

static const struct want_pull pull_defaults = {
    3, 4, 4, 30 * NSEC_PER_SEC, 30 * NSEC_PER_SEC, true, NULL, VOLATILE_AUTO};

#define PULL(...)    (&(const struct want_pull){__VA_ARGS__})
#define REG_DEFAULTS "mirrors= plain_http=0 tls_verify=1 ca=- cert=- key=-"

#define DEFAULTS .log_level = -1, .rotate = 8 * MiB, .max = 64 * MiB, .age = 7 * DAY

struct load_case {
	const char *name;
	const char *yaml;
	size_t len;      /* the YAML may hold NUL bytes */
	const char *msg; /* NULL: loads; else the whole message after the file name */
	struct want want;
};

#define Y(s) .yaml = (s), .len = sizeof(s) - 1

static const struct load_case load_cases[] = {
    /* Good files. */
    {"every key",
     Y("# ctrbox config\n"
       "root: /var/lib/ctrbox-test\n"
       "state: \"/run/ctrbox-test\"\n"
       "log_level: debug\n"
       "host:\n"
       "  proc: /host/proc\n"
       "  sys: '/host/sys'\n"
       "  dev: /host/dev\n"
       "  cgroup: /host/sys/fs/cgroup   # v2 only\n"
       "events:\n"
       "  rotate_size: 16MiB\n"
       "  max_size: 1GiB\n"
       "  max_age: 7d\n"),
     NULL,
     {"/var/lib/ctrbox-test", "/run/ctrbox-test", "/host/proc", "/host/sys", "/host/dev",
      "/host/sys/fs/cgroup", LOG_DEBUG, 16 * MiB, 1024 * MiB, 7 * DAY}},
    {"flow style",
     Y("{root: /r, host: {proc: /p}, events: {rotate_size: 4KiB, max_size: 4096, "
       "max_age: 1s}}"),
     NULL,
     {.root = "/r",
      .proc = "/p",
      .log_level = -1,
      .rotate = 4096,
      .max = 4096,
      .age = NSEC_PER_SEC}},
    {"empty file", Y(""), NULL, {DEFAULTS}},
    {"only comments", Y("# nothing\n\n   # here either\n"), NULL, {DEFAULTS}},
    {"empty document", Y("---\n...\n"), NULL, {DEFAULTS}},
    {"explicit document markers",
     Y("%YAML 1.1\n---\nroot: /x\n...\n"),
     NULL,
     {.root = "/x", DEFAULTS}},
    {"null values keep the defaults",
     Y("root:\nstate: ~\nlog_level: null\nhost:\nevents: Null\n"),
     NULL,
     {DEFAULTS}},
    {"null inside a mapping", Y("events:\n  max_age: ~\n  max_size: NULL\n"), NULL, {DEFAULTS}},
    {"quoted and plain numbers",
     Y("events:\n  rotate_size: \"8388608\"\n  max_size: 268435457\n  max_age: '10m'\n"),
     NULL,
     {.log_level = -1, .rotate = 8 * MiB, .max = 256 * MiB + 1, .age = 600 * NSEC_PER_SEC}},
    {"a bare duration is seconds",
     Y("events:\n  max_age: 90\n"),
     NULL,
     {.log_level = -1, .rotate = 8 * MiB, .max = 64 * MiB, .age = 90 * NSEC_PER_SEC}},
    {"max_size equal to rotate_size",
     Y("events: {rotate_size: 1MiB, max_size: 1MiB}\n"),
     NULL,
     {.log_level = -1, .rotate = MiB, .max = MiB, .age = 7 * DAY}},
    {"log level warning",
     Y("log_level: warning\n"),
     NULL,
     {.log_level = LOG_WARN, .rotate = 8 * MiB, .max = 64 * MiB, .age = 7 * DAY}},
    {"log level quoted",
     Y("log_level: 'error'\n"),
     NULL,
     {.log_level = LOG_ERROR, .rotate = 8 * MiB, .max = 64 * MiB, .age = 7 * DAY}},
    {"crlf line ends",
     Y("root: /x\r\nstate: /y\r\n"),
     NULL,
     {.root = "/x", .state = "/y", DEFAULTS}},
    {"path with spaces, quoted",
     Y("root: \"/var/lib/my ctrbox\"\n"),
     NULL,
     {.root = "/var/lib/my ctrbox", DEFAULTS}},
    {"utf-8 byte order mark", Y("\xef\xbb\xbfroot: /x\n"), NULL, {.root = "/x", DEFAULTS}},
    {"pull, registries and snapshots",
     Y("pull:\n"
       "  max_concurrent_downloads: 8   # per image\n"
       "  max_concurrent_pulls: 1\n"
       "  unpack: false\n"
       "  retries: 0\n"
       "  connect_timeout: 5s\n"
       "  low_speed_time: 2m\n"
       "registries:\n"
       "  \"registry.example.com:5000\":\n"
       "    mirrors: [\"mirror-a.local:5000\", \"mirror-b.local\"]\n"
       "    plain_http: false\n"
       "    tls_verify: true\n"
       "    ca_file: /etc/ctrbox/certs/ca.pem\n"
       "    cert_file: /etc/ctrbox/certs/client.pem\n"
       "    key_file: /etc/ctrbox/certs/client-key.pem\n"
       "  localhost:5000:\n"
       "    plain_http: true\n"
       "    mirrors:\n"
       "      - '[::1]:5001'\n"
       "  docker.io:\n"
       "    tls_verify: false\n"
       "snapshots:\n"
       "  volatile: false\n"),
     NULL,
     {DEFAULTS,
      .pull = PULL(8, 1, 0, 5 * NSEC_PER_SEC, 120 * NSEC_PER_SEC, false,
                   "registry.example.com:5000 mirrors=mirror-a.local:5000,mirror-b.local "
                   "plain_http=0 tls_verify=1 ca=/etc/ctrbox/certs/ca.pem "
                   "cert=/etc/ctrbox/certs/client.pem key=/etc/ctrbox/certs/client-key.pem; "
                   "localhost:5000 mirrors=[::1]:5001 plain_http=1 tls_verify=1 ca=- cert=- "
                   "key=-; "
                   "docker.io mirrors= plain_http=0 tls_verify=0 ca=- cert=- key=-",
                   VOLATILE_OFF)}},
    {"pull bounds are inclusive",
     Y("pull: {max_concurrent_downloads: 64, max_concurrent_pulls: \"1\", retries: 20, "
       "low_speed_time: 0}\n"),
     NULL,
     {DEFAULTS, .pull = PULL(64, 1, 20, 30 * NSEC_PER_SEC, 0, true, NULL, VOLATILE_AUTO)}},
    {"a registry with no settings, an empty mirror list",
     Y("registries:\n  a.example:\n  B.example: {mirrors: []}\nsnapshots: {volatile: true}\n"),
     NULL,
     {DEFAULTS, .pull = PULL(3, 4, 4, 30 * NSEC_PER_SEC, 30 * NSEC_PER_SEC, true,
                             "a.example " REG_DEFAULTS "; B.example " REG_DEFAULTS, VOLATILE_ON)}},
    {"null pull, registries and snapshots keep the defaults",
     Y("pull:\nregistries: ~\nsnapshots:\n  volatile:\n"),
     NULL,
     {DEFAULTS}},
    {"volatile auto, any case", Y("snapshots:\n  volatile: Auto\n"), NULL, {DEFAULTS}},

    /* Unknown keys, with and without a suggestion. */
    {"unknown key with a suggestion", Y("root: /a\nroo: /b\n"),
     ":2:1: unknown key \"roo\" (did you mean \"root\"?)"},
    {"unknown key", Y("frobnicate: 1\n"), ":1:1: unknown key \"frobnicate\""},
    {"unknown key in events on line 4",
     Y("# journal\nroot: /a\nevents:\n  max_sise: 1GiB\n  rotate_size: 8MiB\n"),
     ":4:3: unknown key \"max_sise\" in \"events\" (did you mean \"max_size\"?)"},
    {"unknown key in host", Y("host:\n  proc: /p\n  cgroups: /c\n"),
     ":3:3: unknown key \"cgroups\" in \"host\" (did you mean \"cgroup\"?)"},
    {"a nested key at the top", Y("root: /a\nmax_age: 1d\n"), ":2:1: unknown key \"max_age\""},
    {"unknown key in flow style", Y("{root: /a, colour: red}"), ":1:12: unknown key \"colour\""},
    {"key with a NUL", Y("\"root\\0x\": /a\n"), ":1:1: key contains a NUL character"},

    /* Bad values. */
    {"bad size", Y("events:\n  rotate_size: lots\n"),
     ":2:16: \"events.rotate_size\": expected a size like 8MiB, got \"lots\""},
    {"negative size", Y("events:\n  max_size: -1\n"),
     ":2:13: \"events.max_size\": expected a size like 8MiB, got \"-1\""},
    {"size below the minimum", Y("events:\n  rotate_size: 1k\n"),
     ":2:16: \"events.rotate_size\": must be at least 4KiB, got \"1k\""},
    {"max_size below rotate_size", Y("events:\n  rotate_size: 64MiB\n  max_size: 32MiB\n"),
     ":3:13: \"events.max_size\": must be at least events.rotate_size (64MiB), got 32MiB"},
    {"max_size below rotate_size, max first", Y("events:\n  max_size: 5000\n  rotate_size: 8KiB\n"),
     ":2:13: \"events.max_size\": must be at least events.rotate_size (8KiB), got 5000 "
     "bytes"},
    {"rotate_size above the default max_size", Y("events:\n  rotate_size: 512MiB\n"),
     ":2:16: \"events.rotate_size\": must be at most events.max_size (64MiB), got 512MiB"},
    {"zero max_age", Y("events:\n  max_age: 0s\n"),
     ":2:12: \"events.max_age\": must be more than 0, got \"0s\""},
    {"bad duration", Y("root: /a\nevents:\n  max_age: forever\n"),
     ":3:12: \"events.max_age\": expected a duration like 30d, got \"forever\""},
    {"negative duration", Y("events:\n  max_age: -1d\n"),
     ":2:12: \"events.max_age\": expected a duration like 30d, got \"-1d\""},
    {"bad log level", Y("log_level: loud\n"),
     ":1:12: \"log_level\": expected error, warn, info or debug, got \"loud\""},
    {"relative path", Y("root: var/lib/ctrbox\n"),
     ":1:7: \"root\": expected an absolute path, got \"var/lib/ctrbox\""},
    {"relative host path on line 5", Y("root: /a\n\nhost:\n  proc: /p\n  sys: sys\n"),
     ":5:8: \"host.sys\": expected an absolute path, got \"sys\""},
    {"quoted ~ is a string, not null", Y("state: \"~\"\n"),
     ":1:8: \"state\": expected an absolute path, got \"~\""},
    {"quoted empty string is not null", Y("root: ''\n"),
     ":1:7: \"root\": expected an absolute path, got \"\""},
    {"control characters are shown as ?", Y("root: \"rel\\tx\"\n"),
     ":1:7: \"root\": expected an absolute path, got \"rel?x\""},
    {"long values are cut short",
     Y("root: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
     ":1:7: \"root\": expected an absolute path, got "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""},
    {"NUL in a value", Y("root: \"/a\\0b\"\n"), ":1:7: \"root\": contains a NUL character"},
    {"max_concurrent_downloads zero", Y("pull:\n  max_concurrent_downloads: 0\n"),
     ":2:29: \"pull.max_concurrent_downloads\": expected a whole number from 1 to 64, got \"0\""},
    {"max_concurrent_pulls too large", Y("pull:\n  max_concurrent_pulls: 65\n"),
     ":2:25: \"pull.max_concurrent_pulls\": expected a whole number from 1 to 64, got \"65\""},
    {"retries negative", Y("pull: {retries: -1}\n"),
     ":1:17: \"pull.retries\": expected a whole number from 0 to 20, got \"-1\""},
    {"retries not a number", Y("pull: {retries: 3x}\n"),
     ":1:17: \"pull.retries\": expected a whole number from 0 to 20, got \"3x\""},
    {"retries huge", Y("pull: {retries: 99999999999999999999999}\n"),
     ":1:17: \"pull.retries\": expected a whole number from 0 to 20, got "
     "\"99999999999999999999999\""},
    {"retries as a list", Y("pull: {retries: [1]}\n"),
     ":1:17: \"pull.retries\": expected a whole number from 0 to 20, got a sequence"},
    {"zero connect_timeout", Y("pull:\n  connect_timeout: 0s\n"),
     ":2:20: \"pull.connect_timeout\": must be more than 0, got \"0s\""},
    {"unpack not a bool", Y("pull:\n  unpack: yes\n"),
     ":2:11: \"pull.unpack\": expected true or false, got \"yes\""},
    {"unknown key in pull", Y("pull:\n  max_concurrent_download: 3\n"),
     ":2:3: unknown key \"max_concurrent_download\" in \"pull\" (did you mean "
     "\"max_concurrent_downloads\"?)"},
    {"volatile maybe", Y("snapshots:\n  volatile: maybe\n"),
     ":2:13: \"snapshots.volatile\": expected auto, true or false, got \"maybe\""},
    {"volatile as a mapping", Y("snapshots: {volatile: {a: b}}\n"),
     ":1:23: \"snapshots.volatile\": expected auto, true or false, got a mapping"},
    {"registries as a list", Y("registries:\n  - docker.io\n"),
     ":2:3: \"registries\": expected a mapping, got a sequence"},
    {"a registry that is a scalar", Y("registries:\n  docker.io: yes\n"),
     ":2:14: \"registries[docker.io]\": expected a mapping, got a scalar"},
    {"duplicate registry host",
     Y("registries:\n  a.example:5000:\n    plain_http: true\n  b.example: {}\n"
       "  A.example:5000:\n    tls_verify: false\n"),
     ":5:3: duplicate key \"A.example:5000\" in \"registries\" (first at line 2)"},
    {"a registry host with a scheme", Y("registries:\n  https://a.example: {}\n"),
     ":2:3: expected a registry host[:port] in \"registries\", got \"https://a.example\""},
    {"an empty registry host", Y("registries:\n  '': {}\n"),
     ":2:3: expected a registry host[:port] in \"registries\", got \"\""},
    {"a registry host that is a list", Y("registries:\n  ? [a]\n  : {}\n"),
     ":2:5: expected a registry host[:port] in \"registries\", got a sequence"},
    {"unknown key in a registry", Y("registries:\n  a.example:\n    insecure: true\n"),
     ":3:5: unknown key \"insecure\" in \"registries[a.example]\""},
    {"duplicate key in a registry",
     Y("registries:\n  a.example:\n    plain_http: true\n    plain_http: false\n"),
     ":4:5: duplicate key \"plain_http\" in \"registries[a.example]\" (first at line 3)"},
    {"a mirror that is not a string",
     Y("registries:\n  a.example:\n    mirrors: [m.local, [n.local]]\n"),
     ":3:24: \"registries[a.example].mirrors[1]\": expected a registry host[:port], got a "
     "sequence"},
    {"a mirror that is a mapping",
     Y("registries:\n  a.example:\n    mirrors:\n      - host: m.local\n"),
     ":4:9: \"registries[a.example].mirrors[0]\": expected a registry host[:port], got a "
     "mapping"},
    {"a null mirror", Y("registries:\n  a.example:\n    mirrors: [m.local, ~]\n"),
     ":3:24: \"registries[a.example].mirrors[1]\": expected a registry host[:port], got null"},
    {"a mirror with a path", Y("registries:\n  a.example:\n    mirrors: [\"m.local/v2\"]\n"),
     ":3:15: \"registries[a.example].mirrors[0]\": expected a registry host[:port], got "
     "\"m.local/v2\""},
    {"mirrors as a scalar", Y("registries:\n  a.example:\n    mirrors: m.local\n"),
     ":3:14: \"registries[a.example].mirrors\": expected a list, got a scalar"},
    {"a relative ca_file", Y("registries:\n  a.example:\n    ca_file: ca.pem\n"),
     ":3:14: \"registries[a.example].ca_file\": expected an absolute path, got \"ca.pem\""},
    {"cert_file without key_file",
     Y("registries:\n  a.example:\n    ca_file: /ca.pem\n    cert_file: /c.pem\n"),
     ":4:16: \"registries[a.example].cert_file\": needs key_file too"},
    {"key_file without cert_file", Y("registries:\n  a.example: {key_file: /k.pem}\n"),
     ":2:25: \"registries[a.example].key_file\": needs cert_file too"},
    {"an error after registries is freed",
     Y("registries:\n  a.example:\n    mirrors: [m.local]\n    ca_file: /ca.pem\n"
       "  b.example:\n    mirrors: [n.local, 'bad host']\n"),
     ":6:24: \"registries[b.example].mirrors[1]\": expected a registry host[:port], got "
     "\"bad host\""},
    {"an anchor on a mirror", Y("registries:\n  a.example:\n    mirrors: [&m m.local]\n"),
     ":3:15: anchor \"&m\": anchors are not supported"},

    /* Wrong node types. */
    {"scalar where a mapping belongs", Y("host: /proc\n"),
     ":1:7: \"host\": expected a mapping, got a scalar"},
    {"sequence where a mapping belongs", Y("events:\n  - rotate_size: 8MiB\n"),
     ":2:3: \"events\": expected a mapping, got a sequence"},
    {"sequence where a scalar belongs", Y("root:\n  - /a\n  - /b\n"),
     ":2:3: \"root\": expected an absolute path, got a sequence"},
    {"flow sequence where a scalar belongs", Y("events: {max_age: [1d]}\n"),
     ":1:19: \"events.max_age\": expected a duration like 30d, got a sequence"},
    {"mapping where a scalar belongs", Y("log_level: {a: b}\n"),
     ":1:12: \"log_level\": expected error, warn, info or debug, got a mapping"},
    {"sequence as a key", Y("? [a, b]\n: c\n"), ":1:3: expected a key name, got a sequence"},
    {"mapping as a key in events", Y("events:\n  ? {a: b}\n  : c\n"),
     ":2:5: expected a key name in \"events\", got a mapping"},
    {"top level sequence", Y("- root: /a\n"),
     ":1:1: top level: expected a mapping, got a sequence"},
    {"top level scalar", Y("# a comment\njust some text\n"),
     ":2:1: top level: expected a mapping, got a scalar"},
    {"top level quoted empty string", Y("''\n"),
     ":1:1: top level: expected a mapping, got a scalar"},

    /* Duplicates. */
    {"duplicate key", Y("root: /a\nstate: /b\nroot: /c\n"),
     ":3:1: duplicate key \"root\" (first at line 1)"},
    {"duplicate key in events", Y("events:\n  max_age: 1d\n  max_age: 2d\n"),
     ":3:3: duplicate key \"max_age\" in \"events\" (first at line 2)"},
    {"duplicate null key", Y("root:\nroot: /a\n"),
     ":2:1: duplicate key \"root\" (first at line 1)"},
    {"duplicate mapping", Y("host:\n  proc: /p\nevents: {}\nhost:\n  sys: /s\n"),
     ":4:1: duplicate key \"host\" (first at line 1)"},

    /* Anchors, aliases, tags. */
    {"anchor", Y("root: &r /a\n"), ":1:7: anchor \"&r\": anchors are not supported"},
    {"anchor on a mapping", Y("host: &h\n  proc: /p\n"),
     ":1:7: anchor \"&h\": anchors are not supported"},
    {"alias", Y("host:\n  proc: /p\n  sys: *x\n"), ":3:8: alias \"*x\": aliases are not supported"},
    {"alias as a key", Y("*k : /a\n"), ":1:1: alias \"*k\": aliases are not supported"},
    {"tag", Y("root: !!str /a\n"), ":1:7: tag \"tag:yaml.org,2002:str\": tags are not supported"},
    {"local tag on the top", Y("--- !config\nroot: /a\n"),
     ":1:5: tag \"!config\": tags are not supported"},

    /* Documents. */
    {"two documents", Y("root: /a\n---\nstate: /b\n"),
     ":2:1: multiple documents are not supported"},
    {"two empty documents", Y("---\n---\n"), ":2:1: multiple documents are not supported"},

    /* YAML syntax, with libyaml's own words. */
    {"bad indentation", Y("root: /a\n  state: /b\n"),
     ":2:8: mapping values are not allowed in this context"},
    {"tab indentation", Y("events:\n\trotate_size: 8MiB\n"),
     ":2:1: found character that cannot start any token while scanning for the next token "
     "at line 2"},
    {"unclosed flow mapping", Y("root: /a\nevents: {max_age: 1d\n"),
     ":3:1: did not find expected ',' or '}' while parsing a flow mapping at line 2"},
    {"a list item in a mapping", Y("host:\n  proc: /p\n  - sys\n"),
     ":3:3: did not find expected key while parsing a block mapping at line 2"},
    {"unclosed quote", Y("root: \"/a\n"),
     ":2:1: found unexpected end of stream while scanning a quoted scalar at line 1"},
    {"invalid utf-8", Y("root: /a\nstate: /\xff\n"), ":2:9: invalid leading UTF-8 octet (#ff)"},
    {"NUL byte in the file", Y("root: /a\n\0\n"), ":2:1: control characters are not allowed (#0)"},
};

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (!want) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

static void assert_pull(const struct config *c, const struct want_pull *w)
{
	struct buf b = BUF_INIT;
	size_t i, j;

	assert_int_equal(c->pull.max_concurrent_downloads, w->downloads);
	assert_int_equal(c->pull.max_concurrent_pulls, w->pulls);
	assert_int_equal(c->pull.retries, w->retries);
	assert_int_equal(c->pull.connect_timeout_ns, w->connect_ns);
	assert_int_equal(c->pull.low_speed_time_ns, w->low_speed_ns);
	assert_int_equal(c->pull.unpack, w->unpack);
	assert_int_equal(c->snapshot_volatile, w->vol);
	if (!w->registries) {
		assert_int_equal(c->n_registries, 0);
		assert_null(c->registries);
		return;
	}
	for (i = 0; i < c->n_registries; i++) {
		const struct config_registry *r = &c->registries[i];

		buf_printf(&b, "%s%s mirrors=", i ? "; " : "", r->host);
		for (j = 0; r->mirrors && r->mirrors[j]; j++)
			buf_printf(&b, "%s%s", j ? "," : "", r->mirrors[j]);
		buf_printf(&b, " plain_http=%d tls_verify=%d ca=%s cert=%s key=%s", r->plain_http,
		           r->tls_verify, r->ca_file ? r->ca_file : "-",
		           r->cert_file ? r->cert_file : "-", r->key_file ? r->key_file : "-");
		assert_ptr_equal(config_registry_find(c, r->host), r);
	}
	assert_string_equal(buf_str(&b), w->registries);
	buf_release(&b);
}

static void test_load_case(void **state)
{
	const struct load_case *t = *state;
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = xasprintf("%s/config.yaml", u->dir);
	struct config *sentinel = (struct config *)&sentinel, *c = sentinel;
	struct err e = ERR_INIT;
	int rc;

	write_file(path, t->yaml, t->len);
	rc = config_load(path, true, &c, &e);
	if (t->msg) {
		cleanup_free char *want = xasprintf("%s%s", path, t->msg);

		if (rc == 0)
			config_free(c);
		assert_int_equal(rc, -1);
		assert_string_equal(e.msg, want);
		assert_int_equal(e.code, E_INVALID);
		assert_ptr_equal(c, sentinel); /* out-params only on success */
	} else {
		if (rc < 0)
			print_error("%s\n", e.msg);
		assert_int_equal(rc, 0);
		assert_string_equal(c->path, path);
		assert_str_or_null(c->root, t->want.root);
		assert_str_or_null(c->state, t->want.state);
		assert_str_or_null(c->host.proc, t->want.proc);
		assert_str_or_null(c->host.sys, t->want.sys);
		assert_str_or_null(c->host.dev, t->want.dev);
		assert_str_or_null(c->host.cgroup, t->want.cgroup);
		if (t->want.log_level < 0) {
			assert_false(c->log_level_set);
			assert_int_equal(c->log_level, LOG_WARN);
		} else {
			assert_true(c->log_level_set);
			assert_int_equal(c->log_level, t->want.log_level);
		}
		assert_int_equal(c->events.rotate_bytes, t->want.rotate);
		assert_int_equal(c->events.max_bytes, t->want.max);
		assert_int_equal(c->events.max_age_ns, t->want.age);
		assert_pull(c, t->want.pull ? t->want.pull : &pull_defaults);
		config_free(c);
	}
	unit_env_free(u);
}

static void test_defaults(void **state)
{
	struct config c;

	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	assert_null(c.path);
	assert_null(c.root);
	assert_null(c.state);
	assert_false(c.log_level_set);
	assert_null(c.host.proc);
	assert_null(c.host.sys);
	assert_null(c.host.dev);
	assert_null(c.host.cgroup);
	assert_int_equal(c.events.rotate_bytes, 8 * MiB);
	assert_int_equal(c.events.max_bytes, 64 * MiB);
	assert_int_equal(c.events.max_age_ns, 7 * DAY);
	assert_pull(&c, &pull_defaults);
	assert_null(config_registry_find(&c, "docker.io"));
	config_free(NULL);
}

static void test_missing_file(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = xasprintf("%s/nope.yaml", u->dir);
	struct config *c = NULL;
	struct err e = ERR_INIT;

	/* Not required: the built-in defaults, and no file recorded. */
	assert_int_equal(config_load(path, false, &c, &e), 0);
	assert_non_null(c);
	assert_null(c->path);
	assert_null(c->root);
	assert_int_equal(c->events.rotate_bytes, 8 * MiB);
	config_free(c);

	/* Required (--config, CTRBOX_CONFIG): not found, and out untouched. */
	c = NULL;
	assert_int_equal(config_load(path, true, &c, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_non_null(strstr(e.msg, path));
	assert_null(c);
	unit_env_free(u);
}

static void test_size_bound(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = xasprintf("%s/config.yaml", u->dir);
	cleanup_free char *text = xmalloc(CONFIG_MAX_BYTES + 1);
	struct config *c = NULL;
	struct err e = ERR_INIT;

	/* Exactly the limit: comments and one key at the end still load. */
	memset(text, '#', CONFIG_MAX_BYTES + 1);
	memcpy(text + CONFIG_MAX_BYTES - 10, "\nroot: /x\n", 10);
	write_file(path, text, CONFIG_MAX_BYTES);
	assert_int_equal(config_load(path, true, &c, &e), 0);
	assert_string_equal(c->root, "/x");
	config_free(c);

	/* One byte more is refused, whether or not the file is required. */
	c = NULL;
	text[CONFIG_MAX_BYTES - 1] = '#';
	text[CONFIG_MAX_BYTES] = '\n';
	write_file(path, text, CONFIG_MAX_BYTES + 1);
	assert_int_equal(config_load(path, false, &c, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, path));
	assert_null(c);
	unit_env_free(u);
}

static void test_not_a_file(void **state)
{
	struct unit_env *u = unit_env_new();
	struct config *c = NULL;
	struct err e = ERR_INIT;

	/* A directory is an error even when the file is optional: it exists. */
	assert_int_equal(config_load(u->dir, false, &c, &e), -1);
	assert_int_not_equal(e.code, E_OK);
	assert_int_not_equal(e.code, E_NOTFOUND);
	assert_null(c);
	unit_env_free(u);
}

static void test_unreadable(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = xasprintf("%s/config.yaml", u->dir);
	struct config *c = NULL;
	struct err e = ERR_INIT;
	int status;
	pid_t pid;

	write_file(path, "root: /x\n", 9);
	assert_int_equal(chmod(path, 0), 0);
	if (geteuid() != 0) {
		assert_int_equal(config_load(path, false, &c, &e), -1);
		assert_int_equal(e.code, E_PERM);
		assert_int_equal(e.sys_errno, EACCES);
		assert_null(c);
		unit_env_free(u);
		return;
	}
	/* Root reads anything: load as nobody in a child, which reports the code it got. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(100);
		if (config_load(path, false, &c, &e) == 0)
			_exit(101);
		_exit(c == NULL && e.sys_errno == EACCES ? (int)e.code : 102);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), E_PERM);
	unit_env_free(u);
}

/* One file, loaded twice: nothing kept between loads, each config independent. */
static void test_load_twice(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = xasprintf("%s/config.yaml", u->dir);
	struct config *a = NULL, *b = NULL;
	struct err e = ERR_INIT;

	write_file(path, "root: /a\nhost: {proc: /p}\n", 26);
	assert_int_equal(config_load(path, true, &a, &e), 0);
	write_file(path, "state: /s\n", 10);
	assert_int_equal(config_load(path, true, &b, &e), 0);
	assert_string_equal(a->root, "/a");
	assert_string_equal(a->host.proc, "/p");
	assert_null(a->state);
	assert_null(b->root);
	assert_string_equal(b->state, "/s");
	config_free(a);
	config_free(b);
	unit_env_free(u);
}

/* config_registry_find: exact host and port, any case; NULL when absent. */
static void test_registry_find(void **state)
{
	static const char yaml[] = "registries:\n  Registry.Example.com:5000: {plain_http: true}\n"
	                           "  registry.example.com: {tls_verify: false}\n";
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = xasprintf("%s/config.yaml", u->dir);
	const struct config_registry *r;
	struct config *c = NULL;
	struct err e = ERR_INIT;

	write_file(path, yaml, sizeof(yaml) - 1);
	assert_int_equal(config_load(path, true, &c, &e), 0);
	r = config_registry_find(c, "registry.example.com:5000");
	assert_non_null(r);
	assert_true(r->plain_http);
	assert_true(r->tls_verify);
	r = config_registry_find(c, "REGISTRY.example.com");
	assert_non_null(r);
	assert_false(r->plain_http);
	assert_false(r->tls_verify);
	assert_null(config_registry_find(c, "registry.example.com:5001"));
	assert_null(config_registry_find(c, "example.com"));
	assert_null(config_registry_find(c, NULL));
	assert_null(config_registry_find(NULL, "registry.example.com"));
	config_free(c);
	unit_env_free(u);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_defaults),      cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_size_bound),    cmocka_unit_test(test_not_a_file),
	    cmocka_unit_test(test_unreadable),    cmocka_unit_test(test_load_twice),
	    cmocka_unit_test(test_registry_find),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(load_cases)];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (i = 0; i < ARRAY_SIZE(load_cases); i++)
		tests[n++] = (struct CMUnitTest){
		    .name = load_cases[i].name,
		    .test_func = test_load_case,
		    .initial_state = (void *)&load_cases[i],
		};
	return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
