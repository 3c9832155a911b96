/* SPDX-License-Identifier: MIT */
/*
 * ops.h - the create + attach + teardown cycle of a 4 KiB region of each
 * file primitive, shared by the in-process bench (bench/<m>.c, timed by
 * Google Benchmark) and the whole-process program (bench/cycle/<m>.c, timed
 * by hyperfine).  static inline, as the timed-loop helpers of common.h: each
 * program compiles the cycle into its timed loop exactly as when it had its
 * own copy, so sharing it moves no figure.
 */
#ifndef SHMK_BENCH_CYCLE_OPS_H
#define SHMK_BENCH_CYCLE_OPS_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>

#include "shmkit/mmap_region.h"
#include "shmkit/shm.h"

#define CYCLE_LEN 4096

/* shm: shmk_shm_open O_CREAT|O_EXCL, set_size, map, write | open, map, read
 * | unmap, unmap, unlink, close, close. */
static inline int cycle_shm(const char *name)
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

/* mmap_region on /dev/shm/<name>: create with SHMK_CLEANUP_MANUAL, write |
 * attach, read | close attacher, close creator, which unlinks. */
static inline int cycle_mmap_region(const char *name)
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

#endif
