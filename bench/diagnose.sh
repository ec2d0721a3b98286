#!/bin/bash
# bench/diagnose.sh - wall time of a full `ctrbox diagnose` (no --deep, fsync probe included;
# issue 8 wants it under 2 s) and of `ctrbox metrics`, idle and with CONTAINERS real containers
# running (`run -d` of busybox sleeping). Prints median and p95 over N runs each. Needs root.
# Usage: bench/diagnose.sh [CTRBOX] (make bench passes it)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
CTRBOX=${1:-$top/ctrbox}
N=${N:-10}
CONTAINERS=${CONTAINERS:-100}
[ "$(id -u)" = 0 ] || { echo "bench/diagnose.sh: needs root" >&2; exit 1; }
command -v umoci >/dev/null || { echo "bench/diagnose.sh: needs umoci" >&2; exit 1; }
fixtures=${CTRBOX_FIXTURES:-$top/tests/.cache/fixtures}
[ -d "$fixtures/oci" ] || "$top/tests/fixtures/images.sh" "$fixtures" >/dev/null

# a short STATE: attach sockets must fit in sun_path
work=$(mktemp -d /tmp/ctrbox-bench-diag.XXXXXX)
export CTRBOX_ROOT=$work/root CTRBOX_STATE=$work/s CTRBOX_CONFIG=$work/config.yaml
: >"$CTRBOX_CONFIG"
mkdir -p "$work/bin"
cp "$CTRBOX" "$work/bin/ctrbox"
[ -x "$(dirname "$CTRBOX")/ctrbox-shim" ] && cp "$(dirname "$CTRBOX")/ctrbox-shim" "$work/bin/"
CTRBOX=$work/bin/ctrbox
cleanup() {
	local f p
	for f in "$CTRBOX_STATE"/containers/*/state.json; do
		[ -f "$f" ] || continue
		for p in $(jq -r '.pid // 0, .shim_pid // 0' "$f"); do
			[ "$p" -gt 1 ] && kill -9 "$p" 2>/dev/null || true
		done
	done
	sleep 0.5
	rm -rf "$work"
}
trap cleanup EXIT

stats() {
	sort -n "$2" | awk -v name="$1" '{v[NR]=$1} END {
		m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.95 + 0.999)];
		printf "%-44s median %8.1f ms   p95 %8.1f ms   (n=%d)\n", name, m, p, NR }'
}

# time_loop FILE CMD...: runs CMD N times (any exit status), one elapsed time per line (ms).
time_loop() {
	local out=$1 i t0 t1
	shift
	: >"$out"
	for ((i = 0; i < N; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || true
		t1=$EPOCHREALTIME
		awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", (b - a) * 1000}' >>"$out"
	done
}

"$CTRBOX" pull -q "oci:$fixtures/oci:busybox" >/dev/null
img=localhost/oci:busybox
"$CTRBOX" relist >/dev/null

echo "== idle (load: $(cut -d' ' -f1-3 /proc/loadavg))"
time_loop "$work/d0.ms" "$CTRBOX" diagnose
stats "diagnose (all checks, no --deep)" "$work/d0.ms"
time_loop "$work/m0.ms" "$CTRBOX" metrics
stats "metrics" "$work/m0.ms"
{ "$CTRBOX" diagnose --format json || true; } | jq -r '.[] | "  \(.check): \(.status)"' | paste -sd' '

echo "== starting $CONTAINERS containers"
for ((i = 0; i < CONTAINERS; i++)); do
	"$CTRBOX" run -d --name "b$i" "$img" sleep 100000 >/dev/null
done
"$CTRBOX" relist >/dev/null
echo "== $CONTAINERS containers running (load: $(cut -d' ' -f1-3 /proc/loadavg))"
time_loop "$work/d1.ms" "$CTRBOX" diagnose
stats "diagnose with $CONTAINERS containers" "$work/d1.ms"
time_loop "$work/m1.ms" "$CTRBOX" metrics
stats "metrics with $CONTAINERS containers" "$work/m1.ms"
echo "  container series: $("$CTRBOX" metrics | grep -c '^container_memory_usage_bytes{')"
