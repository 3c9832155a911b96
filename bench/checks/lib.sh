# bench/checks/lib.sh - the common start of the bench checks, sourced from
# the top of the tree: `. bench/checks/lib.sh NAME`.  Gives $tmp (removed at
# exit), ok / bad (counted), finish (the harness's summary line and the
# exit status) and dump_metas (every bench program's registrations).
set -uo pipefail
name=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
finish() {
	echo "$name: $pass passed, $fail failed, 0 skipped"
	[ "$fail" -eq 0 ]
}
# dump_metas DIR: DIR/<prog>.meta.json for every Google Benchmark program
# (`make check-build` builds them); a program that cannot dump is a failure.
dump_metas() {
	local b n
	mapfile -t BINS < <(make -s --no-print-directory bench-list | grep -v '/cycle-')
	for b in "${BINS[@]}"; do
		n=$(basename "$b")
		if ! [ -x "$b" ] || ! "$b" --shmk_meta="$1/$n.meta.json" > /dev/null 2>&1; then
			rm -f "$1/$n.meta.json"
			bad "$b: not built or cannot dump its registrations (make check-build builds it)"
		fi
	done
}
# synth_regs BYTES: two consistent registrations on stdout, a floor
# p/floor_rtt/BYTES/cross-cpu and a result m/rtt/BYTES/cross-cpu judged by it.
synth_regs() {
	jq -n --argjson b "$1" '
	  ("p/floor_rtt/\($b)/cross-cpu") as $f
	  | [{name: $f, module: "p", pattern: "floor_rtt", param: $b, bytes: $b,
	      placement: "cross-cpu", mode: "spin", metric: "p50_ns", floor: $f,
	      baseline: null, note: "floor"},
	     {name: "m/rtt/\($b)/cross-cpu", module: "m", pattern: "rtt", param: $b, bytes: $b,
	      placement: "cross-cpu", mode: "spin", metric: "p50_ns", floor: $f,
	      baseline: $f, note: null}]'
}
