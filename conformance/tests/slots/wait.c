/* SPDX-License-Identifier: MIT */
/* slots tests: waiting for change: no lost wake-up, huge timeouts, a dead peer. */
#include "slots_test.h"

/* ------------------------------------------------------------ wait */

static int committer(void *arg)
{
	struct shmk_slots *o = arg;
	shmk_slot_handle_t h;
	uint64_t sn;

	if (wait_value(&sh->go, 1, 20))
		return 2;
	if (shmk_slots_reserve_slot(o, UINT32_MAX, &h) ||
	    shmk_slots_commit_slot(o, h, "w", 1, &sn, NULL))
		return 3;
	return 0;
}

static void wait_change(void)
{
	char fl[256];
	struct shmk_slots *o, *r;
	struct rusage ru0, ru1;

	fresh_shared();
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	/* nothing happens: -ETIMEDOUT after the timeout, without burning CPU */
	uint64_t g = shmk_slots_notify_generation(r);
	getrusage(RUSAGE_SELF, &ru0);
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g, 300000000), -ETIMEDOUT);
	int64_t dt = shmk_now_ns() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	CU_ASSERT(dt >= 300000000);
	int64_t cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000000000LL +
		      (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1000LL +
		      (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000000LL +
		      (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1000LL;
	CU_ASSERT(cpu < dt / 2);	/* parked, not polling */
	/* a stale generation returns at once */
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g + 1, 0), 0);
	/* woken by a commit in another process, with the generation captured
	 * before the commit could start: no lost wake-up */
	for (int round = 0; round < 20; round++) {
		atomic_store(&sh->go, 0);
		pid_t pid = t_fork_run(committer, o);
		g = shmk_slots_notify_generation(r);
		bump(&sh->go);
		int rc = shmk_slots_wait_for_change(r, g, (int64_t)h_deadline(20) * 1000000000LL);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_NOT_EQUAL(shmk_slots_notify_generation(r), g);
		CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
		/* the child committed from its fork-time copy of the owner's
		 * local state; the parent's copy still sees every slot free */
	}
	shmk_slots_close(r);
	shmk_slots_close(o);
}

H_REGISTER(wait_change, 60, "slots.wait.nolost+2");

/* Commits once the reader is parked (header waiters != 0). */
static int committer_when_parked(void *arg)
{
	struct shmk_slots *o = arg;
	size_t len;
	struct shmk_slots_hdr *h = raw_map(shmk_slots_shm_name(o), &len);
	shmk_slot_handle_t sh_;
	uint64_t sn;

	if (!h)
		return 2;
	while (!atomic_load(&h->waiters))
		sched_yield(); /* the harness alarm bounds this */
	if (shmk_slots_reserve_slot(o, UINT32_MAX, &sh_) ||
	    shmk_slots_commit_slot(o, sh_, "w", 1, &sn, NULL))
		return 3;
	return 0;
}

/* INT64_MAX waits like "forever": an overflowed deadline in the past
 * shows as -ETIMEDOUT before the commit (or as UBSan's abort). */
static void wait_huge_timeout(void)
{
	char fl[256];
	struct shmk_slots *o, *r;

	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	uint64_t g = shmk_slots_notify_generation(r);
	pid_t pid = t_fork_run(committer_when_parked, o);
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g, INT64_MAX), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(wait_huge_timeout, 30, "common.wait.deadline");

/* A parked waiter is woken by the commit, not by its next look: with
 * SHMK_LIVENESS_MS at 600 s the waiter's slice is 150 s, so a commit that
 * forgot its futex wake shows as a wait that lasts until its 5 s deadline
 * instead of one slice (the tests above would pass on the slice alone). */
static void wait_wakes_parked(void)
{
	char fl[256];
	struct shmk_slots *o, *r;

	CU_ASSERT_EQUAL_FATAL(setenv("SHMK_LIVENESS_MS", "600000", 1), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	for (int round = 0; round < 3; round++) {
		uint64_t g = shmk_slots_notify_generation(r);
		pid_t pid = t_fork_run(committer_when_parked, o);
		int64_t t0 = shmk_now_ns();
		CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g, 5000000000LL), 0);
		/* ended by the wake, not by the deadline: the last look at the
		 * deadline would see the change and answer 0 as well */
		CU_ASSERT(shmk_now_ns() - t0 < 5000000000LL);
		CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	}
	shmk_slots_close(r);
	shmk_slots_close(o);
}
H_REGISTER(wait_wakes_parked, 60, "slots.wait.nolost+2");

static int owner_then_die(void *arg)
{
	struct shmk_slots *o;

	if (shmk_slots_create(arg, 2, 16, &o))
		return 2;
	bump(&sh->ready);
	wait_value(&sh->go, 1, 20);
	if (atomic_load(&sh->rc[0]) == 1)
		shmk_slots_close(o);	/* clean close */
	else
		raise(SIGKILL);		/* crash */
	return 0;
}

static int wait_reader(void *arg)
{
	struct shmk_slots *r;

	if (shmk_slots_attach(arg, &r))
		return 2;
	setenv("SHMK_LIVENESS_MS", "200", 1);
	uint64_t g = shmk_slots_notify_generation(r);
	bump(&sh->ready);
	int64_t t0 = shmk_now_ns();
	int rc = shmk_slots_wait_for_change(r, g, (int64_t)h_deadline(30) * 1000000000LL);
	sh->rc[1] = rc;
	sh->last_sn[1] = (uint64_t)(shmk_now_ns() - t0);
	shmk_slots_close(r);
	return rc == SHMK_EPEERDEAD ? 0 : 1;
}

static void peerdead_case(int clean)
{
	char fl[256];

	fresh_shared();
	sh->rc[0] = clean;
	new_flink(fl, sizeof(fl));
	pid_t op = t_fork_run(owner_then_die, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	pid_t rp = t_fork_run(wait_reader, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 2, 20), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL(h_wait(op, 20), clean ? 0 : 128 + SIGKILL);
	CU_ASSERT_EQUAL(h_wait(rp, 40), 0);
	CU_ASSERT_EQUAL(sh->rc[1], SHMK_EPEERDEAD);
	if (!clean)
		shmk_slots_reclaim_stale(fl);
}

static void wait_peerdead(void)
{
	peerdead_case(1);
	peerdead_case(0);
}
H_REGISTER(wait_peerdead, 90, "slots.wait.peerdead");
