#!/usr/bin/env bats
# ctrbox events: queries with filters across rotated journal files, --stats against the previous
# period, --follow across rotation with concurrent writers, and the --sink webhook against a
# loopback receiver that fails and recovers, restarted without loss or duplicates (issue 7).

setup() {
	load ../helpers
	sandbox
	J=$CTRBOX_ROOT/events
	mkdir -p "$J"
	BG_PIDS=()
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# ev FILE TIME TYPE REASON KIND NAME [SOURCE] [MESSAGE]: appends one journal line by hand.
ev() {
	local file=$1 t=$2 type=$3 reason=$4 kind=$5 name=$6 source=${7:-test} msg=${8:-m}
	printf '{"time":"%s","type":"%s","reason":"%s","object":{"kind":"%s","id":"%s","name":"%s"},"message":"%s","source":"%s","host":"n1"}\n' \
		"$t" "$type" "$reason" "$kind" "$(printf '%s' "$name" | sha256sum | cut -c1-64)" "$name" \
		"$msg" "$source" >>"$J/$file"
}

# The journal's lines, oldest first, as the files hold them.
journal_lines() {
	local f
	for f in $(cd "$J" && ls journal.jsonl.* 2>/dev/null | sort -t. -k3n); do cat "$J/$f"; done
	[ ! -f "$J/journal.jsonl" ] || cat "$J/journal.jsonl"
}

sample() {
	ev journal.jsonl.00000001 2026-11-28T10:00:00Z Normal Pulled image busybox pull "pulled busybox"
	ev journal.jsonl.00000001 2026-11-28T11:00:00Z Normal Started container web run "started"
	ev journal.jsonl.00000002 2026-11-29T09:00:00Z Warning OOMKilled container web shim "killed"
	ev journal.jsonl 2026-11-29T09:30:00Z Normal Died container db shim "exited 0"
	ev journal.jsonl 2026-11-29T10:00:00Z Warning OOMKilled container db shim "killed again"
}

@test "events: every event, oldest first across rotated files, as a table" {
	sample
	ctrbox events
	assert_success
	assert_equal "${lines[0]}" "TIME                   TYPE      REASON      OBJECT          MESSAGE"
	assert_equal "${lines[1]}" "2026-11-28T10:00:00Z   Normal    Pulled      image/busybox   pulled busybox"
	assert_equal "${lines[3]}" "2026-11-29T09:00:00Z   Warning   OOMKilled   container/web   killed"
	assert_equal "${lines[5]}" "2026-11-29T10:00:00Z   Warning   OOMKilled   container/db    killed again"
	assert_equal "${#lines[@]}" 6
	assert_equal "$stderr" ""
}

@test "events: filters by type, reasons, object, source and time" {
	sample
	ctrbox events --type Warning --format jsonl
	assert_success
	assert_equal "$(jq -r .message <<<"$output" | paste -sd,)" "killed,killed again"
	ctrbox events --reason Died --reason Pulled --format jsonl
	assert_equal "$(jq -r .reason <<<"$output" | paste -sd,)" "Pulled,Died"
	ctrbox events --object web --format jsonl
	assert_equal "$(jq -r .reason <<<"$output" | paste -sd,)" "Started,OOMKilled"
	ctrbox events --object container/db --source shim --format jsonl
	assert_equal "$(jq -r .reason <<<"$output" | paste -sd,)" "Died,OOMKilled"
	id=$(printf db | sha256sum | cut -c1-8)
	ctrbox events --object "$id" --format jsonl
	assert_equal "${#lines[@]}" 2
	ctrbox events --since 2026-11-29T09:00:00Z --until 2026-11-29T10:00:00Z --format jsonl
	assert_equal "$(jq -r .message <<<"$output" | paste -sd,)" "killed,exited 0"
	ctrbox events --since 2026-11-29 --format jsonl
	assert_equal "${#lines[@]}" 3
	CTRBOX_TEST_NOW=2026-11-29T10:30:00Z ctrbox events --since 1h --format jsonl
	assert_equal "$(jq -r .message <<<"$output" | paste -sd,)" "exited 0,killed again"
	ctrbox events --type Warning --reason Died
	assert_success
	assert_output "TIME   TYPE   REASON   OBJECT   MESSAGE"
}

@test "events: -n keeps the last N; json is an array of the journal's own objects" {
	sample
	ctrbox events -n 2 --format json
	assert_success
	assert_equal "$(jq -r '.[].message' <<<"$output" | paste -sd,)" "exited 0,killed again"
	assert_equal "$(jq -c '.[1] | del(.time)' <<<"$output")" \
		"$(tail -n 1 "$J/journal.jsonl" | jq -c 'del(.time)')"
	ctrbox events -n 1 --format jsonl
	assert_output "$(tail -n 1 "$J/journal.jsonl" | sed 's/T10:00:00Z/T10:00:00.000000000Z/')"
	ctrbox events --reason Nothing --format json
	assert_output "[]"
}

@test "events: an empty or missing journal is no error; unreadable lines are counted" {
	rmdir "$J"
	ctrbox events
	assert_success
	assert_output "TIME   TYPE   REASON   OBJECT   MESSAGE"
	mkdir -p "$J"
	sample
	echo 'not json' >>"$J/journal.jsonl"
	ev journal.jsonl 2026-11-29T11:00:00Z Normal Bad_Reason container db
	ctrbox events --format jsonl
	assert_success
	assert_equal "${#lines[@]}" 5
	assert_equal "$stderr" "ctrbox events: warn: 2 journal line(s) could not be read"
}

@test "events: events emitted by pull and rmi are found by reason and object" {
	ctrbox pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
	ctrbox rmi localhost/oci:busybox
	assert_success
	ctrbox events --reason Pulled --reason Removed --object localhost/oci:busybox --format jsonl
	assert_success
	assert_equal "$(jq -r .reason <<<"$output" | paste -sd,)" "Pulled,Removed"
	assert_equal "$(jq -r .source <<<"$output" | paste -sd,)" "pull,rmi"
}

@test "events --stats: counts per reason against the previous period, and per bucket" {
	ev journal.jsonl.00000001 2026-11-28T11:00:00Z Warning OOMKilled container web shim
	for h in 13 14 15 16 17 18; do
		ev journal.jsonl.00000001 "2026-11-28T$h:00:00Z" Warning OOMKilled container web shim
	done
	for h in 00 00 01 02 02 02 03 03 04 05 06 07; do
		ev journal.jsonl "2026-11-29T$h:30:00Z" Warning OOMKilled container db shim
	done
	ev journal.jsonl 2026-11-29T05:00:00Z Normal Pulled image busybox pull
	ev journal.jsonl 2026-11-29T13:00:00Z Normal Pulled image busybox pull
	CTRBOX_TEST_NOW=2026-11-29T12:00:00Z ctrbox events --stats --since 2026-11-29 --bucket 6h
	assert_success
	assert_line --index 0 "REASON      COUNT   PREVIOUS   CHANGE"
	assert_line --index 1 "OOMKilled   12      6          +100% vs previous 12h"
	assert_line --index 2 "Pulled      1       0          new vs previous 12h"
	assert_line --index 3 "(total)     13      6          +116% vs previous 12h"
	assert_line --index 4 "BUCKET                 REASON      COUNT"
	assert_line --index 5 "2026-11-29T00:00:00Z   OOMKilled   10"
	assert_line --index 6 "2026-11-29T00:00:00Z   Pulled      1"
	assert_line --index 7 "2026-11-29T06:00:00Z   OOMKilled   2"
	CTRBOX_TEST_NOW=2026-11-29T12:00:00Z ctrbox events --stats --by object --type Warning --format json
	assert_success
	assert_equal "$(jq -c '[.by, .total, .previous_total, .bucket_seconds, (.rows | length)]' <<<"$output")" \
		'["object",18,1,3600,2]'
	assert_equal "$(jq -c '.rows[] | [.key, .count, .previous, .change]' <<<"$output" | paste -sd' ')" \
		'["container/db",12,0,"new"] ["container/web",6,1,"+500%"]'
	assert_equal "$(jq -c '.rows[0].buckets | length' <<<"$output")" 24
	assert_equal "$(jq -r .since <<<"$output")" "2026-11-28T12:00:00.000000000Z"
}

@test "events: bad options are usage errors with the reason" {
	ctrbox events --type Fatal
	assert_failure 2
	[[ $stderr == "ctrbox events: --type Fatal: expected Normal or Warning"* ]] || fail "$stderr"
	ctrbox events --since yesterday
	assert_failure 2
	[[ $stderr == "ctrbox events: time \"yesterday\": expected RFC 3339"* ]] || fail "$stderr"
	ctrbox events --since 2026-11-29 --until 2026-11-28
	assert_failure 2
	[[ $stderr == "ctrbox events: --until must be after --since"* ]] || fail "$stderr"
	ctrbox events --sink http://127.0.0.1:1/
	[[ $stderr == "ctrbox events: --sink needs --follow"* ]] || fail "$stderr"
	ctrbox events --follow --sink ftp://x/
	assert_failure 2
	ctrbox events --stats --follow
	assert_failure 2
	ctrbox events --by reason
	assert_failure 2
	ctrbox events --stats --bucket 1s --since 30d
	assert_failure 1
	[[ $stderr == *"choose a longer bucket"* ]] || fail "$stderr"
	ctrbox events --reason not-camel
	assert_failure 2
	ctrbox events -n 0
	assert_failure 2
	ctrbox events --format yaml
	assert_failure 2
	ctrbox events extra
	assert_failure 2
	[ ! -e "$J/journal.jsonl" ]
}

# follow_start OUT ARGS...: runs `ctrbox events --follow ARGS` in the background into OUT.
follow_start() {
	local out=$1
	shift
	"$CTRBOX_BIN" events --follow "$@" >"$out" 2>"$out.err" &
	FOLLOW_PID=$!
	BG_PIDS+=("$FOLLOW_PID")
}

lines_are() { [ "$(wc -l <"$1")" -eq "$2" ]; }

# follow_stop: SIGTERM, and the exit status must be 0.
follow_stop() {
	kill -TERM "$FOLLOW_PID"
	wait "$FOLLOW_PID"
}

@test "events --follow: prints new events only, then -n shows history first; SIGTERM exits 0" {
	sample
	follow_start "$BATS_TEST_TMPDIR/new" --format jsonl
	follow_start "$BATS_TEST_TMPDIR/hist" -n 2 --type Warning
	sleep 0.5
	ev journal.jsonl 2026-11-29T11:00:00Z Warning BackOff container web run "back-off"
	ev journal.jsonl 2026-11-29T11:00:01Z Normal Started container web run "started again"
	retry 50 0.1 lines_are "$BATS_TEST_TMPDIR/new" 2
	retry 50 0.1 lines_are "$BATS_TEST_TMPDIR/hist" 3
	follow_stop
	FOLLOW_PID=${BG_PIDS[0]}
	follow_stop
	assert_equal "$(jq -r .message "$BATS_TEST_TMPDIR/new" | paste -sd,)" "back-off,started again"
	run cat "$BATS_TEST_TMPDIR/hist"
	assert_line --index 0 "2026-11-29T09:00:00Z  Warning  OOMKilled  container/web  killed"
	assert_line --index 1 "2026-11-29T10:00:00Z  Warning  OOMKilled  container/db  killed again"
	assert_line --index 2 "2026-11-29T11:00:00Z  Warning  BackOff  container/web  back-off"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/new.err" "$BATS_TEST_TMPDIR/hist.err")" ""
}

@test "events --follow: across forced rotations with concurrent writers, nothing lost or doubled" {
	printf 'events:\n  rotate_size: 4KiB\n  max_size: 64MiB\n' >"$CTRBOX_CONFIG"
	follow_start "$BATS_TEST_TMPDIR/out" --since 2000-01-01 --format jsonl
	sleep 0.3
	local w pids=()
	for w in 1 2 3 4; do
		(
			for i in $(seq 12); do
				"$CTRBOX_BIN" pull -q "oci:$CTRBOX_FIXTURES/oci:busybox" >/dev/null || exit 1
			done
		) &
		pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w"; done
	# at least 2 events per pull, 4 KiB files: several rotations happened
	[ "$(ls "$J" | grep -c '^journal.jsonl.[0-9]')" -ge 4 ]
	total=$(journal_lines | wc -l)
	[ "$total" -ge 96 ]
	retry 100 0.1 lines_are "$BATS_TEST_TMPDIR/out" "$total"
	sleep 0.5
	follow_stop
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/out")" "$total"
	# the same lines, in the journal's own order
	diff <(journal_lines | jq -c .) <(jq -c . "$BATS_TEST_TMPDIR/out")
}

# webhook_start [--fail N]: the loopback receiver in $HOOK; sets HOOK_URL.
webhook_start() {
	HOOK=$BATS_TEST_TMPDIR/hook
	mkdir -p "$HOOK"
	python3 "$TOP/tests/webhook.py" "$HOOK" "$@" &
	BG_PIDS+=($!)
	retry 50 0.1 test -f "$HOOK/port"
	HOOK_URL=http://127.0.0.1:$(cat "$HOOK/port")/hook
}

received() { [ -f "$HOOK/events.jsonl" ] && lines_are "$HOOK/events.jsonl" "$1"; }
last_request_failed() { [[ $(tail -n 1 "$HOOK/requests") == "500 1" ]]; }

@test "events --sink: fails, retries, recovers; a restart resumes after the last acknowledged event" {
	requires cmd python3
	webhook_start --fail 2
	sample
	follow_start "$BATS_TEST_TMPDIR/sink" --sink "$HOOK_URL" --since 2000-01-01 --cursor "$BATS_TEST_TMPDIR/c"
	retry 100 0.1 received 5
	assert_equal "$(head -n 2 "$HOOK/requests" | paste -sd,)" "500 5,500 5"
	grep -q "HTTP 500; 5 event(s) kept, retrying in" "$BATS_TEST_TMPDIR/sink.err"
	retry 50 0.1 test -f "$BATS_TEST_TMPDIR/c"
	# the receiver goes down while events arrive and a rotation happens
	touch "$HOOK/fail"
	ev journal.jsonl 2026-11-29T11:00:00Z Normal Started container a run one
	retry 50 0.1 last_request_failed
	follow_stop
	mv "$J/journal.jsonl" "$J/journal.jsonl.00000003"
	ev journal.jsonl.00000003 2026-11-29T11:00:01Z Normal Started container b run two
	ev journal.jsonl 2026-11-29T11:00:02Z Normal Started container c run three
	rm "$HOOK/fail"
	# restarted: resumes from the cursor (no --since), across the rotation
	follow_start "$BATS_TEST_TMPDIR/sink2" --sink "$HOOK_URL" --cursor "$BATS_TEST_TMPDIR/c"
	retry 100 0.1 received 8
	ev journal.jsonl 2026-11-29T11:00:03Z Warning OOMKilled container c shim four
	retry 100 0.1 received 9
	sleep 1.2
	follow_stop
	assert_equal "$(jq -r .message "$HOOK/events.jsonl" | paste -sd,)" \
		"pulled busybox,started,killed,exited 0,killed again,one,two,three,four"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/sink2.err")" ""
	# the cursor names the active file and its end
	assert_equal "$(jq -r .offset_bytes "$BATS_TEST_TMPDIR/c")" "$(stat -c %s "$J/journal.jsonl")"
	assert_equal "$(jq -r .file_ino "$BATS_TEST_TMPDIR/c")" "$(stat -c %i "$J/journal.jsonl")"
}

@test "events --sink: filters apply; a cursor whose file is gone restarts from the oldest" {
	requires cmd python3
	webhook_start
	sample
	follow_start "$BATS_TEST_TMPDIR/sink" --sink "$HOOK_URL" --type Warning --since 2000-01-01
	retry 100 0.1 received 2
	follow_stop
	cursor=$(ls "$J"/sink-*.cursor)
	[ "$(basename "$cursor")" = "sink-$(printf %s "$HOOK_URL" | sha256sum | cut -c1-16).cursor" ]
	assert_equal "$(jq -r .url "$cursor")" "$HOOK_URL"
	# retention removes every file; the cursor points into nothing
	rm "$J"/journal.jsonl*
	ev journal.jsonl 2026-11-30T00:00:00Z Warning OOMKilled container web shim "after"
	follow_start "$BATS_TEST_TMPDIR/sink2" --sink "$HOOK_URL" --type Warning
	retry 100 0.1 received 3
	follow_stop
	assert_equal "$(jq -r .message "$HOOK/events.jsonl" | paste -sd,)" "killed,killed again,after"
	grep -q "is gone (removed by retention); starting from the oldest event kept" "$BATS_TEST_TMPDIR/sink2.err"
}

@test "events --sink: without a cursor or --since only new events are sent" {
	requires cmd python3
	webhook_start
	sample
	follow_start "$BATS_TEST_TMPDIR/sink" --sink "$HOOK_URL"
	sleep 0.5
	ev journal.jsonl 2026-11-30T00:00:00Z Normal Started container web run "new"
	retry 100 0.1 received 1
	follow_stop
	assert_equal "$(jq -r .message "$HOOK/events.jsonl")" "new"
}

@test "events --sink: a damaged cursor is an error, not a silent restart" {
	echo '{"file_dev":' >"$BATS_TEST_TMPDIR/c"
	ctrbox events --follow --sink http://127.0.0.1:9/ --cursor "$BATS_TEST_TMPDIR/c"
	assert_failure 1
	[[ $stderr == "ctrbox events: $BATS_TEST_TMPDIR/c:"* ]] || fail "$stderr"
	echo '{"file_dev":1,"file_ino":2}' >"$BATS_TEST_TMPDIR/c"
	ctrbox events --follow --sink http://127.0.0.1:9/ --cursor "$BATS_TEST_TMPDIR/c"
	assert_failure 1
	[[ $stderr == *"offset_bytes"* ]] || fail "$stderr"
}
