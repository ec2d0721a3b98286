#!/usr/bin/env bats
# ctrbox shell (ctrbox-shell(1)): driven through a pipe (script mode) and through tmux for the
# terminal: the prompt, TAB completion, history across sessions, ctrl-c and ctrl-d.

setup() {
	load ../helpers
	sandbox
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
}

teardown() {
	[ -S "${TMUX_SOCK:-}" ] && tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
	return 0
}

shell_pipe() { # shell_pipe "LINES" [GLOBAL OPTIONS...]: the shell reading LINES from a pipe
	local script=$1
	shift
	run --separate-stderr bash -c 'printf "%s" "$1" | "$CTRBOX_BIN" "${@:2}" shell' _ "$script" "$@"
	printf '$ ctrbox shell <<< %q\n-> status %s\nstdout: %s\nstderr: %s\n' "$script" "$status" \
		"$output" "$stderr" >&2
}

@test "shell: reads commands from a pipe, one a line, with quotes and comments" {
	shell_pipe $'info -q\n# a comment\n\nhelp \'stop\'\n'
	assert_success
	assert_line root
	assert_line --regexp '^Usage: ctrbox stop '
	assert_equal "$stderr" ""
}

@test "shell: exits with the last command's status; a failing applet does not end it" {
	shell_pipe $'kill nothing-here\ninfo -q\n'
	assert_success
	assert_line root
	assert_output --partial root
	[[ $stderr == *"ctrbox kill: nothing-here: no such container"* ]]
	shell_pipe $'info -q\nkill nothing-here\n'
	assert_failure 1
	shell_pipe $'bogus\n'
	assert_failure 2
	[[ $stderr == *"unknown applet"* ]]
}

@test "shell: exit N leaves at once with N; bad input is a usage error and the shell goes on" {
	shell_pipe $'exit 3\ninfo -q\n'
	assert_failure 3
	refute_output --partial root
	shell_pipe $'info \'unterminated\ninfo -q\n'
	assert_success
	assert_line root
	[[ $stderr == *"line 1: unterminated single quote"* ]]
	shell_pipe $'exit nine\n'
	assert_failure 2
}

@test "shell: global options given to the shell reach every applet" {
	shell_pipe $'info --format json\n' --root "$BATS_TEST_TMPDIR/other-root"
	assert_success
	assert_output --partial "\"value\": \"$BATS_TEST_TMPDIR/other-root\""
}

@test "shell: an applet killed by a signal is reported and the shell goes on" {
	run --separate-stderr bash -c '
		{ echo "events --follow"; sleep 3; echo "info -q"; } | "$CTRBOX_BIN" shell 3>&- &
		pid=$!
		for i in $(seq 50); do
			shell=$(pgrep -f -n "^$CTRBOX_BIN shell") && child=$(pgrep -P "$shell") && break
			sleep 0.1
		done
		kill -KILL "$child" # SEGV would do, but a sanitizer build turns it into an abort
		wait "$pid"'
	echo "status $status stdout $output stderr $stderr" >&2
	assert_success
	assert_line root
	[[ $stderr == *"ctrbox shell: events: killed by signal 9 (Killed)"* ]]
}

@test "shell: applets read nothing of the script on stdin" {
	# A command line that would read stdin gets /dev/null: the next line still runs.
	shell_pipe $'pull -q -f /dev/stdin\ninfo -q\n'
	assert_line root
}

# --- on a terminal, through tmux ---

tmux_start() { # tmux_start CMD: a 120x30 terminal running CMD
	requires cmd tmux
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 120 -y 30 3>&- \
		"cd $BATS_TEST_TMPDIR && $1; echo \"shell-exit=\$?\" >$BATS_TEST_TMPDIR/exit; sleep 30"
}
pane() { tmux -S "$TMUX_SOCK" capture-pane -p; }
pane_has() { pane | grep -qF -- "$1"; }
pane_wait() { # pane_wait TEXT: until the terminal shows TEXT
	retry 150 0.1 pane_has "$1" || { pane >&2; fail "the terminal never showed: $1"; }
}
keys() { tmux -S "$TMUX_SOCK" send-keys -- "$@"; }

@test "shell: ctrbox alone on a terminal shows a prompt naming ROOT; ctrl-d leaves" {
	tmux_start "$CTRBOX_BIN"
	pane_wait "ctrbox:$CTRBOX_ROOT>"
	keys "info -q" Enter
	pane_wait "events.max_age"
	keys C-d
	retry 150 0.1 test -s "$BATS_TEST_TMPDIR/exit"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/exit")" "shell-exit=0"
}

@test "shell: TAB completes an applet name, an option and its value" {
	tmux_start "$CTRBOX_BIN shell"
	pane_wait "ctrbox:$CTRBOX_ROOT>"
	# Each step needs the space the one before appended (the screen drops trailing blanks).
	keys "inf" Tab
	pane_wait "> info"
	keys "--fo" Tab
	pane_wait "> info --format"
	keys "j" Tab
	pane_wait "> info --format json"
	keys Enter
	pane_wait '"key": "kernel"'
	keys "stop --t" Tab
	pane_wait "> stop --time"
}

@test "shell: TAB completes container names from the store the shell was started on" {
	local root=$BATS_TEST_TMPDIR/other-root id
	id=$(printf web | sha256sum | cut -c1-64)
	mkdir -p "$root/containers/$id" "$CTRBOX_STATE/containers/$id"
	printf '{"id": "%s", "name": "webserver", "image": "busybox"}\n' "$id" \
		>"$root/containers/$id/container.json"
	printf '{"status": "running"}\n' >"$CTRBOX_STATE/containers/$id/state.json"
	mkdir -p "$CTRBOX_STATE/running" && : >"$CTRBOX_STATE/running/$id" # completion's index
	tmux_start "$CTRBOX_BIN --root $root shell"
	pane_wait "ctrbox:$root>"
	keys "stop web" Tab
	pane_wait "> stop webserver"
	keys C-u "rm web" Tab Tab # running: rm offers nothing without -f
	sleep 0.5
	pane_has "> rm webserver" && fail "rm completed a running container"
	keys C-u "rm -f web" Tab
	pane_wait "> rm -f webserver"
}

@test "shell: history is kept in ~/.ctrbox_history across sessions" {
	tmux_start "$CTRBOX_BIN shell"
	pane_wait "ctrbox:$CTRBOX_ROOT>"
	keys "info -q" Enter
	pane_wait "events.max_age"
	keys "exit" Enter
	retry 150 0.1 test -s "$BATS_TEST_TMPDIR/exit"
	run grep -c '^info -q$' "$HOME/.ctrbox_history"
	assert_output 1
	tmux -S "$TMUX_SOCK" kill-server
	rm -f "$BATS_TEST_TMPDIR/exit"
	tmux_start "$CTRBOX_BIN shell"
	pane_wait "ctrbox:$CTRBOX_ROOT>"
	keys Up Up # "exit" was the last line
	pane_wait "> info -q"
}

@test "shell: ctrl-c interrupts the running applet and returns to the prompt" {
	tmux_start "$CTRBOX_BIN shell"
	pane_wait "ctrbox:$CTRBOX_ROOT>"
	keys "events --follow" Enter
	sleep 0.5
	keys C-c
	keys "info -q" Enter
	pane_wait "events.max_age"
	# ctrl-c at the prompt clears the line, ctrl-\ is ignored, and the shell stays
	keys 'C-\'
	keys "half a line" C-c
	keys "help stop" Enter
	pane_wait "Usage: ctrbox stop"
	run cat "$BATS_TEST_TMPDIR/exit"
	assert_failure # the shell has not exited
}

@test "shell: the history file stays bounded at 1,000 lines" {
	seq -f 'info -q # %g' 1200 >"$HOME/.ctrbox_history"
	tmux_start "$CTRBOX_BIN shell"
	pane_wait "ctrbox:$CTRBOX_ROOT>"
	keys Up
	pane_wait "> info -q # 1200"
	keys C-u "exit" Enter
	retry 150 0.1 test -s "$BATS_TEST_TMPDIR/exit"
	run wc -l <"$HOME/.ctrbox_history"
	assert_output 1000
	run tail -n 1 "$HOME/.ctrbox_history"
	assert_output exit
}

@test "shell: without \$HOME it runs and keeps no history" {
	tmux_start "env -u HOME $CTRBOX_BIN shell"
	pane_wait "ctrbox:$CTRBOX_ROOT>"
	keys "info -q" Enter
	pane_wait "events.max_age"
	keys C-d
	retry 150 0.1 test -s "$BATS_TEST_TMPDIR/exit"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/exit")" "shell-exit=0"
	[ ! -e "$HOME/.ctrbox_history" ]
}
