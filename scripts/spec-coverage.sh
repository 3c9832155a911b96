#!/usr/bin/env bash
# spec-coverage.sh - the clause -> code -> test matrix, and the gate on it.
#
#   scripts/spec-coverage.sh [--root DIR] [--evidence FILE] [--out DIR] [--strict]
#
# Clauses are defined ONLY by conformance/spec/*.md (a marker line alone at
# column 0, outside fenced blocks, then one paragraph with one RFC 2119 level:
# MUST, SHOULD or MAY; "MUST NOT"/"SHOULD NOT" count as MUST/SHOULD; words in
# `code spans` and the "Why:" line do not count).
# Citations are read ONLY from the source trees below, so ids quoted in
# DESIGN.md, README.md or fixture trees never count:
#   impl citations     impl/ (*.c, *.h), scripts/, conformance/harness/, fuzz/, bench/
#   verify citations   fuzz/ bench/ scripts/ conformance/{stress,models,checks}/
#                      and SPEC_VERIFY("id") in conformance/tests/
#   exempt citations   any of the trees above
# A citation of the wrong kind for its tree counts for nothing (warning).
# Evidence (JSONL {"program","suite","test","clause","result"}) says which
# tests passed or failed for a clause at run time.
#
# Writes <out>/spec-coverage.json (schema shmkit.spec-coverage/1, see
# reports/schema/spec-coverage.md), prints a table and a summary, and exits 1
# naming the clause id when the gate fails (list in reports/schema/).
#
# r[impl spec.gate.must] r[impl spec.gate.should-strict] r[impl spec.gate.scope]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$here
evidence=
out=
strict=${STRICT:-0}
quiet=0

usage() {
	echo "usage: $0 [--root DIR] [--evidence FILE] [--out DIR] [--strict] [--quiet]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=${2:?}; shift 2 ;;
	--evidence) evidence=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--strict) strict=1; shift ;;
	--quiet) quiet=1; shift ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done
case $strict in ''|0|no|false) strict=0 ;; *) strict=1 ;; esac

root=$(cd "$root" && pwd)
# Relative --evidence/--out are relative to the caller's directory.
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
evidence=$(abspath "${evidence:-$root/reports/out/evidence.jsonl}")
out=$(abspath "${out:-$root/reports/out}")
mkdir -p "$out"

for t in jq awk grep; do
	command -v "$t" >/dev/null || { echo "spec-coverage: $t is required (run scripts/deps.sh)" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"

# ------------------------------------------------------------ clause files
# One TSV row per marker: C, id, file, line, levels (comma list), why(0/1).
shopt -s nullglob
specs=(conformance/spec/*.md)
shopt -u nullglob
: >"$tmp/clauses.tsv"
if [ ${#specs[@]} -gt 0 ]; then
	awk -v OFS='\t' '
	function flush(   lv, n) {
		if (cur != "") {
			lv = ""; n = 0
			if ("MUST" in has)   { lv = lv (n++ ? "," : "") "MUST" }
			if ("SHOULD" in has) { lv = lv (n++ ? "," : "") "SHOULD" }
			if ("MAY" in has)    { lv = lv (n++ ? "," : "") "MAY" }
			print "C", cur, cfile, cline, lv, why
		}
		cur = ""; why = 0; text = 0
		for (k in has) delete has[k]
	}
	FNR == 1 { flush(); fence = 0 }
	# Fenced blocks are examples, never clauses.
	/^(```|~~~)/ { flush(); fence = !fence; next }
	fence { next }
	/^r\[[^] \t]*\][ \t]*$/ {
		flush()
		cur = $0; sub(/^r\[/, "", cur); sub(/\][ \t]*$/, "", cur)
		cfile = FILENAME; cline = FNR
		next
	}
	cur == "" { next }
	/^[ \t]*$/ { if (text) flush(); next }
	/^Why:/ { why = 1; text = 1; next }
	{
		text = 1
		s = $0
		# `code spans` quote keywords, they do not state a level
		gsub(/`[^`]*`/, " ", s)
		gsub(/[^A-Za-z0-9_]+/, " ", s)
		n = split(s, w, " ")
		for (i = 1; i <= n; i++)
			if (w[i] == "MUST" || w[i] == "SHOULD" || w[i] == "MAY")
				has[w[i]] = 1
	}
	END { flush() }
	' "${specs[@]}" >"$tmp/clauses.tsv"
fi

# ------------------------------------------------------------ citations
# One TSV row per citation: kind, id, file:line, where (impl|verify|test|other), reason.
src_inc=(--include='*.c' --include='*.h' --include='*.cc' --include='*.cpp'
	 --include='*.sh' --include='*.mk' --include='*.pml' --include='*.py' --include='*.awk')
existing() { local d; for d in "$@"; do [ -e "$d" ] && printf '%s\n' "$d"; done; return 0; }
mapfile -t impl_dirs < <(existing impl)
mapfile -t own_dirs < <(existing conformance/harness fuzz bench)
mapfile -t verify_dirs < <(existing conformance/stress conformance/models conformance/checks)
mapfile -t script_dirs < <(existing scripts)
mapfile -t test_dirs < <(existing conformance/tests)

# Ids are [A-Za-z0-9_.+-] starting with a letter or digit; placeholders such
# as <id> or ... in prose are not citations.
idc='[A-Za-z0-9_][A-Za-z0-9_.+-]*'
cites_re="r\\[(impl|verify|exempt) $idc\\]"
{
	[ ${#impl_dirs[@]} -eq 0 ] || grep -rnoIE --include='*.c' --include='*.h' "$cites_re" "${impl_dirs[@]}" || true
	[ ${#script_dirs[@]} -eq 0 ] || grep -rnoIE "$cites_re" "${script_dirs[@]}" || true
	[ ${#verify_dirs[@]} -eq 0 ] || grep -rnoIE "${src_inc[@]}" "$cites_re" "${verify_dirs[@]}" || true
	[ ${#own_dirs[@]} -eq 0 ] || grep -rnoIE "${src_inc[@]}" "$cites_re" "${own_dirs[@]}" || true
	[ ${#test_dirs[@]} -eq 0 ] || grep -rnoIE "${src_inc[@]}" "$cites_re" "${test_dirs[@]}" || true
} >"$tmp/cites.raw"
{
	[ ${#test_dirs[@]} -eq 0 ] || grep -rnoIE "${src_inc[@]}" 'SPEC_VERIFY\("[^"]*"\)' "${test_dirs[@]}" || true
} >"$tmp/tests.raw"
# Exempt reasons: the rest of the line after the marker, up to a comment end.
{
	for d in "${impl_dirs[@]}" "${script_dirs[@]}" "${verify_dirs[@]}" "${test_dirs[@]}" "${own_dirs[@]}"; do
		grep -rnoIE "${src_inc[@]}" "r\\[exempt $idc\\][^*]*" "$d" || true
	done
} | sort -u >"$tmp/exempt.raw"

awk -v OFS='\t' '
function where(f) {
	if (f ~ /^(scripts|fuzz|bench)\//) return "impl+verify"
	if (f ~ /^(impl|conformance\/harness)\//) return "impl"
	if (f ~ /^conformance\/(stress|models|checks)\//) return "verify"
	return "other"
}
# file:line:match  (paths here never hold a colon)
{
	f = $0; sub(/:.*/, "", f)
	rest = substr($0, length(f) + 2)
	ln = rest; sub(/:.*/, "", ln)
	m = substr(rest, length(ln) + 2)
}
FILENAME ~ /cites.raw$/ {
	if (m ~ /^r\[exempt /) next	# taken from exempt.raw with its reason
	kind = m; sub(/^r\[/, "", kind); id = kind; sub(/ .*/, "", kind)
	sub(/^[a-z]+ +/, "", id); sub(/\]$/, "", id); gsub(/[ \t]+$/, "", id)
	print kind, id, f ":" ln, where(f), ""
	next
}
FILENAME ~ /tests.raw$/ {
	id = m; sub(/^SPEC_VERIFY\("/, "", id); sub(/"\)$/, "", id)
	print "verify", id, f ":" ln, "test", ""
	next
}
FILENAME ~ /exempt.raw$/ {
	id = m; sub(/^r\[exempt +/, "", id)
	reason = id; sub(/\].*/, "", id); sub(/^[^]]*\]/, "", reason)
	gsub(/\t/, " ", reason); gsub(/^[ \t#:-]+|[ \t\/]+$/, "", reason)
	print "exempt", id, f ":" ln, "any", reason
}
' "$tmp/cites.raw" "$tmp/tests.raw" "$tmp/exempt.raw" >"$tmp/cites.tsv"

# ------------------------------------------------------------ evidence
ev_lines=0
ev_bad=0
if [ -f "$evidence" ]; then
	jq -R -c 'fromjson? | select(type == "object")' <"$evidence" >"$tmp/ev.jsonl" || true
	ev_lines=$(grep -c . "$evidence" || true)
	ev_ok=$(grep -c . "$tmp/ev.jsonl" || true)
	ev_bad=$((ev_lines - ev_ok))
else
	: >"$tmp/ev.jsonl"
	[ "$quiet" = 1 ] || echo "spec-coverage: warning: no evidence file $evidence (run make check first)" >&2
fi
[ "$ev_bad" -eq 0 ] || echo "spec-coverage: warning: $ev_bad unreadable line(s) in $evidence" >&2

rev=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=false
if [ "$rev" != unknown ] && [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | head -1)" ]; then
	dirty=true
fi

# ------------------------------------------------------------ join + gate
jq -n \
	--rawfile spec "$tmp/clauses.tsv" \
	--rawfile cites "$tmp/cites.tsv" \
	--slurpfile ev "$tmp/ev.jsonl" \
	--arg strict "$strict" \
	--arg rev "$rev" \
	--argjson dirty "$dirty" \
	--arg evidence "$evidence" \
	--arg root "$root" \
	--arg now "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
def rows: split("\n") | map(select(length > 0) | split("\t"));
def at: .file + ":" + (.line | tostring);
def idre: "^[a-z0-9_-]+(\\.[a-z0-9_-]+){2,}(\\+[0-9]+)?$";

($spec | rows | map({id: .[1], file: .[2], line: (.[3] | tonumber),
	levels: (if (.[4] // "") == "" then [] else (.[4] | split(",")) end),
	why: ((.[5] // "0") == "1")})) as $defs
| ($cites | rows | map({kind: .[0], id: .[1], at: .[2], where: .[3], reason: (.[4] // "")})) as $cs
| ($ev | map(select((.clause | type) == "string")
	| . + {key: "\(.program // "?")/\(.suite // "?")/\(.test // "?")",
	       res: ((.result // "") | tostring | ascii_downcase)})) as $evs
# first definition of each id, in file order
| (reduce $defs[] as $d ({}; if has($d.id) then . else . + {($d.id): $d} end)) as $first
| ($strict == "1") as $strict

# r[impl spec.gate.id]
| [ $defs[] | select(.id | test(idre) | not)
    | {id, msg: "clause id \"\(.id)\" at \(at) does not match seg(.seg){2,}(+N), seg=[a-z0-9_-]+"} ] as $e_grammar
# r[impl spec.gate.duplicate]
| [ $defs | group_by(.id)[] | select(length > 1)
    | {id: .[0].id, msg: "duplicate clause id \(.[0].id): defined at \(map(at) | join(", "))"} ] as $e_dup
# r[impl spec.gate.keyword]
| [ $defs[] | select((.levels | length) != 1)
    | {id, msg: (if (.levels | length) == 0
		then "clause \(.id) at \(at) has no RFC 2119 keyword (MUST, SHOULD or MAY)"
		else "clause \(.id) at \(at) has more than one keyword level (\(.levels | join(", ")))" end)} ] as $e_kw
# r[impl spec.gate.dangling]
| [ $cs[] | select($first[.id] == null)
    | {id, msg: "dangling \(if .where == "test" then "SPEC_VERIFY" else .kind end) citation of \(.id) at \(.at): no clause has this id"} ] as $e_dang
| [ $cs[] | select(.kind == "exempt" and $first[.id] != null and .reason == "")
    | {id, msg: "exempt citation of \(.id) at \(.at) gives no reason"} ] as $e_noreason

| [ $first[] | . as $d
    | ($cs | map(select(.id == $d.id))) as $mine
    | ($mine | map(select(.kind == "impl" and (.where == "impl" or .where == "impl+verify")) | .at)) as $impl
    | ($mine | map(select(.kind == "verify" and (.where != "impl" and .where != "other")) | .at)) as $verify
    | ($mine | map(select(.kind == "exempt"))) as $ex
    | ($evs | map(select(.clause == $d.id))) as $e
    | ($e | map(select(.res == "fail" or .res == "failed" or .res == "crash" or .res == "timeout")) | map(.key) | unique) as $failed
    | ($e | map(select(.res == "pass" or .res == "passed" or .res == "ok")) | map(.key) | unique) as $passed
    | (if ($d.levels | length) == 1 then $d.levels[0] else null end) as $level
    | {id: $d.id, level: $level, file: $d.file, line: $d.line, why: $d.why,
       impl: $impl, verify: $verify, tests_passed: $passed, tests_failed: $failed,
       exempt: ($ex | length > 0),
       exempt_reason: (if ($ex | length) > 0 then ($ex | map(.reason) | join("; ")) else null end),
       exempt_at: ($ex | map(.at)),
       status: (if ($failed | length) > 0 then "failed-test"
		elif ($ex | length) > 0 and $level != "MUST" then "exempt"
		elif ($impl | length) == 0 then "missing-impl"
		elif ($passed | length) == 0 then "missing-test"
		else "ok" end)} ] as $clauses
| ($clauses | sort_by(.file, .line)) as $clauses

# r[impl spec.gate.exempt]
| [ $clauses[] | select(.exempt and .level == "MUST")
    | {id, msg: "exempt citation of \(.id) at \(.exempt_at | join(", ")): a MUST clause cannot be exempted"} ] as $e_exm
# r[impl spec.gate.failed]
| [ $clauses[] | select((.tests_failed | length) > 0)
    | {id, msg: "clause \(.id): test(s) failed: \(.tests_failed | join(", "))"} ] as $e_fail
| [ $clauses[] | select(.level == "MUST" or ($strict and .level == "SHOULD"))
    | select(.status == "missing-impl" or .status == "missing-test" or
	     (.status == "exempt" and .level == "MUST"))
    | . as $c
    | ([ (if (.impl | length) == 0 then "no impl citation" else empty end),
	 (if (.tests_passed | length) == 0 then "no passing test" else empty end) ] | join(" and ")) as $what
    | {id, msg: "\(.level) clause \(.id) (\(.file):\(.line)) has \($what)"} ] as $e_missing

| [ $evs[] | select($first[.clause] == null) | .clause ] as $ev_unknown
| [ $cs[] | select((.kind == "impl" and (.where == "verify" or .where == "test" or .where == "other")) or
		   (.kind == "verify" and (.where == "impl" or .where == "other")))
    | "\(.kind) citation of \(.id) at \(.at) is in a tree where it does not count" ] as $misplaced
| ($e_grammar + $e_dup + $e_kw + $e_dang + $e_noreason + $e_exm + $e_fail + $e_missing) as $errors
| {
    schema: "shmkit.spec-coverage/1",
    generated_at: $now,
    git: {revision: $rev, dirty: $dirty},
    root: $root,
    evidence: $evidence,
    strict: $strict,
    totals: {
      clauses: ($clauses | length),
      must: ($clauses | map(select(.level == "MUST")) | length),
      should: ($clauses | map(select(.level == "SHOULD")) | length),
      may: ($clauses | map(select(.level == "MAY")) | length),
      ok: ($clauses | map(select(.status == "ok")) | length),
      exempt: ($clauses | map(select(.status == "exempt")) | length),
      missing_impl: ($clauses | map(select(.status == "missing-impl")) | length),
      missing_test: ($clauses | map(select(.status == "missing-test")) | length),
      failed_test: ($clauses | map(select(.status == "failed-test")) | length),
      impl_citations: ($clauses | map(.impl | length) | add // 0),
      verify_citations: ($clauses | map(.verify | length) | add // 0),
      evidence_lines: ($evs | length),
      errors: ($errors | length)
    },
    passed: (($errors | length) == 0),
    errors: $errors,
    warnings: (($ev_unknown | unique | map("evidence names clause \(.), which no spec file defines")) + $misplaced),
    clauses: ($clauses | map(del(.exempt_at)))
  }
' >"$tmp/out.json"

mv "$tmp/out.json" "$out/spec-coverage.json"
json=$out/spec-coverage.json

# ------------------------------------------------------------ table
if [ "$quiet" != 1 ]; then
	jq -r '.clauses[] | [.id, (.level // "-"), (.impl | length), (.verify | length),
		(.tests_passed | length), .status] | @tsv' "$json" |
	awk -F'\t' 'BEGIN { w = 5 }
		{ id[NR] = $1; l[NR] = $0; if (length($1) > w) w = length($1) }
		END {
			printf "%-*s  %-6s  %5s  %7s  %6s  %s\n", w, "CLAUSE", "LEVEL", "#IMPL", "#VERIFY", "PASSED", "STATUS"
			for (i = 1; i <= NR; i++) {
				split(l[i], f, "\t")
				printf "%-*s  %-6s  %5s  %7s  %6s  %s\n", w, f[1], f[2], f[3], f[4], f[5], f[6]
			}
		}'
fi
jq -r '"spec-coverage: \(.totals.clauses) clauses (\(.totals.must) MUST, \(.totals.should) SHOULD, \(.totals.may) MAY): \(.totals.ok) ok, \(.totals.exempt) exempt, \(.totals.missing_impl) missing-impl, \(.totals.missing_test) missing-test, \(.totals.failed_test) failed-test; \(.totals.errors) error(s)\(if .strict then " [strict]" else "" end)"' "$json"
jq -r '.warnings[] | "spec-coverage: warning: \(.)"' "$json" >&2
if jq -e '.passed' "$json" >/dev/null; then
	exit 0
fi
jq -r '.errors[] | "spec-coverage: error: \(.msg)"' "$json" >&2
exit 1
