/* common/util/mem.c - allocation that aborts on exhaustion, and the cleanup helpers */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util/mem.h"

static void __attribute__((noreturn)) oom(size_t n)
{
	/* Out of memory is the one fatal error below cmd/: there is nothing useful to unwind to. */
	fprintf(stderr, "ctrbox: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		oom(strlen(s) + 1);
	return d;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		oom(n + 1);
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(strlen(fmt));
	return s;
}

void freep(void *p)
{
	void **pp = p;

	free(*pp);
	*pp = NULL;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}

void strvp_free(char ***v)
{
	strv_free(*v);
	*v = NULL;
}

size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

void strv_push(char ***v, const char *s)
{
	size_t n = strv_len(*v);

	*v = xreallocarray(*v, n + 2, sizeof(**v));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
		*fd = -1;
	}
}

void fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;

		fclose(*f);
		errno = saved;
		*f = NULL;
	}
}

/* Each loaded object's segments: code and read-only data mapped readable, writable data
 * faulted in for writing. A RELRO range is read-only by now, so it is mapped for reading:
 * writing to it would fail, and so would a populate that covered it. */
struct prefault_what {
	uintptr_t page;
	bool data;
};

static int prefault_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	const struct prefault_what *w = arg;
	uintptr_t page = w->page, relro_lo = 0, relro_hi = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO) {
			relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
			relro_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
		}
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		uintptr_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);

		if (ph->p_type != PT_LOAD || hi <= lo)
			continue;
		if (!(ph->p_flags & PF_W)) {
			(void)madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
			continue;
		}
		if (!w->data)
			continue;
		if (relro_hi > lo && relro_lo < hi) {
			(void)madvise((void *)lo, relro_hi - lo, MADV_POPULATE_READ);
			lo = relro_hi;
		}
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
	}
	return 0;
}

void mem_prefault_image(bool data)
{
	struct prefault_what w = {.page = (uintptr_t)sysconf(_SC_PAGESIZE), .data = data};

	(void)dl_iterate_phdr(prefault_object, &w);
}

/* Every page of the heap present and writable now, in one system call. */
static void populate_heap(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct mallinfo2 mi = mallinfo2();
	uintptr_t top = (uintptr_t)sbrk(0), lo;

	/* arena is what the allocator took with brk: the heap is the arena bytes below the break
	 * (none under ASan, whose allocator is its own). */
	if (mi.arena == 0 || mi.arena > top)
		return;
	lo = (top - mi.arena) & ~(page - 1);
	(void)madvise((void *)lo, top - lo, MADV_POPULATE_WRITE);
}

void mem_prefault_heap(size_t bytes)
{
	void *p;

	if (bytes > INT_MAX / 4)
		return;
	/* One block of `bytes` from the heap, not from mmap, and no trimming of it once freed:
	 * mallopt answers 1 where glibc's allocator is the one in use (not under ASan). */
	if (mallopt(M_MMAP_THRESHOLD, (int)(2 * bytes)) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, (int)(4 * bytes)) != 1)
		return;
	p = malloc(bytes);
	if (!p)
		return;
	free(p);
	populate_heap();
}
