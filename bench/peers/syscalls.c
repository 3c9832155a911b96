/* SPDX-License-Identifier: MIT */
/*
 * peers/syscalls.c - blocking round-trip baselines between two pinned
 * processes, same-CPU and cross-CPU: pipe, eventfd, raw futex, unix
 * socket.  Each sends an 8-byte sequence number (the payload) that the
 * receiver reads and answers with seq + 1.
 *
 * The futex baseline is the plain form: the sender stores the new value
 * with release and always calls FUTEX_WAKE; the receiver FUTEX_WAITs while
 * the word is not the value it expects (no spinning, no waiter flag).
 *
 * The spin-then-park futex baselines use the protocol of events' blocking
 * receive (impl/src/wait.c), so a wake round trip is judged against the
 * same idle-then-spin protocol: the receiver spins FSP_SPIN_NS by the clock
 * (looking at it every FSP_CHECK polls, yielding every FSP_PURE_NS so a peer
 * on its own CPU can run), then announces itself, fences and parks; the
 * sender stores, fences and calls FUTEX_WAKE only when it takes an
 * announcement.  Both processes count their FUTEX_WAIT / FUTEX_WAKE calls
 * (parks_per_msg, futex_calls_per_msg).
 *
 *   peers/futex_spin_park_rtt/8/cross-cpu   back to back
 *   peers/futex_wake_rtt/8/same-cpu         back to back on one CPU
 *   peers/futex_wake_rtt/8/cross-cpu        idle PEER_WAKE_GAP_NS before
 *                                           each ping, so the peer parked
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common.h"
#include "../futexsp.h"
#include "peers.h"

enum chan { CH_PIPE, CH_EVENTFD, CH_FUTEX, CH_UNIX, CH_FUTEX_SP };
static const char *const chan_name[] = {"pipe", "eventfd", "futex", "unix", "futex_sp"};

struct sc_sh {
	struct bc_ctl c;
	int kind;
	int to_peer[2], to_meas[2]; /* fds: [0] read end, [1] write end */
	_Alignas(BC_LINE) _Atomic uint32_t fa; /* measurer -> peer */
	_Atomic uint32_t wa;		       /* peer announced it parks on fa */
	_Alignas(BC_LINE) _Atomic uint32_t fb; /* peer -> measurer */
	_Atomic uint32_t wb;		       /* measurer announced it parks on fb */
	_Alignas(BC_LINE) uint64_t peer_waits, peer_wakes; /* written by the peer at its end */
};

/* FUTEX_WAIT / FUTEX_WAKE calls of this process. */
static struct fsp_count nfx;

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return fsp_futex(w, op, val, NULL, &nfx);
}

static inline _Atomic uint32_t *sc_waiters(struct sc_sh *sh, _Atomic uint32_t *w)
{
	return w == &sh->fa ? &sh->wa : &sh->wb;
}

/* events' wait protocol: ../futexsp.h, the code events/wake_rtt runs
 * interleaved with its own round trips */
static inline int sp_send(struct sc_sh *sh, _Atomic uint32_t *w, uint32_t v)
{
	return fsp_send(w, sc_waiters(sh, w), v, &nfx);
}

static inline int sp_recv(struct sc_sh *sh, _Atomic uint32_t *w, uint32_t want, struct bc_run *r)
{
	return fsp_recv(w, sc_waiters(sh, w), want, &sh->c, r, &nfx);
}

static int full_io(int fd, void *buf, size_t n, bool wr)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = wr ? write(fd, (char *)buf + done, n - done)
			       : read(fd, (char *)buf + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

/* Sends seq on the channel whose write end / futex word is given. */
static inline int sc_send(struct sc_sh *sh, int wfd, _Atomic uint32_t *w, uint64_t seq)
{
	switch (sh->kind) {
	case CH_FUTEX_SP:
		return sp_send(sh, w, (uint32_t)seq);
	case CH_FUTEX:
		/* release: pairs with the receiver's acquire load in sc_recv */
		atomic_store_explicit(w, (uint32_t)seq, memory_order_release);
		return futex(w, FUTEX_WAKE, 1) < 0 ? -1 : 0;
	case CH_EVENTFD:
		seq += 1; /* an eventfd cannot carry 0 */
		/* fallthrough */
	default:
		return full_io(wfd, &seq, 8, true);
	}
}

/* r: the measurer's run, whose peer a spin-then-park wait checks is alive
 * (NULL in the peer). */
static inline int sc_recv(struct sc_sh *sh, int rfd, _Atomic uint32_t *w, uint64_t want,
			  struct bc_run *r)
{
	uint64_t v = 0;
	switch (sh->kind) {
	case CH_FUTEX_SP:
		return sp_recv(sh, w, (uint32_t)want, r);
	case CH_FUTEX:
		for (;;) {
			/* acquire: pairs with the sender's release store in sc_send */
			uint32_t cur = atomic_load_explicit(w, memory_order_acquire);
			if (cur == (uint32_t)want)
				return 0;
			if (bc_stopped(&sh->c))
				return -1;
			/* the measurer parks with futexsp.h's timeout and looks
			 * whether its peer lives when it expires (a dead one never
			 * answers); the peer dies with the measurer (PDEATHSIG) */
			if (!r) {
				futex(w, FUTEX_WAIT, cur);
				continue;
			}
			const struct timespec park = {0, FSP_PARK_NS};
			if (fsp_futex(w, FUTEX_WAIT, cur, &park, &nfx) < 0 && errno == ETIMEDOUT &&
			    !bc_run_alive(r))
				return -1;
		}
	case CH_EVENTFD:
		if (full_io(rfd, &v, 8, false))
			return -1;
		return v - 1 == want ? 0 : -1;
	default:
		if (full_io(rfd, &v, 8, false))
			return -1;
		return v == want ? 0 : -1;
	}
}

static int sc_peer(void *arg)
{
	struct sc_sh *sh = arg;
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	nfx = (struct fsp_count){0, 0};
	for (uint64_t want = 1;; want += 2) {
		if (sc_recv(sh, sh->to_peer[0], &sh->fa, want, NULL))
			break;
		if (sc_send(sh, sh->to_meas[1], &sh->fb, want + 1))
			return 1;
	}
	sh->peer_waits = nfx.waits;
	sh->peer_wakes = nfx.wakes;
	return bc_stopped(&sh->c) ? 0 : 1;
}

struct sc_arg {
	enum chan kind;
	enum bc_place place;
	uint64_t gap_ns; /* idle before each ping */
};

static int sc_open(struct sc_sh *sh)
{
	switch (sh->kind) {
	case CH_PIPE:
		return pipe(sh->to_peer) || pipe(sh->to_meas) ? -1 : 0;
	case CH_EVENTFD:
		sh->to_peer[0] = sh->to_peer[1] = eventfd(0, 0);
		sh->to_meas[0] = sh->to_meas[1] = eventfd(0, 0);
		return sh->to_peer[0] < 0 || sh->to_meas[0] < 0 ? -1 : 0;
	case CH_UNIX: {
		int a[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, a))
			return -1;
		/* measurer writes a[0], peer reads a[1] and answers on a[1] */
		sh->to_peer[1] = a[0];
		sh->to_peer[0] = a[1];
		sh->to_meas[1] = a[1];
		sh->to_meas[0] = a[0];
		return 0;
	}
	default:
		return 0;
	}
}

static void sc_close(struct sc_sh *sh)
{
	int fds[4] = {sh->to_peer[0], sh->to_peer[1], sh->to_meas[0], sh->to_meas[1]};
	for (int i = 0; i < 4; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= fds[j] == fds[i];
		if (fds[i] > 0 && !dup)
			close(fds[i]);
	}
}

static void bm_sc(gbs_state *st, void *argp)
{
	const struct sc_arg *a = argp;
	struct sc_sh *sh = bc_shared(sizeof *sh);
	struct bc_run r;
	if (!sh) {
		gbs_skip_with_error(st, "mmap");
		return;
	}
	sh->kind = (int)a->kind;
	if (sc_open(sh)) {
		gbs_skip_with_error(st, "channel setup failed");
		bc_unshared(sh, sizeof *sh);
		return;
	}
	int64_t rtts = 0;
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(a->place), sc_peer, sh,
			 (size_t)gbs_max_iterations(st))) {
		uint64_t seq = 1;
		nfx = (struct fsp_count){0, 0};
		int64_t warm = a->gap_ns ? 20 : PEERS_WARMUP / 4;
		for (int64_t i = -warm; !r.failed; i++, seq += 2) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			if (a->gap_ns) {
				uint64_t until = bc_now() + a->gap_ns;
				while (bc_now() < until)
					bc_relax();
			}
			rtts++;
			uint64_t t0 = bc_now();
			int rc = sc_send(sh, sh->to_peer[1], &sh->fa, seq);
			if (!rc)
				rc = sc_recv(sh, sh->to_meas[0], &sh->fb, seq + 1, &r);
			uint64_t t1 = bc_now();
			if (rc) {
				/* a dead peer was reported by bc_run_alive */
				if (!r.failed)
					gbs_skip_with_error(st, "round trip failed");
				r.failed = true;
				break;
			}
			if (i >= 0) {
				bc_lat_add(&r.lat, t1 - t0);
				gbs_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
			}
		}
	}
	/* Stop, then send a value the peer does not expect: it sees stop and
	 * leaves (closing our fds would not do: it holds copies of them). */
	uint64_t waits = nfx.waits, wakes = nfx.wakes;
	atomic_store_explicit(&sh->c.stop, 1, memory_order_relaxed);
	if (sh->kind == CH_FUTEX || sh->kind == CH_FUTEX_SP) {
		fsp_poke(&sh->fa, &nfx);
	} else {
		uint64_t poison = 0x5eedULL << 32;
		(void)!write(sh->to_peer[1], &poison, 8);
	}
	bc_run_end(&r, 1);
	if ((sh->kind == CH_FUTEX || sh->kind == CH_FUTEX_SP) && rtts > 0 && !r.failed) {
		double msgs = 2.0 * (double)rtts;
		gbs_counter(st, "parks_per_msg", (double)(waits + sh->peer_waits) / msgs);
		gbs_counter(st, "futex_calls_per_msg",
			    (double)(waits + wakes + sh->peer_waits + sh->peer_wakes) / msgs);
	}
	sc_close(sh);
	bc_unshared(sh, sizeof *sh);
}

__attribute__((constructor)) static void reg(void)
{
	static struct sc_arg args[4][2];
	for (int k = 0; k < 4; k++)
		for (int p = 0; p < 2; p++) {
			const char *pl = bc_place_name((enum bc_place)p);
			args[k][p] = (struct sc_arg){(enum chan)k, (enum bc_place)p, 0};
			gbs_register(&(struct gbs_bench){
				.name = bc_name("peers/%s_rtt/8/%s", chan_name[k], pl),
				.fn = bm_sc, .arg = &args[k][p], .manual_time = true,
				.module = "peers", .pattern = bc_name("%s_rtt", chan_name[k]),
				.param = 8, .bytes = 8, .placement = pl, .mode = "park",
				.spinning_procs = 0, .metric = "p50_ns",
				.floor = bc_name("peers/futex_rtt/8/%s", pl),
				.baseline = k == CH_FUTEX ? NULL : bc_name("peers/futex_rtt/8/%s", pl),
				.note = k == CH_FUTEX ? "floor of a blocking round trip: FUTEX_WAIT / "
							"FUTEX_WAKE every message, no spin"
						      : NULL});
		}
	/* events' protocol: spin_park back to back (cross), wake same-cpu
	 * back to back, wake cross-cpu after an idle gap. */
	static struct sc_arg sp[3] = {
		{CH_FUTEX_SP, BC_CROSS, 0},
		{CH_FUTEX_SP, BC_SAME, 0},
		{CH_FUTEX_SP, BC_CROSS, PEER_WAKE_GAP_NS},
	};
	static const char *const sp_name[3] = {PEER_FUTEX_SPIN_PARK, PEER_FUTEX_WAKE("same-cpu"),
					       PEER_FUTEX_WAKE("cross-cpu")};
	static const char *const sp_note[3] = {
		"events' wait protocol back to back: spin 50 us by the clock, then park",
		"events' wait protocol on one CPU: the receiver yields while it spins, then parks",
		"events' wait protocol after a 200 us idle gap before each ping (the peer parked)"};
	for (int i = 0; i < 3; i++) {
		const char *pl = bc_place_name(sp[i].place);
		gbs_register(&(struct gbs_bench){
			.name = sp_name[i], .fn = bm_sc, .arg = &sp[i], .manual_time = true,
			.module = "peers", .pattern = i ? "futex_wake_rtt" : "futex_spin_park_rtt",
			.param = 8, .bytes = 8, .placement = pl,
			.mode = "spin-then-park",
			.spinning_procs = i == 0 ? 2 : 0, .metric = "p50_ns",
			.floor = i == 0 ? PEER_FLOOR : bc_name("peers/futex_rtt/8/%s", pl),
			.note = sp_note[i]});
	}
}
