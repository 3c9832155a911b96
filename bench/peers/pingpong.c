/* SPDX-License-Identifier: MIT */
/*
 * peers/pingpong.c - the physical floor of a round trip between two pinned
 * processes on different CPUs, for a message of N bytes each way:
 *
 *   peers/pingpong_rtt/8/cross-cpu     one 64-byte-aligned word alternated
 *                                      with release stores and acquire
 *                                      loads: the word is the payload and
 *                                      the flag (one cache line)
 *   peers/pingpong_rtt/<N>/cross-cpu   N >= 64: the sender fills the N
 *                                      bytes (N/64 lines) of its buffer,
 *                                      then release-stores the flag (its
 *                                      own line); the receiver acquires
 *                                      the flag, reads all N bytes (and
 *                                      checks the stamp), fills the N bytes
 *                                      of the reply buffer and flags back
 *
 * Nothing can move N bytes between two processes and back with less
 * synchronisation, so every round trip of an N-byte message is judged
 * against the N-byte ping-pong (its `floor`).  Spinning: cross-CPU only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "shmkit/wire.h"

#include "../common.h"
#include "../floors.h"
#include "../ilv.h"
#include "peers.h"

/* pp_peer: answers round trips 1, 3, 5, ... until stopped (the protocol,
 * pp_serve and pp_rtt, is in ../floors.c: module benches run the same code
 * interleaved with their own round trips, ../ilv.h). */
/* The peer's view: the area, and for the self-check (pingpong_ilv_rtt) a
 * second area served in blocks of `block` (ilv.h); block 0 = none. */
struct pp_arg {
	struct pp_sh *sh, *b;
	uint64_t block;
};

static int pp_peer(void *arg)
{
	struct pp_arg *a = arg;
	struct pp_sh *sh = a->sh;
	uint64_t sink = 0, served = 0, want_b = 1;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (uint64_t want = 1;; want += 2) {
		int rc = pp_serve(sh, want, &sh->c, &sink);
		if (!rc)
			rc = ilv_pp_after(a->b, a->block, &served, &want_b, &sh->c, &sink);
		if (rc)
			return rc < 0;
	}
}

struct pp_bench {
	size_t n;
	bool ilv;   /* interleaved with a second (plain) ping-pong */
	bool shape; /* the first one shaped as events v1 (pp_area_shape) */
};

static void bm_pingpong(gbs_state *st, void *argp)
{
	const struct pp_bench *a = argp;
	size_t n = a->n;
	struct pp_arg pa = {a->shape ? pp_area_shape(n, sizeof(struct shmk_events_slot),
						     offsetof(struct shmk_events_slot, data),
						     SHMK_EVENTS_QUEUE_CAP)
				     : pp_area(n),
			    NULL, 0};
	struct pp_sh *sh = pa.sh;
	struct ilv v = {0};
	struct bc_run r;
	uint64_t sink = 0, seq_b = 1;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	if (a->ilv) {
		if (!(pa.b = ilv_rtt_open(&v, st, n))) {
			bc_unshared(sh, sh->len);
			return;
		}
		pa.block = v.block;
	}
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), pp_peer, &pa,
			 (size_t)gbs_max_iterations(st))) {
		uint64_t seq = 1, done = 0;
		int64_t warm = n > 65536 ? PEERS_WARMUP / 20 : PEERS_WARMUP;
		for (int64_t i = -warm; !r.failed; i++, seq += 2) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			uint64_t t0 = bc_now();
			bool ok = pp_rtt(&r, sh, seq, &sink);
			uint64_t t1 = bc_now();
			if (!ok) {
				if (!r.failed) {
					gbs_skip_with_error(st, "pingpong: bad reply");
					r.failed = true;
				}
				break;
			}
			if (i >= 0) {
				bc_lat_add(&r.lat, t1 - t0);
				gbs_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
				if (pa.b)
					ilv_add(&v, t1 - t0);
			}
			if (pa.b && ilv_due(&v, ++done) &&
			    !ilv_pp_block(&v, &r, pa.b, &seq_b, i >= 0, &sink))
				break;
		}
	}
	bc_run_end(&r, 1);
	if (pa.b && !r.failed)
		ilv_report_rtt(st, &v);
	gbs_counter(st, "sink", (double)(sink & 1));
	ilv_rtt_close(&v, pa.b);
	bc_unshared(sh, sh->len);
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = {PEER_PP_SIZES};
	static struct pp_bench args[sizeof sz / sizeof sz[0]], aa[2] = {{8, true, false}, {64, true, false}};
	/* The instrument's self-check (ilv.h): the ping-pong interleaved with
	 * a second one of its own in the same two processes; its ilv_ratio
	 * should be 1, and its own p50 and floor_p50_ns those of
	 * peers/pingpong_rtt/<N> run alone. */
	for (int i = 0; i < 2; i++) {
		const char *pp = bc_name(PEER_PP_FMT, aa[i].n);
		gbs_register(&(struct gbs_bench){
			.name = bc_name("peers/pingpong_ilv_rtt/%zu/cross-cpu", aa[i].n),
			.fn = bm_pingpong, .arg = &aa[i], .manual_time = true, .module = "peers",
			.pattern = "pingpong_ilv_rtt", .param = (long)aa[i].n, .bytes = (long)aa[i].n,
			.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
			.metric = "p50_ns", .floor = pp, .baseline = pp, .ilv_floor = pp,
			.time_share = ILV_TIME_SHARE,
			.note = "self-check of the interleaving: the ping-pong alternating blocks with "
				"a second ping-pong; ilv_ratio should be 1"});
	}
	/* The ping-pong in events v1's layout (bench/README.md, "Floors in a
	 * layout"): each message through the next of 1024 v1 slots per
	 * direction (272 bytes apart from a line boundary, payload at +16, the
	 * len | seq word at +8, release-stored after the payload, is the
	 * flag: v1 lets a receiver deliver on it, events.layout.slot-seq);
	 * interleaved with the plain ping-pong, its ilv_ratio is what v1's
	 * slot per message costs a round trip that moves nothing else. */
	static struct pp_bench ev[3] = {{8, true, true}, {64, true, true}, {256, true, true}};
	_Static_assert(offsetof(struct shmk_events_slot, len) == LR_HDR_OFF &&
			       offsetof(struct shmk_events_slot, seq) == LR_HDR_OFF + 4,
		       "the header word is v1's len | seq");
	for (int i = 0; i < 3; i++) {
		const char *pp = bc_name(PEER_PP_FMT, ev[i].n);
		gbs_register(&(struct gbs_bench){
			.name = bc_name("peers/pingpong_events_shape_rtt/%zu/cross-cpu", ev[i].n),
			.fn = bm_pingpong, .arg = &ev[i], .manual_time = true, .module = "peers",
			.pattern = "pingpong_events_shape_rtt", .param = (long)ev[i].n,
			.bytes = (long)ev[i].n, .placement = "cross-cpu", .mode = "spin",
			.spinning_procs = 2, .metric = "p50_ns", .floor = pp, .ilv_floor = pp,
			.time_share = PP_SHAPE_TIME_SHARE,
			.note = "the ping-pong in events v1's layout: each message through the "
				"next 272-byte slot each way, its len|seq word the flag; ilv_ratio = "
				"shaped / plain ping-pong"});
	}
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		args[i] = (struct pp_bench){sz[i], false, false};
		gbs_register(&(struct gbs_bench){
			.name = bc_name("peers/pingpong_rtt/%zu/cross-cpu", sz[i]),
			.fn = bm_pingpong, .arg = &args[i], .manual_time = true,
			.module = "peers", .pattern = "pingpong_rtt", .param = (long)sz[i],
			.bytes = (long)sz[i], .placement = "cross-cpu", .mode = "spin",
			.spinning_procs = 2, .metric = "p50_ns",
			.floor = bc_name("peers/pingpong_rtt/%zu/cross-cpu", sz[i]),
			.note = sz[i] <= 8 ? "floor: one 64-byte-aligned word alternated with acquire/release"
					   : "floor: N bytes filled then a flag line, read back whole, each way"});
	}
}
