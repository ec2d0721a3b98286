#!/usr/bin/env bats
# ctrbox ps: lock-free listing of hand-made records backed by real processes (running, exited,
# created, shim lost, PID reused), filters, JSON, records rewritten in a tight loop while
# listing, and a real container whose shim is killed (issue 7).

setup() {
	load ../helpers
	sandbox
	BG_PIDS=()
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

starttime() { awk '{print $22}' "/proc/$1/stat"; }

# spawn: a live process standing in for an init or a shim; its pid in $SPAWNED.
spawn() {
	sleep 1000 3>&- &
	SPAWNED=$!
	BG_PIDS+=("$SPAWNED")
}

# record N NAME STATUS CREATED [PID PID_START SHIM SHIM_START] [EXIT] [LABEL_JSON]: writes
# container.json and state.json for the ID made of N repeated 64 times.
record() {
	local id name=$2 status=$3 created=$4 pid=${5:-0} pst=${6:-0} shim=${7:-0} sst=${8:-0}
	local code=${9:-0} labels=${10:-"{}"}
	id=$(printf "$1%.0s" {1..64})
	mkdir -p "$CTRBOX_ROOT/containers/$id" "$CTRBOX_STATE/containers/$id"
	printf '{"id":"%s","name":"%s","image":"registry.local/app:%s","command":["sleep","1000","--with","a","long","command","line"],"labels":%s,"created":"%s"}' \
		"$id" "$name" "$name" "$labels" "$created" >"$CTRBOX_ROOT/containers/$id/container.json"
	printf '{"status":"%s","pid":%s,"pid_start_time":%s,"shim_pid":%s,"shim_start_time":%s,"started":"%s","finished":"2026-11-29T11:00:00Z","exit_code":%s}' \
		"$status" "$pid" "$pst" "$shim" "$sst" "$created" "$code" \
		>"$CTRBOX_STATE/containers/$id/state.json"
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

# Four containers: a running one, one exited 137, one created, one whose shim is dead, one
# whose init PID was reused (the start time differs) but whose shim lives.
sample() {
	local init shim dead
	spawn; init=$SPAWNED
	spawn; shim=$SPAWNED
	sleep 0 & dead=$!
	wait "$dead" || true
	record a web running 2026-11-29T10:00:00Z "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")" 0 '{"app":"web","tier":"front"}'
	record b job exited 2026-11-29T09:00:00Z 0 0 0 0 137 '{"app":"job"}'
	record c new created 2026-11-29T11:00:00Z
	record d lost running 2026-11-29T08:00:00Z "$init" "$(starttime "$init")" "$dead" 12345
	record e reused running 2026-11-29T07:00:00Z "$init" 1 "$shim" "$(starttime "$shim")"
}

@test "ps: running containers by default, newest first; a dead shim is shown as lost" {
	sample
	CTRBOX_TEST_NOW=2026-11-29T12:00:00Z ctrbox ps
	assert_success
	assert_equal "${lines[0]}" "CONTAINER ID   IMAGE                       COMMAND                    CREATED       STATUS                NAMES"
	assert_equal "${lines[1]}" "aaaaaaaaaaaa   registry.local/app:web      \"sleep 1000 --with a…\"   2 hours ago   Up 2 hours            web"
	assert_equal "${lines[2]}" "dddddddddddd   registry.local/app:lost     \"sleep 1000 --with a…\"   4 hours ago   Unknown (shim lost)   lost"
	assert_equal "${#lines[@]}" 4
	assert_line --index 3 --partial "Up 5 hours"
}

@test "ps: a shim that exited and is not reaped yet (a zombie, same start time) is lost" {
	local init
	spawn; init=$SPAWNED
	zombie
	# the record names the zombie by its PID and its real start time: only its state says dead
	record f zshim running 2026-11-29T10:00:00Z "$init" "$(starttime "$init")" "$ZOMBIE" "$(starttime "$ZOMBIE")"
	is_zombie "$ZOMBIE"
	CTRBOX_TEST_NOW=2026-11-29T12:00:00Z ctrbox ps
	assert_success
	assert_equal "${lines[1]}" "ffffffffffff   registry.local/app:zshim   \"sleep 1000 --with a…\"   2 hours ago   Unknown (shim lost)   zshim"
	ctrbox ps --format json --filter status=unknown
	assert_equal "$(jq -r '.[0] | .names + " " + .state' <<<"$output")" "zshim unknown"
}

@test "ps -a: every state; -q, -n, -l and --no-trunc" {
	sample
	CTRBOX_TEST_NOW=2026-11-29T12:00:00Z ctrbox ps -a
	assert_success
	assert_equal "${#lines[@]}" 6
	assert_line --index 1 --partial "Created"
	assert_line --index 3 --partial "Exited (137) About an hour ago"
	ctrbox ps -a -q
	assert_equal "$(printf '%s\n' "${lines[@]}" | cut -c1 | paste -sd,)" "c,a,b,d,e"
	assert_equal "${#lines[0]}" 64
	ctrbox ps -q -n 2
	assert_equal "$(printf '%s\n' "${lines[@]}" | cut -c1 | paste -sd,)" "c,a"
	ctrbox ps -q -l
	assert_equal "$(printf '%s\n' "${lines[@]}" | cut -c1 | paste -sd,)" "c"
	ctrbox ps --no-trunc -l
	assert_line --index 1 --partial '"sleep 1000 --with a long command line"'
	assert_line --index 1 --partial "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
}

@test "ps --filter: status, exited, name, label, image, id; the same key ORs" {
	sample
	psq() { ctrbox ps -q "$@"; printf '%s\n' "${lines[@]}" | cut -c1 | paste -sd,; }
	assert_equal "$(psq --filter status=exited)" "b"
	assert_equal "$(psq --filter status=unknown)" "d"
	assert_equal "$(psq --filter status=created --filter status=exited)" "c,b"
	assert_equal "$(psq --filter exited=137)" "b"
	assert_equal "$(psq --filter exited=1)" ""
	assert_equal "$(psq -a --filter name=e)" "c,a,e"
	assert_equal "$(psq -a --filter label=app)" "a,b"
	assert_equal "$(psq -a --filter label=app=web --filter label=app=job)" "a,b"
	assert_equal "$(psq -a --filter label=tier=front --filter name=job)" ""
	assert_equal "$(psq -a --filter image=registry.local/app)" "c,a,b,d,e"
	assert_equal "$(psq -a --filter image=registry.local/app:job)" "b"
	assert_equal "$(psq -a --filter id=ddd)" "d"
}

@test "ps --format json: the keys, the live pid, the full command" {
	sample
	ctrbox ps -a --format json
	assert_success
	assert_equal "$(jq -c '[.[] | .state]' <<<"$output")" '["created","running","exited","unknown","running"]'
	assert_equal "$(jq -r '.[1].command' <<<"$output")" "sleep 1000 --with a long command line"
	assert_equal "$(jq -r '.[1].labels.tier' <<<"$output")" "front"
	[ "$(jq -r '.[1].pid' <<<"$output")" -gt 0 ]
	# the reused PID is not the recorded init: not reported as its pid
	assert_equal "$(jq -r '.[4].pid' <<<"$output")" 0
	assert_equal "$(jq -r '.[2].exit_code' <<<"$output")" 137
}

@test "ps: no containers, bad filters, unreadable records" {
	ctrbox ps
	assert_success
	assert_output "CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   NAMES"
	ctrbox ps --filter colour=red
	assert_failure 2
	[[ $stderr == "ctrbox ps: --filter colour=red: expected KEY=VALUE"* ]] || fail "$stderr"
	ctrbox ps --filter status=sleeping
	assert_failure 2
	ctrbox ps --filter exited=x
	assert_failure 2
	ctrbox ps extra
	assert_failure 2
	sample
	echo '{"status":' >"$CTRBOX_STATE/containers/$(printf 'b%.0s' {1..64})/state.json"
	ctrbox ps -a -q
	assert_failure 1
	assert_equal "${#lines[@]}" 5
	assert_equal "$stderr" "ctrbox ps: 1 container record(s) cannot be read"
}

@test "ps: records rewritten in a tight loop by another process are never an error" {
	sample
	local id st
	id=$(printf 'a%.0s' {1..64})
	st=$CTRBOX_STATE/containers/$id/state.json
	cp "$st" "$BATS_TEST_TMPDIR/running.json"
	sed 's/"running"/"exited"/' "$st" >"$BATS_TEST_TMPDIR/exited.json"
	(
		while :; do
			cp "$BATS_TEST_TMPDIR/exited.json" "$st.tmp" && mv "$st.tmp" "$st"
			cp "$BATS_TEST_TMPDIR/running.json" "$st.tmp" && mv "$st.tmp" "$st"
		done
	) 3>&- &
	BG_PIDS+=($!)
	for i in $(seq 30); do
		run --separate-stderr "$CTRBOX_BIN" ps -a --format json
		[ "$status" -eq 0 ] || fail "ps failed on round $i: $stderr"
		[ "$(jq length <<<"$output")" -eq 5 ] || fail "round $i: $output"
		jq -e '.[1].state == "running" or .[1].state == "exited"' <<<"$output" >/dev/null
	done
}

@test "ps: a real container is Up, then Unknown (shim lost) when its shim is killed with -9" {
	requires root
	# a short STATE: the attach socket's path must fit in sun_path
	CTRBOX_STATE=$(mktemp -d /tmp/ctrbox-ps.XXXXXX)
	export CTRBOX_STATE
	ctrbox pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
	ctrbox run -d --name real localhost/oci:busybox sleep 1000
	assert_success
	id=$output
	ctrbox ps --filter name=real
	assert_line --index 1 --partial "Up "
	shim=$(jq -r .shim_pid "$CTRBOX_STATE/containers/$id/state.json")
	init=$(jq -r .pid "$CTRBOX_STATE/containers/$id/state.json")
	BG_PIDS+=("$init")
	kill -9 "$shim"
	retry 50 0.1 bash -c "! kill -0 $shim 2>/dev/null"
	ctrbox ps --filter name=real
	assert_line --index 1 --partial "Unknown (shim lost)"
	kill -9 "$init"
	ctrbox rm -f real
	rm -rf "$CTRBOX_STATE"
}
