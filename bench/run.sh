#!/bin/bash
# bench/run.sh - container lifecycles and shim memory (issue 5, DESIGN.md lesson 3): N
# sequential `ctrbox run --rm busybox /bin/true` (image already unpacked) beside, taking turns
# with it in blocks of BLOCK, `runc run` on a prepared bundle (the same config.json), the floor
# `unshare -mpfuin --mount-proc /bin/true`, and containerd's `ctr run --rm` on a private
# containerd (bench/lib-containerd.sh: its own root, state and socket under the run's temp dir,
# the image imported from the fixture archive); then the shims' RSS and PSS
# (/proc/PID/smaps_rollup) with SHIMS containers running under ctrbox and as many under that
# containerd (containerd-shim-runc-v2). Prints median and p95 per lifecycle, and ratios. Needs
# root. Usage: bench/run.sh [CTRBOX] (make bench passes it)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
CTRBOX=${1:-$top/ctrbox}
N=${N:-50}
BLOCK=${BLOCK:-5}
SHIMS=${SHIMS:-100}
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root" >&2; exit 1; }
for t in umoci jq unshare; do
	command -v "$t" >/dev/null || { echo "bench/run.sh: needs $t" >&2; exit 1; }
done
fixtures=${CTRBOX_FIXTURES:-$top/tests/.cache/fixtures}
[ -d "$fixtures/oci" ] || "$top/tests/fixtures/images.sh" "$fixtures" >/dev/null

# shellcheck source=bench/lib-containerd.sh
. "$top/bench/lib-containerd.sh"
have_containerd=false
if command -v containerd >/dev/null && command -v ctr >/dev/null &&
	command -v containerd-shim-runc-v2 >/dev/null && command -v runc >/dev/null; then
	have_containerd=true
fi

work=$(mktemp -d /var/tmp/ctrbox-bench-run.XXXXXX)
export CTRBOX_ROOT=$work/root CTRBOX_STATE=$work/state CTRBOX_CONFIG=$work/config.yaml
: >"$CTRBOX_CONFIG"
# A private copy of the binaries (and the shim beside them): a rebuild in the tree during the
# run must not change what is measured.
mkdir -p "$work/bin"
cp "$CTRBOX" "$work/bin/ctrbox"
[ -x "$(dirname "$CTRBOX")/ctrbox-shim" ] && cp "$(dirname "$CTRBOX")/ctrbox-shim" "$work/bin/"
CTRBOX=$work/bin/ctrbox
inits=()
cleanup() {
	local p
	for p in "${inits[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	ctr_stop
	[ -d "$work/runc" ] && runc --root "$work/runc" list -q 2>/dev/null |
		while read -r c; do runc --root "$work/runc" delete -f "$c" 2>/dev/null; done
	sleep 0.5
	rm -rf "$work"
}
trap cleanup EXIT

# stats NAME FILE: median and p95 of the milliseconds in FILE.
stats() {
	sort -n "$2" | awk -v name="$1" '{v[NR]=$1} END {
		m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.95 + 0.999)];
		printf "%-34s median %7.2f ms   p95 %7.2f ms   (n=%d)\n", name, m, p, NR }'
}
median() { sort -n "$1" | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }

# elapsed CMD...: runs CMD once; prints its elapsed time in ms.
elapsed() {
	local t0 t1
	t0=$EPOCHREALTIME
	"$@" >/dev/null
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", (b - a) * 1000}'
}

"$CTRBOX" pull -q "oci:$fixtures/oci:busybox" >/dev/null
img=localhost/oci:busybox
# Warm: the image unpacked, the shim binary in the page cache.
"$CTRBOX" run --name warm "$img" /bin/true

# Every tool is prepared first, then they take turns in blocks of BLOCK lifecycles: this VM's
# speed drifts by half within minutes, and interleaving makes a drift hit every tool alike, so
# the ratios compare like with like. Blocks rather than single turns, so that a lifecycle's
# trailing work (ctrbox's shim removing a --rm container, containerd's snapshot removal and
# garbage collection) falls mostly on the same tool's next lifecycle, as in a run of one tool.
tools=(ctrbox unshare)
one_ctrbox() { "$CTRBOX" run --rm "$img" /bin/true; }
one_unshare() { unshare -mpfuin --mount-proc /bin/true; }
have_runc=false
if command -v runc >/dev/null; then
	# The same config.json ctrbox wrote, over the same image's rootfs.
	umoci unpack --image "$fixtures/oci:busybox" "$work/bundle" >/dev/null
	warm_id=$(basename "$(dirname "$(grep -l '"warm"' "$CTRBOX_ROOT"/containers/*/container.json)")")
	jq '.process.args = ["/bin/true"]' "$CTRBOX_ROOT/containers/$warm_id/config.json" \
		>"$work/bundle/config.json"
	runc_n=0
	one_runc() { runc_n=$((runc_n + 1)); runc --root "$work/runc" run --bundle "$work/bundle" "b$runc_n"; }
	tools+=(runc)
	have_runc=true
fi
have_ctr=false
cref=docker.io/ctrbox/busybox:latest
if [ "$have_containerd" = true ] && ctr_start "$work/ctr"; then
	ctrd images import "$fixtures/busybox.docker.tar" >/dev/null
	ctr_n=0
	one_ctr() { ctr_n=$((ctr_n + 1)); ctrd run --rm "$cref" "bench-$ctr_n" /bin/true; }
	one_ctr >/dev/null # warm: the snapshot unpacked, the shim binary in the page cache
	tools+=(ctr)
	have_ctr=true
fi

echo "== $N sequential lifecycles each, tools taking turns in blocks of $BLOCK (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for t in "${tools[@]}"; do : >"$work/$t.ms"; done
for ((i = 0; i < N; i += BLOCK)); do
	for t in "${tools[@]}"; do
		for ((j = i; j < N && j < i + BLOCK; j++)); do
			elapsed "one_$t" >>"$work/$t.ms"
		done
	done
done
stats "ctrbox run --rm" "$work/ctrbox.ms"
[ "$have_runc" = true ] && stats "runc run (prepared bundle)" "$work/runc.ms"
stats "unshare -mpfuin --mount-proc (floor)" "$work/unshare.ms"
if [ "$have_ctr" = true ]; then
	stats "ctr run --rm (private containerd)" "$work/ctr.ms"
else
	echo "ctr run --rm                       not measured (containerd, ctr, its runc shim or runc missing)"
fi

c=$(median "$work/ctrbox.ms")
f=$(median "$work/unshare.ms")
awk -v c="$c" -v f="$f" 'BEGIN {printf "ratio ctrbox/floor: %.2fx\n", c / f}'
if [ "$have_runc" = true ]; then
	r=$(median "$work/runc.ms")
	awk -v c="$c" -v r="$r" 'BEGIN {printf "ratio runc/ctrbox: %.2fx (ctrbox is %.2fx faster)\n", r / c, r / c}'
fi
if [ "$have_ctr" = true ]; then
	x=$(median "$work/ctr.ms")
	awk -v c="$c" -v x="$x" 'BEGIN {printf "ratio ctr/ctrbox: %.2fx\n", x / c}'
fi

# CPU per lifecycle (the process and its descendants, perf's task-clock): unlike elapsed time it
# hardly moves with the machine's load. perf stat counts a descendant when it exits, and with
# --rm the shim outlives `run` (it removes the container after reporting the exit): 10
# lifecycles in one shell that then waits half a second, so every shim's work is counted.
if command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1; then
	cpu() {
		perf stat -x, -e task-clock -- bash -c \
			'for ((i = 0; i < 10; i++)); do "$@" >/dev/null; done; sleep 0.5' cpu "$@" 2>&1 |
			awk -F, '/task-clock/ {printf "%.1f", $1 / 10}'
	}
	cc=$(cpu "$CTRBOX" run --rm "$img" /bin/true)
	cf=$(cpu unshare -mpfuin --mount-proc /bin/true)
	echo "CPU per lifecycle: ctrbox run --rm ${cc} ms, unshare floor ${cf} ms"
	if [ "$have_runc" = true ]; then
		cr=$(cpu runc --root "$work/runc" run --bundle "$work/bundle" cpu-$$)
		awk -v c="$cc" -v r="$cr" 'BEGIN {printf "CPU per lifecycle: runc run %.1f ms (%.2fx ctrbox)\n", r, r / c}'
	fi
fi

echo "== shim memory with $SHIMS containers running (sleep)"
for ((k = 0; k < SHIMS; k++)); do
	id=$("$CTRBOX" run -d --rm "$img" sleep 600)
	inits+=("$(jq -r .pid "$CTRBOX_STATE/containers/$id/state.json")")
done
sleep 1
rss=0 pss=0 priv=0 n=0
for f in "$CTRBOX_STATE"/containers/*/state.json; do
	s=$(jq -r 'select(.status == "running") | .shim_pid' "$f")
	[ -n "$s" ] || continue
	read -r r p d < <(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_Dirty:/ {d=$2} END {print r, p, d}' \
		"/proc/$s/smaps_rollup")
	rss=$((rss + r)) pss=$((pss + p)) priv=$((priv + d)) n=$((n + 1))
done
awk -v r="$rss" -v p="$pss" -v d="$priv" -v n="$n" 'BEGIN {
	printf "ctrbox shim (%d running): RSS %.0f kB, PSS %.0f kB, private dirty %.0f kB each (mean)\n",
		n, r / n, p / n, d / n
	printf "targets: RSS < 2048 kB, PSS < 300 kB; containerd-shim-runc-v2 measured in issue 5: 13.2 MB RSS, 3.0-4.4 MB PSS (%.0fx less PSS)\n", 3000 / (p / n) }'
# containerd-shim-runc-v2 with as many containers under the private containerd (one shim each,
# containerd's default): the same figures, for the ratio.
if [ "$have_ctr" = true ]; then
	for ((k = 0; k < SHIMS; k++)); do
		ctrd run -d "$cref" "shim-$k" sleep 600 >/dev/null
	done
	sleep 1
	for s in $(ctr_shim_pids); do
		awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' "/proc/$s/smaps_rollup" 2>/dev/null || true
	done | awk -v ours_p="$pss" -v ours_r="$rss" -v n="$n" '{r += $1; p += $2; k++} END {
		if (k) printf "containerd-shim-runc-v2 (%d running): RSS %.0f kB, PSS %.0f kB each (mean); ctrbox shim PSS %.1fx, RSS %.1fx smaller\n",
			k, r / k, p / k, (p / k) / (ours_p / n), (r / k) / (ours_r / n) }'
fi
