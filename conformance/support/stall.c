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

uint64_t t_stall_start(void)
{
	/* short enough that 10,000 trials of 1-5 x SHMK_LIVENESS_MS holds fit
	 * in make stress (release build); twice that in make check, where
	 * sanitizers slow every party and the bound must not measure them */
	setenv("SHMK_LIVENESS_MS", getenv("SHMK_STRESS_JSON") ? "25" : "50", 0);
	t_crash_env();
	return h_seed();
}

void t_stall_victim_init(struct t_stall_victim *v, int kind, uint64_t *rng)
{
	int64_t L = shmk_liveness_ns(), now = shmk_now_ns();

	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->hold = L + (int64_t)(t_rand(rng) % (uint64_t)(4 * L + 1));
	v->stop_at = now + (int64_t)(t_rand(rng) % 3000000);
	v->status = -1;
}

void t_stall_tick(struct t_stall_victim *v, int64_t now)
{
	if (v->done)
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
	if (v->done)
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

int t_stall_idle(const char *prog, int w, struct t_stall_totals *T, struct t_stall_victim *v,
		 struct t_stall_victim *s, int rc, int64_t end)
{
	int64_t now = shmk_now_ns();
	/* over once a call made after both peers were reaped found nothing:
	 * what they sent before exiting is drained first */
	int both_gone = v->done && s->done;
	t_stall_tick(v, now);
	t_stall_tick(s, now);
	/* nothing now (SHMK_EPEERDEAD: no peer registered yet, or any more) */
	int idle = rc == -ETIMEDOUT || rc == SHMK_EPEERDEAD;
	if (both_gone && idle)
		return 1;
	if (idle && now <= end)
		return 0;
	printf("%s: worker %d: %s, trial given up\n", prog, w,
	       idle ? "past the deadline" : shmk_errname(rc));
	t_stall_kill(v);
	t_stall_kill(s);
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

void t_stall_account(struct t_stall_totals *T, const struct t_stall_victim *v, uint64_t torn,
		     uint64_t lost, uint64_t dup, uint64_t failed, int64_t blocked_ns)
{
	atomic_fetch_add(&T->torn, torn);
	atomic_fetch_add(&T->lost, lost);
	atomic_fetch_add(&T->dup, dup);
	atomic_fetch_add(&T->failed, failed);
	atomic_fetch_add(&T->kinds[v->kind], 1);
	if (!v->stopped)
		atomic_fetch_add(&T->not_stopped, 1);
	t_max_ns(&T->max_block_ns, blocked_ns);
	atomic_fetch_add(&T->trials, 1);
}

static int nworkers(void)
{
	uint64_t w = t_env_u64("STRESS_WORKERS", 4);
	return w >= 1 && w <= T_STALL_MAXW ? (int)w : 4;
}

int t_stall_main(const struct t_stall_prog *p, uint64_t seed)
{
	const struct t_stall_totals *T = p->T;
	/* make check's short mode: 64 trials (each holds a stopped peer for
	 * 1-5 x L, ~0.1 s; 200 took ~9 s a program); make stress: 10,000 */
	uint64_t n = t_env_u64("STRESS_TRIALS", getenv("SHMK_STRESS_JSON") ? 10000 : 64);
	int nw = nworkers();
	const char *tmp = getenv("TMPDIR");
	char dir[192];
	pid_t pids[T_STALL_MAXW];
	double died[T_STALL_MAXW];
	int st[T_STALL_MAXW];

	snprintf(dir, sizeof(dir), "%s/shmk-stall-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (!T || mkdir(dir, 0700))
		return t_setup_failed(p->prog, seed, T ? -errno : -ENOMEM);
	printf("%s: seed %" PRIu64 ", %" PRIu64 " trials on %d workers, SHMK_LIVENESS_MS %.0f\n",
	       p->prog, seed, n, nw, t_liveness_s() * 1000);
	double t0 = t_now();
	for (int w = 0; w < nw; w++) {
		pids[w] = fork();
		if (pids[w] == 0)
			_exit(p->worker(w, n / (uint64_t)nw + ((uint64_t)w < n % (uint64_t)nw), dir));
	}
	int run_ok = t_wait_all(pids, nw, died, st, h_deadline(1200)) == 0;
	for (int w = 0; w < nw; w++)
		run_ok &= t_exited0(st[w]);
	rmdir(dir);

	/* The clauses let a stalled peer hold the others for 2 x L (events'
	 * unblock starts only then); the party it held notices on its next
	 * look, up to one liveness period later, and then needs the CPU: the
	 * bound is 3 x L (x SHMK_TIME_SCALE).  2 x L alone made events_stall
	 * fail at 0.104 s against 0.100 in one make check of 64 trials. */
	double bound = 3 * t_liveness_s() * h_time_scale(), max_block = (double)atomic_load(&T->max_block_ns) / 1e9;
	uint64_t done = atomic_load(&T->trials);
	int ok = run_ok && done == n && !T->torn && !T->lost && !T->dup && !T->failed &&
		 !T->bad_trials && max_block <= bound;
	printf("%s: %" PRIu64 " trials (%s stopped at %s %" PRIu64 ", at %s %" PRIu64
	       ", at random %" PRIu64 " (%" PRIu64 " of them after its end)), held 1-5 x "
	       "SHMK_LIVENESS_MS: %" PRIu64 " torn, %" PRIu64 " lost, %" PRIu64 " duplicated, %"
	       PRIu64 " failed calls, %" PRIu64 " unblocks (%s), %" PRIu64 " %s, longest block "
	       "%.3f s (bound %.3f s), seed %" PRIu64 "%s\n",
	       p->line, done, p->victim, p->points[0], (uint64_t)T->kinds[T_STALL_POINT],
	       p->points[1], (uint64_t)T->kinds[T_STALL_POINT2], (uint64_t)T->kinds[T_STALL_RANDOM],
	       (uint64_t)T->not_stopped, (uint64_t)T->torn, (uint64_t)T->lost, (uint64_t)T->dup,
	       (uint64_t)T->failed, (uint64_t)T->unblocked, p->unblocks, (uint64_t)T->retried,
	       p->retried, max_block, bound, seed, done == n ? "" : " incomplete");
	for (size_t i = 0; i < p->nclauses; i++)
		h_evidence(p->prog, "stress", "stall", p->clauses[i], ok);
	t_report(p->prog, seed, t_now() - t0, ok,
		 "\"trials\": %" PRIu64 ", \"torn\": %" PRIu64 ", \"lost\": %" PRIu64
		 ", \"dup\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"unblocked\": %" PRIu64
		 ", \"retried\": %" PRIu64 ", \"max_block_s\": %.3f, \"bound_s\": %.3f"
		 ", \"complete\": %d", done, (uint64_t)T->torn, (uint64_t)T->lost,
		 (uint64_t)T->dup, (uint64_t)T->failed, (uint64_t)T->unblocked,
		 (uint64_t)T->retried, max_block, bound, done == n);
	return ok ? 0 : 1;
}
