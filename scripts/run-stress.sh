#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-stress.sh OUT PROG... - make stress's runner.
#
# Runs each stress program with the environment make gives it, its output
# shown and kept in OUT/stress-logs/<name>.log, and its result record
# appended (by the program, SHMK_STRESS_JSON) to OUT/stress.jsonl.  The
# three lost wake-up hunts (*_wakeup) run side by side, after the others:
# they sleep in their delay points most of the time, so together they
# cover the 10,000,000 round trips in about the time of the slowest one
# alone (the load also preempts them at more varied points).  A program
# that dies without a record gets a "fail" record here, and one that runs
# past STRESS_PROGRAM_TIMEOUT (default 1800 s, far above any program's own
# bound) is killed as hung, so make stress always ends.  Writes
# OUT/stress.json (shmkit.stress/1) and exits 1 if anything failed or if
# the run left anything of the project's behind (scripts/hygiene.sh).
set -u
out=$1
shift
mkdir -p "$out/stress-logs"
rm -f "$out/stress.jsonl"
fail=0
hyg=$(mktemp)
trap 'rm -f "$hyg"' EXIT
"$(dirname "$0")/hygiene.sh" snapshot "$hyg"
limit=${STRESS_PROGRAM_TIMEOUT:-1800}
command -v timeout >/dev/null || { echo "run-stress: timeout is missing (coreutils)" >&2; exit 2; }

run() { # program: runs it under the time limit; 124/137 say it hung
	timeout -k 10 "$limit" "$1"
	local rc=$?
	[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "$(basename "$1"): killed after ${limit} s (STRESS_PROGRAM_TIMEOUT): hung"
	return $rc
}

record_fail() { # name exit-status
	grep -q "\"program\": \"$1\"" "$out/stress.jsonl" 2>/dev/null ||
		echo "{\"program\": \"$1\", \"seed\": null, \"seconds\": 0, \"counts\": {}, \"result\": \"fail\", \"exit\": $2}" \
			>>"$out/stress.jsonl"
	fail=1
}

wake=()
for p in "$@"; do
	n=$(basename "$p")
	case $n in *_wakeup) wake+=("$p"); continue ;; esac
	echo "stress: $n (STRESS_SECONDS=${STRESS_SECONDS:-})"
	run "$p" 2>&1 | tee "$out/stress-logs/$n.log"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || record_fail "$n" "$rc"
done

if [ ${#wake[@]} -gt 0 ]; then
	pids=()
	for p in "${wake[@]}"; do
		n=$(basename "$p")
		echo "stress: $n (side by side with the other wake-up hunts; log shown when all end)"
		run "$p" >"$out/stress-logs/$n.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!wake[@]}"; do
		n=$(basename "${wake[$i]}")
		wait "${pids[$i]}"
		rc=$?
		cat "$out/stress-logs/$n.log"
		[ "$rc" -eq 0 ] || record_fail "$n" "$rc"
	done
fi

{
	printf '{"schema": "shmkit.stress/1", "stress_seconds": %s, "programs": [' "${STRESS_SECONDS:-null}"
	sed '$!s/$/,/' "$out/stress.jsonl" 2>/dev/null
	printf ']}\n'
} >"$out/stress.json"
if command -v jq >/dev/null; then
	jq -e . "$out/stress.json" >/dev/null || fail=1
	# the issue's figure is the hunts' sum, so say it in one line
	jq -r '[.programs[] | select(.program | endswith("_wakeup")) | .counts] |
		select(length > 0) |
		"stress: lost wake-up hunt: \(map(.roundtrips // 0) | add) of \(map(.target // 0) | add) round trips over \(length) programs, \(map(.hangs // 0) | add) hangs, \(map(.bad_replies // 0) | add) bad replies"' \
		"$out/stress.json"
fi
echo "stress: wrote $out/stress.json"
if ! "$(dirname "$0")/hygiene.sh" check "$hyg"; then
	echo "stress: the run left the entries above behind (removed now)"
	fail=1
fi
exit $fail
