/* SPDX-License-Identifier: MIT */
/* ring.c - cycle-ring ITERS PROCS: create a 64 KiB ring (the minimum),
 * hand out a writer and open it (in this process), close both, unlink. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "shmkit/ring.h"

#include "cycle.h"

int one_cycle(const char *name)
{
	struct shmk_ring *r;
	struct shmk_ring_writer *w;
	struct shmk_ring_opts o = {.capacity = 65536};
	int wfd, pfd;
	int rc = shmk_ring_create(name + 1, &o, &r);
	if (rc)
		return rc;
	if ((rc = shmk_ring_writer_new(r, 1, &wfd, &pfd)))
		return rc;
	rc = shmk_ring_writer_open(wfd, &w); /* consumes wfd */
	if (rc)
		return rc;
	shmk_ring_writer_close(w);
	close(pfd);
	shmk_ring_close(r);
	char path[160];
	snprintf(path, sizeof path, "/dev/shm%s", name);
	cycle_note(path);
	return shmk_ring_unlink(name + 1);
}

int main(int argc, char **argv)
{
	return cycle_main(argv[0], "/shmk-bench-cyc-ring-%d-%d", argc, argv);
}
