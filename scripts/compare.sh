#!/usr/bin/env bash
# compare.sh A.json B.json - compares two `make bench` results (schema
# shmkit.bench/1): two machines, or two revisions on one.
#
# Each row compares the baseline-normalised figure ("norm": the ratio to the
# in-run baseline when the result has one, else its raw median) and prints
# B/A with a verdict: faster / slower only when |B/A - 1| exceeds
# max(5 %, 3 x noise), where noise combines both runs' relative noise
# (ratio_noise / ratio, or cv for raw figures); otherwise "same".
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
def relnoise: if .norm_kind == "ratio" then (if .ratio_noise != null and .norm != 0 then .ratio_noise / .norm else null end)
              else .cv end;
def fmt: if . == null then "-" elif (. | fabs) >= 1000 then (. | round | tostring)
         elif (. | fabs) >= 10 then ((. * 10 | round) / 10 | tostring)
         else ((. * 1000 | round) / 1000 | tostring) end;
def pct: if . == null then "-" else ((. * 1000 | round) / 10 | tostring) + "%" end;
($a[0]) as $A | ($b[0]) as $B
| ($A.results | map({key: .name, value: .}) | from_entries) as $RA
| ($B.results | map({key: .name, value: .}) | from_entries) as $RB
| (($RA | keys) + ($RB | keys) | unique) as $names
| [ $names[] | . as $n | $RA[$n] as $x | $RB[$n] as $y
    | if $x == null or $y == null then
        if $all then [$n, "-", "-", "-", "-", "-", (if $x == null then "only in B" else "only in A" end)] else empty end
      elif $x.error != null or $y.error != null or $x.norm == null or $y.norm == null or $x.norm == 0 then
        [$n, ($x.norm | fmt), ($y.norm | fmt), "-", "-", "-", "no figure"]
      else
        ($y.norm / $x.norm) as $q
        | ($x | relnoise) as $na | ($y | relnoise) as $nb
        | (if $na == null or $nb == null then null else (($na * $na) + ($nb * $nb) | sqrt) end) as $noise
        | ([0.05, (3 * ($noise // 0))] | max) as $thr
        | ($x.higher_is_better) as $hb
        | (if ($q - 1 | fabs) <= $thr then "same"
           elif ($q > 1) == $hb then "faster" else "slower" end) as $v
        | [$n, ($x.norm | fmt), ($y.norm | fmt), ($q | fmt), ($noise | pct), ($thr | pct),
           $v + (if $x.oversubscribed or $y.oversubscribed then " (oversubscribed)" else "" end)
              + (if $noise == null then " (noise unknown)" else "" end)]
      end ] as $rows
| (["result", "A", "B", "B/A", "noise", "threshold", "verdict"]) as $hdr
| "#H A: \($A.machine.machine_type), \($A.machine.kernel), rev \($A.machine.git.short), \($A.run.ended), reps \($A.run.repetitions)\(if $A.run.quick then ", QUICK" else "" end)",
  "#H B: \($B.machine.machine_type), \($B.machine.kernel), rev \($B.machine.git.short), \($B.run.ended), reps \($B.run.repetitions)\(if $B.run.quick then ", QUICK" else "" end)",
  "#H figures: ratio to the in-run baseline where a result has one, else the raw median (ns, or 1/s for *_tput)",
  "#H ",
  (if $md then
     ("| " + ($hdr | join(" | ")) + " |"), ("|" + ($hdr | map("---") | join("|")) + "|"),
     ($rows[] | "| " + join(" | ") + " |")
   else
     ($hdr | @tsv), ($rows[] | @tsv)
   end),
  "#F ",
  "#F summary: \([$rows[] | .[6] | select(startswith("faster"))] | length) faster, \([$rows[] | .[6] | select(startswith("slower"))] | length) slower, \([$rows[] | .[6] | select(startswith("same"))] | length) same, \([$rows[] | .[6] | select(startswith("no figure") or startswith("only"))] | length) without a comparison"
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
