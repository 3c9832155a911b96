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
#include <sys/uio.h>

#include "internal.h"
#include "region.h"
#include "shmkit/ring.h"

#pragma GCC visibility push(hidden)

/* The per-record steps of a write (ring_rw.c), folded into the call: each
 * call saves and restores registers on the stack, and a sole writer whose
 * head store waits for the reader to give the header line back can run
 * ahead only as far as its store buffer holds its other stores. */
#define RING_HOT inline __attribute__((always_inline))

struct ring_map {
	uint8_t *base;		/* reserved range: header page, ring, mirror */
	size_t len;
	struct shmk_ring_hdr *hdr;
	uint8_t *data;		/* base + page: index i is data[i % cap] */
	struct shmk_ring_wpage *wp; /* writers page, the range's last page */
	size_t page;
	uint64_t cap;		/* validated copy; never re-read from the header */
	uint64_t mask;		/* cap - 1 when cap is a power of two, else 0 */
};

/* Index i's offset in the ring: a mask where the capacity allows one (a
 * 64-bit division per record costs the writer and the reader each tens of
 * cycles on the hot path). */
static inline uint64_t ring_off(const struct ring_map *m, uint64_t i)
{
	return m->mask ? i & m->mask : i % m->cap;
}

struct shmk_ring {
	struct ring_map m;
	int fd;
	uint64_t token;		/* our reader token in hdr->reader */
	struct shmk_ring_mediator *med; /* the running mediator, if any */
	/* r[impl ring.reader.lazy_tail] the reader's own view: its tail (the
	 * next record to read; hdr->tail lags it by less than lazy bytes), the
	 * tail it last stored in the header, and the last head it loaded
	 * (records below it need no load of the header line) */
	uint64_t rtail;
	uint64_t ptail;
	uint64_t rhead;
	uint64_t lazy;		/* ring_lazy_bytes(cap) */
};

/* r[impl ring.reader.lazy_tail] How far the reader's tail may run ahead of
 * the one it published: an eighth of the ring, and never so far that a
 * reader which read everything leaves less than the largest record free
 * (so a writer polling SHMK_EFULL always gets through once the reader has
 * caught up, even a reader that then spins on shmk_ring_head instead of
 * waiting); 0 (every record published) on a 64 KiB ring. */
static inline uint64_t ring_lazy_bytes(uint64_t cap)
{
	uint64_t room = cap - SHMK_RING_MAX_MESSAGE; /* cap >= 64 KiB: ring.create.capacity */
	return cap / 8 < room ? cap / 8 : room;
}

/* The reader's tail, published (release: pairs with the acquire of tail in
 * reserve_locked, so the records below it were read before a writer
 * reuses their bytes). */
static inline void ring_publish_tail(struct shmk_ring *r)
{
	if (r->ptail != r->rtail) {
		atomic_store_explicit(&r->m.hdr->tail, r->rtail, memory_order_release);
		r->ptail = r->rtail;
	}
}

struct shmk_ring_writer {
	struct ring_map m;
	int fd;
	int sock;		/* the writer fd: kept open so the owner's peer fd stays up */
	uint64_t tag;
	uint64_t token;
	unsigned slot;
	int reserved;		/* a reservation holds the lock */
	int kept;		/* kept_head/kept_tail hold (ring.writer.sole+6) */
	uint64_t fork_gen;	/* shmk_ring__fork_gen() at open: no fork since while equal */
	uint64_t kept_head;	/* the head this handle published last */
	uint64_t kept_tail;	/* the tail this handle loaded last (validated) */
	int solo;		/* armed: may write unlocked (ring.writer.solo+4) */
	int res_solo;		/* the pending reservation holds busy, not the lock */
	uint64_t fenced;	/* fork generation + 1 at which this handle fenced and
				 * drained the sole writer (0: never; ring.writer.solo+4) */
	int solo_own;		/* solo_fd holds the OFD lock (ring.writer.solo.owner):
				 * the armed handle, in the process that armed it
				 * (the fork child handler closes a copy's) */
	int solo_fd;		/* its own O_CLOEXEC re-open of the ring file */
	struct shmk_ring_writer *solo_next; /* the process's armed handles */
	uint64_t res_head;
	uint64_t res_rl;
	int mediated;		/* a mediated writer: sock only, no mapping (ring_mediator.c) */
	int slot_held;		/* slot's token is ours (the mediator holds it only while
				 * a mediated writer is connected) */
};

/* ring.c: the mediator's own writer handle on r (writable mapping of a dup
 * of r's fd, tag 0, no slot held), and the slot claim writer_open makes. */
int shmk_ring__writer_local(struct shmk_ring *r, struct shmk_ring_writer **w);
int shmk_ring__claim_slot(struct shmk_ring_writer *w);
/* ring_rw.c: the process's fork generation (every fork bumps it in parent
 * and child; the first call registers the pthread_atfork handlers). */
uint64_t shmk_ring__fork_gen(void);
/* ring_rw.c: drops the armed handle's OFD lock (writer close). */
void shmk_ring__solo_release(struct shmk_ring_writer *w);
/* Closes every descriptor a received message brought (SCM_RIGHTS), but
 * the first when keep_first: that one is returned (else -1). */
struct msghdr;
int shmk_ring__take_fds(struct msghdr *mh, int keep_first);
/* ring_rw.c: gives up the slot (if held) and wakes the reader; appends one
 * record of `len` bytes (the sum of iov, already checked against the
 * maximum) with `tag`, under the writers' lock: the one append path of
 * direct writers and the mediator. */
void shmk_ring__release_slot(struct shmk_ring_writer *w);
int shmk_ring__append(struct shmk_ring_writer *w, uint64_t tag, const struct iovec *iov,
		      int iovcnt, size_t len);
/* ring_mediator.c: a mediated handle's write (writev has checked the
 * arguments; len is the payload sum) and its close. */
int shmk_ring__med_writev(struct shmk_ring_writer *w, const struct iovec *iov, int iovcnt,
			  size_t len);

/* ring_mediator.c: the mediator's parser of one received message (n bytes
 * at buf, recvmsg's msg_flags).  0 and *len (the payload follows the 8-byte
 * header) or the reason to disconnect: */
enum ring_med_verdict {
	RING_MED_OK = 0,
	RING_MED_SHORT,		/* n < 8 */
	RING_MED_BADHDR,	/* magic, or len != n - 8 */
	RING_MED_OVERSIZED,	/* MSG_TRUNC, or len > SHMK_RING_MAX_PAYLOAD */
	RING_MED_ANCILLARY,	/* MSG_CTRUNC or any control message */
};
enum ring_med_verdict shmk_ring__med_parse(const void *buf, size_t n, int msg_flags,
					   size_t controllen, size_t *len);

static inline void ring_unmap(struct ring_map *m)
{
	shmk_region_unmap(m->base, m->len); /* the writers page too */
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

#ifdef SHMK_TEST_BUILD
/* ring.c: the reader's tail, head cache and published tail taken from the
 * header again (fuzzers that reset the header between inputs). */
void shmk_ring__reader_reload(struct shmk_ring *r);
#endif

#pragma GCC visibility pop

#endif
