/* SPDX-License-Identifier: MIT */
/*
 * gcov_exit.c - coverage builds count what forked children ran.
 *
 * Test and stress children leave with _exit(), which skips libgcov's
 * exit-time dump, so everything the library did in a child (most of what
 * the multiprocess tests exercise) would be missing from `make coverage`.
 * In the cov variant (SHMK_GCOV_WRAP) every program that links the harness
 * is linked with -Wl,--wrap=_exit, and this wrapper dumps the counters
 * first.  The child's counters still hold the parent's pre-fork counts, so
 * hit counts are inflated; whether a line or branch ran at all, which is
 * what coverage.json reports, is exact.  A child killed by a signal still
 * contributes nothing.
 */
#ifdef SHMK_GCOV_WRAP
#include <stdnoreturn.h>

extern void __gcov_exit(void) __attribute__((weak));
noreturn void __real__exit(int status);
noreturn void __wrap__exit(int status);

noreturn void __wrap__exit(int status)
{
	if (__gcov_exit)
		__gcov_exit();
	__real__exit(status);
}
#else
typedef int shmk_gcov_exit_unused; /* not a coverage build: nothing here */
#endif
