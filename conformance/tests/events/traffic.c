/* SPDX-License-Identifier: MIT */
/* events tests: SPSC and MPSC traffic between processes, sizes, zero copy, blocking, reserve without fallocate. */
#include "events_test.h"

/* ------------------------------------------------------------ traffic */

struct traffic {
	const char *path;
	int mpsc;
	uint32_t prod;
	uint32_t count;
	int blocking;
};

static int sender(void *a)
{
	struct traffic *t = a;
	struct evq q;
	uint8_t buf[256];

	int rc = evq_attach(&q, t->path, t->mpsc);
	if (rc)
		return 10;
	struct shmk_events_tx *tx = q.tx;
	shmk_events_rx_close(q.rx);
	shmk_events_close(q.r);	/* the handle keeps the mapping */
	for (uint32_t s = 0; s < t->count; s++) {
		size_t n = make_msg(buf, t->prod, s);
		if (t->blocking)
			rc = shmk_events_send(tx, buf, n, 20LL * 1000000000, NULL);
		else
			while ((rc = shmk_events_try_send(tx, buf, n, NULL)) == SHMK_EFULL)
				sched_yield();
		if (rc)
			return 12;
	}
	shmk_events_tx_close(tx);
	return 0;
}

/* Receives `total` messages, checking order per producer; returns the
 * number of problems. */
static int receive_all(struct shmk_events_rx *rx, uint32_t nprod, uint32_t per, int blocking)
{
	uint32_t next[16] = { 0 };
	uint8_t buf[256];
	int bad = 0;

	for (uint64_t got = 0; got < (uint64_t)nprod * per;) {
		size_t n;
		int rc = blocking ? shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL)
				  : shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL);
		if (rc == SHMK_EEMPTY) {
			sched_yield();
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t p, s;
		if (check_msg(buf, n, &p, &s) || p >= nprod || s != next[p]) {
			bad++;
			if (p < nprod)
				next[p] = s + 1;
		} else {
			next[p]++;
		}
		got++;
	}
	return bad;
}

static void spsc_traffic(void)
{
	struct evq q;
	uint8_t buf[256];
	size_t n;

	evq_open(&q, 0);
	/* full and empty, in one process first */
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(q.tx, buf, make_msg(buf, 0, i), NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, buf, 1, NULL), SHMK_EFULL);
	CU_ASSERT_EQUAL(receive_all(q.rx, 1, SHMK_EVENTS_QUEUE_CAP, 0), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(q.tx);
	q.tx = NULL;

	/* then between processes */
	struct traffic t = { .path = q.path, .prod = 0, .count = 20000 };
	pid_t pid = t_fork_run(sender, &t);
	CU_ASSERT_EQUAL(receive_all(q.rx, 1, t.count, 0), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	evq_close(&q, false);
}
H_REGISTER(spsc_traffic, 60, "events.spsc.fifo", "events.spsc.cached-index", "events.queue.full-empty");

static void mpsc_traffic_run(uint64_t start)
{
	char *p = new_path();
	struct shmk_events_opts o = { .blocking = true, .counter_start = start };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	enum { NP = 4, PER = 5000 };
	struct traffic t[NP];
	pid_t pids[NP];

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	for (uint32_t i = 0; i < NP; i++) {
		t[i] = (struct traffic){ .path = p, .mpsc = 1, .prod = i, .count = PER,
					 .blocking = (int)(i & 1) };
		pids[i] = t_fork_run(sender, &t[i]);
	}
	CU_ASSERT_EQUAL(receive_all(rx, NP, PER, 1), 0);
	for (int i = 0; i < NP; i++)
		CU_ASSERT_EQUAL(h_wait(pids[i], 60), 0);
	uint8_t buf[256];
	size_t n;
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->mpsc.head.v), start + (uint64_t)NP * PER);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 0);
	/* every producer row was released on close */
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++)
		CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->mpsc.producers[i].token), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

static void mpsc_traffic(void)
{
	mpsc_traffic_run(0);
}
H_REGISTER(mpsc_traffic, 90, "events.mpsc.vyukov+2", "events.mpsc.order", "events.mpsc.producer-table+2");

static void wrap(void)
{
	/* SPSC across the u64 wrap */
	uint64_t start = UINT64_MAX - 3000;
	char *p = new_path();
	struct shmk_events_opts o = { .counter_start = start };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	CU_ASSERT_EQUAL(LAYOUT(r)->hdr.counter_start, start);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	struct traffic t = { .path = p, .count = 8000 };
	pid_t pid = t_fork_run(sender, &t);
	CU_ASSERT_EQUAL(receive_all(rx, 1, t.count, 0), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->spsc.head.v), start + 8000); /* wrapped */
	CU_ASSERT(atomic_load(&LAYOUT(r)->spsc.head.v) < 8000);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	/* MPSC across the wrap */
	mpsc_traffic_run(UINT64_MAX - 7000);
}
H_REGISTER(wrap, 90, "events.queue.counter-start");

/* ------------------------------------------------------------ sizes */

static void sizes(void)
{
	struct evq q;
	struct shmk_events_sizes sz = { 0, 0 };
	uint8_t big[300] = { 0 }, small[8];
	size_t n = 0;

	evq_open(&q, 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, big, 257, &sz), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(sz.a, 256);
	CU_ASSERT_EQUAL(sz.b, 257);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, big, sizeof(big), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, big, 256, NULL), 0);
	memset(big, 7, 40);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, big, 40, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, big, sizeof(big), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 256);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, small, sizeof(small), &n, &sz), SHMK_EBUFSMALL);
	CU_ASSERT_EQUAL(sz.a, 40);
	CU_ASSERT_EQUAL(sz.b, 8);
	/* still at the head */
	memset(big, 0, sizeof(big));
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, big, sizeof(big), &n, &sz), 0);
	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT_EQUAL(big[39], 7);
	/* no free slot: EFULL too */
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS];
	for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q.tx, &all[i]), 0);
	struct shmk_events_view one;
	CU_ASSERT_EQUAL(shmk_events_reserve(q.tx, &one), SHMK_EFULL);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "z", 1, NULL), SHMK_EFULL);
	for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_cancel(q.tx, &all[i]), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "z", 1, NULL), 0);
	evq_close(&q, false);
}
H_REGISTER(sizes, 20, "events.queue.full-empty", "events.send.toolarge", "events.recv.bufsmall");

/* ------------------------------------------------------------ zero copy */

static const char *g_zc_path;

static int zc_sender(void *a)
{
	struct evq q;

	(void)a;
	if (evq_attach(&q, g_zc_path, 1))
		return 10;
	for (uint32_t s = 0; s < 3000; s++) {
		struct shmk_events_view v;
		int rc;
		while ((rc = shmk_events_reserve(q.tx, &v)) == SHMK_EFULL)
			sched_yield();
		if (rc || v.len != 256)
			return 11;
		size_t n = make_msg(v.data, 9, s);
		while ((rc = shmk_events_publish(q.tx, &v, n, NULL)) == SHMK_EFULL)
			sched_yield();
		if (rc || v.data)
			return 12;
	}
	evq_close(&q, false);
	return 0;
}

/* In one process: reservations are distinct and invisible until
 * published, a lent slot is not handed out again, and publish on a full
 * queue keeps the reservation. */
static void zc_one_process(struct evq *q)
{
	struct shmk_events_view a, b, v;

	/* two reservations are two distinct, invisible slots */
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q->tx, &a), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q->tx, &b), 0);
	CU_ASSERT_NOT_EQUAL(a.slot, b.slot);
	CU_ASSERT_EQUAL(shmk_events_recv_view(q->rx, &v), SHMK_EEMPTY);
	memcpy(b.data, "hello", 5);
	CU_ASSERT_EQUAL(shmk_events_publish(q->tx, &b, 5, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(q->rx, &v), 0);
	CU_ASSERT_EQUAL(v.len, 5);
	CU_ASSERT_EQUAL(memcmp(v.data, "hello", 5), 0);
	CU_ASSERT_EQUAL(v.slot, b.slot);
	CU_ASSERT_EQUAL(shmk_events_recv_view(q->rx, &b), SHMK_EEMPTY); /* left the queue */
	/* while lent, the slot is not handed out again */
	struct shmk_events_view c;
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q->tx, &c), 0);
	CU_ASSERT_NOT_EQUAL(c.slot, v.slot);
	CU_ASSERT_EQUAL(shmk_events_cancel(q->tx, &c), 0);
	CU_ASSERT_EQUAL(shmk_events_release(q->rx, &v), 0);
	/* publish on a full queue keeps the reservation */
	uint8_t buf[8] = { 1 };
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(q->tx, buf, 1, NULL), 0);
	memcpy(a.data, "kept", 4);
	CU_ASSERT_EQUAL(shmk_events_publish(q->tx, &a, 4, NULL), SHMK_EFULL);
	CU_ASSERT_PTR_NOT_NULL(a.data);
	size_t n;
	CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_publish(q->tx, &a, 4, NULL), 0);
	for (uint32_t i = 1; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(q->rx, &v), 0);
	CU_ASSERT_EQUAL(memcmp(v.data, "kept", 4), 0);
	CU_ASSERT_EQUAL(shmk_events_release(q->rx, &v), 0);
}

static void zerocopy(void)
{
	struct evq q;
	struct shmk_events_view v;

	evq_open(&q, 0);
	zc_one_process(&q);
	shmk_events_tx_close(q.tx);
	shmk_events_rx_close(q.rx);

	/* between processes, over the MPSC queue */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(q.r, &q.tx, &q.rx), 0);
	shmk_events_tx_close(q.tx);
	q.tx = NULL;
	g_zc_path = q.path;
	pid_t pid = t_fork_run(zc_sender, NULL);
	uint32_t next = 0;
	while (next < 3000) {
		int rc = shmk_events_recv_view(q.rx, &v);
		if (rc == SHMK_EEMPTY) {
			sched_yield();
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t pr, s;
		CU_ASSERT_EQUAL(check_msg(v.data, v.len, &pr, &s), 0);
		CU_ASSERT_EQUAL(pr, 9);
		CU_ASSERT_EQUAL(s, next);
		next = s + 1;
		CU_ASSERT_EQUAL(shmk_events_release(q.rx, &v), 0);
	}
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	evq_close(&q, false);
}
H_REGISTER(zerocopy, 60, "events.zerocopy.reserve", "events.zerocopy.publish", "events.zerocopy.view");

/* ------------------------------------------------------------ blocking */

static const char *g_blk_path;

/* Waits (bounded) until the receiver is parked, then sends one message. */
static int blk_sender(void *a)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_opts o = { .blocking = true };

	(void)a;
	if (shmk_events_open_path_with(g_blk_path, &o, &r) || shmk_events_split_spsc(r, &tx, &rx))
		return 10;
	struct shmk_events_wake *w = ev_wake_of(r);
	int64_t end = shmk_now_ns() + 20LL * 1000000000;
	while (atomic_load(&w->spsc_data.waiters) == 0) {
		if (shmk_now_ns() > end)
			return 11;
		sched_yield();
	}
	/* the receiver is parked (or about to park on the generation it read) */
	uint32_t gen = atomic_load(&w->spsc_data.gen);
	if (shmk_events_try_send(tx, "wake", 4, NULL))
		return 12;
	if (atomic_load(&w->spsc_data.gen) == gen)
		return 13; /* a waiter was registered: the send must bump gen */
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	return 0;
}

/* A fresh blocking region (*r, at g_blk_path for blk_sender) and the
 * receiving end of its SPSC queue (the sending end closed). */
static struct shmk_events_rx *blk_receiver(struct shmk_events **r)
{
	g_blk_path = new_path();
	return ev_blocking_rx(g_blk_path, r);
}

static void blocking(void)
{
	struct shmk_events *r;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx = blk_receiver(&r);
	char buf[16];
	size_t n = 0;

	/* times out on an empty queue */
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 50 * 1000000, NULL), -ETIMEDOUT);
	CU_ASSERT(shmk_now_ns() - t0 >= 50 * 1000000);
	/* woken by another process's send */
	pid_t pid = t_fork_run(blk_sender, NULL);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 30LL * 1000000000, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "wake", 4), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	shmk_events_rx_close(rx);

	/* no futex call at all while nobody waits */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_fault_set("futex:1"), 0);
	for (int i = 0; i < 3000; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 1000000000, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);

	/* without the wake section, blocking calls are refused */
	r = must_open(new_path(), NULL);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, "x", 1, 0, NULL), SHMK_EINCOMPAT);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 0, NULL), SHMK_EINCOMPAT);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

H_REGISTER(blocking, 90, "events.wake.capability", "events.wake.spin", "events.wake.park+2", "events.wake.nosyscall+2");

/* A blocking call never answers with a poll's SHMK_EEMPTY / SHMK_EFULL
 * (events.wake.no-full-empty): an empty queue and a full one wait out the
 * timeout, a zero one included, whatever the first polls found. */
static void blocking_no_full_empty(void)
{
	struct shmk_events *r;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx = blk_receiver(&r);
	char buf[16];
	size_t n = 0;

	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 0, NULL), -ETIMEDOUT);
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 2000000, NULL), -ETIMEDOUT);
	CU_ASSERT(shmk_now_ns() - t0 >= 2000000);
	shmk_events_rx_close(rx);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	uint32_t sent = 0;
	while (sent <= SHMK_EVENTS_QUEUE_CAP && shmk_events_try_send(tx, "f", 1, NULL) == 0)
		sent++;
	CU_ASSERT_EQUAL(sent, SHMK_EVENTS_QUEUE_CAP);
	t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_events_send(tx, "g", 1, 2000000, NULL), -ETIMEDOUT);
	CU_ASSERT(shmk_now_ns() - t0 >= 2000000);
	CU_ASSERT_EQUAL(shmk_events_send(tx, "g", 1, 0, NULL), -ETIMEDOUT);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(blocking_no_full_empty, 30, "events.wake.no-full-empty");

/* The blocking calls' first polls (events.wake.first-polls+2): a send with
 * space and an SPSC receive with a message queued answer without entering
 * the wait primitive (shmk_wait__until_calls does not move), and hand on
 * what they find; an empty queue still enters it, with what is left of the
 * timeout after the window (shmk_wait__until_timeout). */
static void blocking_first_polls(void)
{
	struct shmk_events *r;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx = blk_receiver(&r);
	char buf[16];
	size_t n = 0;
	struct shmk_events_sizes sz = { 0, 0 };

	shmk_events_rx_close(rx);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	uint64_t calls = shmk_wait__until_calls();
	CU_ASSERT_EQUAL(shmk_events_send(tx, "first", 5, 1000000, NULL), 0);
	CU_ASSERT_EQUAL(shmk_wait__until_calls(), calls);
	/* the receive's polls follow the spin knob (SHMK_WAIT_SPIN_NS=0: none) */
	bool polls = shmk_wait_spins();
	calls = shmk_wait__until_calls();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, 2, &n, 1000000, &sz), SHMK_EBUFSMALL);
	CU_ASSERT(sz.a == 5 && sz.b == 2);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 1000000, NULL), 0);
	CU_ASSERT(n == 5 && !memcmp(buf, "first", 5));
	CU_ASSERT_EQUAL(shmk_wait__until_calls(), polls ? calls : calls + 2);
	/* nothing queued: the polls end in the primitive, their time taken
	 * off the timeout (at least the 1 µs window; all of a 1 µs one) */
	calls = shmk_wait__until_calls();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 1000, NULL), -ETIMEDOUT);
	CU_ASSERT_EQUAL(shmk_wait__until_calls(), calls + 1);
	CU_ASSERT_EQUAL(shmk_wait__until_timeout(), polls ? 0 : 1000);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 1000000, NULL), -ETIMEDOUT);
	int64_t left = shmk_wait__until_timeout();
	CU_ASSERT(polls ? left <= 1000000 - 1000 : left == 1000000);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(blocking_first_polls, 30, "events.wake.first-polls+2");

/* INT64_MAX as a recv timeout and as the init timeout means "practically
 * forever": neither may overflow (UBSan aborts) or wrap into the past. */
static void blocking_huge_timeout(void)
{
	struct shmk_events *r;
	struct shmk_events_rx *rx = blk_receiver(&r);
	struct shmk_events_opts o = { .blocking = true, .init_timeout_ns = INT64_MAX };
	char buf[16];
	size_t n = 0;

	CU_ASSERT_EQUAL(open_in_child(g_blk_path, &o), 0);
	pid_t pid = t_fork_run(blk_sender, NULL); /* sends once we are parked */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, INT64_MAX, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(blocking_huge_timeout, 60, "common.wait.deadline");

/* ------------------------------------------------------------ no fallocate */

#if defined(__x86_64__)
#define EV_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define EV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* A filesystem without fallocate (9p, some FUSE, old NFS): fallocate(2)
 * fails with EOPNOTSUPP there, which a seccomp filter reproduces.  The
 * creator must still size the file, not map an empty one and die of
 * SIGBUS in the first store of init. */
static void reserve_nofallocate(void)
{
#ifdef EV_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EV_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fallocate, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	char *p = new_path();
	struct evq q;
	struct stat st;
	char buf[8];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CU_ASSERT_EQUAL_FATAL(fallocate(fd, 0, 0, 4096), -1);
	CU_ASSERT_EQUAL_FATAL(errno, EOPNOTSUPP); /* the filter works */
	close(fd);
	unlink(p);
	CU_ASSERT_EQUAL_FATAL(evq_attach(&q, p, 0), 0);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, SHMK_EVENTS_BASE_BYTES);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "ok", 2, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 2);
	evq_close(&q, true);
#else
	H_SKIP("seccomp arch constant unknown for this target");
#endif
}
H_REGISTER(reserve_nofallocate, 30, "events.open.reserve");
