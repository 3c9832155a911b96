/* SPDX-License-Identifier: MIT */
/*
 * syncop.h - the measurer's loop of a synchronous send: one record per
 * call, the call returns only when the other side answered (a mediated
 * ring write, bench/ring.c; its floor, a SEQPACKET send + reply,
 * bench/peers/seqpacket.c).  The measurer is the sender; its peer receives
 * and reads every payload byte.
 *
 *   throughput: records per second over batches of gbs_max_iterations
 *               (after BC_TPUT_WARM untimed records), manual time;
 *   latency:    each call timed alone (p50/p99/p999 samples).
 */
#ifndef SHMK_BENCH_SYNCOP_H
#define SHMK_BENCH_SYNCOP_H

/* common.h first (its run helper lies outside its include guard, so this
 * header does not include it again). */

/* Sends record seq (buf holds size bytes stamped with seq): 0 or an error
 * whose text op leaves in msg. */
typedef int (*bs_op)(void *ctx, const unsigned char *buf, size_t size, char *msg, size_t msglen);

#define BS_LAT_WARM 500

static inline void bs_measure(gbs_state *st, struct bc_run *run, bool lat, size_t size,
			      unsigned char *buf, bs_op op, void *ctx)
{
	char msg[160] = "";
	uint64_t seq = 0;
	int64_t n = gbs_max_iterations(st);

	if (lat) {
		for (int64_t i = -BS_LAT_WARM; !run->failed; i++) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			bc_fill(buf, size, seq++);
			int rc = 0;
			if (i < 0)
				rc = op(ctx, buf, size, msg, sizeof msg);
			else
				BC_TIMED_OP(st, run, rc = op(ctx, buf, size, msg, sizeof msg));
			if (rc) {
				gbs_skip_with_error(st, msg);
				run->failed = true;
			}
		}
		return;
	}
	while (gbs_keep_running_batch(st, n)) {
		uint64_t t0 = bc_now();
		for (int64_t i = 0; i < n + BC_TPUT_WARM && !run->failed; i++) {
			if (i == BC_TPUT_WARM)
				t0 = bc_now();
			bc_fill(buf, size, seq++);
			if (op(ctx, buf, size, msg, sizeof msg)) {
				gbs_skip_with_error(st, msg);
				run->failed = true;
			}
		}
		gbs_set_iteration_time(st, (double)(bc_now() - t0) * 1e-9);
	}
	gbs_set_items_processed(st, n);
	gbs_set_bytes_processed(st, n * (int64_t)size);
}

#endif
