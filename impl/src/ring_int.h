/* SPDX-License-Identifier: MIT */
/*
 * ring_int.h - what the ring's two files share (ring.c: create, attach,
 * validate, the writer hand-off; ring_rw.c: reading, waiting and
 * writing): the handles, the unmap and the size check.  Internal.
 */
#ifndef SHMK_RING_INT_H
#define SHMK_RING_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "region.h"
#include "shmkit/ring.h"

#pragma GCC visibility push(hidden)

struct ring_map {
	uint8_t *base;		/* reserved range: header page, ring, mirror */
	size_t len;
	struct shmk_ring_hdr *hdr;
	uint8_t *data;		/* base + page: index i is data[i % cap] */
	struct shmk_ring_wpage *wp; /* separate mapping of the writers page */
	size_t page;
	uint64_t cap;		/* validated copy; never re-read from the header */
};

struct shmk_ring {
	struct ring_map m;
	int fd;
	uint64_t token;		/* our reader token in hdr->reader */
};

struct shmk_ring_writer {
	struct ring_map m;
	int fd;
	int sock;		/* the writer fd: kept open so the owner's peer fd stays up */
	uint64_t tag;
	uint64_t token;
	unsigned slot;
	int reserved;		/* a reservation holds the lock */
	uint64_t res_head;
	uint64_t res_rl;
};

static inline void ring_unmap(struct ring_map *m)
{
	shmk_region_unmap(m->base, m->len);
	shmk_region_unmap(m->wp, m->page);
	memset(m, 0, sizeof(*m));
}

/*
 * 0 while the file still holds everything mapped (header page, ring,
 * writers page), else SHMK_ETRUNCATED.  One fstat: slow paths only
 * (r[impl ring.truncate.hot-path]: write, reserve, commit, read and
 * first_message_in never call it).
 */
static inline int ring_covers(int fd, const struct ring_map *m)
{
	return shmk_fd_covers(fd, 2 * (uint64_t)m->page + m->cap, "ring");
}

#pragma GCC visibility pop

#endif
