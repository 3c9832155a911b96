#!/usr/bin/env bash
# compare-smoke.sh - a `make check` smoke test of the bench reporting tools
# (no benchmark runs): scripts/compare.sh on two synthetic shmkit.bench/1
# files must call a 20 % latency gain "faster", a 2 % wobble "same", a
# halved throughput "slower", a difference inside 3 x noise "same", an
# efficiency that rose 20 % "better" and one that fell by half "worse", and
# refuse a file of another schema; scripts/render.py must write a page with
# the bench section, the efficiency plot, the target table with its
# reasons and verdicts, the run's broken instruments, and "not run" notes for the missing reports.
cd "$(dirname "$0")/../.."
. bench/checks/lib.sh compare-smoke

mk() { # file x_median y_ratio z_tput w_ratio x_efficiency z_efficiency
	jq -n --argjson x "$2" --argjson y "$3" --argjson z "$4" --argjson w "$5" --argjson xe "$6" --argjson ze "$7" '
	def res($n; $med; $hb; $cv; $rn; $eff):
	  {name: $n, module: "t", pattern: ($n | split("/")[1]), param: 8, bytes: 8, placement: "cross-cpu",
	   mode: "spin", metric: (if $hb then "items_per_second" else "p50_ns" end), higher_is_better: $hb,
	   median: $med, cv: $cv, norm: $med, norm_kind: (if $rn == null then "raw" else "ratio" end),
	   floor: "t/floor_rtt/8/cross-cpu", efficiency: $eff, efficiency_noise: ($eff * 0.014),
	   ratio_to_baseline: (if $rn == null then null else $med end), ratio_noise: $rn,
	   oversubscribed: false, error: null, targets: [], p50_ns: $med, p99_ns: $med, p999_ns: $med};
	{schema: "shmkit.bench/1",
	 machine: {machine_type: "test x2", kernel: "k", git: {short: "abc"}, load: {"1m": 0, "5m": 0, "15m": 0}},
	 run: {ended: "2026-01-01T00:00:00Z", started: "2026-01-01T00:00:00Z", seconds: 1, repetitions: 5, quick: false, skipped: []},
	 results: [res("t/x_rtt/8/cross-cpu"; $x; false; 0.01; null; $xe),
	           res("t/y_rtt/8/cross-cpu"; $y; false; 0.01; 0.01; 0.5),
	           res("t/z_tput/8/cross-cpu"; $z; true; 0.01; null; $ze),
	           res("t/w_rtt/8/cross-cpu"; $w; false; 0.2; 0.2; 0.5)],
	 target_table: [{row: "t round trip", reason: "a synthetic reason", result: "t/x_rtt/{S}/cross-cpu",
	                 vs: "t/floor_rtt/{S}/cross-cpu", metric: "p50_ns", vs_metric: "p50_ns", op: "le", bounds: {"8": 1.3}}],
	 targets: [{row: "t round trip", reason: "a synthetic reason", result: "t/x_rtt/8/cross-cpu",
	            vs: "t/floor_rtt/8/cross-cpu", metric: "p50_ns", vs_metric: "p50_ns", op: "le", bound: 1.3,
	            ratio: 1.25, noise: 0.1, judged: true, met: true, unsure: true, verdict: "met, unsure"}],
	 drifted_baselines: []}' > "$1"
}
mk "$tmp/a.json" 100 1.0 1000000 1.0 0.5 0.8
mk "$tmp/b.json" 80 1.02 500000 1.3 0.6 0.4

if out=$(scripts/compare.sh "$tmp/a.json" "$tmp/b.json" 2>&1); then
	echo "$out"
	verdict() { echo "$out" | awk -v n="$1" '$1 == n { print $NF; exit }'; }
	[ "$(verdict t/x_rtt/8/cross-cpu)" = faster ] && ok "20% lower latency is faster" || bad "x: $(verdict t/x_rtt/8/cross-cpu)"
	[ "$(verdict t/y_rtt/8/cross-cpu)" = same ] && ok "2% is same" || bad "y: $(verdict t/y_rtt/8/cross-cpu)"
	[ "$(verdict t/z_tput/8/cross-cpu)" = slower ] && ok "half the throughput is slower" || bad "z: $(verdict t/z_tput/8/cross-cpu)"
	[ "$(verdict t/w_rtt/8/cross-cpu)" = same ] && ok "30% inside 3 x noise is same" || bad "w: $(verdict t/w_rtt/8/cross-cpu)"
	echo "$out" | grep -q '^summary: 1 faster, 1 slower, 2 same' && ok "summary line" || bad "summary line"
	effv() { echo "$out" | awk -v n="$1" '$1 == n { print $5; exit }'; }
	[ "$(effv t/x_rtt/8/cross-cpu)" = better ] && ok "efficiency 0.5 -> 0.6 is better" || bad "x efficiency: $(effv t/x_rtt/8/cross-cpu)"
	[ "$(effv t/z_tput/8/cross-cpu)" = worse ] && ok "efficiency 0.8 -> 0.4 is worse" || bad "z efficiency: $(effv t/z_tput/8/cross-cpu)"
	[ "$(effv t/y_rtt/8/cross-cpu)" = same ] && ok "equal efficiency is same" || bad "y efficiency: $(effv t/y_rtt/8/cross-cpu)"
	echo "$out" | grep -q '^efficiency: 1 better, 1 worse, 2 same' && ok "efficiency summary" || bad "efficiency summary"
else
	bad "compare.sh failed: $out"
fi

jq '.schema = "other/1"' "$tmp/a.json" > "$tmp/c.json"
if scripts/compare.sh "$tmp/a.json" "$tmp/c.json" > /dev/null 2>&1; then bad "accepted a foreign schema"; else ok "refuses a foreign schema"; fi

mkdir -p "$tmp/out"
jq '.broken_instruments = [{name: "t/x_ilv_rtt/8/cross-cpu", ilv_ratio: 1.25, band: [0.9, 1.1]}]' \
	"$tmp/b.json" > "$tmp/out/bench.json"
if REPORT_OUT="$tmp/out" scripts/render.py > "$tmp/render.log" 2>&1 && [ -s "$tmp/out/index.html" ] && [ -s "$tmp/out/index.md" ]; then
	grep -q 'id="bench"' "$tmp/out/index.html" && grep -q 't/x_rtt/8/cross-cpu' "$tmp/out/index.html" &&
		grep -q 'not run' "$tmp/out/index.html" && ! grep -qiE '<script|(src|href)="https?:' "$tmp/out/index.html" &&
		ok "render.py writes a static page" || bad "render.py page content"
	grep -q 'a synthetic reason' "$tmp/out/index.html" && grep -q 'met, unsure' "$tmp/out/index.html" &&
		grep -q 'a synthetic reason' "$tmp/out/index.md" &&
		ok "the page shows the target table with reasons and verdicts" || bad "target table missing from the page"
	grep -q 'broken instruments.*t/x_ilv_rtt/8/cross-cpu' "$tmp/out/index.html" &&
		grep -q 'broken instruments.*t/x_ilv_rtt/8/cross-cpu' "$tmp/out/index.md" &&
		ok "the page names a broken instrument" || bad "broken instrument missing from the page"
	if command -v gnuplot > /dev/null; then
		grep -q 'id="efficiency"' "$tmp/out/index.html" && [ -s "$tmp/out/plots/efficiency-t.svg" ] &&
			ok "the page has the efficiency plot" || bad "efficiency plot missing"
	fi
else
	bad "render.py failed: $(cat "$tmp/render.log")"
fi

finish
