/* SPDX-License-Identifier: MIT */
/* events tests: layout, describe, the open/init race, names and modes, joiners refused by validation. */
#include "events_test.h"

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
	CU_ASSERT_EQUAL(u32, SHMK_EVENTS_CAP_SEQ); /* capabilities */
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
	CU_ASSERT_EQUAL(offsetof(struct shmk_events_slot, seq), 12); /* the v1 slot's padding */
	shmk_events_close(r);

	/* with the wake section */
	p = new_path();
	struct shmk_events_opts o = { .blocking = true };
	r = must_open(p, &o);
	b = shmk_events_as_ptr(r, &len);
	memcpy(&u32, b + 8, 4);
	CU_ASSERT_EQUAL(u32, SHMK_EVENTS_CAP_WAKE | SHMK_EVENTS_CAP_SEQ | SHMK_EVENTS_CAP_ASYM);
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

static void describe(void)
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
	CU_ASSERT_EQUAL(ei.capabilities,
			SHMK_EVENTS_CAP_WAKE | SHMK_EVENTS_CAP_SEQ | SHMK_EVENTS_CAP_ASYM);
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
H_REGISTER(describe, 20, "events.describe.info");

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
			pids[i] = t_fork_run(racer, NULL);
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
/* r[events.layout.asym]: a blocking region is made with the bit; one made
 * without it (a build before the asymmetric fence) has its wake words
 * marked FENCED by a newer joiner, so every newer waker fences there; a
 * further unknown bit is still refused (what an older build does with
 * 0x8). */
static void c_asym_unknown(struct shmk_events_header *h)
{
	h->v1.capabilities |= 0x80;
}

static void asym_cap(void)
{
	struct shmk_events_opts blk = { .blocking = true };
	char *p = new_path();
	struct shmk_events *r = must_open(p, &blk);
	const struct shmk_events_wake *wk =
		(const void *)((const uint8_t *)shmk_events_as_ptr(r, NULL) + SHMK_EVENTS_BASE_BYTES);
	/* registered here (this kernel has membarrier): no mark */
	if (shmk_wait__asym())
		CU_ASSERT_EQUAL(atomic_load(&wk->spsc_data.waiters), 0);
	shmk_events_close(r);

	int fd;
	struct shmk_events_header *h = map_hdr(p, &fd);
	CU_ASSERT_EQUAL(h->v1.capabilities & SHMK_EVENTS_CAP_ASYM, SHMK_EVENTS_CAP_ASYM);
	h->v1.capabilities &= ~SHMK_EVENTS_CAP_ASYM;
	unmap_hdr(h, fd);
	r = must_open(p, &blk);
	wk = (const void *)((const uint8_t *)shmk_events_as_ptr(r, NULL) + SHMK_EVENTS_BASE_BYTES);
	CU_ASSERT_EQUAL(atomic_load(&wk->spsc_data.waiters), SHMK_WAIT_FENCED);
	CU_ASSERT_EQUAL(atomic_load(&wk->spsc_space.waiters), SHMK_WAIT_FENCED);
	CU_ASSERT_EQUAL(atomic_load(&wk->mpsc_data.waiters), SHMK_WAIT_FENCED);
	CU_ASSERT_EQUAL(atomic_load(&wk->mpsc_space.waiters), SHMK_WAIT_FENCED);
	shmk_events_close(r);

	CU_ASSERT_EQUAL(open_in_child(corrupted(c_asym_unknown), NULL), SHMK_EINCOMPAT);
}
H_REGISTER(asym_cap, 30, "events.layout.asym", "events.validate.caps");

H_REGISTER(joiners, 60, "events.validate.aligned", "events.validate.short", "events.validate.initialized", "events.validate.magic", "events.validate.version", "events.validate.kind", "events.validate.caps", "events.validate.layout-bytes");
