/* common/util/mem.h - allocation that aborts on exhaustion, and scope-bound cleanup (STYLE.md
 * "Memory and cleanup"). Out of memory is the one fatal error below cmd/. */
#ifndef CTRBOX_UTIL_MEM_H
#define CTRBOX_UTIL_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

void *xmalloc(size_t n) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t n) __attribute__((returns_nonnull));
/* xreallocarray: p grown to n*size bytes, aborting on overflow as on exhaustion. */
void *xreallocarray(void *p, size_t n, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), malloc, returns_nonnull));

/* Makes the heap's next `bytes` present in one system call (MADV_POPULATE_WRITE) instead of
 * a page fault per page as each is first written, and keeps the allocator from handing them
 * back mid-process. For a process about to build a few hundred kilobytes of documents on a
 * host where faults are dear (on this project's virtual machines a fault costs 14-18 us, a
 * populated page about 1 us). Best effort: without the kernel's or the allocator's support
 * nothing changes. */
void mem_prefault_heap(size_t bytes);
/* Maps every loaded object's code (and with data, its writable data) now, in a few system
 * calls: the pages are in the page cache, and mapping them costs about a microsecond a page
 * against a fault per 64 KiB first touched (fault-around), which is what a child just forked
 * pays all over again, since fork copies no page table entries of file mappings. A child
 * just forked passes data false: its data pages are shared copy-on-write, and copying them
 * all up front costs more than the faults on the few it writes. */
void mem_prefault_image(bool data);

/* Frees *p and sets it to NULL; for arrays of strings, frees each until NULL then the array. */
void freep(void *p);
void strv_free(char **v);
void strvp_free(char ***v);
/* The number of strings before the NULL (0 for a NULL vector). */
size_t strv_len(char *const *v);
/* Appends a copy of s to the NULL-terminated vector *v (which may be NULL). */
void strv_push(char ***v, const char *s);
/* Closes *fd if it is >= 0, keeping errno. */
void closep(int *fd);
void fclosep(FILE **f);

#define cleanup_free   __attribute__((cleanup(freep)))
#define cleanup_strv   __attribute__((cleanup(strvp_free)))
#define cleanup_close  __attribute__((cleanup(closep)))
#define cleanup_fclose __attribute__((cleanup(fclosep)))

/* Ownership leaves the variable; the cleanup then sees NULL / -1. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) take_ptr_ = (p);                                                     \
		(p) = NULL;                                                                        \
		take_ptr_;                                                                         \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int take_fd_ = (fd);                                                               \
		(fd) = -1;                                                                         \
		take_fd_;                                                                          \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
