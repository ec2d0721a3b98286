#!/usr/bin/env bash
# bench/relist.sh [CTRBOX_BIN] - listing real running containers, ctrbox against containerd
# (issue 7 "Benchmark"): with N running busybox containers (RELIST_BENCH_SIZES, default "10
# 100"), the whole command `ctrbox relist` and `ctrbox ps`, and where installed containerd's
# `ctr task ls` and `ctr containers ls` against a private containerd holding as many running
# containers, each RELIST_BENCH_ITER times (default 40), idle and under the storm of
# `build/bench/relist --storm` on the same disk (4 processes doing 4 KiB random writes with an
# fdatasync each, 2 writing large files). Prints p50/p99/max in ms per tool and the storm/idle
# ratio of the p99. `make bench` runs it with the built binary. Needs root.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "${1:-$top/ctrbox}")
sizes=${RELIST_BENCH_SIZES:-"10 100"}
iter=${RELIST_BENCH_ITER:-40}
storm_bin=$top/build/bench/relist
fixtures=$top/tests/.cache/fixtures

[ "$(id -u)" -eq 0 ] || { echo "bench/relist.sh: needs root (it runs containers)" >&2; exit 1; }
[ -x "$storm_bin" ] || make -C "$top" --no-print-directory build/bench/relist >/dev/null
[ -f "$fixtures/busybox.docker.tar" ] || "$top/tests/fixtures/images.sh" "$fixtures" >/dev/null

work=$(mktemp -d /var/tmp/ctrbox-bench-relist-sh.XXXXXX)
state=$(mktemp -d /run/ctrbox-bench-relist.XXXXXX) # short: attach sockets live here
storm_pid='' ctr_pid=''
export CTRBOX_ROOT=$work/root CTRBOX_STATE=$state CTRBOX_CONFIG=$work/config.yaml
: >"$CTRBOX_CONFIG"

cleanup() {
	set +e
	[ -n "$storm_pid" ] && kill "$storm_pid" && wait "$storm_pid"
	"$bin" ps -a -q 2>/dev/null | xargs -r "$bin" rm -f >/dev/null 2>&1
	ctr_stop
	rm -rf "$work" "$state"
}
trap cleanup EXIT

storm_on() {
	"$storm_bin" --storm "$work" &
	storm_pid=$!
	sleep 3
}
storm_off() {
	kill "$storm_pid"
	wait "$storm_pid" 2>/dev/null || true
	storm_pid=
	rm -f "$work"/storm-*
}

# measure LABEL CMD...: runs CMD $iter times with its output thrown away; prints p50/p99/max
# and leaves the p99 in $P99.
measure() {
	local label=$1 i t0 t1
	shift
	local -a ms=()
	for ((i = 0; i < iter; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || { echo "bench/relist.sh: $* failed" >&2; exit 1; }
		t1=$(date +%s%N)
		ms+=("$(((t1 - t0) / 1000))")
	done
	read -r P50 P99 MAX < <(printf '%s\n' "${ms[@]}" | sort -n | awk '
		{ v[NR] = $1 } END { i99 = int((NR - 1) * 0.99) + 1;
		printf "%.1f %.1f %.1f\n", v[int((NR + 1) / 2)] / 1000, v[i99] / 1000, v[NR] / 1000 }')
	printf '  %-36s p50 %7.1f  p99 %7.1f  max %7.1f ms\n' "$label" "$P50" "$P99" "$MAX"
}

# --- containerd ------------------------------------------------------------------------------
have_ctr=0
if command -v containerd >/dev/null && command -v ctr >/dev/null && command -v runc >/dev/null; then
	have_ctr=1
fi
# A private containerd (bench/lib-containerd.sh) with the same image, from the fixture archive.
# shellcheck source=bench/lib-containerd.sh
. "$top/bench/lib-containerd.sh"
ctr_up() {
	ctr_start "$work/ctr"
	ctrd images import "$fixtures/busybox.docker.tar" >/dev/null
}

echo "bench/relist.sh: $bin, $iter runs each, ROOT $work ($(stat -f -c %T "$work")), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" pull -q "oci:$fixtures/oci:busybox" >/dev/null
[ "$have_ctr" = 1 ] && ctr_up
have=0
for n in $sizes; do
	for ((i = have; i < n; i++)); do
		"$bin" run -d --name "b$i" localhost/oci:busybox sleep 100000 >/dev/null
		[ "$have_ctr" = 1 ] && ctr --address "$ctr_sock" run -d docker.io/ctrbox/busybox:latest \
			"b$i" sleep 100000 >/dev/null
	done
	have=$n
	"$bin" relist >/dev/null
	echo "$n running containers"
	measure "ctrbox relist (idle)" "$bin" relist; r_idle=$P99
	measure "ctrbox ps (idle)" "$bin" ps; p_idle=$P99
	if [ "$have_ctr" = 1 ]; then
		measure "ctr task ls (idle)" ctr --address "$ctr_sock" task ls; t_idle=$P99
		measure "ctr containers ls (idle)" ctr --address "$ctr_sock" containers ls; c_idle=$P99
	fi
	storm_on
	measure "ctrbox relist (storm)" "$bin" relist; r_storm=$P99
	measure "ctrbox ps (storm)" "$bin" ps; p_storm=$P99
	if [ "$have_ctr" = 1 ]; then
		measure "ctr task ls (storm)" ctr --address "$ctr_sock" task ls; t_storm=$P99
		measure "ctr containers ls (storm)" ctr --address "$ctr_sock" containers ls; c_storm=$P99
	fi
	storm_off
	if [ "$have_ctr" = 1 ]; then
		printf '  p99 ctr task ls / ctrbox relist: idle %.2fx, storm %.2fx\n' \
			"$(echo "$t_idle / $r_idle" | bc -l)" "$(echo "$t_storm / $r_storm" | bc -l)"
	fi
	printf '  p99 storm/idle: ctrbox relist %.2fx, ctrbox ps %.2fx' \
		"$(echo "$r_storm / $r_idle" | bc -l)" "$(echo "$p_storm / $p_idle" | bc -l)"
	if [ "$have_ctr" = 1 ]; then
		printf ', ctr task ls %.2fx, ctr containers ls %.2fx' \
			"$(echo "$t_storm / $t_idle" | bc -l)" "$(echo "$c_storm / $c_idle" | bc -l)"
	else
		printf ' (containerd not installed)'
	fi
	echo
done
