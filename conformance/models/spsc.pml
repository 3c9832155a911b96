/*
 * spsc.pml - SPIN model of the events SPSC queue with slot recycling
 * (impl/src/events_queue.c: ring_space, ring_slot, tx_pool_pop,
 * ring_detach_all, ring_enqueue, rx_peek, rx_detach, rx_advance,
 * shmk_events_try_recv / recv_view / release / reserve / publish; events.c:
 * shmk_ev_tx_claim's announce), with the slot sequence word of capability
 * 0x2 (events.spsc.slot-seq+2).
 *
 * A power-of-two ring of CAP cells, each holding a slot index or NIL
 * (0xffffffff); the sender owns tail, the receiver owns head; each side
 * keeps a cached copy of the other's index and reloads it only when the
 * cached value says full / empty.  Slots live in a pool (the Treiber list,
 * modelled as a set: pool.pml checks the list itself), in a cell, in the
 * sender's hands (a reservation, or a slot between a detach and its push)
 * or in the receiver's hands (a view, or a dry-return between detach and
 * push).
 *
 * Sender, per message, either try_send or reserve + publish:
 *   try_send: space check (cached head, reload when full); the slot is the
 *     one attached to the cell at tail (a copying receive left it there a
 *     lap ago), else a pool pop; an empty pool makes the sender detach every
 *     free cell ([tail, head + CAP)) and push its slot, then pop once more;
 *     still empty: SHMK_EFULL (the caller retries later).  Payload written in
 *     two halves, then ring_enqueue with the cell as ring_slot read it (no
 *     second read: a free cell has no other writer): a cell slot other than
 *     ours goes back to the pool (detached first), the cell is stored only when it changes
 *     (a slot new to the cell first gets seq "a lap ago"), tail published
 *     (release), then the slot's seq = position + 1 (release), last.
 *   reserve: tx_pool_pop (with the same detach on empty), fill, publish =
 *     ring_enqueue of the reserved slot with the tail cell read at publish
 *     (EFULL keeps the reservation).
 * Receiver, per message: peek: the head cell's slot carries seq == head + 1:
 * the message is there (tail not read); seq of a lap ago: empty; else the
 * tail path (cached tail, reload when it counts nothing past head); a queued
 * cell holding NIL is stepped over (head + 1); a queued slot without
 * seq == head + 1 is not there yet (-DLEGACY, a region without capability
 * 0x2: no seq at all, tail alone publishes); then either
 *   copy: read both halves; dry = pool empty; dry: detach the cell; store
 *     head (release); dry: push the slot;
 *   view: detach the cell (NIL), store head, then (the caller) read the
 *     view and release it to the pool.
 *
 * Indices are W-bit counters that wrap (W = 2, mod 4, CAP = 2): the model
 * exercises the wrapping subtraction the C code uses on u64 counters started
 * near UINT64_MAX.  SPIN interleaves under sequential consistency; the
 * statement order below is the order the release/acquire pairs enforce.
 *
 * Checked properties:
 *   - assertions: no torn read (lo == hi), no loss, no duplication, in
 *     order (the receiver sees 1, 2, ..., M); the ring never holds more
 *     than CAP; a monitor process checks in every state that no slot is
 *     held by two parties (pool / a cell / the sender / the receiver) and
 *     that head <= tail <= head + CAP (wrapping), and
 *     at the end that none was lost (every slot in exactly one place);
 *   - LTL `live`: every sent message is eventually received (weak fairness);
 *   - -DSCRASH: the sender may be killed once between its tail and seq
 *     stores; a successor claims the role, resumes from tail and announces
 *     the counted message (events.spsc.reclaim-announce+4): nothing is lost;
 *   - -DRCRASH: the receiver may be killed once anywhere in a receive (after
 *     a view's detach, mid-copy, after a dry-return's detach, before a
 *     push); a successor resumes from the shared head.  At most the message
 *     the dead receiver held is lost, nothing is delivered twice, the
 *     successor steps over the NIL cell and never wedges.
 *
 * @check safety
 * @check ltl:live
 * @check safety RCRASH
 * @check safety LEGACY
 * @check safety SCRASH
 * @check ltl:live SCRASH
 * @planted LEGACY,BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_SEQ_EARLY safety seq-before-write
 * @planted BUG_SEQ_BEFORE_TAIL safety seq-before-tail
 * @planted BUG_NO_SEQ_RESET safety stale-seq-of-a-new-slot
 * @planted SCRASH,BUG_NO_ANNOUNCE ltl:live successor-does-not-announce
 * @planted BUG_NO_FULL_CHECK safety no-full-check
 * @planted BUG_FULL_CHECK ltl:live stale-cached-tail
 * @planted BUG_DRY_NO_DETACH safety dry-return-while-attached
 * @planted BUG_VIEW_LATE_DETACH safety view-detaches-after-head
 * @planted BUG_READ_AFTER_ADVANCE safety reuse-before-receiver-done
 * @planted BUG_DETACH_QUEUED safety detach-a-queued-cell
 * @planted BUG_REPLACE_PUSH_FIRST safety publish-pushes-old-before-detach
 * @planted RCRASH,BUG_NO_DETACHED_SKIP safety no-detached-skip
 *
 * Planted bugs (spin -D<NAME>), each must be rejected:
 *   BUG_PUBLISH_EARLY      (LEGACY) tail is published before the payload is
 *                          written;
 *   BUG_SEQ_EARLY          seq is stored (also) before the payload is written;
 *   BUG_SEQ_BEFORE_TAIL    seq is stored before tail: the receiver takes the
 *                          message and head passes tail (its next tail read
 *                          sees tail - head < 0: SHMK_EINTEGRITY);
 *   BUG_NO_SEQ_RESET       a slot new to its cell keeps its old seq, which may
 *                          equal this position's (fresh slots hold 0, the
 *                          seq of position 3 mod 4): taken before tail;
 *   BUG_NO_ANNOUNCE        (SCRASH) the successor does not announce the
 *                          counted message: the receiver waits for ever;
 *   BUG_FULL_CHECK         the full test never reloads the cached head: once
 *                          full the sender spins forever (liveness fails);
 *   BUG_NO_FULL_CHECK      the sender never checks for space;
 *   BUG_DRY_NO_DETACH      a copying receive on a dry pool pushes the slot
 *                          while the cell still names it;
 *   BUG_VIEW_LATE_DETACH   a view stores head before marking its cell NIL:
 *                          the sender reuses the slot under the view;
 *   BUG_READ_AFTER_ADVANCE a copying receive stores head before reading:
 *                          the sender reuses the slot mid-read;
 *   BUG_DETACH_QUEUED      the empty-pool detach starts at head, not tail:
 *                          it takes queued messages' slots;
 *   BUG_REPLACE_PUSH_FIRST publish pushes the replaced cell slot before it
 *                          detaches it from the cell;
 *   BUG_NO_DETACHED_SKIP   (with RCRASH) a queued NIL cell is not stepped
 *                          over: the successor wedges (SHMK_EINTEGRITY).
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify events.spsc.fifo]
 * r[verify events.spsc.cached-index]
 * r[verify events.queue.counter-start]
 * r[verify events.spsc.recycle]
 * r[verify events.spsc.detached-skip]
 * r[verify events.pool.dry-return]
 * r[verify events.zerocopy.view]
 * r[verify events.spsc.slot-seq+2]
 * r[verify events.spsc.reclaim-announce+4]
 */

#define CAP   2          /* cells, a power of two */
#define MASK  (CAP - 1)
#define IDXM  3          /* counters wrap mod 4 (2^W with W = 2) */
#define M     4          /* messages sent: more than one lap of the counters */
#define NS    3          /* slots: fewer than cells + reservation + view */
#define NIL   255

byte lo[NS];             /* payload, first half */
byte sq[NS];             /* slot seq: position + 1 (mod 4); 0 in a fresh slot */
byte hi[NS];             /* payload, second half */
byte cell[CAP];          /* slot index or NIL */
byte head;               /* receiver index, published with release */
byte tail;               /* sender index, published with release */
bool inpool[NS];         /* the pool's free list, as a set */
byte npool;

/* ghosts */
byte sres = NIL;         /* the sender's reservation, or a popped slot not yet in a cell */
byte shand = NIL;        /* the sender holds a slot it detached, before its push */
byte rhand = NIL;        /* the receiver's view, or a dry-return before its push */
byte leaked;             /* slots a dead receiver took with it */
byte received;           /* messages the receiver accepted */
byte sent;               /* messages the sender published */
byte expect = 1;         /* next message the receiver must see */
byte lost;               /* messages a dead receiver took with it */
bool crashed;
bool scrashed;
bool sdone;
bool slot_two_owners;    /* set by the monitor only to name its assertion (or the counters') */

#define HOLDS(s) (inpool[s] + (cell[0] == s) + (cell[1] == s) + (sres == s) + \
		  (shand == s) + (rhand == s))

init {
	atomic {
		inpool[0] = 1; inpool[1] = 1; inpool[2] = 1; npool = NS;
		cell[0] = NIL; cell[1] = NIL;
		run sender(1, false);
		run receiver();
		run monitor()
	}
}

/* no slot is held by two parties, and head <= tail <= head + CAP, in any state */
proctype monitor()
{
end:	atomic { !(HOLDS(0) <= 1 && HOLDS(1) <= 1 && HOLDS(2) <= 1 &&
		   ((tail - head) & IDXM) <= CAP) ->
		slot_two_owners = true; assert(!slot_two_owners) }
}

/* pool_pop: the lowest free slot (which one is irrelevant: slots are symmetric) */
inline pool_pop(s)
{
	d_step {
		if
		:: inpool[0] -> s = 0
		:: else -> if :: inpool[1] -> s = 1 :: else -> if :: inpool[2] -> s = 2 :: else -> s = NIL fi fi
		fi;
		if :: s != NIL -> inpool[s] = 0; npool-- :: else -> skip fi
	}
}

inline pool_push(s)
{
	d_step { assert(!inpool[s]); inpool[s] = 1; npool++ }
}

/* ring_detach_all: the pool is empty, give back every slot attached to a free cell */
inline detach_all()
{
	chead = head;                    /* acquire: pairs with release of head in receiver */
#ifdef BUG_DETACH_QUEUED
	p = chead;
#else
	p = t;
#endif
	do
	:: p == ((chead + CAP) & IDXM) -> break
	:: else ->
		s = cell[p & MASK];
		if
		:: s != NIL ->
			atomic { cell[p & MASK] = NIL; shand = s };
			atomic { pool_push(s); shand = NIL }
		:: else -> skip
		fi;
		p = (p + 1) & IDXM
	od
}

/* tx_pool_pop: the pool's slot, or once more after detach_all */
inline tx_pool_pop()
{
	atomic { pool_pop(slot); if :: slot != NIL -> sres = slot :: else -> skip fi };
	if
	:: slot == NIL ->
		detach_all();
		atomic { pool_pop(slot); if :: slot != NIL -> sres = slot :: else -> skip fi }
	:: else -> skip
	fi
}

/* ring_space: 0 or SHMK_EFULL (the caller retries once head moves) */
inline space()
{
	if
	:: ((t - chead) & IDXM) == CAP ->
#ifndef BUG_FULL_CHECK
		chead = head;            /* acquire: pairs with release of head in receiver */
#endif
		isfull = (((t - chead) & IDXM) == CAP)
	:: else -> isfull = false
	fi
#ifdef BUG_NO_FULL_CHECK
	; isfull = false
#endif
}

#ifdef SCRASH
/* the sender is SIGKILLed once between its tail and seq stores; a
 * successor claims the role and goes on with the next message */
#define SCRASH_POINT() \
	if \
	:: !scrashed -> atomic { scrashed = true; run sender(v + 1, true) }; goto sgone \
	:: true -> skip \
	fi
#else
#define SCRASH_POINT() skip
#endif

#ifdef LEGACY
#define SEQ_STORE(s, val) skip
#else
#define SEQ_STORE(s, val) sq[s] = (val)
#endif

/* ring_enqueue of `slot` (space already checked); old: the tail cell as
 * the caller read it */
inline enqueue()
{
	if
	:: old != slot && old != NIL ->
#ifdef BUG_REPLACE_PUSH_FIRST
		atomic { shand = old; pool_push(old) };
		atomic { cell[t & MASK] = NIL; shand = NIL }
#else
		atomic { cell[t & MASK] = NIL; shand = old };
		atomic { pool_push(old); shand = NIL }
#endif
	:: else -> skip
	fi;
	if
	:: old != slot ->
#ifndef BUG_NO_SEQ_RESET
		SEQ_STORE(slot, (t + 1 - CAP) & IDXM);   /* "a lap ago", before the cell names it */
#endif
		atomic { cell[t & MASK] = slot; sres = NIL }   /* release */
	:: else -> skip
	fi;
#ifdef BUG_SEQ_BEFORE_TAIL
	SEQ_STORE(slot, (t + 1) & IDXM);
#endif
#ifndef BUG_PUBLISH_EARLY
	tail = (t + 1) & IDXM;           /* release: pairs with acquire of tail in receiver */
#endif
	t = (t + 1) & IDXM;
	sent++;
	SCRASH_POINT();
#ifndef BUG_SEQ_BEFORE_TAIL
	SEQ_STORE(slot, t)               /* release, last: pairs with acquire of sq in receiver */
#else
	skip
#endif
}

/* shmk_ev_tx_claim of a successor: resume from tail, announce a counted
 * message the dead sender left without its seq */
inline claim()
{
	t = tail;
	chead = head;                    /* acquire: pairs with release of head in receiver */
	if
	:: t != chead ->
		s = cell[(t - 1) & MASK];
#ifndef BUG_NO_ANNOUNCE
		if
		:: s != NIL && sq[s] != t -> sq[s] = t
		:: else -> skip
		fi
#endif
	:: else -> skip
	fi
}

proctype sender(byte v0; bool successor)
{
	byte t = 0;          /* own index (private copy of tail) */
	byte chead = 0;      /* cached head */
	byte v = v0, slot, old, s, p;
	bool isfull;

	if
	:: successor -> claim()
	:: else -> skip
	fi;
	do
	:: v > M -> break
	:: else ->
		if
		:: true ->                               /* try_send */
retry:
			space();
			if
			:: isfull -> (head != chead); goto retry   /* SHMK_EFULL: retry later */
			:: else -> skip
			fi;
			atomic { slot = cell[t & MASK]; old = slot }  /* ring_slot: attached a lap ago? */
			if
			:: slot == NIL ->
				tx_pool_pop();
				if
				:: slot == NIL ->        /* SHMK_EFULL: retry once a slot may be back */
					(npool > 0 || head != chead); goto retry
				:: else -> skip
				fi
			:: else -> skip
			fi;
#ifdef BUG_PUBLISH_EARLY
			atomic { cell[t & MASK] = slot; sres = NIL };
			tail = (t + 1) & IDXM;
#endif
#ifdef BUG_SEQ_EARLY
			sq[slot] = (t + 1) & IDXM;
#endif
			lo[slot] = v;
			hi[slot] = v;
			enqueue()
		:: true ->                               /* reserve, fill, publish */
resv:
			tx_pool_pop();
			if
			:: slot == NIL -> (npool > 0 || head != chead); goto resv
			:: else -> skip
			fi;
			lo[slot] = v;
			hi[slot] = v;
pub:
			space();
			if
			:: isfull -> (head != chead); goto pub  /* the view stays reserved */
			:: else -> skip
			fi;
#ifdef BUG_PUBLISH_EARLY
			atomic { cell[t & MASK] = slot; sres = NIL };
			tail = (t + 1) & IDXM;
#endif
#ifdef BUG_SEQ_EARLY
			sq[slot] = (t + 1) & IDXM;
#endif
			old = cell[t & MASK];            /* publish reads the tail cell */
			enqueue()
		fi;
		v++
	od;
	sdone = true;
sgone:
	skip
}

#ifdef RCRASH
/* the receiver is SIGKILLed once here; a successor claims the role */
#define CRASH(held) \
	if \
	:: !crashed -> atomic { crashed = true; lost = lost + held; expect = expect + held; \
		if :: rhand != NIL -> leaked++; rhand = NIL :: else -> skip fi; \
		run receiver() }; goto gone \
	:: true -> skip \
	fi
#else
#define CRASH(held) skip
#endif

proctype receiver()
{
	byte h;              /* own index: rx_claim resumes from the shared head */
	byte ctail;          /* cached tail */
	byte s, a, b, q;
	bool dry;

	h = head;
	ctail = h;
	do
	:: expect > M -> break
	:: else ->
#ifndef LEGACY
		/* the seq path: the head cell's slot says whether the message is there */
		s = cell[h & MASK];              /* acquire: pairs with release of cell in sender */
		if
		:: s != NIL ->
			q = sq[s];               /* acquire: pairs with release of sq in sender */
			if
			:: q == ((h + 1) & IDXM) ->
				/* seq is stored after tail: tail >= h + 1 */
				if :: ctail == h -> ctail = (h + 1) & IDXM :: else -> skip fi;
				goto take
			:: q == ((h + 1 - CAP) & IDXM) -> goto again   /* a lap ago: empty */
			:: else -> skip
			fi
		:: else -> skip
		fi;
#endif
		if
		:: ctail == h ->                /* the cache counts nothing past head */
			ctail = tail;            /* acquire: pairs with release of tail in sender */
			/* the ring never claims to hold more than CAP messages, and
			 * head never passes tail (SHMK_EINTEGRITY) */
			assert(((ctail - h) & IDXM) <= CAP);
			if
			:: ctail == h -> goto again   /* still empty: look again */
			:: else -> skip
			fi
		:: else -> skip
		fi;
		s = cell[h & MASK];
		if
		:: s == NIL ->
#ifdef BUG_NO_DETACHED_SKIP
			assert(false)            /* SHMK_EINTEGRITY for ever: wedged */
#else
			h = (h + 1) & IDXM;      /* r[events.spsc.detached-skip] */
			head = h;                /* release: pairs with acquire of head in sender */
			goto again
#endif
		:: else -> skip
		fi;
#ifndef LEGACY
		if
		:: sq[s] != ((h + 1) & IDXM) -> goto again   /* counted, not announced yet */
		:: else -> skip
		fi;
#endif
take:
		if
		:: true ->                       /* copying receive */
#ifdef BUG_READ_AFTER_ADVANCE
			head = (h + 1) & IDXM;
#endif
			a = lo[s];
			CRASH(0);                /* mid-copy: the successor reads it again */
			b = hi[s];
			assert(a == b);          /* no torn read */
			assert(a == expect);     /* no loss, no duplication, in order */
			dry = (npool == 0);
			if
			:: dry ->
#ifdef BUG_DRY_NO_DETACH
				rhand = s
#else
				atomic { cell[h & MASK] = NIL; rhand = s }
#endif
			:: else -> skip
			fi;
			CRASH(dry);              /* copied, not returned: a detached cell is skipped (lost), an attached one read again */
			h = (h + 1) & IDXM;
			head = h;                /* release: pairs with acquire of head in sender */
			expect++;
			received++;
			if
			:: dry -> CRASH(0); atomic { pool_push(s); rhand = NIL }
			:: else -> skip
			fi
		:: true ->                       /* recv_view */
#ifdef BUG_VIEW_LATE_DETACH
			h = (h + 1) & IDXM;
			head = h;
			atomic { cell[(h - 1) & MASK] = NIL; rhand = s };
#else
			atomic { cell[h & MASK] = NIL; rhand = s };
			CRASH(1);                /* detached, head not moved: skip it */
			h = (h + 1) & IDXM;
			head = h;                /* release: pairs with acquire of head in sender */
#endif
			CRASH(1);
			a = lo[s];               /* the caller reads the view */
			b = hi[s];
			assert(a == b);
			assert(a == expect);
			expect++;
			received++;
			CRASH(0);
			atomic { pool_push(s); rhand = NIL }   /* shmk_events_release */
		fi;
again:
		skip
	od;
	/* every slot is back in exactly one place (but what a dead receiver held) */
	(sdone);
	assert(HOLDS(0) + HOLDS(1) + HOLDS(2) + leaked == NS);
	assert(HOLDS(0) <= 1 && HOLDS(1) <= 1 && HOLDS(2) <= 1);
	assert(received + lost == M);
gone:
	skip
}

/* every sent message is eventually received (checked with weak fairness) */
ltl live { [] ((sent > received) -> <> (received == sent)) && <> (received == M) }
