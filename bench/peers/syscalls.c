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
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common.h"
#include "peers.h"

enum chan { CH_PIPE, CH_EVENTFD, CH_FUTEX, CH_UNIX };
static const char *const chan_name[] = {"pipe", "eventfd", "futex", "unix"};

struct sc_sh {
	struct bc_ctl c;
	int kind;
	int to_peer[2], to_meas[2]; /* fds: [0] read end, [1] write end */
	_Alignas(BC_LINE) _Atomic uint32_t fa; /* measurer -> peer */
	_Alignas(BC_LINE) _Atomic uint32_t fb; /* peer -> measurer */
};

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
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

static inline int sc_recv(struct sc_sh *sh, int rfd, _Atomic uint32_t *w, uint64_t want)
{
	uint64_t v = 0;
	switch (sh->kind) {
	case CH_FUTEX:
		for (;;) {
			/* acquire: pairs with the sender's release store in sc_send */
			uint32_t cur = atomic_load_explicit(w, memory_order_acquire);
			if (cur == (uint32_t)want)
				return 0;
			if (bc_stopped(&sh->c))
				return -1;
			futex(w, FUTEX_WAIT, cur);
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
	for (uint64_t want = 1;; want += 2) {
		if (sc_recv(sh, sh->to_peer[0], &sh->fa, want))
			return bc_stopped(&sh->c) ? 0 : 1;
		if (sc_send(sh, sh->to_meas[1], &sh->fb, want + 1))
			return 1;
	}
}

struct sc_arg {
	enum chan kind;
	enum bc_place place;
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
	if (bc_run_start(&r, st, &sh->c, bc_peer_cpu(a->place), sc_peer, sh,
			 (size_t)gbs_max_iterations(st))) {
		uint64_t seq = 1;
		for (int64_t i = -PEERS_WARMUP / 4; !r.failed; i++, seq += 2) {
			if (i >= 0 && !gbs_keep_running(st))
				break;
			uint64_t t0 = bc_now();
			int rc = sc_send(sh, sh->to_peer[1], &sh->fa, seq);
			if (!rc)
				rc = sc_recv(sh, sh->to_meas[0], &sh->fb, seq + 1);
			uint64_t t1 = bc_now();
			if (rc) {
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
	atomic_store_explicit(&sh->c.stop, 1, memory_order_relaxed);
	if (sh->kind == CH_FUTEX) {
		atomic_fetch_add_explicit(&sh->fa, 2, memory_order_release);
		futex(&sh->fa, FUTEX_WAKE, 1);
	} else {
		uint64_t poison = 0x5eedULL << 32;
		(void)!write(sh->to_peer[1], &poison, 8);
	}
	bc_run_end(&r, 1);
	sc_close(sh);
	bc_run_end(&r, 1);
	bc_unshared(sh, sizeof *sh);
}

__attribute__((constructor)) static void reg(void)
{
	static struct sc_arg args[4][2];
	for (int k = 0; k < 4; k++)
		for (int p = 0; p < 2; p++) {
			args[k][p] = (struct sc_arg){(enum chan)k, (enum bc_place)p};
			gbs_register(&(struct gbs_bench){
				.name = bc_name("peers/%s_rtt/8/%s", chan_name[k],
						bc_place_name((enum bc_place)p)),
				.fn = bm_sc, .arg = &args[k][p], .manual_time = true,
				.module = "peers", .pattern = bc_name("%s_rtt", chan_name[k]),
				.param = 8, .placement = bc_place_name((enum bc_place)p),
				.kind = "blocking", .spinning_procs = 0, .metric = "p50_ns",
				.baseline = k == CH_FUTEX ? NULL
					   : bc_name("peers/futex_rtt/8/%s",
						     bc_place_name((enum bc_place)p))});
		}
}
