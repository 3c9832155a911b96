/* SPDX-License-Identifier: MIT */
/* events tests: the SPSC slot sequence word (capability 0x2): delivery on
 * seq, a region without the capability, a sender dead between its tail and
 * seq stores. */
#include "events_test.h"

static _Atomic uint32_t *seq_word(struct shmk_events_layout *l, uint64_t pos)
{
	uint32_t s = atomic_load(&l->spsc.cells[pos & (SHMK_EVENTS_QUEUE_CAP - 1)]);

	CU_ASSERT_FATAL(s < SHMK_EVENTS_SLOTS);
	return &l->slots[s].seq;
}

static void recv_is(struct shmk_events_rx *rx, const char *want)
{
	char buf[16] = { 0 };
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf) - 1, &n, NULL), 0);
	CU_ASSERT_EQUAL(n, strlen(want));
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static int recv_rc(struct shmk_events_rx *rx)
{
	char buf[16];
	size_t n;

	return shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL);
}

/* Every message carries (uint32_t)(position + 1) in its slot; the receiver
 * delivers on it even when tail counts nothing (it never reads tail then),
 * and not on tail alone. */
static void slot_seq(void)
{
	struct shmk_events_opts o = { .counter_start = UINT64_MAX - 1 };
	char *p = new_path();
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	CU_ASSERT_EQUAL(l->hdr.v1.capabilities, SHMK_EVENTS_CAP_SEQ);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	/* a lap and a half, across the counter wrap: the cells hold last
	 * lap's slots (seq of a lap ago: "not yet") */
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP * 3 / 2; i++) {
		uint64_t pos = UINT64_MAX - 1 + i;
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "m", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(atomic_load(seq_word(l, pos)), (uint32_t)(pos + 1));
		recv_is(rx, "m");
		CU_ASSERT_EQUAL_FATAL(recv_rc(rx), SHMK_EEMPTY);
	}

	/* tail counts nothing, the seq words say two: both delivered */
	uint64_t t = atomic_load(&l->spsc.tail.v);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "b", 1, NULL), 0);
	atomic_store(&l->spsc.tail.v, t);
	recv_is(rx, "a");
	recv_is(rx, "b");
	CU_ASSERT_EQUAL(recv_rc(rx), SHMK_EEMPTY);
	atomic_store(&l->spsc.tail.v, t + 2);
	CU_ASSERT_EQUAL(recv_rc(rx), SHMK_EEMPTY);

	/* counted in tail, not announced: not delivered until it is */
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "c", 1, NULL), 0);
	_Atomic uint32_t *sq = seq_word(l, t + 2);
	atomic_store(sq, (uint32_t)(t + 2));
	CU_ASSERT_EQUAL(recv_rc(rx), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(recv_rc(rx), SHMK_EEMPTY);
	atomic_store(sq, (uint32_t)(t + 3));
	recv_is(rx, "c");
	CU_ASSERT_EQUAL(recv_rc(rx), SHMK_EEMPTY);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(slot_seq, 20, "events.layout.slot-seq", "events.spsc.slot-seq+2");

/* A region without capability 0x2 (an upstream or earlier creator): its
 * senders need not write seq, so the receiver delivers on tail alone. */
static void no_slot_seq(void)
{
	char *p = new_path();
	struct shmk_events *creator = must_open(p, NULL);
	LAYOUT(creator)->hdr.v1.capabilities = 0;
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP + 3; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		/* what an upstream sender leaves there */
		atomic_store(seq_word(l, i), 0);
		recv_is(rx, "x");
		CU_ASSERT_EQUAL_FATAL(recv_rc(rx), SHMK_EEMPTY);
	}
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	shmk_events_close(creator);
	unlink(p);
}
H_REGISTER(no_slot_seq, 20, "events.spsc.slot-seq+2");

/* role: SPSC sender of argv[2] messages to argv[1]; with argv[3] "parked"
 * (a blocking region) it first waits, bounded, until the receiver is
 * parked - so a SHMK_CRASH_AT between counting a message in tail and
 * announcing it leaves that receiver asleep with nobody to wake it */
static int role_spsc_sender(int argc, char **argv)
{
	struct shmk_events_opts o = { .blocking = argc > 3 && !strcmp(argv[3], "parked") };
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];

	if (argc < 3)
		return 2;
	uint32_t count = (uint32_t)atoi(argv[2]);
	if (shmk_events_open_path_with(argv[1], &o, &r) || shmk_events_split_spsc(r, &tx, &rx))
		return 3;
	shmk_events_rx_close(rx);
	int64_t end = shmk_now_ns() + 20LL * 1000000000;
	while (o.blocking && atomic_load(&ev_wake_of(r)->spsc_data.waiters) == 0)
		if (shmk_now_ns() > end || sched_yield())
			return 5;
	for (uint32_t s = 0; s < count; s++) {
		size_t n = make_msg(buf, 0, s);
		if (shmk_events_try_send(tx, buf, n, NULL))
			return 4;
	}
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	return 0;
}
H_ROLE("spsc_sender", role_spsc_sender);

static void recv_msg(struct shmk_events_rx *rx, uint32_t want)
{
	uint8_t buf[256];
	size_t n;
	uint32_t prod, s;

	CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &prod, &s), 0);
	CU_ASSERT_EQUAL(s, want);
}

/* The SPSC sender dies between counting its 3rd message in tail and
 * announcing it in seq: the receiver has it only once a new sender
 * claims the role, exactly once and in order. */
static void dead_spsc_sender(void)
{
	struct evq q;
	uint8_t buf[256];

	evq_open(&q, 0);
	shmk_events_tx_close(q.tx);
	q.tx = NULL;
	const char *a[] = { q.path, "10", NULL };
	pid_t dead = spawn_with_env("spsc_sender", a, "SHMK_CRASH_AT", "events.spsc.counted:3");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&q.l->spsc.tail.v) - atomic_load(&q.l->spsc.head.v), 3);
	recv_msg(q.rx, 0);
	recv_msg(q.rx, 1);
	CU_ASSERT_EQUAL(recv_rc(q.rx), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(recv_rc(q.rx), SHMK_EEMPTY);

	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx2;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(q.r, &tx, &rx2), 0);
	shmk_events_rx_close(rx2);
	size_t n = make_msg(buf, 0, 3);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, n, NULL), 0);
	recv_msg(q.rx, 2);
	recv_msg(q.rx, 3);
	CU_ASSERT_EQUAL(recv_rc(q.rx), SHMK_EEMPTY);
	shmk_events_tx_close(tx);
	evq_close(&q, true);
}
H_REGISTER(dead_spsc_sender, 60, "events.spsc.reclaim-announce+4");

/* The successor: once the dead sender's message is counted, claims the
 * sender role with a zero-copy reserve (no send of its own) and cancels. */
static int reserving_successor(void *arg)
{
	const char *path = arg;
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;

	if (shmk_events_open_path_with(path, &o, &r) || shmk_events_split_spsc(r, &tx, &rx))
		return 10;
	shmk_events_rx_close(rx);
	struct shmk_events_layout *l = shmk_events_as_ptr(r, NULL);
	int64_t end = shmk_now_ns() + 20LL * 1000000000;
	int rc;
	while (atomic_load(&l->spsc.tail.v) == atomic_load(&l->spsc.head.v))
		if (shmk_now_ns() > end || sched_yield())
			return 11;
	/* the role is free once the sender's SIGKILL lands */
	while ((rc = shmk_events_reserve(tx, &v)) == SHMK_EBUSY)
		if (shmk_now_ns() > end || sched_yield())
			return 12;
	if (rc || shmk_events_cancel(tx, &v))
		return 13;
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	return 0;
}

/* Closes what ev_blocking_rx opened and removes the file. */
static void blocking_rx_close(char *p, struct shmk_events *r, struct shmk_events_rx *rx)
{
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}

/* A receiver parked while its sender died between counting and announcing
 * is woken by the successor's announce, not by its own next look: with
 * SHMK_LIVENESS_MS at 600 s it looks every 150 s, so a successor whose
 * first call is a reserve (which wakes nobody itself) and an announce that
 * forgot the wake leave it asleep until its 5 s deadline. */
static void announce_wakes(void)
{
	uint8_t buf[256];
	size_t n;
	uint32_t prod, s;
	struct shmk_events *r;

	CU_ASSERT_EQUAL_FATAL(setenv("SHMK_LIVENESS_MS", "600000", 1), 0);
	char *p = new_path();
	struct shmk_events_rx *rx = ev_blocking_rx(p, &r);
	const char *a[] = { p, "1", "parked", NULL };
	pid_t dead = spawn_with_env("spsc_sender", a, "SHMK_CRASH_AT", "events.spsc.counted:1");
	pid_t succ = t_fork_run(reserving_successor, p);
	CU_ASSERT_FATAL(dead > 0 && succ > 0);
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 5000000000LL, NULL), 0);
	CU_ASSERT(shmk_now_ns() - t0 < 5000000000LL);
	CU_ASSERT_EQUAL(check_msg(buf, n, &prod, &s), 0);
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_EQUAL(h_wait(dead, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(h_wait(succ, 30), 0);
	blocking_rx_close(p, r, rx);
}
H_REGISTER(announce_wakes, 60, "events.spsc.reclaim-announce+4");

/* A blocking receive with the sender dead between counting and announcing
 * its message answers SHMK_EPEERDEAD at once (nothing announced is
 * pending) and loses nothing: after a successor's send both arrive. */
static void counted_dead_sender(void)
{
	struct shmk_events_tx *tx;
	uint8_t buf[256];
	size_t n;
	struct shmk_events *r;
	char *p = new_path();
	struct shmk_events_rx *rx = ev_blocking_rx(p, &r);

	const char *a[] = { p, "1", NULL };
	pid_t dead = spawn_with_env("spsc_sender", a, "SHMK_CRASH_AT", "events.spsc.counted:1");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	struct shmk_events_layout *l = shmk_events_as_ptr(r, NULL);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.tail.v) - atomic_load(&l->spsc.head.v), 1);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 20000000000LL, NULL),
			SHMK_EPEERDEAD);
	/* a successor (this process) claims the role and sends its own */
	struct shmk_events_rx *rx2;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx2), 0);
	shmk_events_rx_close(rx2);
	n = make_msg(buf, 0, 1);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, n, NULL), 0);
	recv_msg(rx, 0);
	recv_msg(rx, 1);
	CU_ASSERT_EQUAL(recv_rc(rx), SHMK_EEMPTY);
	shmk_events_tx_close(tx);
	blocking_rx_close(p, r, rx);
}
H_REGISTER(counted_dead_sender, 60, "events.wait.peerdead+2", "events.spsc.reclaim-announce+4");
