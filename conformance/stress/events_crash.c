/* SPDX-License-Identifier: MIT */
/*
 * events_crash: kill -9 on the events region: SPSC sender and receiver,
 * MPSC producers (at the crash point between claim and publish, and at
 * random times) and consumer, and the creator during init.
 *
 * Three groups of STRESS_TRIALS trials each (200 in make check, 10000 in
 * make stress), every trial on a fresh blocking region made by a creator
 * process (the parent only forks, watches pidfds and checks):
 *   spsc   even: the sender is SIGKILLed at a random time (every 4th
 *          trial: at SHMK_CRASH_AT=events.spsc.counted:N, counted in tail
 *          but not announced), a replacement
 *          sender reclaims the role and finishes; odd: the receiver is
 *          SIGKILLed, a replacement receiver reclaims the role and drains;
 *   mpsc   a producer is SIGKILLed at SHMK_CRASH_AT=events.mpsc.claimed:N
 *          (claimed, never published: the consumer must step over exactly
 *          that cell, skipped - or unblocked when the victim, descheduled
 *          before the crash point, still ran 2 x SHMK_LIVENESS_MS into the
 *          stall), or at a random time, while two producers keep sending;
 *          or the consumer is SIGKILLed and a replacement drains;
 *   init   the creator is SIGKILLed at SHMK_CRASH_AT=events.init (a joiner
 *          then fails at once with SHMK_ENOTINIT, and one with `recover`
 *          re-initialises), or at a random time (a `recover` joiner comes up).
 * Messages carry producer id, sequence, length, a send timestamp and a
 * CRC-32.  Every delivery is counted per (producer, sequence) in a side
 * channel (anonymous shared memory), and every producer counts the sends
 * that returned 0.  Per trial: nothing torn, nothing delivered twice, no
 * sequence out of order; every committed message of a killed producer is
 * delivered (plus at most the one in flight at a random kill), every
 * message of a survivor is; a killed consumer may lose the one message it
 * held (counted apart), which may be the SPSC sender's end marker (a
 * closer then sends a second one to the replacement receiver, which must
 * have found nothing before it); survivors unblock within 2 x SHMK_LIVENESS_MS
 * plus twice the scheduling delay the run measured (t_probe: the blocked
 * party's wake-up from its park and its wait on the run queue) (the
 * latency of messages queued behind a dead producer's cell; the time from a
 * death to the replacement's first successful call, or to the survivor's
 * SHMK_EPEERDEAD; a joiner's open).  A survivor whose blocking call ends
 * with SHMK_EPEERDEAD (its peer is dead and nothing is pending) retries,
 * as a replacement is expected: up to 10 s x SHMK_TIME_SCALE of such
 * answers in a row.
 *
 * Then, as in ring_crash: a zombie receiver's role is claimable at once; in
 * a private PID namespace a stranger given the dead receiver's PID does not
 * keep the role; and a restart after everyone was SIGKILLed comes up on
 * the same region (roles reclaimed, messages flow), after which `shmkit gc`
 * (when built) removes the region its dead creator left.
 */
#include <fcntl.h>
#include <stddef.h>

#include "events_load.h"
#include "stall.h"

#define PROG "events_crash"
#define MAXP 4		/* producer ids: 0 victim, 1 and 2 survivors, 3 end marker */
#define MAXSEQ 4096
#define END_ID 3
#define MAXMSG 200
#define ENDLESS UINT64_MAX

struct side {
	_Atomic uint64_t committed[MAXP];
	_Atomic uint8_t cnt[MAXP][MAXSEQ];
	_Atomic uint64_t last[MAXP];	/* 1 + highest seq delivered, any consumer */
	_Atomic uint64_t torn, reorder, skipped;
	_Atomic uint64_t unblocked;	/* MPSC cells of live claimers unblocked */
	_Atomic int64_t max_lat_ns, first_ok_ns, first_rx_ns, open_ns;
	_Atomic int got_end, err[8];	/* got_end: 1 + the end marker's seq */
	_Atomic uint64_t repl_rx;	/* messages a replacement consumer delivered */
	_Atomic int64_t round_ns;	/* restart: messages stamped before are leftovers */
	_Atomic uint64_t leftovers;
	_Atomic int64_t peerdead_ns;	/* a survivor's first SHMK_EPEERDEAD */
	_Atomic uint64_t peerdead;	/* SHMK_EPEERDEAD answers, all survivors */
	_Atomic int no_zerocopy;	/* senders use only the blocking send */
};

static uint64_t g_seed;
static struct side *sh;
static struct h_barrier *bar;
static char g_path[256];

/* a message with its send timestamp under the CRC */
static size_t ev_make(uint8_t *buf, uint32_t prod, uint64_t seq)
{
	return t_msg_stamped(buf, MAXMSG, prod, seq, g_seed);
}

static struct shmk_events *ev_open(int recover, int *rc)
{
	struct shmk_events_opts o = { .blocking = true, .recover = recover != 0 };
	struct shmk_events *r = NULL;
	*rc = shmk_events_open_path_with(g_path, &o, &r);
	return r;
}

/* Opens the region and splits one queue (the handles keep the mapping). */
static int ev_split(int mpsc, struct shmk_events_tx **tx, struct shmk_events_rx **rx)
{
	int rc;
	struct shmk_events *r = ev_open(0, &rc);
	if (rc)
		return rc;
	rc = mpsc ? shmk_events_split_mpsc(r, tx, rx) : shmk_events_split_spsc(r, tx, rx);
	shmk_events_close(r);
	return rc;
}

/* A blocking call ended with rc: 1 to retry it (SHMK_EPEERDEAD while a
 * replacement peer is expected, until *give_up), else 0.  Any other result
 * resets the bound. */
static int retry_peerdead(int rc, int64_t *give_up)
{
	if (rc != SHMK_EPEERDEAD) {
		*give_up = 0;
		return 0;
	}
	int64_t now = shmk_now_ns(), zero = 0;
	atomic_compare_exchange_strong(&sh->peerdead_ns, &zero, now);
	atomic_fetch_add(&sh->peerdead, 1);
	if (!*give_up)
		*give_up = now + (int64_t)h_deadline(10) * 1000000000;
	return now < *give_up;
}

static void creator_child(const char *crash)
{
	int rc;
	if (crash)
		setenv("SHMK_CRASH_AT", crash, 1);
	struct shmk_events *r = ev_open(0, &rc);
	if (rc)
		_exit(1);
	shmk_events_close(r);
	_exit(0);
}

/* count ENDLESS: until killed; end: send the end marker after, with
 * sequence end - 1 (1: the producer's own, 2: a closer's second one). */
static void producer_child(int mpsc, uint32_t id, uint64_t count, const char *crash, int end,
			   int nbar)
{
	uint8_t buf[MAXMSG];
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	int rc;

	if (crash)
		setenv("SHMK_CRASH_AT", crash, 1);
	rc = ev_split(mpsc, &tx, &rx);
	if (nbar)
		h_barrier_wait(bar, 30);
	if (rc) {
		sh->err[id] = rc;
		_exit(1);
	}
	shmk_events_rx_close(rx);
	uint64_t rng = g_seed ^ id;
	int64_t give_up = 0;
	for (uint64_t seq = 0; seq < count; seq++) {
		if (seq >= MAXSEQ - 1) { /* side channel full: wait to be killed */
			pause();
			continue;
		}
		size_t n = ev_make(buf, id, seq);
		/* (a zero-copy publish into a full queue retries its try-style
		 * call: it never answers SHMK_EPEERDEAD) */
		if (t_rand(&rng) % 8 == 0 && !atomic_load(&sh->no_zerocopy)) {
			rc = t_ev_send_view(tx, buf, n, NULL);
		} else {
			do
				rc = shmk_events_send(tx, buf, n, 10LL * 1000000000, NULL);
			while (rc == SHMK_ESKIPPED || retry_peerdead(rc, &give_up));
		}
		if (rc) {
			sh->err[id] = rc;
			_exit(1);
		}
		if (seq == 0)
			atomic_store(&sh->first_ok_ns, shmk_now_ns());
		atomic_store(&sh->committed[id], seq + 1); /* the side channel */
	}
	if (end) {
		size_t n = ev_make(buf, END_ID, (uint64_t)(end - 1));
		do
			rc = shmk_events_send(tx, buf, n, 10LL * 1000000000, NULL);
		while (rc == SHMK_ESKIPPED || retry_peerdead(rc, &give_up));
		if (rc) {
			sh->err[END_ID] = rc;
			_exit(1);
		}
	}
	shmk_events_tx_close(tx);
	_exit(0);
}

static void consumer_child(int mpsc, int slot, int nbar, int replacement)
{
	uint8_t buf[SHMK_EVENTS_SLOT_DATA];
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	int rc;

	rc = ev_split(mpsc, &tx, &rx);
	if (nbar)
		h_barrier_wait(bar, 30);
	if (rc) {
		sh->err[slot] = rc;
		_exit(1);
	}
	shmk_events_tx_close(tx);
	int64_t give_up = 0;
	uint64_t unblocked = 0;
	for (int first = 1;;) {
		size_t n;
		rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 10LL * 1000000000, NULL);
		if (retry_peerdead(rc, &give_up))
			continue;
		if (rc)
			break;
		int64_t now = shmk_now_ns();
		/* per message: a consumer killed later keeps its count */
		if (mpsc && shmk_events_rx_unblocked(rx) != unblocked) {
			atomic_fetch_add(&sh->unblocked, shmk_events_rx_unblocked(rx) - unblocked);
			unblocked = shmk_events_rx_unblocked(rx);
		}
		if (first && replacement)
			atomic_store(&sh->first_rx_ns, now);
		first = 0;
		uint32_t prod;
		uint64_t seq;
		if (t_msg_check(buf, n, &prod, &seq) || prod >= MAXP || seq >= MAXSEQ) {
			atomic_fetch_add(&sh->torn, 1);
			continue;
		}
		int64_t sent;
		memcpy(&sent, buf + T_MSG_HDR, 8);
		if (sent < atomic_load(&sh->round_ns)) {
			atomic_fetch_add(&sh->leftovers, 1);
			continue;
		}
		if (!replacement)
			t_max_ns(&sh->max_lat_ns, now - sent);
		if (prod == END_ID) {
			atomic_store(&sh->got_end, 1 + (int)seq);
			break;
		}
		if (replacement)
			atomic_fetch_add(&sh->repl_rx, 1);
		atomic_fetch_add(&sh->cnt[prod][seq], 1);
		if (seq + 1 <= atomic_load(&sh->last[prod]))
			atomic_fetch_add(&sh->reorder, 1);
		else
			atomic_store(&sh->last[prod], seq + 1);
	}
	if (mpsc) {
		atomic_fetch_add(&sh->skipped, shmk_events_rx_skipped(rx));
		atomic_fetch_add(&sh->unblocked, shmk_events_rx_unblocked(rx) - unblocked);
	}
	sh->err[slot] = rc;
	shmk_events_rx_close(rx);
	_exit(rc ? 1 : 0);
}

struct group {
	const char *name;
	uint64_t trials, kinds[3], torn, lost, dup, reorder, held, inflight, skipped, failed;
	uint64_t missed;	/* consumer kills that landed after it had finished */
	uint64_t unblocked;	/* cells of live claimers unblocked */
	uint64_t late;		/* dead claimers' cells unblocked: still running then */
	uint64_t peerdead;	/* trials where a survivor got SHMK_EPEERDEAD */
	double max_unblock;
	uint64_t max_trial;	/* the trial of max_unblock */
};

static pid_t spawn_creator(const char *crash)
{
	pid_t p = fork();
	if (p == 0)
		creator_child(crash);
	return p;
}

static int wait_one(pid_t pid, double *died, int *st)
{
	return t_wait_all(&pid, 1, died, st, h_deadline(60));
}

/* Checks producer id's deliveries against what it committed: returns the
 * number lost; *dup gets duplicates; slack = deliveries allowed beyond the
 * committed count (the message in flight at a random kill); held = losses
 * allowed (a killed consumer's message). */
static uint64_t check_prod(uint32_t id, uint64_t slack, uint64_t *dup, uint64_t *beyond,
			   uint64_t *inflight)
{
	uint64_t c = atomic_load(&sh->committed[id]), lost = 0;

	for (uint64_t s = 0; s < MAXSEQ; s++) {
		unsigned k = atomic_load(&sh->cnt[id][s]);
		if (k > 1)
			*dup += k - 1;
		if (s < c && k == 0)
			lost++;
		if (s >= c && k) {
			if (s < c + slack)
				(*inflight)++;
			else
				(*beyond)++;
		}
	}
	return lost;
}

/* Measures the machine's scheduling delay while the trials run. */
static struct t_probe *probe;

static void account(struct group *G, uint64_t t, const char *kind, int bad, double unblock,
		    uint64_t lost, uint64_t held_allowed, uint64_t dup, uint64_t beyond)
{
	uint64_t held = lost < held_allowed ? lost : held_allowed;
	lost -= held;
	G->held += held;
	G->lost += lost;
	G->dup += dup;
	G->torn += sh->torn;
	G->reorder += sh->reorder;
	/* judged after the trials (judge_unblock) */
	if (unblock > G->max_unblock) {
		G->max_unblock = unblock;
		G->max_trial = t;
	}
	if (lost || dup || beyond || sh->torn || sh->reorder) {
		printf("%s: %s trial %" PRIu64 " (%s): %" PRIu64 " lost, %" PRIu64 " dup, %" PRIu64
		       " delivered beyond the committed count, %" PRIu64 " torn, %" PRIu64
		       " reordered\n", PROG, G->name, t, kind, lost, dup, beyond,
		       (uint64_t)sh->torn, (uint64_t)sh->reorder);
		bad = 1;
	}
	G->failed += bad;
	G->trials++;
}

/* ------------------------------------------------------------------ spsc */

/* The survivor's first SHMK_EPEERDEAD after the death at `died` (s) counts
 * as its unblock time when later than `unblock`. */
static double peerdead_unblock(struct group *G, double died, double unblock)
{
	int64_t pd = atomic_load(&sh->peerdead_ns);

	if (!pd)
		return unblock;
	G->peerdead++;
	double u = (double)pd / 1e9 - died;
	return u > unblock ? u : unblock;
}

/* The SPSC role word at `off` in the trial's region file: non-zero once the
 * victim had claimed its role (a victim killed before its first call left
 * 0, an absent peer that the survivor rightly keeps waiting for). */
static uint64_t role_word(size_t off)
{
	uint64_t w = 0;
	int fd = open(g_path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (pread(fd, &w, sizeof(w), (off_t)off) != (ssize_t)sizeof(w))
			w = 0;
		close(fd);
	}
	return w;
}

/* Late replacement (every 4th trial of a kind): the parent holds the
 * replacement back until the survivor has answered SHMK_EPEERDEAD, so its
 * own wake-up on the death is measured, or until `other` has exited (a
 * sender whose receiver died while the queue had room finishes alone).
 * Returns 1 when the bound passed first. */
static int await_peerdead(pid_t other)
{
	int64_t end = shmk_now_ns() + (int64_t)h_deadline(10) * 1000000000;

	while (!atomic_load(&sh->peerdead_ns)) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)other, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
			return 0;
		if (shmk_now_ns() > end)
			return 1;
		sched_yield();
	}
	return 0;
}

/* The SPSC pair: p[0] the receiver, p[1] the sender of count messages (end:
 * its end marker, as producer_child's), started together; after a random
 * pause p[victim] is SIGKILLed and reaped (died[victim], st[victim]) - or,
 * with crash, the sender kills itself at that crash point.  wait_one's
 * result. */
static int spsc_pair_kill(pid_t p[2], uint64_t count, int end, int victim, uint64_t *rng,
			  double *died, int *st, const char *crash)
{
	p[0] = fork();
	if (p[0] == 0)
		consumer_child(0, 4, 1, 0);
	p[1] = fork();
	if (p[1] == 0)
		producer_child(0, 0, count, crash, end, 1);
	h_barrier_wait(bar, 30);
	if (!crash) {
		t_pause_us(rng, 3000);
		kill(p[victim], SIGKILL);
	}
	return wait_one(p[victim], &died[victim], &st[victim]);
}

static void spsc_trial(uint64_t t, uint64_t *rng, struct group *G)
{
	int kill_consumer = t % 2;
	double died[3];
	int st[3], bad = 0;
	uint64_t dup = 0, beyond = 0, lost = 0, held_ok = 0;
	int end_held = 0, sender_waited = 0;
	double unblock = 0;

	memset(sh, 0, sizeof(*sh));
	h_unique_path(g_path, sizeof(g_path), "ev-crash");
	pid_t c = spawn_creator(NULL);
	if (wait_one(c, died, st) || !t_exited0(st[0])) {
		printf("%s: spsc trial %" PRIu64 ": creator failed\n", PROG, t);
		G->failed++;
		G->trials++;
		unlink(g_path);
		return;
	}
	G->kinds[kill_consumer]++;
	if (!kill_consumer) {
		pid_t p[2];
		char crash[64];
		/* every 4th: killed between counting a message in tail and
		 * announcing it in its slot's seq (events.spsc.reclaim-announce+4:
		 * the replacement announces it and the parked receiver wakes) */
		int at_point = t % 4 == 2;
		if (at_point) {
			snprintf(crash, sizeof(crash), "events.spsc.counted:%" PRIu64,
				 1 + t_rand(rng) % 2000);
			G->kinds[2]++;
		}
		int rc = spsc_pair_kill(p, ENDLESS, 0, 1, rng, died, st, at_point ? crash : NULL);
		/* the receiver drains and then waits on a dead sender: it must
		 * answer SHMK_EPEERDEAD (events.wait.peerdead+2) */
		if (t % 4 == 0 && role_word(offsetof(struct shmk_events_layout, spsc.roles.a)) &&
		    (await_peerdead(p[0]) || !atomic_load(&sh->peerdead_ns))) {
			printf("%s: spsc trial %" PRIu64 ": the receiver never answered "
			       "SHMK_EPEERDEAD on its dead sender\n", PROG, t);
			bad = 1;
		}
		/* the replacement sender: reclaims the role, sends 20 and the end */
		pid_t rp = fork();
		if (rp == 0)
			producer_child(0, 1, 20, NULL, 1, 0);
		rc |= wait_one(rp, &died[2], &st[2]);
		rc |= wait_one(p[0], &died[0], &st[0]);
		bad |= rc || !t_killed(st[1]) || !t_exited0(st[2]) || !t_exited0(st[0]);
		if (bad)
			printf("%s: spsc trial %" PRIu64 " (sender killed): status %#x/%#x/%#x, "
			       "%s / %s\n", PROG, t, st[0], st[1], st[2], shmk_strerror(sh->err[4]),
			       shmk_strerror(sh->err[1]));
		uint64_t inflight = 0;
		lost = check_prod(0, 1, &dup, &beyond, &inflight);
		G->inflight += inflight;
		/* the message the sender counted before its crash point is
		 * whole in the queue: the replacement's announce delivers it */
		if (at_point && inflight != 1) {
			printf("%s: spsc trial %" PRIu64 ": the message counted at %s was not "
			       "delivered\n", PROG, t, crash);
			lost++;
		}
		lost += check_prod(1, 0, &dup, &beyond, &inflight);
		double u = (double)atomic_load(&sh->first_ok_ns) / 1e9 - died[1];
		double lat = (double)atomic_load(&sh->max_lat_ns) / 1e9;
		unblock = u > lat ? u : lat;
		unblock = peerdead_unblock(G, died[1], unblock);
	} else {
		uint64_t count = 1 + t_rand(rng) % 3000;
		pid_t p[2];
		atomic_store(&sh->no_zerocopy, t % 4 == 1);
		int rc = spsc_pair_kill(p, count, 1, 0, rng, died, st, NULL);
		if (atomic_load(&sh->got_end)) {
			G->missed++; /* it had finished: nothing to take over */
		} else {
			if (t % 4 == 1 &&
			    role_word(offsetof(struct shmk_events_layout, spsc.roles.b)) &&
			    await_peerdead(p[1])) {
				printf("%s: spsc trial %" PRIu64 ": the sender neither finished nor "
				       "answered SHMK_EPEERDEAD on its dead receiver\n", PROG, t);
				bad = 1;
			}
			pid_t rp = fork();
			if (rp == 0)
				consumer_child(0, 5, 0, 1);
			/* The killed receiver may have taken the sender's end
			 * marker and died before recording it: that is the one
			 * message a killed consumer may lose.  So once the sender
			 * is done, a closer sends a second end marker (seq 1); the
			 * replacement stops at whichever end it meets first. */
			rc |= wait_one(p[1], &died[1], &st[1]);
			sender_waited = 1;
			double closer_at = t_now();
			pid_t cl = -1;
			if (!rc && t_exited0(st[1])) {
				cl = fork();
				if (cl == 0)
					producer_child(0, 1, 0, NULL, 2, 0);
			}
			rc |= wait_one(rp, &died[2], &st[2]);
			bad |= !t_exited0(st[2]);
			if (cl > 0) {
				int sc;
				double dc;
				rc |= wait_one(cl, &dc, &sc);
				bad |= !t_exited0(sc);
			}
			double u = (double)atomic_load(&sh->first_rx_ns) / 1e9;
			/* the replacement met the closer's end first: the first
			 * end was the killed receiver's message, and it had taken
			 * every message before it (the replacement got none);
			 * its unblock is then from the closer's send */
			if (atomic_load(&sh->got_end) == 2) {
				end_held = 1;
				if (atomic_load(&sh->repl_rx)) {
					printf("%s: spsc trial %" PRIu64 ": the sender's end marker "
					       "was lost, yet the replacement received %" PRIu64
					       " messages before the closer's\n", PROG, t,
					       (uint64_t)atomic_load(&sh->repl_rx));
					bad = 1;
				}
				u -= closer_at;
			} else {
				u -= died[0];
			}
			unblock = u > 0 ? u : 0;
		}
		unblock = peerdead_unblock(G, died[0], unblock);
		if (!sender_waited)
			rc |= wait_one(p[1], &died[1], &st[1]);
		bad |= rc || !t_exited0(st[1]) || !atomic_load(&sh->got_end);
		if (bad)
			printf("%s: spsc trial %" PRIu64 " (receiver killed): status %#x/%#x, %s / %s"
			       "%s\n", PROG, t, st[1], st[2], shmk_strerror(sh->err[0]),
			       shmk_strerror(sh->err[5]), end_held ? " (end marker held)" : "");
		uint64_t inflight = 0;
		lost = check_prod(0, 0, &dup, &beyond, &inflight);
		/* one message lost at most: a data message, or the end marker */
		held_ok = !end_held;
		G->held += end_held;
	}
	unlink(g_path);
	account(G, t, kill_consumer ? "receiver" : "sender", bad, unblock, lost, held_ok, dup, beyond);
}

/* ------------------------------------------------------------------ mpsc */

static void mpsc_trial(uint64_t t, uint64_t *rng, struct group *G)
{
	int kind = (int)(t % 3); /* 0 point, 1 random producer, 2 consumer */
	static const char *const names[] = { "producer at events.mpsc.claimed",
					     "producer at random", "consumer at random" };
	double died[6];
	int st[6], bad = 0;
	uint64_t dup = 0, beyond = 0, lost = 0, inflight = 0;
	double unblock = 0;
	char crash[64];

	memset(sh, 0, sizeof(*sh));
	h_unique_path(g_path, sizeof(g_path), "ev-crash");
	pid_t c = spawn_creator(NULL);
	if (wait_one(c, died, st) || !t_exited0(st[0])) {
		G->failed++;
		G->trials++;
		unlink(g_path);
		return;
	}
	G->kinds[kind]++;
	uint64_t vcount = 1 + t_rand(rng) % 200;
	snprintf(crash, sizeof(crash), "events.mpsc.claimed:%" PRIu64, 1 + t_rand(rng) % vcount);
	pid_t p[4]; /* consumer, victim/producer 0, producers 1 and 2 */
	p[0] = fork();
	if (p[0] == 0)
		consumer_child(1, 4, 1, 0);
	p[1] = fork();
	if (p[1] == 0)
		producer_child(1, 0, kind == 0 ? vcount : kind == 1 ? ENDLESS : 300,
			       kind == 0 ? crash : NULL, 0, 1);
	for (int i = 2; i < 4; i++) {
		p[i] = fork();
		if (p[i] == 0)
			producer_child(1, (uint32_t)i - 1, 300, NULL, 0, 1);
	}
	h_barrier_wait(bar, 30);
	int rc = 0;
	int victim = kind == 2 ? 0 : 1;
	pid_t replaced = 0;
	if (kind != 0) {
		t_pause_us(rng, 3000);
		kill(p[victim], SIGKILL);
	}
	rc |= wait_one(p[victim], &died[victim], &st[victim]);
	if (kind == 2) {
		if (atomic_load(&sh->got_end)) {
			G->missed++;
		} else {
			replaced = fork();
			if (replaced == 0)
				consumer_child(1, 5, 0, 1);
		}
	}
	/* the producers finish (or died); then the end marker from a closer */
	for (int i = 1; i < 4; i++)
		if (i != victim)
			rc |= wait_one(p[i], &died[i], &st[i]);
	if (!atomic_load(&sh->got_end)) {
		pid_t closer = fork();
		if (closer == 0)
			producer_child(1, 2, 0, NULL, 1, 0); /* no messages, only the end */
		rc |= wait_one(closer, &died[4], &st[4]);
		if (!t_exited0(st[4]))
			bad = 1;
	}
	if (victim != 0)
		rc |= wait_one(p[0], &died[0], &st[0]);
	if (replaced > 0) {
		rc |= wait_one(replaced, &died[5], &st[5]);
		if (!t_exited0(st[5]))
			bad = 1;
	}
	bad |= rc || !atomic_load(&sh->got_end);
	for (int i = 0; i < 4; i++) {
		if ((kind != 2 && i == 1) || (kind == 2 && i == 0))
			continue;
		if (!t_exited0(st[i]))
			bad = 1;
	}
	if (kind != 2 && !t_killed(st[1]))
		bad = 1;
	if (bad)
		printf("%s: mpsc trial %" PRIu64 " (%s): status %#x/%#x/%#x/%#x, consumer %s, "
		       "producers %s/%s/%s\n", PROG, t, names[kind], st[0], st[1], st[2], st[3],
		       shmk_strerror(sh->err[4] ? sh->err[4] : sh->err[5]),
		       shmk_strerror(sh->err[0]), shmk_strerror(sh->err[1]),
		       shmk_strerror(sh->err[2]));
	lost = check_prod(0, kind == 1 ? 1 : 0, &dup, &beyond, &inflight);
	for (uint32_t i = 1; i < 3; i++)
		lost += check_prod(i, 0, &dup, &beyond, &inflight);
	G->inflight += inflight;
	uint64_t sk = atomic_load(&sh->skipped);
	G->skipped += sk;
	/* (the consumer's SHMK_EPEERDEAD comes when only dead producer rows are
	 * left, waiting for the closer: not a time after the kill) */
	G->peerdead += atomic_load(&sh->peerdead_ns) != 0;
	uint64_t ub = atomic_load(&sh->unblocked);
	G->unblocked += ub;
	/* r[verify events.mpsc.dead-producer+2] r[verify events.mpsc.unblock+2]
	 * The dead claimer's cell is stepped over once: skipped, or unblocked
	 * when the victim was still running (descheduled between its claim and
	 * the crash point) 2 x SHMK_LIVENESS_MS into the consumer's stall, as
	 * the unblock clause counts a live claimer's cell.  A survivor is never
	 * dead, so it is never skipped (a survivor stalled past the bound is
	 * unblocked, ub > 1). */
	if (kind == 0 && (sk > 1 || sk + ub == 0)) {
		printf("%s: mpsc trial %" PRIu64 ": the consumer skipped %" PRIu64 " cells and "
		       "unblocked %" PRIu64 ", the dead claimer left exactly 1\n", PROG, t, sk, ub);
		bad = 1;
	}
	if (kind == 0 && sk == 0)
		G->late++;
	if (kind == 2) {
		double u = (double)atomic_load(&sh->first_rx_ns) / 1e9;
		unblock = replaced > 0 && u > died[0] ? u - died[0] : 0;
	} else {
		unblock = (double)atomic_load(&sh->max_lat_ns) / 1e9;
	}
	unlink(g_path);
	account(G, t, names[kind], bad, unblock, lost, kind == 2 ? 1 : 0, dup, beyond);
}

/* ------------------------------------------------------------------ init */

/* A joiner: opens (recover as asked), records how long open took, and with
 * a region does one SPSC message to itself.  Exits 0 ok, 2 ENOTINIT. */
static void joiner_child(int recover)
{
	uint8_t buf[MAXMSG], got[SHMK_EVENTS_SLOT_DATA];
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	int rc;
	int64_t t0 = shmk_now_ns();
	struct shmk_events *r = ev_open(recover, &rc);
	atomic_store(&sh->open_ns, shmk_now_ns() - t0);
	if (rc == SHMK_ENOTINIT)
		_exit(2);
	if (rc) {
		sh->err[6] = rc;
		_exit(1);
	}
	rc = shmk_events_split_spsc(r, &tx, &rx);
	size_t n = ev_make(buf, 0, 0), m = 0;
	if (!rc)
		rc = shmk_events_try_send(tx, buf, n, NULL);
	if (!rc)
		rc = shmk_events_try_recv(rx, got, sizeof(got), &m, NULL);
	uint32_t prod;
	uint64_t seq;
	if (!rc && (m != n || t_msg_check(got, m, &prod, &seq)))
		rc = SHMK_EINTEGRITY;
	sh->err[6] = rc;
	_exit(rc ? 1 : 0);
}

static void init_trial(uint64_t t, uint64_t *rng, struct group *G)
{
	int rnd = t % 2;
	double died;
	int st, bad = 0;
	double unblock = 0;

	memset(sh, 0, sizeof(*sh));
	h_unique_path(g_path, sizeof(g_path), "ev-init");
	G->kinds[rnd]++;
	pid_t c = spawn_creator(rnd ? NULL : "events.init");
	if (rnd) {
		t_pause_us(rng, 2000);
		kill(c, SIGKILL);
	}
	int rc = wait_one(c, &died, &st);
	int creator_done = t_exited0(st);
	if (!rnd) {
		/* died in build(): a plain joiner fails at once */
		pid_t j = fork();
		if (j == 0)
			joiner_child(0);
		double d2;
		int s2;
		rc |= wait_one(j, &d2, &s2);
		unblock = (double)atomic_load(&sh->open_ns) / 1e9;
		if (!t_killed(st) || !(WIFEXITED(s2) && WEXITSTATUS(s2) == 2)) {
			printf("%s: init trial %" PRIu64 ": creator status %#x, plain joiner status "
			       "%#x (want ENOTINIT)\n", PROG, t, st, s2);
			bad = 1;
		}
	}
	/* a recovering joiner comes up whatever the creator got to */
	pid_t j = fork();
	if (j == 0)
		joiner_child(1);
	double d3;
	int s3;
	rc |= wait_one(j, &d3, &s3);
	double o = (double)atomic_load(&sh->open_ns) / 1e9;
	if (o > unblock)
		unblock = o;
	if (rc || !t_exited0(s3)) {
		printf("%s: init trial %" PRIu64 " (%s, creator %s): recovering joiner status %#x: "
		       "%s\n", PROG, t, rnd ? "random" : "events.init",
		       creator_done ? "finished" : "killed", s3, shmk_strerror(sh->err[6]));
		bad = 1;
	}
	unlink(g_path);
	account(G, t, rnd ? "creator at random" : "creator at events.init", bad, unblock, 0, 0,
		0, 0);
}

/* ------------------------------------------------------------ liveness */

/* Run by a child that then SIGKILLs itself (t_fork_zombie): takes the SPSC
 * receiver role and keeps it; 0 once it is held. */
static int take_receiver(void *arg)
{
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t b[SHMK_EVENTS_SLOT_DATA];
	size_t n;
	int rc = ev_split(0, &tx, &rx);

	(void)arg;
	if (!rc) /* first use claims the role */
		rc = shmk_events_try_recv(rx, b, sizeof(b), &n, NULL);
	return rc != SHMK_EEMPTY;
}

/* Claims the SPSC receiver role here: the try_recv result (SHMK_EEMPTY =
 * claimed, SHMK_EBUSY = held by someone taken for alive). */
static int claim_receiver(void)
{
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t b[SHMK_EVENTS_SLOT_DATA];
	size_t n;
	int rc = ev_split(0, &tx, &rx);
	if (!rc) {
		rc = shmk_events_try_recv(rx, b, sizeof(b), &n, NULL);
		shmk_events_tx_close(tx);
		shmk_events_rx_close(rx);
	}
	return rc;
}

static int zombie_check(void)
{
	int rc;

	h_unique_path(g_path, sizeof(g_path), "ev-zombie");
	struct shmk_events *r = ev_open(0, &rc);
	if (rc)
		return 1;
	shmk_events_close(r);
	pid_t z = t_fork_zombie(take_receiver, NULL);
	if (z < 0)
		return 1;
	char st = t_proc_state(z);
	rc = claim_receiver();
	char st2 = t_proc_state(z);
	waitpid(z, NULL, 0);
	unlink(g_path);
	printf("%s: zombie receiver (state %c..%c): a new receiver's claim -> %s\n", PROG, st, st2,
	       rc == SHMK_EEMPTY ? "claimed (queue empty)" : shmk_strerror(rc));
	return st == 'Z' && st2 == 'Z' && rc == SHMK_EEMPTY ? 0 : 1;
}

static int pidreuse_role(void)
{
	int rc;

	snprintf(g_path, sizeof(g_path), "/dev/shm/shmk-evreuse-%d", (int)getpid());
	unlink(g_path);
	struct shmk_events *r = ev_open(0, &rc);
	if (rc)
		return 2;
	shmk_events_close(r);
	pid_t a, stranger;
	int release;
	int step = t_reuse_dead(PROG, take_receiver, NULL, &a, &stranger, &release);
	if (step)
		return 2 + step;
	rc = claim_receiver();
	t_release(stranger, release);
	unlink(g_path);
	printf("%s: receiver pid %d reused by a stranger: a new receiver's claim -> %s\n", PROG,
	       (int)a, rc == SHMK_EEMPTY ? "claimed (queue empty)" : shmk_strerror(rc));
	return rc == SHMK_EEMPTY ? 0 : 7;
}

/* ------------------------------------------------------------- restart */

/* Everyone (creator done; SPSC sender + receiver, 2 MPSC producers + the
 * consumer) SIGKILLed mid-traffic, then a new set on the same path. */
static int restart_rounds(uint64_t *rng, int *gc_state)
{
	char dir[200];
	double died[6];
	int st[6];

	snprintf(dir, sizeof(dir), "%.150s/gc-events", h_tmpdir());
	mkdir(dir, 0700);
	snprintf(g_path, sizeof(g_path), "%s/restart-region", dir);
	memset(sh, 0, sizeof(*sh));
	pid_t c = spawn_creator(NULL);
	if (wait_one(c, died, st) || !t_exited0(st[0]))
		return 1;
	for (int round = 0; round < 3; round++) {
		memset(sh, 0, sizeof(*sh));
		atomic_store(&sh->round_ns, shmk_now_ns());
		pid_t p[4];
		/* round 0 and 2: endless, killed; round 1: 100 each and the end */
		uint64_t cnt = round == 1 ? 100 : ENDLESS;
		p[0] = fork();
		if (p[0] == 0)
			consumer_child(1, 4, 1, 0);
		p[1] = fork();
		if (p[1] == 0)
			producer_child(1, 1, cnt, NULL, 0, 1);
		p[2] = fork();
		if (p[2] == 0)
			producer_child(1, 2, cnt, NULL, 0, 1);
		p[3] = fork();
		if (p[3] == 0)
			producer_child(0, 0, cnt, NULL, 0, 1); /* SPSC sender, nobody drains */
		h_barrier_wait(bar, 30);
		if (round != 1) {
			t_pause_us(rng, 5000);
			for (int i = 0; i < 4; i++)
				kill(p[i], SIGKILL);
			t_wait_all(p, 4, died, st, h_deadline(30));
			continue;
		}
		int rc = t_wait_all(p + 1, 2, died, st, h_deadline(60));
		pid_t closer = fork();
		if (closer == 0)
			producer_child(1, 2, 0, NULL, 1, 0);
		rc |= wait_one(closer, died, st);
		rc |= wait_one(p[0], died, st);
		kill(p[3], SIGKILL); /* the SPSC sender may block on a full queue */
		wait_one(p[3], died, st + 1);
		uint64_t d1 = atomic_load(&sh->last[1]), d2 = atomic_load(&sh->last[2]);
		int ok = !rc && t_exited0(st[0]) && atomic_load(&sh->got_end) && d1 == 100 &&
			 d2 == 100 && !sh->torn && !sh->reorder;
		printf("%s: restart after kill of all: a new consumer + producers on the same "
		       "region delivered %" PRIu64 "+%" PRIu64 " of 100+100 (%s; %" PRIu64
		       " messages left by the killed round drained first)\n", PROG, d1, d2,
		       ok ? "ok" : "FAILED", (uint64_t)sh->leftovers);
		if (!ok)
			return 1;
	}
	char out[2048];
	int g = t_gc(PROG, dir, out, sizeof(out), gc_state);
	if (g != -ENOENT)
		t_gc_report(PROG, dir, g, "region", access(g_path, F_OK) != 0, out, 1, gc_state);
	unlink(g_path);
	rmdir(dir);
	return *gc_state == 0;
}

/* The restart rounds with their five parties' barrier. */
static int restart_check(uint64_t *rng, int *gc_state)
{
	bar = h_barrier_new(5);
	int rs = restart_rounds(rng, gc_state);
	h_barrier_free(bar);
	return rs;
}

static void print_group(const struct group *G, const char *kinds)
{
	printf("events-%s: %" PRIu64 " trials (%s), %" PRIu64 " torn, %" PRIu64 " lost, %" PRIu64
	       " duplicated, %" PRIu64 " reordered, %" PRIu64 " consumer-held lost, %" PRIu64
	       " in flight at the kill delivered, %" PRIu64 " dead cells skipped, %" PRIu64
	       " cells of live claimers unblocked (%" PRIu64 " of them a claimer killed at "
	       "events.mpsc.claimed only later), %" PRIu64
	       " consumer kills after the end, %" PRIu64 " with a survivor woken by "
	       "SHMK_EPEERDEAD, max unblock %.3f s, seed %" PRIu64 "%s\n",
	       G->name, G->trials, kinds, G->torn, G->lost, G->dup, G->reorder, G->held,
	       G->inflight, G->skipped, G->unblocked, G->late, G->missed, G->peerdead,
	       G->max_unblock, g_seed,
	       G->trials == t_trials() ? "" : " incomplete");
}

static struct group S = { .name = "spsc" }, M = { .name = "mpsc" }, I = { .name = "init" };
static int s_ok, m_ok, i_ok;

static int run_trials(uint64_t n, uint64_t *rng)
{
	char kinds[256];

	printf("%s: seed %" PRIu64 ", %" PRIu64 " trials per group (spsc, mpsc, init), "
	       "SHMK_LIVENESS_MS %.0f\n", PROG, g_seed, n, t_liveness_s() * 1000);
	probe = t_probe_start();	/* during the trials, not before */
	bar = h_barrier_new(3);
	for (uint64_t t = 0; t < n; t++)
		spsc_trial(t, rng, &S);
	h_barrier_free(bar);
	snprintf(kinds, sizeof(kinds), "sender killed %" PRIu64 " (%" PRIu64
		 " of them at events.spsc.counted), receiver killed %" PRIu64,
		 S.kinds[0], S.kinds[2], S.kinds[1]);
	print_group(&S, kinds);
	bar = h_barrier_new(5);
	for (uint64_t t = 0; t < n; t++)
		mpsc_trial(t, rng, &M);
	h_barrier_free(bar);
	/* A claimer is unblocked before it reaches the crash point only when
	 * it was descheduled there for 2 x SHMK_LIVENESS_MS (1 trial in 67 at
	 * load 5 on 2 vCPUs); a consumer that took dead claimers for live ones
	 * would unblock them in every trial instead of skipping them. */
	if (4 * M.late > M.kinds[0] + 4) {
		printf("%s: %" PRIu64 " of %" PRIu64 " dead claimers' cells unblocked as live, "
		       "not skipped\n", PROG, M.late, M.kinds[0]);
		M.failed++;
	}
	snprintf(kinds, sizeof(kinds), "producer at events.mpsc.claimed %" PRIu64 ", producer "
		 "at random %" PRIu64 ", consumer at random %" PRIu64, M.kinds[0], M.kinds[1],
		 M.kinds[2]);
	print_group(&M, kinds);
	for (uint64_t t = 0; t < n; t++)
		init_trial(t, rng, &I);
	snprintf(kinds, sizeof(kinds), "creator at events.init %" PRIu64 ", at random %" PRIu64,
		 I.kinds[0], I.kinds[1]);
	print_group(&I, kinds);
	t_probe_stop(probe);
	S.failed += t_judge_unblock(probe, 2, PROG, S.name, S.max_unblock, S.max_trial);
	M.failed += t_judge_unblock(probe, 2, PROG, M.name, M.max_unblock, M.max_trial);
	I.failed += t_judge_unblock(probe, 2, PROG, I.name, I.max_unblock, I.max_trial);

	s_ok = S.trials == n && !S.failed;
	m_ok = M.trials == n && !M.failed;
	i_ok = I.trials == n && !I.failed;
	return s_ok && m_ok && i_ok;
}

static void finish(const struct t_after *a, int crash_ok, char *counts, size_t len)
{
	uint64_t n = t_trials();

	(void)crash_ok;
	h_evidence(PROG, "stress", "zombie", "events.role.reclaim", !a->zombie);
	h_evidence(PROG, "stress", "restart", "events.role.reclaim", !a->restart);
	h_evidence(PROG, "stress", "spsc", "reliability.crash.committed", s_ok);
	h_evidence(PROG, "stress", "mpsc", "reliability.crash.committed", m_ok);
	h_evidence(PROG, "stress", "spsc", "reliability.peer.unblock", s_ok);
	h_evidence(PROG, "stress", "mpsc", "reliability.peer.unblock", m_ok);
	h_evidence(PROG, "stress", "init", "reliability.peer.unblock", i_ok);
	h_evidence(PROG, "stress", "spsc", "events.role.reclaim", s_ok);
	h_evidence(PROG, "stress", "mpsc", "events.role.reclaim", m_ok);
	h_evidence(PROG, "stress", "mpsc", "events.mpsc.dead-producer+2", m_ok);
	h_evidence(PROG, "stress", "spsc", "events.spsc.fifo", s_ok);
	h_evidence(PROG, "stress", "mpsc", "events.mpsc.order", m_ok);
	h_evidence(PROG, "stress", "init", "events.init.dead-creator", i_ok);
	h_evidence(PROG, "stress", "init", "events.init.recover", i_ok);
	snprintf(counts, len, "\"trials_per_group\": %" PRIu64 ", \"spsc_torn\": %" PRIu64
		 ", \"spsc_lost\": %" PRIu64 ", \"spsc_dup\": %" PRIu64 ", \"spsc_held\": %" PRIu64
		 ", \"spsc_max_unblock_s\": %.3f, \"mpsc_torn\": %" PRIu64 ", \"mpsc_lost\": %"
		 PRIu64 ", \"mpsc_dup\": %" PRIu64 ", \"mpsc_held\": %" PRIu64
		 ", \"mpsc_skipped\": %" PRIu64 ", \"mpsc_max_unblock_s\": %.3f"
		 ", \"init_failed\": %" PRIu64 ", \"init_max_unblock_s\": %.3f"
		 ", \"sched_delay_s\": %.3f, \"complete\": %d",
		 n, S.torn, S.lost, S.dup, S.held, S.max_unblock, M.torn, M.lost, M.dup, M.held,
		 M.skipped, M.max_unblock, I.failed, I.max_unblock,
		 (double)t_probe_max_ns(probe) / 1e9,
		 S.trials == n && M.trials == n && I.trials == n);
}

int main(int argc, char **argv)
{
	sh = t_shared_alloc(sizeof(*sh));
	return t_crash_main(argc, argv, sh, &(const struct t_crash_prog){ .prog = PROG,
		.seed = &g_seed, .pidreuse_role = pidreuse_role, .trials = run_trials,
		.zombie = zombie_check, .restart = restart_check, .finish = finish });
}
