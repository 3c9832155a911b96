/* SPDX-License-Identifier: MIT */
/*
 * crash.h - what the kill -9 / liveness / restart / wake-up programs
 * (conformance/stress/<module>_crash.c, <module>_wakeup.c) share; defined
 * in crash.c and wake.c:
 *
 *   - knobs: STRESS_TRIALS (default 200 in `make check`, 10000 when run by
 *     `make stress`, recognised by SHMK_STRESS_JSON being set);
 *     SHMK_LIVENESS_MS defaults to 50 here (set before any shmkit call) so
 *     a trial that waits out a liveness period stays short;
 *   - checksummed messages and the shared side channel: support.h;
 *   - deaths seen through pidfds (poll), never by sleeping;
 *   - crash points armed in a forked child through SHMK_CRASH_AT (the
 *     parent never reaches a crash point itself, so the child's first
 *     crash_point() call reads the variable);
 *   - the wake-up hunt skeleton (t_wake_main) the three *_wakeup programs
 *     fill with their own phase.
 */
#ifndef SHMK_SUPPORT_CRASH_H
#define SHMK_SUPPORT_CRASH_H

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
#include "harness.h"
#include "support.h"

void t_crash_env(void);

uint64_t t_trials(void);

double t_liveness_s(void);

/* The bound survivors must unblock within: 2 x SHMK_LIVENESS_MS, times
 * SHMK_TIME_SCALE (sanitizer builds on a loaded machine). */
double t_unblock_bound(void);

/*
 * A probe of the machine's scheduling delay, run during a program's trials
 * (started before the first, stopped after the last): a forked process
 * that sleeps 1 ms in a loop and keeps its longest oversleep, the wake-up
 * latency any party of a trial may pay at each of its wake-ups.  A time
 * bound adds k x that (k: the sequential wake-ups on the blocked party's
 * path, the program says which), so a loaded machine does not fail it,
 * while a real stall of several liveness periods still does (the probe is
 * not blocked by a stopped peer).  NULL when it could not start; the
 * delay of NULL is 0.
 */
struct t_probe;
struct t_probe *t_probe_start(void);
int64_t t_probe_max_ns(const struct t_probe *p);
/* SIGKILLs and reaps the probe; its delay stays readable. */
void t_probe_stop(struct t_probe *p);
/* A survivor's bound: t_unblock_bound() plus `wakeups` x the probe's
 * delay (the sequential wake-ups on the blocked party's path; a NULL
 * probe adds nothing), each capped at half a liveness period, so a stall
 * past 2 x L + wakeups x L / 2 fails however loaded the run was. */
double t_survivor_bound(const struct t_probe *p, int wakeups);
/* After t_probe_stop (a delay that hit a trial may reach the probe's
 * record only after that trial ended): 0 when `max_unblock` (seconds, the
 * longest of a group's trials, trial `trial`) is within
 * t_survivor_bound(p, wakeups); else prints why, naming `group`, and
 * returns 1. */
int t_judge_unblock(const struct t_probe *p, int wakeups, const char *prog, const char *group,
		    double max_unblock, uint64_t trial);

int t_pidfd(pid_t pid);

/*
 * Waits until every pid in pids[0..n) has died (its pidfd polls readable),
 * recording in died_at[i] the CLOCK_MONOTONIC seconds at which the death
 * was seen; reaps them into status[i].  Returns 0, or -ETIMEDOUT after
 * `deadline_s` (the survivors are then SIGKILLed and reaped, status -1).
 * `on_tick` (may be NULL) runs every time a death is seen.
 */
int t_wait_all(const pid_t *pids, int n, double *died_at, int *status,
			      double deadline_s);

int t_killed(int st);

int t_exited0(int st);

/* A random pause of 0..max_us microseconds (chooses when a kill lands; it
 * synchronises nothing). */
void t_pause_us(uint64_t *rng, uint64_t max_us);

/* Atomic max on a shared double stored as nanoseconds. */
void t_max_ns(_Atomic int64_t *m, int64_t v);

/* State letter of /proc/<pid>/stat ('Z' for a zombie), or '?'. */
char t_proc_state(pid_t pid);

/* Forks a child that runs fn(arg) and SIGKILLs itself: the peer that dies
 * holding what fn took.  Returns its pid once fn returned 0 in it and it is
 * a zombie (dead, not reaped: the caller reaps it), or -1 (fn failed or the
 * fork did; the child is reaped). */
pid_t t_fork_zombie(int (*fn)(void *), void *arg);

/* Clock ticks since boot, the unit of /proc/<pid>/stat start times. */
long t_ticks_now(void);

/* Inside a private PID namespace (we are its init): make the next fork get
 * `pid` again.  0 or -errno.  Waits out the clock tick of the old start
 * time first: a reuse inside the same tick would carry the same start time
 * (real reuse needs a pid_max wrap, far longer than a tick). */
int t_force_next_pid(pid_t pid, uint64_t old_token);

/* Re-runs this program as init of a private PID namespace with argv[1] =
 * `arg`; returns its exit status (0..255), 77 when that is impossible here
 * (not root, no unshare), or 128+signal. */
int t_in_pidns(const char *arg, unsigned deadline_s);

/* A dead role holder's token as the library registered it: start time
 * (field 22 of /proc/<pid>/stat) << SHMK_TOKEN_PID_BITS | pid.  Call while
 * `pid` is an unreaped zombie: the library's token helpers count a zombie
 * as dead, but its stat file still carries the start time. */
uint64_t t_zombie_token(pid_t pid);

/* Inside a private PID namespace (t_in_pidns): `dead`, an unreaped zombie
 * that held a role, is reaped and a stranger (a child that does nothing
 * until released) is forked onto its PID.  0 with *stranger and *release
 * set (t_release ends it); else the step that failed: 1 the PID could not
 * be forced, 2 pipe, 3 the stranger got another PID (said on stderr). */
int t_reuse_pid(const char *prog, pid_t dead, pid_t *stranger, int *release);

void t_release(pid_t stranger, int release);

/* Both steps above: a child that dies holding what fn(arg) took
 * (t_fork_zombie), its PID given to a stranger (t_reuse_pid); *dead is the
 * dead holder's PID.  0, or the step that failed: 1 the holder (fn or the
 * fork), else 1 + t_reuse_pid's step. */
int t_reuse_dead(const char *prog, int (*fn)(void *), void *arg, pid_t *dead,
		 pid_t *stranger, int *release);

/* The PID reuse check: this program again as init of a private PID
 * namespace with --pidreuse.  0 passed, 77 skipped, else the failing step;
 * says so unless it passed. */
int t_pidreuse(const char *prog);

/* Evidence of the zombie check (z: 0 passed) and the PID reuse check (pr as
 * t_pidreuse returns it): both verify common.liveness.token. */
void t_liveness_evidence(const char *prog, int z, int pr);

/* Runs `$SHMKIT_BIN gc dir` (default build/check/bin/shmkit, relative to
 * the repository root the programs run from); its exit status, its output
 * in out, or -ENOENT when the CLI is not built: then says so and sets
 * *gc_state to -1 (gc not checked). */
int t_gc(const char *prog, const char *dir, char *out, size_t outlen,
			int *gc_state);

/* Says how gc (exit status g, output out) did on the crashed `what` (gone:
 * removed) and shows gc's output when `what` is still there, or also when
 * gc failed if `dump_on_exit`.  Sets *gc_state to 1 (passed) or 0. */
void t_gc_report(const char *prog, const char *dir, int g, const char *what,
				int gone, const char *out, int dump_on_exit, int *gc_state);

/* Evidence of the restart-then-gc check (gc_state as t_gc/t_gc_report
 * leave it; nothing when gc was not checked). */
void t_gc_evidence(const char *prog, int gc_state);

/* The zombie, pid-reuse and restart checks every crash program runs after
 * its trials (0 = passed). */
struct t_after {
	int zombie;	/* zombie(): 0 passed */
	int pidreuse;	/* t_pidreuse(): 0 passed, 77 could not run */
	int restart;	/* restart(): 0 passed */
	int gc;		/* restart()'s gc state (t_gc, t_gc_report) */
};

/* What a crash program brings to t_crash_main. */
struct t_crash_prog {
	const char *prog;
	uint64_t *seed;		/* set to h_seed() before the trials */
	int (*pidreuse_role)(void);	/* the --pidreuse role t_pidreuse runs */
	/* The n trials, drawing from *rng: says its own lines and returns 1
	 * when all n ran and every one passed. */
	int (*trials)(uint64_t n, uint64_t *rng);
	int (*zombie)(void);
	int (*restart)(uint64_t *rng, int *gc);
	/* The program's own evidence, and its counts for the result record (a
	 * JSON object body such as "\"trials\": 10") written to counts. */
	void (*finish)(const struct t_after *a, int trials_ok, char *counts, size_t len);
};

/* The whole crash program: the knob defaults, the --pidreuse role when argv
 * asks for it, the trials, then the zombie, the
 * pid-reuse run in a private PID namespace, the restart and its `shmkit
 * gc` (the parent may use the library by now: no crash point is armed any
 * more), the liveness and gc evidence, the program's own (finish), and the
 * result record.  The exit status. */
/* side is the program's side channel, t_shared_alloc()ed before (NULL: the
 * setup failed). */
int t_crash_main(int argc, char **argv, const void *side, const struct t_crash_prog *p);

/* ---------------------------------------------------------- wake-up hunt */

/* Round trips to run: STRESS_ROUNDTRIPS, default 20000 in make check and
 * the program's share of 10,000,000 in make stress (t_wake_prog.stress_share;
 * the shares are in proportion to the rates, so the three hunts, which
 * make stress runs side by side, end about together).  The time bound
 * STRESS_WAKEUP_SECONDS (60 s in make check, 1200 s in make stress, so
 * make stress stays under its 45 minutes) is a safety net far above the
 * expected time: a run it stops short of its count prints `incomplete` and
 * fails, as the crash programs do.  Release-build rates on 2 shared vCPUs
 * with 0..50 us delays, the three side by side: ring ~11k, slots ~6.6k,
 * events ~3.8k round trips/s (alone: 7.4k, 6.2k, 4.5k). */
uint64_t t_wake_roundtrips(uint64_t stress_share);

double t_wake_seconds(void);

/* A blocking call's deadline: far above any normal round trip. */
int64_t t_wake_deadline_ns(void);

struct t_wake_side {
	_Atomic uint64_t done;		/* round trips completed (pinger) */
	_Atomic uint64_t hangs, bad;	/* blocking calls that hit the deadline; wrong replies */
	_Atomic int64_t max_rt_ns;
	_Atomic uint64_t late;		/* round trips over 40 ms: a wake-up lost
					 * but masked by a bounded re-check slice */
	_Atomic int err[2];
	_Atomic int stop;
	_Atomic uint64_t gaps[2][2];	/* [player][point]: delay points reached (t_wake_exit) */
};

/* A player's normal end: its visits to the two delay points (the
 * check-to-park gap, then the wake gap) go to *w before it exits. */
_Noreturn void t_wake_exit(struct t_wake_side *w, int me, int status);

void t_wake_rt_done(struct t_wake_side *w, int64_t rt_ns);

/* Sets up one phase's delay environment; the children read it at their
 * first delay point (the parent never reaches one). */
void t_wake_env(const char *points, unsigned max_us);


/* The rest of a phase once both players are forked: the parent's share of
 * their nbar start barriers, then waits for both (up to secs + 60 s); *ok
 * says both exited 0 with no hang and no bad reply (what failed is said).
 * Returns the seconds taken from the barriers on. */
double t_wake_collect(const char *prog, const struct t_wake_side *ws,
				struct h_barrier *bar, int nbar, const pid_t pids[2], double secs,
				int *ok);

/* What a wake-up program brings to t_wake_main. */
struct t_wake_prog {
	const char *prog;		/* "<module>_wakeup"; the hunt line says "<module>-wakeup" */
	const char *points;		/* SHMK_DELAY_AT of both phases */
	const char *liveness_ms;	/* SHMK_LIVENESS_MS default: above every deadline */
	const char *shape;		/* more about the traffic, after the hunt's rate */
	const char *late;		/* how the hunt line names round trips over 40 ms */
	const char *clauses[3];		/* what the hunt verifies (NULL-ended) */
	uint64_t stress_share;		/* round trips under make stress (t_wake_roundtrips) */
	/* 1: the waiters spin as briefly as this module did before it shared
	 * wait.c (SHMK_WAIT_SPIN_NS 0 unless set), so they park and the park
	 * gap is really hunted */
	int park;
	/* One phase of n round trips (or secs): the children reset and fill
	 * *ws, share *bar (3 parties); *ok and the seconds taken (t_wake_collect). */
	double (*phase)(uint64_t n, double secs, int *ok);
};

/* The whole program: the calibration phase (100 round trips with 0..2000
 * us delays must take >= 30 ms, so the delay points fire), the hunt, the
 * evidence and the result record.  *ws and *bar are set up here for the
 * phases.  The exit status. */
int t_wake_main(const struct t_wake_prog *p, struct t_wake_side **wsp, struct h_barrier **barp);

#endif
