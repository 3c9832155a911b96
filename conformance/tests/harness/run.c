/* SPDX-License-Identifier: MIT */
/* harness tests: mini h_main programs run as roles (counts, status, evidence), seeds and tmpdirs. */
#include "harness_test.h"

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
int role_mini(int argc, char **argv)
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
int role_allskip(int argc, char **argv)
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
int role_escape(int argc, char **argv)
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
int role_nonl(int argc, char **argv)
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

int run_init(void)
{
	ro = t_shared_alloc(sizeof(*ro));
	return ro ? 0 : 1;
}

int run_cleanup(void)
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

/* A fresh program instance: prints its directory, lets a forked child
 * write there and _exit(), then returns (atexit removes the directory). */
int role_tmpdir(int argc, char **argv)
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

int role_seed(int argc, char **argv)
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

const struct h_test run_tests[] = {
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
