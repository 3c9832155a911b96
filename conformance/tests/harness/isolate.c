/* SPDX-License-Identifier: MIT */
/* harness tests: isolate() on known-bad bodies. */
#include "harness_test.h"

/* ------------------------------------------------------------ bad bodies */

static const unsigned line_assert = __LINE__ + 4;
static void body_assert(void)
{
	CU_ASSERT(1 == 1);
	CU_ASSERT(1 == 2);
}

static const unsigned line_fatal = __LINE__ + 3;
static void body_fatal(void)
{
	CU_ASSERT_FATAL(0);
	sh->after_fatal = 1;	/* never reached */
}

static void body_segv(void)
{
	/* ASan would turn the fault into its own report and SIGABRT; this test
	 * is about a plain signal death */
	signal(SIGSEGV, SIG_DFL);
	volatile int *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*p = 1;
}

static void body_hang(void)
{
	for (;;)
		pause();
}

static void body_exit3(void)
{
	_exit(3);
}

static void body_exit0(void)
{
	CU_ASSERT(1 == 2);	/* lost: the child leaves before shipping */
	_exit(0);
}

static void body_returns(void)
{
	__atomic_fetch_add(&sh->bodies_returned, 1, __ATOMIC_SEQ_CST);
}

static void body_ubsan(void)
{
	volatile int x = INT_MAX;
	x = x + 1;	/* signed overflow: UBSan, -fno-sanitize-recover -> abort */
	CU_ASSERT(x != 0);
}

static void body_asserts3(void)
{
	CU_ASSERT(1);
	CU_ASSERT_EQUAL(2, 2);
	CU_ASSERT_PTR_NULL(NULL);
}

static void body_skip(void)
{
	H_SKIP("not here");
}

static void body_leaks_peer(void)
{
	pid_t g = fork();
	if (g == 0) {
		for (;;)
			pause();
	}
	sh->grandchild = g;
}

/* ------------------------------------------------------------ isolate tests */

static void child_assert_shipped(void)
{
	struct h_capture cap;
	h_isolate_capture(body_assert, 10, &cap);
	CU_ASSERT_EQUAL_FATAL(cap.nfail, 1);
	CU_ASSERT_STRING_EQUAL(cap.fail[0].cond, "1 == 2");
	CU_ASSERT(ends_with(cap.fail[0].file, "tests/harness/isolate.c"));
	CU_ASSERT_EQUAL(cap.fail[0].line, line_assert);
	CU_ASSERT_EQUAL(cap.asserts, 2);
}

static void child_fatal_ends_body(void)
{
	struct h_capture cap;
	h_isolate_capture(body_fatal, 10, &cap);
	/* exactly the shipped assertion: no "exited with status", which is
	 * what a child that longjmp'd back into CUnit would produce */
	CU_ASSERT_EQUAL_FATAL(cap.nfail, 1);
	CU_ASSERT_STRING_EQUAL(cap.fail[0].cond, "0");
	CU_ASSERT_EQUAL(cap.fail[0].line, line_fatal);
	CU_ASSERT_EQUAL(sh->after_fatal, 0);
}

static void child_segv_reported(void)
{
	struct h_capture cap;
	h_isolate_capture(body_segv, 10, &cap);
	CU_ASSERT_EQUAL_FATAL(cap.nfail, 1);
	CU_ASSERT(has(cap.fail[0].cond, "killed by SIGSEGV"));
}

static void child_ubsan_reported(void)
{
#ifndef __SANITIZE_ADDRESS__
	H_SKIP("not a sanitizer build (make V=check)");
#endif
	struct h_capture cap;
	h_isolate_capture(body_ubsan, 10, &cap);
	CU_ASSERT_EQUAL_FATAL(cap.nfail, 1);
	/* abort_on_error=1 (the runner's and the harness's default) makes it
	 * SIGABRT; without it UBSan exits with status 1: both must fail */
	CU_ASSERT(has(cap.fail[0].cond, "killed by SIGABRT") ||
		  has(cap.fail[0].cond, "exited with status"));
}

static void child_hang_times_out(void)
{
	struct h_capture cap;
	char want[64];
	snprintf(want, sizeof(want), "timed out after %us", h_deadline(1));
	h_isolate_capture(body_hang, 1, &cap);
	CU_ASSERT_EQUAL_FATAL(cap.nfail, 1);
	CU_ASSERT(has(cap.fail[0].cond, want));
}

static void child_exit_nonzero(void)
{
	struct h_capture cap;
	h_isolate_capture(body_exit3, 10, &cap);
	CU_ASSERT_EQUAL_FATAL(cap.nfail, 1);
	CU_ASSERT(has(cap.fail[0].cond, "exited with status 3"));
	h_isolate_capture(body_exit0, 10, &cap);
	CU_ASSERT_EQUAL_FATAL(cap.nfail, 1);
	CU_ASSERT(has(cap.fail[0].cond, "status 0 before its body returned"));
}

static void child_body_returns(void)
{
	struct h_capture cap;
	h_isolate_capture(body_returns, 10, &cap);
	CU_ASSERT_EQUAL(cap.nfail, 0);
	CU_ASSERT_EQUAL(sh->bodies_returned, 1);
	/* `zz_suite_ran_once` below proves the child did not go on to run
	 * the rest of the suite */
}

static void child_skip_shipped(void)
{
	struct h_capture cap;
	h_isolate_capture(body_skip, 10, &cap);
	CU_ASSERT_EQUAL(cap.nfail, 0);
	CU_ASSERT(cap.skipped);
}

static void child_asserts_count(void)
{
	struct h_capture cap;
	h_isolate_capture(body_asserts3, 10, &cap);
	CU_ASSERT_EQUAL(cap.nfail, 0);
	CU_ASSERT_EQUAL(cap.asserts, 3);
}

static void child_only_asserts(void)
{
	/* The parent asserts nothing: this test passes (instead of failing
	 * with "made no assertion") only because the child's count is shipped. */
	isolate(body_asserts3, 10);
}

static void child_group_killed(void)
{
	struct h_capture cap;
	sh->grandchild = 0;
	h_isolate_capture(body_leaks_peer, 10, &cap);
	CU_ASSERT_EQUAL(cap.nfail, 0);
	pid_t g = sh->grandchild;
	CU_ASSERT_FATAL(g > 0);
	int pfd = (int)syscall(SYS_pidfd_open, g, 0);
	if (pfd < 0) {
		CU_ASSERT_EQUAL(errno, ESRCH);	/* already gone and reaped */
		return;
	}
	struct pollfd p = { pfd, POLLIN, 0 };
	int n = poll(&p, 1, (int)h_deadline(5) * 1000);
	CU_ASSERT_EQUAL(n, 1);	/* readable: the leaked peer has exited */
	if (n != 1)	/* harness broken: do not leave the peer holding our stdout */
		syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
	close(pfd);
}

static void zz_suite_ran_once(void)
{
	/* Last in the suite: a child that resumed the CUnit run would have
	 * run this first and made the parent's count 2. */
	sh->once_runs++;
	CU_ASSERT_EQUAL(sh->once_runs, 1);
}

const struct h_test isolate_tests[] = {
	H_TEST(child_assert_shipped, 0, "harness.isolate.ship"),
	H_TEST(child_fatal_ends_body, 0, "harness.isolate.fatal"),
	H_TEST(child_segv_reported, 0, "harness.isolate.crash"),
	H_TEST(child_ubsan_reported, 0, "harness.isolate.crash"),
	H_TEST(child_hang_times_out, 0, "harness.isolate.timeout"),
	H_TEST(child_exit_nonzero, 0, "harness.isolate.exit"),
	H_TEST(child_body_returns, 0, "harness.isolate.return"),
	H_TEST(child_skip_shipped, 0),
	H_TEST(child_asserts_count, 0, "harness.evidence.assert"),
	H_TEST(child_only_asserts, 0, "harness.evidence.assert"),
	H_TEST(child_group_killed, 0, "harness.isolate.group"),
	H_TEST(zz_suite_ran_once, 0),
	{ 0 },
};
