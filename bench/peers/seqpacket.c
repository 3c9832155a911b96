/* SPDX-License-Identifier: MIT */
/*
 * peers/seqpacket.c - the floor of a mediated ring write (bench/ring.c
 * ring/mediated_*): the same two processes, the same CPUs and the same
 * messages without the ring.  The measurer sends [8-byte header][S bytes]
 * as one AF_UNIX SOCK_SEQPACKET message and blocks on an 8-byte reply; the
 * peer receives it, reads every payload byte, checks the stamp and
 * answers.  That is the least a write through a mediator in another
 * process can cost: a send and a receive each way.
 *
 *   peers/seqpacket_tput/<S>/cross-cpu   messages per second (syncop.h)
 *   peers/seqpacket_rtt/<S>/cross-cpu    one send + reply, p50
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common.h"
#include "../syncop.h"
#include "peers.h"

struct sq_sh {
	struct bc_ctl c;
	int sv[2];	/* [0] the measurer's end, [1] the peer's */
};

struct sq_arg {
	size_t size;
	bool lat;
};

static int sq_peer(void *arg)
{
	struct sq_sh *sh = arg;
	size_t size = sh->c.size;
	unsigned char *buf = malloc(size + 8);
	uint64_t sink = 0, want = 0, rep = 0;
	int s = sh->sv[1];	/* a local copy: the measurer rewrites sh->sv */

	close(sh->sv[0]);
	if (!buf || !bc_ready_wait_go(&sh->c))
		return 0;
	for (;;) {
		ssize_t n = recv(s, buf, size + 8, 0);
		if (n <= 0)	/* the measurer closed its end: done */
			break;
		if ((size_t)n != size + 8 || bc_read(buf + 8, size, &sink) != want++) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "seqpacket: bad message");
			return 1;
		}
		if (send(s, &rep, sizeof rep, MSG_NOSIGNAL) != (ssize_t)sizeof rep)
			break;
	}
	free(buf);
	sh->c.aux = sink;	/* the reads are used */
	return 0;
}

static int sq_send(void *ctx, const unsigned char *buf, size_t size, char *msg, size_t msglen)
{
	int s = *(int *)ctx;
	uint64_t hdr = size, rep;
	struct iovec v[2] = { { &hdr, 8 }, { (void *)(uintptr_t)buf, size } };
	struct msghdr mh = { .msg_iov = v, .msg_iovlen = 2 };
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)(size + 8) ||
	    recv(s, &rep, sizeof rep, 0) != (ssize_t)sizeof rep) {
		snprintf(msg, msglen, "seqpacket send/reply: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void bm_sq(gbs_state *st, void *argp)
{
	const struct sq_arg *a = argp;
	struct sq_sh *sh = bc_shared(sizeof *sh);
	unsigned char *buf = aligned_alloc(BC_LINE, (a->size + 63) & ~(size_t)63);
	struct bc_run run;

	if (!sh || !buf || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sh->sv)) {
		gbs_skip_with_error(st, "seqpacket setup");
		free(buf);
		if (sh)
			bc_unshared(sh, sizeof *sh);
		return;
	}
	sh->c.size = a->size;
	if (bc_run_start(&run, st, &sh->c, bc_peer_cpu(BC_CROSS), sq_peer, sh,
			 a->lat ? (size_t)gbs_max_iterations(st) : 0)) {
		close(sh->sv[1]);
		sh->sv[1] = -1;
		bs_measure(st, &run, a->lat, a->size, buf, sq_send, &sh->sv[0]);
	}
	close(sh->sv[0]);	/* the peer's recv returns 0: it leaves */
	bc_run_end(&run, 1);
	if (sh->sv[1] >= 0)
		close(sh->sv[1]);
	free(buf);
	bc_unshared(sh, sizeof *sh);
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = { PEER_SEQPACKET_SIZES };
	static struct sq_arg args[2][sizeof sz / sizeof sz[0]];
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
			args[l][i] = (struct sq_arg){ sz[i], l == 1 };
			const char *name = bc_name(l ? PEER_SEQPACKET_RTT_FMT : PEER_SEQPACKET_TPUT_FMT,
						   sz[i]);
			gbs_register(&(struct gbs_bench){
				.name = name, .fn = bm_sq, .arg = &args[l][i], .manual_time = true,
				.module = "peers", .pattern = l ? "seqpacket_rtt" : "seqpacket_tput",
				.param = (long)sz[i], .bytes = (long)sz[i], .placement = "cross-cpu",
				.mode = "park", .spinning_procs = 0,
				.metric = l ? "p50_ns" : "items_per_second", .floor = name,
				.note = "floor of a mediated ring write: the same message sent and "
					"answered over SOCK_SEQPACKET, without the ring"});
		}
}
