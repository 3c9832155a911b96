/* SPDX-License-Identifier: MIT */
/*
 * rel.h - one uniform face for the five primitives, shared by the
 * cross-module reliability programs (conformance/tests/reliability/ and
 * conformance/stress/reliability_race.c; issue 11, items 4-7); rel.c
 * defines it.
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
#ifndef SHMK_SUPPORT_REL_H
#define SHMK_SUPPORT_REL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum t_rel_kind { REL_SHM, REL_MMAP, REL_EVENTS, REL_RING, REL_SLOTS, REL_N };

#define REL_SHM_SIZE 65536u
#define REL_MMAP_SIZE 65536u
#define REL_RING_CAP 65536u
#define REL_SLOT_COUNT 4u
#define REL_SLOT_CAP 64u

struct t_rel_obj {
	enum t_rel_kind kind;
	void *h;		/* the module's handle */
	void *aux;		/* shm: its map */
};

struct t_rel_prim {
	const char *name;
	bool by_name;		/* shm: a name in /dev/shm, not a path */
	int (*create)(const char *where, struct t_rel_obj *o);
	int (*attach)(const char *where, struct t_rel_obj *o);
	void (*release)(struct t_rel_obj *o);
	int (*remove)(const char *where);
	/* documented codes (0-terminated) for create and attach */
	const int *create_errs;
	const int *attach_errs;
};

extern const struct t_rel_prim t_rel_prims[REL_N];

/* rc is one of errs (0-terminated). */
bool t_rel_documented(const int *errs, int rc);

/* "/dev/shm/name" for a shm name, else the path itself (in buf). */
const char *t_rel_fs_path(const struct t_rel_prim *p, const char *where, char *buf, size_t len);

#endif
