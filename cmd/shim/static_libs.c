/* cmd/shim/static_libs.c - the static ctrbox-shim links libyaml and libseccomp in (Makefile
 * SHIM_LIBS), so the code it shares with ctrbox finds them loaded: here each *_dl_require that
 * ctrbox answers by opening the library (common/util/dynlib.h) succeeds at once. The shim never
 * links the forwarders of libctrbox-dl.a, which would dlopen from a static program. */
#include "common/runtime/seccomp_dl.h"
#include "common/util/yaml_dl.h"

int yaml_dl_require(struct err *e)
{
	(void)e;
	return 0;
}

int seccomp_dl_require(struct err *e)
{
	(void)e;
	return 0;
}
