/* SPDX-License-Identifier: MIT */
/* slots tests: a reader or the owner alive but stopped (SIGSTOP), not dead. */
#include "slots_test.h"

/* Reader: registers, takes the handle of its first sample, then stops
 * itself holding its unread samples; resumed, its old handle must be
 * refused and the samples addressed to it since must arrive whole, in
 * order (sh->first_sn[0] is the first of them).  Exit 0 when all held. */
static int stopping_reader(void *arg)
{
	struct shmk_slots *r;
	unsigned idx;
	shmk_slot_handle_t old, h;
	uint8_t buf[16];

	if (shmk_slots_attach(arg, &r) || shmk_slots_register_reader(r, -1, &idx))
		return 2;
	sh->idx[0] = idx;
	bump(&sh->ready);
	if (wait_value(&sh->go, 1, 20) || shmk_slots_next_unread_slot(r, idx, &old) != 1)
		return 3;
	raise(SIGSTOP);
	/* resumed: the owner disconnected us and reused both slots */
	int bad = 0;
	bad |= shmk_slots_read_slot(r, old, buf, sizeof(buf), NULL) != SHMK_EEMPTY;
	bad |= shmk_slots_mark_read(r, old, idx) != SHMK_EEMPTY;
	for (uint64_t sn = sh->first_sn[0]; sn < sh->first_sn[0] + 2; sn++) {
		struct shmk_slot_info info;
		if (shmk_slots_next_unread_slot(r, idx, &h) != 1 || h.sn != sn ||
		    shmk_slots_read_slot(r, h, buf, sizeof(buf), &info) ||
		    info.sample_size != sizeof(buf) || !check_fill(buf, sizeof(buf), sn) ||
		    shmk_slots_mark_read(r, h, idx))
			bad |= 2;
	}
	shmk_slots_close(r);
	return bad ? 10 + bad : 0;
}

/* A stopped reader is not reaped, reserve
 * returns SHMK_EFULL at once, and mark_reader_disconnected frees its slots
 * while it stays stopped; resumed, it reads what came since. */
static void stopped_reader(void)
{
	char fl[256];
	struct shmk_slots *o;
	shmk_slot_handle_t h;
	uint64_t next = 1;

	fresh_shared();
	setenv("SHMK_LIVENESS_MS", "100", 1);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_create(new_flink(fl, sizeof(fl)), 2, 16, &o), 0);
	pid_t rp = t_fork_run(stopping_reader, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	CU_ASSERT_EQUAL_FATAL(publish(o, &next, 16), 0);
	CU_ASSERT_EQUAL_FATAL(publish(o, &next, 16), 0);
	bump(&sh->go);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CU_ASSERT_EQUAL_FATAL(waitid(P_PID, (id_t)rp, &si, WSTOPPED), 0);
	/* stopped past the liveness bound: alive, so not reaped; no waiting */
	struct timespec ts = { 0, 300 * 1000000 };
	nanosleep(&ts, NULL);
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT_EQUAL(shmk_slots_reserve_slot(o, UINT32_MAX, &h), SHMK_EFULL);
	CU_ASSERT(shmk_now_ns() - t0 < (int64_t)h_deadline(1) * 1000000000LL);
	/* the owner gives up on it: both slots come back, the reader stopped */
	CU_ASSERT_EQUAL(shmk_slots_mark_reader_disconnected(o, sh->idx[0]), 0);
	sh->first_sn[0] = next;
	CU_ASSERT_EQUAL(publish(o, &next, 16), 0);
	CU_ASSERT_EQUAL(publish(o, &next, 16), 0);
	CU_ASSERT_EQUAL(kill(rp, SIGCONT), 0);
	CU_ASSERT_EQUAL(h_wait(rp, 30), 0);
	shmk_slots_close(o);
}
H_REGISTER(stopped_reader, 60, "slots.stall.reader", "slots.stall.reader-resume");

/* Owner: creates, waits for the reader's registration, commits one sample
 * addressed to it, then stops itself; resumed, closes. */
static int stopping_owner(void *arg)
{
	struct shmk_slots *o;
	uint64_t next = 1;

	if (shmk_slots_create(arg, 2, 16, &o))
		return 2;
	bump(&sh->ready);
	if (wait_value(&sh->go, 1, 20) || publish(o, &next, 16))
		return 3;
	bump(&sh->ready);
	raise(SIGSTOP);
	shmk_slots_close(o);
	return 0;
}

/* With the owner stopped for 3 x
 * SHMK_LIVENESS_MS, a reader's wait ends -ETIMEDOUT at its timeout and the
 * committed sample is read without it. */
static void stopped_owner(void)
{
	char fl[256];
	struct shmk_slots *r;
	unsigned idx;
	shmk_slot_handle_t h;
	uint8_t buf[16];

	fresh_shared();
	new_flink(fl, sizeof(fl));
	pid_t op = t_fork_run(stopping_owner, fl);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 1, 20), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_attach(fl, &r), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_slots_register_reader(r, -1, &idx), 0);
	bump(&sh->go);
	CU_ASSERT_EQUAL_FATAL(wait_value(&sh->ready, 2, 20), 0);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CU_ASSERT_EQUAL_FATAL(waitid(P_PID, (id_t)op, &si, WSTOPPED), 0);
	setenv("SHMK_LIVENESS_MS", "100", 1);
	uint64_t g = shmk_slots_notify_generation(r);
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g, 300 * 1000000), -ETIMEDOUT);
	int64_t took = shmk_now_ns() - t0;
	CU_ASSERT(took >= 300 * 1000000);
	CU_ASSERT(took < 300 * 1000000 + (int64_t)h_deadline(1) * 1000000000LL);
	struct shmk_slot_info info;
	CU_ASSERT_EQUAL(shmk_slots_next_unread_slot(r, idx, &h), 1);
	CU_ASSERT_EQUAL(shmk_slots_read_slot(r, h, buf, sizeof(buf), &info), 0);
	CU_ASSERT(check_fill(buf, sizeof(buf), 1));
	CU_ASSERT_EQUAL(shmk_slots_mark_read(r, h, idx), 0);
	CU_ASSERT_EQUAL(kill(op, SIGCONT), 0);
	CU_ASSERT_EQUAL(h_wait(op, 30), 0);
	CU_ASSERT_EQUAL(shmk_slots_wait_for_change(r, g, (int64_t)h_deadline(10) * 1000000000LL),
			SHMK_EPEERDEAD);
	shmk_slots_close(r);
}
H_REGISTER(stopped_owner, 60, "slots.stall.owner");
