/* SPDX-License-Identifier: MIT */
/*
 * peers/rawcycle.c - the raw syscall sequences that shm and mmap_region's
 * create + attach + teardown are judged against (bench/rawcycle.h),
 * in-process; the whole-process form is bench/cycle/raw.c under hyperfine.
 * The file variant lives in /dev/shm.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common.h"
#include "../rawcycle.h"
#include "peers.h"

#define RC_LEN 4096

static void bm_raw(gbs_state *st, void *arg)
{
	bool shm = arg != NULL;
	char name[96];
	snprintf(name, sizeof name, shm ? "/shmk-bench-raw-%d" : "/dev/shm/shmk-bench-raw-%d",
		 (int)getpid());
	while (gbs_keep_running(st))
		if (raw_cycle(shm, name, RC_LEN)) {
			gbs_skip_with_error(st, "raw cycle failed");
			break;
		}
	gbs_set_items_processed(st, gbs_iterations(st));
}

__attribute__((constructor)) static void reg(void)
{
	gbs_register(&(struct gbs_bench){
		.name = PEER_RAW_SHM, .fn = bm_raw, .arg = (void *)1, .module = "peers",
		.pattern = "raw_shm_cycle", .param = RC_LEN, .bytes = RC_LEN, .placement = "single",
		.mode = "none", .metric = "real_time", .floor = PEER_RAW_SHM,
		.note = "floor of a create/attach cycle: the raw shm_open sequence"});
	gbs_register(&(struct gbs_bench){
		.name = PEER_RAW_MMAP, .fn = bm_raw, .arg = NULL, .module = "peers",
		.pattern = "raw_mmap_cycle", .param = RC_LEN, .bytes = RC_LEN, .placement = "single",
		.mode = "none", .metric = "real_time", .floor = PEER_RAW_MMAP,
		.note = "floor of a create/attach cycle: the raw open + mmap sequence"});
}
