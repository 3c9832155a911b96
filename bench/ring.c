/* SPDX-License-Identifier: MIT */
/*
 * ring.c - benches of the mediated-write ring (impl/include/shmkit/ring.h):
 * records per second from one writer process to the reader (the measurer),
 * pinned on different CPUs, for payloads of 8 .. 4096 bytes, two ways:
 *
 *   ring/copy_tput/<S>/cross-cpu      shmk_ring_write (the payload is filled
 *                                     in a local buffer and copied in)
 *   ring/reserve_tput/<S>/cross-cpu   shmk_ring_reserve, fill in place,
 *                                     shmk_ring_commit (no copy)
 *
 * The reader spins on shmk_ring_head until a record is there, then takes
 * it with shmk_ring_read_message (which then never waits) and reads every
 * payload byte: mode spin, like the Lamport ring of the same element size
 * that is its floor and baseline.  Like that ring's consumer it keeps the
 * last head it saw and its own tail locally, so it polls the writer's line
 * only when its copy says empty.  The writer retries on SHMK_EFULL
 * (spinning).  Ring capacity 256 KiB, the Lamport floor's
 * (RING_CAP below).
 *
 *   ring/park_tput/<S>/cross-cpu      copy_tput with the reader waiting in
 *                                     shmk_ring_read_message (its own
 *                                     spin, then park): mode spin-then-park
 *
 * Every result publishes parks_per_msg and futex_calls_per_msg of both
 * processes, counted by the bench build of the library (futexcount.h).
 *
 *   ring/mediated_tput/<S>/cross-cpu  a mediated writer (the measurer: only
 *   ring/mediated_lat/<S>/cross-cpu   a socket) writes; the owner process
 *                                     runs the mediator thread and the
 *                                     reader (read_message, parking), both
 *                                     on the other CPU.  Each write waits
 *                                     for the mediator's reply
 *                                     (r[ring.mediated.status+2]), so the
 *                                     floor is the same message sent and
 *                                     answered over SOCK_SEQPACKET
 *                                     (peers/seqpacket_*); compare the
 *                                     throughput with ring/copy_tput for
 *                                     the price of mediation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shmkit/ring.h"

#include "common.h"
#include "futexcount.h"
#include "ilv.h"
#include "peers/peers.h"
#include "syncop.h"

/* The capacity of the Lamport floor's slots (floors.h): a copy ratio compares
 * two rings of one working set (1 MiB against 256 KiB put four times the
 * lines in play at 4 KiB). */
#define RING_CAP LR_DATA_BYTES

struct rg_sh {
	struct bc_ctl c;
	int wfd;
	int reserve;
	struct bc_fx peer_fx; /* the writer's futex calls, written before it exits */
	/* copy_tput: the Lamport ring interleaved (ilv.h): blocks handed out
	 * through ik, odd ones through the ring, even ones through lr */
	int ilv;
	struct lring *lr;
	size_t lr_len;
	struct ilv_ctl ik;
};

static unsigned rg_seq;

/* Writes record i (retrying while full): 0, 1 when stopped, else the
 * error (c.msg says it). */
static inline int rg_write_one(struct rg_sh *sh, struct shmk_ring_writer *w, unsigned char *buf,
			       uint64_t i)
{
	size_t size = sh->c.size;
	uint32_t spins = 0;
	int rc;
	for (;;) {
		if (sh->reserve) {
			void *p;
			rc = shmk_ring_reserve(w, size, &p);
			if (!rc) {
				bc_fill(p, size, i);
				rc = shmk_ring_commit(w);
			}
		} else {
			bc_fill(buf, size, i);
			rc = shmk_ring_write(w, buf, size);
		}
		if (rc != SHMK_EFULL)
			break;
		bc_relax();
		if (!(++spins & 0xffff) && bc_stopped(&sh->c))
			return 1;
	}
	if (rc)
		snprintf(sh->c.msg, sizeof sh->c.msg, "ring write: %s (%s)", shmk_strerror(rc),
			 shmk_errdetail());
	return rc;
}

/* Interleaved writer: its blocks through the ring (ilv_produce runs the
 * Lamport ring's). */
struct rg_ilv_ctx {
	struct rg_sh *sh;
	struct shmk_ring_writer *w;
	unsigned char *buf;
};

static int rg_ilv_write(void *ctxp, uint64_t first, uint64_t n)
{
	struct rg_ilv_ctx *x = ctxp;
	for (uint64_t i = first; i < first + n; i++) {
		int rc = rg_write_one(x->sh, x->w, x->buf, i);
		if (rc)
			return rc > 0 ? 1 : -1;
	}
	return 0;
}

static int rg_writer(void *arg)
{
	struct rg_sh *sh = arg;
	struct shmk_ring_writer *w;
	size_t size = sh->c.size;
	unsigned char *buf = aligned_alloc(BC_LINE, (size + 63) & ~(size_t)63);
	int rc = shmk_ring_writer_open(sh->wfd, &w);
	if (rc || !buf) {
		snprintf(sh->c.msg, sizeof sh->c.msg, "ring writer_open: %s (%s)",
			 shmk_strerror(rc), shmk_errdetail());
		return 1;
	}
	if (!bc_ready_wait_go(&sh->c))
		return 0;
	struct bc_fx fx0 = bc_fx_now();
	if (sh->ilv) {
		struct ilv_lamport l = {.p = {.r = sh->lr}, .buf = buf, .stop = &sh->c};
		struct rg_ilv_ctx x = {sh, w, buf};
		if (ilv_produce(&sh->ik, &sh->c, (struct ilv_side){NULL, rg_ilv_write, &x},
				(struct ilv_side){NULL, ilv_lamport_put, &l}))
			return 1;
	} else {
		for (uint64_t i = 0; i < sh->c.n; i++) {
			rc = rg_write_one(sh, w, buf, i);
			if (rc)
				return rc < 0;
		}
	}
	/* read by the measurer after it reaped this process */
	sh->peer_fx = bc_fx_since(fx0);
	shmk_ring_writer_close(w);
	free(buf);
	return 0;
}

struct rg_arg {
	size_t size;
	int reserve;
	bool park; /* wait in read_message instead of spinning on the head */
	bool ilv;  /* the Lamport ring interleaved (ilv.h) */
};

/* The spinning reader's view: its tail and the last head it saw. */
struct rg_cursor {
	uint64_t tail, head;
};

/* Spins until the ring holds a record past the tail (or the writer died). */
static inline void rg_spin_head(struct shmk_ring *r, struct rg_cursor *cur, struct bc_run *run)
{
	uint32_t spins = 0;
	while (cur->head <= cur->tail) {
		if (shmk_ring_head(r, &cur->head))
			return;
		if (cur->head > cur->tail)
			return;
		bc_relax();
		if (!(++spins & 0xffff) && !bc_run_alive(run))
			return;
	}
}

/* Takes record i (the reader's part of a stream): false, the bench
 * skipped with the error, when it did not come or was not record i. */
static inline bool rg_take(struct shmk_ring *r, const struct rg_arg *a, struct rg_cursor *cur,
			   unsigned char *buf, uint64_t i, uint64_t *sink, struct bc_run *run)
{
	uint64_t tag;
	size_t len = 0;
	int rc;
	if (!a->park)
		rg_spin_head(r, cur, run);
	do
		rc = shmk_ring_read_message(r, &tag, buf, a->size, &len, 100000000);
	while (rc == -ETIMEDOUT && bc_run_alive(run));
	if (rc || len != a->size || bc_read(buf, len, sink) != i) {
		if (!run->failed) {
			char m[160];
			snprintf(m, sizeof m, "read_message: %s (%s)", rc ? shmk_strerror(rc) : "bad record",
				 rc ? shmk_errdetail() : "");
			gbs_skip_with_error(run->st, m);
			run->failed = true;
		}
		return false;
	}
	cur->tail += shmk_ring_record_len(len);
	return true;
}

/* The reader's blocks (ilv.h): n records, stamps checked. */
struct rg_take_ctx {
	struct shmk_ring *r;
	const struct rg_arg *a;
	struct rg_cursor *cur;
	unsigned char *buf;
	uint64_t *sink;
	struct bc_run *run;
};

static bool rg_ilv_take(void *ctxp, uint64_t first, uint64_t n)
{
	struct rg_take_ctx *x = ctxp;
	for (uint64_t i = first; i < first + n; i++)
		if (!rg_take(x->r, x->a, x->cur, x->buf, i, x->sink, x->run))
			return false;
	return true;
}

static void bm_ring(gbs_state *st, void *argp)
{
	const struct rg_arg *a = argp;
	struct rg_sh *sh = bc_shared(sizeof *sh);
	struct shmk_ring *r = NULL;
	struct bc_run run;
	struct ilv v = {0};
	char name[96];
	uint64_t sink = 0;
	int pfd = -1;
	unsigned char *buf = aligned_alloc(BC_LINE, (a->size + 63) & ~(size_t)63);
	if (!sh || !buf) {
		gbs_skip_with_error(st, "alloc");
		free(buf);
		return;
	}
	snprintf(name, sizeof name, "shmk-bench-ring-%d-%u", (int)getpid(), rg_seq++);
	struct shmk_ring_opts o = {.capacity = RING_CAP};
	int rc = shmk_ring_create(name, &o, &r);
	if (!rc)
		rc = shmk_ring_writer_new(r, 7, &sh->wfd, &pfd);
	if (rc) {
		char m[160];
		snprintf(m, sizeof m, "ring setup: %s (%s)", shmk_strerror(rc), shmk_errdetail());
		gbs_skip_with_error(st, m);
		goto out;
	}
	int64_t n = gbs_max_iterations(st);
	sh->c.n = (uint64_t)n + BC_TPUT_WARM;
	sh->c.size = a->size;
	sh->reserve = a->reserve;
	if (a->ilv) {
		sh->lr_len = lr_bytes(a->size);
		sh->lr = bc_shared(sh->lr_len);
		if (!sh->lr || ilv_init(&v, st, ilv_block(ILV_TPUT_BLOCK, n), 0, (uint64_t)n)) {
			if (!gbs_error_occurred(st))
				gbs_skip_with_error(st, "mmap");
			goto out;
		}
		lr_init(sh->lr, a->size);
		sh->ilv = 1;
	}
	struct bc_fx fx0 = bc_fx_now(), fx = {0, 0};
	if (bc_run_start(&run, st, &sh->c, bc_peer_cpu(BC_CROSS), rg_writer, sh, 0)) {
		close(sh->wfd);
		sh->wfd = -1;
		struct rg_cursor cur = {0, 0};
		shmk_ring_tail(r, &cur.tail);
		/* the writer's futex calls are per record it wrote */
		if (sh->ilv) {
			struct ilv_lamport l = {.c = {.r = sh->lr}, .buf = buf, .sink = &sink, .r = &run};
			struct rg_take_ctx x = {r, a, &cur, buf, &sink, &run};
			sh->c.n = ilv_stream(st, &v, &sh->ik, (struct ilv_side){rg_ilv_take, NULL, &x},
					     (struct ilv_side){ilv_lamport_take, NULL, &l}, &run);
		}
		while (!sh->ilv && gbs_keep_running_batch(st, n)) {
			uint64_t t0 = bc_now();
			for (int64_t i = 0; i < n + BC_TPUT_WARM && !run.failed; i++) {
				if (i == BC_TPUT_WARM)
					t0 = bc_now();
				if (!rg_take(r, a, &cur, buf, (uint64_t)i, &sink, &run))
					break;
			}
			gbs_set_iteration_time(st, (double)(bc_now() - t0) * 1e-9);
		}
		gbs_set_items_processed(st, n);
		gbs_set_bytes_processed(st, n * (int64_t)a->size);
	}
	fx = bc_fx_since(fx0);
	bc_run_end(&run, 1);
	if (!run.failed)
		bc_fx_report(st, fx, sh->peer_fx, (double)sh->c.n);
	if (sh->ilv && !run.failed)
		ilv_report_tput(st, &v);
	gbs_counter(st, "sink", (double)(sink & 1));
out:
	bc_unshared(sh->lr, sh->lr_len);
	ilv_free(&v);
	if (sh->wfd > 0)
		close(sh->wfd);
	if (pfd >= 0)
		close(pfd);
	shmk_ring_close(r);
	shmk_ring_unlink(name);
	free(buf);
	bc_unshared(sh, sizeof *sh);
}

/* ---------------------------------------------------------------- mediated */

struct md_sh {
	struct bc_ctl c;
	int sv[2];	/* hands the writer fd over: [0] the measurer's end, [1] the owner's */
};

struct md_arg {
	size_t size;
	bool lat;
};

/* The owner: ring, mediator, reader; reads until the writer is gone. */
static int md_owner(void *arg)
{
	struct md_sh *sh = arg;
	struct shmk_ring *r = NULL;
	struct shmk_ring_mediator *m = NULL;
	char name[96];
	size_t size = sh->c.size;
	unsigned char *buf = aligned_alloc(BC_LINE, (size + 63) & ~(size_t)63);
	int wfd = -1, peer = -1, ret = 1;
	uint64_t sink = 0, want = 0;

	close(sh->sv[0]);
	snprintf(name, sizeof name, "shmk-bench-ringmed-%d", (int)getpid());
	struct shmk_ring_opts o = {.capacity = RING_CAP};
	int rc = buf ? shmk_ring_create(name, &o, &r) : -ENOMEM;
	if (!rc)
		rc = shmk_ring_mediator_start(r, &m);
	if (!rc)
		rc = shmk_ring_mediated_new(m, 9, &wfd, &peer);
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	char c = 'w';
	struct iovec iov = {&c, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof u.b};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &wfd, sizeof(int));
	if (rc || sendmsg(sh->sv[1], &mh, 0) != 1) {
		snprintf(sh->c.msg, sizeof sh->c.msg, "mediated setup: %s (%s)",
			 shmk_strerror(rc), shmk_errdetail());
		goto out;
	}
	close(wfd);
	wfd = -1;
	if (!bc_ready_wait_go(&sh->c)) {
		ret = 0;
		goto out;
	}
	for (;;) {
		uint64_t tag;
		size_t len = 0;
		rc = shmk_ring_read_message(r, &tag, buf, size, &len, 100000000);
		if (rc == -ETIMEDOUT && !bc_stopped(&sh->c))
			continue;
		if (rc == SHMK_EPEERDEAD || (rc == -ETIMEDOUT && bc_stopped(&sh->c)))
			break;	/* the writer closed: the run is over */
		if (rc || len != size || bc_read(buf, len, &sink) != want++) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "mediated read: %s",
				 rc ? shmk_strerror(rc) : "bad record");
			goto out;
		}
	}
	sh->c.aux = sink;
	ret = 0;
out:
	if (wfd >= 0)
		close(wfd);
	if (peer >= 0)
		close(peer);
	shmk_ring_mediator_stop(m);
	shmk_ring_close(r);
	shmk_ring_unlink(name);
	free(buf);
	return ret;
}

static int md_write(void *ctx, const unsigned char *buf, size_t size, char *msg, size_t msglen)
{
	int rc;
	while ((rc = shmk_ring_write(ctx, buf, size)) == SHMK_EFULL)
		bc_relax();
	if (rc)
		snprintf(msg, msglen, "mediated write: %s (%s)", shmk_strerror(rc),
			 shmk_errdetail());
	return rc;
}

static void bm_mediated(gbs_state *st, void *argp)
{
	const struct md_arg *a = argp;
	struct md_sh *sh = bc_shared(sizeof *sh);
	unsigned char *buf = aligned_alloc(BC_LINE, (a->size + 63) & ~(size_t)63);
	struct shmk_ring_writer *w = NULL;
	struct bc_run run;

	if (!sh || !buf || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sh->sv)) {
		gbs_skip_with_error(st, "mediated setup");
		free(buf);
		if (sh)
			bc_unshared(sh, sizeof *sh);
		return;
	}
	sh->c.size = a->size;
	if (bc_run_start(&run, st, &sh->c, bc_peer_cpu(BC_CROSS), md_owner, sh,
			 a->lat ? (size_t)gbs_max_iterations(st) : 0)) {
		close(sh->sv[1]);
		sh->sv[1] = -1;
		char c;
		int wfd = -1;
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = {&c, 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
				    .msg_controllen = sizeof u.b};
		struct cmsghdr *cm;
		if (recvmsg(sh->sv[0], &mh, MSG_CMSG_CLOEXEC) == 1 && (cm = CMSG_FIRSTHDR(&mh)))
			memcpy(&wfd, CMSG_DATA(cm), sizeof(int));
		int rc = wfd >= 0 ? shmk_ring_writer_open(wfd, &w) : -EPROTO;
		if (rc) {
			gbs_skip_with_error(st, "mediated writer_open");
			run.failed = true;
		} else {
			bs_measure(st, &run, a->lat, a->size, buf, md_write, w);
		}
	}
	/* the owner's reader sees the writer gone and leaves */
	shmk_ring_writer_close(w);
	bc_run_end(&run, 1);
	close(sh->sv[0]);
	if (sh->sv[1] >= 0)
		close(sh->sv[1]);
	free(buf);
	bc_unshared(sh, sizeof *sh);
}

__attribute__((constructor)) static void reg_mediated(void)
{
	static const size_t sz[] = {PEER_SEQPACKET_SIZES};
	static struct md_arg args[2][sizeof sz / sizeof sz[0]];
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
			args[l][i] = (struct md_arg){sz[i], l == 1};
			const char *fl = bc_name(l ? PEER_SEQPACKET_RTT_FMT : PEER_SEQPACKET_TPUT_FMT,
						 sz[i]);
			gbs_register(&(struct gbs_bench){
				.name = bc_name("ring/%s/%zu/cross-cpu",
						l ? "mediated_lat" : "mediated_tput", sz[i]),
				.fn = bm_mediated, .arg = &args[l][i], .manual_time = true,
				.module = "ring", .pattern = l ? "mediated_lat" : "mediated_tput",
				.param = (long)sz[i], .bytes = (long)sz[i], .placement = "cross-cpu",
				.mode = "park", .spinning_procs = 0,
				.metric = l ? "p50_ns" : "items_per_second", .floor = fl,
				.baseline = fl,
				.note = "the price of mediation: against ring/copy_tput/<S> (a direct "
					"writer, spinning) in the same run"});
		}
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = {8, 16, 32, 64, 256, 1024, 4096};
	static struct rg_arg args[3][7];
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < 7; i++) {
			if (m == 2 && sz[i] != 64 && sz[i] != 4096)
				continue;
			/* copy_tput: judged against the Lamport ring interleaved */
			args[m][i] = (struct rg_arg){sz[i], m == 1, m == 2, m == 0};
			const char *pat = m == 0 ? "copy_tput" : m == 1 ? "reserve_tput" : "park_tput";
			const char *lam = bc_name(PEER_LAMPORT_TPUT_FMT, sz[i]);
			gbs_register(&(struct gbs_bench){
				.name = bc_name("ring/%s/%zu/cross-cpu", pat, sz[i]), .fn = bm_ring,
				.arg = &args[m][i], .manual_time = true, .module = "ring",
				.pattern = pat, .param = (long)sz[i], .bytes = (long)sz[i],
				.placement = "cross-cpu", .mode = m == 2 ? "spin-then-park" : "spin",
				.spinning_procs = 2, .metric = "items_per_second", .floor = lam,
				.baseline = m == 0   ? lam
					    : m == 1 ? bc_name("ring/copy_tput/%zu/cross-cpu", sz[i])
						     : NULL,
				.note = m == 2 ? "no spin-then-park stream among the peers: read it "
						 "against its floor and ring/copy_tput (spin)"
					       : NULL,
				.ilv_floor = m == 0 ? lam : NULL,
				.time_share = m == 0 ? ILV_TIME_SHARE : 0});
		}
}
