# tests/bats/setup_suite.bash - once per bats run (bats picks it up beside the .bats files):
# builds the image fixtures (tests/fixtures/images.sh, cached in tests/.cache/fixtures), starts
# two throwaway registries on 127.0.0.1 (tests/fixtures/registry.sh), one plain and one with
# basic auth, pushes the fixtures to them, and exports for the suites:
#
#   CTRBOX_FIXTURES   the fixture dir (oci/ layout, busybox.{oci,docker}.tar, layers.expect)
#   REGISTRY          127.0.0.1:PORT, plain HTTP, no auth
#   REGISTRY_AUTH     127.0.0.1:PORT, plain HTTP, basic auth as REGISTRY_USER/REGISTRY_PASS
#   BUSYBOX_IMAGE LAYERS_IMAGE MULTI_IMAGE   $REGISTRY/ctrbox/{busybox,layers,multi}:latest
#   AUTH_IMAGE        $REGISTRY_AUTH/ctrbox/busybox:latest
#   REGISTRY_LOG REGISTRY_AUTH_LOG           the registries' logs, to print when a test fails
#
# A missing tool fails the whole run (not ok 1 setup_suite), never a skip. The registries' dirs
# are under $BATS_SUITE_TMPDIR (keep them with `bats --no-tempdir-cleanup`); teardown_suite kills
# them by the pids recorded at start and removes their storage.
# shellcheck shell=bash

setup_suite() {
	local top t missing=
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	for t in docker-registry umoci skopeo htpasswd curl jq tar sha256sum flock; do
		command -v "$t" >/dev/null || missing="$missing $t"
	done
	if [ -n "$missing" ]; then
		echo "setup_suite: missing tools:$missing (install them with scripts/deps.sh test)" >&2
		return 1
	fi
	# shellcheck source=tests/fixtures/registry.sh
	. "$top/tests/fixtures/registry.sh"

	export CTRBOX_FIXTURES=$top/tests/.cache/fixtures
	"$top/tests/fixtures/images.sh" "$CTRBOX_FIXTURES"

	export REGISTRY_USER=ctrbox REGISTRY_PASS=ctrbox-test-password
	registry_spawn "$BATS_SUITE_TMPDIR/registry"
	registry_spawn "$BATS_SUITE_TMPDIR/registry-auth" "$REGISTRY_USER" "$REGISTRY_PASS"
	registry_wait "$BATS_SUITE_TMPDIR/registry"
	registry_wait "$BATS_SUITE_TMPDIR/registry-auth"
	REGISTRY=$(registry_addr "$BATS_SUITE_TMPDIR/registry")
	REGISTRY_AUTH=$(registry_addr "$BATS_SUITE_TMPDIR/registry-auth")
	export REGISTRY REGISTRY_AUTH
	export REGISTRY_LOG=$BATS_SUITE_TMPDIR/registry/registry.log
	export REGISTRY_AUTH_LOG=$BATS_SUITE_TMPDIR/registry-auth/registry.log
	export BUSYBOX_IMAGE=$REGISTRY/ctrbox/busybox:latest
	export LAYERS_IMAGE=$REGISTRY/ctrbox/layers:latest
	export MULTI_IMAGE=$REGISTRY/ctrbox/multi:latest
	export AUTH_IMAGE=$REGISTRY_AUTH/ctrbox/busybox:latest

	# The pushes run side by side: each is mostly waiting on round trips.
	local oci=oci:$CTRBOX_FIXTURES/oci pids=() p rc=0
	registry_push "$BATS_SUITE_TMPDIR/registry" "$oci:busybox" ctrbox/busybox:latest & pids+=($!)
	registry_push "$BATS_SUITE_TMPDIR/registry" "$oci:layers" ctrbox/layers:latest & pids+=($!)
	registry_push "$BATS_SUITE_TMPDIR/registry" "$oci:multi" ctrbox/multi:latest --all & pids+=($!)
	registry_push "$BATS_SUITE_TMPDIR/registry-auth" "$oci:busybox" ctrbox/busybox:latest \
		"$REGISTRY_USER" "$REGISTRY_PASS" & pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	if [ "$rc" -ne 0 ]; then
		echo "setup_suite: pushing the fixtures failed; registry logs: $REGISTRY_LOG $REGISTRY_AUTH_LOG" >&2
		tail -n 20 "$REGISTRY_LOG" "$REGISTRY_AUTH_LOG" >&2
		return 1
	fi
}

teardown_suite() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	# shellcheck source=tests/fixtures/registry.sh
	. "$top/tests/fixtures/registry.sh"
	registry_stop "$BATS_SUITE_TMPDIR/registry"
	registry_stop "$BATS_SUITE_TMPDIR/registry-auth"
}
