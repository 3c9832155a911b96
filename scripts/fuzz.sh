#!/usr/bin/env bash
# make fuzz: runs each libFuzzer target (build/fuzz/<t>) for FUZZ_SECONDS with
# its dict, merges new inputs into reports/out/fuzz/corpus/<t> (the committed
# corpus stays small and reviewed), and writes reports/out/fuzz.json
# (schema shmkit.fuzz/1).  Fails if any target crashes.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=reports/out/fuzz
mkdir -p "$out"
results=()
failed=0
i=0
for t in "$@"; do
	i=$((i + 1))
	bin=build/fuzz/$t
	work=$out/corpus/$t
	mkdir -p "$work" "$out/artifacts/$t"
	rm -f "$out/artifacts/$t"/* # this run's findings only
	dict=()
	[ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
	# Per-target libFuzzer options (one per line), e.g. -max_len for op scripts.
	[ -f "fuzz/$t.options" ] && while read -r o; do
		[ -n "$o" ] && [ "${o#\#}" = "$o" ] && dict+=("$o")
	done <"fuzz/$t.options"
	seeds=()
	[ -d "fuzz/corpus/$t" ] && seeds+=("fuzz/corpus/$t")
	[ -d "fuzz/regress/$t" ] && seeds+=("fuzz/regress/$t")
	echo "[$i/$#] fuzz $t for ${secs}s" >&2
	log=$out/$t.log
	# -timeout: a hang is a finding (every call is bounded work).
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=25 "${dict[@]}" \
		-artifact_prefix="$out/artifacts/$t/" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	# Every crash is minimised for fuzz/regress/<t>/ (committed after the fix).
	for a in "$out/artifacts/$t"/crash-* "$out/artifacts/$t"/timeout-* "$out/artifacts/$t"/leak-*; do
		[ -f "$a" ] || continue
		"$bin" -minimize_crash=1 -max_total_time=60 -timeout=25 \
			-exact_artifact_path="$out/artifacts/$t/min-$(basename "$a")" "$a" \
			>>"$out/$t.minimize.log" 2>&1
		echo "$t: crash $a, minimised to $out/artifacts/$t/min-$(basename "$a")" \
			"(copy into fuzz/regress/$t/ once fixed)" >&2
	done
	execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	feats=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
	corpus=$(find "$work" -type f | wc -l)
	crashes=$(find "$out/artifacts/$t" -type f ! -name 'min-*' | wc -l)
	result=pass
	if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then result=crash; failed=1; fi
	results+=("$(jq -n --arg t "$t" --argjson s "$secs" --argjson e "${execs:-0}" \
		--argjson f "${feats:-0}" --argjson c "${cov:-0}" --argjson n "$corpus" \
		--argjson x "$crashes" --arg r "$result" \
		'{target:$t, seconds:$s, execs:$e, execs_per_s:(if $s>0 then ($e/$s|floor) else 0 end),
		  corpus:$n, features:$f, coverage:$c, crashes:$x, result:$r}')")
	printf '%-28s %-6s %10s execs %8s/s corpus %5s ft %6s\n' "$t" "$result" "${execs:-0}" \
		"$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" "$corpus" "${feats:-0}" >&2
done
printf '%s\n' "${results[@]}" | jq -s --arg rev "$(git rev-parse --short HEAD 2>/dev/null)" \
	'{schema:"shmkit.fuzz/1", git:$rev, generated_at:(now|todate), targets:.}' >reports/out/fuzz.json
echo "fuzz: wrote reports/out/fuzz.json" >&2
exit $failed
