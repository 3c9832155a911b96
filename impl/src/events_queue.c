/* SPDX-License-Identifier: MIT */
/*
 * events_queue.c - the events region's data paths: the slot pool, the SPSC
 * and MPSC queues and their wakers (the region, its handles and roles are
 * in events.c, the blocking calls in events_blocking.c).
 *
 * Algorithms, in one paragraph each:
 *
 *  - Pool: a Treiber free list whose head is a u64 (generation << 32 |
 *    index); every pop and push bumps the generation, so a head that was
 *    popped and pushed back between our load and our CAS no longer matches
 *    (ABA).  Slots carry refcnt 0/1 so a double release is caught.
 *    Slots recycle through the queue cells: a copying receive leaves the
 *    slot attached to its cell and the sender that next writes that cell
 *    reuses it, so the free list is not touched per message (its head
 *    would bounce between the two cores twice a message).  Views detach
 *    their slot; an empty pool gets slots back (SPSC sender: detach the
 *    free cells; MPSC reservation: claim a cell, take its slot, publish a
 *    hole; receivers: return what they read while the pool is dry).
 *
 *  - SPSC: a Lamport ring of u32 slot indices with u64 head/tail on their
 *    own cache lines; each side caches the other's index and only re-reads
 *    it when the cached value says full/empty (liburing / libbpf style).
 *    The sender stores last, after tail, the message's position + 1 in its
 *    slot's seq word (capability SHMK_EVENTS_CAP_SEQ): the receiver polls
 *    the slot its head cell names (the slot stays attached to the cell,
 *    so the cell line is only read) and takes the message when seq says
 *    so, one line a message where tail and then the slot cost two
 *    dependent misses; tail is read only when the cell names no slot or
 *    one carrying neither this lap's seq nor the last lap's.
 *
 *  - MPSC: Vyukov's bounded queue (per-cell sequence numbers).  A producer
 *    claims a position with one CAS on tail and publishes with a CAS on the
 *    cell's sequence.  Before the claim it records the position in its row
 *    of the producer table (intent), so a consumer that finds a claimed but
 *    unpublished cell for SHMK_LIVENESS_MS can tell whether a live process
 *    could still publish it; if not, it frees the cell with a CAS on the
 *    sequence (Aeron's unblock).  The publish CAS makes "skip" and "publish"
 *    mutually exclusive.  A consumer that keeps up reads only the head
 *    cell: tail and the clock are looked at after 64 polls of an
 *    unpublished cell (events.mpsc.idle-polls).
 *
 *  - MPSC lanes (capability SHMK_EVENTS_CAP_LANES, a section appended after
 *    the v1 layout): each producer row owns a lane (128 cells for rows
 *    0-3, the first producers' rows, and 8 for the others) that its
 *    producer sends into exactly as the SPSC sender does (ring_* below, no
 *    locked RMW per message), then rings its bit of a 64-bit doorbell only
 *    when it reads it clear.  The consumer serves the rung lanes in turn,
 *    clears a lane's bit after 1024 empty looks and looks once more, and on
 *    every empty poll sweeps one more lane whatever its bit says (the
 *    producer's bit read is not fenced, so a ring can be lost; so can one
 *    of a producer that died before it).  A dead producer's lane stays as
 *    it was: a new holder of the row resumes it and announces what was
 *    counted but not announced, or the consumer adopts the row to do so.
 *
 *  - Waiting: a capability-gated wake section holds, per direction, a futex
 *    generation word and a waiter announcement, used by wait.c's eventcount
 *    in its announced mode: a waker fences and loads the announcement, and
 *    only an announced waiter costs it a bump and a futex_wake, so the
 *    non-blocking path makes no syscall and no locked RMW.
 */
#include "shmkit/events.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "wait.h"
#include "events_int.h"

/* The SPSC fast paths are a handful of loads and stores: forced inline into
 * the exported call (try_send / try_recv / recv_view / publish), they cost
 * no call of their own; the cold paths (pool, MPSC stalls) stay calls. */
#define EV_HOT static inline __attribute__((always_inline))

/* ------------------------------------------------------------ wake */

/* r[impl events.wake.nosyscall+2] after the caller's publish: the fence,
 * then one load per word when nobody announced */
static __attribute__((noinline)) void wake_data_in(struct shmk_events_wake *wk, int kind)
{
	shmk_wait_fence();
	struct shmk_wait w = ev_wait(kind == EV_SPSC ? &wk->spsc_data : &wk->mpsc_data);
	shmk_wait_wake(&w);
}

/* Inline, the test of the capability alone: a region without the wake
 * section costs its spinning send no frame for the wait's arguments. */
static inline void wake_data(struct ev_map *m, int kind)
{
	struct shmk_events_wake *wk = W(m);

	if (wk)
		wake_data_in(wk, kind);
}

/* r[impl events.spsc.reclaim-announce+4] r[impl events.mpsc.lane-takeover+4]
 * Announces the message at tail - 1 of a ring of cap cells in slot s,
 * which its cell named when read: true when done.  A sender that died
 * between its tail and seq stores left exactly "a lap ago", (uint32_t)
 * (tail - cap) (events.spsc.slot-seq+2); anything else means the message
 * was announced, or the receiver took it meanwhile and s went by the pool
 * to another ring, whose message a plain store would hide for good.
 * release: pairs with the acquire loads of seq in ring_look */
static bool ev_announce_cas(struct shmk_events_layout *l, uint32_t s, uint64_t tail, uint32_t cap)
{
	uint32_t lap = (uint32_t)(tail - cap);

	SHMK_CRASH_POINT("events.announcing");
	return atomic_compare_exchange_strong_explicit(&l->slots[s].seq, &lap, (uint32_t)tail,
						       memory_order_release, memory_order_relaxed);
}

/* r[impl events.spsc.reclaim-announce+4] a predecessor that died between
 * its tail and seq stores left the message at tail - 1 whole but
 * unannounced, and no receiver takes it before its seq: announce it (the
 * same value again if it was announced), then wake like a send - the
 * receiver may have parked on that message, and the successor's first call
 * need not be a send that wakes (a reserve, a send that fails). */
void shmk_ev_spsc_announce(struct shmk_events_tx *tx, uint64_t tail)
{
	struct shmk_events_layout *l = L(tx->m);

	if (!(tx->m->caps & SHMK_EVENTS_CAP_SEQ))
		return;
	uint32_t s = SHMK_LOAD_U32(&l->spsc.cells[(tail - 1) & EV_MASK]);
	if (s >= SHMK_EVENTS_SLOTS || !ev_announce_cas(l, s, tail, SHMK_EVENTS_QUEUE_CAP))
		return;
	wake_data(tx->m, EV_SPSC);
}

/* A freed cell or slot may unblock either queue's senders (the pool is shared). */
static __attribute__((noinline)) void wake_space_in(struct shmk_events_wake *wk)
{
	shmk_wait_fence();
	struct shmk_wait w = ev_wait(&wk->spsc_space);
	shmk_wait_wake(&w);
	w = ev_wait(&wk->mpsc_space);
	shmk_wait_wake(&w);
}

/* Inline, the test alone (as wake_data) */
static inline void wake_space(struct ev_map *m)
{
	struct shmk_events_wake *wk = W(m);

	if (wk)
		wake_space_in(wk);
}

/* ------------------------------------------------------------ pool */

/* r[impl events.pool.aba] r[impl events.pool.dead-holder] */
static int pool_pop(struct ev_map *m, uint32_t *idx_out)
{
	struct shmk_events_layout *l = L(m);
	/* acquire: pairs with the release CAS of free_head in pool_push */
	uint64_t h = SHMK_LOAD_ACQ_U64(&l->pool.free_head);

	for (int i = 0; i < EV_CAS_TRIES; i++) {
		uint32_t idx = (uint32_t)h;
		if (idx == SHMK_EVENTS_NIL)
			return SHMK_FAIL(SHMK_EFULL);
		/* r[impl events.hostile.bounds] */
		if (idx >= SHMK_EVENTS_SLOTS)
			return shmk_fail(SHMK_EINTEGRITY, "events: free head %u out of range", idx);
		uint32_t next = SHMK_LOAD_U32(&l->slots[idx].next_free);
		if (next != SHMK_EVENTS_NIL && next >= SHMK_EVENTS_SLOTS) {
			uint64_t again = SHMK_LOAD_ACQ_U64(&l->pool.free_head);
			if (again == h)
				return shmk_fail(SHMK_EINTEGRITY, "events: next_free %u out of range",
						 next);
			h = again;
			continue;
		}
		uint64_t nh = (((h >> 32) + 1) << 32) | next;
		/* acq_rel: the success acquires the pusher's next_free store */
		if (atomic_compare_exchange_weak_explicit(&l->pool.free_head, &h, nh,
							  memory_order_acq_rel,
							  memory_order_acquire)) {
			/* relaxed: only the holder reads it (pool_push's CAS);
			 * the queue's release publishes the slot to a receiver */
			atomic_store_explicit(&l->slots[idx].refcnt, 1, memory_order_relaxed);
			*idx_out = idx;
			return 0;
		}
	}
	return SHMK_FAIL(SHMK_EFULL);
}

static int pool_push(struct ev_map *m, uint32_t idx)
{
	struct shmk_events_layout *l = L(m);

	if (idx >= SHMK_EVENTS_SLOTS)
		return shmk_fail(SHMK_EINTEGRITY, "events: slot %u out of range", idx);
	struct shmk_events_slot *s = &l->slots[idx];
	uint32_t one = 1;
	/* r[impl events.pool.double-release] */
	/* relaxed: the release CAS of free_head below publishes the slot */
	if (!atomic_compare_exchange_strong_explicit(&s->refcnt, &one, 0, memory_order_relaxed,
						     memory_order_relaxed))
		return shmk_fail(SHMK_EINTEGRITY, "events: slot %u released twice", idx);
	uint64_t h = SHMK_LOAD_U64(&l->pool.free_head);
	for (int i = 0; i < EV_CAS_TRIES * 16; i++) {
		/* relaxed: published by the release CAS right below */
		atomic_store_explicit(&s->next_free, (uint32_t)h, memory_order_relaxed);
		uint64_t nh = (((h >> 32) + 1) << 32) | idx;
		/* release: pairs with the acquire load/CAS of free_head in pool_pop */
		if (atomic_compare_exchange_weak_explicit(&l->pool.free_head, &h, nh,
							  memory_order_release,
							  memory_order_relaxed))
			return 0;
	}
	return shmk_fail(SHMK_EINTEGRITY, "events: free list contended beyond bound");
}

/* ------------------------------------------------------------ enqueue */

/* A sender's ring: the SPSC queue, or the lane of an MPSC producer's row
 * in a region with SHMK_EVENTS_CAP_LANES (r[impl events.mpsc.lane+2]: the
 * same single-writer ring, 128 or 8 cells).  Built where the kind is
 * known, so the inlined SPSC path folds the constants. */
struct ev_ring {
	struct shmk_events_layout *l;	/* the region's layout (its slots) */
	_Atomic uint32_t *cells;
	_Atomic uint64_t *tail, *head;
	uint64_t cap;
	int lane;			/* the lane's row, -1 for the SPSC queue */
};

EV_HOT struct ev_ring spsc_ring_of(struct shmk_events_layout *l)
{
	struct shmk_events_spsc *q = &l->spsc;

	return (struct ev_ring){ l, q->cells, &q->tail.v, &q->head.v, SHMK_EVENTS_QUEUE_CAP, -1 };
}

EV_HOT struct ev_ring spsc_ring(struct ev_map *m)
{
	return spsc_ring_of(L(m));
}

EV_HOT struct ev_ring lane_ring(struct ev_map *m, uint32_t i)
{
	struct shmk_events_lane *ln = &LN(m)->lanes[i];

	return (struct ev_ring){ L(m), lane_cells(m, i), &ln->tail.v, &ln->head.v, lane_cap(i),
				 (int)i };
}

EV_HOT struct ev_ring tx_ring(struct shmk_events_tx *tx)
{
	return tx->kind == EV_SPSC ? spsc_ring(tx->m) : lane_ring(tx->m, tx->prod);
}

/* r[impl events.spsc.cached-index] */
EV_HOT int ring_space(struct shmk_events_tx *tx, struct ev_ring rg)
{
	uint64_t t = tx->tail;

	if (SHMK_LIKELY(t - tx->head_cache < rg.cap))
		return 0;
	/* acquire: pairs with the release store of head in rx_advance */
	uint64_t h = SHMK_LOAD_ACQ_U64(rg.head);
	/* r[impl events.hostile.counters] */
	if (t - h > rg.cap)
		return shmk_fail(SHMK_EINTEGRITY, "events: %s tail - head > capacity",
				 tx->kind == EV_SPSC ? "spsc" : "lane");
	tx->head_cache = h;
	/* r[impl events.queue.full-empty] */
	return t - h < rg.cap ? 0 : SHMK_FAIL(SHMK_EFULL);
}

/* The free cells [t, h + cap) of a ring whose sender side we hold (its
 * sender, or the consumer adopting a lane's row: events.mpsc.lane-adopt+2)
 * give their attached slots back to the pool. */
static void ev_detach_free(struct ev_map *m, struct ev_ring rg, uint64_t h, uint64_t t)
{
	if (t - h > rg.cap)
		return;
	for (uint64_t p = t; p != h + rg.cap; p++) {
		_Atomic uint32_t *cell = &rg.cells[p & (rg.cap - 1)];
		uint32_t s = SHMK_LOAD_U32(cell);
		if (s == SHMK_EVENTS_NIL)
			continue;
		/* relaxed: a free cell is read only by its sender side (us) */
		atomic_store_explicit(cell, SHMK_EVENTS_NIL, memory_order_relaxed);
		pool_push(m, s); /* out of range or refcnt != 1: refused, stays lost */
	}
}

/* r[impl events.spsc.recycle] The pool is empty: give back to it every
 * slot still attached to a free cell of the sender's ring (the sender owns
 * the free cells, [tail, head + capacity)).  Bounded: one pass over the
 * cells, and only when a pop found the pool empty. */
static void ring_detach_all(struct shmk_events_tx *tx, struct ev_ring rg)
{
	/* acquire: pairs with the release store of head in rx_advance, so the
	 * receiver's detach (NIL) of every cell it left is visible */
	uint64_t h = SHMK_LOAD_ACQ_U64(rg.head);

	tx->head_cache = h;
	ev_detach_free(tx->m, rg, h, tx->tail);
}

/* A slot for the sender: the pool's, and when the pool is empty, once
 * more after handing back the slots attached to the free cells of its
 * ring.  A Vyukov MPSC sender cannot do that (r[impl events.spsc.hoard]). */
static int tx_pool_pop(struct shmk_events_tx *tx, uint32_t *slot)
{
	int rc = pool_pop(tx->m, slot);

	if (rc != SHMK_EFULL || (tx->kind != EV_SPSC && !tx->lanes))
		return rc;
	ring_detach_all(tx, tx_ring(tx));
	return pool_pop(tx->m, slot);
}

/* r[impl events.spsc.recycle] The slot for the position at tail (space
 * already checked): the one the receiver left attached to the cell a lap
 * ago, else one from the pool. */
EV_HOT int ring_slot(struct shmk_events_tx *tx, struct ev_ring rg, uint32_t *slot, uint32_t *cell)
{
	/* relaxed: the cell is free, so its last writer was us or the
	 * receiver's detach, published by the head store we acquired */
	uint32_t s = SHMK_LOAD_U32(&rg.cells[tx->tail & (rg.cap - 1)]);

	*cell = s;
	if (SHMK_LIKELY(s < SHMK_EVENTS_SLOTS)) {
		*slot = s;
		return 0;
	}
	/* r[impl events.hostile.bounds] */
	if (s != SHMK_EVENTS_NIL)
		return shmk_fail(SHMK_EINTEGRITY, "events: free cell holds slot %u", s);
	/* the pool's detach of free cells leaves this NIL one as it is */
	return tx_pool_pop(tx, slot);
}

/* r[impl events.spsc.fifo] r[impl events.mpsc.lane+2] Publishes slot at
 * tail, space already checked; old: what the tail cell held when the
 * caller read it (we are its only writer while it is free). */
EV_HOT void ring_enqueue(struct shmk_events_tx *tx, struct ev_ring rg, uint32_t slot, uint32_t old)
{
	uint64_t t = tx->tail;
	_Atomic uint32_t *cell = &rg.cells[t & (rg.cap - 1)];
	/* r[impl events.spsc.recycle] a published reservation replaces the
	 * slot attached to the cell: that one goes back to the pool */
	if (SHMK_UNLIKELY(old != slot && old != SHMK_EVENTS_NIL)) {
		/* relaxed: a free cell is read only by us (the sender) */
		atomic_store_explicit(cell, SHMK_EVENTS_NIL, memory_order_relaxed);
		pool_push(tx->m, old);
	}
	/* A reused slot is already there: no store, so the cell line stays
	 * shared in the receiver's cache instead of moving to ours and back. */
	if (old != slot) {
		/* r[impl events.spsc.slot-seq+2] a slot new to the cell may
		 * carry any old seq, even this position's of 2^32 messages
		 * ago: make it say "a lap ago" before the cell names it.
		 * relaxed: published by the release store of the cell */
		atomic_store_explicit(&rg.l->slots[slot].seq, (uint32_t)(t + 1 - rg.cap),
				      memory_order_relaxed);
		/* release: pairs with the acquire load of the cell in ring_look
		 * (and the tail store below publishes it too) */
		atomic_store_explicit(cell, slot, memory_order_release);
	}
	/* release: pairs with the acquire load of tail in ring_peek */
	atomic_store_explicit(rg.tail, t + 1, memory_order_release);
	tx->tail = t + 1;
	SHMK_CRASH_POINT("events.spsc.counted");
	/* r[impl events.spsc.slot-seq+2] last, in the line the payload starts
	 * in: a receiver that finds it takes the message without reading tail
	 * (in every region: a receiver without SHMK_EVENTS_CAP_SEQ ignores it).
	 * release: pairs with the acquire loads of seq in ring_look */
	atomic_store_explicit(&rg.l->slots[slot].seq, (uint32_t)(t + 1), memory_order_release);
}

/* r[impl events.mpsc.doorbell] After a lane's seq store: set the row's
 * bit unless it reads set.  Not a fence: a bit read set that the consumer
 * clears meanwhile (the store of seq still on its way) leaves the message
 * to the consumer's sweep (events.mpsc.sweep+2), never lost. */
EV_HOT void lane_ring_bell(struct ev_map *m, uint32_t i)
{
	_Atomic uint64_t *bell = &LN(m)->bell.v;
	uint64_t bit = 1ull << i;

	SHMK_CRASH_POINT("events.lane.published");
	/* relaxed: a hint, see above */
	if (!(SHMK_LOAD_U64(bell) & bit))
		/* release: pairs with the consumer's acquire load of the bell
		 * in lanes_next (the seq store comes before it) */
		atomic_fetch_or_explicit(bell, bit, memory_order_release);
}

/* r[impl events.mpsc.lane-takeover+4] The holder of row i (tail t of its
 * lane) may have died between its tail and seq stores, leaving the message
 * at t - 1 whole but unannounced (as events.spsc.reclaim-announce+4), or
 * between its seq store and its doorbell: announce it, ring, wake.  The
 * caller holds the row's token (a new producer, or the consumer adopting
 * a dead row), so no one else writes the lane meanwhile. */
void shmk_ev_lane_announce(struct ev_map *m, uint32_t i, uint64_t t)
{
	struct ev_ring rg = lane_ring(m, i);
	struct shmk_events_layout *l = L(m);
	uint32_t s = SHMK_LOAD_U32(&rg.cells[(t - 1) & (rg.cap - 1)]);

	if (s < SHMK_EVENTS_SLOTS)
		ev_announce_cas(l, s, t, rg.cap);
	/* release: pairs with the consumer's acquire load of the bell */
	atomic_fetch_or_explicit(&LN(m)->bell.v, 1ull << i, memory_order_release);
	wake_data(m, EV_MPSC);
}


static int mpsc_publish(struct shmk_events_tx *tx, uint64_t pos);

/* The consumer unblocked our claimed cell (r[impl events.mpsc.publish-cas+2]):
 * nothing of ours is in it; the intent moves away so no stale claim is
 * read, and the next send claims afresh. */
static int mpsc_skipped(struct shmk_events_tx *tx, uint64_t pos)
{
	/* relaxed: read by a consumer's scan, which only ever waits longer on it */
	atomic_store_explicit(&L(tx->m)->mpsc.producers[tx->prod].intent, pos + EV_INTENT_NONE,
			      memory_order_relaxed);
	return shmk_fail(SHMK_ESKIPPED, "events: the consumer unblocked our claimed cell %llu "
			 "(stalled past the bound): message not sent", (unsigned long long)pos);
}

/* r[impl events.mpsc.slot-stamp] Binds slot s (or NIL) to the claimed cell:
 * one CAS from the slot word read at the claim to BOUND(pos).  It fails
 * only when the consumer unblocked the cell first (its CAS stamped
 * UNBLOCKED(pos)); no other lap can write the word while we hold the claim,
 * and the stamp of the word we read is an older lap's, so a stopped
 * producer that wakes laps later cannot match it again (ABA).  Until it
 * succeeds we write nothing the cell or its next lap can reach. */
static bool mpsc_bind(struct shmk_events_mcell *c, uint64_t w0, uint64_t pos, uint32_t s)
{
	/* relaxed: the modification order of the word alone decides bind
	 * against unblock; the data goes out with the release publish CAS,
	 * the unblock's word with the consumer's release store of seq */
	return atomic_compare_exchange_strong_explicit(
		&c->slotw, &w0, SHMK_EVENTS_SLOTW(SHMK_EVENTS_STAMP_BOUND(pos), s),
		memory_order_relaxed, memory_order_relaxed);
}

/* r[impl events.mpsc.vyukov+2] r[impl events.mpsc.order] Claims the next
 * position.  *slot in: the reservation to publish, or NIL (try_send: use
 * the slot attached to the cell, else one from the pool); out: the slot
 * the cell now carries, bound to it (mpsc_bind), to fill and publish with
 * mpsc_publish.  Returns 1 when the cell had no slot and the pool none
 * either: the cell was then published as a hole (r[impl events.mpsc.hole]),
 * try the next one; SHMK_ESKIPPED when the consumer unblocked the cell
 * before the bind (the reservation, if any, is still the caller's). */
static int mpsc_claim(struct shmk_events_tx *tx, uint32_t *slot, uint64_t *pos_out, bool steal)
{
	struct shmk_events_mpsc *q = &L(tx->m)->mpsc;
	struct shmk_events_producer *me = &q->producers[tx->prod];
	uint64_t pos = SHMK_LOAD_U64(&q->tail.v);
	struct shmk_events_mcell *c;
	uint32_t want = *slot, s;
	uint64_t w0;
	int rc;

	for (int i = 0;; i++) {
		if (i == EV_CAS_TRIES) {
			rc = shmk_fail(SHMK_EFULL, "events: mpsc tail CAS lost %d times", EV_CAS_TRIES);
			goto full;
		}
		c = &q->cells[pos & EV_MASK];
		/* acquire: pairs with the consumer's release store of seq in rx_advance */
		uint64_t seq = SHMK_LOAD_ACQ_U64(&c->seq);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			/* r[impl events.mpsc.recycle] relaxed: written before the
			 * release that made seq == pos (the consumer's detach or
			 * unblock, or the previous lap's bind it acquired); no one
			 * else writes it until someone claims pos */
			w0 = SHMK_LOAD_U64(&c->slotw);
			/* r[impl events.mpsc.intent] */
			/* relaxed: published to the consumer by the release CAS of tail below */
			atomic_store_explicit(&me->intent, pos, memory_order_relaxed);
			/* release: pairs with the consumer's acquire load of tail in mpsc_peek */
			if (atomic_compare_exchange_weak_explicit(&q->tail.v, &pos, pos + 1,
								  memory_order_release,
								  memory_order_relaxed))
				break;
		} else if (dif < 0) {
			rc = SHMK_FAIL(SHMK_EFULL);
			goto full;
		} else {
			pos = SHMK_LOAD_U64(&q->tail.v);
		}
	}
	uint32_t cur = SHMK_EVENTS_SLOTW_SLOT(w0);
	bool attached = cur < SHMK_EVENTS_SLOTS;
	*pos_out = pos;
	if (steal) {
		/* r[impl events.mpsc.steal] take the cell's slot, publish a hole;
		 * unblocked after the bind, the slot we took is ours all the same */
		if (!mpsc_bind(c, w0, pos, SHMK_EVENTS_NIL)) {
			mpsc_skipped(tx, pos);
			return 1; /* the cell keeps its slot: try the next one */
		}
		mpsc_publish(tx, pos);
		if (!attached)
			return 1;
		*slot = cur;
		return 0;
	}
	if (want != SHMK_EVENTS_NIL) {
		s = want;
	} else if (attached) {
		s = cur;
	} else {
		rc = pool_pop(tx->m, &s);
		if (rc) {
			/* r[impl events.mpsc.hole] never leave a claimed cell
			 * behind: publish it empty, the consumer steps over it
			 * (an unblock instead is a hole all the same) */
			if (mpsc_bind(c, w0, pos, SHMK_EVENTS_NIL))
				mpsc_publish(tx, pos);
			else
				mpsc_skipped(tx, pos);
			return rc == SHMK_EFULL ? 1 : rc;
		}
	}
	SHMK_CRASH_POINT("events.mpsc.claimed-unbound");
	if (!mpsc_bind(c, w0, pos, s)) {
		if (want == SHMK_EVENTS_NIL && !attached)
			pool_push(tx->m, s); /* popped above, never bound: still ours */
		return mpsc_skipped(tx, pos);
	}
	if (want != SHMK_EVENTS_NIL && attached && cur != want) {
		/* the reservation replaced it: back to the pool only now that
		 * the cell no longer names it, so a producer killed in between
		 * loses it (events.pool.dead-holder) instead of leaving it both
		 * free and attached to a cell the consumer skips (models/mpsc.pml) */
		SHMK_CRASH_POINT("events.mpsc.replaced");
		pool_push(tx->m, cur);
	}
	*slot = s;
	return 0;
full:
	/* relaxed: a consumer that still sees the old value only waits one
	 * more liveness period */
	atomic_store_explicit(&me->intent, pos + EV_INTENT_NONE, memory_order_relaxed);
	return rc;
}

/* Publishes the claimed position (its slot bound, filled, len stored).
 * On SHMK_ESKIPPED the consumer unblocked the cell after the bind and
 * detached our slot from it (events.mpsc.unblock+2): the slot is the
 * caller's again, nothing of the message reached the queue. */
static int mpsc_publish(struct shmk_events_tx *tx, uint64_t pos)
{
	struct shmk_events_mcell *c = &L(tx->m)->mpsc.cells[pos & EV_MASK];

	SHMK_CRASH_POINT("events.mpsc.claimed");
	uint64_t expect = pos;
	/* r[impl events.mpsc.publish-cas+2] */
	/* release: pairs with the consumer's acquire load of seq in mpsc_peek */
	if (!atomic_compare_exchange_strong_explicit(&c->seq, &expect, pos + 1,
						     memory_order_release, memory_order_relaxed))
		return mpsc_skipped(tx, pos);
	wake_data(tx->m, EV_MPSC);
	return 0;
}

EV_HOT int tx_prep(struct shmk_events_tx *tx)
{
	if (!tx)
		return SHMK_FAIL(-EINVAL);
	if (SHMK_UNLIKELY(!tx->claimed))
		return shmk_ev_tx_claim(tx);
	/* r[impl events.mpsc.lane-fork] relaxed: see shmk_ev_fork_gen */
	if (SHMK_UNLIKELY(tx->lanes && tx->fork_gen != atomic_load_explicit(&shmk_ev_fork_gen,
									     memory_order_relaxed)))
		return shmk_fail(SHMK_EBUSY, "events: a lanes producer handle copied by fork(): "
					     "its row is the parent's, open a new handle");
	return 0;
}

/* SPSC and lanes only: Vyukov's MPSC claims first, then fills, then
 * publishes.  Space checked; old: the tail cell as read (ring_enqueue). */
EV_HOT void enqueue(struct shmk_events_tx *tx, struct ev_ring rg, uint32_t slot, uint32_t old,
		    size_t len)
{
	/* relaxed: published with the slot index by the release store of tail */
	atomic_store_explicit(&rg.l->slots[slot].len, (uint32_t)len, memory_order_relaxed);
	ring_enqueue(tx, rg, slot, old);
	if (rg.lane >= 0)
		lane_ring_bell(tx->m, (uint32_t)rg.lane);
	wake_data(tx->m, rg.lane >= 0 ? EV_MPSC : EV_SPSC);
}

/* Copies a message of up to 16 bytes with fixed-size moves (no call into
 * the C library's memcpy, which dispatches on the size first). */
EV_HOT void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

EV_HOT void copy_msg(void *d, const void *s, size_t n)
{
	if (SHMK_LIKELY(n <= 16))
		copy_small(d, s, n);
	else
		memcpy(d, s, n);
}

EV_HOT int ring_send(struct shmk_events_tx *tx, struct ev_ring rg, const void *buf, size_t len)
{
	uint32_t slot, old;
	int rc;

	/* Refuse a full ring before touching a slot. */
	if ((rc = ring_space(tx, rg)) || (rc = ring_slot(tx, rg, &slot, &old)))
		return rc;
	copy_msg(rg.l->slots[slot].data, buf, len);
	/* cannot fail: space was checked and we are the only sender */
	enqueue(tx, rg, slot, old, len);
	return 0;
}

/* A lanes producer's send: the SPSC send on its row's lane, a call of its
 * own so the SPSC path inlined into try_send stays as it was. */
static __attribute__((noinline)) int lane_send(struct shmk_events_tx *tx, const void *buf,
					       size_t len)
{
	return ring_send(tx, lane_ring(tx->m, tx->prod), buf, len);
}

/* Every send but the SPSC fast path's. */
static __attribute__((noinline)) int send_slow(struct shmk_events_tx *tx, const void *buf,
					       size_t len, struct shmk_events_sizes *sizes)
{
	uint32_t slot;
	int rc = tx_prep(tx);

	if (rc)
		return rc;
	/* r[impl events.send.toolarge] */
	if (len > SHMK_EVENTS_SLOT_DATA) {
		if (sizes)
			*sizes = (struct shmk_events_sizes){ SHMK_EVENTS_SLOT_DATA, len };
		return SHMK_FAIL(SHMK_ETOOLARGE);
	}
	if (len && !buf)
		return SHMK_FAIL(-EINVAL);
	if (tx->kind == EV_SPSC)
		return ring_send(tx, spsc_ring(tx->m), buf, len);
	/* r[impl events.mpsc.lanes-scope] a lane: no claim, no hole, no skip */
	if (tx->lanes)
		return lane_send(tx, buf, len);
	uint64_t pos;
	/* r[impl events.mpsc.hole] bounded: EV_HOLES empty cells a call */
	for (int hole = 0;; hole++) {
		slot = SHMK_EVENTS_NIL;
		rc = mpsc_claim(tx, &slot, &pos, false);
		if (rc == 0)
			break;
		if (rc != 1)
			return rc;
		if (hole + 1 == EV_HOLES)
			return SHMK_FAIL(SHMK_EFULL);
	}
	copy_msg(L(tx->m)->slots[slot].data, buf, len);
	/* relaxed: published by the release publish CAS of seq */
	atomic_store_explicit(&L(tx->m)->slots[slot].len, (uint32_t)len, memory_order_relaxed);
	rc = mpsc_publish(tx, pos);
	if (rc == SHMK_ESKIPPED)
		pool_push(tx->m, slot); /* detached by the unblock: ours again */
	return rc;
}

/* r[impl events.truncate.hot-path] no size check here: see ev_covers.
 * The fast path: a claimed SPSC sender (tx->spsc, set by the claim) and a
 * message that fits - ring_send on the SPSC ring, its layout known, so no
 * handle field is re-read after a store to the region; everything else
 * (refusals included) goes to send_slow. */
int shmk_events_try_send(struct shmk_events_tx *tx, const void *buf, size_t len,
			 struct shmk_events_sizes *sizes)
{
	struct shmk_events_layout *l = tx ? tx->spsc : NULL;

	if (SHMK_LIKELY(l && len <= SHMK_EVENTS_SLOT_DATA && (buf || !len)))
		return ring_send(tx, spsc_ring_of(l), buf, len);
	return send_slow(tx, buf, len, sizes);
}

int shmk_events_reserve(struct shmk_events_tx *tx, struct shmk_events_view *view)
{
	uint32_t slot;
	int rc = tx_prep(tx);

	if (rc)
		return rc;
	if (!view)
		return SHMK_FAIL(-EINVAL);
	/* r[impl events.zerocopy.reserve] */
	rc = tx_pool_pop(tx, &slot);
	/* r[impl events.mpsc.steal] bounded: EV_HOLES cells a call.
	 * r[impl events.mpsc.lanes-scope] a lanes producer took back its own
	 * lane's free slots in tx_pool_pop and steals nothing */
	for (int hole = 0; rc == SHMK_EFULL && tx->kind == EV_MPSC && !tx->lanes && hole < EV_HOLES;
	     hole++) {
		uint64_t pos;
		slot = SHMK_EVENTS_NIL;
		rc = mpsc_claim(tx, &slot, &pos, true);
		if (rc == 1)
			rc = SHMK_FAIL(SHMK_EFULL);
	}
	if (rc)
		return rc;
	view->data = L(tx->m)->slots[slot].data;
	view->len = SHMK_EVENTS_SLOT_DATA;
	view->slot = slot;
	return 0;
}

int shmk_events_publish(struct shmk_events_tx *tx, struct shmk_events_view *view, size_t len,
			struct shmk_events_sizes *sizes)
{
	int rc = tx_prep(tx);

	if (rc)
		return rc;
	if (!view || !view->data || view->slot >= SHMK_EVENTS_SLOTS)
		return SHMK_FAIL(-EINVAL);
	if (len > SHMK_EVENTS_SLOT_DATA) {
		if (sizes)
			*sizes = (struct shmk_events_sizes){ SHMK_EVENTS_SLOT_DATA, len };
		return SHMK_FAIL(SHMK_ETOOLARGE);
	}
	/* r[impl events.zerocopy.publish] */
	if (tx->kind == EV_SPSC || tx->lanes) {
		struct ev_ring rg = tx_ring(tx);
		rc = ring_space(tx, rg);
		if (rc)
			return rc; /* the view stays reserved: retry or cancel */
		enqueue(tx, rg, view->slot, SHMK_LOAD_U32(&rg.cells[tx->tail & (rg.cap - 1)]), len);
		view->data = NULL;
		return 0;
	}
	uint32_t slot = view->slot;
	uint64_t pos;
	/* relaxed: published by the release publish CAS of seq; the slot is
	 * ours until the bind, so the store may precede the claim */
	atomic_store_explicit(&L(tx->m)->slots[slot].len, (uint32_t)len, memory_order_relaxed);
	rc = mpsc_claim(tx, &slot, &pos, false);
	/* r[impl events.zerocopy.publish-skipped+2] unblocked before or after
	 * the bind, the slot is not in the queue: the view stays reserved */
	if (rc == 0)
		rc = mpsc_publish(tx, pos);
	if (rc)
		return rc; /* the view stays reserved: retry or cancel */
	view->data = NULL;
	return 0;
}

int shmk_events_cancel(struct shmk_events_tx *tx, struct shmk_events_view *view)
{
	if (!tx || !view || !view->data)
		return SHMK_FAIL(-EINVAL);
	int rc = pool_push(tx->m, view->slot);
	view->data = NULL;
	if (rc == 0)
		wake_space(tx->m);
	return rc;
}

/* ------------------------------------------------------------ dequeue */

/* r[impl events.mpsc.unblock+2] Second half of a skip or unblock, the cell's
 * seq already moved from pos to pos + 2 (so no publish can land and no
 * next-lap claimer can start): stamp the slot word UNBLOCKED(pos), detaching
 * a slot a live producer bound (it takes it back on its failed publish) and
 * keeping one a dead producer left (events.mpsc.recycle), then free the
 * cell for the next lap.  A consumer that died in between left seq at
 * pos + 2: its successor completes the unblock here (rx_peek). */
static int mpsc_unblock_finish(struct shmk_events_rx *rx, uint64_t pos,
			       struct shmk_events_mcell *c, bool dead)
{
	struct shmk_events_mpsc *q = &L(rx->m)->mpsc;
	uint64_t w = SHMK_LOAD_U64(&c->slotw);
	int i;

	/* bounded: only the claimer's one bind can move the word under us */
	for (i = 0; i < 4; i++) {
		bool bound = SHMK_EVENTS_SLOTW_STAMP(w) == SHMK_EVENTS_STAMP_BOUND(pos);
		uint32_t keep = bound && !dead ? SHMK_EVENTS_NIL : SHMK_EVENTS_SLOTW_SLOT(w);
		/* relaxed: exclusive with the producer's bind CAS by the word's
		 * modification order; published by the release store of seq below */
		if (atomic_compare_exchange_strong_explicit(
			    &c->slotw, &w, SHMK_EVENTS_SLOTW(SHMK_EVENTS_STAMP_UNBLOCKED(pos), keep),
			    memory_order_relaxed, memory_order_relaxed))
			break;
	}
	if (i == 4)
		return shmk_fail(SHMK_EINTEGRITY, "events: mpsc slot word of cell %llu keeps moving",
				 (unsigned long long)pos);
	/* release: pairs with the producers' acquire load of seq in mpsc_claim */
	atomic_store_explicit(&c->seq, pos + SHMK_EVENTS_QUEUE_CAP, memory_order_release);
	rx->head = pos + 1;
	/* release: pairs with the acquire load of head in shmk_ev_rx_claim / inspect */
	atomic_store_explicit(&q->head.v, rx->head, memory_order_release);
	rx->stalled = false;
	rx->idle_polls = 0;
	if (dead)
		rx->skipped++;
	else
		rx->unblocked++;
	wake_space(rx->m);
	return 1;
}

/* The consumer found cell `pos` claimed but unpublished. */
/* r[impl events.mpsc.dead-producer+2] r[impl events.mpsc.unblock+2] */
static int mpsc_stalled(struct shmk_events_rx *rx, uint64_t pos, struct shmk_events_mcell *c)
{
	struct shmk_events_mpsc *q = &L(rx->m)->mpsc;
	int64_t now = shmk_now_ns();

	if (!rx->stalled || rx->stall_pos != pos) {
		rx->stalled = true;
		rx->stall_live = false;
		rx->stall_pos = pos;
		rx->stall_since = now;
		return SHMK_FAIL(SHMK_EEMPTY);
	}
	int64_t waited = now - rx->stall_since;
	if (waited < rx->liveness_ns)
		return SHMK_FAIL(SHMK_EEMPTY);
	/* a live claimer seen once is looked up again only at the unblock:
	 * a scan may read /proc 64 times */
	bool unblock = waited >= 2 * rx->liveness_ns;
	if (rx->stall_live && !unblock)
		return SHMK_FAIL(SHMK_EEMPTY);
	bool live = false;
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS && !live; i++) {
		/* acquire: pairs with the acq_rel CAS of token in register_producer */
		uint64_t tok = SHMK_LOAD_ACQ_U64(&q->producers[i].token);
		if (!tok)
			continue;
		uint64_t intent = SHMK_LOAD_U64(&q->producers[i].intent);
		live = intent == pos && shmk_token_alive(tok);
	}
	if (live && !unblock) {
		rx->stall_live = true; /* a live claimer: unblocked at twice the bound */
		return SHMK_FAIL(SHMK_EEMPTY);
	}
	uint64_t expect = pos;
	/* acq_rel: exclusive with the producer's publish CAS in mpsc_publish;
	 * pos + 2 is no lap's free or published value, so neither a publish
	 * nor a next-lap claim can start while the slot word is settled */
	if (!atomic_compare_exchange_strong_explicit(&c->seq, &expect, pos + 2,
						     memory_order_acq_rel, memory_order_acquire))
		return 1; /* published meanwhile: look again */
	SHMK_CRASH_POINT("events.mpsc.unblocking");
	return mpsc_unblock_finish(rx, pos, c, !live);
}

EV_HOT void rx_advance(struct shmk_events_rx *rx);

/* r[impl events.spsc.slot-seq+2] The message at position h of a ring whose
 * senders store seq: 0 when the slot the cell names says it is there
 * (*sp), 1 when it carries the cell's message of a lap ago, its slot
 * attached for the next one (events.spsc.recycle): not sent yet, no need
 * to read tail; 2 when only tail can tell. */
EV_HOT int ring_look(struct shmk_events_layout *l, struct ev_ring rg, uint64_t h, uint32_t *sp)
{
	_Atomic uint32_t *cell = &rg.cells[h & (rg.cap - 1)];
	/* acquire: pairs with the release store of the cell in ring_enqueue
	 * (a slot new to it says "a lap ago") */
	uint32_t s = SHMK_LOAD_ACQ_U32(cell);

	SHMK_CRASH_POINT("events.cell.looked");
	if (SHMK_LIKELY(s < SHMK_EVENTS_SLOTS)) {
		/* acquire: pairs with the release store of seq in ring_enqueue */
		uint32_t q = SHMK_LOAD_ACQ_U32(&l->slots[s].seq);
		/* every ring of a region counts from the same start and takes
		 * slots from one pool: between the two loads s may have left
		 * this cell (for the pool) and been sent by another ring at
		 * this same position.  Its seq store then comes after this
		 * cell lost s (pool release/acquire), so the cell read again
		 * tells.  relaxed: ordered by the acquire load of seq above */
		if (SHMK_LIKELY(q == (uint32_t)(h + 1)) &&
		    SHMK_LIKELY(SHMK_LOAD_U32(cell) == s)) {
			*sp = s;
			return 0;
		}
		if (q == (uint32_t)(h + 1 - rg.cap))
			return 1;
	}
	return 2;
}

/* r[impl events.hostile.bounds] a queued slot's length, as read, is over
 * the slot's data */
static __attribute__((noinline, cold)) int bad_len(uint32_t s, uint32_t n)
{
	return shmk_fail(SHMK_EINTEGRITY, "events: slot %u len %u > 256", s, n);
}

/* The length of the message in slot s (its index checked), into *slot and *len. */
EV_HOT int slot_found(struct shmk_events_layout *l, uint32_t s, uint32_t *slot, uint32_t *len)
{
	/* r[impl events.hostile.bounds] */
	if (s >= SHMK_EVENTS_SLOTS)
		return shmk_fail(SHMK_EINTEGRITY, "events: queued slot %u out of range", s);
	uint32_t n = SHMK_LOAD_U32(&l->slots[s].len);
	if (n > SHMK_EVENTS_SLOT_DATA)
		return bad_len(s, n);
	*slot = s;
	*len = n;
	return 0;
}

/* r[impl events.mpsc.lane-adopt+2] Lane i's message at h is counted in tail
 * but unannounced.  Seen so by EV_ADOPT_LOOKS looks (sweeps: 64 empty polls
 * apart on a try_recv), the row's holder is looked up (one /proc read, not
 * per poll: a live producer is there for nanoseconds); a dead or absent one's row is taken by the consumer for
 * the announce (events.mpsc.lane-takeover+4) and released: the message is
 * then delivered, not held until a producer happens to take that row
 * (one takes a free row before a dead one, but for rows 0-3).
 * SHMK_EEMPTY or 1 (look again). */
static int lane_adopt(struct shmk_events_rx *rx, uint32_t i, uint64_t h)
{
	if (rx->orph_pos[i] != h + 1) {
		rx->orph_pos[i] = h + 1;
		rx->orph_looks[i] = 0;
	}
	if (++rx->orph_looks[i] < EV_ADOPT_LOOKS)
		return SHMK_FAIL(SHMK_EEMPTY);
	rx->orph_looks[i] = 0;
	_Atomic uint64_t *tokw = &L(rx->m)->mpsc.producers[i].token;
	/* acquire: pairs with the acq_rel CAS of token in register_producer */
	uint64_t tok = SHMK_LOAD_ACQ_U64(tokw);
	if (tok && shmk_token_alive(tok))
		return SHMK_FAIL(SHMK_EEMPTY);
	/* acq_rel: exclusive with a producer's register_producer CAS */
	if (!atomic_compare_exchange_strong_explicit(tokw, &tok, rx->me, memory_order_acq_rel,
						     memory_order_relaxed))
		return SHMK_FAIL(SHMK_EEMPTY);
	/* acquire: pairs with the release store of tail in ring_enqueue */
	uint64_t t = SHMK_LOAD_ACQ_U64(&LN(rx->m)->lanes[i].tail.v);
	if (t - h <= lane_cap(i) && t != h)
		shmk_ev_lane_announce(rx->m, i, t);
	/* r[impl events.mpsc.lane-adopt+2] the row's holder is dead or gone:
	 * its lane's free cells would keep their slots from every other
	 * sender until a producer takes the row (events.mpsc.lanes-scope) */
	ev_detach_free(rx->m, lane_ring(rx->m, i), h, t);
	uint64_t me = rx->me;
	/* r[impl events.mpsc.lane-adopt+2] back to what it held, a dead
	 * token kept: a blocking receive's "every token dead" needs it
	 * (events.wait.peerdead-lanes), 0 would read "no producer ever".
	 * release: pairs with the acquire load of token in register_producer */
	atomic_compare_exchange_strong_explicit(tokw, &me, tok, memory_order_release,
						memory_order_relaxed);
	return 1;
}

/* r[impl events.mpsc.lane+2] The message at the head of lane i, as an SPSC
 * receiver finds it: 0 (rx->lane = i), SHMK_EEMPTY, SHMK_EINTEGRITY, or 1
 * (a detached cell stepped over, or a dead row adopted: look again).  A
 * sweep also reads tail when the slot says "a lap ago". */
static inline int lane_peek(struct shmk_events_rx *rx, uint32_t i, uint32_t *slot,
			    uint32_t *len, bool sweep)
{
	struct shmk_events_layout *l = L(rx->m);
	struct ev_ring rg = lane_ring(rx->m, i);
	uint64_t h = rx->lhead[i];
	uint32_t s;
	int k = ring_look(l, rg, h, &s);

	rx->lane = i;
	if (SHMK_LIKELY(k == 0))
		return slot_found(l, s, slot, len);
	/* a lap ago, unless tail counts it: a sweep reads tail all the same,
	 * to find a message left unannounced (lane_adopt) */
	if (k == 1 && !sweep)
		return SHMK_FAIL(SHMK_EEMPTY);
	/* acquire: pairs with the release store of tail in ring_enqueue */
	uint64_t t = SHMK_LOAD_ACQ_U64(rg.tail);
	/* r[impl events.hostile.counters] */
	if (t - h > rg.cap)
		return shmk_fail(SHMK_EINTEGRITY, "events: lane %u tail - head > %u", i,
				 (uint32_t)rg.cap);
	if (t == h)
		return SHMK_FAIL(SHMK_EEMPTY);
	s = SHMK_LOAD_U32(&rg.cells[h & (rg.cap - 1)]);
	/* r[impl events.spsc.detached-skip] a consumer that took this message
	 * as a view detached the cell and died before storing head */
	if (SHMK_UNLIKELY(s == SHMK_EVENTS_NIL)) {
		rx_advance(rx);
		wake_space(rx->m);
		return 1;
	}
	/* counted in tail, not announced: the producer is between the two
	 * stores (or died there: lane_adopt) */
	if (s < SHMK_EVENTS_SLOTS &&
	    /* acquire: pairs with the release store of seq in ring_enqueue */
	    SHMK_LOAD_ACQ_U32(&l->slots[s].seq) != (uint32_t)(h + 1))
		return lane_adopt(rx, i, h);
	return slot_found(l, s, slot, len);
}

/* A lane found non-empty outside the doorbell (its bit clear): ring it for
 * the producer, whose next message then finds it set. */
static void lane_rering(struct shmk_events_rx *rx, uint32_t i)
{
	/* release: pairs with the acquire load of the bell in lanes_next */
	atomic_fetch_or_explicit(&LN(rx->m)->bell.v, 1ull << i, memory_order_release);
}

/* r[impl events.hostile.lane-skip] lane_peek, but a lane that once failed
 * integrity is skipped from then on (its bytes are a hostile peer's, and
 * the 63 others must not starve behind it): SHMK_EINTEGRITY is returned
 * the first time only, the cursor moved past it. */
static int lane_look(struct shmk_events_rx *rx, uint32_t i, uint32_t *slot, uint32_t *len,
		     bool sweep)
{
	if (SHMK_UNLIKELY(rx->bad_lanes & (1ull << i)))
		return SHMK_FAIL(SHMK_EEMPTY);
	int rc = lane_peek(rx, i, slot, len, sweep);
	if (SHMK_UNLIKELY(rc == SHMK_EINTEGRITY)) {
		rx->bad_lanes |= 1ull << i;
		rx->cur = i + 1;
	}
	return rc;
}

/* The sweep's look at the next lane in turn, whatever its bit says
 * (reading its tail): a message found there is rung for its producer. */
static int lane_sweep(struct shmk_events_rx *rx, uint64_t bell, uint32_t *slot, uint32_t *len)
{
	uint32_t i = rx->sweep++ & (SHMK_EVENTS_PRODUCERS - 1);
	int rc = lane_look(rx, i, slot, len, true);

	if ((rc == 0 || rc == 1) && !(bell & (1ull << i)))
		lane_rering(rx, i);
	return rc;
}

/* r[impl events.mpsc.doorbell] r[impl events.mpsc.sweep+2] The lanes
 * consumer's poll: every EV_SWEEP_EVERY-th one first sweeps one lane (a
 * busy doorbell must not keep a lane whose bit is clear from being looked
 * at: a producer killed between its seq store and its OR, or whose ring a
 * clear overtook, with no message after it); then the rung lanes in turn
 * from rx->cur (one message, then the next lane: no producer starves the
 * others), clearing the bit of a lane found empty EV_BELL_IDLE polls in a
 * row and then looking once more; then, with nothing found, one lane more
 * in turn (every lane on a blocking receive's poll). */
static int lanes_next(struct shmk_events_rx *rx, uint32_t *slot, uint32_t *len)
{
	_Atomic uint64_t *bellw = &LN(rx->m)->bell.v;
	/* acquire: pairs with the producers' release fetch_or in lane_ring_bell */
	uint64_t bell = SHMK_LOAD_ACQ_U64(bellw);
	uint32_t cur = rx->cur & (SHMK_EVENTS_PRODUCERS - 1);
	uint64_t rot = cur ? (bell >> cur) | (bell << (64 - cur)) : bell;
	int rc;

	if (SHMK_UNLIKELY(!(++rx->polls & (EV_SWEEP_EVERY - 1)))) {
		rc = lane_sweep(rx, bell, slot, len);
		if (rc != SHMK_EEMPTY)
			goto done;
	}
	/* bounded: 64 bits */
	while (rot) {
		uint32_t i = (cur + (uint32_t)__builtin_ctzll(rot)) & (SHMK_EVENTS_PRODUCERS - 1);
		rot &= rot - 1;
		rc = lane_look(rx, i, slot, len, false);
		if (rc != SHMK_EEMPTY)
			goto done;
		if (++rx->lidle[i] < EV_BELL_IDLE)
			continue;
		rx->lidle[i] = 0;
		/* acq_rel: the clear comes before the second look, which sees a
		 * message whose producer read the bit set before the clear */
		atomic_fetch_and_explicit(bellw, ~(1ull << i), memory_order_acq_rel);
		rc = lane_look(rx, i, slot, len, false);
		if (rc == 0 || rc == 1)
			lane_rering(rx, i);
		if (rc != SHMK_EEMPTY)
			goto done;
	}
	/* bounded: 64 lanes at most */
	for (uint32_t n = rx->full_look ? SHMK_EVENTS_PRODUCERS : 1; n; n--) {
		rc = lane_sweep(rx, bell, slot, len);
		if (rc != SHMK_EEMPTY)
			goto done;
	}
	return SHMK_FAIL(SHMK_EEMPTY);
done:
	if (rc == 0) {
		rx->lidle[rx->lane] = 0;
		rx->cur = rx->lane + 1;
	}
	return rc;
}

/* Finds the message at the head without consuming it: 0 with slot/len,
 * SHMK_EEMPTY, SHMK_EINTEGRITY, or 1 (internal: look again).  looked: the
 * SPSC fast path of try_recv looked at this head already and ring_look
 * answered 2 (only tail can tell): not again, so a poll reads the cell
 * once and passes its crash point once. */
EV_HOT int rx_peek(struct shmk_events_rx *rx, uint32_t *slot, uint32_t *len, bool looked)
{
	struct shmk_events_layout *l = L(rx->m);
	uint64_t h = rx->head;
	uint32_t s;

	if (rx->lanes)
		return lanes_next(rx, slot, len);
	if (rx->kind == EV_SPSC) {
		struct ev_ring rg = spsc_ring(rx->m);
		bool seqd = rx->m->caps & SHMK_EVENTS_CAP_SEQ;
		if (SHMK_LIKELY(seqd)) {
			/* r[impl events.spsc.slot-seq+2] the slot the head cell names
			 * says whether this position's message is in it: one line,
			 * no look at tail */
			int k = looked ? 2 : ring_look(l, rg, h, &s);
			if (SHMK_LIKELY(k == 0)) {
				/* seq is stored after tail: the cached tail
				 * may count this one, and stays in
				 * [head, tail] (a lag of 2^64 would wrap) */
				if (rx->tail_cache == h)
					rx->tail_cache = h + 1;
				goto found;
			}
			if (k == 1)
				return SHMK_FAIL(SHMK_EEMPTY);
		}
		/* r[impl events.spsc.cached-index] */
		if (h == rx->tail_cache) {
			/* acquire: pairs with the release store of tail in ring_enqueue */
			uint64_t t = SHMK_LOAD_ACQ_U64(&l->spsc.tail.v);
			/* r[impl events.hostile.counters] */
			if (t - h > SHMK_EVENTS_QUEUE_CAP)
				return shmk_fail(SHMK_EINTEGRITY, "events: spsc tail - head > capacity");
			rx->tail_cache = t;
			if (t == h)
				return SHMK_FAIL(SHMK_EEMPTY);
		}
		s = SHMK_LOAD_U32(&l->spsc.cells[h & EV_MASK]);
		/* r[impl events.spsc.detached-skip] a receiver that took this message
		 * as a view detached the cell and died before storing head:
		 * the message was delivered (at most once), step over it */
		if (SHMK_UNLIKELY(s == SHMK_EVENTS_NIL)) {
			rx->head = h + 1;
			/* release: pairs with the acquire load of head in ring_space */
			atomic_store_explicit(&l->spsc.head.v, h + 1, memory_order_release);
			wake_space(rx->m);
			return 1;
		}
		/* r[impl events.spsc.slot-seq+2] counted in tail, not announced:
		 * the sender is between the two stores (or died there, and its
		 * successor announces it: events.spsc.reclaim-announce+4) */
		if (seqd && s < SHMK_EVENTS_SLOTS &&
		    /* acquire: pairs with the release store of seq in ring_enqueue */
		    SHMK_LOAD_ACQ_U32(&l->slots[s].seq) != (uint32_t)(h + 1))
			return SHMK_FAIL(SHMK_EEMPTY);
	} else {
		struct shmk_events_mcell *c = &l->mpsc.cells[h & EV_MASK];
		/* acquire: pairs with the release publish CAS in mpsc_publish */
		uint64_t seq = SHMK_LOAD_ACQ_U64(&c->seq);
		if (seq != h + 1) {
			/* a consumer died in the middle of an unblock: finish it
			 * (the claimer may be alive: its slot is detached) */
			if (seq == h + 2)
				return mpsc_unblock_finish(rx, h, c, false);
			if (seq != h)
				return shmk_fail(SHMK_EINTEGRITY, "events: mpsc cell seq inconsistent");
			/* r[impl events.mpsc.idle-polls] empty or claimed, the
			 * answer is the same until a claim has been stalled for
			 * a liveness period: a poll that reads tail takes its
			 * line from the producers (their next claim CAS misses)
			 * and one that reads the clock costs a clock read, a
			 * message, while the consumer keeps up */
			if (SHMK_LIKELY(rx->idle_polls < EV_IDLE_POLLS)) {
				rx->idle_polls++;
				return SHMK_FAIL(SHMK_EEMPTY);
			}
			/* acquire: pairs with the release CAS of tail in mpsc_claim */
			uint64_t t = SHMK_LOAD_ACQ_U64(&l->mpsc.tail.v);
			if (t == h) {
				rx->stalled = false;
				rx->idle_polls = 0;
				return SHMK_FAIL(SHMK_EEMPTY);
			}
			if (t - h > SHMK_EVENTS_QUEUE_CAP)
				return shmk_fail(SHMK_EINTEGRITY, "events: mpsc tail - head > capacity");
			return mpsc_stalled(rx, h, c);
		}
		s = SHMK_EVENTS_SLOTW_SLOT(SHMK_LOAD_U64(&c->slotw));
		/* r[impl events.mpsc.detached-skip] as for SPSC: a dead
		 * consumer's view */
		if (SHMK_UNLIKELY(s == SHMK_EVENTS_NIL)) {
			rx_advance(rx);
			wake_space(rx->m);
			return 1;
		}
	}
found:
	return slot_found(l, s, slot, len);
}

EV_HOT void spsc_advance(struct shmk_events_rx *rx, struct shmk_events_layout *l)
{
	uint64_t h = rx->head;

	/* release: pairs with the acquire load of head in ring_space */
	atomic_store_explicit(&l->spsc.head.v, h + 1, memory_order_release);
	rx->head = h + 1;
}

EV_HOT void rx_advance(struct shmk_events_rx *rx)
{
	struct shmk_events_layout *l = L(rx->m);
	uint64_t h = rx->head;

	if (rx->lanes) {
		uint32_t i = rx->lane;
		h = rx->lhead[i];
		/* r[impl events.mpsc.lane+2] release: pairs with the acquire load
		 * of head in ring_space (and in lane_takeover) */
		atomic_store_explicit(&LN(rx->m)->lanes[i].head.v, h + 1, memory_order_release);
		rx->lhead[i] = h + 1;
		return;
	}
	if (rx->kind == EV_SPSC) {
		spsc_advance(rx, l);
		return;
	}
	/* release: pairs with the producers' acquire load of seq in mpsc_claim */
	atomic_store_explicit(&l->mpsc.cells[h & EV_MASK].seq, h + SHMK_EVENTS_QUEUE_CAP,
			      memory_order_release);
	/* release: pairs with the acquire load of head in shmk_ev_rx_claim */
	atomic_store_explicit(&l->mpsc.head.v, h + 1, memory_order_release);
	rx->stalled = false;
	rx->idle_polls = 0;
	rx->head = h + 1;
}

/* r[impl events.spsc.recycle] r[impl events.mpsc.recycle] Detaches the
 * head cell's slot, so the sender does not reuse it (a view, or a slot
 * going back to a dry pool).  Relaxed: published by the release store of
 * head (SPSC) or seq (MPSC) in rx_advance. */
static void rx_detach(struct shmk_events_rx *rx)
{
	struct shmk_events_layout *l = L(rx->m);

	if (rx->lanes) {
		uint32_t i = rx->lane;
		atomic_store_explicit(&lane_cells(rx->m, i)[rx->lhead[i] & (lane_cap(i) - 1)],
				      SHMK_EVENTS_NIL, memory_order_relaxed);
		SHMK_CRASH_POINT("events.lane.detached");
	} else if (rx->kind == EV_SPSC) {
		atomic_store_explicit(&l->spsc.cells[rx->head & EV_MASK], SHMK_EVENTS_NIL,
				      memory_order_relaxed);
		SHMK_CRASH_POINT("events.spsc.detached");
	} else {
		/* the stamp stays: the cell is published, no claimer binds it */
		_Atomic uint64_t *w = &l->mpsc.cells[rx->head & EV_MASK].slotw;
		atomic_store_explicit(w, SHMK_EVENTS_SLOTW(SHMK_EVENTS_SLOTW_STAMP(SHMK_LOAD_U64(w)),
							   SHMK_EVENTS_NIL),
				      memory_order_relaxed);
		SHMK_CRASH_POINT("events.mpsc.detached");
	}
}

/* looked: see rx_peek (the first look only). */
EV_HOT int rx_next(struct shmk_events_rx *rx, uint32_t *slot, uint32_t *len, bool looked)
{
	if (!rx)
		return SHMK_FAIL(-EINVAL);
	if (SHMK_UNLIKELY(!rx->claimed)) {
		int rc = shmk_ev_rx_claim(rx);
		if (rc)
			return rc;
	}
	/* bounded: a skip frees one cell, then we look once more */
	for (int i = 0; i < 3; i++) {
		int rc = rx_peek(rx, slot, len, looked && i == 0);
		if (rc != 1)
			return rc;
	}
	return SHMK_FAIL(SHMK_EEMPTY);
}

/* r[impl events.pool.dry-return] the receive of a dry pool's time: the
 * slot goes back to the pool, detached from its cell first */
static __attribute__((noinline, cold)) void recv_dry(struct shmk_events_rx *rx, uint32_t slot)
{
	rx_detach(rx);
	rx_advance(rx);
	pool_push(rx->m, slot); /* refused (integrity) only for a hostile slot */
}

/* Takes the message at the head, found in slot (its length len checked),
 * into buf.  spsc: a claimed SPSC receiver (a constant where inlined, so
 * the fast path stores head without asking rx_advance what kind it is). */
EV_HOT int recv_take(struct shmk_events_rx *rx, struct shmk_events_layout *l, bool spsc, void *buf,
		     size_t cap, size_t *len_out, struct shmk_events_sizes *sizes, uint32_t slot,
		     uint32_t len)
{
	/* r[impl events.recv.bufsmall] */
	if (SHMK_UNLIKELY(cap < len)) {
		if (sizes)
			*sizes = (struct shmk_events_sizes){ len, cap };
		return SHMK_FAIL(SHMK_EBUFSMALL);
	}
	copy_msg(buf, l->slots[slot].data, len);
	/* r[impl events.spsc.recycle] r[impl events.mpsc.recycle] the slot
	 * stays attached to its cell for the sender's next lap: no shared
	 * free list per message.  r[impl events.pool.dry-return] Unless the
	 * pool is empty: then it goes back there, detached first (a plain
	 * load of a line nobody writes while the pool has slots). */
	if (SHMK_UNLIKELY((uint32_t)SHMK_LOAD_U64(&l->pool.free_head) == SHMK_EVENTS_NIL))
		recv_dry(rx, slot);
	else if (spsc)
		spsc_advance(rx, l);
	else
		rx_advance(rx);
	wake_space(rx->m);
	if (len_out)
		*len_out = len;
	return 0;
}

/* Every receive but the SPSC fast path's: looked, see rx_peek. */
static __attribute__((noinline)) int recv_slow(struct shmk_events_rx *rx, void *buf, size_t cap,
					       size_t *len_out, struct shmk_events_sizes *sizes,
					       bool looked)
{
	uint32_t slot = 0, len = 0; /* set on success; gcc -O1 cannot see it through the inlined peek */
	int rc = rx_next(rx, &slot, &len, looked);

	return rc ? rc : recv_take(rx, L(rx->m), false, buf, cap, len_out, sizes, slot, len);
}

/* The fast path: a claimed SPSC receiver in a region whose senders store
 * seq (rx->spsc, set by the claim) - ring_look, then recv_take, the same
 * loads, orders and crash point as rx_peek's path to them; everything
 * else goes to recv_slow. */
int shmk_events_try_recv(struct shmk_events_rx *rx, void *buf, size_t cap, size_t *len_out,
			 struct shmk_events_sizes *sizes)
{
	struct shmk_events_layout *l = rx ? rx->spsc : NULL;

	if (SHMK_UNLIKELY(!l))
		return recv_slow(rx, buf, cap, len_out, sizes, false);
	uint64_t h = rx->head;
	uint32_t s;
	/* r[impl events.spsc.slot-seq+2] */
	int k = ring_look(l, spsc_ring_of(l), h, &s);
	if (SHMK_UNLIKELY(k != 0))
		return k == 1 ? SHMK_FAIL(SHMK_EEMPTY)
			      : recv_slow(rx, buf, cap, len_out, sizes, true);
	/* as in rx_peek: the cached tail stays in [head, tail] */
	if (rx->tail_cache == h)
		rx->tail_cache = h + 1;
	/* ring_look's 0 says s < SHMK_EVENTS_SLOTS */
	uint32_t n = SHMK_LOAD_U32(&l->slots[s].len);
	/* r[impl events.hostile.bounds] */
	if (SHMK_UNLIKELY(n > SHMK_EVENTS_SLOT_DATA))
		return bad_len(s, n);
	return recv_take(rx, l, true, buf, cap, len_out, sizes, s, n);
}

int shmk_events_recv_view(struct shmk_events_rx *rx, struct shmk_events_view *view)
{
	uint32_t slot = 0, len = 0; /* set on success; gcc -O1 cannot see it through the inlined peek */

	if (!view)
		return SHMK_FAIL(-EINVAL);
	int rc = rx_next(rx, &slot, &len, false);
	if (rc)
		return rc;
	/* r[impl events.zerocopy.view] */
	rx_detach(rx);
	rx_advance(rx);
	wake_space(rx->m);
	view->data = L(rx->m)->slots[slot].data;
	view->len = len;
	view->slot = slot;
	return 0;
}

int shmk_events_release(struct shmk_events_rx *rx, struct shmk_events_view *view)
{
	if (!rx || !view || !view->data)
		return SHMK_FAIL(-EINVAL);
	int rc = pool_push(rx->m, view->slot);
	view->data = NULL;
	if (rc == 0)
		wake_space(rx->m);
	return rc;
}
