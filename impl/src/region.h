/* SPDX-License-Identifier: MIT */
/*
 * region.h - the one place that creates, reserves, attaches, grows, checks
 * and maps a file (region.c).  Internal: no user sees it.
 *
 * Every module builds its file the same way, from these steps:
 *
 *   create    shmk_region_create (a path, O_EXCL under a safe parent) or
 *             shmk_region_shm_open (a name, through shm_open);
 *   join      shmk_region_open (a path; O_CREAT makes it create-or-join)
 *             with shmk_region_trylock / shmk_region_unlock around sizing;
 *   reserve   shmk_region_reserve (fallocate; grows, never cuts);
 *   check     the attach checks (type, owner, mode, one link) inside the
 *             opens, the size floor (shmk_region_size), the truncation
 *             check (shmk_fd_covers);
 *   map       shmk_region_map (whole or at an offset, the caller's
 *             protection, MAP_SHARED), shmk_region_map_parts (a PROT_NONE
 *             reservation with MAP_FIXED parts: a mirror, read-only
 *             pieces), shmk_region_remap (grow), shmk_region_unmap.
 *
 * Each open hands back the struct stat of the one fstat it made, so a
 * caller sizes its mapping from it instead of asking the kernel again.
 * All return 0 / a non-negative value or a negative code, like the
 * syscall wrappers they call (the SHMK_FAULT sites are unchanged).
 */
#ifndef SHMK_REGION_H
#define SHMK_REGION_H

#include <stdint.h>
#include <sys/stat.h>

#include "internal.h"

#pragma GCC visibility push(hidden)

/* Create `path` (relative to dirfd, an O_PATH parent, or AT_FDCWD) with
 * O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW and no symlink at any component; *st
 * gets its fstat, the mode already made exactly `mode`.  -EEXIST as is (the
 * caller names it), a symlink or directory as SHMK_EUNSAFE. */
int shmk_region_create(int dirfd, const char *path, mode_t mode, int *fdp, struct stat *st);

/* Open `path` (flags: O_RDWR, optionally O_CREAT for create-or-join) under
 * the safe-path rules and apply the attach checks of pol; *st (may be
 * NULL) gets the fstat those checks made. */
int shmk_region_open(const char *path, int flags, mode_t mode,
		     const struct shmk_path_policy *pol, int *fdp, struct stat *st);

/* shm_open(name, flags, mode) with the same checks; an object this call
 * created (O_CREAT|O_EXCL) is ours by construction and gets exactly `mode`. */
int shmk_region_shm_open(const char *name, int flags, mode_t mode,
			 const struct shmk_path_policy *pol, int *fdp, struct stat *st);

/* Give a file this process created exactly `mode`, whatever the umask left:
 * an fchmod only when st (its fstat) says the mode differs. */
int shmk_region_set_mode(int fd, const struct stat *st, mode_t mode);

/* flock(LOCK_EX|LOCK_NB): 0 locked, 1 held by another open file, -errno. */
int shmk_region_trylock(int fd);
void shmk_region_unlock(int fd);

/* Make the file hold at least `size` bytes, blocks reserved; `cur` is its
 * size as the caller last saw it.  fallocate extends the size itself; only
 * a filesystem without fallocate gets an ftruncate, never below a size a
 * peer set meanwhile. */
int shmk_region_reserve(int fd, uint64_t cur, uint64_t size);

/* Set the size to exactly `size` (ftruncate): a shrink, or O_TRUNC. */
int shmk_region_cut(int fd, uint64_t size);

/* The size floor and ceiling of an attach: st's size as a length in
 * [min, max], else SHMK_ETOOSMALL / -EFBIG naming `what`. */
int shmk_region_size(const struct stat *st, uint64_t min, uint64_t max, const char *what,
		     size_t *len);

/* MAP_SHARED mapping of [off, off + len) of fd with prot, populated when
 * at most 64 KiB long (common.map.populate). */
int shmk_region_map(int fd, size_t len, uint64_t off, int prot, void **out);

/* The same, populated whatever its length: for a caller that is about to
 * write every page (an initialiser laying out a whole new file). */
int shmk_region_map_populated(int fd, size_t len, uint64_t off, int prot, void **out);

/* One piece of a composite mapping: base + at, len bytes of the file from
 * off, with prot; populate: MAP_POPULATE it (a page its maker touches at
 * once). */
struct shmk_region_part {
	size_t at;
	size_t len;
	uint64_t off;
	int prot;
	bool populate;
};

/* Reserve len bytes of address space (PROT_NONE, no file) and map each part
 * over it with MAP_FIXED; on failure nothing stays mapped. */
int shmk_region_map_parts(int fd, size_t len, const struct shmk_region_part *parts,
			  unsigned nparts, void **base);

/* Move the mapping *base of *len bytes to new_len (MREMAP_MAYMOVE); on
 * failure the old mapping is untouched. */
int shmk_region_remap(void **base, size_t *len, size_t new_len);

/* munmap; NULL base is a no-op. */
int shmk_region_unmap(void *base, size_t len);

#pragma GCC visibility pop

#endif
