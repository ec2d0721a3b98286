# tests/promcheck.bash - validation of the Prometheus text exposition for the suites that print
# it (metrics.bats, diagnose.bats; issue 8): `promtool check metrics` from Debian's prometheus
# package (fetched once by tests/fixtures/promtool.sh) must find nothing, and neither may
# tests/prom_lint.py, which checks what promtool does not (duplicate series, split families,
# histogram buckets).
# shellcheck shell=bash

# promtool_fetch: for setup_file, so the one-time download (a few seconds) is never inside a test,
# let alone a timed one. Puts promtool's directory on PATH; when it cannot be had it says why, and
# each test's `requires cmd promtool` then skips, or fails under CTRBOX_TEST_STRICT (CI=true).
promtool_fetch() {
	local top bin
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	if bin=$("$top/tests/fixtures/promtool.sh"); then
		PATH=$(dirname "$bin"):$PATH
		export PATH
	else
		echo "# promtool could not be fetched: tests that need it will skip or fail" >&3
	fi
}

# promcheck TEXT: TEXT passes `promtool check metrics` with no finding and tests/prom_lint.py.
# Leaves $output and $status alone.
promcheck() {
	local out rc=0
	requires cmd promtool
	out=$(promtool check metrics <<<"$1" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		fail "promtool check metrics (exit $rc): $out"
	fi
	out=$(/usr/bin/python3 "$TOP/tests/prom_lint.py" - <<<"$1" 2>&1) ||
		fail "tests/prom_lint.py: $out"
}
