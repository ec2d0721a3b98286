#!/usr/bin/env bats
# ctrbox diagnose: every check's outcomes on fixture trees (tests/fixtures/node/<case>) with the
# verdict, the evidence and the exit code (0 OK, 1 WARN, 2 CRITICAL, 3 UNKNOWN); live where it is
# cheap: the fsync probe on the sandbox, a full tmpfs as ROOT, shims that die or are not
# reparented, stale and corrupt store files, --watch journaling changes (issue 8).

setup_file() {
	load ../promcheck
	promtool_fetch
}

setup() {
	load ../helpers
	load ../promcheck
	sandbox
	FIX=$TOP/tests/fixtures/node
	# a short STATE: a real container's attach socket path must fit in sun_path
	CTRBOX_STATE=$(mktemp -d /tmp/ctrbox-diag.XXXXXX)
	export CTRBOX_STATE
	mkdir -p "$CTRBOX_ROOT"
	BG_PIDS=()
	MNT=
}

teardown() {
	local p f pid
	for p in "${BG_PIDS[@]}"; do
		pkill -9 -P "$p" 2>/dev/null || true # its children, by parent PID
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for f in "$CTRBOX_STATE"/containers/*/state.json; do
		[ -f "$f" ] || continue
		for pid in $(jq -r '.pid // 0, .shim_pid // 0' "$f"); do
			[ "$pid" -gt 1 ] && kill -9 "$pid" 2>/dev/null
		done
	done
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	rm -rf "$CTRBOX_STATE"
	return 0
}

# diag CASE-DIR-VAR... : sets the host roots to a fixture case, then runs one check as JSON.
# check NAME [options]: runs diagnose --check NAME --format json; $st, $sum, $ev are its status,
# summary and evidence (JSON).
check() {
	local name=$1
	shift
	ctrbox diagnose --check "$name" --format json "$@"
	st=$(jq -r '.[0].status' <<<"$output")
	sum=$(jq -r '.[0].summary' <<<"$output")
	ev=$(jq -c '.[0].evidence' <<<"$output")
	remedy=$(jq -r '.[0].remedy' <<<"$output")
}

evidence() { jq -r --arg k "$1" '.[$k]' <<<"$ev"; }

proc_of() { export CTRBOX_HOST_PROC=$FIX/$1/proc; }

@test "diagnose: pressure OK, WARN at some 25%, FAIL at io 80%, full memory WARN, UNKNOWN without PSI" {
	proc_of pressure-ok
	check pressure
	assert_equal "$status" 0
	assert_equal "$st" OK
	assert_equal "$(evidence io_some_avg10_percent)" 0.5
	proc_of pressure-io25
	check pressure
	assert_equal "$status" 1
	assert_equal "$st" WARN
	assert_equal "$sum" "io pressure: some 25.0% >= 20%"
	proc_of pressure-io80
	check pressure
	assert_equal "$status" 2
	assert_equal "$st" FAIL
	assert_equal "$sum" "io pressure: some 80.0% >= 50%"
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" IOPressure
	assert_equal "$(evidence io_full_avg10_percent)" 35.1
	assert_equal "$(evidence io_some_avg60_percent)" 62.5
	[[ $remedy == *iotop* ]]
	proc_of pressure-memfull
	check pressure
	assert_equal "$status" 1
	assert_equal "$sum" "memory pressure: full 6.5% >= 5%"
	proc_of pressure-none
	check pressure
	assert_equal "$status" 3
	assert_equal "$st" UNKNOWN
	[[ $remedy == *psi=1* ]]
}

@test "diagnose: dirty backlog OK, 3 GB dirty WARN, at the dirty limit FAIL, dirty_bytes honoured" {
	proc_of memory-ok
	check memory
	assert_equal "$status" 0
	proc_of memory-dirty3g
	check memory
	assert_equal "$status" 1
	assert_equal "$st" WARN
	assert_equal "$(evidence dirty_bytes)" 3221225472
	assert_equal "$(evidence vm_dirty_ratio_percent)" 20
	[[ $sum == *"an unmount or sync would flush all of it"* ]]
	proc_of memory-throttled
	check memory
	assert_equal "$status" 2
	[[ $sum == *"at the dirty limit"*"writers are throttled" ]]
	proc_of memory-dirtybytes
	check memory
	assert_equal "$status" 2
	assert_equal "$(evidence dirty_limit_bytes)" 536870912
}

@test "diagnose: a D-state umount for 75s is a hung unmount flushing dirty pages (FAIL)" {
	proc_of dstate-umount
	check dstate
	assert_equal "$status" 2
	assert_equal "$sum" "umount (pid 4242) in D for 1m15s: hung unmount flushing dirty pages"
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" TaskHung
	assert_equal "$(evidence method)" "sched exec_start"
	assert_equal "$(evidence longest_in_d_seconds)" 75
	[[ $(evidence task_4242) == *"wchan=wb_wait_for_completion"* ]]
	[[ $(evidence task_4242_stack) == "wb_wait_for_completion < sync_inodes_sb < "* ]]
	# the table shows the evidence and the remedy of what is not OK
	ctrbox diagnose --check dstate
	assert_equal "$status" 2
	assert_line --partial "task_4242_stack: wb_wait_for_completion"
	assert_line --partial "remedy: find what the tasks wait on"
}

@test "diagnose: D state for 15s in fsync WARNs, a short D is OK, no sched falls back to two samples" {
	proc_of dstate-fsync
	check dstate
	assert_equal "$status" 1
	assert_equal "$sum" "etcd (pid 777) in D for 15s: fsync waiting for the ext4 journal commit"
	proc_of dstate-ok
	check dstate
	assert_equal "$status" 0
	assert_equal "$(evidence tasks_in_d)" 1
	proc_of dstate-nosched
	check dstate
	assert_equal "$status" 1
	assert_equal "$(evidence method)" "two samples"
	[[ $sum == *"in D across two samples 200ms apart: hung unmount flushing dirty pages" ]]
}

@test "diagnose: kmsg rules: clean OK, an OOM kill WARN, I/O error and read-only remount FAIL, hung task" {
	export CTRBOX_HOST_DEV=$FIX/kmsg-clean/dev
	check kmsg
	assert_equal "$status" 0
	assert_equal "$(evidence records)" 3
	export CTRBOX_HOST_DEV=$FIX/kmsg-oom/dev
	check kmsg
	assert_equal "$status" 1
	assert_equal "$(evidence OOMKilling_count)" 1 # the continuation line is not a record
	[[ $(evidence OOMKilling_last) == "[3586.873300] Memory cgroup out of memory: Killed process 27960 (sh)"* ]]
	export CTRBOX_HOST_DEV=$FIX/kmsg-readonly/dev
	check kmsg
	assert_equal "$status" 2
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" ReadonlyFilesystem
	assert_equal "$(evidence IOError_count)" 1
	assert_equal "$(evidence Ext4Error_count)" 1
	export CTRBOX_HOST_DEV=$FIX/kmsg-hung/dev
	check kmsg
	assert_equal "$status" 1
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" TaskHung
	export CTRBOX_HOST_DEV=$BATS_TEST_TMPDIR/nodev
	mkdir -p "$CTRBOX_HOST_DEV"
	check kmsg
	assert_equal "$status" 3
	[[ $sum == "cannot read the kernel log: "*"No such file or directory" ]]
}

@test "diagnose: limits: files FAIL at 98%, tasks vs pid_max WARN, inotify watches counted from fdinfo" {
	proc_of limits-ok
	check limits
	assert_equal "$status" 0
	assert_equal "$(evidence inotify_watches_top_user)" 12
	proc_of limits-files
	check limits
	assert_equal "$status" 2
	assert_equal "$sum" "open files (file-nr vs file-max): 980000 of 1000000 in use (98.0%)"
	proc_of limits-pids
	check limits
	assert_equal "$status" 1
	assert_equal "$sum" "tasks vs pid_max: 30000 of 32768 in use (91.6%)"
	proc_of limits-inotify
	check limits
	assert_equal "$status" 1
	assert_equal "$(evidence inotify_watches_top_user)" 900
	assert_equal "$(evidence inotify_instances_top_user)" 3
}

@test "diagnose: cgroup v2 OK, v1 WARN, a disabled memory controller FAIL" {
	proc_of cgroup-v2
	check cgroup
	assert_equal "$status" 0
	assert_equal "$(evidence version)" v2
	assert_equal "$(evidence controller_memory)" "v2 /sys/fs/cgroup"
	proc_of cgroup-v1
	check cgroup
	assert_equal "$status" 1
	assert_equal "$(evidence controller_memory)" "v1 /sys/fs/cgroup/memory"
	assert_equal "$(evidence controller_cpu)" "v1 /sys/fs/cgroup/cpu,cpuacct"
	proc_of cgroup-nomemory
	check cgroup
	assert_equal "$status" 2
	assert_equal "$sum" "the memory controller is disabled: --memory limits cannot be enforced"
}

@test "diagnose: overlay available OK, missing FAIL, volatile on an old kernel" {
	proc_of overlay-ok
	check overlay
	assert_equal "$status" 0
	assert_equal "$(evidence host_overlay_mounts_without_volatile)" 1
	proc_of overlay-missing
	check overlay
	assert_equal "$status" 2
	proc_of overlay-old
	check overlay
	assert_equal "$status" 0
	assert_equal "$(evidence volatile_supported)" 0
	printf 'snapshots:\n  volatile: true\n' >"$CTRBOX_CONFIG"
	check overlay
	assert_equal "$status" 2
	[[ $sum == "snapshots.volatile is true but this kernel (5.4) has no overlay volatile" ]]
}

@test "diagnose: clock via adjtimex: synchronised OK, large max error WARN, unsynchronised FAIL" {
	CTRBOX_TEST_ADJTIMEX="status=0,maxerror=5000" check clock
	assert_equal "$status" 0
	assert_equal "$sum" "synchronised (maximum error 5ms)"
	CTRBOX_TEST_ADJTIMEX="status=0,maxerror=200000" check clock
	assert_equal "$status" 1
	CTRBOX_TEST_ADJTIMEX="status=64,maxerror=16000000,rc=5" check clock
	assert_equal "$status" 2
	assert_equal "$(evidence synchronised)" 0
	assert_equal "$sum" "the clock is not synchronised (maximum error 16s)"
}

@test "diagnose: the fsync probe writes 20 blocks in ROOT and leaves nothing behind" {
	check fsync
	[[ $st == OK || $st == WARN || $st == FAIL ]]
	assert_equal "$(evidence writes)" 20
	assert_equal "$(evidence path)" "$CTRBOX_ROOT"
	[ "$(evidence p99_seconds)" != null ]
	assert_equal "$(ls -A "$CTRBOX_ROOT")" ""
	export CTRBOX_ROOT=$BATS_TEST_TMPDIR/none
	check fsync
	assert_equal "$status" 3
	[ ! -e "$CTRBOX_ROOT" ]
}

@test "diagnose: a full tmpfs as ROOT fails the disk check, an inode-exhausted one too" {
	requires root
	MNT=$BATS_TEST_TMPDIR/full
	mkdir -p "$MNT"
	mount -t tmpfs -o size=1m,nr_inodes=1000 tmpfs "$MNT"
	export CTRBOX_ROOT=$MNT
	check disk
	assert_equal "$status" 0
	dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null || true
	check disk
	assert_equal "$status" 2
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" DiskPressure
	assert_equal "$(evidence root_available_percent)" 0
	[[ $sum == "root $MNT: 0.0% available (0B) < 15% (kubelet evicts)" ]]
	rm "$MNT/fill"
	for i in $(seq 1 990); do : >"$MNT/f$i" 2>/dev/null || break; done
	check disk
	assert_equal "$status" 2
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" InodePressure
}

@test "diagnose: store: a corrupt document FAILs, a stale temp file WARNs, --deep finds a bad blob" {
	check store
	assert_equal "$status" 0
	mkdir -p "$CTRBOX_ROOT/images" "$CTRBOX_ROOT/content/blobs/sha256"
	: >"$CTRBOX_ROOT/images/old.json.tmp.123.abc"
	touch -d '-2 minutes' "$CTRBOX_ROOT/images/old.json.tmp.123.abc"
	: >"$CTRBOX_ROOT/images/new.json.tmp.124.abd"
	check store
	assert_equal "$status" 1
	assert_equal "$(evidence stale_temp_files)" 1
	[[ $(evidence stale_files) == *"old.json.tmp.123.abc" ]]
	printf 'hello' >"$CTRBOX_ROOT/content/blobs/sha256/$(printf 'hello' | sha256sum | cut -c1-64)"
	printf 'evil' >"$CTRBOX_ROOT/content/blobs/sha256/$(printf 'good' | sha256sum | cut -c1-64)"
	check store
	assert_equal "$status" 1
	check store --deep
	assert_equal "$status" 2
	assert_equal "$(evidence blobs_verified)" 2
	assert_equal "$(evidence blobs_corrupt)" 1
	rm "$CTRBOX_ROOT"/images/*.tmp.*
	printf '{"broken' >"$CTRBOX_ROOT/images/docker.io%2Flibrary%2Fbusybox%3Alatest.json"
	check store
	assert_equal "$status" 2
	[[ $sum == "1 unreadable: "*"busybox"* ]]
}

starttime() { awk '{print $22}' "/proc/$1/stat"; }

spawn() {
	# fd 3 is bats' own: a process that kept it would hang the whole run.
	"$@" 3>&- &
	SPAWNED=$!
	BG_PIDS+=("$SPAWNED")
}

# record C NAME STATUS [PID PST SHIM SST [SHIM_PARENT]]: a hand-made container, ID C repeated.
record() {
	local id name=$2 status=$3 pid=${4:-0} pst=${5:-0} shim=${6:-0} sst=${7:-0} sp=${8:-0}
	id=$(printf "$1%.0s" {1..64})
	mkdir -p "$CTRBOX_ROOT/containers/$id" "$CTRBOX_STATE/containers/$id"
	printf '{"id":"%s","name":"%s","image":"img","created":"2026-11-29T10:00:00Z"}' "$id" "$name" \
		>"$CTRBOX_ROOT/containers/$id/container.json"
	printf '{"status":"%s","pid":%s,"pid_start_time":%s,"shim_pid":%s,"shim_start_time":%s,"shim_parent_pid":%s,"exit_code":0}' \
		"$status" "$pid" "$pst" "$shim" "$sst" "$sp" >"$CTRBOX_STATE/containers/$id/state.json"
}

@test "diagnose: shims: alive OK, gone FAIL, not reparented WARN, zombies WARN, orphans WARN" {
	spawn sleep 1000; init=$SPAWNED
	spawn sleep 1000; shim=$SPAWNED
	record a web running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")" $$
	check shims
	assert_equal "$status" 0
	assert_equal "$(evidence running)" 1
	# recorded as adopted by PID 1, but its parent is this shell
	record a web running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")" 1
	check shims
	assert_equal "$status" 1
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" ShimNotReparented
	# a shim that does not reap: its exited child stays a zombie
	spawn sh -c 'sleep 0 & exec sleep 1000'; zshim=$SPAWNED
	retry 50 0.1 grep -q "^State:.*zombie" $(grep -l "^PPid:[[:space:]]*$zshim\$" /proc/[0-9]*/status 2>/dev/null | head -1) 2>/dev/null || true
	record b job running "$init" "$(starttime "$init")" "$zshim" "$(starttime "$zshim")" 0
	check shims
	assert_equal "$status" 1
	assert_equal "$(evidence zombies_under_shims)" 1
	# the shim's PID now belongs to another process (start time differs): the shim is lost
	record c lost running "$init" "$(starttime "$init")" "$shim" 1 0
	check shims
	assert_equal "$status" 2
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" ShimLost
	[[ $sum == "container lost: its shim (pid $shim) is gone" ]]
	rm -r "$CTRBOX_ROOT/containers/$(printf 'c%.0s' {1..64})" "$CTRBOX_STATE/containers/$(printf 'c%.0s' {1..64})"
	# a shim of this STATE serving no container
	# Not exec: the process must keep the name ctrbox-shim; it takes its sleep with it on TERM.
	printf '#!/bin/sh\nsleep 1000 &\ntrap "kill $!; exit 0" TERM\nwait\n' >"$BATS_TEST_TMPDIR/ctrbox-shim"
	chmod +x "$BATS_TEST_TMPDIR/ctrbox-shim"
	spawn "$BATS_TEST_TMPDIR/ctrbox-shim" --state "$CTRBOX_STATE"
	retry 50 0.1 grep -q ctrbox-shim "/proc/$SPAWNED/comm"
	check shims
	assert_equal "$(evidence orphan_shims)" 1
}

dead() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

@test "diagnose: a real container whose shim is killed -9 is a lost shim (FAIL)" {
	requires root
	requires cmd jq umoci
	ctrbox pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
	ctrbox run -d --name d1 localhost/oci:busybox sleep 1000
	assert_success
	check shims
	assert_equal "$status" 0
	assert_equal "$(evidence running)" 1
	id=$(ls "$CTRBOX_STATE/containers")
	kill -9 "$(jq -r .shim_pid "$CTRBOX_STATE/containers/$id/state.json")"
	# dead: gone, or a zombie its adopter has not reaped yet (which diagnose counts as gone)
	retry 50 0.1 dead "$(jq -r .shim_pid "$CTRBOX_STATE/containers/$id/state.json")"
	check shims
	assert_equal "$status" 2
	assert_equal "$sum" "container d1: its shim (pid $(jq -r .shim_pid "$CTRBOX_STATE/containers/$id/state.json")) is gone"
}

@test "diagnose: relist: a live listing, a recorded relist OK, intervals, a stopped loop WARN" {
	check relist
	assert_equal "$status" 0
	assert_equal "$(evidence recorded)" "no relist since boot"
	ctrbox relist
	assert_success
	check relist
	assert_equal "$status" 0
	assert_equal "$(evidence relists)" 1
	assert_equal "$(evidence intervals)" 0
	# the interval histogram: 1.02 s and 240 s since the previous relist's start
	CTRBOX_TEST_NOW=2026-11-29T10:00:00Z ctrbox relist
	CTRBOX_TEST_NOW=2026-11-29T10:00:01.02Z ctrbox relist
	CTRBOX_TEST_NOW=2026-11-29T10:04:01.02Z ctrbox relist
	CTRBOX_TEST_NOW=2026-11-29T10:04:01.02Z check relist
	assert_equal "$status" 0
	assert_equal "$(jq -c '[.intervals, .mean_interval_seconds, .p99_interval_le_seconds]' <<<"$ev")" \
		'[2,120.51,"+Inf"]'
	CTRBOX_TEST_NOW=$(($(date +%s) + 600)) check relist
	assert_equal "$status" 1
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" RelistStalled
}

has_event() { "$CTRBOX_BIN" events --format json 2>/dev/null | grep -q "$1"; }

@test "diagnose: --watch journals a worsening (Warning) and the recovery (Normal)" {
	mkdir -p "$BATS_TEST_TMPDIR/proc"
	cp -r "$FIX/pressure-io80/proc/pressure" "$BATS_TEST_TMPDIR/proc/"
	export CTRBOX_HOST_PROC=$BATS_TEST_TMPDIR/proc
	"$CTRBOX_BIN" diagnose --watch --interval 1s --check pressure >"$BATS_TEST_TMPDIR/out" 2>&1 &
	BG_PIDS+=($!)
	retry 50 0.1 has_event '"IOPressure"'
	cp "$FIX/pressure-ok/proc/pressure/io" "$BATS_TEST_TMPDIR/proc/pressure/io"
	retry 50 0.1 has_event IOPressureRecovered
	kill "${BG_PIDS[0]}"
	wait "${BG_PIDS[0]}" || true
	ctrbox events --format json
	assert_success
	assert_equal "$(jq -r '[.[] | select(.source == "diagnose") | .type + ":" + .reason] | join(",")' <<<"$output")" \
		"Warning:IOPressure,Normal:IOPressureRecovered"
	jq -e '.pressure.status == "OK"' "$CTRBOX_STATE/diagnose/status.json"
	# a second watcher starts from the kept state: nothing changed, nothing journaled
	"$CTRBOX_BIN" diagnose --watch --interval 1s --check pressure >/dev/null 2>&1 &
	BG_PIDS+=($!)
	sleep 1.5
	ctrbox events --format json
	assert_equal "$(jq '[.[] | select(.source == "diagnose")] | length' <<<"$output")" 2
}

@test "diagnose: the whole run stays under 2 s, prometheus output validates, exit code is the worst" {
	local t0 t1
	t0=$(date +%s%N)
	ctrbox diagnose --format json
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 2000 ] || fail "diagnose took $(((t1 - t0) / 1000000)) ms"
	worst=$(jq -r '[.[].status] | if index("FAIL") then 2 elif index("WARN") then 1 elif index("UNKNOWN") then 3 else 0 end' <<<"$output")
	assert_equal "$status" "$worst"
	assert_equal "$(jq length <<<"$output")" 13
	ctrbox diagnose --format prometheus
	promcheck "$output"
	assert_line --regexp '^ctrbox_check_status\{check="fsync"\} [0-3]$'
}

@test "diagnose: usage errors" {
	ctrbox diagnose --check nope
	assert_equal "$status" 2
	[[ $stderr == *"--check nope: no such check"* ]]
	ctrbox diagnose --format yaml
	assert_equal "$status" 2
	ctrbox diagnose --interval 5s
	assert_equal "$status" 2
	[[ $stderr == *"--interval needs --watch"* ]]
	ctrbox diagnose extra
	assert_equal "$status" 2
}

@test "diagnose: thresholds and extra kernel log rules come from the config" {
	export CTRBOX_HOST_DEV=$FIX/kmsg-custom/dev
	check kmsg
	assert_equal "$status" 0
	cat >"$CTRBOX_CONFIG" <<-'YAML'
	diagnose:
	  pressure_some_warn: 85
	  pressure_some_fail: 90
	  rules:
	    - pattern: "NETDEV WATCHDOG: [^ ]+ .*timed out"
	      reason: NetdevTimeout
	      severity: fail
	    - pattern: "mounted filesystem"
	      reason: Mounted
	YAML
	check kmsg
	assert_equal "$status" 2
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" NetdevTimeout
	assert_equal "$(evidence NetdevTimeout_count)" 1
	assert_equal "$(evidence Mounted_count)" 1
	# some 80% is under the raised thresholds; full 35.1% still FAILs
	proc_of pressure-io80
	check pressure
	assert_equal "$sum" "io pressure: full 35.1% >= 20%"
	printf 'diagnose:\n  rules:\n    - pattern: "a("\n      reason: X\n' >"$CTRBOX_CONFIG"
	ctrbox diagnose --check kmsg
	assert_failure 1
	assert_equal "$stderr" "ctrbox diagnose: $CTRBOX_CONFIG:3:16: \"diagnose.rules[0].pattern\": not an extended regular expression: Unmatched ( or \\("
	printf 'diagnose:\n  dstate_warn: 2m\n' >"$CTRBOX_CONFIG"
	ctrbox diagnose --check kmsg
	assert_failure 1
	assert_equal "$stderr" "ctrbox diagnose: $CTRBOX_CONFIG:2:16: \"diagnose.dstate_warn\" must not be above \"diagnose.dstate_fail\""
}

@test "diagnose: pressure per running container from its cgroup v2 io.pressure" {
	local init shim id p
	spawn sleep 1000; init=$SPAWNED
	spawn sleep 1000; shim=$SPAWNED
	record a web running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")" 0
	# the node's PSI from a fixture, the container's processes from the real /proc
	mkdir -p "$BATS_TEST_TMPDIR/proc"
	cp -r "$FIX/pressure-ok/proc/pressure" "$BATS_TEST_TMPDIR/proc/"
	for p in "$init" "$shim"; do ln -s "/proc/$p" "$BATS_TEST_TMPDIR/proc/$p"; done
	export CTRBOX_HOST_PROC=$BATS_TEST_TMPDIR/proc CTRBOX_HOST_CGROUP=$FIX/metrics-v2/cgroup
	check pressure
	assert_equal "$status" 2
	assert_equal "$sum" "container web: io pressure: some 70.0% >= 50%"
	assert_equal "$(evidence containers_checked)" 1
	assert_equal "$(evidence container_aaaaaaaaaaaa_io_some_avg10_percent)" 70
	assert_equal "$(evidence container_aaaaaaaaaaaa_memory_some_avg10_percent)" 0
	assert_equal "$(evidence io_some_avg10_percent)" 0.5
}

@test "diagnose: kmsg reads the real /dev/kmsg (a marker line written there matches a config rule)" {
	requires root
	local marker="ctrbox-diagnose-test-$$-$RANDOM"
	printf 'diagnose:\n  rules:\n    - pattern: "%s"\n      reason: DiagnoseMarker\n' "$marker" >"$CTRBOX_CONFIG"
	check kmsg
	[ "$(evidence DiagnoseMarker_count)" = null ]
	echo "$marker written by diagnose.bats" >/dev/kmsg
	check kmsg
	assert_equal "$(evidence DiagnoseMarker_count)" 1
	[[ $(evidence DiagnoseMarker_last) == *"$marker written by diagnose.bats" ]]
}

@test "diagnose: a relist holding its lock past the stall threshold FAILs" {
	ctrbox relist
	assert_success
	exec 9>"$CTRBOX_STATE/relist/lock"
	flock 9
	CTRBOX_TEST_NOW=$(($(date +%s) + 600)) check relist
	exec 9>&-
	assert_equal "$status" 2
	[[ $sum == "a relist holds STATE/relist/lock and none completed for "* ]]
}

@test "diagnose: overlay: a container's root overlay without volatile WARNs where volatile is wanted" {
	local init shim
	spawn sleep 1000; init=$SPAWNED
	spawn sleep 1000; shim=$SPAWNED
	record a web running "$init" "$(starttime "$init")" "$shim" "$(starttime "$shim")" 0
	# a host proc from the fixture; the container's processes with its stat and a made-up
	# mount namespace
	mkdir -p "$BATS_TEST_TMPDIR/proc"
	cp -r "$FIX/overlay-ok/proc/." "$BATS_TEST_TMPDIR/proc/"
	mkdir "$BATS_TEST_TMPDIR/proc/$init"
	cp "/proc/$init/stat" "$BATS_TEST_TMPDIR/proc/$init/stat"
	ln -s "/proc/$shim" "$BATS_TEST_TMPDIR/proc/$shim"
	printf '500 400 0:60 / / rw,relatime - overlay overlay rw,lowerdir=1/fs,upperdir=/u,workdir=/w\n' \
		>"$BATS_TEST_TMPDIR/proc/$init/mountinfo"
	export CTRBOX_HOST_PROC=$BATS_TEST_TMPDIR/proc
	check overlay
	assert_equal "$status" 1
	assert_equal "$sum" "container web: overlay mounted without volatile: its unmount will flush dirty pages"
	assert_equal "$(evidence container_overlay_mounts_without_volatile)" 1
	printf 'snapshots:\n  volatile: false\n' >"$CTRBOX_CONFIG"
	check overlay
	assert_equal "$status" 0
	printf '500 400 0:60 / / rw,relatime - overlay overlay rw,lowerdir=1/fs,upperdir=/u,workdir=/w,volatile\n' \
		>"$BATS_TEST_TMPDIR/proc/$init/mountinfo"
	: >"$CTRBOX_CONFIG"
	check overlay
	assert_equal "$status" 0
	assert_equal "$(evidence container_overlay_mounts)" 1
}
