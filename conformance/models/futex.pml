/*
 * futex.pml - SPIN model of shmkit's one wait primitive (impl/src/wait.c,
 * wait.h): an eventcount on a shared futex word `gen` with a waiter
 * announcement next to it (a count `cnt` and, in mode a, a `taken` mark),
 * in the two modes the modules use.
 *
 * Mode a (default; events, ring): the word moves only when a waker takes
 * an announcement.
 *
 *   waiter (shmk_wait_until)              waker (shmk_wait_fence; shmk_wait_wake)
 *   if cond: done   (the spin)            STORE_REL(head, h + 1)   (publish)
 *   loop:                                 FENCE_SC
 *     g = LOAD_ACQ(gen)                   if cnt && !taken:
 *     CAS(cnt + 1, taken = 0)  (announce)   CAS(taken = 1)          (take)
 *     FENCE_SC                              FETCH_ADD_REL(gen, 1)
 *     if cond: retract; done                futex_wake(gen)
 *     futex_wait(gen, g)
 *     slice ended, gen == g, cnt, !taken: keep it, back to the re-check
 *     retract: CAS(cnt - 1; cnt == 0 clears taken)
 *     if cond: done  (woken: look before announcing again)
 *
 * -DASYM (mode a as it runs in processes registered for membarrier
 * GLOBAL_EXPEDITED, r[common.wait.fence+2] / r[common.wait.asym]): the
 * waker keeps a compiler barrier only, and the waiter's fence is
 * membarrier, modelled as a fence executed on every registered process (it
 * drains the waker's store buffer).  -DUNREG makes waiter 0 a process that
 * cannot membarrier: at open it marks the word FENCED (its announcements
 * keep the mark), then parks with its own fence only; a waker whose one
 * load of the word shows FENCED fences and loads again.  The open waits
 * until the waker's store buffer has drained once: a store in flight when
 * the mark is set drains long before the opener's first park (the clause's
 * argument; without that wait, -DNO_GRACE, SPIN finds the in-flight
 * publish: the model shows what the argument carries).  -DLATE makes
 * waiter 0 a registered process whose membarrier is refused at park (a
 * seccomp filter installed after a fork inherited the registration): it
 * marks FENCED in its announcement and fences only itself, so a waker that
 * loaded the word before the mark skipped its fence; r[common.wait.asym.grace+2]:
 * until a re-check made after the store buffer drained, its sleeps are
 * short slices that end on their own (found by review: without them the
 * waiter sleeps with head published).  -DSAMEPROC (with LATE, NW=2) puts
 * waiter 1 in the same refused process: its announcement finds the mark
 * waiter 0 set a moment ago, and a refused process gives every
 * announcement the grace period (review s7 finding 5: the rule before +2,
 * grace only for the waiter that set the mark, is BUG_GRACE_MARKER_ONLY).
 *
 * Slices (r[common.wait.keep]): a sleep may also end on its own (its slice
 * or a signal), TMO times for waiter 0 (default 1; bounded, so that a lost
 * wake-up still ends as a sleep for ever); the waiter then keeps its
 * announcement, without a new fence or membarrier, when the word still
 * holds g and the announcement is counted and (mode a) not taken, and
 * re-checks; otherwise it retracts and announces again.
 *
 *   waker (registered)                    waiter (registered | UNREG)
 *   STORE_REL(head, h + 1)                [UNREG, at open: fenced = 1]
 *   compiler barrier                      g = LOAD_ACQ(gen); CAS(cnt + 1)
 *   v = LOAD(cnt, taken, fenced)          membarrier: DRAIN(waker) | own fence
 *   if fenced: FENCE_SC; v = LOAD(...)    if cond: retract; done
 *   if cnt && !taken: take                futex_wait(gen, g)
 *
 * Mode b (-DGENERATION; slots): the word is a generation that moves on
 * every change; the caller snapshots it before its own check
 * (shmk_slots_notify_generation, then next_unread_slot), and the wait
 * returns when it differs:
 *
 *   caller: last = LOAD_ACQ(gen); if cond: done; wait_for_change(last)
 *   waiter: if gen != last: return        waker (shmk_wait_bump)
 *   loop:                                 STORE_REL(head, h + 1)   (publish)
 *     CAS(cnt + 1)  (announce); FENCE_SC  FETCH_ADD_SC(gen, 1)
 *     if gen != last: retract; return     if LOAD_SC(cnt): futex_wake(gen)
 *     futex_wait(gen, last); retract
 *
 * Stores are modelled as x86-TSO does them: a plain store sits in the
 * storing process's store buffer until it drains (at any later moment, in
 * order); a fence, a locked read-modify-write (CAS, fetch_add) and a futex
 * syscall drain it first.  So the model catches a missing fence, not only
 * a missing re-check (SPIN itself interleaves sequentially consistently).
 * -DNW=2 runs two waiters on one word (events' MPSC space: several
 * producers), both waiting for every message, which exercises the count,
 * the take and the retract with more than one announcer.
 *
 * Checked: no lost wake-up: no waiter sleeps for ever while a message it
 * waits for was published (an invalid end state pan reports), and each
 * receives every message (assertion).
 *
 * @check safety
 * @check safety NW=2
 * @check safety GENERATION
 * @check safety GENERATION,NW=2
 * @planted BUG_NO_RECHECK safety missing-recheck-before-sleep
 * @planted BUG_ANNOUNCE_AFTER_CHECK safety announce-after-check
 * @planted BUG_WAIT_NO_VALUE safety wait-without-generation
 * @planted BUG_NO_WAKER_FENCE safety waker-without-fence
 * @planted BUG_NO_WAITER_FENCE safety waiter-without-fence
 * @planted BUG_WAKE_BEFORE_PUBLISH safety wake-before-publish
 * @planted GENERATION,BUG_WAKE_BEFORE_PUBLISH safety gen-wake-before-publish
 * @planted BUG_GEN_AFTER_ANNOUNCE safety gen-read-after-announce
 * @planted GENERATION,BUG_GEN_TAKE safety generation-mode-takes
 * @check safety ASYM
 * @check safety ASYM,UNREG
 * @check safety ASYM,NW=2
 * @check safety ASYM,UNREG,NW=2
 * @planted ASYM,BUG_NO_MEMBARRIER safety no-waker-fence-no-membarrier
 * @planted ASYM,UNREG,BUG_IGNORE_FENCED safety waker-skips-fence-unregistered-peer
 * @check safety ASYM,LATE
 * @planted ASYM,LATE,NO_GRACE safety refused-at-park-no-grace
 * @check safety ASYM,LATE,NW=2,SAMEPROC,TMO=0
 * @planted ASYM,LATE,NW=2,SAMEPROC,TMO=0,BUG_GRACE_MARKER_ONLY safety grace-only-for-the-marker
 * @check safety ASYM,TMO=2
 * @planted BUG_KEEP_MOVED safety keep-after-the-word-moved
 * @planted ASYM,BUG_KEEP_MOVED safety asym-keep-after-the-word-moved
 *
 *   BUG_NO_RECHECK          the waiter announces and sleeps on the word it
 *                           read without re-checking its condition: a
 *                           publish before the announcement is missed;
 *   BUG_ANNOUNCE_AFTER_CHECK  the waiter re-checks, then announces, then
 *                           sleeps: a publish between the two sees no one;
 *   BUG_WAIT_NO_VALUE       the sleep does not compare the word (a plain
 *                           sleep);
 *   BUG_NO_WAKER_FENCE      mode a without shmk_wait_fence: the waiter's
 *                           re-check misses the publish still in the
 *                           waker's store buffer while the waker's load of
 *                           the count misses the waiter: no take, no wake;
 *   BUG_NO_WAITER_FENCE     the announcement is a plain store with no
 *                           fence after it: the waker's load misses it
 *                           (still buffered) and the re-check ran before
 *                           the publish;
 *   BUG_WAKE_BEFORE_PUBLISH the waker looks at the count (and bumps) before
 *                           it publishes: a waiter that announces between
 *                           the two sleeps through the publish;
 *   BUG_GEN_AFTER_ANNOUNCE  mode a, the word read after the announcement
 *                           (ring.c until 2026-11-29): a late waker of an
 *                           earlier message takes the announcement and
 *                           bumps before the read, the re-check finds
 *                           nothing new, and the next waker finds the
 *                           announcement taken;
 *   BUG_NO_MEMBARRIER       ASYM without the waiter's membarrier: the
 *                           waker skips its fence and nothing drains its
 *                           publish before the re-check;
 *   BUG_IGNORE_FENCED       ASYM,UNREG with a waker that skips its fence
 *                           although the word is FENCED: the unregistered
 *                           waiter's own fence cannot drain the waker's
 *                           store buffer;
 *   NO_GRACE (with LATE)    the waiter whose membarrier was refused at
 *                           park marks FENCED and sleeps at once: a waker
 *                           that looked before the mark skipped its fence
 *                           and its take, and its publish is still
 *                           buffered during the re-check;
 *   BUG_GRACE_MARKER_ONLY   (LATE,SAMEPROC) the grace period only for the
 *                           waiter whose announcement set the mark: the
 *                           second waiter of the refused process finds it
 *                           set and sleeps through the buffered publish;
 *   BUG_KEEP_MOVED          a waiter whose slice ended keeps its
 *                           announcement although the word moved, and
 *                           sleeps on the new value: the late waker of an
 *                           earlier message took it, and the next waker
 *                           finds it taken;
 *   BUG_GEN_TAKE            mode b taking the announcement as mode a does
 *                           (found by slots_wakeup while wait.c was
 *                           written): a notify delayed between its bump and
 *                           its look takes an announcement made after the
 *                           bump, and the next notify skips the sleeper.
 *
 * In mode b the condition is the word itself, so the kernel's compare in
 * futex_wait is a re-check no ordering can skip: a missing re-check, an
 * announcement after it or a missing waiter fence cost a futex call there,
 * not a wake-up (SPIN confirms: those variants pass), and they are planted
 * in mode a only, where the condition is another variable.
 */

/* Clauses this model verifies (run-models.sh writes their evidence when
 * every @check passes and every @planted is rejected):
 * r[verify common.wait.park]        both modes
 * r[verify common.wait.fence+2]     BUG_NO_WAKER_FENCE, BUG_NO_WAITER_FENCE,
 *                                   ASYM,BUG_NO_MEMBARRIER rejected
 * r[verify common.wait.asym]        ASYM,UNREG (the mark at open)
 * r[verify common.wait.asym.look]   ASYM,UNREG; BUG_IGNORE_FENCED rejected
 * r[verify common.wait.asym.grace+2] ASYM,LATE and LATE,NW=2,SAMEPROC;
 *                                   LATE,NO_GRACE and BUG_GRACE_MARKER_ONLY
 *                                   rejected
 * r[verify common.wait.keep]        every check (TMO slices); BUG_KEEP_MOVED
 *                                   rejected
 * r[verify common.wait.take]        mode a, NW=1 and NW=2
 * r[verify common.wait.generation]  GENERATION; BUG_GEN_TAKE rejected
 * r[verify events.wake.park+2]      mode a (events' blocking calls)
 * r[verify events.wake.nosyscall+2] mode a
 * r[verify ring.reader.wait.wake+4] mode a (ring's wait)
 * r[verify ring.writer.wake+3]      mode a
 * r[verify slots.wait.nolost+2]     GENERATION
 */

#ifndef MSGS
#define MSGS 2
#endif
#ifndef NW
#define NW 1
#endif
#ifndef TMO
#define TMO 1
#endif
/* LATE: the waiters of the process refused at park */
#ifdef SAMEPROC
#define REFUSED_W(w) ((w) <= 1)
#else
#define REFUSED_W(w) ((w) == 0)
#endif

byte head;                 /* messages published, in memory */
byte gen;                  /* the futex word */
byte cnt;                  /* announced waiters, in memory */
bool taken;                /* mode a: the announcement was taken */
bool fenced;               /* ASYM: SHMK_WAIT_FENCED, sticky */

/* store buffers (one pending store per variable is enough here) */
bool wpend; byte whead;    /* waker's buffered store of head */
bool rpend; byte rcnt;     /* BUG_NO_WAITER_FENCE: a waiter's buffered count */

bool asleep[NW];           /* waiter parked in the kernel */
byte got[NW];

/* drain a store buffer: what a fence, a locked RMW or a syscall does */
#define DRAIN_W  if :: wpend -> head = whead; wpend = false :: else -> skip fi
#define DRAIN_R  if :: rpend -> cnt = rcnt; rpend = false :: else -> skip fi

/* the hardware drains buffers on its own, at any time */
active proctype tso()
{
end:	do
	:: atomic { wpend -> DRAIN_W }
	:: atomic { rpend -> DRAIN_R }
	od
}

inline wake_all()
{
	atomic {
		k = 0;
		do
		:: k < NW -> asleep[k] = false; k++
		:: else -> break
		od
	}
}

/* mode a: the waker's look at the announcement, the take, bump and wake
 * (BUG_GEN_TAKE: mode b's notify takes the same way, its bump made before);
 * lc, lt: the count and mark its one load of the word saw */
inline take_seen(lc, lt)
{
	if
	:: lc != 0 && !lt ->
		atomic {
			DRAIN_W;                       /* CAS: a locked RMW */
			if
			:: cnt != 0 && !taken -> taken = true; took = 1
			:: else -> took = 0
			fi
		};
		if
#ifdef GENERATION
		:: took -> wake_all()
#else
		:: took -> atomic { gen++ }; wake_all()
#endif
		:: else -> skip
		fi
	:: else -> skip
	fi
}

inline take()
{
	atomic { lc = cnt; lt = taken };
	take_seen(lc, lt)
}

inline publish()
{
	atomic { DRAIN_W; whead = i; wpend = true }    /* release store: buffered */
}

active proctype waker()
{
	byte i = 1;
	byte took, k, lc;
	bool lt, lf;

	do
	:: i > MSGS -> break
	:: else ->
#if defined(GENERATION)
#ifndef BUG_WAKE_BEFORE_PUBLISH
		publish();
#endif
		atomic { DRAIN_W; gen++ };             /* seq_cst bump */
#ifdef BUG_GEN_TAKE
		take();
#else
		if
		:: cnt != 0 -> wake_all()              /* seq_cst load of the count */
		:: else -> skip
		fi;
#endif
#ifdef BUG_WAKE_BEFORE_PUBLISH
		publish();
#endif
#else
#ifndef BUG_WAKE_BEFORE_PUBLISH
		publish();
#endif
#if defined(ASYM)
		/* shmk_wait_fence: a compiler barrier; one load of the word */
		atomic { lc = cnt; lt = taken; lf = fenced };
#ifndef BUG_IGNORE_FENCED
		if
		:: lf -> atomic { DRAIN_W }; take()    /* FENCED: fence, look again */
		:: else -> take_seen(lc, lt)
		fi;
#else
		take_seen(lc, lt);
#endif
#else
#ifndef BUG_NO_WAKER_FENCE
		atomic { DRAIN_W };                    /* shmk_wait_fence */
#endif
		take();
#endif
#ifdef BUG_WAKE_BEFORE_PUBLISH
		publish();
#endif
#endif
		i++
	od;
	atomic { DRAIN_W }
}

inline announce()
{
#ifdef BUG_NO_WAITER_FENCE
	atomic { DRAIN_R; rcnt = cnt + 1; rpend = true }      /* plain store, buffered */
	/* and no fence */
#else
	atomic {
		DRAIN_R; cnt++; taken = false;                /* CAS: locked */
#if defined(ASYM) && defined(UNREG)
		if
		:: me == 0 -> fenced = true
		:: else -> skip
		fi
#endif
#if defined(ASYM) && defined(LATE)
		if
		:: REFUSED_W(me) ->
#ifdef BUG_GRACE_MARKER_ONLY
			if :: !fenced -> grace = true :: else -> skip fi;
#else
			grace = true;                 /* refused: every announcement */
#endif
			fenced = true
		:: else -> skip
		fi
#endif
	};
	/* the waiter fence: the CAS drained already */
#if defined(ASYM) && !defined(BUG_NO_MEMBARRIER)
#if defined(UNREG)
	if
	:: me != 0 -> atomic { DRAIN_W }               /* membarrier */
	:: else -> skip                                /* unregistered: own fence */
	fi
#elif defined(LATE)
	if
	:: !REFUSED_W(me) -> atomic { DRAIN_W }        /* membarrier */
	:: else -> skip                                /* refused: own fence */
	fi
#else
	atomic { DRAIN_W }                             /* membarrier */
#endif
#endif
#endif
}

inline retract()
{
	atomic {
		DRAIN_R;
		if
		:: cnt > 1 -> cnt--
		:: else -> cnt = 0; taken = false
		fi
	}
}

/* a sleep ends: woken (or never slept), or its slice ends on its own (at
 * most TMO times for waiter 0) */
#define SLEEP if \
	:: !asleep[me] -> skip \
	:: atomic { asleep[me] && tmo > 0 -> asleep[me] = false; tmo--; timedout = true } \
	fi

/* the futex_wait: the syscall drains the buffer, then the kernel sleeps
 * only while the word still equals the value.  In a grace period
 * (r[common.wait.asym.grace+2]) the sleep is a short slice: it may end on
 * its own, once the store buffer the mark found has drained (NO_GRACE: a
 * full sleep, as before the grace period) */
inline futex_wait(val)
{
	atomic {
		DRAIN_R;
		timedout = false;
#ifdef BUG_WAIT_NO_VALUE
		asleep[me] = true
#else
		if
		:: gen == val -> asleep[me] = true
		:: else -> skip
		fi
#endif
	};
#if defined(LATE) && !defined(NO_GRACE)
	if
	:: grace -> atomic { (!asleep[me] || !wpend) ->
			if :: asleep[me] -> asleep[me] = false; timedout = true :: else -> skip fi }
	:: else -> SLEEP
	fi
#else
	SLEEP
#endif
}

/* r[common.wait.keep]: after a slice that ended on its own, keep the
 * announcement (no retract, no announce, no fence) when the word still
 * holds g and it is counted and, in mode a, untaken */
#ifdef GENERATION
#define KEEP_OK (timedout && gen == g && cnt != 0)
#elif defined(BUG_KEEP_MOVED)
#define KEEP_OK (timedout && cnt != 0)
#else
#define KEEP_OK (timedout && gen == g && cnt != 0 && !taken)
#endif

/* the re-check's clock read in a grace period: a re-check made after the
 * buffer drained ends it (wait.c: checked >= grace_end) */
inline grace_check()
{
#ifdef LATE
	atomic { if :: grace && !wpend -> grace = false :: else -> skip fi }
#else
	skip
#endif
}

active [NW] proctype waiter()
{
	byte g, want = 1;
	byte me = _pid - 2;     /* tso and waker come first */
	bool grace;             /* LATE: in the grace period after our mark */
	bool timedout, keep;    /* the last sleep ended on its own; kept */
	byte tmo;               /* slices left that may end on their own */

	/* one waiter's slices end on their own: the other's announcements,
	 * takes and retracts interleave with its kept one (TMO for both
	 * multiplies the NW=2 state spaces by six and finds nothing more) */
	tmo = (me == 0 -> TMO : 0);
#if defined(ASYM) && defined(UNREG)
	if
	:: me == 0 ->
		atomic { fenced = true };              /* shmk_wait_join at open */
#ifndef NO_GRACE
		!wpend                                 /* a store in flight drains */
#else
		skip
#endif
	:: else -> skip
	fi;
#endif

	do
	:: want > MSGS -> break
	:: else ->
#if defined(GENERATION)
		/* the caller: snapshot, then its own check */
		g = gen;
		if
		:: head >= want -> got[me]++; want++; goto next
		:: else -> skip
		fi;
		/* wait_for_change(g) */
		if
		:: gen != g -> goto next                /* the spin saw a change */
		:: else -> skip
		fi;
again:
#ifdef BUG_ANNOUNCE_AFTER_CHECK
		if
		:: gen != g -> goto next
		:: else -> skip
		fi;
		announce();
#else
		announce();
recheck_b:
#ifndef BUG_NO_RECHECK
		if
		:: gen != g -> retract(); goto next
		:: else -> skip
		fi;
#endif
#endif
		futex_wait(g);
#ifndef BUG_ANNOUNCE_AFTER_CHECK
		atomic { keep = KEEP_OK };
		if :: keep -> goto recheck_b :: else -> skip fi;
#endif
		retract();
		if
		:: gen != g -> goto next
		:: else -> goto again
		fi;
#else
		/* the spin: the condition may hold already */
		if
		:: head >= want -> got[me]++; want++; goto next
		:: else -> skip
		fi;
again:
#ifdef BUG_GEN_AFTER_ANNOUNCE
		announce();
		g = gen;
#else
		g = gen;                               /* acquire, BEFORE announcing */
#ifndef BUG_ANNOUNCE_AFTER_CHECK
		announce();
#endif
#endif
recheck_a:
		grace_check();
#ifndef BUG_NO_RECHECK
		if
		:: head >= want -> retract(); got[me]++; want++; goto next
		:: else -> skip
		fi;
#endif
#ifdef BUG_ANNOUNCE_AFTER_CHECK
		announce();
#endif
		futex_wait(g);
#ifndef BUG_ANNOUNCE_AFTER_CHECK
		atomic {
			keep = KEEP_OK;
#ifdef BUG_KEEP_MOVED
			if :: keep -> g = gen :: else -> skip fi
#endif
		};
		if :: keep -> goto recheck_a :: else -> skip fi;
#endif
		retract();
		/* woken: the condition first, unannounced (wait.c) */
		if
		:: head >= want -> got[me]++; want++; goto next
		:: else -> goto again
		fi;
#endif
next:
		skip
	od;
	assert(got[me] == MSGS)
}
