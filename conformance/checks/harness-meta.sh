#!/usr/bin/env bash
# harness-meta.sh - the test runner and harness proved on deliberately bad programs.
#
# Runs scripts/run-tests.sh over the five fixture programs of
# conformance/harness/fixtures/ (a failing child assertion, a SIGSEGV, a hang
# past the deadline, a raw fork whose child returns into CUnit, a UBSan
# report) and over three bad scripts (a crash, a timeout, a failure with no
# summary line), and checks that every one is counted as failed, that the
# runner exits non-zero, and what check.json says.  Prints harness-style
# PASS/FAIL lines and `harness-meta: N passed, N failed, N skipped`, and
# appends evidence lines to $SHMK_EVIDENCE.
#
# Then plants a leak (an entry in /dev/shm, in /tmp and in a flink directory)
# and checks that the runner's --hygiene check fails naming each one.
#
# r[verify harness.run.summary] r[verify harness.run.json] r[verify harness.isolate.crash]
# r[verify harness.isolate.timeout] r[verify harness.isolate.return] r[verify harness.isolate.ship]
# r[verify harness.run.hygiene]
set -uo pipefail

prog=harness-meta
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
variant=${SHMK_VARIANT:-${V:-check}}
evidence=${SHMK_EVIDENCE:-$root/reports/out/evidence.jsonl}
passed=0 failed=0 skipped=0

# without UBSan (the cov and tsan variants) the ubsan fixture passes, so it
# counts only in check; the other four fail in every variant
fixture_names="child_assert child_returns crash hang"
[ "$variant" = check ] && fixture_names="$fixture_names ubsan"
fx=$root/build/$variant/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The fixtures that crash or hang die before their harness removes its
# temporary directory: keep those under $tmp (searchable, so the harness
# takes it as TMPDIR), which this script removes.
chmod 0755 "$tmp"
export TMPDIR=$tmp

evid() {	# clause result
	mkdir -p "$(dirname "$evidence")"
	jq -cn --arg p "$prog" --arg t "$1" --arg c "$2" --arg r "$3" \
		'{program: $p, suite: "meta", test: $t, clause: $c, result: $r}' >>"$evidence"
}
check() {	# name clause... -- command...
	local name=$1 clauses=()
	shift
	while [ "$1" != -- ]; do clauses+=("$1"); shift; done
	shift
	local r=pass
	if "$@" >"$tmp/why" 2>&1; then
		echo "PASS meta/$name"
		passed=$((passed + 1))
	else
		r=fail
		echo "FAIL meta/$name $(basename "$0"):0: $(tr '\n' ' ' <"$tmp/why")"
		failed=$((failed + 1))
	fi
	for c in "${clauses[@]}"; do evid "$name" "$c" "$r"; done
}

# ------------------------------------------------------------ the five fixtures
fixtures=()
for f in $fixture_names; do
	fixtures+=("$fx/$f")
done
nfx=${#fixtures[@]}
missing=0
for f in "${fixtures[@]}"; do
	[ -x "$f" ] || { echo "harness-meta: missing fixture $f (make check-build)" >&2; missing=1; }
done
# The three runner runs (the fixtures; the dead scripts; the hygiene pair)
# are independent - each has its own --out and output file, the hygiene
# pair its own HYGIENE_* and flink directories - and mostly wait (a hang
# past its deadline, a 1 s timeout): they run side by side, started here,
# and each is checked below once it has ended, in the order a serial run
# would check them.
"$root/scripts/run-tests.sh" --out "$tmp/out" "${fixtures[@]}" >"$tmp/stdout1" 2>&1 &
pid1=$!

# ------------------------------------------------------------ programs that die without counts
printf '#!/bin/sh\necho "about to crash"\nkill -SEGV $$\n' >"$tmp/crashes.sh"
printf '#!/bin/sh\nexec sleep 600\n' >"$tmp/sleeps.sh"
printf '#!/bin/sh\necho "no summary here"\nexit 3\n' >"$tmp/fails.sh"
printf '#!/bin/sh\necho "x: 2 passed, 0 failed, 0 skipped"\n' >"$tmp/passes.sh"
chmod +x "$tmp"/*.sh
TEST_TIMEOUT=1 "$root/scripts/run-tests.sh" --out "$tmp/out2" \
	"$tmp/crashes.sh" "$tmp/sleeps.sh" "$tmp/fails.sh" "$tmp/passes.sh" >"$tmp/stdout2" 2>&1 &
pid2=$!

# ------------------------------------------------------------ hygiene: a planted leak
# The check looks at directories of its own (HYGIENE_*), so another run on
# the machine cannot add to what it finds; names carry no pid, so no live
# process can claim them.
tag=x$RANDOM$RANDOM
mkdir -m 0700 "$tmp/flinks" "$tmp/shm" "$tmp/tmpd"
leaks=("$tmp/shm/shmk-planted-$tag" "$tmp/tmpd/shmk-planted-$tag" "$tmp/flinks/shmk-planted-$tag.flink")
printf '#!/bin/sh\n: > "%s"\nmkdir "%s"\n: > "%s"\necho "leaks: 1 passed, 0 failed, 0 skipped"\n' \
	"${leaks[@]}" >"$tmp/leaks.sh"
printf '#!/bin/sh\necho "clean: 1 passed, 0 failed, 0 skipped"\n' >"$tmp/clean.sh"
chmod +x "$tmp/leaks.sh" "$tmp/clean.sh"
(
	export HYGIENE_SHM_DIR=$tmp/shm HYGIENE_TMP_DIRS=$tmp/tmpd SHMK_SLOTS_DIR=$tmp/flinks
	"$root/scripts/run-tests.sh" --hygiene --out "$tmp/out3" "$tmp/leaks.sh" >"$tmp/stdout3" 2>&1
	echo $? >"$tmp/rc3"
	"$root/scripts/run-tests.sh" --hygiene --out "$tmp/out4" "$tmp/clean.sh" >"$tmp/stdout4" 2>&1
	echo $? >"$tmp/rc4"
	rm -rf "${leaks[@]}"
) &
pid3=$!

wait $pid1
rc=$?
cp "$tmp/stdout1" "$tmp/stdout"

last_line_is() { # want
	local got
	got=$(tail -n 1 "$tmp/stdout")
	[ "$got" = "$1" ] || { echo "last line: '$got', want '$1'"; return 1; }
}
nonzero() { [ "$1" -ne 0 ] || { echo "exit status 0"; return 1; }; }
fixture_json() {
	jq -e --argjson n "$nfx" '
		.schema == "shmkit.check/1" and (.programs | length) == $n and .result == "fail"
		and .totals == {passed: 0, failed: $n, skipped: 0, programs: $n, programs_failed: $n}
		and all(.programs[];
			.result == "fail" and .exit == 1 and .counts.failed == 1
			and (.wall_ms | type) == "number" and .wall_ms >= 0
			and (.tests | length) == 1 and .tests[0].result == "fail"
			and (.tests[0].failures[0] | test("^[^ :]+:[0-9]+: .")))
	' "$tmp/out/check.json" >/dev/null || { echo "check.json: $(jq -c '.totals' "$tmp/out/check.json" 2>&1)"; return 1; }
}
failure_says() { # program regex
	jq -e --arg p "$1" --arg re "$2" \
		'.programs[] | select(.name == $p) | .tests[0].failures | any(test($re))' \
		"$tmp/out/check.json" >/dev/null || { echo "$1: no failure matching /$2/"; return 1; }
}
kinds() {
	failure_says child_assert '1 == 2$' && failure_says crash 'killed by SIGSEGV' &&
		failure_says hang 'timed out after [0-9]+s' &&
		failure_says child_returns 'returned from fixture/child_returns into CUnit' &&
		{ [ "$variant" != check ] || failure_says ubsan 'killed by SIGABRT|exited with status'; }
}

check fixtures_present harness.run.summary -- test $missing -eq 0
check fixtures_last_line harness.run.summary -- last_line_is "check: 0 passed, $nfx failed, 0 skipped"
check fixtures_exit_status harness.run.summary -- nonzero $rc
check fixtures_check_json harness.run.json -- fixture_json
check fixtures_failure_kinds harness.isolate.ship harness.isolate.crash harness.isolate.timeout \
	harness.isolate.return -- kinds

# ------------------------------------------------------------ the dead scripts' run
wait $pid2
rc=$?
cp "$tmp/stdout2" "$tmp/stdout"
dead_json() {
	jq -e '
		[.programs[] | {name, result, f: .counts.failed, p: .counts.passed}]
		== [{name: "crashes", result: "crash", f: 1, p: 0},
		    {name: "sleeps", result: "timeout", f: 1, p: 0},
		    {name: "fails", result: "fail", f: 1, p: 0},
		    {name: "passes", result: "pass", f: 0, p: 2}]
	' "$tmp/out2/check.json" >/dev/null ||
		{ echo "programs: $(jq -c '[.programs[] | {name, result, exit}]' "$tmp/out2/check.json" 2>&1)"; return 1; }
}
check dead_programs_last_line harness.run.summary -- last_line_is "check: 2 passed, 3 failed, 0 skipped"
check dead_programs_exit_status harness.run.summary -- nonzero $rc
check dead_programs_json harness.run.json -- dead_json

# ------------------------------------------------------------ the hygiene pair
wait $pid3
rc3=$(cat "$tmp/rc3" 2>/dev/null || echo 255)
rc4=$(cat "$tmp/rc4" 2>/dev/null || echo 255)
leak_named() {
	local l
	for l in "${leaks[@]}"; do
		grep -qxF "    hygiene: leftover $l" "$tmp/stdout3" || { echo "not named: $l"; return 1; }
	done
	jq -e '.programs[-1] | .name == "hygiene" and .result == "fail"' "$tmp/out3/check.json" \
		>/dev/null || { echo "check.json has no failed hygiene entry"; return 1; }
}
clean_passes() {
	[ $rc4 -eq 0 ] && [ "$(tail -n 1 "$tmp/stdout4")" = "check: 2 passed, 0 failed, 0 skipped" ] ||
		{ echo "clean run: exit $rc4, $(tail -n 1 "$tmp/stdout4")"; return 1; }
}
check hygiene_leak_fails harness.run.hygiene -- nonzero $rc3
check hygiene_leak_last_line harness.run.hygiene -- \
	eval '[ "$(tail -n 1 "$tmp/stdout3")" = "check: 1 passed, 1 failed, 0 skipped" ]'
check hygiene_leak_named harness.run.hygiene -- leak_named
check hygiene_clean_passes harness.run.hygiene -- clean_passes

if [ $failed -gt 0 ]; then
	echo "  runner output of the last run:"
	sed 's/^/    | /' "$tmp/stdout"
fi
echo "$prog: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
