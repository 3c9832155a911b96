#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run-models.sh - model-check shmkit's lock-free cores with SPIN.
#
# Every conformance/models/*.pml declares its checks in its header comment:
#
#   @check   <mode> [MACROS]          the correct model (spin -D each of the
#                                     comma-separated MACROS): SPIN must find no error
#   @planted <MACROS> <mode> <label>  spin -D each of MACROS plants a bug: SPIN must find one
#   @pending <MACROS> <mode> <label>  a bug SPIN found in the C code, still open: run and
#                                     reported ("still fails" / "now passes"), not counted;
#                                     once the code is fixed, the model follows it and the
#                                     line becomes an @check
#
# <mode> is `safety` (assertions + invalid end states, pan built -DSAFETY
# -DNOCLAIM) or `ltl:<name>` (the LTL property <name> checked for acceptance
# cycles under weak fairness: pan built -DNFAIR=3, run -a -f -N <name>).
# A model passes when every @check finds 0 errors with a complete search and
# every @planted variant is rejected; a model without a planted variant fails
# (a model that can prove nothing proves nothing).
#
# Per model one line: `spsc: ok, 1020+2542 states, 0.4 s; planted
# publish-before-write: rejected (assertion violated (a==expect)); ...`, then
# `models: N passed, N failed, 0 skipped`; exit 0 only when all passed.
# Evidence: one JSON line per clause cited with r[verify <id>] in a model,
# appended to $SHMK_EVIDENCE (default reports/out/evidence.jsonl).
#
# Usage: run-models.sh [model ...]   (names without .pml; default: all)
# Env:   MODELS_JOBS (parallel verifications, default one per CPU);
#        MODELS_CC (default clang-14 when installed - scripts/deps.sh installs
#        it for the fuzzers - else gcc: at -O0 it compiles a pan.c in about
#        two thirds of gcc's time, and the ~70 compiles are half of the CPU
#        spent here); MODELS_CFLAGS (default -O0: the state spaces are
#        small, compile time dominates; pan's search is memory-bound and
#        barely faster at -O1); MODELS_KEEP=1 keeps the scratch directory
#        under /tmp.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
evidence=${SHMK_EVIDENCE:-reports/out/evidence.jsonl}
case $evidence in /*) ;; *) evidence=$PWD/$evidence ;; esac
cflags=${MODELS_CFLAGS:--O0}
if [ -z "${MODELS_CC:-}" ]; then
	MODELS_CC=gcc
	command -v clang-14 >/dev/null 2>&1 && MODELS_CC=clang-14
fi
# pan memsets its 32 MB hash table (-w22) and grows its state store in
# malloc'ed chunks: with transparent huge pages on madvise, glibc's
# malloc.hugetlb=1 maps them with 2 MB pages, which halves the CPU of a
# small run (its page faults) and changes nothing pan computes.
export GLIBC_TUNABLES="glibc.malloc.hugetlb=1${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"

for tool in spin "$MODELS_CC"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		# deps.sh installs spin; its absence is a broken setup, not a skip.
		echo "run-models: $tool not found (scripts/deps.sh installs it)" >&2
		echo "models: 0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done

scratch=$(mktemp -d /tmp/shmk-models.XXXXXX) || exit 1
[ "${MODELS_KEEP:-0}" = 1 ] || trap 'rm -rf "$scratch"' EXIT
trap 'exit 143' TERM INT	# so the EXIT trap cleans up after a timeout

# run_one <pml> <macros|-> <mode>: prints "<errors> <states> <seconds> <what>"
# where <errors> is 0 (clean, complete), 1+ (errors found) or -1 (the tool
# failed or the search was incomplete: never a pass, never a rejection).
run_one() {
	local pml=$1 def=$2 mode=$3 dir out t0 t1 errs states what
	dir=$(mktemp -d "$scratch/run.XXXXXX")
	t0=$EPOCHREALTIME
	local dflag=() d
	if [ "$def" != - ]; then
		for d in ${def//,/ }; do dflag+=("-D$d"); done
	fi
	local cc=() pan=()
	case $mode in
	safety) cc=(-DSAFETY -DNOCLAIM); pan=(-m100000 -w22) ;;
	ltl:*) cc=(-DNFAIR=3); pan=(-a -f -m100000 -w22 -N "${mode#ltl:}") ;;
	*) echo "-1 0 0 unknown mode $mode"; return ;;
	esac
	if ! (cd "$dir" && spin "${dflag[@]}" -a "$pml" >spin.log 2>&1); then
		echo "-1 0 0 spin -a failed: $(tail -n1 "$dir/spin.log")"; return
	fi
	if ! (cd "$dir" && "$MODELS_CC" $cflags -w "${cc[@]}" -o pan pan.c >cc.log 2>&1); then
		echo "-1 0 0 $MODELS_CC failed: $(head -n1 "$dir/cc.log")"; return
	fi
	(cd "$dir" && timeout 120 ./pan "${pan[@]}" >pan.log 2>&1)
	t1=$EPOCHREALTIME
	out=$dir/pan.log
	errs=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | tail -n1)
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | tail -n1)
	what=$(grep -m1 -E '^pan:[0-9]+: ' "$out" | sed 's/^pan:[0-9]*: //; s/ (at depth [0-9]*)//')
	[ -n "$errs" ] || { echo "-1 0 0 pan gave no verdict: $(tail -n1 "$out")"; return; }
	if [ "$errs" = 0 ] && grep -qE 'max search depth too small|Search not completed' "$out"; then
		echo "-1 ${states:-0} 0 incomplete search"; return
	fi
	printf '%s %s %.2f %s\n' "$errs" "${states:-0}" "$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" "${what:-}"
}

json_ev() {	# json_ev <model> <clause> <pass|fail>
	printf '{"program":"models","suite":"spin","test":"%s","clause":"%s","result":"%s"}\n' \
		"$1" "$2" "$3" >>"$evidence"
}

mkdir -p "$(dirname "$evidence")"
if [ $# -gt 0 ]; then
	models=()
	for m in "$@"; do models+=("$here/$m.pml"); done
else
	models=("$here"/*.pml)
fi

# Phase 1: every verification of every model, MODELS_JOBS at a time (the
# runs are independent; each has its own scratch directory).  The @check
# runs start first: they are the complete searches, the longest runs (a
# planted bug mostly stops its search early), and a long run started last
# would leave the other CPUs idle at the end.
jobs_max=${MODELS_JOBS:-$(nproc 2>/dev/null || echo 2)}
n=0
for pml in "${models[@]}"; do
	[ -f "$pml" ] || continue
	name=$(basename "$pml" .pml)
	while read -r kind rest; do
		case $kind in
		@check) read -r mode def label <<<"$rest"; def=${def:--} ;;
		@planted | @pending) read -r def mode label <<<"$rest" ;;
		*) continue ;;
		esac
		n=$((n + 1))
		# (the label last: it may be empty, and read collapses adjacent tabs)
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$def" "$mode" "$pml" "${label:-}" \
			>"$scratch/job.$n"
	done < <(sed -n 's/^ \* \(@check\|@planted\|@pending\)[[:space:]]\+/\1 /p' "$pml")
done
for pass in checks others; do
	for ((i = 1; i <= n; i++)); do
		IFS=$'\t' read -r _ kind def mode pml _ <"$scratch/job.$i"
		[ "$kind" = @check ] && [ $pass = others ] && continue
		[ "$kind" != @check ] && [ $pass = checks ] && continue
		while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
		run_one "$pml" "$def" "$mode" >"$scratch/res.$i" &
	done
done
wait

# Phase 2: one line per model, in order.
passed=0 failed=0
for pml in "${models[@]}"; do
	name=$(basename "$pml" .pml)
	if [ ! -f "$pml" ]; then
		echo "$name: FAILED, no such model"; failed=$((failed + 1)); continue
	fi
	ok=1 line="" total_states="" total_t=0 nchecks=0 nplanted=0
	for ((i = 1; i <= n; i++)); do
		IFS=$'\t' read -r jname kind def mode _ label <"$scratch/job.$i"
		[ "$jname" = "$name" ] || continue
		read -r errs states secs what <"$scratch/res.$i"
		total_t=$(awk -v a="$total_t" -v b="$secs" 'BEGIN { print a + b }')
		case $kind in
		@check)
			nchecks=$((nchecks + 1))
			total_states+="${total_states:++}$states"
			if [ "$errs" != 0 ]; then
				dl=""; [ "$def" = - ] || dl=" -D${def//,/ -D}"
				ok=0; line+="; $mode$dl FAILED: ${what:-errors $errs}"
			fi ;;
		@planted)
			nplanted=$((nplanted + 1))
			if [ "$errs" -gt 0 ] 2>/dev/null; then
				line+="; planted $label: rejected ($what)"
			elif [ "$errs" = 0 ]; then
				ok=0; line+="; planted $label: NOT REJECTED"
			else
				ok=0; line+="; planted $label: FAILED: $what"
			fi ;;
		@pending)
			if [ "$errs" -gt 0 ] 2>/dev/null; then
				line+="; OPEN BUG $label: still fails ($what)"
			elif [ "$errs" = 0 ]; then
				line+="; open bug $label: now passes, make it an @check"
			else
				ok=0; line+="; pending $label: FAILED: $what"
			fi ;;
		esac
	done
	[ "$nchecks" -gt 0 ] || { ok=0; line+="; no @check"; }
	[ "$nplanted" -gt 0 ] || { ok=0; line+="; no planted variant"; }
	clauses=$(grep -o 'r\[verify [a-z0-9_.+-]*\]' "$pml" | sed 's/r\[verify \(.*\)\]/\1/' | sort -u)
	if [ "$ok" = 1 ]; then
		passed=$((passed + 1))
		printf '%s: ok, %s states, %.1f s%s\n' "$name" "$total_states" "$total_t" "$line"
		for c in $clauses; do json_ev "$name" "$c" pass; done
	else
		failed=$((failed + 1))
		printf '%s: FAILED, %s states, %.1f s%s\n' "$name" "${total_states:-0}" "$total_t" "$line"
		for c in $clauses; do json_ev "$name" "$c" fail; done
	fi
done

echo "models: $passed passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
