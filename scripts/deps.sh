#!/bin/sh
# scripts/deps.sh test|check|bench - installs the Debian packages a target needs and lacks, so that
# `make test` works on a fresh Debian 12 machine with nothing but make and git. apt-get update runs
# at most once, and only when something is missing. Needs root to install; without root it only
# says what is missing.
set -eu
want="gcc libc6-dev make pkg-config git ca-certificates procps util-linux binutils
      libjson-c-dev libyaml-dev libssl-dev libcurl4-openssl-dev libarchive-dev libisal-dev
      libseccomp-dev libcap-dev libreadline-dev runc tmux
      libcmocka-dev bats bats-support bats-assert mandoc jq curl python3 python3-prometheus-client
      docker-registry umoci skopeo busybox-static apache2-utils"
case "${1:-test}" in
test | demo) ;;
check) want="$want clang-tidy cppcheck" ;;
bench) want="$want containerd" ;;
*) echo "deps.sh: unknown target '$1'" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
