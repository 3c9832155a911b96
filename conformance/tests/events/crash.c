/* SPDX-License-Identifier: MIT */
/* events tests: a creator, a producer or a peer that dies (init recovery, dead producers, peer-dead waits). */
#include "events_test.h"

/* ------------------------------------------------------------ crashes */

/* role: open (or create) argv[1], blocking (with the wake section) when
 * argv[2] is "blocking"; with SHMK_CRASH_AT=events.init it dies mid-init */
static int role_creator(int argc, char **argv)
{
	struct shmk_events *r = NULL;

	if (argc < 2)
		return 2;
	struct shmk_events_opts o = { .blocking = argc > 2 && !strcmp(argv[2], "blocking") };
	int rc = shmk_events_open_path_with(argv[1], &o, &r);
	shmk_events_close(r);
	return rc ? 3 : 0;
}
H_ROLE("creator", role_creator);

/* Garbage in every word of the wake section (a waiter count with TAKEN,
 * a moved generation), written through the file as a dead process would
 * have left it. */
void ev_plant_wake(const char *path)
{
	struct shmk_events_wakeword w = { 0 };
	int fd = open(path, O_RDWR);

	CU_ASSERT_FATAL(fd >= 0);
	atomic_init(&w.gen, 0x5a5a5a5au);
	atomic_init(&w.waiters, SHMK_WAIT_TAKEN | 3u);
	for (size_t k = 0; k < SHMK_EVENTS_WAKE_BYTES / sizeof(w); k++)
		CU_ASSERT_EQUAL(pwrite(fd, &w, sizeof(w), SHMK_EVENTS_BASE_BYTES + k * sizeof(w)),
				(ssize_t)sizeof(w));
	close(fd);
}

/* Joins path blocking: its wake section must read zero, an empty receive
 * must park and time out, and a blocking send and receive then work. */
void ev_check_wake_cleared(const char *path)
{
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events *r = must_open(path, &o);
	struct shmk_events_wake *w = ev_wake_of(r);
	struct shmk_events_wakeword *ws[] = { &w->spsc_data, &w->spsc_space, &w->mpsc_data,
					      &w->mpsc_space };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[8];
	size_t n;

	for (size_t k = 0; k < sizeof(ws) / sizeof(ws[0]); k++) {
		CU_ASSERT_EQUAL(atomic_load(&ws[k]->gen), 0);
		CU_ASSERT_EQUAL(atomic_load(&ws[k]->waiters), 0);
	}
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 20 * 1000000, NULL), -ETIMEDOUT);
	/* the parked receiver counted itself in and out again */
	CU_ASSERT_EQUAL(atomic_load(&w->spsc_data.waiters), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, "ok", 2, 1000000000, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 1000000000, NULL), 0);
	CU_ASSERT(n == 2 && !memcmp(buf, "ok", 2));
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

static void dead_creator(void)
{
	char *p = new_path();
	const char *args[] = { p, "blocking", NULL };

	/* blocking: the wake section after the slots is the one part of the
	 * layout that build() neither writes through the file nor sets, so
	 * only events.init.zeroed's clearing empties it */
	pid_t pid = spawn_with_env("creator", args, "SHMK_CRASH_AT", "events.init");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);

	/* the creator died at initialized == 1: joiners get ENOTINIT at once */
	struct shmk_events_opts o = { .blocking = true, .init_timeout_ns = 20LL * 1000000000 };
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(open_in_child(p, &o), SHMK_ENOTINIT);
	CU_ASSERT(shmk_now_ns() - t0 < 10LL * 1000000000);
	CU_ASSERT_EQUAL(open_in_child(p, &o), SHMK_ENOTINIT);

	/* what the dead creator (or anyone before it) left past the header:
	 * a held slot, a producer's token and the wake words, which recovery
	 * must clear */
	int fd = open(p, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	uint32_t held = 1;
	uint64_t tok = shmk_self_token();
	CU_ASSERT_EQUAL(pwrite(fd, &held, sizeof(held),
			       offsetof(struct shmk_events_layout, slots[7].refcnt)), sizeof(held));
	CU_ASSERT_EQUAL(pwrite(fd, &tok, sizeof(tok),
			       offsetof(struct shmk_events_layout, mpsc.producers[3].token)),
			sizeof(tok));
	close(fd);
	ev_plant_wake(p);

	/* recovery: re-initialise under the lock */
	o.recover = true;
	CU_ASSERT_EQUAL(open_in_child(p, &o), 0);
	struct evq q;
	char buf[8];
	size_t n;
	CU_ASSERT_EQUAL_FATAL(evq_attach(&q, p, 0), 0);
	CU_ASSERT_NOT_EQUAL(q.l->hdr.creator, shmk_self_token());
	CU_ASSERT_EQUAL(atomic_load(&q.l->slots[7].refcnt), 0);
	CU_ASSERT_EQUAL(atomic_load(&q.l->mpsc.producers[3].token), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "ok", 2, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), 0);
	evq_close(&q, false);
	ev_check_wake_cleared(p);
}
H_REGISTER(dead_creator, 60, "events.init.dead-creator", "events.init.recover",
	   "events.init.zeroed");

/* An open in a child whose files may not grow past the slots' offset,
 * SIGXFSZ ignored: build()'s first pwrite fails with EFBIG. */
static int capped_open_fn(void *a)
{
	struct rlimit rl = { .rlim_cur = offsetof(struct shmk_events_layout, slots),
			     .rlim_max = RLIM_INFINITY };

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 1;
	return open_job_fn(a);
}

/* A file that someone sized (initialized 0, not empty) holds whatever they
 * wrote: its initialiser clears it.  An initialiser whose build fails hands
 * the region back (initialized 0) and the next opener builds it. */
static void presized(void)
{
	char *p = new_path();
	int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(fd, SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES), 0);
	close(fd);
	ev_plant_wake(p);

	struct open_job *j = t_shared_alloc(sizeof(*j));
	*j = (struct open_job){ .path = p, .o = { .blocking = true }, .rc = 12345 };
	CU_ASSERT_EQUAL(h_wait(t_fork_run(capped_open_fn, j), 30), 0);
	CU_ASSERT_EQUAL(j->rc, -EFBIG);
	t_shared_free(j, sizeof(*j));
	struct shmk_events_header *h = map_hdr(p, &fd);
	CU_ASSERT_EQUAL(atomic_load(&h->initialized), SHMK_EVENTS_INIT_NONE);
	unmap_hdr(h, fd);

	/* the failed build cleared the wake section already: plant it again
	 * for the next opener, which finds the file sized and must clear it */
	ev_plant_wake(p);
	ev_check_wake_cleared(p);
	unlink(p);
}
H_REGISTER(presized, 20, "events.init.zeroed", "events.init.once");

static void init_timeout(void)
{
	/* a live process holds the lock with initialized == 1: joiners time out */
	char *p = new_path();
	shmk_events_close(must_open(p, NULL));
	int fd;
	struct shmk_events_header *h = map_hdr(p, &fd);
	atomic_store(&h->initialized, 1);
	atomic_store(&h->creator, shmk_self_token());
	CU_ASSERT_EQUAL_FATAL(flock(fd, LOCK_EX), 0);
	struct shmk_events_opts o = { .init_timeout_ns = 300 * 1000000 };
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(open_in_child(p, &o), SHMK_ENOTINIT);
	CU_ASSERT(shmk_now_ns() - t0 >= 300 * 1000000);
	/* and succeed once the initialiser finishes within their timeout */
	o.init_timeout_ns = 20LL * 1000000000;
	struct open_job *j = t_shared_alloc(sizeof(*j));
	j->path = p;
	j->o = o;
	j->rc = 12345;
	pid_t pid = t_fork_run(open_job_fn, j);
	struct timespec ts = { 0, 100 * 1000000 };
	nanosleep(&ts, NULL); /* not synchronisation: the child passes either way */
	atomic_store(&h->initialized, 2);
	shmk_futex_wake(&h->initialized, INT_MAX);
	flock(fd, LOCK_UN);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(j->rc, 0);
	unmap_hdr(h, fd);
}
H_REGISTER(init_timeout, 60, "events.open.init-timeout");

/* One message of the producer role: a copying send, or (argv[4] "view") a
 * reservation filled and published, published again after SHMK_ESKIPPED
 * (the view must still be reserved: events.zerocopy.publish-skipped+2). */
static int producer_send(struct shmk_events_tx *tx, const uint8_t *buf, size_t n, bool view,
			 int *skipped)
{
	if (!view)
		return shmk_events_send(tx, buf, n, 20LL * 1000000000, NULL);
	struct shmk_events_view v;
	int rc = shmk_events_reserve(tx, &v);
	if (rc)
		return rc;
	memcpy(v.data, buf, n);
	rc = shmk_events_publish(tx, &v, n, NULL);
	if (rc == SHMK_ESKIPPED) {
		if (!v.data)
			return 5; /* the reservation was consumed with the message unsent */
		++*skipped;
		rc = shmk_events_publish(tx, &v, n, NULL);
	}
	return rc;
}

/* role: MPSC producer argv[2] sending argv[3] messages to argv[1] (argv[4]
 * "view": zero-copy).  A send that fails with SHMK_ESKIPPED (the consumer
 * unblocked our claimed cell) is sent again: exit 42 when that happened
 * and every message then went out. */
static int role_producer(int argc, char **argv)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	int skipped = 0;

	if (argc < 4)
		return 2;
	uint32_t prod = (uint32_t)atoi(argv[2]), count = (uint32_t)atoi(argv[3]);
	bool view = argc > 4 && !strcmp(argv[4], "view");
	if (shmk_events_open_path(argv[1], &r) || shmk_events_split_mpsc(r, &tx, &rx))
		return 3;
	shmk_events_rx_close(rx);
	for (uint32_t s = 0; s < count; s++) {
		size_t n = make_msg(buf, prod, s);
		int rc = producer_send(tx, buf, n, view, &skipped);
		if (rc == SHMK_ESKIPPED && !view) {
			skipped++;
			rc = producer_send(tx, buf, n, view, &skipped); /* the next send works */
		}
		if (rc) {
			shmk_events_tx_close(tx);
			shmk_events_close(r);
			return rc > 0 ? rc : 4;
		}
	}
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	return skipped ? 42 : 0;
}
H_ROLE("producer", role_producer);

/* Producer 1 (mode "copy" or "view") stops between its bind and its
 * publish (SHMK_STOP_AT=events.mpsc.claimed); the consumer, whose skip count is
 * `skipped` so far, must not pass it within 2 x SHMK_LIVENESS_MS (100 ms)
 * and must unblock it after that; 3000 messages of producer 0 then lap the
 * queue while it is stopped; once resumed, its publish fails with
 * SHMK_ESKIPPED and its retry arrives after them. */
static void stopped_claimer(const char *p, struct shmk_events_rx *rx, const char *mode,
			    const char *point, uint64_t skipped)
{
	uint8_t buf[256];
	size_t n;
	uint64_t u0 = shmk_events_rx_unblocked(rx);
	const char *a2[] = { p, "1", "1", mode, NULL };
	pid_t slow = spawn_with_env("producer", a2, "SHMK_STOP_AT", point);
	CU_ASSERT_FATAL(slow > 0);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CU_ASSERT_EQUAL_FATAL(waitid(P_PID, (id_t)slow, &si, WSTOPPED), 0);
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 120 * 1000000, NULL), -ETIMEDOUT);
	if (shmk_now_ns() - t0 < 190 * 1000000)	/* a slow machine may pass the bound */
		CU_ASSERT_EQUAL(shmk_events_rx_unblocked(rx), u0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 600 * 1000000, NULL), -ETIMEDOUT);
	CU_ASSERT_EQUAL(shmk_events_rx_unblocked(rx), u0 + 1);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), skipped);
	/* producer 0 laps the queue (and reuses every cell) while 1 is stopped */
	const char *a0[] = { p, "0", "3000", NULL };
	pid_t lap = h_spawn_role("producer", a0);
	for (uint32_t s = 0; s < 3000; s++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL), 0);
		uint32_t pr, sq;
		CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &pr, &sq), 0);
		CU_ASSERT_EQUAL_FATAL(pr, 0);
		CU_ASSERT_EQUAL_FATAL(sq, s);
	}
	CU_ASSERT_EQUAL(h_wait(lap, 30), 0);
	CU_ASSERT_EQUAL(kill(slow, SIGCONT), 0);
	/* its publish failed (SHMK_ESKIPPED), its retry went out: exit 42 */
	CU_ASSERT_EQUAL(h_wait(slow, 30), 42);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL), 0);
	uint32_t pr, sq;
	CU_ASSERT_EQUAL(check_msg(buf, n, &pr, &sq), 0);
	CU_ASSERT_EQUAL(pr, 1);
	CU_ASSERT_EQUAL(sq, 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(shmk_events_rx_unblocked(rx), u0 + 1);
}

/* A blocking region at p (liveness 100 ms) whose MPSC consumer this
 * process holds; the producers are other processes. */
static struct shmk_events_rx *mpsc_consumer(const char *p, struct shmk_events **r)
{
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	setenv("SHMK_LIVENESS_MS", "100", 1);
	*r = must_open(p, &o);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(*r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	return rx;
}

/* mpsc_consumer(p, r), then producer 0 sends it `count` messages and is
 * killed at crash point `at`. */
static struct shmk_events_rx *dead_claimer(const char *p, struct shmk_events **r,
					   const char *count, const char *at)
{
	struct shmk_events_rx *rx = mpsc_consumer(p, r);
	const char *a0[] = { p, "0", count, NULL };
	pid_t dead = spawn_with_env("producer", a0, "SHMK_CRASH_AT", at);
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	return rx;
}

static void dead_producer(void)
{
	char *p = new_path();
	struct shmk_events *r;
	/* producer 0 dies between claim and publish of its 3rd message */
	struct shmk_events_rx *rx = dead_claimer(p, &r, "10", "events.mpsc.claimed:3");
	uint8_t buf[256];
	size_t n;

	/* producer 1 sends after it: its messages queue behind the hole */
	const char *a1[] = { p, "1", "50", NULL };
	pid_t live = h_spawn_role("producer", a1);
	CU_ASSERT_EQUAL(h_wait(live, 30), 0);

	uint32_t next[2] = { 0, 0 };
	for (int got = 0; got < 52; got++) {
		int rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t pr, s;
		CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &pr, &s), 0);
		CU_ASSERT_FATAL(pr < 2);
		CU_ASSERT_EQUAL(s, next[pr]);
		next[pr] = s + 1;
	}
	CU_ASSERT_EQUAL(next[0], 2);
	CU_ASSERT_EQUAL(next[1], 50);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 1);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);

	/* a live producer stopped between claim and publish is not skipped
	 * within 2 x SHMK_LIVENESS_MS, and is unblocked after it */
	stopped_claimer(p, rx, "copy", "events.mpsc.claimed", 1);
	/* the queue still works across the skipped cells */
	const char *a3[] = { p, "1", "2000", NULL };
	live = h_spawn_role("producer", a3);
	for (uint32_t s = 0; s < 2000; s++) {
		int rc;
		/* until the new producer registers, producer 0's dead row is the
		 * only one: SHMK_EPEERDEAD, retry (events.wait.peer-absent) */
		int64_t end = shmk_now_ns() + 20LL * 1000000000;
		while ((rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL)) ==
			       SHMK_EPEERDEAD &&
		       shmk_now_ns() < end)
			;
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t pr, sq;
		CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &pr, &sq), 0);
		CU_ASSERT_EQUAL_FATAL(sq, s);
	}
	CU_ASSERT_EQUAL(h_wait(live, 30), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(dead_producer, 120, "events.mpsc.dead-producer+2", "events.mpsc.intent",
	   "events.mpsc.publish-cas+2", "events.mpsc.unblock+2");

/* A non-blocking consumer that polls once a millisecond skips a dead
 * claimer's cell after at most 64 polls that do not look (no tail, no
 * clock), then the liveness period (100 ms): a count that never ended, or
 * one counted in time, would not.  And the period is timed from the first
 * poll that looks (events.mpsc.dead-producer+2): 64 polls, a sleep past
 * the period, and the 65th poll (the first look) still skips nothing - a
 * poll in the count that looked would have started the clock before the
 * sleep, and the 65th would skip. */
static void idle_polls_bound(void)
{
	char *p = new_path();
	struct shmk_events *r;
	/* one message out, then death between the claim and the publish of the 2nd */
	struct shmk_events_rx *rx = dead_claimer(p, &r, "2", "events.mpsc.claimed:2");
	uint8_t buf[256];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);

	uint32_t polls = 0;
	for (; polls < 64; polls++)
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	struct timespec period = { 0, 150 * 1000000 };
	nanosleep(&period, NULL);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	polls++;
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 0);

	/* every further poll sleeps at least 1 ms: at most 100 + 1 of them
	 * look within the liveness period the 65th started */
	struct timespec ms = { 0, 1000000 };
	while (shmk_events_rx_skipped(rx) == 0 && polls < 100000) {
		nanosleep(&ms, NULL);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
		polls++;
	}
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 1);
	CU_ASSERT(polls <= 64 + 1 + 100 + 1);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(idle_polls_bound, 30, "events.mpsc.idle-polls", "events.mpsc.dead-producer+2");

/* Producers stopped before their bind (copy and zero-copy) and after it
 * (zero-copy): each is unblocked, 3000 messages of another producer lap
 * the queue (every cell and pool slot reused) while it is stopped, then
 * its publish fails with SHMK_ESKIPPED (a view still reserved) and its
 * next send works.  Every message arrives once, whole, in order, and the
 * pool loses no slot and hands none out twice: a slot is held exactly
 * when one MPSC cell has it attached. */
static void stopped_view_producer(void)
{
	static const char *const runs[][2] = { { "copy", "events.mpsc.claimed-unbound" },
					       { "view", "events.mpsc.claimed-unbound" },
					       { "view", "events.mpsc.claimed" } };
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx = mpsc_consumer(p, &r);
	struct shmk_events_layout *l = LAYOUT(r);
	uint8_t buf[256];
	size_t n;
	for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
		stopped_claimer(p, rx, runs[k][0], runs[k][1], 0);
		static uint8_t seen[SHMK_EVENTS_SLOTS];
		memset(seen, 0, sizeof(seen));
		for (uint32_t c = 0; c < SHMK_EVENTS_QUEUE_CAP; c++) {
			uint32_t s = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[c].slotw));
			if (s < SHMK_EVENTS_SLOTS) {
				CU_ASSERT_EQUAL(seen[s], 0);
				seen[s] = 1;
			}
		}
		uint32_t bad = 0;
		for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS; i++)
			bad += (atomic_load(&l->slots[i].refcnt) != 0) != seen[i];
		CU_ASSERT_EQUAL(bad, 0);
	}
	CU_ASSERT_EQUAL(shmk_events_rx_unblocked(rx), 3);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(stopped_view_producer, 120, "events.mpsc.unblock+2", "events.mpsc.slot-stamp",
	   "events.zerocopy.publish-skipped+2", "events.mpsc.publish-cas+2");

/* ------------------------------------------------------------ dead peers */

enum { PD_DIE, PD_DIE_PARKED, PD_HOLD, PD_CLEAN };

struct pd_side {
	_Atomic int claimed;		/* the child holds its role */
	_Atomic int64_t died_ns;	/* when it raised SIGKILL */
};

struct pd_job {
	int kind;			/* 0 SPSC sender, 1 SPSC receiver, 2 MPSC producer, 3 consumer */
	int n;				/* messages to send (senders) or receive (receivers) */
	int mode;			/* PD_*: how the child leaves */
	_Atomic uint32_t *park;		/* PD_DIE_PARKED: a waiter count of the parent's */
};

static struct shmk_events *g_pd_r;
static struct pd_side *g_pd;

/* Child: takes its role in g_pd_r, moves n messages, then dies by SIGKILL
 * (at once, or once the parent is parked on job->park), waits to be killed,
 * or closes cleanly. */
static int pd_child(void *a)
{
	const struct pd_job *j = a;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[SHMK_EVENTS_SLOT_DATA];
	size_t n;
	int rc = j->kind >= 2 ? shmk_events_split_mpsc(g_pd_r, &tx, &rx)
			      : shmk_events_split_spsc(g_pd_r, &tx, &rx);

	if (rc)
		return 10;
	if (j->kind % 2 == 0) {
		/* an oversized send claims the role and sends nothing */
		if (shmk_events_try_send(tx, buf, SHMK_EVENTS_SLOT_DATA + 1, NULL) != SHMK_ETOOLARGE)
			return 11;
		for (int i = 0; i < j->n; i++) {
			int len = snprintf(buf, sizeof(buf), "m%d", i) + 1;
			if (shmk_events_try_send(tx, buf, (size_t)len, NULL))
				return 12;
		}
	} else {
		if (shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL) != (j->n ? 0 : SHMK_EEMPTY))
			return 13;
		for (int i = 1; i < j->n; i++)
			if (shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL))
				return 14;
	}
	atomic_store(&g_pd->claimed, 1);
	if (j->mode == PD_CLEAN) {
		shmk_events_tx_close(tx);
		shmk_events_rx_close(rx);
		return 0;
	}
	if (j->mode == PD_HOLD)
		for (;;)
			pause();
	if (j->mode == PD_DIE_PARKED) {
		int64_t end = shmk_now_ns() + 20LL * 1000000000;
		while (atomic_load(j->park) == 0) {
			if (shmk_now_ns() > end)
				return 15;
			sched_yield();
		}
	}
	atomic_store(&g_pd->died_ns, shmk_now_ns());
	raise(SIGKILL);
	return 16;
}

static pid_t pd_fork(int kind, int n, int mode, _Atomic uint32_t *park)
{
	static struct pd_job j; /* copied by fork */

	j = (struct pd_job){ kind, n, mode, park };
	atomic_store(&g_pd->claimed, 0);
	pid_t pid = t_fork_run(pd_child, &j);
	int64_t end = shmk_now_ns() + 20LL * 1000000000;
	while (pid > 0 && !atomic_load(&g_pd->claimed) && shmk_now_ns() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1; /* left before it claimed: a failure */
		sched_yield();
	}
	return pid;
}

static int64_t g_pd_max_ns; /* slowest EPEERDEAD after a death seen while parked */

static void pd_took(void)
{
	int64_t d = shmk_now_ns() - atomic_load(&g_pd->died_ns);
	if (d > g_pd_max_ns)
		g_pd_max_ns = d;
}

static struct shmk_events_wake *pd_wake(void)
{
	return ev_wake_of(g_pd_r);
}

/* The parent's side of a case: a blocking region at p (g_pd_r), split SPSC
 * or MPSC; the half the parent does not play (NULL) is closed. */
static void pd_open(char *p, size_t len, bool mpsc, struct shmk_events_tx **tx,
		    struct shmk_events_rx **rx)
{
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events_tx *t;
	struct shmk_events_rx *r;

	snprintf(p, len, "%s", new_path());
	g_pd_r = must_open(p, &o);
	CU_ASSERT_EQUAL_FATAL((mpsc ? shmk_events_split_mpsc : shmk_events_split_spsc)(g_pd_r, &t, &r), 0);
	if (tx)
		*tx = t;
	else
		shmk_events_tx_close(t);
	if (rx)
		*rx = r;
	else
		shmk_events_rx_close(r);
}

/* The end of a case: the parent's half (tx or rx, the other NULL) and the
 * region (g_pd_r, at p) closed, the file removed. */
static void pd_close(const char *p, struct shmk_events_tx *tx, struct shmk_events_rx *rx)
{
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(g_pd_r);
	unlink(p);
}

/* The receiving end (pid, role `role` of pd_fork: 1 SPSC receiver, 3 MPSC
 * consumer) dies while tx is parked on the full queue: the send says
 * SHMK_EPEERDEAD and queued nothing; a replacement takes one message and
 * the retry goes through.  Closes the case (p, g_pd_r). */
static void pd_dead_receiver(const char *p, struct shmk_events_tx *tx, pid_t pid, int role)
{
	struct shmk_events_layout *l = LAYOUT(g_pd_r);
	bool mpsc = role == 3;
	char buf[SHMK_EVENTS_SLOT_DATA] = "x";

	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, -1, NULL), SHMK_EPEERDEAD);
	pd_took();
	CU_ASSERT_EQUAL(h_wait(pid, 30), 128 + SIGKILL);
	/* nothing was queued by the failed send */
	uint64_t depth = mpsc ? atomic_load(&l->mpsc.tail.v) - atomic_load(&l->mpsc.head.v)
			      : atomic_load(&l->spsc.tail.v) - atomic_load(&l->spsc.head.v);
	CU_ASSERT_EQUAL(depth, SHMK_EVENTS_QUEUE_CAP);
	pid = pd_fork(role, 1, PD_CLEAN, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, -1, NULL), 0);
	pd_close(p, tx, NULL);
}

static void pd_spsc_receiver(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA], want[16];
	struct shmk_events_rx *rx;
	size_t n;

	pd_open(p, sizeof(p), false, NULL, &rx);
	/* the sender sends 3, then dies once we are parked: the 3 come first,
	 * then SHMK_EPEERDEAD, with no timeout to end the wait */
	pid_t pid = pd_fork(0, 3, PD_DIE_PARKED, &pd_wake()->spsc_data.waiters);
	CU_ASSERT_FATAL(pid > 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
		snprintf(want, sizeof(want), "m%d", i);
		CU_ASSERT_STRING_EQUAL(buf, want);
	}
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	pd_took();
	CU_ASSERT_EQUAL(h_wait(pid, 30), 128 + SIGKILL);
	/* a retry says so again: the dead token still holds the role */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	/* a replacement reclaims the role, sends one and closes cleanly */
	pid = pd_fork(0, 1, PD_CLEAN, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	CU_ASSERT_STRING_EQUAL(buf, "m0");
	/* a clean close leaves the role absent, not dead: we wait it out */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 300 * 1000000, NULL),
			-ETIMEDOUT);
	pd_close(p, NULL, rx);
}

static void pd_spsc_sender(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA] = "x";
	struct shmk_events_tx *tx;

	pd_open(p, sizeof(p), false, &tx, NULL);
	/* a queue nobody ever received from: a full one just waits */
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, 100 * 1000000, NULL), -ETIMEDOUT);
	/* a receiver takes one, and dies once we are parked on the full queue */
	pid_t pid = pd_fork(1, 1, PD_DIE_PARKED, &pd_wake()->spsc_space.waiters);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, buf, 1, NULL), 0);
	pd_dead_receiver(p, tx, pid, 1);
}

static void pd_mpsc_consumer(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA];
	struct shmk_events_rx *rx;
	size_t n;

	pd_open(p, sizeof(p), true, NULL, &rx);
	/* no producer ever registered: wait */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 100 * 1000000, NULL),
			-ETIMEDOUT);
	/* one producer dies, one lives: wait for the live one */
	pid_t live = pd_fork(2, 1, PD_HOLD, NULL);
	CU_ASSERT_FATAL(live > 0);
	pid_t dead = pd_fork(2, 1, PD_DIE, NULL);
	CU_ASSERT_EQUAL(h_wait(dead, 30), 128 + SIGKILL);
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 300 * 1000000, NULL),
			-ETIMEDOUT);
	/* the live one dies too (before the call) */
	CU_ASSERT_EQUAL(kill(live, SIGKILL), 0);
	CU_ASSERT_EQUAL(h_wait(live, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	/* a new producer sends one and dies while we are parked */
	dead = pd_fork(2, 1, PD_DIE_PARKED, &pd_wake()->mpsc_data.waiters);
	CU_ASSERT_FATAL(dead > 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	CU_ASSERT_STRING_EQUAL(buf, "m0");
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	pd_took();
	CU_ASSERT_EQUAL(h_wait(dead, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 0);
	/* a replacement producer registers and sends: the retry gets it */
	pid_t pid = pd_fork(2, 1, PD_CLEAN, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	pd_close(p, NULL, rx);
}

static void pd_mpsc_producer(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA] = "x";
	struct shmk_events_tx *tx;

	pd_open(p, sizeof(p), true, &tx, NULL);
	/* the consumer claims its role, then dies once we are parked on a full queue */
	pid_t pid = pd_fork(3, 0, PD_DIE_PARKED, &pd_wake()->mpsc_space.waiters);
	CU_ASSERT_FATAL(pid > 0);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, 1, NULL), 0);
	pd_dead_receiver(p, tx, pid, 3);
}

static void peerdead(void)
{
	/* before any split: the handles cache it; period = 25 ms */
	setenv("SHMK_LIVENESS_MS", "100", 1);
	g_pd = t_shared_alloc(sizeof(*g_pd));
	CU_ASSERT_FATAL(g_pd != NULL);
	pd_spsc_receiver();
	pd_spsc_sender();
	pd_mpsc_consumer();
	pd_mpsc_producer();
	printf("\n  peerdead: slowest SHMK_EPEERDEAD %.1f ms after a death while parked "
	       "(SHMK_LIVENESS_MS 100)\n", (double)g_pd_max_ns / 1e6);
	t_shared_free(g_pd, sizeof(*g_pd));
}
/* each death is noticed within 2 x 25 ms: 60 s means a wait that
 * never noticed it (the calls have no timeout) */
H_REGISTER(peerdead, 60, "events.wait.peerdead+2", "events.wait.peerdead-cadence", "events.wait.peer-absent");
