/* SPDX-License-Identifier: MIT */
/*
 * reliability.c - the cross-module reliability suite (issue 11, items 5-7),
 * one table-driven test per primitive and concern, through the uniform
 * face in conformance/support/rel.h:
 *
 *   enospc    a tmpfs of 1 MiB in a private mount namespace (root only):
 *             creating an object that does not fit fails at create with
 *             -ENOSPC and leaves nothing half-made; one that fits works.
 *   truncate  the backing file is cut under an attached process: every
 *             module's check call (<module>.truncate.check, mmap_region's
 *             check_and_remap) reports SHMK_ETRUNCATED; then one ordinary
 *             operation runs: an events handle's first operation (its role
 *             claim) reports SHMK_ETRUNCATED too, while a hot-path data
 *             operation that touches cut pages may die of SIGBUS (the
 *             documented <module>.truncate.hot-path limitation, printed as
 *             such: the caller was told first); attaching to the cut file
 *             is refused with a documented code.
 *   paths     run as nobody: symlink at the final path and at a parent, a
 *             file of another uid, a mode wider than asked, a hard link, a
 *             FIFO, a directory, a too-short file, at every attach/open by
 *             path: each refused (SHMK_EUNSAFE with the reason in
 *             shmk_errdetail(), or SHMK_ETOOSMALL) and the victim file
 *             unchanged (bytes, size, mode, links).
 *   faults    every setup syscall site (open, shm_open, ftruncate,
 *             fallocate, mmap, mremap, fstat, futex) failed at its Nth call
 *             for N = 1.. until create (then attach) succeeds with no fault
 *             fired: an error comes back, no descriptor and no mapping
 *             leaks, and the name either does not exist or a forked peer's
 *             attach returns cleanly (no crash, no hang).
 *
 * Each test prints what it tried and saw.  Item 4 (concurrent create /
 * attach / remove) is conformance/stress/reliability_race.c.
  *
 * (One program, conformance/tests/reliability/<concern>.c; this header declares
 * what the files share, main.c defines it.)
 */
#ifndef SHMK_TESTS_RELIABILITY_H
#define SHMK_TESTS_RELIABILITY_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "internal.h"	/* shmk_fault_set / shmk_fault_fired */
#include "rel.h"
#include "shmkit/error.h"
#include "shmkit/events.h"
#include "shmkit/mmap_region.h"
#include "shmkit/ring.h"
#include "shmkit/shm.h"
#include "shmkit/slots.h"

/* Test paths are well under 200 bytes; one cut short would fail its test
 * loudly (ENOENT), so gcc's worst-case length warnings are noise here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define OTHER_UID 1	/* "daemon": a uid that is neither root nor nobody */

/* every primitive, in the order the tests walk them */
extern const enum t_rel_kind kinds[REL_N];

int count_maps(void);
uint64_t fingerprint(const char *path);
void own_dir(char *buf, size_t len, const char *stem, uid_t uid);
void rm_tree(const char *dir);
const char *object_at(enum t_rel_kind k, const char *dir, const char *stem, char *buf,
	size_t len);

#endif
