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
 * Dead-producer skip (events.c mpsc_stalled): before its claiming CAS a
 * producer records the position in its row of the producer table
 * (intent); when it returns SHMK_EFULL it moves the intent away.  A producer
 * may die before its claim, after it, or in the middle of its cell write.
 * The consumer that finds its head cell claimed (tail past it) but
 * unpublished waits SHMK_LIVENESS_MS (modelled: any time), scans the rows,
 * and if no row with a live token has that position as intent, frees the
 * cell with a CAS of seq from pos to pos + CAP.  The producer publishes with
 * a CAS of seq from pos to pos + 1, so skip and publish exclude each other;
 * a producer whose cell was skipped gets SHMK_EPEERDEAD and publishes
 * nothing.  Row liveness is a flag per row that stands for the process
 * token check (zombie- and PID-reuse-safe).  What a dead producer never
 * published is lost (at most once); what it published before is delivered.
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
 * @planted BUG_INTENT_LATE safety intent-after-claim
 *
 *   BUG_PUBLISH_EARLY  seq = pos + 1 is stored before the payload;
 *   BUG_NO_SKIP        the consumer never skips: a dead producer wedges it;
 *   BUG_SKIP_LIVE      the consumer skips after the timeout without scanning
 *                      the table (a timer instead of the token);
 *   BUG_NO_CAS         the claim is a load then a store, not one CAS;
 *   BUG_INTENT_LATE    the intent is recorded after the claiming CAS: a live
 *                      claimer is invisible in between and gets skipped.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify events.mpsc.vyukov]
 * r[verify events.mpsc.order]
 * r[verify events.mpsc.intent]
 * r[verify events.mpsc.dead-producer]
 * r[verify events.mpsc.publish-cas]
 */

#define CAP   2
#define MASK  (CAP - 1)
#define IDXM  7            /* counters mod 8 */
#define START 6            /* counters start near the top: they wrap */
#define P     2            /* producers */
#define K     2            /* messages per producer */
#define NONE  255          /* intent: claiming nothing (pos + 2^63 in the C code) */

/* signed difference of two 3-bit counters is negative */
#define NEG(d) (((d) & IDXM) >= 4)

byte seq[CAP];
byte lo[CAP];
byte hi[CAP];
byte tail;                 /* producers' claim counter (CAS) */
byte intent[P];            /* producer table: the position each row is claiming */
bool dead[P];              /* the row's process token is dead (zombie/PID-reuse safe) */

/* ghosts: what really happened, for the assertions only */
bool finished[P];          /* returned normally, gave up, or died */
byte published[P];
byte received[P];

init {
	atomic {
		seq[START & MASK] = START;
		seq[(START + 1) & MASK] = (START + 1) & IDXM;
		tail = START;
		intent[0] = NONE;
		intent[1] = NONE;
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
		pos = tail;
claim:
		c = pos & MASK;
		s = seq[c];                       /* acquire: pairs with release of seq in consumer */
		if
		:: ((s - pos) & IDXM) == 0 ->
#ifndef BUG_INTENT_LATE
			intent[me] = pos;         /* r[events.mpsc.intent]: before the claiming CAS */
#endif
			if                        /* a crash between intent and claim */
			:: true -> skip
			:: true -> dead[me] = true; goto out
			fi;
#ifdef BUG_NO_CAS
			tail = (pos + 1) & IDXM;
#else
			atomic {                  /* CAS(tail, pos, pos + 1), release */
				if
				:: tail == pos -> tail = (pos + 1) & IDXM
				:: else -> pos = tail; goto claim   /* failed CAS reloads pos */
				fi
			}
#endif
#ifdef BUG_INTENT_LATE
			;
			intent[me] = pos;
#endif
		:: NEG(s - pos) ->                /* full: give up the intent, SHMK_EFULL ... */
			intent[me] = NONE;
			(seq[c] != s || tail != pos);   /* ... the caller retries later */
			pos = tail;
			goto claim
		:: else -> pos = tail; goto claim /* another producer took pos */
		fi;

		/* claimed: a crash may strike here ... */
		if
		:: true -> skip
		:: true -> dead[me] = true; goto out
		fi;
#ifdef BUG_PUBLISH_EARLY
		atomic { seq[c] == pos -> seq[c] = (pos + 1) & IDXM; published[me]++ };
#endif
		lo[c] = me * 4 + v;
		/* ... or in the middle of writing the cell */
		if
		:: true -> skip
		:: true -> dead[me] = true; goto out
		fi;
		hi[c] = me * 4 + v;
#ifndef BUG_PUBLISH_EARLY
		/* publish: CAS(seq, pos, pos + 1), release, pairs with acquire of seq
		 * in consumer; exclusive with the consumer's skip CAS */
		atomic {
			if
			:: seq[c] == pos -> seq[c] = (pos + 1) & IDXM; published[me]++
			:: else -> goto out       /* skipped: SHMK_EPEERDEAD, nothing published */
			fi
		};
#endif
		v++
	od;
out:
	finished[me] = true
}

proctype consumer()
{
	byte pos = START, c, a, b, p, i;

	do
	:: c = pos & MASK;
		if
		:: atomic { finished[0] && finished[1] && tail == pos } -> break
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
		:: (seq[c] == pos && tail != pos) ->   /* claimed, unpublished: stalled */
			/* after SHMK_LIVENESS_MS (any time, here): look for a live claimer */
			i = 0;
			do
			:: i == P -> break
			:: else ->
#ifndef BUG_SKIP_LIVE
				if
				:: intent[i] == pos && !dead[i] ->
					/* live claimer: look again once something changes */
					(seq[c] != pos || dead[i] || intent[i] != pos);
					goto next
				:: else -> skip
				fi;
#endif
				i++
			od;
			atomic {                           /* skip: CAS(seq, pos, pos + CAP) */
				if
				:: seq[c] == pos -> seq[c] = (pos + CAP) & IDXM; pos = (pos + 1) & IDXM
				:: else -> skip            /* published meanwhile: look again */
				fi
			}
#endif
		fi;
next:
		skip
	od;
	/* every published message was delivered */
	assert(received[0] == published[0] && received[1] == published[1])
}
