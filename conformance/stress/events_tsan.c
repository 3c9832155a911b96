/* SPDX-License-Identifier: MIT */
/*
 * events_tsan: the SPSC and MPSC workloads with threads of one process
 * sharing one mapping, for ThreadSanitizer (which cannot see across
 * processes).  One region handle, split per thread: each thread uses only
 * its own tx/rx handle, as events.h allows.  Built also as an ordinary
 * stress program; conformance/checks/tsan.sh runs the -fsanitize=thread
 * build (build/tsan/stress/events_tsan) and fails on any report.
 *
 * SPSC: one sender thread, one receiver thread, STRESS_MESSAGES (default
 * 20000) messages [seq u64][crc u32]; the receiver checks order and CRC.
 * MPSC: 3 producer threads (one producer handle each), one consumer; per
 * producer order and CRC checked, nothing lost or duplicated.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"
#include "shmkit/events.h"

#define PROG "events_tsan"
#define NPROD 3

struct msg {
	uint64_t seq;
	uint32_t producer, crc;
};

static uint64_t n_msgs;
static struct shmk_events_tx *txs[NPROD];
static struct shmk_events_rx *rx_spsc, *rx_mpsc;
static struct shmk_events_tx *tx_spsc;
static _Atomic uint64_t bad, errs;
static _Atomic int stop; /* the receiver has left: a sender on a full queue gives up */

static void fill(struct msg *m, uint32_t prod, uint64_t seq)
{
	m->seq = seq;
	m->producer = prod;
	m->crc = t_crc32(0, m, offsetof(struct msg, crc));
}

static void send_all(struct shmk_events_tx *tx, uint32_t prod)
{
	for (uint64_t i = 0; i < n_msgs; i++) {
		struct msg m;
		fill(&m, prod, i);
		int rc;
		while ((rc = shmk_events_try_send(tx, &m, sizeof(m), NULL)) == SHMK_EFULL &&
		       !atomic_load(&stop))
			sched_yield();
		if (rc) {
			atomic_fetch_add(&errs, 1);
			return;
		}
	}
}

static void *spsc_sender(void *a)
{
	(void)a;
	send_all(tx_spsc, 0);
	return NULL;
}

static void *mpsc_producer(void *a)
{
	uint32_t k = (uint32_t)(uintptr_t)a;
	send_all(txs[k], k);
	return NULL;
}

/* receives total messages from nprod producers, checking per-producer order */
static uint64_t receive(struct shmk_events_rx *rx, unsigned nprod)
{
	uint64_t next[NPROD] = { 0 }, got = 0, total = n_msgs * nprod;
	double deadline = t_now() + 300;

	while (got < total && t_now() < deadline) {
		struct msg m;
		size_t len = 0;
		int rc = shmk_events_try_recv(rx, &m, sizeof(m), &len, NULL);
		if (rc == SHMK_EEMPTY) {
			sched_yield();
			continue;
		}
		if (rc || len != sizeof(m) || m.producer >= nprod ||
		    m.crc != t_crc32(0, &m, offsetof(struct msg, crc)) ||
		    m.seq != next[m.producer]) {
			atomic_fetch_add(&bad, 1);
			if (rc)
				break;
		} else {
			next[m.producer]++;
		}
		got++;
	}
	return got;
}

int main(void)
{
	uint64_t seed = h_seed();
	char path[256];
	struct shmk_events *r = NULL;
	double t0 = t_now();
	pthread_t th[NPROD];

	n_msgs = t_messages(20000);
	h_unique_path(path, sizeof(path), "events-tsan");
	int rc = shmk_events_open_path(path, &r);
	if (!rc)
		rc = shmk_events_split_spsc(r, &tx_spsc, &rx_spsc);
	for (int k = 0; !rc && k < NPROD; k++) {
		struct shmk_events_rx *cons = NULL;
		rc = shmk_events_split_mpsc(r, &txs[k], &cons);
		if (k == 0)
			rx_mpsc = cons;
		else
			shmk_events_rx_close(cons);
	}
	if (rc)
		return t_setup_failed(PROG, seed, rc);
	shmk_events_close(r); /* the handles keep the mapping */

	pthread_create(&th[0], NULL, spsc_sender, NULL);
	uint64_t spsc_got = receive(rx_spsc, 1);
	atomic_store(&stop, 1);
	pthread_join(th[0], NULL);
	atomic_store(&stop, 0);
	uint64_t spsc_bad = atomic_exchange(&bad, 0);

	for (int k = 0; k < NPROD; k++)
		pthread_create(&th[k], NULL, mpsc_producer, (void *)(uintptr_t)k);
	uint64_t mpsc_got = receive(rx_mpsc, NPROD);
	atomic_store(&stop, 1);
	for (int k = 0; k < NPROD; k++)
		pthread_join(th[k], NULL);
	uint64_t mpsc_bad = atomic_load(&bad);

	shmk_events_tx_close(tx_spsc);
	shmk_events_rx_close(rx_spsc);
	for (int k = 0; k < NPROD; k++)
		shmk_events_tx_close(txs[k]);
	shmk_events_rx_close(rx_mpsc);
	unlink(path);

	bool ok = spsc_got == n_msgs && mpsc_got == n_msgs * NPROD && !spsc_bad && !mpsc_bad &&
		  !errs;
	printf("%s: seed %" PRIu64 ", spsc %" PRIu64 "/%" PRIu64 " received, %" PRIu64
	       " bad; mpsc %d producers %" PRIu64 "/%" PRIu64 " received, %" PRIu64
	       " bad; %" PRIu64 " send errors\n",
	       PROG, seed, spsc_got, n_msgs, spsc_bad, NPROD, mpsc_got, n_msgs * NPROD, mpsc_bad,
	       (uint64_t)errs);
	h_evidence(PROG, "tsan", "spsc", "events.spsc.fifo", ok);
	h_evidence(PROG, "tsan", "mpsc", "events.mpsc.order", ok);
	t_report(PROG, seed, t_now() - t0, ok,
		  "\"spsc_received\": %" PRIu64 ", \"mpsc_received\": %" PRIu64 ", \"bad\": %" PRIu64,
		  spsc_got, mpsc_got, spsc_bad + mpsc_bad);
	return ok ? 0 : 1;
}
