/*
 * futex.pml - SPIN model of shmkit's blocking waits: a generation counter
 * used as the futex word, a `waiters` announcement, and the rule that the
 * sleep compares the generation read before the last re-check.
 *
 * Three protocols, one mode each:
 *
 * Default: shmk_slots_wait_for_change / notify (impl/src/slots.c).  The
 * waker always bumps gen (a seq_cst RMW, which in slots is the publication
 * itself), then loads waiters; the waiter's caller read gen (`last`) before
 * the waiter announces itself (seq_cst RMW) and re-checks:
 *
 *   waiter                                waker, per message
 *   g = LOAD_ACQ(gen)   (caller's `last`) STORE_REL(head, h + 1)   (publish)
 *   STORE_SC(waiters, 1); FENCE_SC        FETCH_ADD_SC(gen, 1)     (always)
 *   if LOAD_ACQ(head) > index: done       if LOAD_SC(waiters): futex_wake(gen)
 *   futex_wait(gen, g)   (sleeps only while gen == g, checked in the kernel)
 *   loop
 *
 * -DEVENTS: park / wake_word (impl/src/events.c).  The waker bumps gen and
 * wakes only when it sees a waiter, so both sides need a seq_cst fence
 * between their store and their load (Dekker); waiters is a count the
 * waiter alone raises and lowers (the spin before parking is not modelled):
 *
 *   waiter (park)                         waker (wake_data)
 *   FETCH_ADD_SC(waiters, 1); FENCE_SC    STORE_REL(tail, t + 1)   (publish)
 *   g = LOAD_ACQ(gen)                     FENCE_SC
 *   if again() succeeds: done             if LOAD(waiters) != 0:
 *   futex_wait(gen, g)                        FETCH_ADD_REL(gen, 1); futex_wake(gen)
 *   FETCH_SUB(waiters, 1); loop
 *
 * -DRING: shmk_ring_wait / wake_reader (impl/src/ring.c since ed1587b and
 * c44cb7e).  waiters is a flag the waker TAKES (exchange to 0), so one
 * wake serves one park:
 *
 *   reader (shmk_ring_wait)               writer (publish; wake_reader)
 *   if LOAD_ACQ(head) > index: done       STORE_REL(head, h + 1)
 *   loop:                                 FENCE_SC
 *     STORE_RLX(waiters, 1); FENCE_SC     if LOAD(waiters) &&
 *     g = LOAD_ACQ(gen)                      XCHG_SC(waiters, 0):
 *     if LOAD_ACQ(head) > index: break        FETCH_ADD_SC(gen, 1)
 *     futex_wait(gen, g)                      futex_wake(gen)
 *   STORE_RLX(waiters, 0)
 *
 * THIS LOST A WAKE-UP (now a planted bug; found 2026-11-29 in ring.c, plain
 * interleaving, no store-buffer effect needed), with one writer:
 *   writer publishes head = 1, fences, is delayed before loading waiters;
 *   the reader takes record 1 (head > 0, no park) and waits for index 1:
 *   stores waiters = 1, fences;  the delayed writer loads waiters = 1,
 *   exchanges it to 0, bumps gen to 1 (nobody asleep yet);  the reader
 *   loads gen = 1 (AFTER the bump), re-checks head = 1: nothing;  the
 *   writer publishes head = 2, fences, loads waiters = 0 (taken by the
 *   stale wake): no bump, no wake;  the reader futex_waits on gen == 1
 *   and sleeps (until its liveness slice, SHMK_LIVENESS_MS / 4, expires).
 * The waker consumed an announcement whose gen read came after its bump.
 * -DRING_GEN_FIRST is the fix, and what ring.c does now: the reader reads gen
 * BEFORE it announces (g = LOAD_ACQ(gen); STORE(waiters, 1); FENCE_SC;
 * re-check head; futex_wait(gen, g)): whoever takes the announcement bumps
 * after it, hence after the gen read, so that sleep returns at once; a
 * writer that finds waiters = 0 published before the reader's fence (then
 * the re-check sees it) or after a take (whose bump ends the sleep).
 *
 * Stores are modelled as x86-TSO does them: a plain store sits in the
 * storing process's store buffer until it drains (at any later moment, in
 * order); a seq_cst fence, a locked read-modify-write and a futex syscall
 * drain it first.  So the model also catches a missing fence, not only a
 * missing re-check (SPIN itself interleaves sequentially consistently).
 *
 * Checked: no lost wake-up: the waiter never sleeps for ever while a message
 * it waits for was published (an invalid end state pan reports), and it
 * receives every message (assertion).
 *
 * @check safety
 * @check safety EVENTS
 * @check safety RING,RING_GEN_FIRST
 * @planted RING safety ring-gen-read-after-announce
 * @planted BUG_NO_RECHECK safety missing-recheck-before-sleep
 * @planted BUG_WAIT_NO_VALUE safety wait-without-generation
 * @planted BUG_COND_BUMP safety bump-only-when-waiters-no-fence
 * @planted EVENTS,BUG_NO_WAKER_FENCE safety events-waker-without-fence
 * @planted RING,RING_GEN_FIRST,BUG_RING_NO_WAKER_FENCE safety ring-writer-without-fence
 *
 *   BUG_NO_RECHECK     the waiter checks the condition, then reads gen and
 *                      sleeps on it: a publish in between is missed;
 *   BUG_WAIT_NO_VALUE  the sleep does not compare gen (a plain sleep);
 *   BUG_COND_BUMP      the waker bumps gen and wakes only when it sees
 *                      waiters set, with no fence between its publish and
 *                      that load, and the waiter has no fence either: the
 *                      store-buffer (Dekker) race loses the wake-up;
 *   BUG_NO_WAKER_FENCE (with EVENTS) wake_data without its seq_cst fence:
 *                      the waiter's check misses the publish still in the
 *                      waker's store buffer while the waker's load of
 *                      `waiters` misses the waiter: no bump, no wake;
 *   BUG_RING_NO_WAKER_FENCE (with RING) wake_reader without its seq_cst
 *                      fence: the same store-buffer race on head/waiters.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when
 * every @check passes and every @planted is rejected):
 * r[verify slots.wait.nolost]     default mode
 * r[verify events.wake.park]      EVENTS
 * r[verify events.wake.nosyscall] EVENTS
 * r[verify ring.reader.wait.wake+2]  RING,RING_GEN_FIRST (the code)
 * r[verify ring.writer.wake]       RING,RING_GEN_FIRST (the code)
 * RING alone is the earlier order (gen read after the announcement), kept
 * as a planted bug: SPIN must find its lost wake-up.
 */

#ifndef MSGS
#define MSGS 2
#endif

byte head;                 /* messages published, in memory */
byte gen;                  /* the futex word */
byte waiters;             /* a flag (ring) or a count (events) */

/* store buffers (one pending store per variable is enough here) */
bool wpend; byte whead;    /* waker's buffered store of head */
bool rpend;                /* waiter's buffered store of waiters */
byte rval = 1;             /* ... and its value (ring stores 0 as well) */

bool asleep;               /* waiter parked in the kernel */
byte got;

/* drain a store buffer: what a fence, a locked RMW or a syscall does */
#define DRAIN_W  if :: wpend -> head = whead; wpend = false :: else -> skip fi
#define DRAIN_R  if :: rpend -> waiters = rval; rpend = false :: else -> skip fi

/* the hardware drains buffers on its own, at any time */
active proctype tso()
{
end:	do
	:: atomic { wpend -> DRAIN_W }
	:: atomic { rpend -> DRAIN_R }
	od
}

active proctype waker()
{
	byte i = 1;
	byte took;

	do
	:: i > MSGS -> break
	:: else ->
		/* publish: a plain (release) store, buffered */
		atomic { DRAIN_W; whead = i; wpend = true };
#if defined(EVENTS)
#ifndef BUG_NO_WAKER_FENCE
		atomic { DRAIN_W };                    /* seq_cst fence */
#endif
		if
		:: waiters != 0 ->
			atomic { DRAIN_W; gen++ };     /* locked RMW */
			atomic { asleep = false }      /* futex_wake */
		:: else -> skip
		fi;
#elif defined(RING)
#ifndef BUG_RING_NO_WAKER_FENCE
		atomic { DRAIN_W };                    /* seq_cst fence */
#endif
		/* load waiters; if set, take it: exchange to 0 (locked RMW) */
		if
		:: waiters != 0 ->
			atomic { DRAIN_W; took = waiters; waiters = 0 };
			if
			:: took != 0 ->
				atomic { gen++ };              /* seq_cst RMW */
				atomic { asleep = false }      /* futex_wake */
			:: else -> skip
			fi
		:: else -> skip
		fi;
#elif defined(BUG_COND_BUMP)
		if
		:: waiters != 0 ->      /* load from memory: may bypass our buffered head */
			atomic { DRAIN_W; gen++ };
			atomic { asleep = false }      /* futex_wake */
		:: else -> skip
		fi;
#else
		atomic { DRAIN_W; gen++ };             /* seq_cst RMW: drains, then bumps */
		if
		:: waiters != 0 -> atomic { asleep = false }   /* futex_wake */
		:: else -> skip
		fi;
#endif
		i++
	od;
	atomic { DRAIN_W }
}

active proctype waiter()
{
	byte g, want = 1;

	do
	:: want > MSGS -> break
	:: else ->
#if defined(EVENTS)
		atomic { DRAIN_R; waiters++ };         /* seq_cst RMW + fence */
		g = gen;                               /* acquire */
		if
		:: head >= want ->                     /* again(): re-check after gen */
			atomic { waiters-- };
			got++; want++; goto next
		:: else -> skip
		fi;
#elif defined(RING)
		/* shmk_ring_wait: the record may already be there (one load) */
		if
		:: head >= want -> got++; want++; goto next
		:: else -> skip
		fi;
retry:
#ifdef RING_GEN_FIRST
		g = gen;                               /* acquire, before announcing */
#endif
		/* relaxed store of waiters = 1: buffered (after our earlier
		 * store of 0, which drains first: same FIFO) */
		atomic { DRAIN_R; rval = 1; rpend = true };
		atomic { DRAIN_R };                    /* seq_cst fence */
#ifndef RING_GEN_FIRST
		g = gen;                               /* acquire */
#endif
		if
		:: head >= want ->                     /* acquire: re-check */
			atomic { DRAIN_R; rval = 0; rpend = true };  /* relaxed store of 0 */
			got++; want++; goto next
		:: else -> skip
		fi;
		atomic {
			DRAIN_R;
			if
			:: gen == g -> asleep = true
			:: else -> skip
			fi
		};
		!asleep;                                /* woken (or never slept) */
		goto retry;
#elif defined(BUG_NO_RECHECK)
		if
		:: head >= want -> atomic { waiters = 0; rpend = false }; got++; want++; goto next
		:: else -> skip
		fi;
		g = gen;
		atomic { rpend = true };
#else
		g = gen;                               /* acquire */
#ifdef BUG_COND_BUMP
		atomic { rpend = true };               /* relaxed store, no fence */
#else
		atomic { rpend = true; DRAIN_R };      /* seq_cst store + fence */
#endif
		if
		:: head >= want ->                     /* acquire; re-check after gen */
			atomic { waiters = 0; rpend = false };
			got++; want++; goto next
		:: else -> skip
		fi;
#endif
		/* futex_wait(gen, g): the syscall drains the buffer, then the
		 * kernel sleeps only while gen still equals g */
		atomic {
			DRAIN_R;
#ifdef BUG_WAIT_NO_VALUE
			asleep = true
#else
			if
			:: gen == g -> asleep = true
			:: else -> skip
			fi
#endif
		};
		!asleep;                                /* woken (or never slept) */
#if defined(EVENTS)
		atomic { waiters-- };
#endif
next:
		skip
	od;
	assert(got == MSGS)
}
