/* SPDX-License-Identifier: MIT */
/*
 * slots_stall: SIGSTOP on a slots reader.  A reader alive but not running
 * pins the slots of the samples it owes, but the owner never waits on it
 * (slots.stall.reader: reserve_slot returns at once) and frees them by
 * mark_reader_disconnected with no step of the reader; the resumed reader
 * gets SHMK_EEMPTY for what was reused, never a torn or recycled sample
 * (slots.stall.reader-resume).
 *
 * STRESS_TRIALS trials (64 in make check, 10000 in make stress) on
 * STRESS_WORKERS workers side by side (stall.h), each the owner of its own
 * 4-slot segment.  Per trial a victim reader and a survivor reader register
 * and read; the owner commits K checksummed, timestamped samples addressed
 * to both; the victim is stopped
 *   - after its Nth next_unread_slot (a handle taken, not yet read),
 *   - after its Nth read_slot (read, not yet marked), or
 *   - by SIGSTOP at a random time,
 * held a random 1..5 x SHMK_LIVENESS_MS, then SIGCONTed.  The owner's
 * lease: a reserve still SHMK_EFULL SHMK_LIVENESS_MS after the first try
 * disconnects the victim's index (an unblock).  Counted: torn (a read
 * that returned 0 with bad bytes), lost (a sample the survivor never got),
 * duplicated (a sample read twice by either), failed calls, unblocks,
 * recycled handles refused with SHMK_EEMPTY; and the longest time another
 * party was blocked: the owner's longest wait for a free slot and the
 * survivor's longest commit-to-read latency, within 3 x SHMK_LIVENESS_MS
 * times SHMK_TIME_SCALE: the lease plus twice as much for
 * the survivor's reading and scheduling, plus twice the scheduling delay
 * the run measured (t_probe: family.wakeups).
 */
#include "stall.h"
#include "shmkit/slots.h"

#define PROG "slots_stall"
#define K T_STALL_K	/* samples per trial */
#define NSLOTS 4
#define CAP 64
#define V_ID 0
#define S_ID 1

static const char *const clauses[] = { "slots.stall.reader", "slots.stall.reader-resume",
				       "slots.reader.disconnect" };

static const struct t_stall_family family = {
	.line = "slots-stall", .victim = "reader",
	.points = { "a handle taken", "a sample read, not marked" },
	.unblocks = "the owner's lease disconnected the stopped reader",
	.retried = "handles of reused slots refused with SHMK_EEMPTY",
	.bound_l = 3,	/* the lease, plus twice as much for reading and scheduling */
	/* and the scheduler's delay at two wake-ups in a row: the owner's
	 * from its wait for a free slot once the lease ends, then the
	 * survivor reader's for the sample that owner commits */
	.wakeups = 2,
	.clauses = clauses, .nclauses = sizeof(clauses) / sizeof(clauses[0]),
};

struct wside {
	_Atomic uint32_t ready;		/* readers registered */
	_Atomic uint32_t done;		/* the owner committed all K */
	_Atomic uint32_t idx[2];
	_Atomic uint64_t base;		/* the trial's first sn */
	_Atomic uint8_t cnt[2][K];
	_Atomic uint64_t torn, refused;
	_Atomic int err[2];
	_Atomic int64_t max_lat_ns;	/* the survivor's commit-to-read latency */
};

struct side {
	struct t_stall_totals T[1];
	struct wside w[T_STALL_MAXW];
};

static uint64_t g_seed;
static struct side *sh;
static uint64_t g_next_sn = 1;	/* this worker's next commit: it is the only committer */

/* A reader: reads until the owner is done and nothing is left for it;
 * stop_kind T_STALL_POINT / POINT2 stops itself at its Nth handle / read. */
static _Noreturn void reader(const char *flink, struct wside *ws, int id, int stop_kind,
			     unsigned stop_n)
{
	struct shmk_slots *r;
	unsigned idx;
	uint8_t buf[CAP];
	unsigned handles = 0, reads = 0;

	int rc = shmk_slots_attach(flink, &r);
	if (!rc)
		rc = shmk_slots_register_reader(r, -1, &idx);
	if (rc) {
		ws->err[id] = rc;
		_exit(1);
	}
	ws->idx[id] = idx;
	atomic_fetch_add(&ws->ready, 1);
	for (;;) {
		shmk_slot_handle_t h;
		uint64_t g = shmk_slots_notify_generation(r);
		int done = atomic_load(&ws->done);
		rc = shmk_slots_next_unread_slot(r, idx, &h);
		if (rc < 0)
			break;
		if (rc == 1) {
			if (stop_kind == T_STALL_POINT && ++handles == stop_n)
				raise(SIGSTOP);
			struct shmk_slot_info info;
			rc = shmk_slots_read_slot(r, h, buf, sizeof(buf), &info);
			if (rc == SHMK_EEMPTY) { /* disconnected, and the slot reused */
				atomic_fetch_add(&ws->refused, 1);
				continue;
			}
			if (rc)
				break;
			uint32_t prod;
			uint64_t seq;
			int64_t sent;
			uint64_t k = h.sn - atomic_load(&ws->base);
			if (t_msg_stamped_check(buf, info.sample_size, &prod, &seq, &sent) ||
			    seq != h.sn || k >= K) {
				atomic_fetch_add(&ws->torn, 1);
			} else {
				atomic_fetch_add(&ws->cnt[id][k], 1);
				if (id == S_ID)
					t_max_ns(&ws->max_lat_ns, shmk_now_ns() - sent);
			}
			if (stop_kind == T_STALL_POINT2 && ++reads == stop_n)
				raise(SIGSTOP);
			rc = shmk_slots_mark_read(r, h, idx);
			if (rc && rc != SHMK_EEMPTY)
				break;
			continue;
		}
		if (done)
			break;	/* rc 0: nothing left for us */
		shmk_slots_wait_for_change(r, g, 2000000);
	}
	ws->err[id] = rc;
	shmk_slots_close(r);
	_exit(rc ? 1 : 0);
}

/* Commits sample sn (its bytes name sn) once a slot is free, driving the
 * victim meanwhile; the owner's lease disconnects it after
 * SHMK_LIVENESS_MS of SHMK_EFULL.  0, or the failing call's result. */
static int commit_one(struct shmk_slots *o, struct wside *ws, struct t_stall_victim *v,
		      struct t_stall_victim *s, int64_t *blocked, uint64_t *unblocks)
{
	shmk_slot_handle_t h;
	uint8_t buf[CAP];
	int64_t start = shmk_now_ns(), t0 = start, lease = shmk_liveness_ns();
	int rc;

	for (;;) {
		uint64_t g = shmk_slots_notify_generation(o);
		rc = shmk_slots_reserve_slot(o, UINT32_MAX, &h);
		int64_t now = shmk_now_ns();
		t_stall_tick(v, now);
		t_stall_tick(s, now);
		if (rc != SHMK_EFULL)
			break;
		if (now - t0 >= lease) {
			shmk_slots_mark_reader_disconnected(o, ws->idx[V_ID]);
			++*unblocks;
			t0 = now;
			continue;
		}
		shmk_slots_wait_for_change(o, g, 2000000);
	}
	if (shmk_now_ns() - start > *blocked)
		*blocked = shmk_now_ns() - start;
	if (rc)
		return rc;
	uint64_t sn = g_next_sn++, got = 0;	/* sequence numbers start at 1 */
	size_t n = t_msg_stamped(buf, CAP, 0, sn, g_seed);
	rc = shmk_slots_commit_slot(o, h, buf, n, &got, NULL);
	return rc ? rc : got == sn ? 0 : -EPROTO;
}

static void trial(int w, const char *flink, struct shmk_slots *o, uint64_t *rng)
{
	struct wside *ws = &sh->w[w];
	struct t_stall_victim v;
	t_stall_victim_init(&v, (int)(t_rand(rng) % T_STALL_KINDS), rng);
	unsigned stop_n = 1 + (unsigned)(t_rand(rng) % K);

	memset(ws, 0, sizeof(*ws));
	ws->base = g_next_sn;
	v.pid = fork();
	if (v.pid == 0)
		reader(flink, ws, V_ID, v.kind, stop_n);
	struct t_stall_victim s;
	t_stall_bystander(&s, fork());
	if (s.pid == 0)
		reader(flink, ws, S_ID, T_STALL_RANDOM, 0);
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(60) * 1000000000LL, blocked = 0;
	uint64_t unblocks = 0;
	int rc = 0;
	while (atomic_load(&ws->ready) < 2 && !v.done && !s.done && shmk_now_ns() < end) {
		t_stall_tick(&v, shmk_now_ns());
		t_stall_tick(&s, shmk_now_ns());
		sched_yield();
	}
	/* the random stop counts from the readers' start */
	v.stop_at = shmk_now_ns() + (int64_t)(t_rand(rng) % 3000000);
	for (uint64_t k = 0; k < K && !rc; k++)
		rc = commit_one(o, ws, &v, &s, &blocked, &unblocks);
	atomic_store(&ws->done, 1);
	while ((!v.done || !s.done) && shmk_now_ns() < end) {
		/* not synchronisation: the victim's hold runs out, the readers end */
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		t_stall_tick(&v, shmk_now_ns());
		t_stall_tick(&s, shmk_now_ns());
	}
	if (rc || !v.done || !s.done) {
		printf("%s: worker %d: %s, trial given up\n", PROG, w,
		       rc ? shmk_errname(rc) : "readers hung");
		t_stall_kill(&v);
		t_stall_kill(&s);
		atomic_fetch_add(&sh->T->bad_trials, 1);
	}
	/* every sample is the survivor's; the victim may miss those the
	 * lease disconnected it from */
	uint8_t cnt[2][K];
	uint64_t owed[2] = { 0, K };
	for (int p = 0; p < 2; p++)
		for (int q = 0; q < K; q++)
			cnt[p][q] = atomic_load(&ws->cnt[p][q]);
	char at[48];
	snprintf(at, sizeof(at), "kind %d at %u", v.kind, stop_n);
	struct t_stall_outcome out = { .torn = ws->torn, .at = at, .verr = ws->err[V_ID],
				     .serr = ws->err[S_ID], .sstatus = s.status };
	t_stall_tally(&cnt[0][0], 2, K, owed, &out.lost, &out.dup);
	out.failed = !t_exited0(v.status) + !t_exited0(s.status);
	int64_t lat = atomic_load(&ws->max_lat_ns);
	out.blocked_ns = lat > blocked ? lat : blocked;
	atomic_fetch_add(&sh->T->unblocked, unblocks);
	atomic_fetch_add(&sh->T->retried, atomic_load(&ws->refused));
	t_stall_account(PROG, w, sh->T, &v, &out);
}

static int worker(int w, const uint64_t *trials, const char *dir)
{
	char flink[224];
	struct shmk_slots *o = NULL;
	uint64_t rng = t_mix(g_seed + (uint64_t)w);

	snprintf(flink, sizeof(flink), "%s/slots-%d", dir, w);
	int rc = shmk_slots_create(flink, NSLOTS, CAP, &o);
	if (rc) {
		printf("%s: worker %d: create: %s\n", PROG, w, shmk_errname(rc));
		return 1;
	}
	for (uint64_t t = 0; t < trials[0]; t++)
		trial(w, flink, o, &rng);
	shmk_slots_close(o);
	return 0;
}

int main(void)
{
	return t_stall_main(&(const struct t_stall_prog){ .prog = PROG, .fam = &family,
		.nfam = 1, .worker = worker, .seed = &g_seed, .side = (void **)&sh,
		.side_size = sizeof(*sh) });
}
