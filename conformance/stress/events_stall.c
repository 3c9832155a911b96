/* SPDX-License-Identifier: MIT */
/*
 * events_stall: SIGSTOP on the events MPSC queue.  A producer alive but
 * not running must wedge nobody for longer than the bound
 * (events.mpsc.unblock+2: 2 x SHMK_LIVENESS_MS), and lose, tear or
 * duplicate nothing.
 *
 * STRESS_TRIALS trials (64 in make check, 10000 in make stress) on
 * STRESS_WORKERS workers side by side (stall.h), each on its own blocking
 * region, of which it is the consumer.  Per trial a victim producer and a
 * survivor producer each send K checksummed, timestamped messages (one in
 * four zero-copy); the victim is stopped
 *   - at SHMK_STOP_AT=events.mpsc.claimed:N (claimed, bound, filled, not
 *     published),
 *   - at SHMK_STOP_AT=events.mpsc.claimed-unbound:N (claimed, its slot not
 *     yet bound), or
 *   - by SIGSTOP at a random time,
 * held a random 1..5 x SHMK_LIVENESS_MS, then SIGCONTed.  A send or
 * publish that fails with SHMK_ESKIPPED (the consumer unblocked its cell)
 * is made again with the same sequence number.  Counted: torn (bad
 * checksum), lost (a send that returned 0 never delivered: silently
 * dropped), duplicated (a skipped attempt that landed anyway shows here),
 * reordered (a producer's message after a later one of its own), failed
 * calls (any error but SHMK_ESKIPPED), unblocks, SHMK_ESKIPPED
 * answers; and the longest time another party was blocked: the survivor's
 * longest send call and the longest send-to-receive latency of its
 * messages (those queued behind the stopped producer's cell), within
 * 3 x SHMK_LIVENESS_MS times SHMK_TIME_SCALE (main: the clause's 2 x L
 * before the unblock, plus one liveness period to notice it), plus twice
 * the scheduling delay the run measured (t_probe: family.wakeups).
 */
#include "events_load.h"
#include "stall.h"

#define PROG "events_stall"
#define K T_STALL_K	/* messages per producer per trial */
#define MAXMSG 120
#define V_ID 0		/* the victim */
#define S_ID 1		/* the survivor */

/* What every trial checks (the one list of this program's clauses). */
static const char *const clauses[] = { "events.mpsc.unblock+2", "events.mpsc.publish-cas+2",
				       "events.mpsc.slot-stamp",
				       "events.zerocopy.publish-skipped+2",
				       "reliability.hook.stop" };

static const struct t_stall_family family = {
	.line = "events-stall", .victim = "producer",
	.points = { "events.mpsc.claimed", "events.mpsc.claimed-unbound" },
	.unblocks = "cells the consumer unblocked",
	.retried = "calls answered SHMK_ESKIPPED and made again",
	/* The clause lets a stalled producer hold the others for 2 x L (the
	 * unblock starts only then); the consumer notices on its next look, up
	 * to one liveness period later, and then needs the CPU: 3 x L.  2 x L
	 * alone failed at 0.104 s against 0.100 in one make check of 64 trials. */
	.bound_l = 3, .order = 1,
	/* and the scheduler's delay at two wake-ups in a row: the consumer's
	 * from its park once the cell is due (it unblocks it and receives the
	 * survivor's message: the latency), then the survivor's from its wait
	 * for a free cell, which that receive frees (its send call) */
	.wakeups = 2,
	.clauses = clauses, .nclauses = sizeof(clauses) / sizeof(clauses[0]),
};

struct wside {	/* one per worker: what its trial's producers report */
	_Atomic uint64_t committed[2];	/* sends that returned 0 */
	_Atomic uint64_t skipped;	/* SHMK_ESKIPPED answers */
	_Atomic int err[2];
	_Atomic int64_t max_send_ns;	/* the survivor's longest send call */
};

struct side {
	struct t_stall_totals T[1];
	struct wside w[T_STALL_MAXW];
};

static uint64_t g_seed;
static struct side *sh;

/* A producer: K messages, each made again after SHMK_ESKIPPED. */
static _Noreturn void producer(const char *path, struct wside *ws, uint32_t id, uint64_t rng,
			       const char *stop_at)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_opts o = { .blocking = true };
	uint8_t buf[MAXMSG];

	t_stop_at(stop_at);
	int rc = shmk_events_open_path_with(path, &o, &r);
	if (!rc)
		rc = shmk_events_split_mpsc(r, &tx, &rx);
	if (rc) {
		ws->err[id] = rc;
		_exit(1);
	}
	shmk_events_close(r);
	shmk_events_rx_close(rx);
	for (uint64_t seq = 0; seq < K; seq++) {
		size_t n = t_msg_stamped(buf, MAXMSG, id, seq, g_seed);
		int64_t t0 = shmk_now_ns();
		if (t_rand(&rng) % 4 == 0) {
			rc = t_ev_send_view(tx, buf, n, &ws->skipped);
		} else {
			while ((rc = shmk_events_send(tx, buf, n, 10LL * 1000000000, NULL)) ==
			       SHMK_ESKIPPED)
				atomic_fetch_add(&ws->skipped, 1);
		}
		if (id == S_ID)
			t_max_ns(&ws->max_send_ns, shmk_now_ns() - t0);
		if (rc) {
			ws->err[id] = rc;
			_exit(1);
		}
		atomic_store(&ws->committed[id], seq + 1);
	}
	shmk_events_tx_close(tx);
	_exit(0);
}

/* One trial on worker w's region, this process the consumer. */
static void trial(int w, const char *path, struct shmk_events_rx *rx, uint64_t *rng)
{
	struct wside *ws = &sh->w[w];
	uint8_t buf[SHMK_EVENTS_SLOT_DATA];
	char stop[64];
	struct t_stall_victim v, s;
	t_stall_victim_init(&v, (int)(t_rand(rng) % T_STALL_KINDS), rng);
	uint64_t u0 = shmk_events_rx_unblocked(rx) + shmk_events_rx_skipped(rx);

	memset(ws, 0, sizeof(*ws));
	snprintf(stop, sizeof(stop), "%s:%u",
		 v.kind == T_STALL_POINT ? "events.mpsc.claimed" : "events.mpsc.claimed-unbound",
		 1 + (unsigned)(t_rand(rng) % K));
	uint64_t vr = t_rand(rng), sr = t_rand(rng);
	v.pid = fork();
	if (v.pid == 0)
		producer(path, ws, V_ID, vr, v.kind == T_STALL_RANDOM ? NULL : stop);
	t_stall_bystander(&s, fork());
	if (s.pid == 0)
		producer(path, ws, S_ID, sr, NULL);
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(60) * 1000000000LL;
	struct t_stall_rx x;
	/* the survivor's messages queued behind the stopped producer's cell */
	t_stall_rx_init(&x, 2, 1u << S_ID);
	for (;;) {
		size_t n;
		int rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 2000000, NULL);
		if (rc == 0) {
			t_stall_rx_take(&x, buf, n, -1);
			continue;
		}
		if (t_stall_idle(PROG, w, sh->T, &v, &s, 1, rc, end))
			break;
	}
	uint64_t committed[2] = { ws->committed[0], ws->committed[1] };
	struct t_stall_outcome o = { .torn = x.torn, .reordered = x.reordered,
				     .at = v.kind == T_STALL_RANDOM ? "random" : stop,
				     .verr = ws->err[V_ID], .serr = ws->err[S_ID],
				     .sstatus = s.status };
	t_stall_tally(&x.cnt[0][0], 2, K, committed, &o.lost, &o.dup);
	o.failed = !t_exited0(v.status) + !t_exited0(s.status);
	o.blocked_ns = x.max_lat_ns > ws->max_send_ns ? x.max_lat_ns : ws->max_send_ns;
	atomic_fetch_add(&sh->T->unblocked,
			 shmk_events_rx_unblocked(rx) + shmk_events_rx_skipped(rx) - u0);
	atomic_fetch_add(&sh->T->retried, atomic_load(&ws->skipped));
	t_stall_account(PROG, w, sh->T, &v, &o);
}

static int worker(int w, const uint64_t *trials, const char *dir)
{
	char path[224];
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_opts o = { .blocking = true };
	uint64_t rng = t_mix(g_seed + (uint64_t)w);

	snprintf(path, sizeof(path), "%s/ev-%d", dir, w);
	int rc = shmk_events_open_path_with(path, &o, &r);
	if (!rc)
		rc = shmk_events_split_mpsc(r, &tx, &rx);
	if (rc) {
		printf("%s: worker %d: open: %s\n", PROG, w, shmk_errname(rc));
		return 1;
	}
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	for (uint64_t t = 0; t < trials[0]; t++)
		trial(w, path, rx, &rng);
	shmk_events_rx_close(rx);
	unlink(path);
	return 0;
}

int main(void)
{
	return t_stall_main(&(const struct t_stall_prog){ .prog = PROG, .fam = &family,
		.nfam = 1, .worker = worker, .seed = &g_seed, .side = (void **)&sh,
		.side_size = sizeof(*sh) });
}
