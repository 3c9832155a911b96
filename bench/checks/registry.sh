#!/usr/bin/env bash
# registry.sh - `make check` check of the bench registrations (no benchmark
# runs): every bench program's `--shmk_meta` dump, joined, must give every
# result bytes, a placement, a wait mode and a floor that is registered and
# moves the same bytes the same way, and a baseline with the same bytes,
# placement and mode (or a note saying why there is none); every row of the
# target table (bench/targets.json) must name registered results
# (bench/checks/registry.jq).  It first proves the checker on synthetic
# registrations that break each rule.
cd "$(dirname "$0")/../.."
. bench/checks/lib.sh registry
check() { jq -r --slurpfile targets bench/targets.json -f bench/checks/registry.jq "$1"; }

# ------------------------------------------------------------ the checker
synth_regs 64 > "$tmp/good.json"
echo '[]' > "$tmp/t0.json"
if [ -z "$(jq -r --slurpfile targets "$tmp/t0.json" -f bench/checks/registry.jq "$tmp/good.json")" ]; then
	ok "a consistent registration passes"
else
	bad "a consistent registration is refused"
fi
expect() { # what jq-edit-of-good.json pattern
	jq "$2" "$tmp/good.json" > "$tmp/bad.json"
	out=$(jq -r --slurpfile targets "$tmp/t0.json" -f bench/checks/registry.jq "$tmp/bad.json")
	if echo "$out" | grep -q -- "$3"; then ok "refuses $1"; else bad "accepts $1 (got: $out)"; fi
}
expect "a result without a floor" '.[1].floor = null' "no floor"
expect "a floor of other bytes" '.[1].bytes = 8 | .[1].param = 8 | .[1].name = "m/rtt/8/cross-cpu"' "floor p/floor_rtt/64/cross-cpu moves 64 B"
expect "a baseline of another mode" '.[0].mode = "park"' "baseline p/floor_rtt/64/cross-cpu is 64 B cross-cpu park"
expect "a baseline of another placement" '.[1].placement = "same-cpu" | .[1].name = "m/rtt/64/same-cpu"' "is 64 B cross-cpu spin, this 64 B same-cpu"
expect "no baseline and no note" '.[1].baseline = null' "no baseline and no note"
expect "a mode that is not declared" '.[1].mode = "blocking"' "mode \"blocking\" is not one of"
expect "a result without bytes" '.[1].bytes = 0' "no bytes"
expect "an interleaved floor of other bytes" '.[0].bytes = 8 | .[1].ilv_floor = .[0].name' "interleaved floor p/floor_rtt/64/cross-cpu is 8 B"
expect "an interleaved floor of another mode" '.[0].mode = "park" | .[1].baseline = null | .[1].note = "n" | .[1].ilv_floor = .[0].name' "interleaved floor p/floor_rtt/64/cross-cpu is 64 B cross-cpu park"
# the one exception to a like-mode interleaved floor: a spin-then-park
# receiver kept busy against its module's spinning queue of the same size
# and placement; any other spin-then-park row against any spin floor (a
# wake round trip against the ping-pong) is refused
jq --argjson b 64 '. + [
    {name: "e/spsc_rtt/\($b)/cross-cpu", module: "e", pattern: "spsc_rtt", param: $b, bytes: $b,
     placement: "cross-cpu", mode: "spin", metric: "p50_ns", floor: .[0].name, baseline: null, note: "n"},
    {name: "e/spin_park_rtt/\($b)/cross-cpu", module: "e", pattern: "spin_park_rtt", param: $b, bytes: $b,
     placement: "cross-cpu", mode: "spin-then-park", metric: "p50_ns", floor: .[0].name, baseline: null,
     note: "n", ilv_floor: "e/spsc_rtt/\($b)/cross-cpu"}]' "$tmp/good.json" > "$tmp/sp.json"
if [ -z "$(jq -r --slurpfile targets "$tmp/t0.json" -f bench/checks/registry.jq "$tmp/sp.json")" ]; then
	ok "a spin-then-park round trip interleaved with its module's spinning queue passes"
else
	bad "a spin-then-park round trip interleaved with its module's spinning queue is refused"
fi
cp "$tmp/good.json" "$tmp/good0.json"
cp "$tmp/sp.json" "$tmp/good.json"
expect "a wake round trip interleaved with a spinning ping-pong" \
	'.[3] |= (.pattern = "wake_rtt" | .name = "e/wake_rtt/64/cross-cpu" | .ilv_floor = "p/floor_rtt/64/cross-cpu")' \
	"e/wake_rtt/64/cross-cpu: interleaved floor p/floor_rtt/64/cross-cpu is 64 B cross-cpu spin"
expect "a spin-then-park round trip interleaved with another spinning floor" \
	'.[3].ilv_floor = "p/floor_rtt/64/cross-cpu"' "e/spin_park_rtt/64/cross-cpu: interleaved floor p/floor_rtt/64/cross-cpu"
expect "a spin-then-park round trip interleaved with another module's spinning queue" \
	'.[2] |= (.module = "f" | .name = "f/spsc_rtt/64/cross-cpu") | .[3].ilv_floor = "f/spsc_rtt/64/cross-cpu"' \
	"e/spin_park_rtt/64/cross-cpu: interleaved floor f/spsc_rtt/64/cross-cpu"
cp "$tmp/good0.json" "$tmp/good.json"
jq '.[1].ilv_floor = null' "$tmp/good.json" > "$tmp/bad.json"
echo '[{"row": "r", "reason": "w", "result": "m/rtt/{S}/cross-cpu", "vs": "p/floor_rtt/{S}/cross-cpu",
  "metric": "p50_ns", "op": "le", "bounds": {"64": 1.3}, "interleaved": true}]' > "$tmp/t1.json"
if jq -r --slurpfile targets "$tmp/t1.json" -f bench/checks/registry.jq "$tmp/bad.json" | grep -q "runs no floor interleaved"; then
	ok "refuses an interleaved target row on a result that runs no floor interleaved"
else
	bad "accepts an interleaved target row on a result that runs no floor interleaved"
fi

echo '[{"row": "r", "reason": "w", "result": "m/rtt/{S}/cross-cpu", "vs": "p/floor_rtt/{S}/cross-cpu",
  "metric": "p50_ns", "op": "le", "bounds": {"64": 1.3}, "shape": "m/shape_rtt/{S}/cross-cpu"}]' > "$tmp/t2.json"
if jq -r --slurpfile targets "$tmp/t2.json" -f bench/checks/registry.jq "$tmp/good.json" | grep -q "shape m/shape_rtt/64/cross-cpu is not registered"; then
	ok "refuses a target row whose shaped floor is not registered"
else
	bad "accepts a target row whose shaped floor is not registered"
fi

# ------------------------------------------------------------ the real ones
mkdir "$tmp/metas"
before=$fail
dump_metas "$tmp/metas"
if [ "$fail" = "$before" ]; then
	jq -s 'add' "$tmp"/metas/*.meta.json > "$tmp/regs.json"
	n=$(jq length "$tmp/regs.json")
	out=$(check "$tmp/regs.json")
	if [ -z "$out" ]; then
		ok "$n registrations: every one has bytes, placement, mode, a like-for-like floor and baseline (or a note); every target names registered results"
	else
		echo "$out" | sed 's/^/  /'
		bad "$(echo "$out" | wc -l) problems in the $n registrations"
	fi
fi

finish
