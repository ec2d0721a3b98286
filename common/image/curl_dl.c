/* common/image/curl_dl.c - the libcurl functions ctrbox uses, forwarded to the library opened
 * on first use (common/util/dynlib.h explains why). Each definition has the name and the type
 * of the real one, checked against <curl/curl.h>; the variadic ones read their argument with the
 * type libcurl itself reads for that option, which the option's number encodes. */
/* Type checking belongs to the callers; here the macros would rename the forwarders. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <stdarg.h>

#include "common/image/curl_dl.h"
#include "common/util/dynlib.h"

#ifndef CURL_SONAME
#define CURL_SONAME "libcurl.so.4"
#endif

typedef void (*any_fn)(void);

static struct {
	CURLcode (*curl_global_init)(long);
	void (*curl_global_cleanup)(void);
	CURL *(*curl_easy_init)(void);
	CURLcode (*curl_easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*curl_easy_perform)(CURL *);
	CURLcode (*curl_easy_getinfo)(CURL *, CURLINFO, ...);
	void (*curl_easy_reset)(CURL *);
	void (*curl_easy_cleanup)(CURL *);
	const char *(*curl_easy_strerror)(CURLcode);
	CURLSH *(*curl_share_init)(void);
	CURLSHcode (*curl_share_setopt)(CURLSH *, CURLSHoption, ...);
	CURLSHcode (*curl_share_cleanup)(CURLSH *);
	struct curl_slist *(*curl_slist_append)(struct curl_slist *, const char *);
	void (*curl_slist_free_all)(struct curl_slist *);
	CURLU *(*curl_url)(void);
	CURLUcode (*curl_url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*curl_url_get)(CURLU *, CURLUPart, char **, unsigned int);
	void (*curl_url_cleanup)(CURLU *);
	void (*curl_free)(void *);
	time_t (*curl_getdate)(const char *, const time_t *);
} fn;

#define SYM(name) {#name, (void **)&fn.name}
static const struct dynlib_sym syms[] = {
	SYM(curl_global_init),  SYM(curl_global_cleanup), SYM(curl_easy_init),
	SYM(curl_easy_setopt),  SYM(curl_easy_perform),   SYM(curl_easy_getinfo),
	SYM(curl_easy_reset),   SYM(curl_easy_cleanup),   SYM(curl_easy_strerror),
	SYM(curl_share_init),   SYM(curl_share_setopt),   SYM(curl_share_cleanup),
	SYM(curl_slist_append), SYM(curl_slist_free_all), SYM(curl_url),
	SYM(curl_url_set),      SYM(curl_url_get),        SYM(curl_url_cleanup),
	SYM(curl_free),         SYM(curl_getdate),
};
static struct dynlib lib = DYNLIB_INIT(CURL_SONAME, syms);

int curl_dl_require(struct err *e)
{
	return dynlib_require(&lib, e);
}

CURLcode curl_global_init(long flags)
{
	return dynlib_ready(&lib) ? fn.curl_global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
	if (dynlib_ready(&lib))
		fn.curl_global_cleanup();
}

CURL *curl_easy_init(void)
{
	return dynlib_ready(&lib) ? fn.curl_easy_init() : NULL;
}

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	dynlib_must(&lib);
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = fn.curl_easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fn.curl_easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = fn.curl_easy_setopt(h, opt, va_arg(ap, any_fn));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = fn.curl_easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = fn.curl_easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	dynlib_must(&lib);
	return fn.curl_easy_perform(h);
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	dynlib_must(&lib);
	va_start(ap, info);
	rc = fn.curl_easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_reset(CURL *h)
{
	dynlib_must(&lib);
	fn.curl_easy_reset(h);
}

void curl_easy_cleanup(CURL *h)
{
	dynlib_must(&lib);
	fn.curl_easy_cleanup(h);
}

const char *curl_easy_strerror(CURLcode rc)
{
	return dynlib_ready(&lib) ? fn.curl_easy_strerror(rc) : "libcurl could not be loaded";
}

CURLSH *curl_share_init(void)
{
	return dynlib_ready(&lib) ? fn.curl_share_init() : NULL;
}

/* SHARE and UNSHARE take an int (a curl_lock_data), the lock functions a function, USERDATA a
 * pointer. */
CURLSHcode curl_share_setopt(CURLSH *sh, CURLSHoption opt, ...)
{
	va_list ap;
	CURLSHcode rc;

	dynlib_must(&lib);
	va_start(ap, opt);
	switch (opt) {
	case CURLSHOPT_SHARE:
	case CURLSHOPT_UNSHARE:
		rc = fn.curl_share_setopt(sh, opt, va_arg(ap, int));
		break;
	case CURLSHOPT_LOCKFUNC:
	case CURLSHOPT_UNLOCKFUNC:
		rc = fn.curl_share_setopt(sh, opt, va_arg(ap, any_fn));
		break;
	default:
		rc = fn.curl_share_setopt(sh, opt, va_arg(ap, void *));
		break;
	}
	va_end(ap);
	return rc;
}

CURLSHcode curl_share_cleanup(CURLSH *sh)
{
	dynlib_must(&lib);
	return fn.curl_share_cleanup(sh);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
	return dynlib_ready(&lib) ? fn.curl_slist_append(list, data) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (list) {
		dynlib_must(&lib);
		fn.curl_slist_free_all(list);
	}
}

CURLU *curl_url(void)
{
	return dynlib_ready(&lib) ? fn.curl_url() : NULL;
}

CURLUcode curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
	dynlib_must(&lib);
	return fn.curl_url_set(u, what, part, flags);
}

CURLUcode curl_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
	dynlib_must(&lib);
	return fn.curl_url_get(u, what, part, flags);
}

void curl_url_cleanup(CURLU *u)
{
	if (u) {
		dynlib_must(&lib);
		fn.curl_url_cleanup(u);
	}
}

void curl_free(void *p)
{
	if (p) {
		dynlib_must(&lib);
		fn.curl_free(p);
	}
}

time_t curl_getdate(const char *p, const time_t *unused)
{
	return dynlib_ready(&lib) ? fn.curl_getdate(p, unused) : -1;
}
