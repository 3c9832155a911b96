/* SPDX-License-Identifier: MIT */
/*
 * shmkit's CUnit harness: what CUnit 2.1-3 lacks for multiprocess tests.
 *
 * A test program: each test is one function, registered once, next to it,
 * with its name, its deadline and the clauses it verifies:
 *
 *   static void opens_by_name(void)            // runs in a forked child
 *   {
 *           ...CU_ASSERT...
 *   }
 *   H_REGISTER(opens_by_name, 10, "shm.open.name");
 *
 *   static int peer_main(int argc, char **argv) { ... }
 *   H_ROLE("peer", peer_main);
 *
 *   int main(int argc, char **argv) { return h_main(argc, argv, "shm", NULL, NULL); }
 *
 * (A table of struct h_test, H_TEST(fn, deadline, clauses...) entries, in
 * struct h_suite rows passed to h_main, does the same where a suite needs
 * init/cleanup hooks: the harness self-test.)
 *
 * Rules the harness enforces (see ../shared/DESIGN.md, Tests):
 *   - isolate(): fork; the child runs in its own process group under an
 *     alarm() deadline (scaled by SHMK_TIME_SCALE); its CUnit failures,
 *     including CU_ASSERT_*_FATAL, are shipped over a pipe and replayed as
 *     failures in the parent; a crash, a timeout, a child that returns
 *     into CUnit, or a non-zero exit without a shipped failure is a
 *     failure naming the signal; the group is killed at the end.
 *   - H_REGISTER(fn, deadline, clauses...): deadline > 0 runs fn under
 *     isolate(fn, deadline); 0 runs it in the parent (it may isolate()
 *     parts itself).  After the run one evidence line per registered
 *     clause goes to $SHMK_EVIDENCE (default reports/out/evidence.jsonl)
 *     with the test's result; a test that made no assertion is not
 *     evidence.  `prog --list-clauses` prints the registrations (JSON
 *     lines); the spec gate reads the registrations and checks them
 *     against the evidence.
 *   - H_SKIP(reason): the test counts as skipped, not passed.
 *   - Roles: `prog --role=NAME args...` runs roles[NAME] instead of the
 *     suites (a clean peer image, DPDK style); h_spawn_role() starts one.
 *   - The program prints `<prog>: N passed, N failed, N skipped` and exits
 *     0 only when nothing failed; 77 when everything was skipped.
 */
#ifndef SHMK_HARNESS_H
#define SHMK_HARNESS_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "support.h"	/* the t_ helpers every test links (conformance/support/) */

struct h_test {
	const char *name;
	void (*fn)(void);
	unsigned deadline;		/* > 0: run fn under isolate(fn, deadline) */
	const char *const *clauses;	/* verified by a pass; NULL-terminated, may be NULL */
};
#define H_CLAUSES(...) ((const char *const[]){ __VA_ARGS__ __VA_OPT__(,) NULL })
#define H_TEST(fn, deadline, ...) { #fn, fn, deadline, H_CLAUSES(__VA_ARGS__) }

/* A test registered next to its function (DPDK's REGISTER_TEST style), in
 * the program's suite (named after the program) or in `suite`; h_main()
 * with suites == NULL runs every registered test, in file and line order:
 *
 *   static void opens_by_name(void) { ... }
 *   H_REGISTER(opens_by_name, 10, "shm.open.name");
 */
struct h_reg {
	struct h_test t;
	const char *suite;	/* NULL: the program's name */
	const char *file;
	unsigned line;
	struct h_reg *next;
};
void h_register(struct h_reg *r);
#define H_CAT2(a, b) a##b
#define H_CAT(a, b) H_CAT2(a, b)
#define H_REGISTER_IN(suite, fn, deadline, ...)                                                \
	static struct h_reg H_CAT(h_reg_, __LINE__) = { H_TEST(fn, deadline, __VA_ARGS__), suite, \
							 __FILE__, __LINE__, NULL };          \
	__attribute__((constructor)) static void H_CAT(h_reg_ctor_, __LINE__)(void)              \
	{                                                                                        \
		h_register(&H_CAT(h_reg_, __LINE__));                                            \
	}                                                                                        \
	extern int h_registered
#define H_REGISTER(fn, deadline, ...) H_REGISTER_IN(NULL, fn, deadline, __VA_ARGS__)

/* before() and after() run in the parent around every test of `suite`
 * (NULL: the program's): what each test needs made and removed whatever
 * its child did, such as unique names. */
struct h_hooks {
	const char *suite;
	void (*before)(void);
	void (*after)(void);
	struct h_hooks *next;
};
void h_register_hooks(struct h_hooks *k);
#define H_HOOKS(suite, before, after)                                                            \
	static struct h_hooks H_CAT(h_hooks_, __LINE__) = { suite, before, after, NULL };        \
	__attribute__((constructor)) static void H_CAT(h_hooks_ctor_, __LINE__)(void)            \
	{                                                                                        \
		h_register_hooks(&H_CAT(h_hooks_, __LINE__));                                    \
	}                                                                                        \
	extern int h_registered

struct h_suite {
	const char *name;
	int (*init)(void);	/* may be NULL; non-zero fails every test of the suite */
	int (*cleanup)(void);	/* may be NULL */
	const struct h_test *tests; /* terminated by { NULL, NULL } */
};

struct h_role {
	const char *name;
	/* argv[0] is the role name, then the extra arguments; the return value
	 * is the exit status (0 = success). */
	int (*main)(int argc, char **argv);
};

/* A role registered next to its function: `prog --role=NAME` runs it
 * when h_main() is given roles == NULL. */
struct h_role_reg {
	struct h_role r;
	struct h_role_reg *next;
};
void h_register_role(struct h_role_reg *r);
#define H_ROLE(name, fn)                                                                         \
	static struct h_role_reg H_CAT(h_role_, __LINE__) = { { name, fn }, NULL };             \
	__attribute__((constructor)) static void H_CAT(h_role_ctor_, __LINE__)(void)             \
	{                                                                                        \
		h_register_role(&H_CAT(h_role_, __LINE__));                                      \
	}                                                                                        \
	extern int h_registered

/* suites == NULL: the H_REGISTER'ed tests; roles == NULL: the H_ROLEs. */
int h_main(int argc, char **argv, const char *prog, const struct h_suite *suites,
	   const struct h_role *roles);

/* Run body in a forked child with a deadline in seconds (scaled). */
void isolate(void (*body)(void), unsigned deadline_s);
/* Same, passing an argument to the body. */
void isolate_arg(void (*body)(void *), void *arg, unsigned deadline_s);

/* Mark the current test skipped (counted as skipped) and return from it. */
void h_skip(const char *reason);
#define H_SKIP(reason) do { h_skip(reason); return; } while (0)

/* Role processes: fork + exec /proc/self/exe --role=NAME args... in the
 * caller's process group (so isolate() kills it too).  args is
 * NULL-terminated and may be NULL.  Returns the pid or -errno. */
pid_t h_spawn_role(const char *role, const char *const *args);
/* Wait for a child with a deadline (seconds, scaled).  Returns its exit
 * status (0..255), 128+signal when killed by a signal, -ETIMEDOUT (the
 * child is then SIGKILLed and reaped), or -errno. */
int h_wait(pid_t pid, unsigned deadline_s);

/* Deadlines and knobs. */
double h_time_scale(void);		/* SHMK_TIME_SCALE, default 1 */
unsigned h_deadline(unsigned seconds);	/* seconds * scale, rounded up */
uint64_t h_seed(void);			/* SHMK_SEED or a fresh one; printed once */

/* Unique names: "/shmk-test-<pid>-<n>" (shm names) and paths under a
 * per-program temporary directory, made before main() by the program's
 * first process and removed when that process exits.  Its base is $TMPDIR
 * when uid 65534 can reach it, else /tmp, so tests that drop privileges
 * can use it. */
const char *h_unique_shm_name(char *buf, size_t len);
const char *h_unique_path(char *buf, size_t len, const char *stem);
const char *h_tmpdir(void);
/* true when uid/gid 65534 can search every directory down to dir */
bool h_nobody_can_reach(const char *dir);
/* Copy the executable src into the temporary directory (mode 0755) so a
 * process that dropped its privileges can run it wherever the checkout
 * lives; the copy's path goes to dst.  0, -errno, or -EACCES when nobody
 * cannot reach the temporary directory either (the caller then skips). */
int h_nobody_copy(const char *src, char *dst, size_t len);

/* A process-shared barrier for `n` processes in anonymous shared memory,
 * created before fork.  wait returns 0, or -ETIMEDOUT after deadline_s. */
struct h_barrier;
struct h_barrier *h_barrier_new(unsigned n);
int h_barrier_wait(struct h_barrier *b, unsigned deadline_s);
void h_barrier_free(struct h_barrier *b);

/* Drop to an unprivileged uid/gid (nobody, 65534) in this process.  Used
 * in children for permission tests: CI runs as root.  0 or -errno. */
int h_drop_privileges(void);

/* Write one evidence line for a non-CUnit program (stress, fuzz replay,
 * model check): {"program":..,"suite":..,"test":..,"clause":..,"result":..} */
void h_evidence(const char *program, const char *suite, const char *test,
		const char *clause_id, bool passed);

/* ---------------------------------------------------------------------
 * For the harness self-test only (conformance/tests/harness.c): run body
 * exactly as isolate() does, but store what isolate() would replay into
 * CUnit (shipped child failures, crash, timeout, bad exit) in *cap, so a
 * test can check that a known-bad child was reported as the right
 * failure without failing itself.  h_spec_verify adds a clause to the
 * running test at run time (what a registration does), for the
 * self-test's mini programs whose ids no spec defines.
 * ------------------------------------------------------------------- */
#define H_CAPTURE_MAX 8
struct h_capture_failure {
	char file[128];
	unsigned line;
	char cond[256];
};
struct h_capture {
	unsigned nfail;		/* failures isolate() would have replayed */
	struct h_capture_failure fail[H_CAPTURE_MAX];
	unsigned asserts;	/* assertions the child made (shipped count) */
	bool skipped;		/* the child called h_skip() */
};
void h_isolate_capture(void (*body)(void), unsigned deadline_s, struct h_capture *cap);
void h_spec_verify(const char *clause_id);

#endif
