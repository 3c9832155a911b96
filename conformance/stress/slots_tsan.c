/* SPDX-License-Identifier: MIT */
/*
 * slots_tsan: the slot workload with threads of one process, for
 * ThreadSanitizer (which cannot see across processes).  The main thread is
 * the owner and publishes STRESS_MESSAGES (default 5000) samples
 * [sn u64][crc u32]; NREADERS threads each attach their own reader handle
 * (a handle is one thread's, slots.h), register, and read every sample in
 * order, checking the sequence number and CRC.  Note: each reader handle
 * maps the segment itself, so TSan relates owner and readers only through
 * process-local state; the shared words are covered by the SPIN model and
 * the multiprocess stress.  conformance/checks/tsan.sh runs the
 * -fsanitize=thread build.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"
#include "shmkit/slots.h"

#define PROG "slots_tsan"
#define NREADERS 3
#define WAIT_NS 100000000LL

struct sample {
	uint64_t sn;
	uint32_t crc, pad;
};

static uint64_t n_msgs;
static char flink[256];
static _Atomic unsigned registered;
static _Atomic uint64_t got[NREADERS], bad[NREADERS], errs;

static void *reader(void *a)
{
	unsigned k = (unsigned)(uintptr_t)a, idx;
	struct shmk_slots *s = NULL;
	uint64_t expect = 0;
	double deadline = t_now() + 300;

	if (shmk_slots_attach(flink, &s) || shmk_slots_register_reader(s, (int)k, &idx)) {
		atomic_fetch_add(&errs, 1);
		atomic_fetch_add(&registered, 1);
		shmk_slots_close(s);
		return NULL;
	}
	atomic_fetch_add(&registered, 1);
	while (expect < n_msgs && t_now() < deadline) {
		uint64_t gen = shmk_slots_notify_generation(s);
		shmk_slot_handle_t h;
		int rc = shmk_slots_next_unread_slot(s, idx, &h);
		if (rc == 0) {
			shmk_slots_wait_for_change(s, gen, WAIT_NS);
			continue;
		}
		if (rc < 0) {
			atomic_fetch_add(&errs, 1);
			break;
		}
		struct sample smp;
		struct shmk_slot_info info;
		rc = shmk_slots_read_slot(s, h, &smp, sizeof(smp), &info);
		if (rc == 0 && (info.sample_size != sizeof(smp) || smp.sn != h.sn ||
				smp.crc != t_crc32(0, &smp, offsetof(struct sample, crc))))
			atomic_fetch_add(&bad[k], 1);
		if (rc == 0)
			expect++;
		atomic_fetch_add(&got[k], rc == 0);
		shmk_slots_mark_read(s, h, idx);
	}
	shmk_slots_close(s);
	return NULL;
}

int main(void)
{
	uint64_t seed = h_seed();
	struct shmk_slots *own = NULL;
	pthread_t th[NREADERS];
	double t0 = t_now();
	uint64_t published = 0;

	n_msgs = t_messages(5000);
	h_unique_path(flink, sizeof(flink), "slots-tsan");
	int rc = shmk_slots_create(flink, 8, sizeof(struct sample), &own);
	if (rc)
		return t_setup_failed(PROG, seed, rc);
	for (unsigned k = 0; k < NREADERS; k++)
		pthread_create(&th[k], NULL, reader, (void *)(uintptr_t)k);
	while (atomic_load(&registered) < NREADERS)
		sched_yield();
	double deadline = t_now() + 300;
	while (published < n_msgs && !errs && t_now() < deadline) {
		uint64_t gen = shmk_slots_notify_generation(own);
		shmk_slot_handle_t h;
		rc = shmk_slots_reserve_slot(own, UINT32_MAX, &h);
		if (rc == SHMK_EFULL) {
			shmk_slots_wait_for_change(own, gen, WAIT_NS);
			continue;
		}
		if (rc) {
			atomic_fetch_add(&errs, 1);
			break;
		}
		/* the sample carries the sn it will get: sns start at 1 */
		struct sample smp = { .sn = published + 1 };
		smp.crc = t_crc32(0, &smp, offsetof(struct sample, crc));
		uint64_t sn = 0;
		rc = shmk_slots_commit_slot(own, h, &smp, sizeof(smp), &sn, NULL);
		if (rc || sn != smp.sn) {
			atomic_fetch_add(&errs, 1);
			break;
		}
		published++;
	}
	for (unsigned k = 0; k < NREADERS; k++)
		pthread_join(th[k], NULL);
	shmk_slots_close(own);
	bool ok = published == n_msgs && !errs;
	printf("%s: seed %" PRIu64 ", %" PRIu64 " published; per reader thread:", PROG, seed,
	       published);
	for (unsigned k = 0; k < NREADERS; k++) {
		printf(" %" PRIu64 " read/%" PRIu64 " bad", (uint64_t)got[k], (uint64_t)bad[k]);
		ok &= got[k] == n_msgs && bad[k] == 0;
	}
	printf("; %" PRIu64 " errors\n", (uint64_t)errs);
	h_evidence(PROG, "tsan", "readers", "slots.delivery.order", ok);
	h_evidence(PROG, "tsan", "readers", "slots.reuse.rule", ok);
	t_report(PROG, seed, t_now() - t0, ok, "\"published\": %" PRIu64 ", \"errors\": %" PRIu64,
		  published, (uint64_t)errs);
	return ok ? 0 : 1;
}
