#!/usr/bin/env bats
# ctrbox metrics: container figures from v2 and v1 cgroup fixture trees for a running container,
# the relist histogram, check statuses, pulls and events counted from a journal, --textfile
# written atomically; every output validated by `promtool check metrics` and tests/prom_lint.py
# (tests/promcheck.bash; issue 8).

setup_file() {
	load ../promcheck
	promtool_fetch
}

setup() {
	load ../helpers
	load ../promcheck
	sandbox
	FIX=$TOP/tests/fixtures/node
	CTRBOX_STATE=$(mktemp -d /tmp/ctrbox-metrics.XXXXXX)
	export CTRBOX_STATE
	mkdir -p "$CTRBOX_ROOT"
	BG_PIDS=()
	ID=$(printf 'a%.0s' {1..64})
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$CTRBOX_STATE"
	return 0
}

starttime() { awk '{print $22}' "/proc/$1/stat"; }

# a running container "web" (ID a...a) backed by two live processes, started 2026-11-29T10:00:00Z
running() {
	local init shim
	sleep 1000 3>&- & init=$!; BG_PIDS+=("$init")
	sleep 1000 3>&- & shim=$!; BG_PIDS+=("$shim")
	mkdir -p "$CTRBOX_ROOT/containers/$ID" "$CTRBOX_STATE/containers/$ID"
	printf '{"id":"%s","name":"web","image":"docker.io/library/busybox:1.36","created":"2026-11-29T09:59:00Z"}' \
		"$ID" >"$CTRBOX_ROOT/containers/$ID/container.json"
	printf '{"status":"running","pid":%s,"pid_start_time":%s,"shim_pid":%s,"shim_start_time":%s,"started":"2026-11-29T10:00:00Z","exit_code":0}' \
		"$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")" >"$CTRBOX_STATE/containers/$ID/state.json"
}

sample() { # sample NAME: the value of the one series of NAME in $output
	grep "^$1[{ ]" <<<"$output" | awk '{print $NF}'
}

@test "metrics: a running container's figures from cgroup v2 under cAdvisor's names" {
	running
	export CTRBOX_HOST_CGROUP=$FIX/metrics-v2/cgroup CTRBOX_TEST_NOW=2026-11-29T12:00:00Z
	ctrbox metrics
	assert_success
	promcheck "$output"
	local l='{id="'$ID'",name="web",image="docker.io/library/busybox:1.36"}'
	assert_line "container_cpu_usage_seconds_total$l 2.5"
	assert_line "container_memory_usage_bytes$l 104857600"
	assert_line "container_memory_working_set_bytes$l 62914560"
	assert_line "container_oom_events_total$l 2"
	assert_line "container_start_time_seconds$l 1795946400"
	assert_line "container_last_seen$l 1795953600"
	assert_line "# TYPE container_cpu_usage_seconds_total counter"
}

@test "metrics: the same figures from cgroup v1 (cpuacct, memory.usage_in_bytes, oom_control)" {
	running
	export CTRBOX_HOST_CGROUP=$FIX/metrics-v1/cgroup
	ctrbox metrics
	assert_success
	promcheck "$output"
	assert_equal "$(sample container_cpu_usage_seconds_total)" 1.5
	assert_equal "$(sample container_memory_usage_bytes)" 209715200
	assert_equal "$(sample container_memory_working_set_bytes)" 200278016
	assert_equal "$(sample container_oom_events_total)" 1
}

@test "metrics: no container series for exited containers; families still declared" {
	export CTRBOX_HOST_CGROUP=$FIX/metrics-v2/cgroup
	ctrbox metrics
	assert_success
	promcheck "$output"
	refute_line --regexp '^container_'
	assert_line "# TYPE container_memory_usage_bytes gauge"
}

@test "metrics: pulls, bytes and seconds from Pulled events; events by reason and type" {
	cp -r "$FIX/metrics-journal/events" "$CTRBOX_ROOT/"
	ctrbox metrics
	assert_success
	promcheck "$output"
	assert_line "ctrbox_pulls_total 2"
	assert_line "ctrbox_pull_bytes_total 5770000"
	assert_line "ctrbox_pull_seconds_total 2.35"
	assert_line 'ctrbox_events_total{reason="Pulled",type="Normal"} 2'
	assert_line 'ctrbox_events_total{reason="Failed",type="Warning"} 1'
	assert_line 'ctrbox_events_total{reason="ClockUnsynchronised",type="Warning"} 1'
}

@test "metrics: the relist histogram once relist recorded it; every check's status" {
	ctrbox metrics
	refute_line --partial ctrbox_relist_duration_seconds
	ctrbox relist
	assert_success
	ctrbox relist
	ctrbox metrics
	assert_success
	promcheck "$output"
	assert_line 'ctrbox_relist_duration_seconds_bucket{le="+Inf"} 2'
	assert_line "ctrbox_relist_duration_seconds_count 2"
	assert_line 'ctrbox_relist_interval_seconds_bucket{le="+Inf"} 1'
	assert_line "ctrbox_relist_interval_seconds_count 1"
	assert_line "# TYPE ctrbox_relist_interval_seconds histogram"
	for c in pressure memory dstate fsync disk limits clock cgroup kmsg store shims overlay relist; do
		assert_line --regexp "^ctrbox_check_status\{check=\"$c\"\} [0-3]$"
	done
}

@test "metrics: the relist interval histogram in its buckets, with its sum" {
	local t
	for t in 10:00:00 10:00:01.02 10:00:02.52; do
		CTRBOX_TEST_NOW=2026-11-29T${t}Z ctrbox relist
		assert_success
	done
	ctrbox metrics
	assert_success
	promcheck "$output"
	assert_line 'ctrbox_relist_interval_seconds_bucket{le="0.95"} 0'
	assert_line 'ctrbox_relist_interval_seconds_bucket{le="1.05"} 1'
	assert_line 'ctrbox_relist_interval_seconds_bucket{le="1.25"} 1'
	assert_line 'ctrbox_relist_interval_seconds_bucket{le="1.5"} 2'
	assert_line 'ctrbox_relist_interval_seconds_bucket{le="180"} 2'
	assert_line 'ctrbox_relist_interval_seconds_bucket{le="+Inf"} 2'
	assert_line "ctrbox_relist_interval_seconds_sum 2.52"
	assert_line "ctrbox_relist_interval_seconds_count 2"
}

@test "metrics: --textfile writes DIR/ctrbox.prom atomically and nothing else; a bad DIR fails" {
	mkdir "$BATS_TEST_TMPDIR/tf"
	ctrbox metrics --textfile "$BATS_TEST_TMPDIR/tf"
	assert_success
	assert_output ""
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/tf")" "ctrbox.prom"
	promcheck "$(cat "$BATS_TEST_TMPDIR/tf/ctrbox.prom")"
	ctrbox metrics --textfile "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	assert_equal "$stderr" "ctrbox metrics: --textfile $BATS_TEST_TMPDIR/missing: No such file or directory"
	ctrbox metrics --textfile "$BATS_TEST_TMPDIR/tf/ctrbox.prom"
	assert_failure 1
	[[ $stderr == *"Not a directory" ]]
	ctrbox metrics extra
	assert_failure 2
}

@test "metrics: promtool and prom_lint reject what they check (so the validation can fail)" {
	requires cmd promtool
	run promtool check metrics <<<$'# TYPE x counter\nx 1'
	assert_failure
	assert_line --partial 'x counter metrics should have "_total" suffix'
	assert_line --partial "x no help text"
	run promtool check metrics <<<$'# HELP x_ms h\n# TYPE x_ms gauge\nx_ms 1'
	assert_failure
	assert_line --partial "x_ms metric names should not contain abbreviated units"
	run /usr/bin/python3 "$TOP/tests/prom_lint.py" - <<<$'# HELP x_total h\n# TYPE x_total counter\nx_total 1\nx_total 1'
	assert_failure
	assert_line --partial "appears twice"
	run /usr/bin/python3 "$TOP/tests/prom_lint.py" - <<<$'# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 1\nh_count 2'
	assert_failure
	assert_line --partial 'no le="+Inf" bucket last'
	run /usr/bin/python3 "$TOP/tests/prom_lint.py" - <<<$'# HELP a h\n# TYPE a gauge\na 1\n# HELP b h\n# TYPE b gauge\nb 1\na{x="y"} 2'
	assert_failure
	assert_line --partial "samples of a are split by another family"
}
