/* SPDX-License-Identifier: MIT */
/*
 * wait.c - the one wait primitive: an eventcount on a shared futex word
 * (protocol and modes in wait.h; clauses common.wait.* in
 * conformance/spec/common.md; model conformance/models/futex.pml).
 *
 * One spin policy (by time, then park) and one liveness cadence while
 * parked serve every blocking call of events, ring and slots.
 */
#include <errno.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <sched.h>

#include "wait.h"

#define WAIT_SPIN_NS 50000LL	 /* spin this long before parking (< bench's 200 us idle gap) */
#define WAIT_SPIN_PURE_NS 5000LL /* pure spin before the spin starts yielding the CPU */
#define WAIT_SPIN_CHECK 16	 /* attempts between two looks at the clock (vDSO, no syscall) */
/* r[impl common.wait.asym.grace+2] how long a waiter whose announcement
 * no membarrier covered keeps re-checking in short sleeps: a publish a
 * registered waker left in its store buffer (it looked before the mark and
 * skipped its fence) drains in nanoseconds; this is a thousand times that */
#define WAIT_GRACE_NS 1000000LL

_Atomic int shmk_wait__mb;

#define MB_NEED (MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED)

/* r[impl common.wait.asym] Ask the kernel once per process: QUERY, then
 * REGISTER_GLOBAL_EXPEDITED.  Any failure (ENOSYS: no membarrier; EINVAL:
 * a kernel before 4.16; EPERM: a seccomp filter) leaves the process
 * symmetric.  The registration belongs to the mm: a fork inherits it
 * (measured on 6.18 with MEMBARRIER_CMD_GET_REGISTRATIONS), an exec drops
 * it along with this variable.  Racing threads ask twice and store the
 * same answer. */
bool shmk_membarrier_ready(void)
{
	int st = atomic_load_explicit(&shmk_wait__mb, memory_order_relaxed);

	if (st == SHMK_WAIT_UNKNOWN) {
		int q = shmk_sys_membarrier(MEMBARRIER_CMD_QUERY);
		st = q >= 0 && (q & MB_NEED) == MB_NEED &&
				     shmk_sys_membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0
			     ? SHMK_WAIT_ASYM
			     : SHMK_WAIT_SYMMETRIC;
		/* relaxed: process-local; see shmk_wait__mb */
		atomic_store_explicit(&shmk_wait__mb, st, memory_order_relaxed);
	}
	return st == SHMK_WAIT_ASYM;
}

#ifdef SHMK_TEST_BUILD
/* relaxed: process-local counters a test reads after the calls it counts */
static _Atomic uint64_t heavy_calls;
static _Atomic int heavy_fail;
static _Atomic uint64_t until_calls;
static _Atomic int64_t until_timeout;

uint64_t shmk_wait__until_calls(void)
{
	return atomic_load_explicit(&until_calls, memory_order_relaxed);
}

int64_t shmk_wait__until_timeout(void)
{
	return atomic_load_explicit(&until_timeout, memory_order_relaxed);
}

uint64_t shmk_wait__heavy_calls(void)
{
	return atomic_load_explicit(&heavy_calls, memory_order_relaxed);
}

void shmk_wait__heavy_fail_next(int err)
{
	atomic_store_explicit(&heavy_fail, err, memory_order_relaxed);
}

void shmk_wait__forget(void)
{
	atomic_store_explicit(&shmk_wait__mb, SHMK_WAIT_UNKNOWN, memory_order_relaxed);
}
#endif

/* Refused (a filter installed since we registered): not ready from now
 * on, so every caller falls back to its own fence.
 * r[impl common.wait.asym.transient] ENOMEM (the kernel allocates a cpumask
 * per call) and EAGAIN say nothing about the next call: this caller falls
 * back once (a waiter: its full fence and the grace period, wait.c), and
 * the process stays registered, since making it symmetric for good would
 * add a full fence to every later message of every object it wakes. */
int shmk_membarrier_heavy(void)
{
#ifdef SHMK_TEST_BUILD
	atomic_fetch_add_explicit(&heavy_calls, 1, memory_order_relaxed);
	int inject = atomic_exchange_explicit(&heavy_fail, 0, memory_order_relaxed);
	int rc = inject ? -inject : shmk_sys_membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
#else
	int rc = shmk_sys_membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
#endif

	if (rc < 0) {
		if (rc != -ENOMEM && rc != -EAGAIN)
			/* relaxed: process-local; see shmk_wait__mb */
			atomic_store_explicit(&shmk_wait__mb, SHMK_WAIT_REFUSED,
					      memory_order_relaxed);
		return rc;
	}
	return 0;
}

/* r[impl common.wait.asym] Set at open, before this process can announce
 * on the word: a registered waker that loaded the word earlier skipped the
 * fence of a publish already on its way to memory (a store buffer drains
 * in nanoseconds; open and the spin before a first park take
 * microseconds), and every later look finds FENCED and fences. */
void shmk_wait_join(_Atomic uint32_t *waiters, bool old_peers)
{
	bool asym = shmk_membarrier_ready(); /* registers this process either way */

	if ((old_peers || !asym) && !(SHMK_LOAD_U32(waiters) & SHMK_WAIT_FENCED))
		/* seq_cst: pairs with the wakers' relaxed loads of waiters after
		 * their publish (they fence once they see it) */
		atomic_fetch_or_explicit(waiters, SHMK_WAIT_FENCED, memory_order_seq_cst);
}

/* r[impl common.wait.fence+2] The waiter's half of the Dekker pair, after
 * its announcement.  Mode a in a registered process: membarrier, the heavy
 * half of shmk_wait_fence's compiler barrier.  Otherwise the full fence,
 * pairing with shmk_wait_fence or mode b's seq_cst bump.
 * true: the announcement needs the grace period (common.wait.asym.grace+2):
 * marked (it set FENCED on a word without it); the membarrier failed now;
 * or the process was refused after registering: its membarrier covers
 * nothing since then, and a registered waker may have looked at this word
 * just before a mark that another thread, or another process refused at
 * the same moment, set nanoseconds ago (the word keeps no time of its mark,
 * so every such announcement gets the grace: one short slice per park, in a
 * process that already pays a full fence per message).  A process that
 * never registered marked its words at open (common.wait.asym), long before
 * this park, unless this announcement set the mark (marked). */
static inline bool waiter_fence(const struct shmk_wait *w, bool marked)
{
	if (w->mode != SHMK_WAIT_ANNOUNCED) {
		shmk_wait__full_fence();
		return false;
	}
	/* relaxed: process-local; see shmk_wait__mb */
	int st = atomic_load_explicit(&shmk_wait__mb, memory_order_relaxed);
	if (st == SHMK_WAIT_ASYM) {
		int rc = shmk_membarrier_heavy();
		if (rc == 0)
			return false;
		/* r[impl common.wait.asym.transient] failed this once: the
		 * full fence and the grace period cover this announcement (a
		 * waker that looks after it sees the count and takes); the word
		 * stays unmarked, since this process's next park membarriers */
		if (rc == -ENOMEM || rc == -EAGAIN) {
			shmk_wait__full_fence();
			return true;
		}
		st = SHMK_WAIT_REFUSED;
	}
	if (st == SHMK_WAIT_REFUSED &&
	    /* relaxed: our own announcement just wrote it (a peer's clear
	     * only makes us set it again) */
	    !(SHMK_LOAD_U32(w->waiters) & SHMK_WAIT_FENCED))
		/* r[impl common.wait.asym] refused now, or another thread's
		 * refusal came between our announce (which found the process
		 * registered) and here: mark it as announce() does.  seq_cst: as
		 * in shmk_wait_join */
		atomic_fetch_or_explicit(w->waiters, SHMK_WAIT_FENCED, memory_order_seq_cst);
	shmk_wait__full_fence();
	return marked || st == SHMK_WAIT_REFUSED;
}

/* r[impl common.wait.take] Mode a: take the announcement (CAS TAKEN in),
 * then bump and wake: a second waker finds it taken and costs one load, so a
 * waiter that misses many messages is woken once. */
void shmk_wait__take(const struct shmk_wait *w, uint32_t v)
{
	/* r[impl common.wait.asym.look] a process that cannot membarrier
	 * shares the word: the fence shmk_wait_fence skipped, and the look
	 * again */
	if ((v & SHMK_WAIT_FENCED) && shmk_wait__asym()) {
		shmk_wait__full_fence();
		/* relaxed: after the fence (Dekker, as in shmk_wait_wake) */
		v = SHMK_LOAD_U32(w->waiters);
	}
	while ((v & SHMK_WAIT_COUNT) && !(v & SHMK_WAIT_TAKEN)) {
		/* seq_cst: pairs with the announce CAS in announce(), which
		 * clears TAKEN: a waiter that announces after us is seen by the
		 * next waker */
		if (atomic_compare_exchange_weak_explicit(w->waiters, &v, v | SHMK_WAIT_TAKEN,
							  memory_order_seq_cst,
							  memory_order_relaxed)) {
			/* r[impl common.wait.park] after the take, hence after
			 * the waiter's read of the word: its sleep returns.
			 * release: pairs with the acquire load of word in
			 * shmk_wait_until */
			atomic_fetch_add_explicit(w->word, 1, memory_order_release);
			shmk_futex_wake(w->word, INT_MAX);
			return;
		}
	}
}

void shmk_wait_wake_all(const struct shmk_wait *w)
{
	shmk_futex_wake(w->word, INT_MAX);
}

int shmk_wait_park(const struct shmk_wait *w, uint32_t expect, int64_t slice_ns)
{
	if (w->park_gap)
		SHMK_DELAY_POINT(w->park_gap); /* test builds: widen check -> park */
	return shmk_futex_wait(w->word, expect, slice_ns);
}

/* Count ourselves in and clear TAKEN: the announcement is new, the next
 * waker must see it.  FENCED stays (sticky), and a mode-a waiter that
 * cannot membarrier sets it again (a word it never joined, one a peer
 * cleared).  true: this announcement set FENCED on a word without it. */
static bool announce(const struct shmk_wait *w)
{
	uint32_t v = SHMK_LOAD_U32(w->waiters);
	uint32_t mark = w->mode == SHMK_WAIT_ANNOUNCED && !shmk_membarrier_ready() ? SHMK_WAIT_FENCED : 0;

	/* seq_cst: pairs with the take CAS in shmk_wait__take */
	while (!atomic_compare_exchange_weak_explicit(
		w->waiters, &v,
		(((v & SHMK_WAIT_COUNT) + 1) & SHMK_WAIT_COUNT) | (v & SHMK_WAIT_FENCED) | mark,
		memory_order_seq_cst, memory_order_relaxed))
		;
	return mark && !(v & SHMK_WAIT_FENCED);
}

/* Count ourselves out; the last one out clears TAKEN too, so a count of 0
 * means nobody is in the park loop (and a hostile 0 stays 0); FENCED stays. */
static void retract(const struct shmk_wait *w)
{
	uint32_t v = SHMK_LOAD_U32(w->waiters);
	uint32_t n;

	do {
		uint32_t c = v & SHMK_WAIT_COUNT;
		n = (c > 1 ? (c - 1) | (v & SHMK_WAIT_TAKEN) : 0) | (v & SHMK_WAIT_FENCED);
		/* relaxed: a stale count only costs a waker one futex_wake */
	} while (!atomic_compare_exchange_weak_explicit(w->waiters, &v, n, memory_order_relaxed,
							memory_order_relaxed));
}

/* r[impl common.wait.keep] After a sleep that its slice (or a signal)
 * ended: true when our announcement still stands as the last fence left it
 * (the word unmoved, so no take bumped it since our read; counted; in mode
 * a untaken), so the waiter re-checks and sleeps on the same value without
 * announcing again: the Dekker pair of that announcement still holds (a
 * waker that publishes from now on looks after our fence or membarrier and
 * finds the count), and a new announcement would only add a membarrier (an
 * interrupt on every CPU running a registered process) to every period of
 * an idle waiter.  Taken on an unmoved word (a waker between its take and
 * its bump, or one that died there) or uncounted (a peer's write): announce
 * again, which clears the mark and restores the count. */
static bool kept(const struct shmk_wait *w, uint32_t g)
{
	/* acquire: pairs with the release bump in shmk_wait__take, as the
	 * read of g does; relaxed for waiters: a stale view only costs a
	 * new announcement */
	if (SHMK_LOAD_ACQ_U32(w->word) != g)
		return false;
	uint32_t v = SHMK_LOAD_U32(w->waiters);
	return (v & SHMK_WAIT_COUNT) && (w->mode == SHMK_WAIT_GENERATION || !(v & SHMK_WAIT_TAKEN));
}

/* r[impl common.wait.liveness] One period between looks at the peer and
 * the longest sleep: SHMK_LIVENESS_MS/4, at least 1 ms. */
static int64_t period_ns(void)
{
	int64_t p = shmk_liveness_ns() / 4;

	return p < 1000000 ? 1000000 : p;
}

/* How long the spin lasts: WAIT_SPIN_NS, or in test builds
 * SHMK_WAIT_SPIN_NS (read once per process), so a lost wake-up hunt can
 * make its waiters park as often as it needs. */
static int64_t spin_ns(void)
{
#ifdef SHMK_TEST_BUILD
	/* r[impl reliability.hook.spin] relaxed: a process-local cache; racing
	 * threads store the same value */
	static _Atomic int64_t knob = -1;
	int64_t v = atomic_load_explicit(&knob, memory_order_relaxed);

	if (v < 0) {
		v = shmk_env_long("SHMK_WAIT_SPIN_NS", WAIT_SPIN_NS, 0, 1000000000);
		atomic_store_explicit(&knob, v, memory_order_relaxed);
	}
	return v;
#else
	return WAIT_SPIN_NS;
#endif
}

#ifdef SHMK_TEST_BUILD
bool shmk_wait_spins(void)
{
	return spin_ns() > 0;
}
#endif

/* r[impl common.wait.spin] Spin by time, not by a count: a peer that
 * answers within WAIT_SPIN_NS costs no futex call however fast or slow one
 * attempt is; never spin past the deadline.  A yield every
 * WAIT_SPIN_PURE_NS lets a peer on our own CPU answer.  1: park now. */
static int spin(const struct shmk_wait_ops *ops, int64_t deadline)
{
	int64_t spin_end = -1, spin_pure = 0;

	for (unsigned i = 1;; i++) {
		int rc = ops->ready(ops->arg);
		if (rc != 1)
			return rc;
		shmk_cpu_relax();
		if (i % WAIT_SPIN_CHECK == 0) {
			/* a yield is a no-op when nothing else wants this CPU,
			 * and not a futex call */
			int64_t now = shmk_now_ns();
			if (spin_end >= 0 && now >= spin_pure) {
				sched_yield();
				spin_pure = now + WAIT_SPIN_PURE_NS;
			}
			if (spin_end < 0) {
				spin_pure = now + WAIT_SPIN_PURE_NS;
				spin_end = now + spin_ns();
				if (deadline >= 0 && deadline < spin_end)
					spin_end = deadline;
			}
			if (now >= spin_end)
				return 1;
		}
	}
}

static inline int look(int (*fn)(void *), void *arg)
{
	return fn ? fn(arg) : 1;
}

/* r[impl common.wait.park] r[impl common.wait.deadline] */
int shmk_wait_until(const struct shmk_wait *w, const struct shmk_wait_ops *ops,
		    int64_t timeout_ns)
{
#ifdef SHMK_TEST_BUILD
	atomic_fetch_add_explicit(&until_calls, 1, memory_order_relaxed);
	atomic_store_explicit(&until_timeout, timeout_ns, memory_order_relaxed);
#endif
	/* a condition already met costs one call: no clock read */
	int rc = ops->ready(ops->arg);
	if (rc != 1)
		return rc;
	int64_t deadline = timeout_ns < 0 ? -1 : shmk_deadline_ns(shmk_now_ns(), timeout_ns);
	rc = spin(ops, deadline);
	if (rc != 1)
		return rc;

	/* r[impl common.wait.liveness] the file size before the first park
	 * (a cut wakes no one; the fstat is the price of parking, never of a
	 * message that moved during the spin), the peer every period and after
	 * a wake-up that left the condition unmet (the first look after one
	 * period unless the caller asks for one now: a wait of microseconds
	 * reads no /proc), and no sleep longer than that period */
	rc = look(ops->covers, ops->arg);
	if (rc)
		return rc;
	int64_t period = period_ns();
	int64_t max_slice = ops->max_slice;
	if (max_slice < 0 || max_slice > period)
		max_slice = period;
	int64_t next_look = shmk_now_ns() + period;
	bool look_now = ops->look_first;
	/* r[impl common.wait.asym.grace+2] < 0: not in a grace period */
	int64_t grace_end = -1, checked = 0;
	for (;;) {
		/* the word BEFORE the announcement (wait.h) */
		uint32_t g = w->mode == SHMK_WAIT_GENERATION
				     ? ops->expect
				     /* acquire: pairs with the release bump in shmk_wait__take */
				     : SHMK_LOAD_ACQ_U32(w->word);
		if (waiter_fence(w, announce(w)))
			grace_end = shmk_now_ns() + WAIT_GRACE_NS;
recheck:
		/* the clock only in a grace period: when this re-check ran */
		if (grace_end >= 0)
			checked = shmk_now_ns();
		rc = ops->ready(ops->arg);
		if (rc != 1)
			goto out;
		/* The peer is part of the re-check, after the announcement: a
		 * peer that leaves cleanly stores its goodbye, fences and looks
		 * at the announcement (a ring writer's close), so this look
		 * sees the goodbye or the goodbye wakes us (look_now again). */
		if (ops->peer && (look_now || shmk_now_ns() >= next_look)) {
			rc = ops->peer(ops->arg);
			if (rc != 1)
				goto out;
			next_look = shmk_now_ns() + period;
		}
		int64_t slice = max_slice;
		/* r[impl common.wait.asym.grace+2] a waker that looked before our
		 * mark skipped its fence and its wake: until a re-check has run
		 * after the grace period, no sleep outlasts it (an early wake-up
		 * does not end it: that waker's publish may still be buffered) */
		if (grace_end >= 0) {
			if (checked >= grace_end)
				grace_end = -1;
			else if (grace_end - checked < slice)
				slice = grace_end - checked;
		}
		if (deadline >= 0) {
			int64_t left = deadline - shmk_now_ns();
			if (left <= 0) {
				rc = SHMK_FAIL(-ETIMEDOUT);
				goto out;
			}
			if (left < slice)
				slice = left;
		}
		int frc = shmk_wait_park(w, g, slice);
		/* the wait point itself may be gone now: look before the
		 * retract touches it (a cut file's count is moot) */
		rc = look(ops->covers, ops->arg);
		if (rc)
			return rc;
		if ((frc == -ETIMEDOUT || frc == -EINTR) && kept(w, g))
			goto recheck;
		retract(w);
		if (frc && frc != -ETIMEDOUT && frc != -EINTR) {
			/* the sleep itself fails: what is there still counts */
			rc = ops->ready(ops->arg);
			return rc != 1 ? rc : frc;
		}
		/* woken (or the word moved): the condition first, as the spin
		 * looks at it, unannounced: the announcement and its fence (a
		 * membarrier, microseconds and an IPI to the waker) are the
		 * price of sleeping again, not of the message that woke us */
		rc = ops->ready(ops->arg);
		if (rc != 1)
			return rc;
		/* still unmet after the next announcement: that may have been
		 * a goodbye */
		look_now = frc == 0;
	}
out:
	retract(w);
	return rc;
}
