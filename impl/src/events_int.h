/* SPDX-License-Identifier: MIT */
/*
 * events_int.h - what the events region's files share (events.c: the
 * region, its handles and roles; events_queue.c: the pool and the queues;
 * events_blocking.c: the blocking calls): the handles, the layout
 * accessors, the size check and the wait point.  Internal.
 */
#ifndef SHMK_EVENTS_INT_H
#define SHMK_EVENTS_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"
#include "wait.h"
#include "shmkit/events.h"

#pragma GCC visibility push(hidden)

#define EV_MASK (SHMK_EVENTS_QUEUE_CAP - 1)
#define EV_DEFAULT_INIT_NS (2000LL * 1000 * 1000)
#define EV_CAS_TRIES 4096	/* bounded work per call against a hostile peer */
#define EV_HOLES 4		/* MPSC: empty cells published per send when the pool is dry */
#define EV_IDLE_POLLS 64	/* MPSC: see events.mpsc.idle-polls */
#define EV_BELL_IDLE 1024	/* lanes: empty polls of a rung lane before its bit is
				 * cleared (events.mpsc.doorbell) */
#define EV_SWEEP_EVERY 64	/* lanes: every 64th poll sweeps one lane first (a power of 2) */
#define EV_ADOPT_LOOKS 2	/* lanes: sweeps that see one counted, unannounced
				 * message before its row's holder is looked up */
#define EV_FIRST_POLL_NS 1000	/* blocking SPSC receive: how long it polls before
				 * the wait primitive (events.wake.first-polls+2) */
#define EV_FIRST_POLL_CHECK 16	/* its polls between two looks at the clock */
#define EV_INTENT_NONE SHMK_EVENTS_INTENT_NONE	/* wire.h: "claiming nothing" */

enum { EV_SPSC = 1, EV_MPSC = 2 };

struct ev_map {
	uint8_t *base;
	size_t len;
	int fd;
	_Atomic int refs;	/* region handle + every tx/rx handle */
	uint32_t caps;		/* copy taken when the header was validated */
};

struct shmk_events {
	struct ev_map *m;
};

/* A single role (SPSC sender, SPSC receiver, MPSC consumer) of one file,
 * as this process's handles hold it (r[events.role.one-handle]). */
enum { EV_ROLE_SPSC_TX, EV_ROLE_SPSC_RX, EV_ROLE_MPSC_RX };
struct ev_hold {
	dev_t dev;
	ino_t ino;
	int role;
	pid_t pid;		/* entries inherited through fork() are not ours */
	struct ev_hold *next;
};

struct shmk_events_tx {
	struct ev_map *m;
	int kind;
	bool claimed;
	struct ev_hold *hold;	/* SPSC: our entry in the process's hold list */
	uint64_t me;
	uint64_t tail;		/* SPSC: our own index (we are its only writer) */
	uint64_t head_cache;	/* SPSC: last consumer index we read */
	/* the layout, once a claim made this the SPSC sender: try_send's
	 * fast path; NULL otherwise */
	struct shmk_events_layout *spsc;
	uint32_t prod;		/* MPSC: our row in the producer table */
	bool lanes;		/* MPSC in a region with SHMK_EVENTS_CAP_LANES: tail and
				 * head_cache are our row's lane's */
	uint64_t fork_gen;	/* lanes: shmk_ev_fork_gen when the row was taken */
};

/* events.c: forks this process's line came through (a pthread_atfork child
 * handler bumps it in the child only: the parent keeps its rows), see
 * events.mpsc.lane-fork; shmk_ev_fork_watch() registers the handler. */
extern _Atomic uint64_t shmk_ev_fork_gen;
void shmk_ev_fork_watch(void);

struct shmk_events_rx {
	struct ev_map *m;
	int kind;
	bool claimed;
	struct ev_hold *hold;	/* our entry in the process's hold list */
	uint64_t me;
	uint64_t head;		/* our own index */
	uint64_t tail_cache;	/* SPSC: last producer index we read */
	/* the layout, once a claim made this an SPSC receiver of a region
	 * whose senders store seq (SHMK_EVENTS_CAP_SEQ): try_recv's fast
	 * path; NULL otherwise */
	struct shmk_events_layout *spsc;
	uint32_t idle_polls;	/* MPSC: polls of the unpublished head cell
				 * answered without a look at tail (events.mpsc.idle-polls) */
	bool stalled;		/* MPSC: head cell claimed but unpublished */
	bool stall_live;	/* ... and a live process claims it */
	uint64_t stall_pos;
	int64_t stall_since;	/* when this consumer first saw it so */
	int64_t liveness_ns;
	uint64_t skipped;	/* cells of dead claimers skipped */
	uint64_t unblocked;	/* cells of live (stopped) claimers unblocked */
	/* lanes (MPSC in a region with SHMK_EVENTS_CAP_LANES) */
	bool lanes;
	uint32_t lane;		/* the lane of the message found by the last peek */
	uint32_t cur;		/* where the next look at the doorbell starts */
	uint32_t sweep;		/* the next lane a sweep looks at (events.mpsc.sweep+2) */
	uint32_t polls;		/* lanes polls, for the forced sweep (EV_SWEEP_EVERY) */
	uint64_t bad_lanes;	/* lanes that failed integrity, skipped (events.hostile.lane-skip) */
	bool full_look;		/* blocking receive: an empty poll sweeps every lane */
	uint16_t lidle[SHMK_EVENTS_PRODUCERS];	/* empty polls of a rung lane */
	uint64_t lhead[SHMK_EVENTS_PRODUCERS];	/* each lane's head (we are its only writer) */
	/* per lane (events.mpsc.lane-adopt+2): 1 + the position of a counted,
	 * unannounced message seen (0: none), and how many looks saw it - one
	 * tracker for all lanes let two dead rows reset it for each other */
	uint64_t orph_pos[SHMK_EVENTS_PRODUCERS];
	uint8_t orph_looks[SHMK_EVENTS_PRODUCERS];
};

/* r[impl events.layout.wire] r[impl events.layout.hot-lines]: the struct in wire.h */
static inline struct shmk_events_layout *L(const struct ev_map *m)
{
	return (struct shmk_events_layout *)m->base;
}

static inline struct shmk_events_wake *W(const struct ev_map *m)
{
	return (m->caps & SHMK_EVENTS_CAP_WAKE)
		       ? (struct shmk_events_wake *)(m->base + SHMK_EVENTS_BASE_BYTES)
		       : NULL;
}

/* r[impl events.layout.lanes+2] after the wake section when there is one */
static inline uint32_t lanes_offset(uint32_t caps)
{
	return SHMK_EVENTS_BASE_BYTES + ((caps & SHMK_EVENTS_CAP_WAKE) ? SHMK_EVENTS_WAKE_BYTES : 0);
}

static inline struct shmk_events_lanes *LN(const struct ev_map *m)
{
	return (m->caps & SHMK_EVENTS_CAP_LANES)
		       ? (struct shmk_events_lanes *)(m->base + lanes_offset(m->caps))
		       : NULL;
}

/* r[impl events.mpsc.lane+2] row i's lane depth and cells (wire.h) */
static inline uint32_t lane_cap(uint32_t i)
{
	return SHMK_EVENTS_LANE_CAP_OF(i);
}

static inline _Atomic uint32_t *lane_cells(const struct ev_map *m, uint32_t i)
{
	return &LN(m)->cells[SHMK_EVENTS_LANE_FIRST(i)];
}

static inline uint32_t layout_bytes_for(uint32_t caps)
{
	/* r[impl events.layout.wake-section] r[impl events.layout.lanes+2] */
	return lanes_offset(caps) + ((caps & SHMK_EVENTS_CAP_LANES) ? SHMK_EVENTS_LANES_BYTES : 0);
}

/* 0 while the file still holds the layout, else SHMK_ETRUNCATED: one
 * fstat, so only slow paths call it (r[impl events.truncate.hot-path]: the
 * try_* and zero-copy operations never do). */
static inline int ev_covers(const struct ev_map *m)
{
	return shmk_fd_covers(m->fd, layout_bytes_for(m->caps), "events");
}

/* A direction's wait point: wait.c's eventcount, announced mode (the
 * generation moves only when a waker finds a waiter announced).  The delay
 * point names are the events lost wake-up hunt's. */
static inline struct shmk_wait ev_wait(struct shmk_events_wakeword *w)
{
	return (struct shmk_wait){ .word = &w->gen, .waiters = &w->waiters,
				   .mode = SHMK_WAIT_ANNOUNCED,
				   .park_gap = "events.wait.gap",
				   .wake_gap = "events.wake.gap" };
}

/* events.c's role claims, which the first operation on a handle makes
 * (events_queue.c: tx_prep, rx_next). */
int shmk_ev_tx_claim(struct shmk_events_tx *tx);
int shmk_ev_rx_claim(struct shmk_events_rx *rx);
/* events_queue.c: a new SPSC sender announces the message at tail - 1
 * that a dead predecessor counted (tail != head) but left without its seq. */
void shmk_ev_spsc_announce(struct shmk_events_tx *tx, uint64_t tail);
/* events_queue.c: a producer that took a lane row over announces the
 * message at tail - 1 the same way and rings the row's doorbell bit. */
void shmk_ev_lane_announce(struct ev_map *m, uint32_t row, uint64_t tail);

#pragma GCC visibility pop

#endif
