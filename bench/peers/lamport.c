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

#include "shmkit/wire.h"

#include "../common.h"
#include "../floors.h"
#include "../ilv.h"
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

/* --------------------------------------------------- floors in a layout
 * peers/lamport_{events,ring}_shape_tput/<S>/cross-cpu: the Lamport ring
 * (the same push / pop, cached indices and index publication per message,
 * ../floors.c) with its elements laid out as a module's wire layout lays
 * out its messages, interleaved (../ilv.h) with the plain ring of S-byte
 * elements; ilv_ratio = shaped / plain: what the layout alone costs the
 * floor protocol (the lines it makes each message touch, the messages
 * its memory holds).  Not a bound on every protocol: one that polls the
 * message's own header word instead of the index can do better
 * (bench/README.md, "Floors in a layout").
 *   events: a v1 slot per message (impl/include/shmkit/wire.h): 272-byte
 *     elements from a line boundary (as slots[] is), payload at +16, the
 *     sender's len | seq word at +8, one slot per queue cell (1024).
 *   ring: records of 16 + roundup8(S) bytes packed from a line boundary
 *     (the ring starts at a page), payload at +16, the len word at +8, as
 *     many as LR_DATA_BYTES holds (the ring bench's capacity).
 * peers/lamport_ilv_tput/8/cross-cpu checks the instrument: a shaped ring
 * with the plain ring's shape (stride S, payload at 0, no header word), so
 * its ilv_ratio should be 1 (the shaped path itself costs nothing). */

/* Gbench's min_time share of a shaped row: a fifth (its floor blocks run as
 * long again), so the seven rows add ~15 s to a full make bench; a tenth
 * of a second still closes dozens of block pairs at every size. */
#define LS_TIME_SHARE 0.2

struct ls_arg {
	size_t size, stride, off, slots;
	bool hdr;
};

struct ls_sh {
	struct bc_ctl c;
	struct ilv_ctl ik;	  /* the block the producer may send */
	struct lring *own, *lam;  /* shaped, plain: mapped before the fork */
	size_t own_len, lam_len;
};

static int ls_peer(void *arg)
{
	struct ls_sh *sh = arg;
	unsigned char *buf = aligned_alloc(BC_LINE, (sh->c.size + BC_LINE - 1) & ~(size_t)(BC_LINE - 1));
	struct ilv_lamport a = {.p = {.r = sh->own}, .buf = buf, .stop = &sh->c}, b = a;
	b.p.r = sh->lam;
	if (!buf || !bc_ready_wait_go(&sh->c))
		return 0;
	return ilv_produce(&sh->ik, &sh->c, (struct ilv_side){NULL, ilv_lamport_put, &a},
			   (struct ilv_side){NULL, ilv_lamport_put, &b});
}

static void bm_lr_shape_tput(gbs_state *st, void *argp)
{
	const struct ls_arg *a = argp;
	struct ls_sh *sh = bc_shared(sizeof *sh);
	unsigned char *buf = aligned_alloc(BC_LINE, (a->size + BC_LINE - 1) & ~(size_t)(BC_LINE - 1));
	struct ilv v = {0};
	struct bc_run r;
	uint64_t sink = 0;
	int64_t n = gbs_max_iterations(st);
	if (sh) {
		sh->c.size = a->size;
		sh->own_len = lr_shape_bytes(a->stride, a->slots);
		sh->lam_len = lr_bytes(a->size);
		sh->own = bc_shared(sh->own_len);
		sh->lam = bc_shared(sh->lam_len);
	}
	if (!sh || !buf || !sh->own || !sh->lam) {
		gbs_skip_with_error(st, "alloc");
		goto out;
	}
	if (ilv_init(&v, st, ilv_block(ILV_TPUT_BLOCK, n), 0, (uint64_t)n))
		goto out;
	lr_init_shape(sh->own, a->size, a->stride, a->off, a->slots, a->hdr);
	lr_init(sh->lam, a->size);
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), ls_peer, sh, 0)) {
		struct ilv_lamport x = {.c = {.r = sh->own}, .buf = buf, .sink = &sink, .r = &r}, y = x;
		y.c.r = sh->lam;
		ilv_stream(st, &v, &sh->ik, (struct ilv_side){ilv_lamport_take, NULL, &x},
			   (struct ilv_side){ilv_lamport_take, NULL, &y}, &r);
		gbs_set_bytes_processed(st, n * (int64_t)a->size);
	}
	bc_run_end(&r, 1);
	if (!r.failed)
		ilv_report_tput(st, &v);
	gbs_counter(st, "sink", (double)(sink & 1));
out:
	ilv_free(&v);
	if (sh) {
		if (sh->own)
			bc_unshared(sh->own, sh->own_len);
		if (sh->lam)
			bc_unshared(sh->lam, sh->lam_len);
		bc_unshared(sh, sizeof *sh);
	}
	free(buf);
}

#define LS_HDR 16u /* payload offset: events v1 slot header, ring record header */
_Static_assert(sizeof(struct shmk_events_slot) == 272 &&
		       offsetof(struct shmk_events_slot, data) == LS_HDR &&
		       offsetof(struct shmk_events_slot, len) == LR_HDR_OFF &&
		       offsetof(struct shmk_events_layout, slots) % BC_LINE == 0,
	       "the events shape is v1's slot");
_Static_assert(SHMK_RING_REC_HDR == LS_HDR, "the ring shape is the ring's record");

/* One shaped row: <fmt> at S, interleaved with the plain ring of S. */
static void reg_one(const char *fmt, const char *pattern, const struct ls_arg *a, const char *note)
{
	const char *lam = bc_name(PEER_LAMPORT_TPUT_FMT, a->size);
	gbs_register(&(struct gbs_bench){
		.name = bc_name(fmt, a->size), .fn = bm_lr_shape_tput, .arg = (void *)a,
		.manual_time = true, .module = "peers", .pattern = pattern, .param = (long)a->size,
		.bytes = (long)a->size, .placement = "cross-cpu", .mode = "spin",
		.spinning_procs = 2, .metric = "items_per_second", .floor = lam, .ilv_floor = lam,
		.time_share = LS_TIME_SHARE, .note = note});
}

static void reg_shape(void)
{
	static const size_t ev[] = {8, 64, 256}, rg[] = {8, 64, 4096};
	static struct ls_arg args[7];
	int k = 0;
	for (size_t i = 0; i < 3; i++, k++) {
		args[k] = (struct ls_arg){ev[i], sizeof(struct shmk_events_slot), LS_HDR,
					  SHMK_EVENTS_QUEUE_CAP, true};
		reg_one("peers/lamport_events_shape_tput/%zu/cross-cpu", "lamport_events_shape_tput",
			&args[k],
			"the Lamport ring in events v1's layout: one 272-byte slot per message "
			"(payload at +16, len|seq word at +8), 1024 of them; ilv_ratio = shaped / "
			"plain Lamport");
	}
	for (size_t i = 0; i < 3; i++, k++) {
		size_t stride = LS_HDR + ((rg[i] + 7) & ~(size_t)7);
		args[k] = (struct ls_arg){rg[i], stride, LS_HDR, LR_DATA_BYTES / stride, true};
		reg_one("peers/lamport_ring_shape_tput/%zu/cross-cpu", "lamport_ring_shape_tput",
			&args[k],
			"the Lamport ring in the ring's layout: packed records of 16 + roundup8(S) "
			"bytes (payload at +16, len word at +8); ilv_ratio = shaped / plain Lamport");
	}
	args[k] = (struct ls_arg){8, 8, 0, LR_DATA_BYTES / 8, false};
	const char *lam8 = bc_name(PEER_LAMPORT_TPUT_FMT, (size_t)8);
	gbs_register(&(struct gbs_bench){
		.name = "peers/lamport_ilv_tput/8/cross-cpu", .fn = bm_lr_shape_tput,
		.arg = &args[k], .manual_time = true, .module = "peers",
		.pattern = "lamport_ilv_tput", .param = 8, .bytes = 8, .placement = "cross-cpu",
		.mode = "spin", .spinning_procs = 2, .metric = "items_per_second", .floor = lam8,
		.baseline = lam8, .ilv_floor = lam8, .time_share = LS_TIME_SHARE,
		.note = "self-check of the shaped ring: stride 8, payload at 0, no header word, "
			"interleaved with the plain 8-byte Lamport ring; ilv_ratio should be 1"});
}

__attribute__((constructor)) static void reg(void)
{
	reg_shape();
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
