/* SPDX-License-Identifier: MIT */
/* events tests: the lanes' races, each forced by stopping one party at a
 * crash point (SHMK_STOP_AT, r[reliability.hook.stop]) while the test acts
 * in the window, then resuming it. */
#include "events_test.h"

/* Forks a child that SIGSTOPs at the crash point `at` ("name:N") while it
 * runs body(arg) (its return value is the child's exit status), and waits
 * until it is stopped there. */
static pid_t stopped_child(const char *at, int (*body)(void *), void *arg)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		setenv("SHMK_STOP_AT", at, 1);
		shmk_crash_rearm(); /* the parent may have read the env already */
		_exit(body(arg));
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, WUNTRACED), pid);
	CU_ASSERT_FATAL(WIFSTOPPED(st));
	return pid;
}

/* Resumes a stopped_child and returns its exit status. */
static int resume_child(pid_t pid)
{
	kill(pid, SIGCONT);
	return h_wait(pid, 20);
}

/* A reservation of `tx` published as producer prod's message seq. */
static void publish_one(struct shmk_events_tx *tx, uint32_t prod, uint32_t seq)
{
	struct shmk_events_view v;

	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &v), 0);
	size_t n = make_msg(v.data, prod, seq);
	CU_ASSERT_EQUAL_FATAL(shmk_events_publish(tx, &v, n, NULL), 0);
}

/* What a receiver in a child counts of two expected messages, (0, 77) and
 * (1, 99), in `polls` polls: the count of the first times 4 plus the
 * count of the second (both counts below 4, else 15). */
struct two_counts {
	struct shmk_events_rx *rx;
	int polls;
};
static int count_two(void *arg)
{
	struct two_counts *c = arg;
	uint8_t buf[256];
	size_t n;
	uint32_t pr, sq;
	int a = 0, b = 0;

	for (int i = 0; i < c->polls; i++)
		if (shmk_events_try_recv(c->rx, buf, sizeof buf, &n, NULL) == 0 &&
		    !check_msg(buf, n, &pr, &sq)) {
			a += pr == 0 && sq == 77;
			b += pr == 1 && sq == 99;
		}
	return a < 4 && b < 4 ? a * 4 + b : 15;
}

/* Lane A is empty at h, its cell naming slot O (attached for the next
 * lap).  The consumer loads that cell and stops; A publishes a reservation
 * at h (O goes to the pool), B reserves O and publishes it at its own
 * position h: O's seq says h + 1.  The consumer must deliver A's message
 * and B's, each once. */
static void lanes_cell_reread(void)
{
	struct shmk_events_opts o = { .lanes = true };
	struct shmk_events *r = must_open(new_path(), &o);
	struct shmk_events_tx *ta, *tb;
	struct shmk_events_rx *rx, *x;
	uint8_t buf[256];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &ta, &rx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tb, &x), 0);
	shmk_events_rx_close(x);
	/* one lap of each lane, all received: every cell names an attached slot */
	for (uint32_t k = 0; k < SHMK_EVENTS_LANE_CAP_DEEP; k++) {
		n = make_msg(buf, 0, k);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(ta, buf, n, NULL), 0);
		n = make_msg(buf, 1, k);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tb, buf, n, NULL), 0);
	}
	for (uint32_t k = 0; k < 2 * SHMK_EVENTS_LANE_CAP_DEEP; k++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof buf, &n, NULL), 0);
	/* the consumer's next poll looks at lane A first (B was served last) */
	struct two_counts c = { rx, 500 };
	pid_t pid = stopped_child("events.cell.looked:1", count_two, &c);
	publish_one(ta, 0, 77);
	publish_one(tb, 1, 99);
	CU_ASSERT_EQUAL(resume_child(pid), 1 * 4 + 1);
	shmk_events_tx_close(ta);
	shmk_events_tx_close(tb);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_cell_reread, 20, "events.spsc.slot-seq+2", "events.mpsc.lane+2");

/* The same race against the SPSC receiver of a lanes region: a lane's
 * message must not be taken for the SPSC ring's. */
static void lanes_spsc_cell_reread(void)
{
	struct shmk_events_opts o = { .lanes = true };
	struct shmk_events *r = must_open(new_path(), &o);
	struct shmk_events_tx *st, *lt;
	struct shmk_events_rx *sr, *lr;
	uint8_t buf[256];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &st, &sr), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &lt, &lr), 0);
	/* one lap of the SPSC ring (its cell 0 names an attached slot), the
	 * lane at the same position */
	for (uint32_t k = 0; k < SHMK_EVENTS_QUEUE_CAP; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(st, buf, 8, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(sr, buf, sizeof buf, &n, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(lt, buf, 8, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(lr, buf, sizeof buf, &n, NULL), 0);
	}
	struct two_counts c = { sr, 200 };
	pid_t pid = stopped_child("events.cell.looked:1", count_two, &c);
	publish_one(st, 0, 77);
	publish_one(lt, 1, 99);
	/* the SPSC message once, the lane's never */
	CU_ASSERT_EQUAL(resume_child(pid), 1 * 4 + 0);
	shmk_events_close(r);
}
H_REGISTER(lanes_spsc_cell_reread, 20, "events.spsc.slot-seq+2", "events.mpsc.lanes-scope");

/* A new producer's first send: it takes the free row and announces what
 * the last holder left (stopped there by the caller); 0 when the send
 * went through. */
static int takeover_send(void *arg)
{
	struct shmk_events *r = arg;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *x;
	uint8_t buf[256];

	if (shmk_events_split_mpsc(r, &tx, &x))
		return 2;
	shmk_events_rx_close(x);
	size_t n = make_msg(buf, 2, 0);
	return shmk_events_try_send(tx, buf, n, NULL) ? 3 : 0;
}

/* A takes row 1, sends (announced) and leaves; C takes the row over and
 * reads the cell at tail - 1 (slot s) to announce it, then stops.  The
 * consumer takes A's message as a view and releases it, B (row 0)
 * reserves s and publishes it.  C's announce must leave s's seq alone:
 * B's message and C's are delivered. */
static void lanes_takeover_cas(void)
{
	struct shmk_events_opts o = { .lanes = true };
	struct shmk_events *r = must_open(new_path(), &o);
	struct shmk_events_tx *tb, *ta;
	struct shmk_events_rx *rx, *x;
	struct shmk_events_view v;
	uint8_t buf[256];
	size_t n;
	uint32_t pr, sq;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tb, &rx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &ta, &x), 0);
	shmk_events_rx_close(x);
	n = make_msg(buf, 1, 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tb, buf, n, NULL), 0); /* row 0 */
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof buf, &n, NULL), 0);
	n = make_msg(buf, 0, 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(ta, buf, n, NULL), 0); /* row 1, pending */
	shmk_events_tx_close(ta);
	pid_t pid = stopped_child("events.announcing:1", takeover_send, r);
	int rc = SHMK_EEMPTY;
	for (int i = 0; i < 1000 && rc == SHMK_EEMPTY; i++)
		rc = shmk_events_recv_view(rx, &v);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(check_msg(v.data, v.len, &pr, &sq), 0);
	CU_ASSERT_EQUAL(pr, 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_release(rx, &v), 0);
	publish_one(tb, 1, 1);
	CU_ASSERT_EQUAL(resume_child(pid), 0);
	int b1 = 0, c0 = 0;
	for (int i = 0; i < 5000; i++)
		if (shmk_events_try_recv(rx, buf, sizeof buf, &n, NULL) == 0 &&
		    !check_msg(buf, n, &pr, &sq)) {
			b1 += pr == 1 && sq == 1;
			c0 += pr == 2 && sq == 0;
		}
	CU_ASSERT_EQUAL(b1, 1);
	CU_ASSERT_EQUAL(c0, 1);
	shmk_events_tx_close(tb);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_takeover_cas, 20, "events.mpsc.lane-takeover+4");

/* A lanes producer's row is its process's: a forked child's copy of the
 * handle fails with SHMK_EBUSY and its close leaves the row to the
 * parent, which keeps sending.  The child's exit status: 0 when it was so. */
static int forked_send(void *arg)
{
	struct shmk_events_tx *tx = arg;
	struct shmk_events_view v;
	uint8_t buf[256];
	size_t n = make_msg(buf, 9, 0);

	int a = shmk_events_try_send(tx, buf, n, NULL), b = shmk_events_reserve(tx, &v);
	shmk_events_tx_close(tx);
	return a == SHMK_EBUSY && b == SHMK_EBUSY ? 0 : 1;
}

static void lanes_fork_producer(void)
{
	struct shmk_events_opts o = { .lanes = true };
	struct shmk_events *r = must_open(new_path(), &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	size_t n;
	uint32_t pr, sq;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	n = make_msg(buf, 0, 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, n, NULL), 0);
	uint64_t tok = atomic_load(&LAYOUT(r)->mpsc.producers[0].token);
	pid_t pid = fork();
	if (pid == 0)
		_exit(forked_send(tx));
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 20), 0);
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->mpsc.producers[0].token), tok);
	n = make_msg(buf, 0, 1);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, buf, n, NULL), 0);
	for (uint32_t k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof buf, &n, NULL), 0);
		CU_ASSERT_EQUAL(check_msg(buf, n, &pr, &sq), 0);
		CU_ASSERT_EQUAL(pr, 0);
		CU_ASSERT_EQUAL(sq, k);
	}
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof buf, &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(lanes_fork_producer, 20, "events.mpsc.lane-fork");
