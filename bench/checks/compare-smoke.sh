#!/usr/bin/env bash
# compare-smoke.sh - a `make check` smoke test of the bench reporting tools
# (no benchmark runs): scripts/compare.sh on two synthetic shmkit.bench/1
# files must call a 20 % latency gain "faster", a 2 % wobble "same", a
# halved throughput "slower", a difference inside 3 x noise "same", and
# refuse a file of another schema; scripts/render.sh must write a page with
# the bench section and "not run" notes for the missing reports.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=compare-smoke
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

mk() { # file x_median y_ratio z_tput w_ratio
	jq -n --argjson x "$2" --argjson y "$3" --argjson z "$4" --argjson w "$5" '
	def res($n; $med; $hb; $kind; $cv; $rn):
	  {name: $n, module: "t", pattern: ($n | split("/")[1]), param: 8, placement: "cross-cpu",
	   kind: "spin", metric: (if $hb then "items_per_second" else "p50_ns" end), higher_is_better: $hb,
	   median: $med, cv: $cv, norm: $med, norm_kind: (if $rn == null then "raw" else "ratio" end),
	   ratio_to_baseline: (if $rn == null then null else $med end), ratio_noise: $rn,
	   oversubscribed: false, error: null, targets: [], p50_ns: $med, p99_ns: $med, p999_ns: $med};
	{schema: "shmkit.bench/1",
	 machine: {machine_type: "test x2", kernel: "k", git: {short: "abc"}, load: {"1m": 0, "5m": 0, "15m": 0}},
	 run: {ended: "2026-01-01T00:00:00Z", started: "2026-01-01T00:00:00Z", seconds: 1, repetitions: 5, quick: false, skipped: []},
	 results: [res("t/x_rtt/8/cross-cpu"; $x; false; "spin"; 0.01; null),
	           res("t/y_rtt/8/cross-cpu"; $y; false; "spin"; 0.01; 0.01),
	           res("t/z_tput/8/cross-cpu"; $z; true; "spin"; 0.01; null),
	           res("t/w_rtt/8/cross-cpu"; $w; false; "spin"; 0.2; 0.2)],
	 targets: [], drifted_baselines: []}' > "$1"
}
mk "$tmp/a.json" 100 1.0 1000000 1.0
mk "$tmp/b.json" 80 1.02 500000 1.3

if out=$(scripts/compare.sh "$tmp/a.json" "$tmp/b.json" 2>&1); then
	echo "$out"
	verdict() { echo "$out" | awk -v n="$1" '$1 == n { print $NF; exit }'; }
	[ "$(verdict t/x_rtt/8/cross-cpu)" = faster ] && ok "20% lower latency is faster" || bad "x: $(verdict t/x_rtt/8/cross-cpu)"
	[ "$(verdict t/y_rtt/8/cross-cpu)" = same ] && ok "2% is same" || bad "y: $(verdict t/y_rtt/8/cross-cpu)"
	[ "$(verdict t/z_tput/8/cross-cpu)" = slower ] && ok "half the throughput is slower" || bad "z: $(verdict t/z_tput/8/cross-cpu)"
	[ "$(verdict t/w_rtt/8/cross-cpu)" = same ] && ok "30% inside 3 x noise is same" || bad "w: $(verdict t/w_rtt/8/cross-cpu)"
	echo "$out" | grep -q '^summary: 1 faster, 1 slower, 2 same' && ok "summary line" || bad "summary line"
else
	bad "compare.sh failed: $out"
fi

jq '.schema = "other/1"' "$tmp/a.json" > "$tmp/c.json"
if scripts/compare.sh "$tmp/a.json" "$tmp/c.json" > /dev/null 2>&1; then bad "accepted a foreign schema"; else ok "refuses a foreign schema"; fi

mkdir -p "$tmp/out"
cp "$tmp/b.json" "$tmp/out/bench.json"
if REPORT_OUT="$tmp/out" scripts/render.sh > "$tmp/render.log" 2>&1 && [ -s "$tmp/out/index.html" ] && [ -s "$tmp/out/index.md" ]; then
	grep -q 'id="bench"' "$tmp/out/index.html" && grep -q 't/x_rtt/8/cross-cpu' "$tmp/out/index.html" &&
		grep -q 'not run' "$tmp/out/index.html" && ! grep -qiE '<script|(src|href)="https?:' "$tmp/out/index.html" &&
		ok "render.sh writes a static page" || bad "render.sh page content"
else
	bad "render.sh failed: $(cat "$tmp/render.log")"
fi

echo "$name: $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
