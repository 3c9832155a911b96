/*
 * mpsc.pml - SPIN model of the events MPSC queue (impl/src/events.c):
 * Vyukov's bounded queue with a per-cell sequence number, P producers, one
 * consumer, and the consumer's skip of a cell whose producer died between
 * claim and publish.
 *
 * Cell i starts with seq = i (mod the counter width).  A producer loads the
 * shared enqueue position pos, loads seq of cell pos & MASK (acquire):
 *   seq == pos      the cell is free for this lap: claim it by CAS pos -> pos+1;
 *   seq <  pos      (signed) the consumer has not freed it yet: full;
 *   seq >  pos      another producer claimed pos meanwhile: reload.
 * It then writes the payload and publishes with seq = pos + 1 (release).
 * The consumer at pos waits for seq == pos + 1 (acquire), reads the payload,
 * and frees the cell for the next lap with seq = pos + CAP (release).
 *
 * A producer may die after its claim, before or in the middle of its payload
 * write.  The consumer then finds pos claimed (enqueue position past it) and
 * the cell unpublished; once the claimer is dead (its process token says so,
 * after SHMK_LIVENESS_MS: modelled as a nondeterministic "timeout" that is
 * enabled only once the claimer is dead) it frees the cell without reading
 * it and moves on.  What the dead producer never published is lost (at most
 * once); what it published before is delivered.
 *
 * Counters are 3-bit and start at 6, so they wrap during the run: the model
 * checks the signed wrapping difference used with u64 counters started near
 * UINT64_MAX.  Waits are blocking guards (the C code spins, then parks on
 * the futex, or returns SHMK_EFULL/SHMK_EEMPTY to a caller that retries), so
 * a consumer wedged for ever is an invalid end state that pan reports.
 * SPIN interleaves under sequential consistency; the statement order below
 * is what the release/acquire pairs in the C code enforce.
 *
 * Checked (assertions and end states):
 *   - no torn read (payload written in two halves, lo == hi);
 *   - per-producer order, no duplication, no loss of a published message:
 *     producer p's messages arrive as 1, 2, ..., published[p], exactly;
 *   - the consumer never wedges, even when a producer died mid-claim.
 *
 * @check safety
 * @planted BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_NO_SKIP safety no-dead-producer-skip
 * @planted BUG_SKIP_LIVE safety skip-a-live-producer
 * @planted BUG_NO_CAS safety claim-without-cas
 *
 *   BUG_PUBLISH_EARLY  seq = pos + 1 is stored before the payload;
 *   BUG_NO_SKIP        the consumer never skips: a dead producer wedges it;
 *   BUG_SKIP_LIVE      the timeout fires while the claimer is alive and slow
 *                      (liveness that trusts a timer instead of the token);
 *   BUG_NO_CAS         the claim is a load then a store, not one CAS.
 */

#define CAP   2
#define MASK  (CAP - 1)
#define IDXM  7            /* counters mod 8 */
#define START 6            /* counters start near the top: they wrap */
#define P     2            /* producers */
#define K     2            /* messages per producer */

/* signed difference of two 3-bit counters is negative */
#define NEG(d) (((d) & IDXM) >= 4)

byte seq[CAP];
byte lo[CAP];
byte hi[CAP];
byte enq;                  /* shared enqueue position (CAS) */

/* ghosts: what really happened, for the assertions only */
byte claimer[CAP];         /* producer that claimed the cell's current lap */
bool dead[P];
bool finished[P];          /* returned normally or died */
byte published[P];
byte received[P];

init {
	atomic {
		seq[START & MASK] = START;
		seq[(START + 1) & MASK] = (START + 1) & IDXM;
		enq = START;
		run producer(0);
		run producer(1);
		run consumer()
	}
}

proctype producer(byte me)
{
	byte v = 1, pos, s, c;

	do
	:: v > K -> break
	:: else ->
claim:
		pos = enq;
		c = pos & MASK;
		s = seq[c];                       /* acquire: pairs with release of seq in consumer */
		if
		:: ((s - pos) & IDXM) == 0 ->
#ifdef BUG_NO_CAS
			enq = (pos + 1) & IDXM;
			claimer[c] = me;
#else
			atomic {                  /* CAS(enq, pos, pos + 1) */
				if
				:: enq == pos -> enq = (pos + 1) & IDXM; claimer[c] = me
				:: else -> goto claim
				fi
			}
#endif
		:: NEG(s - pos) ->                /* full: wait until the cell or enq moves */
			(seq[c] != s || enq != pos);
			goto claim
		:: else -> goto claim             /* another producer took pos */
		fi;

		/* claimed: a crash may strike here ... */
		if
		:: true -> skip
		:: true -> dead[me] = true; goto out
		fi;
#ifdef BUG_PUBLISH_EARLY
		d_step { seq[c] = (pos + 1) & IDXM; published[me]++ };
#endif
		lo[c] = me * 4 + v;
		/* ... or in the middle of the payload */
		if
		:: true -> skip
		:: true -> dead[me] = true; goto out
		fi;
		hi[c] = me * 4 + v;
#ifdef BUG_SKIP_LIVE
		/* nothing: the consumer may skip us while we are alive */
#endif
#ifndef BUG_PUBLISH_EARLY
		/* release: pairs with acquire of seq in consumer; ghost count in the same step */
		d_step { seq[c] = (pos + 1) & IDXM; published[me]++ };
#endif
		v++
	od;
out:
	finished[me] = true
}

proctype consumer()
{
	byte pos = START, c, a, b, p;

	do
	:: c = pos & MASK;
		if
		:: atomic { finished[0] && finished[1] && enq == pos } -> break
		:: seq[c] == ((pos + 1) & IDXM) ->        /* acquire: pairs with release in producer */
			a = lo[c];
			b = hi[c];
			assert(a == b);                    /* no torn read */
			p = a / 4;
			assert(p < P);
			assert(a % 4 == received[p] + 1);  /* per-producer order, no dup, no gap */
			received[p]++;
			seq[c] = (pos + CAP) & IDXM;       /* release: pairs with acquire in producer claim */
			pos = (pos + 1) & IDXM
#ifndef BUG_NO_SKIP
		:: (enq != pos && seq[c] != ((pos + 1) & IDXM) &&
#ifdef BUG_SKIP_LIVE
		    true
#else
		    dead[claimer[c]]                   /* liveness timeout: claimer is dead */
#endif
		   ) ->
			seq[c] = (pos + CAP) & IDXM;       /* skip: free the cell unread */
			pos = (pos + 1) & IDXM
#endif
		fi
	od;
	/* every published message was delivered */
	assert(received[0] == published[0] && received[1] == published[1])
}
