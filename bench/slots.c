/* SPDX-License-Identifier: MIT */
/*
 * slots.c - benches of the slot allocator (impl/include/shmkit/slots.h).
 *
 * A round trip is symmetric, so its floor is the ping-pong of the same
 * bytes (peers/pingpong_rtt): the measurer owns segment A and reads B, its
 * peer (on the other CPU) reads A and owns B.  One round trip: loan a slot
 * of A, write the sample, commit in place; the peer spins on
 * next_unread_slot, reads through slot_read_ptr, mark_read()s, then answers
 * the same way through B; the measurer reads the answer and marks it read.
 * Eight slots of S bytes per segment.
 *
 *   slots/read_rtt/<S>/cross-cpu   the writer writes all S bytes and the
 *                                  reader reads all S bytes (a copy-like
 *                                  use); floor: the S-byte ping-pong
 *   slots/loan_rtt/<S>/cross-cpu   zero copy: writer and reader touch one
 *                                  line (a 64-byte stamp) of the S-byte
 *                                  sample, as a user who passes a loaned
 *                                  buffer on does; floor: the 64 B ping-pong,
 *                                  and 1 MiB / 64 B shows that the cost does
 *                                  not grow with S
 *   slots/op/<S>/single            the four steps with owner and reader
 *                                  handles in one process, one line touched:
 *                                  the op cost alone (floor: a 64 B memcpy)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shmkit/slots.h"

#include "common.h"
#include "ilv.h"
#include "peers/peers.h"

#define SL_COUNT 8

struct sl_sh {
	struct bc_ctl c;
	char flink_a[256], flink_b[256];
	int touch_all;		   /* read_rtt: write and read every byte */
	_Atomic int32_t reader_a;  /* the peer's reader index on A */
	_Atomic int32_t reader_b;  /* the measurer's reader index on B (after go) */
	/* read_rtt: the ping-pong of the same bytes interleaved (ilv.h), a
	 * block of it after every `ilv` round trips; 0 = none */
	uint64_t ilv;
	struct pp_sh *pp;
};

/* Bytes a sample's writer fills and its reader reads. */
static inline size_t sl_touched(const struct sl_sh *sh, size_t size)
{
	return sh->touch_all || size < 64 ? size : 64;
}

static void sl_fail(struct sl_sh *sh, const char *what, int rc)
{
	snprintf(sh->c.msg, sizeof sh->c.msg, "slots %s: %s (%s)", what, shmk_strerror(rc),
		 shmk_errdetail());
}

/* Loans a slot of own (for the reader at index rd), stamps seq, commits. */
static inline int sl_send(struct shmk_slots *own, unsigned rd, size_t size, size_t touch,
			  uint64_t seq, struct bc_ctl *c)
{
	shmk_slot_handle_t h;
	void *p;
	size_t cap;
	uint64_t sn;
	int rc;
	uint32_t spins = 0;
	/* A slot frees once read: retry while the reader catches up. */
	while ((rc = shmk_slots_reserve_slot(own, 1u << rd, &h)) == SHMK_EFULL) {
		bc_relax();
		if (!(++spins & 0xffff) && bc_stopped(c))
			return rc;
	}
	if (!rc)
		rc = shmk_slots_slot_data_ptr(own, h, &p, &cap);
	if (rc)
		return rc;
	bc_fill(p, touch, seq);
	return shmk_slots_commit_in_place(own, h, size, &sn, NULL);
}

/* Spins for the next sample of peer (reader index rd), reads it, marks it
 * read.  Returns 0 and the stamp in *seq, 1 when stopped, or < 0. */
static inline int sl_recv(struct shmk_slots *peer, unsigned rd, size_t touch, uint64_t *seq,
			  uint64_t *sink, struct bc_ctl *c, struct bc_run *r)
{
	shmk_slot_handle_t h;
	const void *p;
	size_t len;
	int rc;
	uint32_t spins = 0;
	while ((rc = shmk_slots_next_unread_slot(peer, rd, &h)) == 0) {
		bc_relax();
		if (!(++spins & 0xffff) && (r ? !bc_run_alive(r) : bc_stopped(c)))
			return 1;
	}
	if (rc != 1)
		return rc < 0 ? rc : -EPROTO;
	rc = shmk_slots_slot_read_ptr(peer, h, &p, &len);
	if (rc)
		return rc;
	*seq = bc_read(p, touch < len ? touch : len, sink);
	return shmk_slots_mark_read(peer, h, rd);
}

static int sl_peer(void *arg)
{
	struct sl_sh *sh = arg;
	struct shmk_slots *a = NULL, *b = NULL;
	unsigned ia;
	uint64_t sink = 0;
	size_t size = sh->c.size, touch = sl_touched(sh, size);
	int rc = shmk_slots_attach(sh->flink_a, &a);
	if (!rc)
		rc = shmk_slots_register_reader(a, -1, &ia);
	if (!rc)
		rc = shmk_slots_create(NULL, SL_COUNT, size, &b);
	if (rc) {
		sl_fail(sh, "peer setup", rc);
		return 1;
	}
	snprintf(sh->flink_b, sizeof sh->flink_b, "%s", shmk_slots_flink_path(b));
	atomic_store_explicit(&sh->reader_a, (int32_t)ia, memory_order_relaxed);
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	int32_t ib;
	/* acquire: pairs with the measurer's release of reader_b */
	while ((ib = atomic_load_explicit(&sh->reader_b, memory_order_acquire)) < 0)
		if (bc_stopped(&sh->c))
			goto done;
	for (uint64_t served = 0, pp_want = 1;;) {
		uint64_t seq;
		rc = sl_recv(a, ia, touch, &seq, &sink, &sh->c, NULL);
		if (rc == 1)
			break;
		if (!rc)
			rc = sl_send(b, (unsigned)ib, size, touch, seq + 1, &sh->c);
		if (rc) {
			if (bc_stopped(&sh->c))
				break;
			sl_fail(sh, "peer", rc);
			return 1;
		}
		rc = ilv_pp_after(sh->pp, sh->ilv, &served, &pp_want, &sh->c, &sink);
		if (rc < 0)
			return 1;
		if (rc)
			break; /* stopped */
	}
done:
	shmk_slots_close(a);
	shmk_slots_close(b);
	return (int)(sink & 0);
}

struct sl_arg {
	size_t size;
	int touch_all;
	bool ilv; /* the ping-pong of the same bytes interleaved (ilv.h) */
};

static void bm_sl_rtt(gbs_state *st, void *argp)
{
	const struct sl_arg *a = argp;
	size_t size = a->size;
	struct sl_sh *sh = bc_shared(sizeof *sh);
	struct shmk_slots *own = NULL, *peer = NULL;
	struct bc_run r;
	struct ilv v = {0};
	uint64_t sink = 0, pp_seq = 1;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	sh->c.size = size;
	sh->touch_all = a->touch_all;
	if (a->ilv) {
		if (!(sh->pp = ilv_rtt_open(&v, st, size))) {
			bc_unshared(sh, sizeof *sh);
			return;
		}
		sh->ilv = v.block;
	}
	atomic_store(&sh->reader_a, -1);
	atomic_store(&sh->reader_b, -1);
	int rc = shmk_slots_create(NULL, SL_COUNT, size, &own);
	if (rc) {
		char m[160];
		snprintf(m, sizeof m, "create: %s (%s)", shmk_strerror(rc), shmk_errdetail());
		gbs_skip_with_error(st, m);
		ilv_rtt_close(&v, sh->pp);
		bc_unshared(sh, sizeof *sh);
		return;
	}
	snprintf(sh->flink_a, sizeof sh->flink_a, "%s", shmk_slots_flink_path(own));
	size_t touch = sl_touched(sh, size);
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), sl_peer, sh,
			 (size_t)gbs_max_iterations(st))) {
		unsigned ib = 0;
		rc = shmk_slots_attach(sh->flink_b, &peer);
		if (!rc)
			rc = shmk_slots_register_reader(peer, -1, &ib);
		if (!rc)
			/* release: pairs with the peer's acquire of reader_b */
			atomic_store_explicit(&sh->reader_b, (int32_t)ib, memory_order_release);
		unsigned ia = (unsigned)atomic_load(&sh->reader_a);
		int warm = size > 65536 ? PEERS_WARMUP / 20 : PEERS_WARMUP;
		uint64_t seq = 1;
		uint64_t done = 0; /* round trips, warm-up included (as the peer counts) */
		for (int64_t i = -warm; !rc && !r.failed; i++, seq += 2) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			uint64_t got = 0, t0 = bc_now();
			rc = sl_send(own, ia, size, touch, seq, &sh->c);
			if (!rc)
				rc = sl_recv(peer, ib, touch, &got, &sink, &sh->c, &r);
			uint64_t t1 = bc_now();
			if (!rc && got != seq + 1)
				rc = -EBADMSG;
			if (!rc && i >= 0) {
				bc_lat_add(&r.lat, t1 - t0);
				gbs_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
				if (sh->ilv)
					ilv_add(&v, t1 - t0);
			}
			if (!rc && sh->ilv && ilv_due(&v, ++done) &&
			    !ilv_pp_block(&v, &r, sh->pp, &pp_seq, i >= 0, &sink))
				break;
		}
		if (rc && !r.failed) {
			char m[160];
			snprintf(m, sizeof m, "round trip: %s (%s)", rc == 1 ? "peer gone" : shmk_strerror(rc),
				 rc == 1 ? "" : shmk_errdetail());
			gbs_skip_with_error(st, m);
			r.failed = true;
		}
	}
	bc_run_end(&r, 1);
	if (sh->ilv && !r.failed)
		ilv_report_rtt(st, &v);
	gbs_counter(st, "sink", (double)(sink & 1));
	shmk_slots_close(peer);
	shmk_slots_close(own);
	ilv_rtt_close(&v, sh->pp);
	bc_unshared(sh, sizeof *sh);
}

static void bm_sl_op(gbs_state *st, void *argp)
{
	size_t size = (size_t)(uintptr_t)argp;
	struct shmk_slots *s = NULL, *rd = NULL;
	struct bc_lat lat;
	unsigned idx = 0;
	uint64_t sink = 0;
	int rc = shmk_slots_create(NULL, SL_COUNT, size, &s);
	if (!rc)
		rc = shmk_slots_attach(shmk_slots_flink_path(s), &rd);
	if (!rc)
		rc = shmk_slots_register_reader(rd, -1, &idx);
	if (rc || bc_lat_init(&lat, (size_t)gbs_max_iterations(st))) {
		char m[160];
		snprintf(m, sizeof m, "setup: %s (%s)", shmk_strerror(rc), shmk_errdetail());
		gbs_skip_with_error(st, m);
		goto out;
	}
	while (gbs_keep_running(st)) {
		uint64_t t0 = bc_now();
		shmk_slot_handle_t h, hr;
		void *p;
		const void *q;
		size_t cap, len;
		uint64_t sn;
		rc = shmk_slots_reserve_slot(s, 1u << idx, &h);
		if (!rc)
			rc = shmk_slots_slot_data_ptr(s, h, &p, &cap);
		if (!rc) {
			bc_fill(p, size < 64 ? size : 64, 0x5a5a);
			rc = shmk_slots_commit_in_place(s, h, size, &sn, NULL);
		}
		if (!rc)
			rc = shmk_slots_next_unread_slot(rd, idx, &hr) == 1 ? 0 : -EPROTO;
		if (!rc)
			rc = shmk_slots_slot_read_ptr(rd, hr, &q, &len);
		if (!rc && bc_read(q, len < 64 ? len : 64, &sink) != 0x5a5a)
			rc = -EBADMSG;
		if (!rc)
			rc = shmk_slots_mark_read(rd, hr, idx);
		uint64_t t1 = bc_now();
		if (rc) {
			gbs_skip_with_error(st, shmk_strerror(rc));
			break;
		}
		bc_lat_add(&lat, t1 - t0);
		gbs_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
	}
	if (!gbs_error_occurred(st))
		bc_lat_report(st, &lat, 1);
	bc_lat_free(&lat);
out:
	shmk_slots_close(rd);
	shmk_slots_close(s);
	gbs_counter(st, "sink", (double)(sink & 1));
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = {64, 4096, 65536, 1048576};
	static struct sl_arg args[2][4];
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		for (int m = 0; m < 2; m++) {
			/* read_rtt up to 4 KiB: judged against the ping-pong
			 * interleaved with it (larger ones have no target) */
			bool ilv = m == 0 && sz[i] <= 4096;
			args[m][i] = (struct sl_arg){sz[i], m == 0, ilv};
			const char *pat = m == 0 ? "read_rtt" : "loan_rtt";
			gbs_register(&(struct gbs_bench){
				.name = bc_name("slots/%s/%zu/cross-cpu", pat, sz[i]), .fn = bm_sl_rtt,
				.arg = &args[m][i], .manual_time = true, .module = "slots",
				.pattern = pat, .param = (long)sz[i], .bytes = m == 0 ? (long)sz[i] : 64,
				.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
				.metric = "p50_ns", .floor = bc_name(PEER_PP_FMT, m == 0 ? sz[i] : 64),
				.baseline = m == 0 ? (sz[i] <= 256 ? bc_name(PEER_IOX_RTT_FMT, sz[i]) : NULL)
					    : sz[i] == 64 ? NULL
							  : "slots/loan_rtt/64/cross-cpu",
				.ilv_floor = ilv ? bc_name(PEER_PP_FMT, sz[i]) : NULL,
				.time_share = ilv ? ILV_TIME_SHARE : 0,
				.note = m == 0 ? (sz[i] <= 256 ? NULL
							       : "no peer moves samples this large through "
								 "a pool: judged by its floor")
					: sz[i] == 64 ? "the loan round trip of larger samples is judged "
							"against this one (zero copy)"
						      : NULL});
		}
		gbs_register(&(struct gbs_bench){
			.name = bc_name("slots/op/%zu/single", sz[i]), .fn = bm_sl_op,
			.arg = (void *)(uintptr_t)sz[i], .manual_time = true, .module = "slots",
			.pattern = "op", .param = (long)sz[i], .bytes = 64, .placement = "single",
			.mode = "none", .metric = "real_time", .floor = PEER_MEMCPY(64),
			.baseline = sz[i] == 64 ? NULL : "slots/op/64/single",
			.note = sz[i] == 64 ? "no peer has a single-process slot op; larger samples "
					      "are judged against this one"
					    : NULL});
	}
}
