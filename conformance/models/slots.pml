/*
 * slots.pml - SPIN model of the slot allocator's publish / read / reclaim
 * protocol (impl/src/slots.c).
 *
 * One owner publishes K samples into N slots; R readers each read every
 * sample, in sequence-number order, and set their mybit in the slot's reader
 * mask once they are done with it.  Each slot has a header {sn, mask} and
 * a payload written in two halves (lo, hi) so a torn read shows as lo != hi.
 *
 * Owner, per sample v = 1..K:
 *   reserve: pick a slot that is empty or whose mask holds every reader
 *            that is active and alive (dead readers are reaped here: their
 *            bits no longer count); wait while none is free (SHMK_EFULL to
 *            a caller that retries);
 *   write:   invalidate the header (sn = 0), write the payload, clear mask;
 *   publish: store sn = v (release).
 * Reader, for v = 1..K: find the slot whose sn == v (acquire) and whose
 *   mask lacks its mybit, read the payload, then set its mybit (fetch_or,
 *   release).  A reader may die at any step, also holding unread samples.
 *
 * SPIN interleaves under sequential consistency; the statement order below
 * is what the release/acquire pairs in the C code enforce.  Reader death is
 * a ghost flag that the owner's reap consults: it stands for the process
 * token check that zombies and PID reuse cannot fool.
 *
 * Checked (assertions and end states):
 *   - no torn read: a reader only ever sees lo == hi == the sn it chose;
 *   - no reuse while unread: no loss, no duplication, sn order for every
 *     live reader (it sees 1, 2, ..., K exactly), and the owner never
 *     overwrites a slot a live reader is reading (assertion in the owner);
 *   - a dead reader does not pin slots for ever (no invalid end state).
 *
 * @check safety
 * @planted BUG_NO_MASK_CHECK safety reclaim-without-mask
 * @planted BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_MARK_EARLY safety mark-before-read
 * @planted BUG_NO_REAP safety dead-reader-pins-slots
 *
 *   BUG_NO_MASK_CHECK  the owner reuses any published slot, oldest first,
 *                      without looking at the mask;
 *   BUG_PUBLISH_EARLY  sn is stored before the payload;
 *   BUG_MARK_EARLY     the reader sets its mybit before it reads the payload;
 *   BUG_NO_REAP        a dead reader's mybit still counts as required.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify slots.publish.order]
 * r[verify slots.reuse.rule]
 * r[verify slots.reader.reap]
 */

#define N 2                /* slots */
#define K 3                /* samples */
#define R 2                /* readers; reader 1 may die */
#define ALL 3              /* mask of every registered reader */

byte sn[N];                /* 0 = empty / being written */
byte mask[N];
byte lo[N];
byte hi[N];

/* ghosts */
bool dead[R];
byte reading[N];           /* readers currently copying the slot's payload */

#ifdef BUG_NO_REAP
#define LIVE ALL
#else
#define LIVE ((dead[0] -> 0 : 1) | (dead[1] -> 0 : 2))
#endif

#ifdef BUG_NO_MASK_CHECK
/* any slot that is empty or published: the mask is not consulted */
#define FREE(i) (sn[i] == 0 || sn[i] + N - 1 <= v - 1)
#else
#define FREE(i) (sn[i] == 0 || (mask[i] & LIVE) == LIVE)
#endif

active proctype owner()
{
	byte v = 1, i;

	do
	:: v > K -> break
	:: else ->
		/* reserve: wait until a slot is free, then take one of the free ones */
		atomic {
			(FREE(0) || FREE(1));
			if
			:: FREE(0) -> i = 0
			:: FREE(1) -> i = 1
			fi
		};
		sn[i] = 0;
#ifdef BUG_PUBLISH_EARLY
		mask[i] = 0;
		sn[i] = v;
#endif
		assert(reading[i] == 0);   /* never overwrite a slot being read */
		lo[i] = v;
		hi[i] = v;
#ifndef BUG_PUBLISH_EARLY
		mask[i] = 0;
		sn[i] = v;                 /* release: pairs with acquire of sn in reader */
#endif
		v++
	od
}

#define READY(i) (sn[i] == v && (mask[i] & mybit) == 0)

proctype reader(byte me)
{
	byte v = 1, i, a, b, mybit;

	mybit = 1 << me;

	do
	:: v > K -> break
	:: else ->
		if                         /* reader 1 may die here ... */
		:: me == 1 -> dead[me] = true; goto out
		:: true -> skip
		fi;
retry:
		(READY(0) || READY(1));    /* acquire of sn: pairs with release in owner */
		if
		:: READY(0) -> i = 0
		:: READY(1) -> i = 1
		fi;
#ifdef BUG_MARK_EARLY
		mask[i] = mask[i] | mybit;
#endif
		reading[i]++;
		a = lo[i];
		if                         /* ... or in the middle of a read */
		:: me == 1 -> d_step { dead[me] = true; reading[i]-- }; goto out
		:: true -> skip
		fi;
		b = hi[i];
		reading[i]--;
		/* read_slot: acquire fence, then sn again: a slot recycled under
		 * the copy is reported (SHMK_EEMPTY), never returned torn */
		if
		:: sn[i] != v -> goto retry
		:: else -> skip
		fi;
		assert(a == b);            /* no torn read */
		assert(a == v);            /* no loss, no duplication, sn order */
#ifndef BUG_MARK_EARLY
		/* mark_read: sn still ours, then fetch_or (release): pairs with
		 * the acquire of mask in the owner's reserve */
		if
		:: sn[i] != v -> goto retry
		:: else -> skip
		fi;
		mask[i] = mask[i] | mybit;
#endif
		v++
	od;
out:
	skip
}

init {
	atomic {
		run reader(0);
		run reader(1)
	}
}
