#!/usr/bin/env bash
# schedule.sh - `make check` check that `make bench` pairs what it compares
# (no benchmark runs).  From the programs' real `--shmk_meta` dumps,
# bench/schedule.py must run every bench once per repetition and run every
# bench next to its floor, its baseline and the `vs` of its target rows (one
# block of its group per repetition); and bench/merge.jq must take a ratio
# per repetition: on synthetic runs from a host that flips between a fast and
# a slow placement, a result always 1.5x its floor must get efficiency 0.6667
# exactly, where the ratio of the two pooled medians would not.
cd "$(dirname "$0")/../.."
. bench/checks/lib.sh schedule

# ------------------------------------------------------------ the schedule
mkdir "$tmp/metas"
dump_metas "$tmp/metas"
metas=("$tmp"/metas/*.meta.json)
if python3 bench/schedule.py --reps 5 --seed 7 --targets bench/targets.json "${metas[@]}" > "$tmp/sched.tsv"; then
	out=$(python3 - "$tmp/sched.tsv" bench/targets.json "${metas[@]}" <<'EOF'
import json, sys
sys.path.insert(0, "bench")
from schedule import target_edges
sched = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
targets = json.load(open(sys.argv[2]))
meta = {}
for p in sys.argv[3:]:
    for m in json.load(open(p)):
        meta[m["name"]] = m
group, seen, err = {}, {}, []
for rep, grp, prog, name in sched:
    seen[name] = seen.get(name, 0) + 1
    if group.setdefault(name, grp) != grp:
        err.append(f"{name} is in two groups")
for n in meta:
    if seen.get(n) != 5:
        err.append(f"{n} runs {seen.get(n, 0)} times in 5 repetitions")
# Each repetition runs each group as one block.
for rep in "12345":
    order = [g for r, g, _, _ in sched if r == rep]
    blocks = [g for i, g in enumerate(order) if i == 0 or order[i - 1] != g]
    if len(blocks) != len(set(blocks)):
        err.append(f"repetition {rep} splits a group")
pairs = []
for n, m in meta.items():
    for other in (m.get("floor"), m.get("baseline")):
        if other and other in meta:
            pairs.append((n, other))
pairs += list(target_edges(targets, meta))
for a, b in pairs:
    if group.get(a) != group.get(b):
        err.append(f"{a} and {b} are compared but not run together")
print(f"{len(meta)} benches, {len(set(group.values()))} groups, {len(pairs)} compared pairs")
for e in err:
    print("ERR " + e)
EOF
)
	echo "$out" | grep -v '^ERR' | sed 's/^/  /'
	if echo "$out" | grep -q '^ERR'; then
		bad "the schedule: $(echo "$out" | grep '^ERR' | head -3 | tr '\n' ';')"
	else
		ok "every bench runs once per repetition, in one block with every bench it is compared with"
	fi
else
	bad "bench/schedule.py failed"
fi

# ------------------------------------------------------------ the merge
# A floor and a result 1.5x slower than it, measured on a host that flips
# placement: fast (floor 100 ns) in repetitions 1 and 2, slow (450 ns) in
# 3 to 5.  In repetition 3 the result caught the fast placement (150 ns)
# while its floor did not.  The pooled medians (result 150, floor 450) say
# efficiency 3; the per-repetition pairs say 0.6667 four times out of five.
synth_regs 8 > "$tmp/meta.json"
: > "$tmp/runs.jsonl"
for rep in 1 2 3 4 5; do
	case $rep in 1 | 2) f=100 ;; *) f=450 ;; esac
	r=$(jq -n "$f * 1.5")
	for x in "p/floor_rtt/8/cross-cpu $f" "m/rtt/8/cross-cpu $r"; do
		set -- $x
		jq -cn --argjson rep "$rep" --arg n "$1" --argjson v "$2" \
			'{seq: 0, rep: $rep, group: 0, prog: "t", name: $n,
			  b: {run_type: "iteration", real_time: $v, p50_ns: $v, p99_ns: $v}}' >> "$tmp/runs.jsonl"
	done
done
jq -c 'if .name == "m/rtt/8/cross-cpu" and .rep == 3 then .b.p50_ns = 150 | .b.real_time = 150 | .b.p99_ns = 150 else . end' \
	"$tmp/runs.jsonl" > "$tmp/runs2.jsonl"
echo '{"vcpus_allowed": 2, "machine_type": "t"}' > "$tmp/machine.json"
echo '{"quick": false, "repetitions": 5, "hyperfine": {"cycles_per_process": 1}}' > "$tmp/run.json"
echo '[]' > "$tmp/targets.json"
if jq -n --slurpfile machine "$tmp/machine.json" --slurpfile run "$tmp/run.json" \
	--slurpfile metas "$tmp/meta.json" --slurpfile runs "$tmp/runs2.jsonl" --slurpfile ctx /dev/null \
	--slurpfile hf /dev/null --slurpfile skipped /dev/null --slurpfile committed /dev/null \
	--slurpfile targets "$tmp/targets.json" -f bench/merge.jq > "$tmp/bench.json"; then
	got=$(jq -r '.results[] | select(.name == "m/rtt/8/cross-cpu") | "\(.efficiency) \(.efficiency_pairs | length) \(.median)"' "$tmp/bench.json")
	set -- $got
	if [ "$1" = 0.6667 ] && [ "$2" = 5 ]; then
		ok "merge.jq takes efficiency per repetition (0.6667 from 5 pairs; the pooled medians, floor 450 and result $3, would say $(jq -n "450 / $3"))"
	else
		bad "merge.jq efficiency $1 from $2 pairs (want 0.6667 from 5)"
	fi
else
	bad "merge.jq failed on synthetic runs"
fi

# An interleaved target row is judged by the result's own ilv_ratio (its
# per-block ratio to the floor run in the same processes, here 1.2 every
# time), not by the ratio of the separate runs (1.5, and 0.33 in rep 3);
# that one stays beside it as separate_ratio.
jq -c 'if .name == "m/rtt/8/cross-cpu" then .b.ilv_ratio = 1.2 | .b.ilv_blocks = 40 else . end' \
	"$tmp/runs2.jsonl" > "$tmp/runs3.jsonl"
jq '.[1].ilv_floor = .[0].name' "$tmp/meta.json" > "$tmp/meta3.json"
echo '[{"row": "r", "reason": "w", "result": "m/rtt/{S}/cross-cpu", "vs": "p/floor_rtt/{S}/cross-cpu",
  "metric": "p50_ns", "op": "le", "bounds": {"8": 1.3}, "interleaved": true}]' > "$tmp/targets3.json"
if jq -n --slurpfile machine "$tmp/machine.json" --slurpfile run "$tmp/run.json" \
	--slurpfile metas "$tmp/meta3.json" --slurpfile runs "$tmp/runs3.jsonl" --slurpfile ctx /dev/null \
	--slurpfile hf /dev/null --slurpfile skipped /dev/null --slurpfile committed /dev/null \
	--slurpfile targets "$tmp/targets3.json" -f bench/merge.jq > "$tmp/bench3.json"; then
	got=$(jq -r '.targets[0] | "\(.ratio) \(.pairs | length) \(.verdict) \(.separate_ratio) \(.pairing)"' "$tmp/bench3.json")
	if [ "$got" = "1.2 5 met 1.5 interleaved" ]; then
		ok "merge.jq judges an interleaved row by ilv_ratio (1.2 from 5 repetitions, met; separate runs 1.5)"
	else
		bad "merge.jq on an interleaved row: $got (want 1.2 5 met 1.5 interleaved)"
	fi
else
	bad "merge.jq failed on synthetic interleaved runs"
fi

# merge3 METAS RUNS: the interleaved row's verdict and how many repetitions
# gave it a ratio, and the self-checks flagged as broken instruments.
merge3() {
	jq -n --slurpfile machine "$tmp/machine.json" --slurpfile run "$tmp/run.json" \
		--slurpfile metas "$1" --slurpfile runs "$2" --slurpfile ctx /dev/null \
		--slurpfile hf /dev/null --slurpfile skipped /dev/null --slurpfile committed /dev/null \
		--slurpfile targets "$tmp/targets3.json" -f bench/merge.jq |
		jq -r '"\(.targets[0].pairs // [] | length) \(.targets[0].verdict) / \([(.broken_instruments // [])[].name] | join(","))"'
}
# A repetition of fewer than 8 block pairs gives no ilv_ratio to judge by:
# with three of the five at 7 pairs (their ratio 0.5, which would decide
# the median), the row has two and is not judged.
jq -c 'if .name == "m/rtt/8/cross-cpu" and .rep <= 3 then .b.ilv_blocks = 7 | .b.ilv_ratio = 0.5 else . end' \
	"$tmp/runs3.jsonl" > "$tmp/runs4.jsonl"
got=$(merge3 "$tmp/meta3.json" "$tmp/runs4.jsonl")
if [ "$got" = "2 not judged: 2 paired repetitions (3 needed) / " ]; then
	ok "merge.jq takes no ilv_ratio from a repetition of fewer than 8 block pairs (2 of 5 left: not judged)"
else
	bad "merge.jq with three repetitions of 7 block pairs: $got (want 2 not judged: 2 paired repetitions (3 needed))"
fi
# The self-checks (*_ilv_rtt, *_ilv_tput) must give an ilv_ratio within
# 0.9-1.1: one at 1.25 (a round trip) or 0.8 (a throughput) is a broken
# instrument for the run; one at 1.05 is not.
jq '. + [.[1] | (.name = "m/x_ilv_rtt/8/cross-cpu" | .pattern = "x_ilv_rtt"),
	 (.name = "m/y_ilv_rtt/8/cross-cpu" | .pattern = "y_ilv_rtt"),
	 (.name = "m/z_ilv_tput/8/cross-cpu" | .pattern = "z_ilv_tput")]' "$tmp/meta3.json" > "$tmp/meta5.json"
jq -c 'select(.name == "m/rtt/8/cross-cpu") | .b.ilv_blocks = 64
	| (.name = "m/x_ilv_rtt/8/cross-cpu" | .b.ilv_ratio = 1.25), (.name = "m/y_ilv_rtt/8/cross-cpu" | .b.ilv_ratio = 1.05),
	  (.name = "m/z_ilv_tput/8/cross-cpu" | .b.ilv_ratio = 0.8)' \
	"$tmp/runs3.jsonl" | cat "$tmp/runs3.jsonl" - > "$tmp/runs5.jsonl"
got=$(merge3 "$tmp/meta5.json" "$tmp/runs5.jsonl")
if [ "$got" = "5 met / m/x_ilv_rtt/8/cross-cpu,m/z_ilv_tput/8/cross-cpu" ]; then
	ok "merge.jq flags self-checks whose ilv_ratio is outside 0.9-1.1 (1.25, 0.8) as broken instruments, not one at 1.05"
else
	bad "merge.jq on self-checks at 1.25, 0.8 and 1.05: $got (want 5 met / m/x_ilv_rtt/8/cross-cpu,m/z_ilv_tput/8/cross-cpu)"
fi

finish
