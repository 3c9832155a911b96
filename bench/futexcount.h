/* SPDX-License-Identifier: MIT */
/*
 * futexcount.h - counted futex calls for the module benches: the library
 * of a bench build (bench/bench.mk compiles it into its own object
 * directory with -DSHMK_BENCH_COUNTERS; release and check builds have no
 * counters) tallies every FUTEX_WAIT and FUTEX_WAKE its wrappers make in
 * this process.  A peer process takes its own difference and hands it back
 * through the bench's shared memory.
 */
#ifndef SHMK_BENCH_FUTEXCOUNT_H
#define SHMK_BENCH_FUTEXCOUNT_H

#ifndef SHMK_BENCH_COUNTERS
#error "futexcount.h needs a bench build (-DSHMK_BENCH_COUNTERS)"
#endif

#include "internal.h"

#include "gbshim.h"

struct bc_fx {
	uint64_t waits, wakes;
};

static inline struct bc_fx bc_fx_now(void)
{
	struct bc_fx f;
	shmk_bench_futex_counts(&f.waits, &f.wakes);
	return f;
}

static inline struct bc_fx bc_fx_since(struct bc_fx t0)
{
	struct bc_fx f = bc_fx_now();
	return (struct bc_fx){f.waits - t0.waits, f.wakes - t0.wakes};
}

/* Publishes parks_per_msg (FUTEX_WAITs) and futex_calls_per_msg (waits
 * and wakes) of both processes over msgs messages. */
static inline void bc_fx_report(gbs_state *st, struct bc_fx self, struct bc_fx peer, double msgs)
{
	if (msgs <= 0)
		return;
	gbs_counter(st, "parks_per_msg", (double)(self.waits + peer.waits) / msgs);
	gbs_counter(st, "futex_calls_per_msg",
		    (double)(self.waits + self.wakes + peer.waits + peer.wakes) / msgs);
}

#endif
