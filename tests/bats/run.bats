#!/usr/bin/env bats
# ctrbox run with real containers (DESIGN.md "run", issue 5): output and exit codes, -d, --rm,
# --name, env/user/workdir/volumes/read-only, cgroup limits read back, an OOM kill, the shim's
# parent and survival of `run` killed -9, fds, capabilities, masked paths, seccomp, a umoci
# bundle, and the same config.json under runc.

setup() {
	load ../helpers
	sandbox
	requires root
	requires cmd jq umoci
	IMG=localhost/oci:busybox
	run "$CTRBOX_BIN" pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
}

# Kills what the test left running: each container's init (the shim reaps it and exits), then
# any shim that is still there, by the PIDs state.json recorded.
teardown() {
	stop_containers
	[ -n "${RUNC_ROOT:-}" ] && runc --root "$RUNC_ROOT" delete -f ctrbox-test 2>/dev/null
	return 0
}

state() { # state ID FIELD
	jq -r ".$2" "$CTRBOX_STATE/containers/$1/state.json"
}

is_status() { # is_status ID STATUS
	[ "$(state "$1" status)" = "$2" ]
}

id_of() { # id_of NAME: the ID of the container with that name
	local f
	for f in "$CTRBOX_ROOT"/containers/*/container.json; do
		[ -f "$f" ] && [ "$(jq -r .name "$f")" = "$1" ] && basename "$(dirname "$f")" && return 0
	done
	return 1
}

@test "run: output on stdout and stderr, and the container's exit code" {
	ctrbox run "$IMG" sh -c 'echo out; echo err >&2'
	assert_success
	assert_output "out"
	[ "$stderr" = "err" ]
	ctrbox run "$IMG" sh -c 'exit 3'
	assert_failure 3
	# A command killed by a signal: 128+N (PID 1 ignores what it has no handler for, so
	# the signal comes from outside).
	ctrbox run -d "$IMG" sleep 30
	id=$output
	retry 50 0.1 is_status "$id" running
	kill -TERM "$(state "$id" pid)" # ignored by PID 1 without a handler
	kill -KILL "$(state "$id" pid)"
	retry 50 0.1 is_status "$id" exited
	[ "$(state "$id" exit_code)" = 137 ]
}

@test "run: 127 for a missing command, 126 for one that cannot be executed, with the reason" {
	ctrbox run "$IMG" no-such-command
	assert_failure 127
	[ "$stderr" = 'ctrbox run: exec: "no-such-command": executable file not found in $PATH' ]
	ctrbox run "$IMG" /no/such/file
	assert_failure 127
	ctrbox run "$IMG" /etc/passwd
	assert_failure 126
	[[ $stderr == *"permission denied"* || $stderr == *"Permission denied"* ]]
}

@test "run: 125 with the message for a bad user, workdir, image or option" {
	ctrbox run -u nosuchuser "$IMG" true
	assert_failure 125
	[ "$stderr" = "ctrbox run: unable to find user nosuchuser: no matching entries in passwd file" ]
	ctrbox run -w /etc/passwd/sub "$IMG" true
	assert_failure 125
	[[ $stderr == *"workdir"*"/etc/passwd/sub"* ]]
	ctrbox run --pull never localhost/nothing:here true
	assert_failure 125
	[[ $stderr == *"no such image"* ]]
	ctrbox run --memory 1k "$IMG" true
	assert_failure 125
	[[ $stderr == *"minimum memory limit"* ]]
	ctrbox run --net bridge "$IMG" true
	assert_failure 2
	# Nothing is left of the containers that failed before they started.
	run bash -c "ls '$CTRBOX_ROOT/containers' | grep -c '^[0-9a-f]\{64\}$'"
	[ "$output" -le 2 ] # the user and workdir failures keep their records, as docker's do
}

@test "run: pulls a missing image from a registry, and --pull never does not" {
	ctrbox run --pull never --plain-http "$BUSYBOX_IMAGE" true
	assert_failure 125
	[[ $stderr == *"no such image (and --pull never)"* ]]
	ctrbox run --plain-http "$BUSYBOX_IMAGE" echo pulled
	assert_success
	assert_output pulled
	"$CTRBOX_BIN" images -q | grep -q .
	# Now present: --pull never finds it.
	ctrbox run --pull never "$BUSYBOX_IMAGE" echo again
	assert_output again
}

@test "run: a six-layer image with whiteouts and an opaque dir shows the merged tree" {
	run "$CTRBOX_BIN" pull -q --no-unpack "oci:$CTRBOX_FIXTURES/oci:layers"
	assert_success
	# Plus the three files every container gets bound over its /etc (run_files.bats).
	expect=$({ awk '{print $1}' "$CTRBOX_FIXTURES/layers.expect" | grep -E '^(data|etc|root|tmp)(/|$)'
		printf 'etc/hosts\netc/hostname\netc/resolv.conf\n'; } | sort -u)
	# The first run unpacks, the second finds the snapshots ready: the same tree.
	for i in 1 2; do
		ctrbox run localhost/oci:layers sh -c 'cd / && find data etc root tmp'
		assert_success
		[ "$(echo "$output" | sort)" = "$expect" ]
	done
}

@test "run: -d prints the ID, --name names it, a taken name is refused" {
	ctrbox run -d --name web -l tier=front --label app=shop "$IMG" sleep 30
	assert_success
	[[ $output =~ ^[0-9a-f]{64}$ ]]
	id=$output
	[ "$(jq -r .name "$CTRBOX_ROOT/containers/$id/container.json")" = web ]
	[ "$(jq -c .labels "$CTRBOX_ROOT/containers/$id/container.json")" = '{"tier":"front","app":"shop"}' ]
	[ "$(jq -c .command "$CTRBOX_ROOT/containers/$id/container.json")" = '["sleep","30"]' ]
	jq -e '.image_digest | startswith("sha256:")' "$CTRBOX_ROOT/containers/$id/container.json"
	grep -q "\"Created\".*$id" "$CTRBOX_ROOT/events/journal.jsonl"
	retry 50 0.1 grep -q "\"Started\".*$id" "$CTRBOX_ROOT/events/journal.jsonl"
	retry 50 0.1 is_status "$id" running
	[ "$(state "$id" pid)" -gt 1 ]
	ctrbox run -d --name web "$IMG" true
	assert_failure 125
	[[ $stderr == *"name web: already in use"* ]]
}

@test "run: --rm removes the container after it exits, even when run was -d" {
	ctrbox run --rm --name gone "$IMG" echo bye
	assert_success
	assert_output bye
	run id_of gone
	assert_failure
	ctrbox run -d --rm "$IMG" sleep 0.3
	assert_success
	id=$output
	retry 50 0.1 test ! -e "$CTRBOX_ROOT/containers/$id"
	[ ! -e "$CTRBOX_STATE/containers/$id" ]
	grep -q "\"Removed\".*$id" "$CTRBOX_ROOT/events/journal.jsonl"
}

@test "run: env, env-file, user, workdir, hostname, volumes and a read-only root" {
	mkdir -p "$SANDBOX/vol"
	echo data >"$SANDBOX/vol/f"
	printf 'A=from-file\n# comment\n\nB=2\n' >"$SANDBOX/env"
	ctrbox run -e FOO=bar --env-file "$SANDBOX/env" -u nobody -w /tmp/wd --hostname box \
		-v "$SANDBOX/vol:/data:ro" -v "$SANDBOX/vol:/rw" --read-only "$IMG" \
		sh -c 'echo $FOO $A $B; id -u; id -g; pwd; hostname; cat /data/f;
		       touch /data/x 2>/dev/null || echo ro-volume; touch /y 2>/dev/null || echo ro-root'
	assert_success
	assert_output "bar from-file 2
65534
65534
/tmp/wd
box
data
ro-volume
ro-root"
	ctrbox run -u 1234:5678 "$IMG" sh -c 'id -u; id -g'
	assert_output "1234
5678"
	ctrbox run -v "$SANDBOX/vol:/rw" "$IMG" sh -c 'echo new >/rw/g'
	assert_success
	[ "$(cat "$SANDBOX/vol/g")" = new ]
}

@test "run: -i gives the container our stdin, whole and with its end; without -i it reads /dev/null" {
	run bash -c "echo hello | '$CTRBOX_BIN' run -i --rm '$IMG' cat"
	assert_success
	assert_output hello
	head -c 3000000 /dev/urandom >"$SANDBOX/big"
	run bash -c "'$CTRBOX_BIN' run -i --rm '$IMG' md5sum <'$SANDBOX/big'"
	assert_output "$(md5sum <"$SANDBOX/big")"
	run bash -c "'$CTRBOX_BIN' run -i --rm '$IMG' cat <'$SANDBOX/big' | wc -c"
	assert_output 3000000
	# A container that never reads its input still ends, and run with it.
	run bash -c "'$CTRBOX_BIN' run -i --rm '$IMG' sh -c 'exit 4' <'$SANDBOX/big'"
	assert_failure 4
	run bash -c "echo hi | '$CTRBOX_BIN' run --rm '$IMG' cat"
	assert_success
	assert_output ""
}

@test "run: the entrypoint option and the image's Cmd" {
	ctrbox run --entrypoint /bin/echo "$IMG" a b
	assert_output "a b"
	# busybox's Cmd is sh: with stdin on /dev/null it exits at once.
	ctrbox run "$IMG"
	assert_success
}

@test "run: memory, CPU and pids limits are written to the cgroup and read back" {
	[ -d /sys/fs/cgroup/memory ] || skip "no cgroup v1 memory controller (v2 is unit-tested)"
	ctrbox run -d --memory 64m --cpus 0.5 --pids-limit 20 "$IMG" sleep 30
	assert_success
	id=$output
	retry 50 0.1 is_status "$id" running
	[ "$(cat /sys/fs/cgroup/memory/ctrbox/$id/memory.limit_in_bytes)" = 67108864 ]
	[ "$(cat /sys/fs/cgroup/cpu/ctrbox/$id/cpu.cfs_quota_us)" = 50000 ]
	[ "$(cat /sys/fs/cgroup/cpu/ctrbox/$id/cpu.cfs_period_us)" = 100000 ]
	[ "$(cat /sys/fs/cgroup/pids/ctrbox/$id/pids.max)" = 20 ]
	grep -qx "$(state "$id" pid)" /sys/fs/cgroup/memory/ctrbox/$id/cgroup.procs
	# Inside, the cgroup namespace shows the same files as its root.
	ctrbox run --pids-limit 7 "$IMG" cat /sys/fs/cgroup/pids/pids.max
	assert_output 7
	# The shim removes the cgroup once the container is gone.
	kill -9 "$(state "$id" pid)"
	retry 50 0.1 is_status "$id" exited
	retry 50 0.1 test ! -d /sys/fs/cgroup/memory/ctrbox/$id
}

@test "run: an OOM kill is detected, recorded and journaled" {
	ctrbox run --name oom --memory 8m "$IMG" sh -c 'x=$(head -c 40000000 /dev/zero | tr "\0" a); echo survived'
	assert_failure 137
	id=$(id_of oom)
	[ "$(state "$id" oom_killed)" = true ]
	[ "$(state "$id" exit_code)" = 137 ]
	grep -q "\"OOMKilled\".*$id" "$CTRBOX_ROOT/events/journal.jsonl"
}

@test "run: the shim is adopted by PID 1 or a subreaper, in a session it does not lead, stdio on /dev/null" {
	ctrbox run -d "$IMG" sleep 30
	id=$output
	retry 50 0.1 is_status "$id" running
	shim=$(state "$id" shim_pid)
	ppid=$(ps -o ppid= -p "$shim" | tr -d ' ')
	[ "$ppid" = "$(state "$id" shim_parent_pid)" ]
	if [ "$ppid" != 1 ]; then
		# Not PID 1: then a child subreaper adopted it.
		grep -q . "/proc/$ppid/status"
	fi
	[ "$(ps -o sid= -p "$shim" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
	# It joined the session its starter made without leading it: it can never acquire a
	# controlling terminal. It blocks only SIGCHLD (its signalfd), nothing inherited from run.
	[ "$(ps -o sid= -p "$shim" | tr -d ' ')" != "$shim" ]
	[ "$(awk '$1 == "SigBlk:" {print $2}' "/proc/$shim/status")" = 0000000000010000 ]
	for fd in 0 1 2; do
		[ "$(readlink "/proc/$shim/fd/$fd")" = /dev/null ]
	done
	# The shim is the init's parent and a child subreaper.
	[ "$(ps -o ppid= -p "$(state "$id" pid)" | tr -d ' ')" = "$shim" ]
	[ "$(state "$id" pid_start_time)" = "$(awk '{print $22}' "/proc/$(state "$id" pid)/stat")" ]
}

@test "run: killing run with SIGKILL leaves the container running to its end" {
	mkdir -p "$SANDBOX/sync"
	"$CTRBOX_BIN" run --name survivor -v "$SANDBOX/sync:/sync" "$IMG" \
		sh -c 'while [ ! -e /sync/go ]; do sleep 0.05; done; echo finished' &
	runpid=$!
	retry 100 0.1 id_of survivor
	id=$(id_of survivor)
	retry 100 0.1 is_status "$id" running
	kill -9 "$runpid"
	wait "$runpid" || true
	sleep 0.2
	is_status "$id" running
	kill -0 "$(state "$id" pid)"
	touch "$SANDBOX/sync/go"
	retry 100 0.1 is_status "$id" exited
	[ "$(state "$id" exit_code)" = 0 ]
	grep -q "stdout F finished" "$CTRBOX_ROOT/containers/$id/log"
}

@test "run: SIGTERM to a foreground run reaches the container" {
	"$CTRBOX_BIN" run --name trapper "$IMG" sh -c 'trap "echo got-term; exit 7" TERM; while :; do sleep 0.05; done' \
		>"$SANDBOX/out" &
	runpid=$!
	retry 100 0.1 id_of trapper
	id=$(id_of trapper)
	retry 100 0.1 is_status "$id" running
	sleep 0.3 # the trap is set once sh runs its script
	kill -TERM "$runpid"
	rc=0
	wait "$runpid" || rc=$?
	[ "$rc" = 7 ]
	grep -qx got-term "$SANDBOX/out"
}

@test "run: a killed shim leaves the container running, its state still naming the shim" {
	ctrbox run -d "$IMG" sleep 30
	id=$output
	retry 50 0.1 is_status "$id" running
	shim=$(state "$id" shim_pid)
	init=$(state "$id" pid)
	kill -9 "$shim"
	retry 50 0.1 bash -c "! kill -0 $shim 2>/dev/null"
	kill -0 "$init"
	is_status "$id" running
	[ "$(awk '{print $22}' "/proc/$init/stat")" = "$(state "$id" pid_start_time)" ]
}

@test "run: the container's output goes to the CRI log" {
	ctrbox run --name logged "$IMG" sh -c 'echo one; echo two >&2; printf partial'
	id=$(id_of logged)
	run cut -d' ' -f2- "$CTRBOX_ROOT/containers/$id/log"
	assert_line "stdout F one"
	assert_line "stderr F two"
	assert_line "stdout P partial"
}

@test "run: only descriptors 0, 1 and 2 are open when the command starts, no signal ignored" {
	ctrbox run -d "$IMG" sleep 30
	id=$output
	retry 50 0.1 is_status "$id" running
	run ls "/proc/$(state "$id" pid)/fd"
	assert_output "0
1
2"
	# Nor does it inherit ignored or blocked signals from the shim or from our shell.
	run grep -E '^Sig(Ign|Blk):' "/proc/$(state "$id" pid)/status"
	assert_output "$(printf 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000')"
}

@test "run: docker's default capabilities, no_new_privs and seccomp; --cap-add/--cap-drop/--privileged" {
	ctrbox run "$IMG" grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
	assert_success
	assert_line --regexp '^CapEff:[[:space:]]+00000000a80425fb$'
	assert_line --regexp '^CapBnd:[[:space:]]+00000000a80425fb$'
	assert_line --regexp '^CapAmb:[[:space:]]+0000000000000000$'
	assert_line --regexp '^CapInh:[[:space:]]+0000000000000000$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	# SYS_ADMIN is bit 21 (0x200000); CHOWN bit 0.
	ctrbox run --cap-add SYS_ADMIN --cap-drop chown "$IMG" grep CapEff /proc/self/status
	assert_output --regexp '00000000a82425fa$'
	ctrbox run --cap-drop ALL "$IMG" grep CapEff /proc/self/status
	assert_output --regexp '0000000000000000$'
	ctrbox run --privileged "$IMG" grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
	assert_line --regexp '^Seccomp:[[:space:]]+0$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+0$'
	# A non-root user keeps no capabilities across exec.
	ctrbox run -u nobody "$IMG" grep CapEff /proc/self/status
	assert_output --regexp '0000000000000000$'
}

@test "run: the seccomp profile refuses new namespaces, keyrings and mounts" {
	ctrbox run "$IMG" sh -c 'unshare -U true 2>/dev/null && echo userns; unshare -m true 2>/dev/null && echo mountns; mount -t tmpfs t /mnt 2>/dev/null && echo mounted; echo done'
	assert_success
	assert_output done
	ctrbox run --privileged "$IMG" sh -c 'unshare -m true && echo mountns'
	assert_output mountns
}

@test "run: masked paths read empty, read-only paths refuse writes" {
	[ -n "$(cat /proc/keys)" ] || skip "the host's /proc/keys is empty"
	ctrbox run "$IMG" sh -c 'wc -c </proc/keys; wc -c </proc/timer_list; ls /sys/firmware | wc -l;
		echo 1 >/proc/sysrq-trigger 2>/dev/null || echo ro'
	assert_output "0
0
0
ro"
	[ ! -e /proc/kcore ] || {
		ctrbox run "$IMG" sh -c 'wc -c </proc/kcore'
		assert_output 0
	}
}

@test "run: the devices cgroup allows the standard nodes and refuses a disk" {
	[ -d /sys/fs/cgroup/devices ] || skip "no cgroup v1 devices controller"
	ctrbox run "$IMG" sh -c 'echo x >/dev/null && echo null-ok; mknod /tmp/sda b 8 0 && echo made;
		head -c1 /tmp/sda >/dev/null 2>&1 || echo sda-denied'
	assert_output "null-ok
made
sda-denied"
	ctrbox run --privileged "$IMG" cat /sys/fs/cgroup/devices/devices.list
	assert_output "a *:* rwm"
}

@test "run: a run that fails before its container starts leaves no cgroup behind" {
	[ -d /sys/fs/cgroup/memory ] || skip "no cgroup v1 memory controller (v2 is unit-tested)"
	# The early shim makes the cgroup while run writes the records; here run fails at the
	# last of them (STATE/containers is a file), and the shim must take it away again.
	ls /sys/fs/cgroup/memory/ctrbox /sys/fs/cgroup/devices/ctrbox >"$SANDBOX/before" 2>/dev/null || true
	export CTRBOX_STATE=$SANDBOX/badstate
	mkdir -p "$CTRBOX_STATE"
	: >"$CTRBOX_STATE/containers"
	for i in 1 2 3; do
		ctrbox run "$IMG" true
		assert_failure 125
		[[ $stderr == *"containers: not a directory"* ]] || fail "$stderr"
	done
	retry 50 0.1 bash -c "ls /sys/fs/cgroup/memory/ctrbox /sys/fs/cgroup/devices/ctrbox 2>/dev/null | cmp -s - '$SANDBOX/before'"
}

@test "run: forty containers in a row all start: the shim and the init do not race on /dev" {
	# The device rules were once written after the init was released: now and then its
	# mknod or its open of /dev/null met the deny-all before the allows (EPERM).
	for i in $(seq 40); do
		"$CTRBOX_BIN" run --rm "$IMG" true 2>"$SANDBOX/err" || fail "run $i: $(cat "$SANDBOX/err")"
	done
}

@test "run: /dev holds the standard nodes and links, /proc and /sys are mounted" {
	ctrbox run "$IMG" sh -c 'for n in null zero full random urandom tty; do [ -c /dev/$n ] || echo no $n; done;
		readlink /dev/fd; readlink /dev/stdin; readlink /dev/ptmx; [ -d /dev/pts ] && [ -d /dev/shm ] && [ -d /dev/mqueue ] && echo dirs;
		[ -e /proc/self/status ] && echo proc; grep " /sys " /proc/mounts | grep -c ro,'
	assert_output "/proc/self/fd
/proc/self/fd/0
pts/ptmx
dirs
proc
1"
}

@test "run: --net none has only loopback, up; --net host sees the host's interfaces" {
	ctrbox run "$IMG" sh -c 'ls /sys/class/net; cat /sys/class/net/lo/operstate'
	assert_line lo
	[ "${lines[0]}" = lo ]
	host_ifs=$(ls /sys/class/net | wc -l)
	ctrbox run --net host "$IMG" sh -c 'ls /sys/class/net | wc -l'
	assert_output "$host_ifs"
}

@test "run: a bundle made by umoci unpack runs" {
	umoci unpack --image "$CTRBOX_FIXTURES/oci:busybox" "$SANDBOX/bundle" >/dev/null
	# umoci asks for a terminal, which ctrbox honours (tty.bats): plain pipes here.
	jq '.process.args = ["sh", "-c", "echo from-bundle; hostname"] | .hostname = "bundled" |
		.process.terminal = false' "$SANDBOX/bundle/config.json" >"$SANDBOX/c.json"
	mv "$SANDBOX/c.json" "$SANDBOX/bundle/config.json"
	ctrbox run --bundle "$SANDBOX/bundle" --name b1
	assert_success
	assert_output "from-bundle
bundled"
	ctrbox run --bundle "$SANDBOX/bundle" "$IMG"
	assert_failure 2
	jq '.linux.namespaces += [{"type":"user"}]' "$SANDBOX/bundle/config.json" >"$SANDBOX/c.json"
	mv "$SANDBOX/c.json" "$SANDBOX/bundle/config.json"
	ctrbox run --bundle "$SANDBOX/bundle"
	assert_failure 125
	[[ $stderr == *"user namespace is not supported"* ]]
}

@test "run: the generated config.json runs the same under runc" {
	requires cmd runc
	cmd='id; hostname; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; wc -c </proc/keys; cat /data/f; pwd; echo $GREETING'
	mkdir -p "$SANDBOX/vol"
	echo shared >"$SANDBOX/vol/f"
	ctrbox run --name twin --hostname twin -u nobody -w /tmp -e GREETING=hi -v "$SANDBOX/vol:/data:ro" \
		--memory 64m --pids-limit 50 "$IMG" sh -c "$cmd"
	assert_success
	ours=$output
	id=$(id_of twin)
	umoci unpack --image "$CTRBOX_FIXTURES/oci:busybox" "$SANDBOX/rb" >/dev/null
	cp "$CTRBOX_ROOT/containers/$id/config.json" "$SANDBOX/rb/config.json"
	export RUNC_ROOT=$SANDBOX/runc
	run runc --root "$RUNC_ROOT" run --bundle "$SANDBOX/rb" ctrbox-test
	echo "$output" >&2
	assert_success
	assert_output "$ours"
}
