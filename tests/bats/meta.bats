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

@test "meta: every config key is documented in ctrbox-config(5), with its type" {
	page=$(mandoc -Tascii "$TOP/man/ctrbox-config.5" | sed "s/.\x08//g")
	# Every key the schema tables in common/util/config.c name, so a new key fails here.
	keys=$(grep -oE '^\s*(KEY|RKEY|PCT|MAP)\("[a-z_]+"|\.name = "[a-z_]+"' "$TOP/common/util/config.c" |
		grep -oE '"[a-z_]+"' | tr -d '"' | sort -u)
	[ "$(echo "$keys" | wc -l)" -ge 40 ] || fail "found only $(echo "$keys" | wc -l) keys in config.c"
	for k in $keys; do
		# a key is named as a term: "key (type, default)", or first in "a, b (type)"
		grep -qE "(^|[ ,])$k( \(|,|$)" <<<"$page" ||
			fail "ctrbox-config(5) does not document config key $k"
	done
	mandoc -Tascii "$TOP/man/ctrbox.1" | sed "s/.\x08//g" | grep -q "ctrbox-config(5)" ||
		fail "ctrbox(1) does not point at ctrbox-config(5)"
}

@test "meta: each man page's NAME line says what the applet's summary says" {
	for a in $("$CTRBOX_BIN" --list); do
		summary=$("$CTRBOX_BIN" help | sed -n "s/^  $a  *//p")
		[ -n "$summary" ] || fail "ctrbox help lists no summary for $a"
		name=$(sed -n '/^\.SH NAME/{n;p;}' "$TOP/man/ctrbox-$a.1")
		assert_equal "$name" "ctrbox-$a \\- $summary"
		# and --help repeats it on its third line
		assert_equal "$("$CTRBOX_BIN" "$a" --help | sed -n 3p)" "$summary"
	done
}

@test "meta: man pages are clean under mandoc -Tlint" {
	run mandoc -Tlint -Wwarning "$TOP"/man/*.1 "$TOP"/man/*.5
	assert_success
	assert_output ""
}

@test "meta: the completion script is valid bash" {
	run bash -n "$TOP/completions/ctrbox.bash"
	assert_success
}
