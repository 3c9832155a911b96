# bench/merge.jq - joins one `make bench` run into reports/out/bench.json
# (schema shmkit.bench/1, documented in reports/schema/bench.md).
#
# Inputs (jq --slurpfile): $machine, $run, $metas (bench facts written by
# `prog --shmk_meta`), $runs (one line per run of one bench: {seq, rep,
# group, prog, name, b: Google Benchmark's iteration object} or {..., error}),
# $ctx (Google Benchmark's context, one per program), $hf (hyperfine rows,
# one per round), $skipped, $committed (reports/baselines/*.json), $targets
# (bench/targets.json, the one target table).
#
# Ratios are paired: a ratio of two results is taken per repetition (the
# two ran next to each other, bench/schedule.py) and the median of those
# per-repetition ratios is reported, with their spread as the noise.
# An interleaved target row (bench/ilv.h) is judged by the result's own
# ilv_ratio instead: the median of per-block ratios to its floor protocol,
# run in short blocks alternating with it between the same two processes;
# the paired ratio to the floor's separate run is kept beside it.  A
# repetition's ilv_ratio counts only from ilv_min_pairs block pairs up.
# The self-checks (pattern *_ilv_rtt or *_ilv_tput: a protocol interleaved
# with itself) must give an ilv_ratio within self_check_band; one outside it is a
# broken instrument for this run (broken_instruments).

# Fewer block pairs and a repetition's median ratio is one or two pairs,
# which a pair that straddles a move of the vCPUs decides: from 8, three
# such pairs still leave the median between clean ones (blocks shrink to
# iterations / 8, bench/ilv.h, so a full invocation closes about 8).
def ilv_min_pairs: 8;
def self_check_band: [0.9, 1.1];

def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def mean: if length == 0 then null else add / length end;
def cv: if length < 2 then null else
	(mean) as $m | if $m == 0 then null else
	((map((. - $m) * (. - $m)) | add) / (length - 1) | sqrt) / ($m | fabs) end end;
def higher_better($m): ($m | test("_per_second$"));
def r4: if . == null then null else (. * 10000 | round) / 10000 end;
def r1: if . == null then null else (. * 10 | round) / 10 end;
# 4 significant digits (an efficiency of 1e-5 must not round to 0)
def s4: if . == null or . == 0 then . else
	((. | fabs | log10 | floor) as $e | pow(10; 3 - $e)) as $m | (. * $m | round) / $m end;

($machine[0]) as $M
| ($run[0]) as $R
| ([$metas[] | .[]] | map({key: .name, value: .}) | from_entries) as $META

# ---------------------------------------------------------------- gbench
# The figures a ratio may name, per run.
| def figs: {real_time, p50_ns, p90_ns, p99_ns, p999_ns, items_per_second, bytes_per_second,
             ilv_ratio, ilv_blocks, floor_p50_ns, floor_items_per_second}
    | with_entries(select(.value != null));
  ([$runs[] | select(.name != null)] | group_by(.name)) as $groups
| [$groups[] | (.[0].name) as $k | ($META[$k] // {name: $k, module: ($k | split("/")[0]),
      pattern: ($k | split("/")[1]), param: null, bytes: null, placement: "single", mode: null,
      spinning_procs: 0, metric: "real_time", floor: null, floor_div: 1, baseline: null,
      note: "not registered: no --shmk_meta facts"}) as $m
   | (map(select(.b != null and (.b.error_occurred | not)))) as $okr
   | ($okr | map(.b)) as $ok
   | ($ok | map(if $m.metric == "real_time" then .real_time else .[$m.metric] end)
      | map(select(. != null))) as $vals
   | {name: $k, module: $m.module, pattern: $m.pattern, param: $m.param, bytes: $m.bytes,
      placement: $m.placement, mode: $m.mode, procs: null, source: "gbench",
      metric: $m.metric, higher_is_better: higher_better($m.metric),
      unit: (if higher_better($m.metric) then "1/s" else "ns" end),
      repetitions: ($ok | length), values: $vals,
      median: ($vals | median), mean: ($vals | mean), cv: ($vals | cv | r4),
      real_time_ns: ($ok | map(.real_time) | median),
      p50_ns: ($ok | map(.p50_ns // empty) | median),
      p90_ns: ($ok | map(.p90_ns // empty) | median),
      p99_ns: ($ok | map(.p99_ns // empty) | median),
      p999_ns: ($ok | map(.p999_ns // empty) | median),
      items_per_second: ($ok | map(.items_per_second // empty) | median),
      bytes_per_second: ($ok | map(.bytes_per_second // empty) | median),
      # cv of each figure a target may name besides the primary one
      cvs: ({p50_ns: ($ok | map(.p50_ns // empty) | cv | r4), p99_ns: ($ok | map(.p99_ns // empty) | cv | r4),
             items_per_second: ($ok | map(.items_per_second // empty) | cv | r4),
             real_time: ($ok | map(.real_time) | cv | r4)}),
      counters: ($ok | if length == 0 then {} else
         (map(to_entries | map(select(.key | test("^(futex_|wakes|parks|spins|offered|achieved|load_|saturation|floor_(p50|p99|items|fast)|ilv_)"))))
          | add | group_by(.key) | map({key: .[0].key, value: (map(.value) | median)}) | from_entries) end),
      spinning_procs: ($m.spinning_procs // 0),
      oversubscribed: (($m.spinning_procs // 0) > $M.vcpus_allowed),
      floor: $m.floor, floor_div: ($m.floor_div // 1), ilv_floor: ($m.ilv_floor // null),
      baseline: $m.baseline, note: $m.note,
      byrep: ($okr | map({key: (.rep | tostring), value: (.b | figs)}) | from_entries),
      error: (if ($ok | length) == 0 then
                ((map(.error // .b.error_message // empty) | first) // "no successful repetition") else null end)}
  ] as $gres

# ---------------------------------------------------------------- hyperfine
# One row per (program, sub, bytes, procs): ns per create+attach+teardown
# cycle; the raw sequence on a region of the same size is floor and baseline.
| [$hf[] | . + {key: "\(.prog)-\(.sub)-\(.bytes)-\(.procs)"}] | group_by(.key)
| [.[] | (.[0]) as $h | ($h.prog == "raw") as $raw
   | (map({rep: .rep, vals: ((.times // [.mean]) | map(. * 1e9 / $R.hyperfine.cycles_per_process))})) as $rounds
   | ($rounds | map(.vals[])) as $vals
   | "peers/raw_\($h.sub)_process_\($h.procs)p/\($h.bytes)/process" as $rawname
   | {name: (if $raw then $rawname else "\($h.prog)/process_cycle_\($h.procs)p/\($h.bytes)/process" end),
      module: (if $raw then "peers" else $h.prog end),
      pattern: (if $raw then "raw_\($h.sub)_process_\($h.procs)p" else "process_cycle_\($h.procs)p" end),
      param: $h.bytes, bytes: $h.bytes, placement: "process", mode: "none", procs: $h.procs,
      source: "hyperfine", metric: "cycle_ns", higher_is_better: false, unit: "ns",
      repetitions: ($vals | length), values: $vals,
      median: ($vals | median), mean: ($vals | mean), cv: ($vals | cv | r4),
      real_time_ns: ($vals | median), p50_ns: null, p90_ns: null, p99_ns: null, p999_ns: null,
      items_per_second: null, bytes_per_second: null, cvs: {}, counters: {},
      spinning_procs: 0, oversubscribed: false,
      floor: $rawname, floor_div: 1, ilv_floor: null, baseline: (if $raw then null else $rawname end),
      note: ((if $raw then "floor of a whole-process cycle of this size; " else "" end) + "hyperfine: \($h.command)"),
      byrep: ($rounds | group_by(.rep) | map({key: (.[0].rep | tostring),
                value: ([.[].vals[]] | median | {cycle_ns: ., real_time: .})}) | from_entries),
      error: null}
  ] as $hres

| ($gres + $hres) as $all
| ($all | map({key: .name, value: .}) | from_entries) as $BY

# A figure of result r: its primary metric's median, or another counter's.
| def fig($r; $metric):
    if $r == null or $r.error != null then null
    elif $metric == $r.metric then $r.median
    elif $metric == "real_time" or $metric == "cycle_ns" then $r.real_time_ns
    else $r[$metric] // $r.counters[$metric] end;
  # The same figure in one repetition's run of r.
  def repfig($f; $metric):
    if $f == null then null elif $metric == "cycle_ns" then $f.real_time else $f[$metric] end;
  # Paired ratio: figure am of a over figure bm of b (x $scale) in every
  # repetition where both ran, next to each other; the median of those,
  # and as noise 1.4826 x their median absolute deviation (the spread of
  # one pair's ratio; null under three pairs).  $inv: b / a instead.
  def summary: if length == 0 then null else
      median as $q
      | {ratio: ($q | s4),
         noise: (if length < 3 then null else ((map(. - $q | fabs) | median) * 1.4826 | s4) end),
         pairs: map(s4)} end;
  def paired($a; $am; $b; $bm; $scale; $inv):
    if $a == null or $b == null or $a.error != null or $b.error != null then null
    else [($a.byrep // {}) | keys[] as $k
           | (repfig($a.byrep[$k]; $am)) as $x | (repfig($b.byrep[$k] // null; $bm)) as $y
           | select($x != null and $y != null and $x != 0 and $y != 0)
           | (if $inv then ($y * $scale) / $x else $x / ($y * $scale) end)]
      | summary end;
  # The ratio the result measured itself (ilv_ratio, interleaved with its
  # floor): the median of its repetitions' values, the same noise; a
  # repetition of fewer than ilv_min_pairs block pairs gives none.
  def own_ilv($a):
    if $a == null or $a.error != null then null
    else [($a.byrep // {})[] | select((.ilv_blocks // 0) >= ilv_min_pairs)
          | .ilv_ratio | select(. != null and . != 0)] | summary end;
  def ratio($a; $am; $b; $bm; $scale): paired($a; $am; $b; $bm; $scale; false);
  # floor / measured (latency) or measured / floor (throughput), paired.
  def efficiency($r):
    ($BY[$r.floor // ""]) as $f
    | if $f == null then null else
        (1 / ($r.floor_div // 1)) as $d
        | (if $r.higher_is_better then paired($r; $r.metric; $f; $r.metric; $d; false)
           else paired($r; $r.metric; $f; $r.metric; $d; true) end)
        | if . == null then null else {efficiency: .ratio, noise: .noise, pairs: .pairs} end end;

# committed baselines of the same machine type
  # (a QUICK run is only compared with a QUICK one: its hyperfine cycles and
  # min_time differ)
  ([$committed[] | select(.schema == "shmkit.bench/1" and .machine.machine_type == $M.machine_type
                          and (.run.quick == $R.quick))]
   | sort_by(.run.ended) | last) as $C
| ($C // {results: []} | .results | map({key: .name, value: .}) | from_entries) as $CB

# ---------------------------------------------------------------- targets
# bench/targets.json rows expanded into concrete (result, vs) pairs:
# {S} from the bounds' keys, {P} from places, {M}/{R} from modules (R: the
# raw sequence, mmap for mmap_region, else shm), {B} from the bytes of the
# results that match (hyperfine rows, whose size the run learns).
| ([$targets[0][] | . as $t
    | ($t.bounds | to_entries[]) as $b
    | ($t.places // [null])[] as $p
    | ($t.modules // [null])[] as $mod
    | ($t.result | gsub("\\{S\\}"; $b.key) | gsub("\\{P\\}"; $p // "") | gsub("\\{M\\}"; $mod // "")) as $res
    | ($t.vs | gsub("\\{S\\}"; $b.key) | gsub("\\{P\\}"; $p // "")
        | gsub("\\{R\\}"; (if $mod == "mmap_region" then "mmap" else "shm" end))) as $vs
    | if ($res | test("\\{B\\}")) then
        ("^" + ($res | gsub("\\{B\\}"; "(?<b>[0-9]+)")) + "$") as $re
        | ($all[] | .name | capture($re)? | .b) as $bytes
        | {row: $t.row, reason: $t.reason, result: ($res | gsub("\\{B\\}"; $bytes)),
           vs: ($vs | gsub("\\{B\\}"; $bytes)), metric: $t.metric,
           vs_metric: ($t.vs_metric // $t.metric), op: $t.op, bound: $b.value,
           interleaved: ($t.interleaved // false)}
      else {row: $t.row, reason: $t.reason, result: $res, vs: $vs, metric: $t.metric,
            vs_metric: ($t.vs_metric // $t.metric), op: $t.op, bound: $b.value,
            interleaved: ($t.interleaved // false)} end
    | . + {shape: (if $t.shape then $t.shape | gsub("\\{S\\}"; $b.key) else null end)}]) as $TT
| ([$TT[] | . as $t | $BY[$t.result] as $r | $BY[$t.vs] as $v
    | (if $r == null then null else ratio($r; $t.metric; $v; $t.vs_metric; 1) end) as $sep
    | (if $t.interleaved then own_ilv($r) else $sep end) as $q
    | $t + {ratio: ($q.ratio // null), noise: ($q.noise // null), pairs: ($q.pairs // null),
            pairing: (if $t.interleaved then "interleaved" else "adjacent" end),
            separate_ratio: (if $t.interleaved then ($sep.ratio // null) else null end),
            separate_noise: (if $t.interleaved then ($sep.noise // null) else null end),
            separate_pairs: (if $t.interleaved then ($sep.pairs // null) else null end)}
    # The row's floor in the module's layout (informational, judges
    # nothing): the floor protocol with its messages laid out as the
    # module's wire layout lays them out (peers/lamport_*_shape_tput,
    # peers/pingpong_{events,slots}_shape_rtt), interleaved with the plain floor
    # `vs` names; its ilv_ratio is what that protocol loses to the layout.
    # shape_efficiency: the result's ilv_ratio against the shaped one's
    # (shaped / result for latency), per repetition (one schedule block).
    | ($BY[$t.shape // ""]) as $c
    | (if $c == null then null else own_ilv($c) end) as $cq
    | (if $c == null or $r == null then null
       else paired($r; "ilv_ratio"; $c; "ilv_ratio"; 1; ($r.higher_is_better | not)) end) as $ce
    | . + {shape_ratio: ($cq.ratio // null), shape_noise: ($cq.noise // null),
           shape_pairs: ($cq.pairs // null), shape_efficiency: ($ce.ratio // null),
           shape_efficiency_noise: ($ce.noise // null), shape_efficiency_pairs: ($ce.pairs // null)}
    | . + {why_not_judged: (if $r == null then "not measured"
                           elif $q == null then (if $t.interleaved then "no interleaved ratio"
                                                 elif $v == null then "\($t.vs) not measured" else "no figure" end)
                           elif $R.quick then "QUICK"
                           elif ($q.pairs | length) < 3 then "\($q.pairs | length) paired repetitions (3 needed)"
                           elif $r.oversubscribed then "oversubscribed: \($r.spinning_procs) spinning processes on \($M.vcpus_allowed) vCPUs"
                           elif ($v.oversubscribed // false) then "\($t.vs) oversubscribed"
                           else null end)}
    | . + {judged: (.why_not_judged == null)}
    | . + {met: (if .judged | not then null
                 elif .op == "le" then .ratio <= .bound else .ratio >= .bound end),
           unsure: (if .judged | not then null
                    elif .noise == null then false
                    else ((.ratio - .bound) | fabs) <= .noise end)}
    | . + {verdict: (if .judged | not then "not judged: \(.why_not_judged)"
                     else (if .met then "met" else "missed" end) + (if .unsure then ", unsure" else "" end) end)}
   ]) as $TV

| [$all[] | . as $r
   | ($BY[$r.baseline // ""]) as $b
   | (if $b then ratio($r; $r.metric; $b; $r.metric; 1) else null end) as $rb
   | (efficiency($r)) as $eff
   | ($CB[$r.name]) as $old
   | $r + {
       efficiency: ($eff.efficiency // null), efficiency_noise: ($eff.noise // null),
       efficiency_pairs: ($eff.pairs // null),
       floor_missing: ($r.floor == null or $BY[$r.floor] == null),
       ratio_to_baseline: ($rb.ratio // null), ratio_noise: ($rb.noise // null),
       ratio_pairs: ($rb.pairs // null),
       baseline_missing: ($r.baseline != null and $b == null),
       baseline_like: (if $b == null then null
                       else ($b.bytes == $r.bytes and $b.placement == $r.placement and $b.mode == $r.mode) end),
       norm: (if $rb then $rb.ratio else $r.median end),
       norm_kind: (if $rb then "ratio" else "raw" end),
       committed_median: ($old.median // null),
       drift: (if $r.module == "peers" and $old != null and $old.median != null and $r.median != null
                  and $old.median != 0
               then ($r.median / $old.median - 1 | r4) else null end)}
   | . + {drift_flag: (.drift != null and (.drift | fabs) > 0.30)}
   | . + {self_check: (if ($r.pattern // "") | test("_ilv_(rtt|tput)$") | not then null
                       else own_ilv($r) as $q | self_check_band as $band
                       | {ilv_ratio: ($q.ratio // null), noise: ($q.noise // null), pairs: ($q.pairs // null),
                          band: $band,
                          broken: (if $q == null then null
                                   else $q.ratio < $band[0] or $q.ratio > $band[1] end)} end)}
   | .targets = [$TV[] | select(.result == $r.name) | del(.result)]
   | del(.byrep)
   | .median |= r1 | .mean |= r1 | .real_time_ns |= r1
   | .p50_ns |= r1 | .p90_ns |= r1 | .p99_ns |= r1 | .p999_ns |= r1
  ] as $res

| {schema: "shmkit.bench/1",
   machine: $M,
   run: ($R + {
     programs: [$ctx[] | {executable, date, load_avg, library_build_type, mhz_per_cpu}],
     failed_runs: [$runs[] | select(.error) | {name, rep, error}],
     skipped: $skipped,
     committed_baseline: (if $C then {revision: $C.machine.git.short, ended: $C.run.ended} else null end)}),
   results: ($res | sort_by(.module, .pattern, .placement, (.param // 0))),
   target_table: [$targets[0][] | {row, reason, result, vs, metric, vs_metric: (.vs_metric // .metric), op, bounds,
                                  interleaved: (.interleaved // false), shape: (.shape // null)}],
   targets: $TV,
   drifted_baselines: [$res[] | select(.drift_flag) | {name, median, committed_median, drift}],
   broken_instruments: [$res[] | select(.self_check.broken // false)
                        | {name, ilv_ratio: .self_check.ilv_ratio, band: .self_check.band}]}
