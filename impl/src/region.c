/* SPDX-License-Identifier: MIT */
/*
 * region.c - the one place that creates, reserves, attaches, grows, checks
 * and maps a file; see region.h.  shm, mmap_region, events, ring and slots
 * all make their files here, so a rule about files (safe paths, the attach
 * checks, the mode, reservation, truncation) is kept in one place.
 *
 * Cost rule: each open makes exactly one fstat and hands it back; the size,
 * the mode fix and the attach checks all read that copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "region.h"

/* ---------------------------------------------------------------- paths */

/* openat2(RESOLVE_NO_SYMLINKS) relative to dirfd, with the refusals every
 * module gives: a symlink anywhere or a directory is SHMK_EUNSAFE. */
static int open_safe(int dirfd, const char *path, int flags, mode_t mode)
{
	/* r[impl common.path.nosymlink] */
	/* RESOLVE_NO_SYMLINKS: a symlink at any component, not only the last
	 * (which is all O_NOFOLLOW guards), is refused with ELOOP. */
	int fd = shmk_sys_openat2(dirfd, path, flags | O_NOFOLLOW, mode, RESOLVE_NO_SYMLINKS);
	if (fd == -ELOOP)
		return shmk_fail(SHMK_EUNSAFE, "%s: a path component is a symbolic link", path);
	if (fd == -ENOSYS) {
		/* Kernels before 5.6: the last component is still guarded. */
		fd = openat(dirfd, path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0)
			fd = errno == ELOOP ? shmk_fail(SHMK_EUNSAFE, "%s: symbolic link", path)
					    : SHMK_FAIL(-errno);
	}
	/* r[impl common.path.owner] a directory is not a regular file: the
	 * same refusal and detail as shmk_check_fd gives a FIFO */
	if (fd == -EISDIR)
		return shmk_fail(SHMK_EUNSAFE, "%s: a directory, not a regular file", path);
	return fd;
}

int shmk_open_path(const char *path, int flags, mode_t mode, int *fdp)
{
	if (!path || !fdp)
		return SHMK_FAIL(-EINVAL);
	if (!*path)
		return SHMK_FAIL(-ENOENT);
	int fd = open_safe(AT_FDCWD, path, flags, mode);
	if (fd < 0)
		return fd;
	*fdp = fd;
	return 0;
}

int shmk_check_fd(int fd, const char *what, const struct shmk_path_policy *pol,
		  struct stat *st_out)
{
	struct stat st;
	int rc = shmk_sys_fstat(fd, &st);

	if (rc)
		return rc;
	if (!what)
		what = "object";
	/* r[impl common.path.owner] */
	if (!S_ISREG(st.st_mode))
		return shmk_fail(SHMK_EUNSAFE, "%s: not a regular file", what);
	/* r[impl common.path.euid-now] read at every owner check, never
	 * cached: a process may drop privileges between two opens */
	uid_t euid;
	if (!pol->allow_foreign && st.st_uid != (euid = geteuid()))
		return shmk_fail(SHMK_EUNSAFE, "%s: owned by uid %u, not %u", what,
				 (unsigned)st.st_uid, (unsigned)euid);
	if (!pol->allow_wider && (st.st_mode & 07777 & ~pol->mode))
		return shmk_fail(SHMK_EUNSAFE, "%s: mode %04o is wider than %04o", what,
				 (unsigned)(st.st_mode & 07777), (unsigned)pol->mode);
	if (st.st_nlink > 1)
		return shmk_fail(SHMK_EUNSAFE, "%s: has %lu hard links", what,
				 (unsigned long)st.st_nlink);
	if (st_out)
		*st_out = st;
	return 0;
}

/* ---------------------------------------------------------------- create / open */

/* r[impl common.create.mode] */
int shmk_region_set_mode(int fd, const struct stat *st, mode_t mode)
{
	if ((st->st_mode & 07777) == mode)
		return 0;
	return fchmod(fd, mode) ? SHMK_FAIL(-errno) : 0;
}

int shmk_region_create(int dirfd, const char *path, mode_t mode, int *fdp, struct stat *st)
{
	int fd = open_safe(dirfd, path, O_RDWR | O_CREAT | O_EXCL, mode);

	if (fd < 0)
		return fd;
	/* O_EXCL made it: ours by construction, so no owner or link check;
	 * the fstat serves the mode fix and the caller's identity and size. */
	int rc = shmk_sys_fstat(fd, st);
	if (!rc)
		rc = shmk_region_set_mode(fd, st, mode);
	if (rc) {
		/* the file is this call's alone (O_EXCL): leave nothing behind */
		unlinkat(dirfd, path, 0);
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

int shmk_region_open(const char *path, int flags, mode_t mode,
		     const struct shmk_path_policy *pol, int *fdp, struct stat *st)
{
	int fd, rc = shmk_open_path(path, flags, mode, &fd);

	if (rc)
		return rc;
	rc = shmk_check_fd(fd, path, pol, st);
	if (rc) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

int shmk_region_shm_open(const char *name, int flags, mode_t mode,
			 const struct shmk_path_policy *pol, int *fdp, struct stat *st)
{
	struct stat st_local;
	bool created = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	int fd = shmk_sys_shm_open(name, flags, mode);

	/* glibc opens /dev/shm/<name> with O_NOFOLLOW */
	if (fd == -ELOOP)
		fd = shmk_fail(SHMK_EUNSAFE, "%s: is a symbolic link", name);
	/* glibc's shm_open reports a directory at the name as EINVAL (callers
	 * validated name and flags, so nothing else gives EINVAL here): it is
	 * not a regular file. */
	if (fd == -EINVAL || fd == -EISDIR)
		fd = shmk_fail(SHMK_EUNSAFE, "%s: a directory, not a regular file", name);
	if (fd < 0)
		return fd;
	if (!st)
		st = &st_local;
	/* An object this call created with O_EXCL is the caller's by
	 * construction (its uid is our fsuid), so the owner comparison (a
	 * geteuid per open) is skipped there; type, mode and link count are
	 * still checked on the one fstat. */
	struct shmk_path_policy p = *pol;
	p.allow_foreign |= created;
	int rc = shmk_check_fd(fd, name, &p, st);
	if (!rc && created)
		rc = shmk_region_set_mode(fd, st, mode);
	if (rc) {
		if (created)
			shm_unlink(name); /* O_EXCL: the object is ours alone */
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

/* flock, not fcntl locks: the kernel drops it when its holder dies, and
 * no close of another descriptor of the file does. */
int shmk_region_trylock(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK || errno == EINTR ? 1 : SHMK_FAIL(-errno);
}

void shmk_region_unlock(int fd)
{
	flock(fd, LOCK_UN);
}

/* ---------------------------------------------------------------- size */

int shmk_region_reserve(int fd, uint64_t cur, uint64_t size)
{
	if (size <= cur)
		return 0;
	/* fallocate (mode 0) extends the size too, so the usual path needs no
	 * fstat afterwards. */
	int rc = shmk_sys_fallocate_or_unsupported(fd, (off_t)cur, (off_t)(size - cur));
	if (rc != 1)
		return rc;
	/* The filesystem lacks fallocate: set the size (the first touch may
	 * fault there), never cutting a file a peer grew meanwhile. */
	struct stat st;
	rc = shmk_sys_fstat(fd, &st);
	if (!rc && (uint64_t)st.st_size < size)
		rc = shmk_sys_ftruncate(fd, (off_t)size);
	return rc;
}

int shmk_region_cut(int fd, uint64_t size)
{
	return shmk_sys_ftruncate(fd, (off_t)size);
}

int shmk_region_size(const struct stat *st, uint64_t min, uint64_t max, const char *what,
		     size_t *len)
{
	uint64_t size = st->st_size < 0 ? 0 : (uint64_t)st->st_size; /* peer-controlled: bound it */

	if (size < min)
		return shmk_fail(SHMK_ETOOSMALL, "%s: %llu bytes, need at least %llu", what,
				 (unsigned long long)size, (unsigned long long)min);
	if (size > max || size > (uint64_t)PTRDIFF_MAX)
		return shmk_fail(-EFBIG, "%s: %llu bytes is too large to map", what,
				 (unsigned long long)size);
	*len = (size_t)size;
	return 0;
}

int shmk_fd_covers(int fd, uint64_t need, const char *what)
{
	struct stat st;
	int rc = shmk_sys_fstat(fd, &st);

	if (rc)
		return rc;
	/* A page wholly past the end of the file raises SIGBUS on touch: the
	 * caller must stop before touching anything, so this is the answer. */
	if (st.st_size < 0 || (uint64_t)st.st_size < need)
		return shmk_fail(SHMK_ETRUNCATED,
				 "%s: file shrank to %lld bytes under a %llu-byte mapping",
				 what ? what : "object", (long long)st.st_size,
				 (unsigned long long)need);
	return 0;
}

/* ---------------------------------------------------------------- maps */

/* r[impl common.map.populate] the kernel's default fault-around window:
 * a read fault maps this much around it anyway */
#define REGION_POPULATE_MAX ((size_t)64 * 1024)

int shmk_region_map(int fd, size_t len, uint64_t off, int prot, void **out)
{
	/* MAP_SHARED: every process mapping the file sees the same pages.
	 * r[impl common.map.populate] a small mapping is touched whole by its
	 * first use: populate it now, one kernel entry instead of a fault per
	 * touch (a populate that fails, e.g. past a cut end, is ignored by the
	 * kernel and leaves what a fault would have met). */
	int flags = MAP_SHARED | (len <= REGION_POPULATE_MAX ? MAP_POPULATE : 0);
	return shmk_sys_mmap(NULL, len, prot, flags, fd, (off_t)off, out);
}

int shmk_region_map_populated(int fd, size_t len, uint64_t off, int prot, void **out)
{
	return shmk_sys_mmap(NULL, len, prot, MAP_SHARED | MAP_POPULATE, fd, (off_t)off, out);
}

int shmk_region_map_parts(int fd, size_t len, const struct shmk_region_part *parts,
			  unsigned nparts, void **base)
{
	void *b, *p;
	/* The reservation holds the whole range, so the MAP_FIXED parts land
	 * next to each other and never on someone else's mapping. */
	int rc = shmk_sys_mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0, &b);
	if (rc)
		return rc;
	for (unsigned i = 0; i < nparts && !rc; i++)
		rc = shmk_sys_mmap((char *)b + parts[i].at, parts[i].len, parts[i].prot,
				   MAP_SHARED | MAP_FIXED | (parts[i].populate ? MAP_POPULATE : 0),
				   fd, (off_t)parts[i].off, &p);
	if (rc) {
		munmap(b, len);
		return rc;
	}
	*base = b;
	return 0;
}

int shmk_region_remap(void **base, size_t *len, size_t new_len)
{
	void *p;
	/* MREMAP_MAYMOVE: growing in place is rarely possible; the caller was
	 * told the base may move.  mremap leaves the old mapping on failure. */
	int rc = shmk_sys_mremap(*base, *len, new_len, MREMAP_MAYMOVE, NULL, &p);
	if (rc)
		return rc;
	*base = p;
	*len = new_len;
	return 0;
}

int shmk_region_unmap(void *base, size_t len)
{
	if (!base)
		return 0;
	return munmap(base, len) ? SHMK_FAIL(-errno) : 0;
}
