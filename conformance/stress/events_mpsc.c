/* SPDX-License-Identifier: MIT */
/*
 * events_mpsc - STRESS_PRODUCERS (default 8) producer processes and one
 * consumer on the events region's MPSC queue: seeded, time-bounded
 * (STRESS_SECONDS) and count-bounded (STRESS_MESSAGES per producer, default
 * 1,000,000), every message checksummed, order checked per producer.  A
 * second variant starts the counters just below UINT64_MAX.  STRESS_LANES=1
 * runs the same on a lanes region (SHMK_EVENTS_CAP_LANES).
 */
#include "events_load.h"

int main(void)
{
	static const char *const clauses[] = { "events.mpsc.vyukov+2", "events.mpsc.order",
					       "events.pool.aba", NULL };
	uint32_t np = (uint32_t)t_env_u64("STRESS_PRODUCERS", 8);

	return t_ev_main("events_mpsc", 1, np < T_EV_MAXP ? np : T_EV_MAXP, t_messages(1000000),
			 clauses);
}
