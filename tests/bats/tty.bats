#!/usr/bin/env bats
# run -t on a real terminal, driven through tmux (DESIGN.md "run", issue 6): a shell prompt,
# typed commands, the window size and its changes seen by `stty size`, ctrl-c reaching the
# container and not ctrbox, the exit code passed through, the outer terminal restored, detach
# keys (default and --detach-keys) and attach back into the same shell; -t without a terminal;
# the CRI log of a -t container; a bundle whose config.json asks for a terminal; SIGTERM to
# run -it.

setup() {
	load ../helpers
	sandbox
	requires root
	requires cmd jq tmux
	IMG=localhost/oci:busybox
	run "$CTRBOX_BIN" pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
}

# The tmux server by its own socket, then what the test left running, by recorded PIDs.
teardown() {
	[ -S "${TMUX_SOCK:-}" ] && tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
	stop_containers
	return 0
}

# A 100x30 terminal running a plain bash whose prompt is "outer$ ".
term_start() {
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 100 -y 30 3>&- \
		"cd $BATS_TEST_TMPDIR && PS1='outer\$ ' exec bash --norc --noprofile"
	pane_wait 'outer$'
}
pane() { tmux -S "$TMUX_SOCK" capture-pane -p -S -200; }
pane_has() { pane | grep -qF -- "$1"; }
pane_wait() { # pane_wait TEXT: until the terminal shows TEXT
	retry 150 0.1 pane_has "$1" || { pane >&2; fail "the terminal never showed: $1"; }
}
keys() { tmux -S "$TMUX_SOCK" send-keys -- "$@"; }

# Types a command line into the outer shell (it has this test's CTRBOX_* environment).
outer() { keys "$*" Enter; }
C='"$CTRBOX_BIN"'

status_of() { # status_of NAME: running or exited
	local id
	id=$("$CTRBOX_BIN" ps -a -q --no-trunc --filter "name=$1") || return 1
	jq -r .status "$CTRBOX_STATE/containers/$id/state.json"
}

@test "tty: run -it gives a shell prompt; typed commands run; exit 3 is ours; the terminal is restored" {
	term_start
	outer "$C run -it --name sh1 $IMG sh; echo outer-rc=\$?"
	pane_wait '/ #'
	keys 'echo hello-$((6*7)); tty' Enter
	pane_wait 'hello-42'
	pane_wait '/dev/pts/0'
	keys 'exit 3' Enter
	pane_wait 'outer-rc=3'
	outer 'stty -a | tr " " "\n" | grep -xE -- "-?(icanon|echo|isig)" | sort | tr "\n" " "; echo'
	pane_wait 'echo icanon isig'
	! pane_has '-icanon' || fail "the terminal was left raw"
}

@test "tty: SIGTERM to run -it goes to the container, and the terminal is restored" {
	requires cmd pgrep
	local bash_pid run_pid
	term_start
	outer "$C run -it $IMG sh -c 'trap \"echo got-term; exit 9\" TERM; echo \$((40+2))-ready; while :; do sleep 0.1; done'; echo outer-rc=\$?"
	pane_wait '42-ready'
	bash_pid=$(tmux -S "$TMUX_SOCK" display-message -p '#{pane_pid}')
	run_pid=$(pgrep -P "$bash_pid")
	[ -n "$run_pid" ]
	kill -TERM "$run_pid"
	pane_wait 'got-term'
	pane_wait 'outer-rc=9'
	outer 'stty -a | tr " " "\n" | grep -xE -- "-?(icanon|echo|isig)" | sort | tr "\n" " "; echo'
	pane_wait 'echo icanon isig'
}

@test "tty: stty size inside shows the terminal's size and follows a resize" {
	term_start
	outer "$C run -it $IMG sh"
	pane_wait '/ #'
	keys 'stty size' Enter
	pane_wait '30 100'
	tmux -S "$TMUX_SOCK" resize-window -x 90 -y 20
	sleep 0.3
	keys 'clear; stty size' Enter
	pane_wait '20 90'
	keys 'exit' Enter
	pane_wait 'outer$'
}

@test "tty: ctrl-c interrupts a command in the container; the shell and ctrbox live on" {
	term_start
	outer "$C run -it --name cc $IMG sh; echo outer-rc=\$?"
	pane_wait '/ #'
	keys 'sleep 100' Enter
	sleep 0.5
	keys C-c
	keys 'echo sleep-rc=$?' Enter
	pane_wait 'sleep-rc=130'
	keys 'echo still-$((1+1))' Enter
	pane_wait 'still-2'
	[ "$(status_of cc)" = running ]
	! pane | grep -qE 'outer-rc=[0-9]' || fail "ctrbox run ended on ctrl-c"
	keys 'exit 0' Enter
	pane_wait 'outer-rc=0'
}

@test "tty: ctrl-p ctrl-q detaches leaving the shell running; attach gets back into it" {
	term_start
	outer "$C run -it --name dk $IMG sh; echo outer-rc=\$?"
	pane_wait '/ #'
	keys 'X=remembered-$((2*3))' Enter
	sleep 0.3
	keys C-p C-q
	pane_wait 'outer-rc=0'
	[ "$(status_of dk)" = running ]
	outer "$C attach dk; echo attach-rc=\$?"
	sleep 0.5
	keys 'echo $X' Enter
	pane_wait 'remembered-6'
	# A ctrl-p the next key does not continue into the sequence reaches the container.
	keys 'cat -v' Enter
	sleep 0.3
	keys C-p 'x-marks' Enter
	pane_wait '^Px-marks'
	keys C-d
	keys 'exit 5' Enter
	pane_wait 'attach-rc=5'
	retry 50 0.1 bash -c "[ \"\$(jq -r .status '$CTRBOX_STATE'/containers/*/state.json)\" = exited ]"
}

@test "tty: --detach-keys on run and attach" {
	term_start
	outer "$C run -it --detach-keys ctrl-a,d --name dk2 $IMG sh; echo outer-rc=\$?"
	pane_wait '/ #'
	keys C-p C-q # not the keys now: they reach the shell
	keys 'echo one-$((0+1))' Enter
	pane_wait 'one-1'
	keys C-a d
	pane_wait 'outer-rc=0'
	outer "$C attach --detach-keys x,y dk2; echo attach-rc=\$?"
	sleep 0.5
	keys 'echo two-$((1+1))' Enter
	pane_wait 'two-2'
	keys x y
	pane_wait 'attach-rc=0'
	[ "$(status_of dk2)" = running ]
	ctrbox run -it --detach-keys ctrl-1 "$IMG" true
	assert_failure 2
	[[ $stderr == *"--detach-keys"*"bad key 'ctrl-1'"* ]]
}

@test "tty: -t without a terminal on stdin is an error, and nothing is created" {
	ctrbox run -t "$IMG" true </dev/null
	assert_failure 125
	[ "$stderr" = "ctrbox run: -t: stdin is not a terminal" ]
	ctrbox ps -a -q
	assert_output ""
}

@test "tty: the log of a -dt container holds its terminal output in CRI format" {
	ctrbox run -dt --name logt "$IMG" sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo all-a-tty'
	assert_success
	local id=$output log
	retry 50 0.1 bash -c "[ \"\$(jq -r .status '$CTRBOX_STATE/containers/$id/state.json')\" = exited ]"
	log=$CTRBOX_ROOT/containers/$id/log
	grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stdout F /dev/pts/0'$'\r''$' "$log"
	grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stdout F all-a-tty'$'\r''$' "$log"
	run jq -r .process.terminal "$CTRBOX_ROOT/containers/$id/config.json"
	assert_output true
	ctrbox logs logt
	assert_success
	[[ $output == *"all-a-tty"* ]]
}

@test "tty: a bundle whose config.json asks for a terminal gets one" {
	requires cmd umoci
	local b=$BATS_TEST_TMPDIR/bundle
	umoci unpack --image "$CTRBOX_FIXTURES/oci:busybox" "$b" >/dev/null
	jq '.process.args=["sh","-c","tty"] | .process.terminal=true' "$b/config.json" >"$b/c.json"
	mv "$b/c.json" "$b/config.json"
	ctrbox run --bundle "$b"
	assert_success
	[[ $output == "/dev/pts/0"* ]]
}
