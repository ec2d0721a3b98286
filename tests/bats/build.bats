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
