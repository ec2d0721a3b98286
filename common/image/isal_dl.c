/* common/image/isal_dl.c - the ISA-L functions ctrbox uses (gzip inflate of layers), forwarded
 * to the library opened on first use (common/util/dynlib.h explains why). Each definition has
 * the name and the type of the real one, checked against <isa-l/igzip_lib.h>. The state is the
 * caller's, so any of them can be the first call: without the library, init and reset leave it
 * alone and isal_inflate fails with ISAL_INVALID_STATE (after a line on stderr). */
#include <isa-l/igzip_lib.h>

#include "common/image/isal_dl.h"
#include "common/util/dynlib.h"

#ifndef ISAL_SONAME
#define ISAL_SONAME "libisal.so.2"
#endif

static struct {
	void (*isal_inflate_init)(struct inflate_state *);
	void (*isal_inflate_reset)(struct inflate_state *);
	int (*isal_inflate)(struct inflate_state *);
} fn;

#define SYM(name) {#name, (void **)&fn.name}
static const struct dynlib_sym syms[] = {
	SYM(isal_inflate_init),
	SYM(isal_inflate_reset),
	SYM(isal_inflate),
};
static struct dynlib lib = DYNLIB_INIT(ISAL_SONAME, syms);

int isal_dl_require(struct err *e)
{
	return dynlib_require(&lib, e);
}

void isal_inflate_init(struct inflate_state *state)
{
	if (dynlib_ready(&lib))
		fn.isal_inflate_init(state);
}

void isal_inflate_reset(struct inflate_state *state)
{
	if (dynlib_ready(&lib))
		fn.isal_inflate_reset(state);
}

int isal_inflate(struct inflate_state *state)
{
	return dynlib_ready(&lib) ? fn.isal_inflate(state) : ISAL_INVALID_STATE;
}
