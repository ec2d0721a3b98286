# tests/helpers.bash - what every bats suite loads (STYLE.md "Tests"): the ctrbox wrapper, a
# sandbox per test (ROOT, STATE and config under $BATS_TEST_TMPDIR), `requires` and `retry`.
# shellcheck shell=bash

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${CTRBOX_BIN:=$TOP/ctrbox}"
export CTRBOX_BIN LANG=C LC_ALL=C TZ=UTC
[ "${CI:-}" = true ] && export CTRBOX_TEST_STRICT=1

# Runs ctrbox with stdout in $output and stderr in $stderr, and logs the call so a failing test
# shows what it ran.
ctrbox() {
	run --separate-stderr "$CTRBOX_BIN" "$@"
	printf '$ ctrbox %s\n-> status %s\nstdout: %s\nstderr: %s\n' "$*" "$status" "$output" \
		"$stderr" >&2
}

# Each test gets its own ROOT, STATE and (empty) config, so nothing touches /var/lib/ctrbox,
# /run/ctrbox or /etc/ctrbox.
sandbox() {
	export SANDBOX=$BATS_TEST_TMPDIR/sandbox
	mkdir -p "$SANDBOX"
	export CTRBOX_ROOT=$SANDBOX/root CTRBOX_STATE=$SANDBOX/state
	export CTRBOX_CONFIG=$SANDBOX/config.yaml
	: >"$CTRBOX_CONFIG"
	unset CTRBOX_HOST_PROC CTRBOX_HOST_SYS CTRBOX_HOST_DEV CTRBOX_HOST_CGROUP CTRBOX_LOG_LEVEL
}

# requires root | cmd NAME... : skips with the reason, or fails under CTRBOX_TEST_STRICT=1 so
# that nothing is silently untested in CI.
requires() {
	local what=$1 missing=
	shift
	case $what in
	root) [ "$(id -u)" -eq 0 ] || missing="root" ;;
	cmd) for c in "$@"; do command -v "$c" >/dev/null || missing="$missing $c"; done ;;
	*) missing="unknown requirement $what" ;;
	esac
	[ -z "$missing" ] && return 0
	if [ "${CTRBOX_TEST_STRICT:-}" = 1 ]; then
		fail "required but missing under CTRBOX_TEST_STRICT:$missing"
	fi
	skip "needs$missing"
}

# retry TIMES DELAY CMD...: bounded wait for a condition.
retry() {
	local n=$1 delay=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep "$delay"
	done
	return 1
}

# For teardown: kills what a test left running, by the PIDs state.json recorded: each
# container's init (its shim reaps it and exits), then any shim still there after 5 s.
stop_containers() {
	local f pid
	for f in "$CTRBOX_STATE"/containers/*/state.json; do
		[ -f "$f" ] || continue
		pid=$(jq -r '.pid // 0' "$f")
		[ "$pid" -gt 0 ] && kill -9 "$pid" 2>/dev/null
	done
	for f in "$CTRBOX_STATE"/containers/*/state.json; do
		[ -f "$f" ] || continue
		pid=$(jq -r '.shim_pid // 0' "$f")
		[ "$pid" -gt 0 ] || continue
		retry 50 0.1 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null
	done
	return 0
}
