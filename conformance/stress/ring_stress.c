/* SPDX-License-Identifier: MIT */
/*
 * ring_stress: cross-process, seeded, time-bounded stress of the ring.
 *
 * The parent is the reader.  STRESS_WRITERS writer processes append
 * checksummed records of random sizes 0..65520 through all three write
 * paths (write, writev with up to 8 segments, reserve/commit), retrying on
 * SHMK_EFULL, until STRESS_SECONDS pass.  A killer process meanwhile starts
 * "victim" writers and SIGKILLs each after a random few milliseconds, so
 * the writers' lock is regularly taken over from a dead holder.
 *
 * Every record of writer k, sequence i has tag k, a length and bytes
 * derived from (seed, k, i), the sequence number in its first 8 bytes and
 * an FNV-1a checksum of the bytes between in its last 8 (when it is long
 * enough).  The reader counts, per writer: lost (a sequence skipped), dup
 * (a sequence seen again), corrupt (wrong length, bytes or checksum).
 * Victims' records are checked the same way; only their final unfinished
 * record can be missing, so they count no losses at the end.
 *
 * Env: STRESS_SECONDS (default 3), STRESS_MESSAGES (per writer, default
 * 300000), STRESS_WRITERS (default 3), SHMK_SEED.  The run ends at the
 * first bound; the killer stops once every writer has finished.
 * Output ends with `ring_stress: 1 passed, 0 failed, 0 skipped`.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "support.h"
#include "shmkit/ring.h"

#define PROG "ring_stress"
#define VICTIM_BASE 1000u
#define MAX_VICTIMS 50000u

struct shared {
	uint64_t written[64];	/* per writer, records whose write returned 0 */
	uint64_t efull[64];
	uint64_t victims;	/* incarnations started */
	_Atomic unsigned done;	/* writers finished (the killer stops at all) */
	int werr[64];		/* a writer's unexpected error */
};

static uint64_t g_seed;

/* Length of record i of writer `tag`: mostly small, sometimes up to max. */
static size_t rec_len(uint64_t tag, uint64_t i)
{
	uint64_t r = t_mix(g_seed ^ t_mix(tag * 0x10001 + i));
	switch (r & 7) {
	case 0:
		return (size_t)((r >> 8) % 16);			/* 0..15: no room for a checksum */
	case 1:
		return (size_t)((r >> 8) % (SHMK_RING_MAX_PAYLOAD + 1)); /* anything */
	case 2:
		return SHMK_RING_MAX_PAYLOAD - (size_t)((r >> 8) % 64); /* near the max */
	default:
		return (size_t)((r >> 8) % 2048);
	}
}

static void rec_fill(uint8_t *p, size_t n, uint64_t tag, uint64_t i)
{
	uint64_t x = t_mix(g_seed ^ tag ^ (i << 20));
	for (size_t j = 0; j < n; j++) {
		if (j % 8 == 0)
			x = t_mix(x);
		p[j] = (uint8_t)(x >> (8 * (j % 8)));
	}
	if (n >= 8)
		memcpy(p, &i, 8);
	if (n >= 16) {
		uint64_t c = (uint64_t)t_crc32(0, p + 8, n - 16);
		memcpy(p + n - 8, &c, 8);
	}
}

/* 0 ok, 1 corrupt.  *seq_out gets the embedded sequence (n >= 8). */
static int rec_check(const uint8_t *p, size_t n, uint64_t tag, uint64_t expect, uint64_t *seq_out)
{
	static uint8_t want[SHMK_RING_MAX_PAYLOAD];
	uint64_t seq = expect;

	if (n >= 8)
		memcpy(&seq, p, 8);
	*seq_out = seq;
	if (n >= 16) {
		uint64_t c;
		memcpy(&c, p + n - 8, 8);
		if (c != (uint64_t)t_crc32(0, p + 8, n - 16))
			return 1;
	}
	if (n != rec_len(tag, seq))
		return 1;
	rec_fill(want, n, tag, seq);
	return memcmp(p, want, n) != 0;
}

/* One record through one of the three write paths; EFULL retried. */
static int put(struct shmk_ring_writer *w, uint64_t tag, uint64_t i, uint8_t *buf,
	       uint64_t *efull)
{
	size_t n = rec_len(tag, i);
	uint64_t how = t_mix(g_seed + tag + i) % 3;
	int rc;

	rec_fill(buf, n, tag, i);
	for (;;) {
		rc = t_ring_put(w, (int)how, buf, n, 1 + (int)(i % SHMK_RING_MAX_IOV));
		if (rc != SHMK_EFULL)
			return rc;
		(*efull)++;
		sched_yield();
	}
}

static void writer_main(int wfd, unsigned k, int64_t deadline, uint64_t quota,
			struct shared *sh)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	struct shmk_ring_writer *w;
	uint64_t tag;
	int rc = shmk_ring_writer_open(wfd, &w);

	if (rc) {
		sh->werr[k] = rc;
		_exit(1);
	}
	shmk_ring_writer_tag(w, &tag);
	for (uint64_t i = 0; i < quota && shmk_now_ns() < deadline; i++) {
		rc = put(w, tag, i, buf, &sh->efull[k]);
		if (rc == SHMK_EBUSY) {	/* lock held past SHMK_LIVENESS_MS by a live,
					 * descheduled victim: nothing written, retry */
			i--;
			continue;
		}
		if (rc) {
			sh->werr[k] = rc;
			_exit(1);
		}
		sh->written[k] = i + 1;
	}
	shmk_ring_writer_close(w);
	atomic_fetch_add(&sh->done, 1);
	_exit(0);
}

static void killer_main(struct shmk_ring *r, int64_t deadline, unsigned nw, struct shared *sh)
{
	uint64_t inc = 0;

	while (shmk_now_ns() < deadline && inc < MAX_VICTIMS && atomic_load(&sh->done) < nw) {
		int wfd, peer;
		uint64_t tag = VICTIM_BASE + inc;
		if (shmk_ring_writer_new(r, tag, &wfd, &peer))
			_exit(1);
		pid_t pid = fork();
		if (pid == 0) {
			static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
			struct shmk_ring_writer *w;
			uint64_t efull = 0;
			close(peer);
			if (shmk_ring_writer_open(wfd, &w))
				_exit(1);
			for (uint64_t i = 0;; i++)
				while (put(w, tag, i, buf, &efull) == SHMK_EBUSY)
					;
		}
		close(wfd);
		inc++;
		sh->victims = inc;
		/* a random 0.2..5 ms of life: kills land anywhere, also inside the lock */
		struct timespec ts = { 0, (long)(200000 + t_mix(g_seed ^ inc) % 4800000) };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(peer);
	}
	_exit(0);
}

int main(void)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	double secs = t_seconds();
	uint64_t msgs = t_messages(300000);
	unsigned nw = (unsigned)shmk_env_long("STRESS_WRITERS", 3, 1, 32);
	char path[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	g_seed = h_seed();
	uint64_t cap = 65536ull << (g_seed % 4); /* 64 KiB .. 512 KiB: many wraps */
	struct shmk_ring_opts o = { .capacity = cap };
	struct shmk_ring *r;
	h_unique_path(path, sizeof(path), "ring-stress");
	int rc = shmk_ring_create(path, &o, &r);
	if (rc) {
		printf("%s: create: %s\n%s: 0 passed, 1 failed, 0 skipped\n", PROG,
		       shmk_strerror(rc), PROG);
		return 1;
	}
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	printf("%s: seed %" PRIu64 ", %.1f s, %u writers + victims, capacity %" PRIu64 "\n", PROG,
	       g_seed, secs, nw, cap);

	double t0 = t_now();
	int64_t deadline = shmk_now_ns() + (int64_t)(secs * 1e9);
	pid_t pids[33];
	for (unsigned k = 0; k < nw; k++) {
		int wfd, peer;
		if (shmk_ring_writer_new(r, k, &wfd, &peer))
			return 1;
		pids[k] = fork();
		if (pids[k] == 0)
			writer_main(wfd, k, deadline, msgs, sh);
		close(wfd);
		close(peer);
	}
	pid_t killer = fork();
	if (killer == 0)
		killer_main(r, deadline, nw, sh);

	uint64_t next[32] = { 0 }, *vnext = calloc(MAX_VICTIMS, sizeof(uint64_t));
	uint64_t nread = 0, lost = 0, dup = 0, corrupt = 0, vread = 0, badtag = 0;
	int64_t hard = deadline + 60ll * 1000000000; /* a wedged ring fails, never hangs */
	int end = 0, status[34] = { 0 }, reaped[34] = { 0 };
	while (!end) {
		uint64_t tag = 0;
		size_t n = 0;
		rc = shmk_ring_read_message(r, &tag, buf, sizeof(buf), &n, 200 * 1000000);
		if (rc == -ETIMEDOUT || rc == SHMK_EPEERDEAD) {
			/* peer-dead also between victims: done only when all have exited */
			int alive = 0;
			if (!reaped[nw] && waitpid(killer, &status[nw], WNOHANG) == killer)
				reaped[nw] = 1;
			for (unsigned k = 0; k < nw; k++)
				if (!reaped[k] && waitpid(pids[k], &status[k], WNOHANG) == pids[k])
					reaped[k] = 1;
			for (unsigned k = 0; k <= nw; k++)
				alive |= !reaped[k];
			if (!alive && rc == SHMK_EPEERDEAD)
				end = 1;
			if (shmk_now_ns() > hard) {
				printf("%s: reader stalled: %s\n", PROG, shmk_strerror(rc));
				corrupt++;
				end = 1;
			}
			continue;
		}
		if (rc) {
			printf("%s: read_message: %s (%s)\n", PROG, shmk_strerror(rc),
			       shmk_errdetail());
			corrupt++;
			break;
		}
		uint64_t seq, *exp;
		if (tag < nw) {
			exp = &next[tag];
			nread++;
		} else if (tag >= VICTIM_BASE && tag < VICTIM_BASE + MAX_VICTIMS) {
			exp = &vnext[tag - VICTIM_BASE];
			vread++;
		} else {
			badtag++;
			continue;
		}
		if (rec_check(buf, n, tag, *exp, &seq)) {
			corrupt++;
			if (corrupt < 5)
				printf("%s: corrupt record tag %" PRIu64 " seq %" PRIu64 " len %zu\n",
				       PROG, tag, *exp, n);
			(*exp)++;
		} else if (seq > *exp) {
			lost += seq - *exp;
			*exp = seq + 1;
		} else if (seq < *exp) {
			dup++;
		} else {
			(*exp)++;
		}
	}
	/* reap (the killer and writers have exited or are killed now) */
	if (!reaped[nw]) {
		kill(killer, SIGKILL);
		waitpid(killer, NULL, 0);
	}
	uint64_t written = 0, efull = 0;
	int werr = 0;
	for (unsigned k = 0; k < nw; k++) {
		int st = status[k];
		if (!reaped[k]) {
			kill(pids[k], SIGKILL); /* only after a stall: never wait forever */
			waitpid(pids[k], &st, 0);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) || sh->werr[k]) {
			printf("%s: writer %u failed: %s\n", PROG, k, shmk_strerror(sh->werr[k]));
			werr++;
		}
		written += sh->written[k];
		efull += sh->efull[k];
		/* a record the reader never saw is lost too */
		if (next[k] < sh->written[k])
			lost += sh->written[k] - next[k];
	}
	uint64_t head, tail;
	shmk_ring_head(r, &head);
	shmk_ring_tail(r, &tail);
	printf("ring: %" PRIu64 " written, %" PRIu64 " read, %" PRIu64 " lost, %" PRIu64
	       " dup, %" PRIu64 " corrupt\n",
	       written, nread, lost, dup, corrupt + badtag);
	printf("%s: %" PRIu64 " victims killed, %" PRIu64 " of their records read; %" PRIu64
	       " EFULL retries; %" PRIu64 " bytes through the ring\n",
	       PROG, sh->victims, vread, efull, head);
	int ok = !werr && !lost && !dup && !corrupt && !badtag && written == nread &&
		 head == tail && written > 0;
	static const char *const clauses[] = {
		"ring.writer.lock+2", "ring.writer.lock.recover", "ring.writer.publish",
		"ring.writer.space", "ring.writer.tag", "ring.reader.mirror",
		"ring.reader.wait.wake+4", "ring.reader.wait.peerdead", "ring.record.format",
		"ring.writer.reserve",
	};
	for (size_t i = 0; i < sizeof(clauses) / sizeof(clauses[0]); i++)
		h_evidence(PROG, "stress", PROG, clauses[i], ok);
	shmk_ring_close(r);
	unlink(path);
	free(vnext);
	t_report(PROG, g_seed, t_now() - t0, ok,
		  "\"written\": %" PRIu64 ", \"read\": %" PRIu64 ", \"lost\": %" PRIu64
		  ", \"dup\": %" PRIu64 ", \"corrupt\": %" PRIu64 ", \"victims\": %" PRIu64
		  ", \"victim_records\": %" PRIu64 ", \"bytes\": %" PRIu64,
		  written, nread, lost, dup, corrupt + badtag, sh->victims, vread, head);
	return ok ? 0 : 1;
}
