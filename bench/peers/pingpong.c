/* SPDX-License-Identifier: MIT */
/*
 * peers/pingpong.c - the physical floor: two pinned processes alternating
 * one 64-byte-aligned word with release stores and acquire loads.  The
 * measurer writes an odd sequence number, the peer answers with the next
 * even one.  The word is the payload (8 B), written by the sender and read
 * by the receiver.  Spinning, so cross-CPU only.
 */
#include "../common.h"
#include "peers.h"

struct pp_sh {
	struct bc_ctl c;
	_Alignas(BC_LINE) _Atomic uint64_t word;
	char pad[BC_LINE - sizeof(uint64_t)];
};

static int pp_peer(void *arg)
{
	struct pp_sh *sh = arg;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (uint64_t want = 1;; want += 2) {
		/* acquire: pairs with the measurer's release store of word */
		BC_SPIN_WHILE(atomic_load_explicit(&sh->word, memory_order_acquire) != want,
			      !bc_stopped(&sh->c));
		if (atomic_load_explicit(&sh->word, memory_order_acquire) != want)
			return 0; /* stopped */
		/* release: pairs with the measurer's acquire load of word */
		atomic_store_explicit(&sh->word, want + 1, memory_order_release);
	}
}

static inline bool pp_rtt(struct bc_run *r, struct pp_sh *sh, uint64_t seq)
{
	/* release: pairs with the peer's acquire load of word */
	atomic_store_explicit(&sh->word, seq, memory_order_release);
	/* acquire: pairs with the peer's release store of seq + 1 */
	BC_SPIN_WHILE(atomic_load_explicit(&sh->word, memory_order_acquire) != seq + 1,
		      bc_run_alive(r));
	return !r->failed;
}

static void bm_pingpong(gbs_state *st, void *arg)
{
	(void)arg;
	struct pp_sh *sh = bc_shared(sizeof *sh);
	struct bc_run r;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), pp_peer, sh,
			 (size_t)gbs_max_iterations(st))) {
		uint64_t seq = 1;
		for (int i = 0; i < PEERS_WARMUP && pp_rtt(&r, sh, seq); i++)
			seq += 2;
		while (gbs_keep_running(st)) {
			bool ok;
			BC_TIMED_OP(st, &r, ok = pp_rtt(&r, sh, seq));
			if (!ok)
				break;
			seq += 2;
		}
	}
	bc_run_end(&r, 1);
	bc_unshared(sh, sizeof *sh);
}

__attribute__((constructor)) static void reg(void)
{
	gbs_register(&(struct gbs_bench){
		.name = PEER_FLOOR, .fn = bm_pingpong, .manual_time = true,
		.module = "peers", .pattern = "pingpong_rtt", .param = 8,
		.placement = "cross-cpu", .kind = "spin", .spinning_procs = 2,
		.metric = "p50_ns",
		.note = "floor: one 64-byte-aligned word alternated with acquire/release"});
}
