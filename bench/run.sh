#!/usr/bin/env bash
# bench/run.sh - what `make bench` runs (see bench/bench.mk).
#
#   1. builds every bench program on its own (a module that does not build
#      is reported and skipped, the others run);
#   2. starts iox-roudi for the iceoryx baseline (and stops it at the end;
#      without it the iceoryx rows are skipped with a note);
#   3. orders the runs (bench/schedule.py): per repetition (>= 5; QUICK=1:
#      one short one) every bench once, each next to the benches it is
#      compared with, and runs them one process per run, progress
#      "[k/N] name" on the terminal;
#   4. runs hyperfine over the whole-process create/attach/teardown programs,
#      each next to the raw sequence it is judged by, once per repetition;
#   5. merges everything with machine facts into reports/out/bench.json
#      (schema shmkit.bench/1, reports/schema/bench.md).
#
# Environment: QUICK=1, BENCH_REPS (default 5), BENCH_MIN_TIME (seconds,
# default 0.5), BENCH_FILTER (regex passed to every program),
# BENCH_RUN_TIMEOUT (seconds per run of one bench, default 120), BENCH_SEED
# (the schedule's random order; default: the shell's pid).
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
	HF_ROUNDS=1
	export SHMK_BENCH_QUICK=1
else
	REPS=${BENCH_REPS:-5}
	MIN_TIME=${BENCH_MIN_TIME:-0.5}
	HF_RUNS=3
	HF_ITERS=200
	HF_ROUNDS=$REPS
	export SHMK_BENCH_QUICK=0
fi
FILTER=${BENCH_FILTER:-.}
# Wall-time limit of one run (one bench, one repetition), in seconds: a hung
# bench (a module deadlock) must not hang `make bench`.
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-120}

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

# ------------------------------------------------------------------ schedule
# Every program dumps the facts of its benches (name, floor, baseline, ...);
# bench/schedule.py groups each bench with the benches it is compared with
# and orders the runs: per repetition, every group as one adjacent block
# (random order of blocks and within them).  A ratio is then taken per
# repetition between figures measured seconds apart, not minutes: on a
# shared VM the host's placement of the two vCPUs changes during a run and
# moves a cross-CPU floor 3-4x (see reports/schema/bench.md, "Pairing").
metas=()
for p in "${GB_PROGS[@]}"; do
	n=$(basename "$p")
	if ! "$p" --shmk_meta="$OUTD/$n.meta.json" 2> "$OUTD/$n.err"; then
		skip "$n" "cannot list its benches"
		rm -f "$OUTD/$n.meta.json"
		continue
	fi
	"$p" --shmk_list --benchmark_filter="$FILTER" | grep -E -- "$FILTER" > "$OUTD/$n.list" || true
	metas+=("$OUTD/$n.meta.json")
done
# The iceoryx rows need iox-roudi for the whole run (their blocks come
# between the others'); without it they are skipped with a note.
if [ -s "$OUTD/iceoryx.list" ] && ! start_roudi > "$OUTD/roudi.why"; then
	skip iceoryx "iceoryx rows not measured: $(cat "$OUTD/roudi.why")"
	: > "$OUTD/iceoryx.list"
fi
cat /dev/null "$OUTD"/*.list > "$OUTD/selected.txt"
SCHED=$OUTD/schedule.tsv
python3 bench/schedule.py --reps "$REPS" --seed "${BENCH_SEED:-$$}" --targets bench/targets.json \
	--only "$OUTD/selected.txt" "${metas[@]}" > "$SCHED" || { note "schedule failed"; exit 1; }
TOTAL=$(wc -l < "$SCHED")
note "$(date -u +%H:%M:%S) ${#metas[@]} programs, $TOTAL runs in $(cut -f2 "$SCHED" | sort -u | wc -l) groups (repetitions $REPS, min_time $MIN_TIME s)"

# ------------------------------------------------------------------ run
# One process per run: `--benchmark_filter` selects exactly one bench,
# one repetition.  runs.jsonl gets {seq, rep, group, prog, name} plus the
# benchmark's iteration object (`b`), or `error` when the run gave none.
: > "$OUTD/runs.jsonl"
declare -A CTX
K=0
while IFS=$'\t' read -r rep grp n name; do
	K=$((K + 1))
	printf '[%d/%d] %s (repetition %s)\n' "$K" "$TOTAL" "$name" "$rep"
	out=$OUTD/run-$K.json
	timeout -k 10 "$RUN_TIMEOUT" "build/bench/$n" --benchmark_filter="^$name(/|\$)" \
		--benchmark_min_time="$MIN_TIME" --benchmark_repetitions=1 --benchmark_color=false \
		--benchmark_out="$out" --benchmark_out_format=json > /dev/null 2>> "$OUTD/$n.err"
	st=$?
	meta=(--argjson seq "$K" --argjson rep "$rep" --argjson group "$grp" --arg prog "$n" --arg name "$name")
	if [ "$st" -eq 0 ] && [ -s "$out" ] && jq -e '[.benchmarks[] | select(.run_type == "iteration")] | length == 1' "$out" > /dev/null 2>&1; then
		jq -c "${meta[@]}" '{seq: $seq, rep: $rep, group: $group, prog: $prog, name: $name,
			b: (.benchmarks[] | select(.run_type == "iteration"))}' "$out" >> "$OUTD/runs.jsonl"
		[ -n "${CTX[$n]:-}" ] || { jq -c '.context' "$out" > "$OUTD/ctx-$n.json"; CTX[$n]=1; }
	else
		why="exited with status $st"
		[ "$st" -eq 124 ] && why="timed out after $RUN_TIMEOUT s"
		[ "$st" -eq 0 ] && why="wrote no single result"
		jq -cn "${meta[@]}" --arg why "$why (see $OUTD/$n.err)" \
			'{seq: $seq, rep: $rep, group: $group, prog: $prog, name: $name, error: $why}' >> "$OUTD/runs.jsonl"
	fi
	rm -f "$out"
done < "$SCHED"
stop_roudi

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
# mmap_region, whose raw sequence is open + mmap of a file.  As for the
# benches above, the pair runs next to each other once per repetition
# (HF_ROUNDS rounds of HF_RUNS runs), in alternating order.
: > "$OUTD/hyperfine.jsonl"
hf() { # round prog sub bytes command-with-{procs}
	local round=$1 prog=$2 sub=$3 bytes=$4 cmd=$5 out="$OUTD/hf-$2-$3-$4-$1.json"
	printf '[hyperfine %d/%d] %s\n' "$round" "$HF_ROUNDS" "${cmd//\{procs\}/{1,2}}"
	if hyperfine -N --style none --warmup 2 --runs "$HF_RUNS" -L procs 1,2 \
		--export-json "$out" "$cmd" > "${out%.json}.log" 2>&1; then
		jq -c --arg prog "$prog" --arg sub "$sub" --argjson bytes "$bytes" --argjson iters "$HF_ITERS" \
			--argjson rep "$round" \
			'.results[] | {rep: $rep, prog: $prog, sub: $sub, bytes: $bytes, iters: $iters,
			 procs: (.parameters.procs | tonumber), command, mean, stddev, median, min, max, times}' \
			"$out" >> "$OUTD/hyperfine.jsonl"
	else
		skip "cycle-$prog-$sub-$bytes" "hyperfine failed (see ${out%.json}.log)"
	fi
}
RAW=
for c in "${CYCLES[@]}"; do [ "${c##*/cycle-}" = raw ] && RAW=$c; done
HF_PAIRS=()
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
		HF_PAIRS+=("$n $sub $bytes $c")
	done
fi
for round in $(seq "$HF_ROUNDS"); do
	for pr in "${HF_PAIRS[@]}"; do
		read -r n sub bytes c <<< "$pr"
		if [ $((round % 2)) = 1 ]; then
			hf "$round" "$n" "$sub" "$bytes" "$c $HF_ITERS {procs}"
			[ -n "$RAW" ] && hf "$round" raw "$sub" "$bytes" "$RAW $sub $bytes $HF_ITERS {procs}"
		else
			[ -n "$RAW" ] && hf "$round" raw "$sub" "$bytes" "$RAW $sub $bytes $HF_ITERS {procs}"
			hf "$round" "$n" "$sub" "$bytes" "$c $HF_ITERS {procs}"
		fi
	done
done

# ------------------------------------------------------------------ merge
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)
T1=$(date +%s)
scripts/machine-info.sh > "$OUTD/machine.json"
jq -n --arg start "$START" --arg stop "$END" --argjson secs "$((T1 - T0))" \
	--argjson quick "$([ -n "$QUICK" ] && echo true || echo false)" \
	--argjson reps "$REPS" --argjson min_time "$MIN_TIME" --arg filter "$FILTER" \
	--argjson hf_runs "$HF_RUNS" --argjson hf_iters "$HF_ITERS" --argjson hf_rounds "$HF_ROUNDS" \
	--argjson groups "$(cut -f2 "$SCHED" | sort -u | wc -l)" --argjson runs "$TOTAL" \
	'{started: $start, ended: $stop, seconds: $secs, quick: $quick, repetitions: $reps,
	  min_time_s: $min_time, filter: $filter, pairing: "adjacent", groups: $groups, runs: $runs,
	  hyperfine: {runs: ($hf_runs * $hf_rounds), runs_per_round: $hf_runs, rounds: $hf_rounds,
	              cycles_per_process: $hf_iters}}' > "$OUTD/run.json"

shopt -s nullglob
metas=("$OUTD"/*.meta.json)
ctxs=("$OUTD"/ctx-*.json)
bases=(reports/baselines/*.json)
jq -n \
	--slurpfile machine "$OUTD/machine.json" \
	--slurpfile run "$OUTD/run.json" \
	--slurpfile metas <(cat /dev/null "${metas[@]}") \
	--slurpfile runs "$OUTD/runs.jsonl" \
	--slurpfile ctx <(cat /dev/null "${ctxs[@]}") \
	--slurpfile hf "$OUTD/hyperfine.jsonl" \
	--slurpfile skipped "$OUTD/skipped.jsonl" \
	--slurpfile committed <(cat /dev/null "${bases[@]}") \
	--slurpfile targets bench/targets.json \
	-f bench/merge.jq > "$REPORT.tmp" && mv "$REPORT.tmp" "$REPORT" || {
	note "merge failed"
	exit 1
}
note "$(date -u +%H:%M:%S) wrote $REPORT: $(jq '.results | length' "$REPORT") results, $(jq '[.results[] | select(.error)] | length' "$REPORT") errors, $(jq -r 'if .run.quick then "targets not judged (QUICK)" else "\([.targets[] | select(.met == false)] | length) targets missed" end' "$REPORT"), in $((T1 - T0)) s"
