#!/usr/bin/env bats
# help: ctrbox's own help and each applet's, generated from the tables the parser uses.

setup() {
	load ../helpers
	sandbox
}

@test "help: ctrbox help lists every applet with its summary and the global options" {
	ctrbox help
	assert_success
	assert_line --index 0 'Usage: ctrbox [GLOBAL OPTIONS] APPLET [ARGS...]'
	for a in $("$CTRBOX_BIN" --list); do
		assert_line --regexp "^  $a +[a-z]"
	done
	assert_line --regexp '^      --root DIR +persistent data'
	assert_line --regexp '^      --config FILE +config file'
	refute_line --partial __complete
}

@test "help: ctrbox --help and -h print the same as ctrbox help" {
	ctrbox help
	local want=$output
	ctrbox --help
	assert_success
	assert_equal "$output" "$want"
	ctrbox -h
	assert_equal "$output" "$want"
}

@test "help: help APPLET equals APPLET --help and APPLET -h" {
	ctrbox help info
	assert_success
	local want=$output
	assert_line --index 0 'Usage: ctrbox info [--format table|json]'
	assert_line --regexp '^      --format FORMAT +output format: table\|json$'
	assert_line --regexp '^  -q, --quiet +print IDs only$'
	assert_line --regexp '^  -h, --help +print this help$'
	ctrbox info --help
	assert_success
	assert_equal "$output" "$want"
	ctrbox info -h
	assert_equal "$output" "$want"
}

@test "help: help for an unknown applet suggests one" {
	ctrbox help hepl
	assert_failure 2
	[[ $stderr == 'ctrbox: hepl: unknown applet (did you mean "help"?)'* ]]
}

@test "help: help takes one applet" {
	ctrbox help info help
	assert_failure 2
	[[ $stderr == 'ctrbox help: one applet at a time'* ]]
}

@test "help: help text goes to stdout and --help exits 0 even with other options" {
	ctrbox info --format json --help
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 --partial 'Usage: ctrbox info'
}
