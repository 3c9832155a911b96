#!/usr/bin/env bash
# Installs the Debian packages shmkit needs that are missing; quiet when all
# are present.  Runs `apt-get update` once, only when something is missing.
set -euo pipefail

PKGS=(gcc g++ make libcunit1-dev libbenchmark-dev hyperfine jq python3 libxml2-utils clang-14
      libfuzzer-14-dev libclang-rt-14-dev libck-dev gnuplot-nox spin strace
      util-linux iceoryx libiceoryx-binding-c-dev)

missing=()
for p in "${PKGS[@]}"; do
	# dpkg-query's status is the truth; `dpkg -s` also accepts removed-but-configured.
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
	echo "deps.sh: run as root:  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
