#!/usr/bin/env bats
# info: the settings in effect and where each came from.

setup() {
	load ../helpers
	sandbox
}

@test "info: the table has a header and one row per setting" {
	ctrbox info
	assert_success
	assert_line --index 0 --regexp '^KEY +VALUE +SOURCE$'
	assert_line --regexp "^root +$CTRBOX_ROOT +env$"
	assert_line --regexp "^config +$CTRBOX_CONFIG +env$"
	assert_line --regexp '^host\.proc +/proc +default$'
	assert_line --regexp '^version +[0-9]'
}

@test "info: --format json is valid JSON with stable keys" {
	ctrbox info --format json
	assert_success
	run jq -r '.[].key' <<<"$output"
	assert_success
	for k in version config config_loaded root state log_level host.proc host.sys host.dev \
		host.cgroup events.rotate_size_bytes events.max_size_bytes events.max_age hostname kernel; do
		assert_line "$k"
	done
}

@test "info: -q prints the keys only" {
	ctrbox info -q
	assert_success
	assert_line --index 0 version
	refute_line --partial KEY
}

@test "info: reads nothing it is not asked to and creates no store" {
	ctrbox info
	assert_success
	[ ! -e "$CTRBOX_ROOT" ]
	[ ! -e "$CTRBOX_STATE" ]
}

@test "info: arguments are a usage error" {
	ctrbox info extra
	assert_failure 2
	[[ $stderr == 'ctrbox info: unexpected argument "extra"'* ]]
}

@test "info: output to a closed pipe is not an error, to a full disk is" {
	run bash -c "'$CTRBOX_BIN' info | head -c0"
	assert_success
	run bash -c "'$CTRBOX_BIN' info >/dev/full"
	assert_failure 1
	assert_output --partial 'No space left on device'
}
