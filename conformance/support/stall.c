/* SPDX-License-Identifier: MIT */
/* Stall program helpers (stall.h). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stall.h"
#include "shmkit/error.h"

void t_stall_victim_init(struct t_stall_victim *v, int kind, uint64_t *rng)
{
	int64_t L = shmk_liveness_ns(), now = shmk_now_ns();

	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->hold = L + (int64_t)(t_rand(rng) % (uint64_t)(4 * L + 1));
	v->stop_at = now + (int64_t)(t_rand(rng) % 3000000);
	v->status = -1;
}

void t_stall_bystander(struct t_stall_victim *s, pid_t pid)
{
	*s = (struct t_stall_victim){ .pid = pid, .kind = T_STALL_RANDOM, .status = -1,
				      .stop_at = INT64_MAX };
}

void t_stop_at(const char *spec)
{
	if (!spec)
		return;
	setenv("SHMK_STOP_AT", spec, 1);
	shmk_crash_rearm(); /* the worker, our parent, read the env already */
}

void t_stall_tick(struct t_stall_victim *v, int64_t now)
{
	if (v->done || v->pid <= 0)	/* never kill(-1, ...): a fork that failed */
		return;
	if (!v->stopped) {
		if (v->kind == T_STALL_RANDOM && now >= v->stop_at) {
			kill(v->pid, SIGSTOP);
			v->stopped = now;
		} else if (v->kind != T_STALL_RANDOM && t_proc_state(v->pid) == 'T') {
			v->stopped = now;
		}
	}
	if (v->stopped && !v->resumed && now - v->stopped >= v->hold) {
		kill(v->pid, SIGCONT);
		v->resumed = 1;
	}
	/* a stopped child is not reported without WUNTRACED */
	if (waitpid(v->pid, &v->status, WNOHANG) == v->pid)
		v->done = 1;
}

void t_stall_kill(struct t_stall_victim *v)
{
	if (v->done || v->pid <= 0)
		return;
	kill(v->pid, SIGKILL);
	waitpid(v->pid, &v->status, 0);
	v->done = 1;
}

size_t t_msg_stamped(uint8_t *buf, size_t max, uint32_t prod, uint64_t seq, uint64_t seed)
{
	size_t n = 0;
	for (uint64_t k = 0; n < T_MSG_HDR + 8; k++) /* room for the stamp */
		n = t_msg_make(buf, max, prod, seq, seed + k);
	int64_t now = shmk_now_ns();
	memcpy(buf + T_MSG_HDR, &now, 8);
	uint32_t crc = t_crc32(0, buf, 16);
	crc = t_crc32(crc, buf + T_MSG_HDR, n - T_MSG_HDR);
	memcpy(buf + 16, &crc, 4);
	return n;
}

int t_msg_stamped_check(const uint8_t *buf, size_t n, uint32_t *prod, uint64_t *seq, int64_t *sent)
{
	if (n < T_MSG_HDR + 8 || t_msg_check(buf, n, prod, seq))
		return -1;
	memcpy(sent, buf + T_MSG_HDR, 8);
	return 0;
}

void t_stall_rx_init(struct t_stall_rx *x, int nprod, unsigned lat_mask)
{
	memset(x, 0, sizeof(*x));
	x->nprod = nprod;
	x->lat_mask = lat_mask;
	for (int p = 0; p < T_STALL_MAXP; p++)
		x->last[p] = -1;
}

int t_stall_rx_take(struct t_stall_rx *x, const uint8_t *buf, size_t n, int from)
{
	uint32_t prod;
	uint64_t seq;
	int64_t sent;

	if (t_msg_stamped_check(buf, n, &prod, &seq, &sent) || prod >= (uint32_t)x->nprod ||
	    seq >= T_STALL_K || (from >= 0 && prod != (uint32_t)from)) {
		x->torn++;
		return -1;
	}
	if ((int)seq < x->last[prod] && !x->cnt[prod][seq])
		x->reordered++;
	if ((int)seq > x->last[prod])
		x->last[prod] = (int)seq;
	if (x->cnt[prod][seq] < UINT8_MAX)
		x->cnt[prod][seq]++;
	int64_t lat = shmk_now_ns() - sent;
	if ((x->lat_mask & (1u << prod)) && lat > x->max_lat_ns)
		x->max_lat_ns = lat;
	return (int)prod;
}

uint64_t t_stall_rx_missing(const struct t_stall_rx *x, int p, uint64_t below)
{
	uint64_t m = 0;
	for (uint64_t q = 0; q < below && q < T_STALL_K; q++)
		m += !x->cnt[p][q];
	return m;
}

int t_stall_idle(const char *prog, int w, struct t_stall_totals *T, struct t_stall_victim *v,
		 struct t_stall_victim *others, int nothers, int rc, int64_t end)
{
	int64_t now = shmk_now_ns();
	/* over once a call made after every party was reaped found nothing:
	 * what they sent before exiting is drained first */
	int all_gone = v->done;
	for (int i = 0; i < nothers; i++)
		all_gone &= others[i].done;
	t_stall_tick(v, now);
	for (int i = 0; i < nothers; i++)
		t_stall_tick(&others[i], now);
	/* nothing now (SHMK_EPEERDEAD: no peer registered yet, or any more) */
	int idle = rc == -ETIMEDOUT || rc == SHMK_EPEERDEAD;
	if (all_gone && idle)
		return 1;
	if (idle && now <= end)
		return 0;
	printf("%s: worker %d: %s, trial given up\n", prog, w,
	       idle ? "past the deadline" : shmk_errname(rc));
	t_stall_kill(v);
	for (int i = 0; i < nothers; i++)
		t_stall_kill(&others[i]);
	atomic_fetch_add(&T->bad_trials, 1);
	return 1;
}

void t_stall_tally(const uint8_t *cnt, int nprod, int k, const uint64_t *committed,
		   uint64_t *lost, uint64_t *dup)
{
	*lost = *dup = 0;
	for (int p = 0; p < nprod; p++)
		for (int q = 0; q < k; q++) {
			unsigned c = cnt[p * k + q];
			if (c > 1)
				*dup += c - 1u;
			if ((uint64_t)q < committed[p] && !c)
				++*lost;
		}
}

/* A wait status in words. */
static const char *status_str(char *buf, size_t len, int st)
{
	if (st == -1)
		snprintf(buf, len, "not reaped");
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	return buf;
}

void t_stall_account(const char *prog, int w, struct t_stall_totals *T,
		     const struct t_stall_victim *v, const struct t_stall_outcome *o)
{
	char vs[32], ss[32];
	if (o->torn || o->lost || o->dup || o->failed || o->reordered || o->held)
		printf("%s: worker %d trial (%s, hold %.0f ms): %" PRIu64 " torn, %" PRIu64
		       " lost, %" PRIu64 " dup, %" PRIu64 " failed, %" PRIu64 " reordered, %"
		       PRIu64 " held, victim %s (%s), survivor %s (%s)\n", prog, w, o->at,
		       (double)v->hold / 1e6, o->torn, o->lost, o->dup, o->failed, o->reordered,
		       o->held, shmk_errname(o->verr), status_str(vs, sizeof(vs), v->status),
		       shmk_errname(o->serr), status_str(ss, sizeof(ss), o->sstatus));
	atomic_fetch_add(&T->torn, o->torn);
	atomic_fetch_add(&T->lost, o->lost);
	atomic_fetch_add(&T->dup, o->dup);
	atomic_fetch_add(&T->failed, o->failed);
	atomic_fetch_add(&T->reordered, o->reordered);
	atomic_fetch_add(&T->held, o->held);
	atomic_fetch_add(&T->kinds[v->kind], 1);
	if (!v->stopped)
		atomic_fetch_add(&T->not_stopped, 1);
	t_max_ns(&T->max_block_ns, o->blocked_ns);
	atomic_fetch_add(&T->trials, 1);
}

static int nworkers(void)
{
	uint64_t w = t_env_u64("STRESS_WORKERS", 4);
	return w >= 1 && w <= T_STALL_MAXW ? (int)w : 4;
}

int64_t t_stall_bound_ns(const struct t_stall_family *f)
{
	return (int64_t)(f->bound_l * (double)shmk_liveness_ns() * h_time_scale());
}

/* One family's closing line, evidence and result fields (appended to
 * counts); whether it passed. */
static int family_end(const char *prog, const struct t_stall_family *f,
		      const struct t_stall_totals *T, uint64_t n, uint64_t seed, int run_ok,
		      double sched, char *counts, size_t len)
{
	/* what the machine's scheduler added is not the library's: each
	 * wake-up on the blocked party's path may cost the probe's worst */
	double bound = (double)t_stall_bound_ns(f) / 1e9 + f->wakeups * sched;
	double max_block = (double)atomic_load(&T->max_block_ns) / 1e9;
	uint64_t done = atomic_load(&T->trials);
	int ok = run_ok && done == n && !T->torn && !T->lost && !T->dup && !T->failed &&
		 !T->reordered && !T->held && !T->bad_trials && max_block <= bound;
	char extra[256] = "";

	if (f->order)
		snprintf(extra, sizeof(extra), "%" PRIu64 " reordered, ", (uint64_t)T->reordered);
	if (f->held)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 "%" PRIu64 " held (%s), ", (uint64_t)T->held, f->held);
	printf("%s: %" PRIu64 " trials (%s stopped at %s %" PRIu64 ", at %s %" PRIu64
	       ", at random %" PRIu64 " (%" PRIu64 " of them after its end)), held 1-5 x "
	       "SHMK_LIVENESS_MS: %" PRIu64 " torn, %" PRIu64 " lost, %" PRIu64 " duplicated, %s%"
	       PRIu64 " failed calls, %" PRIu64 " unblocks (%s), %" PRIu64 " %s, longest block "
	       "%.3f s (bound %.3f s: %u x scheduling delay %.3f s), seed %" PRIu64 "%s\n",
	       f->line, done, f->victim, f->points[0], (uint64_t)T->kinds[T_STALL_POINT],
	       f->points[1], (uint64_t)T->kinds[T_STALL_POINT2], (uint64_t)T->kinds[T_STALL_RANDOM],
	       (uint64_t)T->not_stopped, (uint64_t)T->torn, (uint64_t)T->lost, (uint64_t)T->dup,
	       extra, (uint64_t)T->failed, (uint64_t)T->unblocked, f->unblocks,
	       (uint64_t)T->retried, f->retried, max_block, bound, f->wakeups, sched, seed,
	       done == n ? "" : " incomplete");
	for (size_t i = 0; i < f->nclauses; i++)
		h_evidence(prog, "stress", "stall", f->clauses[i], ok);

	size_t at = strlen(counts);
	const char *k = f->key ? f->key : "";
	at += (size_t)snprintf(counts + at, len - at, "%s\"%strials\": %" PRIu64
			       ", \"%storn\": %" PRIu64 ", \"%slost\": %" PRIu64 ", \"%sdup\": %"
			       PRIu64 ", \"%sfailed\": %" PRIu64 ", \"%sunblocked\": %" PRIu64
			       ", \"%sretried\": %" PRIu64, at ? ", " : "", k, done, k,
			       (uint64_t)T->torn, k, (uint64_t)T->lost, k, (uint64_t)T->dup, k,
			       (uint64_t)T->failed, k, (uint64_t)T->unblocked, k,
			       (uint64_t)T->retried);
	if (f->order && at < len)
		at += (size_t)snprintf(counts + at, len - at, ", \"%sreordered\": %" PRIu64, k,
				       (uint64_t)T->reordered);
	if (f->held && at < len)
		at += (size_t)snprintf(counts + at, len - at, ", \"%sheld\": %" PRIu64, k,
				       (uint64_t)T->held);
	if (at < len)
		snprintf(counts + at, len - at, ", \"%smax_block_s\": %.3f, \"%sbound_s\": %.3f"
			 ", \"%ssched_delay_s\": %.3f, \"%scomplete\": %d", k, max_block, k,
			 bound, k, sched, k, done == n);
	return ok;
}

int t_stall_main(const struct t_stall_prog *p)
{
	/* short enough that 10,000 trials of 1-5 x SHMK_LIVENESS_MS holds fit
	 * in make stress (release build); twice that in make check, where
	 * sanitizers slow every party and the bound must not measure them */
	setenv("SHMK_LIVENESS_MS", getenv("SHMK_STRESS_JSON") ? "25" : "50", 0);
	t_crash_env();
	uint64_t seed = *p->seed = h_seed();
	*p->side = t_shared_alloc(p->side_size);
	struct t_stall_totals *T = *p->side;
	/* make check's short mode: 64 trials (each holds a stopped peer for
	 * 1-5 x L, ~0.1 s; 200 took ~9 s a program); make stress: 10,000 */
	uint64_t n = t_env_u64("STRESS_TRIALS", getenv("SHMK_STRESS_JSON") ? 10000 : 64);
	uint64_t nf[T_STALL_MAXF] = { 0 };
	int nw = nworkers();
	const char *tmp = getenv("TMPDIR");
	char dir[192], counts[1024] = "";
	pid_t pids[T_STALL_MAXW];
	double died[T_STALL_MAXW];
	int st[T_STALL_MAXW];

	snprintf(dir, sizeof(dir), "%s/shmk-stall-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (p->nfam < 1 || p->nfam > T_STALL_MAXF)
		return t_setup_failed(p->prog, seed, -EINVAL);
	if (!T || mkdir(dir, 0700))
		return t_setup_failed(p->prog, seed, T ? -errno : -ENOMEM);
	for (int f = 0; f < p->nfam; f++) {
		unsigned d = p->fam[f].divisor ? p->fam[f].divisor : 1;
		nf[f] = n / d ? n / d : 1;
	}
	printf("%s: seed %" PRIu64 ", %" PRIu64 " trials", p->prog, seed, nf[0]);
	for (int f = 1; f < p->nfam; f++)
		printf(" + %" PRIu64 " %s", nf[f], p->fam[f].line);
	printf(" on %d workers, SHMK_LIVENESS_MS %.0f\n", nw, t_liveness_s() * 1000);
	fflush(stdout);
	double t0 = t_now();
	/* during the trials, not before: the delay they met */
	struct t_probe *probe = t_probe_start();
	for (int w = 0; w < nw; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			uint64_t mine[T_STALL_MAXF];
			for (int f = 0; f < p->nfam; f++)
				mine[f] = nf[f] / (uint64_t)nw + ((uint64_t)w < nf[f] % (uint64_t)nw);
			_exit(p->worker(w, mine, dir));
		}
	}
	int run_ok = t_wait_all(pids, nw, died, st, h_deadline(1200)) == 0;
	t_probe_stop(probe);
	double sched = (double)t_probe_max_ns(probe) / 1e9;
	for (int w = 0; w < nw; w++)
		run_ok &= t_exited0(st[w]);
	rmdir(dir);

	int ok = 1;
	for (int f = 0; f < p->nfam; f++)
		ok &= family_end(p->prog, &p->fam[f], &T[f], nf[f], seed, run_ok, sched, counts,
				 sizeof(counts));
	t_report(p->prog, seed, t_now() - t0, ok, "%s", counts);
	return ok ? 0 : 1;
}
