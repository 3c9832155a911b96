/* SPDX-License-Identifier: MIT */
/*
 * futexsp.h - the futex round trip with events' wait protocol, one copy
 * for the peers/futex_{spin_park,wake}_rtt rows (peers/syscalls.c, run on
 * their own) and for events/wake_rtt, which runs it interleaved with its
 * own round trips between the same two processes (events.c, ilv.h), so the
 * floor it is judged by in both is the same code.
 *
 * The receiver spins FSP_SPIN_NS by the clock (looking at it every
 * FSP_CHECK polls, yielding every FSP_PURE_NS so a peer on its own CPU can
 * run), then announces itself, fences and parks; the sender stores,
 * fences and calls FUTEX_WAKE only when it takes an announcement: the
 * protocol of impl/src/wait.c (WAIT_SPIN_NS, WAIT_SPIN_PURE_NS,
 * WAIT_SPIN_CHECK).  Each direction is a word and its announcement, on a
 * line of their own.
 */
#ifndef SHMK_BENCH_FUTEXSP_H
#define SHMK_BENCH_FUTEXSP_H

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define FSP_SPIN_NS 50000ull
#define FSP_PURE_NS 5000ull
#define FSP_CHECK 16
/* A park's timeout: the measurer looks whether its peer still lives this
 * often (the 100 ms of events' own round trips, ev_rtt_once); a wait with
 * no timeout never returns when the peer died. */
#define FSP_PARK_NS 100000000l
/* Set in a word by fsp_poke: no stamp has it (a row runs far fewer than
 * 2^30 round trips), so a poked word is never taken for a reply. */
#define FSP_POKED 0x80000000u

/* fsp_recv: stop was set or the word poked, or the measurer's peer died
 * (bc_run_alive reported it). */
#define FSP_STOPPED (-1)
#define FSP_DEAD (-2)

/* FUTEX_WAIT and FUTEX_WAKE calls of one process. */
struct fsp_count {
	uint64_t waits, wakes;
};

/* FUTEX_WAIT and FUTEX_WAKE, counted; a FUTEX_WAIT with timeout ts (NULL:
 * none). */
static inline long fsp_futex(_Atomic uint32_t *w, int op, uint32_t val,
			     const struct timespec *ts, struct fsp_count *n)
{
	if (op == FUTEX_WAIT)
		n->waits++;
	else
		n->wakes++;
	return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

/* Sends v on word w whose receiver announces itself in *waiters; 0, or -1
 * when FUTEX_WAKE failed. */
static inline int fsp_send(_Atomic uint32_t *w, _Atomic uint32_t *waiters, uint32_t v,
			   struct fsp_count *n)
{
	/* release: pairs with the receiver's acquire load in fsp_recv */
	atomic_store_explicit(w, v, memory_order_release);
	/* seq_cst fence: pairs with the receiver's fence between its
	 * announcement and its re-check in fsp_recv (no lost wake-up) */
	atomic_thread_fence(memory_order_seq_cst);
	/* relaxed: the fence above orders it; taking the announcement (0)
	 * makes this the one sender that wakes */
	if (atomic_exchange_explicit(waiters, 0, memory_order_relaxed))
		return fsp_futex(w, FUTEX_WAKE, 1, NULL, n) < 0 ? -1 : 0;
	return 0;
}

/* Waits until word w holds want; 0, FSP_STOPPED when stop was set or w
 * poked (before the word is looked at: a failing peer's poke is no reply),
 * or, for a measurer (r, else NULL), FSP_DEAD when its peer died. */
static inline int fsp_recv(_Atomic uint32_t *w, _Atomic uint32_t *waiters, uint32_t want,
			   struct bc_ctl *stop, struct bc_run *r, struct fsp_count *n)
{
	uint64_t spin_end = 0, pure = 0;
	for (uint32_t i = 0;; i++) {
		/* acquire: pairs with the sender's release store in fsp_send */
		if (atomic_load_explicit(w, memory_order_acquire) == want)
			return 0;
		if (bc_stopped(stop))
			return -1;
		if (i % FSP_CHECK == 0) {
			uint64_t now = bc_now();
			if (!spin_end) {
				spin_end = now + FSP_SPIN_NS;
				pure = now + FSP_PURE_NS;
			} else if (now >= pure) {
				sched_yield();
				pure = now + FSP_PURE_NS;
			}
			if (now >= spin_end)
				break;
		}
		bc_relax();
	}
	for (;;) {
		/* relaxed: ordered by the fence below */
		atomic_store_explicit(waiters, 1, memory_order_relaxed);
		/* seq_cst fence: pairs with the sender's fence in fsp_send */
		atomic_thread_fence(memory_order_seq_cst);
		/* acquire: pairs with the sender's release store in fsp_send */
		uint32_t cur = atomic_load_explicit(w, memory_order_acquire);
		int rc = (cur & FSP_POKED) || bc_stopped(stop) ? FSP_STOPPED : cur == want ? 0 : 1;
		if (rc <= 0) {
			atomic_store_explicit(waiters, 0, memory_order_relaxed);
			return rc;
		}
		const struct timespec park = {0, FSP_PARK_NS};
		if (fsp_futex(w, FUTEX_WAIT, cur, &park, n) < 0 && errno == ETIMEDOUT && r &&
		    !bc_run_alive(r)) {
			atomic_store_explicit(waiters, 0, memory_order_relaxed);
			return FSP_DEAD;
		}
	}
}

/* After stop was set: FSP_POKED in w, a value its receiver never takes
 * for a reply, and a wake, so that a parked receiver sees the stop. */
static inline void fsp_poke(_Atomic uint32_t *w, struct fsp_count *n)
{
	/* release: the receiver's acquire load in fsp_recv takes it */
	atomic_fetch_or_explicit(w, FSP_POKED, memory_order_release);
	fsp_futex(w, FUTEX_WAKE, 1, NULL, n);
}

#endif
