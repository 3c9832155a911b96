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
 */
#include "crash.h"
#include "shmkit/events.h"

#define PROG "events_wakeup"
#define POINTS "events.wait.gap,events.wake.gap"
#define BURST (1ULL << 63)
#define END (~0ULL)

static struct t_wake_side *ws;
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
	int64_t dl = t_wake_deadline_ns();
	double end = t_now() + secs;
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
		if (i >= n || ((i & 255) == 0 && t_now() > end)) {
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
			t_wake_rt_done(ws, shmk_now_ns() - t0);
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
	t_wake_exit(ws, me, rc ? 1 : 0);
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
	double took = t_wake_collect(PROG, ws, bar, 1, pids, secs, ok);
	unlink(path);
	return took;
}

int main(void)
{
	static const struct t_wake_prog p = {
		.prog = PROG, .points = POINTS, .liveness_ms = "600000",
		.shape = "; SPSC out, MPSC back, a 1100-message burst every 4096",
		.late = "over 40 ms", .clauses = { "events.wake.park+2" }, .stress_share = 1800000,
		.phase = phase,
	};

	return t_wake_main(&p, &ws, &bar);
}
