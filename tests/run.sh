#!/usr/bin/env bash
# tests/run.sh BUILD BIN - runs every unit test (cmocka, TAP) and every bats suite (TAP) and ends
# with "N passed, N failed". Exits non-zero if anything failed, crashed or was skipped under
# CTRBOX_TEST_STRICT (set whenever CI=true).
set -u
build=${1:-build}
bin=${2:-$PWD/ctrbox}
top=$(cd "$(dirname "$0")/.." && pwd)
export CTRBOX_BIN=$bin LANG=C LC_ALL=C TZ=UTC
[ "${CI:-}" = true ] && export CTRBOX_TEST_STRICT=1
log=$(mktemp -d "${TMPDIR:-/tmp}/ctrbox-test.XXXXXX")
passed=0 failed=0 skipped=0

tally() { # reads TAP on stdin, echoes it, counts
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		# bats marks a skip "ok N # skip", cmocka "not ok N # SKIP": both are skips.
		"ok "*"# skip"* | "ok "*"# SKIP"* | "not ok "*"# SKIP"*)
			skipped=$((skipped + 1)); passed=$((passed + 1)) ;;
		"ok "*) passed=$((passed + 1)) ;;
		"not ok "*) failed=$((failed + 1)) ;;
		esac
	done
}

echo "== unit tests"
for t in "$top/$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	( cd "$log" && CMOCKA_MESSAGE_OUTPUT=TAP "$t" ) >"$log/$name.tap" 2>"$log/$name.err"
	rc=$?
	tally <"$log/$name.tap"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log/$name.tap"; then
		# A crash or sanitizer report never passes, even when every assertion did.
		echo "not ok - $name exited $rc"; failed=$((failed + 1))
		sed 's/^/# /' "$log/$name.err" | tail -n 40
	elif [ $rc -ne 0 ]; then
		sed 's/^/# /' "$log/$name.err" | tail -n 40
	fi
done

echo "== bats suites"
if command -v bats >/dev/null; then
	# --timing: each line ends "in N ms", so a slow test shows in CI's log.
	bats --tap --timing "$top"/tests/bats/*.bats >"$log/bats.tap" 2>"$log/bats.err"
	rc=$?
	tally <"$log/bats.tap"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log/bats.tap"; then
		echo "not ok - bats exited $rc"; failed=$((failed + 1))
		sed 's/^/# /' "$log/bats.err" | tail -n 40
	fi
else
	echo "not ok - bats is not installed"; failed=$((failed + 1))
fi

rm -rf "$log"
if [ "$skipped" -gt 0 ] && [ "${CTRBOX_TEST_STRICT:-}" = 1 ]; then
	# Under CI nothing is silently untested: a skip is a failure.
	echo "not ok - $skipped test(s) skipped under CTRBOX_TEST_STRICT"
	passed=$((passed - skipped)); failed=$((failed + skipped))
elif [ "$skipped" -gt 0 ]; then
	echo "($skipped of the passed were skipped with a reason)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
