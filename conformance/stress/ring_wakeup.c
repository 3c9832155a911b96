/* SPDX-License-Identifier: MIT */
/*
 * ring_wakeup: the lost wake-up hunt on the ring.  Two processes play
 * ping-pong over two rings (A: pinger -> ponger, B: ponger -> pinger), each
 * side blocking in shmk_ring_read_message (wait) for the other's record,
 * while the test-build delay points ring.wait.gap (between the reader's
 * last check of head and its futex wait) and ring.wake.gap (between the
 * writer's publish and its check for waiters) pause a random 0..
 * SHMK_DELAY_US microseconds.  Every blocking call has a deadline far above
 * a normal round trip (10 s x SHMK_TIME_SCALE); reaching it is a hang and
 * fails the run.  Replies echo the sequence number: a lost, repeated or
 * wrong reply is counted.
 *
 * A calibration phase first runs 100 round trips with SHMK_DELAY_US=2000
 * and checks they took at least 30 ms (they take ~200 ms when the delay
 * points fire, ~10 ms when they do not), so a build whose delay points are
 * missing fails instead of hunting nothing.
 *
 * Env: STRESS_ROUNDTRIPS (20000; 4,800,000 under make stress, this
 * program's share of the 10,000,000), STRESS_WAKEUP_SECONDS (60; 1200
 * under make stress; stopping short of the count fails), SHMK_DELAY_US
 * for the hunt (default 50).
 */
#include <stdlib.h>

#include "crash.h"
#include "shmkit/ring.h"

#define PROG "ring_wakeup"
#define POINTS "ring.wait.gap,ring.wake.gap"

static struct t_wake_side *ws;
static struct h_barrier *bar;

static int put(struct shmk_ring_writer *w, const uint64_t *v)
{
	int rc;
	while ((rc = shmk_ring_write(w, v, sizeof(*v))) == SHMK_EFULL || rc == SHMK_EBUSY)
		sched_yield();
	return rc;
}

static void pinger(const char *path_b, int wfd_a, uint64_t n, double secs)
{
	struct shmk_ring_writer *w;
	struct shmk_ring *r;
	int rc = shmk_ring_writer_open(wfd_a, &w);
	if (!rc)
		rc = shmk_ring_attach(path_b, &r);
	h_barrier_wait(bar, 30);
	if (rc) {
		ws->err[0] = rc;
		_exit(1);
	}
	double end = t_now() + secs;
	for (uint64_t i = 0; i < n; i++) {
		if ((i & 255) == 0 && t_now() > end)
			break;
		int64_t t0 = shmk_now_ns();
		rc = put(w, &i);
		if (rc)
			break;
		uint64_t tag, v = ~i;
		size_t len;
		rc = shmk_ring_read_message(r, &tag, &v, sizeof(v), &len, t_wake_deadline_ns());
		if (rc == -ETIMEDOUT) {
			atomic_fetch_add(&ws->hangs, 1);
			break;
		}
		if (rc)
			break;
		if (len != sizeof(v) || v != i)
			atomic_fetch_add(&ws->bad, 1);
		t_wake_rt_done(ws, shmk_now_ns() - t0);
		atomic_store(&ws->done, i + 1);
	}
	ws->err[0] = rc;
	shmk_ring_writer_close(w);	/* the ponger's wait now says EPEERDEAD */
	shmk_ring_close(r);
	t_wake_exit(ws, 0, rc ? 1 : 0);
}

static void ponger(const char *path_a, int wfd_b)
{
	struct shmk_ring_writer *w;
	struct shmk_ring *r;
	int rc = shmk_ring_writer_open(wfd_b, &w);
	if (!rc)
		rc = shmk_ring_attach(path_a, &r);
	h_barrier_wait(bar, 30);
	if (rc) {
		ws->err[1] = rc;
		_exit(1);
	}
	for (;;) {
		uint64_t tag, v;
		size_t len;
		rc = shmk_ring_read_message(r, &tag, &v, sizeof(v), &len, t_wake_deadline_ns());
		if (rc == SHMK_EPEERDEAD) {
			rc = 0;
			break;
		}
		if (rc == -ETIMEDOUT)
			atomic_fetch_add(&ws->hangs, 1);
		if (rc)
			break;
		rc = put(w, &v);
		if (rc)
			break;
	}
	ws->err[1] = rc;
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	t_wake_exit(ws, 1, rc ? 1 : 0);
}

/* One phase: returns seconds taken, -1 on failure to set up. */
static double phase(uint64_t n, double secs, int *ok)
{
	char a[256], b[256];
	struct shmk_ring_opts o = { .capacity = 65536 };
	struct shmk_ring *ra, *rb;
	int wa, pa, wb, pb;

	memset(ws, 0, sizeof(*ws));
	h_unique_path(a, sizeof(a), "ring-wk-a");
	h_unique_path(b, sizeof(b), "ring-wk-b");
	if (shmk_ring_create(a, &o, &ra) || shmk_ring_create(b, &o, &rb) ||
	    shmk_ring_writer_new(ra, 1, &wa, &pa) || shmk_ring_writer_new(rb, 2, &wb, &pb))
		return -1;
	shmk_ring_close(ra);
	shmk_ring_close(rb);
	pid_t pids[2];
	pids[0] = fork();
	if (pids[0] == 0) {
		close(wb);
		pinger(b, wa, n, secs);
	}
	pids[1] = fork();
	if (pids[1] == 0) {
		close(wa);
		ponger(a, wb);
	}
	close(wa);
	close(wb);
	close(pa);
	close(pb);
	double took = t_wake_collect(PROG, ws, bar, 1, pids, secs, ok);
	unlink(a);
	unlink(b);
	return took;
}

int main(void)
{
	static const struct t_wake_prog p = {
		.prog = PROG, .points = POINTS, .liveness_ms = "600000", .shape = "",
		.late = "late (> 40 ms)",
		.clauses = { "ring.reader.wait.wake+4", "ring.writer.wake+3",
			     "reliability.hook.spin" },
		.stress_share = 4800000,
		.phase = phase, .park = 1,
	};

	return t_wake_main(&p, &ws, &bar);
}
