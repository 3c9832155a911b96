# bench/merge.jq - joins one `make bench` run into reports/out/bench.json
# (schema shmkit.bench/1, documented in reports/schema/bench.md).
#
# Inputs (jq --slurpfile): $machine, $run, $metas (bench facts written by
# `prog --shmk_meta`), $gb (Google Benchmark JSON per program), $hf
# (hyperfine rows), $skipped, $committed (reports/baselines/*.json).

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

($machine[0]) as $M
| ($run[0]) as $R
| ([$metas[] | .[]] | map({key: .name, value: .}) | from_entries) as $META

# ---------------------------------------------------------------- gbench
| ([$gb[] | .benchmarks[] | select(.run_type == "iteration")
    | . + {key: (.run_name | sub("/manual_time$"; "") | sub("/repeats:[0-9]+$"; ""))}]
   | group_by(.key)) as $groups
| [$groups[] | (.[0].key) as $k | ($META[$k] // {name: $k, module: ($k | split("/")[0]),
      pattern: ($k | split("/")[1]), param: null, placement: "single", kind: "cpu",
      spinning_procs: 0, metric: "real_time", baseline: null, targets: []}) as $m
   | (map(select(.error_occurred | not))) as $ok
   | ($ok | map(if $m.metric == "real_time" then .real_time else .[$m.metric] end)
      | map(select(. != null))) as $vals
   | {name: $k, module: $m.module, pattern: $m.pattern, param: $m.param,
      placement: $m.placement, kind: $m.kind, source: "gbench",
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
      counters: ($ok | if length == 0 then {} else
         (map(to_entries | map(select(.key | test("^(futex_|wakes|parks|spins|offered|achieved|load_)"))))
          | add | group_by(.key) | map({key: .[0].key, value: (map(.value) | median)}) | from_entries) end),
      spinning_procs: ($m.spinning_procs // 0),
      oversubscribed: (($m.spinning_procs // 0) > $M.vcpus_allowed),
      baseline: $m.baseline, note: $m.note, targets_meta: ($m.targets // []),
      error: (if ($ok | length) == 0 then (.[0].error_message // "no successful repetition") else null end)}
  ] as $gres

# ---------------------------------------------------------------- hyperfine
# One row per (program, sub, procs): ns per create+attach+teardown cycle.
| [$hf[] | (.prog == "raw") as $raw
   | ((.times // [.mean]) | map(. * 1e9 / $R.hyperfine.cycles_per_process)) as $vals
   | {name: (if $raw then "peers/raw_\(.sub)_process/\(.procs)/process"
             else "\(.prog)/process_cycle/\(.procs)/process" end),
      module: (if $raw then "peers" else .prog end),
      pattern: (if $raw then "raw_\(.sub)_process" else "process_cycle" end),
      param: .procs, placement: "process", kind: "process", source: "hyperfine",
      metric: "cycle_ns", higher_is_better: false, unit: "ns",
      repetitions: ($vals | length), values: $vals,
      median: ($vals | median), mean: ($vals | mean), cv: ($vals | cv | r4),
      real_time_ns: ($vals | median), p50_ns: null, p90_ns: null, p99_ns: null, p999_ns: null,
      items_per_second: null, bytes_per_second: null, counters: {},
      spinning_procs: 0, oversubscribed: false,
      baseline: (if $raw then null
                 else "peers/raw_\(if .prog == "mmap_region" then "mmap" else "shm" end)_process/\(.procs)/process" end),
      note: "hyperfine: \(.command)",
      # the issue's target (<= 1.1 x raw) is for shm and mmap_region; the
      # other primitives' cycles are reported against raw shm without one
      targets_meta: (if $raw or ((.prog == "shm" or .prog == "mmap_region") | not) then [] else
         [{vs: "peers/raw_\(if .prog == "mmap_region" then "mmap" else "shm" end)_process/\(.procs)/process",
           metric: "cycle_ns", op: "le", bound: 1.1, vs_metric: "cycle_ns", scale: 1}] end),
      error: null}
  ] as $hres

| ($gres + $hres) as $all
| ($all | map({key: .name, value: .}) | from_entries) as $BY

# A figure of result r: its primary metric's median, or another counter's.
| def fig($r; $metric):
    if $r == null or $r.error != null then null
    elif $metric == $r.metric then $r.median
    elif $metric == "real_time" then $r.real_time_ns
    else $r[$metric] // $r.counters[$metric] end;
  def ratio($a; $am; $b; $bm; $scale):
    (fig($a; $am)) as $x | (fig($b; $bm)) as $y
    | if $x == null or $y == null or $y == 0 then null
      else ($x / ($y * $scale)) as $q
      | {ratio: ($q | r4),
         noise: (if $a.cv == null or $b.cv == null then null
                 else ($q * ((($a.cv * $a.cv) + ($b.cv * $b.cv)) | sqrt)) | r4 end)} end;

# committed baselines of the same machine type
  # (a QUICK run is only compared with a QUICK one: its hyperfine cycles and
  # min_time differ)
  ([$committed[] | select(.schema == "shmkit.bench/1" and .machine.machine_type == $M.machine_type
                          and (.run.quick == $R.quick))]
   | sort_by(.run.ended) | last) as $C
| ($C // {results: []} | .results | map({key: .name, value: .}) | from_entries) as $CB

| [$all[] | . as $r
   | ($BY[$r.baseline // ""]) as $b
   | (if $b then ratio($r; $r.metric; $b; $r.metric; 1) else null end) as $rb
   | ($CB[$r.name]) as $old
   | $r + {
       ratio_to_baseline: ($rb.ratio // null), ratio_noise: ($rb.noise // null),
       baseline_missing: ($r.baseline != null and $b == null),
       norm: (if $rb then $rb.ratio else $r.median end),
       norm_kind: (if $rb then "ratio" else "raw" end),
       committed_median: ($old.median // null),
       drift: (if $r.module == "peers" and $old != null and $old.median != null and $r.median != null
                  and $old.median != 0
               then ($r.median / $old.median - 1 | r4) else null end)}
   | . + {drift_flag: (.drift != null and (.drift | fabs) > 0.30)}
   | .targets = [$r.targets_meta[] | . as $t
        # vs "-": an absolute bound on one of this result's own figures
        | (if $t.vs == "-" then {name: "-", error: null, oversubscribed: false, cv: null,
                                 median: 1, metric: "one", real_time_ns: 1}
           else $BY[$t.vs] end) as $v
        | (if $t.vs == "-" then (fig($r; $t.metric)) as $x
                | (if $x == null then null else {ratio: ($x | r4), noise: null} end)
           else ratio($r; $t.metric; $v; $t.vs_metric // $t.metric; $t.scale // 1) end) as $q
        | {vs: $t.vs, metric: $t.metric, vs_metric: ($t.vs_metric // $t.metric), op: $t.op,
           bound: $t.bound, scale: ($t.scale // 1), ratio: ($q.ratio // null), noise: ($q.noise // null),
           judged: ($q != null and ($r.oversubscribed | not) and (($v.oversubscribed // false) | not)),
           why_not_judged: (if $q == null then (if $v == null then "baseline not measured" else "no figure" end)
                            elif $r.oversubscribed then "oversubscribed: \($r.spinning_procs) spinning processes on \($M.vcpus_allowed) vCPUs"
                            elif ($v.oversubscribed // false) then "baseline oversubscribed"
                            else null end)}
        | . + {met: (if .judged | not then null
                     elif .op == "le" then .ratio <= .bound else .ratio >= .bound end)}]
   | del(.targets_meta)
   | .median |= r1 | .mean |= r1 | .real_time_ns |= r1
   | .p50_ns |= r1 | .p90_ns |= r1 | .p99_ns |= r1 | .p999_ns |= r1
  ] as $res

| {schema: "shmkit.bench/1",
   machine: $M,
   run: ($R + {
     programs: [$gb[] | {executable: .context.executable, date: .context.date,
                         load_avg: .context.load_avg, library_build_type: .context.library_build_type,
                         mhz_per_cpu: .context.mhz_per_cpu}],
     skipped: $skipped,
     committed_baseline: (if $C then {revision: $C.machine.git.short, ended: $C.run.ended} else null end)}),
   results: ($res | sort_by(.module, .pattern, .placement, (.param // 0))),
   targets: [$res[] | .name as $n | .oversubscribed as $o | .targets[] | {result: $n} + .],
   drifted_baselines: [$res[] | select(.drift_flag) | {name, median, committed_median, drift}]}
