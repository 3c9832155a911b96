#!/usr/bin/env bash
# run-tests.sh - run test programs one after another and summarise them.
#
#   scripts/run-tests.sh [--variant V] [--out DIR] [--hygiene] PROG...
#
# Each PROG (a CUnit program built on conformance/harness, or a script) runs
# under `timeout -k 5 $TEST_TIMEOUT` (default 600 s) with its output in
# DIR/logs/<name>.log.  The environment every program gets:
#   ASAN_OPTIONS   abort_on_error=1:detect_leaks=1 (then the caller's own)
#   UBSAN_OPTIONS  halt_on_error=1:print_stacktrace=1 (then the caller's own)
#   SHMK_TIME_SCALE  3 for --variant check unless already set
#   SHMK_EVIDENCE  DIR/evidence.jsonl (truncated here, appended by programs)
#   SHMK_VARIANT   the variant
# A program's counts come from its last `<prog>: N passed, N failed, N
# skipped` line; without one it counts as 1 passed (exit 0), 1 skipped
# (exit 77) or 1 failed.  A program that failed, crashed or timed out counts
# as at least one failed test.  Writes DIR/check.json (schema shmkit.check/1,
# reports/schema/check.md) and DIR/junit.xml (scripts/junit.py, validated
# against reports/schema/junit.xsd: one that does not validate fails the
# run), prints one status line per program and ends with
# exactly one line `check: N passed, N failed, N skipped`; exits 1 when any
# program failed, crashed or timed out, 2 on a usage error.
# --hygiene: snapshot /tmp, $TMPDIR, /dev/shm and the flink directory before
# the first program and, after the last, count one more test, `hygiene`,
# that fails naming every entry the run left behind (scripts/hygiene.sh).
#
# r[impl harness.run.summary] r[impl harness.run.json]
set -uo pipefail

variant=check
out=reports/out
hygiene=0

usage() {
	echo "usage: $0 [--variant V] [--out DIR] [--hygiene] PROG..." >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--variant) [ $# -ge 2 ] || usage; variant=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--hygiene) hygiene=1; shift ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
command -v jq >/dev/null || { echo "run-tests: jq is missing (run scripts/deps.sh)" >&2; exit 2; }
command -v timeout >/dev/null || { echo "run-tests: timeout is missing (coreutils)" >&2; exit 2; }

mkdir -p "$out/logs" || exit 2
out=$(cd "$out" && pwd)
rm -f "$out"/logs/*.log
evidence=$out/evidence.jsonl
: >"$evidence"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export SHMK_EVIDENCE=$evidence
export SHMK_VARIANT=$variant
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
if [ "$variant" = check ] && [ -z "${SHMK_TIME_SCALE:-}" ]; then
	export SHMK_TIME_SCALE=3
fi
limit=${TEST_TIMEOUT:-600}

# Wall time from CLOCK_MONOTONIC (perl's Time::HiRes); the realtime clock
# only when perl cannot, and check.json says which.
if perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 1 2>/dev/null; then
	clock=monotonic
	now_ms() { perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 'printf "%d\n", clock_gettime(CLOCK_MONOTONIC) * 1000'; }
else
	clock=realtime
	now_ms() { echo $(($(date +%s%N) / 1000000)); }
fi

hygiene_sh=$(dirname "${BASH_SOURCE[0]}")/hygiene.sh
[ $hygiene = 1 ] && "$hygiene_sh" snapshot "$tmp/hygiene.before"

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
run_t0=$(now_ms)
total_p=0 total_f=0 total_s=0 bad=0 n=0
declare -A seen=()

for prog in "$@"; do
	n=$((n + 1))
	name=$(basename "$prog")
	name=${name%.sh}
	# two programs with one basename keep separate logs
	if [ -n "${seen[$name]:-}" ]; then
		name=$name-$n
	fi
	seen[$name]=1
	log=$out/logs/$name.log
	cmd=$prog
	case $cmd in */*) ;; *) cmd=./$cmd ;; esac

	ev_before=$(wc -l <"$evidence")
	t0=$(now_ms)
	# (the braces keep bash's "Segmentation fault" notice out of our output)
	{ timeout -k 5 "$limit" "$cmd" >"$log" 2>&1 </dev/null; } 2>/dev/null
	rc=$?
	t1=$(now_ms)
	wall=$((t1 - t0))

	if [ $rc -eq 0 ]; then
		result=pass
	elif [ $rc -eq 77 ]; then
		result=skip
	elif [ $rc -eq 124 ] || { [ $rc -eq 137 ] && [ $wall -ge $((limit * 1000)) ]; }; then
		result=timeout
	elif [ $rc -gt 128 ] && [ $rc -le 192 ]; then
		result=crash
	else
		result=fail
	fi

	summary=$(grep -aE '^[^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
	if [ -n "$summary" ]; then
		read -r p f s <<<"$(sed -E 's/^[^ ]+: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<<"$summary")"
	else
		p=0 f=0 s=0
		case $result in
		pass) p=1 ;;
		skip) s=1 ;;
		*) f=1 ;;
		esac
	fi
	# the exit status and the counts must agree; the worse one wins
	if [ "$f" -gt 0 ] && { [ $result = pass ] || [ $result = skip ]; }; then
		result=fail
	fi
	case $result in
	fail | timeout | crash)
		[ "$f" -gt 0 ] || f=1
		bad=$((bad + 1))
		;;
	esac
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))

	# Per-test lines printed by the harness: PASS s/t | FAIL s/t file:line: cond | SKIP s/t: why
	awk '
	/^(PASS|FAIL|SKIP) [^ ]+/ {
		kind = $1; name = $2; text = ""
		if (kind == "SKIP") sub(/:$/, "", name)
		rest = substr($0, length(kind) + length($2) + 3)
		gsub(/\t/, " ", rest)
		printf "%s\t%s\t%s\n", kind, name, rest
	}' "$log" >"$tmp/tests.tsv"
	tail -n +"$((ev_before + 1))" "$evidence" | jq -cR 'fromjson? // empty' | jq -cs . >"$tmp/ev.json"
	jq -R -s --slurpfile ev "$tmp/ev.json" '
		($ev[0]) as $e
		| split("\n") | map(select(length > 0) | split("\t")
			| {kind: .[0], name: .[1], text: (.[2] // "")})
		| reduce .[] as $l ({order: [], t: {}};
			(if .t[$l.name] == null then
				.order += [$l.name]
				| .t[$l.name] = {name: $l.name, result: "pass", failures: []}
			 else . end)
			| if $l.kind == "FAIL" then
				.t[$l.name].result = "fail" | .t[$l.name].failures += [$l.text]
			  elif $l.kind == "SKIP" then
				(if .t[$l.name].result == "fail" then . else .t[$l.name].result = "skip" end)
				| .t[$l.name].reason = $l.text
			  else . end)
		| [.t[.order[]]]
		| map(.name as $n | . + {clauses: ([$e[] | select((.suite + "/" + .test) == $n) | .clause] | unique)})
	' "$tmp/tests.tsv" >"$tmp/tests.json" 2>"$tmp/jq.err" || {
		echo "run-tests: cannot parse $log: $(cat "$tmp/jq.err")" >&2
		echo '[]' >"$tmp/tests.json"
	}
	jq -n --arg name "$name" --arg path "$prog" --argjson exit "$rc" --arg result "$result" \
		--argjson wall_ms "$wall" --argjson p "$p" --argjson f "$f" --argjson s "$s" \
		--arg log "logs/$name.log" --slurpfile tests "$tmp/tests.json" --slurpfile ev "$tmp/ev.json" '
		{name: $name, path: $path, exit: $exit, result: $result, wall_ms: $wall_ms,
		 counts: {passed: $p, failed: $f, skipped: $s}, log: $log,
		 clauses: ([$ev[0][] | .clause] | unique),
		 evidence: ($ev[0] | map({suite, test, clause, result})),
		 tests: $tests[0]}' >"$tmp/prog-$(printf %04d $n).json"

	printf '%-7s %-34s %4d passed %3d failed %3d skipped %8d ms\n' \
		"$result" "$name" "$p" "$f" "$s" "$wall"
	case $result in
	fail | timeout | crash)
		# indented, so a runner reading this output never takes them for test lines
		grep -a '^FAIL ' "$log" | head -n 20 | sed 's/^/    /'
		[ $result = fail ] && grep -qa '^FAIL ' "$log" || tail -n 5 "$log" | sed 's/^/    | /'
		echo "    log: $log (exit $rc)"
		;;
	esac
done

if [ $hygiene = 1 ]; then
	n=$((n + 1))
	t0=$(now_ms)
	"$hygiene_sh" check "$tmp/hygiene.before" >"$out/logs/hygiene.log" 2>&1
	rc=$?
	wall=$(($(now_ms) - t0))
	if [ $rc -eq 0 ]; then
		result=pass p=1 f=0
	else
		result=fail p=0 f=1 bad=$((bad + 1))
	fi
	total_p=$((total_p + p)) total_f=$((total_f + f))
	jq -n --argjson exit "$rc" --arg result "$result" --argjson wall_ms "$wall" \
		--argjson p "$p" --argjson f "$f" --rawfile why "$out/logs/hygiene.log" '
		{name: "hygiene", path: "scripts/hygiene.sh", exit: $exit, result: $result,
		 wall_ms: $wall_ms, counts: {passed: $p, failed: $f, skipped: 0},
		 log: "logs/hygiene.log", clauses: [], evidence: [],
		 tests: [{name: "hygiene/leftovers", result: $result, clauses: [],
			  failures: ($why | split("\n") | map(select(length > 0)))}]}' \
		>"$tmp/prog-$(printf %04d $n).json"
	printf '%-7s %-34s %4d passed %3d failed %3d skipped %8d ms\n' \
		"$result" hygiene "$p" "$f" 0 "$wall"
	[ $rc -eq 0 ] || sed 's/^/    /' "$out/logs/hygiene.log"
fi

run_wall=$(($(now_ms) - run_t0))
jq -s --arg variant "$variant" --arg clock "$clock" --arg started "$started" \
	--arg scale "${SHMK_TIME_SCALE:-1}" --argjson limit "$limit" --argjson wall "$run_wall" \
	--argjson p "$total_p" --argjson f "$total_f" --argjson s "$total_s" --argjson bad "$bad" '
	{schema: "shmkit.check/1", variant: $variant, started: $started, clock: $clock,
	 time_scale: ($scale | tonumber? // 1), timeout_s: $limit, wall_ms: $wall,
	 result: (if $bad > 0 then "fail" else "pass" end),
	 totals: {passed: $p, failed: $f, skipped: $s, programs: length, programs_failed: $bad},
	 programs: .}' "$tmp"/prog-*.json >"$out/check.json.tmp" && mv "$out/check.json.tmp" "$out/check.json"

# the same run as JUnit XML for CI (DIR/junit.xml), validated against reports/schema/junit.xsd
"$(dirname "${BASH_SOURCE[0]}")/junit.py" --check "$out/check.json" || bad=$((bad + 1))

echo "check: $total_p passed, $total_f failed, $total_s skipped"
[ $bad -eq 0 ]
