#!/usr/bin/env bash
# hygiene.sh - what a test run leaves behind in /tmp, $TMPDIR, /dev/shm and
# the slots flink directory.
#
#   scripts/hygiene.sh snapshot FILE   list the project's entries now into FILE
#   scripts/hygiene.sh check FILE      name every project entry that is new since
#                                      FILE and not in use; exit 1 if any
#
# The project's entries: shmk-* and shmkit-* in /tmp and $TMPDIR (the flink
# directory itself excepted: it is the library's rendezvous directory), every
# entry of /dev/shm, and every entry of the flink directory ($SHMK_SLOTS_DIR,
# default /tmp/shmkit-<euid>).  An entry is in use, and so not a leftover,
# while a live process maps it or holds it open, or while the pid its name
# carries (shmk-<what>-<pid>-...) is alive: another run on the same machine.
# HYGIENE_TMP_DIRS (colon-separated, default /tmp:$TMPDIR) and HYGIENE_SHM_DIR
# (default /dev/shm) point the check elsewhere (its own test does).
#
# r[impl harness.run.hygiene]
set -uo pipefail

flinkdir=${SHMK_SLOTS_DIR:-/tmp/shmkit-$(id -u)}

entries() {
	local d
	IFS=: read -r -a tmps <<<"${HYGIENE_TMP_DIRS:-/tmp:${TMPDIR:-}}"
	for d in "${tmps[@]}"; do
		[ -n "$d" ] && [ -d "$d" ] && (cd "$d" && pwd -P)
	done | sort -u | while IFS= read -r d; do
		find "$d" -mindepth 1 -maxdepth 1 \( -name 'shmk-*' -o -name 'shmkit-*' \) \
			! -path "$flinkdir" 2>/dev/null
	done
	find "${HYGIENE_SHM_DIR:-/dev/shm}" -mindepth 1 -maxdepth 1 2>/dev/null
	[ -d "$flinkdir" ] && find "$flinkdir" -mindepth 1 -maxdepth 1 2>/dev/null
	return 0
}

# Paths live processes map or hold open (their cwd too), one per line.
in_use_paths() {
	{
		find /proc/[0-9]*/fd /proc/[0-9]*/cwd -maxdepth 1 -printf '%l\n' 2>/dev/null
		awk '$6 ~ /^\// { print $6 }' /proc/[0-9]*/maps 2>/dev/null
	} | sort -u
}

pid_alive() { [ -n "$1" ] && [ -d "/proc/$1" ]; }

case ${1:-} in
snapshot)
	[ $# -eq 2 ] || { echo "usage: $0 snapshot FILE" >&2; exit 2; }
	entries | sort -u >"$2"
	;;
check)
	[ $# -eq 2 ] || { echo "usage: $0 check FILE" >&2; exit 2; }
	new=$(entries | sort -u | comm -13 "$2" -)
	[ -n "$new" ] || exit 0
	used=$(in_use_paths)
	bad=0
	while IFS= read -r e; do
		[ -e "$e" ] || continue
		if grep -qxF -- "$e" <<<"$used" || grep -qF -- "$e/" <<<"$used"; then
			continue
		fi
		pid=$(basename "$e" | sed -nE 's/^(sem\.)?shmk[a-z]*-([a-z_][a-z0-9_]*-)*([0-9]+)(-.*|\..*|)$/\3/p')
		pid_alive "$pid" && continue
		# named, not removed: on a shared machine it may be another
		# run's, between two of its tests
		echo "hygiene: leftover $e"
		bad=1
	done <<<"$new"
	exit $bad
	;;
*)
	echo "usage: $0 snapshot|check FILE" >&2
	exit 2
	;;
esac
