/* SPDX-License-Identifier: MIT */
/*
 * mmap_region.c - file-backed MAP_SHARED region (roam shm-primitives'
 * `MmapRegion`), see shmkit/mmap_region.h and conformance/spec/mmap_region.md.
 *
 * The file carries no header, so the only peer-controlled value is the file
 * size, read once per call with fstat and bounded before it sizes a mapping.
 *
 * Path handling: a handle that will unlink (SHMK_CLEANUP_MANUAL or _AUTO,
 * SHMK_MMAP_REPLACE) opens the parent directory once (O_PATH, no symlinks
 * anywhere) and keeps it for its life; create, replace and the unlink at
 * close all work relative to it, so a symlink planted in a parent after
 * create, or a later chdir(), cannot redirect the unlink.  A handle that
 * will not (a SHMK_CLEANUP_KEEP create, an attach by path) opens the file in
 * one openat2 (no symlink anywhere) and opens the parent only if it takes
 * ownership; the unlink always checks device and inode too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "region.h"
#include "shmkit/mmap_region.h"

struct shmk_mmap_region {
	void *ptr;
	size_t len;
	int fd;
	int dirfd;	/* O_PATH parent, -1 until the handle may unlink (path.parent) */
	bool owns;	/* close unlinks (process-local, mmap_region.owner.local+2) */
	dev_t dev;	/* the mapped file's identity, from the fstat at create or */
	ino_t ino;	/* attach (never changes for an open file): no fstat at close */
	char *path;	/* as given; NULL when attached by fd */
	const char *base; /* last component, inside path */
};

/* Largest mapping we ask for: mremap/mmap lengths and pointer differences
 * must stay representable, and off_t must hold the file size. */
#define REGION_MAX ((size_t)PTRDIFF_MAX)

static const struct shmk_mmap_region_opts default_opts = {
	.cleanup = SHMK_CLEANUP_KEEP,
	.mode = 0600,
	.flags = 0,
	.min_len = 1,
};

/* r[impl mmap_region.api.args] */
static int check_opts(const struct shmk_mmap_region_opts *o)
{
	if (o->cleanup != SHMK_CLEANUP_KEEP && o->cleanup != SHMK_CLEANUP_MANUAL &&
	    o->cleanup != SHMK_CLEANUP_AUTO)
		return shmk_fail(-EINVAL, "unknown cleanup %d", (int)o->cleanup);
	if (o->mode & ~(mode_t)0777)
		return shmk_fail(-EINVAL, "mode %#o has bits beyond 0777", (unsigned)o->mode);
	if (o->flags & ~(unsigned)(SHMK_MMAP_REPLACE | SHMK_MMAP_ALLOW_FOREIGN |
				   SHMK_MMAP_ALLOW_WIDER))
		return shmk_fail(-EINVAL, "unknown flags %#x", o->flags);
	return 0;
}

/*
 * Copy path into *pathp, open its parent directory (no symlink at any
 * component) into *dirfdp and point *basep at the last component.  With
 * dirfdp NULL the path is only checked and copied (attach by path opens the
 * file itself with RESOLVE_NO_SYMLINKS and needs the parent only once it
 * takes ownership).
 */
static int open_parent(const char *path, char **pathp, const char **basep, int *dirfdp)
{
	if (!path)
		return shmk_fail(-EINVAL, "path is NULL");
	size_t n = strnlen(path, PATH_MAX);
	if (n == 0)
		return shmk_fail(-ENOENT, "path is empty");
	if (n == PATH_MAX)
		return shmk_fail(-ENAMETOOLONG, "path is %d bytes or longer", PATH_MAX);
	char *copy = strdup(path);
	char *dir = strdup(path);
	if (!copy || !dir) {
		free(copy);
		free(dir);
		return SHMK_FAIL(-ENOMEM);
	}
	char *slash = strrchr(dir, '/');
	const char *base = slash ? copy + (slash - dir) + 1 : copy;
	const char *dname = ".";
	if (slash) {
		slash[1] = '\0';	/* keep "/" for "/name"; "a/" for "a/name" */
		dname = dir;
	}
	int rc = 0;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		rc = shmk_fail(-EINVAL, "%s: does not name a file", path);
	else if (strlen(base) > NAME_MAX)
		rc = shmk_fail(-ENAMETOOLONG, "%s: last component longer than %d", path,
			       NAME_MAX);
	int dfd = -1;
	/* r[impl mmap_region.path.nosymlink] O_DIRECTORY: a directory opens
	 * with no fstat to confirm it; a symlink or a non-directory as the
	 * parent's last component gives ENOTDIR, classified below. */
	if (!rc && !dirfdp)
		goto opened;
	if (!rc) {
		rc = shmk_open_path(dname, O_PATH | O_DIRECTORY, 0, &dfd);
		if (rc == -ENOTDIR)
			rc = shmk_open_path(dname, O_PATH, 0, &dfd);
		else if (!rc)
			goto opened;
	}
	if (!rc) {
		/* O_PATH|O_NOFOLLOW yields the link itself when the parent's last
		 * component is a symlink: refuse it here. */
		struct stat st;
		rc = shmk_sys_fstat(dfd, &st);
		if (!rc && S_ISLNK(st.st_mode))
			rc = shmk_fail(SHMK_EUNSAFE, "%s: parent %s is a symbolic link", path,
				       dname);
		else if (!rc && !S_ISDIR(st.st_mode))
			rc = shmk_fail(-ENOTDIR, "%s: parent %s is not a directory", path, dname);
	}
opened:
	free(dir);
	if (rc) {
		if (dfd >= 0)
			close(dfd);
		free(copy);
		return rc;
	}
	*pathp = copy;
	*basep = base;
	if (dirfdp)
		*dirfdp = dfd;
	return 0;
}

/* Unlink dirfd/base only while it still names the file (dev, ino). */
static int unlink_if_same(int dirfd, const char *base, dev_t dev, ino_t ino)
{
	struct stat now;

	if (fstatat(dirfd, base, &now, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : SHMK_FAIL(-errno);
	/* r[impl mmap_region.owner.same_file] */
	if (now.st_dev != dev || now.st_ino != ino)
		return 0;	/* someone else's file now: not ours to remove */
	if (unlinkat(dirfd, base, 0) && errno != ENOENT)
		return SHMK_FAIL(-errno);
	return 0;
}

/* The parent of a handle that has none yet (a KEEP create, an attach by
 * path), opened when it first needs to unlink: the same rules as create's
 * (no symlink at any component). */
static int need_parent(struct shmk_mmap_region *r)
{
	char *copy;
	const char *base;

	if (r->dirfd >= 0)
		return 0;
	int rc = open_parent(r->path, &copy, &base, &r->dirfd);
	if (!rc)
		free(copy);
	return rc;
}

static void region_free(struct shmk_mmap_region *r)
{
	shmk_region_unmap(r->ptr, r->len);
	if (r->fd >= 0)
		close(r->fd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->path);
	free(r);
}

static struct shmk_mmap_region *region_new(void)
{
	struct shmk_mmap_region *r = calloc(1, sizeof(*r));
	if (r) {
		r->fd = -1;
		r->dirfd = -1;
	}
	return r;
}

/* r[impl mmap_region.create.replace] */
static int replace_existing(struct shmk_mmap_region *r, const struct shmk_mmap_region_opts *o)
{
	struct stat st;

	if (fstatat(r->dirfd, r->base, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : SHMK_FAIL(-errno);
	if (S_ISLNK(st.st_mode))
		return shmk_fail(SHMK_EUNSAFE, "%s: is a symbolic link; not replaced", r->path);
	if (!S_ISREG(st.st_mode))
		return shmk_fail(SHMK_EUNSAFE, "%s: not a regular file; not replaced", r->path);
	if (!(o->flags & SHMK_MMAP_ALLOW_FOREIGN) && st.st_uid != geteuid())
		return shmk_fail(SHMK_EUNSAFE, "%s: owned by uid %u; not replaced", r->path,
				 (unsigned)st.st_uid);
	/* Unlink, never truncate: a peer still mapping the old file keeps its
	 * bytes instead of dying of SIGBUS. */
	if (unlinkat(r->dirfd, r->base, 0) && errno != ENOENT)
		return SHMK_FAIL(-errno);
	return 0;
}

static int check_size(size_t size, const char *path)
{
	/* r[impl mmap_region.create.size] */
	if (size == 0)
		return shmk_fail(-EINVAL, "%s: size 0 (a region has at least one byte)", path);
	if (size > REGION_MAX)
		return shmk_fail(-EFBIG, "%s: size %zu too large", path, size);
	return 0;
}

int shmk_mmap_region_create(const char *path, size_t size, enum shmk_cleanup cleanup,
			    mode_t mode, struct shmk_mmap_region **out)
{
	struct shmk_mmap_region_opts o = default_opts;

	o.cleanup = cleanup;
	o.mode = mode;
	return shmk_mmap_region_create_with(path, size, &o, out);
}

int shmk_mmap_region_create_with(const char *path, size_t size,
				 const struct shmk_mmap_region_opts *opts,
				 struct shmk_mmap_region **out)
{
	int rc;

	if (!out)
		return SHMK_FAIL(-EINVAL);
	*out = NULL;
	if (!opts)
		opts = &default_opts;
	rc = check_opts(opts);
	if (!rc)
		rc = check_size(size, path ? path : "(null)");
	if (rc)
		return rc;
	/* r[impl mmap_region.create.mode] */
	mode_t mode = opts->mode ? opts->mode : 0600;

	struct shmk_mmap_region *r = region_new();
	if (!r)
		return SHMK_FAIL(-ENOMEM);
	/* r[impl mmap_region.path.parent] the parent only for a handle that
	 * unlinks through it: a KEEP create saves its open and close */
	bool keep_dir = (opts->flags & SHMK_MMAP_REPLACE) || opts->cleanup != SHMK_CLEANUP_KEEP;
	rc = open_parent(path, &r->path, &r->base, keep_dir ? &r->dirfd : NULL);
	if (!rc && (opts->flags & SHMK_MMAP_REPLACE))
		rc = replace_existing(r, opts);
	if (rc) {
		region_free(r);
		return rc;
	}
	/* relative to the kept parent, else the whole path in one openat2 */
	int at = keep_dir ? r->dirfd : AT_FDCWD;
	const char *rel = keep_dir ? r->base : r->path;
	/* r[impl mmap_region.create.excl] */
	/* r[impl mmap_region.create.mode] the region layer sets exactly `mode`
	 * (common.create.mode) and removes the file if that fails */
	struct stat st;
	rc = shmk_region_create(at, rel, mode, &r->fd, &st);
	if (rc == -EEXIST) {
		struct stat lst;
		if (!fstatat(at, rel, &lst, AT_SYMLINK_NOFOLLOW) && S_ISLNK(lst.st_mode))
			rc = shmk_fail(SHMK_EUNSAFE, "%s: is a symbolic link", r->path);
		else
			rc = shmk_fail(-EEXIST, "%s: exists (SHMK_MMAP_REPLACE replaces it)",
				       r->path);
	}
	if (rc) {
		region_free(r);
		return rc;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	/* r[impl mmap_region.create.reserve] */
	rc = shmk_region_reserve(r->fd, 0, size);
	if (!rc)
		rc = shmk_region_map(r->fd, size, 0, PROT_READ | PROT_WRITE, &r->ptr);
	if (rc) {
		/* r[impl mmap_region.create.no_leftover] the identity from the
		 * create's fstat: only this file is removed, through a parent
		 * opened under the create's rules */
		r->ptr = NULL;
		if (!need_parent(r))
			unlink_if_same(r->dirfd, r->base, r->dev, r->ino);
		region_free(r);
		return rc;
	}
	r->len = size;
	/* r[impl mmap_region.owner.local+2] r[impl mmap_region.cleanup.names] */
	r->owns = opts->cleanup == SHMK_CLEANUP_MANUAL;
	/* r[impl mmap_region.cleanup.auto] roam's Auto on Unix: the name goes
	 * now, the file lives while mapped or open; only our own file goes. */
	if (opts->cleanup == SHMK_CLEANUP_AUTO) {
		rc = unlink_if_same(r->dirfd, r->base, r->dev, r->ino);
		if (rc) {
			shmk_fail(rc, "%s: cannot unlink after mapping (SHMK_CLEANUP_AUTO)",
				  r->path);
			region_free(r);
			return rc;
		}
	}
	*out = r;
	return 0;
}

/* Check what fd is, then map all of it.  Takes fd. */
static int attach_common(struct shmk_mmap_region *r, const struct shmk_mmap_region_opts *o,
			 const char *what)
{
	struct stat st;
	/* r[impl mmap_region.attach.check] */
	struct shmk_path_policy pol = {
		.mode = o->mode ? o->mode : 0600,
		.allow_foreign = !!(o->flags & SHMK_MMAP_ALLOW_FOREIGN),
		.allow_wider = !!(o->flags & SHMK_MMAP_ALLOW_WIDER),
	};
	size_t size;
	int rc = shmk_check_fd(r->fd, what, &pol, &st);
	/* r[impl mmap_region.attach.empty] */
	if (!rc)
		rc = shmk_region_size(&st, o->min_len ? o->min_len : 1, REGION_MAX, what, &size);
	/* r[impl mmap_region.map.shared] */
	if (!rc)
		rc = shmk_region_map(r->fd, size, 0, PROT_READ | PROT_WRITE, &r->ptr);
	if (rc) {
		r->ptr = NULL;
		return rc;
	}
	r->len = size;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->owns = false;	/* r[impl mmap_region.owner.local+2] */
	return 0;
}

/* What both attaches start with: the options (NULL: the defaults) checked
 * and a fresh handle in *r.  0 or the error. */
static int attach_begin(const struct shmk_mmap_region_opts **opts, struct shmk_mmap_region **r)
{
	if (!*opts)
		*opts = &default_opts;
	int rc = check_opts(*opts);
	if (rc)
		return rc;
	*r = region_new();
	return *r ? 0 : SHMK_FAIL(-ENOMEM);
}

int shmk_mmap_region_attach(const char *path, struct shmk_mmap_region **out)
{
	return shmk_mmap_region_attach_with(path, NULL, out);
}

int shmk_mmap_region_attach_with(const char *path, const struct shmk_mmap_region_opts *opts,
				 struct shmk_mmap_region **out)
{
	if (!out)
		return SHMK_FAIL(-EINVAL);
	*out = NULL;
	struct shmk_mmap_region *r;
	int rc = attach_begin(&opts, &r);
	if (rc)
		return rc;
	/* r[impl mmap_region.path.nosymlink] the whole path in one openat2
	 * (RESOLVE_NO_SYMLINKS, O_NOFOLLOW): no parent descriptor until the
	 * handle takes ownership, which saves an open and a close per attach. */
	rc = open_parent(path, &r->path, &r->base, NULL);
	if (!rc)
		rc = shmk_open_path(r->path, O_RDWR, 0, &r->fd);
	if (!rc)
		rc = attach_common(r, opts, r->path);
	if (rc) {
		region_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int shmk_mmap_region_attach_fd(int fd, const struct shmk_mmap_region_opts *opts,
			       struct shmk_mmap_region **out)
{
	if (!out)
		return SHMK_FAIL(-EINVAL);
	*out = NULL;
	if (fd < 0)
		return SHMK_FAIL(-EBADF);
	struct shmk_mmap_region *r;
	int rc = attach_begin(&opts, &r);
	if (rc)
		return rc;
	/* r[impl mmap_region.attach.fd] */
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	rc = r->fd < 0 ? SHMK_FAIL(-errno) : attach_common(r, opts, "descriptor");
	if (rc) {
		region_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* r[impl mmap_region.truncate.hot-path] plain memory: nothing re-checks the size */
void *shmk_mmap_region_ptr(const struct shmk_mmap_region *r)
{
	return r ? r->ptr : NULL;
}

size_t shmk_mmap_region_len(const struct shmk_mmap_region *r)
{
	return r ? r->len : 0;
}

bool shmk_mmap_region_is_empty(const struct shmk_mmap_region *r)
{
	return !r || r->len == 0;
}

const char *shmk_mmap_region_path(const struct shmk_mmap_region *r)
{
	return r ? r->path : NULL;
}

int shmk_mmap_region_fd(const struct shmk_mmap_region *r)
{
	return r ? r->fd : SHMK_FAIL(-EINVAL);
}

int shmk_mmap_region_take_ownership(struct shmk_mmap_region *r)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	if (!r->path)
		return shmk_fail(-EINVAL, "region attached by descriptor has no path to unlink");
	/* r[impl mmap_region.path.parent] attached by path or created KEEP:
	 * open the parent now (no symlink at any component).  The unlink at
	 * close still removes the path only while it names the mapped file
	 * (mmap_region.owner.same_file). */
	int rc = need_parent(r);
	if (rc)
		return rc;
	r->owns = true;
	return 0;
}

int shmk_mmap_region_release_ownership(struct shmk_mmap_region *r)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	r->owns = false;
	return 0;
}

int shmk_mmap_region_owns_file(const struct shmk_mmap_region *r)
{
	return r ? (int)r->owns : SHMK_FAIL(-EINVAL);
}

int shmk_mmap_region_resize(struct shmk_mmap_region *r, size_t new_size)
{
	struct stat st;

	if (!r)
		return SHMK_FAIL(-EINVAL);
	/* r[impl mmap_region.resize.grow_only] */
	if (new_size < r->len)
		return shmk_fail(-EINVAL, "shrinking %zu -> %zu is not supported", r->len,
				 new_size);
	if (new_size == r->len)
		return 0;
	if (new_size > REGION_MAX)
		return shmk_fail(-EFBIG, "size %zu too large", new_size);
	int rc = shmk_sys_fstat(r->fd, &st);
	if (rc)
		return rc;
	uint64_t cur = (uint64_t)st.st_size;	/* read once */
	if (cur < r->len)
		return shmk_fail(SHMK_ETRUNCATED, "file shrank to %llu under a %zu-byte mapping",
				 (unsigned long long)cur, r->len);
	/* r[impl mmap_region.resize.keeps_old] */
	/* r[impl mmap_region.create.reserve] */
	rc = shmk_region_reserve(r->fd, cur, new_size);
	if (rc)
		return rc;
	return shmk_region_remap(&r->ptr, &r->len, new_size);
}

int shmk_mmap_region_check_and_remap(struct shmk_mmap_region *r, bool *remapped)
{
	struct stat st;

	if (!r || !remapped)
		return SHMK_FAIL(-EINVAL);
	*remapped = false;
	int rc = shmk_sys_fstat(r->fd, &st);
	if (rc)
		return rc;
	uint64_t size = (uint64_t)st.st_size;	/* read once: a peer may change it */
	/* r[impl mmap_region.remap.truncated] */
	if (size < r->len)
		return shmk_fail(SHMK_ETRUNCATED, "file shrank to %llu under a %zu-byte mapping",
				 (unsigned long long)size, r->len);
	if (size == r->len)
		return 0;
	if (size > REGION_MAX)
		return shmk_fail(-EFBIG, "file grew to %llu bytes: too large to map",
				 (unsigned long long)size);
	/* r[impl mmap_region.remap.grown] */
	rc = shmk_region_remap(&r->ptr, &r->len, (size_t)size);
	if (rc)
		return rc;
	*remapped = true;
	return 0;
}

int shmk_mmap_region_close(struct shmk_mmap_region *r)
{
	int rc = 0;

	if (!r)
		return SHMK_FAIL(-EINVAL);
	/* r[impl mmap_region.owner.close_unlinks] */
	if (r->owns && r->dirfd >= 0)
		rc = unlink_if_same(r->dirfd, r->base, r->dev, r->ino);
	region_free(r);
	return rc;
}
