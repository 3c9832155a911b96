/* SPDX-License-Identifier: MIT */
/*
 * events_wakeup: the lost wake-up hunt on the events region.  Two processes
 * play ping-pong through one blocking region: the pinger sends on the SPSC
 * queue and receives on the MPSC queue, the ponger the other way round,
 * both with the blocking shmk_events_send / shmk_events_recv (spin, then
 * park), while the test-build delay points events.wait.gap (between the
 * parker's re-check and its futex wait) and events.wake.gap (between the
 * waker's fence and its check for waiters) pause a random 0..SHMK_DELAY_US
 * microseconds.  Every 4096th round trip the pinger first sends a burst of
 * 1100 messages (more than the queue holds), so senders also park on a full
 * queue and are woken by the receiver's advance.  SHMK_LIVENESS_MS is 600 s
 * here: a parked call wakes on its own every SHMK_LIVENESS_MS/4 to look at
 * its peer (events.wait.peerdead-cadence), the MPSC receiver every half
 * period, and all of these stay above every blocking call's 10 s x
 * SHMK_TIME_SCALE deadline, so a lost wake-up is a hang, never masked.  A
 * player that dies ends its partner's wait with SHMK_EPEERDEAD (an error,
 * reported as such; no replacement is expected here).
 *
 * A calibration phase (100 round trips with 0..2000 us delays, which must
 * take >= 30 ms) shows the delay points fire.  Env as ring_wakeup.
 *
 * r[verify reliability.hook.delay] r[verify events.wake.park]
 */
#include <sys/prctl.h>

#include "crash_common.h"
#include "shmkit/events.h"

#define PROG "events_wakeup"
#define POINTS "events.wait.gap,events.wake.gap"
#define BURST (1ULL << 63)
#define END (~0ULL)

static struct wk_side *ws;
static struct h_barrier *bar;

static void player(int me, const char *path, uint64_t n, double secs)
{
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events *r;
	struct shmk_events_tx *stx, *mtx;
	struct shmk_events_rx *srx, *mrx;
	int rc = shmk_events_open_path_with(path, &o, &r);
	if (!rc)
		rc = shmk_events_split_spsc(r, &stx, &srx);
	if (!rc)
		rc = shmk_events_split_mpsc(r, &mtx, &mrx);
	h_barrier_wait(bar, 30);
	if (rc) {
		ws->err[me] = rc;
		_exit(1);
	}
	shmk_events_close(r);
	/* pinger: SPSC tx + MPSC rx; ponger: SPSC rx + MPSC tx */
	if (me == 0) {
		shmk_events_rx_close(srx);
		shmk_events_tx_close(mtx);
	} else {
		shmk_events_tx_close(stx);
		shmk_events_rx_close(mrx);
	}
	int64_t dl = wk_deadline_ns();
	double end = st_now() + secs;
	uint64_t v;
	size_t len;
	for (uint64_t i = 0;; i++) {
		if (me == 1) {
			rc = shmk_events_recv(srx, &v, sizeof(v), &len, dl, NULL);
			if (rc == -ETIMEDOUT)
				atomic_fetch_add(&ws->hangs, 1);
			if (rc || v == END)
				break;
			if (v & BURST)
				continue;
			rc = shmk_events_send(mtx, &v, sizeof(v), dl, NULL);
			if (rc == -ETIMEDOUT)
				atomic_fetch_add(&ws->hangs, 1);
			if (rc)
				break;
			continue;
		}
		if (i >= n || ((i & 255) == 0 && st_now() > end)) {
			v = END;
			rc = shmk_events_send(stx, &v, sizeof(v), dl, NULL);
			break;
		}
		int64_t t0 = shmk_now_ns();
		if (i % 4096 == 4095) {
			for (uint64_t k = 0; k < 1100 && !rc; k++) {
				v = BURST | k;
				rc = shmk_events_send(stx, &v, sizeof(v), dl, NULL);
			}
		}
		if (!rc)
			rc = shmk_events_send(stx, &i, sizeof(i), dl, NULL);
		if (!rc)
			rc = shmk_events_recv(mrx, &v, sizeof(v), &len, dl, NULL);
		if (rc == -ETIMEDOUT)
			atomic_fetch_add(&ws->hangs, 1);
		if (rc)
			break;
		if (v != i)
			atomic_fetch_add(&ws->bad, 1);
		if (i % 4096 != 4095) /* a burst round trip is long by design */
			wk_rt_done(ws, shmk_now_ns() - t0);
		atomic_store(&ws->done, i + 1);
	}
	ws->err[me] = rc;
	if (me == 0) {
		shmk_events_tx_close(stx);
		shmk_events_rx_close(mrx);
	} else {
		shmk_events_rx_close(srx);
		shmk_events_tx_close(mtx);
	}
	_exit(rc ? 1 : 0);
}

static double phase(uint64_t n, double secs, int *ok)
{
	char path[256];

	memset(ws, 0, sizeof(*ws));
	h_unique_path(path, sizeof(path), "events-wk");
	pid_t pids[2];
	pids[0] = fork();
	if (pids[0] == 0)
		player(0, path, n, secs);
	pids[1] = fork();
	if (pids[1] == 0)
		player(1, path, n, secs);
	double t0 = st_now();
	h_barrier_wait(bar, 30);
	double died[2];
	int st[2];
	int rc = cr_wait_all(pids, 2, died, st, secs + h_deadline(60));
	double took = st_now() - t0;
	unlink(path);
	*ok = !rc && cr_exited0(st[0]) && cr_exited0(st[1]) && !ws->hangs && !ws->bad;
	if (!*ok)
		printf("%s: phase failed: status %#x/%#x, %s / %s, %" PRIu64 " hangs, %" PRIu64
		       " bad replies\n", PROG, st[0], st[1], shmk_strerror(ws->err[0]),
		       shmk_strerror(ws->err[1]), (uint64_t)ws->hangs, (uint64_t)ws->bad);
	return took;
}

int main(void)
{
	setenv("SHMK_LIVENESS_MS", "600000", 0);
	cr_env_defaults();
	ws = cr_shared(sizeof(*ws));
	bar = h_barrier_new(3);
	uint64_t seed = h_seed();
	uint64_t n = wk_roundtrips();
	double secs = wk_seconds();
	unsigned us = (unsigned)shmk_env_long("SHMK_DELAY_US", 50, 0, 1000000);
	int ok_cal, ok;
	double t0 = st_now();

	prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: short delays stay short */
	wk_env(POINTS, 2000);
	double cal = phase(100, 60, &ok_cal);
	uint64_t cal_done = ws->done;
	int hook_ok = ok_cal && cal_done == 100 && cal >= 0.030;
	printf("%s: calibration: 100 round trips with 0..2000 us delays at %s took %.3f s "
	       "(>= 0.030 s when the delay points fire): %s\n", PROG, POINTS, cal,
	       hook_ok ? "ok" : "FAILED");

	wk_env(POINTS, us);
	double took = phase(n, secs, &ok);
	uint64_t done = ws->done;
	int complete = done == n;
	printf("events-wakeup: %" PRIu64 " round trips (%.0f/s; SPSC out, MPSC back, a 1100-message "
	       "burst every 4096) with 0..%u us delays at %s, %" PRIu64 " hangs, %" PRIu64
	       " bad replies, %" PRIu64 " over 40 ms, max round trip %.3f s, seed %" PRIu64 "%s\n",
	       done, done / (took > 0 ? took : 1), us, POINTS, (uint64_t)ws->hangs,
	       (uint64_t)ws->bad, (uint64_t)ws->late, (double)ws->max_rt_ns / 1e9, seed,
	       complete ? "" : " (time bound reached first: fewer than STRESS_ROUNDTRIPS)");
	wk_env(NULL, 0);
	int pass = hook_ok && ok && done > 0;
	h_evidence(PROG, "stress", "calibration", "reliability.hook.delay", hook_ok);
	h_evidence(PROG, "stress", "hunt", "events.wake.park", ok && done > 0);
	h_barrier_free(bar);
	st_report(PROG, seed, st_now() - t0, pass,
		  "\"roundtrips\": %" PRIu64 ", \"target\": %" PRIu64 ", \"hangs\": %" PRIu64
		  ", \"bad_replies\": %" PRIu64 ", \"late\": %" PRIu64 ", \"delay_us\": %u"
		  ", \"max_roundtrip_s\": %.3f, \"calibration_s\": %.3f",
		  done, n, (uint64_t)ws->hangs, (uint64_t)ws->bad, (uint64_t)ws->late, us,
		  (double)ws->max_rt_ns / 1e9, cal);
	return pass ? 0 : 1;
}
