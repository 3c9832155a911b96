/* SPDX-License-Identifier: MIT */
/*
 * events_spsc - one producer process, one consumer process, on the events
 * region's SPSC queue: seeded, time-bounded (STRESS_SECONDS) and
 * count-bounded (STRESS_MESSAGES, default 10,000,000), every message
 * checksummed.  A second variant starts the queue counters just below
 * UINT64_MAX so they wrap during the run.
 */
#include "events_load.h"

int main(void)
{
	static const char *const clauses[] = { "events.spsc.fifo", "events.wake.park+2",
					       "events.zerocopy.publish", NULL };

	return t_ev_main("events_spsc", 0, 1, t_messages(10000000), clauses);
}
