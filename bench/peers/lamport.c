/* SPDX-License-Identifier: MIT */
/*
 * peers/lamport.c - the plain cached-index (Lamport) SPSC ring baseline:
 * power-of-two slots of the message size, producer and consumer indices on
 * separate cache lines, each side caching the other's index in its own
 * (process-local) state and re-reading it only when the cache says
 * full/empty.  The sender fills a message and copies it in; the receiver
 * copies it out and reads every byte (as ck_ring and the modules do).
 *
 *   peers/lamport_rtt/<S>/cross-cpu   ping through ring A, pong through B
 *   peers/lamport_tput/<S>/cross-cpu  peer produces n messages, measurer consumes
 *
 * The ring itself (lr_push / lr_pop, lr_produce / lr_consume) is in
 * ../floors.c: module benches stream through the same code interleaved with
 * their own stream (../ilv.h).
 */
#include <stdlib.h>

#include "../common.h"
#include "../floors.h"
#include "peers.h"

struct lr_sh {
	struct bc_ctl c;
	struct bc_bufs bufs; /* the two rings */
};

_Static_assert(sizeof(struct lr_sh) <= 4096, "control fits the first page (bc_shared_area)");

#define RA(sh) ((struct lring *)((char *)(sh) + (sh)->bufs.off_a))
#define RB(sh) ((struct lring *)((char *)(sh) + (sh)->bufs.off_b))

static struct lr_sh *lr_area(size_t size)
{
	struct lr_sh *sh = bc_shared_area(lr_bytes(size), size, offsetof(struct lr_sh, bufs));
	if (!sh)
		return NULL;
	lr_init(RA(sh), size);
	lr_init(RB(sh), size);
	return sh;
}

/* RTT peer: pop from A, read, fill reply, push to B. */
static int lr_rtt_peer(void *arg)
{
	struct lr_sh *sh = arg;
	size_t size = sh->c.size;
	unsigned char *buf = aligned_alloc(BC_LINE, (size + BC_LINE - 1) & ~(size_t)(BC_LINE - 1));
	struct lcons c = {.r = RA(sh)};
	struct lprod p = {.r = RB(sh)};
	uint64_t sink = 0;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (;;) {
		bool got;
		BC_SPIN_WHILE(!(got = lr_pop(&c, buf)), !bc_stopped(&sh->c));
		if (!got)
			return 0;
		uint64_t seq = bc_read(buf, size, &sink);
		bc_fill(buf, size, seq + 1);
		while (!lr_push(&p, buf))
			bc_relax();
	}
}

static void bm_lr_rtt(gbs_state *st, void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	struct lr_sh *sh = lr_area(size);
	unsigned char *buf = aligned_alloc(BC_LINE, (size + BC_LINE - 1) & ~(size_t)(BC_LINE - 1));
	struct bc_run r;
	uint64_t sink = 0, seq = 0;
	if (!sh || !buf) {
		gbs_skip_with_error(st, "alloc");
		free(buf);
		return;
	}
	struct lprod p = {.r = RA(sh)};
	struct lcons c = {.r = RB(sh)};
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), lr_rtt_peer, sh,
			 (size_t)gbs_max_iterations(st))) {
#define LR_RTT()                                                                           \
	do {                                                                               \
		bc_fill(buf, size, seq);                                                   \
		lr_push(&p, buf);                                                          \
		BC_SPIN_WHILE(!lr_pop(&c, buf), bc_run_alive(&r));                         \
		if (bc_read(buf, size, &sink) != seq + 1 && !r.failed) {                   \
			gbs_skip_with_error(st, "bad reply");                              \
			r.failed = true;                                                   \
		}                                                                          \
		seq += 2;                                                                  \
	} while (0)
		for (int i = 0; i < PEERS_WARMUP && !r.failed; i++)
			LR_RTT();
		while (!r.failed && gbs_keep_running(st))
			BC_TIMED_OP(st, &r, LR_RTT());
		if (r.failed)
			while (gbs_keep_running(st))
				;
	}
	bc_run_end(&r, 1);
	gbs_counter(st, "sink", (double)(sink & 1));
	free(buf);
	bc_unshared(sh, sh->bufs.len);
}

/* Throughput peer: produce c.n messages. */
static int lr_tput_peer(void *arg)
{
	struct lr_sh *sh = arg;
	size_t size = sh->c.size;
	unsigned char *buf = aligned_alloc(BC_LINE, (size + BC_LINE - 1) & ~(size_t)(BC_LINE - 1));
	struct lprod p = {.r = RA(sh)};
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	lr_produce(&p, buf, 0, sh->c.n, &sh->c);
	return 0;
}

static void bm_lr_tput(gbs_state *st, void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	struct lr_sh *sh = lr_area(size);
	unsigned char *buf = aligned_alloc(BC_LINE, (size + BC_LINE - 1) & ~(size_t)(BC_LINE - 1));
	struct bc_run r;
	uint64_t sink = 0;
	if (!sh || !buf) {
		gbs_skip_with_error(st, "alloc");
		free(buf);
		return;
	}
	int64_t n = gbs_max_iterations(st);
	sh->c.n = (uint64_t)n + BC_TPUT_WARM;
	struct lcons c = {.r = RA(sh)};
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), lr_tput_peer, sh, 0)) {
		while (gbs_keep_running_batch(st, n)) {
			uint64_t t0 = bc_now();
			if (!lr_consume(&c, buf, 0, BC_TPUT_WARM, &sink, &r)) {
				t0 = bc_now();
				lr_consume(&c, buf, BC_TPUT_WARM, (uint64_t)n, &sink, &r);
			}
			gbs_set_iteration_time(st, (double)(bc_now() - t0) * 1e-9);
		}
		gbs_set_items_processed(st, n);
		gbs_set_bytes_processed(st, n * (int64_t)size);
	}
	bc_run_end(&r, 1);
	gbs_counter(st, "sink", (double)(sink & 1));
	free(buf);
	bc_unshared(sh, sh->bufs.len);
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t rtt[] = {PEER_LAMPORT_RTT_SIZES}, tput[] = {PEER_LAMPORT_TPUT_SIZES};
	for (size_t i = 0; i < sizeof rtt / sizeof rtt[0]; i++)
		gbs_register(&(struct gbs_bench){
			.name = bc_name(PEER_LAMPORT_RTT_FMT, rtt[i]), .fn = bm_lr_rtt,
			.arg = (void *)(uintptr_t)rtt[i], .manual_time = true, .module = "peers",
			.pattern = "lamport_rtt", .param = (long)rtt[i], .bytes = (long)rtt[i],
			.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
			.metric = "p50_ns", .floor = bc_name(PEER_PP_FMT, rtt[i]),
			.note = "baseline: the plain cached-index SPSC ring"});
	for (size_t i = 0; i < sizeof tput / sizeof tput[0]; i++)
		gbs_register(&(struct gbs_bench){
			.name = bc_name(PEER_LAMPORT_TPUT_FMT, tput[i]), .fn = bm_lr_tput,
			.arg = (void *)(uintptr_t)tput[i], .manual_time = true, .module = "peers",
			.pattern = "lamport_tput", .param = (long)tput[i], .bytes = (long)tput[i],
			.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
			.metric = "items_per_second", .floor = bc_name(PEER_LAMPORT_TPUT_FMT, tput[i]),
			.note = "floor of streaming: the plain cached-index SPSC ring, same element size"});
}
