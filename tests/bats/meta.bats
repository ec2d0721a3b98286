#!/usr/bin/env bats
# Every applet ships whole: a man page whose SYNOPSIS matches --help, a bats suite, options
# documented, and man pages that pass mandoc -Tlint (STYLE.md "Adding an applet").

setup() {
	load ../helpers
	sandbox
}

@test "meta: every applet has a man page, a bats suite and a working --help" {
	local missing=
	for a in $("$CTRBOX_BIN" --list); do
		[ -f "$TOP/man/ctrbox-$a.1" ] || missing="$missing man/ctrbox-$a.1"
		[ -f "$TOP/tests/bats/$a.bats" ] || missing="$missing tests/bats/$a.bats"
		"$CTRBOX_BIN" "$a" --help >/dev/null || missing="$missing $a--help"
	done
	assert_equal "$missing" ""
}

@test "meta: each man page's SYNOPSIS matches the usage line of --help" {
	for a in $("$CTRBOX_BIN" --list); do
		usage=$("$CTRBOX_BIN" "$a" --help | sed -n '1s/^Usage: //p')
		synopsis=$(mandoc -Tascii "$TOP/man/ctrbox-$a.1" | sed "s/.\x08//g" |
			sed -n '/^SYNOPSIS/{n;p;}' | sed 's/^ *//')
		assert_equal "$synopsis" "$usage"
	done
}

@test "meta: every option in --help is documented in the applet's man page" {
	for a in $("$CTRBOX_BIN" --list); do
		page=$(mandoc -Tascii "$TOP/man/ctrbox-$a.1" | sed "s/.\x08//g")
		for o in $("$CTRBOX_BIN" "$a" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			[[ $page == *"$o"* ]] || fail "ctrbox-$a(1) does not document $o"
		done
	done
}

@test "meta: every global option is documented in ctrbox(1)" {
	page=$(mandoc -Tascii "$TOP/man/ctrbox.1" | sed "s/.\x08//g")
	for o in $("$CTRBOX_BIN" --help | sed -n '/^Global options/,$p' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		[[ $page == *"$o"* ]] || fail "ctrbox(1) does not document $o"
	done
}

@test "meta: every config key is documented in ctrbox(1)" {
	page=$(mandoc -Tascii "$TOP/man/ctrbox.1" | sed "s/.\x08//g")
	for k in root state log_level host proc sys dev cgroup events rotate_size max_size max_age pull max_concurrent_downloads max_concurrent_pulls unpack retries connect_timeout low_speed_time registries mirrors plain_http tls_verify ca_file cert_file key_file snapshots volatile diagnose pressure_some_warn pressure_some_fail pressure_full_warn pressure_full_fail dirty_warn dirty_fail dstate_warn dstate_fail fsync_warn fsync_fail root_available_min state_available_min inodes_free_min limits_warn limits_fail clock_max_error_warn clock_max_error_fail relist_slow relist_stall rules pattern reason severity; do
		[[ $page == *"$k"* ]] || fail "ctrbox(1) does not document config key $k"
	done
}

@test "meta: man pages are clean under mandoc -Tlint" {
	run mandoc -Tlint -Wwarning "$TOP"/man/*.1
	assert_success
	assert_output ""
}

@test "meta: the completion script is valid bash" {
	run bash -n "$TOP/completions/ctrbox.bash"
	assert_success
}
