#!/usr/bin/env bash
# cxx-headers.sh - every public header compiles on its own as C++17 and as
# C11, and wire.h's layout asserts are evaluated in both languages.
#
# Per header H in impl/include/shmkit/: a translation unit that includes
# only H must pass `g++ -std=c++17 -fsyntax-only -Wall -Wextra -Werror
# -pedantic` and `gcc -std=c11 -fsyntax-only` with the same flags.  Then a
# unit that adds one false SHMK_WIRE_ASSERT must FAIL in both languages, so
# the asserts are live and not compiled away.
#
# r[verify common.headers.cxx]
set -uo pipefail

prog=cxx-headers
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=conformance/checks/check-lib.sh
. "$root/conformance/checks/check-lib.sh"
inc=$root/impl/include
CXX=${CXX:-g++}
CC=${CC:-gcc}
flags=(-fsyntax-only -Wall -Wextra -Werror -pedantic -I"$inc")
passed=0
failed=0

check() {	# name, then the command; prints ok/FAIL with the compiler's output
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		echo "  ok    $name"
		passed=$((passed + 1))
	else
		echo "  FAIL  $name"
		printf '%s\n' "$out" | sed 's/^/        | /' | head -n 20
		failed=$((failed + 1))
	fi
}

refuses() {	# name, then the command: it must fail
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "  FAIL  $name (compiled, but a false layout assert must not)"
		failed=$((failed + 1))
	else
		echo "  ok    $name"
		passed=$((passed + 1))
	fi
}

shopt -s nullglob
headers=("$inc"/shmkit/*.h)
for h in "${headers[@]}"; do
	b=$(basename "$h")
	tu="#include \"shmkit/$b\""
	check "c++17 $b" "$CXX" -std=c++17 "${flags[@]}" -x c++ - <<<"$tu"
	check "c11 $b" "$CC" -std=c11 -D_GNU_SOURCE "${flags[@]}" -x c - <<<"$tu"
done
bad=$'#include "shmkit/wire.h"\nSHMK_WIRE_ASSERT(sizeof(struct shmk_slots_hdr) == 1);'
refuses "c++17 false layout assert" "$CXX" -std=c++17 "${flags[@]}" -x c++ - <<<"$bad"
refuses "c11 false layout assert" "$CC" -std=c11 "${flags[@]}" -x c - <<<"$bad"

if [ ${#headers[@]} -eq 0 ]; then
	echo "$prog: no headers in $inc/shmkit" >&2
	failed=$((failed + 1))
fi
check_finish "$prog" headers cxx17 common.headers.cxx
