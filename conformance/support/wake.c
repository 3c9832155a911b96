/* SPDX-License-Identifier: MIT */
/* The wake-up hunt skeleton (crash.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash.h"
#include "shmkit/error.h"

uint64_t t_wake_roundtrips(uint64_t stress_share)
{
	return t_env_u64("STRESS_ROUNDTRIPS", getenv("SHMK_STRESS_JSON") ? stress_share : 20000);
}

double t_wake_seconds(void)
{
	return (double)t_env_u64("STRESS_WAKEUP_SECONDS", getenv("SHMK_STRESS_JSON") ? 1200 : 60);
}

int64_t t_wake_deadline_ns(void)
{
	/* (the wake-up programs set SHMK_LIVENESS_MS to 60 s, so a wait path
	 * that re-checks once per liveness period cannot hide a lost wake-up
	 * below this deadline) */
	return (int64_t)(10e9 * h_time_scale());
}

_Noreturn void t_wake_exit(struct t_wake_side *w, int me, int status)
{
	for (unsigned j = 0; j < 2; j++)
		atomic_store(&w->gaps[me][j], shmk_delay_hits(j));
	_exit(status);
}

void t_wake_rt_done(struct t_wake_side *w, int64_t rt_ns)
{
	t_max_ns(&w->max_rt_ns, rt_ns);
	if (rt_ns > 40 * 1000000LL)
		atomic_fetch_add(&w->late, 1);
}

void t_wake_env(const char *points, unsigned max_us)
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

double t_wake_collect(const char *prog, const struct t_wake_side *ws,
				struct h_barrier *bar, int nbar, const pid_t pids[2], double secs,
				int *ok)
{
	double t0 = t_now();
	double died[2];
	int st[2];

	for (int i = 0; i < nbar; i++)
		h_barrier_wait(bar, 30);
	int rc = t_wait_all(pids, 2, died, st, secs + h_deadline(60));
	double took = t_now() - t0;

	*ok = !rc && t_exited0(st[0]) && t_exited0(st[1]) && !ws->hangs && !ws->bad;
	if (!*ok)
		printf("%s: phase failed: status %#x/%#x, %s / %s, %" PRIu64 " hangs, %" PRIu64
		       " bad replies\n", prog, st[0], st[1], shmk_strerror(ws->err[0]),
		       shmk_strerror(ws->err[1]), (uint64_t)ws->hangs, (uint64_t)ws->bad);
	return took;
}

int t_wake_main(const struct t_wake_prog *p, struct t_wake_side **wsp, struct h_barrier **barp)
{
	setenv("SHMK_LIVENESS_MS", p->liveness_ms, 0);
	if (p->park)
		setenv("SHMK_WAIT_SPIN_NS", "0", 0);
	t_crash_env();
	struct t_wake_side *ws = *wsp = t_shared_alloc(sizeof(*ws));
	struct h_barrier *bar = *barp = h_barrier_new(3);
	uint64_t seed = h_seed();
	uint64_t n = t_wake_roundtrips(p->stress_share);
	double secs = t_wake_seconds();
	unsigned us = (unsigned)shmk_env_long("SHMK_DELAY_US", 50, 0, 1000000);
	int ok_cal = 0, ok = 0;
	double t0 = t_now();
	char label[64];

	snprintf(label, sizeof(label), "%s", p->prog);
	for (char *c = label; *c; c++)
		if (*c == '_')
			*c = '-';
	prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: short delays stay short */
	t_wake_env(p->points, 2000);
	double cal = p->phase(100, 60, &ok_cal);
	uint64_t cal_done = ws->done;
	int hook_ok = ok_cal && cal_done == 100 && cal >= 0.030;
	printf("%s: calibration: 100 round trips with 0..2000 us delays at %s took %.3f s "
	       "(>= 0.030 s when the delay points fire): %s\n", p->prog, p->points, cal,
	       hook_ok ? "ok" : "FAILED");

	t_wake_env(p->points, us);
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
	t_wake_env(NULL, 0);
	int pass = hook_ok && ok && complete && gaps_ok;
	if (!gaps_ok)
		printf("%s: a delay point was never reached: nothing was hunted\n", p->prog);
	h_evidence(p->prog, "stress", "calibration", "reliability.hook.delay", hook_ok);
	for (int i = 0; i < 3 && p->clauses[i]; i++)
		h_evidence(p->prog, "stress", "hunt", p->clauses[i], ok && complete && gaps_ok);
	h_barrier_free(bar);
	t_report(p->prog, seed, t_now() - t0, pass,
		  "\"roundtrips\": %" PRIu64 ", \"target\": %" PRIu64 ", \"hangs\": %" PRIu64
		  ", \"bad_replies\": %" PRIu64 ", \"late\": %" PRIu64 ", \"delay_us\": %u"
		  ", \"park_gaps\": %" PRIu64 ", \"wake_gaps\": %" PRIu64
		  ", \"max_roundtrip_s\": %.3f, \"calibration_s\": %.3f",
		  done, n, (uint64_t)ws->hangs, (uint64_t)ws->bad, (uint64_t)ws->late, us, parks, wakes,
		  (double)ws->max_rt_ns / 1e9, cal);
	return pass ? 0 : 1;
}
