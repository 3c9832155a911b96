/* SPDX-License-Identifier: MIT */
/*
 * rawcycle.h - the raw syscall sequence that shm's and mmap_region's
 * create + attach + teardown are judged against, shared by the in-process
 * peer (bench/peers/rawcycle.c) and the whole-process one under hyperfine
 * (bench/cycle/raw.c), so both measure exactly the same calls:
 *
 *   shm:  shm_open(O_CREAT|O_EXCL) ftruncate mmap | shm_open mmap |
 *         munmap munmap close close shm_unlink
 *   file: open(O_CREAT|O_EXCL|O_NOFOLLOW) ftruncate mmap | open mmap |
 *         munmap munmap close close unlink
 *
 * The creator writes the first word and the attacher reads it, so both
 * mappings are faulted in as a real user would.
 */
#ifndef SHMK_BENCH_RAWCYCLE_H
#define SHMK_BENCH_RAWCYCLE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* One cycle on name (a shm name when shm, else a file path) of len bytes:
 * 0, or -1..-4 saying which step failed (create, map, attach, read back). */
static inline int raw_cycle(bool shm, const char *name, size_t len)
{
	int fd = shm ? shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
		     : open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)len))
		return -1;
	volatile uint64_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return -2;
	a[0] = 42;
	int fd2 = shm ? shm_open(name, O_RDWR | O_CLOEXEC, 0) : open(name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd2 < 0)
		return -3;
	volatile uint64_t *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	if (b == MAP_FAILED || b[0] != 42)
		return -4;
	munmap((void *)b, len);
	munmap((void *)a, len);
	close(fd2);
	close(fd);
	return shm ? shm_unlink(name) : unlink(name);
}

#endif
