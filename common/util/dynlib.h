/* common/util/dynlib.h - libraries loaded on first use instead of at exec.
 *
 * Linking libcurl, libarchive and libcrypto makes the dynamic loader map some 40 objects and
 * resolve their symbols before main(): about 20 ms for every ctrbox process, which is the whole
 * budget of `__complete`, a relist and most of a container lifecycle; libyaml, libisal,
 * libseccomp and readline (with libtinfo) cost about 1 ms more (`ctrbox --version` 4.7 ms
 * against 3.6 ms without them, 2026-11-29). None of those applets needs a network, an archive,
 * a hash, a config file with content, gzip, a syscall filter or a line editor, so these
 * libraries are opened with dlopen(3) the first time one of their functions is called, through
 * small forwarding definitions of the same names (common/image/curl_dl.c,
 * common/image/archive_dl.c, common/store/crypto_dl.c, common/util/yaml_dl.c,
 * common/image/isal_dl.c, common/runtime/seccomp_dl.c). The code that uses them is unchanged
 * and still compiles against the real headers, so a signature that drifts is a compile error.
 * readline is reached through its exported variables too, which no definition can forward:
 * cmd/shell.c uses it through the table of common/util/readline_dl.h instead.
 *
 * The forwarders live in libctrbox-dl.a, which the static ctrbox-shim never links: it has the
 * real libyaml and libseccomp, and its *_dl_require come from cmd/shim/static_libs.c. */
#ifndef CTRBOX_UTIL_DYNLIB_H
#define CTRBOX_UTIL_DYNLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/util/err.h"

/* One function to resolve: its name and where its address goes. */
struct dynlib_sym {
	const char *name;
	void **slot;
};

/* A library opened at most once, by whichever thread needs it first. */
struct dynlib {
	const char *soname;
	const struct dynlib_sym *syms;
	size_t n_syms;
	pthread_once_t once;
	bool ok;
	bool told;     /* dynlib_ready has printed why */
	char why[256]; /* dlerror() when the library or a symbol could not be found */
};

#define DYNLIB_INIT(so, table)                                                               \
	{(so), (table), sizeof(table) / sizeof((table)[0]), PTHREAD_ONCE_INIT, false, false, ""}

/* Opens the library and resolves every symbol (all or nothing), once. Returns 0, or -1 with
 * E_UNSUPPORTED and the loader's reason in e. Safe from any thread. */
int dynlib_require(struct dynlib *l, struct err *e);

/* As dynlib_require for the forwarding functions, which have no error value to carry the
 * reason: true when loaded; otherwise prints the reason once on stderr and returns false. */
bool dynlib_ready(struct dynlib *l);

/* The forwarding functions of objects that only the library itself can have handed out (an
 * archive entry, a curl handle): the library is necessarily loaded. */
void dynlib_must(struct dynlib *l);

#endif
