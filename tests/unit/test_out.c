/* tests/unit/test_out.c - tables, JSON, -q and write errors (common/util/out.h) */
#include <errno.h>
#include <signal.h>

#include "tests/unit/unit.h"
#include "common/util/jsonio.h"
#include "common/util/out.h"
#include "common/util/units.h"

static const struct col cols[] = {
    {"id", "CONTAINER ID", COL_ID},   {"image", "IMAGE", COL_STR},
    {"size_bytes", "SIZE", COL_SIZE}, {"created", "CREATED", COL_TIME},
    {"running", "RUNNING", COL_BOOL}, {0}};
static const char *id1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char *id2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/* Renders two rows with ctx settings and returns the text (caller frees). */
static char *render(struct ctx *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct err e = ERR_INIT;
	struct out *o;
	int64_t now = unit_fixed_now();

	assert_non_null(f);
	ctx->out = f;
	ctx->now_ns = unit_fixed_now;
	o = out_begin(ctx, cols);
	out_row(o, id1, "busybox:latest", (int64_t)12345678, now - 300 * NSEC_PER_SEC, 1);
	out_row(o, id2, (const char *)NULL, (int64_t)999, (int64_t)0, 0);
	assert_int_equal(out_end(o, &e), 0);
	fclose(f);
	return text;
}

static void test_table(void **state)
{
	struct ctx ctx = {0};
	cleanup_free char *t = render(&ctx);
	(void)state;
	assert_string_equal(t, "CONTAINER ID   IMAGE            SIZE     CREATED         RUNNING\n"
	                       "0123456789ab   busybox:latest   12.3MB   5 minutes ago   true\n"
	                       "fedcba987654                    999B                     false\n");
}

static void test_no_trunc_and_quiet(void **state)
{
	struct ctx ctx = {0};
	cleanup_free char *t = NULL;
	cleanup_free char *q = NULL;
	(void)state;
	ctx.no_trunc = true;
	t = render(&ctx);
	assert_non_null(strstr(t, id1));
	ctx.no_trunc = false;
	ctx.quiet = true;
	ctx.fmt = OUT_JSON; /* -q wins over any format */
	q = render(&ctx);
	assert_int_equal(strlen(q), 2 * 65);
	assert_memory_equal(q, id1, 64);
}

static void test_json(void **state)
{
	struct ctx ctx = {.fmt = OUT_JSON};
	cleanup_free char *t = render(&ctx);
	cleanup_json struct json_object *j = NULL;
	struct json_object *row, *v;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(jsonio_parse(t, strlen(t), &j, &e), 0);
	assert_true(json_object_is_type(j, json_type_array));
	assert_int_equal(json_object_array_length(j), 2);
	row = json_object_array_get_idx(j, 0);
	assert_true(json_object_object_get_ex(row, "id", &v));
	assert_string_equal(json_object_get_string(v), id1);
	assert_true(json_object_object_get_ex(row, "size_bytes", &v));
	assert_int_equal(json_object_get_int64(v), 12345678);
	assert_true(json_object_object_get_ex(row, "created", &v));
	assert_string_equal(json_object_get_string(v), "2026-11-18T11:01:40.000000000Z");
	row = json_object_array_get_idx(j, 1);
	assert_true(json_object_object_get_ex(row, "image", &v));
	assert_null(v);
}

static void test_json_empty_and_jsonl(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct ctx ctx = {.fmt = OUT_JSON, .out = f};
	struct err e = ERR_INIT;
	cleanup_free char *l = NULL;
	(void)state;
	assert_int_equal(out_end(out_begin(&ctx, cols), &e), 0);
	fclose(f);
	assert_string_equal(text, "[]\n");
	free(text);
	ctx.fmt = OUT_JSONL;
	l = render(&ctx);
	assert_int_equal(l[strlen(l) - 1], '\n');
	assert_non_null(strchr(l, '\n'));
	assert_ptr_equal(strchr(strchr(l, '\n') + 1, '\n'), l + strlen(l) - 1);
}

static void test_write_errors(void **state)
{
	struct ctx ctx = {0};
	struct err e = ERR_INIT;
	struct out *o;
	int p[2];
	FILE *f;
	(void)state;
	/* /dev/full: the error is reported. */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	ctx.out = f;
	ctx.now_ns = unit_fixed_now;
	o = out_begin(&ctx, cols);
	out_row(o, id1, "x", (int64_t)1, (int64_t)0, 0);
	assert_int_equal(out_end(o, &e), -1);
	assert_int_equal(e.code, E_NOSPACE);
	fclose(f);
	/* A closed pipe (a pager that quit): a quiet success. */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	f = fdopen(p[1], "w");
	ctx.out = f;
	o = out_begin(&ctx, cols);
	out_row(o, id1, "x", (int64_t)1, (int64_t)0, 0);
	err_clear(&e);
	assert_int_equal(out_end(o, &e), 0);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),        cmocka_unit_test(test_no_trunc_and_quiet),
	    cmocka_unit_test(test_json),         cmocka_unit_test(test_json_empty_and_jsonl),
	    cmocka_unit_test(test_write_errors),
	};
	return cmocka_run_group_tests_name("out", tests, NULL, NULL);
}
