#!/usr/bin/env bats
# The build: a hardened binary, and `make install` putting everything where Debian expects it.

setup() {
	load ../helpers
	sandbox
}

@test "build: the binary is PIE with full RELRO and a stack protector" {
	requires cmd readelf
	run readelf -h "$CTRBOX_BIN"
	assert_output --partial 'DYN (Position-Independent Executable file)'
	run readelf -d "$CTRBOX_BIN"
	assert_output --regexp 'FLAGS.*BIND_NOW'
	run readelf -lW "$CTRBOX_BIN"
	assert_output --partial GNU_RELRO
	run readelf -sW "$CTRBOX_BIN"
	assert_output --partial __stack_chk_fail
}

@test "build: make install puts the binary, links, man pages and completion in DESTDIR" {
	local d=$BATS_TEST_TMPDIR/pkg
	run make -s -C "$TOP" install PREFIX=/usr DESTDIR="$d"
	assert_success
	[ -x "$d/usr/bin/ctrbox" ]
	assert_equal "$(readlink "$d/usr/bin/ctrbox-info")" ctrbox
	[ ! -e "$d/usr/bin/info" ]
	[ -f "$d/usr/share/man/man1/ctrbox.1" ]
	[ -f "$d/usr/share/man/man1/ctrbox-info.1" ]
	[ -f "$d/usr/share/bash-completion/completions/ctrbox" ]
	[ -L "$d/usr/share/bash-completion/completions/ctrbox-info" ]
	run "$d/usr/bin/ctrbox-info" -q
	assert_success
}

@test "build: libcurl, libarchive and libcrypto are loaded on first use, not at every exec" {
	requires cmd readelf
	run readelf -d "$CTRBOX_BIN"
	assert_success
	refute_output --partial libcurl
	refute_output --partial libarchive
	refute_output --partial libcrypto
	# ...and an applet that needs none of them never maps them.
	run env LD_DEBUG=files "$CTRBOX_BIN" ps -a
	assert_success
	refute_output --partial 'file=libcurl'
	refute_output --partial 'file=libarchive'
}

@test "build: libyaml, libisal, libseccomp and readline are loaded on first use, not at every exec" {
	requires cmd readelf
	run readelf -d "$CTRBOX_BIN"
	assert_success
	refute_output --regexp 'libyaml|libisal|libseccomp|libreadline|libtinfo'
	# ps and TAB completion map none of them, the sandbox's empty config file included...
	run env LD_DEBUG=files "$CTRBOX_BIN" ps -a
	assert_success
	refute_output --regexp 'file=(libyaml|libisal|libseccomp|libreadline|libtinfo)'
	run env LD_DEBUG=files "$CTRBOX_BIN" __complete stop ""
	assert_success
	refute_output --regexp 'file=(libyaml|libisal|libseccomp|libreadline|libtinfo)'
	# ...nor does a config file of blank lines, which reads as the defaults without libyaml...
	printf '\n  \r\n\n' >"$CTRBOX_CONFIG"
	run env LD_DEBUG=files "$CTRBOX_BIN" ps -a
	assert_success
	refute_output --partial 'file=libyaml'
	# ...while one with content is parsed by libyaml, opened then.
	printf 'root: %s\n' "$CTRBOX_ROOT" >"$CTRBOX_CONFIG"
	run env LD_DEBUG=files "$CTRBOX_BIN" ps -a
	assert_success
	assert_output --partial 'file=libyaml'
	refute_output --regexp 'file=(libisal|libseccomp|libreadline|libtinfo)'
	# A tab is not blank: libyaml still reports it, as before.
	printf '\t\n' >"$CTRBOX_CONFIG"
	run "$CTRBOX_BIN" ps -a
	assert_failure 1
	assert_output "ctrbox ps: $CTRBOX_CONFIG:1:1: found character that cannot start any token while scanning for the next token at line 1"
}

@test "build: the static ctrbox-shim keeps its own libyaml and libseccomp, no loader" {
	local shim=${CTRBOX_BIN%/*}/ctrbox-shim
	requires cmd nm
	# The ASan build has no shim of its own (it runs ctrbox __shim): make check builds the
	# static one at the top of the tree for this test.
	[ -x "$shim" ] || shim=$BATS_TEST_DIRNAME/../../ctrbox-shim
	[ -x "$shim" ] || skip "no ctrbox-shim beside $CTRBOX_BIN nor at the top of the tree"
	run nm "$shim"
	assert_success
	assert_output --partial ' T yaml_parser_parse'
	assert_output --partial ' T seccomp_rule_add_array'
	refute_output --partial dynlib_
}
