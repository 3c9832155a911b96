/*
 * slots.pml - SPIN model of the slot allocator's publish / read / reclaim
 * protocol (impl/src/slots_data.c).
 *
 * One owner publishes K samples into N slots; R readers each read every
 * sample, in sequence-number order, and set their bit in the slot's reader
 * mask once they are done with it.  Each slot has a header {sn, mask} and
 * a payload written in two halves (lo, hi) so a torn read shows as lo != hi.
 *
 * Owner, per sample v = 1..K (reserve_slot, then commit_slot / publish):
 *   reserve: pick a slot that was never committed or whose mask holds every
 *            registered, live reader (dead readers are reaped: their bits
 *            no longer count); wait while none is free (SHMK_EFULL to a
 *            caller that retries); unpublish it (sn = 0, release fence);
 *   write:   the payload, then mask = ~owed (every reader owed the sample
 *            has its bit clear);
 *   publish: sn = v (release), then the header's next_sn = v + 1 (release).
 * Reader, per sample (next_unread_slot, read_slot, mark_read):
 *   scan:    end = next_sn (acquire); for each slot: sn (acquire), skip 0 or
 *            >= end or >= best; mask; acquire fence; sn again, and keep the
 *            slot only when both sn loads agree and its bit is clear: the
 *            lowest such sn is the handle;
 *   read:    sn must equal the handle's, copy the payload, acquire fence, sn
 *            again (a slot recycled under the copy is SHMK_EEMPTY, retried);
 *   mark:    sn still the handle's, then fetch_or of its bit (release).
 *   Reader 1 may die at any step, also holding unread samples.
 *
 * SPIN interleaves under sequential consistency; the statement order below
 * is what the release/acquire pairs and fences in the C code enforce.
 * Reader death is a ghost flag that the owner's reap consults: it stands
 * for the process token check that zombies and PID reuse cannot fool.
 *
 * Checked (assertions and end states):
 *   - no torn read: a reader only ever accepts lo == hi == the sn it chose;
 *   - no reuse while unread: no loss, no duplication, sn order for every
 *     live reader (it accepts 1, 2, ..., K exactly), and the owner never
 *     overwrites a slot a reader is copying (assertion in the owner);
 *   - a dead reader does not pin slots for ever (no invalid end state).
 *
 * @check safety
 * @planted BUG_NO_MASK_CHECK safety reclaim-without-mask
 * @planted BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_MARK_EARLY safety mark-before-read
 * @planted BUG_NO_REAP safety dead-reader-pins-slots
 * @planted BUG_NO_SN_CHECKS safety old-sn-with-new-mask
 *
 *   BUG_NO_MASK_CHECK  the owner reuses any published slot, oldest first,
 *                      without looking at the mask;
 *   BUG_PUBLISH_EARLY  sn and next_sn are stored before the payload;
 *   BUG_MARK_EARLY     the reader sets its bit before it reads the payload;
 *   BUG_NO_REAP        a dead reader's bit still counts as required;
 *   BUG_NO_SN_CHECKS   the reader never loads sn again: next_unread_slot
 *                      pairs an old sn with the mask of the slot's next
 *                      commit, and read_slot neither compares sn with the
 *                      handle nor re-loads it after the copy.  Under
 *                      sequential consistency any one of these three
 *                      checks stops the double delivery (the model accepts
 *                      the scan without its re-check); the scan's re-check
 *                      and the fences of slots.publish.order+2 keep it so
 *                      when loads are reordered, which SPIN cannot show.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify slots.publish.order+2]
 * r[verify slots.reuse.rule]
 * r[verify slots.reader.reap+2]
 */

#define N 2                /* slots */
#define K 3                /* samples */
#define R 2                /* readers; reader 1 may die */
#define ALL 3              /* mask of every registered reader */

byte sn[N];                /* 0 = empty / being written */
byte mask[N];
byte lo[N];
byte hi[N];
byte nsn = 1;              /* header next_sn: every sn below it is published */

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
		nsn = v + 1;
#endif
		assert(reading[i] == 0);   /* never overwrite a slot being read */
		lo[i] = v;
		hi[i] = v;
#ifndef BUG_PUBLISH_EARLY
		mask[i] = 0;
		sn[i] = v;                 /* release: pairs with acquire of sn in reader */
#endif
#ifndef BUG_PUBLISH_EARLY
		nsn = v + 1;               /* release: pairs with acquire of next_sn in reader */
#endif
		v++
	od
}

/* something this reader may read: what wait_for_change waits for */
#define HINT(i) (sn[i] != 0 && (mask[i] & mybit) == 0)
#define NONE 255

proctype reader(byte me)
{
	byte v = 1, i, a, b, mybit, s1, s2, m, best, bi, end;

	mybit = 1 << me;

	do
	:: v > K -> break
	:: else ->
		if                         /* reader 1 may die here ... */
		:: me == 1 -> dead[me] = true; goto out
		:: true -> skip
		fi;
retry:
		(HINT(0) || HINT(1));
		/* next_unread_slot: the unread sample with the lowest sn among
		 * those published (sn < next_sn) when the scan starts */
		end = nsn;                 /* acquire: pairs with release of next_sn in owner */
		best = NONE;
		i = 0;
		do
		:: i == N -> break
		:: else ->
			s1 = sn[i];        /* acquire: pairs with release of sn in owner */
			if
			:: s1 == 0 || s1 >= end || s1 >= best -> skip
			:: else ->
				m = mask[i];
#ifdef BUG_NO_SN_CHECKS
				s2 = s1;
#else
				s2 = sn[i];    /* acquire fence, then sn again */
#endif
				if
				:: s2 == s1 && (m & mybit) == 0 -> best = s1; bi = i
				:: else -> skip
				fi
			fi;
			i++
		od;
		if
		:: best == NONE -> goto retry
		:: else -> skip
		fi;
		/* read_slot: load_committed (sn must still be the handle's) ... */
#ifndef BUG_NO_SN_CHECKS
		if
		:: sn[bi] != best -> goto retry
		:: else -> skip
		fi;
#endif
#ifdef BUG_MARK_EARLY
		mask[bi] = mask[bi] | mybit;
#endif
		reading[bi]++;
		a = lo[bi];
		if                         /* ... or in the middle of a read */
		:: me == 1 -> d_step { dead[me] = true; reading[bi]-- }; goto out
		:: true -> skip
		fi;
		b = hi[bi];
		reading[bi]--;
		/* ... copy, acquire fence, then sn again: a slot recycled under
		 * the copy is reported (SHMK_EEMPTY), never returned torn */
#ifndef BUG_NO_SN_CHECKS
		if
		:: sn[bi] != best -> goto retry
		:: else -> skip
		fi;
#endif
		assert(a == b);            /* no torn read */
		assert(a == best);         /* the data belongs to the sn read */
		assert(best == v);         /* no loss, no duplication, sn order */
#ifndef BUG_MARK_EARLY
		/* mark_read: sn still ours, then fetch_or (release): pairs with
		 * the acquire of mask in the owner's reserve */
		if
		:: sn[bi] != best -> goto retry
		:: else -> skip
		fi;
		mask[bi] = mask[bi] | mybit;
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
