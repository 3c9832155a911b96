#!/usr/bin/env bash
# shared-check.sh - the tool as a shared-library user: build/bin/shmkit-shared
# (the CLI linked against build/lib/libshmkit.so, which hides every internal
# symbol) must load that library and pass the cli tests that read objects
# (inspect of each kind, bad files, ls), run by the variant's cli test
# program with SHMKIT_BIN pointing at it.
# Prints PASS/FAIL lines and `cli-shared: N passed, N failed, N skipped`.
set -uo pipefail

prog=cli-shared
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
variant=${SHMK_VARIANT:-${V:-check}}
tool=$root/build/bin/shmkit-shared
tests=$root/build/$variant/tests/cli

for f in "$tool" "$tests"; do
	[ -x "$f" ] || { echo "$prog: missing $f (make check-build)" >&2; exit 1; }
done

passed=0 failed=0
# the library it loads is the one the build made (through the rpath)
# (the path may hold spaces: everything between "=> " and the load address)
loaded=$(ldd "$tool" | sed -nE 's/^[[:space:]]*libshmkit\.so\.0 => (.+) \(0x[0-9a-f]+\)$/\1/p')
if [ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$root/build/lib/libshmkit.so.0")" ]; then
	echo "PASS $prog/links_shared"
	passed=$((passed + 1))
else
	echo "FAIL $prog/links_shared $(basename "$0"):0: $(ldd "$tool" | grep -c shmkit) libshmkit lines in ldd"
	failed=$((failed + 1))
fi
for t in inspect_events inspect_ring inspect_slots bad_files ls; do
	out=$(SHMKIT_BIN=$tool "$tests" "cli/$t" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^PASS cli/$t" <<<"$out"; then
		echo "PASS $prog/$t"
		passed=$((passed + 1))
	else
		echo "FAIL $prog/$t $(basename "$0"):0: exit $rc; $(grep -E '^(FAIL|SKIP) ' <<<"$out" | head -n 3 | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
done
echo "$prog: $passed passed, $failed failed, 0 skipped"
[ $failed -eq 0 ]
