/* SPDX-License-Identifier: MIT */
/* events tests: hostile bytes in the shared region, and truncation of the file. */
#include "events_test.h"

/* ------------------------------------------------------------ hostile bytes */

static void hostile(void)
{
	struct evq q;
	struct shmk_events_view v, v2;
	uint8_t buf[256];
	size_t n;

	evq_open(&q, 0);
	struct shmk_events_layout *l = q.l;
	/* slot index out of range */
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "a", 1, NULL), 0);
	uint64_t h = atomic_load(&l->spsc.head.v);
	uint32_t saved = atomic_load(&l->spsc.cells[h & 1023]);
	atomic_store(&l->spsc.cells[h & 1023], 5000);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.cells[h & 1023], saved);
	/* length out of range */
	atomic_store(&l->slots[saved].len, 300);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->slots[saved].len, 1);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), 0);
	/* impossible counters */
	uint64_t t = atomic_load(&l->spsc.tail.v);
	atomic_store(&l->spsc.tail.v, t + 5000);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.tail.v, t);
	shmk_events_tx_close(q.tx);
	shmk_events_rx_close(q.rx);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(q.r, &q.tx, &q.rx), 0);
	atomic_store(&l->spsc.head.v, t - 5000);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "a", 1, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.head.v, t);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "a", 1, NULL), 0);
	/* MPSC: tail far ahead of head, cell sequence from another lap */
	struct shmk_events_tx *ptx;
	struct shmk_events_rx *crx;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(q.r, &ptx, &crx), 0);
	uint64_t mt = atomic_load(&l->mpsc.tail.v);
	atomic_store(&l->mpsc.tail.v, mt + 4000);
	/* tail is read after at most 64 polls (events.mpsc.idle-polls), and checked then */
	int rc, polls = 0;
	while ((rc = shmk_events_try_recv(crx, buf, sizeof(buf), &n, NULL)) == SHMK_EEMPTY &&
	       ++polls <= 64)
		;
	CU_ASSERT_EQUAL(rc, SHMK_EINTEGRITY);
	atomic_store(&l->mpsc.tail.v, mt);
	atomic_store(&l->mpsc.cells[mt & 1023].seq, mt + 77);
	CU_ASSERT_EQUAL(shmk_events_try_recv(crx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->mpsc.cells[mt & 1023].seq, mt);
	CU_ASSERT_EQUAL(shmk_events_try_send(ptx, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(crx, buf, sizeof(buf), &n, NULL), 0);
	shmk_events_tx_close(ptx);
	shmk_events_rx_close(crx);
	/* free-list head out of range */
	uint64_t fh = atomic_load(&l->pool.free_head);
	atomic_store(&l->pool.free_head, (fh & ~0xffffffffULL) | 9999);
	CU_ASSERT_EQUAL(shmk_events_reserve(q.tx, &v), SHMK_EINTEGRITY);
	atomic_store(&l->pool.free_head, fh);

	/* ABA: a head popped and pushed back carries a new generation */
	uint64_t h0 = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q.tx, &v), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q.tx, &v2), 0);
	CU_ASSERT_EQUAL(shmk_events_cancel(q.tx, &v), 0);
	uint64_t h1 = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL((uint32_t)h1, (uint32_t)h0);	/* same index on top ... */
	CU_ASSERT_EQUAL(h1 >> 32, (h0 >> 32) + 3);	/* ... another generation */
	CU_ASSERT_EQUAL(shmk_events_cancel(q.tx, &v2), 0);
	/* the 32-bit generation wraps without touching the index */
	uint64_t top = atomic_load(&l->pool.free_head);
	atomic_store(&l->pool.free_head, (0xffffffffULL << 32) | (uint32_t)top);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q.tx, &v), 0);
	CU_ASSERT_EQUAL(v.slot, (uint32_t)top);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head) >> 32, 0);
	CU_ASSERT_EQUAL(shmk_events_cancel(q.tx, &v), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), (1ULL << 32) | (uint32_t)top);

	/* double release */
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "c", 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(q.rx, &v), 0);
	v2 = v;
	CU_ASSERT_EQUAL(shmk_events_release(q.rx, &v), 0);
	uint64_t before = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_release(q.rx, &v2), SHMK_EINTEGRITY);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), before);
	evq_close(&q, false);
}
H_REGISTER(hostile, 30, "events.hostile.bounds", "events.hostile.counters", "events.pool.aba", "events.pool.double-release");

/* ------------------------------------------------------------ truncation */

static void truncated(void)
{
	char *p = new_path();
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx, *prod;
	struct shmk_events_rx *rx, *cons;
	char buf[16];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &prod, &cons), 0);
	/* the whole file is there: every check says so */
	CU_ASSERT_EQUAL(shmk_events_check(r), 0);
	CU_ASSERT_EQUAL(shmk_events_tx_check(tx), 0);
	CU_ASSERT_EQUAL(shmk_events_rx_check(rx), 0);
	CU_ASSERT_EQUAL(shmk_events_check(NULL), -EINVAL);
	/* claims (one fstat each), then the hot path makes no fstat at all */
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(shmk_fault_set("fstat:1"), 0);
	for (int i = 0; i < 2000; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);

	/* parked in recv on the empty queue when a peer cuts everything but
	 * the header page: the wait wakes within its slice and reports it */
	pid_t pid = t_fork_truncator(p, 4096);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 120LL * 1000000000, NULL),
			SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_check(r), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_tx_check(tx), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_rx_check(cons), SHMK_ETRUNCATED);
	/* the blocking sender checks before it parks too (the queue is cut,
	 * so only a full queue could reach the park: an MPSC producer's
	 * first operation is its claim, which checks) */
	CU_ASSERT_EQUAL(shmk_events_try_send(prod, "x", 1, NULL), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_send(prod, "x", 1, 0, NULL), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_try_recv(cons, buf, sizeof(buf), &n, NULL), SHMK_ETRUNCATED);
	struct shmk_events_tx *t2;
	struct shmk_events_rx *r2;
	CU_ASSERT_EQUAL(shmk_events_split_spsc(r, &t2, &r2), SHMK_ETRUNCATED);
	/* with the header gone too, closing claimed handles touches nothing */
	CU_ASSERT_EQUAL(truncate(p, 0), 0);
	CU_ASSERT_EQUAL(shmk_events_check(r), SHMK_ETRUNCATED);
	/* closes say what they could not undo (the role words stay) */
	CU_ASSERT_EQUAL(shmk_events_tx_close(tx), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_rx_close(rx), SHMK_ETRUNCATED);
	shmk_events_tx_close(prod);
	shmk_events_rx_close(cons);
	CU_ASSERT_EQUAL(shmk_events_close(r), 0);
	CU_ASSERT_EQUAL(mapped(p), 0);
	unlink(p);
}
H_REGISTER(truncated, 120, "events.truncate.check", "events.truncate.claim", "events.truncate.wait", "events.truncate.close", "events.truncate.hot-path", "events.split.truncated");
