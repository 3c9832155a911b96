/* SPDX-License-Identifier: MIT */
/*
 * slots.c - benches of the slot allocator (impl/include/shmkit/slots.h).
 *
 *   slots/rtt/<S>/cross-cpu   owner (the measurer) loans a slot, stamps it,
 *                             commits in place; a reader process on the other
 *                             CPU spins on next_unread_slot, reads the sample
 *                             through slot_read_ptr, mark_read()s it and
 *                             answers with one release store of the sequence
 *                             number (the floor's word).  Timed: loan ->
 *                             answer seen.
 *   slots/op/<S>/single       the same four steps with owner and reader
 *                             handles in one process: the op cost alone.
 *
 * Zero-copy: the sender writes the first 64 bytes of the sample (a stamp
 * with the sequence number) and the receiver reads and checks them, for
 * every S alike: what is measured is the primitive's cost, which must not
 * grow with S (flatness target 1 MiB <= 1.2 x 64 B); filling 1 MiB would
 * measure memcpy (see peers/memcpy).  Eight slots of S bytes.
 *
 * Floor target: the issue asks one-way <= 2 x floor one-way.  Our round
 * trip is (slots one-way) + (floor one-way, the answer), the floor's round
 * trip is 2 x floor one-way, so the bound on the ratio of round trips is
 * (2 + 1) / 2 = 1.5.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shmkit/slots.h"

#include "common.h"
#include "peers/peers.h"

#define SL_COUNT 8

struct sl_sh {
	struct bc_ctl c;
	char flink[256];
	_Atomic int32_t reader;			  /* index registered by the peer */
	_Alignas(BC_LINE) _Atomic uint64_t ack;	  /* last sn the reader consumed */
	char pad[BC_LINE - sizeof(uint64_t)];
};

static inline void sl_stamp(void *p, size_t size, uint64_t v)
{
	bc_fill(p, size < 64 ? size : 64, v);
}

static inline uint64_t sl_check(const void *p, size_t size, uint64_t *sink)
{
	return bc_read(p, size < 64 ? size : 64, sink);
}

static int sl_reader(void *arg)
{
	struct sl_sh *sh = arg;
	struct shmk_slots *s;
	unsigned idx;
	uint64_t sink = 0;
	int rc = shmk_slots_attach(sh->flink, &s);
	if (!rc)
		rc = shmk_slots_register_reader(s, -1, &idx);
	if (rc) {
		snprintf(sh->c.msg, sizeof sh->c.msg, "slots reader: %s (%s)", shmk_strerror(rc),
			 shmk_errdetail());
		return 1;
	}
	atomic_store_explicit(&sh->reader, (int32_t)idx, memory_order_relaxed);
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (;;) {
		shmk_slot_handle_t h;
		uint32_t spins = 0;
		while ((rc = shmk_slots_next_unread_slot(s, idx, &h)) == 0) {
			bc_relax();
			if (!(++spins & 0xffff) && bc_stopped(&sh->c))
				goto done;
		}
		const void *p;
		size_t len;
		if (rc == 1)
			rc = shmk_slots_slot_read_ptr(s, h, &p, &len);
		if (rc == 0 && sl_check(p, len, &sink) != h.sn)
			rc = -EBADMSG;
		if (rc == 0)
			rc = shmk_slots_mark_read(s, h, idx);
		if (rc) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "slots reader: %s (%s)",
				 shmk_strerror(rc), shmk_errdetail());
			return 1;
		}
		/* release: pairs with the owner's acquire of ack in sl_rtt */
		atomic_store_explicit(&sh->ack, h.sn, memory_order_release);
	}
done:
	shmk_slots_close(s);
	return (int)(sink & 0);
}

/* One loan -> commit -> (reader) -> answer.  0 or a negative code. */
static inline int sl_rtt(struct shmk_slots *s, struct sl_sh *sh, uint32_t mask, size_t size,
			 struct bc_run *r)
{
	shmk_slot_handle_t h;
	void *p;
	size_t cap;
	uint64_t sn;
	int rc;
	/* A slot frees once read: retry while the reader catches up. */
	while ((rc = shmk_slots_reserve_slot(s, mask, &h)) == SHMK_EFULL)
		bc_relax();
	if (rc)
		return rc;
	rc = shmk_slots_slot_data_ptr(s, h, &p, &cap);
	if (rc)
		return rc;
	/* the sequence number is not known before commit: stamp the next one */
	uint64_t want = atomic_load_explicit(&sh->ack, memory_order_relaxed) + 1;
	sl_stamp(p, size, want);
	rc = shmk_slots_commit_in_place(s, h, size, &sn, NULL);
	if (rc)
		return rc;
	if (sn != want)
		return -EPROTO;
	/* acquire: pairs with the reader's release store of ack */
	BC_SPIN_WHILE(atomic_load_explicit(&sh->ack, memory_order_acquire) != sn, bc_run_alive(r));
	return r->failed ? -ECHILD : 0;
}

static void bm_sl_rtt(gbs_state *st, void *argp)
{
	size_t size = (size_t)(uintptr_t)argp;
	struct sl_sh *sh = bc_shared(sizeof *sh);
	struct shmk_slots *s = NULL;
	struct bc_run r;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	int rc = shmk_slots_create(NULL, SL_COUNT, size, &s);
	if (rc) {
		char m[160];
		snprintf(m, sizeof m, "create: %s (%s)", shmk_strerror(rc), shmk_errdetail());
		gbs_skip_with_error(st, m);
		bc_unshared(sh, sizeof *sh);
		return;
	}
	snprintf(sh->flink, sizeof sh->flink, "%s", shmk_slots_flink_path(s));
	atomic_store(&sh->reader, -1);
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), sl_reader, sh,
			 (size_t)gbs_max_iterations(st))) {
		uint32_t mask = 1u << atomic_load(&sh->reader);
		/* sequence numbers start at 1: ack 0 means nothing read yet */
		for (int64_t i = -PEERS_WARMUP; !r.failed; i++) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			uint64_t t0 = bc_now();
			rc = sl_rtt(s, sh, mask, size, &r);
			uint64_t t1 = bc_now();
			if (rc) {
				if (!r.failed) {
					char m[160];
					snprintf(m, sizeof m, "round trip: %s (%s)", shmk_strerror(rc),
						 shmk_errdetail());
					gbs_skip_with_error(st, m);
					r.failed = true;
				}
				break;
			}
			if (i >= 0) {
				bc_lat_add(&r.lat, t1 - t0);
				gbs_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
			}
		}
	}
	bc_run_end(&r, 1);
	shmk_slots_close(s);
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
			sl_stamp(p, size, 0x5a5a);
			rc = shmk_slots_commit_in_place(s, h, size, &sn, NULL);
		}
		if (!rc)
			rc = shmk_slots_next_unread_slot(rd, idx, &hr) == 1 ? 0 : -EPROTO;
		if (!rc)
			rc = shmk_slots_slot_read_ptr(rd, hr, &q, &len);
		if (!rc && sl_check(q, len, &sink) != 0x5a5a)
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
	static const size_t sz[] = {64, 1024, 16384, 262144, 1048576};
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		struct gbs_bench b = {
			.name = bc_name("slots/rtt/%zu/cross-cpu", sz[i]), .fn = bm_sl_rtt,
			.arg = (void *)(uintptr_t)sz[i], .manual_time = true, .module = "slots",
			.pattern = "rtt", .param = (long)sz[i], .placement = "cross-cpu",
			.kind = "spin", .spinning_procs = 2, .metric = "p50_ns",
			.baseline = PEER_FLOOR};
		if (sz[i] == 64)
			b.targets[0] = (struct gbs_target){.vs = PEER_FLOOR, .op = "le", .bound = 1.5};
		if (sz[i] == 1048576)
			b.targets[0] = (struct gbs_target){.vs = "slots/rtt/64/cross-cpu", .op = "le",
							   .bound = 1.2};
		gbs_register(&b);
		gbs_register(&(struct gbs_bench){
			.name = bc_name("slots/op/%zu/single", sz[i]), .fn = bm_sl_op,
			.arg = (void *)(uintptr_t)sz[i], .manual_time = true, .module = "slots",
			.pattern = "op", .param = (long)sz[i], .placement = "single", .kind = "cpu",
			.metric = "p50_ns",
			.baseline = sz[i] == 64 ? NULL : "slots/op/64/single"});
	}
}
