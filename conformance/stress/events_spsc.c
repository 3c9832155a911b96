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
	uint64_t seed = h_seed();
	double secs = t_seconds();
	uint64_t msgs = t_messages(10000000);
	struct t_ev_cfg main_cfg = { "spsc", 0, 1, msgs, secs * 2 / 3, 0, seed };
	struct t_ev_cfg wrap_cfg = { "spsc-wrap", 0, 1, msgs / 10 ? msgs / 10 : 1, secs / 3,
				    UINT64_MAX - 1000 - seed % 4096, seed + 1 };
	struct t_ev_res a, b;

	printf("events_spsc: seed %llu (SHMK_SEED replays), %.1f s, %llu messages\n",
	       (unsigned long long)seed, secs, (unsigned long long)msgs);
	t_ev_run(&main_cfg, &a);
	t_ev_run(&wrap_cfg, &b);
	bool ok = a.passed && b.passed;
	h_evidence("events_spsc", "stress", "spsc", "events.spsc.fifo", a.passed);
	h_evidence("events_spsc", "stress", "spsc", "events.wake.park", a.passed);
	h_evidence("events_spsc", "stress", "spsc", "events.zerocopy.publish", a.passed);
	h_evidence("events_spsc", "stress", "spsc-wrap", "events.queue.counter-start", b.passed);
	t_report("events_spsc", seed, a.seconds + b.seconds, ok,
		  "\"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"dup\": %llu, "
		  "\"reordered\": %llu, \"corrupt\": %llu, \"wrap_sent\": %llu, "
		  "\"wrap_received\": %llu, \"wrap_failures\": %llu",
		  (unsigned long long)a.sent, (unsigned long long)a.received,
		  (unsigned long long)a.lost, (unsigned long long)a.dup,
		  (unsigned long long)a.reordered, (unsigned long long)a.corrupt,
		  (unsigned long long)b.sent, (unsigned long long)b.received,
		  (unsigned long long)(b.lost + b.dup + b.reordered + b.corrupt));
	return ok ? 0 : 1;
}
