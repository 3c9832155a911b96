/* SPDX-License-Identifier: MIT */
/*
 * mmap_region.c - create + attach + teardown of a 4 KiB region with shmkit's mmap_region
 * module, in one process (the whole-process form is bench/cycle/mmap_region.c
 * under hyperfine), against the raw syscall sequence PEER_RAW_MMAP
 * (bench/peers/rawcycle.c), its floor and baseline.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "shmkit/error.h"
#include "shmkit/mmap_region.h"

#include "common.h"
#include "peers/peers.h"

#define CYCLE_LEN 4096

static int one_cycle(const char *name)
{
	char path[160];
	struct shmk_mmap_region *a, *b;
	snprintf(path, sizeof path, "/dev/shm%s", name);
	int rc = shmk_mmap_region_create(path, CYCLE_LEN, SHMK_CLEANUP_MANUAL, 0600, &a);
	if (rc)
		return rc;
	*(volatile uint64_t *)shmk_mmap_region_ptr(a) = 42;
	if ((rc = shmk_mmap_region_attach(path, &b)))
		return rc;
	if (*(volatile uint64_t *)shmk_mmap_region_ptr(b) != 42)
		return -1;
	shmk_mmap_region_close(b);
	return shmk_mmap_region_close(a);
}

static void bm_cycle(gbs_state *st, void *arg)
{
	(void)arg;
	char name[96];
	snprintf(name, sizeof name, "/shmk-bench-mmap-%d", (int)getpid());
	while (gbs_keep_running(st)) {
		int rc = one_cycle(name);
		if (rc) {
			char m[160];
			snprintf(m, sizeof m, "cycle: %s (%s)", shmk_strerror(rc), shmk_errdetail());
			gbs_skip_with_error(st, m);
			break;
		}
	}
	gbs_set_items_processed(st, gbs_iterations(st));
}

__attribute__((constructor)) static void reg(void)
{
	gbs_register(&(struct gbs_bench){
		.name = "mmap_region/cycle/4096/single", .fn = bm_cycle, .module = "mmap_region",
		.pattern = "cycle", .param = CYCLE_LEN, .bytes = CYCLE_LEN, .placement = "single",
		.mode = "none", .metric = "real_time", .floor = PEER_RAW_MMAP, .baseline = PEER_RAW_MMAP});
}
