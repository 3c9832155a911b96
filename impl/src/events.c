/* SPDX-License-Identifier: MIT */
/*
 * events.c - the IndexBus-style events region: slot pool + SPSC queue +
 * MPSC queue in one file-backed mapping shared between processes.
 *
 * Layout: wire.h (events section).  Promises: conformance/spec/events.md;
 * every clause citation below names the rule the code carries out.
 *
 * Algorithms, in one paragraph each:
 *
 *  - Pool: a Treiber free list whose head is a u64 (generation << 32 |
 *    index); every pop and push bumps the generation, so a head that was
 *    popped and pushed back between our load and our CAS no longer matches
 *    (ABA).  Slots carry refcnt 0/1 so a double release is caught.
 *    Slots recycle through the queue cells: a copying receive leaves the
 *    slot attached to its cell and the sender that next writes that cell
 *    reuses it, so the free list is not touched per message (its head
 *    would bounce between the two cores twice a message).  Views detach
 *    their slot; an empty pool gets slots back (SPSC sender: detach the
 *    free cells; MPSC reservation: claim a cell, take its slot, publish a
 *    hole; receivers: return what they read while the pool is dry).
 *
 *  - SPSC: a Lamport ring of u32 slot indices with u64 head/tail on their
 *    own cache lines; each side caches the other's index and only re-reads
 *    it when the cached value says full/empty (liburing / libbpf style).
 *
 *  - MPSC: Vyukov's bounded queue (per-cell sequence numbers).  A producer
 *    claims a position with one CAS on tail and publishes with a CAS on the
 *    cell's sequence.  Before the claim it records the position in its row
 *    of the producer table (intent), so a consumer that finds a claimed but
 *    unpublished cell for SHMK_LIVENESS_MS can tell whether a live process
 *    could still publish it; if not, it frees the cell with a CAS on the
 *    sequence (Aeron's unblock).  The publish CAS makes "skip" and "publish"
 *    mutually exclusive.
 *
 *  - Waiting: a capability-gated wake section holds, per direction, a futex
 *    generation word and a waiter announcement, used by wait.c's eventcount
 *    in its announced mode: a waker fences and loads the announcement, and
 *    only an announced waiter costs it a bump and a futex_wake, so the
 *    non-blocking path makes no syscall and no locked RMW.
 */
#include "shmkit/events.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
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

#define EV_MASK (SHMK_EVENTS_QUEUE_CAP - 1)
#define EV_DEFAULT_INIT_NS (2000LL * 1000 * 1000)
#define EV_CAS_TRIES 4096	/* bounded work per call against a hostile peer */
#define EV_HOLES 4		/* MPSC: empty cells published per send when the pool is dry */
#define EV_INTENT_NONE SHMK_EVENTS_INTENT_NONE	/* wire.h: "claiming nothing" */

enum { EV_SPSC = 1, EV_MPSC = 2 };

struct ev_map {
	uint8_t *base;
	size_t len;
	int fd;
	_Atomic int refs;	/* region handle + every tx/rx handle */
	uint32_t caps;		/* copy taken when the header was validated */
};

struct shmk_events {
	struct ev_map *m;
};

/* A single role (SPSC sender, SPSC receiver, MPSC consumer) of one file,
 * as this process's handles hold it (r[events.role.one-handle]). */
enum { EV_ROLE_SPSC_TX, EV_ROLE_SPSC_RX, EV_ROLE_MPSC_RX };
struct ev_hold {
	dev_t dev;
	ino_t ino;
	int role;
	pid_t pid;		/* entries inherited through fork() are not ours */
	struct ev_hold *next;
};

struct shmk_events_tx {
	struct ev_map *m;
	int kind;
	bool claimed;
	struct ev_hold *hold;	/* SPSC: our entry in the process's hold list */
	uint64_t me;
	uint64_t tail;		/* SPSC: our own index (we are its only writer) */
	uint64_t head_cache;	/* SPSC: last consumer index we read */
	uint32_t prod;		/* MPSC: our row in the producer table */
};

struct shmk_events_rx {
	struct ev_map *m;
	int kind;
	bool claimed;
	struct ev_hold *hold;	/* our entry in the process's hold list */
	uint64_t me;
	uint64_t head;		/* our own index */
	uint64_t tail_cache;	/* SPSC: last producer index we read */
	bool stalled;		/* MPSC: head cell claimed but unpublished */
	uint64_t stall_pos;
	int64_t stall_since;
	int64_t liveness_ns;
	uint64_t skipped;
};

/* r[impl events.layout.wire] r[impl events.layout.hot-lines]: the struct in wire.h */
static inline struct shmk_events_layout *L(const struct ev_map *m)
{
	return (struct shmk_events_layout *)m->base;
}

static inline struct shmk_events_wake *W(const struct ev_map *m)
{
	return (m->caps & SHMK_EVENTS_CAP_WAKE)
		       ? (struct shmk_events_wake *)(m->base + SHMK_EVENTS_BASE_BYTES)
		       : NULL;
}

static uint32_t layout_bytes_for(uint32_t caps)
{
	/* r[impl events.layout.wake-section] */
	return SHMK_EVENTS_BASE_BYTES + ((caps & SHMK_EVENTS_CAP_WAKE) ? SHMK_EVENTS_WAKE_BYTES : 0);
}

static uint32_t required_caps(const struct shmk_events_opts *o)
{
	if (!o)
		return 0;
	return o->required_caps | (o->blocking ? SHMK_EVENTS_CAP_WAKE : 0);
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

/* Lays out everything but `initialized`, then publishes READY.  The caller
 * won initialized 0 -> 1 (or recovers a dead creator's 1). */
static void build(uint8_t *base, uint32_t caps, uint64_t start)
{
	struct shmk_events_layout *l = (struct shmk_events_layout *)base;
	uint32_t lb = layout_bytes_for(caps);

	/* r[impl events.init.creator-token] */
	/* relaxed, like every store in build(): all are published by the
	 * release store of READY below (acquire in shmk_events_validate) */
	atomic_store_explicit(&l->hdr.creator, shmk_self_token(), memory_order_relaxed);
	memset(&l->hdr.v1, 0, sizeof(l->hdr.v1));
	memset(base + sizeof(l->hdr), 0, lb - sizeof(l->hdr));
	l->hdr.counter_start = start;

	/* r[impl events.pool.freelist] */
	for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS; i++)
		atomic_store_explicit(&l->slots[i].next_free,
				      i + 1 < SHMK_EVENTS_SLOTS ? i + 1 : SHMK_EVENTS_NIL,
				      memory_order_relaxed);
	atomic_store_explicit(&l->pool.free_head, 0, memory_order_relaxed);
	l->pool.slot_count = SHMK_EVENTS_SLOTS;

	SHMK_CRASH_POINT("events.init");

	/* r[impl events.queue.counter-start] */
	atomic_store_explicit(&l->spsc.tail.v, start, memory_order_relaxed);
	atomic_store_explicit(&l->spsc.head.v, start, memory_order_relaxed);
	atomic_store_explicit(&l->mpsc.tail.v, start, memory_order_relaxed);
	atomic_store_explicit(&l->mpsc.head.v, start, memory_order_relaxed);
	for (uint32_t k = 0; k < SHMK_EVENTS_QUEUE_CAP; k++)
		atomic_store_explicit(&l->mpsc.cells[(start + k) & EV_MASK].seq, start + k,
				      memory_order_relaxed);
	/* r[impl events.spsc.recycle] r[impl events.mpsc.recycle] no slot is
	 * attached to a cell yet */
	for (uint32_t k = 0; k < SHMK_EVENTS_QUEUE_CAP; k++) {
		atomic_store_explicit(&l->spsc.cells[k], SHMK_EVENTS_NIL, memory_order_relaxed);
		atomic_store_explicit(&l->mpsc.cells[k].slot, SHMK_EVENTS_NIL, memory_order_relaxed);
	}
	for (uint32_t k = 0; k < SHMK_EVENTS_PRODUCERS; k++)
		atomic_store_explicit(&l->mpsc.producers[k].intent, start + EV_INTENT_NONE,
				      memory_order_relaxed);

	l->hdr.v1.magic = SHMK_EVENTS_MAGIC;
	l->hdr.v1.version = SHMK_EVENTS_VERSION;
	l->hdr.v1.flags = SHMK_EVENTS_KIND;
	l->hdr.v1.capabilities = caps;
	l->hdr.v1.layout_bytes = lb;

	/* r[impl events.init.publish] */
	/* release: pairs with the acquire load of initialized in shmk_events_validate */
	atomic_store_explicit(&l->hdr.initialized, SHMK_EVENTS_INIT_READY, memory_order_release);
	shmk_wait_wake_all(&(struct shmk_wait){ .word = &l->hdr.initialized });
}

static int map_file(int fd, size_t size, uint8_t **base, size_t *len)
{
	void *p;

	if (*base && *len == size)
		return 0;
	shmk_region_unmap(*base, *len);
	*base = NULL;
	*len = 0;
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
	uint32_t caps = o->blocking ? SHMK_EVENTS_CAP_WAKE : 0;
	uint32_t need = layout_bytes_for(caps);
	int rc = shmk_sys_fstat(fd, &st);

	if (rc)
		return rc;
	if (st.st_size == 0) {
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
	uint32_t init = SHMK_LOAD_ACQ_U32(&h->initialized); /* acquire: pairs with build() */
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
			build(*base, caps, o->counter_start);
			return 0;
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
		build(*base, caps, o->counter_start);
		return 0;
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

/* 0 while the file still holds the layout, else SHMK_ETRUNCATED: one
 * fstat, so only slow paths call it (r[impl events.truncate.hot-path]: the
 * try_* and zero-copy operations never do). */
static int ev_covers(const struct ev_map *m)
{
	return shmk_fd_covers(m->fd, layout_bytes_for(m->caps), "events");
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

/* r[impl events.mpsc.producer-table] */
static int register_producer(struct shmk_events_tx *tx)
{
	struct shmk_events_mpsc *q = &L(tx->m)->mpsc;

	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
			uint64_t cur = SHMK_LOAD_ACQ_U64(&q->producers[i].token);
			if (pass == 0 ? cur != 0 : (cur == 0 || shmk_token_alive(cur)))
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
				return 0;
			}
		}
	}
	return shmk_fail(SHMK_EBUSY, "events: all %u producer rows are held by live processes",
			 SHMK_EVENTS_PRODUCERS);
}

static int tx_claim(struct shmk_events_tx *tx)
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
	} else {
		rc = register_producer(tx);
		if (rc)
			return rc;
	}
	tx->claimed = true;
	return 0;
}

static int rx_claim(struct shmk_events_rx *rx)
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
	if (rx->kind == EV_MPSC) {
		/* r[impl events.role.reclaim] A consumer that died between freeing
		 * the head cell and storing head left seq == head + capacity:
		 * that cell is consumed, resume after it.  Producers may since
		 * have claimed and published it for the next lap (+ 1). */
		uint64_t seq = SHMK_LOAD_ACQ_U64(&l->mpsc.cells[rx->head & EV_MASK].seq);
		if (seq - rx->head == SHMK_EVENTS_QUEUE_CAP ||
		    seq - rx->head == SHMK_EVENTS_QUEUE_CAP + 1) {
			rx->head++;
			/* release: pairs with the acquire load of head in rx_claim */
			atomic_store_explicit(head, rx->head, memory_order_release);
		}
	}
	rx->tail_cache = rx->head;
	rx->stalled = false;
	rx->claimed = true;
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
		else
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

/* ------------------------------------------------------------ wake */

/* A direction's wait point: wait.c's eventcount, announced mode (the
 * generation moves only when a waker finds a waiter announced).  The delay
 * point names are the events lost wake-up hunt's. */
static inline struct shmk_wait ev_wait(struct shmk_events_wakeword *w)
{
	return (struct shmk_wait){ .word = &w->gen, .waiters = &w->waiters,
				   .mode = SHMK_WAIT_ANNOUNCED,
				   .park_gap = "events.wait.gap",
				   .wake_gap = "events.wake.gap" };
}

/* r[impl events.wake.nosyscall+2] after the caller's publish: the fence,
 * then one load per word when nobody announced */
static inline void wake_data(struct ev_map *m, int kind)
{
	struct shmk_events_wake *wk = W(m);

	if (!wk)
		return;
	shmk_wait_fence();
	struct shmk_wait w = ev_wait(kind == EV_SPSC ? &wk->spsc_data : &wk->mpsc_data);
	shmk_wait_wake(&w);
}

/* A freed cell or slot may unblock either queue's senders (the pool is shared). */
static inline void wake_space(struct ev_map *m)
{
	struct shmk_events_wake *wk = W(m);

	if (!wk)
		return;
	shmk_wait_fence();
	struct shmk_wait w = ev_wait(&wk->spsc_space);
	shmk_wait_wake(&w);
	w = ev_wait(&wk->mpsc_space);
	shmk_wait_wake(&w);
}

/* ------------------------------------------------------------ pool */

/* r[impl events.pool.aba] r[impl events.pool.dead-holder] */
static int pool_pop(struct ev_map *m, uint32_t *idx_out)
{
	struct shmk_events_layout *l = L(m);
	/* acquire: pairs with the release CAS of free_head in pool_push */
	uint64_t h = SHMK_LOAD_ACQ_U64(&l->pool.free_head);

	for (int i = 0; i < EV_CAS_TRIES; i++) {
		uint32_t idx = (uint32_t)h;
		if (idx == SHMK_EVENTS_NIL)
			return SHMK_FAIL(SHMK_EFULL);
		/* r[impl events.hostile.bounds] */
		if (idx >= SHMK_EVENTS_SLOTS)
			return shmk_fail(SHMK_EINTEGRITY, "events: free head %u out of range", idx);
		uint32_t next = SHMK_LOAD_U32(&l->slots[idx].next_free);
		if (next != SHMK_EVENTS_NIL && next >= SHMK_EVENTS_SLOTS) {
			uint64_t again = SHMK_LOAD_ACQ_U64(&l->pool.free_head);
			if (again == h)
				return shmk_fail(SHMK_EINTEGRITY, "events: next_free %u out of range",
						 next);
			h = again;
			continue;
		}
		uint64_t nh = (((h >> 32) + 1) << 32) | next;
		/* acq_rel: the success acquires the pusher's next_free store */
		if (atomic_compare_exchange_weak_explicit(&l->pool.free_head, &h, nh,
							  memory_order_acq_rel,
							  memory_order_acquire)) {
			/* relaxed: only the holder reads it (pool_push's CAS);
			 * the queue's release publishes the slot to a receiver */
			atomic_store_explicit(&l->slots[idx].refcnt, 1, memory_order_relaxed);
			*idx_out = idx;
			return 0;
		}
	}
	return SHMK_FAIL(SHMK_EFULL);
}

static int pool_push(struct ev_map *m, uint32_t idx)
{
	struct shmk_events_layout *l = L(m);

	if (idx >= SHMK_EVENTS_SLOTS)
		return shmk_fail(SHMK_EINTEGRITY, "events: slot %u out of range", idx);
	struct shmk_events_slot *s = &l->slots[idx];
	uint32_t one = 1;
	/* r[impl events.pool.double-release] */
	/* relaxed: the release CAS of free_head below publishes the slot */
	if (!atomic_compare_exchange_strong_explicit(&s->refcnt, &one, 0, memory_order_relaxed,
						     memory_order_relaxed))
		return shmk_fail(SHMK_EINTEGRITY, "events: slot %u released twice", idx);
	uint64_t h = SHMK_LOAD_U64(&l->pool.free_head);
	for (int i = 0; i < EV_CAS_TRIES * 16; i++) {
		/* relaxed: published by the release CAS right below */
		atomic_store_explicit(&s->next_free, (uint32_t)h, memory_order_relaxed);
		uint64_t nh = (((h >> 32) + 1) << 32) | idx;
		/* release: pairs with the acquire load/CAS of free_head in pool_pop */
		if (atomic_compare_exchange_weak_explicit(&l->pool.free_head, &h, nh,
							  memory_order_release,
							  memory_order_relaxed))
			return 0;
	}
	return shmk_fail(SHMK_EINTEGRITY, "events: free list contended beyond bound");
}

/* ------------------------------------------------------------ enqueue */

/* r[impl events.spsc.cached-index] */
static int spsc_space(struct shmk_events_tx *tx)
{
	struct shmk_events_spsc *q = &L(tx->m)->spsc;
	uint64_t t = tx->tail;

	if (SHMK_LIKELY(t - tx->head_cache < SHMK_EVENTS_QUEUE_CAP))
		return 0;
	/* acquire: pairs with the release store of head in rx_advance */
	uint64_t h = SHMK_LOAD_ACQ_U64(&q->head.v);
	/* r[impl events.hostile.counters] */
	if (t - h > SHMK_EVENTS_QUEUE_CAP)
		return shmk_fail(SHMK_EINTEGRITY, "events: spsc tail - head > capacity");
	tx->head_cache = h;
	/* r[impl events.queue.full-empty] */
	return t - h < SHMK_EVENTS_QUEUE_CAP ? 0 : SHMK_FAIL(SHMK_EFULL);
}

/* r[impl events.spsc.recycle] The pool is empty: give back to it every
 * slot still attached to a free SPSC cell (the sender owns the free cells,
 * [tail, head + capacity)).  Bounded: one pass over the 1024 cells, and
 * only when a pop found the pool empty. */
static void spsc_detach_all(struct shmk_events_tx *tx)
{
	struct shmk_events_spsc *q = &L(tx->m)->spsc;
	/* acquire: pairs with the release store of head in rx_advance, so the
	 * receiver's detach (NIL) of every cell it left is visible */
	uint64_t h = SHMK_LOAD_ACQ_U64(&q->head.v);
	uint64_t t = tx->tail;

	if (t - h > SHMK_EVENTS_QUEUE_CAP)
		return;
	tx->head_cache = h;
	for (uint64_t p = t; p != h + SHMK_EVENTS_QUEUE_CAP; p++) {
		_Atomic uint32_t *cell = &q->cells[p & EV_MASK];
		uint32_t s = SHMK_LOAD_U32(cell);
		if (s == SHMK_EVENTS_NIL)
			continue;
		/* relaxed: a free cell is read only by us (the sender) */
		atomic_store_explicit(cell, SHMK_EVENTS_NIL, memory_order_relaxed);
		pool_push(tx->m, s); /* out of range or refcnt != 1: refused, stays lost */
	}
}

/* A slot for the sender: the pool's, and when the pool is empty, once
 * more after handing back the slots attached to free SPSC cells.  An MPSC
 * sender cannot do that (r[impl events.spsc.hoard]). */
static int tx_pool_pop(struct shmk_events_tx *tx, uint32_t *slot)
{
	int rc = pool_pop(tx->m, slot);

	if (rc != SHMK_EFULL || tx->kind != EV_SPSC)
		return rc;
	spsc_detach_all(tx);
	return pool_pop(tx->m, slot);
}

/* r[impl events.spsc.recycle] The slot for the SPSC position at tail
 * (space already checked): the one the receiver left attached to the cell
 * a lap ago, else one from the pool. */
static int spsc_slot(struct shmk_events_tx *tx, uint32_t *slot)
{
	struct shmk_events_spsc *q = &L(tx->m)->spsc;
	/* relaxed: the cell is free, so its last writer was us or the
	 * receiver's detach, published by the head store we acquired */
	uint32_t s = SHMK_LOAD_U32(&q->cells[tx->tail & EV_MASK]);

	if (SHMK_LIKELY(s < SHMK_EVENTS_SLOTS)) {
		*slot = s;
		return 0;
	}
	/* r[impl events.hostile.bounds] */
	if (s != SHMK_EVENTS_NIL)
		return shmk_fail(SHMK_EINTEGRITY, "events: spsc free cell holds slot %u", s);
	return tx_pool_pop(tx, slot);
}

/* r[impl events.spsc.fifo] */
static int spsc_enqueue(struct shmk_events_tx *tx, uint32_t slot)
{
	struct shmk_events_spsc *q = &L(tx->m)->spsc;
	int rc = spsc_space(tx);

	if (rc)
		return rc;
	uint64_t t = tx->tail;
	_Atomic uint32_t *cell = &q->cells[t & EV_MASK];
	/* r[impl events.spsc.recycle] a published reservation replaces the
	 * slot attached to the cell: that one goes back to the pool */
	uint32_t old = SHMK_LOAD_U32(cell);
	if (SHMK_UNLIKELY(old != slot && old != SHMK_EVENTS_NIL)) {
		/* relaxed: a free cell is read only by us (the sender) */
		atomic_store_explicit(cell, SHMK_EVENTS_NIL, memory_order_relaxed);
		pool_push(tx->m, old);
	}
	/* relaxed: published by the release store of tail below.  A reused
	 * slot is already there: no store, so the cell line stays shared in
	 * the receiver's cache instead of moving to ours and back. */
	if (old != slot)
		atomic_store_explicit(cell, slot, memory_order_relaxed);
	/* release: pairs with the acquire load of tail in rx_peek */
	atomic_store_explicit(&q->tail.v, t + 1, memory_order_release);
	tx->tail = t + 1;
	return 0;
}

static int mpsc_publish(struct shmk_events_tx *tx, uint64_t pos);

/* r[impl events.mpsc.vyukov] r[impl events.mpsc.order] Claims the next
 * position.  *slot in: the reservation to publish, or NIL (try_send: use
 * the slot attached to the cell, else one from the pool); out: the slot
 * the cell now carries, to fill and publish with mpsc_publish.  Returns 1
 * when the cell had no slot and the pool none either: the cell was then
 * published as a hole (r[impl events.mpsc.hole]), try the next one. */
static int mpsc_claim(struct shmk_events_tx *tx, uint32_t *slot, uint64_t *pos_out, bool steal)
{
	struct shmk_events_mpsc *q = &L(tx->m)->mpsc;
	struct shmk_events_producer *me = &q->producers[tx->prod];
	uint64_t pos = SHMK_LOAD_U64(&q->tail.v);
	struct shmk_events_mcell *c;
	uint32_t want = *slot, cur;
	int rc;

	for (int i = 0;; i++) {
		if (i == EV_CAS_TRIES) {
			rc = shmk_fail(SHMK_EFULL, "events: mpsc tail CAS lost %d times", EV_CAS_TRIES);
			goto full;
		}
		c = &q->cells[pos & EV_MASK];
		/* acquire: pairs with the consumer's release store of seq in rx_advance */
		uint64_t seq = SHMK_LOAD_ACQ_U64(&c->seq);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			/* r[impl events.mpsc.recycle] relaxed: written before the
			 * release that made seq == pos (the consumer's detach, or
			 * the previous lap's publish it acquired); no one else
			 * writes it until someone claims pos */
			cur = SHMK_LOAD_U32(&c->slot);
			/* r[impl events.mpsc.intent] */
			/* relaxed: published to the consumer by the release CAS of tail below */
			atomic_store_explicit(&me->intent, pos, memory_order_relaxed);
			/* release: pairs with the consumer's acquire load of tail in mpsc_peek */
			if (atomic_compare_exchange_weak_explicit(&q->tail.v, &pos, pos + 1,
								  memory_order_release,
								  memory_order_relaxed))
				break;
		} else if (dif < 0) {
			rc = SHMK_FAIL(SHMK_EFULL);
			goto full;
		} else {
			pos = SHMK_LOAD_U64(&q->tail.v);
		}
	}
	uint32_t s = cur;
	*pos_out = pos;
	if (steal) {
		/* r[impl events.mpsc.steal] take the cell's slot, publish a hole */
		/* relaxed: published by the release publish CAS of seq */
		atomic_store_explicit(&c->slot, SHMK_EVENTS_NIL, memory_order_relaxed);
		rc = mpsc_publish(tx, pos);
		if (rc)
			return rc; /* skipped: the slot may be the next lap's now */
		if (cur >= SHMK_EVENTS_SLOTS)
			return 1;
		*slot = cur;
		return 0;
	}
	if (want != SHMK_EVENTS_NIL) {
		s = want;
	} else if (cur >= SHMK_EVENTS_SLOTS) {
		rc = pool_pop(tx->m, &s);
		if (rc) {
			/* r[impl events.mpsc.hole] never leave a claimed cell
			 * behind: publish it empty, the consumer steps over it */
			/* relaxed: published by the release publish CAS of seq */
			atomic_store_explicit(&c->slot, SHMK_EVENTS_NIL, memory_order_relaxed);
			int prc = mpsc_publish(tx, pos);
			return prc ? prc : rc == SHMK_EFULL ? 1 : rc;
		}
	}
	if (s != cur)
		/* relaxed: published by the release publish CAS of seq */
		atomic_store_explicit(&c->slot, s, memory_order_relaxed);
	if (want != SHMK_EVENTS_NIL && cur < SHMK_EVENTS_SLOTS && cur != want) {
		/* the reservation replaced it: back to the pool only now that
		 * the cell no longer names it, so a producer killed in between
		 * loses it (events.pool.dead-holder) instead of leaving it both
		 * free and attached to a cell the consumer skips (models/mpsc.pml) */
		SHMK_CRASH_POINT("events.mpsc.replaced");
		pool_push(tx->m, cur);
	}
	*slot = s;
	return 0;
full:
	/* relaxed: a consumer that still sees the old value only waits one
	 * more liveness period */
	atomic_store_explicit(&me->intent, pos + EV_INTENT_NONE, memory_order_relaxed);
	return rc;
}

/* Publishes the claimed position (its slot filled, len stored).  On
 * SHMK_EPEERDEAD the consumer skipped the cell: the slot stays attached to
 * it (events.mpsc.recycle), the caller must not give it back. */
static int mpsc_publish(struct shmk_events_tx *tx, uint64_t pos)
{
	struct shmk_events_mcell *c = &L(tx->m)->mpsc.cells[pos & EV_MASK];

	SHMK_CRASH_POINT("events.mpsc.claimed");
#ifdef SHMK_TEST_BUILD
	/* Test builds: SHMK_EVENTS_STOP_AT_CLAIM=1 stops the producer here, so a
	 * test can hold a live claimer between claim and publish. */
	static int stop_at_claim = -1;
	if (stop_at_claim < 0)
		stop_at_claim = getenv("SHMK_EVENTS_STOP_AT_CLAIM") != NULL;
	if (stop_at_claim)
		raise(SIGSTOP);
#endif
	uint64_t expect = pos;
	/* r[impl events.mpsc.publish-cas] */
	/* release: pairs with the consumer's acquire load of seq in mpsc_peek */
	if (!atomic_compare_exchange_strong_explicit(&c->seq, &expect, pos + 1,
						     memory_order_release, memory_order_relaxed))
		return shmk_fail(SHMK_EPEERDEAD, "events: the consumer skipped our claimed cell");
	wake_data(tx->m, EV_MPSC);
	return 0;
}

static int tx_prep(struct shmk_events_tx *tx)
{
	if (!tx)
		return SHMK_FAIL(-EINVAL);
	if (SHMK_UNLIKELY(!tx->claimed))
		return tx_claim(tx);
	return 0;
}

/* SPSC only: MPSC claims first, then fills, then publishes */
static int enqueue(struct shmk_events_tx *tx, uint32_t slot, size_t len)
{
	/* relaxed: published with the slot index by the release store of tail */
	atomic_store_explicit(&L(tx->m)->slots[slot].len, (uint32_t)len, memory_order_relaxed);
	int rc = spsc_enqueue(tx, slot);
	if (rc == 0)
		wake_data(tx->m, EV_SPSC);
	return rc;
}

/* r[impl events.truncate.hot-path] no size check here: see ev_covers */
int shmk_events_try_send(struct shmk_events_tx *tx, const void *buf, size_t len,
			 struct shmk_events_sizes *sizes)
{
	uint32_t slot;
	int rc = tx_prep(tx);

	if (rc)
		return rc;
	/* r[impl events.send.toolarge] */
	if (len > SHMK_EVENTS_SLOT_DATA) {
		if (sizes)
			*sizes = (struct shmk_events_sizes){ SHMK_EVENTS_SLOT_DATA, len };
		return SHMK_FAIL(SHMK_ETOOLARGE);
	}
	if (len && !buf)
		return SHMK_FAIL(-EINVAL);
	if (tx->kind == EV_SPSC) {
		/* Refuse a full SPSC queue before touching a slot. */
		if ((rc = spsc_space(tx)) || (rc = spsc_slot(tx, &slot)))
			return rc;
		if (len)
			memcpy(L(tx->m)->slots[slot].data, buf, len);
		/* cannot fail: space was checked and we are the only sender */
		return enqueue(tx, slot, len);
	}
	uint64_t pos;
	/* r[impl events.mpsc.hole] bounded: EV_HOLES empty cells a call */
	for (int hole = 0;; hole++) {
		slot = SHMK_EVENTS_NIL;
		rc = mpsc_claim(tx, &slot, &pos, false);
		if (rc == 0)
			break;
		if (rc != 1)
			return rc;
		if (hole + 1 == EV_HOLES)
			return SHMK_FAIL(SHMK_EFULL);
	}
	if (len)
		memcpy(L(tx->m)->slots[slot].data, buf, len);
	/* relaxed: published by the release publish CAS of seq */
	atomic_store_explicit(&L(tx->m)->slots[slot].len, (uint32_t)len, memory_order_relaxed);
	return mpsc_publish(tx, pos);
}

int shmk_events_reserve(struct shmk_events_tx *tx, struct shmk_events_view *view)
{
	uint32_t slot;
	int rc = tx_prep(tx);

	if (rc)
		return rc;
	if (!view)
		return SHMK_FAIL(-EINVAL);
	/* r[impl events.zerocopy.reserve] */
	rc = tx_pool_pop(tx, &slot);
	/* r[impl events.mpsc.steal] bounded: EV_HOLES cells a call */
	for (int hole = 0; rc == SHMK_EFULL && tx->kind == EV_MPSC && hole < EV_HOLES; hole++) {
		uint64_t pos;
		slot = SHMK_EVENTS_NIL;
		rc = mpsc_claim(tx, &slot, &pos, true);
		if (rc == 1)
			rc = SHMK_FAIL(SHMK_EFULL);
	}
	if (rc)
		return rc;
	view->data = L(tx->m)->slots[slot].data;
	view->len = SHMK_EVENTS_SLOT_DATA;
	view->slot = slot;
	return 0;
}

int shmk_events_publish(struct shmk_events_tx *tx, struct shmk_events_view *view, size_t len,
			struct shmk_events_sizes *sizes)
{
	int rc = tx_prep(tx);

	if (rc)
		return rc;
	if (!view || !view->data || view->slot >= SHMK_EVENTS_SLOTS)
		return SHMK_FAIL(-EINVAL);
	if (len > SHMK_EVENTS_SLOT_DATA) {
		if (sizes)
			*sizes = (struct shmk_events_sizes){ SHMK_EVENTS_SLOT_DATA, len };
		return SHMK_FAIL(SHMK_ETOOLARGE);
	}
	/* r[impl events.zerocopy.publish] */
	if (tx->kind == EV_SPSC) {
		rc = enqueue(tx, view->slot, len);
		if (rc)
			return rc; /* the view stays reserved: retry or cancel */
		view->data = NULL;
		return 0;
	}
	uint32_t slot = view->slot;
	uint64_t pos;
	rc = mpsc_claim(tx, &slot, &pos, false);
	if (rc)
		return rc; /* the view stays reserved: retry or cancel */
	/* relaxed: published by the release publish CAS of seq */
	atomic_store_explicit(&L(tx->m)->slots[slot].len, (uint32_t)len, memory_order_relaxed);
	/* claimed: the slot belongs to the cell now, whatever publish says
	 * (r[impl events.zerocopy.publish-skipped]) */
	view->data = NULL;
	return mpsc_publish(tx, pos);
}

int shmk_events_cancel(struct shmk_events_tx *tx, struct shmk_events_view *view)
{
	if (!tx || !view || !view->data)
		return SHMK_FAIL(-EINVAL);
	int rc = pool_push(tx->m, view->slot);
	view->data = NULL;
	if (rc == 0)
		wake_space(tx->m);
	return rc;
}

/* ------------------------------------------------------------ dequeue */

/* The consumer found cell `pos` claimed but unpublished. */
/* r[impl events.mpsc.dead-producer] */
static int mpsc_stalled(struct shmk_events_rx *rx, uint64_t pos, struct shmk_events_mcell *c)
{
	struct shmk_events_mpsc *q = &L(rx->m)->mpsc;
	int64_t now = shmk_now_ns();

	if (!rx->stalled || rx->stall_pos != pos) {
		rx->stalled = true;
		rx->stall_pos = pos;
		rx->stall_since = now;
		return SHMK_FAIL(SHMK_EEMPTY);
	}
	if (now - rx->stall_since < rx->liveness_ns)
		return SHMK_FAIL(SHMK_EEMPTY);
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		/* acquire: pairs with the acq_rel CAS of token in register_producer */
		uint64_t tok = SHMK_LOAD_ACQ_U64(&q->producers[i].token);
		if (!tok)
			continue;
		uint64_t intent = SHMK_LOAD_U64(&q->producers[i].intent);
		if (intent == pos && shmk_token_alive(tok)) {
			rx->stall_since = now; /* a live claimer: look again later */
			return SHMK_FAIL(SHMK_EEMPTY);
		}
	}
	uint64_t expect = pos;
	/* acq_rel: exclusive with the producer's publish CAS in mpsc_publish;
	 * release pairs with the producers' acquire load of seq */
	if (!atomic_compare_exchange_strong_explicit(&c->seq, &expect,
						     pos + SHMK_EVENTS_QUEUE_CAP,
						     memory_order_acq_rel, memory_order_acquire))
		return 1; /* published meanwhile: look again */
	rx->head = pos + 1;
	/* release: pairs with the acquire load of head in rx_claim / inspect */
	atomic_store_explicit(&q->head.v, rx->head, memory_order_release);
	rx->stalled = false;
	rx->skipped++;
	wake_space(rx->m);
	return 1;
}

static void rx_advance(struct shmk_events_rx *rx);

/* Finds the message at the head without consuming it: 0 with slot/len,
 * SHMK_EEMPTY, SHMK_EINTEGRITY, or 1 (internal: look again). */
static int rx_peek(struct shmk_events_rx *rx, uint32_t *slot, uint32_t *len)
{
	struct shmk_events_layout *l = L(rx->m);
	uint64_t h = rx->head;
	uint32_t s;

	if (rx->kind == EV_SPSC) {
		if (h == rx->tail_cache) {
			/* acquire: pairs with the release store of tail in spsc_enqueue */
			uint64_t t = SHMK_LOAD_ACQ_U64(&l->spsc.tail.v);
			/* r[impl events.hostile.counters] */
			if (t - h > SHMK_EVENTS_QUEUE_CAP)
				return shmk_fail(SHMK_EINTEGRITY, "events: spsc tail - head > capacity");
			rx->tail_cache = t;
			if (t == h)
				return SHMK_FAIL(SHMK_EEMPTY);
		}
		s = SHMK_LOAD_U32(&l->spsc.cells[h & EV_MASK]);
		/* r[impl events.spsc.detached-skip] a receiver that took this message
		 * as a view detached the cell and died before storing head:
		 * the message was delivered (at most once), step over it */
		if (SHMK_UNLIKELY(s == SHMK_EVENTS_NIL)) {
			rx->head = h + 1;
			/* release: pairs with the acquire load of head in spsc_space */
			atomic_store_explicit(&l->spsc.head.v, h + 1, memory_order_release);
			wake_space(rx->m);
			return 1;
		}
	} else {
		struct shmk_events_mcell *c = &l->mpsc.cells[h & EV_MASK];
		/* acquire: pairs with the release publish CAS in mpsc_publish */
		uint64_t seq = SHMK_LOAD_ACQ_U64(&c->seq);
		if (seq != h + 1) {
			if (seq != h)
				return shmk_fail(SHMK_EINTEGRITY, "events: mpsc cell seq inconsistent");
			/* acquire: pairs with the release CAS of tail in mpsc_claim */
			uint64_t t = SHMK_LOAD_ACQ_U64(&l->mpsc.tail.v);
			if (t == h) {
				rx->stalled = false;
				return SHMK_FAIL(SHMK_EEMPTY);
			}
			if (t - h > SHMK_EVENTS_QUEUE_CAP)
				return shmk_fail(SHMK_EINTEGRITY, "events: mpsc tail - head > capacity");
			return mpsc_stalled(rx, h, c);
		}
		s = SHMK_LOAD_U32(&c->slot);
		/* r[impl events.mpsc.detached-skip] as for SPSC: a dead
		 * consumer's view */
		if (SHMK_UNLIKELY(s == SHMK_EVENTS_NIL)) {
			rx_advance(rx);
			wake_space(rx->m);
			return 1;
		}
	}
	/* r[impl events.hostile.bounds] */
	if (s >= SHMK_EVENTS_SLOTS)
		return shmk_fail(SHMK_EINTEGRITY, "events: queued slot %u out of range", s);
	uint32_t n = SHMK_LOAD_U32(&l->slots[s].len);
	if (n > SHMK_EVENTS_SLOT_DATA)
		return shmk_fail(SHMK_EINTEGRITY, "events: slot %u len %u > 256", s, n);
	*slot = s;
	*len = n;
	return 0;
}

static void rx_advance(struct shmk_events_rx *rx)
{
	struct shmk_events_layout *l = L(rx->m);
	uint64_t h = rx->head;

	if (rx->kind == EV_SPSC) {
		/* release: pairs with the acquire load of head in spsc_space */
		atomic_store_explicit(&l->spsc.head.v, h + 1, memory_order_release);
	} else {
		/* release: pairs with the producers' acquire load of seq in mpsc_claim */
		atomic_store_explicit(&l->mpsc.cells[h & EV_MASK].seq, h + SHMK_EVENTS_QUEUE_CAP,
				      memory_order_release);
		/* release: pairs with the acquire load of head in rx_claim */
		atomic_store_explicit(&l->mpsc.head.v, h + 1, memory_order_release);
		rx->stalled = false;
	}
	rx->head = h + 1;
}

/* r[impl events.spsc.recycle] r[impl events.mpsc.recycle] Detaches the
 * head cell's slot, so the sender does not reuse it (a view, or a slot
 * going back to a dry pool).  Relaxed: published by the release store of
 * head (SPSC) or seq (MPSC) in rx_advance. */
static void rx_detach(struct shmk_events_rx *rx)
{
	struct shmk_events_layout *l = L(rx->m);

	if (rx->kind == EV_SPSC) {
		atomic_store_explicit(&l->spsc.cells[rx->head & EV_MASK], SHMK_EVENTS_NIL,
				      memory_order_relaxed);
		SHMK_CRASH_POINT("events.spsc.detached");
	} else {
		atomic_store_explicit(&l->mpsc.cells[rx->head & EV_MASK].slot, SHMK_EVENTS_NIL,
				      memory_order_relaxed);
		SHMK_CRASH_POINT("events.mpsc.detached");
	}
}

static int rx_next(struct shmk_events_rx *rx, uint32_t *slot, uint32_t *len)
{
	if (!rx)
		return SHMK_FAIL(-EINVAL);
	if (SHMK_UNLIKELY(!rx->claimed)) {
		int rc = rx_claim(rx);
		if (rc)
			return rc;
	}
	/* bounded: a skip frees one cell, then we look once more */
	for (int i = 0; i < 3; i++) {
		int rc = rx_peek(rx, slot, len);
		if (rc != 1)
			return rc;
	}
	return SHMK_FAIL(SHMK_EEMPTY);
}

int shmk_events_try_recv(struct shmk_events_rx *rx, void *buf, size_t cap, size_t *len_out,
			 struct shmk_events_sizes *sizes)
{
	uint32_t slot, len;
	int rc = rx_next(rx, &slot, &len);

	if (rc)
		return rc;
	/* r[impl events.recv.bufsmall] */
	if (cap < len) {
		if (sizes)
			*sizes = (struct shmk_events_sizes){ len, cap };
		return SHMK_FAIL(SHMK_EBUFSMALL);
	}
	if (len)
		memcpy(buf, L(rx->m)->slots[slot].data, len);
	/* r[impl events.spsc.recycle] r[impl events.mpsc.recycle] the slot
	 * stays attached to its cell for the sender's next lap: no shared
	 * free list per message.  r[impl events.pool.dry-return] Unless the
	 * pool is empty: then it goes back there, detached first (a plain
	 * load of a line nobody writes while the pool has slots). */
	bool dry = (uint32_t)SHMK_LOAD_U64(&L(rx->m)->pool.free_head) == SHMK_EVENTS_NIL;
	if (SHMK_UNLIKELY(dry))
		rx_detach(rx);
	rx_advance(rx);
	if (SHMK_UNLIKELY(dry))
		pool_push(rx->m, slot); /* refused (integrity) only for a hostile slot */
	wake_space(rx->m);
	if (len_out)
		*len_out = len;
	return 0;
}

int shmk_events_recv_view(struct shmk_events_rx *rx, struct shmk_events_view *view)
{
	uint32_t slot, len;

	if (!view)
		return SHMK_FAIL(-EINVAL);
	int rc = rx_next(rx, &slot, &len);
	if (rc)
		return rc;
	/* r[impl events.zerocopy.view] */
	rx_detach(rx);
	rx_advance(rx);
	wake_space(rx->m);
	view->data = L(rx->m)->slots[slot].data;
	view->len = len;
	view->slot = slot;
	return 0;
}

int shmk_events_release(struct shmk_events_rx *rx, struct shmk_events_view *view)
{
	if (!rx || !view || !view->data)
		return SHMK_FAIL(-EINVAL);
	int rc = pool_push(rx->m, view->slot);
	view->data = NULL;
	if (rc == 0)
		wake_space(rx->m);
	return rc;
}

/* ------------------------------------------------------------ blocking */

/* A role word names a process that claimed the role and died without
 * releasing it.  0 (never claimed, or a clean close) is an absent peer,
 * not a dead one: r[impl events.wait.peer-absent]. */
static bool role_dead(_Atomic uint64_t *w)
{
	/* acquire: pairs with the acq_rel CAS of the role word in claim_role */
	uint64_t tok = SHMK_LOAD_ACQ_U64(w);

	return tok && !shmk_token_alive(tok);
}

/* r[impl events.wait.peerdead] The receiving side of a blocked sender is
 * dead: the SPSC receiver, or the MPSC consumer. */
static bool tx_peer_dead(struct shmk_events_tx *tx)
{
	struct shmk_events_layout *l = L(tx->m);

	return role_dead(tx->kind == EV_SPSC ? &l->spsc.roles.b : &l->mpsc.roles.a);
}

/* r[impl events.wait.peerdead] The sending side of a blocked receiver is
 * dead: the SPSC sender, or every registered MPSC producer (at least one).
 * An MPSC position claimed but unpublished is not "nothing pending": the
 * dead-producer skip (events.mpsc.dead-producer) frees it, and what was
 * published behind it is still delivered. */
static bool rx_peer_dead(struct shmk_events_rx *rx)
{
	struct shmk_events_layout *l = L(rx->m);
	bool any = false;

	if (rx->kind == EV_SPSC)
		return role_dead(&l->spsc.roles.a);
	/* acquire: pairs with the release CAS of tail in mpsc_claim */
	if (SHMK_LOAD_ACQ_U64(&l->mpsc.tail.v) != rx->head)
		return false;
	/* bounded: 64 rows, one /proc read per row holding a token */
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++) {
		/* acquire: pairs with the acq_rel CAS of token in register_producer */
		uint64_t tok = SHMK_LOAD_ACQ_U64(&l->mpsc.producers[i].token);
		if (!tok)
			continue;
		if (shmk_token_alive(tok))
			return false;
		any = true;
	}
	return any;
}

/* r[impl events.wait.peerdead] 1 to keep waiting, else the result: the
 * operation's own (what the peer completed before it died still counts:
 * look once more after seeing the death), or SHMK_EPEERDEAD when the peer
 * is still dead after that look (a replacement may have claimed the role
 * meanwhile). */
static int peer_gone(struct shmk_events_tx *tx, struct shmk_events_rx *rx, int (*op)(void *),
		     void *arg)
{
	if (!(tx ? tx_peer_dead(tx) : rx_peer_dead(rx)))
		return 1;
	int rc = op(arg);
	if (rc != 1)
		return rc;
	if (!(tx ? tx_peer_dead(tx) : rx_peer_dead(rx)))
		return 1;
	return shmk_fail(SHMK_EPEERDEAD, "events: the %s died and nothing is pending",
			 tx ? (tx->kind == EV_SPSC ? "spsc receiver" : "mpsc consumer")
			    : (rx->kind == EV_SPSC ? "spsc sender" : "last mpsc producer"));
}

struct op {
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	const void *sbuf;
	void *rbuf;
	size_t len, cap, *len_out;
	struct shmk_events_sizes *sizes;
};

/* 1 = not yet (full/empty), else the operation's result */
static int op_send(void *a)
{
	struct op *o = a;
	int rc = shmk_events_try_send(o->tx, o->sbuf, o->len, o->sizes);
	return rc == SHMK_EFULL ? 1 : rc;
}

static int op_recv(void *a)
{
	struct op *o = a;
	int rc = shmk_events_try_recv(o->rx, o->rbuf, o->cap, o->len_out, o->sizes);
	return rc == SHMK_EEMPTY ? 1 : rc;
}

/* wait.c's callbacks: the operation itself, the size check, the peer */
static int op_covers(void *a)
{
	struct op *o = a;

	return ev_covers(o->tx ? o->tx->m : o->rx->m);
}

/* r[impl events.wait.peerdead] */
static int op_peer(void *a)
{
	struct op *o = a;

	return peer_gone(o->tx, o->rx, o->tx ? op_send : op_recv, o);
}

/* r[impl events.wake.park+2] r[impl events.wake.spin]
 * r[impl events.truncate.wait] r[impl events.wait.peerdead-cadence]
 * wait.c spins by time, then parks on the direction's word, checking the
 * file size before its first park and after each wake-up and the peer
 * every SHMK_LIVENESS_MS/4 (the first look after one period). */
static int blocking(struct shmk_events_wakeword *ww, int64_t timeout_ns, int64_t max_slice,
		    int (*op)(void *), struct op *o)
{
	struct shmk_wait w = ev_wait(ww);
	struct shmk_wait_ops ops = { .ready = op, .covers = op_covers, .peer = op_peer,
				     .arg = o, .max_slice = max_slice };

	return shmk_wait_until(&w, &ops, timeout_ns);
}

int shmk_events_send(struct shmk_events_tx *tx, const void *buf, size_t len,
		     int64_t timeout_ns, struct shmk_events_sizes *sizes)
{
	if (!tx)
		return SHMK_FAIL(-EINVAL);
	struct shmk_events_wake *wk = W(tx->m);
	/* r[impl events.wake.capability] */
	if (!wk)
		return shmk_fail(SHMK_EINCOMPAT, "events: region has no wake section");
	struct op o = { .tx = tx, .sbuf = buf, .len = len, .sizes = sizes };
	return blocking(tx->kind == EV_SPSC ? &wk->spsc_space : &wk->mpsc_space, timeout_ns, -1,
			op_send, &o);
}

int shmk_events_recv(struct shmk_events_rx *rx, void *buf, size_t cap, size_t *len_out,
		     int64_t timeout_ns, struct shmk_events_sizes *sizes)
{
	if (!rx)
		return SHMK_FAIL(-EINVAL);
	struct shmk_events_wake *wk = W(rx->m);
	if (!wk)
		return shmk_fail(SHMK_EINCOMPAT, "events: region has no wake section");
	struct op o = { .rx = rx, .rbuf = buf, .cap = cap, .len_out = len_out, .sizes = sizes };
	/* An MPSC consumer must wake up to notice a dead producer's cell. */
	int64_t slice = rx->kind == EV_MPSC ? rx->liveness_ns / 2 + 1 : -1;
	return blocking(rx->kind == EV_SPSC ? &wk->spsc_data : &wk->mpsc_data, timeout_ns, slice,
			op_recv, &o);
}
