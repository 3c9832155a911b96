/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the Fuchsia mediated-write ring buffer (see ring.h and
 * conformance/spec/ring.md).
 *
 * Ordering, in libbpf's habit of naming both ends of every barrier:
 *
 *   writer (lock held)                  reader
 *   t = LOAD_ACQ(tail)      (A)         h = LOAD_ACQ(head)      (C)
 *   copy record at head                 read records in [t, h)
 *   STORE_REL(head, h+rl)   (B)         STORE_REL(tail, t+n)    (D)
 *
 * (A) pairs with (D): the reader finished reading bytes before the writer
 * reuses them.  (B) pairs with (C): the record bytes are visible before the
 * head that covers them.  Wake-ups: wait.c's eventcount in its announced
 * mode on the header's gen and waiters words: the reader reads gen,
 * announces itself, re-checks head and sleeps on that gen; the writer
 * fences after (B) and bumps gen and wakes only when it takes an
 * announcement, so a commit between the check and the sleep changes gen
 * and the futex returns at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "region.h"
#include "wait.h"
#include "shmkit/ring.h"

#define RING_MAX_CAPACITY (1ull << 30)
#define RING_CMSG_MAGIC 0x31574b4d48537277ull /* "wrSHMKW1": writer hand-off message */

/* The lock bytes must hold the platform's mutex. */
_Static_assert(sizeof(pthread_mutex_t) <= 64, "pthread_mutex_t fits the wire lock");

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

/* ---------------------------------------------------------------- helpers */

size_t shmk_ring_record_len(size_t len)
{
	/* r[impl ring.record.format] */
	if (len > SIZE_MAX - SHMK_RING_REC_HDR - 7)
		return 0;
	return SHMK_RING_REC_HDR + ((len + 7) & ~(size_t)7);
}

static void ring_unmap(struct ring_map *m)
{
	shmk_region_unmap(m->base, m->len);
	shmk_region_unmap(m->wp, m->page);
	memset(m, 0, sizeof(*m));
}

/*
 * Maps [header page][ring][first 64 KiB of the ring again] into one
 * reserved range, and the writers page on its own.  The reader gets the
 * ring and the writers page read-only.
 */
static int ring_map(int fd, size_t page, uint64_t cap, int writer, struct ring_map *m)
{
	void *base, *wp;
	int rprot = writer ? PROT_READ | PROT_WRITE : PROT_READ;
	size_t len = page + (size_t)cap + SHMK_RING_MIRROR;
	const struct shmk_region_part parts[] = {
		{ 0, page, 0, PROT_READ | PROT_WRITE },
		{ page, (size_t)cap, page, rprot },
		/* r[impl ring.reader.mirror] */
		{ page + (size_t)cap, SHMK_RING_MIRROR, page, rprot },
	};

	memset(m, 0, sizeof(*m));
	int rc = shmk_region_map_parts(fd, len, parts, 3, &base);
	if (rc)
		return rc;
	/* r[impl ring.writer.lock] the reader never maps the writers page writable */
	rc = shmk_region_map(fd, page, page + cap, rprot, &wp);
	if (rc) {
		shmk_region_unmap(base, len);
		return rc;
	}
	m->base = base;
	m->len = len;
	m->page = page;
	m->cap = cap;
	m->wp = wp;
	m->hdr = (struct shmk_ring_hdr *)m->base;
	m->data = m->base + page;
	return 0;
}

/*
 * The one ring validator.  Order and codes are attach's: size, magic,
 * version, page size and capacity, exact file size, then the writers page.
 * Every field is loaded once and only the copies are checked.
 */
int shmk_ring_validate(const void *base, size_t len, uint64_t file_size,
		       struct shmk_ring_info *info)
{
	uint64_t page = shmk_page_size();
	const struct shmk_ring_hdr *h = base;

	if (!base || len > file_size)
		return SHMK_FAIL(-EINVAL);
	/* u64 fields are loaded in place */
	if ((uintptr_t)base % 8)
		return shmk_fail(SHMK_EMISALIGNED, "ring: base %p is not 8-byte aligned", base);
	/* r[impl ring.attach.validate] r[impl ring.validate.shared] */
	if (file_size < 2 * page || len < sizeof(*h))
		return shmk_fail(SHMK_ETOOSMALL, "ring: file of %llu bytes, %zu in view",
				 (unsigned long long)file_size, len);
	/* acquire: pairs with the release store of magic at the end of create */
	uint64_t magic = SHMK_LOAD_ACQ_U64(&h->magic);
	uint32_t version = SHMK_LOAD_U32(&h->version);
	uint32_t psz = SHMK_LOAD_U32(&h->page_size);
	uint64_t cap = SHMK_LOAD_U64(&h->capacity);
	if (magic == 0)
		return shmk_fail(SHMK_ENOTINIT, "ring: header not initialised");
	if (magic != SHMK_RING_MAGIC)
		return shmk_fail(SHMK_EBADMAGIC, "ring: magic %#llx", (unsigned long long)magic);
	if (version != SHMK_RING_VERSION)
		return shmk_fail(SHMK_EVERSION, "ring: version %u", version);
	if (psz != page || cap % page || cap < SHMK_RING_MAX_MESSAGE || cap > RING_MAX_CAPACITY)
		return shmk_fail(SHMK_ELAYOUT, "ring: page_size %u capacity %llu", psz,
				 (unsigned long long)cap);
	if (file_size != 2 * page + cap)
		return shmk_fail(SHMK_ETOOSMALL, "ring: file of %llu bytes, header says %llu",
				 (unsigned long long)file_size, (unsigned long long)(2 * page + cap));
	struct shmk_ring_info ri = {
		.capacity = cap,
		.file_size = file_size,
		.page_size = psz,
		.version = version,
		.head = SHMK_LOAD_U64(&h->head),
		.tail = SHMK_LOAD_U64(&h->tail),
		.reader = SHMK_LOAD_U64(&h->reader),
		/* len <= file_size, so only a whole view holds the writers page */
		.complete = len == file_size,
	};
	if (ri.complete) {
		const struct shmk_ring_wpage *wp =
			(const void *)((const uint8_t *)base + page + cap);
		uint64_t wmagic = SHMK_LOAD_U64(&wp->magic);
		uint32_t wversion = SHMK_LOAD_U32(&wp->version);
		uint32_t nslots = SHMK_LOAD_U32(&wp->nslots);
		if (wmagic != SHMK_RING_WMAGIC)
			return shmk_fail(SHMK_EBADMAGIC, "ring: writers page magic %#llx",
					 (unsigned long long)wmagic);
		if (wversion != SHMK_RING_VERSION)
			return shmk_fail(SHMK_EVERSION, "ring: writers page version %u", wversion);
		if (nslots != SHMK_RING_MAX_WRITERS)
			return shmk_fail(SHMK_ELAYOUT, "ring: writers page has %u slots", nslots);
		ri.registered = SHMK_LOAD_U64(&wp->registered);
		/* bounded: the slot count is ours, not the file's */
		for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++)
			ri.writers += SHMK_LOAD_U64(&wp->slots[i].token) != 0;
	}
	if (info)
		*info = ri;
	return 0;
}

/*
 * Validates an open ring file through a read-only view of all of it (sized
 * by st, the caller's fstat, never by the header); on success *cap is the
 * capacity to map.
 * r[impl ring.validate.shared] attach and writer open both come here.
 */
static int ring_check_fd(int fd, const struct stat *stp, uint64_t *cap_out)
{
	size_t page = shmk_page_size();
	struct shmk_ring_info ri;
	struct stat st = *stp;
	void *p;
	int rc;

	/* At least a page so an empty file still maps (validate refuses it
	 * before touching a byte); at most the largest valid ring, which
	 * validate then refuses by size. */
	uint64_t size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	uint64_t vlen = size < page ? page : size;
	if (vlen > 2 * (uint64_t)page + RING_MAX_CAPACITY)
		vlen = 2 * (uint64_t)page + RING_MAX_CAPACITY;
	rc = shmk_region_map(fd, (size_t)vlen, 0, PROT_READ, &p);
	if (rc)
		return rc;
	rc = shmk_ring_validate(p, (size_t)(size < vlen ? size : vlen), size, &ri);
	shmk_region_unmap(p, (size_t)vlen);
	if (!rc)
		*cap_out = ri.capacity;
	return rc;
}

/*
 * 0 while the file still holds everything mapped (header page, ring,
 * writers page), else SHMK_ETRUNCATED.  One fstat: slow paths only
 * (r[impl ring.truncate.hot-path]: write, reserve, commit, read and
 * first_message_in never call it).
 */
static int ring_covers(int fd, const struct ring_map *m)
{
	return shmk_fd_covers(fd, 2 * (uint64_t)m->page + m->cap, "ring");
}

/* r[impl ring.truncate.check] */
int shmk_ring_check(const struct shmk_ring *r)
{
	return r ? ring_covers(r->fd, &r->m) : SHMK_FAIL(-EINVAL);
}

int shmk_ring_writer_check(const struct shmk_ring_writer *w)
{
	return w ? ring_covers(w->fd, &w->m) : SHMK_FAIL(-EINVAL);
}

/* ---------------------------------------------------------------- create / attach */

/* r[impl ring.create.name] a bare name lives in /dev/shm, like an events region */
static int ring_path(const char *path, char *buf, size_t len, const char **out)
{
	if (!path || !*path)
		return SHMK_FAIL(-EINVAL);
	if (strchr(path, '/')) {
		*out = path;
		return 0;
	}
	if ((size_t)snprintf(buf, len, "/dev/shm/%s", path) >= len)
		return SHMK_FAIL(-ENAMETOOLONG);
	*out = buf;
	return 0;
}

static int claim_reader(struct shmk_ring *r)
{
	uint64_t self = shmk_self_token();
	/* r[impl ring.reader.single] */
	for (int tries = 0; tries < 4; tries++) {
		uint64_t cur = SHMK_LOAD_U64(&r->m.hdr->reader);
		if (cur == self || (cur && shmk_token_alive(cur)))
			return shmk_fail(SHMK_EBUSY, "ring: reader role held by pid %u",
					 SHMK_TOKEN_PID(cur));
		/* acq_rel: pairs with the release of the role in shmk_ring_close */
		if (atomic_compare_exchange_strong_explicit(&r->m.hdr->reader, &cur, self,
							    memory_order_acq_rel,
							    memory_order_relaxed)) {
			r->token = self;
			return 0;
		}
	}
	return shmk_fail(SHMK_EBUSY, "ring: reader role contended");
}

int shmk_ring_create(const char *name, const struct shmk_ring_opts *opts, struct shmk_ring **rp)
{
	size_t page = shmk_page_size();
	struct shmk_ring *r = NULL;
	char buf[PATH_MAX];
	const char *path;
	int fd = -1, rc;

	if (!opts || !rp)
		return SHMK_FAIL(-EINVAL);
	rc = ring_path(name, buf, sizeof(buf), &path);
	if (rc)
		return rc;
	uint64_t cap = opts->capacity;
	mode_t mode = opts->mode ? opts->mode : 0600;
	/* r[impl ring.create.capacity] */
	if (cap % page || cap < SHMK_RING_MAX_MESSAGE || cap > RING_MAX_CAPACITY ||
	    SHMK_RING_MIRROR % page)
		return shmk_fail(-EINVAL, "ring: capacity %llu (page %zu)",
				 (unsigned long long)cap, page);
	/* r[impl ring.create.initial_index] */
	if (opts->initial_index % 8)
		return shmk_fail(-EINVAL, "ring: initial index not a multiple of 8");
	/* r[impl ring.create.file] exactly `mode` (common.create.mode), then
	 * sized and reserved in one fallocate */
	struct stat st;
	rc = shmk_region_create(AT_FDCWD, path, mode, &fd, &st);
	if (rc)
		return rc;
	rc = shmk_region_reserve(fd, 0, 2 * (uint64_t)page + cap);
	r = calloc(1, sizeof(*r));
	if (!r && !rc)
		rc = SHMK_FAIL(-ENOMEM);
	if (!rc)
		rc = ring_map(fd, page, cap, 0, &r->m);
	if (rc)
		goto fail;

	/* Initialise the writers page through a private writable mapping:
	 * the reader's own stays read-only. */
	void *p;
	rc = shmk_region_map(fd, page, page + cap, PROT_READ | PROT_WRITE, &p);
	if (rc)
		goto fail;
	struct shmk_ring_wpage *wp = p;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	/* r[impl ring.writer.lock.recover] robust: a dead holder hands the next one EOWNERDEAD */
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	int e = pthread_mutex_init((pthread_mutex_t *)(void *)wp->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (e) {
		shmk_region_unmap(p, page);
		rc = SHMK_FAIL(-e);
		goto fail;
	}
	wp->version = SHMK_RING_VERSION;
	wp->nslots = SHMK_RING_MAX_WRITERS;
	wp->magic = SHMK_RING_WMAGIC;
	shmk_region_unmap(p, page); /* msync not needed: same page cache */

	struct shmk_ring_hdr *h = r->m.hdr;
	/* r[impl ring.layout.header] */
	atomic_store_explicit(&h->head, opts->initial_index, memory_order_relaxed);
	atomic_store_explicit(&h->tail, opts->initial_index, memory_order_relaxed);
	h->version = SHMK_RING_VERSION;
	h->page_size = (uint32_t)page;
	h->capacity = cap;
	r->fd = fd;
	rc = claim_reader(r);
	if (rc)
		goto fail;
	/* release: pairs with the acquire of magic in shmk_ring_validate */
	atomic_store_explicit((_Atomic uint64_t *)&h->magic, SHMK_RING_MAGIC, memory_order_release);
	*rp = r;
	return 0;
fail:
	/* r[impl ring.create.cleanup] only what this call created is removed */
	if (r) {
		ring_unmap(&r->m);
		free(r);
	}
	if (fd >= 0) {
		unlink(path);
		close(fd);
	}
	return rc;
}

int shmk_ring_attach(const char *name, struct shmk_ring **rp)
{
	struct shmk_ring *r;
	char buf[PATH_MAX];
	const char *path;
	uint64_t cap;
	int fd, rc;

	if (!rp)
		return SHMK_FAIL(-EINVAL);
	rc = ring_path(name, buf, sizeof(buf), &path);
	if (rc)
		return rc;
	/* r[impl ring.attach.safe] */
	struct shmk_path_policy pol = { .mode = 0600 };
	struct stat st;
	rc = shmk_region_open(path, O_RDWR, 0, &pol, &fd, &st);
	if (rc)
		return rc;
	rc = ring_check_fd(fd, &st, &cap);
	if (rc) {
		close(fd);
		return rc;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return SHMK_FAIL(-ENOMEM);
	}
	r->fd = fd;
	rc = ring_map(fd, shmk_page_size(), cap, 0, &r->m);
	if (!rc)
		rc = claim_reader(r);
	if (rc) {
		/* r[impl ring.create.cleanup] */
		ring_unmap(&r->m);
		free(r);
		close(fd);
		return rc;
	}
	*rp = r;
	return 0;
}

int shmk_ring_close(struct shmk_ring *r)
{
	if (!r)
		return 0;
	uint64_t self = r->token;
	/* r[impl ring.truncate.close] a cut file keeps our token (a dead
	 * token is reclaimable); touching the cut header would SIGBUS */
	int rc = ring_covers(r->fd, &r->m);
	if (rc == 0)
		/* release: pairs with the acq_rel CAS in claim_reader */
		atomic_compare_exchange_strong_explicit(&r->m.hdr->reader, &self, 0,
							memory_order_release,
							memory_order_relaxed);
	ring_unmap(&r->m);
	close(r->fd);
	free(r);
	return rc;
}

int shmk_ring_unlink(const char *name)
{
	char buf[PATH_MAX];
	const char *path;
	int rc = ring_path(name, buf, sizeof(buf), &path);

	if (rc)
		return rc;
	return unlink(path) ? SHMK_FAIL(-errno) : 0;
}

/* ---------------------------------------------------------------- reader */

int shmk_ring_capacity(const struct shmk_ring *r, uint64_t *capacity)
{
	if (!r || !capacity)
		return SHMK_FAIL(-EINVAL);
	*capacity = r->m.cap;
	return 0;
}

int shmk_ring_head(const struct shmk_ring *r, uint64_t *head)
{
	if (!r || !head)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.head_tail] acquire: pairs with the release of head in publish() */
	*head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
	return 0;
}

int shmk_ring_tail(const struct shmk_ring *r, uint64_t *tail)
{
	if (!r || !tail)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.head_tail] acquire: pairs with the release in
	 * shmk_ring_increment_tail (another reader handle of this ring) */
	*tail = SHMK_LOAD_ACQ_U64(&r->m.hdr->tail);
	return 0;
}

int shmk_ring_increment_tail(struct shmk_ring *r, uint64_t amount)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.increment_tail.align] */
	if (amount % 8)
		return shmk_fail(SHMK_EALIGN, "ring: tail increment %llu not a multiple of 8",
				 (unsigned long long)amount);
	uint64_t tail = SHMK_LOAD_U64(&r->m.hdr->tail); /* only we store it */
	/* acquire: pairs with the release of head in publish() */
	uint64_t head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
	/* r[impl ring.reader.increment_tail.range] */
	if (tail > head || amount > head - tail)
		return shmk_fail(SHMK_ERANGE, "ring: tail %llu + %llu passes head %llu",
				 (unsigned long long)tail, (unsigned long long)amount,
				 (unsigned long long)head);
	/* release: pairs with the acquire of tail in reserve_locked() */
	atomic_store_explicit(&r->m.hdr->tail, tail + amount, memory_order_release);
	return 0;
}

int shmk_ring_read(const struct shmk_ring *r, uint64_t index, void *out, size_t size)
{
	if (!r || !out || size == 0)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.read.size] */
	if (size > SHMK_RING_MAX_MESSAGE)
		return shmk_fail(SHMK_ETOOLARGE, "ring: read of %zu bytes", size);
	size_t align = 8;
	if (size < 8)
		align = size <= 1 ? 1 : size <= 2 ? 2 : size <= 4 ? 4 : 8; /* next power of two */
	/* r[impl ring.reader.read.align] */
	if (index % align)
		return shmk_fail(SHMK_EALIGN, "ring: index %llu not aligned to %zu",
				 (unsigned long long)index, align);
	/* r[impl ring.reader.mirror] offset < cap and size <= 64 KiB stay in the mirror */
	memcpy(out, r->m.data + index % r->m.cap, size);
	return 0;
}

int shmk_ring_first_message_in(const struct shmk_ring *r, uint64_t start, uint64_t end,
			       uint64_t *tag, const void **payload, size_t *len)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.reader.first_message.align] */
	if (start % 8)
		return shmk_fail(SHMK_EALIGN, "ring: record index %llu not 8-aligned",
				 (unsigned long long)start);
	/* r[impl ring.reader.first_message.toosmall] */
	if (end < start || end - start < SHMK_RING_REC_HDR)
		return shmk_fail(SHMK_ETOOSMALL, "ring: range [%llu, %llu) holds no record header",
				 (unsigned long long)start, (unsigned long long)end);
	const uint8_t *rec = r->m.data + start % r->m.cap;
	/* Loaded once each: the records are the writers' and may lie. */
	uint64_t t = SHMK_LOAD_U64(rec);
	uint64_t n = SHMK_LOAD_U64(rec + 8);
	uint64_t room = end - start - SHMK_RING_REC_HDR;
	/* r[impl ring.reader.first_message.badlen] r[impl ring.reader.bounds]
	 * r[impl ring.record.max] */
	if (n > SHMK_RING_MAX_PAYLOAD || ((n + 7) & ~7ull) > room)
		return shmk_fail(SHMK_EBADLEN, "ring: record at %llu claims %llu bytes",
				 (unsigned long long)start, (unsigned long long)n);
	if (tag)
		*tag = t;
	if (payload)
		*payload = rec + SHMK_RING_REC_HDR;
	if (len)
		*len = (size_t)n;
	return 0;
}

/* Any registered writer alive?  Bounded: SHMK_RING_MAX_WRITERS slots. */
static int writers_alive(const struct shmk_ring_wpage *wp)
{
	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++) {
		/* acquire: pairs with the seq_cst CAS of token in claim_slot and
		 * shmk_ring_writer_close, so the last commit of a writer seen as
		 * gone is visible to the head re-check in shmk_ring_wait */
		uint64_t t = SHMK_LOAD_ACQ_U64(&wp->slots[i].token);
		if (t && shmk_token_alive(t))
			return 1;
	}
	return 0;
}

/* The header's wait point: wait.c's eventcount, announced mode.  The
 * delay point names are the ring lost wake-up hunt's. */
static inline struct shmk_wait ring_wait_point(struct shmk_ring_hdr *h)
{
	return (struct shmk_wait){ .word = &h->gen, .waiters = &h->waiters,
				   .mode = SHMK_WAIT_ANNOUNCED,
				   .park_gap = "ring.wait.gap",
				   .wake_gap = "ring.wake.gap" };
}

struct ring_waiting {
	struct shmk_ring *r;
	uint64_t index;
};

static int wait_ready(void *a)
{
	struct ring_waiting *rw = a;

	/* acquire: pairs with the release of head in publish() */
	return SHMK_LOAD_ACQ_U64(&rw->r->m.hdr->head) > rw->index ? 0 : 1;
}

/* r[impl ring.truncate.wait] before the first park and after each
 * wake-up, before the writers page is read */
static int wait_covers(void *a)
{
	struct ring_waiting *rw = a;

	return ring_covers(rw->r->fd, &rw->r->m);
}

/* r[impl ring.reader.wait.peerdead] */
static int wait_peer(void *a)
{
	struct ring_waiting *rw = a;

	/* acquire: pairs with the seq_cst fetch_add in claim_slot, which
	 * follows the token CAS that writers_alive must then see */
	if (!SHMK_LOAD_ACQ_U64(&rw->r->m.wp->registered) || writers_alive(rw->r->m.wp))
		return 1;
	/* A commit just before the last writer left still counts. */
	if (wait_ready(rw) == 0)
		return 0;
	return shmk_fail(SHMK_EPEERDEAD, "ring: no live writer");
}

/* r[impl ring.reader.wait.wake+3] r[impl ring.reader.wait.timeout]
 * r[impl reliability.peer.unblock] A record already there costs one
 * load: no clock read, no getenv.  Then wait.c spins, checks the size, looks
 * at the writers once before the first park (a ring whose writers are all
 * gone answers at once, even with a zero timeout) and every
 * SHMK_LIVENESS_MS/4 while parked: the token check is exact, so a death is
 * seen within half of it, and the period scales with the knob, so a lost
 * wake-up hunt that raises the knob sees a lost wake-up as a hang instead
 * of a slow poll. */
int shmk_ring_wait(struct shmk_ring *r, uint64_t index, int64_t timeout_ns)
{
	if (!r)
		return SHMK_FAIL(-EINVAL);
	struct ring_waiting rw = { r, index };
	struct shmk_wait w = ring_wait_point(r->m.hdr);
	struct shmk_wait_ops ops = { .ready = wait_ready, .covers = wait_covers,
				     .peer = wait_peer, .arg = &rw, .max_slice = -1,
				     .look_first = true };

	return shmk_wait_until(&w, &ops, timeout_ns);
}

int shmk_ring_read_message(struct shmk_ring *r, uint64_t *tag, void *buf, size_t buflen,
			   size_t *len, int64_t timeout_ns)
{
	if (!r || (!buf && buflen))
		return SHMK_FAIL(-EINVAL);
	uint64_t tail = SHMK_LOAD_U64(&r->m.hdr->tail);
	/* acquire: pairs with the release of head in publish() */
	uint64_t head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
	int rc;
	/* r[impl ring.reader.read_message] wait only when nothing is there */
	if (head <= tail) {
		rc = shmk_ring_wait(r, tail, timeout_ns);
		if (rc)
			return rc;
		/* acquire: pairs with the release of head in publish() */
		head = SHMK_LOAD_ACQ_U64(&r->m.hdr->head);
	}
	uint64_t t;
	const void *p;
	size_t n;
	rc = shmk_ring_first_message_in(r, tail, head, &t, &p, &n);
	if (rc)
		return rc;
	if (len)
		*len = n;
	if (n > buflen)
		return shmk_fail(SHMK_EBUFSMALL, "ring: message of %zu bytes, buffer %zu", n,
				 buflen);
	if (n)
		memcpy(buf, p, n);
	if (tag)
		*tag = t;
	/* What increment_tail would check, first_message_in already did on
	 * these same copies: tail is 8-aligned and record_len(n) <= head -
	 * tail.  So skip its second load of head (a miss on the line the
	 * writer just stored) and store directly. */
	/* release: pairs with the acquire of tail in reserve_locked() */
	atomic_store_explicit(&r->m.hdr->tail, tail + shmk_ring_record_len(n),
			      memory_order_release);
	return 0;
}

/* ---------------------------------------------------------------- writer hand-off */

struct handoff {
	uint64_t magic;
	uint64_t tag;
};

int shmk_ring_writer_new(struct shmk_ring *r, uint64_t tag, int *writer_fd, int *peer_fd)
{
	int sv[2];

	if (!r || !writer_fd || !peer_fd)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.writer.handoff] a socket end carries the file and the tag */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return SHMK_FAIL(-errno);
	struct handoff msg = { RING_CMSG_MAGIC, tag };
	struct iovec iov = { &msg, sizeof(msg) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &r->fd, sizeof(int));
	if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
		int e = errno ? errno : EIO;
		close(sv[0]);
		close(sv[1]);
		return SHMK_FAIL(-e);
	}
	/* r[impl ring.writer.peer_fd] sv[0] reports POLLHUP once every copy of sv[1] is closed */
	shutdown(sv[0], SHUT_WR);
	*peer_fd = sv[0];
	*writer_fd = sv[1];
	return 0;
}

static int claim_slot(struct shmk_ring_writer *w)
{
	struct shmk_ring_wpage *wp = w->m.wp;

	/* r[impl ring.writer.register] */
	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++) {
		uint64_t cur = SHMK_LOAD_U64(&wp->slots[i].token);
		if (cur && shmk_token_alive(cur))
			continue;
		/* seq_cst: pairs with the loads in writers_alive() */
		if (atomic_compare_exchange_strong(&wp->slots[i].token, &cur, w->token)) {
			wp->slots[i].tag = w->tag;
			atomic_fetch_add(&wp->registered, 1);
			w->slot = i;
			return 0;
		}
	}
	return shmk_fail(SHMK_EBUSY, "ring: %u live writers", SHMK_RING_MAX_WRITERS);
}

int shmk_ring_writer_open(int writer_fd, struct shmk_ring_writer **wp)
{
	struct shmk_ring_writer *w = NULL;
	struct handoff msg;
	int fd = -1, rc;
	uint64_t cap;

	if (writer_fd < 0 || !wp) {
		if (writer_fd >= 0)
			close(writer_fd);
		return SHMK_FAIL(-EINVAL);
	}
	struct iovec iov = { &msg, sizeof(msg) };
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(writer_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0) {
		rc = errno == EAGAIN ? SHMK_FAIL(-ENOTCONN) : SHMK_FAIL(-errno); /* hand-off already consumed */
		goto out;
	}
	/* Take every fd that came, whatever else is wrong, so none leaks. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int x;
			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = x;
			else
				close(x);
		}
	}
	if (n != (ssize_t)sizeof(msg) || msg.magic != RING_CMSG_MAGIC || fd < 0 ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		rc = shmk_fail(-EPROTO, "ring: not a writer hand-off");
		goto out;
	}
	struct stat st;
	rc = shmk_sys_fstat(fd, &st);
	if (!rc)
		rc = ring_check_fd(fd, &st, &cap);
	if (rc)
		goto out;
	w = calloc(1, sizeof(*w));
	if (!w) {
		rc = SHMK_FAIL(-ENOMEM);
		goto out;
	}
	rc = ring_map(fd, shmk_page_size(), cap, 1, &w->m);
	if (rc)
		goto out;
	w->fd = fd;
	w->sock = writer_fd;
	w->tag = msg.tag;
	w->token = shmk_self_token();
	rc = claim_slot(w);
	if (rc)
		goto out;
	*wp = w;
	return 0;
out:
	/* r[impl ring.create.cleanup] the writer fd is consumed on failure too */
	if (w) {
		ring_unmap(&w->m);
		free(w);
	}
	if (fd >= 0)
		close(fd);
	close(writer_fd);
	return rc;
}

int shmk_ring_writer_tag(const struct shmk_ring_writer *w, uint64_t *tag)
{
	if (!w || !tag)
		return SHMK_FAIL(-EINVAL);
	*tag = w->tag;
	return 0;
}

/* ---------------------------------------------------------------- writer */

/* r[impl ring.writer.wake+2] after publish (B): the fence, then one load
 * while the reader is busy; an announced reader is woken once (the take),
 * however many records it misses before it runs. */
static void wake_reader(struct shmk_ring_writer *w)
{
	struct shmk_wait wp = ring_wait_point(w->m.hdr);

	shmk_wait_fence();
	shmk_wait_wake(&wp);
}

static int wlock(struct shmk_ring_writer *w)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)(void *)w->m.wp->lock;
	struct timespec ts;

	/* r[impl ring.writer.lock] Uncontended: one trylock, no clock read
	 * and no getenv (shmk_liveness_ns) on the per-record path; the
	 * deadline is computed only when we must wait. */
	int e = pthread_mutex_trylock(mu);
	if (e == EBUSY) {
		int64_t until = shmk_now_ns() + shmk_liveness_ns();
		ts.tv_sec = until / 1000000000;
		ts.tv_nsec = until % 1000000000;
		e = pthread_mutex_clocklock(mu, CLOCK_MONOTONIC, &ts);
	}
	if (e == EOWNERDEAD) {
		/* r[impl ring.writer.lock.recover] the dead holder never
		 * published (head moves only at the end), so its half-written
		 * bytes lie beyond head; the head we are about to validate is
		 * the last committed one. */
		pthread_mutex_consistent(mu);
		return 0;
	}
	/* r[impl ring.writer.lock.deadline] */
	if (e == ETIMEDOUT)
		return shmk_fail(SHMK_EBUSY, "ring: writers' lock held past SHMK_LIVENESS_MS");
	return SHMK_FAIL(-e);
}

static void wunlock(struct shmk_ring_writer *w)
{
	pthread_mutex_unlock((pthread_mutex_t *)(void *)w->m.wp->lock);
}

/*
 * With the lock held: validates head and tail and checks space for a
 * record of `len` payload bytes; writes the record header and padding.
 * Returns the head to publish after, or an error having written nothing.
 */
static int reserve_locked(struct shmk_ring_writer *w, size_t len, uint64_t *head_out,
			  uint64_t *rl_out)
{
	struct shmk_ring_hdr *h = w->m.hdr;
	uint64_t cap = w->m.cap;
	uint64_t rl = shmk_ring_record_len(len);

	/* r[impl ring.writer.validate] each loaded once; the copies are used */
	uint64_t head = SHMK_LOAD_U64(&h->head); /* only writers store it, under this lock */
	/* No tail cache (as Lamport's producer keeps): tail shares head's
	 * cache line, which this load of head has just brought in, so a
	 * cached tail would save no miss and would let a hostile tail pass
	 * unchecked. */
	/* acquire: pairs with the release of tail in shmk_ring_read_message
	 * and shmk_ring_increment_tail */
	uint64_t tail = SHMK_LOAD_ACQ_U64(&h->tail);
	if (head % 8 || tail > head || head - tail > cap)
		return shmk_fail(SHMK_EINTEGRITY, "ring: head %llu tail %llu impossible",
				 (unsigned long long)head, (unsigned long long)tail);
	/* r[impl ring.writer.overflow] */
	if (head > UINT64_MAX - rl)
		return shmk_fail(SHMK_EINTEGRITY, "ring: head %llu + %llu would wrap",
				 (unsigned long long)head, (unsigned long long)rl);
	/* r[impl ring.writer.space] */
	if (head + rl - tail > cap)
		return shmk_fail(SHMK_EFULL, "ring: %llu bytes free, record needs %llu",
				 (unsigned long long)(cap - (head - tail)), (unsigned long long)rl);
	/* r[impl ring.writer.bounds] offset < cap and rl <= 64 KiB: inside ring + mirror */
	uint8_t *rec = w->m.data + head % cap;
	/* r[impl ring.record.format] r[impl ring.writer.tag] the owner's tag, never the caller's */
	memcpy(rec, &w->tag, 8);
	uint64_t n64 = len;
	memcpy(rec + 8, &n64, 8);
	memset(rec + SHMK_RING_REC_HDR + len, 0, rl - SHMK_RING_REC_HDR - len);
	*head_out = head;
	*rl_out = rl;
	return 0;
}

static void publish(struct shmk_ring_writer *w, uint64_t head, uint64_t rl)
{
	/* r[impl reliability.crash.committed] head covers only whole records */
	/* r[impl ring.writer.publish] release: pairs with the acquire of head in
	 * shmk_ring_head / shmk_ring_wait / read_message: the bytes written
	 * above are visible before the head that covers them */
	atomic_store_explicit(&w->m.hdr->head, head + rl, memory_order_release);
}

/* r[impl ring.truncate.hot-path] no size check: see ring_covers */
int shmk_ring_writev(struct shmk_ring_writer *w, const struct iovec *iov, int iovcnt)
{
	size_t len = 0;
	uint64_t head, rl;

	if (!w || iovcnt < 0 || (iovcnt && !iov))
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.writer.iov] */
	if (iovcnt > SHMK_RING_MAX_IOV)
		return shmk_fail(-EINVAL, "ring: %d segments, at most %d", iovcnt,
				 SHMK_RING_MAX_IOV);
	if (w->reserved)
		return shmk_fail(-EINVAL, "ring: a reservation is pending");
	for (int i = 0; i < iovcnt; i++) {
		/* r[impl ring.writer.toolarge] r[impl ring.record.max] */
		if (iov[i].iov_len > SHMK_RING_MAX_PAYLOAD - len)
			return shmk_fail(SHMK_ETOOLARGE, "ring: message over %u bytes",
					 SHMK_RING_MAX_PAYLOAD);
		len += iov[i].iov_len;
	}
	int rc = wlock(w);
	if (rc)
		return rc;
	SHMK_CRASH_POINT("ring.write.locked");
	rc = reserve_locked(w, len, &head, &rl);
	if (rc) {
		wunlock(w);
		return rc;
	}
	uint8_t *dst = w->m.data + head % w->m.cap + SHMK_RING_REC_HDR;
	size_t done = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len)
			memcpy(dst + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
		SHMK_CRASH_POINT("ring.write.copying");
	}
	SHMK_CRASH_POINT("ring.write.copied");
	publish(w, head, rl);
	wunlock(w);
	wake_reader(w);
	return 0;
}

int shmk_ring_write(struct shmk_ring_writer *w, const void *buf, size_t len)
{
	struct iovec iov = { (void *)(uintptr_t)buf, len };

	if (!buf && len)
		return SHMK_FAIL(-EINVAL);
	return shmk_ring_writev(w, &iov, 1);
}

int shmk_ring_reserve(struct shmk_ring_writer *w, size_t len, void **payload)
{
	uint64_t head, rl;

	if (!w || !payload)
		return SHMK_FAIL(-EINVAL);
	if (w->reserved)
		return shmk_fail(-EINVAL, "ring: a reservation is pending");
	/* r[impl ring.record.max] */
	if (len > SHMK_RING_MAX_PAYLOAD)
		return shmk_fail(SHMK_ETOOLARGE, "ring: message over %u bytes",
				 SHMK_RING_MAX_PAYLOAD);
	int rc = wlock(w);
	if (rc)
		return rc;
	rc = reserve_locked(w, len, &head, &rl);
	if (rc) {
		wunlock(w);
		return rc;
	}
	/* r[impl ring.writer.reserve] the lock stays held until commit/discard */
	w->reserved = 1;
	w->res_head = head;
	w->res_rl = rl;
	*payload = w->m.data + head % w->m.cap + SHMK_RING_REC_HDR;
	return 0;
}

int shmk_ring_commit(struct shmk_ring_writer *w)
{
	if (!w || !w->reserved)
		return SHMK_FAIL(-EINVAL);
	SHMK_CRASH_POINT("ring.commit");
	publish(w, w->res_head, w->res_rl);
	w->reserved = 0;
	wunlock(w);
	wake_reader(w);
	return 0;
}

int shmk_ring_discard(struct shmk_ring_writer *w)
{
	if (!w || !w->reserved)
		return SHMK_FAIL(-EINVAL);
	/* r[impl ring.writer.reserve] head never moved: nothing to undo */
	w->reserved = 0;
	wunlock(w);
	return 0;
}

int shmk_ring_writer_close(struct shmk_ring_writer *w)
{
	if (!w)
		return 0;
	/* r[impl ring.truncate.close] the lock, the slot and the header may
	 * all be cut: leave them (the reader's liveness check sees us gone) */
	int rc = ring_covers(w->fd, &w->m);
	if (rc == 0) {
		if (w->reserved)
			shmk_ring_discard(w);
		uint64_t self = w->token;
		/* r[impl ring.writer.register] seq_cst: pairs with the loads in writers_alive() */
		atomic_compare_exchange_strong(&w->m.wp->slots[w->slot].token, &self, 0);
		/* A reader waiting for this writer re-checks liveness now. */
		wake_reader(w);
	}
	ring_unmap(&w->m);
	close(w->fd);
	close(w->sock);
	free(w);
	return rc;
}
