# check-lib.sh - sourced by the conformance/checks/*.sh scripts that check
# one clause: the evidence line and the summary line run-tests.sh reads.

# check_finish PROG SUITE TEST CLAUSE: uses $passed, $failed; appends the
# clause's evidence to $SHMK_EVIDENCE when set; prints the summary; returns
# non-zero when anything failed.
check_finish() {
	if [ -n "${SHMK_EVIDENCE:-}" ]; then
		local r=pass
		[ "$failed" -eq 0 ] || r=fail
		printf '{"program":"%s","suite":"%s","test":"%s","clause":"%s","result":"%s"}\n' \
			"$1" "$2" "$3" "$4" "$r" >>"$SHMK_EVIDENCE"
	fi
	echo "$1: $passed passed, $failed failed, 0 skipped"
	[ "$failed" -eq 0 ]
}
