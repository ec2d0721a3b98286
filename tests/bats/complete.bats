#!/usr/bin/env bats
# __complete and the bash completion that relays it: candidates come from the parser's tables.

setup() {
	load ../helpers
	sandbox
}

@test "__complete: applet names with summaries, hidden ones left out" {
	ctrbox __complete ""
	assert_success
	assert_line --regexp $'^info\tshow the settings'
	assert_line --regexp $'^help\t'
	refute_line --partial __complete
	assert_line --index -1 ':4'
	ctrbox __complete inf
	assert_equal "${lines[0]%%$'\t'*}" info
	assert_equal "${#lines[@]}" 2
}

@test "__complete: global options and their values" {
	ctrbox __complete --ro
	assert_line --regexp $'^--root\t'
	ctrbox __complete --log-level ""
	assert_line error
	assert_line debug
	assert_line --index -1 ':4'
	ctrbox __complete --root ""
	assert_line --index -1 ':16'
	ctrbox __complete --config ""
	assert_line --index -1 ':0'
	ctrbox __complete --log-level=d
	assert_line --index 0 '--log-level=debug'
}

@test "__complete: an applet's options, including the output options and --help" {
	ctrbox __complete info --
	assert_line --regexp $'^--format\t'
	assert_line --regexp $'^--quiet\t'
	assert_line --regexp $'^--no-trunc\t'
	assert_line --regexp $'^--help\t'
	ctrbox __complete --root /x info --f
	assert_line --index 0 --regexp $'^--format\t'
}

@test "__complete: option values come from the option table" {
	ctrbox __complete info --format ""
	assert_line table
	assert_line json
	refute_line jsonl
	assert_line --index -1 ':4'
	ctrbox __complete info --format=j
	assert_line --index 0 '--format=json'
}

@test "__complete: applet arguments: help completes applets" {
	ctrbox __complete help inf
	assert_line --index 0 --regexp $'^info\t'
	ctrbox __complete bogus ""
	assert_line --index -1 ':1'
}

complete_line() { # complete_line "LINE": prints COMPREPLY, one per line
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash -c '
		source "$1"
		COMP_LINE=$2 COMP_POINT=${#2}
		read -r -a COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_ctrbox
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/completions/ctrbox.bash" "$1"
}

@test "completion: bash relays ctrbox __complete" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/bin/ctrbox"
	run complete_line "ctrbox inf"
	assert_output info
	run complete_line "ctrbox info --format j"
	assert_output json
	run complete_line "ctrbox info --format=j"
	assert_output json
	run complete_line "ctrbox --log-level "
	assert_line warn
}

@test "completion: bash completes through a ctrbox-APPLET link" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/bin/ctrbox"
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/bin/ctrbox-info"
	run complete_line "ctrbox-info --fo"
	assert_output -- --format
}

@test "__complete: image arguments come from the store, lock-free" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
	ctrbox __complete rmi ""
	assert_success
	assert_line "$BUSYBOX_IMAGE"
	ctrbox __complete pull --platform ""
	assert_line "linux/arm64"
	ctrbox __complete pull --progress ""
	assert_line "json"
}
