/* common/runtime/seccomp_dl.c - the libseccomp functions ctrbox uses (the container's syscall
 * filter), forwarded to the library opened on first use (common/util/dynlib.h explains why).
 * Each definition has the name and the type of the real one, checked against <seccomp.h>.
 * seccomp_init and seccomp_syscall_resolve_name can be first calls; the others take a filter
 * seccomp_init made. The static ctrbox-shim links the real library instead (Makefile). */
#include <errno.h>
#include <seccomp.h>
#include <stdarg.h>

#include "common/runtime/seccomp_dl.h"
#include "common/util/dynlib.h"

#ifndef SECCOMP_SONAME
#define SECCOMP_SONAME "libseccomp.so.2"
#endif

/* A syscall has six arguments: libseccomp's own bound on arg_cnt. */
#define SECCOMP_DL_ARGS_MAX 6

static struct {
	scmp_filter_ctx (*seccomp_init)(uint32_t);
	void (*seccomp_release)(scmp_filter_ctx);
	int (*seccomp_syscall_resolve_name)(const char *);
	int (*seccomp_rule_add_array)(scmp_filter_ctx, uint32_t, int, unsigned int,
	                              const struct scmp_arg_cmp *);
	int (*seccomp_load)(const scmp_filter_ctx);
	int (*seccomp_export_bpf)(const scmp_filter_ctx, int);
} fn;

#define SYM(name) {#name, (void **)&fn.name}
static const struct dynlib_sym syms[] = {
	SYM(seccomp_init),           SYM(seccomp_release), SYM(seccomp_syscall_resolve_name),
	SYM(seccomp_rule_add_array), SYM(seccomp_load),    SYM(seccomp_export_bpf),
};
static struct dynlib lib = DYNLIB_INIT(SECCOMP_SONAME, syms);

int seccomp_dl_require(struct err *e)
{
	return dynlib_require(&lib, e);
}

/* NULL (and a line on stderr) when the library is missing, as when libseccomp fails. */
scmp_filter_ctx seccomp_init(uint32_t def_action)
{
	return dynlib_ready(&lib) ? fn.seccomp_init(def_action) : NULL;
}

void seccomp_release(scmp_filter_ctx ctx)
{
	if (ctx) {
		dynlib_must(&lib);
		fn.seccomp_release(ctx);
	}
}

/* __NR_SCMP_ERROR, an unknown name, when the library is missing. */
int seccomp_syscall_resolve_name(const char *name)
{
	return dynlib_ready(&lib) ? fn.seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
}

/* The variadic form is not forwarded as such (a va_list cannot be passed on to a variadic
 * function): it gathers its arg_cnt struct scmp_arg_cmp arguments into an array and calls
 * seccomp_rule_add_array, which is what libseccomp's own seccomp_rule_add does. */
int seccomp_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...)
{
	struct scmp_arg_cmp args[SECCOMP_DL_ARGS_MAX];
	va_list ap;

	if (arg_cnt > SECCOMP_DL_ARGS_MAX)
		return -EINVAL;
	va_start(ap, arg_cnt);
	for (unsigned int i = 0; i < arg_cnt; i++)
		args[i] = va_arg(ap, struct scmp_arg_cmp);
	va_end(ap);
	dynlib_must(&lib);
	return fn.seccomp_rule_add_array(ctx, action, syscall, arg_cnt, args);
}

int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt,
                           const struct scmp_arg_cmp *arg_array)
{
	dynlib_must(&lib);
	return fn.seccomp_rule_add_array(ctx, action, syscall, arg_cnt, arg_array);
}

int seccomp_load(const scmp_filter_ctx ctx)
{
	dynlib_must(&lib);
	return fn.seccomp_load(ctx);
}

int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd)
{
	dynlib_must(&lib);
	return fn.seccomp_export_bpf(ctx, fd);
}
