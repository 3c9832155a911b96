/* SPDX-License-Identifier: MIT */
/* The events stress load (events_load.h). */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events_load.h"
#include "shmkit/error.h"

int t_ev_send_view(struct shmk_events_tx *tx, const void *buf, size_t n, _Atomic uint64_t *skipped)
{
	struct shmk_events_view v;
	int rc;

	while ((rc = shmk_events_reserve(tx, &v)) == SHMK_EFULL)
		sched_yield();
	if (rc)
		return rc;
	memcpy(v.data, buf, n);
	/* SHMK_ESKIPPED: stopped or descheduled past the unblock bound;
	 * nothing was sent, the view stays: publish again */
	while ((rc = shmk_events_publish(tx, &v, n, NULL)) == SHMK_EFULL || rc == SHMK_ESKIPPED) {
		if (rc == SHMK_ESKIPPED && skipped)
			atomic_fetch_add(skipped, 1);
		sched_yield();
	}
	return rc;
}

static int t_ev_producer(const char *name, const struct t_ev_cfg *c, uint32_t id,
			struct t_ev_ctl *ctl)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_opts o = { .blocking = true };
	uint64_t rng = c->seed ^ ((uint64_t)(id + 1) * 0x9e3779b97f4a7c15ULL);
	uint8_t buf[SHMK_EVENTS_SLOT_DATA];
	double end = t_now() + c->seconds;
	uint64_t seq;
	int rc = 0;

	if (shmk_events_open_with(name, &o, &r))
		return 10;
	rc = c->mpsc ? shmk_events_split_mpsc(r, &tx, &rx) : shmk_events_split_spsc(r, &tx, &rx);
	if (rc)
		return 11;
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	for (seq = 0; seq < c->per_producer; seq++) {
		if ((seq & 255) == 0 && t_now() > end)
			break;
		size_t n = t_msg_fill(buf, SHMK_EVENTS_SLOT_DATA, id, seq, &rng);
		if (t_rand(&rng) % 16 == 0) {
			rc = t_ev_send_view(tx, buf, n, NULL);
		} else {
			while ((rc = shmk_events_send(tx, buf, n, 60LL * 1000000000, NULL)) ==
			       SHMK_ESKIPPED)
				;
		}
		if (rc)
			break;
	}
	atomic_store(&ctl->sent[id], seq);
	atomic_store(&ctl->failed[id], rc);
	atomic_store(&ctl->done[id], 1);
	shmk_events_tx_close(tx);
	return rc ? 12 : 0;
}

void t_ev_run(const struct t_ev_cfg *c, struct t_ev_res *res)
{
	char name[128];
	/* STRESS_LANES=1: the MPSC queue as per-producer lanes (events.mpsc.lane+2) */
	struct shmk_events_opts o = { .blocking = true, .counter_start = c->counter_start,
				      .lanes = c->mpsc && t_env_u64("STRESS_LANES", 0) };
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	pid_t pids[T_EV_MAXP];
	size_t words = (size_t)((c->per_producer + 63) / 64);
	uint64_t *seen = calloc((size_t)c->producers * words, 8);
	uint64_t *last = calloc(c->producers, 8);
	bool *any = calloc(c->producers, 1);
	struct t_ev_ctl *ctl = t_shared_alloc(sizeof(*ctl));
	uint8_t buf[SHMK_EVENTS_SLOT_DATA];
	int rc;

	memset(res, 0, sizeof(*res));
	h_unique_shm_name(name, sizeof(name));
	if (!seen || !last || !any || !ctl || shmk_events_open_with(name, &o, &r) ||
	    (c->mpsc ? shmk_events_split_mpsc(r, &tx, &rx) : shmk_events_split_spsc(r, &tx, &rx))) {
		fprintf(stderr, "%s: setup failed\n", c->variant);
		res->corrupt = 1;
		goto out;
	}
	shmk_events_tx_close(tx);
	double t0 = t_now();
	for (uint32_t i = 0; i < c->producers; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(t_ev_producer(name, c, i, ctl));
	}
	double idle_since = t_now();
	for (;;) {
		size_t n = 0;
		rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 100 * 1000000, NULL);
		/* SHMK_EPEERDEAD: every producer that registered has died
		 * (events.wait.peerdead+2); the exit statuses below tell */
		if (rc == -ETIMEDOUT || rc == SHMK_EEMPTY || rc == SHMK_EPEERDEAD) {
			uint32_t done = 0;
			for (uint32_t i = 0; i < c->producers; i++)
				done += atomic_load(&ctl->done[i]);
			if (t_now() - idle_since > 120) {
				fprintf(stderr, "%s: no message for 120 s\n", c->variant);
				break;
			}
			if (done < c->producers)
				continue;
			/* every producer finished: drain what is left, then stop */
			rc = shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL);
			if (rc == SHMK_EEMPTY)
				break;
		}
		if (rc) {
			fprintf(stderr, "%s: recv: %s\n", c->variant, shmk_strerror(rc));
			res->corrupt++;
			break;
		}
		idle_since = t_now();
		res->received++;
		uint32_t prod, len, crc;
		uint64_t seq;
		if (n < T_MSG_HDR) {
			res->corrupt++;
			continue;
		}
		memcpy(&prod, buf, 4);
		memcpy(&len, buf + 4, 4);
		memcpy(&seq, buf + 8, 8);
		memcpy(&crc, buf + 16, 4);
		uint32_t want = t_crc32(t_crc32(0, buf, 16), buf + T_MSG_HDR, n - T_MSG_HDR);
		if (len != n || crc != want || prod >= c->producers || seq >= c->per_producer) {
			res->corrupt++;
			continue;
		}
		uint64_t *w = &seen[(size_t)prod * words + seq / 64];
		if (*w & (1ULL << (seq % 64))) {
			res->dup++;
			continue;
		}
		*w |= 1ULL << (seq % 64);
		if (any[prod] && seq < last[prod])
			res->reordered++;
		any[prod] = true;
		last[prod] = seq;
	}
	res->seconds = t_now() - t0;
	int bad_exit = 0;
	for (uint32_t i = 0; i < c->producers; i++) {
		int st = 0;
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "%s: producer %u failed (status 0x%x, %s)\n", c->variant, i, st,
				shmk_strerror(atomic_load(&ctl->failed[i])));
			bad_exit++;
		}
		res->sent += atomic_load(&ctl->sent[i]);
	}
	uint64_t unique = res->received - res->dup - res->corrupt;
	res->lost = res->sent > unique ? res->sent - unique : 0;
	res->passed = !bad_exit && res->sent > 0 && !res->lost && !res->dup && !res->reordered &&
		      !res->corrupt && res->received == res->sent;
	shmk_events_rx_close(rx);
	shmk_events_close(r);
out:
	if (name[0]) {
		char path[256];
		snprintf(path, sizeof(path), "/dev/shm/%s", name + 1);
		unlink(path);
	}
	free(seen);
	free(last);
	free(any);
	if (ctl)
		t_shared_free(ctl, sizeof(*ctl));
	printf("%s: %llu sent, %llu received, %llu lost, %llu dup, %llu reordered, %llu corrupt\n",
	       c->variant, (unsigned long long)res->sent, (unsigned long long)res->received,
	       (unsigned long long)res->lost, (unsigned long long)res->dup,
	       (unsigned long long)res->reordered, (unsigned long long)res->corrupt);
	printf("%s: %.2f s, %.0f msg/s, counters from %llu\n", c->variant, res->seconds,
	       res->seconds > 0 ? res->received / res->seconds : 0.0,
	       (unsigned long long)c->counter_start);
	fflush(stdout);
}

int t_ev_main(const char *prog, int mpsc, uint32_t producers, uint64_t msgs,
	      const char *const *clauses)
{
	uint64_t seed = h_seed();
	double secs = t_seconds();
	const char *kind = mpsc ? "mpsc" : "spsc";
	char wrap[16], np[32] = "";
	snprintf(wrap, sizeof(wrap), "%s-wrap", kind);
	struct t_ev_cfg main_cfg = { kind, mpsc, producers, msgs, secs * 2 / 3, 0, seed };
	struct t_ev_cfg wrap_cfg = { wrap, mpsc, producers, msgs / 10 ? msgs / 10 : 1, secs / 3,
				    UINT64_MAX - 1000 - seed % 4096, seed + 1 };
	struct t_ev_res a, b;

	if (mpsc)
		snprintf(np, sizeof(np), "%u producers x ", producers);
	printf("%s: seed %llu (SHMK_SEED replays), %.1f s, %s%llu messages\n", prog,
	       (unsigned long long)seed, secs, np, (unsigned long long)msgs);
	t_ev_run(&main_cfg, &a);
	t_ev_run(&wrap_cfg, &b);
	bool ok = a.passed && b.passed;
	for (const char *const *c = clauses; *c; c++)
		h_evidence(prog, "stress", kind, *c, a.passed);
	h_evidence(prog, "stress", wrap, "events.queue.counter-start", b.passed);
	if (mpsc)
		snprintf(np, sizeof(np), "\"producers\": %u, ", producers);
	t_report(prog, seed, a.seconds + b.seconds, ok,
		 "%s\"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"dup\": %llu, "
		 "\"reordered\": %llu, \"corrupt\": %llu, \"wrap_sent\": %llu, "
		 "\"wrap_received\": %llu, \"wrap_failures\": %llu", np,
		 (unsigned long long)a.sent, (unsigned long long)a.received,
		 (unsigned long long)a.lost, (unsigned long long)a.dup,
		 (unsigned long long)a.reordered, (unsigned long long)a.corrupt,
		 (unsigned long long)b.sent, (unsigned long long)b.received,
		 (unsigned long long)(b.lost + b.dup + b.reordered + b.corrupt));
	return ok ? 0 : 1;
}
