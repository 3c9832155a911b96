/* SPDX-License-Identifier: MIT */
/*
 * events.c - the IndexBus-style events region: slot pool + SPSC queue +
 * MPSC queue in one file-backed mapping shared between processes.
 *
 * Layout: wire.h (events section).  Promises: conformance/spec/events.md;
 * every clause citation below names the rule the code carries out.
 *
 * This file: validation and description, the build and the create-or-join
 * open, the handles and the roles (one live handle per role, claimed
 * with a process token).  The data paths (pool, SPSC, MPSC) are in
 * events_queue.c, the blocking calls in events_blocking.c; what they
 * share is in events_int.h.
 */
#include "shmkit/events.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "region.h"
#include "wait.h"
#include "events_int.h"

/* r[impl events.validate.lanes] a joiner that asks for lanes requires them */
static uint32_t required_caps(const struct shmk_events_opts *o)
{
	if (!o)
		return 0;
	return o->required_caps | (o->blocking ? SHMK_EVENTS_CAP_WAKE : 0) |
	       (o->lanes ? SHMK_EVENTS_CAP_LANES : 0);
}

/* ------------------------------------------------------------ validation */

int shmk_events_validate(const void *base, size_t len, const struct shmk_events_opts *opts)
{
	if (!base)
		return SHMK_FAIL(-EINVAL);
	/* r[impl events.validate.aligned] */
	if ((uintptr_t)base % SHMK_CACHELINE)
		return shmk_fail(SHMK_EMISALIGNED, "events: base %p is not 64-byte aligned", base);
	/* r[impl events.validate.short] */
	if (len < sizeof(struct shmk_events_header))
		return shmk_fail(SHMK_ETOOSMALL, "events: %zu bytes, header needs 64", len);
	const struct shmk_events_header *h = base;
	/* acquire: pairs with the release store of READY in build() */
	uint32_t init = SHMK_LOAD_ACQ_U32(&h->initialized);
	/* r[impl events.validate.initialized] */
	if (init == SHMK_EVENTS_INIT_NONE || init == SHMK_EVENTS_INIT_BUSY)
		return shmk_fail(SHMK_ENOTINIT, "events: initialized = %u", init);
	if (init != SHMK_EVENTS_INIT_READY)
		return shmk_fail(SHMK_ELAYOUT, "events: initialized = %u is not 0, 1 or 2", init);
	/* r[impl events.validate.magic] */
	uint32_t magic = SHMK_LOAD_U32(&h->v1.magic);
	if (magic != SHMK_EVENTS_MAGIC)
		return shmk_fail(SHMK_EBADMAGIC, "events: magic 0x%08x", magic);
	/* r[impl events.validate.version] */
	uint16_t version = SHMK_LOAD_U16(&h->v1.version);
	if (version != SHMK_EVENTS_VERSION)
		return shmk_fail(SHMK_EVERSION, "events: version %u, want 1", version);
	/* r[impl events.validate.kind] */
	uint16_t flags = SHMK_LOAD_U16(&h->v1.flags);
	if ((flags & 0xff) != SHMK_EVENTS_KIND)
		return shmk_fail(SHMK_EINCOMPAT, "events: region kind %u, want %u", flags & 0xff,
				 SHMK_EVENTS_KIND);
	/* r[impl events.validate.caps] */
	uint32_t caps = SHMK_LOAD_U32(&h->v1.capabilities);
	if (caps & ~SHMK_EVENTS_CAPS_KNOWN)
		return shmk_fail(SHMK_EINCOMPAT, "events: unknown capabilities 0x%x", caps);
	uint32_t want = required_caps(opts);
	if ((caps & want) != want)
		return shmk_fail(SHMK_EINCOMPAT, "events: capabilities 0x%x lack required 0x%x", caps,
				 want);
	/* r[impl events.validate.layout-bytes] */
	uint32_t lb = SHMK_LOAD_U32(&h->v1.layout_bytes);
	if (lb > len)
		return shmk_fail(SHMK_ETOOSMALL, "events: layout_bytes %u > mapped %zu", lb, len);
	if (lb != layout_bytes_for(caps))
		return shmk_fail(SHMK_ELAYOUT, "events: layout_bytes %u, caps 0x%x need %u", lb, caps,
				 layout_bytes_for(caps));
	const struct shmk_events_layout *l = base;
	uint32_t sc = SHMK_LOAD_U32(&l->pool.slot_count);
	if (sc != SHMK_EVENTS_SLOTS)
		return shmk_fail(SHMK_ELAYOUT, "events: slot_count %u, want %u", sc,
				 SHMK_EVENTS_SLOTS);
	return 0;
}

/* tail - head of one queue, told apart from impossible indices. */
static void describe_queue(struct shmk_events_queue_info *q, const void *tail, const void *head,
			   const struct shmk_events_roles *roles, bool has_b)
{
	q->tail = SHMK_LOAD_U64(tail);
	q->head = SHMK_LOAD_U64(head);
	uint64_t d = q->tail - q->head;
	/* a consumer momentarily ahead of a stale tail is no damage */
	q->depth = d <= SHMK_EVENTS_QUEUE_CAP ? d : q->head - q->tail <= SHMK_EVENTS_QUEUE_CAP ? 0 : d;
	q->integrity = d > SHMK_EVENTS_QUEUE_CAP && q->head - q->tail > SHMK_EVENTS_QUEUE_CAP;
	q->role_a = SHMK_LOAD_U64(&roles->a);
	q->role_b = has_b ? SHMK_LOAD_U64(&roles->b) : 0;
}

/* r[impl events.describe.info] */
int shmk_events_describe(const void *base, size_t len, struct shmk_events_info *info)
{
	if (!info)
		return SHMK_FAIL(-EINVAL);
	memset(info, 0, sizeof(*info));
	int rc = shmk_events_validate(base, len, NULL);
	if (!base || len < sizeof(struct shmk_events_header) || (uintptr_t)base % SHMK_CACHELINE)
		return rc;
	const struct shmk_events_layout *l = base;
	info->magic = SHMK_LOAD_U32(&l->hdr.v1.magic);
	info->version = SHMK_LOAD_U16(&l->hdr.v1.version);
	info->kind = SHMK_LOAD_U16(&l->hdr.v1.flags) & 0xffu;
	info->capabilities = SHMK_LOAD_U32(&l->hdr.v1.capabilities);
	info->layout_bytes = SHMK_LOAD_U32(&l->hdr.v1.layout_bytes);
	info->initialized = SHMK_LOAD_U32(&l->hdr.initialized);
	info->creator = SHMK_LOAD_U64(&l->hdr.creator);
	info->counter_start = SHMK_LOAD_U64(&l->hdr.counter_start);
	if (rc)
		return rc;

	/* Pool: walk the free list once, bounded by the slot count; a visited
	 * bitmap turns a cycle into a state instead of a hang. */
	uint64_t fh = SHMK_LOAD_U64(&l->pool.free_head);
	uint8_t seen[SHMK_EVENTS_SLOTS / 8] = { 0 };
	info->free_head = (uint32_t)fh;
	info->free_generation = (uint32_t)(fh >> 32);
	for (uint32_t idx = (uint32_t)fh; idx != SHMK_EVENTS_NIL;) {
		if (idx >= SHMK_EVENTS_SLOTS || (seen[idx / 8] & (1u << (idx % 8)))) {
			info->pool_state = idx >= SHMK_EVENTS_SLOTS ? SHMK_EVENTS_POOL_RANGE
								   : SHMK_EVENTS_POOL_CYCLE;
			info->pool_bad_slot = idx;
			break;
		}
		seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
		info->pool_free++;
		idx = SHMK_LOAD_U32(&l->slots[idx].next_free);
	}
	for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS; i++)
		info->pool_held += SHMK_LOAD_U32(&l->slots[i].refcnt) != 0;

	describe_queue(&info->spsc, &l->spsc.tail.v, &l->spsc.head.v, &l->spsc.roles, true);
	describe_queue(&info->mpsc, &l->mpsc.tail.v, &l->mpsc.head.v, &l->mpsc.roles, false);
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		struct shmk_events_producer_info *p = &info->producers[i];
		p->token = SHMK_LOAD_U64(&l->mpsc.producers[i].token);
		uint64_t intent = SHMK_LOAD_U64(&l->mpsc.producers[i].intent);
		/* "Nothing" is a position plus 2^63, not a flag bit: a recorded
		 * position lies near tail, nothing half the counter space away
		 * (testing bit 63 misreads counters started near the top). */
		int64_t d = (int64_t)(intent - info->mpsc.tail);
		p->recorded = p->token && d > -(INT64_C(1) << 62) && d < (INT64_C(1) << 62);
		p->intent = p->recorded ? intent : 0;
		/* claimed (tail moved past it) but not published: the cell's
		 * sequence still equals the position (Vyukov) */
		p->claiming = p->recorded && intent - info->mpsc.head < info->mpsc.tail - info->mpsc.head &&
			      SHMK_LOAD_U64(&l->mpsc.cells[intent & EV_MASK].seq) == intent;
	}

	/* The length, not a capabilities copy alone, bounds the read: only len
	 * is beyond a peer's reach (validate checked layout_bytes <= len). */
	if ((info->capabilities & SHMK_EVENTS_CAP_WAKE) &&
	    len >= (size_t)SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES) {
		const struct shmk_events_wake *w =
			(const void *)((const uint8_t *)base + SHMK_EVENTS_BASE_BYTES);
		const struct shmk_events_wakeword *ww[4] = { &w->spsc_data, &w->spsc_space,
							     &w->mpsc_data, &w->mpsc_space };
		info->has_wake = 1;
		for (int i = 0; i < 4; i++) {
			info->wake[i].gen = SHMK_LOAD_U32(&ww[i]->gen);
			info->wake[i].waiters = SHMK_LOAD_U32(&ww[i]->waiters);
		}
	}
	info->complete = 1;
	return 0;
}

/* ------------------------------------------------------------ init */

/* pwrite all of buf at off: 0 or a negative code */
static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = pwrite(fd, p, len, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? SHMK_FAIL(-errno) : SHMK_FAIL(-EIO);
		p += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

/* r[impl events.init.populate+3] Writes every slot (zero refcnt, len, seq
 * and data, and the free-list link to the next) through the file: the free
 * list threads through 136 of the layout's 142 pages, and a first touch of
 * a page through this process's mapping was the largest part of a create
 * (populated or not, on the VMs measured), while the kernel stores the
 * same bytes into the shared page cache without mapping them here. */
static int write_slots(int fd)
{
	enum { STRIDE = sizeof(struct shmk_events_slot), PER = 65536 / STRIDE };
	const off_t at = (off_t)offsetof(struct shmk_events_layout, slots);
	uint8_t *buf = calloc(PER, STRIDE);
	int rc = 0;

	if (!buf)
		return SHMK_FAIL(-ENOMEM);
	for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS && !rc; i += PER) {
		uint32_t n = SHMK_EVENTS_SLOTS - i < PER ? SHMK_EVENTS_SLOTS - i : PER;
		/* r[impl events.pool.freelist] only the links differ between chunks */
		for (uint32_t k = 0; k < n; k++) {
			uint32_t next = i + k + 1 < SHMK_EVENTS_SLOTS ? i + k + 1 : SHMK_EVENTS_NIL;
			memcpy(buf + (size_t)k * STRIDE + offsetof(struct shmk_events_slot, next_free),
			       &next, sizeof(next));
		}
		rc = pwrite_all(fd, buf, (size_t)n * STRIDE, at + (off_t)i * STRIDE);
	}
	free(buf);
	return rc;
}

/* The layout between the header and the slots (pool control, SPSC and MPSC
 * queues, 6 pages), laid out in a heap copy and written through the file
 * like the slots: the creator's mapping then holds the header page alone,
 * and its unmap flushes one page (an unmap that spans 2 to 33 touched
 * pages flushes them one by one, about 16 us each on the VMs measured). */
struct ev_queues {
	struct shmk_events_pool_ctl pool;
	struct shmk_events_spsc spsc;
	struct shmk_events_mpsc mpsc;
};
#define EV_Q_AT(f) (sizeof(struct shmk_events_header) + offsetof(struct ev_queues, f))
_Static_assert(EV_Q_AT(pool) == offsetof(struct shmk_events_layout, pool) &&
	       EV_Q_AT(spsc) == offsetof(struct shmk_events_layout, spsc) &&
	       EV_Q_AT(mpsc) == offsetof(struct shmk_events_layout, mpsc) &&
	       sizeof(struct shmk_events_header) + sizeof(struct ev_queues) ==
		       offsetof(struct shmk_events_layout, slots),
	       "ev_queues is the layout between the header and the slots");

/* r[impl events.layout.lanes+2] The lanes section, written through the file
 * like the queues (events.init.populate+3): every lane empty at the
 * counter start, no slot attached, no doorbell bit. */
static int write_lanes(int fd, uint32_t caps, uint64_t start)
{
	struct shmk_events_lanes *ln = calloc(1, sizeof(*ln));

	if (!ln)
		return SHMK_FAIL(-ENOMEM);
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		/* relaxed: published by the release store of READY */
		atomic_store_explicit(&ln->lanes[i].tail.v, start, memory_order_relaxed);
		atomic_store_explicit(&ln->lanes[i].head.v, start, memory_order_relaxed);
	}
	for (uint32_t k = 0; k < SHMK_EVENTS_LANE_CELLS; k++)
		atomic_store_explicit(&ln->cells[k], SHMK_EVENTS_NIL, memory_order_relaxed);
	int rc = pwrite_all(fd, ln, sizeof(*ln), (off_t)lanes_offset(caps));
	free(ln);
	return rc;
}

/* Lays out everything but `initialized`, then publishes READY.  The caller
 * won initialized 0 -> 1 (or recovers a dead creator's 1).  zeroed: the
 * caller sized the file from empty in this same step under the flock, so
 * every byte past the header already reads zero.  On failure nothing is
 * published and the caller hands the region back (initialized 0). */
static int build(uint8_t *base, int fd, uint32_t caps, uint64_t start, bool zeroed)
{
	struct shmk_events_layout *l = (struct shmk_events_layout *)base;
	uint32_t lb = layout_bytes_for(caps);

	/* r[impl events.init.creator-token] */
	/* relaxed, like every store in build(): all are published by the
	 * release store of READY below (acquire in shmk_events_validate); the
	 * slots written through the file come before it in program order */
	atomic_store_explicit(&l->hdr.creator, shmk_self_token(), memory_order_relaxed);
	memset(&l->hdr.v1, 0, sizeof(l->hdr.v1));
	/* r[impl events.init.zeroed] a new file reads zeros: clearing it again
	 * would write its pages once more; a recovered or pre-sized file holds
	 * whatever its last writer left (slots and queues are rewritten whole
	 * below, the wake section is cleared here) */
	if (!zeroed)
		memset(base + sizeof(*l), 0, lb - sizeof(*l));
	l->hdr.counter_start = start;

	int rc = write_slots(fd);
	if (rc)
		return rc;

	SHMK_CRASH_POINT("events.init");

	struct ev_queues *q = calloc(1, sizeof(*q));
	if (!q)
		return SHMK_FAIL(-ENOMEM);
	atomic_store_explicit(&q->pool.free_head, 0, memory_order_relaxed);
	q->pool.slot_count = SHMK_EVENTS_SLOTS;
	/* r[impl events.queue.counter-start] */
	atomic_store_explicit(&q->spsc.tail.v, start, memory_order_relaxed);
	atomic_store_explicit(&q->spsc.head.v, start, memory_order_relaxed);
	atomic_store_explicit(&q->mpsc.tail.v, start, memory_order_relaxed);
	atomic_store_explicit(&q->mpsc.head.v, start, memory_order_relaxed);
	for (uint32_t k = 0; k < SHMK_EVENTS_QUEUE_CAP; k++)
		atomic_store_explicit(&q->mpsc.cells[(start + k) & EV_MASK].seq, start + k,
				      memory_order_relaxed);
	/* r[impl events.spsc.recycle] r[impl events.mpsc.recycle] no slot is
	 * attached to a cell yet.  r[impl events.mpsc.slot-stamp] each MPSC
	 * cell's word carries the stamp a bind of the lap before its first
	 * would have left: a first-lap claimer then reads a stamp that neither
	 * its own bind nor an unblock of its lap writes (a constant 0 would
	 * equal UNBLOCKED of the lap below 2^64 - counters started near the
	 * top - and a stopped producer's bind would then succeed after the
	 * unblock: models/mpsc.pml found it) */
	for (uint32_t k = 0; k < SHMK_EVENTS_QUEUE_CAP; k++) {
		atomic_store_explicit(&q->spsc.cells[k], SHMK_EVENTS_NIL, memory_order_relaxed);
		uint64_t first = start + k;
		atomic_store_explicit(
			&q->mpsc.cells[first & EV_MASK].slotw,
			SHMK_EVENTS_SLOTW(SHMK_EVENTS_STAMP_BOUND(first - SHMK_EVENTS_QUEUE_CAP),
					  SHMK_EVENTS_NIL),
			memory_order_relaxed);
	}
	for (uint32_t k = 0; k < SHMK_EVENTS_PRODUCERS; k++)
		atomic_store_explicit(&q->mpsc.producers[k].intent, start + EV_INTENT_NONE,
				      memory_order_relaxed);
	rc = pwrite_all(fd, q, sizeof(*q), (off_t)sizeof(l->hdr));
	free(q);
	if (rc)
		return rc;
	if (caps & SHMK_EVENTS_CAP_LANES) {
		rc = write_lanes(fd, caps, start);
		if (rc)
			return rc;
	}

	l->hdr.v1.magic = SHMK_EVENTS_MAGIC;
	l->hdr.v1.version = SHMK_EVENTS_VERSION;
	l->hdr.v1.flags = SHMK_EVENTS_KIND;
	l->hdr.v1.capabilities = caps;
	l->hdr.v1.layout_bytes = lb;

	/* r[impl events.init.publish] */
	/* release: pairs with the acquire load of initialized in shmk_events_validate */
	atomic_store_explicit(&l->hdr.initialized, SHMK_EVENTS_INIT_READY, memory_order_release);
	shmk_wait_wake_all(&(struct shmk_wait){ .word = &l->hdr.initialized });
	return 0;
}

static int map_file(int fd, size_t size, uint8_t **base, size_t *len)
{
	void *p;

	if (*base && *len == size)
		return 0;
	shmk_region_unmap(*base, *len);
	*base = NULL;
	*len = 0;
	/* r[impl events.init.populate+3] creator and joiner alike: build()
	 * writes all but the header through the file, and touches here only
	 * the header page (clearing a recovered or pre-sized file's wake
	 * section touches its page too) */
	int rc = shmk_region_map(fd, size, 0, PROT_READ | PROT_WRITE, &p);
	if (rc)
		return rc;
	*base = p;
	*len = size;
	return 0;
}

/* One step under the exclusive flock.  Returns 0 with the region ready,
 * 1 to keep waiting, or a negative code. */
static int locked_step(int fd, const struct shmk_events_opts *o, uint8_t **base, size_t *len)
{
	struct stat st;
	/* r[impl events.layout.slot-seq] r[impl events.layout.asym] */
	uint32_t caps = (o->blocking ? SHMK_EVENTS_CAP_WAKE | SHMK_EVENTS_CAP_ASYM : 0) |
			SHMK_EVENTS_CAP_SEQ | (o->lanes ? SHMK_EVENTS_CAP_LANES : 0);
	uint32_t need = layout_bytes_for(caps);
	int rc = shmk_sys_fstat(fd, &st);

	if (rc)
		return rc;
	bool fresh = st.st_size == 0;
	if (fresh) {
		/* r[impl events.open.mode] the opener that sizes the file made
		 * it (or found it empty): it sets exactly the asked mode
		 * (common.create.mode) from this fstat */
		rc = shmk_region_set_mode(fd, &st, o->mode);
		/* r[impl events.open.reserve] */
		if (!rc)
			rc = shmk_region_reserve(fd, 0, need);
		if (rc)
			return rc;
		st.st_size = need;
	}
	if ((size_t)st.st_size < sizeof(struct shmk_events_header))
		return shmk_fail(SHMK_ETOOSMALL, "events: file is %lld bytes",
				 (long long)st.st_size);
	rc = map_file(fd, (size_t)st.st_size, base, len);
	if (rc)
		return rc;
	struct shmk_events_header *h = (struct shmk_events_header *)*base;
	/* A file this step sized from empty reads 0 (no opener CASes without
	 * the lock we hold); not reading it lets the CAS be the mapping's first
	 * touch, a write fault that maps one page where a read fault maps the
	 * 16 around it */
	uint32_t init = fresh ? SHMK_EVENTS_INIT_NONE
			      : SHMK_LOAD_ACQ_U32(&h->initialized); /* acquire: pairs with build() */
	if (init == SHMK_EVENTS_INIT_NONE) {
		if (*len < need)
			return shmk_fail(SHMK_ETOOSMALL, "events: uninitialised file of %zu bytes < %u",
					 *len, need);
		uint32_t zero = 0;
		/* r[impl events.init.once] */
		/* acq_rel: the winner alone builds; pairs with other openers' CAS */
		if (atomic_compare_exchange_strong_explicit(&h->initialized, &zero,
							    SHMK_EVENTS_INIT_BUSY,
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			rc = build(*base, fd, caps, o->counter_start, fresh);
			if (rc)
				/* nothing was published: the next opener starts
				 * over.  relaxed: pairs with that opener's CAS
				 * (or acquire load) of initialized above, which
				 * reads it under this flock after our unlock */
				atomic_store_explicit(&h->initialized, SHMK_EVENTS_INIT_NONE,
						      memory_order_relaxed);
			return rc;
		}
		return 1;
	}
	if (init == SHMK_EVENTS_INIT_BUSY) {
		/* Initialisers hold this lock; we hold it, so the initialiser is
		 * gone unless its token still says alive (it then does not use
		 * the lock: keep waiting). */
		uint64_t creator = SHMK_LOAD_U64(&h->creator);
		if (creator && shmk_token_alive(creator))
			return 1;
		/* r[impl events.init.dead-creator] */
		if (!o->recover)
			return shmk_fail(SHMK_ENOTINIT,
					 "events: creator %llu died while initialising",
					 (unsigned long long)creator);
		/* r[impl events.init.recover] */
		if (*len < need)
			return shmk_fail(SHMK_ETOOSMALL, "events: file of %zu bytes < %u", *len, need);
		rc = build(*base, fd, caps, o->counter_start, false);
		if (rc)
			/* handed back as above; relaxed: pairs with the next
			 * opener's CAS of initialized under this flock */
			atomic_store_explicit(&h->initialized, SHMK_EVENTS_INIT_NONE,
					      memory_order_relaxed);
		return rc;
	}
	return 0; /* READY or garbage: the validator decides */
}

static int open_fd(const char *path, const struct shmk_events_opts *o, struct ev_map **out)
{
	struct shmk_path_policy pol = { .mode = o->mode };
	int fd, rc;
	uint8_t *base = NULL;
	size_t len = 0;

	/* r[impl events.open.mode] create-or-join: O_CREAT without O_EXCL */
	struct stat st;
	rc = shmk_region_open(path, O_RDWR | O_CREAT, o->mode, &pol, &fd, &st);
	if (rc)
		return rc;

	/* r[impl events.open.init-timeout] */
	/* r[impl common.wait.deadline] */
	int64_t deadline = shmk_deadline_ns(shmk_now_ns(), o->init_timeout_ns);
	/* the first round sizes its look from the open's fstat */
	for (bool first = true;; first = false) {
		uint32_t seen = SHMK_EVENTS_INIT_NONE;

		rc = first ? 0 : shmk_sys_fstat(fd, &st);
		if (rc)
			goto fail;
		if (st.st_size > 0 && (size_t)st.st_size < sizeof(struct shmk_events_header)) {
			rc = shmk_fail(SHMK_ETOOSMALL, "events: file is %lld bytes",
				       (long long)st.st_size);
			goto fail;
		}
		if (st.st_size > 0) {
			rc = map_file(fd, (size_t)st.st_size, &base, &len);
			if (rc)
				goto fail;
			/* acquire: pairs with the release store of READY in build() */
			seen = SHMK_LOAD_ACQ_U32(&((struct shmk_events_header *)base)->initialized);
			if (seen == SHMK_EVENTS_INIT_READY)
				break;
		}
		/* r[impl events.init.lock] */
		rc = shmk_region_trylock(fd);
		if (rc == 0) {
			rc = locked_step(fd, o, &base, &len);
			shmk_region_unlock(fd);
			if (rc <= 0) {
				if (rc < 0)
					goto fail;
				break;
			}
		} else if (rc < 0) {
			goto fail;
		}
		int64_t left = deadline - shmk_now_ns();
		if (left <= 0) {
			rc = shmk_fail(SHMK_ENOTINIT, "events: %s not initialised within the timeout",
				       path);
			goto fail;
		}
		/* The initialiser wakes initialized when it stores READY; the
		 * bounded slice rechecks the lock in case it died instead. */
		int64_t slice = left < 2000000 ? left : 2000000;
		if (base) {
			/* wait.c's one park, on a word without announcements
			 * (build() always wakes it) */
			struct shmk_wait iw = {
				.word = &((struct shmk_events_header *)base)->initialized,
				.mode = SHMK_WAIT_GENERATION,
			};
			shmk_wait_park(&iw, seen, slice);
		}
		else {
			struct timespec ts = { 0, slice };
			nanosleep(&ts, NULL);
		}
	}

	rc = shmk_events_validate(base, len, o);
	if (rc)
		goto fail;
	struct ev_map *m = calloc(1, sizeof(*m));
	if (!m) {
		rc = SHMK_FAIL(-ENOMEM);
		goto fail;
	}
	m->base = base;
	m->len = len;
	m->fd = fd;
	m->caps = SHMK_LOAD_U32(&((struct shmk_events_header *)base)->v1.capabilities);
	/* The copy above is what we use; re-check it, the peer may have moved it. */
	if ((m->caps & ~SHMK_EVENTS_CAPS_KNOWN) || layout_bytes_for(m->caps) > len) {
		free(m);
		rc = shmk_fail(SHMK_ELAYOUT, "events: capabilities changed under us");
		goto fail;
	}
	/* r[impl common.wait.asym] before any wait of ours announces;
	 * r[impl events.layout.asym] a region an older build made may have
	 * peers that park without membarrier: its words are FENCED */
	struct shmk_events_wake *wk = W(m);
	if (wk) {
		bool old = !(m->caps & SHMK_EVENTS_CAP_ASYM);
		shmk_wait_join(&wk->spsc_data.waiters, old);
		shmk_wait_join(&wk->spsc_space.waiters, old);
		shmk_wait_join(&wk->mpsc_data.waiters, old);
		shmk_wait_join(&wk->mpsc_space.waiters, old);
	}
	atomic_init(&m->refs, 1);
	*out = m;
	return 0;
fail:
	shmk_region_unmap(base, len);
	close(fd);
	return rc;
}

static void norm_opts(const struct shmk_events_opts *in, struct shmk_events_opts *o)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	/* r[impl events.open.mode] */
	if (!o->mode)
		o->mode = 0600;
	/* r[impl events.open.init-timeout] */
	if (o->init_timeout_ns == 0)
		o->init_timeout_ns = EV_DEFAULT_INIT_NS;
	else if (o->init_timeout_ns < 0)
		o->init_timeout_ns = 0;
	/* r[impl events.open.default-dir] */
	if (!o->dir)
		o->dir = "/dev/shm";
}

int shmk_events_open_path_with(const char *path, const struct shmk_events_opts *opts,
			       struct shmk_events **out)
{
	struct shmk_events_opts o;
	struct ev_map *m = NULL;

	if (!path || !out)
		return SHMK_FAIL(-EINVAL);
	norm_opts(opts, &o);
	int rc = open_fd(path, &o, &m);
	if (rc)
		return rc;
	struct shmk_events *r = calloc(1, sizeof(*r));
	if (!r) {
		shmk_region_unmap(m->base, m->len);
		close(m->fd);
		free(m);
		return SHMK_FAIL(-ENOMEM);
	}
	r->m = m;
	*out = r;
	return 0;
}

int shmk_events_open_path(const char *path, struct shmk_events **out)
{
	return shmk_events_open_path_with(path, NULL, out);
}

int shmk_events_open_with(const char *name, const struct shmk_events_opts *opts,
			  struct shmk_events **out)
{
	struct shmk_events_opts o;
	char path[PATH_MAX];

	if (!name || !out)
		return SHMK_FAIL(-EINVAL);
	norm_opts(opts, &o);
	/* r[impl events.open.name] */
	if (*name == '/')
		name++;
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return shmk_fail(-EINVAL, "events: bad region name");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", o.dir, name) >= sizeof(path))
		return SHMK_FAIL(-ENAMETOOLONG);
	return shmk_events_open_path_with(path, &o, out);
}

int shmk_events_open(const char *name, struct shmk_events **out)
{
	return shmk_events_open_with(name, NULL, out);
}

void *shmk_events_as_ptr(const struct shmk_events *r, size_t *len_out)
{
	if (!r)
		return NULL;
	if (len_out)
		*len_out = r->m->len;
	return r->m->base;
}

static void map_put(struct ev_map *m)
{
	/* r[impl events.handle.keepalive] */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	shmk_region_unmap(m->base, m->len);
	close(m->fd);
	free(m);
}

int shmk_events_close(struct shmk_events *r)
{
	if (!r)
		return 0;
	map_put(r->m);
	free(r);
	return 0;
}

/* r[impl events.split.validate] */
static int split_check(struct shmk_events *r)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	/* r[impl events.split.truncated] the size first: validate reads the
	 * header, which a cut to below one page takes away */
	int rc = ev_covers(r->m);
	if (rc)
		return rc;
	return shmk_events_validate(r->m->base, r->m->len, NULL);
}

/* r[impl events.truncate.check] */
int shmk_events_check(const struct shmk_events *r)
{
	return r ? ev_covers(r->m) : SHMK_FAIL(-EINVAL);
}

int shmk_events_tx_check(const struct shmk_events_tx *tx)
{
	return tx ? ev_covers(tx->m) : SHMK_FAIL(-EINVAL);
}

int shmk_events_rx_check(const struct shmk_events_rx *rx)
{
	return rx ? ev_covers(rx->m) : SHMK_FAIL(-EINVAL);
}

static int split(struct shmk_events *r, int kind, struct shmk_events_tx **txp,
		 struct shmk_events_rx **rxp)
{
	if (!txp || !rxp)
		return SHMK_FAIL(-EINVAL);
	int rc = split_check(r);
	if (rc)
		return rc;
	struct shmk_events_tx *tx = calloc(1, sizeof(*tx));
	struct shmk_events_rx *rx = calloc(1, sizeof(*rx));
	if (!tx || !rx) {
		free(tx);
		free(rx);
		return SHMK_FAIL(-ENOMEM);
	}
	tx->m = rx->m = r->m;
	tx->kind = rx->kind = kind;
	tx->lanes = rx->lanes = kind == EV_MPSC && (r->m->caps & SHMK_EVENTS_CAP_LANES);
	rx->liveness_ns = shmk_liveness_ns();
	/* process-local refcount: relaxed increment, the acq_rel decrement in
	 * map_put orders the last user's accesses before munmap */
	atomic_fetch_add_explicit(&r->m->refs, 2, memory_order_relaxed);
	*txp = tx;
	*rxp = rx;
	return 0;
}

int shmk_events_split_spsc(struct shmk_events *r, struct shmk_events_tx **tx,
			   struct shmk_events_rx **rx)
{
	return split(r, EV_SPSC, tx, rx);
}

int shmk_events_split_mpsc(struct shmk_events *r, struct shmk_events_tx **prod,
			   struct shmk_events_rx **cons)
{
	return split(r, EV_MPSC, prod, cons);
}

/* ------------------------------------------------------------ roles */

/* The roles this process's live handles hold.  The role word holds a
 * process token, which cannot tell two handles of one process apart; this
 * list can.  Claims and closes are cold: one mutex is enough. */
static pthread_mutex_t ev_holds_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ev_hold *ev_holds;
static const char *const ev_role_names[] = { "SPSC sender", "SPSC receiver", "MPSC consumer" };

/* Caller holds ev_holds_mu.  Drops entries a fork() copied from the parent. */
static struct ev_hold *hold_find(dev_t dev, ino_t ino, int role)
{
	pid_t self = getpid();

	for (struct ev_hold **pp = &ev_holds; *pp;) {
		struct ev_hold *e = *pp;
		if (e->pid != self) {
			*pp = e->next;	/* the parent's handle, not ours */
			free(e);
			continue;
		}
		if (e->dev == dev && e->ino == ino && e->role == role)
			return e;
		pp = &e->next;
	}
	return NULL;
}

static void hold_drop(struct ev_hold *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&ev_holds_mu);
	for (struct ev_hold **pp = &ev_holds; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			free(h);
			break;
		}
	}
	pthread_mutex_unlock(&ev_holds_mu);
}

/* r[impl events.role.claim] */
static int claim_word(_Atomic uint64_t *w, uint64_t me, int role)
{
	for (int i = 0; i < 8; i++) {
		/* acquire: pairs with the acq_rel CAS below in another process */
		uint64_t cur = SHMK_LOAD_ACQ_U64(w);
		/* Our own token but no handle of ours holds it (the caller
		 * checked): an earlier image of this process (exec) or a
		 * handle whose close found the file cut.  Ours to resume. */
		if (cur == me)
			return 0;
		/* r[impl events.role.busy] */
		if (cur && shmk_token_alive(cur))
			return shmk_fail(SHMK_EBUSY, "events: %s role held by pid %u",
					 ev_role_names[role], SHMK_TOKEN_PID(cur));
		/* r[impl events.role.reclaim] */
		if (atomic_compare_exchange_strong_explicit(w, &cur, me, memory_order_acq_rel,
							    memory_order_acquire))
			return 0;
	}
	return shmk_fail(SHMK_EBUSY, "events: %s role word kept changing (8 claims lost)",
			 ev_role_names[role]);
}

/* r[impl events.role.one-handle] One live handle per role per process: a
 * second one would run its own cached index (sender tail, receiver head)
 * against the first's and overwrite or re-deliver messages. */
static int claim_role(struct ev_map *m, int role, _Atomic uint64_t *w, uint64_t me,
		      struct ev_hold **holdp)
{
	struct stat st;
	int rc = shmk_sys_fstat(m->fd, &st);

	if (rc)
		return shmk_fail(rc, "events: fstat before the %s role claim", ev_role_names[role]);
	struct ev_hold *h = malloc(sizeof(*h));
	if (!h)
		return shmk_fail(-ENOMEM, "events: %s role claim", ev_role_names[role]);
	pthread_mutex_lock(&ev_holds_mu);
	if (hold_find(st.st_dev, st.st_ino, role)) {
		pthread_mutex_unlock(&ev_holds_mu);
		free(h);
		return shmk_fail(SHMK_EBUSY, "events: another handle of this process holds the %s "
				 "role (close it first)", ev_role_names[role]);
	}
	rc = claim_word(w, me, role);
	if (rc) {
		pthread_mutex_unlock(&ev_holds_mu);
		free(h);
		return rc;
	}
	*h = (struct ev_hold){ st.st_dev, st.st_ino, role, getpid(), ev_holds };
	ev_holds = h;
	pthread_mutex_unlock(&ev_holds_mu);
	*holdp = h;
	return 0;
}

static void release_role(_Atomic uint64_t *w, uint64_t me)
{
	/* r[impl events.role.release] */
	/* release: pairs with the acquire load in claim_role */
	atomic_compare_exchange_strong_explicit(w, &me, 0, memory_order_release,
						memory_order_relaxed);
}

/* r[impl events.mpsc.lane-takeover+4] The row is ours (free, or its holder
 * is dead): resume its lane from the shared indices, which only the row's
 * holder writes (tail) or only the consumer (head), like a reclaimed SPSC
 * sender - nothing is reset, so what the last holder published is still
 * delivered - then announce and ring what it may have left unannounced. */
static int lane_takeover(struct shmk_events_tx *tx)
{
	struct shmk_events_lane *ln = &LN(tx->m)->lanes[tx->prod];
	uint64_t t = SHMK_LOAD_U64(&ln->tail.v);
	/* acquire: pairs with the release store of head in rx_advance */
	uint64_t h = SHMK_LOAD_ACQ_U64(&ln->head.v);

	/* r[impl events.hostile.counters] */
	if (t - h > lane_cap(tx->prod)) {
		release_role(&L(tx->m)->mpsc.producers[tx->prod].token, tx->me);
		return shmk_fail(SHMK_EINTEGRITY, "events: lane %u tail - head > %u", tx->prod,
				 lane_cap(tx->prod));
	}
	tx->tail = t;
	tx->head_cache = h;
	if (t != h)
		shmk_ev_lane_announce(tx->m, tx->prod, t);
	return 0;
}

/* r[impl events.mpsc.lane-fork] relaxed: a handle belongs to one thread
 * at a time and a forked child has one thread, so its loads in tx_prep
 * come after the bump in its own program order. */
_Atomic uint64_t shmk_ev_fork_gen;
static pthread_once_t ev_fork_once = PTHREAD_ONCE_INIT;

static void ev_fork_child(void)
{
	/* relaxed: pairs with the load in tx_prep (see shmk_ev_fork_gen) */
	atomic_fetch_add_explicit(&shmk_ev_fork_gen, 1, memory_order_relaxed);
}

static void ev_fork_register(void)
{
	/* fails with ENOMEM only; forks then go unseen, as before the check */
	(void)pthread_atfork(NULL, NULL, ev_fork_child);
}

void shmk_ev_fork_watch(void)
{
	pthread_once(&ev_fork_once, ev_fork_register);
}

/* r[impl events.mpsc.producer-table+2] */
static int register_producer(struct shmk_events_tx *tx)
{
	struct shmk_events_mpsc *q = &L(tx->m)->mpsc;
	int bad = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
			uint64_t cur = SHMK_LOAD_ACQ_U64(&q->producers[i].token);
			/* pass 0 takes free
			 * rows, and in a lanes region a dead deep row too (a
			 * restarted producer gets its 128 cells back, not 8):
			 * the same CAS of the token read, the same takeover */
			bool deep = tx->lanes && i < SHMK_EVENTS_LANE_DEEP_ROWS;
			if (pass == 0 ? (cur != 0 && !(deep && !shmk_token_alive(cur)))
				      : (cur == 0 || shmk_token_alive(cur)))
				continue;
			/* acq_rel: pairs with the consumer's acquire of token in mpsc_stalled */
			if (atomic_compare_exchange_strong_explicit(&q->producers[i].token, &cur,
								    tx->me, memory_order_acq_rel,
								    memory_order_relaxed)) {
				uint64_t t = SHMK_LOAD_U64(&q->tail.v);
				/* relaxed: published by our next claiming CAS of tail
				 * (release), read after the consumer's acquire of tail */
				atomic_store_explicit(&q->producers[i].intent, t + EV_INTENT_NONE,
						      memory_order_relaxed);
				tx->prod = i;
				if (!tx->lanes)
					return 0;
				shmk_ev_fork_watch();
				/* relaxed: see shmk_ev_fork_gen */
				tx->fork_gen = atomic_load_explicit(&shmk_ev_fork_gen,
								    memory_order_relaxed);
				/* r[impl events.hostile.lane-skip] a row whose
				 * lane fails integrity was given back: try the
				 * next (a corrupt free row 0 must not keep every
				 * new producer out) */
				bad = lane_takeover(tx);
				if (bad != SHMK_EINTEGRITY)
					return bad;
			}
		}
	}
	if (bad)
		return bad;
	return shmk_fail(SHMK_EBUSY, "events: all %u producer rows are held by live processes",
			 SHMK_EVENTS_PRODUCERS);
}

int shmk_ev_tx_claim(struct shmk_events_tx *tx)
{
	struct shmk_events_layout *l = L(tx->m);
	/* r[impl events.truncate.claim] once per handle, before its first touch */
	int rc = ev_covers(tx->m);

	if (rc)
		return rc;
	tx->me = shmk_self_token();
	if (tx->kind == EV_SPSC) {
		rc = claim_role(tx->m, EV_ROLE_SPSC_TX, &l->spsc.roles.a, tx->me, &tx->hold);
		if (rc)
			return rc;
		/* A reclaimed role resumes from the shared indices. */
		uint64_t t = SHMK_LOAD_U64(&l->spsc.tail.v);
		uint64_t h = SHMK_LOAD_ACQ_U64(&l->spsc.head.v); /* pairs with rx_advance */
		if (t - h > SHMK_EVENTS_QUEUE_CAP) {
			release_role(&l->spsc.roles.a, tx->me);
			hold_drop(tx->hold);
			tx->hold = NULL;
			return shmk_fail(SHMK_EINTEGRITY, "events: spsc tail - head > capacity");
		}
		tx->tail = t;
		tx->head_cache = h;
		if (t != h)
			shmk_ev_spsc_announce(tx, t);
	} else {
		rc = register_producer(tx);
		if (rc)
			return rc;
	}
	tx->claimed = true;
	if (tx->kind == EV_SPSC)
		tx->spsc = l;
	return 0;
}

int shmk_ev_rx_claim(struct shmk_events_rx *rx)
{
	struct shmk_events_layout *l = L(rx->m);
	_Atomic uint64_t *w = rx->kind == EV_SPSC ? &l->spsc.roles.b : &l->mpsc.roles.a;
	_Atomic uint64_t *head = rx->kind == EV_SPSC ? &l->spsc.head.v : &l->mpsc.head.v;
	/* r[impl events.truncate.claim] */
	int rc = ev_covers(rx->m);

	if (rc)
		return rc;
	rx->me = shmk_self_token();
	rc = claim_role(rx->m, rx->kind == EV_SPSC ? EV_ROLE_SPSC_RX : EV_ROLE_MPSC_RX, w, rx->me,
			&rx->hold);
	if (rc)
		return rc;
	rx->head = SHMK_LOAD_U64(head);
	struct shmk_events_lanes *lanes = rx->lanes ? LN(rx->m) : NULL;
	/* r[impl events.role.reclaim] a lanes consumer resumes every lane from
	 * its shared head (it is that word's only writer) */
	for (uint32_t i = 0; lanes && i < SHMK_EVENTS_PRODUCERS; i++) {
		rx->lhead[i] = SHMK_LOAD_U64(&lanes->lanes[i].head.v);
		rx->lidle[i] = 0;
	}
	if (rx->kind == EV_MPSC && !lanes) {
		/* r[impl events.role.reclaim] A consumer that died between freeing
		 * the head cell and storing head left seq == head + capacity:
		 * that cell is consumed, resume after it.  Producers may since
		 * have claimed and published it for the next lap (+ 1). */
		uint64_t seq = SHMK_LOAD_ACQ_U64(&l->mpsc.cells[rx->head & EV_MASK].seq);
		if (seq - rx->head == SHMK_EVENTS_QUEUE_CAP ||
		    seq - rx->head == SHMK_EVENTS_QUEUE_CAP + 1) {
			rx->head++;
			/* release: pairs with the acquire load of head in shmk_ev_rx_claim */
			atomic_store_explicit(head, rx->head, memory_order_release);
		}
	}
	rx->tail_cache = rx->head;
	rx->stalled = false;
	rx->idle_polls = 0;
	rx->claimed = true;
	if (rx->kind == EV_SPSC && (rx->m->caps & SHMK_EVENTS_CAP_SEQ))
		rx->spsc = l;
	return 0;
}

int shmk_events_tx_close(struct shmk_events_tx *tx)
{
	int rc = 0;

	if (!tx)
		return 0;
	/* r[impl events.truncate.close] a cut file keeps the role word: a
	 * dead-or-gone token is reclaimable, a SIGBUS here is not */
	if (tx->claimed && (rc = ev_covers(tx->m)) == 0) {
		struct shmk_events_layout *l = L(tx->m);
		if (tx->kind == EV_SPSC)
			release_role(&l->spsc.roles.a, tx->me);
		/* r[impl events.mpsc.lane-fork] a forked copy leaves the row
		 * to the parent that holds it. relaxed: see shmk_ev_fork_gen */
		else if (!tx->lanes || tx->fork_gen == atomic_load_explicit(&shmk_ev_fork_gen,
									     memory_order_relaxed))
			release_role(&l->mpsc.producers[tx->prod].token, tx->me);
	}
	hold_drop(tx->hold);	/* after the release: no second handle slips in before it */
	map_put(tx->m);
	free(tx);
	return rc;
}

int shmk_events_rx_close(struct shmk_events_rx *rx)
{
	int rc = 0;

	if (!rx)
		return 0;
	/* r[impl events.truncate.close] */
	if (rx->claimed && (rc = ev_covers(rx->m)) == 0) {
		struct shmk_events_layout *l = L(rx->m);
		release_role(rx->kind == EV_SPSC ? &l->spsc.roles.b : &l->mpsc.roles.a, rx->me);
	}
	hold_drop(rx->hold);
	map_put(rx->m);
	free(rx);
	return rc;
}

uint64_t shmk_events_rx_skipped(const struct shmk_events_rx *rx)
{
	return rx ? rx->skipped : 0;
}

uint64_t shmk_events_rx_unblocked(const struct shmk_events_rx *rx)
{
	return rx ? rx->unblocked : 0;
}
