/* SPDX-License-Identifier: MIT */
/*
 * peers/iceoryx.c - the iceoryx C binding (Debian libiceoryx-binding-c-dev)
 * as the system users would pick instead: a pub/sub round trip between two
 * pinned processes, both busy-polling iox_sub_take_chunk (the spin form;
 * iceoryx's WaitSet would be its blocking form).  The sender loans a chunk
 * of S bytes, fills it and publishes; the receiver takes it, reads every
 * byte, releases it and answers the same way on the reverse topic.
 *
 * An iceoryx runtime is per process and does not survive fork, so this
 * bench forks two fresh children (ping on the measurer's CPU, pong on the
 * other), lets ping time the round trips into a shared sample array, and
 * replays those samples into Google Benchmark's loop.  iox-roudi must be
 * running (bench.mk starts it; without it this program is skipped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"

#include "../common.h"
#include "peers.h"

#define IOX_CONNECT_NS (10ull * 1000000000ull)

struct iox_sh {
	struct bc_ctl c;
	_Atomic uint32_t pong_up;
	uint64_t nsamples;
	uint64_t samples[]; /* ns per round trip, written by ping */
};

struct iox_ends {
	iox_pub_storage_t ps;
	iox_sub_storage_t ss;
	iox_pub_t pub;
	iox_sub_t sub;
};

static void ends_init(struct iox_ends *e, const char *out, const char *in)
{
	iox_pub_options_t po;
	iox_pub_options_init(&po);
	po.historyCapacity = 0;
	po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	e->pub = iox_pub_init(&e->ps, "shmk", "bench", out, &po);
	iox_sub_options_t so;
	iox_sub_options_init(&so);
	so.queueCapacity = 16;
	so.historyRequest = 0;
	so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	e->sub = iox_sub_init(&e->ss, "shmk", "bench", in, &so);
}

static void ends_fini(struct iox_ends *e)
{
	iox_sub_deinit(e->sub);
	iox_pub_deinit(e->pub);
}

static bool ends_connected(struct iox_ends *e)
{
	return iox_pub_has_subscribers(e->pub) &&
	       iox_sub_get_subscription_state(e->sub) == SubscribeState_SUBSCRIBED;
}

static bool send_msg(struct iox_ends *e, size_t size, uint64_t seq)
{
	void *p = NULL;
	if (iox_pub_loan_chunk(e->pub, &p, (uint32_t)size) != AllocationResult_SUCCESS)
		return false;
	bc_fill(p, size, seq);
	iox_pub_publish_chunk(e->pub, p);
	return true;
}

/* Spins until a chunk arrives (or stop); returns its stamp or UINT64_MAX. */
static uint64_t recv_msg(struct iox_ends *e, struct bc_ctl *c, size_t size, uint64_t *sink)
{
	const void *p = NULL;
	uint32_t spins = 0;
	while (iox_sub_take_chunk(e->sub, &p) != ChunkReceiveResult_SUCCESS) {
		bc_relax();
		if (!(++spins & 0xffff) && bc_stopped(c))
			return UINT64_MAX;
	}
	uint64_t seq = bc_read(p, size, sink);
	iox_sub_release_chunk(e->sub, p);
	return seq;
}

/* This process joins RouDi as shmk-<me>-<pid> and opens its two ends:
 * it publishes on `me` and subscribes to `other`. */
static void join(struct iox_ends *e, const char *me, const char *other)
{
	char name[64];
	snprintf(name, sizeof name, "shmk-%s-%d", me, (int)getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);
	ends_init(e, me, other);
}

static int pong_main(void *arg)
{
	struct iox_sh *sh = arg;
	uint64_t sink = 0;
	struct iox_ends e;
	join(&e, "pong", "ping");
	/* release: pairs with ping's acquire of pong_up */
	atomic_store_explicit(&sh->pong_up, 1, memory_order_release);
	for (;;) {
		uint64_t seq = recv_msg(&e, &sh->c, sh->c.size, &sink);
		if (seq == UINT64_MAX)
			break;
		if (!send_msg(&e, sh->c.size, seq + 1)) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "pong: loan failed");
			break;
		}
	}
	ends_fini(&e);
	/* exit(), not _exit(): the runtime's static destructor unregisters
	 * this process from RouDi (else RouDi aborts at shutdown). */
	exit(0);
}

static int ping_main(void *arg)
{
	struct iox_sh *sh = arg;
	uint64_t sink = 0;
	struct iox_ends e;
	join(&e, "ping", "pong");
	uint64_t t0 = bc_now();
	/* acquire: pairs with pong's release of pong_up */
	while (!atomic_load_explicit(&sh->pong_up, memory_order_acquire) || !ends_connected(&e)) {
		if (bc_now() - t0 > IOX_CONNECT_NS) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "iceoryx: ping/pong did not connect");
			atomic_store_explicit(&sh->c.stop, 1, memory_order_relaxed);
			return 1;
		}
		usleep(1000);
	}
	int rc = 0;
	uint64_t seq = 0;
	for (int64_t i = -PEERS_WARMUP; i < (int64_t)sh->nsamples; i++, seq += 2) {
		uint64_t a = bc_now();
		if (!send_msg(&e, sh->c.size, seq)) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "ping: loan failed");
			rc = 1;
			break;
		}
		if (recv_msg(&e, &sh->c, sh->c.size, &sink) != seq + 1) {
			snprintf(sh->c.msg, sizeof sh->c.msg, "ping: bad reply");
			rc = 1;
			break;
		}
		if (i >= 0)
			sh->samples[i] = bc_now() - a;
	}
	/* relaxed: pong polls stop only to leave */
	atomic_store_explicit(&sh->c.stop, 1, memory_order_relaxed);
	ends_fini(&e);
	exit(rc + (int)(sink & 0)); /* see pong_main */
}

static void bm_iox(gbs_state *st, void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	int64_t n = gbs_max_iterations(st);
	size_t len = sizeof(struct iox_sh) + (size_t)n * sizeof(uint64_t);
	struct iox_sh *sh = bc_shared(len);
	struct bc_lat lat;
	if (!sh || bc_lat_init(&lat, (size_t)n)) {
		gbs_skip_with_error(st, "alloc");
		bc_unshared(sh, len);
		return;
	}
	sh->c.size = size;
	sh->nsamples = (uint64_t)n;
	pid_t pong = bc_spawn(bc_peer_cpu(BC_CROSS), pong_main, sh);
	pid_t ping = bc_spawn(bc_cpu(0), ping_main, sh);
	int rping = bc_reap(ping);
	atomic_store_explicit(&sh->c.stop, 1, memory_order_relaxed);
	int rpong = bc_reap(pong);
	if (rping || rpong) {
		gbs_skip_with_error(st, sh->c.msg[0] ? sh->c.msg : "iceoryx child failed");
	} else {
		int64_t i = 0;
		while (gbs_keep_running(st)) {
			uint64_t ns = sh->samples[i++];
			bc_lat_add(&lat, ns);
			gbs_set_iteration_time(st, (double)ns * 1e-9);
		}
		bc_lat_report(st, &lat, 1);
	}
	bc_lat_free(&lat);
	bc_unshared(sh, len);
}

__attribute__((constructor)) static void reg(void)
{
	static const size_t sz[] = {PEER_IOX_SIZES};
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
		gbs_register(&(struct gbs_bench){
			.name = bc_name(PEER_IOX_RTT_FMT, sz[i]), .fn = bm_iox,
			.arg = (void *)(uintptr_t)sz[i], .manual_time = true, .module = "peers",
			.pattern = "iceoryx_rtt", .param = (long)sz[i], .bytes = (long)sz[i],
			.placement = "cross-cpu", .mode = "spin", .spinning_procs = 2,
			.metric = "p50_ns", .floor = bc_name(PEER_PP_FMT, sz[i]),
			.baseline = bc_name(PEER_LAMPORT_RTT_FMT, sz[i]),
			.note = "iceoryx 2.0.3 C binding, polling subscribers"});
}
