/* SPDX-License-Identifier: MIT */
/*
 * raw.c - cycle-raw shm|mmap ITERS PROCS: the raw syscall sequence the
 * shmkit cycles are judged against (same as bench/peers/rawcycle.c):
 *   shm:  shm_open(O_CREAT|O_EXCL) ftruncate mmap, write | shm_open mmap,
 *         read | munmap munmap close close shm_unlink
 *   mmap: the same with open(2) on /dev/shm/<name> and unlink(2).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

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
	int fd = use_shm ? shm_open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
			 : open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || ftruncate(fd, CYCLE_LEN))
		return -1;
	volatile uint64_t *a = mmap(NULL, CYCLE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return -2;
	a[0] = 42;
	int fd2 = use_shm ? shm_open(p, O_RDWR | O_CLOEXEC, 0) : open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd2 < 0)
		return -3;
	volatile uint64_t *b = mmap(NULL, CYCLE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	if (b == MAP_FAILED || b[0] != 42)
		return -4;
	munmap((void *)b, CYCLE_LEN);
	munmap((void *)a, CYCLE_LEN);
	close(fd2);
	close(fd);
	return use_shm ? shm_unlink(p) : unlink(p);
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
