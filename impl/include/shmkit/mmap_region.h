/* SPDX-License-Identifier: MIT */
/*
 * mmap_region.h - a file-backed MAP_SHARED region, after roam
 * shm-primitives' `MmapRegion`.
 *
 *   struct shmk_mmap_region *r;
 *   int rc = shmk_mmap_region_create("/run/app/seg", 1 << 20, SHMK_CLEANUP_MANUAL, 0, &r);
 *   ... shmk_mmap_region_ptr(r), shmk_mmap_region_len(r) ...
 *   shmk_mmap_region_close(r);             // unlinks: this process owns the file
 *
 * and in a peer:
 *
 *   rc = shmk_mmap_region_attach("/run/app/seg", &r);
 *   ...
 *   bool moved;
 *   rc = shmk_mmap_region_check_and_remap(r, &moved);  // the creator grew it?
 *   if (rc == SHMK_ETRUNCATED) ...                     // it shrank: stop touching it
 *
 * Every function returning int returns 0 or a negative code (-errno or
 * SHMK_E*; error.h gives the convention, the detail and SHMK_LIVENESS_MS);
 * the getters say what they return for NULL.
 * The promises are the clauses in conformance/spec/mmap_region.md.
 *
 * The file has no header: shmkit keeps no state in it, so ownership (who
 * unlinks at close) is a flag of this process's handle, as upstream.
 *
 * Threads: a handle is NOT safe to use from two threads at once; resize and
 * check_and_remap may move the base, so every thread that caches
 * shmk_mmap_region_ptr() must reload it after either returns.
 */
#ifndef SHMKIT_MMAP_REGION_H
#define SHMKIT_MMAP_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shmk_mmap_region;	/* opaque */

/*
 * What happens to the file (r[mmap_region.cleanup.names]).  The mapping to
 * roam's FileCleanup:
 *
 *   shmkit                 roam                 the file
 *   SHMK_CLEANUP_KEEP      (none)               never deleted by shmkit; the
 *                                               default (value 0), an attach
 *                                               takes ownership to remove it
 *   SHMK_CLEANUP_MANUAL    FileCleanup::Manual  this handle owns it: close
 *                                               unlinks it (a crash leaves it,
 *                                               hence "manual" cleanup)
 *   SHMK_CLEANUP_AUTO      FileCleanup::Auto    unlinked right after mapping
 *                                               (Unix); it lives while mapped
 *                                               or open.  Peers must already
 *                                               have it open or receive the
 *                                               descriptor (shmk_mmap_region_fd,
 *                                               SCM_RIGHTS, then _attach_fd)
 *
 * Earlier shmkit called value 0 SHMK_CLEANUP_MANUAL and value 1
 * SHMK_CLEANUP_ON_CLOSE: code written against those names must rename
 * MANUAL to KEEP (value 0 never deletes) and ON_CLOSE to MANUAL (value 1,
 * same meaning).
 */
enum shmk_cleanup {
	SHMK_CLEANUP_KEEP = 0,
	SHMK_CLEANUP_MANUAL = 1,
	SHMK_CLEANUP_AUTO = 2,
};

enum {
	SHMK_MMAP_REPLACE = 1u << 0,	   /* create: unlink an existing file first */
	SHMK_MMAP_ALLOW_FOREIGN = 1u << 1, /* attach/replace: accept another uid's file */
	SHMK_MMAP_ALLOW_WIDER = 1u << 2,   /* attach: accept mode bits beyond `mode` */
};

struct shmk_mmap_region_opts {
	enum shmk_cleanup cleanup;	/* create only */
	mode_t mode;	/* create: permission bits; attach: widest accepted; 0 = 0600 */
	unsigned flags;	/* SHMK_MMAP_* */
	size_t min_len;	/* attach: shorter files are SHMK_ETOOSMALL; 0 = 1 byte */
};

/*
 * Create `path` (O_CREAT|O_EXCL|O_NOFOLLOW: an existing path is -EEXIST,
 * never truncated), reserve `size` bytes with posix_fallocate (a full
 * filesystem fails here with -ENOSPC and leaves no file), map it.  mode 0
 * means 0600.  A symlink at the path or at a parent is SHMK_EUNSAFE.
 */
int shmk_mmap_region_create(const char *path, size_t size, enum shmk_cleanup cleanup,
			    mode_t mode, struct shmk_mmap_region **out);
/* Same with options; SHMK_MMAP_REPLACE unlinks an existing regular file at
 * `path` and creates a new one (peers keep the old file's bytes). */
int shmk_mmap_region_create_with(const char *path, size_t size,
				 const struct shmk_mmap_region_opts *opts,
				 struct shmk_mmap_region **out);

/* Attach to an existing file; its size is the region's length.  Refuses an
 * empty or too-short file (SHMK_ETOOSMALL) and an unsafe one (SHMK_EUNSAFE:
 * symlink, other owner, mode wider than 0600, not regular, hard-linked);
 * -EINVAL (NULL out, bad opts), -ENOENT and other -errno from open, -EFBIG
 * (too large to map), -errno from fstat/mmap.  attach_fd: the same, and
 * -EBADF for a negative fd. */
int shmk_mmap_region_attach(const char *path, struct shmk_mmap_region **out);
int shmk_mmap_region_attach_with(const char *path, const struct shmk_mmap_region_opts *opts,
				 struct shmk_mmap_region **out);
/* Attach to an open descriptor (e.g. received over SCM_RIGHTS).  The fd is
 * duplicated; the caller keeps its own.  The region has no path: _path()
 * is NULL and take_ownership() is -EINVAL.  opts may be NULL. */
int shmk_mmap_region_attach_fd(int fd, const struct shmk_mmap_region_opts *opts,
			       struct shmk_mmap_region **out);

void *shmk_mmap_region_ptr(const struct shmk_mmap_region *r);	/* NULL for NULL */
size_t shmk_mmap_region_len(const struct shmk_mmap_region *r);	/* 0 for NULL */
/* True only for NULL: a live region is never empty (mmap_region.attach.empty). */
bool shmk_mmap_region_is_empty(const struct shmk_mmap_region *r);
/* The path given to create/attach, or NULL (fd-attached or NULL handle).
 * With SHMK_CLEANUP_AUTO the path is already unlinked (as upstream's path()). */
const char *shmk_mmap_region_path(const struct shmk_mmap_region *r);
/* The handle's descriptor (it stays the handle's: dup or send it, never
 * close it), e.g. to pass an SHMK_CLEANUP_AUTO region over SCM_RIGHTS;
 * -EINVAL for NULL. */
int shmk_mmap_region_fd(const struct shmk_mmap_region *r);

/* From now on close unlinks the file (-EINVAL when the region has no path). */
int shmk_mmap_region_take_ownership(struct shmk_mmap_region *r);
/* From now on close leaves the file. */
int shmk_mmap_region_release_ownership(struct shmk_mmap_region *r);
/* 1 when close would unlink, 0 when not, -EINVAL for NULL. */
int shmk_mmap_region_owns_file(const struct shmk_mmap_region *r);

/*
 * Grow the file to new_size (reserved with posix_fallocate) and remap; the
 * base may move.  Smaller than len: -EINVAL; equal: 0, nothing done.  On
 * failure the old mapping, pointer and length stay valid (the file may have
 * grown; a later resize or check_and_remap picks that up).
 */
int shmk_mmap_region_resize(struct shmk_mmap_region *r, size_t new_size);

/*
 * fstat the file: grown -> remap to its size, *remapped = true (the base may
 * have moved); same size -> *remapped = false; shrunk -> SHMK_ETRUNCATED and
 * the handle unchanged (touching beyond the new end would SIGBUS: close it).
 * It is the only truncation check: accesses through shmk_mmap_region_ptr()
 * are plain memory and fault on cut pages (r[mmap_region.truncate.hot-path]).
 */
int shmk_mmap_region_check_and_remap(struct shmk_mmap_region *r, bool *remapped);

/*
 * Unmap, close, and when this handle owns the file, unlink it, but only
 * if the path still names the mapped file (same device and inode).  The
 * handle is freed even when an error is returned.
 */
int shmk_mmap_region_close(struct shmk_mmap_region *r);

#ifdef __cplusplus
}
#endif
#endif
