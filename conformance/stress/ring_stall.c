/* SPDX-License-Identifier: MIT */
/*
 * ring_stall: SIGSTOP on a ring writer, direct or mediated.
 *
 * Direct trials: a direct writer alive but not running blocks the other
 * direct writers, each call at most the bound (ring.writer.stopped-holder:
 * SHMK_EBUSY within SHMK_LIVENESS_MS), never the reader, and loses, tears
 * or duplicates nothing.  Per trial a victim and a survivor direct writer
 * each write K checksummed, timestamped records; the victim is stopped
 *   - at SHMK_STOP_AT=ring.write.locked:N (the writers' lock held, nothing
 *     reserved),
 *   - at SHMK_STOP_AT=ring.write.copied:N (the record copied, head not yet
 *     moved), or
 *   - by SIGSTOP at a random time.
 * The longest block is the survivor's longest write call, within
 * 3 x SHMK_LIVENESS_MS x SHMK_TIME_SCALE: the clause's L, plus twice as
 * much for scheduling, plus twice the scheduling delay the run measured
 * (t_probe: families[].wakeups says which).  (Its records' latency is not bounded: each call
 * returns SHMK_EBUSY in time, but the record waits for the stopped holder.)
 *
 * Mediated trials (a mediator thread in the worker, which reads): a
 * mediated writer alive but not running holds up nobody at all
 * (ring.mediated.stopped-writer).  Per trial a victim mediated writer, a
 * survivor mediated writer and a survivor direct writer (the mediator and
 * it take turns at the writers' lock) each write K records; the victim is
 * stopped
 *   - at SHMK_STOP_AT=ring.mediated.sent:N (its record sent, the reply not
 *     read),
 *   - after its Nth write returned (between records: nothing in flight), or
 *   - by SIGSTOP at a random time (mostly in the wait for a reply).
 * Checked besides the direct trials' counts: the records of each writer
 * arrive in order (reordered), and every record the victim sent before its
 * stop has been read by the time it is resumed (held: one missing means
 * the mediator waited for the stopped writer); its writes after SIGCONT
 * must all return 0.  The longest block is the longest of the survivors'
 * write calls and of their records' send-to-read latency, within
 * 1 x SHMK_LIVENESS_MS x SHMK_TIME_SCALE: a mediated write's service
 * includes at most one wait of L for the direct writer's lock
 * (ring.mediated.mixed), plus three times the scheduling delay the run
 * measured; the bound stays below the victim's stops (1-5 x L) on a quiet
 * machine, so a party that waited for it would exceed it.
 *
 * A write that fails with SHMK_EBUSY (the lock stayed held for the bound)
 * or SHMK_EFULL is made again.  Counted: torn (bad checksum or length, or
 * a tag not its writer's), lost (a write that returned 0 never read),
 * duplicated, failed calls (any other error), survivor trials with a
 * SHMK_EBUSY answer (unblocks), SHMK_EBUSY answers.  The reader only
 * polls: a stopped writer has nothing it could wait on.
 */
#include "stall.h"
#include "shmkit/ring.h"

#define PROG "ring_stall"
#define K T_STALL_K	/* records per writer per trial */
#define MAXMSG 160
#define V_ID 0		/* the victim */
#define S_ID 1		/* a survivor of the victim's mode */
#define D_ID 2		/* mediated trials: the direct survivor */
#define DIRECT 0	/* the families */
#define MEDIATED 1

/* What the trials check (the one list): the direct trials the first
 * three, the mediated trials the last three. */
static const char *const clauses[] = { "ring.writer.stopped-holder", "ring.writer.lock.deadline",
				       "reliability.hook.stop", "ring.mediated.stopped-writer",
				       "ring.mediated.mixed" };

static const struct t_stall_family families[2] = {
	[DIRECT] = { .line = "ring-stall", .victim = "writer",
		.points = { "ring.write.locked", "ring.write.copied" },
		.unblocks = "survivor trials released by SHMK_EBUSY",
		.retried = "writes answered SHMK_EBUSY within the bound and made again",
		.bound_l = 3, .order = 1, .clauses = clauses, .nclauses = 3,
		/* the survivor's wake-up from its park at the lock's deadline,
		 * then its wait on the run queue before the call returns (on
		 * a loaded CPU a woken process waits as the probe does) */
		.wakeups = 2 },
	/* half as many: three writers a trial */
	[MEDIATED] = { .line = "ring-stall-mediated", .key = "mediated_",
		.victim = "mediated writer",
		.points = { "ring.mediated.sent", "its Nth write returned" },
		.unblocks = "survivor trials with a SHMK_EBUSY answer",
		.retried = "SHMK_EBUSY answers made again",
		.bound_l = 1, .divisor = 2, .order = 1,
		/* a survivor's write: the mediator thread wakes for its
		 * record, wakes again from its wait for the direct writer's
		 * lock, then the writer wakes for the reply (its records'
		 * latency: the mediator's two, then the reader's poll) */
		.wakeups = 3,
		.held = "records sent before the stop not read by its end",
		.clauses = clauses + 2, .nclauses = 3 },
};

struct wside {
	_Atomic uint64_t committed[3];	/* writes that returned 0 */
	_Atomic uint64_t ebusy;		/* the survivors' SHMK_EBUSY answers */
	_Atomic int err[3];
	_Atomic int64_t max_call_ns;	/* the survivors' longest write call */
};

struct side {
	struct t_stall_totals T[2];	/* direct, mediated */
	struct wside w[T_STALL_MAXW];
};

static uint64_t g_seed;
static struct side *sh;

/* A writer: K records, each made again after SHMK_EBUSY or SHMK_EFULL;
 * stops itself after its stop_after-th record (0: never). */
static _Noreturn void writer(int wfd, struct wside *ws, uint32_t id, const char *stop_at,
			     uint64_t stop_after)
{
	struct shmk_ring_writer *w;
	uint8_t buf[MAXMSG];

	t_stop_at(stop_at);
	int rc = shmk_ring_writer_open(wfd, &w);
	if (rc) {
		ws->err[id] = rc;
		_exit(1);
	}
	for (uint64_t seq = 0; seq < K; seq++) {
		size_t n = t_msg_stamped(buf, MAXMSG, id, seq, g_seed);
		for (;;) {
			int64_t t0 = shmk_now_ns();
			rc = shmk_ring_write(w, buf, n);
			if (id != V_ID)
				t_max_ns(&ws->max_call_ns, shmk_now_ns() - t0);
			if (rc == SHMK_EBUSY && id != V_ID)
				atomic_fetch_add(&ws->ebusy, 1);
			if (rc != SHMK_EBUSY && rc != SHMK_EFULL)
				break;
			sched_yield();
		}
		if (rc) {
			ws->err[id] = rc;
			_exit(1);
		}
		atomic_store(&ws->committed[id], seq + 1);
		if (seq + 1 == stop_after)
			raise(SIGSTOP);
	}
	shmk_ring_writer_close(w);
	_exit(0);
}

/* Writer id (tag id + 1), mediated when m is given. */
static pid_t spawn_writer(struct shmk_ring *r, struct shmk_ring_mediator *m, struct wside *ws,
			  uint32_t id, const char *stop, uint64_t stop_after)
{
	int wfd = -1, pfd = -1;
	if (m ? shmk_ring_mediated_new(m, id + 1, &wfd, &pfd) :
		shmk_ring_writer_new(r, id + 1, &wfd, &pfd))
		return -1;
	pid_t p = fork();
	if (p == 0) {
		t_only_fd(wfd);
		writer(wfd, ws, id, stop, stop_after);
	}
	close(wfd);
	close(pfd);
	return p;
}

/* One trial on worker w's ring, this process its reader (and, for a
 * mediated trial, m's owner). */
static void trial(int w, struct shmk_ring *r, struct shmk_ring_mediator *m, uint64_t *rng)
{
	int fam = m ? MEDIATED : DIRECT, np = m ? 3 : 2;
	struct t_stall_totals *T = &sh->T[fam];
	struct wside *ws = &sh->w[w];
	uint8_t buf[MAXMSG];
	char stop[64];
	struct t_stall_victim v, s[2];
	t_stall_victim_init(&v, (int)(t_rand(rng) % T_STALL_KINDS), rng);
	unsigned at = 1 + (unsigned)(t_rand(rng) % K);
	uint64_t stop_after = 0;

	memset(ws, 0, sizeof(*ws));
	if (!m)
		snprintf(stop, sizeof(stop), "%s:%u",
			 v.kind == T_STALL_POINT ? "ring.write.locked" : "ring.write.copied", at);
	else if (v.kind == T_STALL_POINT)
		snprintf(stop, sizeof(stop), "ring.mediated.sent:%u", at);
	else
		snprintf(stop, sizeof(stop), "after write %u", at);
	if (m && v.kind == T_STALL_POINT2)
		stop_after = at;
	int at_point = v.kind == T_STALL_POINT || (!m && v.kind == T_STALL_POINT2);
	v.pid = spawn_writer(r, m, ws, V_ID, at_point ? stop : NULL, stop_after);
	t_stall_bystander(&s[0], spawn_writer(r, m, ws, S_ID, NULL, 0));
	t_stall_bystander(&s[1], m ? spawn_writer(r, NULL, ws, D_ID, NULL, 0) : 0);
	s[1].done = !m;	/* a direct trial has one survivor */
	if (v.pid < 0 || s[0].pid < 0 || s[1].pid < 0) {
		printf("%s: worker %d: writer_new/fork failed\n", PROG, w);
		t_stall_kill(&v);
		for (int i = 0; i < np - 1; i++)
			t_stall_kill(&s[i]);
		atomic_fetch_add(&T->bad_trials, 1);
		return;
	}
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(60) * 1000000000LL;
	int64_t bound = t_stall_bound_ns(&families[fam]);
	struct t_stall_rx x;
	/* a mediated trial bounds the survivors' records' latency too */
	t_stall_rx_init(&x, np, m ? 1u << S_ID | 1u << D_ID : 0);
	uint64_t held = 0;
	for (;;) {
		uint64_t tag = 0;
		size_t n = 0;
		int rc = shmk_ring_read_message(r, &tag, buf, sizeof(buf), &n, 2000000);
		if (rc == 0) {
			t_stall_rx_take(&x, buf, n, tag >= 1 && tag <= (uint64_t)np ? (int)tag - 1 :
										     INT32_MAX);
			continue;
		}
		/* stopped, the victim's count of records stands still: all of
		 * them, and the one sent at ring.mediated.sent, must be read
		 * before it runs again - when its stop outlasted the bound (a
		 * record is delayed at least as long, since it was sent before
		 * the stop was seen) */
		int was_held = v.stopped && !v.resumed && v.hold > bound;
		uint64_t sent = atomic_load(&ws->committed[V_ID]) + (v.kind == T_STALL_POINT);
		if (t_stall_idle(PROG, w, T, &v, s, np - 1, rc, end))
			break;
		if (m && was_held && v.resumed)
			held += t_stall_rx_missing(&x, V_ID, sent);
	}
	uint64_t committed[3] = { ws->committed[0], ws->committed[1], ws->committed[2] };
	struct t_stall_outcome o = { .torn = x.torn, .reordered = x.reordered, .held = held,
				     .at = v.kind == T_STALL_RANDOM ? "random" : stop,
				     .verr = ws->err[V_ID], .serr = ws->err[S_ID],
				     .sstatus = s[0].status };
	t_stall_tally(&x.cnt[0][0], np, K, committed, &o.lost, &o.dup);
	o.failed = !t_exited0(v.status);
	for (int i = 0; i < np - 1; i++)
		o.failed += !t_exited0(s[i].status);
	o.blocked_ns = x.max_lat_ns > ws->max_call_ns ? x.max_lat_ns : ws->max_call_ns;
	atomic_fetch_add(&T->unblocked, atomic_load(&ws->ebusy) != 0);
	atomic_fetch_add(&T->retried, atomic_load(&ws->ebusy));
	t_stall_account(PROG, w, T, &v, &o);
}

static int worker(int w, const uint64_t *trials, const char *dir)
{
	char path[224];
	struct shmk_ring *r = NULL;
	struct shmk_ring_mediator *m = NULL;
	struct shmk_ring_opts o = { .capacity = 65536 };
	uint64_t rng = t_mix(g_seed + (uint64_t)w);

	snprintf(path, sizeof(path), "%s/ring-%d", dir, w);
	int rc = shmk_ring_create(path, &o, &r);
	for (uint64_t t = 0; !rc && t < trials[DIRECT]; t++)
		trial(w, r, NULL, &rng);
	if (!rc)
		rc = shmk_ring_mediator_start(r, &m);
	for (uint64_t t = 0; !rc && t < trials[MEDIATED]; t++)
		trial(w, r, m, &rng);
	/* the mediator took every message for a record: no lie, no error */
	struct shmk_ring_mediator_stats ms = { 0 };
	if (!rc)
		rc = shmk_ring_mediator_stats(m, &ms);
	int lies = ms.short_msgs || ms.bad_header || ms.oversized || ms.ancillary || ms.error;
	if (lies)
		printf("%s: worker %d: the mediator saw %" PRIu64 " short, %" PRIu64 " bad, %"
		       PRIu64 " oversized, %" PRIu64 " ancillary messages, error %d\n", PROG, w,
		       ms.short_msgs, ms.bad_header, ms.oversized, ms.ancillary, ms.error);
	if (!rc)
		rc = shmk_ring_mediator_stop(m);
	if (rc)
		printf("%s: worker %d: %s\n", PROG, w, shmk_errname(rc));
	shmk_ring_close(r);
	unlink(path);
	return rc || lies ? 1 : 0;
}

int main(void)
{
	return t_stall_main(&(const struct t_stall_prog){ .prog = PROG, .fam = families,
		.nfam = 2, .worker = worker, .seed = &g_seed, .side = (void **)&sh,
		.side_size = sizeof(*sh) });
}
