/*
 * mpsc.pml - SPIN model of the events MPSC queue with slot recycling
 * (impl/src/events.c as of c4bcfec/9c9b565: mpsc_claim, mpsc_publish,
 * shmk_events_try_send / reserve / publish, rx_peek, mpsc_stalled,
 * rx_detach, rx_advance, rx_claim, try_recv / recv_view / release).
 *
 * Vyukov's bounded queue: CAP cells, each with a sequence number seq and an
 * attached slot index (NIL = none).  Cell i starts with seq = i.  A producer
 * loads tail pos and seq of cell pos & MASK (acquire):
 *   seq == pos  load the cell's slot (cur), record pos as its intent in the
 *               producer table, claim by CAS tail pos -> pos + 1;
 *   seq <  pos  (signed) full: intent moved away, SHMK_EFULL;
 *   seq >  pos  another producer took pos: reload.
 * Once claimed (the same claim for every operation):
 *   try_send     the cell's slot if one is attached, else a pool pop; an
 *                empty pool publishes the cell as a hole (slot NIL) and tries
 *                the next position, SHMK_EFULL after HOLES holes in one call;
 *                the payload is written in two halves, then published with
 *                CAS seq pos -> pos + 1 (release);
 *   reserve      a pool pop; on an empty pool a claim that takes the cell's
 *                slot (cell slot := NIL) and publishes a hole, at most HOLES
 *                claims a call;
 *   publish      of a reservation: claim, an attached slot other than ours
 *                goes back to the pool, the cell gets ours, publish.
 * The consumer at head pos waits for seq == pos + 1; a NIL slot (a hole, or
 * a view whose consumer died) is stepped over; else
 *   copy   read both halves; dry = pool empty; dry: detach (slot := NIL);
 *          free the cell (seq = pos + CAP, release); store head; dry: push;
 *   view   detach, free the cell, store head; the caller reads, releases.
 * Skip and unblock (mpsc_stalled, mpsc_unblock_finish, impl/src/events_queue.c
 * as of the stall branch): a claimed (tail past pos) but unpublished head
 * cell, after SHMK_LIVENESS_MS (any time, here), with no live row whose
 * intent is pos, is skipped; with a live claimer the consumer waits, or
 * (after 2 x SHMK_LIVENESS_MS: any time, here) unblocks it all the same
 * (with -DUNBLOCK: once a run, at any of the producers' steps, one
 * message each, no deaths unless -DUNBLOCK_DEATH; a retry that could be
 * unblocked again and again would make the search unbounded).
 * The periods count from the consumer's first look at tail, which the
 * idle-poll count (events.mpsc.idle-polls) postpones by polls that read
 * the head cell's seq alone and return SHMK_EEMPTY: "any time" covers it.
 * Both are one CAS of seq from pos to a mark (pos + 2 in the C code, the
 * flag mark[] here: no lap's free or published value), then a CAS of the
 * cell's slot word to stamp UNBLOCKED(pos) - detaching a slot a live
 * claimer bound, keeping one a dead claimer left - then seq = pos + CAP.
 * The producer binds its slot with a CAS of the slot word from the word it
 * read at its claim to (BOUND(pos), slot) before writing the payload; a
 * failed bind or publish is SHMK_ESKIPPED: the producer takes back what is
 * not in the cell (a popped slot, a detached one: pushed; a reservation:
 * kept) and sends the same message again.  The slot word's stamp is the
 * lap: stamp[] here, 3 bits like the counters.
 *
 * Slots live in the pool (a set here: pool.pml checks the Treiber list), in a
 * cell, in a producer's hands (a reservation, a popped slot not yet in its
 * cell), or in the consumer's (a view, a dry-return before its push).  A
 * monitor process asserts in every state that no slot has two of these
 * owners (the slot field of a cell a live producer has claimed belongs to
 * that producer and is not counted: only it reads or writes it before the
 * publish), and the consumer asserts at the end that every slot is in
 * exactly one place but those a dead process took with it.
 *
 * Counters are 3-bit and start at 6, so they wrap during the run.  Waits
 * are blocking guards (the C code spins, parks, or returns SHMK_EFULL /
 * SHMK_EEMPTY to a caller that retries), so a process wedged for ever is an
 * invalid end state that pan reports.  SPIN interleaves under sequential
 * consistency; the statement order is what the release/acquire pairs in the
 * C code enforce.  Bounds: CAP 2, two slots (three with a consumer
 * crash), producer 0 sends 2 messages and producer 1 one; at most one
 * producer dies, at any of its steps (default); -DRESERVE lets producer 1
 * use reserve + publish (steal on an empty pool) and die after its claim;
 * -DCONSUMER_CRASH,RESYNC: producer 1 may die after its claim.
 *
 * Checked (assertions and end states):
 *   - no torn read (payload written in two halves, lo == hi);
 *   - per-producer order, no duplication, no loss of a published message:
 *     producer p's messages arrive as 1, 2, ..., published[p], exactly;
 *   - no slot owned by two parties; no slot lost by live processes;
 *   - the consumer never wedges: dead producers, holes, dead views;
 *   - a live producer whose cell was unblocked sends its message again,
 *     nothing of the first attempt is delivered, its slot comes back.
 *
 * Bug found by this model in the unblock (fixed in events.c's build): the
 * slot words started with stamp 0, which is UNBLOCKED of the lap just below
 * the counters' wrap; with counters started there, a producer stopped
 * before its bind of the first lap bound after the unblock (its CAS
 * expected the 0 the unblock wrote back), so a pushed slot stayed attached.
 *
 * Bug found by this model (fixed in events.c): publish of a reservation
 * pushed the cell's attached slot to the pool before the cell named the
 * reservation; a producer killed in between left that slot both in the pool
 * and attached to a cell the consumer then skips, so the next lap's claimer
 * reused a slot the pool also handed out (BUG_PUB_PUSH_FIRST below).
 *
 * @check safety
 * @check safety RESERVE
 * @planted BUG_PUBLISH_EARLY safety publish-before-write
 * @planted BUG_NO_SKIP safety no-dead-producer-skip
 * @planted BUG_SKIP_LIVE safety skip-a-live-producer-as-dead
 * @check safety UNBLOCK
 * @check safety UNBLOCK,RESERVE
 * @check safety UNBLOCK,UNBLOCK_DEATH
 * @planted UNBLOCK,BUG_PUBLISH_NO_CHECK safety publish-does-not-check-the-unblock
 * @planted UNBLOCK,BUG_BIND_STORE safety bind-without-cas
 * @planted UNBLOCK,BUG_UNBLOCK_KEEPS safety unblock-leaves-a-live-claimers-slot-attached
 * @planted UNBLOCK,BUG_NO_STAMP safety bind-cas-without-lap-stamp
 * @planted UNBLOCK,RESERVE,BUG_NO_STAMP safety reservation-bind-cas-without-lap-stamp
 * @planted BUG_NO_CAS safety claim-without-cas
 * @planted BUG_INTENT_LATE safety intent-after-claim
 * @planted RESERVE,BUG_PUB_PUSH_FIRST safety publish-pushes-cell-slot-before-replacing
 * @planted BUG_DRY_NO_DETACH safety dry-return-while-attached
 * @planted BUG_VIEW_LATE_DETACH safety view-frees-cell-before-detach
 * @planted BUG_NO_HOLE_SKIP safety consumer-does-not-skip-hole
 * @planted BUG_HOLE_UNPUBLISHED safety empty-pool-claim-left-unpublished
 * @planted RESERVE,BUG_STEAL_NO_DETACH safety steal-leaves-slot-attached
 * @check safety CONSUMER_CRASH,RESYNC
 * @planted CONSUMER_CRASH safety consumer-crash-without-resync
 *
 *   BUG_PUBLISH_EARLY    seq = pos + 1 is stored before the payload;
 *   BUG_NO_SKIP          the consumer never skips: a dead producer wedges it;
 *   BUG_SKIP_LIVE        the consumer skips after the timeout without scanning
 *                        the table, treating a live claimer as dead (keeps
 *                        the slot it bound attached);
 *   BUG_PUBLISH_NO_CHECK the publish stores seq = pos + 1 without checking
 *                        that the consumer unblocked the cell;
 *   BUG_BIND_STORE       the bind is a plain store, not a CAS;
 *   BUG_UNBLOCK_KEEPS    an unblock of a live claimer keeps its bound slot
 *                        attached to the cell;
 *   BUG_NO_STAMP         the bind CAS and the unblock compare the slot index
 *                        only (no lap stamp): ABA across laps;
 *   BUG_NO_CAS           the claim is a load then a store, not one CAS;
 *   BUG_INTENT_LATE      the intent is recorded after the claiming CAS;
 *   BUG_PUB_PUSH_FIRST   publish of a reservation pushes the attached slot
 *                        before the cell names the reservation (the code
 *                        before the fix);
 *   BUG_DRY_NO_DETACH    a copying receive on a dry pool pushes the slot
 *                        while the cell still names it;
 *   BUG_VIEW_LATE_DETACH a view frees the cell (seq) before detaching it;
 *   BUG_NO_HOLE_SKIP     the consumer treats a NIL slot as a message
 *                        (SHMK_EINTEGRITY for ever);
 *   BUG_HOLE_UNPUBLISHED a claim that finds no slot returns SHMK_EFULL
 *                        without publishing the cell;
 *   BUG_STEAL_NO_DETACH  a reservation takes the cell's slot but leaves it
 *                        attached.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify events.mpsc.vyukov+2]
 * r[verify events.mpsc.order]
 * r[verify events.mpsc.intent]
 * r[verify events.mpsc.dead-producer+2]
 * r[verify events.mpsc.unblock+2]
 * r[verify events.mpsc.slot-stamp]
 * r[verify events.zerocopy.publish-skipped+2]
 * r[verify events.mpsc.publish-cas+2]
 * r[verify events.mpsc.recycle]
 * r[verify events.mpsc.hole]
 * r[verify events.mpsc.steal]
 * r[verify events.mpsc.detached-skip]
 * r[verify events.pool.dry-return]
 * r[verify events.role.reclaim]
 */

#define CAP   2
#define MASK  (CAP - 1)
#define IDXM  7            /* counters mod 8 */
#define START 6            /* counters start near the top: they wrap */
#define P     2            /* producers */
#ifdef UNBLOCK
#define KP(p) 1            /* messages per producer (the unblock's retries add laps) */
#else
#define KP(p) (2 - (p))     /* messages per producer: 2 and 1 */
#endif
#define NS    3            /* slot array */
#ifdef CONSUMER_CRASH
#define NUSED 3            /* slots in use */
#else
#define NUSED 2
#endif
#define HOLES 4            /* EV_HOLES */
#define NONE  255          /* intent: claiming nothing (pos + 2^63 in the C code) */
#define NIL   255          /* no slot (0xffffffff) */

/* mpsc_claim results */
#define R_OK    0
#define R_HOLE  1
#define R_FULL  2
#define R_SKIP  3          /* SHMK_ESKIPPED: the consumer unblocked our cell */

/* slot-word stamps of the cell's current lap (wire.h: SHMK_EVENTS_STAMP_*,
 * 2 x lap + 1 and + 2).  The C stamps wrap after 2^31 laps; lap[] here is
 * a ghost that does not wrap in a run (the 3-bit counters would, after 4
 * laps, which a stopped producer can now be overtaken by). */
#define BOUND(pos)     (lap[c] * 2 + 1)
#define UNBLOCKED(pos) (lap[c] * 2 + 2)
#ifdef BUG_NO_STAMP
#define STAMP_EQ(a, b) true
#else
#define STAMP_EQ(a, b) ((a) == (b))
#endif

/* operations */
#define OP_TRY   0
#define OP_STEAL 1
#define OP_PUB   2

/* which producers may die (fewer with a consumer crash, to keep the search small) */
#if defined(UNBLOCK) && !defined(UNBLOCK_DEATH)
#define MAYDIE(p)      false            /* the stopped producer lives: the unblock is the point */
#define MAYDIE_MORE(p) false
#elif defined(CONSUMER_CRASH)
#define MAYDIE(p)      (p == 1 && ndead == 0)   /* after its claim only */
#define MAYDIE_MORE(p) false
#elif defined(RESERVE)
#define MAYDIE(p)      (p == 1 && ndead == 0)
#define MAYDIE_MORE(p) false
#else
#define MAYDIE(p)      (ndead == 0)
#define MAYDIE_MORE(p) (ndead == 0)
#endif

/* signed difference of two 3-bit counters is negative */
#define NEG(d) (((d) & IDXM) >= 4)

byte seq[CAP];
bool mark[CAP];            /* seq == pos + 2: an unblock in progress */
byte slot[CAP];            /* the slot attached to the cell, or NIL */
byte stamp[CAP];           /* the slot word's lap stamp */
byte lap[CAP];             /* ghost: laps of the cell so far (see BOUND) */
byte lo[NS];
byte hi[NS];
byte tail;                 /* producers' claim counter (CAS) */
byte chead;                /* consumer's head (mpsc.head.v), read by rx_claim */
byte intent[P];            /* producer table: the position each row is claiming */
bool dead[P];              /* the row's process token is dead (zombie/PID-reuse safe) */
bool inpool[NS];
byte npool;

/* ghosts: what really happened, for the assertions only */
byte ndead;
bool finished[P];          /* returned normally, gave up, or died */
byte published[P];
byte received[P];
bool crashed;              /* the consumer was killed once */
byte limbo_p = NONE;       /* producer of the message the dead consumer held */
byte limbo_v;
byte claimedby[CAP];       /* the producer that claimed the cell and has not published */
byte pres[P];              /* a producer's reservation / stolen slot */
byte phand[P];             /* a slot a producer popped, not yet in its cell */
byte rhand = NIL;          /* the consumer's view or dry-return slot */
byte leaked;               /* slots a dead process took with it */
byte unblocks;             /* live claimers unblocked: at most one a run (bounds the search) */
bool slot_two_owners;      /* set by the monitor only to name its assertion */

/* claimedby GONE: the claimer's publish failed after an unblock began; the
 * slot field is nobody's until the unblock finishes (it detaches it) */
#define GONE  254
#define INCELL(s, i) (slot[i] == s && (claimedby[i] == NONE || (claimedby[i] < P && dead[claimedby[i]])))
#define HOLDS(s) (inpool[s] + INCELL(s, 0) + INCELL(s, 1) + (pres[0] == s) + (pres[1] == s) + \
		  (phand[0] == s) + (phand[1] == s) + (rhand == s))
#define ONE_OWNER (HOLDS(0) <= 1 && HOLDS(1) <= 1 && HOLDS(2) <= 1)

init {
	atomic {
		seq[START & MASK] = START;
		seq[(START + 1) & MASK] = (START + 1) & IDXM;
		slot[0] = NIL; slot[1] = NIL;
		/* the stamp a bind of the lap before the first would have left */
		lap[0] = 1; lap[1] = 1;
		stamp[0] = 1; stamp[1] = 1;
		claimedby[0] = NONE; claimedby[1] = NONE;
		/* two slots only (slot 2 stays out of the pool), so the pool
		 * runs dry: holes, steals, dry returns; three with a consumer
		 * crash (a dead consumer and a dead producer may each take one) */
		inpool[0] = 1; inpool[1] = 1; npool = 2;
#if NUSED == 3
		inpool[2] = 1; npool = 3;
#endif
		tail = START;
		chead = START;
		intent[0] = NONE;
		intent[1] = NONE;
		pres[0] = NIL; pres[1] = NIL; phand[0] = NIL; phand[1] = NIL;
		run producer(0);
		run producer(1);
		run consumer();
		run monitor()
	}
}

/* no slot is held by two parties, in any state */
proctype monitor()
{
end:	atomic { !ONE_OWNER -> slot_two_owners = true; assert(!slot_two_owners) }
}

/* pool_pop: the lowest free slot (slots are symmetric) */
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

/* the process dies here (SIGKILL): what it holds is lost (events.pool.dead-holder),
 * with a slot it bound that an unblock then detached (bsl: its producer's again) */
#define DIE(cond) \
	if \
	:: true -> skip \
	:: atomic { cond -> dead[me] = true; ndead++; \
		leaked = leaked + (pres[me] != NIL) + (phand[me] != NIL) + \
			 (bsl != NIL && !(slot[c] == bsl && claimedby[c] == me)); \
		pres[me] = NIL; phand[me] = NIL }; goto out \
	fi

/* mpsc_publish: CAS(seq, pos, pos + 1), release; exclusive with the skip CAS.
 * seq is a u64 in C: it never comes back to pos; the 3-bit one here does
 * after 4 laps, so the CAS also compares the ghost claimant (the high bits) */
#ifdef BUG_PUBLISH_NO_CHECK
#define PUBLISH_CAS(okstmt) \
	atomic { seq[c] = (pos + 1) & IDXM; mark[c] = false; claimedby[c] = NONE; okstmt }
#else
#define PUBLISH_CAS(okstmt) \
	atomic { \
		if \
		:: seq[c] == pos && !mark[c] && claimedby[c] == me -> \
			seq[c] = (pos + 1) & IDXM; claimedby[c] = NONE; okstmt \
		:: else -> rc = R_SKIP; \
			if :: claimedby[c] == me -> claimedby[c] = GONE :: else -> skip fi \
		fi \
	}
#endif

/* mpsc_bind: CAS of the slot word from (cst, cur), read at the claim, to
 * (BOUND(pos), sv); then `then` in the same step (ghost ownership moves) */
#ifdef BUG_BIND_STORE
#define BIND(sv, then) \
	atomic { stamp[c] = BOUND(pos); slot[c] = sv; bound = true; then }
#else
#define BIND(sv, then) \
	atomic { \
		if \
		:: STAMP_EQ(stamp[c], cst) && slot[c] == cur -> \
			stamp[c] = BOUND(pos); slot[c] = sv; bound = true; then \
		:: else -> bound = false \
		fi \
	}
#endif

proctype producer(byte me)
{
	byte v = 1, pos, s, c, cur, cst, sl, want, rc, hole, op, t0, h0, bsl = NIL;
	bool early, bound, mk;                        /* early: BUG_PUBLISH_EARLY only */

next:
	/* forget the last call's locals (they are dead; keeps the state space small) */
	skip;
	d_step { pos = 0; s = 0; c = 0; cur = 0; cst = 0; sl = 0; want = 0; rc = 0; hole = 0; op = 0;
		 t0 = 0; h0 = 0; bound = false; mk = false; bsl = NIL };
	if
	:: v > KP(me) -> goto out
	:: else -> skip
	fi;
	if
	:: op = OP_TRY; hole = 0; goto claim          /* shmk_events_try_send */
#ifdef RESERVE
	:: me == 1 -> goto reserve                    /* shmk_events_reserve */
#endif
	fi;

reserve:
	atomic { pool_pop(sl); if :: sl != NIL -> pres[me] = sl :: else -> skip fi };
	if
	:: sl != NIL -> goto fill
	:: else -> skip
	fi;
	hole = 0;
steal:
	op = OP_STEAL;
	goto claim;
after_steal:                                          /* r[events.mpsc.steal] */
	if
	:: rc == R_OK -> goto fill
	:: else -> skip                               /* a hole, an unblock or a full queue: next cell */
	fi;
	hole++;
	if
	:: hole < HOLES -> goto steal
	:: else ->                                    /* SHMK_EFULL: the caller retries later */
		t0 = tail; h0 = chead;
		(npool > 0 || tail != t0 || chead != h0);
		goto reserve
	fi;

fill:                                                 /* the caller fills its reservation */
	lo[sl] = me * 4 + v;
	DIE(MAYDIE_MORE(me));
	hi[sl] = me * 4 + v;
	want = sl;
pub_again:
	op = OP_PUB;                                  /* shmk_events_publish */
	goto claim;
after_pub:
	if
	:: rc == R_OK -> goto publish
	:: rc == R_FULL -> goto claim                 /* (waited in claim) the view stays reserved */
	:: rc == R_SKIP ->                            /* r[events.zerocopy.publish-skipped+2] */
		assert(pres[me] == want);             /* the view is still ours: publish again */
		goto pub_again
	:: else -> assert(false)
	fi;

after_try:
	if
	:: rc == R_OK ->
#ifdef BUG_PUBLISH_EARLY
		PUBLISH_CAS(published[me]++; early = true);
#endif
		lo[sl] = me * 4 + v;
		/* a crash in the middle of writing the cell */
		DIE(MAYDIE_MORE(me));
		hi[sl] = me * 4 + v;
		goto publish
	:: rc == R_HOLE ->                            /* r[events.mpsc.hole] */
		hole++;
		if
		:: hole == HOLES ->                   /* SHMK_EFULL: the caller retries later */
			t0 = tail; h0 = chead;
			(npool > 0 || tail != t0 || chead != h0);
			hole = 0
		:: else -> skip
		fi;
		goto claim
	:: rc == R_FULL -> hole = 0; goto claim       /* (waited in claim) */
	:: rc == R_SKIP -> hole = 0; goto claim       /* SHMK_ESKIPPED: send it again */
	fi;

publish:
	DIE(MAYDIE(me));                              /* crash point events.mpsc.claimed */
	if
	:: early -> early = false
	:: else ->
		/* release, pairs with acquire of seq in consumer; exclusive with the skip CAS */
		PUBLISH_CAS(published[me]++; bsl = NIL);
		if
		:: rc == R_SKIP ->                    /* r[events.mpsc.publish-cas+2] */
			/* the unblock detached our slot: ours again, nothing sent */
			if
			:: op == OP_PUB -> atomic { pres[me] = sl; bsl = NIL }; goto pub_again
			:: else -> atomic { pool_push(sl); bsl = NIL }; hole = 0; goto claim
			fi
		:: else -> skip
		fi
	fi;
	v++;
	goto next;

	/* ---------------- mpsc_claim(op, want) */
claim:
	pos = tail;
claim_at:
	c = pos & MASK;
	d_step { s = seq[c]; mk = mark[c] }           /* acquire: pairs with release of seq in consumer */
	if
	:: ((s - pos) & IDXM) == 0 && !mk ->
		d_step { cur = slot[c]; cst = stamp[c] };   /* r[events.mpsc.recycle] one load of the word */
#ifndef BUG_INTENT_LATE
		intent[me] = pos;                     /* r[events.mpsc.intent]: before the claiming CAS */
#endif
		DIE(MAYDIE_MORE(me));                 /* a crash between intent and claim */
#ifdef BUG_NO_CAS
		atomic { tail = (pos + 1) & IDXM; claimedby[c] = me };
#else
		atomic {                              /* CAS(tail, pos, pos + 1), release */
			if
			:: tail == pos ->
				/* nobody wrote the slot word between our load and the claim */
				assert(slot[c] == cur && stamp[c] == cst);
				tail = (pos + 1) & IDXM; claimedby[c] = me
			:: else -> pos = tail; goto claim_at   /* failed CAS reloads pos */
			fi
		};
#endif
#ifdef BUG_INTENT_LATE
		intent[me] = pos;
#endif
	:: NEG(s - pos) || mk ->                      /* full: give up the intent, SHMK_EFULL ... */
		intent[me] = NONE;
		rc = R_FULL;
		(seq[c] != s || tail != pos || mark[c] != mk);   /* ... the caller retries later */
		goto claimed
	:: else -> pos = tail; goto claim_at          /* another producer took pos */
	fi;

	/* claimed: a crash, or a stop the consumer unblocks, may strike here */
	DIE(MAYDIE(me));
	if
	:: op == OP_STEAL ->                          /* take the cell's slot, publish a hole */
#ifdef BUG_STEAL_NO_DETACH
		BIND(cur, if :: cur != NIL -> pres[me] = cur :: else -> skip fi);
#else
		BIND(NIL, if :: cur != NIL -> pres[me] = cur :: else -> skip fi);
#endif
		if
		:: !bound -> intent[me] = NONE; rc = R_HOLE   /* unblocked first: the cell keeps it */
		:: else ->
			DIE(MAYDIE(me));
			PUBLISH_CAS(skip);            /* unblocked after the bind: a hole all the same */
			if
			:: cur == NIL -> rc = R_HOLE
			:: else -> sl = cur; rc = R_OK
			fi
		fi
	:: op == OP_PUB ->                            /* a reservation replaces the cell's slot */
#ifdef BUG_PUB_PUSH_FIRST
		if
		:: cur != NIL && cur != want -> pool_push(cur)
		:: else -> skip
		fi;
		DIE(MAYDIE(me));
		BIND(want, pres[me] = NIL);
#else
		BIND(want, pres[me] = NIL; bsl = want;
			if :: cur != NIL && cur != want -> phand[me] = cur :: else -> skip fi);
#endif
		if
		:: !bound -> intent[me] = NONE; rc = R_SKIP   /* the view stays ours */
		:: else ->
#ifndef BUG_PUB_PUSH_FIRST
			DIE(MAYDIE(me));
			if
			:: phand[me] != NIL -> atomic { pool_push(phand[me]); phand[me] = NIL }
			:: else -> skip
			fi;
#endif
			sl = want;
			rc = R_OK
		fi
	:: op == OP_TRY ->
		if
		:: cur != NIL -> sl = cur             /* the slot the last lap left attached */
		:: else -> atomic { pool_pop(sl); phand[me] = sl }
		fi;
		if
		:: sl == NIL ->
			/* r[events.mpsc.hole]: publish the cell empty */
#ifdef BUG_HOLE_UNPUBLISHED
			rc = R_HOLE
#else
			BIND(NIL, skip);
			if
			:: bound -> DIE(MAYDIE(me)); PUBLISH_CAS(skip)
			:: else -> intent[me] = NONE
			fi;
			rc = R_HOLE                   /* published, or unblocked: a hole either way */
#endif
		:: else ->
			DIE(MAYDIE(me));
			BIND(sl, phand[me] = NIL; bsl = sl);
			if
			:: bound -> rc = R_OK
			:: else ->                    /* unblocked first: a popped slot is still ours */
				if
				:: phand[me] != NIL -> atomic { pool_push(sl); phand[me] = NIL }
				:: else -> skip
				fi;
				intent[me] = NONE;
				rc = R_SKIP
			fi
		fi
	fi;
claimed:
	if
	:: op == OP_TRY -> goto after_try
	:: op == OP_STEAL -> goto after_steal
	:: else -> goto after_pub
	fi;
out:
	finished[me] = true
}

/*
 * Consumer crash (-DCONSUMER_CRASH): the consumer may be SIGKILLed once, in
 * the middle of a receive (holding a message, after a detach, between
 * freeing the cell and moving head, between a skip and moving head, holding
 * a view); another process then reclaims the consumer role and resumes from
 * the shared head (rx_claim).  The message the dead consumer held may be
 * lost or delivered by the successor, but never twice, and the successor
 * must not wedge.  -DRESYNC adds the step rx_claim takes for that: a head
 * cell whose seq is already head + CAP (or head + CAP + 1) was freed by a
 * consumer that died before moving head, so the new consumer moves past it.
 */
#ifdef CONSUMER_CRASH
#define CRASH(pp, vv) \
	if \
	:: !crashed -> atomic { crashed = true; limbo_p = pp; limbo_v = vv; \
		if :: rhand != NIL -> leaked++; rhand = NIL :: else -> skip fi; \
		run consumer() }; goto gone \
	:: true -> skip \
	fi
#else
#define CRASH(pp, vv) skip
#endif

/* rx_advance: free the cell for the next lap, then move head */
#define ADVANCE(pp, vv) \
	atomic { seq[c] = (pos + CAP) & IDXM; lap[c]++ };  /* release: pairs with acquire in producer claim */ \
	CRASH(pp, vv);                     /* killed between freeing the cell and moving head */ \
	pos = (pos + 1) & IDXM; \
	chead = pos                        /* release: pairs with acquire of head in rx_claim */

/* mpsc_unblock_finish: stamp the slot word UNBLOCKED(pos), detaching a
 * slot a live claimer bound (its producer's again: it pushes it or keeps its
 * view on its failed publish; until then it is counted nowhere) and keeping
 * one a dead claimer left; then free the cell for the next lap and move
 * head.  dd: the consumer found no live claimer (a successor finishing a
 * dead consumer's unblock does not know: detaches). */
#ifdef BUG_UNBLOCK_KEEPS
#define DETACH(dd) false
#else
#define DETACH(dd) (STAMP_EQ(stamp[c], BOUND(pos)) && !(dd))
#endif
#define UNBLOCK_FINISH(dd) \
	atomic { \
		if \
		:: DETACH(dd) -> \
			if \
			:: claimedby[c] < P && dead[claimedby[c]] -> leaked = leaked + (slot[c] != NIL) \
			:: else -> skip \
			fi; \
			slot[c] = NIL \
		:: else -> skip \
		fi; \
		stamp[c] = UNBLOCKED(pos); \
		claimedby[c] = NONE \
	}; \
	atomic { seq[c] = (pos + CAP) & IDXM; mark[c] = false; lap[c]++ }; \
	CRASH(NONE, 0); \
	pos = (pos + 1) & IDXM; \
	chead = pos

proctype consumer()
{
	byte pos, c, a, b, p, i, s, sl, gv;
	bool dry, live;

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
			sl = slot[c];
			if
			:: sl == NIL ->
#ifdef BUG_NO_HOLE_SKIP
				assert(false)              /* SHMK_EINTEGRITY for ever: wedged */
#else
				/* r[events.mpsc.detached-skip]: a hole or a dead consumer's view */
				ADVANCE(NONE, 0);
				goto next
#endif
			:: else -> skip
			fi;
			if
			:: true ->                         /* copying receive */
				a = lo[sl];
				b = hi[sl];
				assert(a == b);            /* no torn read */
				p = a / 4;
				assert(p < P);
				if                         /* the dead consumer's message was lost */
				:: p == limbo_p && a % 4 == limbo_v + 1 && received[p] + 1 == limbo_v ->
					received[p]++; limbo_p = NONE
				:: else -> skip
				fi;
				assert(a % 4 == received[p] + 1);  /* per-producer order, no dup, no gap */
				CRASH(p, a % 4);           /* killed holding the message */
				dry = (npool == 0);        /* r[events.pool.dry-return] */
				if
				:: dry ->
#ifdef BUG_DRY_NO_DETACH
					rhand = sl
#else
					atomic { slot[c] = NIL; rhand = sl }
#endif
				:: else -> skip
				fi;
				CRASH(p, a % 4);
				ADVANCE(p, a % 4)
			:: true ->                         /* recv_view */
				gv = lo[sl];               /* ghost: the message, for the crash accounting */
				p = gv / 4;
				assert(p < P);
				if                         /* the dead consumer's message was lost */
				:: p == limbo_p && gv % 4 == limbo_v + 1 && received[p] + 1 == limbo_v ->
					received[p]++; limbo_p = NONE
				:: else -> skip
				fi;
#ifdef BUG_VIEW_LATE_DETACH
				atomic { seq[c] = (pos + CAP) & IDXM; lap[c]++ };
				atomic { slot[c] = NIL; rhand = sl };
				pos = (pos + 1) & IDXM;
				chead = pos;
#else
				atomic { slot[c] = NIL; rhand = sl };
				CRASH(p, gv % 4);          /* detached: the successor skips it (lost) */
				ADVANCE(p, gv % 4);
#endif
				CRASH(p, gv % 4);          /* holding the view: lost */
				a = lo[sl];                /* the caller reads the view */
				b = hi[sl];
				assert(a == b);            /* no torn read */
				assert(a == gv);           /* not rewritten under the view */
				assert(a % 4 == received[p] + 1);  /* per-producer order, no dup, no gap */
				dry = true                 /* shmk_events_release pushes it */
			fi;
			received[p]++;                     /* returned to the caller */
			if
			:: p == limbo_p -> limbo_p = NONE  /* redelivered once */
			:: else -> skip
			fi;
			if
			:: dry -> atomic { pool_push(sl); rhand = NIL }
			:: else -> skip
			fi
		:: ((seq[c] - pos) & IDXM) >= 2 ->
			/* rx_peek: seq neither pos nor pos + 1 -> SHMK_EINTEGRITY for
			 * ever: the consumer is wedged */
			assert(false)
#ifndef BUG_NO_SKIP
		:: (seq[c] == pos && !mark[c] && tail != pos) ->   /* claimed, unpublished: stalled */
			/* after SHMK_LIVENESS_MS (any time, here): look for a live claimer */
			live = false;
			i = 0;
			do
			:: i == P -> break
			:: else ->
#ifndef BUG_SKIP_LIVE
				if
				:: intent[i] == pos && !dead[i] -> live = true; break
				:: else -> skip
				fi;
#endif
				i++
			od;
			if
			:: live ->
				if                         /* a live claimer: look again once something changes */
				:: (seq[c] != pos || mark[c] || dead[i] || intent[i] != pos) -> goto next
#ifdef UNBLOCK
				:: unblocks == 0 -> unblocks++   /* after 2 x SHMK_LIVENESS_MS: unblock it anyway */
#endif
				fi
			:: else -> skip
			fi;
			if                                 /* CAS(seq, pos, pos + 2): exclusive with the publish */
			:: atomic { seq[c] == pos && !mark[c] -> mark[c] = true;
					/* a skip without a live claimer is a dead one's */
					assert(live || (claimedby[c] < P && dead[claimedby[c]])) };
				CRASH(NONE, 0);            /* the successor finishes the unblock */
				UNBLOCK_FINISH(!live)
			:: atomic { (seq[c] != pos || mark[c]) -> skip }   /* published meanwhile: look again */
			fi
#endif
		:: mark[c] ->                          /* a dead consumer's unblock: finish it */
			UNBLOCK_FINISH(false)
		fi;
next:
		skip;
		d_step { a = 0; b = 0; p = 0; i = 0; s = 0; sl = 0; gv = 0; dry = false; live = false }
	od;
	/* every published message was delivered, but for one a dead consumer took */
	assert(received[0] == published[0] ||
	       (limbo_p == 0 && received[0] + 1 == published[0] && limbo_v == published[0]));
	assert(received[1] == published[1] ||
	       (limbo_p == 1 && received[1] + 1 == published[1] && limbo_v == published[1]));
	/* every slot is in exactly one place, but what a dead process took */
	assert(ONE_OWNER && HOLDS(0) + HOLDS(1) + HOLDS(2) + leaked == NUSED);
gone:
	skip
}
