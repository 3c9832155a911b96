/* SPDX-License-Identifier: MIT */
/*
 * The harness proves itself: known-bad bodies run under isolate() (through
 * h_isolate_capture, which stores what isolate() would replay) and each
 * must come back as the right failure; small h_main programs re-executed
 * as roles must print the right counts, exit status and evidence.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Shared with isolate() children; allocated before any fork. */
struct shared {
	int after_fatal;	/* set if a body ran past its fatal assertion */
	int once_runs;		/* how often the suite's last test ran */
	int bodies_returned;
	pid_t grandchild;
	int arrived;
	int seen[3];
	int barrier_rc[3];
};
static struct shared *sh;

static int suite_init(void)
{
	sh = t_shared_alloc(sizeof(*sh));
	return sh ? 0 : 1;
}

static int suite_cleanup(void)
{
	t_shared_free(sh, sizeof(*sh));
	sh = NULL;
	return 0;
}

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle) != NULL;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && strcmp(s + a - b, tail) == 0;
}

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
	CU_ASSERT(ends_with(cap.fail[0].file, "tests/harness.c"));
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

/* ------------------------------------------------------------ mini programs run as roles */

static void fake_verify(const char *id)
{
	h_spec_verify(id);	/* ids that only exist in the mini program */
}

static void mbody_fail(void)
{
	CU_ASSERT(0);
}
static void mbody_ok(void)
{
	CU_ASSERT(1);
}
static void m_pass(void)
{
	CU_ASSERT(1);
}
static void m_fail_in_child(void)
{
	isolate(mbody_fail, 10);
}
static void m_skip(void)
{
	H_SKIP("mini skip");
}
static void m_noassert(void)
{
	fake_verify("mini.x.noassert");
}
/* registered with its clause (the field, not H_TEST: no spec defines it) */
static const char *const m_pass_clauses[] = { "mini.x.pass", NULL };
static void m_verified_pass(void)
{
	CU_ASSERT(1);
}
static void m_verified_child(void)
{
	fake_verify("mini.x.child");
	isolate(mbody_ok, 10);
}
static void m_verified_skip(void)
{
	fake_verify("mini.x.skip");
	H_SKIP("mini skip 2");
}
static int m_bad_init(void)
{
	return -1;
}
static const struct h_test mini_a[] = {
	{ "pass", m_pass, 0, H_CLAUSES() },
	{ "fail_in_child", m_fail_in_child, 0, H_CLAUSES() },
	{ "skip", m_skip, 0, H_CLAUSES() },
	{ "noassert", m_noassert, 0, H_CLAUSES() },
	{ "verified_pass", m_verified_pass, 0, m_pass_clauses },
	{ "verified_child", m_verified_child, 0, H_CLAUSES() },
	{ "verified_skip", m_verified_skip, 0, H_CLAUSES() },
	{ 0 },
};
static const struct h_test mini_broken[] = {
	{ "one", m_pass, 0, H_CLAUSES() },
	{ "two", m_pass, 0, H_CLAUSES() },
	{ 0 },
};
static const struct h_suite mini_suites[] = {
	{ "a", NULL, NULL, mini_a },
	{ "broken", m_bad_init, NULL, mini_broken },
	{ NULL, NULL, NULL, NULL },
};
static int role_mini(int argc, char **argv)
{
	return h_main(argc, argv, "mini", mini_suites, NULL);
}

static const struct h_test allskip_t[] = {
	{ "s1", m_skip, 0, H_CLAUSES() },
	{ "s2", m_verified_skip, 0, H_CLAUSES() },
	{ 0 },
};
static const struct h_suite allskip_suites[] = {
	{ "k", NULL, NULL, allskip_t },
	{ NULL, NULL, NULL, NULL },
};
static int role_allskip(int argc, char **argv)
{
	return h_main(argc, argv, "allskip", allskip_suites, NULL);
}

static void e_fork_returns(void)
{
	pid_t p = fork();
	if (p == 0)
		return;	/* the bug: a raw child returning into CUnit */
	int st;
	waitpid(p, &st, 0);
	CU_ASSERT(1);
}
static void e_later(void)
{
	printf("later-ran\n");
	CU_ASSERT(1);
}
static const struct h_test escape_t[] = {
	{ "fork_returns", e_fork_returns, 0, H_CLAUSES() },
	{ "later", e_later, 0, H_CLAUSES() },
	{ 0 },
};
static const struct h_suite escape_suites[] = {
	{ "e", NULL, NULL, escape_t },
	{ NULL, NULL, NULL, NULL },
};
static int role_escape(int argc, char **argv)
{
	return h_main(argc, argv, "escape", escape_suites, NULL);
}

static void nonl_body(void)
{
	printf("child-partial");
	CU_ASSERT(1);
}
static void nonl_test(void)
{
	printf("partial");
	CU_ASSERT(1);
}
static void nonl_child(void)
{
	isolate(nonl_body, 10);
	CU_ASSERT(0);
}
static const struct h_test nonl_t[] = {
	{ "t", nonl_test, 0, H_CLAUSES() },
	{ "c", nonl_child, 0, H_CLAUSES() },
	{ 0 },
};
static const struct h_suite nonl_suites[] = {
	{ "n", NULL, NULL, nonl_t },
	{ NULL, NULL, NULL, NULL },
};
static int role_nonl(int argc, char **argv)
{
	return h_main(argc, argv, "nonl", nonl_suites, NULL);
}

/* Run a role with stdout+stderr to a file and SHMK_EVIDENCE to another;
 * return its status and the output (malloc'd). */
struct run_out {
	int status;
	char out[16384];
	char ev[4096];
};
static struct run_out *ro;

static void slurp(const char *path, char *buf, size_t len)
{
	buf[0] = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

static const char *run_role_name;
static const char *run_role_arg;
static void body_run_role(void)
{
	char out[PATH_MAX], ev[PATH_MAX];
	CU_ASSERT_FATAL(h_unique_path(out, sizeof(out), "out") != NULL);
	CU_ASSERT_FATAL(h_unique_path(ev, sizeof(ev), "ev") != NULL);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	int saved = dup(1), saved2 = dup(2);
	setenv("SHMK_EVIDENCE", ev, 1);
	dup2(fd, 1);
	dup2(fd, 2);
	const char *args[] = { run_role_arg, NULL };
	pid_t p = h_spawn_role(run_role_name, run_role_arg ? args : NULL);
	dup2(saved, 1);
	dup2(saved2, 2);
	close(fd);
	close(saved);
	close(saved2);
	CU_ASSERT_FATAL(p > 0);
	ro->status = h_wait(p, 30);
	slurp(out, ro->out, sizeof(ro->out));
	slurp(ev, ro->ev, sizeof(ro->ev));
}

static void run_role(const char *name, const char *arg)
{
	run_role_name = name;
	run_role_arg = arg;
	memset(ro, 0, sizeof(*ro));
	isolate(body_run_role, 60);
}

static int count_of(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char *last_line(char *s)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		s[--n] = 0;
	char *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

static int run_init(void)
{
	ro = t_shared_alloc(sizeof(*ro));
	return ro ? 0 : 1;
}

static int run_cleanup(void)
{
	t_shared_free(ro, sizeof(*ro));
	return 0;
}

static void counts_and_status(void)
{
	run_role("mini", NULL);
	CU_ASSERT_EQUAL(ro->status, 1);
	CU_ASSERT(has(ro->out, "PASS a/pass\n"));
	CU_ASSERT(has(ro->out, "FAIL a/fail_in_child "));
	CU_ASSERT(has(ro->out, "SKIP a/skip: mini skip\n"));
	CU_ASSERT(has(ro->out, "FAIL broken/one suite-init:0:"));
	CU_ASSERT(has(ro->out, "FAIL broken/two suite-init:0:"));
	CU_ASSERT_EQUAL(count_of(ro->out, "mini: "), 1);
	CU_ASSERT_STRING_EQUAL(last_line(ro->out), "mini: 3 passed, 4 failed, 2 skipped");
}

static void all_skipped_is_77(void)
{
	run_role("allskip", NULL);
	CU_ASSERT_EQUAL(ro->status, 77);
	CU_ASSERT_STRING_EQUAL(last_line(ro->out), "allskip: 0 passed, 0 failed, 2 skipped");
}

static void filter_runs_subset(void)
{
	run_role("mini", "a/pass");
	CU_ASSERT_EQUAL(ro->status, 0);
	CU_ASSERT_STRING_EQUAL(last_line(ro->out), "mini: 1 passed, 0 failed, 0 skipped");
}

static void evidence_needs_assert(void)
{
	run_role("mini", NULL);
	CU_ASSERT(has(ro->ev, "{\"program\":\"mini\",\"suite\":\"a\",\"test\":\"noassert\","
			      "\"clause\":\"mini.x.noassert\",\"result\":\"fail\"}\n"));
	CU_ASSERT(has(ro->ev, "\"test\":\"verified_pass\",\"clause\":\"mini.x.pass\","
			      "\"result\":\"pass\"}"));
	CU_ASSERT(has(ro->ev, "\"test\":\"verified_child\",\"clause\":\"mini.x.child\","
			      "\"result\":\"pass\"}"));
	CU_ASSERT(has(ro->ev, "\"test\":\"verified_skip\",\"clause\":\"mini.x.skip\","
			      "\"result\":\"skip\"}"));
	CU_ASSERT_EQUAL(count_of(ro->ev, "\n"), 4);
	CU_ASSERT(has(ro->out, "FAIL a/noassert "));
}

static void raw_fork_return_caught(void)
{
	run_role("escape", NULL);
	CU_ASSERT_EQUAL(ro->status, 1);
	CU_ASSERT(has(ro->out, "FAIL e/fork_returns "));
	CU_ASSERT(has(ro->out, "returned from e/fork_returns into CUnit"));
	CU_ASSERT_EQUAL(count_of(ro->out, "later-ran"), 1);
	CU_ASSERT_EQUAL(count_of(ro->out, "escape: "), 1);
	CU_ASSERT_STRING_EQUAL(last_line(ro->out), "escape: 1 passed, 1 failed, 0 skipped");
}

/* ------------------------------------------------------------ roles, waits, barriers */

static int g_marker;

static int role_exitcode(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[0], "exitcode") != 0)
		return 99;
	if (g_marker != 0)
		return 98;	/* not a fresh image */
	return atoi(argv[1]);
}

static int role_selfkill(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	raise(SIGKILL);
	return 0;
}

static int role_hang(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (;;)
		pause();
	return 0;
}

static void spawn_role_status(void)
{
	g_marker = 1;
	const char *args[] = { "42", NULL };
	pid_t p = h_spawn_role("exitcode", args);
	CU_ASSERT_FATAL(p > 0);
	CU_ASSERT_EQUAL(h_wait(p, 30), 42);
	p = h_spawn_role("selfkill", NULL);
	CU_ASSERT_FATAL(p > 0);
	CU_ASSERT_EQUAL(h_wait(p, 30), 128 + SIGKILL);
	p = h_spawn_role("no-such-role", NULL);
	CU_ASSERT_FATAL(p > 0);
	CU_ASSERT_EQUAL(h_wait(p, 30), 2);
	g_marker = 0;
}

static void wait_times_out(void)
{
	pid_t p = h_spawn_role("hang", NULL);
	CU_ASSERT_FATAL(p > 0);
	CU_ASSERT_EQUAL(h_wait(p, 1), -ETIMEDOUT);
	/* killed and reaped: no child left to wait for */
	errno = 0;
	CU_ASSERT_EQUAL(waitpid(p, NULL, WNOHANG), -1);
	CU_ASSERT_EQUAL(errno, ECHILD);
}

static struct h_barrier *bar;
#define BARRIER_ROUNDS 50
static void barrier_peer(int idx)
{
	/* seen[idx] stays 3 only if no round released anyone early */
	sh->seen[idx] = 3;
	for (int r = 0; r < BARRIER_ROUNDS; r++) {
		__atomic_fetch_add(&sh->arrived, 1, __ATOMIC_SEQ_CST);
		int rc = h_barrier_wait(bar, 30);
		if (rc)
			sh->barrier_rc[idx] = rc;
		if (__atomic_load_n(&sh->arrived, __ATOMIC_SEQ_CST) < 3 * (r + 1))
			sh->seen[idx] = 0;
	}
}

static void barrier_across_processes(void)
{
	bar = h_barrier_new(3);
	CU_ASSERT_FATAL(bar != NULL);
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			barrier_peer(i + 1);
			_exit(0);
		}
	}
	barrier_peer(0);
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(h_wait(kids[i], 30), 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(sh->barrier_rc[i], 0);
		CU_ASSERT_EQUAL(sh->seen[i], 3);	/* nobody left before all arrived */
	}
	h_barrier_free(bar);
	/* one of two never arrives */
	bar = h_barrier_new(2);
	CU_ASSERT_FATAL(bar != NULL);
	CU_ASSERT_EQUAL(h_barrier_wait(bar, 1), -ETIMEDOUT);
	/* the timed-out arrival was withdrawn: the next round needs both again */
	for (int round = 0; round < 3; round++) {
		pid_t k = fork();
		if (k == 0)
			_exit(h_barrier_wait(bar, 30) == 0 ? 0 : 1);
		CU_ASSERT_EQUAL(h_barrier_wait(bar, 30), 0);
		CU_ASSERT_EQUAL(h_wait(k, 30), 0);
	}
	CU_ASSERT_EQUAL(h_barrier_wait(bar, 1), -ETIMEDOUT);
	h_barrier_free(bar);
}

static void unique_names(void)
{
	char a[64], b[64], p[PATH_MAX];
	CU_ASSERT_FATAL(h_unique_shm_name(a, sizeof(a)) != NULL);
	CU_ASSERT_FATAL(h_unique_shm_name(b, sizeof(b)) != NULL);
	CU_ASSERT(strncmp(a, "/shmk-test-", 11) == 0);
	CU_ASSERT(strcmp(a, b) != 0);
	CU_ASSERT(h_unique_shm_name(a, 8) == NULL);	/* truncation refused */
	CU_ASSERT_FATAL(h_unique_path(p, sizeof(p), "x") != NULL);
	CU_ASSERT(strncmp(p, h_tmpdir(), strlen(h_tmpdir())) == 0);
	CU_ASSERT(h_time_scale() > 0);
	CU_ASSERT(h_deadline(1) >= 1);
}

static void body_drop(void)
{
	char path[PATH_MAX];
	CU_ASSERT_FATAL(h_unique_path(path, sizeof(path), "rootonly") != NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(h_drop_privileges(), 0);
	CU_ASSERT_EQUAL(getuid(), 65534);
	CU_ASSERT_EQUAL(getegid(), 65534);
	errno = 0;
	CU_ASSERT_EQUAL(open(path, O_RDONLY), -1);
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_EQUAL(setuid(0), -1);	/* irreversible */
}

static void drop_privileges(void)
{
	if (geteuid() != 0)
		H_SKIP("needs root to drop privileges");
	isolate(body_drop, 30);
}

/* A fresh program instance: prints its directory, lets a forked child
 * write there and _exit(), then returns (atexit removes the directory). */
static int role_tmpdir(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("dir=%s\n", h_tmpdir());
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		char f[PATH_MAX];
		int fd = h_unique_path(f, sizeof(f), "child") ? open(f, O_CREAT | O_WRONLY, 0600) : -1;
		_exit(fd < 0);
	}
	int st = 0;
	if (p < 0 || waitpid(p, &st, 0) != p)
		return 2;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* runs role_tmpdir as a new program (no inherited directory) with TMPDIR
 * set to tmpdir; its directory goes to dir */
static void run_fresh_tmpdir(const char *tmpdir, char *dir, size_t len)
{
	char inh[PATH_MAX];
	snprintf(inh, sizeof(inh), "%s", getenv("SHMK_H_TMPDIR"));
	unsetenv("SHMK_H_TMPDIR");
	setenv("TMPDIR", tmpdir, 1);
	run_role("tmpdir", NULL);
	setenv("SHMK_H_TMPDIR", inh, 1);
	unsetenv("TMPDIR");
	dir[0] = 0;
	const char *l = strstr(ro->out, "dir=");
	if (l)
		snprintf(dir, len, "%.*s", (int)strcspn(l + 4, "\n"), l + 4);
}

static void tmpdir_owned_by_first(void)
{
	char here[PATH_MAX], dir[PATH_MAX];
	snprintf(here, sizeof(here), "%s", h_tmpdir());
	/* made before main(), by this process: a forked child shares it and
	 * leaving with _exit() removes nothing */
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(here, &st), 0);
	CU_ASSERT(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 01777);
	char *seen = t_shared_alloc(PATH_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	pid_t p = fork();
	if (p == 0) {
		snprintf(seen, PATH_MAX, "%s", h_tmpdir());
		_exit(0);
	}
	CU_ASSERT_EQUAL(h_wait(p, 10), 0);
	CU_ASSERT_STRING_EQUAL(seen, here);
	CU_ASSERT_EQUAL(stat(here, &st), 0);
	t_shared_free(seen, PATH_MAX);

	/* a new program makes its own, and its exit removes it, child files too */
	run_fresh_tmpdir("/tmp", dir, sizeof(dir));
	CU_ASSERT_EQUAL(ro->status, 0);
	CU_ASSERT(strncmp(dir, "/tmp/shmk-harness-", 18) == 0);
	CU_ASSERT(strcmp(dir, here) != 0);
	errno = 0;
	CU_ASSERT(dir[0] && stat(dir, &st) == -1 && errno == ENOENT);
}

static void tmpdir_reachable(void)
{
	char priv[PATH_MAX], pub[PATH_MAX], dir[PATH_MAX];
	CU_ASSERT_FATAL(h_unique_path(priv, sizeof(priv), "private dir") != NULL);
	CU_ASSERT_FATAL(h_unique_path(pub, sizeof(pub), "public dir") != NULL);
	CU_ASSERT_EQUAL_FATAL(mkdir(priv, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(pub, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(pub, 0755), 0);
	CU_ASSERT(h_nobody_can_reach(h_tmpdir()));
	CU_ASSERT(h_nobody_can_reach(pub));
	CU_ASSERT(!h_nobody_can_reach(priv));

	/* a private TMPDIR (a 0700 home, say): the directory goes to /tmp */
	run_fresh_tmpdir(priv, dir, sizeof(dir));
	CU_ASSERT_EQUAL(ro->status, 0);
	CU_ASSERT(strncmp(dir, "/tmp/shmk-harness-", 18) == 0);
	/* a reachable one, even with a space in its path, is used */
	run_fresh_tmpdir(pub, dir, sizeof(dir));
	CU_ASSERT_EQUAL(ro->status, 0);
	CU_ASSERT(strncmp(dir, pub, strlen(pub)) == 0 && dir[strlen(pub)] == '/');
	rmdir(priv);
	rmdir(pub);
}

static int role_seed(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	uint64_t a = h_seed(), b = h_seed();
	return a == b ? 0 : 1;
}

static void lines_start_a_line(void)
{
	/* the runner reads only lines that start with PASS/FAIL/SKIP */
	run_role("nonl", NULL);
	CU_ASSERT_EQUAL(ro->status, 1);
	CU_ASSERT(has(ro->out, "partial\nPASS n/t\n"));
	CU_ASSERT(has(ro->out, "child-partial\nFAIL n/c "));
	CU_ASSERT_STRING_EQUAL(last_line(ro->out), "nonl: 1 passed, 1 failed, 0 skipped");
}

static void seed_from_env(void)
{
	setenv("SHMK_SEED", "12345", 1);
	run_role("seed", NULL);
	unsetenv("SHMK_SEED");
	CU_ASSERT_EQUAL(ro->status, 0);
	CU_ASSERT_STRING_EQUAL(ro->out, "seed: 12345\n");
}

static const struct h_test isolate_tests[] = {
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
static const struct h_test run_tests[] = {
	H_TEST(counts_and_status, 0, "harness.run.count"),
	H_TEST(all_skipped_is_77, 0, "harness.run.count"),
	H_TEST(filter_runs_subset, 0, "harness.run.count"),
	H_TEST(evidence_needs_assert, 0, "harness.evidence.assert", "harness.evidence.register"),
	H_TEST(raw_fork_return_caught, 0, "harness.isolate.return"),
	H_TEST(seed_from_env, 0),
	H_TEST(lines_start_a_line, 0),
	H_TEST(tmpdir_owned_by_first, 0, "harness.tmp.once"),
	H_TEST(tmpdir_reachable, 0, "harness.tmp.reach"),
	{ 0 },
};
static const struct h_test proc_tests[] = {
	H_TEST(spawn_role_status, 0, "harness.role.exec"),
	H_TEST(wait_times_out, 0, "harness.wait.deadline"),
	H_TEST(barrier_across_processes, 60, "harness.wait.deadline"),
	H_TEST(unique_names, 0),
	H_TEST(drop_privileges, 0),
	{ 0 },
};
static const struct h_suite suites[] = {
	{ "isolate", suite_init, suite_cleanup, isolate_tests },
	{ "run", run_init, run_cleanup, run_tests },
	{ "proc", suite_init, suite_cleanup, proc_tests },
	{ NULL, NULL, NULL, NULL },
};
static const struct h_role roles[] = {
	{ "mini", role_mini },
	{ "allskip", role_allskip },
	{ "escape", role_escape },
	{ "exitcode", role_exitcode },
	{ "selfkill", role_selfkill },
	{ "hang", role_hang },
	{ "seed", role_seed },
	{ "nonl", role_nonl },
	{ "tmpdir", role_tmpdir },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	return h_main(argc, argv, "harness", suites, roles);
}
