/* SPDX-License-Identifier: MIT */
/* shm.c - cycle-shm ITERS PROCS: create + attach + teardown with shmkit's
 * shm module (shmk_shm_open O_CREAT|O_EXCL, set_size, map, write | open,
 * map, read | unmap, unmap, unlink, close, close). */
#include <fcntl.h>
#include <stdint.h>

#include "shmkit/shm.h"

#include "cycle.h"

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

int main(int argc, char **argv)
{
	return cycle_main(argv[0], "/shmk-bench-cyc-shm-%d-%d", argc, argv);
}
