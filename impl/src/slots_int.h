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
	 * >= next_sn), rd_start the slot last returned. */
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

/* Reserve goes round robin while all slots together span at most this
 * many bytes: their lines stay cached, and publish() fetches the next
 * slot for writing while the sample is read.  Above it, reserve retries
 * the slot it reserved last, whose lines and pages (TLB entries) are warm
 * on both sides once its readers are done: round robin over 8 x 1 MiB
 * made slots/read_rtt/1048576 1.14x slower (bench-ab d8ae712..a748f1a,
 * noise 0.02) while 8 x 64 KiB got 0.85x faster. */
#define SLOTS_RR_MAX_BYTES (1u << 20)

static inline bool slots_round_robin(const struct shmk_slots *s)
{
	return (uint64_t)s->count * s->total <= SLOTS_RR_MAX_BYTES;
}

/* ------------------------------------------------------------ prefetch */

/* Nonzero when the CPU has PREFETCHW (slots_data.c reads CPUID once, at
 * load time). */
extern int shmk_slots__prefetchw;

/* Starts fetching p's line for writing, without waiting for it: the line
 * arrives owned, so a later store or locked RMW on it costs no second
 * transfer (an upgrade of a shared copy).  gcc lowers
 * __builtin_prefetch(p, 1) to a read prefetch (a shared copy) unless the
 * whole build targets PRFCHW, so x86-64 asks for PREFETCHW itself where
 * CPUID has it; prefetches are hints and change no result. */
static inline void slots_prefetch_w(const void *p)
{
#if defined(__x86_64__)
	if (shmk_slots__prefetchw) {
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
		return;
	}
#endif
	__builtin_prefetch(p, 1, 3);
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
 * notify woke: a parked waiter is never missed (wait.c). */
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
