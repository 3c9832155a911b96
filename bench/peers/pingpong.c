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

#include "../common.h"
#include "../floors.h"
#include "peers.h"

/* pp_peer: answers round trips 1, 3, 5, ... until stopped (the protocol,
 * pp_serve and pp_rtt, is in ../floors.c: module benches run the same code
 * interleaved with their own round trips, ../ilv.h). */
static int pp_peer(void *arg)
{
	struct pp_sh *sh = arg;
	uint64_t sink = 0;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (uint64_t want = 1;; want += 2) {
		int rc = pp_serve(sh, want, &sh->c, &sink);
		if (rc)
			return rc < 0;
	}
}

static void bm_pingpong(gbs_state *st, void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	struct pp_sh *sh = pp_area(n);
	struct bc_run r;
	uint64_t sink = 0;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), pp_peer, sh,
			 (size_t)gbs_max_iterations(st))) {
		uint64_t seq = 1;
		int warm = n > 65536 ? PEERS_WARMUP / 20 : PEERS_WARMUP;
		for (int i = 0; i < warm && pp_rtt(&r, sh, seq, &sink); i++)
			seq += 2;
		while (gbs_keep_running(st)) {
			bool ok;
			BC_TIMED_OP(st, &r, ok = pp_rtt(&r, sh, seq, &sink));
			if (!ok) {
				if (!r.failed) {
					gbs_skip_with_error(st, "pingpong: bad reply");
					r.failed = true;
				}
				break;
			}
			seq += 2;
		}
	}
	bc_run_end(&r, 1);
	gbs_counter(st, "sink", (double)(sink & 1));
	bc_unshared(sh, sh->len);
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = {PEER_PP_SIZES};
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
		gbs_register(&(struct gbs_bench){
			.name = bc_name("peers/pingpong_rtt/%zu/cross-cpu", sz[i]),
			.fn = bm_pingpong, .arg = (void *)(uintptr_t)sz[i], .manual_time = true,
			.module = "peers", .pattern = "pingpong_rtt", .param = (long)sz[i],
			.bytes = (long)sz[i], .placement = "cross-cpu", .mode = "spin",
			.spinning_procs = 2, .metric = "p50_ns",
			.floor = bc_name("peers/pingpong_rtt/%zu/cross-cpu", sz[i]),
			.note = sz[i] <= 8 ? "floor: one 64-byte-aligned word alternated with acquire/release"
					   : "floor: N bytes filled then a flag line, read back whole, each way"});
}
