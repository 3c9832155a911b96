/* SPDX-License-Identifier: MIT */
/*
 * shm.c - POSIX shared-memory object (psx-shm's `Shm`), see shmkit/shm.h and
 * conformance/spec/shm.md.
 *
 * Nothing here lives in shared memory except the bytes the caller maps, so
 * there are no shared loads: the object's size is the only peer-controlled
 * value, and it comes from fstat, read once per call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "region.h"
#include "shmkit/shm.h"

struct shmk_shm {
	int fd;
	int acc;			/* O_RDONLY or O_RDWR */
	struct shmk_shm_map *map;	/* the one live map, or NULL */
	char name[];			/* "/..." as given, NUL-terminated */
};

struct shmk_shm_map {
	struct shmk_shm *shm;	/* NULL once the handle was closed */
	void *base;		/* page-aligned start of the mapping */
	size_t base_len;	/* bytes mapped from base */
	size_t aoff;		/* object offset of base (page-aligned) */
	size_t skip;		/* offset - aoff: where the caller's bytes start */
};

#define SHM_ALLOWED_OFLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)

/* r[impl shm.name.rules] */
static int check_name(const char *name)
{
	if (!name)
		return shmk_fail(-EINVAL, "shm name is NULL");
	if (name[0] != '/')
		return shmk_fail(-EINVAL, "shm name must start with '/'");
	/* strnlen: never read past NAME_MAX+1 bytes of a caller's runaway string. */
	size_t n = strnlen(name + 1, SHMK_SHM_NAME_MAX + 1);
	if (n == 0)
		return shmk_fail(-EINVAL, "shm name is empty after '/'");
	if (n > SHMK_SHM_NAME_MAX)
		return shmk_fail(-ENAMETOOLONG, "shm name longer than %d bytes after '/'",
				 SHMK_SHM_NAME_MAX);
	if (memchr(name + 1, '/', n))
		return shmk_fail(-EINVAL, "shm name has a '/' after the first byte");
	if (!strcmp(name + 1, ".") || !strcmp(name + 1, ".."))
		return shmk_fail(-EINVAL, "shm name is '.' or '..'");
	return 0;
}

int shmk_shm_open(const char *name, int oflags, mode_t mode, struct shmk_shm **out)
{
	return shmk_shm_open_with(name, oflags, mode, 0, out);
}

int shmk_shm_open_with(const char *name, int oflags, mode_t mode, unsigned flags,
		       struct shmk_shm **out)
{
	int rc;

	/* r[impl shm.api.args] */
	if (!out)
		return SHMK_FAIL(-EINVAL);
	*out = NULL;
	rc = check_name(name);
	if (rc)
		return rc;
	/* r[impl shm.open.flags] */
	int acc = oflags & O_ACCMODE;
	if ((acc != O_RDONLY && acc != O_RDWR) || (oflags & ~SHM_ALLOWED_OFLAGS) ||
	    ((oflags & O_EXCL) && !(oflags & O_CREAT)) || ((oflags & O_TRUNC) && acc != O_RDWR))
		return shmk_fail(-EINVAL, "%s: unsupported open flags %#x", name, (unsigned)oflags);
	if (mode & ~(mode_t)0777)
		return shmk_fail(-EINVAL, "%s: mode %#o has bits beyond 0777", name, (unsigned)mode);
	if (flags & ~(unsigned)(SHMK_SHM_ALLOW_FOREIGN | SHMK_SHM_ALLOW_WIDER))
		return shmk_fail(-EINVAL, "%s: unknown flags %#x", name, flags);
	/* r[impl shm.open.mode] */
	if (!mode)
		mode = 0600;

	size_t nlen = strlen(name);
	struct shmk_shm *shm = malloc(sizeof(*shm) + nlen + 1);
	if (!shm)
		return SHMK_FAIL(-ENOMEM);
	memcpy(shm->name, name, nlen + 1);
	shm->map = NULL;
	shm->acc = acc;

	/* O_TRUNC is applied only after the checks below: truncating first would
	 * let a planted object of another user be cut before we refuse it. */
	/* r[impl shm.open.nosymlink] r[impl shm.open.check] the region layer
	 * refuses a link, a directory and what the policy forbids; an object
	 * this call created with O_EXCL is the caller's by construction and
	 * gets exactly `mode` (common.create.mode) */
	/* r[impl shm.open.no_leftover] it also unlinks an O_EXCL object it
	 * made when a check fails */
	struct shmk_path_policy pol = {
		.mode = mode,
		.allow_foreign = !!(flags & SHMK_SHM_ALLOW_FOREIGN),
		.allow_wider = !!(flags & SHMK_SHM_ALLOW_WIDER),
	};
	struct stat st;
	int fd;
	rc = shmk_region_shm_open(name, oflags & ~O_TRUNC, mode, &pol, &fd, &st);
	if (rc) {
		free(shm);
		return rc;
	}
	shm->fd = fd;
	if ((oflags & O_TRUNC) && st.st_size != 0)
		rc = shmk_region_cut(fd, 0);
	if (rc) {
		/* r[impl shm.open.no_leftover] */
		if ((oflags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			shm_unlink(name); /* O_EXCL: the object is ours alone */
		close(fd);
		free(shm);
		return rc;
	}
	*out = shm;
	return 0;
}

int shmk_shm_size(const struct shmk_shm *shm, size_t *size)
{
	struct stat st;

	if (!shm || !size)
		return SHMK_FAIL(-EINVAL);
	int rc = shmk_sys_fstat(shm->fd, &st);
	if (rc)
		return rc;
	if (st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX)
		return SHMK_FAIL(-EOVERFLOW);
	*size = (size_t)st.st_size;
	return 0;
}

int shmk_shm_set_size(struct shmk_shm *shm, size_t size)
{
	size_t cur;
	int rc;

	if (!shm)
		return SHMK_FAIL(-EINVAL);
	/* r[impl shm.size.limits] */
	if ((uint64_t)size > (uint64_t)INT64_MAX)
		return shmk_fail(-EFBIG, "%s: size %zu exceeds off_t", shm->name, size);
	if (shm->acc != O_RDWR)
		return shmk_fail(-EBADF, "%s: handle is read-only", shm->name);
	/* r[impl shm.size.shrink_mapped] */
	if (shm->map && size < shm->map->aoff + shm->map->base_len)
		return shmk_fail(-EBUSY, "%s: shrinking to %zu would cut the live map", shm->name,
				 size);
	rc = shmk_shm_size(shm, &cur);
	if (rc)
		return rc;
	if (size < cur)
		return shmk_region_cut(shm->fd, size);
	/* r[impl shm.size.reserve] */
	return shmk_region_reserve(shm->fd, cur, size);
}

int shmk_shm_map(struct shmk_shm *shm, size_t offset, struct shmk_shm_map **out)
{
	size_t size;
	int rc;

	if (!shm || !out)
		return SHMK_FAIL(-EINVAL);
	*out = NULL;
	/* r[impl shm.map.single] */
	if (shm->map)
		return shmk_fail(-EBUSY, "%s: the handle already has a live map", shm->name);
	rc = shmk_shm_size(shm, &size);	/* read once: a peer may resize at any time */
	if (rc)
		return rc;
	/* r[impl shm.map.zero_size] */
	if (size == 0)
		return shmk_fail(SHMK_ETOOSMALL, "%s: object has size 0 (set_size first)",
				 shm->name);
	/* r[impl shm.map.offset_range] */
	if (offset >= size)
		return shmk_fail(SHMK_ERANGE, "%s: offset %zu is not below size %zu", shm->name,
				 offset, size);

	/* r[impl shm.map.unaligned] */
	size_t ps = shmk_page_size();
	size_t aoff = offset & ~(ps - 1);
	struct shmk_shm_map *m = calloc(1, sizeof(*m));
	if (!m)
		return SHMK_FAIL(-ENOMEM);
	/* r[impl shm.map.readonly] */
	/* r[impl shm.map.shared] MAP_SHARED: peers opening the name see these pages */
	int prot = shm->acc == O_RDWR ? PROT_READ | PROT_WRITE : PROT_READ;
	rc = shmk_region_map(shm->fd, size - aoff, aoff, prot, &m->base);
	if (rc) {
		free(m);
		return rc;
	}
	m->shm = shm;
	m->base_len = size - aoff;
	m->aoff = aoff;
	m->skip = offset - aoff;
	shm->map = m;
	*out = m;
	return 0;
}

/* r[impl shm.truncate.hot-path] plain memory: nothing re-checks the size */
void *shmk_shm_map_ptr(const struct shmk_shm_map *map)
{
	return map ? (char *)map->base + map->skip : NULL;
}

size_t shmk_shm_map_len(const struct shmk_shm_map *map)
{
	return map ? map->base_len - map->skip : 0;
}

/* r[impl shm.truncate.check] one fstat through the handle's descriptor */
int shmk_shm_map_check(const struct shmk_shm_map *map)
{
	if (!map)
		return SHMK_FAIL(-EINVAL);
	if (!map->shm)
		return shmk_fail(-EBADF, "shm: the map's handle was closed");
	return shmk_fd_covers(map->shm->fd, (uint64_t)map->aoff + map->base_len, map->shm->name);
}

int shmk_shm_unmap(struct shmk_shm_map *map)
{
	if (!map)
		return SHMK_FAIL(-EINVAL);
	int rc = shmk_region_unmap(map->base, map->base_len);
	if (map->shm)
		map->shm->map = NULL;	/* the handle may map again */
	free(map);
	return rc;
}

int shmk_shm_fd(const struct shmk_shm *shm)
{
	return shm ? shm->fd : SHMK_FAIL(-EINVAL);
}

const char *shmk_shm_name(const struct shmk_shm *shm)
{
	return shm ? shm->name : NULL;
}

/* r[impl shm.unlink.keeps_handle] */
int shmk_shm_unlink(struct shmk_shm *shm)
{
	if (!shm)
		return SHMK_FAIL(-EINVAL);
	return shm_unlink(shm->name) ? SHMK_FAIL(-errno) : 0;
}

/* r[impl shm.close.map_survives] */
int shmk_shm_close(struct shmk_shm *shm)
{
	if (!shm)
		return SHMK_FAIL(-EINVAL);
	if (shm->map)
		shm->map->shm = NULL;	/* detached: unmap no longer touches the handle */
	int rc = close(shm->fd) ? SHMK_FAIL(-errno) : 0;
	free(shm);
	return rc;
}
