#!/usr/bin/env bats
# ctrbox relist: PLEG-style events from hand-made records and from real containers (a container
# killed behind the shim's back, a shim killed with -9, removal), the journal, the duration and
# interval histograms and --health, the --watch loop with RelistSlow, and concurrent or killed watchers
# that never corrupt the snapshot nor report an event twice (issue 7).

setup() {
	load ../helpers
	sandbox
	# a short STATE: a real container's attach socket path must fit in sun_path
	CTRBOX_STATE=$(mktemp -d /tmp/ctrbox-relist.XXXXXX)
	export CTRBOX_STATE
	BG_PIDS=()
}

teardown() {
	local p f pid
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for f in "$CTRBOX_STATE"/containers/*/state.json; do
		[ -f "$f" ] || continue
		for pid in $(jq -r '.pid // 0, .shim_pid // 0' "$f"); do
			[ "$pid" -gt 1 ] && kill -9 "$pid" 2>/dev/null
		done
	done
	rm -rf "$CTRBOX_STATE"
	return 0
}

starttime() { awk '{print $22}' "/proc/$1/stat"; }

spawn() {
	sleep 1000 3>&- &
	SPAWNED=$!
	BG_PIDS+=("$SPAWNED")
}

# record C NAME STATUS [PID PST SHIM SST] [EXIT]: a hand-made container, ID C repeated.
record() {
	local id name=$2 status=$3 pid=${4:-0} pst=${5:-0} shim=${6:-0} sst=${7:-0} code=${8:-0}
	id=$(printf "$1%.0s" {1..64})
	mkdir -p "$CTRBOX_ROOT/containers/$id" "$CTRBOX_STATE/containers/$id"
	printf '{"id":"%s","name":"%s","image":"img","created":"2026-11-29T10:00:00Z"}' "$id" "$name" \
		>"$CTRBOX_ROOT/containers/$id/container.json"
	printf '{"status":"%s","pid":%s,"pid_start_time":%s,"shim_pid":%s,"shim_start_time":%s,"exit_code":%s}' \
		"$status" "$pid" "$pst" "$shim" "$sst" "$code" >"$CTRBOX_STATE/containers/$id/state.json.tmp"
	mv "$CTRBOX_STATE/containers/$id/state.json.tmp" "$CTRBOX_STATE/containers/$id/state.json"
}

live() { # live C NAME: a running record backed by two live processes
	local init shim
	spawn; init=$SPAWNED
	spawn; shim=$SPAWNED
	record "$1" "$2" running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")"
}

# zombie: a process that has exited but is not reaped, as a killed shim is until its adopter
# waits for it: the child of a sleep that never waits. Its PID in $ZOMBIE.
zombie() {
	local f=$BATS_TEST_TMPDIR/zombie.pid
	(
		sleep 0.3 3>&- &
		echo $! >"$f"
		exec sleep 1000 3>&-
	) &
	BG_PIDS+=($!)
	retry 50 0.1 test -s "$f"
	ZOMBIE=$(cat "$f")
	retry 50 0.1 is_zombie "$ZOMBIE"
}

is_zombie() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

events_of() { # the EVENT column, comma-separated
	ctrbox relist --format json
	assert_success
	jq -r '.[] | .event + ":" + .name' <<<"$output" | paste -sd,
}

@test "relist: the first relist reports every container, the next only the changes" {
	live a web
	record b job exited 0 0 0 0 3
	record c new created
	record d lost running 1 1 999999 1
	assert_equal "$(events_of)" "ContainerStarted:web,ContainerDied:job,ShimLost:lost"
	assert_equal "$(events_of)" ""
	# web dies (its shim records it), job is removed, new starts
	record a web exited 0 0 0 0 137
	rm -r "$CTRBOX_ROOT/containers/$(printf 'b%.0s' {1..64})"
	live c new
	assert_equal "$(events_of)" "ContainerDied:web,ContainerRemoved:job,ContainerStarted:new"
	ctrbox relist
	assert_success
	assert_output "EVENT   CONTAINER ID   NAME   STATUS   MESSAGE"
	# journaled with source relist, Warnings where something went wrong
	ctrbox events --source relist --format jsonl
	assert_equal "$(jq -r '.type + ":" + .reason + ":" + .object.name' <<<"$output" | paste -sd,)" \
		"Normal:ContainerStarted:web,Warning:ContainerDied:job,Warning:ShimLost:lost,Warning:ContainerDied:web,Normal:ContainerRemoved:job,Normal:ContainerStarted:new"
}

@test "relist: a shim that exited and is not reaped yet (a zombie, same start time) is ShimLost" {
	local init shim
	spawn; init=$SPAWNED
	spawn; shim=$SPAWNED
	record f zshim running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")"
	assert_equal "$(events_of)" "ContainerStarted:zshim"
	# the shim is replaced by one that has exited but is still in the process table
	zombie
	record f zshim running "$init" "$(starttime "$init")" "$ZOMBIE" "$(starttime "$ZOMBIE")"
	is_zombie "$ZOMBIE"
	assert_equal "$(events_of)" "ShimLost:zshim"
	assert_equal "$(jq -r '.containers[0] | split(" ")[1]' "$CTRBOX_STATE/relist/snapshot.json")" unknown
}

@test "relist: the snapshot keeps names with spaces; a damaged or older one starts afresh" {
	live a "web server"
	assert_equal "$(events_of)" "ContainerStarted:web server"
	# one row per container, the name last
	jq -e '.format == 2 and (.containers[0] | endswith(" web server"))' \
		"$CTRBOX_STATE/relist/snapshot.json"
	assert_equal "$(events_of)" ""
	# a row cut short: a warning, and the relist starts afresh (everything reported again)
	jq '.containers[0] |= .[0:80]' "$CTRBOX_STATE/relist/snapshot.json" >"$BATS_TEST_TMPDIR/s"
	mv "$BATS_TEST_TMPDIR/s" "$CTRBOX_STATE/relist/snapshot.json"
	ctrbox relist --format json
	assert_success
	assert_equal "$(jq -r '.[] | .event + ":" + .name' <<<"$output")" "ContainerStarted:web server"
	[[ $stderr == *"snapshot.json: entry 0 is damaged; starting afresh" ]] || fail "$stderr"
	assert_equal "$(events_of)" ""
	# a snapshot of the earlier format (an object per container)
	jq '{time, containers: [{id: "x"}]}' "$CTRBOX_STATE/relist/snapshot.json" >"$BATS_TEST_TMPDIR/s"
	mv "$BATS_TEST_TMPDIR/s" "$CTRBOX_STATE/relist/snapshot.json"
	ctrbox relist --format json
	assert_success
	assert_equal "$(jq -r '.[] | .event + ":" + .name' <<<"$output")" "ContainerStarted:web server"
	[[ $stderr == *"snapshot.json: not in format 2; starting afresh" ]] || fail "$stderr"
}

@test "relist: a table with the transitions; a restart under a new PID is a change" {
	live a web
	ctrbox relist
	assert_success
	assert_line --index 1 --regexp "^ContainerStarted   aaaaaaaaaaaa   web    running   container started \(pid [0-9]+\)$"
	live a web
	ctrbox relist
	assert_line --index 1 --regexp "^ContainerChanged   aaaaaaaaaaaa   web    running -> running   running under a new process"
	ctrbox relist -q
	assert_output ""
}

@test "relist: an unreadable record keeps its state instead of making up events" {
	live a web
	assert_equal "$(events_of)" "ContainerStarted:web"
	echo '{"status":' >"$CTRBOX_STATE/containers/$(printf 'a%.0s' {1..64})/state.json"
	ctrbox relist
	assert_success
	assert_output "EVENT   CONTAINER ID   NAME   STATUS   MESSAGE"
	assert_equal "$stderr" "ctrbox relist: 1 container record(s) cannot be read"
	echo '{' >"$CTRBOX_ROOT/containers/$(printf 'a%.0s' {1..64})/container.json"
	ctrbox relist
	assert_output "EVENT   CONTAINER ID   NAME   STATUS   MESSAGE"
}

@test "relist: timing, histogram and --health" {
	ctrbox relist --health
	assert_failure 1
	assert_equal "$stderr" "ctrbox relist: unhealthy: no relist has completed since boot"
	ctrbox relist
	ctrbox relist
	ctrbox relist --health --format json
	assert_success
	assert_equal "$(jq -c '.[0] | [.healthy, .count, .duration_buckets."+Inf", .threshold_ms]' <<<"$output")" \
		'[true,2,2,180000]'
	[ "$(jq '.[0].duration_buckets."10"' <<<"$output")" -eq 2 ]
	jq -e '.[0].last_interval_ms > 0 and .[0].last_duration_ms > 0' <<<"$output"
	jq -e '.count == 2 and (.buckets | length) == 11' "$CTRBOX_STATE/relist/timing.json"
	CTRBOX_TEST_NOW=$(date -u -d '+5 minutes' +%FT%TZ) ctrbox relist --health
	assert_failure 1
	[[ $stderr == "ctrbox relist: unhealthy: the last relist finished 4 minutes ago (threshold 3m"* ||
		$stderr == "ctrbox relist: unhealthy: the last relist finished 5 minutes ago (threshold 3m"* ]] ||
		fail "$stderr"
	CTRBOX_TEST_NOW=$(date -u -d '+5 minutes' +%FT%TZ) ctrbox relist --health --threshold 10m
	assert_success
}

@test "relist: each interval since the previous relist's start goes into the interval histogram" {
	local t
	for t in 10:00:00 10:00:01.02 10:00:02.52 10:04:02.52 10:04:02; do
		CTRBOX_TEST_NOW=2026-11-29T${t}Z ctrbox relist
		assert_success
	done
	# the first has no interval; 1.02 s, 1.5 s and 240 s are counted; the clock stepping back
	# 0.52 s is not
	assert_equal "$(jq -c '[.interval_count, .interval_sum_ns, .interval_buckets]' \
		"$CTRBOX_STATE/relist/timing.json")" '[3,242520000000,[0,0,1,1,1,2,2,2,2,2,2,2,2]]'
	ctrbox relist --health --format json
	assert_equal "$(jq -c '.[0].interval_buckets | [."0.95", ."1.05", ."1.5", ."180", ."+Inf"]' \
		<<<"$output")" '[0,1,2,2,3]'
	# a timing.json from before the interval histogram is read, its intervals counted from then
	jq 'del(.interval_count, .interval_sum_ns, .interval_buckets)' \
		"$CTRBOX_STATE/relist/timing.json" >"$BATS_TEST_TMPDIR/t.json"
	mv "$BATS_TEST_TMPDIR/t.json" "$CTRBOX_STATE/relist/timing.json"
	CTRBOX_TEST_NOW=2026-11-29T10:04:03Z ctrbox relist
	assert_success
	assert_equal "$(jq -c '[.count, .interval_count, .interval_buckets[2]]' \
		"$CTRBOX_STATE/relist/timing.json")" '[6,1,1]'
}

@test "relist --watch: events as they happen, RelistSlow past --slow, SIGTERM exits 0" {
	live a web
	"$CTRBOX_BIN" relist --watch --period 100ms --slow 0s >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local w=$!
	BG_PIDS+=("$w")
	retry 50 0.1 grep -q "ContainerStarted  aaaaaaaaaaaa  web  running" "$BATS_TEST_TMPDIR/out"
	record a web exited 0 0 0 0 1
	retry 50 0.1 grep -q "ContainerDied  aaaaaaaaaaaa  web  running -> exited  container exited with status 1" "$BATS_TEST_TMPDIR/out"
	kill -TERM "$w"
	wait "$w"
	grep -q "warn: relist took .* (threshold 0ns)" "$BATS_TEST_TMPDIR/err"
	ctrbox events --reason RelistSlow --type Warning --format jsonl
	[ "${#lines[@]}" -ge 2 ]
	assert_equal "$(jq -r .source <<<"${lines[0]}")" relist
}

@test "relist --watch: a watched shim that dies, or exits unreaped (a zombie), is lost at once" {
	local init shim w f=$BATS_TEST_TMPDIR/dying.pid
	spawn; init=$SPAWNED
	spawn; shim=$SPAWNED
	record a web running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")"
	# b's shim exits in 2 s and is never reaped: its parent is a sleep that never waits
	(
		sleep 2 3>&- &
		echo $! >"$f"
		exec sleep 1000 3>&-
	) &
	BG_PIDS+=($!)
	retry 50 0.1 test -s "$f"
	record b db running "$init" "$(starttime "$init")" "$(cat "$f")" "$(starttime "$(cat "$f")")"
	"$CTRBOX_BIN" relist --watch --period 50ms >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	w=$!
	BG_PIDS+=("$w")
	retry 50 0.1 grep -q "ContainerStarted  aaaaaaaaaaaa  web  running" "$BATS_TEST_TMPDIR/out"
	retry 50 0.1 grep -q "ContainerStarted  bbbbbbbbbbbb  db  running" "$BATS_TEST_TMPDIR/out"
	# the loop watches both shims now (pidfds); their records never change
	kill -9 "$shim"
	retry 50 0.1 grep -q "ShimLost  aaaaaaaaaaaa  web  running -> unknown" "$BATS_TEST_TMPDIR/out"
	retry 50 0.1 is_zombie "$(cat "$f")"
	retry 50 0.1 grep -q "ShimLost  bbbbbbbbbbbb  db  running -> unknown" "$BATS_TEST_TMPDIR/out"
	is_zombie "$(cat "$f")"
	kill -TERM "$w"
	wait "$w"
}

@test "relist: two watchers report each change once; killed watchers leave the snapshot whole" {
	local init shim i
	spawn; init=$SPAWNED
	spawn; shim=$SPAWNED
	for i in 1 2; do
		"$CTRBOX_BIN" relist --watch --period 10ms --slow 10s >/dev/null 2>&1 &
		BG_PIDS+=($!)
	done
	for i in $(seq 15); do
		record a web running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")"
		sleep 0.15
		record a web exited 0 0 0 0 1
		sleep 0.15
	done
	sleep 0.3
	ctrbox events --source relist --format jsonl
	reasons=$(jq -r .reason <<<"$output" | paste -sd,)
	# strictly alternating: never the same transition reported twice
	[[ $reasons != *"ContainerStarted,ContainerStarted"* && $reasons != *"ContainerDied,ContainerDied"* ]] ||
		fail "$reasons"
	[ "$(jq -r .reason <<<"$output" | grep -c ContainerStarted)" -ge 10 ]
	# watchers killed with -9 at random moments never leave a broken snapshot
	for i in $(seq 10); do
		"$CTRBOX_BIN" relist --watch --period 10ms --slow 10s >/dev/null 2>&1 &
		sleep "0.0$((RANDOM % 9 + 1))"
		kill -9 $!
		wait $! 2>/dev/null || true
		jq -e '.containers | length == 1' "$CTRBOX_STATE/relist/snapshot.json" >/dev/null
		jq -e '.count > 0' "$CTRBOX_STATE/relist/timing.json" >/dev/null
	done
}

@test "relist: real containers: started, killed behind the shim's back, shim lost, removed" {
	requires root
	ctrbox pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
	ctrbox run -d --name one localhost/oci:busybox sleep 1000
	assert_success
	one=$output
	ctrbox run -d --name two localhost/oci:busybox sleep 1000
	two=$output
	assert_equal "$(events_of)" "$( [[ $one < $two ]] && echo ContainerStarted:one,ContainerStarted:two || echo ContainerStarted:two,ContainerStarted:one)"
	# the container's process killed behind the shim's back: the shim records it
	kill -9 "$(jq -r .pid "$CTRBOX_STATE/containers/$one/state.json")"
	retry 50 0.1 bash -c "[ \$(jq -r .status '$CTRBOX_STATE/containers/$one/state.json') = exited ]"
	ctrbox relist --format json
	assert_equal "$(jq -c '.[] | [.event, .name, .exit_code]' <<<"$output")" '["ContainerDied","one",137]'
	# the shim killed with -9: nobody will record the exit
	shim=$(jq -r .shim_pid "$CTRBOX_STATE/containers/$two/state.json")
	kill -9 "$shim"
	retry 50 0.1 bash -c "! kill -0 $shim 2>/dev/null"
	assert_equal "$(events_of)" "ShimLost:two"
	kill -9 "$(jq -r .pid "$CTRBOX_STATE/containers/$two/state.json")" || true
	ctrbox rm -f one two
	assert_success
	ctrbox relist --format json
	assert_equal "$(jq -r '[.[] | .event] | unique | join(",")' <<<"$output")" "ContainerRemoved"
}

@test "relist: usage errors" {
	ctrbox relist --watch --health
	assert_failure 2
	ctrbox relist --period 1s
	assert_failure 2
	[[ $stderr == "ctrbox relist: --period and --slow need --watch"* ]] || fail "$stderr"
	ctrbox relist --threshold 1m
	assert_failure 2
	ctrbox relist --watch --period 1ms
	assert_failure 2
	ctrbox relist extra
	assert_failure 2
}
