/* SPDX-License-Identifier: MIT */
/*
 * peers.h - names of the baselines (bench/peers/), so module benches name
 * the baseline they are judged against without typos.  Defined exactly as
 * ../shared/DESIGN.md fixes them; see each file's header comment.
 */
#ifndef SHMK_BENCH_PEERS_H
#define SHMK_BENCH_PEERS_H

#define PEERS_WARMUP 2000

/* The floor: raw cache-line ping-pong, cross-CPU, RTT. */
#define PEER_FLOOR "peers/pingpong_rtt/8/cross-cpu"
/* Lamport cached-index SPSC ring: RTT (two rings) and throughput. */
#define PEER_LAMPORT_RTT(sz) "peers/lamport_rtt/" #sz "/cross-cpu"
#define PEER_LAMPORT_TPUT(sz) "peers/lamport_tput/" #sz "/cross-cpu"
/* ck_ring spsc with the same element size. */
#define PEER_CK_RTT(sz) "peers/ck_ring_rtt/" #sz "/cross-cpu"
#define PEER_CK_TPUT(sz) "peers/ck_ring_tput/" #sz "/cross-cpu"
/* Blocking round trips, 8 B, placement "same-cpu" / "cross-cpu". */
#define PEER_PIPE_RTT(pl) "peers/pipe_rtt/8/" pl
#define PEER_EVENTFD_RTT(pl) "peers/eventfd_rtt/8/" pl
#define PEER_FUTEX_RTT(pl) "peers/futex_rtt/8/" pl
#define PEER_UNIX_RTT(pl) "peers/unix_rtt/8/" pl
/* memcpy of sz bytes, one process. */
#define PEER_MEMCPY(sz) "peers/memcpy/" #sz "/single"
/* Contended fetch-add, two processes, cross-CPU. */
#define PEER_FETCHADD "peers/fetch_add/2/cross-cpu"
/* iceoryx C binding pub/sub round trip (separate program). */
#define PEER_IOX_RTT(sz) "peers/iceoryx_rtt/" #sz "/cross-cpu"
/* Raw syscall sequences: create + attach + teardown. */
#define PEER_RAW_SHM "peers/raw_shm_cycle/4096/single"
#define PEER_RAW_MMAP "peers/raw_mmap_cycle/4096/single"

#endif
