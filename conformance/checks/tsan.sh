#!/usr/bin/env bash
# tsan.sh - run the ThreadSanitizer builds of conformance/stress/*_tsan.c
# (built by conformance/checks/tsan.mk under build/tsan/stress/).  Any TSan
# report fails the program (halt_on_error=1, exit code 66); each program's
# own checks must pass too.  Args: the binaries (default: all built ones).
# Prints `tsan: N passed, N failed, N skipped`.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(build/tsan/stress/*_tsan)
# TSan runs these 5-15x slower, so on a loaded 2-vCPU machine a writer can be
# preempted holding the ring's lock past the 1 s default liveness bound and
# the others get SHMK_EBUSY; races, not that bound, are what these check.
export SHMK_LIVENESS_MS=${SHMK_LIVENESS_MS:-10000}
# (quoted: the checkout's path may hold spaces)
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions='$PWD/conformance/checks/tsan.supp'${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
pass=0 fail=0 skip=0
for b in "${bins[@]}"; do
	if [ ! -x "$b" ]; then
		echo "tsan: $b missing (make tsan builds it)"; fail=$((fail + 1)); continue
	fi
	out=$("$b" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -v '^seed:' | sed "s|^|  |"
	if [ $rc -eq 66 ] || printf '%s' "$out" | grep -q 'WARNING: ThreadSanitizer'; then
		echo "tsan: $(basename "$b"): ThreadSanitizer report (exit $rc)"; fail=$((fail + 1))
	elif [ $rc -ne 0 ]; then
		echo "tsan: $(basename "$b"): failed (exit $rc)"; fail=$((fail + 1))
	else
		echo "tsan: $(basename "$b"): 0 reports"; pass=$((pass + 1))
	fi
done
echo "tsan: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
