/* SPDX-License-Identifier: MIT */
/*
 * reliability.h - one uniform face for the five primitives, shared by the
 * cross-module reliability programs (conformance/tests/reliability.c and
 * conformance/stress/reliability_race.c; issue 11, items 4-7).
 *
 * Each primitive is reached through the same four calls:
 *   create(where)  make a new object and map it (shm: open O_EXCL, size,
 *                  map; events: open_path, which creates or joins);
 *   attach(where)  open an existing object by path/name and map it;
 *   release(obj)   close this process's handle (the file stays, except
 *                  that a slots owner's close removes flink and segment);
 *   remove(where)  remove what is left at `where` (the cleanup a tool or a
 *                  restarting owner does).
 * `where` is an absolute path, except for shm, whose objects are names
 * ("/name" in /dev/shm).  The sizes are small on purpose: these programs
 * count outcomes, they do not move data.
 *
 * The documented-error tables list, for each call, the codes its header
 * (impl/include/shmkit/<module>.h) names for that call; a code outside the
 * table is a failure of the programs that use it.
 */
#ifndef SHMK_RELIABILITY_H
#define SHMK_RELIABILITY_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmkit/error.h"
#include "shmkit/events.h"
#include "shmkit/mmap_region.h"
#include "shmkit/ring.h"
#include "shmkit/shm.h"
#include "shmkit/slots.h"

enum rel_kind { REL_SHM, REL_MMAP, REL_EVENTS, REL_RING, REL_SLOTS, REL_N };

#define REL_SHM_SIZE 65536u
#define REL_MMAP_SIZE 65536u
#define REL_RING_CAP 65536u
#define REL_SLOT_COUNT 4u
#define REL_SLOT_CAP 64u

struct rel_obj {
	enum rel_kind kind;
	void *h;		/* the module's handle */
	void *aux;		/* shm: its map */
};

struct rel_prim {
	const char *name;
	bool by_name;		/* shm: a name in /dev/shm, not a path */
	int (*create)(const char *where, struct rel_obj *o);
	int (*attach)(const char *where, struct rel_obj *o);
	void (*release)(struct rel_obj *o);
	int (*remove)(const char *where);
	/* documented codes (0-terminated) for create and attach */
	const int *create_errs;
	const int *attach_errs;
};

/* Touch the first and last byte of the first page we were given, so a
 * mapping that is not backed shows up here (as a SIGBUS) and not later. */
static inline void rel_touch(volatile const uint8_t *p, size_t len)
{
	if (p && len) {
		(void)p[0];
		(void)p[len - 1];
	}
}

/* ---------------------------------------------------------------- shm */
static inline int rel_shm_create(const char *name, struct rel_obj *o)
{
	struct shmk_shm *s = NULL;
	struct shmk_shm_map *m = NULL;
	int rc = shmk_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &s);

	if (rc)
		return rc;
	rc = shmk_shm_set_size(s, REL_SHM_SIZE);
	if (!rc)
		rc = shmk_shm_map(s, 0, &m);
	if (rc) {
		/* what any caller of the three-step API does: undo its create */
		shmk_shm_unlink(s);
		shmk_shm_close(s);
		return rc;
	}
	rel_touch(shmk_shm_map_ptr(m), shmk_shm_map_len(m));
	o->kind = REL_SHM;
	o->h = s;
	o->aux = m;
	return 0;
}

static inline int rel_shm_attach(const char *name, struct rel_obj *o)
{
	struct shmk_shm *s = NULL;
	struct shmk_shm_map *m = NULL;
	int rc = shmk_shm_open(name, O_RDWR, 0600, &s);

	if (rc)
		return rc;
	rc = shmk_shm_map(s, 0, &m);
	if (rc) {
		shmk_shm_close(s);
		return rc;
	}
	rel_touch(shmk_shm_map_ptr(m), shmk_shm_map_len(m));
	o->kind = REL_SHM;
	o->h = s;
	o->aux = m;
	return 0;
}

static inline void rel_shm_release(struct rel_obj *o)
{
	shmk_shm_unmap(o->aux);
	shmk_shm_close(o->h);
}

static inline int rel_shm_remove(const char *name)
{
	return shm_unlink(name) ? -errno : 0;
}

/* ---------------------------------------------------------------- mmap_region */
static inline int rel_mmap_create(const char *path, struct rel_obj *o)
{
	struct shmk_mmap_region *r = NULL;
	int rc = shmk_mmap_region_create(path, REL_MMAP_SIZE, SHMK_CLEANUP_KEEP, 0600, &r);

	if (rc)
		return rc;
	rel_touch(shmk_mmap_region_ptr(r), shmk_mmap_region_len(r));
	o->kind = REL_MMAP;
	o->h = r;
	return 0;
}

static inline int rel_mmap_attach(const char *path, struct rel_obj *o)
{
	struct shmk_mmap_region *r = NULL;
	int rc = shmk_mmap_region_attach(path, &r);

	if (rc)
		return rc;
	rel_touch(shmk_mmap_region_ptr(r), shmk_mmap_region_len(r));
	o->kind = REL_MMAP;
	o->h = r;
	return 0;
}

static inline void rel_mmap_release(struct rel_obj *o)
{
	shmk_mmap_region_close(o->h);
}

static inline int rel_unlink(const char *path)
{
	return unlink(path) ? -errno : 0;
}

/* ---------------------------------------------------------------- events */
static inline int rel_events_open(const char *path, struct rel_obj *o)
{
	struct shmk_events *r = NULL;
	struct shmk_events_opts opts = { .init_timeout_ns = 0 };
	int rc = shmk_events_open_path_with(path, &opts, &r);

	if (rc)
		return rc;
	size_t len = 0;
	rel_touch(shmk_events_as_ptr(r, &len), len);
	o->kind = REL_EVENTS;
	o->h = r;
	return 0;
}

static inline void rel_events_release(struct rel_obj *o)
{
	shmk_events_close(o->h);
}

/* ---------------------------------------------------------------- ring */
static inline int rel_ring_create(const char *path, struct rel_obj *o)
{
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts opts = { .capacity = REL_RING_CAP };
	int rc = shmk_ring_create(path, &opts, &r);

	if (rc)
		return rc;
	o->kind = REL_RING;
	o->h = r;
	return 0;
}

static inline int rel_ring_attach(const char *path, struct rel_obj *o)
{
	struct shmk_ring *r = NULL;
	int rc = shmk_ring_attach(path, &r);

	if (rc)
		return rc;
	uint64_t head = 0;
	rc = shmk_ring_head(r, &head); /* reads the mapped header */
	o->kind = REL_RING;
	o->h = r;
	return rc;
}

static inline void rel_ring_release(struct rel_obj *o)
{
	shmk_ring_close(o->h);
}

static inline int rel_ring_remove(const char *path)
{
	return shmk_ring_unlink(path);
}

/* ---------------------------------------------------------------- slots */
static inline int rel_slots_create(const char *flink, struct rel_obj *o)
{
	struct shmk_slots *s = NULL;
	int rc = shmk_slots_create(flink, REL_SLOT_COUNT, REL_SLOT_CAP, &s);

	if (rc)
		return rc;
	o->kind = REL_SLOTS;
	o->h = s;
	return 0;
}

static inline int rel_slots_attach(const char *flink, struct rel_obj *o)
{
	struct shmk_slots *s = NULL;
	int rc = shmk_slots_attach(flink, &s);

	if (rc)
		return rc;
	o->kind = REL_SLOTS;
	o->h = s;
	return shmk_slots_slot_count(s) == REL_SLOT_COUNT ? 0 : SHMK_ELAYOUT;
}

static inline void rel_slots_release(struct rel_obj *o)
{
	shmk_slots_close(o->h);
}

/* gc of a flink: reclaim when its owner is dead; a live owner's flink stays */
static inline int rel_slots_remove(const char *flink)
{
	return shmk_slots_reclaim_stale(flink);
}

/* ---------------------------------------------------------------- tables */
/* Codes each header documents for the call (see the comment at the top). */
static const int rel_shm_create_errs[] = { -EEXIST, -ENOENT, SHMK_EUNSAFE, SHMK_ETOOSMALL, -ENOSPC,
					   -EACCES, 0 };
static const int rel_shm_attach_errs[] = { -ENOENT, SHMK_EUNSAFE, SHMK_ETOOSMALL, -EACCES, 0 };
static const int rel_mmap_create_errs[] = { -EEXIST, -ENOENT, SHMK_EUNSAFE, -ENOSPC, -EACCES, 0 };
static const int rel_mmap_attach_errs[] = { -ENOENT, SHMK_EUNSAFE, SHMK_ETOOSMALL, -EACCES, 0 };
static const int rel_events_errs[] = { SHMK_ENOTINIT, SHMK_ETOOSMALL, SHMK_EUNSAFE, SHMK_EBADMAGIC,
				       SHMK_EVERSION, SHMK_EINCOMPAT, SHMK_ELAYOUT, -ENOSPC,
				       -EACCES, 0 };
static const int rel_ring_create_errs[] = { -EEXIST, -ENOENT, SHMK_EUNSAFE, -ENOSPC, -EACCES, 0 };
static const int rel_ring_attach_errs[] = { -ENOENT, SHMK_EBUSY, SHMK_EBADMAGIC, SHMK_ENOTINIT,
					    SHMK_EVERSION, SHMK_ELAYOUT, SHMK_ETOOSMALL,
					    SHMK_EUNSAFE, -EACCES, 0 };
static const int rel_slots_create_errs[] = { SHMK_ESTALE, SHMK_EBUSY, -EEXIST, SHMK_EUNSAFE,
					     -ENOSPC, -EACCES, 0 };
static const int rel_slots_attach_errs[] = { -ENOENT, SHMK_EBADMAGIC, SHMK_ELAYOUT, SHMK_ETOOSMALL,
					     SHMK_EUNSAFE, -EACCES, 0 };

static const struct rel_prim rel_prims[REL_N] = {
	[REL_SHM] = { "shm", true, rel_shm_create, rel_shm_attach, rel_shm_release,
		      rel_shm_remove, rel_shm_create_errs, rel_shm_attach_errs },
	[REL_MMAP] = { "mmap_region", false, rel_mmap_create, rel_mmap_attach, rel_mmap_release,
		       rel_unlink, rel_mmap_create_errs, rel_mmap_attach_errs },
	[REL_EVENTS] = { "events", false, rel_events_open, rel_events_open, rel_events_release,
			 rel_unlink, rel_events_errs, rel_events_errs },
	[REL_RING] = { "ring", false, rel_ring_create, rel_ring_attach, rel_ring_release,
		       rel_ring_remove, rel_ring_create_errs, rel_ring_attach_errs },
	[REL_SLOTS] = { "slots", false, rel_slots_create, rel_slots_attach, rel_slots_release,
			rel_slots_remove, rel_slots_create_errs, rel_slots_attach_errs },
};

static inline bool rel_documented(const int *errs, int rc)
{
	for (; *errs; errs++)
		if (*errs == rc)
			return true;
	return false;
}

/* "/dev/shm/name" for a shm name, else the path itself */
static inline const char *rel_fs_path(const struct rel_prim *p, const char *where, char *buf,
				      size_t len)
{
	size_t pre = p->by_name ? 8 : 0, n = strlen(where);

	if (pre + n + 1 > len) {
		buf[0] = '\0'; /* too long: names nothing, the caller's checks fail */
		return buf;
	}
	memcpy(buf, "/dev/shm", pre);
	memcpy(buf + pre, where, n + 1);
	return buf;
}

#endif
