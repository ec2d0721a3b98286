/* tests/unit/test_diag.c - the node checks' parsers (PSI, meminfo, /proc/PID/stat, sched, kmsg
 * records), percentiles, status ranking, the built-in kernel log rules and Prometheus escaping
 * (common/node/diag.h, common/node/prom.h) */
#include <math.h>
#include <regex.h>

#include "tests/unit/unit.h"
#include "common/node/diag.h"
#include "common/node/metrics.h"
#include "common/node/prom.h"
#include "common/node/relist.h"

static void test_psi(void **state)
{
	static const char *const bad[] = {
	    "",
	    "full avg10=1.00 avg60=1.00 avg300=1.00 total=1\n",         /* no some */
	    "some avg10=1.00 avg60=x avg300=1.00 total=1\n",            /* not a number */
	    "some avg10=1.00 avg60=1.00\n",                             /* cut short */
	    "some avg10=1.00 avg60=1.00 avg300=1.00 total=1\nhalf x\n", /* unknown line */
	};
	struct psi p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(psi_parse("some avg10=80.00 avg60=62.50 avg300=9.99 total=123456\n"
	                           "full avg10=35.10 avg60=20.00 avg300=0.00 total=1234\n",
	                           &p, &e),
	                 0);
	assert_true(p.some_avg10 == 80.0 && p.some_avg60 == 62.5 && p.some_avg300 == 9.99);
	assert_true(p.has_full && p.full_avg10 == 35.1 && p.full_avg60 == 20.0);
	/* old kernels and cgroup cpu.pressure before 5.13 have no full line */
	assert_int_equal(psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &p, &e), 0);
	assert_false(p.has_full);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		assert_int_equal(psi_parse(bad[i], &p, &e), -1);
		assert_int_equal(e.code, E_INVALID);
	}
}

static void test_meminfo(void **state)
{
	const char *text = "MemTotal:       32768000 kB\nDirty:             20480 kB\n"
	                   "DirtyX:  1 kB\nHugePages_Total:       4\nBad:  x kB\n";
	struct err e = ERR_INIT;
	int64_t v = -1;

	(void)state;
	assert_int_equal(meminfo_get(text, "MemTotal", &v, &e), 0);
	assert_int_equal(v, 32768000LL * 1024);
	assert_int_equal(meminfo_get(text, "Dirty", &v, &e), 0); /* not DirtyX */
	assert_int_equal(v, 20480LL * 1024);
	assert_int_equal(meminfo_get(text, "HugePages_Total", &v, &e), 0); /* no unit: a count */
	assert_int_equal(v, 4);
	assert_int_equal(meminfo_get(text, "Writeback", &v, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_int_equal(meminfo_get(text, "Bad", &v, &e), -1);
	assert_int_equal(e.code, E_INVALID);
}

static void test_stat(void **state)
{
	struct proc_stat s;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(
	    proc_stat_parse("4242 (umount) D 1 4242 4242 0 -1 4194560 100 0 0 0 10 5 0 0 "
	                    "20 0 1 0 5000 1000000 100\n",
	                    &s, &e),
	    0);
	assert_string_equal(s.comm, "umount");
	assert_int_equal(s.state, 'D');
	assert_int_equal(s.ppid, 1);
	assert_int_equal(s.starttime, 5000);
	/* a comm with spaces and parentheses: taken up to the last ')' */
	assert_int_equal(proc_stat_parse("77 (a) b (c)) Z 9 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
	                                 "123 0 0\n",
	                                 &s, &e),
	                 0);
	assert_string_equal(s.comm, "a) b (c)");
	assert_int_equal(s.state, 'Z');
	assert_int_equal(s.ppid, 9);
	assert_int_equal(s.starttime, 123);
	assert_int_equal(proc_stat_parse("1 (init S 0", &s, &e), -1);
	assert_int_equal(proc_stat_parse("1 (init) S 0 1 1\n", &s, &e), -1); /* no starttime */
}

static void test_sched(void **state)
{
	struct err e = ERR_INIT;
	int64_t ns = 0;

	(void)state;
	assert_int_equal(sched_exec_start_parse("x (1, #threads: 1)\n----\nse.exec_start    "
	                                        "                        :       3168586.209746\n",
	                                        &ns, &e),
	                 0);
	assert_int_equal(ns, 3168586209746LL);
	assert_int_equal(sched_exec_start_parse("se.exec_start : 12.5\n", &ns, &e), 0);
	assert_int_equal(ns, 12500000LL);
	assert_int_equal(sched_exec_start_parse("se.vruntime : 1.0\n", &ns, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
}

static void test_kmsg(void **state)
{
	const char *line =
	    "3,1234,3586873300,-;Memory cgroup out of memory: Killed process 1 (sh)\n";
	struct kmsg_record r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kmsg_record_parse(line, strlen(line), &r, &e), 0);
	assert_int_equal(r.level, 3);
	assert_int_equal(r.seq, 1234);
	assert_int_equal(r.usec, 3586873300ULL);
	assert_int_equal(r.msg_len, strlen("Memory cgroup out of memory: Killed process 1 (sh)"));
	assert_memory_equal(r.msg, "Memory cgroup", 13);
	/* facility bits are masked off; extra header fields after the flags are allowed */
	line = "30,5,100,c,caller=T1;msg";
	assert_int_equal(kmsg_record_parse(line, strlen(line), &r, &e), 0);
	assert_int_equal(r.level, 6);
	assert_int_equal(r.msg_len, 3);
	line = " SUBSYSTEM=memory";
	assert_int_equal(kmsg_record_parse(line, strlen(line), &r, &e), -1);
	line = "no header at all";
	assert_int_equal(kmsg_record_parse(line, strlen(line), &r, &e), -1);
}

static void test_rules(void **state)
{
	static const struct {
		const char *msg, *reason;
	} cases[] = {
	    {"Out of memory: Killed process 123 (java) total-vm:1kB", "OOMKilling"},
	    {"INFO: task umount:4242 blocked for more than 120 seconds.", "TaskHung"},
	    {"watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [a:1]", "SoftLockup"},
	    {"EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2", "Ext4Error"},
	    {"XFS (dm-0): metadata I/O error in \"xfs_trans_read_buf_map\"", "XFSError"},
	    {"blk_update_request: I/O error, dev sdb, sector 8", "IOError"},
	    {"I/O error, dev nvme0n1, sector 8 op 0x1:(WRITE)", "IOError"},
	    {"EXT4-fs (sda1): Remounting filesystem read-only", "ReadonlyFilesystem"},
	    {"nf_conntrack: nf_conntrack: table full, dropping packet", "ConntrackFull"},
	    {"EXT4-fs (sda1): mounted filesystem with ordered data mode", NULL},
	    {"sh invoked oom-killer: gfp_mask=0xcc0", NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *hit = NULL;

		for (const struct diag_rule *r = diag_kmsg_rules; r->pattern && !hit; r++) {
			regex_t re;

			assert_int_equal(regcomp(&re, r->pattern, REG_EXTENDED | REG_NOSUB), 0);
			if (regexec(&re, cases[i].msg, 0, NULL, 0) == 0)
				hit = r->reason;
			regfree(&re);
		}
		if (cases[i].reason)
			assert_string_equal(hit, cases[i].reason);
		else
			assert_null(hit);
	}
}

static void test_status(void **state)
{
	const int64_t v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

	(void)state;
	assert_int_equal(diag_worse(DIAG_OK, DIAG_UNKNOWN), DIAG_UNKNOWN);
	assert_int_equal(diag_worse(DIAG_UNKNOWN, DIAG_WARN), DIAG_WARN);
	assert_int_equal(diag_worse(DIAG_FAIL, DIAG_UNKNOWN), DIAG_FAIL);
	assert_int_equal(diag_worse(DIAG_WARN, DIAG_OK), DIAG_WARN);
	assert_int_equal(diag_percentile(v, 20, 50), 10);
	assert_int_equal(diag_percentile(v, 20, 99), 20);
	assert_int_equal(diag_percentile(v, 1, 99), 1);
	assert_int_equal(diag_percentile(v, 0, 99), 0);
	for (const struct diag_check *c = diag_checks; c->name; c++)
		assert_ptr_equal(diag_check_find(c->name), c);
	assert_null(diag_check_find("nope"));
}

static void test_result(void **state)
{
	struct diag_result r = {0};

	(void)state;
	/* the first finding of the worst status stays the headline */
	diag_set(&r, DIAG_WARN, "A", "ra", "first warn");
	diag_set(&r, DIAG_WARN, "B", "rb", "second warn");
	assert_string_equal(r.summary, "first warn");
	diag_set(&r, DIAG_FAIL, "C", "rc", "a fail");
	diag_set(&r, DIAG_UNKNOWN, NULL, NULL, "unknown");
	assert_int_equal(r.status, DIAG_FAIL);
	assert_string_equal(r.reason, "C");
	assert_string_equal(r.remedy, "rc");
	diag_num(&r, "n_bytes", 3);
	diag_text(&r, "t", "%s-%d", "x", 1);
	assert_int_equal(r.n_ev, 2);
	assert_string_equal(r.ev[1].text, "x-1");
	diag_result_release(&r);
	assert_null(r.summary);
}

static void test_prom(void **state)
{
	struct buf b = BUF_INIT;
	const char *kv[] = {"check", "a\"b\\c\nd"};
	char *n;

	(void)state;
	prom_sample(&b, "m", 3, 1, kv);
	prom_sample(&b, "m", 0.25, 0, NULL);
	prom_sample(&b, "m", 1795946400.5, 0, NULL);
	assert_string_equal(buf_str(&b),
	                    "m{check=\"a\\\"b\\\\c\\nd\"} 3\nm 0.25\nm 1795946400.5\n");
	buf_release(&b);
	n = prom_name("9a-b.c");
	assert_string_equal(n, "_a_b_c");
	free(n);
	assert_true(metrics_parse_size("2.15MB") == 2150000.0);
	assert_true(metrics_parse_size("512B") == 512.0);
	assert_true(metrics_parse_size("1.2GB") == 1.2e9);
	assert_true(metrics_parse_size("12 MB") < 0);
	assert_true(metrics_parse_size("x") < 0);
}

static void test_histogram(void **state)
{
	static const double le[] = {0.5, 1, 2};
	static const uint64_t cum[] = {1, 98, 99};
	struct buf b = BUF_INIT;

	(void)state;
	prom_histogram(&b, "h_seconds", "H.", le, cum, 3, 100, 12.5);
	assert_string_equal(buf_str(&b), "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
	                                 "h_seconds_bucket{le=\"0.5\"} 1\n"
	                                 "h_seconds_bucket{le=\"1\"} 98\n"
	                                 "h_seconds_bucket{le=\"2\"} 99\n"
	                                 "h_seconds_bucket{le=\"+Inf\"} 100\n"
	                                 "h_seconds_sum 12.5\nh_seconds_count 100\n");
	buf_release(&b);
	/* the bucket holding the quantile bounds it: 98 of 100 within 1 s, 99 within 2 s */
	assert_true(relist_quantile_le(cum, le, 3, 100, 0.5) == 1);
	assert_true(relist_quantile_le(cum, le, 3, 100, 0.98) == 1);
	assert_true(relist_quantile_le(cum, le, 3, 100, 0.99) == 2);
	assert_true(isinf(relist_quantile_le(cum, le, 3, 100, 1)));
	assert_true(isnan(relist_quantile_le(cum, le, 3, 0, 0.99)));
	/* the interval buckets are ordered and resolve the default 1 s period */
	for (size_t i = 1; i < RELIST_INTERVAL_BUCKETS; i++)
		assert_true(relist_interval_le[i - 1] < relist_interval_le[i]);
	assert_true(relist_interval_le[1] < 1 && relist_interval_le[2] > 1 &&
	            relist_interval_le[2] < 1.1);
	assert_true(relist_interval_le[RELIST_INTERVAL_BUCKETS - 1] == 180);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_psi),    cmocka_unit_test(test_meminfo),
	    cmocka_unit_test(test_stat),   cmocka_unit_test(test_sched),
	    cmocka_unit_test(test_kmsg),   cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_status), cmocka_unit_test(test_result),
	    cmocka_unit_test(test_prom),   cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
