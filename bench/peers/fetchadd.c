/* SPDX-License-Identifier: MIT */
/*
 * peers/fetchadd.c - contended fetch-add: the measurer and a pinned peer on
 * another CPU both atomically increment one shared 64-byte-aligned
 * counter.  Reported: the measurer's increments per second and ns per
 * increment while the line bounces (the cost of any shared MPSC cursor).
 */
#include "../common.h"
#include "peers.h"

struct fa_sh {
	struct bc_ctl c;
	_Alignas(BC_LINE) _Atomic uint64_t ctr;
};

static int fa_peer(void *arg)
{
	struct fa_sh *sh = arg;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	while (!bc_stopped(&sh->c))
		for (int i = 0; i < 256; i++)
			/* relaxed: only the contention is measured, nothing is published */
			atomic_fetch_add_explicit(&sh->ctr, 1, memory_order_relaxed);
	return 0;
}

static void bm_fetchadd(gbs_state *st, void *arg)
{
	(void)arg;
	struct fa_sh *sh = bc_shared(sizeof *sh);
	struct bc_run r;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	int64_t n = gbs_max_iterations(st);
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), fa_peer, sh, 0)) {
		/* relaxed: only waits until the peer is incrementing too */
		BC_SPIN_WHILE(atomic_load_explicit(&sh->ctr, memory_order_relaxed) == 0,
			      bc_run_alive(&r));
		while (gbs_keep_running_batch(st, n)) {
			uint64_t t0 = bc_now();
			for (int64_t i = 0; i < n; i++)
				/* relaxed: see fa_peer */
				atomic_fetch_add_explicit(&sh->ctr, 1, memory_order_relaxed);
			gbs_set_iteration_time(st, (double)(bc_now() - t0) * 1e-9);
		}
		gbs_set_items_processed(st, n);
	}
	bc_run_end(&r, 1);
	bc_unshared(sh, sizeof *sh);
}

__attribute__((constructor)) static void reg(void)
{
	gbs_register(&(struct gbs_bench){
		.name = PEER_FETCHADD, .fn = bm_fetchadd, .manual_time = true,
		.module = "peers", .pattern = "fetch_add", .param = 2, .bytes = 8,
		.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
		.metric = "items_per_second", .floor = PEER_FETCHADD,
		.note = "floor of a shared cursor: one line bounced by two CPUs"});
}
