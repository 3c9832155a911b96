/* SPDX-License-Identifier: MIT */
/*
 * crash_common.h - what the kill -9 / liveness / restart / wake-up programs
 * (conformance/stress/<module>_crash.c, <module>_wakeup.c) share:
 *
 *   - knobs: STRESS_TRIALS (default 200 in `make check`, 10000 when run by
 *     `make stress`, recognised by SHMK_STRESS_JSON being set);
 *     SHMK_LIVENESS_MS defaults to 50 here (set before any shmkit call) so
 *     a trial that waits out a liveness period stays short;
 *   - checksummed messages: [u32 producer][u32 len][u64 seq][u32 crc]
 *     [payload], crc = CRC-32 of the first 16 bytes and the payload, so a
 *     torn or partial message (wrong length, stale bytes) is caught;
 *   - a shared side channel (anonymous MAP_SHARED, created before fork);
 *   - deaths seen through pidfds (poll), never by sleeping;
 *   - crash points armed in a forked child through SHMK_CRASH_AT (the
 *     parent never reaches a crash point itself, so the child's first
 *     crash_point() call reads the variable).
 */
#ifndef SHMK_CRASH_COMMON_H
#define SHMK_CRASH_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "stress.h"

#define CR_HDR 20

static inline void cr_env_defaults(void)
{
	setenv("SHMK_LIVENESS_MS", "50", 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline uint64_t cr_trials(void)
{
	return st_env_u64("STRESS_TRIALS", getenv("SHMK_STRESS_JSON") ? 10000 : 200);
}

static inline double cr_liveness_s(void)
{
	return (double)shmk_liveness_ns() / 1e9;
}

/* The bound survivors must unblock within: 2 x SHMK_LIVENESS_MS, times
 * SHMK_TIME_SCALE (sanitizer builds on a loaded machine). */
static inline double cr_unblock_bound(void)
{
	return 2 * cr_liveness_s() * h_time_scale();
}

static inline void *cr_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(p, 0, len);
	return p;
}

/* A message of producer `prod`, sequence `seq`, CR_HDR..max bytes. */
static inline size_t cr_make(uint8_t *buf, size_t max, uint32_t prod, uint64_t seq,
			     uint64_t seed)
{
	uint64_t rng = seed ^ ((uint64_t)prod << 40) ^ (seq * 0x9e3779b97f4a7c15ULL) ^ 1;
	uint32_t len = CR_HDR + (uint32_t)(st_rand(&rng) % (max - CR_HDR + 1));

	memcpy(buf, &prod, 4);
	memcpy(buf + 4, &len, 4);
	memcpy(buf + 8, &seq, 8);
	for (uint32_t i = CR_HDR; i < len; i += 8) {
		uint64_t r = st_rand(&rng);
		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
	uint32_t crc = st_crc32(0, buf, 16);
	crc = st_crc32(crc, buf + CR_HDR, len - CR_HDR);
	memcpy(buf + 16, &crc, 4);
	return len;
}

/* 0 (with prod and seq set), or -1: torn (length or checksum wrong). */
static inline int cr_check(const uint8_t *buf, size_t n, uint32_t *prod, uint64_t *seq)
{
	uint32_t len, crc;

	if (n < CR_HDR)
		return -1;
	memcpy(prod, buf, 4);
	memcpy(&len, buf + 4, 4);
	memcpy(seq, buf + 8, 8);
	memcpy(&crc, buf + 16, 4);
	if (len != n)
		return -1;
	uint32_t c = st_crc32(0, buf, 16);
	c = st_crc32(c, buf + CR_HDR, len - CR_HDR);
	return c == crc ? 0 : -1;
}

static inline int cr_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Waits until every pid in pids[0..n) has died (its pidfd polls readable),
 * recording in died_at[i] the CLOCK_MONOTONIC seconds at which the death
 * was seen; reaps them into status[i].  Returns 0, or -ETIMEDOUT after
 * `deadline_s` (the survivors are then SIGKILLed and reaped, status -1).
 * `on_tick` (may be NULL) runs every time a death is seen.
 */
static inline int cr_wait_all(const pid_t *pids, int n, double *died_at, int *status,
			      double deadline_s)
{
	struct pollfd pf[16];
	int left = 0, rc = 0;
	double end = st_now() + deadline_s;

	for (int i = 0; i < n; i++) {
		pf[i].fd = pids[i] > 0 ? cr_pidfd(pids[i]) : -1;
		pf[i].events = POLLIN;
		died_at[i] = 0;
		status[i] = -1;
		if (pf[i].fd >= 0)
			left++;
		else if (pids[i] > 0) { /* pidfd_open failed: reap the slow way */
			waitpid(pids[i], &status[i], 0);
			died_at[i] = st_now();
		}
	}
	while (left) {
		double now = st_now();
		if (now >= end) {
			rc = -ETIMEDOUT;
			break;
		}
		int r = poll(pf, (nfds_t)n, (int)((end - now) * 1000) + 1);
		if (r < 0 && errno != EINTR)
			break;
		now = st_now();
		for (int i = 0; i < n; i++) {
			if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP))) {
				died_at[i] = now;
				waitpid(pids[i], &status[i], 0);
				close(pf[i].fd);
				pf[i].fd = -1;
				left--;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (pf[i].fd >= 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status[i], 0);
			close(pf[i].fd);
			status[i] = -1;
		}
	}
	return rc;
}

static inline int cr_killed(int st)
{
	return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static inline int cr_exited0(int st)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A random pause of 0..max_us microseconds (chooses when a kill lands; it
 * synchronises nothing). */
static inline void cr_pause_us(uint64_t *rng, uint64_t max_us)
{
	uint64_t us = max_us ? st_rand(rng) % (max_us + 1) : 0;
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	if (us)
		nanosleep(&ts, NULL);
}

/* Atomic max on a shared double stored as nanoseconds. */
static inline void cr_max_ns(_Atomic int64_t *m, int64_t v)
{
	int64_t cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

/* State letter of /proc/<pid>/stat ('Z' for a zombie), or '?'. */
static inline char cr_proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Clock ticks since boot, the unit of /proc/<pid>/stat start times. */
static inline long cr_ticks_now(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long)(ts.tv_sec * hz + ts.tv_nsec / (1000000000L / hz));
}

/* Inside a private PID namespace (we are its init): make the next fork get
 * `pid` again.  0 or -errno.  Waits out the clock tick of the old start
 * time first: a reuse inside the same tick would carry the same start time
 * (real reuse needs a pid_max wrap, far longer than a tick). */
static inline int cr_force_next_pid(pid_t pid, uint64_t old_token)
{
	long start = (long)(old_token >> SHMK_TOKEN_PID_BITS);

	while (cr_ticks_now() <= start + 1) {
		struct timespec d = { 0, 2 * 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (!f)
		return -errno;
	int ok = fprintf(f, "%d", (int)pid - 1) > 0;
	if (fclose(f) || !ok)
		return -EIO;
	return 0;
}

/* Re-runs this program as init of a private PID namespace with argv[1] =
 * `arg`; returns its exit status (0..255), 77 when that is impossible here
 * (not root, no unshare), or 128+signal. */
static inline int cr_in_pidns(const char *arg, unsigned deadline_s)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || geteuid() != 0)
		return 77;
	self[n] = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", self, arg,
		       (char *)NULL);
		_exit(77);
	}
	int st = 0;
	double died;
	(void)cr_wait_all(&pid, 1, &died, &st, h_deadline(deadline_s));
	if (st == -1)
		return 124;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A dead role holder's token as the library registered it: start time
 * (field 22 of /proc/<pid>/stat) << SHMK_TOKEN_PID_BITS | pid.  Call while
 * `pid` is an unreaped zombie: the library's token helpers count a zombie
 * as dead, but its stat file still carries the start time. */
static inline uint64_t cr_zombie_token(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		fclose(f);
		char *q = strrchr(buf, ')');
		for (int field = 2; q && field < 22; field++)
			q = strchr(q + 1, ' ');
		if (q)
			start = strtoull(q + 1, NULL, 10);
	}
	return ((uint64_t)start << SHMK_TOKEN_PID_BITS) | (uint64_t)pid;
}

/* Inside a private PID namespace (cr_in_pidns): `dead`, an unreaped zombie
 * that held a role, is reaped and a stranger (a child that does nothing
 * until released) is forked onto its PID.  0 with *stranger and *release
 * set (cr_release ends it); else the step that failed: 1 the PID could not
 * be forced, 2 pipe, 3 the stranger got another PID (said on stderr). */
static inline int cr_reuse_pid(const char *prog, pid_t dead, pid_t *stranger, int *release)
{
	uint64_t token = cr_zombie_token(dead);
	int q[2];

	waitpid(dead, NULL, 0);
	if (cr_force_next_pid(dead, token))
		return 1;
	if (pipe(q))
		return 2;
	pid_t b = fork();
	if (b == 0) { /* the stranger: holds the PID until told to go */
		close(q[1]);
		char x;
		ssize_t rr = read(q[0], &x, 1);
		_exit(rr < 0);
	}
	close(q[0]);
	if (b != dead) {
		close(q[1]);
		waitpid(b, NULL, 0);
		fprintf(stderr, "%s: wanted pid %d again, got %d\n", prog, (int)dead, (int)b);
		return 3;
	}
	*stranger = b;
	*release = q[1];
	return 0;
}

static inline void cr_release(pid_t stranger, int release)
{
	close(release);
	waitpid(stranger, NULL, 0);
}

/* The PID reuse check: this program again as init of a private PID
 * namespace with --pidreuse.  0 passed, 77 skipped, else the failing step;
 * says so unless it passed. */
static inline int cr_pidreuse(const char *prog)
{
	int pr = cr_in_pidns("--pidreuse", 60);

	if (pr == 77)
		printf("%s: pid reuse: skipped (needs root and unshare)\n", prog);
	else if (pr)
		printf("%s: pid reuse check failed (step %d)\n", prog, pr);
	return pr;
}

/* Evidence of the zombie check (z: 0 passed) and the PID reuse check (pr as
 * cr_pidreuse returns it): both verify common.liveness.token. */
static inline void cr_liveness_evidence(const char *prog, int z, int pr)
{
	h_evidence(prog, "stress", "zombie", "common.liveness.token", !z);
	if (pr != 77)
		h_evidence(prog, "stress", "pidreuse", "common.liveness.token", pr == 0);
}

/* Runs `$SHMKIT_BIN gc dir` (default build/check/bin/shmkit, relative to
 * the repository root the programs run from); its exit status, its output
 * in out, or -ENOENT when the CLI is not built: then says so and sets
 * *gc_state to -1 (gc not checked). */
static inline int cr_gc(const char *prog, const char *dir, char *out, size_t outlen,
			int *gc_state)
{
	const char *bin = getenv("SHMKIT_BIN");
	char cmd[1024];

	if (!bin || !*bin)
		bin = "build/check/bin/shmkit";
	if (access(bin, X_OK)) {
		*gc_state = -1;
		printf("%s: shmkit gc: build/check/bin/shmkit not built, gc not checked\n", prog);
		return -ENOENT;
	}
	snprintf(cmd, sizeof(cmd), "%s gc %s 2>&1", bin, dir);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -errno;
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Says how gc (exit status g, output out) did on the crashed `what` (gone:
 * removed) and shows gc's output when `what` is still there, or also when
 * gc failed if `dump_on_exit`.  Sets *gc_state to 1 (passed) or 0. */
static inline void cr_gc_report(const char *prog, const char *dir, int g, const char *what,
				int gone, const char *out, int dump_on_exit, int *gc_state)
{
	printf("%s: shmkit gc %s -> exit %d, crashed %s %s\n", prog, dir, g, what,
	       gone ? "removed" : "STILL THERE");
	if (!gone || (dump_on_exit && g))
		printf("%s", out);
	*gc_state = gone && g == 0;
}

/* Evidence of the restart-then-gc check (gc_state as cr_gc/cr_gc_report
 * leave it; nothing when gc was not checked). */
static inline void cr_gc_evidence(const char *prog, int gc_state)
{
	if (gc_state >= 0)
		h_evidence(prog, "stress", "restart-gc", "cli.gc.dead-owner", gc_state == 1);
}

/* JSON values of the st_report fields "pidreuse" and "gc". */
static inline const char *cr_pidreuse_json(int pr)
{
	return pr == 77 ? "skipped" : pr ? "fail" : "ok";
}

static inline const char *cr_gc_json(int gc_state)
{
	return gc_state < 0 ? "not built" : gc_state ? "ok" : "fail";
}

/* ---------------------------------------------------------- wake-up hunt */

/* Round trips to run: STRESS_ROUNDTRIPS, default 20000 in make check and
 * the program's share of 10,000,000 in make stress (wk_prog.stress_share;
 * the shares are in proportion to the rates, so the three hunts, which
 * make stress runs side by side, end about together).  The time bound
 * STRESS_WAKEUP_SECONDS (60 s in make check, 1200 s in make stress, so
 * make stress stays under its 45 minutes) is a safety net far above the
 * expected time: a run it stops short of its count prints `incomplete` and
 * fails, as the crash programs do.  Release-build rates on 2 shared vCPUs
 * with 0..50 us delays, the three side by side: ring ~11k, slots ~6.6k,
 * events ~3.8k round trips/s (alone: 7.4k, 6.2k, 4.5k). */
static inline uint64_t wk_roundtrips(uint64_t stress_share)
{
	return st_env_u64("STRESS_ROUNDTRIPS", getenv("SHMK_STRESS_JSON") ? stress_share : 20000);
}

static inline double wk_seconds(void)
{
	return (double)st_env_u64("STRESS_WAKEUP_SECONDS", getenv("SHMK_STRESS_JSON") ? 1200 : 60);
}

/* A blocking call's deadline: far above any normal round trip. */
static inline int64_t wk_deadline_ns(void)
{
	/* (the wake-up programs set SHMK_LIVENESS_MS to 60 s, so a wait path
	 * that re-checks once per liveness period cannot hide a lost wake-up
	 * below this deadline) */
	return (int64_t)(10e9 * h_time_scale());
}

struct wk_side {
	_Atomic uint64_t done;		/* round trips completed (pinger) */
	_Atomic uint64_t hangs, bad;	/* blocking calls that hit the deadline; wrong replies */
	_Atomic int64_t max_rt_ns;
	_Atomic uint64_t late;		/* round trips over 40 ms: a wake-up lost
					 * but masked by a bounded re-check slice */
	_Atomic int err[2];
	_Atomic int stop;
	_Atomic uint64_t gaps[2][2];	/* [player][point]: delay points reached (wk_exit) */
};

/* A player's normal end: its visits to the two delay points (the
 * check-to-park gap, then the wake gap) go to *w before it exits. */
static inline _Noreturn void wk_exit(struct wk_side *w, int me, int status)
{
	for (unsigned j = 0; j < 2; j++)
		atomic_store(&w->gaps[me][j], shmk_delay_hits(j));
	_exit(status);
}

static inline void wk_rt_done(struct wk_side *w, int64_t rt_ns)
{
	cr_max_ns(&w->max_rt_ns, rt_ns);
	if (rt_ns > 40 * 1000000LL)
		atomic_fetch_add(&w->late, 1);
}

/* Sets up one phase's delay environment; the children read it at their
 * first delay point (the parent never reaches one). */
static inline void wk_env(const char *points, unsigned max_us)
{
	char b[32];

	if (points) {
		setenv("SHMK_DELAY_AT", points, 1);
		snprintf(b, sizeof(b), "%u", max_us);
		setenv("SHMK_DELAY_US", b, 1);
	} else {
		unsetenv("SHMK_DELAY_AT");
	}
}


/* The rest of a phase once both players are forked: the parent's share of
 * their nbar start barriers, then waits for both (up to secs + 60 s); *ok
 * says both exited 0 with no hang and no bad reply (what failed is said).
 * Returns the seconds taken from the barriers on. */
static inline double wk_collect(const char *prog, const struct wk_side *ws,
				struct h_barrier *bar, int nbar, const pid_t pids[2], double secs,
				int *ok)
{
	double t0 = st_now();
	double died[2];
	int st[2];

	for (int i = 0; i < nbar; i++)
		h_barrier_wait(bar, 30);
	int rc = cr_wait_all(pids, 2, died, st, secs + h_deadline(60));
	double took = st_now() - t0;

	*ok = !rc && cr_exited0(st[0]) && cr_exited0(st[1]) && !ws->hangs && !ws->bad;
	if (!*ok)
		printf("%s: phase failed: status %#x/%#x, %s / %s, %" PRIu64 " hangs, %" PRIu64
		       " bad replies\n", prog, st[0], st[1], shmk_strerror(ws->err[0]),
		       shmk_strerror(ws->err[1]), (uint64_t)ws->hangs, (uint64_t)ws->bad);
	return took;
}

/* What a wake-up program brings to wk_main. */
struct wk_prog {
	const char *prog;		/* "<module>_wakeup"; the hunt line says "<module>-wakeup" */
	const char *points;		/* SHMK_DELAY_AT of both phases */
	const char *liveness_ms;	/* SHMK_LIVENESS_MS default: above every deadline */
	const char *shape;		/* more about the traffic, after the hunt's rate */
	const char *late;		/* how the hunt line names round trips over 40 ms */
	const char *clauses[3];		/* what the hunt verifies (NULL-ended) */
	uint64_t stress_share;		/* round trips under make stress (wk_roundtrips) */
	/* One phase of n round trips (or secs): the children reset and fill
	 * *ws, share *bar (3 parties); *ok and the seconds taken (wk_collect). */
	double (*phase)(uint64_t n, double secs, int *ok);
};

/* The whole program: the calibration phase (100 round trips with 0..2000
 * us delays must take >= 30 ms, so the delay points fire), the hunt, the
 * evidence and the result record.  *ws and *bar are set up here for the
 * phases.  The exit status. */
static inline int wk_main(const struct wk_prog *p, struct wk_side **wsp, struct h_barrier **barp)
{
	setenv("SHMK_LIVENESS_MS", p->liveness_ms, 0);
	cr_env_defaults();
	struct wk_side *ws = *wsp = cr_shared(sizeof(*ws));
	struct h_barrier *bar = *barp = h_barrier_new(3);
	uint64_t seed = h_seed();
	uint64_t n = wk_roundtrips(p->stress_share);
	double secs = wk_seconds();
	unsigned us = (unsigned)shmk_env_long("SHMK_DELAY_US", 50, 0, 1000000);
	int ok_cal = 0, ok = 0;
	double t0 = st_now();
	char label[64];

	snprintf(label, sizeof(label), "%s", p->prog);
	for (char *c = label; *c; c++)
		if (*c == '_')
			*c = '-';
	prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: short delays stay short */
	wk_env(p->points, 2000);
	double cal = p->phase(100, 60, &ok_cal);
	uint64_t cal_done = ws->done;
	int hook_ok = ok_cal && cal_done == 100 && cal >= 0.030;
	printf("%s: calibration: 100 round trips with 0..2000 us delays at %s took %.3f s "
	       "(>= 0.030 s when the delay points fire): %s\n", p->prog, p->points, cal,
	       hook_ok ? "ok" : "FAILED");

	wk_env(p->points, us);
	double took = p->phase(n, secs, &ok);
	uint64_t done = ws->done;
	int complete = done == n;
	/* how often a player stood in a gap: the hunt hunts only if both are
	 * reached (a park that never happens cannot lose its wake-up) */
	uint64_t parks = ws->gaps[0][0] + ws->gaps[1][0];
	uint64_t wakes = ws->gaps[0][1] + ws->gaps[1][1];
	int gaps_ok = parks > 0 && wakes > 0;
	const char *comma = strchr(p->points, ',');
	int n0 = comma ? (int)(comma - p->points) : (int)strlen(p->points);
	printf("%s: %" PRIu64 " round trips (%.0f/s%s) with 0..%u us delays, gaps reached: %.*s %"
	       PRIu64 ", %s %" PRIu64 "; %" PRIu64
	       " hangs, %" PRIu64 " bad replies, %" PRIu64 " %s, max round trip %.3f s, seed %"
	       PRIu64 "%s\n",
	       label, done, done / (took > 0 ? took : 1), p->shape, us, n0, p->points, parks,
	       comma ? comma + 1 : "-", wakes,
	       (uint64_t)ws->hangs, (uint64_t)ws->bad, (uint64_t)ws->late, p->late,
	       (double)ws->max_rt_ns / 1e9, seed,
	       complete ? "" : " incomplete (the time bound came before STRESS_ROUNDTRIPS)");
	wk_env(NULL, 0);
	int pass = hook_ok && ok && complete && gaps_ok;
	if (!gaps_ok)
		printf("%s: a delay point was never reached: nothing was hunted\n", p->prog);
	h_evidence(p->prog, "stress", "calibration", "reliability.hook.delay", hook_ok);
	for (int i = 0; i < 3 && p->clauses[i]; i++)
		h_evidence(p->prog, "stress", "hunt", p->clauses[i], ok && complete && gaps_ok);
	h_barrier_free(bar);
	st_report(p->prog, seed, st_now() - t0, pass,
		  "\"roundtrips\": %" PRIu64 ", \"target\": %" PRIu64 ", \"hangs\": %" PRIu64
		  ", \"bad_replies\": %" PRIu64 ", \"late\": %" PRIu64 ", \"delay_us\": %u"
		  ", \"park_gaps\": %" PRIu64 ", \"wake_gaps\": %" PRIu64
		  ", \"max_roundtrip_s\": %.3f, \"calibration_s\": %.3f",
		  done, n, (uint64_t)ws->hangs, (uint64_t)ws->bad, (uint64_t)ws->late, us, parks, wakes,
		  (double)ws->max_rt_ns / 1e9, cal);
	return pass ? 0 : 1;
}

#endif
