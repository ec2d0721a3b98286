/* tests/unit/test_dynlib.c - libraries opened on first use (common/util/dynlib.h) */
#include <math.h>

#include "tests/unit/unit.h"
#include "common/util/dynlib.h"

static double (*my_cos)(double);
static void *my_missing;

static const struct dynlib_sym libm_syms[] = {{"cos", (void **)&my_cos}};
static const struct dynlib_sym bad_syms[] = {{"cos", (void **)&my_cos},
                                             {"ctrbox_no_such_symbol", &my_missing}};
static const struct dynlib_sym none_syms[] = {{"cos", (void **)&my_cos}};

static void test_loads_and_resolves(void **state)
{
	static struct dynlib l = DYNLIB_INIT("libm.so.6", libm_syms);
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(dynlib_require(&l, &e), 0);
	assert_non_null(my_cos);
	assert_true(my_cos(0.0) == 1.0);
	assert_true(dynlib_ready(&l)); /* once is enough; a second call is free */
}

static void test_missing_library_is_an_error_with_its_reason(void **state)
{
	static struct dynlib l = DYNLIB_INIT("libctrbox-no-such.so.9", none_syms);
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(dynlib_require(&l, &e), -1);
	assert_int_equal(e.code, E_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "cannot load libctrbox-no-such.so.9: "));
	assert_false(dynlib_ready(&l));
	assert_false(dynlib_ready(&l)); /* prints once, fails every time */
}

static void test_missing_symbol_fails_the_whole_library(void **state)
{
	static struct dynlib l = DYNLIB_INIT("libm.so.6", bad_syms);
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(dynlib_require(&l, &e), -1);
	assert_non_null(strstr(e.msg, "no symbol ctrbox_no_such_symbol"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_and_resolves),
		cmocka_unit_test(test_missing_library_is_an_error_with_its_reason),
		cmocka_unit_test(test_missing_symbol_fails_the_whole_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
