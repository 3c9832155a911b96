#!/usr/bin/env bash
# futexsp.sh - `make check` check of bench/futexsp.h's receive, the futex
# floor of peers/futex_{spin_park,wake}_rtt and events/wake_rtt (no
# benchmark runs, ~0.2 s): a failing peer's poke is never taken for a reply,
# and a measurer parked on a dead peer comes back (bench/checks/futexsp.c).
cd "$(dirname "$0")/../.."
. bench/checks/lib.sh futexsp
if ${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iimpl/include -Ibench -O2 \
	-o "$tmp/futexsp" bench/checks/futexsp.c 2> "$tmp/cc.err"; then
	while read -r line; do
		case $line in
		ok:*) ok "${line#ok: }" ;;
		*) bad "${line#FAIL: }" ;;
		esac
	done < <("$tmp/futexsp"; echo "FAIL: exit $?" | grep -v ': exit 0$')
else
	bad "bench/checks/futexsp.c does not build: $(cat "$tmp/cc.err")"
fi
finish
