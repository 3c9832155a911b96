/* SPDX-License-Identifier: MIT */
/* events tests: slot recycling (SPSC and MPSC), detached views, a replacer that crashes. */
#include "events_test.h"

/* ------------------------------------------------------------ slot recycling */

/* role: open argv[1] and take one SPSC (argv[2] "mpsc": MPSC) message as
 * a view; with SHMK_CRASH_AT=events.spsc.detached (events.mpsc.detached)
 * it dies between detaching the cell and freeing it */
static int role_viewer(int argc, char **argv)
{
	struct evq q;
	struct shmk_events_view v;

	if (argc < 2)
		return 2;
	if (evq_attach(&q, argv[1], argc > 2 && !strcmp(argv[2], "mpsc")))
		return 3;
	return shmk_events_recv_view(q.rx, &v) ? 5 : 0;
}
H_ROLE("viewer", role_viewer);

/* The slot index a cell holds (MPSC: the low half of its stamped slot word). */
static uint32_t cell_load(const struct evq *q, uint64_t i)
{
	return q->mpsc ? SHMK_EVENTS_SLOTW_SLOT(atomic_load(&q->l->mpsc.cells[i & 1023].slotw))
		       : atomic_load(&q->l->spsc.cells[i & 1023]);
}

/* Plays a peer that writes a cell's slot index (MPSC: the stamp kept). */
static void cell_store(const struct evq *q, uint64_t i, uint32_t v)
{
	if (q->mpsc) {
		_Atomic uint64_t *w = &q->l->mpsc.cells[i & 1023].slotw;
		atomic_store(w, SHMK_EVENTS_SLOTW(SHMK_EVENTS_SLOTW_STAMP(atomic_load(w)), v));
	} else {
		atomic_store(&q->l->spsc.cells[i & 1023], v);
	}
}

static uint64_t q_tail(const struct evq *q)
{
	return atomic_load(q->mpsc ? &q->l->mpsc.tail.v : &q->l->spsc.tail.v);
}

static uint64_t q_head(const struct evq *q)
{
	return atomic_load(q->mpsc ? &q->l->mpsc.head.v : &q->l->spsc.head.v);
}

/* Sends the one byte c and receives it back by copy. */
static void send_recv(struct evq *q, char c)
{
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(q->tx, &c, 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == (uint8_t)c);
}

/* A copy receive leaves its slot attached, held and off the free list, and
 * the sender reuses it one lap later without touching the pool. */
static void lap_reuse(struct evq *q)
{
	SHMK_ATOMIC(uint64_t) *fhp = &q->l->pool.free_head;
	uint64_t t0 = q_tail(q);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(q->tx, "a", 1, NULL), 0);
	uint32_t s0 = cell_load(q, t0);
	CU_ASSERT_FATAL(s0 < SHMK_EVENTS_SLOTS);
	uint64_t fh = atomic_load(fhp);
	uint8_t buf[256];
	size_t n = 0;
	CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'a');
	CU_ASSERT_EQUAL(atomic_load(fhp), fh);
	CU_ASSERT_EQUAL(cell_load(q, t0), s0);
	CU_ASSERT_EQUAL(atomic_load(&q->l->slots[s0].refcnt), 1);
	for (uint32_t i = 1; i < SHMK_EVENTS_QUEUE_CAP; i++)
		send_recv(q, 'x');
	fh = atomic_load(fhp);
	CU_ASSERT_EQUAL(shmk_events_try_send(q->tx, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(fhp), fh);
	CU_ASSERT_EQUAL(cell_load(q, t0), s0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'b');
}

/* A view detaches its slot from the cell first; release returns it. */
static void view_detaches(struct evq *q)
{
	struct shmk_events_view v;
	uint64_t tv = q_tail(q);

	CU_ASSERT_EQUAL(shmk_events_try_send(q->tx, "c", 1, NULL), 0);
	uint32_t sv = cell_load(q, tv);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(q->rx, &v), 0);
	CU_ASSERT_EQUAL(v.slot, sv);
	CU_ASSERT_EQUAL(cell_load(q, tv), SHMK_EVENTS_NIL);
	CU_ASSERT_EQUAL(shmk_events_release(q->rx, &v), 0);
	CU_ASSERT_EQUAL(atomic_load(&q->l->slots[sv].refcnt), 0);
}

/* Reserves every slot the pool has left (into all[], at most
 * SHMK_EVENTS_SLOTS + 1); how many. */
static uint32_t reserve_all(struct evq *q, struct shmk_events_view *all)
{
	uint32_t got = 0;

	while (got <= SHMK_EVENTS_SLOTS && shmk_events_reserve(q->tx, &all[got]) == 0)
		got++;
	return got;
}

static void cancel_all(struct evq *q, struct shmk_events_view *all, uint32_t got)
{
	for (uint32_t i = 0; i < got; i++)
		CU_ASSERT_EQUAL(shmk_events_cancel(q->tx, &all[i]), 0);
}

/* Another process takes "d" as a view and dies (crash point `point`)
 * before storing head or freeing the cell: head never moved, the cell is
 * detached, and the next receiver gets "e". */
static void dead_viewer(struct evq *q, const char *point)
{
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL(shmk_events_try_send(q->tx, "d", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(q->tx, "e", 1, NULL), 0);
	uint64_t hd = q_head(q);
	shmk_events_rx_close(q->rx);
	const char *args[] = { q->path, q->mpsc ? "mpsc" : NULL, NULL };
	pid_t pid = spawn_with_env("viewer", args, "SHMK_CRASH_AT", point);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(q_head(q), hd);
	CU_ASSERT_EQUAL(cell_load(q, hd), SHMK_EVENTS_NIL);
	struct shmk_events_tx *tx2;
	CU_ASSERT_EQUAL_FATAL((q->mpsc ? shmk_events_split_mpsc : shmk_events_split_spsc)(
				      q->r, &tx2, &q->rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'e');
	CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx2);
}

/* Copy receives until the MPSC tail cell has a slot attached. */
static void attach_tail_slot(struct evq *q)
{
	for (int k = 0; k < 2048 && cell_load(q, q_tail(q)) >= SHMK_EVENTS_SLOTS; k++)
		send_recv(q, 'y');
}

/* A fresh region's queue: no slot attached to any cell yet. */
static void open_fresh(struct evq *q, int mpsc)
{
	evq_open(q, mpsc);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(cell_load(q, i), SHMK_EVENTS_NIL);
}

static void spsc_recycle(void)
{
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS + 1];
	struct evq q;

	open_fresh(&q, 0);
	lap_reuse(&q);
	view_detaches(&q);
	/* an empty pool takes back every attached slot: all 2048 reservable */
	uint32_t got = reserve_all(&q, all);
	CU_ASSERT_EQUAL(got, SHMK_EVENTS_SLOTS);
	cancel_all(&q, all, got);
	/* events.hostile.bounds: a free cell holding a wild index */
	uint64_t t = q_tail(&q);
	cell_store(&q, t, 5000);
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "z", 1, NULL), SHMK_EINTEGRITY);
	cell_store(&q, t, SHMK_EVENTS_NIL);
	dead_viewer(&q, "events.spsc.detached");
	evq_close(&q, true);
}
H_REGISTER(spsc_recycle, 30, "events.spsc.recycle", "events.spsc.detached-skip");

/* Pool empty and no slot at the tail cells: 4 holes, then SHMK_EFULL; the
 * consumer steps over the holes. */
static void mpsc_holes(struct evq *q, struct shmk_events_view *all)
{
	struct shmk_events_layout *l = q->l;
	uint8_t buf[256];
	size_t n = 0;
	uint32_t got = reserve_all(q, all);

	CU_ASSERT_EQUAL(got, SHMK_EVENTS_SLOTS);
	uint64_t th = q_tail(q);
	CU_ASSERT_EQUAL(shmk_events_try_send(q->tx, "z", 1, NULL), SHMK_EFULL);
	CU_ASSERT_EQUAL(q_tail(q), th + 4);
	for (uint64_t k = th; k < th + 4; k++) {
		CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[k & 1023].seq), k + 1); /* published */
		CU_ASSERT_EQUAL(cell_load(q, k), SHMK_EVENTS_NIL);
	}
	/* (the reservation that found the pool empty published 4 holes too,
	 * events.mpsc.steal; a receive steps over at most 3) */
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(q_head(q), th + 4);
	cancel_all(q, all, got);
}

/* A reservation published over an attached slot frees that slot. */
static void mpsc_replace(struct evq *q)
{
	struct shmk_events_view v;
	uint8_t buf[256];
	size_t n = 0;
	uint64_t t = q_tail(q);
	uint32_t sa = cell_load(q, t);

	CU_ASSERT_FATAL(sa < SHMK_EVENTS_SLOTS);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q->tx, &v), 0);
	uint32_t sr = v.slot;
	CU_ASSERT_EQUAL(shmk_events_publish(q->tx, &v, 3, NULL), 0);
	CU_ASSERT_EQUAL(cell_load(q, t), sr);
	CU_ASSERT_EQUAL(atomic_load(&q->l->slots[sa].refcnt), 0);	/* back in the pool */
	CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 3);
}

/* Steal: with the pool empty a reservation takes the tail cell's slot and
 * publishes the cell as a hole; dry return: a copy receive with the pool
 * empty gives its slot back. */
static void mpsc_steal(struct evq *q, struct shmk_events_view *all)
{
	SHMK_ATOMIC(uint64_t) *fhp = &q->l->pool.free_head;

	attach_tail_slot(q);
	uint64_t t = q_tail(q);
	uint32_t st = cell_load(q, t), sn = cell_load(q, t + 1);
	CU_ASSERT_FATAL(st < SHMK_EVENTS_SLOTS && sn < SHMK_EVENTS_SLOTS);
	uint32_t got = 0;
	while ((uint32_t)atomic_load(fhp) != SHMK_EVENTS_NIL && got < SHMK_EVENTS_SLOTS)
		CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q->tx, &all[got++]), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(q->tx, &all[got]), 0);
	CU_ASSERT_EQUAL(all[got].slot, st);
	got++;
	CU_ASSERT_EQUAL(q_tail(q), t + 1);
	CU_ASSERT_EQUAL(atomic_load(&q->l->mpsc.cells[t & 1023].seq), t + 1);
	CU_ASSERT_EQUAL(cell_load(q, t), SHMK_EVENTS_NIL);
	send_recv(q, 'q'); /* reuses sn */
	CU_ASSERT_EQUAL((uint32_t)atomic_load(fhp), sn);
	CU_ASSERT_EQUAL(cell_load(q, t + 1), SHMK_EVENTS_NIL);
	cancel_all(q, all, got);
}

static void mpsc_recycle(void)
{
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS + 1];
	struct evq q;

	open_fresh(&q, 1);
	mpsc_holes(&q, all);
	lap_reuse(&q);
	view_detaches(&q);
	mpsc_replace(&q);
	mpsc_steal(&q, all);
	dead_viewer(&q, "events.mpsc.detached");
	evq_close(&q, true);
}
H_REGISTER(mpsc_recycle, 30, "events.mpsc.recycle", "events.mpsc.hole", "events.mpsc.steal", "events.pool.dry-return", "events.mpsc.detached-skip");

/* role: open argv[1], reserve an MPSC slot and publish it; with
 * SHMK_CRASH_AT=events.mpsc.replaced it dies after the reservation
 * replaced the slot attached to its cell, before that slot is pushed */
static int role_replacer(int argc, char **argv)
{
	struct evq q;
	struct shmk_events_view v;

	if (argc < 2)
		return 2;
	if (evq_attach(&q, argv[1], 1))
		return 3;
	if (shmk_events_reserve(q.tx, &v))
		return 5;
	memcpy(v.data, "rep", 3);
	return shmk_events_publish(q.tx, &v, 3, NULL) ? 6 : 0;
}
H_ROLE("replacer", role_replacer);

/* models/mpsc.pml found it: a producer killed while its reservation
 * replaces the cell's attached slot must not leave that slot both in the
 * pool and attached (the consumer skips the dead cell, the next lap's
 * producer reuses the attached slot while the pool hands it out too) */
static void mpsc_replace_crash(void)
{
	struct evq q;

	evq_open(&q, 1);
	struct shmk_events_layout *l = q.l;
	/* one lap of copy receives: the tail cell gets a slot attached */
	attach_tail_slot(&q);
	uint64_t t = q_tail(&q);
	uint32_t sa = cell_load(&q, t);
	CU_ASSERT_FATAL(sa < SHMK_EVENTS_SLOTS);
	CU_ASSERT_EQUAL_FATAL(atomic_load(&l->slots[sa].refcnt), 1);
	shmk_events_tx_close(q.tx);
	q.tx = NULL;
	const char *args[] = { q.path, NULL };
	pid_t pid = spawn_with_env("replacer", args, "SHMK_CRASH_AT", "events.mpsc.replaced");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(q_tail(&q), t + 1);	/* it claimed the cell */
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t & 1023].seq), t); /* unpublished */
	uint32_t now = cell_load(&q, t);
	uint32_t ref = atomic_load(&l->slots[sa].refcnt);
	/* never both: attached to the cell and free in the pool */
	CU_ASSERT(!(now == sa && ref == 0));
	CU_ASSERT(now != sa && now < SHMK_EVENTS_SLOTS);	/* the cell names the reservation */
	CU_ASSERT_EQUAL(ref, 1);				/* sa is lost, not free */
	evq_close(&q, true);
}
H_REGISTER(mpsc_replace_crash, 30, "events.mpsc.recycle", "events.pool.dead-holder");
