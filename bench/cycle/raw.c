/* SPDX-License-Identifier: MIT */
/*
 * raw.c - cycle-raw shm|mmap BYTES ITERS PROCS: the raw syscall sequence
 * the shmkit cycles are judged against (bench/rawcycle.h; mmap: the file
 * /dev/shm/<name>), on a region of BYTES, the size of the cycle it judges.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rawcycle.h"
#include "cycle.h"

static bool use_shm;
static size_t len;

int one_cycle(const char *name)
{
	char path[160];
	const char *p = name;
	if (!use_shm) {
		snprintf(path, sizeof path, "/dev/shm%s", name);
		p = path;
	}
	return raw_cycle(use_shm, p, len);
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[1], "shm") && strcmp(argv[1], "mmap")) || atol(argv[2]) < 8) {
		fprintf(stderr, "usage: %s shm|mmap BYTES ITERS PROCS\n", argv[0]);
		return 2;
	}
	use_shm = !strcmp(argv[1], "shm");
	len = (size_t)atol(argv[2]);
	return cycle_main(argv[0], "/shmk-bench-cyc-raw-%d-%d", argc - 2, argv + 2);
}
