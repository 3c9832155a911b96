#!/usr/bin/env bash
# Proves the hostile-peer fuzz model: libFuzzer must crash the planted
# double-fetch validator (fuzz/planted/double_fetch.c) within 60 s.
# r[verify fuzz.peer.double-fetch]
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=build/fuzz/planted_double_fetch
name=fuzz-planted
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -x "$bin" ]; then
	echo "$name: $bin not built"; echo "$name: 0 passed, 1 failed, 0 skipped"; exit 1
fi
start=$(date +%s)
"$bin" -max_total_time=60 -seed=1 -artifact_prefix="$work/" "$work" >"$work/log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
if [ $rc -ne 0 ] && grep -qE 'SUMMARY: [A-Za-z]+Sanitizer|ERROR: libFuzzer: deadly signal' "$work/log"; then
	echo "$name: planted double fetch caught in ${secs}s ($(grep -m1 -oE 'SUMMARY: [A-Za-z]+Sanitizer: [a-z-]+' "$work/log"))"
	ev=${SHMK_EVIDENCE:-reports/out/evidence.jsonl}
	mkdir -p "$(dirname "$ev")"
	printf '{"program":"%s","suite":"fuzz","test":"planted_double_fetch","clause":"fuzz.peer.double-fetch","result":"pass"}\n' "$name" >>"$ev"
	echo "$name: 1 passed, 0 failed, 0 skipped"
	exit 0
fi
echo "$name: planted double fetch NOT caught in ${secs}s (exit $rc)"
tail -5 "$work/log"
echo "$name: 0 passed, 1 failed, 0 skipped"
exit 1
