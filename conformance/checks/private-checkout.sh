#!/usr/bin/env bash
# private-checkout.sh - the tests that drop privileges, run from a build that
# only root can reach and with a private TMPDIR, as in a clone under /root.
#
# Copies the test programs that drop to uid 65534 (and the shmkit tool the
# cli test runs) into "<0700 dir>/a checkout with spaces/build/<V>/...",
# sets TMPDIR to another 0700 directory and runs them there.  As root every
# one must pass without a skip; as another user the check is skipped (77).
# Prints PASS/FAIL lines and `private-checkout: N passed, N failed, N skipped`.
set -uo pipefail

prog=private-checkout
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
variant=${SHMK_VARIANT:-${V:-check}}
vb=$root/build/$variant

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP $prog/all: needs root to drop privileges"
	echo "$prog: 0 passed, 0 failed, 1 skipped"
	exit 77
fi

priv=$(mktemp -d)	# 0700: only root can reach what is below
trap 'rm -rf "$priv"' EXIT
co="$priv/a checkout with spaces/build/$variant"
mkdir -p "$co/tests" "$co/bin" "$priv/tmp"
chmod 0700 "$priv/tmp"
for t in shm mmap_region common reliability cli harness; do
	cp "$vb/tests/$t" "$co/tests/" || { echo "$prog: missing $vb/tests/$t (make check-build)" >&2; exit 1; }
done
cp "$vb/bin/shmkit" "$co/bin/" || exit 1

passed=0 failed=0
# program [filter]: every test must pass, none may skip
run() {
	local name=$1${2:+ $2} out
	out=$(cd "$priv" && TMPDIR="$priv/tmp" "$co/tests/$1" ${2:+"$2"} 2>&1)
	local rc=$?
	if [ $rc -eq 0 ] && ! grep -q '^SKIP ' <<<"$out" && grep -q '^PASS ' <<<"$out"; then
		echo "PASS $prog/$1${2:+:$2}"
		passed=$((passed + 1))
	else
		echo "FAIL $prog/$1${2:+:$2} $(basename "$0"):0: exit $rc; $(grep -E '^(FAIL|SKIP) ' <<<"$out" | head -n 3 | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
}
run shm
run mmap_region
run common
run reliability
run cli cli/gc_unreadable
run harness proc/drop_privileges
run harness run/tmpdir_reachable

# nothing of the run may be left in the private TMPDIR either
if [ -z "$(ls -A "$priv/tmp")" ]; then
	echo "PASS $prog/private_tmpdir_clean"
	passed=$((passed + 1))
else
	echo "FAIL $prog/private_tmpdir_clean $(basename "$0"):0: left $(ls -A "$priv/tmp" | tr '\n' ' ')"
	failed=$((failed + 1))
fi
echo "$prog: $passed passed, $failed failed, 0 skipped"
[ $failed -eq 0 ]
