/* SPDX-License-Identifier: MIT */
/*
 * shm.h - a POSIX shared-memory object (shm_open), after psx-shm's `Shm`.
 *
 *   struct shmk_shm *shm;
 *   struct shmk_shm_map *map;
 *   int rc = shmk_shm_open("/my-object", O_RDWR | O_CREAT | O_EXCL, 0600, &shm);
 *   if (!rc) rc = shmk_shm_set_size(shm, 1 << 20);
 *   if (!rc) rc = shmk_shm_map(shm, 0, &map);
 *   ... shmk_shm_map_ptr(map), shmk_shm_map_len(map) ...
 *   shmk_shm_unmap(map); shmk_shm_unlink(shm); shmk_shm_close(shm);
 *
 * Every function returning int returns 0 (or a non-negative value where
 * stated) or a negative code: -errno from the failing call or a SHMK_E*
 * code (error.h gives the convention and the detail).
 * The promises are the clauses in conformance/spec/shm.md (ids shm.*).
 *
 * Threads: a handle and its map are NOT safe to use from two threads at
 * once (like a file position); distinct handles are independent.
 */
#ifndef SHMKIT_SHM_H
#define SHMKIT_SHM_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shmk_shm;	/* opaque: one open shared-memory object */
struct shmk_shm_map;	/* opaque: the (single) live mapping of a handle */

/* Longest name after the leading '/': NAME_MAX of the /dev/shm directory. */
#define SHMK_SHM_NAME_MAX 255

/* Opt-ins for shmk_shm_open_with() (shm.open.check). */
enum {
	SHMK_SHM_ALLOW_FOREIGN = 1u << 0, /* accept an object owned by another uid */
	SHMK_SHM_ALLOW_WIDER = 1u << 1,   /* accept mode bits beyond `mode` */
};

/*
 * Open (and with O_CREAT create) the object `name`: "/" followed by 1..255
 * bytes without another '/', not "." or "..".  oflags: O_RDONLY or O_RDWR,
 * optionally O_CREAT, O_EXCL, O_TRUNC (O_TRUNC needs O_RDWR).  mode: the
 * permission bits to create with and the widest mode accepted on an
 * existing object; 0 means 0600.  Bad names are -EINVAL / -ENAMETOOLONG,
 * an unsafe object (other owner, wider mode, not regular, hard-linked) is
 * SHMK_EUNSAFE; bad oflags -EINVAL; -errno from shm_open/fstat (-ENOENT
 * without O_CREAT, -EEXIST with O_EXCL, -EACCES).
 */
int shmk_shm_open(const char *name, int oflags, mode_t mode, struct shmk_shm **out);
/* Same, with SHMK_SHM_ALLOW_* opt-ins in `flags`. */
int shmk_shm_open_with(const char *name, int oflags, mode_t mode, unsigned flags,
		       struct shmk_shm **out);

/* Current size as fstat reports it (another process may change it). */
int shmk_shm_size(const struct shmk_shm *shm, size_t *size);

/*
 * Set the size.  Growing reserves the memory (posix_fallocate), so a full
 * tmpfs fails here with -ENOSPC, not at first touch.  Shrinking below the
 * end of this handle's live map is -EBUSY (a touch there would SIGBUS).
 */
int shmk_shm_set_size(struct shmk_shm *shm, size_t size);

/*
 * Map [offset, size) of the object, size as fstat reports it now.  An
 * offset that is not page-aligned maps from the page boundary below and
 * shmk_shm_map_ptr() returns the pointer to `offset` itself.  A size-0
 * object is SHMK_ETOOSMALL, offset >= size is SHMK_ERANGE; a second map
 * while one is live on the same handle is -EBUSY.  The mapping is read-only
 * for an O_RDONLY handle.
 */
int shmk_shm_map(struct shmk_shm *shm, size_t offset, struct shmk_shm_map **out);
void *shmk_shm_map_ptr(const struct shmk_shm_map *map);	/* NULL for NULL */
size_t shmk_shm_map_len(const struct shmk_shm_map *map);	/* 0 for NULL */
/*
 * Truncation (r[shm.truncate.check]): another process that opens the name
 * can shrink the object under a live map, and touching the cut pages then
 * raises SIGBUS.  0 while the object still covers the whole map,
 * SHMK_ETRUNCATED when it shrank (stop touching the map; unmapping is
 * safe), -EBADF once the map's handle was closed (its descriptor is gone),
 * -errno from fstat.  One fstat: the map's bytes are plain memory and no
 * access to them re-checks (r[shm.truncate.hot-path]).
 */
int shmk_shm_map_check(const struct shmk_shm_map *map);
/* Unmap and free the map; the handle may map again afterwards. */
int shmk_shm_unmap(struct shmk_shm_map *map);

/* The descriptor (still owned by the handle), or -EINVAL for NULL. */
int shmk_shm_fd(const struct shmk_shm *shm);
/* The name as given to open (NUL-terminated), or NULL for NULL. */
const char *shmk_shm_name(const struct shmk_shm *shm);

/* Remove the name; the handle, its descriptor and its map stay usable. */
int shmk_shm_unlink(struct shmk_shm *shm);

/*
 * Close the descriptor and free the handle.  A live map survives it and
 * stays valid until shmk_shm_unmap() (as a memmap2 map outlives its fd).
 */
int shmk_shm_close(struct shmk_shm *shm);

#ifdef __cplusplus
}
#endif
#endif
