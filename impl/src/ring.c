/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the Fuchsia mediated-write ring buffer (see ring.h and
 * conformance/spec/ring.md): the mapping, the validator, create, attach
 * and close, and the writer hand-off.  Reading, waiting and writing, with
 * the ordering between writer and reader, are in ring_rw.c; what both
 * files share is in ring_int.h.
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
#include "ring_int.h"

#define RING_MAX_CAPACITY (1ull << 30)
/* ring_check_fd copies a file up to this size instead of mapping it */
#define RING_COPY_MAX ((uint64_t)256 * 1024)
#define RING_CMSG_MAGIC 0x31574b4d48537277ull /* "wrSHMKW1": writer hand-off message */

/* The lock bytes must hold the platform's mutex. */
_Static_assert(sizeof(pthread_mutex_t) <= 64, "pthread_mutex_t fits the wire lock");

/* ---------------------------------------------------------------- helpers */

/*
 * Maps [header page][ring][first 64 KiB of the ring again][gap][writers
 * page] into one reserved range: one reservation, four mmaps and one munmap
 * per handle.  The reader gets the ring and the writers page read-only.
 */
static int ring_map(int fd, size_t page, uint64_t cap, int writer, struct ring_map *m)
{
	void *base;
	int rprot = writer ? PROT_READ | PROT_WRITE : PROT_READ;
	/* r[impl ring.map.guard] the gap page stays the reservation's
	 * PROT_NONE: an overrun past the mirror faults instead of landing on
	 * the writers' robust mutex */
	size_t wpat = page + (size_t)cap + SHMK_RING_MIRROR + page;
	size_t len = wpat + page;
	const struct shmk_region_part parts[] = {
		{ 0, page, 0, PROT_READ | PROT_WRITE, false },
		{ page, (size_t)cap, page, rprot, false },
		/* r[impl ring.reader.mirror] */
		{ page + (size_t)cap, SHMK_RING_MIRROR, page, rprot, false },
		/* r[impl ring.writer.lock+2] the reader never maps the writers
		 * page writable; populated as before: a writer's claim and a
		 * reader's liveness look touch it at once */
		{ wpat, page, page + cap, rprot, true },
	};

	memset(m, 0, sizeof(*m));
	int rc = shmk_region_map_parts(fd, len, parts, 4, &base);
	if (rc)
		return rc;
	m->base = base;
	m->len = len;
	m->page = page;
	m->cap = cap;
	m->mask = (cap & (cap - 1)) == 0 ? cap - 1 : 0;
	m->wp = (struct shmk_ring_wpage *)(m->base + wpat);
	m->hdr = (struct shmk_ring_hdr *)m->base;
	m->data = m->base + page;
	/* r[impl common.wait.asym] before any wait of ours announces */
	shmk_wait_join(&m->hdr->waiters, false);
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
	/* r[impl ring.layout.version] version 1 too: its peers park without
	 * membarrier */
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
 * Validates an open ring file through a view of all of it (sized by st,
 * the caller's fstat, never by the header): a heap copy when it is small,
 * else a read-only mapping; on success *cap is the capacity to map.
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
	/* A small file is validated from a heap copy: one pread costs less
	 * than a map, two faults and an unmap, whose TLB flush was the largest
	 * part of a writer open on the VMs measured (bench/cycle/ring.c).  A
	 * short read means the file shrank since the fstat: as a touch of the
	 * view would have faulted, nothing is trusted. */
	if (size >= page && size <= RING_COPY_MAX) {
		void *copy = malloc((size_t)size);
		if (!copy)
			return SHMK_FAIL(-ENOMEM);
		ssize_t n = pread(fd, copy, (size_t)size, 0);
		if (n < 0)
			rc = SHMK_FAIL(-errno);
		else if ((uint64_t)n != size)
			rc = shmk_fail(SHMK_ETRUNCATED, "ring: file shrank under the check");
		else
			rc = shmk_ring_validate(copy, (size_t)size, size, &ri);
		free(copy);
		if (!rc)
			*cap_out = ri.capacity;
		return rc;
	}
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

/* r[impl ring.truncate.check] */
int shmk_ring_check(const struct shmk_ring *r)
{
	return r ? ring_covers(r->fd, &r->m) : SHMK_FAIL(-EINVAL);
}

int shmk_ring_writer_check(const struct shmk_ring_writer *w)
{
	if (!w)
		return SHMK_FAIL(-EINVAL);
	return w->mediated ? 0 : ring_covers(w->fd, &w->m);
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
			/* r[impl ring.reader.lazy_tail] the role's tail, loaded
			 * once (a dead reader's unpublished records come again);
			 * from here on only this handle stores it */
			r->rtail = r->ptail = r->rhead = SHMK_LOAD_U64(&r->m.hdr->tail);
			r->lazy = ring_lazy_bytes(r->m.cap);
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
	 * the reader's own stays read-only (sealing the reader's view with
	 * mprotect instead cost more at close than this map and unmap). */
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
	/* r[impl ring.layout.header] r[impl ring.layout.version] */
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
	/* r[impl ring.mediated.close] the thread appends through r's mapping
	 * and the owner still holds the mediator's handle: neither may be
	 * freed under the other */
	if (r->med)
		return shmk_fail(SHMK_EBUSY, "ring: stop its mediator before closing it");
	uint64_t self = r->token;
	/* r[impl ring.truncate.close] a cut file keeps our token (a dead
	 * token is reclaimable); touching the cut header would SIGBUS */
	int rc = ring_covers(r->fd, &r->m);
	/* r[impl ring.reader.lazy_tail] what we read is free for the writers
	 * and not read again by the next reader; only while the role is still
	 * ours (relaxed: only our own CAS put the token there, and a handle
	 * whose role was taken over, a forked copy say, must not store over
	 * the live reader's tail) */
	if (rc == 0 && r->token &&
	    atomic_load_explicit(&r->m.hdr->reader, memory_order_relaxed) == self)
		ring_publish_tail(r);
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

#ifdef SHMK_TEST_BUILD
/* Fuzzers rewrite the header between inputs as a fresh ring: the reader
 * takes its tail from it again, as claim_reader does. */
void shmk_ring__reader_reload(struct shmk_ring *r)
{
	r->rtail = r->ptail = r->rhead = SHMK_LOAD_U64(&r->m.hdr->tail);
}
#endif

int shmk_ring_unlink(const char *name)
{
	char buf[PATH_MAX];
	const char *path;
	int rc = ring_path(name, buf, sizeof(buf), &path);

	if (rc)
		return rc;
	return unlink(path) ? SHMK_FAIL(-errno) : 0;
}

/* ---------------------------------------------------------------- writer hand-off */

int shmk_ring__take_fds(struct msghdr *mh, int keep_first)
{
	int fd = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int x;
			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (keep_first && fd < 0)
				fd = x;
			else
				close(x);
		}
	}
	return fd;
}

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

int shmk_ring__claim_slot(struct shmk_ring_writer *w)
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
			/* seq_cst: pairs with the acquire load in wait_peer, and
			 * with the relaxed load in reserve_locked (ring.writer.sole+6),
			 * which our first lock orders after this */
			atomic_fetch_add(&wp->registered, 1);
			w->slot = i;
			w->slot_held = 1;
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
	fd = shmk_ring__take_fds(&mh, 1);
	/* r[impl ring.mediated.mode] a mediated writer's hand-off carries no
	 * descriptor: the handle is the socket alone */
	if (n == (ssize_t)sizeof(msg) && msg.magic == SHMK_RING_MHANDOFF && fd < 0 &&
	    !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		w = calloc(1, sizeof(*w));
		if (!w) {
			rc = SHMK_FAIL(-ENOMEM);
			goto out;
		}
		w->fd = -1;
		w->sock = writer_fd;
		w->tag = msg.tag;
		w->mediated = 1;
		*wp = w;
		return 0;
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
	w->fork_gen = shmk_ring__fork_gen(); /* r[impl ring.writer.sole+6] */
	rc = shmk_ring__claim_slot(w);
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

int shmk_ring__writer_local(struct shmk_ring *r, struct shmk_ring_writer **wp)
{
	struct shmk_ring_writer *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return SHMK_FAIL(-ENOMEM);
	w->sock = -1;
	w->token = shmk_self_token();
	w->fork_gen = shmk_ring__fork_gen(); /* r[impl ring.writer.sole+6] */
	w->fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
	if (w->fd < 0) {
		rc = SHMK_FAIL(-errno);
		free(w);
		return rc;
	}
	rc = ring_map(w->fd, r->m.page, r->m.cap, 1, &w->m);
	if (rc) {
		close(w->fd);
		free(w);
		return rc;
	}
	*wp = w;
	return 0;
}

int shmk_ring_writer_tag(const struct shmk_ring_writer *w, uint64_t *tag)
{
	if (!w || !tag)
		return SHMK_FAIL(-EINVAL);
	*tag = w->tag;
	return 0;
}
