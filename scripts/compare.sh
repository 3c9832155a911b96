#!/usr/bin/env bash
# compare.sh A.json B.json - compares two `make bench` results (schema
# shmkit.bench/1): two machines, or two revisions on one.
#
# Each row compares two figures of a result, each as B/A with a verdict that
# needs |B/A - 1| > max(5 %, 3 x noise), where noise combines both runs'
# relative noise; otherwise "same":
#   - its efficiency (floor / measured for latency, measured / floor for
#     throughput, the floor measured in the same run): "better" / "worse",
#     what travels across machines;
#   - the baseline-normalised figure ("norm": the ratio to the in-run
#     baseline when the result has one, else its raw median; noise
#     ratio_noise / ratio, or cv for raw figures): "faster" / "slower".
# Oversubscribed rows and rows without a figure say so instead.
#
# Options: --all (also rows present in only one file), --markdown.
set -euo pipefail

usage() { echo "usage: $0 [--all] [--markdown] A.json B.json" >&2; exit 2; }
ALL=false
MD=false
args=()
for a in "$@"; do
	case $a in
	--all) ALL=true ;;
	--markdown) MD=true ;;
	-h | --help) usage ;;
	*) args+=("$a") ;;
	esac
done
[ ${#args[@]} -eq 2 ] || usage
A=${args[0]}
B=${args[1]}
for f in "$A" "$B"; do
	[ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
	s=$(jq -r '.schema // empty' "$f" 2> /dev/null) || { echo "$0: $f is not JSON" >&2; exit 2; }
	[ "$s" = shmkit.bench/1 ] || { echo "$0: $f: schema '$s', want shmkit.bench/1" >&2; exit 2; }
done

jq -rn --slurpfile a "$A" --slurpfile b "$B" --argjson all "$ALL" --argjson md "$MD" '
def effnoise: if .efficiency_noise != null and (.efficiency // 0) != 0 then .efficiency_noise / .efficiency else null end;
def verdict($x; $y; $na; $nb; $hb; $up; $down):
  if $x == null or $y == null or $x == 0 then {q: null, noise: null, thr: null, v: "no figure"}
  else ($y / $x) as $q
  | (if $na == null or $nb == null then null else (($na * $na) + ($nb * $nb) | sqrt) end) as $noise
  | ([0.05, (3 * ($noise // 0))] | max) as $thr
  | {q: $q, noise: $noise, thr: $thr,
     v: ((if ($q - 1 | fabs) <= $thr then "same" elif ($q > 1) == $hb then $up else $down end)
         + (if $noise == null then " (noise unknown)" else "" end))} end;
def relnoise: if .norm_kind == "ratio" then (if .ratio_noise != null and .norm != 0 then .ratio_noise / .norm else null end)
              else .cv end;
def fmt: if . == null then "-" elif . == 0 then "0"
         elif (. | fabs) < 0.01 then (((. | fabs | log10 | floor) as $e | pow(10; 2 - $e)) as $m | (. * $m | round) / $m | tostring)
         elif (. | fabs) >= 1000 then (. | round | tostring)
         elif (. | fabs) >= 10 then ((. * 10 | round) / 10 | tostring)
         else ((. * 1000 | round) / 1000 | tostring) end;
def pct: if . == null then "-" else ((. * 1000 | round) / 10 | tostring) + "%" end;
($a[0]) as $A | ($b[0]) as $B
| ($A.results | map({key: .name, value: .}) | from_entries) as $RA
| ($B.results | map({key: .name, value: .}) | from_entries) as $RB
| (($RA | keys) + ($RB | keys) | unique) as $names
| [ $names[] | . as $n | $RA[$n] as $x | $RB[$n] as $y
    | if $x == null or $y == null then
        if $all then [$n, "-", "-", "-", "-", "-", "-", "-", "-", "-", (if $x == null then "only in B" else "only in A" end)] else empty end
      else
        (if $x.error != null or $y.error != null then {q: null, noise: null, thr: null, v: "no figure"}
         else verdict($x.efficiency; $y.efficiency; ($x | effnoise); ($y | effnoise); true; "better"; "worse") end) as $e
        | (if $x.error != null or $y.error != null then {q: null, noise: null, thr: null, v: "no figure"}
           else verdict($x.norm; $y.norm; ($x | relnoise); ($y | relnoise); $x.higher_is_better; "faster"; "slower") end) as $r
        | [$n, ($x.efficiency | fmt), ($y.efficiency | fmt), ($e.q | fmt), $e.v,
           ($x.norm | fmt), ($y.norm | fmt), ($r.q | fmt), ($r.noise | pct), ($r.thr | pct),
           $r.v + (if $x.oversubscribed or $y.oversubscribed then " (oversubscribed)" else "" end)]
      end ] as $rows
| (["result", "eff A", "eff B", "eff B/A", "efficiency", "A", "B", "B/A", "noise", "threshold", "verdict"]) as $hdr
| "#H A: \($A.machine.machine_type), \($A.machine.kernel), rev \($A.machine.git.short), \($A.run.ended), reps \($A.run.repetitions)\(if $A.run.quick then ", QUICK" else "" end)",
  "#H B: \($B.machine.machine_type), \($B.machine.kernel), rev \($B.machine.git.short), \($B.run.ended), reps \($B.run.repetitions)\(if $B.run.quick then ", QUICK" else "" end)",
  "#H efficiency: floor / measured (latency) or measured / floor (throughput), the floor measured in the same run; higher is better",
  "#H A, B: ratio to the in-run baseline where a result has one, else the raw median (ns, or 1/s for *_tput)",
  "#H ",
  (if $md then
     ("| " + ($hdr | join(" | ")) + " |"), ("|" + ($hdr | map("---") | join("|")) + "|"),
     ($rows[] | "| " + join(" | ") + " |")
   else
     ($hdr | @tsv), ($rows[] | @tsv)
   end),
  "#F ",
  "#F summary: \([$rows[] | .[10] | select(startswith("faster"))] | length) faster, \([$rows[] | .[10] | select(startswith("slower"))] | length) slower, \([$rows[] | .[10] | select(startswith("same"))] | length) same, \([$rows[] | .[10] | select(startswith("no figure") or startswith("only"))] | length) without a comparison",
  "#F efficiency: \([$rows[] | .[4] | select(startswith("better"))] | length) better, \([$rows[] | .[4] | select(startswith("worse"))] | length) worse, \([$rows[] | .[4] | select(startswith("same"))] | length) same, \([$rows[] | .[4] | select(startswith("no figure") or startswith("only") or . == "-")] | length) without a comparison"
' > "${TMPDIR:-/tmp}/compare.$$"
out=${TMPDIR:-/tmp}/compare.$$
trap 'rm -f "$out"' EXIT
sed -n 's/^#H //p' "$out"
# Aligned columns with awk (column(1) is not in every base system).
if $MD; then grep -v '^#[HF] ' "$out"; else
	grep -v '^#[HF] ' "$out" | awk -F'\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n[NR] = NF }
		END { for (r = 1; r <= NR; r++) { line = ""; for (i = 1; i <= n[r]; i++) line = line sprintf(i < n[r] ? "%-" w[i] "s  " : "%s", c[r, i]); print line } }'
fi
sed -n 's/^#F //p' "$out"
