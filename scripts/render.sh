#!/usr/bin/env bash
# render.sh - `make report`: reports/out/index.html (one static page, no
# network: inline CSS and inline SVG plots made by gnuplot) and index.md,
# joining whatever exists of reports/out/{check,spec-coverage,coverage,
# fuzz,stress,bench}.json.  A missing file gets a "not run" note; a file of
# an unknown shape is shown generically (its scalar fields and tables).
#
# Plots (from bench.json): efficiency (against the same-run floor) per
# primitive and size, latency percentiles per primitive against its
# baselines (spin and blocking), throughput against message size, slot
# latency against sample size.  The SVGs are also written to
# reports/out/plots/ for index.md.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${REPORT_OUT:-reports/out}
PLOTS=$OUT/plots
mkdir -p "$OUT" "$PLOTS"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

SECTIONS=(check spec-coverage coverage fuzz stress bench)
declare -A TITLE=([check]="Tests (make check)" [spec-coverage]="Spec coverage"
	[coverage]="Code coverage" [fuzz]="Fuzzing" [stress]="Stress" [bench]="Benchmarks")
declare -A HOWTO=([check]="make check" [spec-coverage]="make spec-coverage"
	[coverage]="make coverage" [fuzz]="make fuzz" [stress]="make stress" [bench]="make bench")

# ------------------------------------------------------------------ plots
B=$OUT/bench.json
have_gnuplot=false
command -v gnuplot > /dev/null && have_gnuplot=true
plot() { # name title ylabel xlabel logx datafile(series blocks) extra
	local name=$1 title=$2 ylabel=$3 xlabel=$4 logx=$5 data=$6 extra=${7:-}
	[ -s "$data" ] || return 0
	local n
	n=$(grep -c '^#S ' "$data")
	[ "$n" -gt 0 ] || return 0
	{
		echo "set terminal svg size 860,420 dynamic enhanced font 'sans,11' background '#ffffff'"
		echo "set output '$PLOTS/$name.svg'"
		echo "set title \"$title\""
		echo "set ylabel \"$ylabel\"; set xlabel \"$xlabel\""
		echo "set logscale y; set grid; set key outside right top; set style data linespoints"
		[ "$logx" = 1 ] && echo "set logscale x 2"
		echo "$extra"
		local i=0 cmd="plot"
		while IFS= read -r line; do
			if [[ $line == '#S '* ]]; then
				[ $i -gt 0 ] && echo "EOD$((i - 1))"
				echo "\$D$i << EOD$i"
				titles[$i]=${line#\#S }
				i=$((i + 1))
			else
				echo "$line"
			fi
		done < "$data"
		echo "EOD$((i - 1))"
		for ((k = 0; k < i; k++)); do
			cmd+=" \$D$k using 1:2 title \"${titles[$k]}\" lw 2 pt $((k % 12 + 1)),"
		done
		echo "${cmd%,}"
	} > "$TMP/$name.gp"
	gnuplot "$TMP/$name.gp" 2> "$TMP/$name.err" || { echo "render: gnuplot $name failed: $(head -3 "$TMP/$name.err")" >&2; rm -f "$PLOTS/$name.svg"; }
}

rm -f "$PLOTS"/*.svg
if [ -s "$B" ] && $have_gnuplot; then
	# Efficiency per primitive and size, like a roofline's distance to the
	# machine's limit: one plot per module (the peers' against the same
	# floors in their own), one curve per pattern and placement; floors, at
	# 1 by definition, left out.
	for mod in $(jq -r '[.results[] | select(.efficiency != null) | .module] | unique[]' "$B"); do
		jq -r --arg mod "$mod" '[.results[] | select(.module == $mod and .error == null and .efficiency != null and .floor != .name)]
		  | group_by([.pattern, .placement])[] | sort_by(.bytes)
		  | "#S \("\(.[0].pattern)/\(.[0].placement)" | gsub("_"; "\\\\_"))\(if .[0].oversubscribed then " (oversubscribed)" else "" end)",
		    (.[] | "\(.bytes) \(.efficiency)")' "$B" > "$TMP/eff-$mod.dat"
		plot "efficiency-$mod" "$(printf '%s' "$mod" | sed 's/_/\\\\_/g'): efficiency = floor / measured (latency), measured / floor (throughput)" \
			"efficiency (1 = the floor)" "payload bytes" 1 "$TMP/eff-$mod.dat" \
			"set yrange [0.001:2]; set format y '%g'; set format x '%.0b%B'"
	done
	# Latency percentiles (x: percentile as 1/(1-q), labelled), one curve per result.
	for kind in spin blocking; do
		jq -r --arg kind "$kind" '
		  .results[] | select(.error == null and .p50_ns != null and (.pattern | test("rtt$"))
		    and ((.mode == "spin") == ($kind == "spin")) and (.param == 64 or .param == 8 or .module == "slots")
		    and (.module != "slots" or .param == 64))
		  | "#S \(.name | gsub("_"; "\\\\_"))", "2 \(.p50_ns)", "10 \(.p90_ns // .p50_ns)", "100 \(.p99_ns)", "1000 \(.p999_ns)"' \
			"$B" > "$TMP/lat-$kind.dat"
		plot "latency-$kind" "Round-trip latency percentiles ($kind, 8/64 B)" "ns" "percentile" 1 \
			"$TMP/lat-$kind.dat" "set xtics ('p50' 2, 'p90' 10, 'p99' 100, 'p99.9' 1000); set logscale x 10"
	done
	# Throughput vs message size (messages per second).
	jq -r '[.results[] | select(.error == null and (.pattern | test("tput$")) and .items_per_second != null)]
	  | group_by(.pattern)[] | sort_by(.param)
	  | "#S \(.[0].module)/\(.[0].pattern | gsub("_"; "\\\\_"))\(if .[0].oversubscribed then " (oversubscribed)" else "" end)",
	    (.[] | "\(.param) \(.items_per_second)")' "$B" > "$TMP/tput.dat"
	plot throughput "Throughput vs message size (cross-CPU)" "messages/s" "message bytes" 1 "$TMP/tput.dat"
	jq -r '[.results[] | select(.error == null and (.pattern | test("tput$")) and .bytes_per_second != null)]
	  | group_by(.pattern)[] | sort_by(.param)
	  | "#S \(.[0].module)/\(.[0].pattern | gsub("_"; "\\\\_"))",
	    (.[] | "\(.param) \(.bytes_per_second / 1e9)")' "$B" > "$TMP/gbps.dat"
	plot bandwidth "Bandwidth vs message size (cross-CPU)" "GB/s" "message bytes" 1 "$TMP/gbps.dat"
	# Slot latency vs sample size.
	jq -r '[.results[] | select(.error == null and .module == "slots" and (.pattern | test("rtt$|op$")) and .p50_ns != null)]
	  | group_by(.pattern)[] | sort_by(.param)
	  | ("#S \(.[0].pattern | gsub("_"; "\\\\_")) p50", (.[] | "\(.param) \(.p50_ns)")),
	    ("#S \(.[0].pattern | gsub("_"; "\\\\_")) p99", (.[] | "\(.param) \(.p99_ns)"))' "$B" > "$TMP/slots.dat"
	plot slots "Slots: loan, commit, read, mark read vs sample size" "ns" "sample bytes" 1 "$TMP/slots.dat"
fi

# ------------------------------------------------------------------ sections
# jq library: HTML escaping and the generic renderer.
cat > "$TMP/lib.jq" << 'EOF'
def esc: tostring | gsub("&"; "&amp;") | gsub("<"; "&lt;") | gsub(">"; "&gt;") | gsub("\""; "&quot;");
def num: if type == "number" then
	(if (. | fabs) >= 1e9 then ((. / 1e9 * 100 | round) / 100 | tostring) + "G"
	 elif (. | fabs) >= 1e6 then ((. / 1e6 * 100 | round) / 100 | tostring) + "M"
	 elif (. | fabs) >= 1e4 then ((. / 1e3 * 10 | round) / 10 | tostring) + "k"
	 elif (. | fabs) >= 100 then (. | round | tostring)
	 elif . != 0 and (. | fabs) < 0.01 then (((. | fabs | log10 | floor) as $e | pow(10; 2 - $e)) as $m | (. * $m | round) / $m | tostring)
	 else ((. * 1000 | round) / 1000 | tostring) end)
	elif . == null then "-" else tostring end;
def scalar: type != "object" and type != "array";
def mdesc: tostring | gsub("\\|"; "\\|") | gsub("\n"; " ");
# Generic: scalar fields, then one table per array of objects.
def gen_html:
	. as $d
	| "<dl class=facts>" + ([to_entries[] | select(.value | scalar) | "<dt>\(.key | esc)</dt><dd>\(.value | esc)</dd>"] | join("")) + "</dl>"
	+ ([to_entries[] | select(.value | type == "object") | "<h4>\(.key | esc)</h4><dl class=facts>"
		+ ([.value | to_entries[] | select(.value | scalar) | "<dt>\(.key | esc)</dt><dd>\(.value | esc)</dd>"] | join("")) + "</dl>"] | join(""))
	+ ([to_entries[] | select(.value | type == "array" and length > 0 and (.[0] | type == "object"))
		| .key as $k | .value as $rows
		| ([$rows[0:50][] | to_entries[] | select(.value | scalar) | .key] | unique) as $all
		| ($all | map(select(. == "name" or . == "id" or . == "file" or . == "program" or . == "target")) + ($all | map(select(. != "name" and . != "id" and . != "file" and . != "program" and . != "target")))) [0:9] as $cols
		| "<h4>\($k | esc) (\($rows | length))</h4><div class=scroll><table><tr>" + ($cols | map("<th>\(esc)</th>") | join("")) + "</tr>"
		+ ([$rows[0:300][] | . as $r | "<tr>" + ($cols | map("<td>\($r[.] | if type == "number" then num else (. // "") end | esc)</td>") | join("")) + "</tr>"] | join(""))
		+ "</table></div>" + (if ($rows | length) > 300 then "<p>… \(($rows | length) - 300) more rows</p>" else "" end)] | join(""));
def gen_md:
	([to_entries[] | select(.value | scalar) | "- \(.key): \(.value | mdesc)"] | join("\n"))
	+ "\n" + ([to_entries[] | select(.value | type == "object") | "- \(.key): " + ([.value | to_entries[] | select(.value | scalar) | "\(.key)=\(.value)"] | join(", "))] | join("\n"))
	+ ([to_entries[] | select(.value | type == "array" and length > 0 and (.[0] | type == "object"))
		| .key as $k | .value as $rows
		| ([$rows[0:50][] | to_entries[] | select(.value | scalar) | .key] | unique) as $all
		| ($all | map(select(. == "name" or . == "id" or . == "file" or . == "program" or . == "target")) + ($all | map(select(. != "name" and . != "id" and . != "file" and . != "program" and . != "target")))) [0:8] as $cols
		| "\n\n**\($k)** (\($rows | length))\n\n| " + ($cols | join(" | ")) + " |\n|" + ($cols | map("---") | join("|")) + "|\n"
		+ ([$rows[0:100][] | . as $r | "| " + ($cols | map($r[.] | if type == "number" then num else (. // "" | mdesc) end) | join(" | ")) + " |"] | join("\n"))
		+ (if ($rows | length) > 100 then "\n\n… \(($rows | length) - 100) more rows" else "" end)] | join(""));
EOF

# Summary line per section (HTML badge + markdown line).
summary() { # name file
	local n=$1 f=$2
	case $n in
	check) jq -r '"\(.result // "?") — \(.totals.passed // "?") passed, \(.totals.failed // "?") failed, \(.totals.skipped // "?") skipped in \(.totals.programs // "?") programs"' "$f" ;;
	spec-coverage) jq -r '"\(if .passed then "gate passes" else "gate FAILS" end) — \(.totals.clauses // "?") clauses, \(.totals.ok // "?") ok, \(.totals.missing_impl // "?") missing impl, \(.totals.missing_test // "?") missing test, \(.totals.failed_test // "?") failed test"' "$f" ;;
	coverage) jq -r '"lines \(.totals.line_pct // "?") %, branches \(.totals.branch_pct // "?") %, functions \(.totals.functions_covered // "?")/\(.totals.functions // "?")"' "$f" ;;
	fuzz) jq -r 'if (.targets | type) == "array" then "\(.targets | length) targets" else "fuzz results" end' "$f" ;;
	bench) jq -r '"\(.results | length) results, \([.results[] | select(.error)] | length) errors; targets: " + (if .run.quick then "\(.targets | length), not judged (QUICK run)" else "\([.targets[] | select(.met == true)] | length) met, \([.targets[] | select(.met == false)] | length) missed, \([.targets[] | select(.unsure == true)] | length) unsure, \([.targets[] | select(.judged | not)] | length) not judged" end)' "$f" ;;
	*) jq -r '"\(.schema // "results")"' "$f" ;;
	esac 2> /dev/null || echo "unreadable JSON"
}

HTML=$OUT/index.html
MD=$OUT/index.md
GEN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
REV=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)

{
	cat << EOF
<!doctype html>
<html lang=en><head><meta charset=utf-8><title>shmkit report $REV</title>
<meta name=viewport content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:12.5px;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.scroll{overflow-x:auto;max-height:36em;overflow-y:auto}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:0 1em}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.ok{color:#176f2c;font-weight:600}.bad{color:#b00020;font-weight:600}.nj{color:#8a6d00}.muted{color:#777}
.badge{display:inline-block;padding:1px 8px;border-radius:9px;background:#eee;margin-left:.5em;font-size:12px}
nav a{margin-right:1em}svg{max-width:100%;height:auto}
</style></head><body>
<h1>shmkit report</h1>
<p class=muted>revision $REV, generated $GEN. Static page: no scripts, no network.</p>
<nav>$(for s in "${SECTIONS[@]}"; do printf '<a href="#%s">%s</a>' "$s" "${TITLE[$s]}"; done)</nav>
EOF
} > "$HTML.tmp"
{
	echo "# shmkit report"
	echo
	echo "revision $REV, generated $GEN"
	echo
} > "$MD.tmp"

for s in "${SECTIONS[@]}"; do
	f=$OUT/$s.json
	if [ ! -s "$f" ] || ! jq -e . "$f" > /dev/null 2>&1; then
		why="not run"
		[ -s "$f" ] && why="unreadable ($f is not JSON)"
		printf '<h2 id="%s">%s</h2><p class=nj>%s — run <code>%s</code>.</p>\n' "$s" "${TITLE[$s]}" "$why" "${HOWTO[$s]}" >> "$HTML.tmp"
		printf '## %s\n\n%s — run `%s`.\n\n' "${TITLE[$s]}" "$why" "${HOWTO[$s]}" >> "$MD.tmp"
		continue
	fi
	sum=$(summary "$s" "$f")
	printf '<h2 id="%s">%s<span class=badge>%s</span></h2>\n' "$s" "${TITLE[$s]}" "$(printf '%s' "$sum" | sed 's/&/\&amp;/g; s/</\&lt;/g')" >> "$HTML.tmp"
	printf '## %s\n\n%s\n\n' "${TITLE[$s]}" "$sum" >> "$MD.tmp"
	if [ "$s" != bench ]; then
		jq -r -L "$TMP" 'include "lib"; gen_html' "$f" >> "$HTML.tmp"
		jq -r -L "$TMP" 'include "lib"; gen_md' "$f" >> "$MD.tmp"
		echo >> "$MD.tmp"
		continue
	fi

	# ------------------------------------------------------------ bench
	jq -r -L "$TMP" 'include "lib";
	  .machine as $m | .run as $r
	  | "<dl class=facts><dt>machine</dt><dd>\($m.machine_type | esc) (\($m.vcpus_online) online), \($m.virtualization | esc), kernel \($m.kernel | esc), clocksource \($m.clocksource | esc)</dd>"
	  + "<dt>load at end</dt><dd>\($m.load["1m"]) / \($m.load["5m"]) / \($m.load["15m"])</dd>"
	  + "<dt>revision</dt><dd>\($m.git.short | esc)\(if $m.git.dirty then " (dirty tree)" else "" end)</dd>"
	  + "<dt>run</dt><dd>\($r.started) → \($r.ended) (\($r.seconds) s), \($r.repetitions) repetitions\(if $r.random_interleaving then ", random interleaving" else "" end), min_time \($r.min_time_s) s\(if $r.quick then ", <b>QUICK</b> (smoke run: figures are rough)" else "" end)</dd>"
	  + "<dt>committed baseline</dt><dd>\(if $r.committed_baseline then "rev \($r.committed_baseline.revision), \($r.committed_baseline.ended)" else "none for this machine type" end)</dd>"
	  + (if ($r.skipped | length) > 0 then "<dt>skipped</dt><dd>" + ([$r.skipped[] | "\(.program | esc): \(.reason | esc)"] | join("<br>")) + "</dd>" else "" end)
	  + (if (.drifted_baselines | length) > 0 then "<dt class=bad>baselines moved &gt;30%</dt><dd>" + ([.drifted_baselines[] | "\(.name | esc): \(.drift * 100 | round)%"] | join("<br>")) + "</dd>" else "" end)
	  + "</dl><p>Absolute nanoseconds on a shared VM are noise; the ratios to baselines measured in the same run are the figures to read. Ratios are median(result) / median(baseline) with noise = ratio × √(cv²+cv²).</p>"' "$B" >> "$HTML.tmp"
	echo '<h3>Targets</h3><p>The one target table is <code>bench/targets.json</code>; a full run says <i>met</i> or <i>missed</i> by the median ratio and adds <i>unsure</i> when the noise interval straddles the bound; a QUICK run is not judged.</p>' >> "$HTML.tmp"
	jq -r -L "$TMP" 'include "lib";
	  def verdict: if .met == true then "<span class=ok>\(.verdict | esc)</span>" elif .met == false then "<span class=bad>\(.verdict | esc)</span>" else "<span class=nj>\(.verdict // "not judged" | esc)</span>" end;
	  "<div class=scroll><table><tr><th>target</th><th>result</th><th>against</th><th>metric</th><th>bound</th><th>ratio</th><th>noise</th><th>verdict</th><th>why this bound</th></tr>"
	  + ([.targets[] | "<tr><td>\(.row | esc)</td><td>\(.result | esc)</td><td>\(.vs | esc)</td><td>\(.metric | esc)\(if .vs_metric != .metric then " / " + (.vs_metric | esc) else "" end)</td><td>\(if .op == "le" then "≤" else "≥" end) \(.bound)</td><td>\(.ratio | num)</td><td>\(.noise | num)</td><td>\(verdict)</td><td>\(.reason | esc)</td></tr>"] | join(""))
	  + "</table></div>"' "$B" >> "$HTML.tmp"
	echo '<h3 id="efficiency">Efficiency and plots</h3><p>Efficiency = floor / measured (latency) or measured / floor (throughput), the floor a result of the same run that moves the same bytes the same way (<code>floor</code> in the table below).</p>' >> "$HTML.tmp"
	nplots=0
	for p in $(cd "$PLOTS" && ls efficiency-*.svg 2> /dev/null | sed 's/\.svg$//') \
		latency-spin latency-blocking throughput bandwidth slots; do
		if [ -s "$PLOTS/$p.svg" ]; then
			sed -n '/<svg/,$p' "$PLOTS/$p.svg" >> "$HTML.tmp"
			nplots=$((nplots + 1))
		fi
	done
	[ $nplots -gt 0 ] || echo "<p class=nj>no plots (gnuplot missing or no data)</p>" >> "$HTML.tmp"
	echo '<h3>All results</h3>' >> "$HTML.tmp"
	jq -r -L "$TMP" 'include "lib";
	  "<div class=scroll><table><tr><th>result</th><th>bytes</th><th>placement</th><th>mode</th><th>floor</th><th>efficiency</th><th>noise</th><th>parks/msg</th><th>futex calls/msg</th><th>metric</th><th>median</th><th>cv</th><th>p50 ns</th><th>p99 ns</th><th>p99.9 ns</th><th>items/s</th><th>bytes/s</th><th>baseline</th><th>ratio</th><th>noise</th><th>flags</th></tr>"
	  + ([.results[] | "<tr><td>\(.name | esc)</td><td>\(.bytes | num)</td><td>\(.placement // "-")</td><td>\(.mode // "-")</td><td>\(if .floor == .name then "itself" else (.floor // "-" | esc) end)</td><td>\(.efficiency | num)</td><td>\(.efficiency_noise | num)</td><td>\(.counters.parks_per_msg | num)</td><td>\(.counters.futex_calls_per_msg | num)</td><td>\(.metric)</td><td>\(.median | num)</td><td>\(if .cv == null then "-" else "\((.cv * 1000 | round) / 10)%" end)</td><td>\(.p50_ns | num)</td><td>\(.p99_ns | num)</td><td>\(.p999_ns | num)</td><td>\(.items_per_second | num)</td><td>\(.bytes_per_second | num)</td><td>\(.baseline // "-" | esc)</td><td>\(.ratio_to_baseline | num)</td><td>\(.ratio_noise | num)</td><td>\([(if .oversubscribed then "<span class=nj>oversubscribed</span>" else empty end), (if .drift_flag then "<span class=bad>baseline moved \(.drift * 100 | round)%</span>" else empty end), (if .error then "<span class=bad>error: \(.error | esc)</span>" else empty end), (if .baseline_missing then "<span class=nj>baseline not measured</span>" else empty end), (if .baseline == null and .note != null then "<span class=muted>\(.note | esc)</span>" else empty end)] | join(" "))</td></tr>"] | join(""))
	  + "</table></div>"' "$B" >> "$HTML.tmp"

	jq -r -L "$TMP" 'include "lib";
	  .machine as $m | .run as $r
	  | "machine: \($m.machine_type), kernel \($m.kernel), rev \($m.git.short); run \($r.started) → \($r.ended), \($r.repetitions) repetitions\(if $r.quick then ", QUICK" else "" end)",
	    (if ($r.skipped | length) > 0 then "\nskipped: " + ([$r.skipped[] | "\(.program): \(.reason)"] | join("; ")) else empty end),
	    "", "### Targets (bench/targets.json)", "",
	    "| target | result | against | metric | bound | ratio | noise | verdict | why this bound |", "|---|---|---|---|---|---|---|---|---|",
	    (.targets[] | "| \(.row) | \(.result) | \(.vs) | \(.metric)\(if .vs_metric != .metric then " / " + .vs_metric else "" end) | \(if .op == "le" then "≤" else "≥" end) \(.bound) | \(.ratio | num) | \(.noise | num) | \(if .met == false then "**\(.verdict)**" else .verdict // "not judged" end) | \(.reason | mdesc) |"),
	    "", "### Results", "",
	    "| result | bytes | placement | mode | floor | efficiency | noise | metric | median | cv | p50 ns | p99 ns | p99.9 ns | ratio to baseline | noise | flags |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
	    (.results[] | "| \(.name) | \(.bytes | num) | \(.placement // "-") | \(.mode // "-") | \(if .floor == .name then "itself" else .floor // "-" end) | \(.efficiency | num) | \(.efficiency_noise | num) | \(.metric) | \(.median | num) | \(if .cv == null then "-" else "\((.cv * 1000 | round) / 10)%" end) | \(.p50_ns | num) | \(.p99_ns | num) | \(.p999_ns | num) | \(.ratio_to_baseline | num) | \(.ratio_noise | num) | \([(if .oversubscribed then "oversubscribed" else empty end), (if .drift_flag then "baseline moved" else empty end), (if .error then "error: \(.error | mdesc)" else empty end)] | join(", ")) |")' "$B" >> "$MD.tmp"
	echo >> "$MD.tmp"
	for p in $(cd "$PLOTS" && ls efficiency-*.svg 2> /dev/null | sed 's/\.svg$//') \
		latency-spin latency-blocking throughput bandwidth slots; do
		[ -s "$PLOTS/$p.svg" ] && printf '![%s](plots/%s.svg)\n\n' "$p" "$p" >> "$MD.tmp"
	done
done

echo '</body></html>' >> "$HTML.tmp"
mv "$HTML.tmp" "$HTML"
mv "$MD.tmp" "$MD"
echo "report: wrote $HTML and $MD" >&2
