/* SPDX-License-Identifier: MIT */
/*
 * shmkit's CUnit harness (see harness.h and ../shared/DESIGN.md, Tests).
 *
 * CUnit 2.1-3 is used only through its base runner (CU_run_all_tests with
 * our own handlers): Basic mode replaces handlers, counts a failed suite
 * init as 0 failed tests, and knows nothing about forked children.  Every
 * test is registered through one trampoline so the harness can check, in
 * the test's own context, what CUnit cannot: a test verifying clauses that made
 * no assertion, and a forked process that came back into the runner.
 */
#include "harness.h"
#include "support.h"

#include <CUnit/TestDB.h>
#include <CUnit/TestRun.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Sanitizer reports must fail the test even when a program is run by hand
 * without the runner's environment: UBSan alone prints and exits 0, and
 * ASan's plain exit code is easy to confuse with a test's own.  The
 * environment still overrides these. */
__attribute__((used, visibility("default"))) const char *__asan_default_options(void);
__attribute__((used, visibility("default"))) const char *__ubsan_default_options(void);
const char *__asan_default_options(void)
{
	return "abort_on_error=1:detect_leaks=1";
}
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1:abort_on_error=1";
}

/* (In `make coverage` builds the isolate() child's _exit() dumps its gcov
 * counters first: conformance/harness/gcov_exit.c.) */

#define H_MAX_CLAUSES 32

/* ------------------------------------------------------------------ state */

static const char *g_prog = "test";
static char *g_argv0;
static pid_t g_main_pid;
static unsigned g_passed, g_failed, g_skipped;
static unsigned g_outside_failures;	/* failures outside any test */

/* Set in the child of isolate(); the child never returns into CUnit. */
static bool g_in_child;
static pid_t g_child_pid;
/* The current isolate() child (main process), for the signal handler. */
static volatile sig_atomic_t g_cur_child;

/* A forked process that came back into the runner writes here (memory
 * shared by every process forked from the main one) and exits; the main
 * process turns it into a failure of the test it came from. */
struct h_escape {
	_Atomic int escaped;
	int pid;
	char where[192];
};
static struct h_escape *g_escape;
static bool g_escape_reported;

struct h_cur {
	bool running;
	bool skipped;
	char reason[256];
	const char *suite;
	const char *test;
	unsigned assert_base;	/* CU_get_number_of_asserts() at test start */
	unsigned child_asserts;	/* shipped by isolate() children */
	unsigned nclause;
	char *clause[H_MAX_CLAUSES];
};
static struct h_cur g_cur;

struct h_ev {
	char *suite, *test, *clause;
	const char *result;
};
static struct h_ev *g_ev;
static size_t g_nev, g_capev;

struct h_map {
	CU_pTest t;
	const struct h_test *reg;
};
static struct h_map *g_map;
static struct h_role_reg *g_roles;	/* H_ROLE registrations */
static size_t g_nmap;

/* ------------------------------------------------------------------ knobs */

double h_time_scale(void)
{
	static double scale;
	if (scale == 0) {
		const char *s = getenv("SHMK_TIME_SCALE");
		char *end;
		double v = s ? strtod(s, &end) : 1;
		if (!s || end == s || *end || !(v > 0) || v > 1000)
			v = 1;
		scale = v;
	}
	return scale;
}

unsigned h_deadline(unsigned seconds)
{
	double v = (double)seconds * h_time_scale();
	if (v > 86400)
		v = 86400;
	unsigned u = (unsigned)v;
	if ((double)u < v)
		u++;	/* round up: a deadline never shrinks */
	return u ? u : 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t h_seed(void)
{
	static bool have;
	static uint64_t seed;
	if (!have) {
		const char *s = getenv("SHMK_SEED");
		char *end;
		if (s && *s) {
			errno = 0;
			seed = strtoull(s, &end, 0);
			if (errno || *end)
				s = NULL;
		}
		if (!s || !*s) {
			/* splitmix64 of time and pid: distinct per run */
			uint64_t z = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
			z += 0x9e3779b97f4a7c15ull;
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			seed = z ^ (z >> 31);
		}
		have = true;
		printf("seed: %llu\n", (unsigned long long)seed);
		fflush(stdout);
	}
	return seed;
}

/* ------------------------------------------------------------------ names */

static char g_tmpdir[PATH_MAX];
static pid_t g_tmp_owner;
static _Atomic unsigned g_name_ctr;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tmpdir(void)
{
	/* forked children inherit the atexit list; only the creator removes */
	if (g_tmpdir[0] && g_tmp_owner == getpid())
		nftw(g_tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* r[impl harness.tmp.reach]
 * Can uid/gid 65534 search every directory from / down to dir?  Tests that
 * drop privileges make, open and run files there, so it must be. */
bool h_nobody_can_reach(const char *dir)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return false;
	for (char *end = real + strlen(real);;) {
		struct stat st;
		char c = *end;
		*end = '\0';
		int r = stat(end == real ? "/" : real, &st);
		*end = c;
		if (r)
			return false;
		mode_t x = st.st_uid == 65534 ? S_IXUSR : st.st_gid == 65534 ? S_IXGRP : S_IXOTH;
		if (!(st.st_mode & x))
			return false;
		if (end == real)
			return true;
		while (end > real && *--end != '/')
			;
	}
}

/* r[impl harness.tmp.once]
 * The directory is made before main() runs, so the process that makes it
 * is the one that removes it at exit: a forked child that leaves with
 * _exit() or is killed never owns it.  Its base is $TMPDIR when nobody can
 * reach it, else /tmp (a private 0700 TMPDIR would shut out the tests that
 * drop privileges); the owner's pid in the name lets the runner's hygiene
 * check tell a live run's directory from a leftover. */
__attribute__((constructor)) static void h_tmp_init(void)
{
	/* A role re-exec'd by h_spawn_role (or a program a test runs) shares
	 * its parent's directory and leaves it to the parent. */
	const char *inh = getenv("SHMK_H_TMPDIR");
	struct stat st;
	if (inh && strlen(inh) < sizeof(g_tmpdir) && stat(inh, &st) == 0 && S_ISDIR(st.st_mode)) {
		strcpy(g_tmpdir, inh);
		return;
	}
	const char *base = getenv("TMPDIR");
	char rb[PATH_MAX];
	if (!base || !*base || !h_nobody_can_reach(base) || !realpath(base, rb))
		snprintf(rb, sizeof(rb), "/tmp");
	char tmpl[PATH_MAX + 64];
	snprintf(tmpl, sizeof(tmpl), "%s/shmk-%s-%d-XXXXXX", rb, program_invocation_short_name,
		 (int)getpid());
	if (strlen(tmpl) >= sizeof(g_tmpdir) || !mkdtemp(tmpl)) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl, strerror(errno));
		return;
	}
	/* Sticky and world-writable like /tmp, so a child that dropped its
	 * privileges fails on the object under test, not on the directory. */
	chmod(tmpl, 01777);
	strcpy(g_tmpdir, tmpl);
	g_tmp_owner = getpid();
	atexit(rm_tmpdir);
	setenv("SHMK_H_TMPDIR", g_tmpdir, 1);
}

const char *h_tmpdir(void)
{
	return g_tmpdir[0] ? g_tmpdir : "/tmp";
}

int h_nobody_copy(const char *src, char *dst, size_t len)
{
	const char *stem = strrchr(src, '/');
	stem = stem ? stem + 1 : src;
	if (!h_unique_path(dst, len, stem))
		return -ENAMETOOLONG;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	int rc = 0;
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 || write(out, buf, (size_t)n) != n) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
	}
	close(in);
	if (close(out) && !rc)
		rc = -errno;
	if (!rc && fchmodat(AT_FDCWD, dst, 0755, 0))
		rc = -errno;
	if (!rc && !h_nobody_can_reach(h_tmpdir()))
		rc = -EACCES;
	if (rc)
		unlink(dst);
	return rc;
}

const char *h_unique_shm_name(char *buf, size_t len)
{
	unsigned n = atomic_fetch_add_explicit(&g_name_ctr, 1, memory_order_relaxed);
	int r = snprintf(buf, len, "/shmk-test-%d-%u", (int)getpid(), n);
	return r < 0 || (size_t)r >= len ? NULL : buf;
}

const char *h_unique_path(char *buf, size_t len, const char *stem)
{
	unsigned n = atomic_fetch_add_explicit(&g_name_ctr, 1, memory_order_relaxed);
	/* the pid keeps a parent and its forked child from handing out the
	 * same name from their copies of the counter */
	int r = snprintf(buf, len, "%s/%s-%d-%u", h_tmpdir(), stem, (int)getpid(), n);
	return r < 0 || (size_t)r >= len ? NULL : buf;
}

/* ------------------------------------------------------------------ barrier */

/* One 32-bit futex word: generation in the high 16 bits, arrivals in the
 * low 16.  Keeping both in one word lets a waiter that times out withdraw
 * its arrival atomically (only if its generation is still current), so a
 * participant that died before arriving fails that round with -ETIMEDOUT
 * but does not poison every later round of a reused barrier. */
struct h_barrier {
	_Atomic uint32_t word;
	uint32_t n;
};
#define HB_COUNT(w) ((w) & 0xffffu)
#define HB_GEN(w) ((w) >> 16)

struct h_barrier *h_barrier_new(unsigned n)
{
	if (n > 0xffffu)
		return NULL;
	struct h_barrier *b = t_shared_alloc(sizeof(*b));
	if (!b)
		return NULL;
	atomic_init(&b->word, 0);
	b->n = n ? n : 1;
	return b;
}

void h_barrier_free(struct h_barrier *b)
{
	t_shared_free(b, sizeof(*b));
}

/* r[impl harness.wait.deadline] */
int h_barrier_wait(struct h_barrier *b, unsigned deadline_s)
{
	/* acquire: pairs with the acq_rel CAS of the last arriver below */
	uint32_t w = atomic_load_explicit(&b->word, memory_order_acquire);
	uint32_t next;
	do {
		next = HB_COUNT(w) + 1 >= b->n ? (HB_GEN(w) + 1) << 16 : w + 1;
	} while (!atomic_compare_exchange_weak_explicit(&b->word, &w, next, memory_order_acq_rel,
							 memory_order_acquire));
	if (HB_GEN(next) != HB_GEN(w)) {
		/* last to arrive: a new generation releases the others */
		syscall(SYS_futex, &b->word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		return 0;
	}
	uint32_t gen = HB_GEN(w);
	int64_t end = now_ns() + (int64_t)h_deadline(deadline_s) * 1000000000;
	for (;;) {
		/* acquire: pairs with the last arriver's acq_rel CAS */
		uint32_t cur = atomic_load_explicit(&b->word, memory_order_acquire);
		if (HB_GEN(cur) != gen)
			return 0;
		int64_t left = end - now_ns();
		if (left <= 0) {
			/* withdraw our arrival unless the round completed meanwhile */
			while (HB_GEN(cur) == gen && HB_COUNT(cur) > 0) {
				if (atomic_compare_exchange_weak_explicit(
					    &b->word, &cur, cur - 1, memory_order_acq_rel,
					    memory_order_acquire))
					return -ETIMEDOUT;
			}
			return HB_GEN(cur) != gen ? 0 : -ETIMEDOUT;
		}
		struct timespec ts = { left / 1000000000, left % 1000000000 };
		syscall(SYS_futex, &b->word, FUTEX_WAIT, cur, &ts, NULL, 0);
	}
}

/* ------------------------------------------------------------------ privileges */

int h_drop_privileges(void)
{
	const uid_t nobody = 65534;
	const gid_t nogroup = 65534;
	if (setgroups(0, NULL) < 0)
		return -errno;
	if (setresgid(nogroup, nogroup, nogroup) < 0)
		return -errno;
	if (setresuid(nobody, nobody, nobody) < 0)
		return -errno;
	uid_t r, e, s;
	gid_t gr, ge, gs;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0)
		return -errno;
	if (r != nobody || e != nobody || s != nobody || gr != nogroup || ge != nogroup ||
	    gs != nogroup)
		return -EPERM;
	/* the drop must be irreversible */
	if (setuid(0) == 0)
		return -EPERM;
	return 0;
}

/* ------------------------------------------------------------------ evidence */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static FILE *evidence_open(void)
{
	const char *path = getenv("SHMK_EVIDENCE");
	if (!path || !*path)
		path = "reports/out/evidence.jsonl";
	mkdirs(path);
	FILE *f = fopen(path, "a");
	if (!f)
		fprintf(stderr, "harness: cannot append evidence to %s: %s\n", path,
			strerror(errno));
	return f;
}

static void evidence_line(FILE *f, const char *program, const char *suite, const char *test,
			  const char *clause, const char *result)
{
	fputs("{\"program\":", f);
	json_str(f, program);
	fputs(",\"suite\":", f);
	json_str(f, suite);
	fputs(",\"test\":", f);
	json_str(f, test);
	fputs(",\"clause\":", f);
	json_str(f, clause);
	fputs(",\"result\":", f);
	json_str(f, result);
	fputs("}\n", f);
}

void h_evidence(const char *program, const char *suite, const char *test, const char *clause_id,
		bool passed)
{
	FILE *f = evidence_open();
	if (!f)
		return;
	evidence_line(f, program, suite, test, clause_id, passed ? "pass" : "fail");
	fclose(f);
}

static void ev_add(const char *suite, const char *test, const char *clause, const char *result)
{
	if (g_nev == g_capev) {
		size_t n = g_capev ? 2 * g_capev : 64;
		struct h_ev *p = realloc(g_ev, n * sizeof(*p));
		if (!p)
			return;
		g_ev = p;
		g_capev = n;
	}
	g_ev[g_nev++] = (struct h_ev){ strdup(suite), strdup(test), strdup(clause), result };
}

static void ev_flush(void)
{
	if (!g_nev)
		return;
	FILE *f = evidence_open();
	for (size_t i = 0; i < g_nev; i++) {
		if (f)
			evidence_line(f, g_prog, g_ev[i].suite, g_ev[i].test, g_ev[i].clause,
				      g_ev[i].result);
		free(g_ev[i].suite);
		free(g_ev[i].test);
		free(g_ev[i].clause);
	}
	if (f)
		fclose(f);
	free(g_ev);
	g_ev = NULL;
	g_nev = g_capev = 0;
}

/* ------------------------------------------------------------------ failures */

/* Record a failure in the current test, or count it against the program
 * when no test is running (so it still fails the exit status). */
static void fail_here(const char *file, unsigned line, const char *cond)
{
	if (CU_is_test_running()) {
		/* in an isolate() child it is shipped with the child's others */
		CU_assertImplementation(CU_FALSE, line, cond, file, "", CU_FALSE);
	} else {
		fprintf(stdout, "FAIL %s/(outside-test) %s:%u: %s\n", g_prog, file, line, cond);
		fflush(stdout);
		g_outside_failures++;
	}
}

void h_spec_verify(const char *clause_id)
{
	if (g_in_child || (g_main_pid && getpid() != g_main_pid)) {
		char msg[300];
		snprintf(msg, sizeof(msg), "h_spec_verify(\"%s\") called in a child: call it "
			 "in the parent, before isolate()", clause_id);
		fail_here(__FILE__, __LINE__, msg);
		return;
	}
	if (!g_cur.running) {
		fprintf(stderr, "harness: h_spec_verify(\"%s\") outside a test ignored\n", clause_id);
		return;
	}
	for (unsigned i = 0; i < g_cur.nclause; i++)
		if (strcmp(g_cur.clause[i], clause_id) == 0)
			return;
	if (g_cur.nclause == H_MAX_CLAUSES) {
		fail_here(__FILE__, __LINE__, "too many clauses in one test");
		return;
	}
	g_cur.clause[g_cur.nclause++] = strdup(clause_id);
}

void h_skip(const char *reason)
{
	if (!g_cur.running && !g_in_child) {
		fprintf(stderr, "harness: h_skip(\"%s\") outside a test ignored\n", reason);
		return;
	}
	if (!g_cur.skipped) {
		g_cur.skipped = true;
		snprintf(g_cur.reason, sizeof(g_cur.reason), "%s", reason ? reason : "");
	}
}

/* A process other than the main one is running harness code that only the
 * main process may run: a raw fork()ed child returned (or longjmp'd) into
 * CUnit.  Left alone it would run the rest of the suite a second time and
 * print a second summary; instead it records where it came from and exits. */
/* r[impl harness.isolate.return] */
static void escape_check_self(const char *where)
{
	if (!g_main_pid || getpid() == g_main_pid)
		return;
	if (g_escape) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&g_escape->escaped, &expect, 1)) {
			g_escape->pid = (int)getpid();
			snprintf(g_escape->where, sizeof(g_escape->where), "%s", where);
		}
	}
	fprintf(stderr, "harness: forked process %d returned into CUnit from %s; exiting it\n",
		(int)getpid(), where);
	_exit(1);
}

/* In the main process: turn a recorded escape into a failure. */
static void escape_report(void)
{
	if (!g_escape || g_escape_reported || !atomic_load(&g_escape->escaped))
		return;
	g_escape_reported = true;
	char msg[320];
	snprintf(msg, sizeof(msg),
		 "forked process %d returned from %s into CUnit instead of calling _exit() "
		 "(use isolate())", g_escape->pid, g_escape->where);
	fail_here(__FILE__, __LINE__, msg);
}

/* ------------------------------------------------------------------ isolate */

enum { REC_FAIL = 1, REC_SKIP = 2, REC_END = 3 };
struct rec_hdr {
	uint32_t type;
	uint32_t line;	/* REC_FAIL: line; REC_END: assertions made */
	uint32_t alen;	/* REC_FAIL: file; REC_SKIP: reason */
	uint32_t blen;	/* REC_FAIL: condition */
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t r = write(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int ship(int fd, uint32_t type, uint32_t line, const char *a, const char *b)
{
	struct rec_hdr h = { type, line, a ? (uint32_t)strlen(a) : 0, b ? (uint32_t)strlen(b) : 0 };
	if (write_all(fd, &h, sizeof(h)) || write_all(fd, a, h.alen) || write_all(fd, b, h.blen))
		return -1;
	return 0;
}

struct iso_job {
	void (*body0)(void);
	void (*body1)(void *);
	void *arg;
};

/* The child of isolate(): run the body, ship every failure CUnit recorded
 * since the fork, leave through _exit().  Never returns. */
/* r[impl harness.isolate.ship] */
/* r[impl harness.isolate.fatal] */
static _Noreturn void iso_child(const struct iso_job *job, int wfd, unsigned secs,
				unsigned nrec_before, unsigned asserts_before, pid_t parent)
{
	g_in_child = true;
	g_child_pid = getpid();
	g_cur_child = 0;
	/* r[impl harness.isolate.group] */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	bool skipped_before = g_cur.skipped;

	/* r[impl harness.isolate.timeout] */
	alarm(secs);
	/* A fatal assertion longjmps to the test's jump buffer; point it here
	 * so the child never resumes CUnit's loop (which would run the rest of
	 * the suite in the child). */
	jmp_buf jb;
	CU_pTest t = CU_get_current_test();
	if (t)
		t->pJumpBuf = &jb;
	if (!setjmp(jb)) {
		if (job->body0)
			job->body0();
		else
			job->body1(job->arg);
	}
	if (getpid() != g_child_pid) {
		/* a process the body forked returned from the body */
		char where[192];
		snprintf(where, sizeof(where), "an isolate() body in %s/%s",
			 g_cur.suite ? g_cur.suite : "?", g_cur.test ? g_cur.test : "?");
		g_main_pid = g_child_pid;	/* make escape_check_self fire */
		escape_check_self(where);
	}
	int bad = 0;
	unsigned i = 0;
	for (CU_pFailureRecord r = CU_get_failure_list(); r; r = r->pNext, i++) {
		if (i < nrec_before)
			continue;
		bad |= ship(wfd, REC_FAIL, r->uiLineNumber, r->strFileName ? r->strFileName : "?",
			    r->strCondition ? r->strCondition : "?");
	}
	if (g_cur.skipped && !skipped_before)
		bad |= ship(wfd, REC_SKIP, 0, g_cur.reason, NULL);
	bad |= ship(wfd, REC_END, CU_get_number_of_asserts() - asserts_before, NULL, NULL);
	fflush(NULL);
	_exit(bad ? 1 : 0);
}

static void cap_add(struct h_capture *cap, const char *file, unsigned line, const char *cond)
{
	if (cap->nfail >= H_CAPTURE_MAX) {
		cap->nfail++;
		return;
	}
	struct h_capture_failure *f = &cap->fail[cap->nfail++];
	snprintf(f->file, sizeof(f->file), "%s", file);
	f->line = line;
	snprintf(f->cond, sizeof(f->cond), "%s", cond);
}

static void report(struct h_capture *cap, const char *file, unsigned line, const char *cond)
{
	if (cap)
		cap_add(cap, file, line, cond);
	else
		fail_here(file, line, cond);
}

static void sig_name(int sig, char *buf, size_t len)
{
	const char *abbr = sigabbrev_np(sig);
	if (abbr)
		snprintf(buf, len, "SIG%s", abbr);
	else
		snprintf(buf, len, "signal %d", sig);
}

static void isolate_impl(const struct iso_job *job, unsigned deadline_s, struct h_capture *cap)
{
	if (cap)
		memset(cap, 0, sizeof(*cap));
	unsigned secs = h_deadline(deadline_s ? deadline_s : 1);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		report(cap, __FILE__, __LINE__, "isolate: pipe2 failed");
		return;
	}
	unsigned nrec_before = CU_get_number_of_failure_records();
	unsigned asserts_before = CU_get_number_of_asserts();
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		report(cap, __FILE__, __LINE__, "isolate: fork failed");
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		iso_child(job, pfd[1], secs, nrec_before, asserts_before, parent);
	}
	close(pfd[1]);
	setpgid(pid, pid);	/* also here: no window where the group is not yet the child's */
	g_cur_child = pid;

	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* Backstop in case the child blocks SIGALRM or re-arms alarm(). */
	int64_t end = now_ns() + ((int64_t)secs * 2 + 10) * 1000000000;
	char *buf = NULL;
	size_t len = 0, capb = 0;
	bool eof = false, exited = false, backstop = false, reaped = false;
	int st = 0;
	while (!exited && !eof) {
		struct pollfd fds[2] = { { pfd[0], POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		int64_t left = end - now_ns();
		if (left <= 0) {
			backstop = true;
			break;
		}
		int n = poll(fds, pidfd >= 0 ? 2 : 1, (int)(left / 1000000 + 1));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			continue;
		if (fds[0].revents) {
			if (len + 4096 > capb) {
				size_t nc = capb ? 2 * capb : 8192;
				char *p = nc <= (64u << 20) ? realloc(buf, nc) : NULL;
				if (!p) {
					backstop = true;	/* flooded: treat as runaway */
					break;
				}
				buf = p;
				capb = nc;
			}
			ssize_t r = read(pfd[0], buf + len, capb - len);
			if (r > 0)
				len += (size_t)r;
			else if (r == 0 || (errno != EINTR && errno != EAGAIN))
				eof = true;
		}
		if (pidfd >= 0 && (fds[1].revents & POLLIN))
			exited = true;
	}
	if (backstop) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	} else if (!eof) {
		/* the child is gone but something it forked may still hold the
		 * pipe: take what is buffered without waiting for EOF */
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		for (;;) {
			if (len + 4096 > capb) {
				size_t nc = capb ? 2 * capb : 8192;
				char *p = nc <= (64u << 20) ? realloc(buf, nc) : NULL;
				if (!p)
					break;
				buf = p;
				capb = nc;
			}
			ssize_t r = read(pfd[0], buf + len, capb - len);
			if (r <= 0)
				break;
			len += (size_t)r;
		}
	} else if (pidfd >= 0) {
		/* EOF first: wait for the exit within the backstop too */
		struct pollfd fd1 = { pidfd, POLLIN, 0 };
		for (;;) {
			int64_t left = end - now_ns();
			if (left <= 0) {
				backstop = true;
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				break;
			}
			int n = poll(&fd1, 1, (int)(left / 1000000 + 1));
			if (n > 0 || (n < 0 && errno != EINTR))
				break;
		}
	}
	close(pfd[0]);
	while (!reaped) {
		if (waitpid(pid, &st, 0) == pid)
			reaped = true;
		else if (errno != EINTR)
			break;
	}
	/* r[impl harness.isolate.group] */
	kill(-pid, SIGKILL);	/* leaked peers of the child die with it */
	g_cur_child = 0;
	if (pidfd >= 0)
		close(pidfd);

	/* Replay what the child shipped. */
	bool got_end = false, shipped_fail = false;
	unsigned asserts = 0;
	size_t off = 0;
	while (off + sizeof(struct rec_hdr) <= len) {
		struct rec_hdr h;
		memcpy(&h, buf + off, sizeof(h));
		if (h.alen > len || h.blen > len || off + sizeof(h) + h.alen + h.blen > len)
			break;
		const char *a = buf + off + sizeof(h);
		const char *b = a + h.alen;
		char *sa = strndup(a, h.alen);
		char *sb = strndup(b, h.blen);
		if (h.type == REC_FAIL) {
			report(cap, sa ? sa : "?", h.line, sb ? sb : "?");
			shipped_fail = true;
		} else if (h.type == REC_SKIP) {
			if (cap)
				cap->skipped = true;
			else
				h_skip(sa ? sa : "");
		} else if (h.type == REC_END) {
			got_end = true;
			asserts = h.line;
		}
		free(sa);
		free(sb);
		off += sizeof(h) + h.alen + h.blen;
	}
	free(buf);
	if (cap)
		cap->asserts = asserts;
	else
		g_cur.child_asserts += asserts;

	char msg[256], sn[32];
	if (backstop) {
		/* r[impl harness.isolate.timeout] */
		snprintf(msg, sizeof(msg), "isolate: child timed out after %us (killed by the "
			 "parent's backstop after %us)", secs, secs * 2 + 10);
		report(cap, __FILE__, __LINE__, msg);
	} else if (!reaped) {
		report(cap, __FILE__, __LINE__, "isolate: waitpid failed");
	} else if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		sig_name(sig, sn, sizeof(sn));
		/* r[impl harness.isolate.timeout] */
		if (sig == SIGALRM)
			snprintf(msg, sizeof(msg), "isolate: child timed out after %us (killed by "
				 "SIGALRM)", secs);
		else
			/* r[impl harness.isolate.crash] */
			snprintf(msg, sizeof(msg), "isolate: child killed by %s (%s)", sn,
				 strsignal(sig));
		report(cap, __FILE__, __LINE__, msg);
	} else if (WIFEXITED(st) && (WEXITSTATUS(st) != 0 || !got_end)) {
		/* r[impl harness.isolate.exit] */
		if (WEXITSTATUS(st) != 0 && !shipped_fail) {
			snprintf(msg, sizeof(msg), "isolate: child exited with status %d without "
				 "reporting a failure", WEXITSTATUS(st));
			report(cap, __FILE__, __LINE__, msg);
		} else if (!got_end) {
			snprintf(msg, sizeof(msg), "isolate: child exited with status %d before its "
				 "body returned (exit()/_exit() in an isolate body loses its "
				 "assertions)", WEXITSTATUS(st));
			report(cap, __FILE__, __LINE__, msg);
		}
	}
	if (!cap)
		escape_report();
}

void isolate(void (*body)(void), unsigned deadline_s)
{
	struct iso_job job = { body, NULL, NULL };
	isolate_impl(&job, deadline_s, NULL);
}

void isolate_arg(void (*body)(void *), void *arg, unsigned deadline_s)
{
	struct iso_job job = { NULL, body, arg };
	isolate_impl(&job, deadline_s, NULL);
}

void h_isolate_capture(void (*body)(void), unsigned deadline_s, struct h_capture *cap)
{
	struct iso_job job = { body, NULL, NULL };
	isolate_impl(&job, deadline_s, cap);
}

/* ------------------------------------------------------------------ roles */

/* r[impl harness.role.exec] */
pid_t h_spawn_role(const char *role, const char *const *args)
{
	size_t n = 0;
	while (args && args[n])
		n++;
	char **argv = calloc(n + 3, sizeof(*argv));
	char *flag = NULL;
	if (!argv || asprintf(&flag, "--role=%s", role) < 0) {
		free(argv);
		return -ENOMEM;
	}
	argv[0] = g_argv0 ? g_argv0 : (char *)"shmk-test";
	argv[1] = flag;
	for (size_t i = 0; i < n; i++)
		argv[i + 2] = (char *)args[i];
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	int err = errno;
	free(flag);
	free(argv);
	return pid < 0 ? -err : pid;
}

static int wait_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -ECHILD;
}

/* r[impl harness.role.exec] */
/* r[impl harness.wait.deadline] */
int h_wait(pid_t pid, unsigned deadline_s)
{
	int64_t end = now_ns() + (int64_t)h_deadline(deadline_s) * 1000000000;
	int st;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		struct pollfd fd = { pidfd, POLLIN, 0 };
		for (;;) {
			int64_t left = end - now_ns();
			if (left <= 0)
				break;
			int n = poll(&fd, 1, (int)(left / 1000000 + 1));
			if (n > 0)
				break;
			if (n < 0 && errno != EINTR)
				break;
		}
		close(pidfd);
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return wait_status(st);
		if (r < 0)
			return -errno;
	} else {
		/* no pidfd (old kernel): poll waitpid */
		for (;;) {
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid)
				return wait_status(st);
			if (r < 0 && errno != EINTR)
				return -errno;
			if (now_ns() >= end)
				break;
			struct timespec ts = { 0, 5000000 };
			nanosleep(&ts, NULL);
		}
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

/* ------------------------------------------------------------------ runner */

static void on_fatal_signal(int sig)
{
	/* the runner's timeout kills us: take the isolate() child's group along */
	pid_t c = g_cur_child;
	if (c > 0)
		kill(-c, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void print_clean(const char *s)
{
	for (; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, stdout);
}

/* Our PASS/FAIL/SKIP lines must start a line for the runner to read them,
 * but a test (or its child) may have printed text without a newline.  When
 * stdout is a file (the runner's log), look at its last byte. */
static void start_line(void)
{
	fflush(stdout);
	struct stat st;
	if (fstat(1, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return;
	int fd = open("/proc/self/fd/1", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char c;
	if (pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n')
		putchar('\n');
	close(fd);
}

static void test_start(const CU_pTest t, const CU_pSuite s)
{
	for (unsigned i = 0; i < g_cur.nclause; i++)
		free(g_cur.clause[i]);
	memset(&g_cur, 0, sizeof(g_cur));
	g_cur.running = true;
	g_cur.suite = s->pName;
	g_cur.test = t->pName;
	g_cur.assert_base = CU_get_number_of_asserts();
	/* r[impl harness.evidence.register] */
	for (size_t i = 0; i < g_nmap; i++)
		if (g_map[i].t == t && g_map[i].reg->clauses)
			for (const char *const *c = g_map[i].reg->clauses; *c; c++)
				h_spec_verify(*c);
}

/* r[impl harness.run.count] */
/* r[impl harness.evidence.assert] */
static void test_complete(const CU_pTest t, const CU_pSuite s, const CU_pFailureRecord first)
{
	char where[192];
	snprintf(where, sizeof(where), "%s/%s", s->pName, t->pName);
	escape_check_self(where);
	start_line();
	unsigned nf = 0;
	for (CU_pFailureRecord r = first; r && r->pTest == t; r = r->pNext) {
		nf++;
		printf("FAIL %s/%s %s:%u: ", s->pName, t->pName, r->strFileName ? r->strFileName : "?",
		       r->uiLineNumber);
		print_clean(r->strCondition ? r->strCondition : "?");
		putchar('\n');
	}
	unsigned asserts = CU_get_number_of_asserts() - g_cur.assert_base + g_cur.child_asserts;
	const char *result;
	if (nf) {
		g_failed++;
		result = "fail";
	} else if (g_cur.skipped) {
		g_skipped++;
		result = "skip";
		printf("SKIP %s/%s: ", s->pName, t->pName);
		print_clean(g_cur.reason);
		putchar('\n');
	} else {
		g_passed++;
		result = "pass";
		printf("PASS %s/%s\n", s->pName, t->pName);
	}
	fflush(stdout);
	for (unsigned i = 0; i < g_cur.nclause; i++) {
		/* a test that asserted nothing proves nothing */
		const char *r = strcmp(result, "pass") == 0 && asserts == 0 ? "fail" : result;
		ev_add(s->pName, t->pName, g_cur.clause[i], r);
	}
	g_cur.running = false;
}

static void suite_init_failed(const CU_pSuite s)
{
	/* CUnit counts these tests as neither run nor failed: count each as failed */
	start_line();
	for (CU_pTest t = s->pTest; t; t = t->pNext) {
		printf("FAIL %s/%s suite-init:0: suite %s init returned non-zero; test not run\n",
		       s->pName, t->pName, s->pName);
		g_failed++;
	}
	fflush(stdout);
}

static void suite_cleanup_failed(const CU_pSuite s)
{
	start_line();
	printf("FAIL %s/(cleanup) suite-cleanup:0: suite %s cleanup returned non-zero\n", s->pName,
	       s->pName);
	fflush(stdout);
	g_failed++;
}

static void trampoline(void)
{
	CU_pTest t = CU_get_current_test();
	const struct h_test *reg = NULL;
	for (size_t i = 0; i < g_nmap; i++)
		if (g_map[i].t == t)
			reg = g_map[i].reg;
	if (reg && reg->deadline)
		isolate(reg->fn, reg->deadline);
	else if (reg)
		reg->fn();
	char where[192];
	snprintf(where, sizeof(where), "%s/%s", g_cur.suite, g_cur.test);
	escape_check_self(where);
	escape_report();
	unsigned asserts = CU_get_number_of_asserts() - g_cur.assert_base + g_cur.child_asserts;
	if (g_cur.nclause && !g_cur.skipped && asserts == 0)
		/* r[impl harness.evidence.assert] */
		CU_assertImplementation(CU_FALSE, __LINE__,
					"test verifies clauses but made no assertion (not evidence)",
					__FILE__, "", CU_FALSE);
}

static bool filter_match(const char *filter, const char *suite, const char *test)
{
	if (!filter)
		return true;
	size_t sl = strlen(suite);
	if (strncmp(filter, suite, sl) != 0)
		return false;
	if (filter[sl] == 0)
		return true;
	return filter[sl] == '/' && strcmp(filter + sl + 1, test) == 0;
}

static int run_role(int argc, char **argv, const struct h_role *roles)
{
	const char *name = argv[1] + strlen("--role=");
	const struct h_role *r = NULL;
	for (const struct h_role *x = roles; x && x->name && !r; x++)
		if (strcmp(x->name, name) == 0)
			r = x;
	for (const struct h_role_reg *k = roles ? NULL : g_roles; k && !r; k = k->next)
		if (strcmp(k->r.name, name) == 0)
			r = &k->r;
	if (!r) {
		fprintf(stderr, "%s: unknown role %s\n", g_prog, name);
		return 2;
	}
	char **rargv = calloc((size_t)argc, sizeof(*rargv));
	if (!rargv)
		return 2;
	rargv[0] = (char *)r->name;
	for (int i = 2; i < argc; i++)
		rargv[i - 1] = argv[i];
	int rc = r->main(argc - 1, rargv);
	free(rargv);
	fflush(NULL);
	return rc;
}

/* ------------------------------------------------------------------ registry */

int h_registered;		/* how many H_REGISTER constructors ran */
static struct h_reg *g_regs;
/* the tables built from them, kept for the program's life */
static struct h_suite *g_reg_suites;
static struct h_test *g_reg_tests;

void h_register(struct h_reg *r)
{
	r->next = g_regs;
	g_regs = r;
	h_registered++;
}

static struct h_hooks *g_hooks;

void h_register_role(struct h_role_reg *r)
{
	r->next = g_roles;
	g_roles = r;
}

void h_register_hooks(struct h_hooks *k)
{
	k->next = g_hooks;
	g_hooks = k;
}

static const struct h_hooks *hooks_of(const char *suite)
{
	for (const struct h_hooks *k = g_hooks; k; k = k->next)
		if (strcmp(k->suite ? k->suite : g_prog, suite) == 0)
			return k;
	return NULL;
}

static int reg_cmp(const void *a, const void *b)
{
	const struct h_reg *x = *(const struct h_reg *const *)a, *y = *(const struct h_reg *const *)b;
	int c = strcmp(x->file, y->file);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* The registered tests as a suite table: one suite per name (NULL: the
 * program's), in the order of their first test, tests in file and line
 * order.  NULL when memory runs out. */
static struct h_suite *registered_suites(const char *prog)
{
	size_t n = (size_t)h_registered, ns = 0;
	struct h_reg **v = calloc(n ? n : 1, sizeof(*v));
	struct h_suite *s = calloc(n + 1, sizeof(*s));
	struct h_test *t = calloc(2 * n + 1, sizeof(*t));
	if (!v || !s || !t) {
		free(v);
		free(s);
		free(t);
		return NULL;
	}
	size_t i = 0;
	for (struct h_reg *r = g_regs; r && i < n; r = r->next)
		v[i++] = r;
	qsort(v, i, sizeof(*v), reg_cmp);
	/* suites in order of first appearance; each suite's tests then a { 0 } */
	size_t k = 0;
	for (size_t a = 0; a < i; a++) {
		const char *name = v[a]->suite ? v[a]->suite : prog;
		size_t j;
		for (j = 0; j < ns; j++)
			if (strcmp(s[j].name, name) == 0)
				break;
		if (j < ns)
			continue;
		s[ns].name = name;
		s[ns].tests = &t[k];
		for (size_t b = a; b < i; b++)
			if (strcmp(v[b]->suite ? v[b]->suite : prog, name) == 0)
				t[k++] = v[b]->t;
		k++;	/* the { 0 } that ends this suite */
		ns++;
	}
	free(v);
	g_reg_suites = s;
	g_reg_tests = t;
	return s;
}

/* The registrations, one JSON line per (test, clause); a test without
 * clauses has one line with "clause": null. */
static int list_clauses(const char *prog, const struct h_suite *suites)
{
	for (const struct h_suite *s = suites; s && s->name; s++)
		for (const struct h_test *t = s->tests; t && t->name; t++) {
			const char *const *c = t->clauses;
			if (!c || !*c)
				printf("{\"program\":\"%s\",\"suite\":\"%s\",\"test\":\"%s\","
				       "\"deadline\":%u,\"clause\":null}\n", prog, s->name, t->name,
				       t->deadline);
			for (; c && *c; c++)
				printf("{\"program\":\"%s\",\"suite\":\"%s\",\"test\":\"%s\","
				       "\"deadline\":%u,\"clause\":\"%s\"}\n", prog, s->name, t->name,
				       t->deadline, *c);
		}
	return fflush(stdout) ? 1 : 0;
}

static int run_main(int argc, char **argv, const char *prog, const struct h_suite *suites,
		    const struct h_role *roles);

int h_main(int argc, char **argv, const char *prog, const struct h_suite *suites,
	   const struct h_role *roles)
{
	if (!suites && !(suites = registered_suites(prog))) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	int rc = run_main(argc, argv, prog, suites, roles);
	free(g_reg_tests);
	free(g_reg_suites);
	g_reg_tests = NULL;
	g_reg_suites = NULL;
	return rc;
}

static int run_main(int argc, char **argv, const char *prog, const struct h_suite *suites,
		    const struct h_role *roles)
{
	g_prog = prog;
	g_argv0 = argv[0];
	g_main_pid = getpid();
	if (argc > 1 && strncmp(argv[1], "--role=", 7) == 0)
		return run_role(argc, argv, roles);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "--list-clauses") == 0)
		return list_clauses(prog, suites);
	const char *filter = argc > 1 ? argv[1] : NULL;
	if (filter && filter[0] == '-') {
		fprintf(stderr, "usage: %s [suite[/test]]\n       %s --role=NAME [args...]\n",
			argv[0], argv[0]);
		return 2;
	}
	g_escape = t_shared_alloc(sizeof(*g_escape));
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			signal(sigs[i], on_fatal_signal);
	}

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: CU_initialize_registry: %s\n", prog, CU_get_error_msg());
		return 1;
	}
	size_t ntests = 0;
	for (const struct h_suite *s = suites; s && s->name; s++)
		for (const struct h_test *t = s->tests; t && t->name; t++)
			ntests++;
	g_map = calloc(ntests ? ntests : 1, sizeof(*g_map));
	int setup_err = !g_map;
	for (const struct h_suite *s = suites; !setup_err && s && s->name; s++) {
		CU_pSuite cs = NULL;
		for (const struct h_test *t = s->tests; t && t->name; t++) {
			if (!filter_match(filter, s->name, t->name))
				continue;
			if (!cs) {
				const struct h_hooks *k = hooks_of(s->name);
				cs = CU_add_suite_with_setup_and_teardown(s->name, s->init, s->cleanup,
									  k ? k->before : NULL,
									  k ? k->after : NULL);
			}
			CU_pTest ct = cs ? CU_add_test(cs, t->name, trampoline) : NULL;
			if (!ct) {
				fprintf(stderr, "%s: cannot register %s/%s: %s\n", prog, s->name,
					t->name, CU_get_error_msg());
				setup_err = 1;
				break;
			}
			g_map[g_nmap++] = (struct h_map){ ct, t };
		}
	}
	if (setup_err) {
		CU_cleanup_registry();
		free(g_map);
		return 1;
	}
	if (filter && g_nmap == 0) {
		fprintf(stderr, "%s: no test matches %s\n", prog, filter);
		CU_cleanup_registry();
		free(g_map);
		return 2;
	}

	CU_set_test_start_handler(test_start);
	CU_set_test_complete_handler(test_complete);
	CU_set_suite_init_failure_handler(suite_init_failed);
	CU_set_suite_cleanup_failure_handler(suite_cleanup_failed);
	CU_set_error_action(CUEA_IGNORE);
	CU_ErrorCode rc = CU_run_all_tests();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	escape_report();	/* a late escape still fails the program */

	ev_flush();
	for (unsigned i = 0; i < g_cur.nclause; i++)
		free(g_cur.clause[i]);
	memset(&g_cur, 0, sizeof(g_cur));
	unsigned failed = g_failed + g_outside_failures;
	start_line();
	printf("%s: %u passed, %u failed, %u skipped\n", prog, g_passed, failed, g_skipped);
	fflush(stdout);
	int status;
	/* r[impl harness.run.count] */
	if (rc != CUE_SUCCESS && rc != CUE_SINIT_FAILED && rc != CUE_SCLEAN_FAILED) {
		fprintf(stderr, "%s: CU_run_all_tests: %s\n", prog, CU_get_error_msg());
		status = 1;
	} else if (rc != CUE_SUCCESS || suites_failed || failed) {
		status = 1;
	} else if (g_passed == 0) {
		status = 77;	/* everything skipped (or nothing to run) */
	} else {
		status = 0;
	}
	CU_cleanup_registry();
	free(g_map);
	g_map = NULL;
	g_nmap = 0;
	return status;
}
