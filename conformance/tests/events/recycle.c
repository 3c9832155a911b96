/* SPDX-License-Identifier: MIT */
/* events tests: slot recycling (SPSC and MPSC), detached views, a replacer that crashes. */
#include "events_test.h"

/* ------------------------------------------------------------ slot recycling */

/* role: open argv[1] and take one SPSC (argv[2] "mpsc": MPSC) message as
 * a view; with SHMK_CRASH_AT=events.spsc.detached (events.mpsc.detached)
 * it dies between detaching the cell and freeing it */
static int role_viewer(int argc, char **argv)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;

	if (argc < 2)
		return 2;
	if (shmk_events_open_path(argv[1], &r))
		return 3;
	bool mpsc = argc > 2 && !strcmp(argv[2], "mpsc");
	if ((mpsc ? shmk_events_split_mpsc : shmk_events_split_spsc)(r, &tx, &rx))
		return 4;
	return shmk_events_recv_view(rx, &v) ? 5 : 0;
}
H_ROLE("viewer", role_viewer);

static void spsc_recycle(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS + 1];
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	/* a fresh region attaches no slot to any cell */
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(atomic_load(&l->spsc.cells[i]), SHMK_EVENTS_NIL);
	uint64_t t0 = atomic_load(&l->spsc.tail.v);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	uint32_t s0 = atomic_load(&l->spsc.cells[t0 & 1023]);
	CU_ASSERT_FATAL(s0 < SHMK_EVENTS_SLOTS);
	uint64_t fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'a');
	/* received by copy: still attached, held, off the free list */
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[t0 & 1023]), s0);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[s0].refcnt), 1);
	for (uint32_t i = 1; i < SHMK_EVENTS_QUEUE_CAP; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	/* one lap later the sender reuses s0 without touching the pool */
	fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[t0 & 1023]), s0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'b');
	/* a view detaches its slot first; release returns it to the pool */
	uint64_t tv = atomic_load(&l->spsc.tail.v);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "c", 1, NULL), 0);
	uint32_t sv = atomic_load(&l->spsc.cells[tv & 1023]);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(rx, &v), 0);
	CU_ASSERT_EQUAL(v.slot, sv);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[tv & 1023]), SHMK_EVENTS_NIL);
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[sv].refcnt), 0);
	/* an empty pool takes back every attached slot: all 2048 reservable */
	uint32_t got = 0;
	while (got <= SHMK_EVENTS_SLOTS && shmk_events_reserve(tx, &all[got]) == 0)
		got++;
	CU_ASSERT_EQUAL(got, SHMK_EVENTS_SLOTS);
	for (uint32_t i = 0; i < got; i++)
		CU_ASSERT_EQUAL(shmk_events_cancel(tx, &all[i]), 0);
	/* events.hostile.bounds: a free cell holding a wild index */
	uint64_t t = atomic_load(&l->spsc.tail.v);
	atomic_store(&l->spsc.cells[t & 1023], 5000);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "z", 1, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.cells[t & 1023], SHMK_EVENTS_NIL);

	/* another process takes "d" as a view and dies before storing head */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "d", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "e", 1, NULL), 0);
	uint64_t hd = atomic_load(&l->spsc.head.v);
	shmk_events_rx_close(rx);
	const char *args[] = { p, NULL };
	pid_t pid = spawn_with_env("viewer", args, "SHMK_CRASH_AT", "events.spsc.detached");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.head.v), hd); /* it never moved head */
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[hd & 1023]), SHMK_EVENTS_NIL);
	struct shmk_events_tx *tx2;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx2, &rx), 0);
	/* "d" was delivered to the dead viewer: the next receiver gets "e" */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'e');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx2);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(spsc_recycle, 30, "events.spsc.recycle", "events.spsc.detached-skip");

static void mpsc_recycle(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS + 1];
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[i].slotw)), SHMK_EVENTS_NIL);
	/* pool empty and no slot at the tail cells: 4 holes, then SHMK_EFULL;
	 * the consumer steps over the holes */
	uint32_t got = 0;
	while (got <= SHMK_EVENTS_SLOTS && shmk_events_reserve(tx, &all[got]) == 0)
		got++;
	CU_ASSERT_EQUAL(got, SHMK_EVENTS_SLOTS);
	uint64_t th = atomic_load(&l->mpsc.tail.v);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "z", 1, NULL), SHMK_EFULL);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.tail.v), th + 4);
	for (uint64_t k = th; k < th + 4; k++) {
		CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[k & 1023].seq), k + 1); /* published */
		CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[k & 1023].slotw)), SHMK_EVENTS_NIL);
	}
	/* (the reservation that found the pool empty published 4 holes too,
	 * events.mpsc.steal; a receive steps over at most 3) */
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.head.v), th + 4);
	for (uint32_t i = 0; i < got; i++)
		CU_ASSERT_EQUAL(shmk_events_cancel(tx, &all[i]), 0);
	uint64_t t0 = atomic_load(&l->mpsc.tail.v);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	uint32_t s0 = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t0 & 1023].slotw));
	CU_ASSERT_FATAL(s0 < SHMK_EVENTS_SLOTS);
	uint64_t fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'a');
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t0 & 1023].slotw)), s0);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[s0].refcnt), 1);
	for (uint32_t i = 1; i < SHMK_EVENTS_QUEUE_CAP; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	/* the producer claiming the cell next lap reuses s0, pool untouched */
	fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t0 & 1023].slotw)), s0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'b');
	/* a view detaches first */
	uint64_t tv = atomic_load(&l->mpsc.tail.v);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "c", 1, NULL), 0);
	uint32_t sv = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[tv & 1023].slotw));
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(rx, &v), 0);
	CU_ASSERT_EQUAL(v.slot, sv);
	CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[tv & 1023].slotw)), SHMK_EVENTS_NIL);
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	/* a reservation published over an attached slot frees that slot */
	uint64_t t = atomic_load(&l->mpsc.tail.v);
	uint32_t sa = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t & 1023].slotw));
	CU_ASSERT_FATAL(sa < SHMK_EVENTS_SLOTS);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &v), 0);
	uint32_t sr = v.slot;
	CU_ASSERT_EQUAL(shmk_events_publish(tx, &v, 3, NULL), 0);
	CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t & 1023].slotw)), sr);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[sa].refcnt), 0);	/* back in the pool */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 3);

	/* steal: with the pool empty a reservation takes the tail cell's slot
	 * and publishes the cell as a hole */
	for (int k = 0; k < 2048 && SHMK_EVENTS_SLOTW_SLOT(atomic_load(
				     &l->mpsc.cells[atomic_load(&l->mpsc.tail.v) & 1023].slotw)) >=
				     SHMK_EVENTS_SLOTS;
	     k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "y", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	t = atomic_load(&l->mpsc.tail.v);
	uint32_t st = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t & 1023].slotw));
	uint32_t sn = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[(t + 1) & 1023].slotw));
	CU_ASSERT_FATAL(st < SHMK_EVENTS_SLOTS && sn < SHMK_EVENTS_SLOTS);
	got = 0;
	while ((uint32_t)atomic_load(&l->pool.free_head) != SHMK_EVENTS_NIL && got < SHMK_EVENTS_SLOTS)
		CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &all[got++]), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &all[got]), 0);
	CU_ASSERT_EQUAL(all[got].slot, st);
	got++;
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.tail.v), t + 1);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t & 1023].seq), t + 1);
	CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t & 1023].slotw)), SHMK_EVENTS_NIL);
	/* dry return: a copy receive with the pool empty gives the slot back */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "q", 1, NULL), 0); /* reuses sn */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'q');
	CU_ASSERT_EQUAL((uint32_t)atomic_load(&l->pool.free_head), sn);
	CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[(t + 1) & 1023].slotw)), SHMK_EVENTS_NIL);
	for (uint32_t i = 0; i < got; i++)
		CU_ASSERT_EQUAL(shmk_events_cancel(tx, &all[i]), 0);

	/* another process takes "d" as a view and dies before freeing the cell */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "d", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "e", 1, NULL), 0);
	uint64_t hd = atomic_load(&l->mpsc.head.v);
	shmk_events_rx_close(rx);
	const char *args[] = { p, "mpsc", NULL };
	pid_t pid = spawn_with_env("viewer", args, "SHMK_CRASH_AT", "events.mpsc.detached");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.head.v), hd);
	CU_ASSERT_EQUAL(SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[hd & 1023].slotw)), SHMK_EVENTS_NIL);
	struct shmk_events_tx *tx2;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx2, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'e');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx2);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(mpsc_recycle, 30, "events.mpsc.recycle", "events.mpsc.hole", "events.mpsc.steal", "events.pool.dry-return", "events.mpsc.detached-skip");

/* role: open argv[1], reserve an MPSC slot and publish it; with
 * SHMK_CRASH_AT=events.mpsc.replaced it dies after the reservation
 * replaced the slot attached to its cell, before that slot is pushed */
static int role_replacer(int argc, char **argv)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;

	if (argc < 2)
		return 2;
	if (shmk_events_open_path(argv[1], &r))
		return 3;
	if (shmk_events_split_mpsc(r, &tx, &rx))
		return 4;
	if (shmk_events_reserve(tx, &v))
		return 5;
	memcpy(v.data, "rep", 3);
	return shmk_events_publish(tx, &v, 3, NULL) ? 6 : 0;
}
H_ROLE("replacer", role_replacer);

/* models/mpsc.pml found it: a producer killed while its reservation
 * replaces the cell's attached slot must not leave that slot both in the
 * pool and attached (the consumer skips the dead cell, the next lap's
 * producer reuses the attached slot while the pool hands it out too) */
static void mpsc_replace_crash(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	/* one lap of copy receives: the tail cell gets a slot attached */
	for (int k = 0; k < 2048 && SHMK_EVENTS_SLOTW_SLOT(atomic_load(
				     &l->mpsc.cells[atomic_load(&l->mpsc.tail.v) & 1023].slotw)) >=
				     SHMK_EVENTS_SLOTS;
	     k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "y", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	uint64_t t = atomic_load(&l->mpsc.tail.v);
	uint32_t sa = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t & 1023].slotw));
	CU_ASSERT_FATAL(sa < SHMK_EVENTS_SLOTS);
	CU_ASSERT_EQUAL_FATAL(atomic_load(&l->slots[sa].refcnt), 1);
	shmk_events_tx_close(tx);
	const char *args[] = { p, NULL };
	pid_t pid = spawn_with_env("replacer", args, "SHMK_CRASH_AT", "events.mpsc.replaced");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.tail.v), t + 1);	/* it claimed the cell */
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t & 1023].seq), t); /* unpublished */
	uint32_t now = SHMK_EVENTS_SLOTW_SLOT(atomic_load(&l->mpsc.cells[t & 1023].slotw));
	uint32_t ref = atomic_load(&l->slots[sa].refcnt);
	/* never both: attached to the cell and free in the pool */
	CU_ASSERT(!(now == sa && ref == 0));
	CU_ASSERT(now != sa && now < SHMK_EVENTS_SLOTS);	/* the cell names the reservation */
	CU_ASSERT_EQUAL(ref, 1);				/* sa is lost, not free */
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(mpsc_replace_crash, 30, "events.mpsc.recycle", "events.pool.dead-holder");
