#!/usr/bin/env bash
# exports.sh - libshmkit.so exports the public API and nothing else.
#
# Every symbol the shared library defines in its dynamic table must begin
# with shmk_ (not shmk__, the internal prefix) and be named in a public
# header (impl/include/shmkit/*.h).  The checker is first run on a planted
# library that exports one internal and one undeclared name, and must
# refuse it, so a checker that passes everything fails here.
#
# r[verify common.abi.exports]
set -uo pipefail

prog=exports
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=conformance/checks/check-lib.sh
. "$root/conformance/checks/check-lib.sh"
lib=${SHMK_SO:-$root/build/lib/libshmkit.so}
CC=${CC:-gcc}
passed=0
failed=0

# Prints every defined dynamic symbol of $1 that is not public API.
offenders() {
	local sym
	nm -D --defined-only "$1" | awk '{ print $NF }' | while read -r sym; do
		case $sym in
		shmk__*) echo "$sym (internal prefix)" ;;
		shmk_*) grep -qw -- "$sym" "$root"/impl/include/shmkit/*.h ||
			echo "$sym (in no public header)" ;;
		*) echo "$sym (no shmk_ prefix)" ;;
		esac
	done
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmk-exports.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf 'int shmk__planted(void) { return 0; }\nint shmk_planted_undeclared(void) { return 1; }\n' \
	>"$tmp/planted.c"
if ! "$CC" -shared -fPIC -o "$tmp/planted.so" "$tmp/planted.c"; then
	echo "  FAIL  cannot build the planted library"
	failed=$((failed + 1))
elif [ "$(offenders "$tmp/planted.so" | wc -l)" -ne 2 ]; then
	echo "  FAIL  planted library: the checker did not name both planted exports"
	offenders "$tmp/planted.so" | sed 's/^/        | /'
	failed=$((failed + 1))
else
	echo "  ok    planted library refused (2 offenders)"
	passed=$((passed + 1))
fi

if [ ! -f "$lib" ]; then
	echo "  FAIL  $lib: not built"
	failed=$((failed + 1))
else
	bad=$(offenders "$lib")
	n=$(nm -D --defined-only "$lib" | wc -l)
	if [ -n "$bad" ]; then
		echo "  FAIL  libshmkit.so exports what no public header declares:"
		printf '%s\n' "$bad" | sed 's/^/        | /'
		failed=$((failed + 1))
	elif [ "$n" -eq 0 ]; then
		echo "  FAIL  libshmkit.so exports nothing"
		failed=$((failed + 1))
	else
		echo "  ok    libshmkit.so: $n symbols, all public API"
		passed=$((passed + 1))
	fi
fi
check_finish "$prog" abi exports common.abi.exports
