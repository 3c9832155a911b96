/* SPDX-License-Identifier: MIT */
/* mmap_region.c - cycle-mmap_region ITERS PROCS: create + attach + teardown
 * with shmkit's mmap_region module on /dev/shm/<name> (create with
 * SHMK_CLEANUP_MANUAL, write | attach, read | close attacher, close
 * creator, which unlinks). */
#include <stdint.h>

#include "shmkit/mmap_region.h"

#include "cycle.h"
#include "ops.h"

int one_cycle(const char *name)
{
	return cycle_mmap_region(name);
}

int main(int argc, char **argv)
{
	return cycle_main(argv[0], "/shmk-bench-cyc-mmap-%d-%d", argc, argv);
}
