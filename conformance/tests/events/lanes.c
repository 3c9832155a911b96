/* SPDX-License-Identifier: MIT */
/* events tests: the MPSC lanes (SHMK_EVENTS_CAP_LANES): layout and joiners,
 * traffic between processes, the doorbell and its sweep, a dead producer's
 * lane (adopted by the consumer, taken over by a new producer). */
#include "events_test.h"

static struct shmk_events_lanes *lanes_of(struct shmk_events *r)
{
	uint32_t caps = LAYOUT(r)->hdr.v1.capabilities;
	size_t off = SHMK_EVENTS_BASE_BYTES + ((caps & SHMK_EVENTS_CAP_WAKE) ? SHMK_EVENTS_WAKE_BYTES : 0);

	return (struct shmk_events_lanes *)((uint8_t *)LAYOUT(r) + off);
}

/* A lanes region at p (blocking when asked: crash.c's "producer" role,
 * which the producers run, sends with shmk_events_send) and its MPSC
 * consumer.  The role joins with no options: it needs no knowledge of the
 * bit to use it. */
static struct shmk_events_rx *lanes_consumer(const char *p, bool blocking, uint64_t start,
					     struct shmk_events **r)
{
	struct shmk_events_opts o = { .blocking = blocking, .lanes = true, .counter_start = start };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	*r = must_open(p, &o);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(*r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	return rx;
}

/* One message by try_recv within `polls` polls: 0, or the last code. */
static int recv_within(struct shmk_events_rx *rx, int polls, uint32_t *prod, uint32_t *seq)
{
	uint8_t buf[256];
	size_t n;
	int rc = SHMK_EEMPTY;

	for (int i = 0; i < polls && rc == SHMK_EEMPTY; i++)
		rc = shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL);
	if (rc == 0 && check_msg(buf, n, prod, seq))
		rc = -1;
	return rc;
}

static void lanes_layout(void)
{
	char *p = strdup(new_path()), *q = strdup(new_path());
	uint64_t start = UINT64_MAX - 5;
	struct shmk_events_opts o = { .blocking = true, .lanes = true, .counter_start = start };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_layout *l = LAYOUT(r);

	CU_ASSERT_EQUAL(l->hdr.v1.capabilities,
			SHMK_EVENTS_CAP_WAKE | SHMK_EVENTS_CAP_SEQ | SHMK_EVENTS_CAP_LANES |
				SHMK_EVENTS_CAP_ASYM);
	CU_ASSERT_EQUAL(l->hdr.v1.layout_bytes, 582400u + 12224u);
	struct shmk_events_lanes *ln = lanes_of(r);
	CU_ASSERT_EQUAL((uint8_t *)ln - (uint8_t *)l, 582400);
	CU_ASSERT_EQUAL(atomic_load(&ln->bell.v), 0);
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		CU_ASSERT_EQUAL(atomic_load(&ln->lanes[i].tail.v), start);
		CU_ASSERT_EQUAL(atomic_load(&ln->lanes[i].head.v), start);
	}
	/* rows 0-3: 128 cells each from offset 8256 of the section, rows 4-63: 8 */
	CU_ASSERT_EQUAL((uint8_t *)&ln->cells[0] - (uint8_t *)ln, 8256);
	CU_ASSERT_EQUAL(SHMK_EVENTS_LANE_CAP_OF(3), 128);
	CU_ASSERT_EQUAL(SHMK_EVENTS_LANE_CAP_OF(4), 8);
	CU_ASSERT_EQUAL(SHMK_EVENTS_LANE_FIRST(4), 512);
	CU_ASSERT_EQUAL(SHMK_EVENTS_LANE_FIRST(63), 512 + 59 * 8);
	for (uint32_t k = 0; k < SHMK_EVENTS_LANE_CELLS; k++)
		CU_ASSERT_EQUAL(atomic_load(&ln->cells[k]), SHMK_EVENTS_NIL);
	/* a joiner that asks for lanes gets them; one that does not, too */
	struct shmk_events *j = NULL;
	struct shmk_events_opts want = { .lanes = true };
	CU_ASSERT_EQUAL(shmk_events_open_path_with(p, &want, &j), 0);
	shmk_events_close(j);
	/* the v1 layout is unmoved: a lanes region without the wake section
	 * appends the lanes at 582144, and its v1 header lies about nothing */
	struct shmk_events_opts o2 = { .lanes = true };
	struct shmk_events *r2 = must_open(q, &o2);
	CU_ASSERT_EQUAL(LAYOUT(r2)->hdr.v1.layout_bytes, 582144u + 12224u);
	CU_ASSERT_EQUAL((uint8_t *)lanes_of(r2) - (uint8_t *)LAYOUT(r2), 582144);
	/* a layout_bytes without the section is refused (a private copy) */
	size_t len;
	void *base = shmk_events_as_ptr(r2, &len);
	uint8_t *copy = aligned_alloc(64, len);
	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, base, len);
	CU_ASSERT_EQUAL(shmk_events_validate(copy, len, NULL), 0);
	((struct shmk_events_layout *)copy)->hdr.v1.layout_bytes = 582144u;
	CU_ASSERT_EQUAL(shmk_events_validate(copy, len, NULL), SHMK_ELAYOUT);
	free(copy);
	shmk_events_close(r2);
	unlink(q);
	/* a v1 region without the bit: a joiner that asks for lanes refuses it */
	struct shmk_events *v1 = must_open(q, NULL);
	CU_ASSERT_EQUAL(shmk_events_open_path_with(q, &want, &j), SHMK_EINCOMPAT);
	shmk_events_close(v1);
	shmk_events_close(r);
	free(p);
	free(q);
}
H_REGISTER(lanes_layout, 20, "events.layout.lanes+2", "events.validate.lanes");

/* Rows 0-3 hold 128 messages and the others 8, each lane in its own cells
 * (events.mpsc.lane+2, events.layout.lanes+2): the first producer fills
 * its lane to 128 and the fifth to 8 before SHMK_EFULL, the fifth's cells
 * are the 8 after rows 0-3's 512 while row 5's stay NIL, and everything
 * is received, per producer in order. */
static void lanes_depth(void)
{
	struct shmk_events_opts o = { .lanes = true };
	struct shmk_events *r = must_open(new_path(), &o);
	struct shmk_events_lanes *ln = lanes_of(r);
	struct shmk_events_tx *t[5];
	struct shmk_events_rx *rx = NULL, *x;
	uint8_t buf[256];
	size_t n;
	uint32_t sent[5], next[5] = { 0 }, got = 0, pr, sq;
	int rc;

	for (uint32_t p = 0; p < 5; p++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &t[p], p ? &x : &rx), 0);
		if (p)
			shmk_events_rx_close(x);
		n = make_msg(buf, p, 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(t[p], buf, n, NULL), 0); /* row p */
		sent[p] = 1;
	}
	for (uint32_t p = 0; p < 5; p += 4) {
		do {
			n = make_msg(buf, p, sent[p]);
			rc = shmk_events_try_send(t[p], buf, n, NULL);
			sent[p] += rc == 0;
		} while (rc == 0 && sent[p] < 1000);
		CU_ASSERT_EQUAL(rc, SHMK_EFULL);
	}
	CU_ASSERT_EQUAL(sent[0], 128);
	CU_ASSERT_EQUAL(sent[4], 8);
	CU_ASSERT_EQUAL(atomic_load(&ln->lanes[4].tail.v) - atomic_load(&ln->lanes[4].head.v), 8);
	for (uint32_t k = 0; k < 8; k++) {
		CU_ASSERT_NOT_EQUAL(atomic_load(&ln->cells[512 + k]), SHMK_EVENTS_NIL);
		CU_ASSERT_EQUAL(atomic_load(&ln->cells[520 + k]), SHMK_EVENTS_NIL);
	}
	while ((rc = recv_within(rx, 200, &pr, &sq)) == 0) {
		CU_ASSERT_FATAL(pr < 5);
		CU_ASSERT_EQUAL(sq, next[pr]);
		next[pr] = sq + 1;
		got++;
	}
	CU_ASSERT_EQUAL(rc, SHMK_EEMPTY);
	CU_ASSERT_EQUAL(got, 128 + 3 + 8);
	for (uint32_t p = 0; p < 5; p++) {
		CU_ASSERT_EQUAL(next[p], sent[p]);
		shmk_events_tx_close(t[p]);
	}
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_depth, 20, "events.mpsc.lane+2", "events.layout.lanes+2");

static void lanes_traffic_run(uint64_t start)
{
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx = lanes_consumer(p, true, start, &r);
	/* rows 0-3 (128 cells: 6 laps each) and two 8-cell rows (100 laps) */
	enum { NP = 6, PER = 800 };
	pid_t pids[NP];
	char ids[NP][4];
	uint8_t buf[256];
	size_t n;

	for (uint32_t i = 0; i < NP; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%u", i);
		const char *a[] = { p, ids[i], "800", NULL };
		pids[i] = h_spawn_role("producer", a);
	}
	uint32_t next[NP] = { 0 };
	for (uint32_t got = 0; got < NP * PER; got++) {
		/* blocking and not, in turn: both look at every lane in the end */
		int rc;
		if (got & 1)
			rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL);
		else
			while ((rc = shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL)) == SHMK_EEMPTY)
				sched_yield();
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t pr, s;
		CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &pr, &s), 0);
		CU_ASSERT_FATAL(pr < NP);
		/* per producer, in send order */
		CU_ASSERT_EQUAL_FATAL(s, next[pr]);
		next[pr] = s + 1;
	}
	for (int i = 0; i < NP; i++)
		CU_ASSERT_EQUAL(h_wait(pids[i], 60), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	/* nothing went through the v1 queue, nothing was skipped or unblocked */
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->mpsc.tail.v), start);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 0);
	CU_ASSERT_EQUAL(shmk_events_rx_unblocked(rx), 0);
	uint64_t sum = 0;
	struct shmk_events_lanes *ln = lanes_of(r);
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		CU_ASSERT_EQUAL(atomic_load(&ln->lanes[i].tail.v), atomic_load(&ln->lanes[i].head.v));
		sum += atomic_load(&ln->lanes[i].head.v) - start;
	}
	CU_ASSERT_EQUAL(sum, (uint64_t)NP * PER);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

static void lanes_traffic(void)
{
	lanes_traffic_run(0);
	lanes_traffic_run(UINT64_MAX - 1000); /* every lane across the u64 wrap */
}
H_REGISTER(lanes_traffic, 90, "events.mpsc.lane+2", "events.mpsc.order", "events.mpsc.lanes-scope",
	   "events.queue.counter-start");

/* The row (lane) producer `prod`'s first message went into: the lane whose tail moved. */
static uint32_t moved_lane(struct shmk_events_lanes *ln, uint64_t start)
{
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++)
		if (atomic_load(&ln->lanes[i].tail.v) != start)
			return i;
	return SHMK_EVENTS_PRODUCERS;
}

static void lanes_doorbell(void)
{
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx = lanes_consumer(p, true, 0, &r);
	struct shmk_events_lanes *ln = lanes_of(r);
	uint32_t pr, s;

	const char *a[] = { p, "0", "1", NULL };
	CU_ASSERT_EQUAL_FATAL(h_wait(h_spawn_role("producer", a), 30), 0);
	uint32_t i = moved_lane(ln, 0);
	CU_ASSERT_FATAL(i < SHMK_EVENTS_PRODUCERS);
	/* the producer rang its row's bit after publishing */
	CU_ASSERT_EQUAL(atomic_load(&ln->bell.v), 1ull << i);
	/* the consumer drains the lane and clears the bit only after
	 * EV_BELL_IDLE empty polls of it */
	CU_ASSERT_EQUAL(recv_within(rx, 1, &pr, &s), 0);
	CU_ASSERT_EQUAL(atomic_load(&ln->bell.v), 1ull << i);
	CU_ASSERT_EQUAL(recv_within(rx, 2000, &pr, &s), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(atomic_load(&ln->bell.v), 0);

	/* a message whose bit is clear (its producer read it set while the
	 * consumer cleared it, or died before ringing) is found by the sweep
	 * within 64 empty polls, and its lane rung again */
	CU_ASSERT_EQUAL_FATAL(h_wait(h_spawn_role("producer", a), 30), 0);
	atomic_store(&ln->bell.v, 0);
	CU_ASSERT_EQUAL(recv_within(rx, 64, &pr, &s), 0);
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_EQUAL(atomic_load(&ln->bell.v), 1ull << i);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_doorbell, 30, "events.mpsc.doorbell", "events.mpsc.sweep+2");

static void lanes_dead_producer(void)
{
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx = lanes_consumer(p, true, 0, &r);
	struct shmk_events_lanes *ln = lanes_of(r);
	struct shmk_events_layout *l = LAYOUT(r);
	uint32_t pr, s;

	/* producer 0 dies between the tail and seq stores of its 3rd message:
	 * its first two are delivered, the third once the consumer adopted
	 * the dead row (no other producer needs to come) */
	const char *a[] = { p, "0", "10", NULL };
	pid_t dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.spsc.counted:3");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	for (uint32_t k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL_FATAL(recv_within(rx, 1000, &pr, &s), 0);
		CU_ASSERT_EQUAL(s, k);
	}
	CU_ASSERT_EQUAL(recv_within(rx, 200, &pr, &s), SHMK_EEMPTY);
	/* the consumer gave the row back as it found it: the dead token */
	uint64_t tok = atomic_load(&l->mpsc.producers[0].token);
	CU_ASSERT_NOT_EQUAL(tok, 0);
	CU_ASSERT_FALSE(shmk_token_alive(tok));

	/* again, and this time a producer takes the row over before the
	 * consumer looks: it announces the dead one's message at once,
	 * resuming the lane where it stood (no reset).  Rows are taken
	 * free-first: free this one as a full table would leave it taken */
	atomic_store(&l->mpsc.producers[0].token, 0);
	dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.spsc.counted:3");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	/* the dead token stays; rows are taken free-first, so free this one
	 * as a full table would leave it to be taken */
	CU_ASSERT_NOT_EQUAL(atomic_load(&l->mpsc.producers[0].token), 0);
	atomic_store(&l->mpsc.producers[0].token, 0);
	const char *b[] = { p, "1", "2", NULL };
	CU_ASSERT_EQUAL_FATAL(h_wait(h_spawn_role("producer", b), 30), 0);
	CU_ASSERT_EQUAL(atomic_load(&ln->lanes[0].tail.v), 3 + 3 + 2);
	for (uint32_t k = 0; k < 3; k++) {
		/* each within one poll: announced and rung, no adoption needed */
		CU_ASSERT_EQUAL_FATAL(recv_within(rx, 1, &pr, &s), 0);
		CU_ASSERT_EQUAL(pr, 0);
		CU_ASSERT_EQUAL(s, k);
	}
	for (uint32_t k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(recv_within(rx, 1, &pr, &s), 0);
		CU_ASSERT_EQUAL(pr, 1);
		CU_ASSERT_EQUAL(s, k);
	}
	CU_ASSERT_EQUAL(recv_within(rx, 200, &pr, &s), SHMK_EEMPTY);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_dead_producer, 30, "events.mpsc.lane-adopt+2", "events.mpsc.lane-takeover+4");

/* Rows 0..n-1 held by live producers of this process, one message each,
 * received: the next producer to take a row takes row n. */
static void hold_rows(struct shmk_events *r, struct shmk_events_rx *rx, uint32_t n,
		      struct shmk_events_tx **t)
{
	struct shmk_events_rx *x;
	uint8_t buf[256];
	size_t len;
	uint32_t pr, s;

	for (uint32_t p = 0; p < n; p++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &t[p], &x), 0);
		shmk_events_rx_close(x);
		len = make_msg(buf, p, 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(t[p], buf, len, NULL), 0); /* row p */
	}
	for (uint32_t k = 0; k < n; k++) {
		CU_ASSERT_EQUAL_FATAL(recv_within(rx, 1000, &pr, &s), 0);
		CU_ASSERT(pr < n);
	}
}

/* A producer on row 4 (8 cells) dies between the tail and seq stores of
 * its nth message: the consumer adopts the row, announcing from tail - 8
 * (not tail - 128), and delivers all n in order; n = 11 is the second lap,
 * the announced cell's slot recycled. */
static void shallow_dead_run(uint32_t msgs)
{
	char *p = new_path(), at[40];
	struct shmk_events *r;
	struct shmk_events_rx *rx = lanes_consumer(p, true, 0, &r);
	struct shmk_events_lanes *ln = lanes_of(r);
	struct shmk_events_tx *t[SHMK_EVENTS_LANE_DEEP_ROWS];
	uint8_t buf[256];
	size_t n;
	uint32_t pr, s;

	hold_rows(r, rx, SHMK_EVENTS_LANE_DEEP_ROWS, t);
	snprintf(at, sizeof at, "events.spsc.counted:%u", msgs);
	const char *a[] = { p, "4", "100", NULL };
	pid_t dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", at);
	for (uint32_t k = 0; k < msgs; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof buf, &n, 5000000000LL, NULL), 0);
		CU_ASSERT_EQUAL(check_msg(buf, n, &pr, &s), 0);
		CU_ASSERT_EQUAL(pr, 4);
		CU_ASSERT_EQUAL(s, k);
	}
	CU_ASSERT_EQUAL(h_wait(dead, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&ln->lanes[4].tail.v), msgs);
	CU_ASSERT_EQUAL(recv_within(rx, 200, &pr, &s), SHMK_EEMPTY);
	for (uint32_t i = 0; i < SHMK_EVENTS_LANE_DEEP_ROWS; i++)
		shmk_events_tx_close(t[i]);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

static void lanes_shallow_dead(void)
{
	shallow_dead_run(3);
	shallow_dead_run(11);
}
H_REGISTER(lanes_shallow_dead, 30, "events.mpsc.lane-adopt+2", "events.mpsc.lane-takeover+4");

/* A producer dies on row 0 (a deep row) between the tail and seq stores of
 * its 3rd message while rows 1-3 are held: the next producer takes the
 * dead row 0, not the free row 4, resuming it with its 128 cells. */
static void lanes_deep_retake(void)
{
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx = lanes_consumer(p, true, 0, &r);
	struct shmk_events_lanes *ln = lanes_of(r);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *t[SHMK_EVENTS_LANE_DEEP_ROWS], *tn;
	struct shmk_events_rx *x;
	uint8_t buf[256];
	size_t n;
	uint32_t pr, s, sent = 0, got = 0;
	int rc;

	hold_rows(r, rx, SHMK_EVENTS_LANE_DEEP_ROWS, t);
	shmk_events_tx_close(t[0]); /* row 0 free again: the crashing producer's */
	const char *a[] = { p, "5", "10", NULL };
	pid_t dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.spsc.counted:3");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	for (uint32_t k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL_FATAL(recv_within(rx, 1000, &pr, &s), 0);
		CU_ASSERT_EQUAL(pr, 5);
		CU_ASSERT_EQUAL(s, k);
	}
	uint64_t tok = atomic_load(&l->mpsc.producers[0].token);
	CU_ASSERT_NOT_EQUAL(tok, 0);
	CU_ASSERT_FALSE(shmk_token_alive(tok));
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tn, &x), 0);
	shmk_events_rx_close(x);
	do {
		n = make_msg(buf, 6, sent);
		rc = shmk_events_try_send(tn, buf, n, NULL);
		sent += rc == 0;
	} while (rc == 0 && sent < 1000);
	CU_ASSERT_EQUAL(rc, SHMK_EFULL);
	CU_ASSERT_EQUAL(sent, SHMK_EVENTS_LANE_CAP_DEEP);
	CU_ASSERT_EQUAL(atomic_load(&ln->lanes[0].tail.v), 1 + 3 + SHMK_EVENTS_LANE_CAP_DEEP);
	CU_ASSERT_EQUAL(atomic_load(&ln->lanes[4].tail.v), 0);
	while ((rc = recv_within(rx, 200, &pr, &s)) == 0) {
		CU_ASSERT_EQUAL(pr, 6);
		CU_ASSERT_EQUAL(s, got);
		got++;
	}
	CU_ASSERT_EQUAL(rc, SHMK_EEMPTY);
	CU_ASSERT_EQUAL(got, sent);
	for (uint32_t i = 1; i < SHMK_EVENTS_LANE_DEEP_ROWS; i++)
		shmk_events_tx_close(t[i]);
	shmk_events_tx_close(tn);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_deep_retake, 30, "events.mpsc.producer-table+2", "events.mpsc.lane-takeover+4");

/* Two producers die between the tail and seq stores of their 3rd
 * message: the consumer adopts both rows (each lane keeps its own
 * tracking of the message it saw unannounced), all six are delivered. */
static void lanes_two_dead(void)
{
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx = lanes_consumer(p, true, 0, &r);
	uint32_t pr, s, got[2] = { 0, 0 };

	for (int k = 0; k < 2; k++) {
		const char *a[] = { p, k ? "1" : "0", "10", NULL };
		pid_t dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.spsc.counted:3");
		CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	}
	for (uint32_t k = 0; k < 6; k++) {
		CU_ASSERT_EQUAL_FATAL(recv_within(rx, 2000, &pr, &s), 0);
		CU_ASSERT_FATAL(pr < 2);
		CU_ASSERT_EQUAL(s, got[pr]);
		got[pr]++;
	}
	CU_ASSERT_EQUAL(recv_within(rx, 300, &pr, &s), SHMK_EEMPTY);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_two_dead, 30, "events.mpsc.lane-adopt+2");

/* A producer dies between the tail and seq stores of its 3rd message: a
 * blocking receive delivers the three (the 3rd once the consumer adopted
 * the row) and then ends with SHMK_EPEERDEAD, the dead token still in
 * the row, instead of waiting out its timeout. */
static void lanes_adopt_peerdead(void)
{
	char *p = new_path();
	struct shmk_events *r;
	uint8_t buf[256];
	size_t n;
	int got = 0, rc;

	setenv("SHMK_LIVENESS_MS", "100", 1);
	struct shmk_events_rx *rx = lanes_consumer(p, true, 0, &r);
	const char *a[] = { p, "0", "10", NULL };
	pid_t dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.spsc.counted:3");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	/* 2 s: far past the 50 ms the death takes to be seen */
	while ((rc = shmk_events_recv(rx, buf, sizeof buf, &n, 2000000000LL, NULL)) == 0)
		got++;
	CU_ASSERT_EQUAL(got, 3);
	CU_ASSERT_EQUAL(rc, SHMK_EPEERDEAD);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_adopt_peerdead, 30, "events.mpsc.lane-adopt+2", "events.wait.peerdead-lanes");

/* A producer publishes one message and dies before its doorbell OR,
 * while a busy producer keeps a message ready at every poll (no poll is
 * empty): the forced sweep still finds the dead one's message, within
 * 64 x 64 polls. */
static void lanes_sweep_busy(void)
{
	char *p = new_path();
	struct shmk_events_opts o = { .lanes = true, .blocking = true };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	size_t n;
	uint32_t pr = 1, sq;
	int polls = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	const char *a[] = { p, "5", "3", NULL };
	pid_t d = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.lane.published:1");
	CU_ASSERT_EQUAL_FATAL(h_wait(d, 30), 128 + SIGKILL);
	n = make_msg(buf, 1, 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, n, NULL), 0);
	for (uint32_t i = 1; polls < 2 * 64 * 64 && pr != 5; i++, polls++) {
		n = make_msg(buf, 1, i);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, n, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof buf, &n, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &pr, &sq), 0);
	}
	CU_ASSERT_EQUAL(pr, 5);
	CU_ASSERT(polls <= 64 * 64);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_sweep_busy, 30, "events.mpsc.sweep+2");

/* Lane `bad`'s tail is moved by `by` (tail - head > the lane's depth):
 * the consumer reports it once and goes on with the next row's messages,
 * and a new producer, finding row `bad` free but its lane corrupt, takes
 * another row.  The rows before `bad` are held (hold_rows). */
static void hostile_lane_run(uint32_t bad, uint64_t by)
{
	struct shmk_events_opts o = { .lanes = true };
	struct shmk_events *r = must_open(new_path(), &o);
	struct shmk_events_lanes *ln = lanes_of(r);
	struct shmk_events_tx *t[SHMK_EVENTS_LANE_DEEP_ROWS + 1], *t1, *t2, *tx;
	struct shmk_events_rx *rx, *x;
	uint8_t buf[256];
	size_t n;
	uint32_t pr, sq, good = bad + 1, next = bad + 2;
	int integrity = 0, got = 0;

	CU_ASSERT_FATAL(bad <= SHMK_EVENTS_LANE_DEEP_ROWS);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	hold_rows(r, rx, bad + 1, t); /* rows 0..bad; row bad's message received */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &t1, &x), 0);
	shmk_events_rx_close(x);
	for (uint32_t k = 0; k < 3; k++) {
		n = make_msg(buf, good, k);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(t1, buf, n, NULL), 0); /* row good */
	}
	shmk_events_tx_close(t[bad]);
	atomic_fetch_add(&ln->lanes[bad].tail.v, by);
	for (int i = 0; i < 1000 && got < 3; i++) {
		int rc = shmk_events_try_recv(rx, buf, sizeof buf, &n, NULL);
		integrity += rc == SHMK_EINTEGRITY;
		if (rc == 0) {
			CU_ASSERT_EQUAL(check_msg(buf, n, &pr, &sq), 0);
			CU_ASSERT_EQUAL(pr, good);
			CU_ASSERT_EQUAL(sq, (uint32_t)got);
			got++;
		}
	}
	CU_ASSERT_EQUAL(got, 3);
	CU_ASSERT_EQUAL(integrity, 1);
	uint64_t before = atomic_load(&ln->lanes[bad].tail.v);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &t2, &x), 0);
	shmk_events_rx_close(x);
	n = make_msg(buf, next, 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(t2, buf, n, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(&ln->lanes[bad].tail.v), before);
	CU_ASSERT_EQUAL(atomic_load(&ln->lanes[next].tail.v), 1);
	CU_ASSERT_EQUAL(recv_within(rx, 200, &pr, &sq), 0);
	CU_ASSERT_EQUAL(pr, next);
	for (uint32_t i = 0; i < bad; i++)
		shmk_events_tx_close(t[i]);
	shmk_events_tx_close(t1);
	shmk_events_tx_close(t2);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

/* a deep row by more than 128, and row 4 by 20: more than its 8 cells but
 * within a deep row's 128, so a bound of the wrong depth is caught */
static void lanes_hostile_lane(void)
{
	hostile_lane_run(0, 1000);
	hostile_lane_run(4, 20);
}
H_REGISTER(lanes_hostile_lane, 20, "events.hostile.lane-skip", "events.hostile.counters");

/* A producer sends 20 messages, dying between the tail and seq stores of
 * the 20th: when the consumer adopts the row it also gives the slots of
 * the lane's 127 free cells back to the pool, so after the last message
 * only its own cell keeps a slot. */
static void lanes_adopt_detach(void)
{
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx = lanes_consumer(p, true, 0, &r);
	struct shmk_events_lanes *ln = lanes_of(r);
	uint8_t buf[256];
	size_t n;
	uint32_t pr, s;

	const char *a[] = { p, "0", "30", NULL };
	pid_t dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.spsc.counted:20");
	for (uint32_t k = 0; k < 20; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof buf, &n, 5000000000LL, NULL), 0);
		CU_ASSERT_EQUAL(check_msg(buf, n, &pr, &s), 0);
		CU_ASSERT_EQUAL(s, k);
	}
	CU_ASSERT_EQUAL(h_wait(dead, 30), 128 + SIGKILL);
	uint32_t attached = 0;
	for (uint32_t c = 0; c < SHMK_EVENTS_LANE_CAP_OF(0); c++)
		attached += atomic_load(&ln->cells[SHMK_EVENTS_LANE_FIRST(0) + c]) != SHMK_EVENTS_NIL;
	CU_ASSERT_EQUAL(attached, 1);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_adopt_detach, 30, "events.mpsc.lane-adopt+2");

static void lanes_peerdead(void)
{
	char *p = new_path();
	struct shmk_events *r;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	size_t n;

	setenv("SHMK_LIVENESS_MS", "100", 1);
	rx = lanes_consumer(p, true, 0, &r);
	/* the only producer dies after publishing its 2nd message, before
	 * ringing: both are delivered, then SHMK_EPEERDEAD, not a wait */
	const char *a[] = { p, "0", "5", NULL };
	pid_t dead = spawn_with_env("producer", a, "SHMK_CRASH_AT", "events.lane.published:2");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	for (uint32_t k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 5LL * 1000000000, NULL), 0);
		uint32_t pr, s;
		CU_ASSERT_EQUAL(check_msg(buf, n, &pr, &s), 0);
		CU_ASSERT_EQUAL(s, k);
	}
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 5LL * 1000000000, NULL),
			SHMK_EPEERDEAD);
	CU_ASSERT(shmk_now_ns() - t0 < 4LL * 1000000000);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_peerdead, 30, "events.wait.peerdead-lanes");
