#!/usr/bin/env bash
# fail-detail.sh - no bare failure return in the library.
#
# Every failing return must leave its own detail in shmk_errdetail()
# (r[common.error.detail]): through shmk_fail(rc, fmt, ...) or SHMK_FAIL(rc)
# (internal.h).  A line in impl/src/*.c that returns or assigns a literal
# failure code (-EXXX, SHMK_EXXX, -errno, -e, -err) without one of them would
# let a caller read an older failure's detail; this check names each.  The
# conformance tests check the same promise between processes
# (events/error_detail); this one catches the sites no test reaches.
#
# r[verify common.error.detail]
set -uo pipefail

prog=fail-detail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=conformance/checks/check-lib.sh
. "$root/conformance/checks/check-lib.sh"
code='(-E[A-Z0-9]+|SHMK_E[A-Z]+|-errno|-e|-err)'
passed=0
failed=0

shopt -s nullglob
files=("$root"/impl/src/*.c)
for f in "${files[@]}"; do
	# error.c defines the detail itself
	[ "$(basename "$f")" = error.c ] && continue
	bad=$(grep -nE "return $code;|[?:] $code( :|;)|^[[:space:]]+rc = $code;" "$f" |
		grep -vE 'SHMK_FAIL|shmk_fail')
	if [ -z "$bad" ]; then
		echo "  ok    ${f#"$root"/}"
		passed=$((passed + 1))
	else
		echo "  FAIL  ${f#"$root"/}: a failure without its detail"
		printf '%s\n' "$bad" | sed 's/^/        | /'
		failed=$((failed + 1))
	fi
done
[ ${#files[@]} -gt 0 ] || failed=1
check_finish "$prog" library no-bare-failure common.error.detail
