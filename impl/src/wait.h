/* SPDX-License-Identifier: MIT */
/*
 * wait.h - the one wait primitive (wait.c): an eventcount on a shared
 * 32-bit futex word, in the manner of Concurrency Kit's ck_ec.  Internal.
 *
 * Two shared words per wait point, both in the module's wire layout:
 *   word     the futex word (a generation);
 *   waiters  the announcement: a count of waiters in the park loop
 *            (SHMK_WAIT_COUNT bits), in mode a SHMK_WAIT_TAKEN, set by
 *            the waker that woke them (ck_ec keeps its flag in the counter
 *            word; the wire layouts here keep a separate word, so the
 *            waker marks the announcement taken instead of clearing a
 *            flag), and SHMK_WAIT_FENCED (mode a, sticky): a process that
 *            cannot issue membarrier shares the word, so wakers fence.
 *
 *   waiter (shmk_wait_until)                waker
 *   g = LOAD_ACQ(word)   (mode a)           publish (release)
 *     or the caller's snapshot (mode b)
 *   announce: count+1, TAKEN cleared (CAS)  mode a                     mode b
 *   waiter fence                            shmk_wait_fence()          FETCH_ADD_SC(word)
 *   re-check the condition                  v = LOAD(waiters)          v = LOAD_SC(waiters)
 *   futex_wait(word, g)                     if count && !TAKEN:        if count:
 *   retract: count-1 (0 clears TAKEN)         CAS TAKEN in; bump word;   futex_wake(word)
 *                                             futex_wake(word)
 *
 * The fences make the announce / publish pair a Dekker pair: the waiter's
 * re-check sees the publish or the waker sees the announcement.  In mode
 * a the pair is asymmetric (folly's asymmetricLightBarrier /
 * asymmetricHeavyBarrier, liburcu's urcu-memb): a waker in a process
 * registered for MEMBARRIER_CMD_GLOBAL_EXPEDITED keeps only a compiler
 * barrier, and the waiter's fence is membarrier(GLOBAL_EXPEDITED), which
 * runs a full barrier on every CPU that runs a registered process: the
 * waker's publish is then visible to the re-check, or its load of waiters
 * came after the barrier and sees the announcement.  Wakes are per
 * message, parks are rare: the syscall (~1.6 us) moves off the hot path;
 * it interrupts every CPU running any registered process, unrelated
 * objects' processes included (every shmkit process registers).
 * A process that cannot register (no membarrier, seccomp, refused) fences
 * as a waker and sets FENCED in every mode-a word it opens (and in its
 * announcements), so a registered waker that finds FENCED fences too;
 * a waiter whose announcement no membarrier covered sleeps in short slices
 * for a grace period when a waker may have looked just before a fresh mark
 * and skipped its fence: it set the mark itself, its process was refused
 * after registering (another thread or process may have set the mark a
 * moment ago), or its membarrier failed this once (common.wait.asym.grace+2).
 * An announcement that a slice's end leaves counted, untaken and on an
 * unmoved word is kept: the next re-check needs no new fence or membarrier
 * (common.wait.keep).
 * In mode a the word is read BEFORE the announcement, so whoever takes the
 * announcement bumps after that read and the sleep returns at once
 * (reading it after lets a late waker take the announcement and bump
 * first: a lost wake-up, conformance/models/futex.pml).  A taken
 * announcement costs later wakers one load until a waiter announces again:
 * one wake per park, however many messages a descheduled waiter misses.
 * Mode b bumps BEFORE it looks at waiters, so it cannot take (a notify
 * delayed between its bump and its look would take an announcement made
 * after the bump, and the next notify would skip a waiter asleep on the
 * newer generation): every change wakes while a waiter is counted.  Its
 * bump is a locked RMW in any case, so mode b keeps its symmetric fences.
 *
 * Modes:
 *   SHMK_WAIT_ANNOUNCED   (a) the word moves only when a waker takes an
 *                         announcement (events, ring): a message nobody
 *                         waits for costs the fence and one load, no locked
 *                         RMW and no syscall;
 *   SHMK_WAIT_GENERATION  (b) the word moves on every change (slots: its
 *                         public notify_generation is the caller's
 *                         snapshot); futex_wake only while a waiter is
 *                         counted.
 */
#ifndef SHMK_WAIT_H
#define SHMK_WAIT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "shmkit/wire.h"

#pragma GCC visibility push(hidden)

/* SHMK_WAIT_TAKEN, SHMK_WAIT_FENCED, SHMK_WAIT_COUNT: the announcement
 * word's bits, in shmkit/wire.h (the inspector shows them) */

enum shmk_wait_mode {
	SHMK_WAIT_ANNOUNCED,
	SHMK_WAIT_GENERATION,
};

/* A wait point: process-local, pointing into the mapping. */
struct shmk_wait {
	_Atomic uint32_t *word;		/* the futex word */
	/* the announcement; NULL for a word without one (the events init
	 * word: shmk_wait_park and shmk_wait_wake_all only) */
	_Atomic uint32_t *waiters;
	enum shmk_wait_mode mode;
	/* delay point names (test builds) of the module's lost wake-up hunt:
	 * between the waiter's last check and its sleep, and between the
	 * waker's publish and its look at waiters; NULL: none */
	const char *park_gap, *wake_gap;
};

/* The waiter's side of one blocking call. */
struct shmk_wait_ops {
	int (*ready)(void *arg);	/* 1: not yet; anything else is the result */
	int (*covers)(void *arg);	/* 0, or the error for a file cut under us; NULL: none */
	int (*peer)(void *arg);		/* 1: keep waiting; else the result (a dead peer); NULL: none */
	void *arg;
	uint32_t expect;		/* SHMK_WAIT_GENERATION: the caller's snapshot */
	int64_t max_slice;		/* < 0: none; else a bound on one sleep */
	bool look_first;		/* also look at the peer before the first park */
};

/* Spin by time, then park: returns ready()'s result, peer()'s, covers()'s,
 * -ETIMEDOUT once timeout_ns (< 0: none) has passed, or a futex error. */
int shmk_wait_until(const struct shmk_wait *w, const struct shmk_wait_ops *ops,
		    int64_t timeout_ns);

/* Whether a waiter spins before it parks: always in a release build; in a
 * test build not when SHMK_WAIT_SPIN_NS is 0 (a lost wake-up hunt that
 * wants its waiters parked), so a caller's own first polls follow the knob
 * too (events.wake.first-polls+2). */
#ifdef SHMK_TEST_BUILD
bool shmk_wait_spins(void);
#else
static inline bool shmk_wait_spins(void)
{
	return true;
}
#endif

/* One sleep on w->word while it still holds `expect`, at most slice_ns
 * (< 0: no bound): 0 woken or the word moved, -ETIMEDOUT, -EINTR, -errno.
 * The events init-word wait uses it alone (its waker always wakes). */
int shmk_wait_park(const struct shmk_wait *w, uint32_t expect, int64_t slice_ns);

/* A full barrier.  gcc refuses atomic_thread_fence under
 * -fsanitize=thread (the tsan variant), so there a seq_cst RMW on a
 * process-local word stands in: a full barrier on the targets we build
 * for, and tsan cannot follow peers in other processes anyway. */
static inline void shmk_wait__full_fence(void)
{
#ifdef __SANITIZE_THREAD__
	static _Atomic uint32_t dummy;
	atomic_fetch_add_explicit(&dummy, 0, memory_order_seq_cst);
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* This process's membarrier state (wait.c): SHMK_WAIT_ASYM once it is
 * registered for MEMBARRIER_CMD_GLOBAL_EXPEDITED and can issue it;
 * SHMK_WAIT_SYMMETRIC when it never could; SHMK_WAIT_REFUSED when it was
 * registered and GLOBAL_EXPEDITED was refused since (its waiters then owe
 * every announcement a grace period: common.wait.asym.grace+2).
 * relaxed: process-local; a stale 0 only costs a fence. */
enum { SHMK_WAIT_UNKNOWN, SHMK_WAIT_ASYM, SHMK_WAIT_SYMMETRIC, SHMK_WAIT_REFUSED };
extern _Atomic int shmk_wait__mb;

static inline bool shmk_wait__asym(void)
{
	return atomic_load_explicit(&shmk_wait__mb, memory_order_relaxed) == SHMK_WAIT_ASYM;
}

/* The process's membarrier, the one place every module asks for it
 * (wait.c; common.wait.asym):
 *   shmk_membarrier_ready  QUERY, then REGISTER_GLOBAL_EXPEDITED, once per
 *                          process (cached; a fork inherits the answer, an
 *                          exec asks again): true when this process is
 *                          registered and may rely on the heavy barrier;
 *   shmk_membarrier_heavy  membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)
 *                          through the fault site (SHMK_FAULT=membarrier):
 *                          a full barrier on every CPU running a registered
 *                          process, 0 or -errno (EPERM: a seccomp filter
 *                          installed since the registration; ready is
 *                          false from then on; ENOMEM or EAGAIN: this call
 *                          only, ready stays true: common.wait.asym.transient).
 * The heavy barrier interrupts every CPU that runs ANY registered process,
 * those of unrelated objects included: keep it off per-message paths. */
bool shmk_membarrier_ready(void);
int shmk_membarrier_heavy(void);

/* r[impl common.wait.fence+2] The waker's fence, between its publish and
 * its look at waiters (mode a): registered, a compiler barrier (the
 * waiter's membarrier is the heavy half); otherwise a full fence.
 * r[impl common.wait.asym.waker] A process that never registered, or was
 * refused since, never skips it (shmk_wait__asym is false). */
static inline void shmk_wait_fence(void)
{
	if (shmk_wait__asym())
		atomic_signal_fence(memory_order_seq_cst);
	else
		shmk_wait__full_fence();
}

/* An opener's half of common.wait.asym: register this process (once) and,
 * if it cannot issue membarrier or the object may have peers of a build
 * before the asymmetric fence (old_peers: events.layout.asym), mark the
 * mode-a word FENCED before any of its waits can announce on it. */
void shmk_wait_join(_Atomic uint32_t *waiters, bool old_peers);

#ifdef SHMK_TEST_BUILD
/* Test builds: forget the registration, so the next join or park asks the
 * kernel again (a test that refuses it through SHMK_FAULT=membarrier:N). */
void shmk_wait__forget(void);
/* Test builds: GLOBAL_EXPEDITED calls shmk_membarrier_heavy made in this
 * process (issued or failed), so a test can count a parker's membarriers
 * and a waker's (none); and make the next one fail with -err without a
 * syscall (the kernel's transient ENOMEM, which SHMK_FAULT cannot name). */
uint64_t shmk_wait__heavy_calls(void);
void shmk_wait__heavy_fail_next(int err);
/* Test builds: calls of shmk_wait_until in this process, so a test can see
 * a caller's own first polls answer without the primitive
 * (events.wake.first-polls+2); and the timeout the last one was given,
 * so a test can see what the first polls took off it. */
uint64_t shmk_wait__until_calls(void);
int64_t shmk_wait__until_timeout(void);
#endif

/* Mode a, slow path of shmk_wait_wake: the fence FENCED asks for, then
 * take the announcement, bump, wake. */
void shmk_wait__take(const struct shmk_wait *w, uint32_t v);

/* Mode a, after the caller's publish and shmk_wait_fence(): wake an
 * announced waiter.  Nobody announced (or already taken): one load. */
static inline void shmk_wait_wake(const struct shmk_wait *w)
{
	if (w->wake_gap)
		SHMK_DELAY_POINT(w->wake_gap); /* test builds: widen publish -> wake */
	/* relaxed, after shmk_wait_fence: pairs with the waiter's announce
	 * and its fence or membarrier in wait.c (Dekker: one of us sees the
	 * other) */
	uint32_t v = SHMK_LOAD_U32(w->waiters);
	if (SHMK_UNLIKELY((v & SHMK_WAIT_FENCED) || ((v & SHMK_WAIT_COUNT) && !(v & SHMK_WAIT_TAKEN))))
		shmk_wait__take(w, v);
}

/* r[impl common.wait.generation] Mode b: one change after the caller's
 * publish: bump the word (seq_cst, also the waker's fence) and wake while
 * a waiter is counted.  Every change bumps; a counted waiter is woken by
 * every change (no take here: the bump comes before the look at waiters,
 * so a notify delayed between the two could take an announcement made
 * after its bump, and the next change would then skip the wake of a
 * waiter that sleeps on the generation it read after that bump).  Inline:
 * slots calls it on every commit, read and release, and an out-of-line
 * call made slots/op 7 % slower (bench-ab 8b378a9 vs ea487f8). */
static inline void shmk_wait_bump(const struct shmk_wait *w)
{
	/* seq_cst: orders the bump before the load of waiters (the waker's
	 * fence of mode b); pairs with the waiter's announce and fence */
	atomic_fetch_add_explicit(w->word, 1, memory_order_seq_cst);
	if (w->wake_gap)
		SHMK_DELAY_POINT(w->wake_gap); /* test builds: widen bump -> wake */
	if (atomic_load_explicit(w->waiters, memory_order_seq_cst) & SHMK_WAIT_COUNT)
		shmk_futex_wake(w->word, INT_MAX);
}

/* Wake every sleeper on the word, announced or not, after the caller
 * changed it (an init word without announcements; a close). */
void shmk_wait_wake_all(const struct shmk_wait *w);

#pragma GCC visibility pop

#endif
