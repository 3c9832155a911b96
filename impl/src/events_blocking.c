/* SPDX-License-Identifier: MIT */
/*
 * events_blocking.c - the events region's blocking calls: shmk_events_send
 * and shmk_events_recv run events_queue.c's try_send / try_recv under
 * wait.c's eventcount, on the direction's word of the wake section, and
 * tell a dead peer from an absent one while they wait.
 */
#include "shmkit/events.h"

#include <errno.h>
#include <stdbool.h>

#include "internal.h"
#include "wait.h"
#include "events_int.h"

/* ------------------------------------------------------------ blocking */

/* A role word names a process that claimed the role and died without
 * releasing it.  0 (never claimed, or a clean close) is an absent peer,
 * not a dead one: r[impl events.wait.peer-absent]. */
static bool role_dead(_Atomic uint64_t *w)
{
	/* acquire: pairs with the acq_rel CAS of the role word in claim_role */
	uint64_t tok = SHMK_LOAD_ACQ_U64(w);

	return tok && !shmk_token_alive(tok);
}

/* r[impl events.wait.peerdead+2] The receiving side of a blocked sender is
 * dead: the SPSC receiver, or the MPSC consumer. */
static bool tx_peer_dead(struct shmk_events_tx *tx)
{
	struct shmk_events_layout *l = L(tx->m);

	return role_dead(tx->kind == EV_SPSC ? &l->spsc.roles.b : &l->mpsc.roles.a);
}

/* r[impl events.wait.peerdead+2] The sending side of a blocked receiver is
 * dead: the SPSC sender, or every registered MPSC producer (at least one).
 * An MPSC position claimed but unpublished is not "nothing pending": the
 * dead-producer skip (events.mpsc.dead-producer+2) frees it, and what was
 * published behind it is still delivered. */
static bool rx_peer_dead(struct shmk_events_rx *rx)
{
	struct shmk_events_layout *l = L(rx->m);
	bool any = false;

	if (rx->kind == EV_SPSC)
		return role_dead(&l->spsc.roles.a);
	/* r[impl events.wait.peerdead-lanes] lanes: the receive that ran
	 * before this looked at every lane (full_look) and found nothing
	 * announced; only the tokens are left to read */
	/* acquire: pairs with the release CAS of tail in mpsc_claim */
	if (!rx->lanes && SHMK_LOAD_ACQ_U64(&l->mpsc.tail.v) != rx->head)
		return false;
	/* bounded: 64 rows, one /proc read per row holding a token */
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		/* acquire: pairs with the acq_rel CAS of token in register_producer */
		uint64_t tok = SHMK_LOAD_ACQ_U64(&l->mpsc.producers[i].token);
		if (!tok)
			continue;
		if (shmk_token_alive(tok))
			return false;
		any = true;
	}
	return any;
}

/* r[impl events.wait.peerdead+2] 1 to keep waiting, else the result: the
 * operation's own (what the peer completed before it died still counts:
 * look once more after seeing the death), or SHMK_EPEERDEAD when the peer
 * is still dead after that look (a replacement may have claimed the role
 * meanwhile). */
static int peer_gone(struct shmk_events_tx *tx, struct shmk_events_rx *rx, int (*op)(void *),
		     void *arg)
{
	if (!(tx ? tx_peer_dead(tx) : rx_peer_dead(rx)))
		return 1;
	int rc = op(arg);
	if (rc != 1)
		return rc;
	if (!(tx ? tx_peer_dead(tx) : rx_peer_dead(rx)))
		return 1;
	return shmk_fail(SHMK_EPEERDEAD, "events: the %s died and nothing is pending",
			 tx ? (tx->kind == EV_SPSC ? "spsc receiver" : "mpsc consumer")
			    : (rx->kind == EV_SPSC ? "spsc sender" : "last mpsc producer"));
}

struct op {
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	const void *sbuf;
	void *rbuf;
	size_t len, cap, *len_out;
	struct shmk_events_sizes *sizes;
};

/* 1 = not yet (full/empty), else the operation's result */
static int op_send(void *a)
{
	struct op *o = a;
	int rc = shmk_events_try_send(o->tx, o->sbuf, o->len, o->sizes);
	return rc == SHMK_EFULL ? 1 : rc;
}

static int op_recv(void *a)
{
	struct op *o = a;
	/* r[impl events.mpsc.idle-polls] every poll of a blocking receive,
	 * spinning or woken, looks at tail and the clock: the count is set
	 * spent before each one, so the saving is try_recv's alone, and a
	 * waiter's skip and unblock are timed from its first poll (a count
	 * would add 64 spins or 64 half-period wake-ups, 32 liveness periods) */
	o->rx->idle_polls = EV_IDLE_POLLS;
	/* r[impl events.mpsc.sweep+2] and every poll of a blocking lanes
	 * receive looks at every lane, whatever the doorbell says: the re-check
	 * after the waiter's announcement trusts no hint (events.wake.park+2) */
	o->rx->full_look = true;
	int rc = shmk_events_try_recv(o->rx, o->rbuf, o->cap, o->len_out, o->sizes);
	o->rx->full_look = false;
	return rc == SHMK_EEMPTY ? 1 : rc;
}

/* wait.c's callbacks: the operation itself, the size check, the peer */
static int op_covers(void *a)
{
	struct op *o = a;

	return ev_covers(o->tx ? o->tx->m : o->rx->m);
}

/* r[impl events.wait.peerdead+2] */
static int op_peer(void *a)
{
	struct op *o = a;

	return peer_gone(o->tx, o->rx, o->tx ? op_send : op_recv, o);
}

/* r[impl events.wake.park+2] r[impl events.wake.spin]
 * r[impl events.truncate.wait] r[impl events.wait.peerdead-cadence]
 * wait.c spins by time, then parks on the direction's word, checking the
 * file size before its first park and after each wake-up and the peer
 * every SHMK_LIVENESS_MS/4 (the first look after one period). */
static int blocking(struct shmk_events_wakeword *ww, int64_t timeout_ns, int64_t max_slice,
		    int (*op)(void *), struct op *o)
{
	struct shmk_wait w = ev_wait(ww);
	struct shmk_wait_ops ops = { .ready = op, .covers = op_covers, .peer = op_peer,
				     .arg = o, .max_slice = max_slice };

	return shmk_wait_until(&w, &ops, timeout_ns);
}

int shmk_events_send(struct shmk_events_tx *tx, const void *buf, size_t len,
		     int64_t timeout_ns, struct shmk_events_sizes *sizes)
{
	if (!tx)
		return SHMK_FAIL(-EINVAL);
	struct shmk_events_wake *wk = W(tx->m);
	/* r[impl events.wake.capability] */
	if (!wk)
		return shmk_fail(SHMK_EINCOMPAT, "events: region has no wake section");
	/* r[impl events.wake.first-polls+2] one try before the wait's machinery;
	 * r[impl events.wake.no-full-empty] a full queue is no result: the
	 * wait goes on (op_send maps SHMK_EFULL to "not yet") */
	if (timeout_ns != 0) {
		int rc = shmk_events_try_send(tx, buf, len, sizes);
		if (rc != SHMK_EFULL)
			return rc;
	}
	struct op o = { .tx = tx, .sbuf = buf, .len = len, .sizes = sizes };
	return blocking(tx->kind == EV_SPSC ? &wk->spsc_space : &wk->mpsc_space, timeout_ns, -1,
			op_send, &o);
}

/* r[impl events.wake.first-polls+2] An SPSC receive polls the queue itself
 * first (an MPSC or lanes one sets up every poll: op_recv), by time, not by
 * a count: a poll's cost differs between builds and CPUs, a round trip's
 * between placements.  The clock is read only after an empty first poll
 * (a message not there yet cannot arrive sooner than a one-way trip) and
 * then every EV_FIRST_POLL_CHECK polls; the polls' time comes off the
 * timeout.  SHMK_EEMPTY: none found, *timeout_ns what is left of it. */
static int first_polls(struct shmk_events_rx *rx, void *buf, size_t cap, size_t *len_out,
		       int64_t *timeout_ns, struct shmk_events_sizes *sizes)
{
	int rc = shmk_events_try_recv(rx, buf, cap, len_out, sizes);
	if (rc != SHMK_EEMPTY)
		return rc;
	int64_t start = shmk_now_ns(), window = EV_FIRST_POLL_NS;
	if (*timeout_ns >= 0 && *timeout_ns < window)
		window = *timeout_ns;
	for (unsigned i = 1;; i++) {
		shmk_cpu_relax();
		rc = shmk_events_try_recv(rx, buf, cap, len_out, sizes);
		if (rc != SHMK_EEMPTY)
			return rc;
		if (i % EV_FIRST_POLL_CHECK == 0) {
			int64_t spent = shmk_now_ns() - start;
			if (spent >= window) {
				if (*timeout_ns >= 0)
					*timeout_ns = *timeout_ns > spent ? *timeout_ns - spent : 0;
				return rc; /* the last poll's SHMK_EEMPTY */
			}
		}
	}
}

int shmk_events_recv(struct shmk_events_rx *rx, void *buf, size_t cap, size_t *len_out,
		     int64_t timeout_ns, struct shmk_events_sizes *sizes)
{
	if (!rx)
		return SHMK_FAIL(-EINVAL);
	struct shmk_events_wake *wk = W(rx->m);
	if (!wk)
		return shmk_fail(SHMK_EINCOMPAT, "events: region has no wake section");
	/* r[impl events.wake.no-full-empty] an empty queue after the first
	 * polls is no result, the wait goes on */
	if (timeout_ns != 0 && rx->kind == EV_SPSC && shmk_wait_spins()) {
		int rc = first_polls(rx, buf, cap, len_out, &timeout_ns, sizes);
		if (rc != SHMK_EEMPTY)
			return rc;
	}
	struct op o = { .rx = rx, .rbuf = buf, .cap = cap, .len_out = len_out, .sizes = sizes };
	/* An MPSC consumer must wake up to notice a dead producer's cell. */
	int64_t slice = rx->kind == EV_MPSC ? rx->liveness_ns / 2 + 1 : -1;
	return blocking(rx->kind == EV_SPSC ? &wk->spsc_data : &wk->mpsc_data, timeout_ns, slice,
			op_recv, &o);
}
