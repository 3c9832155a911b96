/* SPDX-License-Identifier: MIT */
/* shm.c - cycle-shm ITERS PROCS: create + attach + teardown with shmkit's
 * shm module (shmk_shm_open O_CREAT|O_EXCL, set_size, map, write | open,
 * map, read | unmap, unmap, unlink, close, close). */
#include <fcntl.h>
#include <stdint.h>

#include "shmkit/shm.h"

#include "cycle.h"
#include "ops.h"

int one_cycle(const char *name)
{
	return cycle_shm(name);
}

int main(int argc, char **argv)
{
	return cycle_main(argv[0], "/shmk-bench-cyc-shm-%d-%d", argc, argv);
}
