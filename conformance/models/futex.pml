/*
 * futex.pml - SPIN model of shmkit's blocking wait: a generation counter
 * used as the futex word, a `waiters` flag, and the discipline
 * "read generation -> check condition -> wait(generation)".
 *
 * Two protocols are checked.  The default is shmk_ring_wait / wake_reader
 * (impl/src/ring.c); shmk_slots_wait_for_change / notify (impl/src/slots.c)
 * is the same with the generation read by the caller before its check:
 *
 *   waiter                                waker, per message
 *   g = LOAD_ACQ(gen)                     STORE_REL(head, h + 1)   (publish)
 *   STORE_SC(waiters, 1); FENCE_SC        FETCH_ADD_SC(gen, 1)     (always)
 *   if LOAD_ACQ(head) > index: done       if LOAD_SC(waiters): futex_wake(gen)
 *   futex_wait(gen, g)   (sleeps only while gen == g, checked in the kernel)
 *   loop
 *
 * With -DEVENTS it is park / wake_word (impl/src/events.c), where the waker
 * bumps gen and wakes only when it sees a waiter, so both sides need a
 * seq_cst fence between their store and their load (Dekker):
 *
 *   waiter (park)                         waker (wake_data)
 *   FETCH_ADD_SC(waiters, 1); FENCE_SC    STORE_REL(tail, t + 1)   (publish)
 *   g = LOAD_ACQ(gen)                     FENCE_SC
 *   if again() succeeds: done             if LOAD(waiters) != 0:
 *   futex_wait(gen, g)                        FETCH_ADD_REL(gen, 1); futex_wake(gen)
 *   FETCH_SUB(waiters, 1); loop
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
 * @planted BUG_NO_RECHECK safety missing-recheck-before-sleep
 * @planted BUG_WAIT_NO_VALUE safety wait-without-generation
 * @planted BUG_COND_BUMP safety bump-only-when-waiters-no-fence
 * @planted EVENTS,BUG_NO_WAKER_FENCE safety events-waker-without-fence
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
 *                      `waiters` misses the waiter: no bump, no wake.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when it passes):
 * r[verify ring.reader.wait.wake]
 * r[verify ring.writer.wake]
 * r[verify events.wake.park]
 * r[verify events.wake.nosyscall]
 * r[verify slots.wait.nolost]
 */

#define MSGS 2

byte head;                 /* messages published, in memory */
byte gen;                  /* the futex word */
byte waiters;             /* a flag (ring) or a count (events) */

/* store buffers (one pending store per variable is enough here) */
bool wpend; byte whead;    /* waker's buffered store of head */
bool rpend;                /* waiter's buffered store of waiters = 1 */

bool asleep;               /* waiter parked in the kernel */
byte got;

/* drain a store buffer: what a fence, a locked RMW or a syscall does */
#define DRAIN_W  if :: wpend -> head = whead; wpend = false :: else -> skip fi
#define DRAIN_R  if :: rpend -> waiters = 1; rpend = false :: else -> skip fi

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
