#!/usr/bin/env bash
# coverage.sh - line and branch coverage of impl/ from gcov 12's JSON output.
#
#   scripts/coverage.sh [BUILD_DIR] [--out DIR]      (BUILD_DIR default build/cov)
#
# `make coverage` builds the V=cov variant (--coverage), runs the check
# programs, then calls this.  It runs `gcov -b --json-format --stdout` on the
# .gcda files of the impl/ objects under BUILD_DIR/obj/impl, aggregates per
# source file of impl/ (a header such as internal.h compiled into several
# objects is merged line by line: a line or branch counts as covered when
# any object executed it), writes <out>/coverage.json (schema
# shmkit.coverage/1, see reports/schema/coverage.md) and prints a table.
# No lcov needed.
#
# Only processes that exit normally write .gcda data: a forked test child
# that leaves with _exit() or is killed contributes nothing unless it calls
# __gcov_dump() first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=
out=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2:?}; shift 2 ;;
	-h|--help) echo "usage: $0 [BUILD_DIR] [--out DIR]" >&2; exit 2 ;;
	*) build=$1; shift ;;
	esac
done
cd "$root"
build=${build:-build/cov}
out=${out:-reports/out}
mkdir -p "$out"

command -v gcov >/dev/null || { echo "coverage: gcov not found" >&2; exit 2; }
command -v jq >/dev/null || { echo "coverage: jq not found (run scripts/deps.sh)" >&2; exit 2; }

mapfile -t gcdas < <(find "$build/obj/impl" -name '*.gcda' 2>/dev/null | sort)
if [ ${#gcdas[@]} -eq 0 ]; then
	echo "coverage: no .gcda files under $build/obj/impl (build with V=cov and run the tests first)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# gcov resolves sources relative to the directory the objects were built
# from (the repo root); run it there, one JSON document per .gcda.
for g in "${gcdas[@]}"; do
	gcov -b --json-format --stdout "$g" 2>>"$tmp/gcov.err" || {
		echo "coverage: gcov failed on $g:" >&2
		cat "$tmp/gcov.err" >&2
		exit 1
	}
done >"$tmp/gcov.json"

rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
jq -s \
	--arg now "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg rev "$rev" \
	--arg build "$build" \
	--argjson ngcda "${#gcdas[@]}" '
def pct(a; b): if b == 0 then null else ((a * 1000 / b | floor) / 10) end;
[ .[] | .files[] | select(.file | startswith("impl/")) ] as $files
| [ $files | group_by(.file)[]
    | .[0].file as $f
    | ([ .[].lines[] ] | group_by(.line_number)
	| map({line: .[0].line_number, count: (map(.count) | add),
	       branches: ([ .[] | .branches | to_entries[] | {i: .key, c: .value.count} ]
			  | group_by(.i) | map(map(.c) | add))})) as $lines
    | ([ .[].functions[] ] | group_by(.name)
	| map({name: .[0].name, count: (map(.execution_count) | add)})) as $funcs
    | {file: $f,
       lines: ($lines | length),
       lines_covered: ($lines | map(select(.count > 0)) | length),
       branches: ($lines | map(.branches | length) | add // 0),
       branches_covered: ($lines | map(.branches | map(select(. > 0)) | length) | add // 0),
       functions: ($funcs | length),
       functions_covered: ($funcs | map(select(.count > 0)) | length),
       uncovered_functions: ($funcs | map(select(.count == 0) | .name)),
       uncovered_lines: ($lines | map(select(.count == 0) | .line))}
    | . + {line_pct: pct(.lines_covered; .lines), branch_pct: pct(.branches_covered; .branches)} ]
  as $per
| {schema: "shmkit.coverage/1",
   generated_at: $now,
   git: {revision: $rev},
   build: $build,
   gcda_files: $ngcda,
   tool: "gcov \(.[0].gcc_version // "?") --json-format",
   totals: ({lines: ($per | map(.lines) | add // 0),
	     lines_covered: ($per | map(.lines_covered) | add // 0),
	     branches: ($per | map(.branches) | add // 0),
	     branches_covered: ($per | map(.branches_covered) | add // 0),
	     functions: ($per | map(.functions) | add // 0),
	     functions_covered: ($per | map(.functions_covered) | add // 0)}
	    | . + {line_pct: pct(.lines_covered; .lines), branch_pct: pct(.branches_covered; .branches)}),
   files: ($per | sort_by(.file))}
' "$tmp/gcov.json" >"$tmp/coverage.json"
mv "$tmp/coverage.json" "$out/coverage.json"

jq -r '(.files[] | [.file, "\(.lines_covered)/\(.lines)", (.line_pct // "-"),
	"\(.branches_covered)/\(.branches)", (.branch_pct // "-"),
	"\(.functions_covered)/\(.functions)"] | @tsv),
       (.totals | ["total", "\(.lines_covered)/\(.lines)", (.line_pct // "-"),
	"\(.branches_covered)/\(.branches)", (.branch_pct // "-"),
	"\(.functions_covered)/\(.functions)"] | @tsv)' "$out/coverage.json" |
awk -F'\t' '{ r[NR] = $0; if (length($1) > w) w = length($1) }
	END {
		printf "%-*s  %11s  %6s  %11s  %6s  %9s\n", w, "FILE", "LINES", "LINE%", "BRANCHES", "BR%", "FUNCS"
		for (i = 1; i <= NR; i++) {
			split(r[i], f, "\t")
			printf "%-*s  %11s  %6s  %11s  %6s  %9s\n", w, f[1], f[2], f[3], f[4], f[5], f[6]
		}
	}'
echo "coverage: wrote $out/coverage.json"
