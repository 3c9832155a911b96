/* SPDX-License-Identifier: MIT */
/* mmap_region.c - cycle-mmap_region ITERS PROCS: create + attach + teardown
 * with shmkit's mmap_region module on /dev/shm/<name> (create with
 * SHMK_CLEANUP_MANUAL, write | attach, read | close attacher, close
 * creator, which unlinks). */
#include <stdint.h>

#include "shmkit/mmap_region.h"

#include "cycle.h"

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

int main(int argc, char **argv)
{
	return cycle_main(argv[0], "/shmk-bench-cyc-mmap-%d-%d", argc, argv);
}
