/* SPDX-License-Identifier: MIT */
/*
 * events.c - benches of the events region (impl/include/shmkit/events.h),
 * every one between pinned processes, payload written by the sender and
 * read (every byte) by the receiver, copying API (try_send / try_recv) as
 * the baselines copy too.
 *
 *   events/spsc_rtt/<S>/cross-cpu      ping on region A's SPSC queue, pong on B's
 *   events/mpsc_rtt/<S>/cross-cpu      the same on the MPSC queues (1 producer)
 *   events/spsc_tput/<S>/cross-cpu     one producer process, measurer consumes
 *   events/mpsc1_tput/<S>/cross-cpu    MPSC, 1 producer process
 *   events/mpsc2_tput/<S>/cross-cpu    MPSC, 2 producer processes (3 spinning
 *                                      processes: oversubscribed on 2 vCPUs)
 *   events/zc_tput/<S>/cross-cpu       SPSC zero-copy (reserve/publish,
 *                                      recv_view/release), vs the copying form
 *   events/wake_rtt/8/<placement>      blocking send/recv (cross-cpu: 200 us
 *                                      gap before each ping so the peer has
 *                                      parked); vs the futex round trip with
 *                                      the same idle/spin/park protocol
 *                                      (futexsp.h), interleaved
 *   events/spin_park_rtt/8/cross-cpu   blocking send/recv back to back
 *                                      (spin-then-park at saturation), vs
 *                                      the spinning SPSC round trip on two
 *                                      regions without the wake section,
 *                                      interleaved
 *   events/spsc_ilv_rtt/8/cross-cpu    self-checks of those interleavings:
 *   events/wake_ilv_rtt/8/<placement>  the row's own round trip alternating
 *                                      with itself on a second pair of
 *                                      regions (ilv_ratio should be 1)
 *   events/load_p99/<L>/cross-cpu      open loop at L % of the SPSC 64 B
 *                                      saturation rate measured in the same
 *                                      invocation; latency = receive time -
 *                                      INTENDED send time (coordinated-
 *                                      omission safe)
 *
 * Every round trip publishes parks_per_msg and futex_calls_per_msg, counted
 * by the bench build of the library in both processes (futexcount.h).
 * Floors: the ping-pong of the same bytes (round trips), the Lamport ring
 * of the same element size (throughput).  Interleaved (ilv.h): spsc_rtt
 * with the ping-pong, spin_park_rtt with spsc_rtt's protocol, wake_rtt with
 * the futex round trip, spsc_tput with the Lamport ring, mpsc1_tput with
 * spsc_tput's protocol (enum ev_floor says where each runs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shmkit/events.h"

#include "common.h"
#include "futexcount.h"
#include "futexsp.h"
#include "ilv.h"
#include "peers/peers.h"

#define EV_MAXMSG SHMK_EVENTS_SLOT_DATA
#define EV_CALIB_MSGS 200000ull

enum ev_q { EVQ_SPSC, EVQ_MPSC };

/* The floor a round-trip bench runs interleaved with its own (ilv.h). */
enum ev_floor {
	EVF_NONE,
	EVF_PP,	   /* the ping-pong of the same bytes (floors.h) */
	EVF_SPIN,  /* events/spsc_rtt's round trip: try_send / try_recv
		    * spinning, on regions c and d opened without the wake
		    * section (on one with it, try_send pays the waker's fence) */
	EVF_BLOCK, /* blocking send / recv on regions c and d (self-check) */
	EVF_FUTEX, /* the futex round trip with events' wait protocol */
};

struct ev_sh {
	struct bc_ctl c;
	char name_a[64], name_b[64];
	char name_c[64], name_d[64]; /* EVF_SPIN, EVF_BLOCK: the floor's ping, pong */
	int q;		     /* enum ev_q */
	int blocking;	     /* regions have the wake section; use send/recv */
	int producers;	     /* throughput: producer processes */
	int zc;		     /* throughput: reserve/publish + recv_view/release */
	uint64_t gap_ns;     /* wake_rtt: measurer idles this long before a ping */
	double rate;	     /* load: messages per ns the peer offers */
	_Atomic uint64_t t0; /* load: intended time of message 0 */
	_Atomic uint32_t calib_done;
	_Atomic uint32_t prod_ready;
	struct bc_fx peer_fx; /* the peer's futex calls, written before it exits */
	/* interleaved floor (ilv.h), 0 = none: round trips: a block of the
	 * floor (rtt_floor) after every `ilv` round trips of the queue;
	 * streams: 1 the Lamport ring, 2 (MPSC) the SPSC queue of region b,
	 * blocks handed out through ik */
	uint64_t ilv;
	int rtt_floor;	      /* round trips: enum ev_floor */
	struct pp_sh *pp;
	/* EVF_FUTEX: the words, ping (measurer -> peer) and pong, each with
	 * its receiver's announcement, on lines of their own (futexsp.h) */
	_Alignas(BC_LINE) _Atomic uint32_t fa, wa;
	_Alignas(BC_LINE) _Atomic uint32_t fb, wb;
	_Alignas(BC_LINE) struct fsp_count peer_fsp; /* the peer's, written before it exits */
	struct lring *lr;
	size_t lr_len;
	struct ilv_ctl ik;    /* streams: the block the producer may send */
};

static unsigned ev_seq;

static void ev_names(struct ev_sh *sh)
{
	snprintf(sh->name_a, sizeof sh->name_a, "shmk-bench-ev-%d-%u-a", (int)getpid(), ev_seq);
	snprintf(sh->name_b, sizeof sh->name_b, "shmk-bench-ev-%d-%u-b", (int)getpid(), ev_seq);
	snprintf(sh->name_c, sizeof sh->name_c, "shmk-bench-ev-%d-%u-c", (int)getpid(), ev_seq);
	snprintf(sh->name_d, sizeof sh->name_d, "shmk-bench-ev-%d-%u-d", (int)getpid(), ev_seq);
	ev_seq++;
}

/* A bench's shared area with fresh region names, queue q; NULL (the bench
 * skipped with the error) when it could not be mapped. */
static struct ev_sh *ev_area(gbs_state *st, int q)
{
	struct ev_sh *sh = bc_shared(sizeof *sh);
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return NULL;
	}
	ev_names(sh);
	sh->q = q;
	return sh;
}

static void ev_unlink(struct ev_sh *sh)
{
	const char *names[] = {sh->name_a, sh->name_b, sh->name_c, sh->name_d};
	char p[128];
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "/dev/shm/%s", names[i]);
		unlink(p);
	}
}

/* The interleaved floor's shared memory and samples (ilv.h). */
static void ev_ilv_free(struct ev_sh *sh, struct ilv *v)
{
	bc_unshared(sh->lr, sh->lr_len);
	sh->lr = NULL;
	ilv_rtt_close(v, sh->pp);
	sh->pp = NULL;
}

struct ev_end {
	struct shmk_events *r;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
};

/* Opens (creates or joins) region `name` and splits the queue q. */
static int ev_end_open(struct ev_end *e, const char *name, int q, bool blocking)
{
	/* MPSC: the per-producer lanes (SHMK_EVENTS_CAP_LANES) */
	struct shmk_events_opts o = {.blocking = blocking, .lanes = q == EVQ_MPSC};
	memset(e, 0, sizeof *e);
	int rc = shmk_events_open_with(name, &o, &e->r);
	if (rc)
		return rc;
	rc = q == EVQ_SPSC ? shmk_events_split_spsc(e->r, &e->tx, &e->rx)
			   : shmk_events_split_mpsc(e->r, &e->tx, &e->rx);
	return rc;
}

static void ev_end_close(struct ev_end *e)
{
	shmk_events_tx_close(e->tx);
	shmk_events_rx_close(e->rx);
	shmk_events_close(e->r);
	memset(e, 0, sizeof *e);
}

static void peer_fail(struct ev_sh *sh, const char *what, int rc)
{
	snprintf(sh->c.msg, sizeof sh->c.msg, "events peer: %s: %s (%s)", what,
		 shmk_strerror(rc), shmk_errdetail());
}

/* A peer's send returned rc: 0, 1 when stopped (a send cut short by the
 * end), -1 failed (c.msg says why). */
static int peer_sent(struct ev_sh *sh, int rc)
{
	if (!rc)
		return 0;
	if (bc_stopped(&sh->c))
		return 1;
	peer_fail(sh, "send", rc);
	return -1;
}

/* Spinning send / receive with a liveness check every 2^16 rounds. */
static inline int ev_send_spin(struct shmk_events_tx *tx, const void *buf, size_t len,
			       struct bc_ctl *c, struct bc_run *r)
{
	uint32_t spins = 0;
	for (;;) {
		int rc = shmk_events_try_send(tx, buf, len, NULL);
		if (rc != SHMK_EFULL)
			return rc;
		bc_relax();
		if (!(++spins & 0xffff) && (r ? !bc_run_alive(r) : bc_stopped(c)))
			return SHMK_EFULL;
	}
}

static inline int ev_recv_spin(struct shmk_events_rx *rx, void *buf, size_t *len,
			       struct bc_ctl *c, struct bc_run *r)
{
	uint32_t spins = 0;
	for (;;) {
		int rc = shmk_events_try_recv(rx, buf, EV_MAXMSG, len, NULL);
		if (rc != SHMK_EEMPTY)
			return rc;
		bc_relax();
		if (!(++spins & 0xffff) && (r ? !bc_run_alive(r) : bc_stopped(c)))
			return SHMK_EEMPTY;
	}
}

/* ------------------------------------------------------------ round trip */
/* Peer: answers one round trip, received on `in`, sent back on `out`
 * (blocking send / recv, or spinning try_*); 0, 1 when stopped, -1 failed
 * (c.msg says why). */
static int ev_serve(struct ev_sh *sh, struct ev_end *in, struct ev_end *out, bool blocking,
		    unsigned char *buf, uint64_t *sink)
{
	size_t len = 0;
	int rc;
	if (blocking) {
		while ((rc = shmk_events_recv(in->rx, buf, EV_MAXMSG, &len, 100000000, NULL)) ==
		       -ETIMEDOUT)
			if (bc_stopped(&sh->c))
				return 1;
	} else {
		rc = ev_recv_spin(in->rx, buf, &len, &sh->c, NULL);
		if (rc == SHMK_EEMPTY)
			return 1;
	}
	if (rc) {
		peer_fail(sh, "recv", rc);
		return -1;
	}
	if (len == 8 && bc_stopped(&sh->c))
		return 1;
	uint64_t seq = bc_read(buf, len, sink);
	bc_fill(buf, len, seq + 1);
	return peer_sent(sh, blocking ? shmk_events_send(out->tx, buf, len, 1000000000, NULL)
				      : ev_send_spin(out->tx, buf, len, &sh->c, NULL));
}

/* Peer: after each round trip of the bench's own it served (*served
 * counts them), a block of the floor's when one is due (ilv.h), the
 * floor's stamps *want, *want + 2, ...; as ev_serve. */
static int ev_floor_after(struct ev_sh *sh, struct ev_end *c, struct ev_end *d, uint64_t *served,
			  uint64_t *want, unsigned char *buf, uint64_t *sink)
{
	if (!sh->ilv || ++*served % sh->ilv)
		return 0;
	if (sh->rtt_floor == EVF_PP)
		return ilv_pp_serve(sh->pp, want, sh->ilv, &sh->c, sink);
	for (uint64_t i = 0; i < sh->ilv; i++, *want += 2) {
		int rc;
		if (sh->rtt_floor == EVF_FUTEX) {
			if (fsp_recv(&sh->fa, &sh->wa, (uint32_t)*want, &sh->c, NULL, &sh->peer_fsp))
				return 1;
			rc = fsp_send(&sh->fb, &sh->wb, (uint32_t)(*want + 1), &sh->peer_fsp);
			if (rc)
				peer_fail(sh, "FUTEX_WAKE", -errno);
		} else {
			rc = ev_serve(sh, c, d, sh->rtt_floor == EVF_BLOCK, buf, sink);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Opens regions c and d of a floor that runs on events' queue. */
static int ev_floor_open(struct ev_sh *sh, struct ev_end *c, struct ev_end *d)
{
	memset(c, 0, sizeof *c);
	memset(d, 0, sizeof *d);
	if (sh->rtt_floor != EVF_SPIN && sh->rtt_floor != EVF_BLOCK)
		return 0;
	int rc = ev_end_open(c, sh->name_c, EVQ_SPSC, sh->rtt_floor == EVF_BLOCK);
	return rc ? rc : ev_end_open(d, sh->name_d, EVQ_SPSC, sh->rtt_floor == EVF_BLOCK);
}

static void ev_floor_close(struct ev_end *c, struct ev_end *d)
{
	if (c->r)
		ev_end_close(c);
	if (d->r)
		ev_end_close(d);
}

static int ev_rtt_peer(void *arg)
{
	struct ev_sh *sh = arg;
	struct ev_end a, b, c, d;
	_Alignas(BC_LINE) unsigned char buf[EV_MAXMSG];
	uint64_t sink = 0;
	int rc = ev_end_open(&a, sh->name_a, sh->q, sh->blocking);
	if (!rc)
		rc = ev_end_open(&b, sh->name_b, sh->q, sh->blocking);
	if (!rc)
		rc = ev_floor_open(sh, &c, &d);
	if (rc) {
		peer_fail(sh, "open", rc);
		return 1;
	}
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	struct bc_fx fx0 = bc_fx_now();
	uint64_t served = 0, floor_want = 1;
	for (;;) {
		rc = ev_serve(sh, &a, &b, sh->blocking, buf, &sink);
		if (!rc)
			rc = ev_floor_after(sh, &c, &d, &served, &floor_want, buf, &sink);
		if (rc < 0) {
			/* a measurer parked in the futex floor's wait must see it */
			atomic_store_explicit(&sh->c.stop, 1, memory_order_relaxed);
			if (sh->rtt_floor == EVF_FUTEX)
				fsp_poke(&sh->fb, &sh->peer_fsp);
			return 1;
		}
		if (rc)
			break; /* stopped */
	}
	/* read by the measurer after it reaped this process */
	sh->peer_fx = bc_fx_since(fx0);
	ev_end_close(&a);
	ev_end_close(&b);
	ev_floor_close(&c, &d);
	return (int)(sink & 0);
}

struct ev_rtt_arg {
	int q;
	size_t size;
	bool blocking;
	uint64_t gap_ns;
	enum bc_place place;
	int floor;	/* enum ev_floor: interleaved with it (ilv.h) */
	uint64_t block; /* the floor's block at most; 0: ILV_RTT_BLOCK */
};

/* The wake round trips' blocks: 32 round trips, at least 0.7 ms back to
 * back on one CPU and 7 ms with the idle gap, about 60 ms when a round
 * trip's p50 is slow under load (a block of ILV_RTT_BLOCK would last
 * 100 ms there at the least: long enough for the host to move the vCPUs). */
#define EV_WAKE_BLOCK 32

/* The wake self-checks' round trips, a fixed count: the idle gap is not
 * timed, so gbench's min_time (0.25 s of 14 us round trips) would last 8 s
 * with it, and under load, when a round trip's mean is ten times its p50,
 * it gives three block pairs.  4096 on one CPU (0.2 s, 128 pairs), 2048
 * with the gap (0.9 s, 64 pairs). */
#define EV_SELF_RTTS(gap) ((gap) ? 2048 : 4096)

/* A wrong reply (not an SHMK_E* / -errno). */
#define EV_BAD_REPLY 1

static void ev_idle(uint64_t gap_ns)
{
	if (!gap_ns)
		return;
	uint64_t until = bc_now() + gap_ns;
	while (bc_now() < until)
		bc_relax();
}

/* Measurer: one round trip stamped seq of `size` bytes, out on `out`,
 * back on `in`, timed into *ns (filling the message and reading the reply
 * included); 0, an error, or EV_BAD_REPLY. */
static int ev_rtt_once(struct ev_end *out, struct ev_end *in, bool blocking, size_t size,
		       uint64_t seq, unsigned char *buf, uint64_t *sink, struct ev_sh *sh,
		       struct bc_run *r, uint64_t *ns)
{
	size_t len = 0;
	int rc;
	uint64_t t0 = bc_now();
	bc_fill(buf, size, seq);
	if (blocking) {
		rc = shmk_events_send(out->tx, buf, size, 1000000000, NULL);
		if (!rc)
			do
				rc = shmk_events_recv(in->rx, buf, EV_MAXMSG, &len, 100000000, NULL);
			while (rc == -ETIMEDOUT && bc_run_alive(r));
	} else {
		rc = ev_send_spin(out->tx, buf, size, &sh->c, r);
		if (!rc)
			rc = ev_recv_spin(in->rx, buf, &len, &sh->c, r);
	}
	uint64_t got = rc ? 0 : bc_read(buf, len, sink);
	*ns = bc_now() - t0;
	return rc ? rc : got != seq + 1 || len != size ? EV_BAD_REPLY : 0;
}

/* Measurer: the bench skipped with a failed round trip's error, once. */
static void ev_rtt_failed(struct bc_run *r, const char *what, int rc)
{
	if (!r->failed) {
		char m[160];
		snprintf(m, sizeof m, "%s: %s (%s)", what,
			 rc == EV_BAD_REPLY ? "bad reply" : shmk_strerror(rc),
			 rc == EV_BAD_REPLY ? "" : shmk_errdetail());
		gbs_skip_with_error(r->st, m);
		r->failed = true;
	}
}

/* Measurer: a block of the floor's round trips (stamps *seq, *seq + 2,
 * ...), each after the bench's idle gap; timed: kept as floor samples and
 * the block pair closed (ilv.h).  False when one failed. */
static bool ev_floor_block(struct ev_sh *sh, const struct ev_rtt_arg *a, struct ilv *v,
			   struct bc_run *r, struct ev_end *c, struct ev_end *d, uint64_t *seq,
			   bool timed, unsigned char *buf, uint64_t *sink, struct fsp_count *fx)
{
	if (sh->rtt_floor == EVF_PP)
		return ilv_pp_block(v, r, sh->pp, seq, timed, sink);
	for (uint64_t i = 0; i < v->block; i++, *seq += 2) {
		uint64_t ns;
		int rc;
		ev_idle(a->gap_ns);
		if (sh->rtt_floor == EVF_FUTEX) {
			uint64_t t0 = bc_now();
			rc = fsp_send(&sh->fa, &sh->wa, (uint32_t)*seq, fx) ? -errno : 0;
			/* a peer that fails sets stop and pokes this wait
			 * (ev_rtt_peer): its message, not one of ours, is
			 * the row's error (bc_run_end reaps it); a dead one
			 * bc_run_alive reported */
			if (!rc && fsp_recv(&sh->fb, &sh->wb, (uint32_t)(*seq + 1), &sh->c, r, fx))
				return false;
			ns = bc_now() - t0;
		} else {
			rc = ev_rtt_once(c, d, sh->rtt_floor == EVF_BLOCK, a->size, *seq, buf, sink,
					 sh, r, &ns);
		}
		if (rc) {
			ev_rtt_failed(r, "interleaved floor", rc);
			return false;
		}
		if (timed)
			ilv_floor_add(v, ns);
	}
	ilv_pair_end(v);
	return true;
}

static void bm_ev_rtt(gbs_state *st, void *argp)
{
	const struct ev_rtt_arg *a = argp;
	struct ev_sh *sh = ev_area(st, a->q);
	struct ev_end ea, eb, ec, ed;
	struct bc_run r;
	_Alignas(BC_LINE) unsigned char buf[EV_MAXMSG];
	uint64_t sink = 0, seq = 0;
	struct ilv v = {0};
	uint64_t floor_seq = 1, floor_rtts = 0;
	struct fsp_count ffx = {0, 0};
	if (!sh)
		return;
	sh->blocking = a->blocking;
	sh->rtt_floor = a->floor;
	int64_t iters = gbs_max_iterations(st);
	uint64_t block = ilv_block(a->block ? a->block : ILV_RTT_BLOCK, iters);
	if (a->floor == EVF_PP) {
		if (!(sh->pp = ilv_rtt_open(&v, st, a->size))) {
			bc_unshared(sh, sizeof *sh);
			return;
		}
	} else if (a->floor != EVF_NONE &&
		   ilv_init(&v, st, block, (size_t)iters, (uint64_t)iters)) {
		bc_unshared(sh, sizeof *sh);
		return;
	}
	sh->ilv = a->floor != EVF_NONE ? v.block : 0;
	int rc = ev_end_open(&ea, sh->name_a, a->q, a->blocking);
	if (!rc)
		rc = ev_end_open(&eb, sh->name_b, a->q, a->blocking);
	if (!rc)
		rc = ev_floor_open(sh, &ec, &ed);
	if (rc) {
		char m[160];
		snprintf(m, sizeof m, "open: %s (%s)", shmk_strerror(rc), shmk_errdetail());
		gbs_skip_with_error(st, m);
		ev_unlink(sh);
		ev_ilv_free(sh, &v);
		bc_unshared(sh, sizeof *sh);
		return;
	}
	int64_t rtts = 0;
	struct bc_fx fx0 = bc_fx_now(), fx = {0, 0};
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(a->place), ev_rtt_peer, sh, (size_t)iters)) {
		/* with the idle gap, few: but at least a floor block, so the
		 * first, untimed, takes the floor's first parks (ilv_due
		 * counts the warm-up's round trips) */
		int warm = a->gap_ns ? (sh->ilv && v.block > 20 ? (int)v.block : 20) : PEERS_WARMUP;
		for (int64_t i = -warm; !r.failed; i++) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			ev_idle(a->gap_ns);
			uint64_t ns;
			rc = ev_rtt_once(&ea, &eb, a->blocking, a->size, seq, buf, &sink, sh, &r, &ns);
			if (rc) {
				ev_rtt_failed(&r, "round trip", rc);
				break;
			}
			seq += 2;
			rtts++;
			if (i >= 0) {
				bc_lat_add(&r.lat, ns);
				gbs_set_iteration_time(st, (double)ns * 1e-9);
				if (sh->ilv)
					ilv_add(&v, ns);
			}
			if (sh->ilv && ilv_due(&v, (uint64_t)rtts)) {
				if (!ev_floor_block(sh, a, &v, &r, &ec, &ed, &floor_seq, i >= 0, buf,
						    &sink, &ffx))
					break;
				floor_rtts += v.block;
			}
		}
	}
	fx = bc_fx_since(fx0);
	/* An 8-byte message after stop ends the peer's loop; a futex floor's
	 * ping word changed and woken, in case the peer waits there (a
	 * failed floor block). */
	atomic_store_explicit(&sh->c.stop, 1, memory_order_relaxed);
	if (sh->rtt_floor == EVF_FUTEX)
		fsp_poke(&sh->fa, &ffx);
	if (!r.failed) {
		bc_fill(buf, 8, UINT64_MAX);
		if (a->blocking)
			shmk_events_send(ea.tx, buf, 8, 100000000, NULL);
		else
			shmk_events_try_send(ea.tx, buf, 8, NULL);
	}
	bc_run_end(&r, 1);
	/* per message: a round trip is two, warm-up included (the peer cannot
	 * tell warm-up from timed messages); the self-check's floor goes
	 * through the library too */
	if (!r.failed)
		bc_fx_report(st, fx, sh->peer_fx,
			     2.0 * (double)(rtts + (a->floor == EVF_BLOCK ? (int64_t)floor_rtts : 0)));
	if (!r.failed && a->floor == EVF_FUTEX && floor_rtts)
		gbs_counter(st, "parks_per_msg_floor",
			    (double)(ffx.waits + sh->peer_fsp.waits) / (2.0 * (double)floor_rtts));
	if (sh->ilv && !r.failed)
		ilv_report_rtt(st, &v);
	gbs_counter(st, "sink", (double)(sink & 1));
	ev_end_close(&ea);
	ev_end_close(&eb);
	ev_floor_close(&ec, &ed);
	ev_unlink(sh);
	ev_ilv_free(sh, &v);
	bc_unshared(sh, sizeof *sh);
}

/* ------------------------------------------------------------ throughput */
struct ev_tput_arg {
	int q;
	size_t size;
	int producers;
	int zc;
};

/* Interleaved producer (SPSC, copying): its blocks through the queue
 * (ilv_produce runs the Lamport ring's). */
struct ev_ilv_ctx {
	struct ev_sh *sh;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	unsigned char *buf;
	uint64_t *sink;
	struct bc_run *r;
};

static int ev_ilv_send(void *ctxp, uint64_t first, uint64_t n)
{
	struct ev_ilv_ctx *x = ctxp;
	struct ev_sh *sh = x->sh;
	for (uint64_t i = first; i < first + n; i++) {
		bc_fill(x->buf, sh->c.size, i);
		int rc = peer_sent(sh, ev_send_spin(x->tx, x->buf, sh->c.size, &sh->c, NULL));
		if (rc)
			return rc;
	}
	return 0;
}

/* Producer: sends c.n / producers messages stamped (producer << 56 | i). */
static int ev_prod_peer(void *arg)
{
	struct ev_sh *sh = arg;
	struct ev_end a;
	_Alignas(BC_LINE) unsigned char buf[EV_MAXMSG];
	int id = (int)atomic_fetch_add(&sh->prod_ready, 1);
	int rc = ev_end_open(&a, sh->name_a, sh->q, false);
	if (rc) {
		peer_fail(sh, "open", rc);
		return 1;
	}
	shmk_events_rx_close(a.rx);
	a.rx = NULL;
	if (id == 0) {
		if (!bc_ready_wait_go(&sh->c))
			return 0;
	} else {
		while (!atomic_load_explicit(&sh->c.go, memory_order_acquire))
			if (bc_stopped(&sh->c))
				return 0;
	}
	if (sh->ilv) {
		struct ilv_lamport l = {.p = {.r = sh->lr}, .buf = buf, .stop = &sh->c};
		struct ev_ilv_ctx x = {sh, a.tx, NULL, buf, NULL, NULL}, y = x;
		struct ev_end b = {0};
		struct ilv_side floor = {NULL, ilv_lamport_put, &l};
		if (sh->ilv == 2) {
			rc = ev_end_open(&b, sh->name_b, EVQ_SPSC, false);
			if (rc) {
				peer_fail(sh, "open", rc);
				return 1;
			}
			y.tx = b.tx;
			floor = (struct ilv_side){NULL, ev_ilv_send, &y};
		}
		rc = ilv_produce(&sh->ik, &sh->c, (struct ilv_side){NULL, ev_ilv_send, &x}, floor);
		ev_end_close(&a);
		if (b.r)
			ev_end_close(&b);
		return rc;
	}
	uint64_t n = sh->c.n / (uint64_t)sh->producers + (id == 0 ? sh->c.n % (uint64_t)sh->producers : 0);
	for (uint64_t i = 0; i < n; i++) {
		if (sh->zc) {
			struct shmk_events_view v;
			uint32_t spins = 0;
			while ((rc = shmk_events_reserve(a.tx, &v)) == SHMK_EFULL) {
				bc_relax();
				if (!(++spins & 0xffff) && bc_stopped(&sh->c))
					break;
			}
			if (!rc) {
				bc_fill(v.data, sh->c.size, ((uint64_t)id << 56) | i);
				while ((rc = shmk_events_publish(a.tx, &v, sh->c.size, NULL)) == SHMK_EFULL) {
					bc_relax();
					if (!(++spins & 0xffff) && bc_stopped(&sh->c))
						break;
				}
			}
		} else {
			bc_fill(buf, sh->c.size, ((uint64_t)id << 56) | i);
			rc = ev_send_spin(a.tx, buf, sh->c.size, &sh->c, NULL);
		}
		if (rc) {
			if (bc_stopped(&sh->c))
				break;
			peer_fail(sh, "send", rc);
			return 1;
		}
	}
	ev_end_close(&a);
	return 0;
}

static void bm_ev_tput(gbs_state *st, void *argp)
{
	const struct ev_tput_arg *a = argp;
	struct ev_sh *sh = ev_area(st, a->q);
	struct ev_end ea;
	struct bc_run r;
	_Alignas(BC_LINE) unsigned char buf[EV_MAXMSG];
	uint64_t sink = 0;
	pid_t extra = -1;
	if (!sh)
		return;
	sh->producers = a->producers;
	sh->zc = a->zc;
	int64_t n = gbs_max_iterations(st);
	sh->c.n = (uint64_t)n + BC_TPUT_WARM;
	sh->c.size = a->size;
	int rc = ev_end_open(&ea, sh->name_a, a->q, false);
	if (rc) {
		gbs_skip_with_error(st, shmk_strerror(rc));
		ev_unlink(sh);
		bc_unshared(sh, sizeof *sh);
		return;
	}
	/* Second producer (MPSC 2) shares the measurer's CPU. */
	if (a->producers > 1)
		extra = bc_spawn(bc_cpu(0), ev_prod_peer, sh);
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), ev_prod_peer, sh, 0)) {
		uint64_t next[2] = {0, 0};
		while (gbs_keep_running_batch(st, n)) {
			uint64_t t0 = bc_now();
			for (int64_t i = 0; i < n + BC_TPUT_WARM && !r.failed; i++) {
				if (i == BC_TPUT_WARM)
					t0 = bc_now();
				size_t len = 0;
				uint64_t s = 0;
				if (a->zc) {
					struct shmk_events_view v;
					uint32_t spins = 0;
					while ((rc = shmk_events_recv_view(ea.rx, &v)) == SHMK_EEMPTY) {
						bc_relax();
						if (!(++spins & 0xffff) && !bc_run_alive(&r))
							break;
					}
					if (!rc) {
						s = bc_read(v.data, v.len, &sink);
						rc = shmk_events_release(ea.rx, &v);
					}
				} else {
					rc = ev_recv_spin(ea.rx, buf, &len, &sh->c, &r);
					if (!rc)
						s = bc_read(buf, len, &sink);
				}
				if (rc) {
					if (!r.failed) {
						gbs_skip_with_error(st, shmk_strerror(rc));
						r.failed = true;
					}
					break;
				}
				unsigned p = (unsigned)(s >> 56) & 1;
				if ((s & ((1ull << 56) - 1)) != next[p]++ && !r.failed) {
					gbs_skip_with_error(st, "out of order");
					r.failed = true;
				}
			}
			gbs_set_iteration_time(st, (double)(bc_now() - t0) * 1e-9);
		}
		gbs_set_items_processed(st, n);
		gbs_set_bytes_processed(st, n * (int64_t)a->size);
	}
	bc_run_end(&r, 1);
	if (extra > 0 && bc_reap(extra) != 0 && !r.failed)
		gbs_skip_with_error(st, sh->c.msg[0] ? sh->c.msg : "second producer failed");
	gbs_counter(st, "sink", (double)(sink & 1));
	ev_end_close(&ea);
	ev_unlink(sh);
	bc_unshared(sh, sizeof *sh);
}

/* The measurer's blocks: n messages from the queue, stamps checked. */
static bool ev_ilv_recv(void *ctxp, uint64_t first, uint64_t n)
{
	struct ev_ilv_ctx *x = ctxp;
	for (uint64_t i = first; i < first + n; i++) {
		size_t len = 0;
		int rc = ev_recv_spin(x->rx, x->buf, &len, &x->sh->c, x->r);
		if (rc || bc_read(x->buf, len, x->sink) != i) {
			if (!x->r->failed)
				gbs_skip_with_error(x->r->st, rc ? shmk_strerror(rc) : "out of order");
			x->r->failed = true;
			return false;
		}
	}
	return true;
}

/* Interleaved: as bm_ev_tput (1 producer, copying), in blocks alternating
 * with as many messages through the floor (ilv.h): the Lamport ring for
 * SPSC, the SPSC queue of a second region for MPSC. */
static void bm_ev_tput_ilv(gbs_state *st, void *argp)
{
	const struct ev_tput_arg *a = argp;
	struct ev_sh *sh = ev_area(st, a->q);
	struct ev_end ea, eb = {0};
	struct bc_run r;
	struct ilv v = {0};
	_Alignas(BC_LINE) unsigned char buf[EV_MAXMSG];
	uint64_t sink = 0;
	if (!sh)
		return;
	sh->producers = 1;
	sh->c.size = a->size;
	sh->ilv = a->q == EVQ_MPSC ? 2 : 1;
	sh->lr_len = lr_bytes(a->size);
	sh->lr = bc_shared(sh->lr_len);
	int rc = sh->lr ? ilv_init(&v, st, ilv_block(ILV_TPUT_BLOCK, gbs_max_iterations(st)), 0,
				    (uint64_t)gbs_max_iterations(st))
			: -ENOMEM;
	if (!rc)
		rc = ev_end_open(&ea, sh->name_a, a->q, false);
	if (!rc && sh->ilv == 2)
		rc = ev_end_open(&eb, sh->name_b, EVQ_SPSC, false);
	if (rc) {
		if (!gbs_error_occurred(st))
			gbs_skip_with_error(st, shmk_strerror(rc));
		ev_unlink(sh);
		ev_ilv_free(sh, &v);
		bc_unshared(sh, sizeof *sh);
		return;
	}
	lr_init(sh->lr, a->size);
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), ev_prod_peer, sh, 0)) {
		struct ev_ilv_ctx x = {sh, NULL, ea.rx, buf, &sink, &r}, y = x;
		struct ilv_lamport l = {.c = {.r = sh->lr}, .buf = buf, .sink = &sink, .r = &r};
		struct ilv_side floor = {ilv_lamport_take, NULL, &l};
		if (sh->ilv == 2) {
			y.rx = eb.rx;
			floor = (struct ilv_side){ev_ilv_recv, NULL, &y};
		}
		ilv_stream(st, &v, &sh->ik, (struct ilv_side){ev_ilv_recv, NULL, &x}, floor, &r);
		gbs_set_bytes_processed(st, gbs_max_iterations(st) * (int64_t)a->size);
	}
	bc_run_end(&r, 1);
	if (!r.failed)
		ilv_report_tput(st, &v);
	gbs_counter(st, "sink", (double)(sink & 1));
	ev_end_close(&ea);
	if (eb.r)
		ev_end_close(&eb);
	ev_unlink(sh);
	ev_ilv_free(sh, &v);
	bc_unshared(sh, sizeof *sh);
}

/* ------------------------------------------------------------ offered load */
/* Peer: calibration burst (as fast as it can), then n messages each sent
 * at its intended time t0 + i / rate, carrying that time as its stamp. */
static int ev_load_peer(void *arg)
{
	struct ev_sh *sh = arg;
	struct ev_end a;
	_Alignas(BC_LINE) unsigned char buf[EV_MAXMSG];
	int rc = ev_end_open(&a, sh->name_a, EVQ_SPSC, false);
	if (rc) {
		peer_fail(sh, "open", rc);
		return 1;
	}
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	for (uint64_t i = 0; i < EV_CALIB_MSGS; i++) {
		bc_fill(buf, sh->c.size, i);
		if (ev_send_spin(a.tx, buf, sh->c.size, &sh->c, NULL))
			return bc_stopped(&sh->c) ? 0 : 1;
	}
	/* acquire: pairs with the measurer's release of calib_done (rate, t0) */
	while (!atomic_load_explicit(&sh->calib_done, memory_order_acquire))
		if (bc_stopped(&sh->c))
			return 0;
	uint64_t t0 = atomic_load_explicit(&sh->t0, memory_order_relaxed);
	double per = 1.0 / sh->rate;
	for (uint64_t i = 0; i < sh->c.n; i++) {
		uint64_t due = t0 + (uint64_t)((double)i * per);
		while (bc_now() < due)
			bc_relax();
		bc_fill(buf, sh->c.size, due);
		if (ev_send_spin(a.tx, buf, sh->c.size, &sh->c, NULL))
			return bc_stopped(&sh->c) ? 0 : 1;
	}
	ev_end_close(&a);
	return 0;
}

static void bm_ev_load(gbs_state *st, void *argp)
{
	long load = (long)(intptr_t)argp;
	struct ev_sh *sh = ev_area(st, EVQ_SPSC);
	struct ev_end ea;
	struct bc_run r;
	_Alignas(BC_LINE) unsigned char buf[EV_MAXMSG];
	uint64_t sink = 0;
	if (!sh)
		return;
	int64_t n = gbs_max_iterations(st);
	sh->c.n = (uint64_t)n;
	sh->c.size = 64;
	int rc = ev_end_open(&ea, sh->name_a, EVQ_SPSC, false);
	if (rc) {
		gbs_skip_with_error(st, shmk_strerror(rc));
		ev_unlink(sh);
		bc_unshared(sh, sizeof *sh);
		return;
	}
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(BC_CROSS), ev_load_peer, sh, (size_t)n)) {
		size_t len;
		uint64_t c0 = 0, c1 = 0;
		for (uint64_t i = 0; i < EV_CALIB_MSGS && !r.failed; i++) {
			if (ev_recv_spin(ea.rx, buf, &len, &sh->c, &r)) {
				r.failed = true;
				break;
			}
			if (i == EV_CALIB_MSGS / 10)
				c0 = bc_now();
			bc_read(buf, len, &sink);
		}
		c1 = bc_now();
		double sat = (double)(EV_CALIB_MSGS - EV_CALIB_MSGS / 10 - 1) / (double)(c1 - c0);
		sh->rate = sat * (double)load / 100.0;
		atomic_store_explicit(&sh->t0, bc_now() + 1000000, memory_order_relaxed);
		/* release: pairs with the peer's acquire of calib_done */
		atomic_store_explicit(&sh->calib_done, 1, memory_order_release);
		uint64_t start = atomic_load(&sh->t0);
		for (int64_t i = 0; i < n && !r.failed; i++) {
			if (ev_recv_spin(ea.rx, buf, &len, &sh->c, &r)) {
				r.failed = true;
				break;
			}
			uint64_t now = bc_now();
			uint64_t due = bc_read(buf, len, &sink);
			bc_lat_add(&r.lat, now > due ? now - due : 0);
		}
		uint64_t end = bc_now();
		while (gbs_keep_running_batch(st, n))
			gbs_set_iteration_time(st, (double)(end - start) * 1e-9);
		gbs_counter(st, "offered_per_s", sh->rate * 1e9);
		gbs_counter(st, "saturation_per_s", sat * 1e9);
		gbs_counter(st, "achieved_per_s", (double)n / (double)(end - start) * 1e9);
		gbs_counter(st, "load_pct", (double)load);
	}
	if (r.failed && !gbs_error_occurred(st))
		gbs_skip_with_error(st, sh->c.msg[0] ? sh->c.msg : "load run failed");
	bc_run_end(&r, 1);
	gbs_counter(st, "sink", (double)(sink & 1));
	ev_end_close(&ea);
	ev_unlink(sh);
	bc_unshared(sh, sizeof *sh);
}

/* ------------------------------------------------------------ registration */
__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = {8, 64, 256};
	static struct ev_rtt_arg rtt[2][3];
	static struct ev_tput_arg tput[3][3], zc[3];
	for (int i = 0; i < 3; i++) {
		const char *spsc_rtt = bc_name("events/spsc_rtt/%zu/cross-cpu", sz[i]);
		const char *spsc_tput = bc_name("events/spsc_tput/%zu/cross-cpu", sz[i]);
		for (int q = 0; q < 2; q++) {
			/* SPSC: judged against the ping-pong interleaved with it */
			rtt[q][i] = (struct ev_rtt_arg){q, sz[i], false, 0, BC_CROSS,
							q == EVQ_SPSC ? EVF_PP : EVF_NONE, 0};
			gbs_register(&(struct gbs_bench){
				.name = q == EVQ_SPSC ? spsc_rtt
						      : bc_name("events/mpsc_rtt/%zu/cross-cpu", sz[i]),
				.fn = bm_ev_rtt, .arg = &rtt[q][i], .manual_time = true,
				.module = "events", .pattern = q == EVQ_SPSC ? "spsc_rtt" : "mpsc_rtt",
				.param = (long)sz[i], .bytes = (long)sz[i], .placement = "cross-cpu",
				.mode = "spin", .spinning_procs = 2, .metric = "p50_ns",
				.floor = bc_name(PEER_PP_FMT, sz[i]),
				.baseline = q == EVQ_SPSC ? bc_name(PEER_LAMPORT_RTT_FMT, sz[i]) : spsc_rtt,
				.ilv_floor = q == EVQ_SPSC ? bc_name(PEER_PP_FMT, sz[i]) : NULL,
				.time_share = q == EVQ_SPSC ? ILV_TIME_SHARE : 0});
		}
		for (int k = 0; k < 3; k++) {
			int q = k == 0 ? EVQ_SPSC : EVQ_MPSC, prods = k == 2 ? 2 : 1;
			tput[k][i] = (struct ev_tput_arg){q, sz[i], prods, 0};
			const char *pat = k == 0 ? "spsc_tput" : k == 1 ? "mpsc1_tput" : "mpsc2_tput";
			gbs_register(&(struct gbs_bench){
				.name = bc_name("events/%s/%zu/cross-cpu", pat, sz[i]),
				.fn = k < 2 ? bm_ev_tput_ilv : bm_ev_tput, .arg = &tput[k][i],
				.manual_time = true,
				.module = "events", .pattern = pat, .param = (long)sz[i],
				.bytes = (long)sz[i], .placement = "cross-cpu", .mode = "spin",
				.spinning_procs = 1 + prods, .metric = "items_per_second",
				.floor = bc_name(PEER_LAMPORT_TPUT_FMT, sz[i]),
				.baseline = k == 0   ? bc_name(PEER_LAMPORT_TPUT_FMT, sz[i])
					    : k == 1 ? spsc_tput
						     : bc_name("events/mpsc1_tput/%zu/cross-cpu", sz[i]),
				.note = k == 2 ? "2 producers + consumer spin: needs 3 CPUs" : NULL,
				/* interleaved: SPSC with the Lamport ring, MPSC (1
				 * producer) with the SPSC queue */
				.ilv_floor = k == 0   ? bc_name(PEER_LAMPORT_TPUT_FMT, sz[i])
					     : k == 1 ? spsc_tput
						      : NULL,
				.time_share = k < 2 ? ILV_TIME_SHARE : 0});
		}
		zc[i] = (struct ev_tput_arg){EVQ_SPSC, sz[i], 1, 1};
		gbs_register(&(struct gbs_bench){
			.name = bc_name("events/zc_tput/%zu/cross-cpu", sz[i]), .fn = bm_ev_tput,
			.arg = &zc[i], .manual_time = true, .module = "events", .pattern = "zc_tput",
			.param = (long)sz[i], .bytes = (long)sz[i], .placement = "cross-cpu",
			.mode = "spin", .spinning_procs = 2, .metric = "items_per_second",
			.floor = bc_name(PEER_LAMPORT_TPUT_FMT, sz[i]), .baseline = spsc_tput,
			.note = "SPSC zero-copy: reserve, fill in place, publish / recv_view, read, release"});
	}

	/* Blocking round trips, each interleaved with its target's floor
	 * (ilv.h): wake_rtt with the futex round trip of the same protocol,
	 * same placement and gap; spin_park_rtt with events/spsc_rtt's
	 * round trip (two regions without the wake section). */
	static struct ev_rtt_arg wake[2] = {
		{EVQ_SPSC, 8, true, 0, BC_SAME, EVF_FUTEX, EV_WAKE_BLOCK},
		{EVQ_SPSC, 8, true, PEER_WAKE_GAP_NS, BC_CROSS, EVF_FUTEX, EV_WAKE_BLOCK},
	};
	/* The self-checks: the same round trips alternating with themselves
	 * on a second pair of regions (ilv_ratio should be 1). */
	static struct ev_rtt_arg wake_self[2] = {
		{EVQ_SPSC, 8, true, 0, BC_SAME, EVF_BLOCK, EV_WAKE_BLOCK},
		{EVQ_SPSC, 8, true, PEER_WAKE_GAP_NS, BC_CROSS, EVF_BLOCK, EV_WAKE_BLOCK},
	};
	for (int p = 0; p < 2; p++) {
		const char *pl = bc_place_name(wake[p].place);
		const char *row = bc_name("events/wake_rtt/8/%s", pl);
		gbs_register(&(struct gbs_bench){
			.name = row, .fn = bm_ev_rtt, .arg = &wake[p],
			.manual_time = true, .module = "events", .pattern = "wake_rtt", .param = 8,
			.bytes = 8, .placement = pl, .mode = "spin-then-park",
			.spinning_procs = 0, .metric = "p50_ns",
			.floor = bc_name("peers/futex_rtt/8/%s", pl),
			.baseline = p ? PEER_FUTEX_WAKE("cross-cpu") : PEER_FUTEX_WAKE("same-cpu"),
			.ilv_floor = p ? PEER_FUTEX_WAKE("cross-cpu") : PEER_FUTEX_WAKE("same-cpu"),
			.time_share = ILV_TIME_SHARE,
			.note = p ? "200 us idle gap before each ping so the receiver has parked" : NULL});
		gbs_register(&(struct gbs_bench){
			.name = bc_name("events/wake_ilv_rtt/8/%s", pl), .fn = bm_ev_rtt,
			.arg = &wake_self[p], .manual_time = true, .module = "events",
			.pattern = "wake_ilv_rtt", .param = 8, .bytes = 8, .placement = pl,
			.mode = "spin-then-park", .spinning_procs = 0, .metric = "p50_ns",
			.floor = bc_name("peers/futex_rtt/8/%s", pl), .baseline = row, .ilv_floor = row,
			.iterations = EV_SELF_RTTS(wake_self[p].gap_ns),
			.note = "self-check of the interleaving: events/wake_rtt alternating blocks "
				"with itself on a second pair of regions; ilv_ratio should be 1"});
	}
	static struct ev_rtt_arg spin_park = {EVQ_SPSC, 8, true, 0, BC_CROSS, EVF_SPIN, 0},
				 spsc_self = {EVQ_SPSC, 8, false, 0, BC_CROSS, EVF_SPIN, 0};
	gbs_register(&(struct gbs_bench){
		.name = "events/spin_park_rtt/8/cross-cpu", .fn = bm_ev_rtt, .arg = &spin_park,
		.manual_time = true, .module = "events", .pattern = "spin_park_rtt", .param = 8,
		.bytes = 8, .placement = "cross-cpu", .mode = "spin-then-park", .spinning_procs = 2,
		.metric = "p50_ns", .floor = PEER_FLOOR, .baseline = PEER_FUTEX_SPIN_PARK,
		.ilv_floor = "events/spsc_rtt/8/cross-cpu", .time_share = ILV_TIME_SHARE});
	gbs_register(&(struct gbs_bench){
		.name = "events/spsc_ilv_rtt/8/cross-cpu", .fn = bm_ev_rtt, .arg = &spsc_self,
		.manual_time = true, .module = "events", .pattern = "spsc_ilv_rtt", .param = 8,
		.bytes = 8, .placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
		.metric = "p50_ns", .floor = PEER_FLOOR, .baseline = "events/spsc_rtt/8/cross-cpu",
		.ilv_floor = "events/spsc_rtt/8/cross-cpu", .time_share = ILV_TIME_SHARE,
		.note = "self-check of the interleaving: events/spsc_rtt alternating blocks with "
			"itself on a second pair of regions (spin_park_rtt's floor); ilv_ratio "
			"should be 1"});

	static const long loads[] = {10, 50, 90};
	for (int i = 0; i < 3; i++)
		gbs_register(&(struct gbs_bench){
			.name = bc_name("events/load_p99/%ld/cross-cpu", loads[i]), .fn = bm_ev_load,
			.arg = (void *)(intptr_t)loads[i], .manual_time = true, .module = "events",
			.pattern = "load_p99", .param = loads[i], .bytes = 64,
			.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
			.metric = "p99_ns", .floor = "peers/pingpong_rtt/64/cross-cpu", .floor_div = 2,
			.note = "open loop, 64 B, latency from the intended send time: no baseline "
				"runs at the same offered load; floor = one way of the 64 B ping-pong"});
}
