/* SPDX-License-Identifier: MIT */
/*
 * slots_wakeup: the lost wake-up hunt on slots.  Two processes play
 * ping-pong over two slot segments (each owns one and reads the other's),
 * each side blocking in shmk_slots_wait_for_change for the other's sample
 * (capture the generation, check next_unread_slot, wait), while the
 * test-build delay points slots.wait.gap (between the waiter's last check of
 * the generation and its futex wait) and slots.notify.gap (between the
 * owner's generation bump and its check for waiters) pause a random
 * 0..SHMK_DELAY_US microseconds.  SHMK_LIVENESS_MS is 60 s here, so the
 * waiter's once-per-liveness re-check cannot mask a lost wake-up: every
 * blocking call has a 10 s x SHMK_TIME_SCALE deadline and reaching it is a
 * hang, which fails the run.  Replies echo the sequence number.
 *
 * A calibration phase (100 round trips with 0..2000 us delays, which must
 * take >= 30 ms) shows the delay points fire.  Env as ring_wakeup.
 */
#include <stdlib.h>

#include "crash.h"
#include "shmkit/slots.h"

#define PROG "slots_wakeup"
#define POINTS "slots.wait.gap,slots.notify.gap"

static struct t_wake_side *ws;
static struct h_barrier *bar;

static int send_one(struct shmk_slots *s, uint64_t v)
{
	shmk_slot_handle_t h;
	uint64_t sn;
	int rc;

	while ((rc = shmk_slots_reserve_slot(s, 1, &h)) == SHMK_EFULL)
		sched_yield();
	if (rc)
		return rc;
	return shmk_slots_commit_slot(s, h, &v, sizeof(v), &sn, NULL);
}

/* Blocks for the peer's next sample: 0 and *v, -ETIMEDOUT (a hang), or an
 * error (SHMK_EPEERDEAD once the peer closed). */
static int recv_one(struct shmk_slots *s, unsigned idx, uint64_t *v)
{
	for (;;) {
		uint64_t g = shmk_slots_notify_generation(s);
		shmk_slot_handle_t h;
		int rc = shmk_slots_next_unread_slot(s, idx, &h);
		if (rc == 1) {
			struct shmk_slot_info info;
			rc = shmk_slots_read_slot(s, h, v, sizeof(*v), &info);
			if (!rc)
				rc = shmk_slots_mark_read(s, h, idx);
			return rc;
		}
		if (rc)
			return rc;
		rc = shmk_slots_wait_for_change(s, g, t_wake_deadline_ns());
		if (rc)
			return rc;
	}
}

static void player(int me, const char *mine, const char *theirs, uint64_t n, double secs)
{
	struct shmk_slots *own, *peer = NULL;
	unsigned idx;
	int rc = shmk_slots_create(mine, 4, 64, &own);
	h_barrier_wait(bar, 30);	/* both created */
	if (!rc)
		rc = shmk_slots_attach(theirs, &peer);
	if (!rc)
		rc = shmk_slots_register_reader(peer, 0, &idx);
	h_barrier_wait(bar, 30);	/* both registered */
	if (rc) {
		ws->err[me] = rc;
		_exit(1);
	}
	double end = t_now() + secs;
	for (uint64_t i = 0; me == 0 ? i < n : 1; i++) {
		uint64_t v = ~i;
		int64_t t0 = shmk_now_ns();
		if (me == 0) {
			if ((i & 255) == 0 && t_now() > end)
				break;
			rc = send_one(own, i);
			if (rc)
				break;
		}
		rc = recv_one(peer, idx, &v);
		if (me == 1 && rc == SHMK_EPEERDEAD) { /* the pinger closed: done */
			rc = 0;
			break;
		}
		if (rc == -ETIMEDOUT)
			atomic_fetch_add(&ws->hangs, 1);
		if (rc)
			break;
		if (me == 1) {
			rc = send_one(own, v);
			if (rc)
				break;
			continue;
		}
		if (v != i)
			atomic_fetch_add(&ws->bad, 1);
		t_wake_rt_done(ws, shmk_now_ns() - t0);
		atomic_store(&ws->done, i + 1);
	}
	ws->err[me] = rc;
	shmk_slots_close(own);	/* the peer's wait now says EPEERDEAD */
	shmk_slots_close(peer);
	t_wake_exit(ws, me, rc ? 1 : 0);
}

static double phase(uint64_t n, double secs, int *ok)
{
	char a[256], b[256];

	memset(ws, 0, sizeof(*ws));
	h_unique_path(a, sizeof(a), "slots-wk-a");
	h_unique_path(b, sizeof(b), "slots-wk-b");
	pid_t pids[2];
	pids[0] = fork();
	if (pids[0] == 0)
		player(0, a, b, n, secs);
	pids[1] = fork();
	if (pids[1] == 0)
		player(1, b, a, n, secs);
	double took = t_wake_collect(PROG, ws, bar, 2, pids, secs, ok);
	shmk_slots_reclaim_stale(a);
	shmk_slots_reclaim_stale(b);
	unlink(a);
	unlink(b);
	return took;
}

int main(void)
{
	static const struct t_wake_prog p = {
		.prog = PROG, .points = POINTS, .liveness_ms = "60000", .shape = "",
		.late = "over 40 ms", .clauses = { "slots.wait.nolost+2", "reliability.hook.spin" }, .stress_share = 3400000,
		.phase = phase, .park = 1,
	};

	return t_wake_main(&p, &ws, &bar);
}
