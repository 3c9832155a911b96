/* SPDX-License-Identifier: MIT */
/* The five primitives behind one face (rel.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rel.h"
#include "shmkit/error.h"
#include "shmkit/events.h"
#include "shmkit/mmap_region.h"
#include "shmkit/ring.h"
#include "shmkit/shm.h"
#include "shmkit/slots.h"

/* Touch the first and last byte of the first page we were given, so a
 * mapping that is not backed shows up here (as a SIGBUS) and not later. */
static void rel_touch(volatile const uint8_t *p, size_t len)
{
	if (p && len) {
		(void)p[0];
		(void)p[len - 1];
	}
}

/* o holds handle h (of kind k, map m) when rc is 0; rc. */
static int took(struct t_rel_obj *o, enum t_rel_kind k, void *h, void *m, int rc)
{
	if (!rc) {
		o->kind = k;
		o->h = h;
		o->aux = m;
	}
	return rc;
}

/* ---------------------------------------------------------------- shm */
static int rel_shm_create(const char *name, struct t_rel_obj *o)
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
	return took(o, REL_SHM, s, m, 0);
}

static int rel_shm_attach(const char *name, struct t_rel_obj *o)
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
	return took(o, REL_SHM, s, m, 0);
}

static void rel_shm_release(struct t_rel_obj *o)
{
	shmk_shm_unmap(o->aux);
	shmk_shm_close(o->h);
}

static int rel_shm_remove(const char *name)
{
	return shm_unlink(name) ? -errno : 0;
}

/* ---------------------------------------------------------------- mmap_region */
/* A region create or attach made (rc) becomes o's, its pages touched. */
static int mmap_took(struct t_rel_obj *o, struct shmk_mmap_region *r, int rc)
{
	if (!rc)
		rel_touch(shmk_mmap_region_ptr(r), shmk_mmap_region_len(r));
	return took(o, REL_MMAP, r, NULL, rc);
}

static int rel_mmap_create(const char *path, struct t_rel_obj *o)
{
	struct shmk_mmap_region *r = NULL;
	int rc = shmk_mmap_region_create(path, REL_MMAP_SIZE, SHMK_CLEANUP_KEEP, 0600, &r);

	return mmap_took(o, r, rc);
}

static int rel_mmap_attach(const char *path, struct t_rel_obj *o)
{
	struct shmk_mmap_region *r = NULL;
	int rc = shmk_mmap_region_attach(path, &r);

	return mmap_took(o, r, rc);
}

static void rel_mmap_release(struct t_rel_obj *o)
{
	shmk_mmap_region_close(o->h);
}

static int rel_unlink(const char *path)
{
	return unlink(path) ? -errno : 0;
}

/* ---------------------------------------------------------------- events */
static int rel_events_open(const char *path, struct t_rel_obj *o)
{
	struct shmk_events *r = NULL;
	struct shmk_events_opts opts = { .init_timeout_ns = 0 };
	int rc = shmk_events_open_path_with(path, &opts, &r);

	if (rc)
		return rc;
	size_t len = 0;
	rel_touch(shmk_events_as_ptr(r, &len), len);
	return took(o, REL_EVENTS, r, NULL, 0);
}

static void rel_events_release(struct t_rel_obj *o)
{
	shmk_events_close(o->h);
}

/* ---------------------------------------------------------------- ring */
static int rel_ring_create(const char *path, struct t_rel_obj *o)
{
	struct shmk_ring *r = NULL;
	struct shmk_ring_opts opts = { .capacity = REL_RING_CAP };
	int rc = shmk_ring_create(path, &opts, &r);

	return took(o, REL_RING, r, NULL, rc);
}

static int rel_ring_attach(const char *path, struct t_rel_obj *o)
{
	struct shmk_ring *r = NULL;
	uint64_t head = 0;
	int rc = shmk_ring_attach(path, &r);

	/* reads the mapped header; o holds the ring whatever it says */
	rc = took(o, REL_RING, r, NULL, rc);
	return rc ? rc : shmk_ring_head(r, &head);
}

static void rel_ring_release(struct t_rel_obj *o)
{
	shmk_ring_close(o->h);
}

static int rel_ring_remove(const char *path)
{
	return shmk_ring_unlink(path);
}

/* ---------------------------------------------------------------- slots */
static int rel_slots_create(const char *flink, struct t_rel_obj *o)
{
	struct shmk_slots *s = NULL;
	int rc = shmk_slots_create(flink, REL_SLOT_COUNT, REL_SLOT_CAP, &s);

	return took(o, REL_SLOTS, s, NULL, rc);
}

static int rel_slots_attach(const char *flink, struct t_rel_obj *o)
{
	struct shmk_slots *s = NULL;
	int rc = shmk_slots_attach(flink, &s);

	rc = took(o, REL_SLOTS, s, NULL, rc);
	return rc ? rc : shmk_slots_slot_count(s) == REL_SLOT_COUNT ? 0 : SHMK_ELAYOUT;
}

static void rel_slots_release(struct t_rel_obj *o)
{
	shmk_slots_close(o->h);
}

/* gc of a flink: reclaim when its owner is dead; a live owner's flink stays */
static int rel_slots_remove(const char *flink)
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

const struct t_rel_prim t_rel_prims[REL_N] = {
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

bool t_rel_documented(const int *errs, int rc)
{
	for (; *errs; errs++)
		if (*errs == rc)
			return true;
	return false;
}

const char *t_rel_fs_path(const struct t_rel_prim *p, const char *where, char *buf, size_t len)
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

