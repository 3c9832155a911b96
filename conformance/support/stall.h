/* SPDX-License-Identifier: MIT */
/*
 * stall.h - what the stall programs (conformance/stress/<module>_stall.c)
 * share; defined in stall.c.  A stall is a peer alive but not running:
 * SIGSTOPped at a crash point (SHMK_STOP_AT, r[reliability.hook.stop]) or
 * at a random time, held 1..5 x SHMK_LIVENESS_MS, then SIGCONTed.
 *
 *   - knobs: STRESS_TRIALS (crash.h: 200 in make check, 10000 under make
 *     stress), STRESS_WORKERS (default 4: trials run side by side, each
 *     worker on its own object, since a stopped peer costs no CPU);
 *     SHMK_LIVENESS_MS defaults to 25 under make stress and 50 in make
 *     check (set before any shmkit call);
 *   - the victim's stop and resume, driven from the survivor's loop
 *     (t_stall_tick), never by sleeping;
 *   - timestamped checksummed messages (t_msg_stamped);
 *   - the counts every program reports, in shared memory across workers.
 */
#ifndef SHMK_SUPPORT_STALL_H
#define SHMK_SUPPORT_STALL_H

#include "crash.h"

#define T_STALL_MAXW 8

/* How the victim of a trial is stopped. */
enum { T_STALL_POINT, T_STALL_POINT2, T_STALL_RANDOM, T_STALL_KINDS };

struct t_stall_victim {
	pid_t pid;
	int kind;		/* T_STALL_* */
	int64_t stop_at;	/* T_STALL_RANDOM: when to send SIGSTOP */
	int64_t hold;		/* how long to keep it stopped */
	int64_t stopped;	/* when it was seen stopped (0: not yet) */
	int resumed, done, status;
};

/* The counts of a whole run (every worker adds to them). */
struct t_stall_totals {
	_Atomic uint64_t trials, kinds[T_STALL_KINDS], not_stopped;
	_Atomic uint64_t torn, lost, dup, failed, unblocked, retried, bad_trials;
	_Atomic int64_t max_block_ns;
};

/* The start of a stall program: the knob defaults; the seed. */
uint64_t t_stall_start(void);

/* A victim of `kind` (T_STALL_RANDOM: stopped within 3 ms of now), held
 * 1..5 x SHMK_LIVENESS_MS.  Fill in pid after forking it. */
void t_stall_victim_init(struct t_stall_victim *v, int kind, uint64_t *rng);

/* One step of the survivor's loop: stops a random-kind victim when its
 * time comes, sees a point-kind victim stopped (/proc state T), resumes it
 * once held long enough, and reaps it when it exits (v->done). */
void t_stall_tick(struct t_stall_victim *v, int64_t now);

/* SIGKILLs and reaps a victim still running (a trial given up). */
void t_stall_kill(struct t_stall_victim *v);

/* A message of producer `prod`, sequence `seq` (support.h's checksummed
 * messages) carrying its send time under the CRC; its length. */
size_t t_msg_stamped(uint8_t *buf, size_t max, uint32_t prod, uint64_t seq, uint64_t seed);

/* Checks a received message: 0 with prod, seq and its send time, or -1
 * (torn). */
int t_msg_stamped_check(const uint8_t *buf, size_t n, uint32_t *prod, uint64_t *seq, int64_t *sent);

/* After a call of the survivor's loop that found nothing new (rc): drives
 * both peers (t_stall_tick); 1 when the trial is over - both exited and rc
 * is an idle answer (-ETIMEDOUT or SHMK_EPEERDEAD) - or given up: another
 * rc, or past `end` (both SIGKILLed, T->bad_trials counted, said). */
int t_stall_idle(const char *prog, int w, struct t_stall_totals *T, struct t_stall_victim *v,
		 struct t_stall_victim *s, int rc, int64_t end);

/* Deliveries cnt[p * k + q] of nprod producers' k messages each: *dup gets
 * the second and later ones, *lost the messages q < committed[p] never
 * delivered. */
void t_stall_tally(const uint8_t *cnt, int nprod, int k, const uint64_t *committed,
		   uint64_t *lost, uint64_t *dup);

/* Adds one finished trial to *T (kind, counts, longest block). */
void t_stall_account(struct t_stall_totals *T, const struct t_stall_victim *v, uint64_t torn,
		     uint64_t lost, uint64_t dup, uint64_t failed, int64_t blocked_ns);

/* What a stall program brings to t_stall_main. */
struct t_stall_prog {
	const char *prog;		/* "<module>_stall" */
	const char *line;		/* its closing line's name, "<module>-stall" */
	const char *victim;		/* who is stopped ("producer", "writer", ...) */
	const char *points[2];		/* what T_STALL_POINT and T_STALL_POINT2 stop at */
	const char *unblocks;		/* what the unblocks count */
	const char *retried;		/* the survivor-side answers made again */
	const char *const *clauses;	/* what every trial checks (the one list) */
	size_t nclauses;
	/* worker w runs its share of the trials in the private directory dir
	 * (its objects there, removed when done); its exit status */
	int (*worker)(int w, uint64_t trials, const char *dir);
	struct t_stall_totals *T;	/* in shared memory */
};

/* The whole program once t_stall_start ran: STRESS_TRIALS trials on
 * STRESS_WORKERS (1..T_STALL_MAXW, default 4) forked workers, then the
 * closing line, the evidence of every clause and the result record.  The
 * exit status. */
int t_stall_main(const struct t_stall_prog *p, uint64_t seed);

#endif
