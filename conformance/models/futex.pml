/*
 * futex.pml - SPIN model of shmkit's blocking wait: a generation counter
 * used as the futex word, a `waiters` flag, and the discipline
 * "read generation -> check condition -> wait(generation)".
 *
 * It is the protocol of shmk_ring_wait / wake_reader (impl/src/ring.c),
 * which events.c and slots.c follow for their own futex words:
 *
 *   waiter                                waker, per message
 *   g = LOAD_ACQ(gen)                     STORE_REL(head, h + 1)   (publish)
 *   STORE_SC(waiters, 1); FENCE_SC        FETCH_ADD_SC(gen, 1)     (always)
 *   if LOAD_ACQ(head) > index: done       if LOAD_SC(waiters): futex_wake(gen)
 *   futex_wait(gen, g)   (sleeps only while gen == g, checked in the kernel)
 *   loop
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
 * @planted BUG_NO_RECHECK safety missing-recheck-before-sleep
 * @planted BUG_WAIT_NO_VALUE safety wait-without-generation
 * @planted BUG_COND_BUMP safety bump-only-when-waiters-no-fence
 *
 *   BUG_NO_RECHECK     the waiter checks the condition, then reads gen and
 *                      sleeps on it: a publish in between is missed;
 *   BUG_WAIT_NO_VALUE  the sleep does not compare gen (a plain sleep);
 *   BUG_COND_BUMP      the waker bumps gen and wakes only when it sees
 *                      waiters set, with no fence between its publish and
 *                      that load, and the waiter has no fence either: the
 *                      store-buffer (Dekker) race loses the wake-up.
 */

#define MSGS 2

byte head;                 /* messages published, in memory */
byte gen;                  /* the futex word */
bool waiters;

/* store buffers (one pending store per variable is enough here) */
bool wpend; byte whead;    /* waker's buffered store of head */
bool rpend;                /* waiter's buffered store of waiters = 1 */

bool asleep;               /* waiter parked in the kernel */
byte got;

/* drain a store buffer: what a fence, a locked RMW or a syscall does */
#define DRAIN_W  if :: wpend -> head = whead; wpend = false :: else -> skip fi
#define DRAIN_R  if :: rpend -> waiters = true; rpend = false :: else -> skip fi

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
#ifdef BUG_COND_BUMP
		if
		:: waiters ->           /* load from memory: may bypass our buffered head */
			atomic { DRAIN_W; gen++ };
			atomic { asleep = false }      /* futex_wake */
		:: else -> skip
		fi;
#else
		atomic { DRAIN_W; gen++ };             /* seq_cst RMW: drains, then bumps */
		if
		:: waiters -> atomic { asleep = false }   /* futex_wake */
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
#ifdef BUG_NO_RECHECK
		if
		:: head >= want -> atomic { waiters = false; rpend = false }; got++; want++; goto next
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
			atomic { waiters = false; rpend = false };
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
next:
		skip
	od;
	assert(got == MSGS)
}
