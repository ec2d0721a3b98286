#!/usr/bin/env bash
# bench/pull.sh [CTRBOX_BIN] - how fast `ctrbox pull --no-unpack` downloads images from a registry
# on loopback, next to the physical floor (curl of the same blobs, sequential and parallel) and to
# its peers (skopeo copy to an OCI layout; containerd's `ctr content fetch`, and `ctr image pull`
# which also unpacks). `make bench` runs it with the built binary.
#
# Three images: the busybox fixture (1 layer), the layers fixture (6 small layers) and a large
# one-layer image of PULL_BENCH_LARGE_MB (default 600) MB of real files taken from /usr, built
# once with umoci under PULL_BENCH_CACHE (default /var/tmp/ctrbox-bench). Each round runs every
# tool once per image, interleaved, each cold (an empty root, a fresh containerd); the figures are
# medians over PULL_BENCH_ROUNDS (default 3) rounds. The registry serves from the page cache, so
# this measures the clients. MB is 10^6 bytes of blobs as stored (compressed).
#
# Environment: PULL_BENCH_CTRBOX_FLAGS (default "--no-unpack --plain-http"),
# PULL_BENCH_ROUNDS, PULL_BENCH_LARGE_MB, PULL_BENCH_CACHE, PULL_BENCH_NO_CTR=1 to leave out
# containerd.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "${1:-$top/ctrbox}")
rounds=${PULL_BENCH_ROUNDS:-3}
large_mb=${PULL_BENCH_LARGE_MB:-600}
cache=${PULL_BENCH_CACHE:-/var/tmp/ctrbox-bench}
read -r -a ctrbox_flags <<<"${PULL_BENCH_CTRBOX_FLAGS:---no-unpack --plain-http}"

"$top/scripts/deps.sh" bench
# shellcheck source=tests/fixtures/registry.sh
. "$top/tests/fixtures/registry.sh"
for t in skopeo umoci curl jq tar; do
	command -v "$t" >/dev/null || { echo "bench/pull.sh: $t is missing" >&2; exit 1; }
done
have_ctr=0
if [ "${PULL_BENCH_NO_CTR:-}" != 1 ] && command -v containerd >/dev/null && command -v ctr >/dev/null; then
	have_ctr=1
fi
have_ctrbox=0
if [ -x "$bin" ] && "$bin" pull --help >/dev/null 2>&1; then
	have_ctrbox=1
fi

mkdir -p "$cache"
run=$(mktemp -d "$cache/run.XXXXXX")
ctr_pid=
cleanup() {
	[ -n "$ctr_pid" ] && ctr_stop
	registry_stop "$run/registry" || true
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

# --- the images ---------------------------------------------------------------------------------
log "pull bench: fixtures"
"$top/tests/fixtures/images.sh" "$cache/fixtures"

# The large image (the first LARGE_MB of /usr, one gzip layer), built once and shared with the
# other benchmark.
large=$cache/large-$large_mb
"$top/tests/fixtures/large-image.sh" "$large" "$large_mb"

log "pull bench: registry"
# The storage persists in the cache, so a rerun pushes nothing new.
REGISTRY_STORAGE=$cache/registry-storage registry_start "$run/registry"
reg=$(registry_addr "$run/registry")
names=(busybox layers large)
declare -A src=([busybox]="oci:$cache/fixtures/oci:busybox" [layers]="oci:$cache/fixtures/oci:layers"
	[large]="oci:$large/oci:large")
for n in "${names[@]}"; do
	REGISTRY_STORAGE=$cache/registry-storage registry_push "$run/registry" "${src[$n]}" "bench/$n:latest"
done

# blobs NAME: "digest size" of the config and every layer, as the registry serves the manifest.
blobs() {
	curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$reg/v2/bench/$1/manifests/latest" |
		jq -r '(.config, .layers[]) | "\(.digest) \(.size)"'
}

# --- containerd, one per measurement: bench/lib-containerd.sh's ctr_start DIR and ctr_stop -----
# shellcheck source=bench/lib-containerd.sh
. "$top/bench/lib-containerd.sh"

# --- one measurement ----------------------------------------------------------------------------
# measure TOOL NAME: runs TOOL on image NAME cold, appends the seconds to $run/t.NAME.TOOL.
measure() {
	local tool=$1 name=$2 ref=$reg/bench/$2:latest d=$run/m t0 t1 urls=() dg rc=0 got
	rm -rf "$d"
	mkdir -p "$d"
	case $tool in
	curl-seq | curl-par)
		while read -r dg _; do urls+=(-o /dev/null "http://$reg/v2/bench/$name/blobs/$dg"); done \
			< <(blobs "$name")
		;;
	curl-fsync)
		while read -r dg _; do urls+=(-o "$d/${dg#sha256:}" "http://$reg/v2/bench/$name/blobs/$dg"); done \
			< <(blobs "$name")
		;;
	ctr-*) ctr_start "$d/ctr" ;;
	esac
	t0=$EPOCHREALTIME
	case $tool in
	ctrbox)
		: >"$d/config.yaml"
		CTRBOX_CONFIG=$d/config.yaml "$bin" --root "$d/root" --state "$d/state" pull \
			"${ctrbox_flags[@]}" "$ref" >"$d/out" 2>&1 || rc=$?
		;;
	ctrbox-unpack)
		: >"$d/config.yaml"
		CTRBOX_CONFIG=$d/config.yaml "$bin" --root "$d/root" --state "$d/state" pull \
			--plain-http "$ref" >"$d/out" 2>&1 || rc=$?
		;;
	curl-seq) curl -sf --no-progress-meter -w '%{size_download}\n' "${urls[@]}" >"$d/out" || rc=$? ;;
	curl-fsync)
		# The durable floor: the same bytes written to files and flushed, as a pull must.
		{ curl -sf --no-progress-meter -w '%{size_download}\n' "${urls[@]}" >"$d/out" &&
			sync "$d"/*; } || rc=$?
		;;
	curl-par)
		curl -sf --no-progress-meter --parallel --parallel-max 8 -w '%{size_download}\n' \
			"${urls[@]}" >"$d/out" || rc=$?
		;;
	skopeo)
		skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$d/oci:$name" \
			>"$d/out" 2>&1 || rc=$?
		;;
	ctr-fetch)
		ctr --address "$ctr_sock" content fetch --plain-http "$ref" >"$d/out" 2>&1 || rc=$?
		;;
	ctr-pull)
		ctr --address "$ctr_sock" image pull --plain-http "$ref" >"$d/out" 2>&1 || rc=$?
		;;
	esac
	t1=$EPOCHREALTIME
	[ -n "$ctr_pid" ] && ctr_stop
	if [ "$rc" -ne 0 ]; then
		log "bench/pull.sh: $tool on $ref failed ($rc):"
		[ -f "$d/out" ] && tail -n 20 "$d/out" >&2
		[ -f "$d/ctr/containerd.log" ] && tail -n 20 "$d/ctr/containerd.log" >&2
		exit 1
	fi
	# Each tool must have fetched every byte: curl says so, the others wrote at least as much.
	case $tool in
	curl-*) got=$(awk '{ s += $1 } END { print s }' "$d/out") ;;
	*) got=$(du -sb "$d" | cut -f1) ;;
	esac
	if [ "$got" -lt "${bytes[$name]}" ]; then
		log "bench/pull.sh: $tool on $ref got $got bytes of ${bytes[$name]}"
		exit 1
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }' >>"$run/t.$name.$tool"
	rm -rf "$d"
}

median() { # FILE
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A bytes=()
for n in "${names[@]}"; do
	bytes[$n]=$(blobs "$n" | awk '{ s += $2 } END { print s }')
done

tools=()
[ "$have_ctrbox" = 1 ] && tools+=(ctrbox ctrbox-unpack)
tools+=(curl-seq curl-par curl-fsync skopeo)
[ "$have_ctr" = 1 ] && tools+=(ctr-fetch ctr-pull)

for ((r = 1; r <= rounds; r++)); do
	log "pull bench: round $r/$rounds"
	for n in "${names[@]}"; do
		for t in "${tools[@]}"; do
			measure "$t" "$n"
		done
	done
done

# --- the report ---------------------------------------------------------------------------------
declare -A label=([ctrbox]="ctrbox pull ${ctrbox_flags[*]}" [ctrbox-unpack]="ctrbox pull (+unpack)"
	[curl-seq]="curl, sequential" [curl-fsync]="curl to files + fsync (floor)"
	[curl-par]="curl, parallel (8)" [skopeo]="skopeo copy to oci:" [ctr-fetch]="ctr content fetch"
	[ctr-pull]="ctr image pull (+unpack)")
ratio() { # A B -> A/B or n/a
	if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
	else printf 'n/a'; fi
}
echo "pull bench: $rounds rounds, cold, registry on loopback ($(nproc) cores); median seconds, MB/s"
for n in "${names[@]}"; do
	b=${bytes[$n]}
	nlayers=$(($(blobs "$n" | wc -l) - 1))
	printf '\n%s: %d layer(s), %.1f MB of blobs\n' "$n" "$nlayers" "$(awk -v b="$b" 'BEGIN { print b / 1e6 }')"
	declare -A med=()
	for t in ctrbox ctrbox-unpack curl-seq curl-par curl-fsync skopeo ctr-fetch ctr-pull; do
		if [ -f "$run/t.$n.$t" ]; then
			med[$t]=$(median "$run/t.$n.$t")
			printf '  %-34s %9.3f s %9.1f MB/s   (min %.3f, max %.3f)\n' "${label[$t]}" "${med[$t]}" \
				"$(awk -v b="$b" -v s="${med[$t]}" 'BEGIN { print b / 1e6 / s }')" \
				"$(sort -g "$run/t.$n.$t" | head -n 1)" "$(sort -g "$run/t.$n.$t" | tail -n 1)"
		elif [ "$t" = ctrbox ] || [ "$t" = ctrbox-unpack ]; then
			printf '  %-34s n/a (pull not built)\n' "${label[$t]}"
		elif [ "$t" = ctr-fetch ] || [ "$t" = ctr-pull ]; then
			printf '  %-34s n/a (containerd not installed)\n' "${label[$t]}"
		fi
	done
	floor=${med[curl-par]:-}
	if [ -n "${med[curl-seq]:-}" ] && awk -v a="${med[curl-seq]}" -v b="${floor}" 'BEGIN { exit !(a < b) }'; then
		floor=${med[curl-seq]}
	fi
	printf '  ratios: ctrbox/curl %s  ctrbox/durable-floor %s  skopeo/ctrbox %s  ctr-fetch/ctrbox %s  ctr-pull/ctrbox-pull+unpack %s\n' \
		"$(ratio "${med[ctrbox]:-}" "$floor")" "$(ratio "${med[ctrbox]:-}" "${med[curl-fsync]:-}")" \
		"$(ratio "${med[skopeo]:-}" "${med[ctrbox]:-}")" \
		"$(ratio "${med[ctr-fetch]:-}" "${med[ctrbox]:-}")" \
		"$(ratio "${med[ctr-pull]:-}" "${med[ctrbox-unpack]:-}")"
	unset med
done
