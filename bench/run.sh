#!/usr/bin/env bash
# bench/run.sh - what `make bench` runs (see bench/bench.mk).
#
#   1. builds every bench program on its own (a module that does not build
#      is reported and skipped, the others run);
#   2. starts iox-roudi for the iceoryx baseline (and stops it at the end;
#      without it the iceoryx rows are skipped with a note);
#   3. runs each Google Benchmark program: JSON to build/bench/out, >= 5
#      repetitions with random interleaving (QUICK=1: one short repetition),
#      progress "[k/N] name" on the terminal;
#   4. runs hyperfine over the whole-process create/attach/teardown programs;
#   5. merges everything with machine facts into reports/out/bench.json
#      (schema shmkit.bench/1, reports/schema/bench.md).
#
# Environment: QUICK=1, BENCH_REPS (default 5), BENCH_MIN_TIME (seconds,
# default 0.5), BENCH_FILTER (regex passed to every program),
# BENCH_PROG_TIMEOUT (seconds per program, default 420; QUICK 120).
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD_ONLY=0
[ "${1:-}" = "--build-only" ] && BUILD_ONLY=1

QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
	REPS=${BENCH_REPS:-1}
	MIN_TIME=${BENCH_MIN_TIME:-0.05}
	HF_RUNS=3
	HF_ITERS=20
	export SHMK_BENCH_QUICK=1
else
	REPS=${BENCH_REPS:-5}
	MIN_TIME=${BENCH_MIN_TIME:-0.5}
	HF_RUNS=15
	HF_ITERS=200
	export SHMK_BENCH_QUICK=0
fi
FILTER=${BENCH_FILTER:-.}
# Per program wall-time limit (seconds).
PROG_TIMEOUT=${BENCH_PROG_TIMEOUT:-$([ -n "$QUICK" ] && echo 120 || echo 420)}

OUTD=build/bench/out
SHMK_BENCH_GIT=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
export SHMK_BENCH_GIT
REPORT=reports/out/bench.json
mkdir -p "$OUTD" reports/out
rm -f "$OUTD"/*.json "$OUTD"/*.log "$OUTD"/*.err 2>/dev/null
T0=$(date +%s)
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)

note() { printf 'bench: %s\n' "$*" >&2; }

# skipped.json lines: {"program": ..., "reason": ...}
: > "$OUTD/skipped.jsonl"
skip() { jq -cn --arg p "$1" --arg r "$2" '{program: $p, reason: $r}' >> "$OUTD/skipped.jsonl"; note "skipping $1: $2"; }

# ------------------------------------------------------------------ build
mapfile -t BINS < <(make -s --no-print-directory bench-list)
GB_PROGS=()
CYCLES=()
for b in "${BINS[@]}"; do
	n=$(basename "$b")
	if ! make -s --no-print-directory "$b" > "$OUTD/build-$n.log" 2>&1; then
		skip "$n" "does not build (see $OUTD/build-$n.log)"
		continue
	fi
	case $n in
	cycle-*) CYCLES+=("$b") ;;
	*) GB_PROGS+=("$b") ;;
	esac
done
[ "$BUILD_ONLY" = 1 ] && { note "built: ${GB_PROGS[*]} ${CYCLES[*]}"; exit 0; }

# ------------------------------------------------------------------ iox-roudi
ROUDI_PID=
ROUDI_LOG=$OUTD/roudi.log
stop_roudi() {
	if [ -n "$ROUDI_PID" ]; then
		kill -TERM "$ROUDI_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$ROUDI_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ROUDI_PID" 2>/dev/null
		wait "$ROUDI_PID" 2>/dev/null
		ROUDI_PID=
	fi
}
trap stop_roudi EXIT
start_roudi() {
	command -v iox-roudi > /dev/null || { echo "iox-roudi not installed"; return 1; }
	if [ -e /dev/shm/iceoryx_mgmt ] || [ -e /dev/shm/root_iceoryx_mgmt ]; then
		# A RouDi of someone else may be up; ours would fight it.
		if ps -C iox-roudi -o stat= 2> /dev/null | grep -qv '^Z'; then
			echo "another iox-roudi is running"
			return 1
		fi
	fi
	iox-roudi > "$ROUDI_LOG" 2>&1 &
	ROUDI_PID=$!
	for _ in $(seq 100); do
		grep -q 'RouDi is ready for clients' "$ROUDI_LOG" 2>/dev/null && return 0
		kill -0 "$ROUDI_PID" 2>/dev/null || { ROUDI_PID=; echo "iox-roudi exited: $(tail -1 "$ROUDI_LOG")"; return 1; }
		sleep 0.1
	done
	echo "iox-roudi not ready after 10 s"
	return 1
}

# ------------------------------------------------------------------ count
declare -A NB
TOTAL=0
for p in "${GB_PROGS[@]}"; do
	n=$(basename "$p")
	if ! "$p" --shmk_meta="$OUTD/$n.meta.json" 2> "$OUTD/$n.err"; then
		skip "$n" "cannot list its benches"
		continue
	fi
	c=$("$p" --shmk_list --benchmark_filter="$FILTER" | grep -cE -- "$FILTER" || true)
	NB[$n]=$c
	TOTAL=$((TOTAL + c * REPS))
done
note "$(date -u +%H:%M:%S) ${#GB_PROGS[@]} programs, $TOTAL runs (repetitions $REPS, min_time $MIN_TIME s)"

# ------------------------------------------------------------------ run
K=0
for p in "${GB_PROGS[@]}"; do
	n=$(basename "$p")
	[ "${NB[$n]:-0}" -gt 0 ] || continue
	if [ "$n" = iceoryx ]; then
		if ! start_roudi > "$OUTD/roudi.why"; then
			skip iceoryx "iceoryx rows not measured: $(cat "$OUTD/roudi.why")"
			K=$((K + NB[$n] * REPS))
			continue
		fi
	fi
	KEND=$((K + NB[$n] * REPS))
	args=(--benchmark_filter="$FILTER" --benchmark_min_time="$MIN_TIME"
	      --benchmark_repetitions="$REPS" --benchmark_color=false
	      --benchmark_out="$OUTD/$n.json" --benchmark_out_format=json)
	[ "$REPS" -gt 1 ] && args+=(--benchmark_enable_random_interleaving=true)
	# The shim prints "@@progress <name>" on stderr when another bench starts
	# (one per repetition with random interleaving); the console table is
	# not needed (the JSON goes to --benchmark_out).  Other stderr lines go
	# to the program's .err file.
	# A hung bench (a module deadlock) must not hang `make bench`.
	SHMK_BENCH_PROGRESS=1 timeout -k 10 "$PROG_TIMEOUT" "$p" "${args[@]}" 2>&1 > "$OUTD/$n.console" |
	while IFS= read -r line; do
		case $line in
		'@@progress '*)
			K=$((K + 1))
			[ "$K" -le "$((KEND))" ] || K=$KEND
			printf '[%d/%d] %s ...\n' "$K" "$TOTAL" "${line#@@progress }"
			;;
		*) printf '%s\n' "$line" >> "$OUTD/$n.err" ;;
		esac
	done
	st=${PIPESTATUS[0]}
	K=$((K + NB[$n] * REPS))
	if [ "$st" -ne 0 ] || [ ! -s "$OUTD/$n.json" ]; then
		why="exited with status $st"
		[ "$st" -eq 124 ] && why="timed out after $PROG_TIMEOUT s"
		skip "$n" "$why (see $OUTD/$n.err)"
		rm -f "$OUTD/$n.json"
	fi
	[ "$n" = iceoryx ] && stop_roudi
done

# A bench killed by the timeout leaves its /dev/shm files: remove those
# whose creating process (the number after the kind) is gone.
for f in /dev/shm/shmk-bench-*; do
	[ -e "$f" ] || continue
	pid=$(basename "$f" | sed -n 's/^shmk-bench-[a-z]*-\([0-9]\+\)-.*/\1/p')
	[ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null && rm -f "$f"
done

# ------------------------------------------------------------------ hyperfine
# Whole-process create + attach + teardown: each program does HF_ITERS
# cycles per process; procs attachers per cycle are scanned (1, 2).  Each
# module's cycle is judged against the raw syscall sequence on a region of
# the same size (`cycle-<m> --bytes`): shm_open for every module but
# mmap_region, whose raw sequence is open + mmap of a file.
: > "$OUTD/hyperfine.jsonl"
hf() { # prog sub bytes command-with-{procs}
	local prog=$1 sub=$2 bytes=$3 cmd=$4 out="$OUTD/hf-$1-$2-$3.json"
	printf '[hyperfine] %s\n' "${cmd//\{procs\}/{1,2}}"
	if hyperfine -N --style none --warmup 2 --runs "$HF_RUNS" -L procs 1,2 \
		--export-json "$out" "$cmd" > "${out%.json}.log" 2>&1; then
		jq -c --arg prog "$prog" --arg sub "$sub" --argjson bytes "$bytes" --argjson iters "$HF_ITERS" \
			'.results[] | {prog: $prog, sub: $sub, bytes: $bytes, iters: $iters,
			 procs: (.parameters.procs | tonumber), command, mean, stddev, median, min, max, times}' \
			"$out" >> "$OUTD/hyperfine.jsonl"
	else
		skip "cycle-$prog-$sub-$bytes" "hyperfine failed (see ${out%.json}.log)"
	fi
}
RAW=
for c in "${CYCLES[@]}"; do [ "${c##*/cycle-}" = raw ] && RAW=$c; done
declare -A RAW_DONE
if command -v hyperfine > /dev/null && [ ${#CYCLES[@]} -gt 0 ]; then
	for c in "${CYCLES[@]}"; do
		n=${c##*/cycle-}
		[ "$n" = raw ] && continue
		if ! bytes=$("$c" --bytes 2> "$OUTD/cycle-$n.bytes.err") || ! [[ $bytes =~ ^[0-9]+$ ]]; then
			skip "cycle-$n" "cannot say its region size (see $OUTD/cycle-$n.bytes.err)"
			continue
		fi
		sub=shm
		[ "$n" = mmap_region ] && sub=mmap
		hf "$n" "$sub" "$bytes" "$c $HF_ITERS {procs}"
		if [ -n "$RAW" ] && [ -z "${RAW_DONE[$sub-$bytes]:-}" ]; then
			RAW_DONE[$sub-$bytes]=1
			hf raw "$sub" "$bytes" "$RAW $sub $bytes $HF_ITERS {procs}"
		fi
	done
fi

# ------------------------------------------------------------------ merge
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)
T1=$(date +%s)
scripts/machine-info.sh > "$OUTD/machine.json"
jq -n --arg start "$START" --arg stop "$END" --argjson secs "$((T1 - T0))" \
	--argjson quick "$([ -n "$QUICK" ] && echo true || echo false)" \
	--argjson reps "$REPS" --argjson min_time "$MIN_TIME" --arg filter "$FILTER" \
	--argjson hf_runs "$HF_RUNS" --argjson hf_iters "$HF_ITERS" \
	'{started: $start, ended: $stop, seconds: $secs, quick: $quick, repetitions: $reps,
	  min_time_s: $min_time, filter: $filter, random_interleaving: ($reps > 1),
	  hyperfine: {runs: $hf_runs, cycles_per_process: $hf_iters}}' > "$OUTD/run.json"

shopt -s nullglob
metas=("$OUTD"/*.meta.json)
results=()
for m in "${metas[@]}"; do
	r=${m%.meta.json}.json
	[ -s "$r" ] && results+=("$r")
done
bases=(reports/baselines/*.json)
jq -n \
	--slurpfile machine "$OUTD/machine.json" \
	--slurpfile run "$OUTD/run.json" \
	--slurpfile metas <(cat /dev/null "${metas[@]}") \
	--slurpfile gb <(cat /dev/null "${results[@]}") \
	--slurpfile hf "$OUTD/hyperfine.jsonl" \
	--slurpfile skipped "$OUTD/skipped.jsonl" \
	--slurpfile committed <(cat /dev/null "${bases[@]}") \
	--slurpfile targets bench/targets.json \
	-f bench/merge.jq > "$REPORT.tmp" && mv "$REPORT.tmp" "$REPORT" || {
	note "merge failed"
	exit 1
}
note "$(date -u +%H:%M:%S) wrote $REPORT: $(jq '.results | length' "$REPORT") results, $(jq '[.results[] | select(.error)] | length' "$REPORT") errors, $(jq -r 'if .run.quick then "targets not judged (QUICK)" else "\([.targets[] | select(.met == false)] | length) targets missed" end' "$REPORT"), in $((T1 - T0)) s"
