/* SPDX-License-Identifier: MIT */
/* harness tests: roles, waits, barriers, unique names, dropped privileges. */
#include "harness_test.h"

/* ------------------------------------------------------------ roles, waits, barriers */

static int g_marker;

int role_exitcode(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[0], "exitcode") != 0)
		return 99;
	if (g_marker != 0)
		return 98;	/* not a fresh image */
	return atoi(argv[1]);
}

int role_selfkill(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	raise(SIGKILL);
	return 0;
}

int role_hang(int argc, char **argv)
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

const struct h_test proc_tests[] = {
	H_TEST(spawn_role_status, 0, "harness.role.exec"),
	H_TEST(wait_times_out, 0, "harness.wait.deadline"),
	H_TEST(barrier_across_processes, 60, "harness.wait.deadline"),
	H_TEST(unique_names, 0),
	H_TEST(drop_privileges, 0),
	{ 0 },
};
