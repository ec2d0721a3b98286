#!/usr/bin/env bats
# ctrbox stop: the stop signal then SIGKILL, a reused PID never signalled, the exit recorded;
# first against hand-made records with a real process as the init, then real containers.

setup() {
	load ../helpers
	load ../handmade
	sandbox
	ID=$(fake_id web)
}

teardown() {
	kill_inits
	remove_all
}

@test "stop: an unknown container fails with the exact message" {
	ctrbox stop nosuch
	assert_failure 1
	assert_equal "$stderr" "ctrbox stop: nosuch: no such container"
	assert_output ""
}

@test "stop: usage errors exit 2" {
	ctrbox stop
	assert_failure 2
	[[ $stderr == "ctrbox stop: no container given"* ]] || fail "$stderr"
	ctrbox stop -t soon web
	assert_failure 2
	[[ $stderr == *"duration \"soon\""* ]] || fail "$stderr"
}

@test "stop: SIGTERM ends the init; with no shim, stop records the exit itself" {
	start_init
	fake_container "$ID" web "$INIT_PID"
	ctrbox stop web
	assert_success
	assert_output web
	rc=0
	wait "$INIT_PID" || rc=$?
	assert_equal "$rc" 143 # SIGTERM
	assert_equal "$(container_status "$ID")" exited
	assert_equal "$(jq .exit_code "$CTRBOX_STATE/containers/$ID/state.json")" 255
	run jq -r 'select(.reason == "Died") | .type + " " + .object.name' \
		"$CTRBOX_ROOT/events/journal.jsonl"
	assert_output "Warning web"
}

@test "stop: SIGKILL after the timeout when the init ignores SIGTERM" {
	start_init ignore-term
	fake_container "$ID" web "$INIT_PID"
	start=$(date +%s%N)
	ctrbox stop -t 1s "${ID:0:8}"
	assert_success
	took=$((($(date +%s%N) - start) / 1000000))
	[ "$took" -ge 1000 ] && [ "$took" -lt 4000 ] || fail "took ${took}ms"
	rc=0
	wait "$INIT_PID" || rc=$?
	assert_equal "$rc" 137 # SIGKILL
}

@test "stop: a PID now used by another process is never signalled" {
	start_init
	start=$(start_time_of "$INIT_PID")
	fake_container "$ID" web "$INIT_PID" running $((start + 1))
	ctrbox stop -t 0 web
	assert_success
	kill -0 "$INIT_PID" # still alive
	assert_equal "$(container_status "$ID")" exited
}

@test "stop: an exited container is left as it is; other arguments still go" {
	fake_container "$ID" web 0 exited
	before=$(cat "$CTRBOX_STATE/containers/$ID/state.json")
	ctrbox stop web nosuch
	assert_failure 1
	assert_output web
	assert_equal "$stderr" "ctrbox stop: nosuch: no such container"
	assert_equal "$(cat "$CTRBOX_STATE/containers/$ID/state.json")" "$before"
}

@test "stop: completion offers running containers only" {
	fake_container "$ID" web 1 running 1
	fake_container "$(fake_id db)" db 0 exited
	ctrbox __complete stop ""
	assert_line --regexp $'^web\t'
	refute_line --regexp $'^db\t'
	ctrbox __complete rm ""
	assert_line --regexp $'^db\t'
}

# The container's process must start with default signal dispositions and an empty signal mask,
# whatever the shim ignores or blocks for itself: a shell cannot trap a signal ignored at entry.
@test "stop: a real container's SIGTERM handler runs and the shim records its exit" {
	real_container t1 sh -c 'trap "echo stopping; exit 3" TERM; while :; do sleep 0.1; done'
	ctrbox stop -t 5s t1
	assert_success
	assert_equal "$(container_status "$CID")" exited
	assert_equal "$(jq .exit_code "$CTRBOX_STATE/containers/$CID/state.json")" 3
	ctrbox logs t1
	assert_output stopping
}

@test "stop: a real container that ignores SIGTERM is killed after -t" {
	real_container t1 sh -c 'exec sleep 1000'
	start=$(date +%s%N)
	ctrbox stop -t 1s t1
	assert_success
	took=$((($(date +%s%N) - start) / 1000000))
	[ "$took" -ge 1000 ] && [ "$took" -lt 4000 ] || fail "took ${took}ms"
	assert_equal "$(jq .exit_code "$CTRBOX_STATE/containers/$CID/state.json")" 137
	run jq -r 'select(.reason == "Died") | .object.name' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_output t1
}

@test "stop: several containers are stopped at once, in one timeout" {
	for n in a b c; do
		start_init ignore-term
		fake_container "$(fake_id "$n")" "$n" "$INIT_PID"
	done
	start=$(date +%s%N)
	ctrbox stop -t 1s a b c
	assert_success
	assert_equal "${lines[*]}" "a b c"
	took=$((($(date +%s%N) - start) / 1000000))
	[ "$took" -ge 1000 ] && [ "$took" -lt 2500 ] || fail "took ${took}ms"
}

@test "stop: a real container whose shim was killed is still stopped, its exit recorded as 255" {
	real_container t1 sh -c 'exec sleep 1000'
	kill -9 "$(jq .shim_pid "$CTRBOX_STATE/containers/$CID/state.json")"
	ctrbox stop -t 1s t1
	assert_success
	assert_equal "$(jq -r '[.status, .exit_code] | join(" ")' \
		"$CTRBOX_STATE/containers/$CID/state.json")" "exited 255"
	run jq -r 'select(.reason == "Died") | .type + " " + .source' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_output "Warning stop"
	ctrbox rm t1
	assert_success
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -name "$CID")" ]
}
