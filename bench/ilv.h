/* SPDX-License-Identifier: MIT */
/*
 * ilv.h - interleaved floors.  The host of a small VM moves its vCPUs
 * between close and far cores within seconds (the 64 B ping-pong reads
 * 90 ns, 160 ns or 400-630 ns at different moments), so a result and its
 * floor measured in separate runs, even seconds apart, can see different
 * placements and their ratio mixes them.  An interleaved bench therefore
 * runs its floor protocol too, between the same two pinned processes, on
 * separate shared memory, alternating short blocks: ILV_RTT_BLOCK round
 * trips of its own, then as many of the floor's (ping-pong, floors.h, or
 * one the bench runs itself: ilv_floor_add), or
 * ILV_TPUT_BLOCK messages of its own stream, then as many through the
 * floor's (the Lamport ring, or for the MPSC queue the SPSC one).  Round
 * trips: both processes count them, so both switch at the same one without
 * a word passed; streams: the consumer hands out each block (ilv_ctl).
 * Each block pair gives a ratio (result
 * block's median / floor block's median for round trips, result block's
 * rate / floor block's rate for streams); the bench reports its own
 * figures unchanged, the floor's figures over all its blocks (floor_p50_ns,
 * floor_p99_ns or floor_items_per_second) and the median of the per-block
 * ratios, ilv_ratio (with ilv_ratio_p10 / _p90 and ilv_blocks; and
 * ilv_ratio_fast, the median over the quarter of the pairs whose floor was
 * fastest, with floor_fast: the ratio in the close placement): a block
 * pair lasts well under a millisecond, so nearly every pair sees one
 * placement, and the median over pairs is not moved by the few that
 * straddle a move.  bench/targets.json judges these rows by ilv_ratio.
 */
#ifndef SHMK_BENCH_ILV_H
#define SHMK_BENCH_ILV_H

#include "common.h"
#include "floors.h"

/* Round trips per block: 45-300 us at 8-64 B, about 1 ms at 4 KiB. */
#define ILV_RTT_BLOCK 500
/* Messages per streaming block: 0.1-1 ms at 8-4096 B. */
#define ILV_TPUT_BLOCK 8192
/* Gbench's min_time share of an interleaved bench (it runs its floor as
 * long again). */
#define ILV_TIME_SHARE 0.5

/* The block for an invocation of `iters` timed operations: `max`, or
 * fewer so that even a short invocation (Google Benchmark's first tries, a
 * QUICK run) closes about eight block pairs; never under 16. */
static inline uint64_t ilv_block(uint64_t max, int64_t iters)
{
	uint64_t b = iters > 0 ? (uint64_t)iters / 8 : 0;
	return b > max ? max : b < 16 ? 16 : b;
}

struct ilv {
	uint64_t block;		/* operations per block */
	struct bc_lat floor;	/* round trips: every timed floor sample */
	uint64_t *res, *flo;	/* round trips: this block pair's samples */
	size_t nres, nflo;
	double *ratios;		/* one per closed block pair: own / floor */
	double *floors;		/* and the floor's figure of that pair */
	size_t nratios, cap;
	double floor_items, floor_ns; /* streams: floor messages and their time */
};

/* samples: the floor samples kept (as for the bench's own; 0 for
 * streams), ops: the bench's own operations planned (its iterations); 0 on
 * success, else the bench was skipped with the error. */
int ilv_init(struct ilv *v, gbs_state *st, uint64_t block, size_t samples, uint64_t ops);
void ilv_free(struct ilv *v);

/* ------------------------------------------------------------ round trips */
/* Measurer, before the peer is forked: the ping-pong area for size-byte
 * messages and v for this invocation (blocks of ilv_block(ILV_RTT_BLOCK,
 * its iterations)); NULL, the bench skipped with the error, on failure.
 * Free both with ilv_rtt_close. */
struct pp_sh *ilv_rtt_open(struct ilv *v, gbs_state *st, size_t size);
void ilv_rtt_close(struct ilv *v, struct pp_sh *pp);
/* True after the done-th round trip of the bench's own (warm-up included)
 * when a floor block is due: every `block` round trips. */
static inline bool ilv_due(const struct ilv *v, uint64_t done)
{
	return done % v->block == 0;
}
/* Measurer: one timed round trip of the bench's own, for its block. */
static inline void ilv_add(struct ilv *v, uint64_t ns)
{
	if (v->nres < v->block)
		v->res[v->nres++] = ns;
}
/* Measurer: one timed round trip of the floor's, for its block, when the
 * bench runs a floor protocol of its own instead of the ping-pong (events'
 * spinning queue, the futex round trip with events' wait protocol). */
static inline void ilv_floor_add(struct ilv *v, uint64_t ns)
{
	bc_lat_add(&v->floor, ns);
	if (v->nflo < v->block)
		v->flo[v->nflo++] = ns;
}
/* Measurer: after the floor's block, timed or not: closes the block pair
 * with its ratio when both blocks were timed whole, and starts the next. */
void ilv_pair_end(struct ilv *v);
/* Measurer: a block of ping-pong round trips (stamps *seq, *seq + 2, ...);
 * timed: kept as floor samples and the block pair closed with its ratio
 * (else, warm-up, dropped).  False when the peer failed (r->failed). */
bool ilv_pp_block(struct ilv *v, struct bc_run *r, struct pp_sh *pp, uint64_t *seq,
		  bool timed, uint64_t *sink);
/* Peer: answers a block of ping-pong round trips (*want, *want + 2, ...).
 * 0, 1 when stopped, -1 bad stamp (stop->msg says so). */
int ilv_pp_serve(struct pp_sh *pp, uint64_t *want, uint64_t block, struct bc_ctl *stop,
		 uint64_t *sink);
/* Peer: after each round trip of the bench's own it served (*served
 * counts them), the floor's block when one is due; block 0 = none.  As
 * ilv_pp_serve. */
static inline int ilv_pp_after(struct pp_sh *pp, uint64_t block, uint64_t *served, uint64_t *want,
			       struct bc_ctl *stop, uint64_t *sink)
{
	if (!block || ++*served % block)
		return 0;
	return ilv_pp_serve(pp, want, block, stop, sink);
}
/* floor_p50_ns, floor_p99_ns, ilv_ratio, ilv_ratio_p10, ilv_ratio_p90,
 * ilv_blocks, ilv_ratio_fast, floor_fast_p50_ns. */
void ilv_report_rtt(gbs_state *st, struct ilv *v);

/* ------------------------------------------------------------ streams */
/* A stream's producer may not run ahead into the next block: the queue
 * would hold a block's messages before its consumer starts the clock.  So
 * the consumer hands out each block (its number and size) when it starts
 * timing it, and the producer waits for it. */
struct ilv_ctl {
	_Atomic uint64_t blk; /* the block the producer may send (1, 2, ...) */
	_Atomic uint64_t n;   /* its messages */
};
/* Measurer: block j (odd: the bench's own, even: the floor's) of n. */
static inline void ilv_go(struct ilv_ctl *k, uint64_t j, uint64_t n)
{
	/* relaxed: published by the release of blk below */
	atomic_store_explicit(&k->n, n, memory_order_relaxed);
	/* release: pairs with the producer's acquire of blk in ilv_wait */
	atomic_store_explicit(&k->blk, j, memory_order_release);
}
/* Producer: waits for block j; its size, or 0 when stopped. */
static inline uint64_t ilv_wait(struct ilv_ctl *k, uint64_t j, struct bc_ctl *stop)
{
	uint32_t spins = 0;
	/* acquire: pairs with the measurer's release of blk in ilv_go */
	while (atomic_load_explicit(&k->blk, memory_order_acquire) < j) {
		bc_relax();
		if (!(++spins & 0xffff) && bc_stopped(stop))
			return 0;
	}
	return atomic_load_explicit(&k->n, memory_order_relaxed);
}
/* One side of an interleaved stream: take (measurer) takes n messages
 * stamped first, first + 1, ... and checks them (false when it failed: the
 * bench skipped, r->failed); put (producer) sends them (0, 1 when stopped,
 * < 0 failed, stop->msg says why). */
struct ilv_side {
	bool (*take)(void *ctx, uint64_t first, uint64_t n);
	int (*put)(void *ctx, uint64_t first, uint64_t n);
	void *ctx;
};
/* The Lamport ring as the floor side (lr_consume / lr_produce). */
struct ilv_lamport {
	struct lcons c;
	struct lprod p;
	unsigned char *buf;
	uint64_t *sink;
	struct bc_run *r;	/* measurer */
	struct bc_ctl *stop;	/* producer */
};
bool ilv_lamport_take(void *ctx, uint64_t first, uint64_t n);
int ilv_lamport_put(void *ctx, uint64_t first, uint64_t n);
/* Measurer of a stream: gbs_max_iterations messages of the bench's own
 * side in blocks of v->block, each followed by as many of the floor side,
 * after one untimed pair (the warm-up).  Sets the iteration time to the own
 * blocks' time, items processed, and closes a ratio per pair.  Returns the
 * own messages taken. */
uint64_t ilv_stream(gbs_state *st, struct ilv *v, struct ilv_ctl *k, struct ilv_side own,
		    struct ilv_side floor, struct bc_run *r);
/* Producer of a stream: block after block as ilv_stream hands them out,
 * odd ones through own.put, even ones through floor.put; each stream
 * stamped 0, 1, 2, ...  0 when stopped, 1 when a put failed. */
int ilv_produce(struct ilv_ctl *k, struct bc_ctl *stop, struct ilv_side own, struct ilv_side floor);
/* floor_items_per_second, ilv_ratio, ilv_ratio_p10, ilv_ratio_p90,
 * ilv_blocks, ilv_ratio_fast, floor_fast_items_per_second. */
void ilv_report_tput(gbs_state *st, struct ilv *v);

#endif
