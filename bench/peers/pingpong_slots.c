/* SPDX-License-Identifier: MIT */
/*
 * peers/pingpong_slots.c - the ping-pong in the slots layout and protocol:
 * the floor of slots/read_rtt/<S> (bench/slots.c) that any implementation
 * of this wire layout and this API pays, interleaved with the plain S-byte
 * ping-pong (ilv.h) as peers/pingpong_events_shape_rtt is.
 *
 *   peers/pingpong_slots_shape_rtt/<S>/cross-cpu        the library's layout
 *                                                       (wire.h): notify_gen
 *                                                       on next_sn's line
 *   peers/pingpong_slots_shape_split_rtt/<S>/cross-cpu  notify_gen and
 *                                                       waiters on a line of
 *                                                       their own
 *
 * As in read_rtt, the measurer owns segment A and reads B, its peer reads
 * A and owns B; eight slots of align_up(16 + S, 64) bytes after the 0x140
 * byte header, taken in turn.  Each message makes exactly the shared
 * accesses the API makes the library do, in its order and of its kind, and
 * nothing else (no handle, no argument check, no registry scan: the
 * registry's lines are written only by registrations, so its reads move
 * nothing):
 *   owner   reserve: acquire load of the slot's reader_mask (free once its
 *           reader marked it), relaxed store sn = 0, release fence;
 *           the S bytes; sample_size and reader_mask (relaxed); release
 *           store of sn; release store of next_sn; notify: seq_cst
 *           fetch_add of notify_gen, seq_cst load of waiters
 *   reader  next_unread_slot: acquire polls of next_sn; acquire load of
 *           sn, loads of sample_size and reader_mask, acquire fence, sn
 *           again; the S bytes (stamp checked); mark_read: release
 *           fetch_or of its bit in reader_mask; notify as above
 * The library loads the header words twice more (slot_read_ptr's
 * load_committed, mark_read's stale-handle check): loads of a line the
 * reader already holds, which an implementation may merge; they move no
 * line, so the floor leaves them out.  The seed's notify_generation makes
 * every commit and every mark_read a bump, and per-reader marks are the
 * API's; the reader polling next_sn rather than the slot is the library's
 * choice (a look at the slot cost read_rtt/64 1.26x: slots_data.c).
 *
 * No prefetches, though the library issues them (reserve: the slot for
 * writing, just before its mask load; publish: the next slot's two lines
 * for writing; next_unread_slot: the slot and notify_gen for writing, the
 * sample's second line): the floor is the best protocol, and in this one
 * they cost.  Measured at 64 B with publish's and next_unread_slot's five
 * (reserve's would find its line already owned), ilv_ratio against the
 * plain ping-pong, 4 repetitions each, far placement (ping-pong 560-700
 * ns): none 1.00-1.12 (612-630 ns), publish's only 1.01-1.16,
 * next_unread_slot's only 1.07-1.26, all five 1.19-1.45 (792-811 ns);
 * close (150 ns): none 1.13, all five 1.22-1.46.  At 4096 B the library,
 * prefetching, came under this floor in one run (read_rtt 1.03-1.06, the
 * shape 1.10-1.16, far): as the other shaped rows, it bounds its own
 * protocol in the layout, not every one.
 *
 * Per round trip, each way: header line 0 (next_sn, and notify_gen in the
 * library's layout) read by the reader then written by both sides' RMWs,
 * the slot's first line (header + 48 data bytes) written, read and
 * RMW'd, and the sample's other lines written and read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "shmkit/wire.h"

#include "../common.h"
#include "../floors.h"
#include "../ilv.h"
#include "peers.h"

/* Slots per segment, as bench/slots.c creates them (SL_COUNT). */
#define SS_COUNT 8u
/* Each side's bit in the other's reader_mask: reader index 0, what
 * register_reader(-1) gives on a fresh segment (bench/slots.c). */
#define SS_READER 1u

_Static_assert(SHMK_SLOTS_SLOT_HDR_SIZE == sizeof(struct shmk_slot_hdr), "data after the header");

struct ss_sh {
	struct bc_ctl c;
	struct bc_bufs bufs; /* segment A (measurer's), B (peer's) */
	size_t total;	     /* slot bytes: align_up(16 + S, 64) */
	size_t gen_at;	     /* notify_gen's offset in a segment; waiters 0x14 on */
	size_t slots_at;     /* slot 0's offset */
	/* the plain ping-pong interleaved (ilv.h), a block after every
	 * `ilv` round trips */
	uint64_t ilv;
	struct pp_sh *pp;
};

_Static_assert(sizeof(struct ss_sh) <= 4096, "control fits the first page (bc_shared_area)");

/* One segment as its owner and its reader see it (process-local). */
struct ss_seg {
	_Atomic uint64_t *next_sn;
	_Atomic uint32_t *gen, *waiters;
	unsigned char *slots;
	size_t total, size;
};

static struct ss_seg ss_seg(struct ss_sh *sh, size_t off)
{
	unsigned char *g = (unsigned char *)sh + off;
	struct shmk_slots_hdr *h = (struct shmk_slots_hdr *)(void *)g;
	return (struct ss_seg){
		.next_sn = &h->next_sn,
		.gen = (_Atomic uint32_t *)(void *)(g + sh->gen_at),
		/* waiters as far from notify_gen as in wire.h: both on one
		 * line, the one wait.c's bump loads */
		.waiters = (_Atomic uint32_t *)(void *)(g + sh->gen_at +
							 offsetof(struct shmk_slots_hdr, waiters) -
							 offsetof(struct shmk_slots_hdr, notify_gen)),
		.slots = g + sh->slots_at,
		.total = sh->total,
		.size = sh->c.size,
	};
}

/* Sample `sn` (1, 2, ...) in slot (sn - 1) % 8: reserve's turn. */
static inline struct shmk_slot_hdr *ss_slot(const struct ss_seg *g, uint64_t sn)
{
	return (struct shmk_slot_hdr *)(void *)(g->slots + (sn - 1) % SS_COUNT * g->total);
}

static inline unsigned char *ss_data(struct shmk_slot_hdr *h)
{
	return (unsigned char *)h + SHMK_SLOTS_SLOT_HDR_SIZE;
}

/* notify(): the seq_cst bump, then the look for an announced waiter (none
 * here: nobody parks, so no wake). */
static inline void ss_notify(const struct ss_seg *g)
{
	/* seq_cst: as shmk_wait_bump, the bump before the waiters load */
	atomic_fetch_add_explicit(g->gen, 1, memory_order_seq_cst);
	(void)atomic_load_explicit(g->waiters, memory_order_seq_cst);
}

/* Owner: reserve, fill, commit in place sample sn stamped `stamp`.  0, or
 * -1 when the slot is not free (the reader has not marked it a lap on). */
static inline int ss_send(const struct ss_seg *g, uint64_t sn, uint64_t stamp)
{
	struct shmk_slot_hdr *h = ss_slot(g, sn);
	/* acquire: pairs with the reader's release fetch_or in ss_recv */
	if (atomic_load_explicit(&h->reader_mask, memory_order_acquire) != UINT32_MAX)
		return -1;
	/* unpublish, then a release fence: pairs with the reader's acquire
	 * fence before its second sn load (reserve_slot) */
	atomic_store_explicit(&h->sn, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	bc_fill(ss_data(h), g->size, stamp);
	/* relaxed: published by the release store of sn below */
	atomic_store_explicit(&h->sample_size, (uint32_t)g->size, memory_order_relaxed);
	atomic_store_explicit(&h->reader_mask, ~SS_READER, memory_order_relaxed);
	/* release: pairs with the reader's acquire load of sn */
	atomic_store_explicit(&h->sn, sn, memory_order_release);
	/* release: pairs with the reader's acquire polls of next_sn */
	atomic_store_explicit(g->next_sn, sn + 1, memory_order_release);
	ss_notify(g);
	return 0;
}

/* Reader: waits for sample sn, reads it, marks it read.  0; 1 when stopped
 * (c) or the peer of r died; -1 when the sample is not sn's or its stamp
 * not `stamp`. */
static inline int ss_recv(const struct ss_seg *g, uint64_t sn, uint64_t stamp, uint64_t *sink,
			  struct bc_ctl *c, struct bc_run *r)
{
	/* acquire: pairs with the owner's release store of next_sn */
	BC_SPIN_WHILE(atomic_load_explicit(g->next_sn, memory_order_acquire) <= sn,
		      r ? bc_run_alive(r) : !bc_stopped(c));
	if (atomic_load_explicit(g->next_sn, memory_order_acquire) <= sn)
		return 1;
	struct shmk_slot_hdr *h = ss_slot(g, sn);
	/* acquire: pairs with the owner's release store of sn */
	uint64_t s1 = atomic_load_explicit(&h->sn, memory_order_acquire);
	uint32_t size = atomic_load_explicit(&h->sample_size, memory_order_relaxed);
	uint32_t mask = atomic_load_explicit(&h->reader_mask, memory_order_relaxed);
	/* acquire fence: pairs with the owner's release fence after sn = 0 */
	atomic_thread_fence(memory_order_acquire);
	uint64_t s2 = atomic_load_explicit(&h->sn, memory_order_relaxed);
	if (s1 != sn || s2 != sn || size != g->size || (mask & SS_READER) ||
	    bc_read(ss_data(h), size, sink) != stamp)
		return -1;
	/* release: pairs with the owner's acquire load of reader_mask */
	atomic_fetch_or_explicit(&h->reader_mask, SS_READER, memory_order_release);
	ss_notify(g);
	return 0;
}

static struct ss_sh *ss_area(size_t size, bool split)
{
	size_t total = (SHMK_SLOTS_SLOT_HDR_SIZE + size + 63) & ~(size_t)63;
	/* split: notify_gen (and waiters) on the line after the header */
	size_t slots_at = SHMK_SLOTS_HDR_SIZE + (split ? BC_LINE : 0);
	struct ss_sh *sh = bc_shared_area(slots_at + SS_COUNT * total, size,
					  offsetof(struct ss_sh, bufs));
	if (!sh)
		return NULL;
	sh->total = total;
	sh->gen_at = split ? SHMK_SLOTS_HDR_SIZE : offsetof(struct shmk_slots_hdr, notify_gen);
	sh->slots_at = slots_at;
	for (int d = 0; d < 2; d++) {
		struct ss_seg g = ss_seg(sh, d ? sh->bufs.off_b : sh->bufs.off_a);
		/* create(): next_sn 1, every slot free (every mask bit set) */
		atomic_store(g.next_sn, 1);
		for (uint64_t sn = 1; sn <= SS_COUNT; sn++)
			atomic_store(&ss_slot(&g, sn)->reader_mask, UINT32_MAX);
	}
	return sh;
}

static int ss_peer(void *arg)
{
	struct ss_sh *sh = arg;
	struct ss_seg a = ss_seg(sh, sh->bufs.off_a), b = ss_seg(sh, sh->bufs.off_b);
	uint64_t sink = 0, served = 0, pp_want = 1;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (uint64_t sn = 1, want = 1;; sn++, want += 2) {
		int rc = ss_recv(&a, sn, want, &sink, &sh->c, NULL);
		if (!rc && ss_send(&b, sn, want + 1))
			rc = -1;
		if (!rc)
			rc = ilv_pp_after(sh->pp, sh->ilv, &served, &pp_want, &sh->c, &sink);
		if (rc < 0 && !sh->c.msg[0])
			snprintf(sh->c.msg, sizeof sh->c.msg, "slots shape: bad sample %llu",
				 (unsigned long long)sn);
		if (rc)
			return rc < 0;
	}
}

struct ss_bench {
	size_t size;
	bool split;
};

static void bm_slots_shape(gbs_state *st, void *argp)
{
	const struct ss_bench *a = argp;
	struct ss_sh *sh = ss_area(a->size, a->split);
	struct ilv v = {0};
	struct bc_run r;
	uint64_t sink = 0, pp_seq = 1;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	if (!(sh->pp = ilv_rtt_open(&v, st, a->size))) {
		bc_unshared(sh, sh->bufs.len);
		return;
	}
	sh->ilv = v.block;
	struct ss_seg ga = ss_seg(sh, sh->bufs.off_a), gb = ss_seg(sh, sh->bufs.off_b);
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), ss_peer, sh,
			 (size_t)gbs_max_iterations(st))) {
		uint64_t seq = 1, sn = 1, done = 0;
		for (int64_t i = -PEERS_WARMUP; !r.failed; i++, seq += 2, sn++) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			uint64_t t0 = bc_now();
			int rc = ss_send(&ga, sn, seq);
			if (!rc)
				rc = ss_recv(&gb, sn, seq + 1, &sink, &sh->c, &r);
			uint64_t t1 = bc_now();
			if (rc) {
				if (!r.failed) {
					gbs_skip_with_error(st, "slots shape: bad reply");
					r.failed = true;
				}
				break;
			}
			if (i >= 0) {
				bc_lat_add(&r.lat, t1 - t0);
				gbs_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
				ilv_add(&v, t1 - t0);
			}
			if (ilv_due(&v, ++done) && !ilv_pp_block(&v, &r, sh->pp, &pp_seq, i >= 0, &sink))
				break;
		}
	}
	bc_run_end(&r, 1);
	if (!r.failed)
		ilv_report_rtt(st, &v);
	gbs_counter(st, "sink", (double)(sink & 1));
	ilv_rtt_close(&v, sh->pp);
	bc_unshared(sh, sh->bufs.len);
}

__attribute__((constructor)) static void reg(void)
{
	/* S as slots/read_rtt is judged at (bench/targets.json) */
	static struct ss_bench args[2][2] = {{{64, false}, {4096, false}}, {{64, true}, {4096, true}}};
	for (int l = 0; l < 2; l++)
		for (int i = 0; i < 2; i++) {
			struct ss_bench *b = &args[l][i];
			const char *pp = bc_name(PEER_PP_FMT, b->size);
			const char *pat = l ? "pingpong_slots_shape_split_rtt" : "pingpong_slots_shape_rtt";
			gbs_register(&(struct gbs_bench){
				.name = bc_name("peers/%s/%zu/cross-cpu", pat, b->size),
				.fn = bm_slots_shape, .arg = b, .manual_time = true,
				.module = "peers", .pattern = pat, .param = (long)b->size,
				.bytes = (long)b->size, .placement = "cross-cpu", .mode = "spin",
				.spinning_procs = 2, .metric = "p50_ns", .floor = pp, .ilv_floor = pp,
				.time_share = PP_SHAPE_TIME_SHARE,
				.note = l ? "the ping-pong in the slots layout with notify_gen on a line of "
					    "its own (a variant, not the library's); ilv_ratio = shaped / "
					    "plain ping-pong"
					  : "the ping-pong in the slots layout and protocol (the shared "
					    "accesses of reserve, commit, next_unread, read, mark_read, "
					    "each notify); ilv_ratio = shaped / plain ping-pong"});
		}
}
