/* SPDX-License-Identifier: MIT */
/*
 * mmap_region conformance tests (one program, conformance/tests/mmap_region/
 * <concern>.c by concern) of conformance/spec/mmap_region.md
 * (impl/src/mmap_region.c).
 *
 * Cross-process promises use forked peers inside the isolated test; a peer
 * never asserts: it returns an exit code (checked through h_wait) and
 * leaves what it saw in the region.  Barriers order the processes; no
 * sleeps.
 * This header declares what the files share; main.c defines it.
 */
#ifndef SHMK_TESTS_MMAP_REGION_H
#define SHMK_TESTS_MMAP_REGION_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "shmkit/error.h"
#include "shmkit/mmap_region.h"

#define DEADLINE 20
extern char g_path[PATH_MAX], g_path2[PATH_MAX], g_dir[PATH_MAX];
extern struct h_barrier *g_b;
size_t page(void);
pid_t fork_peer(int (*fn)(void));
/* A peer's handle on g_path (shmk_mmap_region_attach), or NULL. */
struct shmk_mmap_region *attach_g(void);
off_t file_size(const char *p);
void fill(struct shmk_mmap_region *r, size_t from);
size_t count_bad(const struct shmk_mmap_region *r, size_t from, size_t to);
/* Bytes of r's second half that are not a peer's answer (t_npat). */
size_t count_unanswered(const struct shmk_mmap_region *r);
int make_file(const char *path, size_t n, mode_t mode);

#endif
