/* SPDX-License-Identifier: MIT */
/*
 * peers.h - names of the baselines and floors (bench/peers/), so module
 * benches name what they are judged against without typos.  Defined
 * exactly as ../shared/DESIGN.md fixes them; see each file's header
 * comment.  Every name's third field is the payload bytes.
 */
#ifndef SHMK_BENCH_PEERS_H
#define SHMK_BENCH_PEERS_H

#define PEERS_WARMUP 2000

/* The floor of an N-byte round trip: N-byte ping-pong, cross-CPU
 * (bench/peers/pingpong.c), at every size a round trip is measured at. */
#define PEER_PP_SIZES 8, 64, 256, 1024, 4096, 65536, 1048576
#define PEER_FLOOR "peers/pingpong_rtt/8/cross-cpu"
#define PEER_PP_FMT "peers/pingpong_rtt/%zu/cross-cpu"
/* Gbench's min_time share of a ping-pong shaped as a module's layout
 * (pingpong.c, pingpong_slots.c; its floor blocks run as long again): a
 * fifth, a few seconds of a full run for each. */
#define PP_SHAPE_TIME_SHARE 0.2
/* Lamport cached-index SPSC ring: RTT (two rings) and throughput, the
 * floor of streaming at every size any primitive streams at. */
#define PEER_LAMPORT_RTT_SIZES 8, 64, 256
#define PEER_LAMPORT_TPUT_SIZES 8, 16, 32, 64, 256, 1024, 4096
#define PEER_LAMPORT_RTT_FMT "peers/lamport_rtt/%zu/cross-cpu"
#define PEER_LAMPORT_TPUT_FMT "peers/lamport_tput/%zu/cross-cpu"
/* ck_ring spsc with the same element size. */
#define PEER_CK_RTT_FMT "peers/ck_ring_rtt/%zu/cross-cpu"
#define PEER_CK_TPUT_FMT "peers/ck_ring_tput/%zu/cross-cpu"
/* Blocking round trips, 8 B, placement "same-cpu" / "cross-cpu". */
#define PEER_FUTEX_RTT(pl) "peers/futex_rtt/8/" pl
/* The futex round trip with events' wait protocol (spin by the clock, then
 * park; wake only an announced waiter): back to back, and with the idle gap
 * of events/wake_rtt (cross-cpu) before each ping. */
#define PEER_FUTEX_SPIN_PARK "peers/futex_spin_park_rtt/8/cross-cpu"
#define PEER_FUTEX_WAKE(pl) "peers/futex_wake_rtt/8/" pl
/* The idle gap before each ping of a wake round trip (cross-cpu), long
 * enough that the receiver has parked. */
#define PEER_WAKE_GAP_NS 200000ull
/* memcpy of sz bytes, one process. */
#define PEER_MEMCPY(sz) "peers/memcpy/" #sz "/single"
/* Contended fetch-add, two processes, cross-CPU. */
#define PEER_FETCHADD "peers/fetch_add/2/cross-cpu"
/* iceoryx C binding pub/sub round trip (separate program). */
#define PEER_IOX_SIZES 8, 64, 256
#define PEER_IOX_RTT_FMT "peers/iceoryx_rtt/%zu/cross-cpu"
/* SOCK_SEQPACKET send + 8-byte reply between two processes, cross-CPU:
 * the floor of a mediated ring write (peers/seqpacket.c). */
#define PEER_SEQPACKET_SIZES 64, 1024, 4096
#define PEER_SEQPACKET_TPUT_FMT "peers/seqpacket_tput/%zu/cross-cpu"
#define PEER_SEQPACKET_RTT_FMT "peers/seqpacket_rtt/%zu/cross-cpu"
/* Raw syscall sequences: create + attach + teardown. */
#define PEER_RAW_SHM "peers/raw_shm_cycle/4096/single"
#define PEER_RAW_MMAP "peers/raw_mmap_cycle/4096/single"

#endif
