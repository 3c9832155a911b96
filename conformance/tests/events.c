/* SPDX-License-Identifier: MIT */
/*
 * Tests of conformance/spec/events.md (impl/src/events.c): the events
 * region's layout, open/init protocol, validation, roles, SPSC and MPSC
 * traffic between real processes, zero-copy, blocking, crash recovery and
 * hostile bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "shmkit/events.h"
#include "support.h"

/* ------------------------------------------------------------ helpers */

#define LAYOUT(r) ((struct shmk_events_layout *)shmk_events_as_ptr((r), NULL))

static char *new_path(void)
{
	static char buf[PATH_MAX];

	return (char *)h_unique_path(buf, sizeof(buf), "ev");
}

static struct shmk_events *must_open(const char *path, const struct shmk_events_opts *o)
{
	struct shmk_events *r = NULL;
	int rc = shmk_events_open_path_with(path, o, &r);

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return r;
}

/* Message: u32 producer, u32 seq, u32 crc, then payload; the crc covers the
 * producer, the sequence and the payload. */
static size_t make_msg(uint8_t *buf, uint32_t prod, uint32_t seq)
{
	size_t plen = (seq * 7u + prod * 13u) % 200u;

	memcpy(buf, &prod, 4);
	memcpy(buf + 4, &seq, 4);
	for (size_t i = 0; i < plen; i++)
		buf[12 + i] = (uint8_t)(seq + i * 3 + prod);
	uint32_t crc = t_crc32(0, buf, 8);
	crc = t_crc32(crc, buf + 12, plen);
	memcpy(buf + 8, &crc, 4);
	return 12 + plen;
}

/* 0 ok, -1 corrupt; *prod, *seq out */
static int check_msg(const uint8_t *buf, size_t len, uint32_t *prod, uint32_t *seq)
{
	uint32_t crc;

	if (len < 12)
		return -1;
	memcpy(prod, buf, 4);
	memcpy(seq, buf + 4, 4);
	memcpy(&crc, buf + 8, 4);
	uint32_t c = t_crc32(0, buf, 8);
	c = t_crc32(c, buf + 12, len - 12);
	if (c != crc || len != 12 + (*seq * 7u + *prod * 13u) % 200u)
		return -1;
	return 0;
}

/* Forks a child that runs fn(arg) and exits with its return value. */
static pid_t fork_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

struct open_job {
	const char *path;
	struct shmk_events_opts o;
	int rc;		/* filled through a shared page */
};

static int open_job_fn(void *a)
{
	struct open_job *j = a;
	struct shmk_events *r = NULL;

	j->rc = shmk_events_open_path_with(j->path, &j->o, &r);
	shmk_events_close(r);
	return 0;
}

/* Opens path in a separate process and returns what open returned there. */
static int open_in_child(const char *path, const struct shmk_events_opts *o)
{
	struct open_job *j = t_shared_alloc(sizeof(*j));

	j->path = path;
	j->o = o ? *o : (struct shmk_events_opts){ 0 };
	j->rc = 12345;
	pid_t pid = fork_child(open_job_fn, j);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	int rc = j->rc;
	t_shared_free(j, sizeof(*j));
	return rc;
}

/* ------------------------------------------------------------ layout */

static void layout(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	size_t len;
	uint8_t *b = shmk_events_as_ptr(r, &len);
	uint32_t u32;

	memcpy(&u32, b, 4);
	CU_ASSERT_EQUAL(u32, 0x53554249u);
	CU_ASSERT_EQUAL(b[4] | b[5] << 8, 1); /* version, host-endian little */
	CU_ASSERT_EQUAL(b[6], 1);		/* kind */
	memcpy(&u32, b + 8, 4);
	CU_ASSERT_EQUAL(u32, 0);		/* capabilities */
	memcpy(&u32, b + 12, 4);
	CU_ASSERT_EQUAL(u32, 582144u);
	memcpy(&u32, b + 16, 4);
	CU_ASSERT_EQUAL(u32, 2);		/* initialized */
	uint64_t creator;
	memcpy(&creator, b + 24, 8);
	CU_ASSERT_EQUAL(creator, shmk_self_token());
	CU_ASSERT_EQUAL(len, 582144u);
	CU_ASSERT_EQUAL((uintptr_t)b % 64, 0);

	/* free list: 0 -> 1 -> ... -> 2047 -> NIL, generation 0 */
	struct shmk_events_layout *l = (void *)b;
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), 0);
	uint32_t i = 0, n = 0;
	while (i != SHMK_EVENTS_NIL && n <= SHMK_EVENTS_SLOTS) {
		i = atomic_load(&l->slots[i].next_free);
		n++;
	}
	CU_ASSERT_EQUAL(n, SHMK_EVENTS_SLOTS);

	/* hot fields on their own lines */
	CU_ASSERT(offsetof(struct shmk_events_layout, spsc.head) % 64 == 0);
	CU_ASSERT(offsetof(struct shmk_events_layout, spsc.tail) % 64 == 0);
	CU_ASSERT(offsetof(struct shmk_events_layout, spsc.head) !=
		  offsetof(struct shmk_events_layout, spsc.tail));
	CU_ASSERT(offsetof(struct shmk_events_layout, mpsc.head) -
			  offsetof(struct shmk_events_layout, mpsc.tail) >= 64);
	CU_ASSERT(offsetof(struct shmk_events_layout, mpsc.producers[1]) -
			  offsetof(struct shmk_events_layout, mpsc.producers[0]) == 64);
	CU_ASSERT_EQUAL(offsetof(struct shmk_events_layout, mpsc), 4416);
	CU_ASSERT_EQUAL(offsetof(struct shmk_events_layout, slots), 25088);
	shmk_events_close(r);

	/* with the wake section */
	p = new_path();
	struct shmk_events_opts o = { .blocking = true };
	r = must_open(p, &o);
	b = shmk_events_as_ptr(r, &len);
	memcpy(&u32, b + 8, 4);
	CU_ASSERT_EQUAL(u32, SHMK_EVENTS_CAP_WAKE);
	memcpy(&u32, b + 12, 4);
	CU_ASSERT_EQUAL(u32, 582400u);
	CU_ASSERT_EQUAL(len, 582400u);
	struct stat st;
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 582400);
	shmk_events_close(r);
}
H_REGISTER(layout, 20, "events.layout.wire", "events.layout.wake-section", "events.layout.hot-lines", "events.pool.freelist", "events.init.creator-token");

/* ------------------------------------------------------------ describe */

static void describe_body(void)
{
	struct shmk_events_opts o = { .blocking = true, .counter_start = UINT64_MAX - 1 };
	struct shmk_events *r = must_open(new_path(), &o);
	struct shmk_events_tx *tx, *prod;
	struct shmk_events_rx *rx, *cons;
	struct shmk_events_info ei;
	uint64_t self = shmk_self_token();
	size_t len;
	void *b = shmk_events_as_ptr(r, &len);

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &prod, &cons), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "abc", 3, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(prod, "x", 1, NULL), 0);

	CU_ASSERT_EQUAL_FATAL(shmk_events_describe(b, len, &ei), 0);
	CU_ASSERT(ei.complete);
	CU_ASSERT_EQUAL(ei.magic, SHMK_EVENTS_MAGIC);
	CU_ASSERT_EQUAL(ei.version, 1);
	CU_ASSERT_EQUAL(ei.kind, SHMK_EVENTS_KIND);
	CU_ASSERT_EQUAL(ei.capabilities, SHMK_EVENTS_CAP_WAKE);
	CU_ASSERT_EQUAL(ei.layout_bytes, 582400u);
	CU_ASSERT_EQUAL(ei.initialized, SHMK_EVENTS_INIT_READY);
	CU_ASSERT_EQUAL(ei.creator, self);
	CU_ASSERT_EQUAL(ei.counter_start, UINT64_MAX - 1);
	/* the counters wrapped past UINT64_MAX: depth is still the count */
	CU_ASSERT_EQUAL(ei.spsc.depth, 3);
	CU_ASSERT_EQUAL(ei.spsc.tail - ei.spsc.head, 3);
	CU_ASSERT_FALSE(ei.spsc.integrity);
	CU_ASSERT_EQUAL(ei.spsc.role_a, self);	/* the sender claimed on first use */
	CU_ASSERT_EQUAL(ei.spsc.role_b, 0);	/* the receiver never did */
	CU_ASSERT_EQUAL(ei.mpsc.depth, 1);
	CU_ASSERT_EQUAL(ei.mpsc.role_a, 0);
	int rows = 0, row = -1;
	for (int i = 0; i < (int)SHMK_EVENTS_PRODUCERS; i++)
		if (ei.producers[i].token) {
			rows++;
			row = i;
			CU_ASSERT_EQUAL(ei.producers[i].token, self);
			CU_ASSERT_FALSE(ei.producers[i].claiming);
		}
	CU_ASSERT_EQUAL_FATAL(rows, 1);
	CU_ASSERT_EQUAL(ei.pool_state, SHMK_EVENTS_POOL_OK);
	CU_ASSERT(ei.pool_held >= 4);	/* the four messages' slots */
	CU_ASSERT_EQUAL(ei.pool_free + ei.pool_held, SHMK_EVENTS_SLOTS);
	CU_ASSERT(ei.has_wake);

	/* the row records the published position, claiming nothing now */
	CU_ASSERT(ei.producers[row].recorded);
	CU_ASSERT_EQUAL(ei.producers[row].intent, ei.mpsc.tail - 1);
	/* a producer that claimed a position and has not published it (the
	 * cell's sequence still equals the position) is claiming */
	struct shmk_events_layout *l = LAYOUT(r);
	uint64_t pos = ei.mpsc.tail;
	struct shmk_events_mcell *cell = &l->mpsc.cells[pos & (SHMK_EVENTS_QUEUE_CAP - 1)];
	CU_ASSERT_EQUAL_FATAL(atomic_load(&cell->seq), pos);
	atomic_store(&l->mpsc.producers[row].intent, pos);
	atomic_store(&l->mpsc.tail.v, pos + 1);
	CU_ASSERT_EQUAL(shmk_events_describe(b, len, &ei), 0);
	CU_ASSERT(ei.producers[row].claiming);
	CU_ASSERT_EQUAL(ei.producers[row].intent, pos);
	CU_ASSERT_EQUAL(ei.mpsc.depth, 2);
	/* "claiming nothing" (position + 2^63) near the top of the range */
	atomic_store(&l->mpsc.producers[row].intent, pos + SHMK_EVENTS_INTENT_NONE);
	CU_ASSERT_EQUAL(shmk_events_describe(b, len, &ei), 0);
	CU_ASSERT_FALSE(ei.producers[row].recorded);
	CU_ASSERT_FALSE(ei.producers[row].claiming);
	atomic_store(&l->mpsc.tail.v, pos);
	atomic_store(&l->mpsc.producers[row].intent, pos - 1);

	/* damage, on a private copy: impossible indices, a cycled and a wild
	 * free list are reported, never followed */
	struct shmk_events_layout *c = aligned_alloc(64, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memcpy(c, b, len);
	uint32_t h = ei.free_head;
	atomic_store(&c->spsc.tail.v, ei.spsc.head + 5000);
	atomic_store(&c->slots[h].next_free, h);
	CU_ASSERT_EQUAL(shmk_events_describe(c, len, &ei), 0);
	CU_ASSERT(ei.spsc.integrity);
	CU_ASSERT_EQUAL(ei.pool_state, SHMK_EVENTS_POOL_CYCLE);
	CU_ASSERT_EQUAL(ei.pool_bad_slot, h);
	atomic_store(&c->slots[h].next_free, SHMK_EVENTS_SLOTS + 7);
	CU_ASSERT_EQUAL(shmk_events_describe(c, len, &ei), 0);
	CU_ASSERT_EQUAL(ei.pool_state, SHMK_EVENTS_POOL_RANGE);
	CU_ASSERT_EQUAL(ei.pool_bad_slot, SHMK_EVENTS_SLOTS + 7);

	/* not initialised: the validator's code, and the header still read */
	atomic_store(&c->hdr.initialized, SHMK_EVENTS_INIT_BUSY);
	CU_ASSERT_EQUAL(shmk_events_describe(c, len, &ei), SHMK_ENOTINIT);
	CU_ASSERT_FALSE(ei.complete);
	CU_ASSERT_EQUAL(ei.initialized, SHMK_EVENTS_INIT_BUSY);
	CU_ASSERT_EQUAL(ei.creator, self);
	CU_ASSERT_EQUAL(ei.spsc.depth, 0);
	CU_ASSERT_EQUAL(shmk_events_describe(c, 10, &ei), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(ei.creator, 0);
	CU_ASSERT_EQUAL(shmk_events_describe(c, len, NULL), -EINVAL);
	free(c);

	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_tx_close(prod);
	shmk_events_rx_close(cons);
	shmk_events_close(r);
}

static void describe(void)
{
	isolate(describe_body, 20);
}
H_REGISTER(describe, 0, "events.describe.info");

/* ------------------------------------------------------------ open race */

#define RACERS 6

struct race {
	const char *path;
	struct h_barrier *bar;
	int rc[RACERS];
	uint64_t me[RACERS], creator[RACERS];
	uint8_t hdr[RACERS][16];
	uint32_t freecount[RACERS];
};

static struct race *g_race;
static int g_racer;

static int racer(void *a)
{
	struct race *rc = g_race;
	int i = g_racer;
	struct shmk_events *r = NULL;

	(void)a;
	if (h_barrier_wait(rc->bar, 20))
		return 3;
	rc->rc[i] = shmk_events_open_path(rc->path, &r);
	if (rc->rc[i])
		return 0;
	struct shmk_events_layout *l = LAYOUT(r);
	rc->me[i] = shmk_self_token();
	rc->creator[i] = atomic_load(&l->hdr.creator);
	memcpy(rc->hdr[i], &l->hdr.v1, 16);
	shmk_events_close(r);
	return 0;
}

static void open_race(void)
{
	for (int round = 0; round < 5; round++) {
		struct race *rc = t_shared_alloc(sizeof(*rc));
		pid_t pids[RACERS];

		g_race = rc;
		rc->path = new_path();
		rc->bar = h_barrier_new(RACERS);
		for (int i = 0; i < RACERS; i++) {
			g_racer = i;
			pids[i] = fork_child(racer, NULL);
		}
		for (int i = 0; i < RACERS; i++)
			CU_ASSERT_EQUAL(h_wait(pids[i], 30), 0);
		int inits = 0;
		for (int i = 0; i < RACERS; i++) {
			CU_ASSERT_EQUAL(rc->rc[i], 0);
			CU_ASSERT_EQUAL(rc->creator[i], rc->creator[0]);
			CU_ASSERT_EQUAL(memcmp(rc->hdr[i], rc->hdr[0], 16), 0);
			inits += rc->me[i] == rc->creator[i];
		}
		CU_ASSERT_EQUAL(inits, 1);
		struct stat st;
		CU_ASSERT_EQUAL(stat(rc->path, &st), 0);
		CU_ASSERT_EQUAL(st.st_size, 582144);
		h_barrier_free(rc->bar);
		t_shared_free(rc, sizeof(*rc));
	}
}
H_REGISTER(open_race, 60, "events.init.once", "events.init.lock", "events.init.publish", "events.open.reserve");

/* ------------------------------------------------------------ names, mode */

static void names(void)
{
	char name[128];
	struct shmk_events *r = NULL;

	h_unique_shm_name(name, sizeof(name));
	CU_ASSERT_EQUAL_FATAL(shmk_events_open(name, &r), 0);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/dev/shm/%s", name + (name[0] == '/'));
	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	/* joining by the same name sees the same region */
	struct shmk_events *r2 = NULL;
	CU_ASSERT_EQUAL(open_in_child(path, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_open(name, &r2), 0);
	shmk_events_close(r2);
	shmk_events_close(r);
	unlink(path);

	/* the dir option */
	struct shmk_events_opts o = { .dir = h_tmpdir() };
	CU_ASSERT_EQUAL(shmk_events_open_with("plain-name", &o, &r), 0);
	snprintf(path, sizeof(path), "%s/plain-name", h_tmpdir());
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	shmk_events_close(r);

	const char *bad[] = { "", "/", "a/b", ".", "..", "/x/y" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(shmk_events_open_with(bad[i], &o, &r), -EINVAL);

	/* an existing file with a wider mode is refused */
	char *p = new_path();
	int fd = open(p, O_CREAT | O_EXCL | O_RDWR, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(fchmod(fd, 0666), 0);
	close(fd);
	CU_ASSERT_EQUAL(open_in_child(p, NULL), SHMK_EUNSAFE);
	/* unless the caller asks for that mode */
	struct shmk_events_opts wide = { .mode = 0666 };
	CU_ASSERT_EQUAL(open_in_child(p, &wide), 0);
}
H_REGISTER(names, 20, "events.open.default-dir", "events.open.name", "events.open.mode");

/* ------------------------------------------------------------ joiner errors */

static struct shmk_events_header *map_hdr(const char *path, int *fd)
{
	*fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(*fd >= 0);
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	CU_ASSERT_FATAL(p != MAP_FAILED);
	return p;
}

static void unmap_hdr(struct shmk_events_header *h, int fd)
{
	munmap(h, 4096);
	close(fd);
}

/* Creates a region, applies `corrupt` to its header, returns its path. */
static char *corrupted(void (*corrupt)(struct shmk_events_header *))
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	shmk_events_close(r);
	int fd;
	struct shmk_events_header *h = map_hdr(p, &fd);
	corrupt(h);
	unmap_hdr(h, fd);
	return p;
}

static void c_magic(struct shmk_events_header *h) { h->v1.magic = 0x49425553; }
static void c_version(struct shmk_events_header *h) { h->v1.version = 2; }
static void c_kind(struct shmk_events_header *h) { h->v1.flags = 2; }
static void c_caps(struct shmk_events_header *h) { h->v1.capabilities = 0x80; }
static void c_big(struct shmk_events_header *h) { h->v1.layout_bytes = 1u << 30; }
static void c_odd(struct shmk_events_header *h) { h->v1.layout_bytes = 4096; }
static void c_init7(struct shmk_events_header *h) { h->initialized = 7; }

static void joiners(void)
{
	struct shmk_events_opts fast = { .init_timeout_ns = 300 * 1000 * 1000 };

	CU_ASSERT_EQUAL(open_in_child(corrupted(c_magic), NULL), SHMK_EBADMAGIC);
	CU_ASSERT_EQUAL(open_in_child(corrupted(c_version), NULL), SHMK_EVERSION);
	CU_ASSERT_EQUAL(open_in_child(corrupted(c_kind), NULL), SHMK_EINCOMPAT);
	CU_ASSERT_EQUAL(open_in_child(corrupted(c_caps), NULL), SHMK_EINCOMPAT);
	CU_ASSERT_EQUAL(open_in_child(corrupted(c_big), NULL), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(open_in_child(corrupted(c_odd), NULL), SHMK_ELAYOUT);
	CU_ASSERT_EQUAL(open_in_child(corrupted(c_init7), &fast), SHMK_ELAYOUT);

	/* missing capability: region without the wake section */
	char *p = new_path();
	shmk_events_close(must_open(p, NULL));
	struct shmk_events_opts blk = { .blocking = true };
	CU_ASSERT_EQUAL(open_in_child(p, &blk), SHMK_EINCOMPAT);
	struct shmk_events_opts req = { .required_caps = 0x4 };
	CU_ASSERT_EQUAL(open_in_child(p, &req), SHMK_EINCOMPAT);
	CU_ASSERT_EQUAL(open_in_child(p, NULL), 0);

	/* short files */
	p = new_path();
	int fd = open(p, O_CREAT | O_EXCL | O_RDWR, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "0123456789", 10), 10);
	close(fd);
	CU_ASSERT_EQUAL(open_in_child(p, &fast), SHMK_ETOOSMALL);
	p = new_path();
	fd = open(p, O_CREAT | O_EXCL | O_RDWR, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 4096), 0);
	close(fd);
	CU_ASSERT_EQUAL(open_in_child(p, &fast), SHMK_ETOOSMALL);

	/* the validator itself */
	static _Alignas(64) uint8_t buf[8192];
	struct shmk_events *r = must_open(new_path(), NULL);
	memcpy(buf, shmk_events_as_ptr(r, NULL), sizeof(buf));
	shmk_events_close(r);
	((struct shmk_events_header *)buf)->v1.layout_bytes = 4096;
	CU_ASSERT_EQUAL(shmk_events_validate(buf + 8, 4096, NULL), SHMK_EMISALIGNED);
	CU_ASSERT_EQUAL(shmk_events_validate(buf, 32, NULL), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(shmk_events_validate(buf, 4096, NULL), SHMK_ELAYOUT);
	((struct shmk_events_header *)buf)->initialized = 1;
	CU_ASSERT_EQUAL(shmk_events_validate(buf, 4096, NULL), SHMK_ENOTINIT);
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(shmk_events_validate(buf, 4096, NULL), SHMK_ENOTINIT);
}
H_REGISTER(joiners, 60, "events.validate.aligned", "events.validate.short", "events.validate.initialized", "events.validate.magic", "events.validate.version", "events.validate.kind", "events.validate.caps", "events.validate.layout-bytes");

/* ------------------------------------------------------------ traffic */

struct traffic {
	const char *path;
	int mpsc;
	uint32_t prod;
	uint32_t count;
	int blocking;
};

static int sender(void *a)
{
	struct traffic *t = a;
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];

	if (shmk_events_open_path(t->path, &r))
		return 10;
	int rc = t->mpsc ? shmk_events_split_mpsc(r, &tx, &rx) : shmk_events_split_spsc(r, &tx, &rx);
	if (rc)
		return 11;
	shmk_events_rx_close(rx);
	shmk_events_close(r);	/* the handle keeps the mapping */
	for (uint32_t s = 0; s < t->count; s++) {
		size_t n = make_msg(buf, t->prod, s);
		if (t->blocking)
			rc = shmk_events_send(tx, buf, n, 20LL * 1000000000, NULL);
		else
			while ((rc = shmk_events_try_send(tx, buf, n, NULL)) == SHMK_EFULL)
				sched_yield();
		if (rc)
			return 12;
	}
	shmk_events_tx_close(tx);
	return 0;
}

/* Receives `total` messages, checking order per producer; returns the
 * number of problems. */
static int receive_all(struct shmk_events_rx *rx, uint32_t nprod, uint32_t per, int blocking)
{
	uint32_t next[16] = { 0 };
	uint8_t buf[256];
	int bad = 0;

	for (uint64_t got = 0; got < (uint64_t)nprod * per;) {
		size_t n;
		int rc = blocking ? shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL)
				  : shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL);
		if (rc == SHMK_EEMPTY) {
			sched_yield();
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t p, s;
		if (check_msg(buf, n, &p, &s) || p >= nprod || s != next[p]) {
			bad++;
			if (p < nprod)
				next[p] = s + 1;
		} else {
			next[p]++;
		}
		got++;
	}
	return bad;
}

static void spsc_traffic(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	/* full and empty, in one process first */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, make_msg(buf, 0, i), NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, buf, 1, NULL), SHMK_EFULL);
	CU_ASSERT_EQUAL(receive_all(rx, 1, SHMK_EVENTS_QUEUE_CAP, 0), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx);

	/* then between processes */
	struct traffic t = { .path = p, .prod = 0, .count = 20000 };
	pid_t pid = fork_child(sender, &t);
	CU_ASSERT_EQUAL(receive_all(rx, 1, t.count, 0), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(spsc_traffic, 60, "events.spsc.fifo", "events.spsc.cached-index", "events.queue.full-empty");

static void mpsc_traffic_run(uint64_t start)
{
	char *p = new_path();
	struct shmk_events_opts o = { .blocking = true, .counter_start = start };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	enum { NP = 4, PER = 5000 };
	struct traffic t[NP];
	pid_t pids[NP];

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	for (uint32_t i = 0; i < NP; i++) {
		t[i] = (struct traffic){ .path = p, .mpsc = 1, .prod = i, .count = PER,
					 .blocking = (int)(i & 1) };
		pids[i] = fork_child(sender, &t[i]);
	}
	CU_ASSERT_EQUAL(receive_all(rx, NP, PER, 1), 0);
	for (int i = 0; i < NP; i++)
		CU_ASSERT_EQUAL(h_wait(pids[i], 60), 0);
	uint8_t buf[256];
	size_t n;
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->mpsc.head.v), start + (uint64_t)NP * PER);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 0);
	/* every producer row was released on close */
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++)
		CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->mpsc.producers[i].token), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

static void mpsc_traffic(void)
{
	mpsc_traffic_run(0);
}
H_REGISTER(mpsc_traffic, 90, "events.mpsc.vyukov", "events.mpsc.order", "events.mpsc.producer-table");

static void wrap(void)
{
	/* SPSC across the u64 wrap */
	uint64_t start = UINT64_MAX - 3000;
	char *p = new_path();
	struct shmk_events_opts o = { .counter_start = start };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	CU_ASSERT_EQUAL(LAYOUT(r)->hdr.counter_start, start);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	struct traffic t = { .path = p, .count = 8000 };
	pid_t pid = fork_child(sender, &t);
	CU_ASSERT_EQUAL(receive_all(rx, 1, t.count, 0), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->spsc.head.v), start + 8000); /* wrapped */
	CU_ASSERT(atomic_load(&LAYOUT(r)->spsc.head.v) < 8000);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	/* MPSC across the wrap */
	mpsc_traffic_run(UINT64_MAX - 7000);
}
H_REGISTER(wrap, 90, "events.queue.counter-start");

/* ------------------------------------------------------------ sizes */

static void sizes(void)
{
	struct shmk_events *r = must_open(new_path(), NULL);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_sizes sz = { 0, 0 };
	uint8_t big[300] = { 0 }, small[8];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, big, 257, &sz), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(sz.a, 256);
	CU_ASSERT_EQUAL(sz.b, 257);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, big, sizeof(big), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, big, 256, NULL), 0);
	memset(big, 7, 40);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, big, 40, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, big, sizeof(big), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 256);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, small, sizeof(small), &n, &sz), SHMK_EBUFSMALL);
	CU_ASSERT_EQUAL(sz.a, 40);
	CU_ASSERT_EQUAL(sz.b, 8);
	/* still at the head */
	memset(big, 0, sizeof(big));
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, big, sizeof(big), &n, &sz), 0);
	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT_EQUAL(big[39], 7);
	/* no free slot: EFULL too */
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS];
	for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &all[i]), 0);
	struct shmk_events_view one;
	CU_ASSERT_EQUAL(shmk_events_reserve(tx, &one), SHMK_EFULL);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "z", 1, NULL), SHMK_EFULL);
	for (uint32_t i = 0; i < SHMK_EVENTS_SLOTS; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_cancel(tx, &all[i]), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "z", 1, NULL), 0);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(sizes, 20, "events.queue.full-empty", "events.send.toolarge", "events.recv.bufsmall");

/* ------------------------------------------------------------ zero copy */

static const char *g_zc_path;

static int zc_sender(void *a)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	(void)a;
	if (shmk_events_open_path(g_zc_path, &r) || shmk_events_split_mpsc(r, &tx, &rx))
		return 10;
	shmk_events_rx_close(rx);
	for (uint32_t s = 0; s < 3000; s++) {
		struct shmk_events_view v;
		int rc;
		while ((rc = shmk_events_reserve(tx, &v)) == SHMK_EFULL)
			sched_yield();
		if (rc || v.len != 256)
			return 11;
		size_t n = make_msg(v.data, 9, s);
		while ((rc = shmk_events_publish(tx, &v, n, NULL)) == SHMK_EFULL)
			sched_yield();
		if (rc || v.data)
			return 12;
	}
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	return 0;
}

static void zerocopy(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view a, b, v;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	/* two reservations are two distinct, invisible slots */
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &a), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &b), 0);
	CU_ASSERT_NOT_EQUAL(a.slot, b.slot);
	CU_ASSERT_EQUAL(shmk_events_recv_view(rx, &v), SHMK_EEMPTY);
	memcpy(b.data, "hello", 5);
	CU_ASSERT_EQUAL(shmk_events_publish(tx, &b, 5, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(rx, &v), 0);
	CU_ASSERT_EQUAL(v.len, 5);
	CU_ASSERT_EQUAL(memcmp(v.data, "hello", 5), 0);
	CU_ASSERT_EQUAL(v.slot, b.slot);
	CU_ASSERT_EQUAL(shmk_events_recv_view(rx, &b), SHMK_EEMPTY); /* left the queue */
	/* while lent, the slot is not handed out again */
	struct shmk_events_view c;
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &c), 0);
	CU_ASSERT_NOT_EQUAL(c.slot, v.slot);
	CU_ASSERT_EQUAL(shmk_events_cancel(tx, &c), 0);
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	/* publish on a full queue keeps the reservation */
	uint8_t buf[8] = { 1 };
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, 1, NULL), 0);
	memcpy(a.data, "kept", 4);
	CU_ASSERT_EQUAL(shmk_events_publish(tx, &a, 4, NULL), SHMK_EFULL);
	CU_ASSERT_PTR_NOT_NULL(a.data);
	size_t n;
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_publish(tx, &a, 4, NULL), 0);
	for (uint32_t i = 1; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(rx, &v), 0);
	CU_ASSERT_EQUAL(memcmp(v.data, "kept", 4), 0);
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);

	/* between processes, over the MPSC queue */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	g_zc_path = p;
	pid_t pid = fork_child(zc_sender, NULL);
	uint32_t next = 0;
	while (next < 3000) {
		int rc = shmk_events_recv_view(rx, &v);
		if (rc == SHMK_EEMPTY) {
			sched_yield();
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t pr, s;
		CU_ASSERT_EQUAL(check_msg(v.data, v.len, &pr, &s), 0);
		CU_ASSERT_EQUAL(pr, 9);
		CU_ASSERT_EQUAL(s, next);
		next = s + 1;
		CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	}
	CU_ASSERT_EQUAL(h_wait(pid, 60), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(zerocopy, 60, "events.zerocopy.reserve", "events.zerocopy.publish", "events.zerocopy.view");

/* ------------------------------------------------------------ blocking */

static const char *g_blk_path;

/* Waits (bounded) until the receiver is parked, then sends one message. */
static int blk_sender(void *a)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_opts o = { .blocking = true };

	(void)a;
	if (shmk_events_open_path_with(g_blk_path, &o, &r) || shmk_events_split_spsc(r, &tx, &rx))
		return 10;
	struct shmk_events_wake *w =
		(void *)((uint8_t *)shmk_events_as_ptr(r, NULL) + SHMK_EVENTS_BASE_BYTES);
	int64_t end = shmk_now_ns() + 20LL * 1000000000;
	while (atomic_load(&w->spsc_data.waiters) == 0) {
		if (shmk_now_ns() > end)
			return 11;
		sched_yield();
	}
	/* the receiver is parked (or about to park on the generation it read) */
	uint32_t gen = atomic_load(&w->spsc_data.gen);
	if (shmk_events_try_send(tx, "wake", 4, NULL))
		return 12;
	if (atomic_load(&w->spsc_data.gen) == gen)
		return 13; /* a waiter was registered: the send must bump gen */
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	return 0;
}

static void blocking(void)
{
	char *p = new_path();
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[16];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	/* times out on an empty queue */
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 50 * 1000000, NULL), -ETIMEDOUT);
	CU_ASSERT(shmk_now_ns() - t0 >= 50 * 1000000);
	/* woken by another process's send */
	g_blk_path = p;
	pid_t pid = fork_child(blk_sender, NULL);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 30LL * 1000000000, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "wake", 4), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	shmk_events_rx_close(rx);

	/* no futex call at all while nobody waits */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_fault_set("futex:1"), 0);
	for (int i = 0; i < 3000; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 1000000000, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);

	/* without the wake section, blocking calls are refused */
	r = must_open(new_path(), NULL);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, "x", 1, 0, NULL), SHMK_EINCOMPAT);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 0, NULL), SHMK_EINCOMPAT);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}

H_REGISTER(blocking, 90, "events.wake.capability", "events.wake.spin", "events.wake.park+2", "events.wake.nosyscall+2");

/* INT64_MAX as a recv timeout and as the init timeout means "practically
 * forever": neither may overflow (UBSan aborts) or wrap into the past. */
static void blocking_huge_timeout(void)
{
	char *p = new_path();
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[16];
	size_t n = 0;

	o.init_timeout_ns = INT64_MAX;
	CU_ASSERT_EQUAL(open_in_child(p, &o), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	g_blk_path = p;
	pid_t pid = fork_child(blk_sender, NULL); /* sends once we are parked */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, INT64_MAX, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(blocking_huge_timeout, 60, "common.wait.deadline");

/* ------------------------------------------------------------ no fallocate */

#if defined(__x86_64__)
#define EV_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define EV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* A filesystem without fallocate (9p, some FUSE, old NFS): fallocate(2)
 * fails with EOPNOTSUPP there, which a seccomp filter reproduces.  The
 * creator must still size the file, not map an empty one and die of
 * SIGBUS in the first store of init. */
static void reserve_nofallocate(void)
{
#ifdef EV_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EV_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fallocate, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	char *p = new_path();
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct stat st;
	char buf[8];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CU_ASSERT_EQUAL_FATAL(fallocate(fd, 0, 0, 4096), -1);
	CU_ASSERT_EQUAL_FATAL(errno, EOPNOTSUPP); /* the filter works */
	close(fd);
	unlink(p);
	CU_ASSERT_EQUAL_FATAL(shmk_events_open_path(p, &r), 0);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, SHMK_EVENTS_BASE_BYTES);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "ok", 2, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 2);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
#else
	H_SKIP("seccomp arch constant unknown for this target");
#endif
}
H_REGISTER(reserve_nofallocate, 30, "events.open.reserve");

/* ------------------------------------------------------------ roles */

struct holder {
	const char *path;
	int mpsc;
	int ready[2];	/* child -> parent: claimed (1 byte: rc) */
	int hold[2];	/* parent -> child: closed when the child may close */
};

static int holder_fn(void *a)
{
	struct holder *h = a;
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[8];
	size_t n;
	char c;

	close(h->ready[0]);
	close(h->hold[1]);
	if (shmk_events_open_path(h->path, &r))
		return 10;
	int rc = h->mpsc ? shmk_events_split_mpsc(r, &tx, &rx) : shmk_events_split_spsc(r, &tx, &rx);
	if (rc)
		return 11;
	rc = shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL);
	c = rc == SHMK_EEMPTY ? 'k' : 'x';
	if (write(h->ready[1], &c, 1) != 1)
		return 12;
	while (read(h->hold[0], &c, 1) < 0 && errno == EINTR)
		;
	shmk_events_rx_close(rx);	/* releases the role */
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	return 0;
}

static pid_t start_holder(struct holder *h, const char *path, int mpsc)
{
	char c = 0;

	h->path = path;
	h->mpsc = mpsc;
	CU_ASSERT_FATAL(pipe(h->ready) == 0 && pipe(h->hold) == 0);
	pid_t pid = fork_child(holder_fn, h);
	close(h->ready[1]);
	close(h->hold[0]);
	CU_ASSERT_EQUAL(read(h->ready[0], &c, 1), 1);
	CU_ASSERT_EQUAL(c, 'k');
	close(h->ready[0]);
	return pid;
}

static void roles(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct holder h;
	uint8_t buf[8];
	size_t n;

	for (int mpsc = 0; mpsc < 2; mpsc++) {
		_Atomic uint64_t *role = mpsc ? &l->mpsc.roles.a : &l->spsc.roles.b;

		/* split claims nothing */
		CU_ASSERT_EQUAL_FATAL(mpsc ? shmk_events_split_mpsc(r, &tx, &rx)
					   : shmk_events_split_spsc(r, &tx, &rx), 0);
		CU_ASSERT_EQUAL(atomic_load(role), 0);
		CU_ASSERT_EQUAL(atomic_load(&l->spsc.roles.a), 0);

		/* a live holder: EBUSY; after a clean close: free, claimable */
		pid_t pid = start_holder(&h, p, mpsc);
		uint64_t holder_tok = 0;
		CU_ASSERT_EQUAL(shmk_token_for_pid(pid, &holder_tok), 0);
		CU_ASSERT_EQUAL(atomic_load(role), holder_tok);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
		close(h.hold[1]);
		CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
		CU_ASSERT_EQUAL(atomic_load(role), 0);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
		CU_ASSERT_EQUAL(atomic_load(role), shmk_self_token());
		shmk_events_rx_close(rx);
		CU_ASSERT_EQUAL(atomic_load(role), 0);

		/* a killed holder, still a zombie: the role is reclaimable */
		CU_ASSERT_EQUAL_FATAL(mpsc ? shmk_events_split_mpsc(r, &tx, &rx)
					   : shmk_events_split_spsc(r, &tx, &rx), 0);
		pid = start_holder(&h, p, mpsc);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
		CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		CU_ASSERT_EQUAL(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
		CU_ASSERT_NOT_EQUAL(atomic_load(role), 0); /* it never released */
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
		CU_ASSERT_EQUAL(atomic_load(role), shmk_self_token());
		CU_ASSERT_EQUAL(h_wait(pid, 30), 128 + SIGKILL);
		close(h.hold[1]);
		/* the reclaimed receiver resumes from the shared head */
		CU_ASSERT_EQUAL(shmk_events_try_send(tx, "m", 1, NULL), 0);
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
		CU_ASSERT_EQUAL(n, 1);
		shmk_events_tx_close(tx);
		shmk_events_rx_close(rx);
	}
	shmk_events_close(r);
}
H_REGISTER(roles, 60, "events.split.validate", "events.role.claim", "events.role.busy", "events.role.reclaim", "events.role.release");

/* the MPSC consumer died after freeing the head cell, before storing head */
static void consumer_window(void)
{
	struct shmk_events *r = must_open(new_path(), NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[8];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "1", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "2", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	shmk_events_rx_close(rx);
	/* roll head back as if the store of head never happened, and leave a
	 * dead holder in the role word */
	uint64_t h = atomic_load(&l->mpsc.head.v);
	atomic_store(&l->mpsc.head.v, h - 1);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	uint64_t dead = 0;
	CU_ASSERT_EQUAL(shmk_token_for_pid(pid, &dead), 0);
	CU_ASSERT_EQUAL(h_wait(pid, 10), 0);
	atomic_store(&l->mpsc.roles.a, dead);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '2');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(consumer_window, 20, "events.role.reclaim");

/* The same window, but the producers keep going while no consumer runs
 * and fill the queue: the cell the dead consumer freed is claimed and
 * published for the next lap (seq == head + capacity + 1).  The
 * replacement must still step past it and deliver everything in order. */
static void consumer_window_lap(void)
{
	struct shmk_events *r = must_open(new_path(), NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx, *tx2;
	struct shmk_events_rx *rx;
	uint8_t buf[8];
	size_t n;
	uint32_t i, sent = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "1", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "2", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	shmk_events_rx_close(rx);
	atomic_store(&l->mpsc.head.v, atomic_load(&l->mpsc.head.v) - 1); /* died before head */
	while (shmk_events_try_send(tx, &sent, sizeof(sent), NULL) == 0)
		sent++;
	CU_ASSERT_EQUAL(sent, SHMK_EVENTS_QUEUE_CAP - 1);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx2, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '2');
	for (i = 0; i < sent; i++) {
		uint32_t v = ~0u;
		if (shmk_events_try_recv(rx, &v, sizeof(v), &n, NULL) || v != i)
			break;
	}
	CU_ASSERT_EQUAL(i, sent);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx);
	shmk_events_tx_close(tx2);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}


/* A process with two handles to the SPSC sender role: the second is
 * refused while the first lives (its cached tail would overwrite the
 * first's messages), and takes over once the first is closed. */
static int two_senders(void *arg)
{
	struct shmk_events *r;
	struct shmk_events_tx *tx1, *tx2;
	struct shmk_events_rx *rx1, *rx2;

	if (shmk_events_open_path((const char *)arg, &r))
		return 10;
	if (shmk_events_split_spsc(r, &tx1, &rx1) || shmk_events_split_spsc(r, &tx2, &rx2))
		return 11;
	shmk_events_rx_close(rx1);
	shmk_events_rx_close(rx2);
	if (shmk_events_try_send(tx1, "1", 1, NULL))
		return 12;
	if (shmk_events_try_send(tx2, "2", 1, NULL) != SHMK_EBUSY ||
	    !strstr(shmk_errdetail(), "another handle of this process"))
		return 13;
	if (shmk_events_try_send(tx1, "3", 1, NULL))
		return 14;
	shmk_events_tx_close(tx1);
	if (shmk_events_try_send(tx2, "4", 1, NULL))	/* resumes from the shared tail */
		return 15;
	shmk_events_tx_close(tx2);
	shmk_events_close(r);
	return 0;
}

static void role_one_handle_body(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_tx *tx1, *tx2, *ptx1, *ptx2;
	struct shmk_events_rx *rx1, *rx2, *c1, *c2;
	char buf[8];
	size_t n;

	pid_t pid = fork_child(two_senders, p);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	/* the receiver side, two handles in this process */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx1, &rx1), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx2, &rx2), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx1, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '1');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SPSC receiver"));
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx1, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '3');
	shmk_events_rx_close(rx1);
	/* every message the sender process had accepted, once, in order */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '4');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	/* the MPSC consumer too; producers are many by design */
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &ptx1, &c1), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &ptx2, &c2), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(ptx1, "a", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(ptx2, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(c1, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(c2, buf, sizeof(buf), &n, NULL), SHMK_EBUSY);
	CU_ASSERT_EQUAL(shmk_events_try_recv(c1, buf, sizeof(buf), &n, NULL), 0);
	/* our own token with no handle of ours behind it (as after exec, or
	 * a close that found the file cut): resumed, not refused */
	shmk_events_tx_close(tx1);
	shmk_events_tx_close(tx2);
	CU_ASSERT_EQUAL(atomic_load(&LAYOUT(r)->spsc.roles.a), 0);
	atomic_store(&LAYOUT(r)->spsc.roles.a, shmk_self_token());
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx1, &rx1), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx1, "5", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(buf[0], '5');
	shmk_events_rx_close(rx1);
	shmk_events_tx_close(tx1);
	shmk_events_tx_close(ptx2);
	shmk_events_rx_close(rx2);
	shmk_events_rx_close(c1);
	shmk_events_rx_close(c2);
	shmk_events_close(r);
	unlink(p);
}

static void role_one_handle(void)
{
	isolate(role_one_handle_body, 30);
}
H_REGISTER(role_one_handle, 0, "events.role.one-handle");

/* Sender process: fills the queue until it is full.  Each failure must
 * describe itself, not the failure before it. */
static int detail_sender(void *arg)
{
	struct shmk_events *r;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t junk[64] = { 0 };
	uint32_t i = 0;

	if (shmk_events_open_path((const char *)arg, &r) || shmk_events_split_spsc(r, &tx, &rx))
		return 10;
	shmk_events_rx_close(rx);
	if (shmk_events_validate(junk, sizeof(junk), NULL) >= 0 || !*shmk_errdetail())
		return 11;	/* an older failure with its own detail */
	while (shmk_events_try_send(tx, &i, sizeof(i), NULL) == 0)
		i++;
	if (i != SHMK_EVENTS_QUEUE_CAP)
		return 12;
	if (!strstr(shmk_errdetail(), "SHMK_EFULL"))
		return 13;
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	return 0;
}

static void error_detail_body(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_tx *tx, *tx2;
	struct shmk_events_rx *rx, *rx2;
	uint8_t junk[64] = { 0 };
	uint32_t v, i;
	size_t n;

	pid_t pid = fork_child(detail_sender, p);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(h_wait(pid, 20), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx2, &rx2), 0);
	for (i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		if (shmk_events_try_recv(rx, &v, sizeof(v), &n, NULL) || v != i)
			break;
	CU_ASSERT_EQUAL(i, SHMK_EVENTS_QUEUE_CAP);
	/* the queue the peer filled is drained: empty, said as such, after an
	 * unrelated failure with its own detail */
	CU_ASSERT(shmk_events_validate(junk, sizeof(junk), NULL) < 0);
	char older[256];
	snprintf(older, sizeof(older), "%s", shmk_errdetail());
	CU_ASSERT(older[0] != '\0');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, &v, sizeof(v), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_STRING_NOT_EQUAL(shmk_errdetail(), older);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SHMK_EEMPTY"));
	/* too small a buffer for the peer's next message, then a role claim */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "abcdef", 6, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, &v, 2, &n, NULL), SHMK_EBUFSMALL);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SHMK_EBUFSMALL"));
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx2, &v, sizeof(v), &n, NULL), SHMK_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "SPSC receiver"));
	CU_ASSERT_EQUAL(shmk_events_try_send(NULL, "x", 1, NULL), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(shmk_errdetail(), "EINVAL"));
	shmk_events_tx_close(tx);
	shmk_events_tx_close(tx2);
	shmk_events_rx_close(rx);
	shmk_events_rx_close(rx2);
	shmk_events_close(r);
	unlink(p);
}

static void error_detail(void)
{
	isolate(error_detail_body, 30);
}
H_REGISTER(error_detail, 0, "common.error.detail");

H_REGISTER(consumer_window_lap, 20, "events.role.reclaim");

/* ------------------------------------------------------------ keepalive, truncation */

static int mapped(const char *path)
{
	char line[PATH_MAX + 256];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, path))
			found = 1;
	fclose(f);
	return found;
}

static void keepalive(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[8];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	shmk_events_close(r);
	CU_ASSERT_EQUAL(mapped(p), 1);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "abc", 3, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 3);
	shmk_events_tx_close(tx);
	CU_ASSERT_EQUAL(mapped(p), 1);
	shmk_events_rx_close(rx);
	CU_ASSERT_EQUAL(mapped(p), 0);

	/* a file truncated under the mapping: split refuses */
	r = must_open(p, NULL);
	CU_ASSERT_EQUAL(truncate(p, 4096), 0);
	CU_ASSERT_EQUAL(shmk_events_split_spsc(r, &tx, &rx), SHMK_ETRUNCATED);
	shmk_events_close(r);
}
H_REGISTER(keepalive, 20, "events.handle.keepalive", "events.split.truncated");

/* ------------------------------------------------------------ crashes */

/* role: open (or create) argv[1]; with SHMK_CRASH_AT=events.init it dies mid-init */
static int role_creator(int argc, char **argv)
{
	struct shmk_events *r = NULL;

	if (argc < 2)
		return 2;
	int rc = shmk_events_open_path(argv[1], &r);
	shmk_events_close(r);
	return rc ? 3 : 0;
}
H_ROLE("creator", role_creator);

static pid_t spawn_with_env(const char *role, const char *const *args, const char *var,
			    const char *val)
{
	setenv(var, val, 1);
	pid_t pid = h_spawn_role(role, args);
	unsetenv(var);
	return pid;
}

static void dead_creator(void)
{
	char *p = new_path();
	const char *args[] = { p, NULL };

	pid_t pid = spawn_with_env("creator", args, "SHMK_CRASH_AT", "events.init");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);

	/* the creator died at initialized == 1: joiners get ENOTINIT at once */
	struct shmk_events_opts o = { .init_timeout_ns = 20LL * 1000000000 };
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(open_in_child(p, &o), SHMK_ENOTINIT);
	CU_ASSERT(shmk_now_ns() - t0 < 10LL * 1000000000);
	CU_ASSERT_EQUAL(open_in_child(p, &o), SHMK_ENOTINIT);

	/* recovery: re-initialise under the lock */
	o.recover = true;
	CU_ASSERT_EQUAL(open_in_child(p, &o), 0);
	struct shmk_events *r = must_open(p, NULL);
	CU_ASSERT_NOT_EQUAL(LAYOUT(r)->hdr.creator, shmk_self_token());
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[8];
	size_t n;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "ok", 2, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(dead_creator, 60, "events.init.dead-creator", "events.init.recover");

static void init_timeout(void)
{
	/* a live process holds the lock with initialized == 1: joiners time out */
	char *p = new_path();
	shmk_events_close(must_open(p, NULL));
	int fd;
	struct shmk_events_header *h = map_hdr(p, &fd);
	atomic_store(&h->initialized, 1);
	atomic_store(&h->creator, shmk_self_token());
	CU_ASSERT_EQUAL_FATAL(flock(fd, LOCK_EX), 0);
	struct shmk_events_opts o = { .init_timeout_ns = 300 * 1000000 };
	int64_t t0 = shmk_now_ns();
	CU_ASSERT_EQUAL(open_in_child(p, &o), SHMK_ENOTINIT);
	CU_ASSERT(shmk_now_ns() - t0 >= 300 * 1000000);
	/* and succeed once the initialiser finishes within their timeout */
	o.init_timeout_ns = 20LL * 1000000000;
	struct open_job *j = t_shared_alloc(sizeof(*j));
	j->path = p;
	j->o = o;
	j->rc = 12345;
	pid_t pid = fork_child(open_job_fn, j);
	struct timespec ts = { 0, 100 * 1000000 };
	nanosleep(&ts, NULL); /* not synchronisation: the child passes either way */
	atomic_store(&h->initialized, 2);
	shmk_futex_wake(&h->initialized, INT_MAX);
	flock(fd, LOCK_UN);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(j->rc, 0);
	unmap_hdr(h, fd);
}
H_REGISTER(init_timeout, 60, "events.open.init-timeout");

/* role: MPSC producer argv[2] sending argv[3] messages to argv[1] */
static int role_producer(int argc, char **argv)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];

	if (argc < 4)
		return 2;
	uint32_t prod = (uint32_t)atoi(argv[2]), count = (uint32_t)atoi(argv[3]);
	if (shmk_events_open_path(argv[1], &r) || shmk_events_split_mpsc(r, &tx, &rx))
		return 3;
	shmk_events_rx_close(rx);
	for (uint32_t s = 0; s < count; s++) {
		size_t n = make_msg(buf, prod, s);
		int rc = shmk_events_send(tx, buf, n, 20LL * 1000000000, NULL);
		if (rc) {
			shmk_events_tx_close(tx);
			shmk_events_close(r);
			/* 42: our claimed cell was skipped by the consumer */
			return rc == SHMK_EPEERDEAD ? 42 : 4;
		}
	}
	shmk_events_tx_close(tx);
	shmk_events_close(r);
	return 0;
}
H_ROLE("producer", role_producer);

static void dead_producer(void)
{
	char *p = new_path();
	struct shmk_events_opts o = { .blocking = true };
	setenv("SHMK_LIVENESS_MS", "100", 1);
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	shmk_events_tx_close(tx);

	/* producer 0 dies between claim and publish of its 3rd message */
	const char *a0[] = { p, "0", "10", NULL };
	pid_t dead = spawn_with_env("producer", a0, "SHMK_CRASH_AT", "events.mpsc.claimed:3");
	CU_ASSERT_EQUAL_FATAL(h_wait(dead, 30), 128 + SIGKILL);
	/* producer 1 sends after it: its messages queue behind the hole */
	const char *a1[] = { p, "1", "50", NULL };
	pid_t live = h_spawn_role("producer", a1);
	CU_ASSERT_EQUAL(h_wait(live, 30), 0);

	uint32_t next[2] = { 0, 0 };
	for (int got = 0; got < 52; got++) {
		int rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t pr, s;
		CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &pr, &s), 0);
		CU_ASSERT_FATAL(pr < 2);
		CU_ASSERT_EQUAL(s, next[pr]);
		next[pr] = s + 1;
	}
	CU_ASSERT_EQUAL(next[0], 2);
	CU_ASSERT_EQUAL(next[1], 50);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 1);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);

	/* a live producer stopped between claim and publish is never skipped */
	const char *a2[] = { p, "1", "1", NULL };
	pid_t slow = spawn_with_env("producer", a2, "SHMK_EVENTS_STOP_AT_CLAIM", "1");
	CU_ASSERT_FATAL(slow > 0);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CU_ASSERT_EQUAL_FATAL(waitid(P_PID, (id_t)slow, &si, WSTOPPED), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 600 * 1000000, NULL), -ETIMEDOUT);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 1);
	/* make it look dead to the consumer (its intent moved away): the
	 * consumer skips, and the producer's publish CAS then fails */
	struct shmk_events_layout *l = LAYOUT(r);
	for (uint32_t i = 0; i < SHMK_EVENTS_PRODUCERS; i++)
		if (atomic_load(&l->mpsc.producers[i].token))
			atomic_fetch_add(&l->mpsc.producers[i].intent, 1ULL << 62);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 600 * 1000000, NULL), -ETIMEDOUT);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 2);
	CU_ASSERT_EQUAL(kill(slow, SIGCONT), 0);
	CU_ASSERT_EQUAL(h_wait(slow, 30), 42);
	/* the queue still works across the skipped cells */
	const char *a3[] = { p, "1", "2000", NULL };
	live = h_spawn_role("producer", a3);
	for (uint32_t s = 0; s < 2000; s++) {
		int rc;
		/* until the new producer registers, producer 0's dead row is the
		 * only one: SHMK_EPEERDEAD, retry (events.wait.peer-absent) */
		int64_t end = shmk_now_ns() + 20LL * 1000000000;
		while ((rc = shmk_events_recv(rx, buf, sizeof(buf), &n, 20LL * 1000000000, NULL)) ==
			       SHMK_EPEERDEAD &&
		       shmk_now_ns() < end)
			;
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		uint32_t pr, sq;
		CU_ASSERT_EQUAL_FATAL(check_msg(buf, n, &pr, &sq), 0);
		CU_ASSERT_EQUAL_FATAL(sq, s);
	}
	CU_ASSERT_EQUAL(h_wait(live, 30), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(dead_producer, 120, "events.mpsc.dead-producer", "events.mpsc.intent", "events.mpsc.publish-cas");

/* ------------------------------------------------------------ dead peers */

enum { PD_DIE, PD_DIE_PARKED, PD_HOLD, PD_CLEAN };

struct pd_side {
	_Atomic int claimed;		/* the child holds its role */
	_Atomic int64_t died_ns;	/* when it raised SIGKILL */
};

struct pd_job {
	int kind;			/* 0 SPSC sender, 1 SPSC receiver, 2 MPSC producer, 3 consumer */
	int n;				/* messages to send (senders) or receive (receivers) */
	int mode;			/* PD_*: how the child leaves */
	_Atomic uint32_t *park;		/* PD_DIE_PARKED: a waiter count of the parent's */
};

static struct shmk_events *g_pd_r;
static struct pd_side *g_pd;

/* Child: takes its role in g_pd_r, moves n messages, then dies by SIGKILL
 * (at once, or once the parent is parked on job->park), waits to be killed,
 * or closes cleanly. */
static int pd_child(void *a)
{
	const struct pd_job *j = a;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	char buf[SHMK_EVENTS_SLOT_DATA];
	size_t n;
	int rc = j->kind >= 2 ? shmk_events_split_mpsc(g_pd_r, &tx, &rx)
			      : shmk_events_split_spsc(g_pd_r, &tx, &rx);

	if (rc)
		return 10;
	if (j->kind % 2 == 0) {
		/* an oversized send claims the role and sends nothing */
		if (shmk_events_try_send(tx, buf, SHMK_EVENTS_SLOT_DATA + 1, NULL) != SHMK_ETOOLARGE)
			return 11;
		for (int i = 0; i < j->n; i++) {
			int len = snprintf(buf, sizeof(buf), "m%d", i) + 1;
			if (shmk_events_try_send(tx, buf, (size_t)len, NULL))
				return 12;
		}
	} else {
		if (shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL) != (j->n ? 0 : SHMK_EEMPTY))
			return 13;
		for (int i = 1; i < j->n; i++)
			if (shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL))
				return 14;
	}
	atomic_store(&g_pd->claimed, 1);
	if (j->mode == PD_CLEAN) {
		shmk_events_tx_close(tx);
		shmk_events_rx_close(rx);
		return 0;
	}
	if (j->mode == PD_HOLD)
		for (;;)
			pause();
	if (j->mode == PD_DIE_PARKED) {
		int64_t end = shmk_now_ns() + 20LL * 1000000000;
		while (atomic_load(j->park) == 0) {
			if (shmk_now_ns() > end)
				return 15;
			sched_yield();
		}
	}
	atomic_store(&g_pd->died_ns, shmk_now_ns());
	raise(SIGKILL);
	return 16;
}

static pid_t pd_fork(int kind, int n, int mode, _Atomic uint32_t *park)
{
	static struct pd_job j; /* copied by fork */

	j = (struct pd_job){ kind, n, mode, park };
	atomic_store(&g_pd->claimed, 0);
	pid_t pid = fork_child(pd_child, &j);
	int64_t end = shmk_now_ns() + 20LL * 1000000000;
	while (pid > 0 && !atomic_load(&g_pd->claimed) && shmk_now_ns() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1; /* left before it claimed: a failure */
		sched_yield();
	}
	return pid;
}

static int64_t g_pd_max_ns; /* slowest EPEERDEAD after a death seen while parked */

static void pd_took(void)
{
	int64_t d = shmk_now_ns() - atomic_load(&g_pd->died_ns);
	if (d > g_pd_max_ns)
		g_pd_max_ns = d;
}

static struct shmk_events_wake *pd_wake(void)
{
	return (void *)((uint8_t *)shmk_events_as_ptr(g_pd_r, NULL) + SHMK_EVENTS_BASE_BYTES);
}

static void pd_spsc_receiver(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA], want[16];
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	size_t n;

	snprintf(p, sizeof(p), "%s", new_path());
	g_pd_r = must_open(p, &o);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(g_pd_r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	/* the sender sends 3, then dies once we are parked: the 3 come first,
	 * then SHMK_EPEERDEAD, with no timeout to end the wait */
	pid_t pid = pd_fork(0, 3, PD_DIE_PARKED, &pd_wake()->spsc_data.waiters);
	CU_ASSERT_FATAL(pid > 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
		snprintf(want, sizeof(want), "m%d", i);
		CU_ASSERT_STRING_EQUAL(buf, want);
	}
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	pd_took();
	CU_ASSERT_EQUAL(h_wait(pid, 30), 128 + SIGKILL);
	/* a retry says so again: the dead token still holds the role */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	/* a replacement reclaims the role, sends one and closes cleanly */
	pid = pd_fork(0, 1, PD_CLEAN, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	CU_ASSERT_STRING_EQUAL(buf, "m0");
	/* a clean close leaves the role absent, not dead: we wait it out */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 300 * 1000000, NULL),
			-ETIMEDOUT);
	shmk_events_rx_close(rx);
	shmk_events_close(g_pd_r);
	unlink(p);
}

static void pd_spsc_sender(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA] = "x";
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	snprintf(p, sizeof(p), "%s", new_path());
	g_pd_r = must_open(p, &o);
	struct shmk_events_layout *l = LAYOUT(g_pd_r);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(g_pd_r, &tx, &rx), 0);
	shmk_events_rx_close(rx);
	/* a queue nobody ever received from: a full one just waits */
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, 100 * 1000000, NULL), -ETIMEDOUT);
	/* a receiver takes one, and dies once we are parked on the full queue */
	pid_t pid = pd_fork(1, 1, PD_DIE_PARKED, &pd_wake()->spsc_space.waiters);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, buf, 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, -1, NULL), SHMK_EPEERDEAD);
	pd_took();
	CU_ASSERT_EQUAL(h_wait(pid, 30), 128 + SIGKILL);
	/* nothing was queued by the failed send */
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.tail.v) - atomic_load(&l->spsc.head.v),
			SHMK_EVENTS_QUEUE_CAP);
	/* a replacement receiver takes one: the retry goes through */
	pid = pd_fork(1, 1, PD_CLEAN, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, -1, NULL), 0);
	shmk_events_tx_close(tx);
	shmk_events_close(g_pd_r);
	unlink(p);
}

static void pd_mpsc_consumer(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA];
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	size_t n;

	snprintf(p, sizeof(p), "%s", new_path());
	g_pd_r = must_open(p, &o);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(g_pd_r, &tx, &rx), 0);
	shmk_events_tx_close(tx);
	/* no producer ever registered: wait */
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 100 * 1000000, NULL),
			-ETIMEDOUT);
	/* one producer dies, one lives: wait for the live one */
	pid_t live = pd_fork(2, 1, PD_HOLD, NULL);
	CU_ASSERT_FATAL(live > 0);
	pid_t dead = pd_fork(2, 1, PD_DIE, NULL);
	CU_ASSERT_EQUAL(h_wait(dead, 30), 128 + SIGKILL);
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 300 * 1000000, NULL),
			-ETIMEDOUT);
	/* the live one dies too (before the call) */
	CU_ASSERT_EQUAL(kill(live, SIGKILL), 0);
	CU_ASSERT_EQUAL(h_wait(live, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	/* a new producer sends one and dies while we are parked */
	dead = pd_fork(2, 1, PD_DIE_PARKED, &pd_wake()->mpsc_data.waiters);
	CU_ASSERT_FATAL(dead > 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	CU_ASSERT_STRING_EQUAL(buf, "m0");
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), SHMK_EPEERDEAD);
	pd_took();
	CU_ASSERT_EQUAL(h_wait(dead, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(shmk_events_rx_skipped(rx), 0);
	/* a replacement producer registers and sends: the retry gets it */
	pid_t pid = pd_fork(2, 1, PD_CLEAN, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, -1, NULL), 0);
	shmk_events_rx_close(rx);
	shmk_events_close(g_pd_r);
	unlink(p);
}

static void pd_mpsc_producer(void)
{
	char p[PATH_MAX], buf[SHMK_EVENTS_SLOT_DATA] = "x";
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;

	snprintf(p, sizeof(p), "%s", new_path());
	g_pd_r = must_open(p, &o);
	struct shmk_events_layout *l = LAYOUT(g_pd_r);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(g_pd_r, &tx, &rx), 0);
	shmk_events_rx_close(rx);
	/* the consumer claims its role, then dies once we are parked on a full queue */
	pid_t pid = pd_fork(3, 0, PD_DIE_PARKED, &pd_wake()->mpsc_space.waiters);
	CU_ASSERT_FATAL(pid > 0);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, buf, 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, -1, NULL), SHMK_EPEERDEAD);
	pd_took();
	CU_ASSERT_EQUAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.tail.v) - atomic_load(&l->mpsc.head.v),
			SHMK_EVENTS_QUEUE_CAP);
	/* a replacement consumer takes one: the retry goes through */
	pid = pd_fork(3, 1, PD_CLEAN, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_send(tx, buf, 1, -1, NULL), 0);
	shmk_events_tx_close(tx);
	shmk_events_close(g_pd_r);
	unlink(p);
}

static void peerdead_body(void)
{
	/* before any split: the handles cache it; period = 25 ms */
	setenv("SHMK_LIVENESS_MS", "100", 1);
	g_pd = t_shared_alloc(sizeof(*g_pd));
	CU_ASSERT_FATAL(g_pd != NULL);
	pd_spsc_receiver();
	pd_spsc_sender();
	pd_mpsc_consumer();
	pd_mpsc_producer();
	printf("\n  peerdead: slowest SHMK_EPEERDEAD %.1f ms after a death while parked "
	       "(SHMK_LIVENESS_MS 100)\n", (double)g_pd_max_ns / 1e6);
	t_shared_free(g_pd, sizeof(*g_pd));
}

static void peerdead(void)
{
	/* each death is noticed within 2 x 25 ms: 60 s means a wait that
	 * never noticed it (the calls have no timeout) */
	isolate(peerdead_body, 60);
}
H_REGISTER(peerdead, 0, "events.wait.peerdead", "events.wait.peerdead-cadence", "events.wait.peer-absent");

/* ------------------------------------------------------------ hostile bytes */

static void hostile(void)
{
	struct shmk_events *r = must_open(new_path(), NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v, v2;
	uint8_t buf[256];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	/* slot index out of range */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	uint64_t h = atomic_load(&l->spsc.head.v);
	uint32_t saved = atomic_load(&l->spsc.cells[h & 1023]);
	atomic_store(&l->spsc.cells[h & 1023], 5000);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.cells[h & 1023], saved);
	/* length out of range */
	atomic_store(&l->slots[saved].len, 300);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->slots[saved].len, 1);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	/* impossible counters */
	uint64_t t = atomic_load(&l->spsc.tail.v);
	atomic_store(&l->spsc.tail.v, t + 5000);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.tail.v, t);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	atomic_store(&l->spsc.head.v, t - 5000);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "a", 1, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.head.v, t);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	/* MPSC: tail far ahead of head, cell sequence from another lap */
	struct shmk_events_tx *ptx;
	struct shmk_events_rx *crx;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &ptx, &crx), 0);
	uint64_t mt = atomic_load(&l->mpsc.tail.v);
	atomic_store(&l->mpsc.tail.v, mt + 4000);
	CU_ASSERT_EQUAL(shmk_events_try_recv(crx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->mpsc.tail.v, mt);
	atomic_store(&l->mpsc.cells[mt & 1023].seq, mt + 77);
	CU_ASSERT_EQUAL(shmk_events_try_recv(crx, buf, sizeof(buf), &n, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->mpsc.cells[mt & 1023].seq, mt);
	CU_ASSERT_EQUAL(shmk_events_try_send(ptx, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(crx, buf, sizeof(buf), &n, NULL), 0);
	shmk_events_tx_close(ptx);
	shmk_events_rx_close(crx);
	/* free-list head out of range */
	uint64_t fh = atomic_load(&l->pool.free_head);
	atomic_store(&l->pool.free_head, (fh & ~0xffffffffULL) | 9999);
	CU_ASSERT_EQUAL(shmk_events_reserve(tx, &v), SHMK_EINTEGRITY);
	atomic_store(&l->pool.free_head, fh);

	/* ABA: a head popped and pushed back carries a new generation */
	uint64_t h0 = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &v), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &v2), 0);
	CU_ASSERT_EQUAL(shmk_events_cancel(tx, &v), 0);
	uint64_t h1 = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL((uint32_t)h1, (uint32_t)h0);	/* same index on top ... */
	CU_ASSERT_EQUAL(h1 >> 32, (h0 >> 32) + 3);	/* ... another generation */
	CU_ASSERT_EQUAL(shmk_events_cancel(tx, &v2), 0);
	/* the 32-bit generation wraps without touching the index */
	uint64_t top = atomic_load(&l->pool.free_head);
	atomic_store(&l->pool.free_head, (0xffffffffULL << 32) | (uint32_t)top);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &v), 0);
	CU_ASSERT_EQUAL(v.slot, (uint32_t)top);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head) >> 32, 0);
	CU_ASSERT_EQUAL(shmk_events_cancel(tx, &v), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), (1ULL << 32) | (uint32_t)top);

	/* double release */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "c", 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(rx, &v), 0);
	v2 = v;
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	uint64_t before = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v2), SHMK_EINTEGRITY);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), before);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
}
H_REGISTER(hostile, 30, "events.hostile.bounds", "events.hostile.counters", "events.pool.aba", "events.pool.double-release");

/* ------------------------------------------------------------ slot recycling */

/* role: open argv[1] and take one SPSC (argv[2] "mpsc": MPSC) message as
 * a view; with SHMK_CRASH_AT=events.spsc.detached (events.mpsc.detached)
 * it dies between detaching the cell and freeing it */
static int role_viewer(int argc, char **argv)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;

	if (argc < 2)
		return 2;
	if (shmk_events_open_path(argv[1], &r))
		return 3;
	bool mpsc = argc > 2 && !strcmp(argv[2], "mpsc");
	if ((mpsc ? shmk_events_split_mpsc : shmk_events_split_spsc)(r, &tx, &rx))
		return 4;
	return shmk_events_recv_view(rx, &v) ? 5 : 0;
}
H_ROLE("viewer", role_viewer);

static void spsc_recycle(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS + 1];
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	/* a fresh region attaches no slot to any cell */
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(atomic_load(&l->spsc.cells[i]), SHMK_EVENTS_NIL);
	uint64_t t0 = atomic_load(&l->spsc.tail.v);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	uint32_t s0 = atomic_load(&l->spsc.cells[t0 & 1023]);
	CU_ASSERT_FATAL(s0 < SHMK_EVENTS_SLOTS);
	uint64_t fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'a');
	/* received by copy: still attached, held, off the free list */
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[t0 & 1023]), s0);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[s0].refcnt), 1);
	for (uint32_t i = 1; i < SHMK_EVENTS_QUEUE_CAP; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	/* one lap later the sender reuses s0 without touching the pool */
	fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[t0 & 1023]), s0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'b');
	/* a view detaches its slot first; release returns it to the pool */
	uint64_t tv = atomic_load(&l->spsc.tail.v);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "c", 1, NULL), 0);
	uint32_t sv = atomic_load(&l->spsc.cells[tv & 1023]);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(rx, &v), 0);
	CU_ASSERT_EQUAL(v.slot, sv);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[tv & 1023]), SHMK_EVENTS_NIL);
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[sv].refcnt), 0);
	/* an empty pool takes back every attached slot: all 2048 reservable */
	uint32_t got = 0;
	while (got <= SHMK_EVENTS_SLOTS && shmk_events_reserve(tx, &all[got]) == 0)
		got++;
	CU_ASSERT_EQUAL(got, SHMK_EVENTS_SLOTS);
	for (uint32_t i = 0; i < got; i++)
		CU_ASSERT_EQUAL(shmk_events_cancel(tx, &all[i]), 0);
	/* events.hostile.bounds: a free cell holding a wild index */
	uint64_t t = atomic_load(&l->spsc.tail.v);
	atomic_store(&l->spsc.cells[t & 1023], 5000);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "z", 1, NULL), SHMK_EINTEGRITY);
	atomic_store(&l->spsc.cells[t & 1023], SHMK_EVENTS_NIL);

	/* another process takes "d" as a view and dies before storing head */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "d", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "e", 1, NULL), 0);
	uint64_t hd = atomic_load(&l->spsc.head.v);
	shmk_events_rx_close(rx);
	const char *args[] = { p, NULL };
	pid_t pid = spawn_with_env("viewer", args, "SHMK_CRASH_AT", "events.spsc.detached");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.head.v), hd); /* it never moved head */
	CU_ASSERT_EQUAL(atomic_load(&l->spsc.cells[hd & 1023]), SHMK_EVENTS_NIL);
	struct shmk_events_tx *tx2;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx2, &rx), 0);
	/* "d" was delivered to the dead viewer: the next receiver gets "e" */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'e');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx2);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(spsc_recycle, 30, "events.spsc.recycle", "events.spsc.detached-skip");

static void mpsc_recycle(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;
	static struct shmk_events_view all[SHMK_EVENTS_SLOTS + 1];
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	for (uint32_t i = 0; i < SHMK_EVENTS_QUEUE_CAP; i++)
		CU_ASSERT_EQUAL_FATAL(atomic_load(&l->mpsc.cells[i].slot), SHMK_EVENTS_NIL);
	/* pool empty and no slot at the tail cells: 4 holes, then SHMK_EFULL;
	 * the consumer steps over the holes */
	uint32_t got = 0;
	while (got <= SHMK_EVENTS_SLOTS && shmk_events_reserve(tx, &all[got]) == 0)
		got++;
	CU_ASSERT_EQUAL(got, SHMK_EVENTS_SLOTS);
	uint64_t th = atomic_load(&l->mpsc.tail.v);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "z", 1, NULL), SHMK_EFULL);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.tail.v), th + 4);
	for (uint64_t k = th; k < th + 4; k++) {
		CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[k & 1023].seq), k + 1); /* published */
		CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[k & 1023].slot), SHMK_EVENTS_NIL);
	}
	/* (the reservation that found the pool empty published 4 holes too,
	 * events.mpsc.steal; a receive steps over at most 3) */
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.head.v), th + 4);
	for (uint32_t i = 0; i < got; i++)
		CU_ASSERT_EQUAL(shmk_events_cancel(tx, &all[i]), 0);
	uint64_t t0 = atomic_load(&l->mpsc.tail.v);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	uint32_t s0 = atomic_load(&l->mpsc.cells[t0 & 1023].slot);
	CU_ASSERT_FATAL(s0 < SHMK_EVENTS_SLOTS);
	uint64_t fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'a');
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t0 & 1023].slot), s0);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[s0].refcnt), 1);
	for (uint32_t i = 1; i < SHMK_EVENTS_QUEUE_CAP; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	/* the producer claiming the cell next lap reuses s0, pool untouched */
	fh = atomic_load(&l->pool.free_head);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "b", 1, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->pool.free_head), fh);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t0 & 1023].slot), s0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'b');
	/* a view detaches first */
	uint64_t tv = atomic_load(&l->mpsc.tail.v);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "c", 1, NULL), 0);
	uint32_t sv = atomic_load(&l->mpsc.cells[tv & 1023].slot);
	CU_ASSERT_EQUAL_FATAL(shmk_events_recv_view(rx, &v), 0);
	CU_ASSERT_EQUAL(v.slot, sv);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[tv & 1023].slot), SHMK_EVENTS_NIL);
	CU_ASSERT_EQUAL(shmk_events_release(rx, &v), 0);
	/* a reservation published over an attached slot frees that slot */
	uint64_t t = atomic_load(&l->mpsc.tail.v);
	uint32_t sa = atomic_load(&l->mpsc.cells[t & 1023].slot);
	CU_ASSERT_FATAL(sa < SHMK_EVENTS_SLOTS);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &v), 0);
	uint32_t sr = v.slot;
	CU_ASSERT_EQUAL(shmk_events_publish(tx, &v, 3, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t & 1023].slot), sr);
	CU_ASSERT_EQUAL(atomic_load(&l->slots[sa].refcnt), 0);	/* back in the pool */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 3);

	/* steal: with the pool empty a reservation takes the tail cell's slot
	 * and publishes the cell as a hole */
	for (int k = 0; k < 2048 && atomic_load(&l->mpsc.cells[atomic_load(&l->mpsc.tail.v) &
							   1023].slot) >= SHMK_EVENTS_SLOTS;
	     k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "y", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	t = atomic_load(&l->mpsc.tail.v);
	uint32_t st = atomic_load(&l->mpsc.cells[t & 1023].slot);
	uint32_t sn = atomic_load(&l->mpsc.cells[(t + 1) & 1023].slot);
	CU_ASSERT_FATAL(st < SHMK_EVENTS_SLOTS && sn < SHMK_EVENTS_SLOTS);
	got = 0;
	while ((uint32_t)atomic_load(&l->pool.free_head) != SHMK_EVENTS_NIL && got < SHMK_EVENTS_SLOTS)
		CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &all[got++]), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_reserve(tx, &all[got]), 0);
	CU_ASSERT_EQUAL(all[got].slot, st);
	got++;
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.tail.v), t + 1);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t & 1023].seq), t + 1);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t & 1023].slot), SHMK_EVENTS_NIL);
	/* dry return: a copy receive with the pool empty gives the slot back */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "q", 1, NULL), 0); /* reuses sn */
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'q');
	CU_ASSERT_EQUAL((uint32_t)atomic_load(&l->pool.free_head), sn);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[(t + 1) & 1023].slot), SHMK_EVENTS_NIL);
	for (uint32_t i = 0; i < got; i++)
		CU_ASSERT_EQUAL(shmk_events_cancel(tx, &all[i]), 0);

	/* another process takes "d" as a view and dies before freeing the cell */
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "d", 1, NULL), 0);
	CU_ASSERT_EQUAL(shmk_events_try_send(tx, "e", 1, NULL), 0);
	uint64_t hd = atomic_load(&l->mpsc.head.v);
	shmk_events_rx_close(rx);
	const char *args[] = { p, "mpsc", NULL };
	pid_t pid = spawn_with_env("viewer", args, "SHMK_CRASH_AT", "events.mpsc.detached");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.head.v), hd);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[hd & 1023].slot), SHMK_EVENTS_NIL);
	struct shmk_events_tx *tx2;
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx2, &rx), 0);
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT(n == 1 && buf[0] == 'e');
	CU_ASSERT_EQUAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), SHMK_EEMPTY);
	shmk_events_tx_close(tx2);
	shmk_events_tx_close(tx);
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(mpsc_recycle, 30, "events.mpsc.recycle", "events.mpsc.hole", "events.mpsc.steal", "events.pool.dry-return", "events.mpsc.detached-skip");

/* role: open argv[1], reserve an MPSC slot and publish it; with
 * SHMK_CRASH_AT=events.mpsc.replaced it dies after the reservation
 * replaced the slot attached to its cell, before that slot is pushed */
static int role_replacer(int argc, char **argv)
{
	struct shmk_events *r = NULL;
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	struct shmk_events_view v;

	if (argc < 2)
		return 2;
	if (shmk_events_open_path(argv[1], &r))
		return 3;
	if (shmk_events_split_mpsc(r, &tx, &rx))
		return 4;
	if (shmk_events_reserve(tx, &v))
		return 5;
	memcpy(v.data, "rep", 3);
	return shmk_events_publish(tx, &v, 3, NULL) ? 6 : 0;
}
H_ROLE("replacer", role_replacer);

/* models/mpsc.pml found it: a producer killed while its reservation
 * replaces the cell's attached slot must not leave that slot both in the
 * pool and attached (the consumer skips the dead cell, the next lap's
 * producer reuses the attached slot while the pool hands it out too) */
static void mpsc_replace_crash(void)
{
	char *p = new_path();
	struct shmk_events *r = must_open(p, NULL);
	struct shmk_events_layout *l = LAYOUT(r);
	struct shmk_events_tx *tx;
	struct shmk_events_rx *rx;
	uint8_t buf[256];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &tx, &rx), 0);
	/* one lap of copy receives: the tail cell gets a slot attached */
	for (int k = 0; k < 2048 && atomic_load(&l->mpsc.cells[atomic_load(&l->mpsc.tail.v) &
							   1023].slot) >= SHMK_EVENTS_SLOTS;
	     k++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "y", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	uint64_t t = atomic_load(&l->mpsc.tail.v);
	uint32_t sa = atomic_load(&l->mpsc.cells[t & 1023].slot);
	CU_ASSERT_FATAL(sa < SHMK_EVENTS_SLOTS);
	CU_ASSERT_EQUAL_FATAL(atomic_load(&l->slots[sa].refcnt), 1);
	shmk_events_tx_close(tx);
	const char *args[] = { p, NULL };
	pid_t pid = spawn_with_env("replacer", args, "SHMK_CRASH_AT", "events.mpsc.replaced");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(h_wait(pid, 30), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.tail.v), t + 1);	/* it claimed the cell */
	CU_ASSERT_EQUAL(atomic_load(&l->mpsc.cells[t & 1023].seq), t); /* unpublished */
	uint32_t now = atomic_load(&l->mpsc.cells[t & 1023].slot);
	uint32_t ref = atomic_load(&l->slots[sa].refcnt);
	/* never both: attached to the cell and free in the pool */
	CU_ASSERT(!(now == sa && ref == 0));
	CU_ASSERT(now != sa && now < SHMK_EVENTS_SLOTS);	/* the cell names the reservation */
	CU_ASSERT_EQUAL(ref, 1);				/* sa is lost, not free */
	shmk_events_rx_close(rx);
	shmk_events_close(r);
	unlink(p);
}
H_REGISTER(mpsc_replace_crash, 30, "events.mpsc.recycle", "events.pool.dead-holder");

/* ------------------------------------------------------------ truncation */

static void truncated(void)
{
	char *p = new_path();
	struct shmk_events_opts o = { .blocking = true };
	struct shmk_events *r = must_open(p, &o);
	struct shmk_events_tx *tx, *prod;
	struct shmk_events_rx *rx, *cons;
	char buf[16];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(shmk_events_split_spsc(r, &tx, &rx), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_split_mpsc(r, &prod, &cons), 0);
	/* the whole file is there: every check says so */
	CU_ASSERT_EQUAL(shmk_events_check(r), 0);
	CU_ASSERT_EQUAL(shmk_events_tx_check(tx), 0);
	CU_ASSERT_EQUAL(shmk_events_rx_check(rx), 0);
	CU_ASSERT_EQUAL(shmk_events_check(NULL), -EINVAL);
	/* claims (one fstat each), then the hot path makes no fstat at all */
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "a", 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(shmk_fault_set("fstat:1"), 0);
	for (int i = 0; i < 2000; i++) {
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_send(tx, "x", 1, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(shmk_events_try_recv(rx, buf, sizeof(buf), &n, NULL), 0);
	}
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);

	/* parked in recv on the empty queue when a peer cuts everything but
	 * the header page: the wait wakes within its slice and reports it */
	pid_t pid = t_fork_truncator(p, 4096);
	CU_ASSERT_EQUAL(shmk_events_recv(rx, buf, sizeof(buf), &n, 120LL * 1000000000, NULL),
			SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(h_wait(pid, 30), 0);
	CU_ASSERT_EQUAL(shmk_events_check(r), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_tx_check(tx), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_rx_check(cons), SHMK_ETRUNCATED);
	/* the blocking sender checks before it parks too (the queue is cut,
	 * so only a full queue could reach the park: an MPSC producer's
	 * first operation is its claim, which checks) */
	CU_ASSERT_EQUAL(shmk_events_try_send(prod, "x", 1, NULL), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_send(prod, "x", 1, 0, NULL), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_try_recv(cons, buf, sizeof(buf), &n, NULL), SHMK_ETRUNCATED);
	struct shmk_events_tx *t2;
	struct shmk_events_rx *r2;
	CU_ASSERT_EQUAL(shmk_events_split_spsc(r, &t2, &r2), SHMK_ETRUNCATED);
	/* with the header gone too, closing claimed handles touches nothing */
	CU_ASSERT_EQUAL(truncate(p, 0), 0);
	CU_ASSERT_EQUAL(shmk_events_check(r), SHMK_ETRUNCATED);
	/* closes say what they could not undo (the role words stay) */
	CU_ASSERT_EQUAL(shmk_events_tx_close(tx), SHMK_ETRUNCATED);
	CU_ASSERT_EQUAL(shmk_events_rx_close(rx), SHMK_ETRUNCATED);
	shmk_events_tx_close(prod);
	shmk_events_rx_close(cons);
	CU_ASSERT_EQUAL(shmk_events_close(r), 0);
	CU_ASSERT_EQUAL(mapped(p), 0);
	unlink(p);
}
H_REGISTER(truncated, 120, "events.truncate.check", "events.truncate.claim", "events.truncate.wait", "events.truncate.close", "events.truncate.hot-path", "events.split.truncated");

/* ------------------------------------------------------------ main */



int main(int argc, char **argv)
{
	return h_main(argc, argv, "events", NULL, NULL);
}
