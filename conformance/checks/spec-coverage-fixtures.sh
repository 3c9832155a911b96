#!/usr/bin/env bash
# spec-coverage-fixtures.sh - proves the spec-coverage gate on fixture trees.
#
# Each conformance/spec-fixtures/<case>/ is a tiny repository (conformance/
# spec/, impl/, conformance/tests/, fuzz/ as needed, plus evidence.jsonl) and
# an `expect` file:
#   strict pass|fail    scripts/spec-coverage-gate.sh (STRICT) must pass/fail
#   lax pass|fail       scripts/spec-coverage.py (not strict) must pass/fail
#   names ID            some `spec-coverage: error:` line names ID
#   json EXPR           jq -e EXPR holds on the spec-coverage.json written
#   clause ID           the gate clause (conformance/spec/spec.md) this case verifies
# A failing gate must also print `spec-coverage: 0 passed, 1 failed, 0 skipped`.
# Evidence for each clause goes to $SHMK_EVIDENCE when all its cases pass.
#
# r[verify spec.gate.must] r[verify spec.gate.should-strict] r[verify spec.gate.dangling]
# r[verify spec.gate.duplicate] r[verify spec.gate.keyword] r[verify spec.gate.exempt]
# r[verify spec.gate.failed] r[verify spec.gate.id] r[verify spec.gate.scope]
# r[verify spec.gate.registered]
set -uo pipefail

prog=spec-coverage-fixtures
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fixtures=$root/conformance/spec-fixtures
evidence=${SHMK_EVIDENCE:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0

# check_case DIR: one case's checks; writes $tmp/$case.errs (one error a
# line, empty when the case holds) and $tmp/$case.clauses.
check_case() {
	local dir=$1 case kind arg rest out rc want expr errs=() clauses=()
	case=$(basename "$dir")
	while read -r kind arg rest; do
		case $kind in
		''|'#'*) continue ;;
		strict|lax)
			out=$tmp/$case-$kind
			mkdir -p "$out"
			if [ "$kind" = strict ]; then
				"$root/scripts/spec-coverage-gate.sh" --root "$dir" \
					--evidence "$dir/evidence.jsonl" --out "$out" >"$out/log" 2>&1
			else
				STRICT=0 "$root/scripts/spec-coverage.py" --root "$dir" \
					--evidence "$dir/evidence.jsonl" --out "$out" >"$out/log" 2>&1
			fi
			rc=$?
			if [ "$arg" = pass ] && [ $rc -ne 0 ]; then
				errs+=("$kind: expected pass, exit $rc")
			elif [ "$arg" = fail ] && [ $rc -ne 1 ]; then
				errs+=("$kind: expected exit 1, got $rc")
			fi
			if [ "$kind" = strict ]; then
				want="spec-coverage: 1 passed, 0 failed, 0 skipped"
				[ "$arg" = pass ] || want="spec-coverage: 0 passed, 1 failed, 0 skipped"
				[ "$(tail -n 1 "$out/log")" = "$want" ] ||
					errs+=("strict: last line is not '$want'")
			fi
			jq -e . "$out/spec-coverage.json" >/dev/null 2>&1 ||
				errs+=("$kind: spec-coverage.json is not valid JSON")
			;;
		names)
			grep '^spec-coverage: error:' "$tmp/$case-strict/log" 2>/dev/null | grep -qF -- "$arg" ||
				errs+=("no error line names $arg")
			;;
		json)
			expr="$arg${rest:+ $rest}"
			jq -e "$expr" "$tmp/$case-strict/spec-coverage.json" >/dev/null 2>&1 ||
				errs+=("json does not hold: $expr")
			;;
		clause) clauses+=("$arg") ;;
		*) errs+=("bad expect line: $kind") ;;
		esac
	done <"$dir/expect"
	printf '%s\n' ${errs[@]+"${errs[@]}"} >"$tmp/$case.errs"
	printf '%s\n' ${clauses[@]+"${clauses[@]}"} >"$tmp/$case.clauses"
}

# The cases are independent (each gate run has its own --out) and CPU-bound
# (a python start and a parse of the fixture tree each): they run
# SPEC_FIXTURES_JOBS at a time (default: one per CPU), and are reported in
# order below, as a serial run would.
jobs_max=${SPEC_FIXTURES_JOBS:-$(nproc 2>/dev/null || echo 1)}
cases=()
for dir in "$fixtures"/*/; do
	[ -f "$dir/expect" ] || continue
	cases+=("$(basename "$dir")")
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
	check_case "$dir" &
done
wait

for case in ${cases[@]+"${cases[@]}"}; do
	errs=() clauses=()
	if [ -f "$tmp/$case.errs" ] && [ -f "$tmp/$case.clauses" ]; then
		while IFS= read -r e; do [ -z "$e" ] || errs+=("$e"); done <"$tmp/$case.errs"
		while IFS= read -r c; do [ -z "$c" ] || clauses+=("$c"); done <"$tmp/$case.clauses"
	else
		errs=("its checks did not finish")
	fi
	if [ ${#errs[@]} -eq 0 ]; then
		echo "  ok    $case"
		passed=$((passed + 1))
	else
		echo "  FAIL  $case"
		for e in "${errs[@]}"; do echo "        $e"; done
		echo "        --- gate output:"
		sed 's/^/        | /' "$tmp/$case-strict/log" 2>/dev/null | tail -n 20
		failed=$((failed + 1))
	fi
	for c in "${clauses[@]}"; do
		if [ -n "$evidence" ]; then
			r=pass
			[ ${#errs[@]} -eq 0 ] || r=fail
			printf '{"program":"%s","suite":"fixtures","test":"%s","clause":"%s","result":"%s"}\n' \
				"$prog" "$case" "$c" "$r" >>"$evidence"
		fi
	done
done

if [ $((passed + failed)) -eq 0 ]; then
	echo "$prog: no fixtures found in $fixtures" >&2
	failed=1
fi
echo "$prog: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
