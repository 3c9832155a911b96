/* SPDX-License-Identifier: MIT */
/*
 * shm.c - create + attach + teardown of a 4 KiB region with shmkit's shm
 * module, in one process (the whole-process form is bench/cycle/shm.c
 * under hyperfine), against the raw syscall sequence PEER_RAW_SHM
 * (bench/peers/rawcycle.c), its floor and baseline.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "shmkit/error.h"
#include "shmkit/shm.h"

#include "common.h"
#include "peers/peers.h"

#define CYCLE_LEN 4096

static int one_cycle(const char *name)
{
	struct shmk_shm *a, *b;
	struct shmk_shm_map *ma, *mb;
	int rc = shmk_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (rc)
		return rc;
	if ((rc = shmk_shm_set_size(a, CYCLE_LEN)) || (rc = shmk_shm_map(a, 0, &ma)))
		return rc;
	*(volatile uint64_t *)shmk_shm_map_ptr(ma) = 42;
	if ((rc = shmk_shm_open(name, O_RDWR, 0600, &b)) || (rc = shmk_shm_map(b, 0, &mb)))
		return rc;
	if (*(volatile uint64_t *)shmk_shm_map_ptr(mb) != 42)
		return -1;
	shmk_shm_unmap(mb);
	shmk_shm_unmap(ma);
	rc = shmk_shm_unlink(a);
	shmk_shm_close(b);
	shmk_shm_close(a);
	return rc;
}

static void bm_cycle(gbs_state *st, void *arg)
{
	(void)arg;
	char name[96];
	snprintf(name, sizeof name, "/shmk-bench-shm-%d", (int)getpid());
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
		.name = "shm/cycle/4096/single", .fn = bm_cycle, .module = "shm",
		.pattern = "cycle", .param = CYCLE_LEN, .bytes = CYCLE_LEN, .placement = "single",
		.mode = "none", .metric = "real_time", .floor = PEER_RAW_SHM, .baseline = PEER_RAW_SHM});
}
