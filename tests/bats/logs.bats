#!/usr/bin/env bats
# ctrbox logs: CRI log files read across rotation, streams kept apart, partial records joined,
# --tail, --since, --timestamps, and -f following a writer that appends and rotates; against
# hand-written logs, then real containers.

setup() {
	load ../helpers
	load ../handmade
	sandbox
	ID=$(fake_id web)
	LOG=$CTRBOX_ROOT/containers/$ID/log
}

teardown() {
	kill_inits
	remove_all
}

# rec SECOND STREAM TAG MSG: one CRI record at 2026-11-29T10:00:SECOND.
rec() { printf '2026-11-29T10:00:%02d.000000001Z %s %s %s\n' "$1" "$2" "$3" "$4"; }

rotated_log() {
	fake_container "$ID" web 0 exited
	{ rec 1 stdout F one; rec 2 stderr F two; } >"$LOG.2"
	{ rec 3 stdout P 'thr'; rec 4 stderr F four; rec 5 stdout P 'e'; } >"$LOG.1"
	{ rec 6 stdout F 'e and more'; rec 7 stdout F ''; rec 8 stderr F 'eight'; } >"$LOG"
}

@test "logs: an unknown container fails with the exact message; usage errors exit 2" {
	ctrbox logs nosuch
	assert_failure 1
	assert_equal "$stderr" "ctrbox logs: nosuch: no such container"
	ctrbox logs
	assert_failure 2
	fake_container "$ID" web 0 exited
	ctrbox logs web web
	assert_failure 2
	ctrbox logs --tail many web
	assert_failure 2
	ctrbox logs --since yesterday web
	assert_failure 2
	[[ $stderr == "ctrbox logs: --since: time \"yesterday\""* ]] || fail "$stderr"
}

@test "logs: rotated files oldest first, stdout and stderr apart, partial records joined" {
	rotated_log
	"$CTRBOX_BIN" logs web >"$SANDBOX/out" 2>"$SANDBOX/err"
	printf 'one\nthree and more\n\n' | cmp - "$SANDBOX/out"
	printf 'two\nfour\neight\n' | cmp - "$SANDBOX/err"
	# Both streams into one file keep the order the container wrote them in.
	run bash -c '"$CTRBOX_BIN" logs web 2>&1'
	assert_output "$(printf 'one\ntwo\nfour\nthree and more\n\neight')"
}

@test "logs: --tail, --since and --timestamps" {
	rotated_log
	run bash -c '"$CTRBOX_BIN" logs --tail 3 web 2>&1'
	assert_output "$(printf 'three and more\n\neight')"
	run bash -c '"$CTRBOX_BIN" logs --tail 0 web 2>&1'
	assert_output ""
	run bash -c '"$CTRBOX_BIN" logs --tail all web 2>&1 | wc -l'
	assert_output 6
	run bash -c '"$CTRBOX_BIN" logs --since 2026-11-29T10:00:04Z web 2>&1'
	assert_output "$(printf 'four\n\neight')"
	run bash -c '"$CTRBOX_BIN" logs --since 1h web 2>&1'
	assert_output ""
	ctrbox logs -t --tail 1 web
	assert_equal "$stderr" "2026-11-29T10:00:08.000000001Z eight"
}

@test "logs: foreign lines are skipped with a warning; a missing log is empty" {
	fake_container "$ID" web 0 exited
	ctrbox logs web
	assert_success
	assert_output ""
	{ rec 1 stdout F one; echo garbage; rec 2 stdout F two; } >"$LOG"
	ctrbox logs web
	assert_success
	assert_output "$(printf 'one\ntwo')"
	[[ $stderr == *"skipped 1 lines that are not CRI log records"* ]] || fail "$stderr"
}

@test "logs: -f follows a writer that appends and rotates, until the container exits" {
	start_init
	fake_container "$ID" web "$INIT_PID"
	rec 0 stdout F before >"$LOG"
	"$CTRBOX_BIN" logs -f --tail 1 web >"$SANDBOX/out" 2>"$SANDBOX/err" 3>&- &
	follower=$!
	sleep 0.3
	for i in $(seq 1 30); do
		rec "$i" stdout F "line $i" >>"$LOG"
		if ((i % 7 == 0)); then
			# Rotation as the shim does it: log.N-1 -> log.N ... log -> log.1.
			for n in 3 2 1; do [ -e "$LOG.$n" ] && mv "$LOG.$n" "$LOG.$((n + 1))"; done
			mv "$LOG" "$LOG.1"
			: >"$LOG"
		fi
		((i % 10 == 0)) && sleep 0.1
	done
	rec 31 stderr P 'no newline' >>"$LOG"
	kill "$INIT_PID" # the container exits: the follower drains and returns
	rc=0
	timeout 10 tail --pid="$follower" -f /dev/null || rc=$?
	assert_equal "$rc" 0
	wait "$follower"
	assert_equal "$(cat "$SANDBOX/out")" "$(echo before; seq -f 'line %g' 1 30)"
	assert_equal "$(cat "$SANDBOX/err")" "no newline"
}

@test "logs: -f ends on SIGINT with status 0" {
	start_init
	fake_container "$ID" web "$INIT_PID"
	rec 1 stdout F hello >"$LOG"
	"$CTRBOX_BIN" logs -f web >"$SANDBOX/out" 2>&1 3>&- &
	follower=$!
	retry 50 0.05 grep -q hello "$SANDBOX/out"
	kill -INT "$follower"
	rc=0
	wait "$follower" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(cat "$SANDBOX/out")" hello
}

@test "logs: -f on a real container streams until it exits; streams and partial line kept" {
	real_container t1 sh -c 'sleep 0.5; for i in 1 2 3; do echo out $i; echo err $i >&2; sleep 0.2; done; printf tail'
	run --separate-stderr timeout 10 "$CTRBOX_BIN" logs -f t1
	assert_success
	assert_equal "$output" "$(printf 'out 1\nout 2\nout 3\ntail')"
	assert_equal "$stderr" "$(printf 'err 1\nerr 2\nerr 3')"
	ctrbox logs --tail 1 -t t1
	[[ $output =~ ^20[0-9-]+T[0-9:.]+Z\ tail$ ]] || fail "$output"
}

@test "logs: a real container's log rotated by the shim reads whole, following and after" {
	# 300000 records of about 46 bytes: past the shim's 10 MiB rotation size.
	real_container t1 sh -c 'sleep 0.3; seq 1 300000'
	timeout 30 "$CTRBOX_BIN" logs -f t1 >"$SANDBOX/follow"
	[ -e "$CTRBOX_ROOT/containers/$CID/log.1" ] || fail "the log did not rotate"
	seq 1 300000 | cmp - "$SANDBOX/follow"
	"$CTRBOX_BIN" logs t1 | cmp - <(seq 1 300000)
	ctrbox logs --tail 2 t1
	assert_output "$(printf '299999\n300000')"
}
