/* SPDX-License-Identifier: MIT */
/*
 * peers/ckring.c - Concurrency Kit's ck_ring (libck-dev) as a baseline:
 * ck_ring_enqueue_spsc/dequeue_spsc through CK_RING_PROTOTYPE with an
 * element type of exactly the message size, ring header and buffer in
 * shared memory (ck_ring keeps no pointers in the ring, so it works across
 * processes).  Same slot budget and same payload rule as peers/lamport.c.
 * Each ring header sits in its own cache-line-aligned, line-padded block
 * (as ck_ring's users allocate it): one ring's read-only mask/size line is
 * never shared with the other ring's c_head.
 *
 *   peers/ck_ring_rtt/<S>/cross-cpu, peers/ck_ring_tput/<S>/cross-cpu
 */
#include <ck_ring.h>
#include <stdlib.h>

#include "../common.h"
#include "peers.h"

#define CK_DATA_BYTES (256u * 1024u)

struct m8 { unsigned char b[8]; };
struct m64 { unsigned char b[64]; };
struct m256 { unsigned char b[256]; };
struct m4096 { unsigned char b[4096]; };
CK_RING_PROTOTYPE(m8, m8)
CK_RING_PROTOTYPE(m64, m64)
CK_RING_PROTOTYPE(m256, m256)
CK_RING_PROTOTYPE(m4096, m4096)

/* One ring header alone on its lines. */
struct ck_hdr {
	_Alignas(BC_LINE) struct ck_ring r;
	char pad[BC_LINE];
};

struct ck_sh {
	struct bc_ctl c;
	struct bc_bufs bufs;
	struct ck_hdr ha, hb;
};

_Static_assert(sizeof(struct ck_sh) <= 4096, "control fits the first page (bc_shared_area)");
_Static_assert(offsetof(struct ck_sh, hb) % BC_LINE == 0, "ck_ring headers line-aligned");
_Static_assert(sizeof(struct ck_hdr) % BC_LINE == 0, "ck_ring headers fill their lines");

static unsigned ck_slots(size_t size)
{
	size_t n = CK_DATA_BYTES / size, p = 64;
	while (p < n)
		p <<= 1;
	return (unsigned)p;
}

#define BUFA(sh) ((void *)((char *)(sh) + (sh)->bufs.off_a))
#define BUFB(sh) ((void *)((char *)(sh) + (sh)->bufs.off_b))

static struct ck_sh *ck_area(size_t size)
{
	struct ck_sh *sh = bc_shared_area((size_t)ck_slots(size) * size, size,
					  offsetof(struct ck_sh, bufs));
	if (!sh)
		return NULL;
	ck_ring_init(&sh->ha.r, ck_slots(size));
	ck_ring_init(&sh->hb.r, ck_slots(size));
	return sh;
}

/* A message buffer of a line at least, line-aligned. */
static void *ck_msg(size_t size)
{
	return aligned_alloc(BC_LINE, size < 64 ? 64 : size);
}

/* Dispatch on size without an indirect call in the hot path: each size
 * gets its own inlined copy of the loops below. */
#define CK_FUNCS(T)                                                                        \
	static int ck_rtt_peer_##T(void *arg)                                              \
	{                                                                                  \
		struct ck_sh *sh = arg;                                                    \
		struct T *msg = ck_msg(sizeof(struct T));                                  \
		uint64_t sink = 0;                                                         \
		if (!bc_ready_wait_go(&sh->c))                                             \
			return 0;                                                          \
		for (;;) {                                                                 \
			bool got;                                                          \
			BC_SPIN_WHILE(!(got = ck_ring_dequeue_spsc_##T(&sh->ha.r, BUFA(sh),  \
								      msg)),               \
				      !bc_stopped(&sh->c));                                \
			if (!got)                                                          \
				return 0;                                                  \
			uint64_t seq = bc_read(msg, sizeof *msg, &sink);                   \
			bc_fill(msg, sizeof *msg, seq + 1);                                \
			while (!ck_ring_enqueue_spsc_##T(&sh->hb.r, BUFB(sh), msg))          \
				bc_relax();                                                \
		}                                                                          \
	}                                                                                  \
	__attribute__((unused)) static void bm_ck_rtt_##T(gbs_state *st, void *arg)                              \
	{                                                                                  \
		(void)arg;                                                                 \
		struct ck_sh *sh = ck_area(sizeof(struct T));                              \
		struct T *msg = ck_msg(sizeof(struct T));                                  \
		struct bc_run r;                                                           \
		uint64_t sink = 0, seq = 0;                                                \
		if (!sh || !msg) {                                                         \
			gbs_skip_with_error(st, "alloc");                                  \
			return;                                                            \
		}                                                                          \
		if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), ck_rtt_peer_##T,   \
				 sh, (size_t)gbs_max_iterations(st))) {                    \
			for (int64_t i = -PEERS_WARMUP; !r.failed; i++) {                  \
				if (i >= 0 && !gbs_keep_running(st))                       \
					break;                                             \
				uint64_t t0 = bc_now();                                    \
				bc_fill(msg, sizeof *msg, seq);                            \
				ck_ring_enqueue_spsc_##T(&sh->ha.r, BUFA(sh), msg);          \
				BC_SPIN_WHILE(!ck_ring_dequeue_spsc_##T(&sh->hb.r, BUFB(sh), \
									msg),              \
					      bc_run_alive(&r));                           \
				if (bc_read(msg, sizeof *msg, &sink) != seq + 1 &&         \
				    !r.failed) {                                           \
					gbs_skip_with_error(st, "bad reply");              \
					r.failed = true;                                   \
				}                                                          \
				uint64_t t1 = bc_now();                                    \
				seq += 2;                                                  \
				if (i >= 0) {                                              \
					bc_lat_add(&r.lat, t1 - t0);                       \
					gbs_set_iteration_time(st, (double)(t1 - t0) * 1e-9); \
				}                                                          \
			}                                                                  \
		}                                                                          \
		bc_run_end(&r, 1);                                                         \
		gbs_counter(st, "sink", (double)(sink & 1));                               \
		free(msg);                                                                 \
		bc_unshared(sh, sh->bufs.len);                                             \
	}                                                                                  \
	static int ck_tput_peer_##T(void *arg)                                             \
	{                                                                                  \
		struct ck_sh *sh = arg;                                                    \
		struct T *msg = ck_msg(sizeof(struct T));                                  \
		if (!bc_ready_wait_go(&sh->c))                                             \
			return 0;                                                          \
		for (uint64_t i = 0; i < sh->c.n; i++) {                                   \
			bc_fill(msg, sizeof *msg, i);                                      \
			uint32_t spins = 0;                                                \
			while (!ck_ring_enqueue_spsc_##T(&sh->ha.r, BUFA(sh), msg)) {        \
				bc_relax();                                                \
				if (!(++spins & 0xffff) && bc_stopped(&sh->c))             \
					return 0;                                          \
			}                                                                  \
		}                                                                          \
		return 0;                                                                  \
	}                                                                                  \
	static void bm_ck_tput_##T(gbs_state *st, void *arg)                               \
	{                                                                                  \
		(void)arg;                                                                 \
		struct ck_sh *sh = ck_area(sizeof(struct T));                              \
		struct T *msg = ck_msg(sizeof(struct T));                                  \
		struct bc_run r;                                                           \
		uint64_t sink = 0;                                                         \
		if (!sh || !msg) {                                                         \
			gbs_skip_with_error(st, "alloc");                                  \
			return;                                                            \
		}                                                                          \
		int64_t n = gbs_max_iterations(st);                                        \
		sh->c.n = (uint64_t)n + BC_TPUT_WARM;                                      \
		if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), ck_tput_peer_##T,  \
				 sh, 0)) {                                                 \
			while (gbs_keep_running_batch(st, n)) {                            \
				uint64_t t0 = bc_now();                                    \
				for (int64_t i = 0; i < n + BC_TPUT_WARM && !r.failed; i++) { \
					if (i == BC_TPUT_WARM)                             \
						t0 = bc_now();                             \
					BC_SPIN_WHILE(!ck_ring_dequeue_spsc_##T(           \
							      &sh->ha.r, BUFA(sh), msg),     \
						      bc_run_alive(&r));                   \
					if (bc_read(msg, sizeof *msg, &sink) != (uint64_t)i && \
					    !r.failed) {                                   \
						gbs_skip_with_error(st, "bad sequence");   \
						r.failed = true;                           \
					}                                                  \
				}                                                          \
				gbs_set_iteration_time(st, (double)(bc_now() - t0) * 1e-9); \
			}                                                                  \
			gbs_set_items_processed(st, n);                                    \
			gbs_set_bytes_processed(st, n * (int64_t)sizeof(struct T));        \
		}                                                                          \
		bc_run_end(&r, 1);                                                         \
		gbs_counter(st, "sink", (double)(sink & 1));                               \
		free(msg);                                                                 \
		bc_unshared(sh, sh->bufs.len);                                             \
	}

CK_FUNCS(m8)
CK_FUNCS(m64)
CK_FUNCS(m256)
CK_FUNCS(m4096)

__attribute__((constructor)) static void reg(void)
{
	static const struct {
		size_t size;
		gbs_fn rtt, tput;
	} t[] = {{8, bm_ck_rtt_m8, bm_ck_tput_m8},
		 {64, bm_ck_rtt_m64, bm_ck_tput_m64},
		 {256, bm_ck_rtt_m256, bm_ck_tput_m256},
		 {4096, NULL, bm_ck_tput_m4096}};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (t[i].rtt)
			gbs_register(&(struct gbs_bench){
				.name = bc_name(PEER_CK_RTT_FMT, t[i].size), .fn = t[i].rtt,
				.manual_time = true, .module = "peers", .pattern = "ck_ring_rtt",
				.param = (long)t[i].size, .bytes = (long)t[i].size,
				.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
				.metric = "p50_ns", .floor = bc_name(PEER_PP_FMT, t[i].size),
				.baseline = bc_name(PEER_LAMPORT_RTT_FMT, t[i].size)});
		gbs_register(&(struct gbs_bench){
			.name = bc_name(PEER_CK_TPUT_FMT, t[i].size), .fn = t[i].tput,
			.manual_time = true, .module = "peers", .pattern = "ck_ring_tput",
			.param = (long)t[i].size, .bytes = (long)t[i].size, .placement = "cross-cpu",
			.mode = "spin", .spinning_procs = 2, .metric = "items_per_second",
			.floor = bc_name(PEER_LAMPORT_TPUT_FMT, t[i].size),
			.baseline = bc_name(PEER_LAMPORT_TPUT_FMT, t[i].size)});
	}
}
