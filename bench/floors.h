/* SPDX-License-Identifier: MIT */
/*
 * floors.h - the two floor protocols a module bench also runs interleaved
 * with its own (ilv.h): the N-byte ping-pong (peers/pingpong_rtt) and the
 * Lamport cached-index SPSC ring (peers/lamport_*).  One copy of each,
 * compiled once (bench/floors.c) and linked into the peers program and
 * every module program, so the floor a module bench measures between its
 * own two processes is the code peers/ measures on its own.  What each
 * protocol does is in bench/peers/pingpong.c and bench/peers/lamport.c.
 */
#ifndef SHMK_BENCH_FLOORS_H
#define SHMK_BENCH_FLOORS_H

#include "common.h"

/* ------------------------------------------------------------ ping-pong */
struct pp_sh {
	struct bc_ctl c;
	_Alignas(BC_LINE) _Atomic uint64_t word; /* N <= 8: payload and flag */
	char pad[BC_LINE - sizeof(uint64_t)];
	_Alignas(BC_LINE) _Atomic uint64_t flag_a; /* measurer -> peer */
	char pad_a[BC_LINE - sizeof(uint64_t)];
	_Alignas(BC_LINE) _Atomic uint64_t flag_b; /* peer -> measurer */
	char pad_b[BC_LINE - sizeof(uint64_t)];
	size_t off_a, off_b, len; /* the N-byte buffers, page aligned */
	/* shaped (pp_area_shape): each buffer `slots` elements `stride` bytes
	 * apart, round trip k's message in element k % slots, payload at
	 * `off`, published by its header word (len | stamp << 32) at
	 * LR_HDR_OFF instead of a flag line; 0 = plain */
	size_t stride, slots, off;
};

/* A shared ping-pong area for N-byte messages (NULL when mmap failed);
 * free with bc_unshared(sh, sh->len). */
struct pp_sh *pp_area(size_t n);
/* The same, shaped as a module's layout lays out its messages
 * (peers/pingpong_events_shape_rtt): each message goes through the next
 * of `slots` elements, the payload written, then its header word (the
 * flag). */
struct pp_sh *pp_area_shape(size_t n, size_t stride, size_t off, size_t slots);
/* Peer: answers round trip `want` (the measurer's stamp; odd, 1, 3, ...).
 * stop: the control block whose stop ends the wait.  0 answered, 1
 * stopped, -1 bad stamp (c->msg says so). */
int pp_serve(struct pp_sh *sh, uint64_t want, struct bc_ctl *stop, uint64_t *sink);
/* Measurer: one round trip stamped seq; true when the right reply came
 * (false also when the peer of r died: r->failed). */
bool pp_rtt(struct bc_run *r, struct pp_sh *sh, uint64_t seq, uint64_t *sink);

/* Where a shaped element's header word sits: events v1's len | seq, the
 * ring record's len (impl/include/shmkit/wire.h). */
#define LR_HDR_OFF 8u

/* ------------------------------------------------------------ Lamport */
/* The ring, plain (lr_init: elements of `size` bytes packed, indexed by
 * mask) or shaped as a module's layout lays out its messages
 * (lr_init_shape, peers/lamport_{events,ring}_shape_tput): elements `stride`
 * bytes apart, the payload at `off` in each, and when `hdr` a header word
 * (len | position + 1 << 32) at LR_HDR_OFF that the producer writes and
 * the consumer checks.  The same push / pop (floors.c) serves both: the
 * same cached indices, one index publication per message. */
struct lring {
	_Alignas(BC_LINE) _Atomic uint64_t head; /* producer's line */
	_Alignas(BC_LINE) _Atomic uint64_t tail; /* consumer's line */
	_Alignas(BC_LINE) uint64_t mask;	 /* read-only after init: slots - 1 */
	uint64_t size;			 /* payload bytes */
	uint64_t stride;		 /* shape: element bytes; 0 = plain */
	uint64_t off;			 /* shape: the payload's offset */
	uint64_t end;			 /* shape: stride * slots */
	bool hdr;			 /* shape: header word written */
	_Alignas(BC_LINE) unsigned char data[];
};

struct lprod {
	struct lring *r;
	uint64_t head, tail_cache;
	uint64_t at; /* shape: the next element's byte offset */
};

struct lcons {
	struct lring *r;
	uint64_t tail, head_cache;
	uint64_t at; /* shape: the next element's byte offset */
};

/* The Lamport ring's data bytes at every element size that fits 64 slots
 * (the ring bench gives its byte ring the same capacity: one working set). */
#define LR_DATA_BYTES (256u * 1024u)

/* Bytes of a ring of `size`-byte elements (256 KiB of slots, >= 64). */
size_t lr_bytes(size_t size);
void lr_init(struct lring *r, size_t size);
/* A shaped ring of `slots` elements (any count >= 1), each `stride` bytes
 * (a multiple of 8, >= off + size, and >= LR_HDR_OFF + 8 when hdr), the
 * payload at `off`; lr_shape_bytes is its length. */
size_t lr_shape_bytes(size_t stride, size_t slots);
void lr_init_shape(struct lring *r, size_t size, size_t stride, size_t off, size_t slots,
		   bool hdr);
/* One message in / out of a plain ring; false when full / empty. */
bool lr_push(struct lprod *p, const void *msg);
bool lr_pop(struct lcons *c, void *msg);
/* Producer: pushes messages first .. first + n - 1, each filled with its
 * stamp (bc_fill); 0, or 1 when stopped while the ring was full. */
int lr_produce(struct lprod *p, unsigned char *buf, uint64_t first, uint64_t n,
	       struct bc_ctl *stop);
/* Consumer: pops n messages, reads every byte and checks the stamps run
 * first, first + 1, ... (and a shaped ring's header words); 0, or -1 (bad
 * stamp or header, or the peer of r died). */
int lr_consume(struct lcons *c, unsigned char *buf, uint64_t first, uint64_t n,
	       uint64_t *sink, struct bc_run *r);

#endif
