# bench/checks/registry.jq - checks the bench registrations (the
# concatenated `prog --shmk_meta` dumps, one array) and the target table
# ($targets: bench/targets.json).  Prints one line per problem, nothing
# when all is well.  Run by bench/checks/registry.sh in `make check`.

def placements: ["same-cpu", "cross-cpu", "single"];
def modes: ["spin", "spin-then-park", "park", "none"];
def metrics: ["p50_ns", "p99_ns", "real_time", "items_per_second", "bytes_per_second"];

. as $regs
| ($regs | map({key: .name, value: .}) | from_entries) as $BY
| ($regs | group_by(.name) | map(select(length > 1) | "\(.[0].name): registered \(length) times")[]),
  ($regs[] | . as $r
   | (if ($r.name | split("/")) != [$r.module, $r.pattern, ($r.param | tostring), $r.placement]
      then "\($r.name): name is not <module>/<pattern>/<param>/<placement> of its facts" else empty end),
     (if ($r.bytes | type) != "number" or $r.bytes <= 0 then "\($r.name): no bytes" else empty end),
     (if (placements | index($r.placement)) == null then "\($r.name): placement \($r.placement | tojson) is not one of \(placements | join(", "))" else empty end),
     (if (modes | index($r.mode)) == null then "\($r.name): mode \($r.mode | tojson) is not one of \(modes | join(", "))"
      elif ($r.mode == "none") != ($r.placement == "single") then "\($r.name): mode none is for single-process results only, and they have no other mode"
      else empty end),
     (if (metrics | index($r.metric)) == null then "\($r.name): metric \($r.metric | tojson) unknown" else empty end),
     (if ($r.floor // "") == "" then "\($r.name): no floor"
      elif $BY[$r.floor] == null then "\($r.name): floor \($r.floor) is not registered"
      elif $BY[$r.floor].bytes != $r.bytes or $BY[$r.floor].placement != $r.placement then
        "\($r.name): floor \($r.floor) moves \($BY[$r.floor].bytes) B \($BY[$r.floor].placement), this \($r.bytes) B \($r.placement)"
      elif $BY[$r.floor].floor != $r.floor then "\($r.name): floor \($r.floor) is not a floor (its own floor is \($BY[$r.floor].floor))"
      else empty end),
     # an interleaved floor (bench/ilv.h) is a floor run between the same
     # two processes: the same bytes, placement and mode as the result, or
     # for the spin-then-park receiver kept busy (<module>/spin_park_rtt),
     # only its module's spinning queue of the same bytes and placement
     # (<module>/spsc_rtt, events'), the protocol it must match
     (if ($r.ilv_floor // null) == null then empty
      elif $BY[$r.ilv_floor] == null then "\($r.name): interleaved floor \($r.ilv_floor) is not registered"
      elif [$BY[$r.ilv_floor] | .bytes, .placement] != [$r.bytes, $r.placement]
           or ($BY[$r.ilv_floor].mode != $r.mode
               and ([$r.pattern, $r.mode, $BY[$r.ilv_floor].mode] != ["spin_park_rtt", "spin-then-park", "spin"]
                    or $r.ilv_floor != "\($r.module)/spsc_rtt/\($r.param)/\($r.placement)")) then
        "\($r.name): interleaved floor \($r.ilv_floor) is \($BY[$r.ilv_floor].bytes) B \($BY[$r.ilv_floor].placement) \($BY[$r.ilv_floor].mode), this \($r.bytes) B \($r.placement) \($r.mode)"
      else empty end),
     (if $r.baseline == null then
        (if ($r.note // "") == "" then "\($r.name): no baseline and no note saying why" else empty end)
      elif $BY[$r.baseline] == null then "\($r.name): baseline \($r.baseline) is not registered"
      else $BY[$r.baseline] as $b
        | (if [$b.bytes, $b.placement, $b.mode] != [$r.bytes, $r.placement, $r.mode] then
             "\($r.name): baseline \($r.baseline) is \($b.bytes) B \($b.placement) \($b.mode), this \($r.bytes) B \($r.placement) \($r.mode)"
           else empty end) end)),
  ($targets[0][] | . as $t
   | (if ($t.reason // "") == "" or ($t.row // "") == "" then "target \($t.result): no row or reason" else empty end),
     (if (["le", "ge"] | index($t.op)) == null then "target \($t.result): op \($t.op | tojson)" else empty end),
     (if ($t.bounds | type) != "object" or ($t.bounds | length) == 0 or ([$t.bounds[] | type] | unique) != ["number"]
      then "target \($t.result): bounds must be numbers by size" else empty end),
     # rows on whole-process (hyperfine) results name sizes the run learns
     (if ($t.result + $t.vs) | test("\\{[BM]\\}") then empty else
        ($t.bounds | keys[]) as $s | ($t.places // [null])[] as $p
        | ($t.result | gsub("\\{S\\}"; $s) | gsub("\\{P\\}"; $p // "")) as $res
        | ($t.vs | gsub("\\{S\\}"; $s) | gsub("\\{P\\}"; $p // "")) as $vs
        | (if $BY[$res] == null then "target \($t.row): result \($res) is not registered" else empty end),
          (if $BY[$vs] == null then "target \($t.row): \($vs) is not registered" else empty end),
          (if $BY[$res] != null and (metrics | index($t.metric)) == null then "target \($t.row): metric \($t.metric)" else empty end),
          # an interleaved row is judged by the ratio to the floor the
          # result runs interleaved: that must be the row's vs
          (if ($t.interleaved // false) and $BY[$res] != null and $BY[$res].ilv_floor != $vs
           then "target \($t.row): \($res) runs \($BY[$res].ilv_floor // "no floor") interleaved, not \($vs)" else empty end),
          # a shaped floor is read as its ilv_ratio against the same
          # floor protocol: registered, and running `vs` interleaved
          (if $t.shape == null then empty
           else ($t.shape | gsub("\\{S\\}"; $s)) as $c
           | if $BY[$c] == null then "target \($t.row): shape \($c) is not registered"
             elif $BY[$c].ilv_floor != $vs then "target \($t.row): shape \($c) runs \($BY[$c].ilv_floor // "no floor") interleaved, not \($vs)"
             else empty end end)
      end))
