#!/usr/bin/env bash
# spec-coverage-gate.sh - the last program `make check` runs: the
# spec-coverage gate in STRICT mode over the evidence of the current run.
#
#   scripts/spec-coverage-gate.sh [--root DIR] [--evidence FILE] [--out DIR]
#
# The evidence file is $SHMK_EVIDENCE (exported by scripts/run-tests.sh),
# else reports/out/evidence.jsonl; spec-coverage.json goes next to it unless
# --out says otherwise.  Ends with `spec-coverage: 1 passed, 0 failed, 0
# skipped` (exit 0) or `spec-coverage: 0 passed, 1 failed, 0 skipped` (exit 1).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
evidence=${SHMK_EVIDENCE:-}
out=
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=${2:?}; shift 2 ;;
	--evidence) evidence=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
[ -n "$evidence" ] || evidence=$root/reports/out/evidence.jsonl
[ -n "$out" ] || out=$(dirname "$evidence")

STRICT=1 "$here/spec-coverage.py" --strict --root "$root" --evidence "$evidence" --out "$out" \
	${args[@]+"${args[@]}"} 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	echo "spec-coverage: 1 passed, 0 failed, 0 skipped"
	exit 0
fi
echo "spec-coverage: 0 passed, 1 failed, 0 skipped"
exit 1
