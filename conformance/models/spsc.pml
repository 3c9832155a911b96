/*
 * spsc.pml - SPIN model of the events SPSC queue (impl/src/events.c).
 *
 * A power-of-two ring of CAP cells; the producer owns `head`, the consumer
 * owns `tail`; each side keeps a cached copy of the other's index and reloads
 * it only when the cached value says full / empty.  The producer writes the
 * payload, then publishes head (release); the consumer loads head (acquire),
 * reads the payload, then publishes tail (release) to give the cell back.
 *
 * Indices are W-bit counters that wrap (W = 2 here, mod 4, CAP = 2): the
 * model exercises the wrapping subtraction `(head - tail) mod 2^W` the C code
 * uses on u64 counters started near UINT64_MAX.
 *
 * SPIN interleaves statements under sequential consistency; the order of
 * the statements below is the order the C code's release/acquire pairs
 * enforce on real hardware, so a swap of two statements here is exactly a
 * missing fence (or a store issued too early) there.
 *
 * The payload is written in two steps (lo, hi) so that a read of a cell the
 * producer is still writing shows up as lo != hi (a torn read).
 *
 * Checked properties:
 *   - assertions: no torn read, no loss, no duplication (the consumer sees
 *     exactly 1, 2, ..., M in order), the ring never holds more than CAP;
 *   - LTL `live`: every sent message is eventually received, under weak
 *     fairness (pan -a -f).
 *
 * @check safety
 * @check ltl:live
 * @planted BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_NO_FULL_CHECK safety no-full-check
 * @planted BUG_FULL_CHECK ltl:live stale-cached-tail
 *
 * Planted bugs (spin -D<NAME>), each must be rejected:
 *   BUG_PUBLISH_EARLY  head is published before the payload is written;
 *   BUG_FULL_CHECK     the full test never reloads the cached tail: once
 *                      full the producer spins forever (liveness fails);
 *   BUG_NO_FULL_CHECK  the producer never checks for space: it overwrites
 *                      a cell the consumer has not read.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify events.spsc.fifo]
 * r[verify events.spsc.cached-index]
 * r[verify events.queue.counter-start]
 */

#define CAP   2          /* cells, a power of two */
#define MASK  (CAP - 1)
#define IDXM  3          /* counters wrap mod 4 (2^W with W = 2) */
#define M     5          /* messages sent: more than one lap of the counters */

byte lo[CAP];            /* payload, first half */
byte hi[CAP];            /* payload, second half */
byte head;               /* producer index, published with release */
byte tail;               /* consumer index, published with release */

byte received;           /* ghost: messages the consumer accepted */
byte sent;               /* ghost: messages the producer published */

active proctype producer()
{
	byte h = 0;          /* own index (private copy of head) */
	byte ctail = 0;      /* cached tail */
	byte v = 1;

	do
	:: v > M -> break
	:: else ->
retry:
#ifndef BUG_NO_FULL_CHECK
		if
		:: ((h - ctail) & IDXM) == CAP ->
#ifndef BUG_FULL_CHECK
			ctail = tail;            /* acquire: pairs with release of tail in consumer */
#endif
			if
			:: ((h - ctail) & IDXM) == CAP -> goto retry   /* still full: spin */
			:: else -> skip
			fi
		:: else -> skip
		fi;
#endif
#ifdef BUG_PUBLISH_EARLY
		head = (h + 1) & IDXM;
#endif
		lo[h & MASK] = v;
		hi[h & MASK] = v;
#ifndef BUG_PUBLISH_EARLY
		head = (h + 1) & IDXM;           /* release: pairs with acquire of head in consumer */
#endif
		h = (h + 1) & IDXM;
		sent++;
		v++
	od
}

active proctype consumer()
{
	byte t = 0;          /* own index */
	byte chead = 0;      /* cached head */
	byte a, b;
	byte expect = 1;

	do
	:: expect > M -> break
	:: else ->
		if
		:: chead == t ->
			chead = head;            /* acquire: pairs with release of head in producer */
			if
			:: chead == t -> goto again   /* still empty: spin */
			:: else -> skip
			fi
		:: else -> skip
		fi;
		/* the ring never claims to hold more than CAP messages */
		assert(((chead - t) & IDXM) <= CAP);
		a = lo[t & MASK];
		b = hi[t & MASK];
		assert(a == b);                  /* no torn read */
		assert(a == expect);             /* no loss, no duplication, in order */
		expect++;
		received++;
		t = (t + 1) & IDXM;
		tail = t;                        /* release: pairs with acquire of tail in producer */
again:
		skip
	od
}

/* every sent message is eventually received (checked with weak fairness) */
ltl live { [] ((sent > received) -> <> (received == sent)) && <> (received == M) }
