#!/usr/bin/env bash
# scripts/demo.sh BIN - the offline tour of what ctrbox can do today (make demo). Everything runs
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
echo
echo "pull, run, ps, events and diagnose join this tour as they land (see README.md)."
