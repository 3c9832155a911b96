/* SPDX-License-Identifier: MIT */
/*
 * events_load.h - the body both events stress programs share: one
 * consumer (this process) and N producer processes (fork) on a fresh
 * events region, every message checksummed (producer id, sequence, length,
 * CRC-32 of header and payload), counting lost, duplicated,
 * reordered-per-producer and corrupt messages.
 *
 * Producers send with the blocking call (spin, then park on the futex when
 * the queue is full: with 2 vCPUs and 8 producers spinning would starve the
 * consumer), and every 16th message (seeded choice) goes through the
 * zero-copy reserve/publish path instead.
 */
#ifndef SHMK_SUPPORT_EVENTS_LOAD_H
#define SHMK_SUPPORT_EVENTS_LOAD_H

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmkit/events.h"
#include "harness.h"
#include "support.h"

#define T_EV_MAXP 64

struct t_ev_cfg {
	const char *variant;	/* "spsc", "mpsc-wrap", ... */
	int mpsc;
	uint32_t producers;
	uint64_t per_producer;	/* count bound */
	double seconds;		/* time bound */
	uint64_t counter_start;
	uint64_t seed;
};

struct t_ev_res {
	uint64_t sent, received, lost, dup, reordered, corrupt;
	double seconds;
	bool passed;
};

struct t_ev_ctl {
	_Atomic uint64_t sent[T_EV_MAXP];
	_Atomic int done[T_EV_MAXP];
	_Atomic int failed[T_EV_MAXP];
};

void t_ev_run(const struct t_ev_cfg *c, struct t_ev_res *res);
/* One message sent zero-copy: reserve (again while SHMK_EFULL), copy,
 * publish (again while SHMK_EFULL, or SHMK_ESKIPPED: the view stays
 * reserved, r[events.zerocopy.publish-skipped+2]; *skipped, when not NULL,
 * counts those).  0 or the failing call's code. */
int t_ev_send_view(struct shmk_events_tx *tx, const void *buf, size_t n, _Atomic uint64_t *skipped);

/* The whole of events_spsc and events_mpsc: the main run (msgs per
 * producer, 2/3 of STRESS_SECONDS), then the same with the queue counters
 * just below UINT64_MAX so they wrap (a tenth of the messages, 1/3 of the
 * time); evidence for `clauses` (NULL-ended) from the main run and
 * events.queue.counter-start from the wrap run; the result record.
 * Returns the exit status. */
int t_ev_main(const char *prog, int mpsc, uint32_t producers, uint64_t msgs,
	      const char *const *clauses);

#endif
