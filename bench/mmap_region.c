/* SPDX-License-Identifier: MIT */
/*
 * mmap_region.c - create + attach + teardown of a 4 KiB region with shmkit's mmap_region
 * module, in one process (the whole-process form is bench/cycle/mmap_region.c
 * under hyperfine), against the raw syscall sequence PEER_RAW_MMAP
 * (bench/peers/rawcycle.c), its floor and baseline.
 */
#include "common.h"
#include "cycle/ops.h"
#include "peers/peers.h"

static void bm_cycle(gbs_state *st, void *arg)
{
	(void)arg;
	bc_cycle_bench(st, "/shmk-bench-mmap-%d", cycle_mmap_region);
}

__attribute__((constructor)) static void reg(void)
{
	bc_register_cycle("mmap_region", CYCLE_LEN, bm_cycle, PEER_RAW_MMAP);
}
