/* common/util/dynlib.c - libraries loaded on first use (dynlib.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util/dynlib.h"

/* pthread_once takes no argument: the library being opened is handed over in this
 * thread-local, set just before the call by the thread that runs it. */
static __thread struct dynlib *opening;

static void open_once(void)
{
	struct dynlib *l = opening;
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(l->why, sizeof(l->why), "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < l->n_syms; i++) {
		void *p = dlsym(h, l->syms[i].name);
		if (!p) {
			snprintf(l->why, sizeof(l->why), "%s: no symbol %s", l->soname,
			         l->syms[i].name);
			/* Left loaded: some slots are filled, and dlclose of a library that
			 * registered atexit handlers is not worth the risk. */
			return;
		}
		*l->syms[i].slot = p;
	}
	l->ok = true;
}

static bool load(struct dynlib *l)
{
	opening = l;
	pthread_once(&l->once, open_once);
	opening = NULL;
	return l->ok;
}

int dynlib_require(struct dynlib *l, struct err *e)
{
	if (load(l))
		return 0;
	return err_set(e, E_UNSUPPORTED, "cannot load %s: %s", l->soname, l->why);
}

bool dynlib_ready(struct dynlib *l)
{
	if (load(l))
		return true;
	/* One line, whatever the number of calls; the caller reports its own failure too. */
	if (!__atomic_exchange_n(&l->told, true, __ATOMIC_RELAXED))
		fprintf(stderr, "ctrbox: cannot load %s: %s\n", l->soname, l->why);
	return false;
}

void dynlib_must(struct dynlib *l)
{
	if (load(l))
		return;
	fprintf(stderr, "ctrbox: %s used before it was loaded: %s\n", l->soname, l->why);
	abort();
}
