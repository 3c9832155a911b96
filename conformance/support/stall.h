/* SPDX-License-Identifier: MIT */
/*
 * stall.h - what the stall programs (conformance/stress/<module>_stall.c)
 * share; defined in stall.c.  A stall is a peer alive but not running:
 * SIGSTOPped at a crash point (SHMK_STOP_AT, r[reliability.hook.stop]),
 * at a point of the test's own, or at a random time, held 1..5 x
 * SHMK_LIVENESS_MS, then SIGCONTed.
 *
 *   - knobs: STRESS_TRIALS (64 in make check, 10000 under make stress),
 *     STRESS_WORKERS (default 4: trials run side by side, each worker on
 *     its own object, since a stopped peer costs no CPU); SHMK_LIVENESS_MS
 *     defaults to 25 under make stress and 50 in make check (set before
 *     any shmkit call);
 *   - families: a program runs one or two kinds of trial (ring: direct and
 *     mediated writers), each with its own counts, line, bound and clauses;
 *   - the victim's stop and resume, driven from the survivor's loop
 *     (t_stall_tick), never by sleeping;
 *   - timestamped checksummed messages (t_msg_stamped) and the receiving
 *     side's tally of them (t_stall_rx);
 *   - the counts every program reports, in shared memory across workers.
 */
#ifndef SHMK_SUPPORT_STALL_H
#define SHMK_SUPPORT_STALL_H

#include "crash.h"

#define T_STALL_MAXW 8	/* workers */
#define T_STALL_MAXF 2	/* families of trials */
#define T_STALL_K 24	/* messages per producer per trial */
#define T_STALL_MAXP 3	/* producers per trial */

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

/* The counts of one family of trials (every worker adds to them). */
struct t_stall_totals {
	_Atomic uint64_t trials, kinds[T_STALL_KINDS], not_stopped;
	_Atomic uint64_t torn, lost, dup, failed, unblocked, retried, bad_trials;
	_Atomic uint64_t reordered, held;	/* families with .order / .held */
	_Atomic int64_t max_block_ns;
};

/* A victim of `kind` (T_STALL_RANDOM: stopped within 3 ms of now), held
 * 1..5 x SHMK_LIVENESS_MS.  Fill in pid after forking it. */
void t_stall_victim_init(struct t_stall_victim *v, int kind, uint64_t *rng);

/* Another party of the trial, driven and reaped like the victim but never
 * stopped. */
void t_stall_bystander(struct t_stall_victim *s, pid_t pid);

/* In a forked child: stop at the crash point `spec` ("name:N"; NULL: none). */
void t_stop_at(const char *spec);

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

/* The receiving side of a trial: nprod producers' T_STALL_K stamped
 * messages each. */
struct t_stall_rx {
	int nprod;
	unsigned lat_mask;		/* producers whose send-to-receive latency counts */
	uint8_t cnt[T_STALL_MAXP][T_STALL_K];	/* deliveries */
	int last[T_STALL_MAXP];		/* highest seq delivered, -1 */
	uint64_t torn, reordered;
	int64_t max_lat_ns;
};
void t_stall_rx_init(struct t_stall_rx *x, int nprod, unsigned lat_mask);
/* One message received: counted torn (bad checksum or length, a producer
 * or seq out of range, or not from `from` when from >= 0: the transport's
 * own word on its sender), else delivered (a seq below one delivered
 * before, and not a duplicate, is reordered).  The producer, or -1. */
int t_stall_rx_take(struct t_stall_rx *x, const uint8_t *buf, size_t n, int from);
/* How many of producer p's seqs below `below` were not delivered yet. */
uint64_t t_stall_rx_missing(const struct t_stall_rx *x, int p, uint64_t below);

/* After a call of the survivor's loop that found nothing new (rc): drives
 * the victim and the other parties (t_stall_tick); 1 when the trial is
 * over - all exited and rc is an idle answer (-ETIMEDOUT or
 * SHMK_EPEERDEAD) - or given up: another rc, or past `end` (all SIGKILLed,
 * T->bad_trials counted, said). */
int t_stall_idle(const char *prog, int w, struct t_stall_totals *T, struct t_stall_victim *v,
		 struct t_stall_victim *others, int nothers, int rc, int64_t end);

/* Deliveries cnt[p * k + q] of nprod producers' k messages each: *dup gets
 * the second and later ones, *lost the messages q < committed[p] never
 * delivered. */
void t_stall_tally(const uint8_t *cnt, int nprod, int k, const uint64_t *committed,
		   uint64_t *lost, uint64_t *dup);

/* What one trial saw. */
struct t_stall_outcome {
	uint64_t torn, lost, dup, failed, reordered, held;
	int64_t blocked_ns;	/* the longest time another party was blocked */
	const char *at;		/* where the victim was stopped (for the failure line) */
	int verr, serr;		/* the victim's and a survivor's last error */
	int sstatus;		/* that survivor's wait status */
};

/* Adds one finished trial to *T (kind, counts, longest block), and says
 * what went wrong when anything did. */
void t_stall_account(const char *prog, int w, struct t_stall_totals *T,
		     const struct t_stall_victim *v, const struct t_stall_outcome *o);

/* One family of trials of a program. */
struct t_stall_family {
	const char *line;		/* its closing line's name, "<module>-stall" */
	const char *key;		/* the prefix of its fields in the result record (NULL: none) */
	const char *victim;		/* who is stopped ("producer", "writer", ...) */
	const char *points[2];		/* what T_STALL_POINT and T_STALL_POINT2 stop at */
	const char *unblocks;		/* what the unblocks count */
	const char *retried;		/* the survivor-side answers made again */
	double bound_l;			/* the longest block allowed, in SHMK_LIVENESS_MS
					 * x SHMK_TIME_SCALE (the program says why) */
	unsigned wakeups;		/* plus this many times the scheduling delay
					 * the run measured (t_probe): the
					 * sequential wake-ups on the blocked
					 * party's path (the program says which) */
	unsigned divisor;		/* its trials: STRESS_TRIALS / divisor, at least 1 */
	int order;			/* reordered is counted (t_stall_rx) */
	const char *held;		/* NULL, or what held counts */
	const char *const *clauses;	/* what every trial checks (the one list) */
	size_t nclauses;
};

/* A family's bound on the longest block without the scheduling delay:
 * bound_l x SHMK_LIVENESS_MS x SHMK_TIME_SCALE, in ns (the closing line
 * adds wakeups x the run's measured delay). */
int64_t t_stall_bound_ns(const struct t_stall_family *f);

/* What a stall program brings to t_stall_main. */
struct t_stall_prog {
	const char *prog;		/* "<module>_stall" */
	const struct t_stall_family *fam;	/* nfam (1..T_STALL_MAXF) of them */
	int nfam;
	/* worker w runs trials[f] trials of each family f in the private
	 * directory dir (its objects there, removed when done); its exit status */
	int (*worker)(int w, const uint64_t *trials, const char *dir);
	uint64_t *seed;			/* set before the workers start */
	/* set to side_size bytes of shared memory that begin with one struct
	 * t_stall_totals per family */
	void **side;
	size_t side_size;
};

/* The whole program: the knob defaults, the seed, the shared side, then
 * STRESS_TRIALS trials per family (its divisor) on STRESS_WORKERS
 * (1..T_STALL_MAXW, default 4) forked workers, a closing line, the
 * evidence of every clause per family and one result record.  The exit
 * status. */
int t_stall_main(const struct t_stall_prog *p);

#endif
