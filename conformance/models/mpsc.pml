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
 * @check safety CONSUMER_CRASH,RESYNC
 * @planted CONSUMER_CRASH safety consumer-crash-without-resync
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

/* which producers may die (fewer with a consumer crash, to keep the search small) */
#ifdef CONSUMER_CRASH
#define MAYDIE(p) (p == 1)         /* after its claim only */
#define MAYDIE_MORE(p) false
#else
#define MAYDIE(p) true
#define MAYDIE_MORE(p) true
#endif

/* signed difference of two 3-bit counters is negative */
#define NEG(d) (((d) & IDXM) >= 4)

byte seq[CAP];
byte lo[CAP];
byte hi[CAP];
byte tail;                 /* producers' claim counter (CAS) */
byte chead;                /* consumer's head (mpsc.head.v), read by rx_claim */
byte intent[P];            /* producer table: the position each row is claiming */
bool dead[P];              /* the row's process token is dead (zombie/PID-reuse safe) */

/* ghosts: what really happened, for the assertions only */
bool finished[P];          /* returned normally, gave up, or died */
byte published[P];
byte received[P];
bool crashed;              /* the consumer was killed once */
byte limbo_p = NONE;       /* producer of the message the dead consumer held */
byte limbo_v;

init {
	atomic {
		seq[START & MASK] = START;
		seq[(START + 1) & MASK] = (START + 1) & IDXM;
		tail = START;
		chead = START;
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
			:: MAYDIE_MORE(me) -> dead[me] = true; goto out
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
		:: MAYDIE(me) -> dead[me] = true; goto out
		fi;
#ifdef BUG_PUBLISH_EARLY
		atomic { seq[c] == pos -> seq[c] = (pos + 1) & IDXM; published[me]++ };
#endif
		lo[c] = me * 4 + v;
		/* ... or in the middle of writing the cell */
		if
		:: true -> skip
		:: MAYDIE_MORE(me) -> dead[me] = true; goto out
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

/*
 * Consumer crash (-DCONSUMER_CRASH): the consumer may be SIGKILLed once, in
 * the middle of a receive (holding a message, between freeing the cell and
 * moving head, or between a skip and moving head); another process then
 * reclaims the consumer role and resumes from the shared head (rx_claim).
 * The message the dead consumer held may be lost or delivered by the
 * successor, but never twice, and the successor must not wedge.
 * -DRESYNC adds the step rx_claim takes for that (events.c, rx_claim; the
 * model found its absence): a head cell whose seq is already head + CAP
 * (or head + CAP + 1) was freed by a consumer that died before moving head,
 * so the new consumer moves head past it.
 */
#ifdef CONSUMER_CRASH
#define CRASH(pp, vv) \
	if \
	:: !crashed -> atomic { crashed = true; limbo_p = pp; limbo_v = vv; run consumer() }; goto gone \
	:: true -> skip \
	fi
#else
#define CRASH(pp, vv) skip
#endif

proctype consumer()
{
	byte pos, c, a, b, p, i, s;

	pos = chead;                               /* rx_claim: resume from the shared head */
#ifdef RESYNC
	s = seq[pos & MASK];
	if
	:: ((s - pos) & IDXM) == CAP || ((s - pos) & IDXM) == ((CAP + 1) & IDXM) ->
		pos = (pos + 1) & IDXM;
		chead = pos
	:: else -> skip
	fi;
#endif
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
			if                                 /* the dead consumer's message was lost */
			:: p == limbo_p && a % 4 == limbo_v + 1 && received[p] + 1 == limbo_v ->
				received[p]++; limbo_p = NONE
			:: else -> skip
			fi;
			assert(a % 4 == received[p] + 1);  /* per-producer order, no dup, no gap */
			CRASH(p, a % 4);                   /* killed holding the message */
			seq[c] = (pos + CAP) & IDXM;       /* release: pairs with acquire in producer claim */
			CRASH(p, a % 4);                   /* killed between freeing the cell and moving head */
			pos = (pos + 1) & IDXM;
			chead = pos;                       /* release: pairs with acquire of head in rx_claim */
			received[p]++;                     /* returned to the caller */
			if
			:: p == limbo_p -> limbo_p = NONE  /* redelivered once */
			:: else -> skip
			fi
		:: ((seq[c] - pos) & IDXM) >= 2 ->
			/* rx_peek: seq neither pos nor pos + 1 -> SHMK_EINTEGRITY for
			 * ever: the consumer is wedged */
			assert(false)
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
			if                                 /* skip: CAS(seq, pos, pos + CAP) */
			:: atomic { seq[c] == pos -> seq[c] = (pos + CAP) & IDXM };
				CRASH(NONE, 0);
				pos = (pos + 1) & IDXM;
				chead = pos
			:: atomic { seq[c] != pos -> skip }   /* published meanwhile: look again */
			fi
#endif
		fi;
next:
		skip
	od;
	/* every published message was delivered, but for one a dead consumer took */
	assert(received[0] == published[0] ||
	       (limbo_p == 0 && received[0] + 1 == published[0] && limbo_v == published[0]));
	assert(received[1] == published[1] ||
	       (limbo_p == 1 && received[1] + 1 == published[1] && limbo_v == published[1]));
gone:
	skip
}
