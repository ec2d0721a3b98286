/* tests/unit/test_mem.c - faulting memory in ahead of use (common/util/mem.h): after
 * mem_prefault_heap the next allocations are written without page faults, and
 * mem_prefault_image maps the code a forked child would otherwise fault in again. Faults are counted with
 * getrusage's ru_minflt; under ASan, whose allocator is not glibc's, both must be harmless
 * no-ops instead. */
#include <link.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tests/unit/unit.h"

#define PAGE   4096
#define BLOCKS 32 /* 128 KiB in page-sized blocks: half of what is faulted in */

static long minflt(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

#ifdef __SANITIZE_ADDRESS__
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

/* Writes BLOCKS fresh page-sized blocks; returns the faults that took. */
static long write_blocks(char **b)
{
	long before = minflt();

	for (int i = 0; i < BLOCKS; i++) {
		b[i] = xmalloc(PAGE);
		memset(b[i], i, PAGE);
	}
	return minflt() - before;
}

static void test_prefault(void **state)
{
	char *b[BLOCKS];
	long faults;

	(void)state;
	mem_prefault_heap(256u << 10);
	faults = write_blocks(b);
	for (int i = 0; i < BLOCKS; i++)
		free(b[i]);
	if (UNDER_ASAN)
		return; /* glibc's allocator is not in use: nothing to fault in */
	/* Without the prefault this is one fault per page, BLOCKS or more. */
	assert_true(faults <= 2);
}

/* The largest code segment loaded (libc's: this program's own is a few pages). */
static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t *range = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
		    ph->p_memsz > range[1] - range[0]) {
			range[0] = info->dlpi_addr + ph->p_vaddr;
			range[1] = range[0] + ph->p_memsz;
		}
	}
	return 0;
}

/* A byte of every page in [lo, hi). Not instrumented: under ASan each read would first fault
 * in the shadow memory that describes it, and those faults are not the code's. */
__attribute__((no_sanitize_address)) static char read_pages(uintptr_t lo, uintptr_t hi)
{
	char sum = 0;

	for (uintptr_t a = lo; a < hi; a += PAGE)
		sum = (char)(sum + *(const volatile char *)a);
	return sum;
}

/* In a fresh child (fork copied none of the code's page table entries), the faults it takes
 * to read a byte of every page of the code, after mem_prefault_image or not. */
static int child_text_faults(bool prefault)
{
	uintptr_t range[2] = {0, 0};
	int st;
	pid_t pid;

	(void)dl_iterate_phdr(find_text, range);
	assert_true(range[1] - range[0] >= 16 * PAGE);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		volatile char sink = 0;
		long before;

		if (prefault)
			mem_prefault_image(false);
		before = minflt();
		sink += read_pages(range[0], range[1]);
		_exit((int)(minflt() - before > 250 ? 250 : minflt() - before));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_prefault_image(void **state)
{
	int without, with;

	(void)state;
	without = child_text_faults(false);
	with = child_text_faults(true);
	/* One fault per 64 KiB touched without (fault-around); none with. */
	assert_true(without >= 2);
	assert_true(with <= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefault),
	    cmocka_unit_test(test_prefault_image),
	};
	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
