#!/usr/bin/env bats
# Container log rotation (issue 5, ctrbox-run(1) --log-max-size/--log-max-files, ctrbox-config(5)
# container_log): the shim rotates ROOT/containers/<id>/log as the container was created to,
# `logs` reads the rotated files back in order (also following across rotation), the config's
# keys are honoured, and bad values are refused before anything is created.

setup() {
	load ../helpers
	sandbox
	requires root
	requires cmd jq
	IMG=localhost/oci:busybox
	run "$CTRBOX_BIN" pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
}

teardown() {
	stop_containers
}

id_of() { # id_of NAME
	local f
	for f in "$CTRBOX_ROOT"/containers/*/container.json; do
		[ -f "$f" ] && [ "$(jq -r .name "$f")" = "$1" ] && basename "$(dirname "$f")" && return 0
	done
	return 1
}

# Lines "line-N" in $output: consecutive, ending at line-$1, at least $2 of them.
consecutive_to() { # consecutive_to LAST MIN
	local first n
	first=$(echo "$output" | head -1 | sed 's/^line-//')
	n=$(echo "$output" | wc -l)
	[ "$n" -ge "$2" ] || { echo "only $n lines" >&2; return 1; }
	[ "$output" = "$(seq "$first" "$1" | sed 's/^/line-/')" ] || { echo "not consecutive" >&2; return 1; }
}

# $1 lines line-0 .. line-N-1; in bursts of 50 with a pause after each when $2 is set.
writer() { # writer COUNT [PAUSE]
	echo "i=0; while [ \$i -lt $1 ]; do echo line-\$i; i=\$((i+1)); if [ -n '${2:-}' ] && [ \$((i % 50)) -eq 0 ]; then sleep ${2:-0}; fi; done"
}

@test "logrotate: past --log-max-size the log rotates to log.1 .. log.N, and logs reads them in order" {
	ctrbox run --name r1 --log-max-size 4k --log-max-files 2 "$IMG" sh -c "$(writer 400)"
	assert_success
	id=$(id_of r1)
	dir=$CTRBOX_ROOT/containers/$id
	[ "$(jq -r '"\(.log_max_size_bytes) \(.log_max_files)"' "$dir/container.json")" = "4096 2" ]
	[ -f "$dir/log" ] && [ -f "$dir/log.1" ] && [ -f "$dir/log.2" ] && [ ! -e "$dir/log.3" ]
	for f in "$dir"/log*; do
		[ "$(stat -c %s "$f")" -le 4096 ] || fail "$f is larger than 4096 bytes"
		grep -qvE '^[0-9-]+T[0-9:.]+Z stdout F line-[0-9]+$' "$f" && fail "$f holds a bad record"
	done
	ctrbox logs r1
	assert_success
	# Three files of about 80 records each: the newest ~240 lines, in order, none lost between.
	consecutive_to 399 150
	[ "${lines[0]}" != "line-0" ]
	ctrbox logs --tail 5 r1
	assert_output "$(seq 395 399 | sed 's/^/line-/')"
}

@test "logrotate: logs -f follows the log across rotations without losing or repeating a line" {
	ctrbox run -d --name f1 --log-max-size 4k --log-max-files 3 "$IMG" sh -c "sleep 0.5; $(writer 600 0.1)"
	assert_success
	run --separate-stderr timeout 60 "$CTRBOX_BIN" logs -f f1
	assert_success
	consecutive_to 599 600
	[ -f "$CTRBOX_ROOT/containers/$(id_of f1)/log.3" ]
}

@test "logrotate: the config's container_log keys are honoured; the flags override them" {
	printf 'container_log:\n  max_size: 8KiB\n  max_files: 1\n' >"$CTRBOX_CONFIG"
	ctrbox run --name c1 "$IMG" sh -c "$(writer 500)"
	assert_success
	dir=$CTRBOX_ROOT/containers/$(id_of c1)
	[ "$(jq -r '"\(.log_max_size_bytes) \(.log_max_files)"' "$dir/container.json")" = "8192 1" ]
	[ -f "$dir/log.1" ] && [ ! -e "$dir/log.2" ]
	[ "$(stat -c %s "$dir/log.1")" -le 8192 ] && [ "$(stat -c %s "$dir/log.1")" -gt 4096 ]
	ctrbox logs c1
	consecutive_to 499 100
	ctrbox run --name c2 --log-max-files 4 "$IMG" sh -c "$(writer 1000)"
	assert_success
	dir=$CTRBOX_ROOT/containers/$(id_of c2)
	[ "$(jq -r '"\(.log_max_size_bytes) \(.log_max_files)"' "$dir/container.json")" = "8192 4" ]
	[ -f "$dir/log.4" ] && [ ! -e "$dir/log.5" ]
	# Without the keys: the defaults, 10MiB and 3, recorded.
	: >"$CTRBOX_CONFIG"
	ctrbox run --name c3 "$IMG" true
	assert_success
	[ "$(jq -r '"\(.log_max_size_bytes) \(.log_max_files)"' "$CTRBOX_ROOT/containers/$(id_of c3)/container.json")" = "10485760 3" ]
}

@test "logrotate: bad --log-max-size and --log-max-files values are usage errors; nothing is created" {
	local bad
	for bad in "--log-max-size 1k|--log-max-size: at least 4KiB, got 1k" \
		"--log-max-size lots|--log-max-size: size \"lots\": expected a number" \
		"--log-max-size -5M|--log-max-size: " \
		"--log-max-files 0|--log-max-files: expected a number from 1 to 100, got 0" \
		"--log-max-files 101|--log-max-files: expected a number from 1 to 100, got 101" \
		"--log-max-files x|--log-max-files: expected a number from 1 to 100, got x" \
		"--log-max-files +3|--log-max-files: expected a number from 1 to 100, got +3"; do
		# shellcheck disable=SC2086
		ctrbox run ${bad%%|*} "$IMG" true
		assert_failure 2
		[[ $stderr == "ctrbox run: ${bad#*|}"* ]] || fail "wrong message for ${bad%%|*}: $stderr"
	done
	[ -z "$(ls -A "$CTRBOX_ROOT/containers" 2>/dev/null | grep -v '^names$')" ]
	printf 'container_log:\n  max_size: 100\n' >"$CTRBOX_CONFIG"
	ctrbox run "$IMG" true
	assert_failure
	[[ $stderr == *'config.yaml:2:13: "container_log.max_size": '*"at least 4KiB"* ]]
	[ -z "$(ls -A "$CTRBOX_ROOT/containers" 2>/dev/null | grep -v '^names$')" ]
}
