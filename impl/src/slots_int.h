/* SPDX-License-Identifier: MIT */
/*
 * slots_int.h - what the slots module's two files share (slots.c: names,
 * validation, create, attach, registration, close; slots_data.c: the
 * owner's and the readers' operations and the wait): the handle, the slot
 * addressing, the notify, the size check and the bit every reader can
 * have set on every slot.  Internal.
 */
#ifndef SHMK_SLOTS_INT_H
#define SHMK_SLOTS_INT_H

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "wait.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

#pragma GCC visibility push(hidden)

enum { LS_FREE = 0, LS_LOANED = 1, LS_COMMITTED = 2 };

#define FLINK_MAX SHMK_SLOTS_FLINK_MAX	/* wire.h */

struct shmk_slots {
	struct shmk_slots_hdr *hdr;
	size_t map_len;
	uint32_t count;		/* validated local copies: never re-read */
	uint32_t total;
	uint32_t capacity;
	uint32_t rr_span;	/* slots_rr_span(count, total) */
	int owner;
	/* owner only */
	uint8_t *lstate;	/* LS_* per slot */
	uint32_t *lactive;	/* active mask given at reserve */
	uint32_t cursor;
	uint64_t next_sn;	/* authoritative copy; header's is advisory */
	/* reader only */
	int reg_index;		/* -1 when not registered */
	/* Per reader index, process-local hints for next_unread_slot:
	 * rd_low is a lower bound on the smallest unread sn (it only rises:
	 * mask bits are only ever set until a slot is recommitted with an sn
	 * >= next_sn), rd_start the slot to scan first (the slot last
	 * returned, or the one after it in turn once that sample is marked). */
	uint64_t rd_low[SHMK_SLOTS_MAX_READERS];
	uint32_t rd_start[SHMK_SLOTS_MAX_READERS];
	uint64_t reg_token;
	int fd;			/* the segment, kept for the truncation checks (fstat) */
	char flink[PATH_MAX];
	char segment[FLINK_MAX];
};

static inline struct shmk_slot_hdr *slot_at(const struct shmk_slots *s, uint32_t i)
{
	return (struct shmk_slot_hdr *)((char *)s->hdr + SHMK_SLOTS_HDR_SIZE + (size_t)i * s->total);
}

static inline uint8_t *slot_data(const struct shmk_slots *s, uint32_t i)
{
	return (uint8_t *)slot_at(s, i) + SHMK_SLOTS_SLOT_HDR_SIZE;
}

/* ------------------------------------------------------------ reserve */

/* Reserve hands slots out in turn over the first slots_rr_span() slots:
 * all of them while they span at most SLOTS_RR_MAX_BYTES together, else
 * as many as fit in it, but never fewer than two.  In turn, publish()
 * fetches the next slot's first lines for writing while the sample is
 * read, so the next reserve's mask load and stores find them owned; the
 * slot just read is the readers' until they are done with it.
 *   - All 8 x 1 MiB in turn made slots/read_rtt/1048576 1.14x slower
 *     (bench-ab d8ae712..a748f1a, noise 0.02): 16 MiB of slots on both
 *     sides fall out of the caches and the TLB.
 *   - One slot again and again (the warm slot, a5a51f2..e8bda4d) put the
 *     mask load and the first stores of every reserve on the round trip
 *     (the reader's mark_read had just taken the line): slots/loan_rtt
 *     1 MiB / 64 B read 1.30-1.36 in make bench, 880 against 670 ns.
 * Two slots keep the working set at 2 x 1 MiB and the prefetch on another
 * slot than the one being read.  The readers' scan starts where this
 * order says the next sample is (next_unread_slot); it is a hint there:
 * the scan looks at every slot. */
#define SLOTS_RR_MAX_BYTES (1u << 20)

/* Computed once per handle (create, attach: s->rr_span), not per call
 * (a division). */
static inline uint32_t slots_rr_span(uint32_t count, uint32_t total)
{
	uint32_t fit = SLOTS_RR_MAX_BYTES / total;

	return fit >= count ? count : fit >= 2 ? fit : count < 2 ? count : 2;
}

/* The slot reserve tries after slot i (the next one in turn; a slot past
 * the span, used when the span's slots were all busy, leads back to 0). */
static inline uint32_t slots_rr_next(const struct shmk_slots *s, uint32_t i)
{
	return i + 1 < s->rr_span ? i + 1 : 0;
}

/* ------------------------------------------------------------ notify */

/* The header's wait point: wait.c's eventcount in its generation mode
 * (notify_gen moves on every change: notify_generation is public).  The
 * delay point names are the slots lost wake-up hunt's. */
static inline struct shmk_wait slots_wait_point(const struct shmk_slots *s)
{
	return (struct shmk_wait){ .word = &s->hdr->notify_gen, .waiters = &s->hdr->waiters,
				   .mode = SHMK_WAIT_GENERATION,
				   .park_gap = "slots.wait.gap",
				   .wake_gap = "slots.notify.gap" };
}

/* The seq_cst bump, then a wake only for an announced waiter no earlier
 * notify woke: a parked waiter is never missed (wait.c).  Every change
 * bumps, watched or not: a lazy bump (a store-load fence, then a bump
 * only when a notify_generation caller had flagged the word) takes both
 * locked RMWs off the round trip, yet made slots/read_rtt/64 slower
 * (p50 692-831 ns, median 782, against 691-741, median 701, for
 * ad4064d in alternating runs), and the protocol's floor
 * (pingpong_slots.c) no faster (751-842 against 691-722). */
static inline void notify(struct shmk_slots *s)
{
	struct shmk_wait w = slots_wait_point(s);

	shmk_wait_bump(&w);
}

/* 0 while the segment still holds everything mapped, else SHMK_ETRUNCATED.
 * One fstat: slow paths only (r[impl slots.truncate.hot-path]: reserve,
 * commit, next_unread, read and mark_read never call it). */
static inline int slots_covers(const struct shmk_slots *s)
{
	return shmk_fd_covers(s->fd, s->map_len, "slots");
}

/* Sets bit `reader` on every slot: the reader no longer pins anything.
 * release: pairs with the acquire load of reader_mask in reserve_slot. */
static inline void set_bit_everywhere(struct shmk_slots *s, unsigned reader)
{
	for (uint32_t i = 0; i < s->count; i++)
		atomic_fetch_or_explicit(&slot_at(s, i)->reader_mask, 1u << reader,
					 memory_order_release);
}

#pragma GCC visibility pop

#endif
