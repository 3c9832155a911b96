/* SPDX-License-Identifier: MIT */
/*
 * ring_tsan: the ring workload with threads of one process, for
 * ThreadSanitizer (which cannot see across processes).  The main thread is
 * the reader; NWRITERS threads each use their own writer handle (from
 * shmk_ring_writer_new, one per thread, as ring.h requires; opened before
 * the threads start, see main) and append
 * STRESS_MESSAGES (default 5000) records [seq u64][writer u32][crc u32].
 * The reader checks per-writer order, the tag bound to each writer and
 * the CRC.  Note: each writer handle maps the ring file itself, so TSan
 * sees the writers' shared lock and indices through separate mappings;
 * what it checks is the process-local state and each handle's own use.
 * conformance/checks/tsan.sh runs the -fsanitize=thread build.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"
#include "shmkit/ring.h"

#define PROG "ring_tsan"
#define NWRITERS 3

struct rec {
	uint64_t seq;
	uint32_t writer, crc;
};

static uint64_t n_msgs;
static struct shmk_ring_writer *wr[NWRITERS];
static _Atomic uint64_t errs;
static _Atomic int stop; /* the reader has left: a writer on a full ring gives up */

static void *writer(void *a)
{
	uint32_t k = (uint32_t)(uintptr_t)a;
	struct shmk_ring_writer *w = wr[k];

	for (uint64_t i = 0; i < n_msgs && !atomic_load(&stop); i++) {
		struct rec r = { .seq = i, .writer = k };
		r.crc = t_crc32(0, &r, offsetof(struct rec, crc));
		int rc;
		while ((rc = shmk_ring_write(w, &r, sizeof(r))) == SHMK_EFULL &&
		       !atomic_load(&stop))
			sched_yield();
		if (rc) {
			atomic_fetch_add(&errs, 1);
			break;
		}
	}
	return NULL;
}

int main(void)
{
	uint64_t seed = h_seed();
	char path[256];
	struct shmk_ring *ring = NULL;
	struct shmk_ring_opts o = { .capacity = 65536 };
	int wfds[NWRITERS], peers[NWRITERS];
	pthread_t th[NWRITERS];
	double t0 = t_now();
	uint64_t next[NWRITERS] = { 0 }, got = 0, bad = 0;

	n_msgs = t_messages(5000);
	h_unique_path(path, sizeof(path), "ring-tsan");
	int rc = shmk_ring_create(path, &o, &ring);
	/* Every writer registers before the reader's first wait: a reader
	 * that finds writers registered and none alive reports SHMK_EPEERDEAD
	 * (ring.reader.wait.peerdead), which a thread opening its handle late
	 * would provoke.  Each handle is then used by its thread only. */
	for (int k = 0; !rc && k < NWRITERS; k++) {
		rc = shmk_ring_writer_new(ring, 100 + (uint64_t)k, &wfds[k], &peers[k]);
		if (!rc)
			rc = shmk_ring_writer_open(wfds[k], &wr[k]);
	}
	if (rc)
		return t_setup_failed(PROG, seed, rc);
	for (int k = 0; k < NWRITERS; k++)
		pthread_create(&th[k], NULL, writer, (void *)(uintptr_t)k);
	double deadline = t_now() + 300;
	while (got < n_msgs * NWRITERS && !errs && t_now() < deadline) {
		struct rec r;
		uint64_t tag = 0;
		size_t len = 0;
		rc = shmk_ring_read_message(ring, &tag, &r, sizeof(r), &len, 2000000000LL);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc) {
			printf("%s: read: %s\n", PROG, shmk_strerror(rc));
			bad++;
			break;
		}
		if (len != sizeof(r) || r.writer >= NWRITERS || tag != 100 + r.writer ||
		    r.crc != t_crc32(0, &r, offsetof(struct rec, crc)) || r.seq != next[r.writer])
			bad++;
		else
			next[r.writer]++;
		got++;
	}
	atomic_store(&stop, 1);
	for (int k = 0; k < NWRITERS; k++) {
		pthread_join(th[k], NULL);
		shmk_ring_writer_close(wr[k]);
		close(peers[k]);
	}
	shmk_ring_close(ring);
	shmk_ring_unlink(path);
	bool ok = got == n_msgs * NWRITERS && !bad && !errs;
	printf("%s: seed %" PRIu64 ", %d writer threads, %" PRIu64 "/%" PRIu64
	       " records read, %" PRIu64 " bad, %" PRIu64 " writer errors\n",
	       PROG, seed, NWRITERS, got, n_msgs * NWRITERS, bad, (uint64_t)errs);
	h_evidence(PROG, "tsan", "writers", "ring.writer.tag", ok);
	h_evidence(PROG, "tsan", "writers", "ring.writer.lock+2", ok);
	t_report(PROG, seed, t_now() - t0, ok, "\"read\": %" PRIu64 ", \"bad\": %" PRIu64, got,
		  bad);
	return ok ? 0 : 1;
}
