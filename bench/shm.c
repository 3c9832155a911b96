/* SPDX-License-Identifier: MIT */
/*
 * shm.c - create + attach + teardown of a 4 KiB region with shmkit's shm
 * module, in one process (the whole-process form is bench/cycle/shm.c
 * under hyperfine), against the raw syscall sequence PEER_RAW_SHM
 * (bench/peers/rawcycle.c), its floor and baseline.
 */
#include "common.h"
#include "cycle/ops.h"
#include "peers/peers.h"

static void bm_cycle(gbs_state *st, void *arg)
{
	(void)arg;
	bc_cycle_bench(st, "/shmk-bench-shm-%d", cycle_shm);
}

__attribute__((constructor)) static void reg(void)
{
	bc_register_cycle("shm", CYCLE_LEN, bm_cycle, PEER_RAW_SHM);
}
