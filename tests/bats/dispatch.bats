#!/usr/bin/env bats
# The multicall binary: dispatch by argv[1] and argv[0], --list, --version, --install, usage errors.

setup() {
	load ../helpers
	sandbox
}

@test "dispatch: --version prints the version baked in at build time" {
	ctrbox --version
	assert_success
	assert_output --regexp '^ctrbox [0-9]+\.[0-9]+\.[0-9]+'
	assert_output --partial "$(cat "$TOP/VERSION")"
}

@test "dispatch: --list prints every visible applet, sorted, and not the hidden ones" {
	ctrbox --list
	assert_success
	assert_line help
	assert_line info
	refute_line __complete
	[ "$output" = "$(printf '%s\n' "${lines[@]}" | sort)" ]
}

@test "dispatch: no applet is a usage error on stderr" {
	ctrbox
	assert_failure 2
	assert_output ""
	[[ $stderr == *"Usage: ctrbox"* ]]
}

@test "dispatch: an unknown applet suggests the closest one" {
	ctrbox inf
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox: inf: unknown applet (did you mean "info"?)'
	ctrbox zzzzzz
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox: zzzzzz: unknown applet'
}

@test "dispatch: an unknown global option suggests the closest one" {
	ctrbox --rot /tmp info
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox: unknown option --rot (did you mean --root?)'
	ctrbox -x info
	assert_failure 2
}

@test "dispatch: an unknown applet option is a usage error with a suggestion" {
	ctrbox info --formt json
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox info: unknown option --formt (did you mean --format?)'
	ctrbox info -Z
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox info: unknown option -Z'
}

@test "dispatch: a bad option value is a usage error naming the choices" {
	ctrbox info --format yaml
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox info: --format yaml: expected one of table|json'
	ctrbox info --format
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox info: option --format needs a value (FORMAT)'
	ctrbox info --quiet=yes
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" 'ctrbox info: option --quiet takes no value'
}

@test "dispatch: argv[0] ctrbox-APPLET runs the applet" {
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/ctrbox-info"
	run --separate-stderr "$BATS_TEST_TMPDIR/ctrbox-info" --format json
	assert_success
	assert_equal "$(jq -r '.[] | select(.key == "root") | .value' <<<"$output")" "$CTRBOX_ROOT"
	run --separate-stderr "$BATS_TEST_TMPDIR/ctrbox-info" --help
	assert_success
	assert_line --index 0 'Usage: ctrbox info [--format table|json]'
}

@test "dispatch: argv[0] dispatch takes the global settings before the applet's options" {
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/ctrbox-info"
	run --separate-stderr "$BATS_TEST_TMPDIR/ctrbox-info" --root /srv/r -q
	assert_success
	run --separate-stderr "$BATS_TEST_TMPDIR/ctrbox-info" --root /srv/r --format json
	assert_equal "$(jq -r '.[] | select(.key == "root") | .source' <<<"$output")" flag
}

@test "dispatch: an unknown ctrbox-NAME link is a usage error" {
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/ctrbox-nope"
	run --separate-stderr "$BATS_TEST_TMPDIR/ctrbox-nope"
	assert_failure 2
	[[ $stderr == "ctrbox: nope: unknown applet"* ]]
}

@test "dispatch: a plain link named after an applet that shadows a system tool acts as ctrbox" {
	# info shadows GNU info, so a link named "info" is not dispatched to the applet.
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/info"
	run --separate-stderr "$BATS_TEST_TMPDIR/info" --version
	assert_success
	assert_output --regexp '^ctrbox '
}

@test "dispatch: --install makes ctrbox-APPLET links and no plain links that shadow tools" {
	local d=$BATS_TEST_TMPDIR/bin
	mkdir -p "$d"
	ctrbox --install "$d"
	assert_success
	[ -L "$d/ctrbox-info" ]
	[ -L "$d/ctrbox-help" ]
	[ ! -e "$d/info" ]
	[ ! -e "$d/help" ]
	[ ! -e "$d/ctrbox-__complete" ]
	[ "$(readlink -f "$d/ctrbox-info")" = "$(readlink -f "$CTRBOX_BIN")" ]
	run "$d/ctrbox-info" -q
	assert_success
	# Idempotent.
	ctrbox --install "$d"
	assert_success
}

@test "dispatch: --install makes relative links beside the binary" {
	local d=$BATS_TEST_TMPDIR/usr/bin
	mkdir -p "$d"
	cp "$CTRBOX_BIN" "$d/ctrbox"
	run "$d/ctrbox" --install "$d"
	assert_success
	assert_equal "$(readlink "$d/ctrbox-info")" ctrbox
}

@test "dispatch: --install never replaces a file that is not a link to ctrbox" {
	local d=$BATS_TEST_TMPDIR/bin
	mkdir -p "$d"
	echo precious >"$d/ctrbox-info"
	ln -s /bin/true "$d/ctrbox-help"
	ctrbox --install "$d"
	assert_failure 1
	[[ $stderr == *"$d/ctrbox-info: exists and is not a link to ctrbox"* ]]
	[[ $stderr == *"$d/ctrbox-help: exists and is not a link to ctrbox"* ]]
	assert_equal "$(cat "$d/ctrbox-info")" precious
	assert_equal "$(readlink "$d/ctrbox-help")" /bin/true
}

@test "dispatch: --install into a missing directory fails cleanly" {
	ctrbox --install "$BATS_TEST_TMPDIR/nope"
	assert_failure 1
	[[ $stderr == "ctrbox: $BATS_TEST_TMPDIR/nope: No such file or directory" ]]
}

@test "dispatch: -- ends the global options" {
	ctrbox --root /x -- info -q
	assert_success
}
