/* SPDX-License-Identifier: MIT */
/* events tests: role claims and reclaims, the consumer window, one handle per role, error detail, keepalive. */
#include "events_test.h"

/* ------------------------------------------------------------ roles */

struct holder {
	const char *path;
	int mpsc;
	int ready[2];	/* child -> parent: claimed (1 byte: rc) */
	int hold[2];	/* parent -> child: closed when the child may close */
};

static int holder_fn(void *a)
{
	struct holder *h = a;
	struct evq q;
	uint8_t buf[8];
	size_t n;
	char c;

	close(h->ready[0]);
	close(h->hold[1]);
	if (evq_attach(&q, h->path, h->mpsc))
		return 10;
	int rc = shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL);
	c = rc == SHMK_EEMPTY ? 'k' : 'x';
	if (write(h->ready[1], &c, 1) != 1)
		return 12;
	while (read(h->hold[0], &c, 1) < 0 && errno == EINTR)
		;
	evq_close(&q, false);	/* releases the role */
	return 0;
}

static pid_t start_holder(struct holder *h, const char *path, int mpsc)
{
	char c = 0;

	h->path = path;
	h->mpsc = mpsc;
	CU_ASSERT_FATAL(pipe(h->ready) == 0 && pipe(h->hold) == 0);
	pid_t pid = t_fork_run(holder_fn, h);
	close(h->ready[1]);
	close(h->hold[0]);
	CU_ASSERT_EQUAL(read(h->ready[0], &c, 1), 1);
	CU_ASSERT_EQUAL(c, 'k');
	close(h->ready[0]);
	return pid;
}

static void roles(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct holder h;
	uint8_t buf[8];
	size_t n;

	for (int mpsc = 0; mpsc < 2; mpsc++) {
		_Atomic uint64_t *role = mpsc ? &l->mpsc.roles.a : &l->spsc.roles.b;

		/* split claims nothing */
		CU_ASSERT_EQUAL_FATAL(mpsc ? shmk_events_split_mpsc(r, &tx, &rx)
					   : shmk_events_split_spsc(r, &tx, &rx), 0);
		CU_ASSERT_EQUAL(atomic_load(role), 0);
		CU_ASSERT_EQUAL(atomic_load(&l->spsc.roles.a), 0);

		/* a live holder: EBUSY; after a clean close: free, claimable */
		pid_t pid = start_holder(&h, p, mpsc);
		uint64_t holder_tok = 0;
		CU_ASSERT_EQUAL(shmk_token_for_pid(pid, &holder_tok), 0);
		CU_ASSERT_EQUAL(atomic_load(role), holder_tok);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
		close(h.hold[1]);
		CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
		CU_ASSERT_EQUAL(atomic_load(role), 0);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
		CU_ASSERT_EQUAL(atomic_load(role), shmk_self_token());
		shmk_events_rx_close(rx);
		CU_ASSERT_EQUAL(atomic_load(role), 0);

		/* a killed holder, still a zombie: the role is reclaimable */
		CU_ASSERT_EQUAL_FATAL(mpsc ? shmk_events_split_mpsc(r, &tx, &rx)
					   : shmk_events_split_spsc(r, &tx, &rx), 0);
		pid = start_holder(&h, p, mpsc);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
		CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		CU_ASSERT_EQUAL(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
		CU_ASSERT_NOT_EQUAL(atomic_load(role), 0); /* it never released */
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
		CU_ASSERT_EQUAL(atomic_load(role), shmk_self_token());
		CU_ASSERT_EQUAL(h_wait(pid, 30), 128 + SIGKILL);
		close(h.hold[1]);
		/* the reclaimed receiver resumes from the shared head */
		CU_ASSERT_EQUAL(shmk_events_try_send(tx, "m", 1, NULL), 0);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
		CU_ASSERT_EQUAL(n, 1);
		shmk_events_tx_close(tx);
		shmk_events_rx_close(rx);
	}
	shmk_events_close(r);
}
H_REGISTER(roles, 60, "events.split.validate", "events.role.claim", "events.role.busy", "events.role.reclaim", "events.role.release");

/* A fresh MPSC queue: "1" and "2" sent, "1" received, the consumer's
 * handle closed. */
static void one_of_two_taken(struct evq *q)
{
	uint8_t buf[8];
	size_t n;

	evq_open(q, 1);
	CU_ASSERT_EQUAL(shmk_events_try_send(q->tx, "1", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(q->tx, "2", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q->rx, buf, sizeof(buf), &n, NULL), 0);
	shmk_events_rx_close(q->rx);
	q->rx = NULL;
}

/* the MPSC consumer died after freeing the head cell, before storing head */
static void consumer_window(void)
{
	struct evq q;
	uint8_t buf[8];
	size_t n;

	one_of_two_taken(&q);
	struct shmk_events_layout *l = q.l;
	/* roll head back as if the store of head never happened, and leave a
	 * dead holder in the role word */
	uint64_t h = atomic_load(&l->mpsc.head.v);
	atomic_store(&l->mpsc.head.v, h - 1);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	uint64_t dead = 0;
	CU_ASSERT_EQUAL(shmk_token_for_pid(pid, &dead), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	atomic_store(&l->mpsc.roles.a, dead);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(q.r, &q.tx, &q.rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '2');
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	evq_close(&q, false);
}
H_REGISTER(consumer_window, 20, "events.role.reclaim");

/* The same window, but the producers keep going while no consumer runs
 * and fill the queue: the cell the dead consumer freed is claimed and
 * published for the next lap (seq == head + capacity + 1).  The
 * replacement must still step past it and deliver everything in order. */
static void consumer_window_lap(void)
{
	struct evq q;
	struct shmk_events_tx *tx2;
	uint8_t buf[8];
	size_t n;
	uint32_t i, sent = 0;

	one_of_two_taken(&q);
	struct shmk_events_layout *l = q.l;
	atomic_store(&l->mpsc.head.v, atomic_load(&l->mpsc.head.v) - 1); /* died before head */
	while (shmk_events_try_send(q.tx, &sent, sizeof(sent), NULL) == 0)
		sent++;
	CU_ASSERT_EQUAL(sent, SHMK_EVENTS_QUEUE_CAP - 1);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(q.r, &tx2, &q.rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '2');
	for (i = 0; i < sent; i++) {
		uint32_t v = ~0u;
		if (shmk_events_try_recv(q.rx, &v, sizeof(v), &n, NULL) || v != i)
			break;
	}
	CU_ASSERT_EQUAL(i, sent);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx2);
	evq_close(&q, false);
}
H_REGISTER(consumer_window_lap, 20, "events.role.reclaim");

/* A process with two handles to the SPSC sender role: the second is
 * refused while the first lives (its cached tail would overwrite the
 * first's messages), and takes over once the first is closed. */
static int two_senders(void *arg)
{
	struct shmk_events *r;
	struct shmk_events_tx *tx1, *tx2;
	struct shmk_events_rx *rx1, *rx2;

	if (shmk_events_open_path((const char *)arg, &r))
		return 10;
	if (shmk_events_split_spsc(r, &tx1, &rx1) || shmk_events_split_spsc(r, &tx2, &rx2))
		return 11;
	shmk_events_rx_close(rx1);
	shmk_events_rx_close(rx2);
	if (shmk_events_try_send(tx1, "1", 1, NULL))
		return 12;
	if (shmk_events_try_send(tx2, "2", 1, NULL) != SHMK_EBUSY ||
	    !strstr(shmk_errdetail(), "another handle of this process"))
		return 13;
	if (shmk_events_try_send(tx1, "3", 1, NULL))
		return 14;
	shmk_events_tx_close(tx1);
	if (shmk_events_try_send(tx2, "4", 1, NULL))	/* resumes from the shared tail */
		return 15;
	shmk_events_tx_close(tx2);
	shmk_events_close(r);
	return 0;
}

static void role_one_handle(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_tx *tx1, *tx2, *ptx1, *ptx2;
	struct shmk_events_rx *rx1, *rx2, *c1, *c2;
	char buf[8];
	size_t n;

	pid_t pid = t_fork_run(two_senders, p);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	/* the receiver side, two handles in this process */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx1, &rx1), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx2, &rx2), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx1, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '1');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SPSC receiver"));
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx1, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '3');
	shmk_events_rx_close(rx1);
	/* every message the sender process had accepted, once, in order */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '4');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	/* the MPSC consumer too; producers are many by design */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &ptx1, &c1), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &ptx2, &c2), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(ptx1, "a", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(ptx2, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(c1, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(c2, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
	CU_ASSERT_EQUAL(shmk_events_try_recv(c1, buf, sizeof(buf), &n, NULL), 0);
	/* our own token with no handle of ours behind it (as after exec, or
	 * a close that found the file cut): resumed, not refused */
	shmk_events_tx_close(tx1);
	shmk_events_tx_close(tx2);
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->spsc.roles.a), 0);
	atomic_store(&LAYOUT(r)->spsc.roles.a, shmk_self_token());
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx1, &rx1), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx1, "5", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '5');
	shmk_events_rx_close(rx1);
	shmk_events_tx_close(tx1);
	shmk_events_tx_close(ptx2);
	shmk_events_rx_close(rx2);
	shmk_events_rx_close(c1);
	shmk_events_rx_close(c2);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(role_one_handle, 30, "events.role.one-handle");

/* Sender process: fills the queue until it is full.  Each failure must
 * describe itself, not the failure before it. */
static int detail_sender(void *arg)
{
	struct evq q;
	uint8_t junk[64] = { 0 };
	uint32_t i = 0;

	if (evq_attach(&q, arg, 0))
		return 10;
	if (shmk_events_validate(junk, sizeof(junk), NULL) >= 0 || !*shmk_errdetail())
		return 11;	/* an older failure with its own detail */
	while (shmk_events_try_send(q.tx, &i, sizeof(i), NULL) == 0)
		i++;
	if (i != SHMK_EVENTS_QUEUE_CAP)
		return 12;
	if (!strstr(shmk_errdetail(), "SHMK_EFULL"))
		return 13;
	evq_close(&q, false);
	return 0;
}

static void error_detail(void)
{
	struct evq q;
	struct shmk_events_tx *tx2;
	struct shmk_events_rx *rx2;
	uint8_t junk[64] = { 0 };
	uint32_t v, i;
	size_t n;

	evq_open(&q, 0);
	shmk_events_tx_close(q.tx);
	shmk_events_rx_close(q.rx);
	pid_t pid = t_fork_run(detail_sender, (void *)q.path);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(q.r, &q.tx, &q.rx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(q.r, &tx2, &rx2), 0);
	for (i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		if (shmk_events_try_recv(q.rx, &v, sizeof(v), &n, NULL) || v != i)
			break;
	CU_ASSERT_EQUAL(i, SHMK_EVENTS_QUEUE_CAP);
	/* the queue the peer filled is drained: empty, said as such, after an
	 * unrelated failure with its own detail */
	CU_ASSERT(shmk_events_validate(junk, sizeof(junk), NULL) < 0);
	char older[256];
	snprintf(older, sizeof(older), "%s", shmk_errdetail());
	CU_ASSERT(older[0] != '\0');
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, &v, sizeof(v), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_STRING_NOT_EQUAL(shmk_errdetail(), older);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SHMK_EEMPTY"));
	/* too small a buffer for the peer's next message, then a role claim */
	CU_ASSERT_EQUAL(shmk_events_try_send(q.tx, "abcdef", 6, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(q.rx, &v, 2, &n, NULL), SHMK_EBUFSMALL);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SHMK_EBUFSMALL"));
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, &v, sizeof(v), &n, NULL), SHMK_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SPSC receiver"));
	CU_ASSERT_EQUAL(shmk_events_try_send(NULL, "x", 1, NULL), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "EINVAL"));
	shmk_events_tx_close(tx2);
	shmk_events_rx_close(rx2);
	evq_close(&q, true);
}
H_REGISTER(error_detail, 30, "common.error.detail");

/* ------------------------------------------------------------ keepalive, truncation */

static void keepalive(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[8];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	shmk_events_close(r);
	CU_ASSERT_EQUAL(mapped(p), 1);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "abc", 3, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 3);
	shmk_events_tx_close(tx);
	CU_ASSERT_EQUAL(mapped(p), 1);
	shmk_events_rx_close(rx);
	CU_ASSERT_EQUAL(mapped(p), 0);

	/* a file truncated under the mapping: split refuses */
	r = must_open(p, NULL);
	CU_ASSERT_EQUAL(truncate(p, 4096), 0);
	CU_ASSERT_EQUAL(shmk_events_split_spsc(r, &tx, &rx), SHMK_ETRUNCATED);
	shmk_events_close(r);
}
H_REGISTER(keepalive, 20, "events.handle.keepalive", "events.split.truncated");
