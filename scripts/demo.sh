#!/usr/bin/env bash
# scripts/demo.sh BIN - the offline tour (make demo): a loopback registry seeded with a locally built
# image, then pull, run, ps, relist, events and diagnose. Everything runs
# in a scratch ROOT/STATE that is removed at the end; nothing touches /var/lib/ctrbox.
set -eu
bin=${1:-$PWD/ctrbox}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ctrbox-demo.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export CTRBOX_ROOT=$scratch/root CTRBOX_STATE=$scratch/state CTRBOX_CONFIG=$scratch/config.yaml

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
show() { step "ctrbox $*"; "$bin" "$@" || echo "(exit $?)"; }

cat >"$CTRBOX_CONFIG" <<YAML
# the demo's config: journal limits small enough to see rotation
events:
  rotate_size: 64KiB
  max_size: 1MiB
  max_age: 7d
YAML

show --version
show --list
show help
show info
show info --format json
step "ctrbox __complete info --format ''   # what bash completion asks"
"$bin" __complete info --format ''

step "a config error names the file, line and column"
printf 'events:\n  rotate_sise: 1MiB\n' >"$CTRBOX_CONFIG"
"$bin" info || echo "(exit $?)"
: >"$CTRBOX_CONFIG"
step "an unknown applet or option gets a suggestion"
"$bin" inf || echo "(exit $?)"
"$bin" info --formt json || echo "(exit $?)"

# The main job, offline: a loopback registry seeded with an image built here from Debian's
# busybox-static (umoci, pushed with skopeo), then pull, run, ps, events and diagnose.
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/fixtures/registry.sh
. "$top/tests/fixtures/registry.sh"
step "build a busybox image with umoci and push it to a registry on loopback"
"$top/tests/fixtures/images.sh" "$scratch/fixtures" >/dev/null
registry_start "$scratch/registry" >/dev/null
trap 'registry_stop "$scratch/registry" >/dev/null 2>&1; rm -rf "$scratch"' EXIT
reg=$(registry_addr "$scratch/registry")
registry_push "$scratch/registry" "oci:$scratch/fixtures/oci:busybox" demo/busybox:latest >/dev/null
echo "registry $reg serves demo/busybox:latest"
show pull "$reg/demo/busybox:latest"
show images
if [ "$(id -u)" -eq 0 ]; then
	# A short STATE keeps the shim's attach socket path within the kernel's limit.
	export CTRBOX_STATE=$scratch/s
	show run --rm "$reg/demo/busybox:latest" sh -c 'echo hello from $(hostname); id'
	show run -d --name demo-sleeper "$reg/demo/busybox:latest" sleep 300
	show ps
	show relist
	show stop -t 1s demo-sleeper
	show ps -a
	show rm demo-sleeper
else
	echo "(run, ps and relist need root: skipped)"
fi
show events
show events --stats --by reason
show diagnose --check pressure --check disk --check fsync --check overlay
