/* SPDX-License-Identifier: MIT */
/*
 * wire.h - every byte shmkit keeps in shared memory.
 *
 * Both peers, the fuzzers and `shmkit inspect` must agree on these layouts,
 * so they are public, fixed-width, host-endian, and pinned by _Static_assert
 * on every size and offset.  Fields that a peer writes after initialisation
 * are _Atomic; each module's source names the access every store pairs
 * with.  Readers never trust a value from here: they load it once through
 * SHMK_LOAD_* and bound it before use.
 *
 * One section per module; each module owns its section.
 */
#ifndef SHMKIT_WIRE_H
#define SHMKIT_WIRE_H

#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
#include <atomic>
#define SHMK_ATOMIC(t) std::atomic<t>
#else
#include <stdatomic.h>
#define SHMK_ATOMIC(t) _Atomic t
#endif

/* r[impl common.headers.cxx] The same layout asserts in C11 and C++17
 * (make check compiles every public header as both,
 * conformance/checks/cxx-headers.sh). */
#ifdef __cplusplus
#define SHMK_WIRE_ASSERT(cond) static_assert(cond, #cond)
#else
#define SHMK_WIRE_ASSERT(cond) _Static_assert(cond, #cond)
#endif

/* ------------------------------------------------------------------ common
 * A process token: (start_time_ticks << 22) | pid, 0 = nobody.  One u64 so
 * a role can be claimed with one CAS; see internal.h for the liveness rule.
 */
typedef uint64_t shmk_token_t;

/* The announcement word of a wait point (impl/src/wait.c, common.wait.*):
 * bits 0-29 count the announced waiters; bit 30 FENCED (mode a, sticky: a
 * process that cannot membarrier shares the word, so every waker fences);
 * bit 31 TAKEN (mode a: a waker took the announcement).  Mode b (slots)
 * sets neither flag. */
#define SHMK_WAIT_TAKEN 0x80000000u
#define SHMK_WAIT_FENCED 0x40000000u
#define SHMK_WAIT_COUNT 0x3fffffffu

/* ------------------------------------------------------------------ events */
/*
 * The IndexBus-style events region (events.c, spec conformance/spec/events.md).
 *
 *   offset      size     what
 *   0           64       struct shmk_events_header (v1 header, initialized, creator)
 *   64          64       pool control (tagged free-list head)
 *   128         4288     SPSC queue: tail line, head line, role line, 1024 u32 cells
 *   4416        20672    MPSC queue: tail line, head line, role line, producer table,
 *                        1024 Vyukov cells {seq u64, stamp u32 | slot u32}
 *   25088       557056   slot pool: 2048 x {next_free, refcnt, len, seq, 256 data}
 *   582144      256      wake section (only with SHMK_EVENTS_CAP_WAKE): futex words
 *   582144|582400 12224  lanes section (only with SHMK_EVENTS_CAP_LANES), after the
 *                        wake section when there is one: the doorbell line, 64 lane
 *                        {tail line, head line} pairs, one per producer row, then
 *                        992 u32 cells (rows 0-3: 128 each, rows 4-63: 8 each)
 *
 * Every counter is a u64 that wraps; cell index = counter & (capacity - 1).
 */
#define SHMK_EVENTS_MAGIC 0x53554249u	/* "IBUS" read as a host-endian u32 */
#define SHMK_EVENTS_VERSION 1u
#define SHMK_EVENTS_KIND 1u		/* flags & 0xff: region kind "events" */
#define SHMK_EVENTS_CAP_WAKE 0x1u	/* the futex wake section is appended */
/* SPSC senders write each slot's `seq` (the v1 slot's padding word) and
 * receivers may deliver on it alone (events.layout.slot-seq): no section,
 * no layout change, only a promise every joiner must understand */
#define SHMK_EVENTS_CAP_SEQ 0x2u
/* The MPSC queue is the lanes section appended after the v1 layout (and
 * after the wake section), one SPSC lane per producer row and a doorbell
 * (events.layout.lanes+2); the v1 MPSC cells stay unused.  v1 regions
 * without it keep Vyukov's queue. */
#define SHMK_EVENTS_CAP_LANES 0x4u
/* Every process on the region follows common.wait.fence+2's asymmetric
 * fence (a registered waker skips its fence unless the word is FENCED): set
 * with CAP_WAKE by every creator since; a build before it refuses the region
 * (an unknown capability), and a joiner of a region without it marks the
 * wake words FENCED (events.layout.asym). */
#define SHMK_EVENTS_CAP_ASYM 0x8u
#define SHMK_EVENTS_CAPS_KNOWN \
	(SHMK_EVENTS_CAP_WAKE | SHMK_EVENTS_CAP_SEQ | SHMK_EVENTS_CAP_LANES | SHMK_EVENTS_CAP_ASYM)
#define SHMK_EVENTS_INIT_NONE 0u
#define SHMK_EVENTS_INIT_BUSY 1u
#define SHMK_EVENTS_INIT_READY 2u
#define SHMK_EVENTS_QUEUE_CAP 1024u
#define SHMK_EVENTS_SLOTS 2048u
#define SHMK_EVENTS_SLOT_DATA 256u
#define SHMK_EVENTS_PRODUCERS 64u	/* MPSC producer table entries */
#define SHMK_EVENTS_NIL 0xffffffffu	/* free-list terminator */
/* Added (mod 2^64) to a position in a producer's intent word: "claiming
 * nothing".  Not a flag: a claim lies near the MPSC tail, nothing lies half
 * the counter space away from it. */
#define SHMK_EVENTS_INTENT_NONE (1ull << 63)

struct shmk_events_v1hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;		/* low 8 bits: region kind */
	uint32_t capabilities;	/* SHMK_EVENTS_CAP_* */
	uint32_t layout_bytes;	/* total bytes the creator laid out */
};

struct shmk_events_header {
	struct shmk_events_v1hdr v1;
	SHMK_ATOMIC(uint32_t) initialized;	/* 0 none, 1 initialising, 2 ready */
	uint32_t _pad0;
	SHMK_ATOMIC(uint64_t) creator;		/* token of the (last) initialiser */
	uint64_t counter_start;			/* informational: first counter value */
	uint8_t _pad1[24];
};

struct shmk_events_pool_ctl {
	SHMK_ATOMIC(uint64_t) free_head;	/* (generation << 32) | slot index */
	uint32_t slot_count;			/* always SHMK_EVENTS_SLOTS */
	uint8_t _pad[52];
};

struct shmk_events_line64 {
	SHMK_ATOMIC(uint64_t) v;
	uint8_t _pad[56];
};

struct shmk_events_roles {
	SHMK_ATOMIC(uint64_t) a;	/* SPSC sender / MPSC consumer */
	SHMK_ATOMIC(uint64_t) b;	/* SPSC receiver / unused */
	uint8_t _pad[48];
};

struct shmk_events_spsc {
	struct shmk_events_line64 tail;		/* producer line */
	struct shmk_events_line64 head;		/* consumer line */
	struct shmk_events_roles roles;		/* a = sender, b = receiver */
	/* slot indices; a free cell keeps the slot its message used
	 * (attached, refcnt 1) for the sender's next lap, or NIL (events.spsc.recycle) */
	SHMK_ATOMIC(uint32_t) cells[SHMK_EVENTS_QUEUE_CAP];
};

struct shmk_events_producer {
	SHMK_ATOMIC(uint64_t) token;	/* registered producer process, 0 = free */
	SHMK_ATOMIC(uint64_t) intent;	/* tail position it is claiming */
	uint8_t _pad[48];
};

/* The slot word of an MPSC cell: low 32 bits the slot index (also kept
 * while free, events.mpsc.recycle; NIL when published: a hole, skipped),
 * high 32 bits a stamp naming the lap that last wrote it: a producer binds
 * its slot with a CAS from the word it read at its claim to BOUND(pos), an
 * unblock writes UNBLOCKED(pos) (events.mpsc.slot-stamp).  One CAS then
 * tells a stopped producer its cell was unblocked, whatever lap it wakes in. */
#define SHMK_EVENTS_SLOTW_SLOT(w) ((uint32_t)(w))
#define SHMK_EVENTS_SLOTW_STAMP(w) ((uint32_t)((w) >> 32))
#define SHMK_EVENTS_STAMP_BOUND(pos) ((uint32_t)((pos) / SHMK_EVENTS_QUEUE_CAP * 2 + 1))
#define SHMK_EVENTS_STAMP_UNBLOCKED(pos) ((uint32_t)((pos) / SHMK_EVENTS_QUEUE_CAP * 2 + 2))
#define SHMK_EVENTS_SLOTW(stamp, slot) (((uint64_t)(stamp) << 32) | (uint32_t)(slot))

struct shmk_events_mcell {
	SHMK_ATOMIC(uint64_t) seq;	/* Vyukov: pos free, pos+1 published,
					 * pos+2 an unblock in progress */
	SHMK_ATOMIC(uint64_t) slotw;	/* stamp << 32 | slot, see above */
};

struct shmk_events_mpsc {
	struct shmk_events_line64 tail;		/* producers' claim counter */
	struct shmk_events_line64 head;		/* consumer line */
	struct shmk_events_roles roles;		/* a = consumer */
	struct shmk_events_producer producers[SHMK_EVENTS_PRODUCERS];
	struct shmk_events_mcell cells[SHMK_EVENTS_QUEUE_CAP];
};

struct shmk_events_slot {
	SHMK_ATOMIC(uint32_t) next_free;
	SHMK_ATOMIC(uint32_t) refcnt;	/* 0 free, 1 held */
	SHMK_ATOMIC(uint32_t) len;
	/* SPSC: (uint32_t)(position + 1) of the message the slot last carried,
	 * stored last (SHMK_EVENTS_CAP_SEQ); padding in upstream's v1 slot */
	SHMK_ATOMIC(uint32_t) seq;
	uint8_t data[SHMK_EVENTS_SLOT_DATA];
};

struct shmk_events_layout {
	struct shmk_events_header hdr;
	struct shmk_events_pool_ctl pool;
	struct shmk_events_spsc spsc;
	struct shmk_events_mpsc mpsc;
	struct shmk_events_slot slots[SHMK_EVENTS_SLOTS];
};

struct shmk_events_wakeword {
	SHMK_ATOMIC(uint32_t) gen;	/* futex word: bumped on every wake */
	SHMK_ATOMIC(uint32_t) waiters;	/* 30-bit count; bit 30 FENCED, 31 TAKEN (SHMK_WAIT_*) */
	uint8_t _pad[56];
};

struct shmk_events_wake {
	struct shmk_events_wakeword spsc_data, spsc_space, mpsc_data, mpsc_space;
};

/* One producer row's lane: an SPSC ring of slot indices (events.mpsc.lane+2).
 * Rows 0-3 (the first producers, and a dead one's successor: a producer
 * takes the lowest free row or a dead row 0-3 first) get 128 cells, the
 * other 60 rows 8: 4 x 128 + 60 x 8 = 992 cells, so every lane cell can
 * keep a slot attached together with every SPSC cell (1024) and the
 * 2048-slot pool still has slots over (events.spsc.hoard).  No plain
 * "lane cap": the depth is the row's (SHMK_EVENTS_LANE_CAP_OF). */
#define SHMK_EVENTS_LANE_DEEP_ROWS 4u
#define SHMK_EVENTS_LANE_CAP_DEEP 128u
#define SHMK_EVENTS_LANE_CAP_SHALLOW 8u		/* rows 4-63 */
#define SHMK_EVENTS_LANE_CELLS \
	(SHMK_EVENTS_LANE_DEEP_ROWS * SHMK_EVENTS_LANE_CAP_DEEP + \
	 (SHMK_EVENTS_PRODUCERS - SHMK_EVENTS_LANE_DEEP_ROWS) * SHMK_EVENTS_LANE_CAP_SHALLOW)
/* Row i's depth and the index of its first cell in the cells array. */
#define SHMK_EVENTS_LANE_CAP_OF(i) \
	((i) < SHMK_EVENTS_LANE_DEEP_ROWS ? SHMK_EVENTS_LANE_CAP_DEEP : SHMK_EVENTS_LANE_CAP_SHALLOW)
#define SHMK_EVENTS_LANE_FIRST(i) \
	((i) < SHMK_EVENTS_LANE_DEEP_ROWS \
		 ? (i) * SHMK_EVENTS_LANE_CAP_DEEP \
		 : SHMK_EVENTS_LANE_DEEP_ROWS * SHMK_EVENTS_LANE_CAP_DEEP + \
			   ((i) - SHMK_EVENTS_LANE_DEEP_ROWS) * SHMK_EVENTS_LANE_CAP_SHALLOW)
struct shmk_events_lane {
	struct shmk_events_line64 tail;		/* the row's producer writes it */
	struct shmk_events_line64 head;		/* the consumer writes it */
};

struct shmk_events_lanes {
	/* bit i: lane i may hold a message (events.mpsc.doorbell); producers
	 * set their bit, the consumer clears it */
	struct shmk_events_line64 bell;
	struct shmk_events_lane lanes[SHMK_EVENTS_PRODUCERS];
	/* every lane's cells, row by row (SHMK_EVENTS_LANE_FIRST): slot
	 * indices; a free cell keeps its slot attached (refcnt 1) for the
	 * producer's next lap, or NIL (events.mpsc.recycle) */
	SHMK_ATOMIC(uint32_t) cells[SHMK_EVENTS_LANE_CELLS];
};

#define SHMK_EVENTS_BASE_BYTES 582144u
#define SHMK_EVENTS_WAKE_BYTES 256u
#define SHMK_EVENTS_LANES_BYTES 12224u

SHMK_WIRE_ASSERT(sizeof(struct shmk_events_v1hdr) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_v1hdr, magic) == 0);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_v1hdr, version) == 4);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_v1hdr, flags) == 6);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_v1hdr, capabilities) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_v1hdr, layout_bytes) == 12);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_header) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_header, initialized) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_header, creator) == 24);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_header, counter_start) == 32);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_pool_ctl) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_pool_ctl, slot_count) == 8);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_line64) == 64);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_roles) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_roles, b) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_spsc, head) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_spsc, roles) == 128);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_spsc, cells) == 192);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_spsc) == 4288);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_producer) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_producer, intent) == 8);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_mcell) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_mcell, slotw) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_mpsc, head) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_mpsc, roles) == 128);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_mpsc, producers) == 192);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_mpsc, cells) == 4288);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_mpsc) == 20672);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_slot) == 272);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_slot, refcnt) == 4);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_slot, len) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_slot, seq) == 12);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_slot, data) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_layout, pool) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_layout, spsc) == 128);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_layout, mpsc) == 4416);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_layout, slots) == 25088);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_layout) == SHMK_EVENTS_BASE_BYTES);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_wakeword) == 64);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_wake) == SHMK_EVENTS_WAKE_BYTES);
SHMK_WIRE_ASSERT(SHMK_EVENTS_BASE_BYTES % 64 == 0);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_lane, head) == 64);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_lane) == 128);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_lanes, lanes) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_events_lanes, cells) == 8256);
SHMK_WIRE_ASSERT(sizeof(struct shmk_events_lanes) == SHMK_EVENTS_LANES_BYTES);
/* every lane cell and every SPSC cell can hold a slot at once */
SHMK_WIRE_ASSERT(SHMK_EVENTS_LANE_CELLS == 992);
SHMK_WIRE_ASSERT(SHMK_EVENTS_LANE_CELLS + SHMK_EVENTS_QUEUE_CAP <= SHMK_EVENTS_SLOTS);
SHMK_WIRE_ASSERT(SHMK_EVENTS_LANE_FIRST(SHMK_EVENTS_PRODUCERS) == SHMK_EVENTS_LANE_CELLS);
SHMK_WIRE_ASSERT((SHMK_EVENTS_LANE_CAP_SHALLOW & (SHMK_EVENTS_LANE_CAP_SHALLOW - 1)) == 0);
SHMK_WIRE_ASSERT((SHMK_EVENTS_LANE_CAP_DEEP & (SHMK_EVENTS_LANE_CAP_DEEP - 1)) == 0);
SHMK_WIRE_ASSERT(SHMK_EVENTS_PRODUCERS == 64); /* one doorbell bit per row in a u64 */
SHMK_WIRE_ASSERT((SHMK_EVENTS_QUEUE_CAP & (SHMK_EVENTS_QUEUE_CAP - 1)) == 0);

/* ------------------------------------------------------------------ ring */
/* (section owned by ring.c; clauses in conformance/spec/ring.md)
 *
 * One file: [header page][capacity bytes of ring][writers page].
 * The ring starts at offset page_size (upstream); index i lives at byte
 * page_size + i % capacity.  A record is [tag u64][len u64][payload][0-7
 * zero bytes], 8-aligned, record_len = 16 + round_up(len, 8).  The
 * writers page comes after the ring so the reader never maps it writable.
 */
#define SHMK_RING_MAGIC 0x474e49524b4d4853ull /* "SHMKRING" little-endian */
#define SHMK_RING_WMAGIC 0x5352544952574b53ull /* "SKWRITRS" little-endian */
/* 2 since common.wait.fence+2's asymmetric fence: a version-1 peer parks
 * without membarrier and never marks FENCED, so it must not share a ring
 * with a registered waker; its version check refuses version 2
 * (ring.layout.version) */
#define SHMK_RING_VERSION 2u
#define SHMK_RING_REC_HDR 16u		/* tag + len */
#define SHMK_RING_MAX_MESSAGE 65536u	/* a whole record, header included */
#define SHMK_RING_MAX_PAYLOAD 65520u	/* MAX_MESSAGE - REC_HDR */
#define SHMK_RING_MIRROR 65536u		/* bytes mapped again after the ring end */
#define SHMK_RING_MAX_WRITERS 64u

struct shmk_ring_hdr {
	SHMK_ATOMIC(uint64_t) head;	/* 0: advanced only by writers */
	SHMK_ATOMIC(uint64_t) tail;	/* 8: advanced only by the reader */
	uint64_t magic;			/* 16: SHMK_RING_MAGIC, stored last at create */
	uint32_t version;		/* 24 */
	uint32_t page_size;		/* 28: page size of the creator */
	uint64_t capacity;		/* 32: ring bytes, multiple of page_size */
	SHMK_ATOMIC(uint64_t) reader;	/* 40: process token of the reader, 0 = none */
	uint8_t reserved0[16];		/* 48 */
	SHMK_ATOMIC(uint32_t) gen;	/* 64: futex word, bumped by every commit/close */
	SHMK_ATOMIC(uint32_t) waiters;	/* 68: announced readers, 30-bit count; bit 30
					 * FENCED, 31 TAKEN (SHMK_WAIT_*) */
	uint8_t reserved1[56];		/* 72 */
};
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_hdr) == 128);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, head) == 0);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, tail) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, magic) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, version) == 24);
SHMK_WIRE_ASSERT(SHMK_RING_VERSION == 2); /* ring.layout.version */
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, page_size) == 28);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, capacity) == 32);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, reader) == 40);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, gen) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, waiters) == 68);

struct shmk_ring_wslot {
	SHMK_ATOMIC(uint64_t) token;	/* writer process token, 0 = free */
	uint64_t tag;			/* the tag its records carry */
};
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_wslot) == 16);

struct shmk_ring_wpage {
	uint64_t magic;			/* 0: SHMK_RING_WMAGIC */
	uint32_t version;		/* 8 */
	uint32_t nslots;		/* 12: SHMK_RING_MAX_WRITERS */
	SHMK_ATOMIC(uint64_t) registered; /* 16: writers ever opened */
	SHMK_ATOMIC(uint64_t) solo;	/* 24: 1 once a sole writer may write unlocked */
	SHMK_ATOMIC(uint64_t) busy;	/* 32: thread token of the sole writer in an unlocked record */
	SHMK_ATOMIC(uint64_t) owner;	/* 40: process token of the sole writer (stored before solo) */
	SHMK_ATOMIC(uint64_t) owner_ns;	/* 48: inode of its pid namespace (0: unknown) */
	uint8_t reserved0[8];		/* 56 */
	uint8_t lock[64];		/* 64: pthread_mutex_t, process-shared + robust */
	struct shmk_ring_wslot slots[SHMK_RING_MAX_WRITERS]; /* 128 */
};
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_wpage) == 128 + 16 * SHMK_RING_MAX_WRITERS);
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_wpage) <= 4096);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, registered) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, solo) == 24);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, busy) == 32);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, owner) == 40);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, owner_ns) == 48);
/* ring.writer.solo.owner: the byte of the ring file the sole writer holds
 * an OFD write lock on for as long as it may write unlocked */
#define SHMK_RING_SOLO_LOCK_OFF 0
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, lock) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, slots) == 128);

/* Mediated writers (ring_mediator.c): the writer holds only its end of a
 * SOCK_SEQPACKET socket; one message per record, [shmk_ring_mmsg][len
 * payload bytes] and nothing else (no ancillary data); the mediator
 * answers every accepted message with one shmk_ring_mreply.  The hand-off
 * queued on a new writer's socket is 16 bytes: SHMK_RING_MHANDOFF, tag. */
#define SHMK_RING_MMSG_MAGIC 0x4d4b5352u	/* "RSKM" little-endian: a record */
#define SHMK_RING_MHANDOFF 0x31444d4b4d485372ull /* "rSHMKMD1": mediated hand-off */

struct shmk_ring_mmsg {
	uint32_t magic;			/* 0: SHMK_RING_MMSG_MAGIC */
	uint32_t len;			/* 4: payload bytes, == message length - 8 */
};
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_mmsg) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_mmsg, len) == 4);

struct shmk_ring_mreply {
	int32_t rc;			/* 0: what the append returned */
	uint32_t zero;			/* 4 */
};
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_mreply) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_mreply, zero) == 4);

/* ------------------------------------------------------------------ slots */
/* (section owned by slots.c; rules in conformance/spec/slots.md)
 *
 * Segment: [struct shmk_slots_hdr, 0x140 bytes][slot 0]...[slot count-1],
 * slot i at SHMK_SLOTS_HDR_SIZE + i * slot_total_size, each slot a
 * struct shmk_slot_hdr (16 bytes) followed by slot_capacity data bytes,
 * padded to slot_total_size = align_up(16 + slot_capacity, 64).
 *
 * r[impl slots.layout.header+2] Layout changes from upstream ZeroDDS
 * flatdata (v1 as its create() writes it: u32 magic 0x5A445353,
 * slot_count, slot_total_size, next_sn at 0x0c, the futex generation at
 * 0x10, padded to a 0x20 header, though its module table still shows a
 * 0x10 one; slot header {u32 sn, u32 sample_size, u32 reader_mask, pad}):
 * the header grows to 0x140 bytes; slot_capacity is stored at 0x0c (where upstream keeps
 * next_sn) so owner and readers agree; next_sn moves to 0x10 and, like the
 * slot sn, is a u64 that never wraps (so sample_size and reader_mask move
 * to 0x08 and 0x0c of the slot header); the futex word moves to 0x18; an
 * owner token, owner state, waiter count and a 32-entry reader registry
 * (process tokens) follow.
 *
 * r[impl slots.layout.magic] Because the bytes mean other things, the
 * magic is shmkit's own, "SKSL" read as a host-endian u32: upstream's
 * attach, which checks only the magic, refuses a shmkit segment instead of
 * misreading it, and shmkit refuses upstream's segment by name
 * (SHMK_SLOTS_ZERODDS_MAGIC, r[slots.attach.upstream]).
 */
#define SHMK_SLOTS_MAGIC 0x4C534B53u		/* "SKSL" */
#define SHMK_SLOTS_ZERODDS_MAGIC 0x5A445353u	/* upstream v1 ("ZDSS"): refused */
#define SHMK_SLOTS_ZERODDS_HDR_SIZE 0x20u
#define SHMK_SLOTS_MAX_READERS 32u
#define SHMK_SLOTS_SLOT_HDR_SIZE 16u
#define SHMK_SLOTS_HDR_SIZE 0x140u
#define SHMK_SLOTS_SLOT_ALIGN 64u
#define SHMK_SLOTS_OWNER_LIVE 1u
#define SHMK_SLOTS_OWNER_CLOSED 2u
/* Registry value of a reader that closed; the owner reaps it to 0. */
#define SHMK_SLOTS_READER_LEFT UINT64_MAX
/* Largest flink file: the segment's shm name ('/' + up to NAME_MAX - 1
 * bytes) and a newline; readers (attach, `shmkit inspect`) read no more. */
#define SHMK_SLOTS_FLINK_MAX 256u

struct shmk_slots_hdr {
	uint32_t magic;				/* 0x00 SHMK_SLOTS_MAGIC, stored last */
	uint32_t slot_count;			/* 0x04 */
	uint32_t slot_total_size;		/* 0x08 align_up(16 + capacity, 64) */
	uint32_t slot_capacity;			/* 0x0c data bytes per slot */
	SHMK_ATOMIC(uint64_t) next_sn;		/* 0x10 next sequence number */
	SHMK_ATOMIC(uint32_t) notify_gen;	/* 0x18 futex word */
	uint32_t hdr_size;			/* 0x1c == SHMK_SLOTS_HDR_SIZE */
	SHMK_ATOMIC(uint64_t) owner_token;	/* 0x20 creator's process token */
	SHMK_ATOMIC(uint32_t) owner_state;	/* 0x28 SHMK_SLOTS_OWNER_* */
	SHMK_ATOMIC(uint32_t) waiters;		/* 0x2c processes announced on notify_gen */
	uint8_t reserved[0x10];			/* 0x30 zero */
	SHMK_ATOMIC(uint64_t) readers[32];	/* 0x40 token, 0, or READER_LEFT */
};

struct shmk_slot_hdr {
	SHMK_ATOMIC(uint64_t) sn;		/* 0x00 0 = not committed */
	SHMK_ATOMIC(uint32_t) sample_size;	/* 0x08 */
	SHMK_ATOMIC(uint32_t) reader_mask;	/* 0x0c bit set = read / not addressed */
};

SHMK_WIRE_ASSERT(sizeof(struct shmk_slots_hdr) == SHMK_SLOTS_HDR_SIZE);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, magic) == 0x00);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, slot_count) == 0x04);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, slot_total_size) == 0x08);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, slot_capacity) == 0x0c);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, next_sn) == 0x10);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, notify_gen) == 0x18);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, hdr_size) == 0x1c);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, owner_token) == 0x20);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, owner_state) == 0x28);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, waiters) == 0x2c);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, reserved) == 0x30);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slots_hdr, readers) == 0x40);
SHMK_WIRE_ASSERT(SHMK_SLOTS_HDR_SIZE % SHMK_SLOTS_SLOT_ALIGN == 0);
SHMK_WIRE_ASSERT(SHMK_SLOTS_MAGIC != SHMK_SLOTS_ZERODDS_MAGIC);
SHMK_WIRE_ASSERT(sizeof(struct shmk_slot_hdr) == SHMK_SLOTS_SLOT_HDR_SIZE);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slot_hdr, sn) == 0x00);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slot_hdr, sample_size) == 0x08);
SHMK_WIRE_ASSERT(offsetof(struct shmk_slot_hdr, reader_mask) == 0x0c);

#endif
