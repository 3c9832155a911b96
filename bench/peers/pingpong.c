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
#include "peers.h"

struct pp_sh {
	struct bc_ctl c;
	_Alignas(BC_LINE) _Atomic uint64_t word; /* N = 8: payload and flag */
	char pad[BC_LINE - sizeof(uint64_t)];
	_Alignas(BC_LINE) _Atomic uint64_t flag_a; /* measurer -> peer */
	char pad_a[BC_LINE - sizeof(uint64_t)];
	_Alignas(BC_LINE) _Atomic uint64_t flag_b; /* peer -> measurer */
	char pad_b[BC_LINE - sizeof(uint64_t)];
	size_t off_a, off_b, len; /* the N-byte buffers, page aligned */
};

_Static_assert(sizeof(struct pp_sh) <= 4096, "control fits the first page (bc_shared_pair)");

#define PA(sh) ((unsigned char *)(sh) + (sh)->off_a)
#define PB(sh) ((unsigned char *)(sh) + (sh)->off_b)

static struct pp_sh *pp_area(size_t n)
{
	size_t a, b, len;
	struct pp_sh *sh = bc_shared_pair(n, &a, &b, &len);
	if (!sh)
		return NULL;
	sh->off_a = a;
	sh->off_b = b;
	sh->len = len;
	sh->c.size = n;
	return sh;
}

/* Waits until *w == want (or stop / peer gone); true when it got there. */
static inline bool pp_await(_Atomic uint64_t *w, uint64_t want, struct bc_ctl *c, struct bc_run *r)
{
	/* acquire: pairs with the other side's release store of the flag in
	 * pp_peer / pp_rtt, so the buffer it filled before is visible */
	BC_SPIN_WHILE(atomic_load_explicit(w, memory_order_acquire) != want,
		      r ? bc_run_alive(r) : !bc_stopped(c));
	return atomic_load_explicit(w, memory_order_acquire) == want;
}

static int pp_peer(void *arg)
{
	struct pp_sh *sh = arg;
	size_t n = sh->c.size;
	uint64_t sink = 0;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (uint64_t want = 1;; want += 2) {
		if (n <= 8) {
			if (!pp_await(&sh->word, want, &sh->c, NULL))
				return 0; /* stopped */
			/* release: pairs with the measurer's acquire load of word */
			atomic_store_explicit(&sh->word, want + 1, memory_order_release);
			continue;
		}
		if (!pp_await(&sh->flag_a, want, &sh->c, NULL))
			return 0;
		if (bc_read(PA(sh), n, &sink) != want) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "pingpong: bad stamp");
			return 1;
		}
		bc_fill(PB(sh), n, want + 1);
		/* release: pairs with the measurer's acquire of flag_b in pp_await */
		atomic_store_explicit(&sh->flag_b, want + 1, memory_order_release);
	}
}

static inline bool pp_rtt(struct bc_run *r, struct pp_sh *sh, uint64_t seq, uint64_t *sink)
{
	size_t n = sh->c.size;
	if (n <= 8) {
		/* release: pairs with the peer's acquire load of word */
		atomic_store_explicit(&sh->word, seq, memory_order_release);
		return pp_await(&sh->word, seq + 1, &sh->c, r) && !r->failed;
	}
	bc_fill(PA(sh), n, seq);
	/* release: pairs with the peer's acquire of flag_a in pp_await */
	atomic_store_explicit(&sh->flag_a, seq, memory_order_release);
	if (!pp_await(&sh->flag_b, seq + 1, &sh->c, r) || r->failed)
		return false;
	return bc_read(PB(sh), n, sink) == seq + 1;
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
