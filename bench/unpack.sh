#!/usr/bin/env bash
# bench/unpack.sh [CTRBOX_BIN] - how fast `ctrbox unpack` applies layers (DESIGN.md lesson 2,
# issue 4 "Benchmark"), beside, in the same run: `tar -xzf` of the same layer blobs one after the
# other into one directory (the single-core floor: no whiteouts, no digest) and `umoci unpack` of
# the same image. Three images: the busybox fixture (1 layer), the layers fixture (6 small
# layers) and the large one-layer image of UNPACK_BENCH_LARGE_MB (default 600) MB of /usr that
# bench/pull.sh builds, built here the same way when missing, under UNPACK_BENCH_CACHE (default
# /var/tmp/ctrbox-bench).
#
# The images are imported into a ctrbox content store once (pull --no-unpack from the OCI
# layout); each ctrbox measurement then starts with no snapshots. Rounds are interleaved (each
# round runs every tool on every image) because writeback makes single runs noisy; before each
# measurement the page cache is left warm with the blobs but dirty pages are written out (sync,
# outside the timing) so no tool pays for another's writeback. Figures are medians over
# UNPACK_BENCH_ROUNDS (default 3); MB/s is 10^6 bytes of uncompressed layer data per second.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "${1:-$top/ctrbox}")
rounds=${UNPACK_BENCH_ROUNDS:-3}
large_mb=${UNPACK_BENCH_LARGE_MB:-600}
cache=${UNPACK_BENCH_CACHE:-/var/tmp/ctrbox-bench}

for t in umoci tar jq; do
	command -v "$t" >/dev/null || { echo "bench/unpack.sh: $t is missing" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "bench/unpack.sh: $bin is not built" >&2; exit 1; }

log() { printf '%s\n' "$*" >&2; }

mkdir -p "$cache"
run=$(mktemp -d "$cache/unpack-run.XXXXXX")
trap 'rm -rf "$run"' EXIT
trap 'exit 130' INT TERM

log "unpack bench: fixtures"
"$top/tests/fixtures/images.sh" "$cache/fixtures"

# The large image (the first LARGE_MB of /usr, one gzip layer), built once and shared with the
# other benchmark.
large=$cache/large-$large_mb
"$top/tests/fixtures/large-image.sh" "$large" "$large_mb"

names=(busybox layers large)
declare -A layout=([busybox]="$cache/fixtures/oci" [layers]="$cache/fixtures/oci" [large]="$large/oci")

# The store every ctrbox measurement unpacks from.
store=$run/store
: >"$run/config.yaml"
cb() { CTRBOX_CONFIG=$run/config.yaml "$bin" --root "$store/root" --state "$store/state" "$@"; }
declare -A ref=() bytes=() blobs=()
for n in "${names[@]}"; do
	ref[$n]=$(cb pull -q --no-unpack "oci:${layout[$n]}:$n")
	# The layer blobs in order, for tar.
	m=$(jq -r --arg t "$n" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"${layout[$n]}/index.json")
	blobs[$n]=$(jq -r '.layers[].digest' "${layout[$n]}/blobs/sha256/${m#sha256:}" |
		sed "s|^sha256:|${layout[$n]}/blobs/sha256/|" | tr '\n' ' ')
	bytes[$n]=$(cb unpack --format json "${ref[$n]}" | jq -r '.[0].unpacked_bytes')
	rm -rf "$store/root/snapshots"
done

# measure TOOL NAME: one cold run, seconds appended to $run/t.NAME.TOOL.
measure() {
	local tool=$1 name=$2 d=$run/m t0 t1 b
	rm -rf "$d" "$store/root/snapshots"
	mkdir -p "$d"
	sync
	t0=$EPOCHREALTIME
	case $tool in
	tar) for b in ${blobs[$name]}; do tar -xzf "$b" -C "$d"; done ;;
	ctrbox) cb unpack -q "${ref[$name]}" >/dev/null ;;
	umoci) umoci unpack --image "${layout[$name]}:$name" "$d/bundle" >/dev/null 2>&1 ;;
	esac
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }' >>"$run/t.$name.$tool"
	rm -rf "$d" "$store/root/snapshots"
}

median() { # FILE
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

tools=(tar ctrbox umoci)
for ((r = 1; r <= rounds; r++)); do
	log "unpack bench: round $r/$rounds"
	for n in "${names[@]}"; do
		for t in "${tools[@]}"; do
			measure "$t" "$n"
		done
	done
done

declare -A label=([tar]="tar -xzf, layers in order" [ctrbox]="ctrbox unpack" [umoci]="umoci unpack")
echo "unpack bench: $rounds rounds, interleaved, blobs in the page cache ($(nproc) cores); median seconds, MB/s uncompressed"
for n in "${names[@]}"; do
	b=${bytes[$n]}
	printf '\n%s: %d layer(s), %.1f MB uncompressed\n' "$n" "$(wc -w <<<"${blobs[$n]}")" \
		"$(awk -v b="$b" 'BEGIN { print b / 1e6 }')"
	declare -A med=()
	for t in "${tools[@]}"; do
		med[$t]=$(median "$run/t.$n.$t")
		printf '  %-28s %9.3f s %9.1f MB/s   (min %.3f, max %.3f)\n' "${label[$t]}" "${med[$t]}" \
			"$(awk -v b="$b" -v s="${med[$t]}" 'BEGIN { print b / 1e6 / s }')" \
			"$(sort -g "$run/t.$n.$t" | head -n 1)" "$(sort -g "$run/t.$n.$t" | tail -n 1)"
	done
	printf '  ratios: ctrbox/tar %s  umoci/ctrbox %s\n' \
		"$(awk -v a="${med[ctrbox]}" -v b="${med[tar]}" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v a="${med[umoci]}" -v b="${med[ctrbox]}" 'BEGIN { printf "%.2f", a / b }')"
	unset med
done
