/* SPDX-License-Identifier: MIT */
/*
 * raw.c - cycle-raw shm|mmap ITERS PROCS: the raw syscall sequence the
 * shmkit cycles are judged against (bench/rawcycle.h; mmap: the file
 * /dev/shm/<name>).
 */
#include <stdbool.h>
#include <string.h>

#include "../rawcycle.h"
#include "cycle.h"

static bool use_shm;

static int one_cycle(const char *name)
{
	char path[160];
	const char *p = name;
	if (!use_shm) {
		snprintf(path, sizeof path, "/dev/shm%s", name);
		p = path;
	}
	return raw_cycle(use_shm, p, CYCLE_LEN);
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "shm") && strcmp(argv[1], "mmap"))) {
		fprintf(stderr, "usage: %s shm|mmap ITERS PROCS\n", argv[0]);
		return 2;
	}
	use_shm = !strcmp(argv[1], "shm");
	return cycle_main(argv[0], "/shmk-bench-cyc-raw-%d-%d", argc - 1, argv + 1);
}
