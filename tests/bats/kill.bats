#!/usr/bin/env bats
# ctrbox kill: signals by name and number to the container's init, unknown signals a usage
# error; against hand-made records with a real process as the init, then real containers.

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

@test "kill: an unknown container fails with the exact message" {
	ctrbox kill nosuch
	assert_failure 1
	assert_equal "$stderr" "ctrbox kill: nosuch: no such container"
}

@test "kill: an unknown signal is a usage error, nothing is sent" {
	start_init
	fake_container "$ID" web "$INIT_PID"
	for s in NOPE 0 65 SIG -9 ''; do
		ctrbox kill -s "$s" web
		assert_failure 2
		[[ $stderr == "ctrbox kill: signal \"$s\": unknown"* ]] || fail "$stderr"
	done
	ctrbox kill
	assert_failure 2
	kill -0 "$INIT_PID"
}

@test "kill: the default is SIGKILL" {
	start_init ignore-term
	fake_container "$ID" web "$INIT_PID"
	ctrbox kill web
	assert_success
	assert_output web
	rc=0
	wait "$INIT_PID" || rc=$?
	assert_equal "$rc" 137
}

@test "kill: signals by name, SIG name, lower case and number" {
	for s in USR1:138 SIGHUP:129 term:143 10:138 sigusr2:140; do
		start_init
		fake_container "$ID" web "$INIT_PID"
		ctrbox kill --signal "${s%%:*}" "${ID:0:12}"
		assert_success
		rc=0
		wait "$INIT_PID" || rc=$?
		assert_equal "$rc" "${s##*:}"
	done
}

@test "kill: a container that is not running fails, and so does a reused PID" {
	fake_container "$ID" web 0 exited
	ctrbox kill web
	assert_failure 1
	assert_equal "$stderr" "ctrbox kill: web: container is not running"
	start_init
	fake_container "$ID" web "$INIT_PID" running $(($(start_time_of "$INIT_PID") + 1))
	ctrbox kill web
	assert_failure 1
	assert_equal "$stderr" "ctrbox kill: web: container is not running"
	kill -0 "$INIT_PID"
}

@test "kill: completion offers signal names for -s and running containers" {
	ctrbox __complete kill -s US
	assert_equal "${lines[*]}" "USR1 USR2 :4"
	fake_container "$ID" web 1 running 1
	ctrbox __complete kill -s KILL ""
	assert_line --regexp $'^web\t'
}

@test "kill: a real container gets the signal; the shim records 128+N" {
	real_container t1 sh -c 'exec sleep 1000'
	ctrbox kill t1
	assert_success
	retry 50 0.1 container_status_is "$CID" exited
	assert_equal "$(jq .exit_code "$CTRBOX_STATE/containers/$CID/state.json")" 137
	ctrbox kill t1
	assert_failure 1
	assert_equal "$stderr" "ctrbox kill: t1: container is not running"
}
