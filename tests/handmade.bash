# tests/handmade.bash - containers made by hand for the lifecycle suites (stop, kill, rm, logs,
# inspect): records written as the run side writes them, and a real process standing in for the
# container's init, so the applets are tested without a shim. Load after helpers.
# shellcheck shell=bash

# A fresh 64-hex container ID from a seed word.
fake_id() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# start_init [ignore-term]: starts a `sleep` standing in for a container's init (one that
# ignores SIGTERM with ignore-term, as a PID-namespace init without handlers does); its PID is
# in $INIT_PID and recorded for teardown.
start_init() {
	if [ "${1:-}" = ignore-term ]; then
		bash -c 'trap "" TERM; exec sleep 1000' </dev/null >/dev/null 2>&1 3>&- &
	else
		sleep 1000 </dev/null >/dev/null 2>&1 3>&- &
	fi
	INIT_PID=$!
	echo "$INIT_PID" >>"$BATS_TEST_TMPDIR/inits"
	# bash -c has exec'd sleep once its comm says so.
	retry 50 0.02 grep -q '(sleep)' "/proc/$INIT_PID/stat"
}

# The pids started by start_init, killed by PID (never by name).
kill_inits() {
	local p
	[ -f "$BATS_TEST_TMPDIR/inits" ] || return 0
	while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$BATS_TEST_TMPDIR/inits"
}

start_time_of() { awk '{print $22}' "/proc/$1/stat"; }

# fake_container ID NAME PID [STATUS [START_TIME]]: container.json and state.json as the run
# side writes them, and STATE/running/ID, completion's index, as container_state_save keeps it
# (there while running or paused). PID 0 is a container that is not running.
fake_container() {
	local id=$1 name=$2 pid=$3 status=${4:-running} start=${5:-}
	if [ -z "$start" ]; then
		start=0
		[ "$pid" -gt 0 ] && start=$(start_time_of "$pid")
	fi
	mkdir -p "$CTRBOX_ROOT/containers/$id" "$CTRBOX_STATE/containers/$id"
	printf '{"id":"%s","name":"%s","image":"busybox","command":["sleep","1000"],"labels":{},"created":"2026-11-29T10:00:00Z"}\n' \
		"$id" "$name" >"$CTRBOX_ROOT/containers/$id/container.json"
	printf '{"status":"%s","pid":%d,"pid_start_time":%s,"shim_pid":0,"shim_start_time":0,"started":"2026-11-29T10:00:01Z","exit_code":0,"oom_killed":false}\n' \
		"$status" "$pid" "$start" >"$CTRBOX_STATE/containers/$id/state.json"
	mkdir -p "$CTRBOX_STATE/running"
	case $status in
	running | paused) : >"$CTRBOX_STATE/running/$id" ;;
	*) rm -f "$CTRBOX_STATE/running/$id" ;;
	esac
}

# container_status ID: the status state.json records.
container_status() { jq -r .status "$CTRBOX_STATE/containers/$1/state.json"; }

# real_container NAME CMD...: `run -d` of the fixture busybox (pulled from the suite's registry
# first) as NAME; its ID in $CID. Needs root.
real_container() {
	local name=$1
	shift
	requires root
	# The shim's attach socket must fit sockaddr_un (108 bytes): a short STATE, not the
	# sandbox's long path; remove_all removes it.
	if [ -z "${SHORT_STATE:-}" ]; then
		SHORT_STATE=$(mktemp -d /tmp/cbXXXX)
		export CTRBOX_STATE=$SHORT_STATE
	fi
	if ! "$CTRBOX_BIN" images -q | grep -q .; then
		"$CTRBOX_BIN" pull -q --plain-http "$BUSYBOX_IMAGE" >/dev/null || fail "pull failed"
	fi
	CID=$("$CTRBOX_BIN" run -d --name "$name" "$BUSYBOX_IMAGE" "$@" 3>&-) ||
		fail "run -d failed"
	retry 50 0.05 container_started "$CID"
}

container_started() { [ "$(container_status "$1")" != created ]; }

container_status_is() { [ "$(container_status "$1")" = "$2" ]; }

# Every container of the sandbox removed with rm -f (its shim ends with it), for teardown.
remove_all() {
	local d
	for d in "$CTRBOX_ROOT"/containers/*/container.json; do
		[ -e "$d" ] || continue
		"$CTRBOX_BIN" rm -f "$(basename "$(dirname "$d")")" >/dev/null 2>&1 || true
	done
	if [ -n "${SHORT_STATE:-}" ]; then
		rm -rf "$SHORT_STATE"
	fi
}
