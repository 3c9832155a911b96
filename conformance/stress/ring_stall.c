/* SPDX-License-Identifier: MIT */
/*
 * ring_stall: SIGSTOP on a direct ring writer.  A writer alive but not
 * running blocks the other direct writers, each call at most the bound
 * (ring.writer.stopped-holder: SHMK_EBUSY within SHMK_LIVENESS_MS), never
 * the reader, and loses, tears or duplicates nothing.
 *
 * STRESS_TRIALS trials (200 in make check, 10000 in make stress) on
 * STRESS_WORKERS workers side by side (stall.h), each the reader of its
 * own ring.  Per trial a victim writer and a survivor writer each write K
 * checksummed, timestamped records; the victim is stopped
 *   - at SHMK_STOP_AT=ring.write.locked:N (the writers' lock held, nothing
 *     reserved),
 *   - at SHMK_STOP_AT=ring.write.copied:N (the record copied, head not yet
 *     moved), or
 *   - by SIGSTOP at a random time,
 * held a random 1..5 x SHMK_LIVENESS_MS, then SIGCONTed.  A write that
 * fails with SHMK_EBUSY (the lock stayed held for the bound) or SHMK_EFULL
 * is made again.  Counted: torn (bad checksum or length), lost (a write
 * that returned 0 never read), duplicated, failed calls (any other error),
 * survivor trials released by SHMK_EBUSY, SHMK_EBUSY answers; and the
 * longest time another party was blocked: the survivor's longest write
 * call, within 3 x SHMK_LIVENESS_MS times SHMK_TIME_SCALE (t_stall_main:
 * the clause's bound, L, plus twice as much for scheduling).  The reader only polls: a stopped writer
 * has nothing it could wait on.
 */
#include "stall.h"
#include "shmkit/ring.h"

#define PROG "ring_stall"
#define K 24		/* records per writer per trial */
#define MAXMSG 160
#define V_ID 0
#define S_ID 1

static const char *const clauses[] = { "ring.writer.stopped-holder", "ring.writer.lock.deadline",
				       "reliability.hook.stop" };

struct wside {
	_Atomic uint64_t committed[2];	/* writes that returned 0 */
	_Atomic uint64_t ebusy;		/* the survivor's SHMK_EBUSY answers */
	_Atomic int err[2];
	_Atomic int64_t max_call_ns;	/* the survivor's longest write call */
};

struct side {
	struct t_stall_totals T;
	struct wside w[T_STALL_MAXW];
};

static uint64_t g_seed;
static struct side *sh;

static _Noreturn void writer(int wfd, struct wside *ws, uint32_t id, const char *stop_at)
{
	struct shmk_ring_writer *w;
	uint8_t buf[MAXMSG];

	if (stop_at) {
		setenv("SHMK_STOP_AT", stop_at, 1);
		shmk_crash_rearm(); /* the worker, our parent, read the env already */
	}
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
			if (id == S_ID)
				t_max_ns(&ws->max_call_ns, shmk_now_ns() - t0);
			if (rc == SHMK_EBUSY && id == S_ID)
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
	}
	shmk_ring_writer_close(w);
	_exit(0);
}

static pid_t spawn_writer(struct shmk_ring *r, struct wside *ws, uint32_t id, const char *stop)
{
	int wfd = -1, pfd = -1;
	if (shmk_ring_writer_new(r, id + 1, &wfd, &pfd))
		return -1;
	pid_t p = fork();
	if (p == 0) {
		close(pfd);
		writer(wfd, ws, id, stop);
	}
	close(wfd);
	close(pfd);
	return p;
}

static void trial(int w, struct shmk_ring *r, uint64_t *rng)
{
	struct wside *ws = &sh->w[w];
	uint8_t buf[MAXMSG], cnt[2][K];
	char stop[64];
	struct t_stall_victim v;
	t_stall_victim_init(&v, (int)(t_rand(rng) % T_STALL_KINDS), rng);

	memset(ws, 0, sizeof(*ws));
	memset(cnt, 0, sizeof(cnt));
	snprintf(stop, sizeof(stop), "%s:%u",
		 v.kind == T_STALL_POINT ? "ring.write.locked" : "ring.write.copied",
		 1 + (unsigned)(t_rand(rng) % K));
	v.pid = spawn_writer(r, ws, V_ID, v.kind == T_STALL_RANDOM ? NULL : stop);
	struct t_stall_victim s = { .pid = spawn_writer(r, ws, S_ID, NULL), .kind = T_STALL_RANDOM,
				    .status = -1, .stop_at = INT64_MAX };
	if (v.pid < 0 || s.pid < 0) {
		printf("%s: worker %d: writer_new/fork failed\n", PROG, w);
		t_stall_kill(&v);
		t_stall_kill(&s);
		atomic_fetch_add(&sh->T.bad_trials, 1);
		return;
	}
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(60) * 1000000000LL;
	uint64_t torn = 0;
	for (;;) {
		uint64_t tag = 0;
		size_t n = 0;
		int rc = shmk_ring_read_message(r, &tag, buf, sizeof(buf), &n, 2000000);
		if (rc == 0) {
			uint32_t prod;
			uint64_t seq;
			int64_t sent;
			if (t_msg_stamped_check(buf, n, &prod, &seq, &sent) || prod > S_ID || seq >= K ||
			    tag != prod + 1)
				torn++;
			else
				cnt[prod][seq]++;
			continue;
		}
		if (t_stall_idle(PROG, w, &sh->T, &v, &s, rc, end))
			break;
	}
	uint64_t lost, dup, committed[2] = { ws->committed[0], ws->committed[1] };
	t_stall_tally(&cnt[0][0], 2, K, committed, &lost, &dup);
	uint64_t failed = !t_exited0(v.status) + !t_exited0(s.status);
	atomic_fetch_add(&sh->T.unblocked, atomic_load(&ws->ebusy) != 0);
	atomic_fetch_add(&sh->T.retried, atomic_load(&ws->ebusy));
	if (torn || lost || dup || failed)
		printf("%s: worker %d trial (%s, hold %.0f ms): %" PRIu64 " torn, %" PRIu64
		       " lost, %" PRIu64 " dup, victim %s, survivor %s\n", PROG, w,
		       v.kind == T_STALL_RANDOM ? "random" : stop, (double)v.hold / 1e6, torn,
		       lost, dup, shmk_errname(ws->err[V_ID]), shmk_errname(ws->err[S_ID]));
	t_stall_account(&sh->T, &v, torn, lost, dup, failed, ws->max_call_ns);
}

static int worker(int w, uint64_t trials, const char *dir)
{
	char path[224];
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts o = { .capacity = 65536 };
	uint64_t rng = t_mix(g_seed + (uint64_t)w);

	snprintf(path, sizeof(path), "%s/ring-%d", dir, w);
	int rc = shmk_ring_create(path, &o, &r);
	if (rc) {
		printf("%s: worker %d: create: %s\n", PROG, w, shmk_errname(rc));
		return 1;
	}
	for (uint64_t t = 0; t < trials; t++)
		trial(w, r, &rng);
	shmk_ring_close(r);
	unlink(path);
	return 0;
}

int main(void)
{
	g_seed = t_stall_start();
	sh = t_shared_alloc(sizeof(*sh));
	struct t_stall_prog p = {
		.prog = PROG, .line = "ring-stall", .victim = "writer",
		.points = { "ring.write.locked", "ring.write.copied" },
		.unblocks = "survivor trials released by SHMK_EBUSY",
		.retried = "writes answered SHMK_EBUSY within the bound and made again",
		.clauses = clauses, .nclauses = sizeof(clauses) / sizeof(clauses[0]),
		.worker = worker, .T = sh ? &sh->T : NULL,
	};
	return t_stall_main(&p, g_seed);
}
