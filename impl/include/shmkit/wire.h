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

#define SHMK_WIRE_ASSERT(cond) _Static_assert(cond, #cond)

/* ------------------------------------------------------------------ common
 * A process token: (start_time_ticks << 22) | pid, 0 = nobody.  One u64 so
 * a role can be claimed with one CAS; see internal.h for the liveness rule.
 */
typedef uint64_t shmk_token_t;

/* ------------------------------------------------------------------ events */
/* (section owned by events.c) */

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
#define SHMK_RING_VERSION 1u
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
	SHMK_ATOMIC(uint32_t) waiters;	/* 68: 1 while the reader may sleep on gen */
	uint8_t reserved1[56];		/* 72 */
};
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_hdr) == 128);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, head) == 0);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, tail) == 8);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, magic) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_hdr, version) == 24);
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
	uint8_t reserved0[40];		/* 24 */
	uint8_t lock[64];		/* 64: pthread_mutex_t, process-shared + robust */
	struct shmk_ring_wslot slots[SHMK_RING_MAX_WRITERS]; /* 128 */
};
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_wpage) == 128 + 16 * SHMK_RING_MAX_WRITERS);
SHMK_WIRE_ASSERT(sizeof(struct shmk_ring_wpage) <= 4096);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, registered) == 16);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, lock) == 64);
SHMK_WIRE_ASSERT(offsetof(struct shmk_ring_wpage, slots) == 128);

/* ------------------------------------------------------------------ slots */
/* (section owned by slots.c) */

#endif
