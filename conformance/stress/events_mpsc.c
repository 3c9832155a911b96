/* SPDX-License-Identifier: MIT */
/*
 * events_mpsc - STRESS_PRODUCERS (default 8) producer processes and one
 * consumer on the events region's MPSC queue: seeded, time-bounded
 * (STRESS_SECONDS) and count-bounded (STRESS_MESSAGES per producer, default
 * 1,000,000), every message checksummed, order checked per producer.  A
 * second variant starts the counters just below UINT64_MAX.
 */
#include "events_load.h"

int main(void)
{
	uint64_t seed = h_seed();
	double secs = t_seconds();
	uint64_t msgs = t_messages(1000000);
	uint32_t np = (uint32_t)t_env_u64("STRESS_PRODUCERS", 8);
	if (np > T_EV_MAXP)
		np = T_EV_MAXP;
	struct t_ev_cfg main_cfg = { "mpsc", 1, np, msgs, secs * 2 / 3, 0, seed };
	struct t_ev_cfg wrap_cfg = { "mpsc-wrap", 1, np, msgs / 10 ? msgs / 10 : 1, secs / 3,
				    UINT64_MAX - 1000 - seed % 4096, seed + 1 };
	struct t_ev_res a, b;

	printf("events_mpsc: seed %llu (SHMK_SEED replays), %.1f s, %u producers x %llu messages\n",
	       (unsigned long long)seed, secs, np, (unsigned long long)msgs);
	t_ev_run(&main_cfg, &a);
	t_ev_run(&wrap_cfg, &b);
	bool ok = a.passed && b.passed;
	h_evidence("events_mpsc", "stress", "mpsc", "events.mpsc.vyukov", a.passed);
	h_evidence("events_mpsc", "stress", "mpsc", "events.mpsc.order", a.passed);
	h_evidence("events_mpsc", "stress", "mpsc", "events.pool.aba", a.passed);
	h_evidence("events_mpsc", "stress", "mpsc-wrap", "events.queue.counter-start", b.passed);
	t_report("events_mpsc", seed, a.seconds + b.seconds, ok,
		  "\"producers\": %u, \"sent\": %llu, \"received\": %llu, \"lost\": %llu, "
		  "\"dup\": %llu, \"reordered\": %llu, \"corrupt\": %llu, \"wrap_sent\": %llu, "
		  "\"wrap_received\": %llu, \"wrap_failures\": %llu",
		  np, (unsigned long long)a.sent, (unsigned long long)a.received,
		  (unsigned long long)a.lost, (unsigned long long)a.dup,
		  (unsigned long long)a.reordered, (unsigned long long)a.corrupt,
		  (unsigned long long)b.sent, (unsigned long long)b.received,
		  (unsigned long long)(b.lost + b.dup + b.reordered + b.corrupt));
	return ok ? 0 : 1;
}
