#!/usr/bin/env bats
# ctrbox exec with real containers (ctrbox-exec(1), issue 6): exit codes and messages, -e, -u,
# -w, -i, -d, the container's capabilities, cgroup and namespaces, the events, signals, the
# two runc CVE classes (the host binary through /proc, host descriptors and directories), and
# -it on a real terminal through tmux.

setup() {
	load ../helpers
	sandbox
	requires root
	requires cmd jq
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
}

# Removes every container the test made, by ID (rm -f kills the init and waits for its shim;
# exec's waiters exit with their command, which dies with the container's PID namespace).
teardown() {
	local f id pid
	[ -S "${TMUX_SOCK:-}" ] && tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
	for f in "$CTRBOX_ROOT"/containers/*/container.json; do
		[ -f "$f" ] || continue
		id=$(basename "$(dirname "$f")")
		"$CTRBOX_BIN" rm -f "$id" >/dev/null 2>&1 && continue
		pid=$(jq -r '.pid // 0' "$CTRBOX_STATE/containers/$id/state.json" 2>/dev/null)
		[ "${pid:-0}" -gt 0 ] && kill -9 "$pid" 2>/dev/null
	done
	return 0
}

start() { # start NAME [RUN OPTIONS...]: a running busybox container sleeping; its ID in $ID
	local name=$1
	shift
	ctrbox run -d --name "$name" "$@" "$BUSYBOX_IMAGE" sleep 1000
	assert_success
	ID=$output
	INIT=$(jq -r .pid "$CTRBOX_STATE/containers/$ID/state.json")
	[ "$INIT" -gt 0 ]
}

@test "exec: output on stdout and stderr, the command's exit code, by name, ID and prefix" {
	start web
	ctrbox exec web sh -c 'echo out; echo err >&2; exit 7'
	assert_failure 7
	assert_output out
	[ "$stderr" = err ]
	ctrbox exec "$ID" true
	assert_success
	ctrbox exec "${ID:0:12}" echo prefix
	assert_success
	assert_output prefix
	# killed by a signal: 128+N
	ctrbox exec web sh -c 'kill -9 $$'
	assert_failure 137
}

@test "exec: 127 for a missing command, 126 for one that cannot be executed, with the reason" {
	start web
	ctrbox exec web no-such-command
	assert_failure 127
	[ "$stderr" = 'ctrbox exec: exec: "no-such-command": executable file not found in $PATH' ]
	ctrbox exec web /no/such/file
	assert_failure 127
	[ "$stderr" = 'ctrbox exec: exec: "/no/such/file": stat /no/such/file: no such file or directory' ]
	ctrbox exec web /etc/passwd
	assert_failure 126
	[[ $stderr == *'"/etc/passwd": '*ermission\ denied* ]]
}

@test "exec: a stopped or unknown container fails with 125 and says why; usage errors are 2" {
	start web
	ctrbox stop -t 0 web
	assert_success
	ctrbox exec web true
	assert_failure 125
	[ "$stderr" = "ctrbox exec: web: container is not running" ]
	ctrbox exec no-such true
	assert_failure 125
	[ "$stderr" = "ctrbox exec: no-such: no such container" ]
	ctrbox exec web
	assert_failure 2
	[[ $stderr == *"no command given"* ]]
	ctrbox exec -w tmp web true
	assert_failure 2
	[[ $stderr == *"not an absolute path"* ]]
	ctrbox exec --detach-keys ctrl-1 web true
	assert_failure 2
	# -t needs a terminal on stdin (bats gives none)
	ctrbox exec -t web true </dev/null
	assert_failure 125
	[ "$stderr" = "ctrbox exec: -t: stdin is not a terminal" ]
	# nothing was journaled for what never started
	ctrbox events --reason ExecStarted --format json
	assert_success
	assert_output "[]"
}

@test "exec: the container's environment and workdir, with -e, --env-file and -w on top" {
	start web -e FROMRUN=1 -e KEEP=yes -w /tmp
	ctrbox exec web sh -c 'echo "$FROMRUN $KEEP $(pwd)"'
	assert_success
	assert_output "1 yes /tmp"
	printf 'FILEVAR=f\n# comment\n\nKEEP=file\n' >"$BATS_TEST_TMPDIR/env"
	export FROMHOST=h
	ctrbox exec -e FROMRUN=2 -e FROMHOST -e UNSETHERE --env-file "$BATS_TEST_TMPDIR/env" -w /etc \
		web sh -c 'echo "$FROMRUN $KEEP $FILEVAR $FROMHOST ${UNSETHERE-unset} $(pwd)"'
	assert_success
	assert_output "2 file f h unset /etc"
	ctrbox exec -w /no/such/dir web true
	assert_failure 125
	[ "$stderr" = "ctrbox exec: workdir /no/such/dir: No such file or directory" ]
	ctrbox exec -e =x web true
	assert_failure 125
	[ "$stderr" = "ctrbox exec: invalid environment variable: =x" ]
	# the umask is runc's default, not ours
	run bash -c "umask 077; '$CTRBOX_BIN' exec web sh -c umask"
	assert_output 0022
}

@test "exec: -u resolves users and groups in the container's /etc/passwd and /etc/group" {
	start web
	ctrbox exec web id
	assert_output "uid=0(root) gid=0(root)"
	ctrbox exec -u nobody web sh -c 'id; echo $HOME'
	assert_success
	assert_line --index 0 --regexp '^uid=65534\(nobody\) gid=65534\(nogroup|nobody\)'
	ctrbox exec -u 1234:5678 -e HOME=/h web sh -c 'id -u; id -g; echo $HOME'
	assert_success
	assert_output $'1234\n5678\n/h'
	ctrbox exec -u no-such-user web true
	assert_failure 125
	[ "$stderr" = "ctrbox exec: unable to find user no-such-user: no matching entries in passwd file" ]
	# a user the container added after it started is found: the live /etc/passwd is read
	ctrbox exec web sh -c 'echo "late:x:4321:4321::/late:/bin/sh" >>/etc/passwd'
	ctrbox exec -u late web sh -c 'id -u; echo $HOME'
	assert_output $'4321\n/late'
}

@test "exec: -i gives the command our stdin; without -i it reads /dev/null" {
	start web
	ctrbox exec -i web cat <<<"from stdin"
	assert_success
	assert_output "from stdin"
	run bash -c "echo piped | '$CTRBOX_BIN' exec -i web cat"
	assert_success
	assert_output piped
	run bash -c "echo piped | '$CTRBOX_BIN' exec web cat"
	assert_success
	assert_output ""
	ctrbox exec web readlink /proc/self/fd/0
	assert_output /dev/null
}

@test "exec: the container's capabilities, cgroup and namespaces; the init is PID 1" {
	start web
	local ns f cg
	ctrbox exec web grep CapEff /proc/self/status
	assert_output $'CapEff:\t00000000a80425fb'
	ctrbox exec web grep CapEff /proc/1/status
	assert_output $'CapEff:\t00000000a80425fb'
	# the container's seccomp filter, which ctrbox exec builds itself (libseccomp is opened on
	# first use: before joining, as the container has no host library to open)
	ctrbox exec web grep Seccomp: /proc/self/status
	assert_output $'Seccomp:\t2'
	ctrbox exec --privileged web grep CapEff /proc/self/status
	refute_output $'CapEff:\t00000000a80425fb'
	[[ $output == *fffff* ]]
	# the PID namespace: the container's init is 1, and ps sees us beside it
	ctrbox exec web ps -o pid,args
	assert_line --regexp '^ +1 +sleep 1000$'
	assert_line --regexp 'ps -o pid,args$'
	# every namespace is the init's (the host sees the same inodes)
	for ns in ipc uts net pid mnt cgroup; do
		ctrbox exec web readlink "/proc/self/ns/$ns"
		assert_output "$(readlink "/proc/$INIT/ns/$ns")"
	done
	# the cgroup: the same as the init's inside, and on the host its cgroup.procs has us
	ctrbox exec web cat /proc/self/cgroup
	assert_output "$(cat "/proc/$INIT/cgroup" | sed 's|:/ctrbox/[0-9a-f]*$|:/|')"
	ctrbox exec -d web sleep 30
	for f in /sys/fs/cgroup/ctrbox/"$ID"/cgroup.procs /sys/fs/cgroup/pids/ctrbox/"$ID"/cgroup.procs; do
		[ -f "$f" ] && cg=$f && break
	done
	[ -n "$cg" ] || fail "no cgroup.procs for the container"
	retry 50 0.1 bash -c "[ \$(wc -l <'$cg') -eq 2 ]"
	grep -qx "$INIT" "$cg"
	for p in $(cat "$cg"); do
		[ "$p" = "$INIT" ] || [ "$(cat "/proc/$p/comm")" = sleep ]
	done
}

@test "exec: security: /proc/self/exe is the container's binary, never the host's ctrbox" {
	start web
	ctrbox exec web readlink /proc/self/exe
	assert_output /bin/busybox
	ctrbox exec web sha256sum /proc/self/exe
	local inside=${output%% *}
	ctrbox exec web sha256sum /bin/busybox
	assert_equal "$inside" "${output%% *}"
	[ "$inside" != "$(sha256sum "$CTRBOX_BIN" | cut -d' ' -f1)" ]
	# no ctrbox process is ever visible inside the container after exec
	ctrbox exec web sh -c 'cat /proc/[0-9]*/comm'
	refute_line ctrbox
}

@test "exec: security: the joining process is non-dumpable and runs from a sealed copy of ctrbox" {
	start web
	local pid
	# The test hook pauses the joining process inside the container, privileges applied,
	# just before exec, until /tmp/go exists.
	CTRBOX_TEST_EXEC_PAUSE=/tmp/go "$CTRBOX_BIN" exec web echo resumed \
		>"$BATS_TEST_TMPDIR/paused.out" 2>&1 3>&- &
	local bg=$!
	find_paused() {
		"$CTRBOX_BIN" exec web sh -c \
			'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = ctrbox-exec ] && echo ${p#/proc/}; done' \
			>"$BATS_TEST_TMPDIR/pid" && [ -s "$BATS_TEST_TMPDIR/pid" ]
	}
	retry 100 0.1 find_paused || fail "the paused process never showed up"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	# The control: a dumpable process of the container is readable...
	ctrbox exec web readlink /proc/1/exe
	assert_success
	assert_output /bin/busybox
	# ...the joining process is not: container root has no CAP_SYS_PTRACE.
	ctrbox exec web readlink "/proc/$pid/exe"
	assert_failure
	assert_output ""
	ctrbox exec web cat "/proc/$pid/exe"
	assert_failure
	[[ $stderr == *"Permission denied"* ]]
	ctrbox exec web cat "/proc/$pid/environ"
	assert_failure
	[[ $stderr == *"Permission denied"* ]]
	ctrbox exec web ls -l "/proc/$pid/cwd/"
	assert_failure
	# From the host: what entered the container runs from a sealed copy of ctrbox, never
	# the host's file, so not even a process that got hold of it could write it.
	local host_pid= p
	for p in $(pgrep -x ctrbox-exec); do
		[ "$(readlink "/proc/$p/ns/pid")" = "$(readlink "/proc/$INIT/ns/pid")" ] && host_pid=$p
	done
	[ -n "$host_pid" ] || fail "the paused process is not visible from the host"
	run readlink "/proc/$host_pid/exe"
	assert_output "/memfd:ctrbox (deleted)"
	run -1 bash -c "printf x >>/proc/$host_pid/exe"
	ctrbox exec web touch /tmp/go
	wait "$bg"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/paused.out")" resumed
}

@test "exec: security: only fds 0, 1 and 2 reach the command, and nothing leads out to the host" {
	start web
	# A host directory open on fd 7 of ctrbox exec (and bats' own fd 3) must not reach in.
	ctrbox exec web ls /proc/self/fd 7<"$BATS_TEST_TMPDIR"
	assert_success
	assert_output $'0\n1\n2\n3' # 3 is ls's own directory
	ctrbox exec web readlink /proc/self/cwd
	assert_output /
	ctrbox exec -w /etc web readlink /proc/self/cwd
	assert_output /etc
	# a workdir through a descriptor cannot reach the host's directory
	local n
	for n in 3 4 5 6 7 8 9 10 11 12; do
		ctrbox exec -w "/proc/self/fd/$n" web pwd 7<"$BATS_TEST_TMPDIR"
		assert_failure 125
		[[ $stderr == "ctrbox exec: workdir /proc/self/fd/$n: "* ]]
	done
	# a host directory as stdin is refused
	ctrbox exec -i web true <"$BATS_TEST_TMPDIR"
	assert_failure 125
	[ "$stderr" = "ctrbox exec: stdin is a directory: it would reach the host from inside the container" ]
	# the container's own root: nothing of the host's / is there
	touch "/tmp/ctrbox-exec-host-marker-$$"
	ctrbox exec web sh -c "ls /tmp/ctrbox-exec-host-marker-$$ /proc/1/root/tmp/ctrbox-exec-host-marker-$$"
	assert_failure
	rm -f "/tmp/ctrbox-exec-host-marker-$$"
}

@test "exec: -d returns at once and prints nothing; ExecStarted and ExecDied are journaled" {
	start web
	ctrbox exec -d web sh -c 'sleep 0.5; touch /tmp/done; exit 3'
	assert_success
	assert_output ""
	retry 100 0.1 "$CTRBOX_BIN" exec web test -f /tmp/done
	# the waiter left behind holds none of our descriptors: the pipe on fd 7 ends at once
	run timeout 10 bash -c "'$CTRBOX_BIN' exec -d web sleep 60 7>&1 | cat"
	assert_success
	ctrbox exec web sh -c 'exit 4'
	retry 100 0.1 bash -c "'$CTRBOX_BIN' events --reason ExecDied --format json | jq -e 'map(select(.message | test(\"exit 3 .*exited with code 3\$\"))) | length == 1'"
	ctrbox events --reason ExecDied --format json
	echo "$output" | jq -e --arg id "$ID" 'length >= 2 and all(.object.id == $id and .object.name == "web" and .source == "exec" and .object.kind == "container" and .type == "Normal")'
	echo "$output" | jq -e 'map(select(.message | test("exit 4 \\(pid [0-9]+\\) exited with code 4$"))) | length == 1'
	ctrbox events --reason ExecStarted --format json
	echo "$output" | jq -e 'map(select(.message | test("^sh -c sleep 0.5; touch /tmp/done; exit 3 \\(pid [0-9]+\\)$"))) | length == 1'
	ctrbox events --reason ExecDied --object web
	assert_success
	assert_line --regexp '  ExecDied +container/web +sh -c exit 4 \(pid [0-9]+\) exited with code 4$'
}

@test "exec: SIGTERM to ctrbox exec reaches the command, and its exit status comes back" {
	start web
	"$CTRBOX_BIN" exec web sh -c 'trap "exit 42" TERM; touch /tmp/up; while :; do sleep 0.1; done' \
		3>&- &
	local bg=$!
	retry 100 0.1 "$CTRBOX_BIN" exec web test -f /tmp/up
	kill -TERM "$bg"
	local rc=0
	wait "$bg" || rc=$?
	assert_equal "$rc" 42
}

@test "exec: completion offers running containers only, then the command line" {
	start web
	ctrbox run -d --name gone "$BUSYBOX_IMAGE" true
	retry 100 0.1 bash -c "'$CTRBOX_BIN' ps -a --format json | jq -e '.[] | select(.names == \"gone\") | .state == \"exited\"'"
	ctrbox __complete exec ""
	assert_line --partial web
	refute_line --partial gone
	ctrbox __complete exec --
	assert_line --partial -- --detach-keys
	assert_line --partial -- --workdir
	ctrbox __complete exec -u ""
	assert_output ":4"
}

# --- on a terminal, through tmux ---

tmux_start() { # tmux_start CMD: a 100x30 terminal running CMD, then a shell line recording its
	# exit status and whether the terminal came back as it was
	requires cmd tmux
	cat >"$BATS_TEST_TMPDIR/term.sh" <<-EOF
		stty -g >"$BATS_TEST_TMPDIR/stty.before"
		$1
		echo "exit=\$?" >"$BATS_TEST_TMPDIR/exit.tmp"
		stty -g >"$BATS_TEST_TMPDIR/stty.after"
		mv "$BATS_TEST_TMPDIR/exit.tmp" "$BATS_TEST_TMPDIR/exit"
		sleep 60
	EOF
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 100 -y 30 3>&- \
		"bash $BATS_TEST_TMPDIR/term.sh"
}
pane() { tmux -S "$TMUX_SOCK" capture-pane -p; }
pane_has() { pane | grep -qF -- "$1"; }
pane_wait() { # pane_wait TEXT: until the terminal shows TEXT
	retry 150 0.1 pane_has "$1" || { pane >&2; fail "the terminal never showed: $1"; }
}
keys() { tmux -S "$TMUX_SOCK" send-keys -- "$@"; }
exit_is() { # exit_is N: the command line in the pane ended with status N
	retry 150 0.1 test -s "$BATS_TEST_TMPDIR/exit" || fail "the command never ended"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/exit")" "exit=$1"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/stty.after")" "$(cat "$BATS_TEST_TMPDIR/stty.before")"
}

@test "exec -it: a prompt, typed commands, the pane's size and resizes, ctrl-c, the exit code" {
	start web
	tmux_start "$CTRBOX_BIN exec -it web sh"
	pane_wait "/ #"
	keys "echo typed-\$((6*7))" Enter
	pane_wait "typed-42"
	keys "tty; stty size" Enter
	pane_wait "30 100"
	pane_wait "/dev/pts/0"
	tmux -S "$TMUX_SOCK" resize-window -x 80 -y 20
	keys "clear; stty size" Enter
	pane_wait "20 80"
	# ctrl-c interrupts the command in the container; exec and the shell carry on
	keys "sleep 100" Enter
	retry 100 0.1 "$CTRBOX_BIN" exec web sh -c 'ps -o args | grep -qx "sleep 100"' ||
		fail "sleep 100 never started"
	keys C-c
	keys "echo after-\$((1+1))" Enter
	pane_wait "after-2"
	keys "exit 5" Enter
	exit_is 5
}

@test "exec -it: the detach keys leave the shell running; it exits later and is journaled" {
	start web
	tmux_start "$CTRBOX_BIN exec -it --detach-keys ctrl-x,x web sh"
	pane_wait "/ #"
	keys 'echo $$ >/tmp/shell.pid' Enter
	retry 100 0.1 "$CTRBOX_BIN" exec web test -s /tmp/shell.pid
	keys C-x x
	exit_is 0
	ctrbox exec web sh -c 'kill -0 $(cat /tmp/shell.pid) && echo alive'
	assert_output alive
	ctrbox exec web sh -c 'kill -9 $(cat /tmp/shell.pid)'
	retry 100 0.1 bash -c "'$CTRBOX_BIN' events --reason ExecDied --format json | jq -e 'map(select(.message | test(\"^sh \\\\(pid [0-9]+\\\\) exited with code 137\$\"))) | length == 1'"
}

@test "exec -it: security: a target whose #! is /proc/self/exe runs a sealed copy, never the host's ctrbox" {
	# The CVE-2019-5736 exploit: the kernel resolves the interpreter /proc/self/exe while the
	# joining process is still ctrbox. Give the container ctrbox's loader and libraries so
	# that ctrbox can run in there (on a terminal, with --root, it is an interactive shell
	# that stays; with readline, which the shell opens on first use), then look at what it
	# runs from.
	start web
	local libs pid rl
	rl=$(ldconfig -p | grep -o '/[^ ]*/libreadline\.so\.[0-9]*$' | head -1)
	[ -n "$rl" ] || fail "no libreadline in the loader's cache"
	libs=$({ ldd "$CTRBOX_BIN"; echo "$rl"; ldd "$rl"; } | grep -o '/[^ ]*' | sort -u)
	run bash -c "tar -chf - $(echo $libs) 2>/dev/null | '$CTRBOX_BIN' exec -i web tar -xf - -C /"
	assert_success
	ctrbox exec -i web sh -c 'cat >/evil && chmod +x /evil' <<<'#!/proc/self/exe --root'
	assert_success
	tmux_start "$CTRBOX_BIN exec -it web /evil"
	pane_wait "ctrbox:/evil>"
	ctrbox exec web sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm)" = evil ] && echo ${p#/proc/}; done'
	pid=$output
	[ -n "$pid" ] || fail "the re-executed ctrbox is not running in the container"
	ctrbox exec web readlink "/proc/$pid/exe"
	assert_output "/memfd:ctrbox (deleted)"
	# and the copy cannot be written, from the container or anywhere
	ctrbox exec web sh -c "printf x >>/proc/$pid/exe"
	assert_failure
	# ctrl-d ends it (its status is the copy's business: a sanitizer build's leak checker
	# cannot work in the container), and the terminal comes back
	keys C-d
	retry 150 0.1 test -s "$BATS_TEST_TMPDIR/exit" || fail "the command never ended"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/stty.after")" "$(cat "$BATS_TEST_TMPDIR/stty.before")"
}
