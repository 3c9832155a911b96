/* SPDX-License-Identifier: MIT */
/* ring tests: writers: hand-off, locks, crash recovery, space and bounds. */
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include "ring_test.h"

/* ---------------------------------------------------------------- writers */

/* A writer in an unrelated (re-exec'd) process gets its fd by SCM_RIGHTS. */
static void handoff(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	int peer;
	pid_t pid = spawn_writer_role(f.r, 0xfeed, "write", "50", "300", &peer);

	CU_ASSERT_EQUAL(read_seq(f.r, 0xfeed, 50, 300, 0, 300), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	close(peer);
	/* a consumed or foreign fd is refused, and closed */
	struct shmk_ring_writer *w = NULL;
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CU_ASSERT_EQUAL(write(sv[0], "junkjunkjunkjunk", 16), 16);
	CU_ASSERT_EQUAL(shmk_ring_writer_open(sv[1], &w), -EPROTO);
	CU_ASSERT_EQUAL(fcntl(sv[1], F_GETFD), -1);
	close(sv[0]);
	rfx_close(&f);
}
H_REGISTER(handoff, 30, "ring.writer.handoff");

/* SIGKILLs itself holding the writer; with go (a pipe) given, only once a
 * byte arrives on it. */
static int die_holding(struct shmk_ring_writer *w, void *go)
{
	char c;

	(void)w;
	if (go) {
		close(((int *)go)[1]);
		if (read(((int *)go)[0], &c, 1) != 1)
			return 11;
	}
	raise(SIGKILL);
	return 12;
}

static void peer_fd(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	int peer, go[2];
	int wfd = new_writer_fd(f.r, 1, &peer);

	CU_ASSERT_FATAL(pipe(go) == 0);
	pid_t pid = fork_writer_do(wfd, die_holding, go);
	close(go[0]);
	struct pollfd pf = { .fd = peer, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&pf, 1, 0), 0); /* writer alive: nothing to report */
	CU_ASSERT_EQUAL(write(go[1], "k", 1), 1);
	CU_ASSERT_EQUAL(poll(&pf, 1, (int)h_deadline(10) * 1000), 1);
	CU_ASSERT(pf.revents & POLLHUP);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);
	close(peer);
	close(go[1]);

	/* a writer that closes its handle: the same */
	wfd = new_writer_fd(f.r, 2, &peer);
	struct shmk_ring_writer *w;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_writer_open(wfd, &w), 0);
	pf.fd = peer;
	CU_ASSERT_EQUAL(poll(&pf, 1, 0), 0);
	shmk_ring_writer_close(w);
	CU_ASSERT_EQUAL(poll(&pf, 1, 0), 1);
	CU_ASSERT(pf.revents & POLLHUP);
	close(peer);
	rfx_close(&f);
}
H_REGISTER(peer_fd, 30, "ring.writer.peer_fd");

/* Several writer processes at once, per-writer tags, per-writer order. */
static void multi_writer(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	enum { W = 4, N = 1500 };
	pid_t pids[W];
	uint64_t next[W] = { 0 };
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	for (int k = 0; k < W; k++) {
		int wfd = new_writer_fd(f.r, 100 + (uint64_t)k, NULL);
		pids[k] = fork_writer(wfd, 100 + (uint64_t)k, N, (size_t)k * 11, 97, 3000);
		close(wfd);
	}
	int bad = 0;
	for (int m = 0; m < W * N; m++) {
		uint64_t t;
		size_t n;
		int rc = shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 20ll * 1000000000);
		if (rc) {
			bad++;
			break;
		}
		if (t < 100 || t >= 100 + W) {
			bad++;
			continue;
		}
		int k = (int)(t - 100);
		uint64_t i = next[k]++;
		size_t want = ((size_t)k * 11 + i * 97) % 3001;
		if (n != want || !check(buf, n, t, i))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (int k = 0; k < W; k++) {
		CU_ASSERT_EQUAL(next[k], N);
		CU_ASSERT_EQUAL(h_wait(pids[k], h_deadline(30)), 0);
	}
	rfx_close(&f);
}
H_REGISTER(multi_writer, 60, "ring.writer.tag", "ring.writer.lock+2");

static void register_writers(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	struct shmk_ring_wpage *wp = (struct shmk_ring_wpage *)(void *)(f.raw + PAGE + CAP64K);
	struct shmk_ring_writer *ws[SHMK_RING_MAX_WRITERS];

	/* a dead writer's slot is reusable */
	pid_t pid = fork_writer_do(new_writer_fd(f.r, 1, NULL), die_holding, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);
	CU_ASSERT(atomic_load(&wp->slots[0].token) != 0); /* left behind by the dead */
	CU_ASSERT_EQUAL(atomic_load(&wp->registered), 1);

	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++) {
		ws[i] = NULL;
		int fd = new_writer_fd(f.r, 1000 + i, NULL);
		CU_ASSERT_EQUAL(shmk_ring_writer_open(fd, &ws[i]), 0);
	}
	CU_ASSERT_EQUAL(wp->slots[0].tag, 1000); /* took the dead writer's slot */
	int fd = new_writer_fd(f.r, 5000, NULL);
	struct shmk_ring_writer *extra = NULL;
	CU_ASSERT_EQUAL(shmk_ring_writer_open(fd, &extra), SHMK_EBUSY);
	/* close clears the slot, so the next open fits */
	shmk_ring_writer_close(ws[7]);
	CU_ASSERT_EQUAL(atomic_load(&wp->slots[7].token), 0);
	fd = new_writer_fd(f.r, 5001, NULL);
	CU_ASSERT_EQUAL(shmk_ring_writer_open(fd, &ws[7]), 0);
	CU_ASSERT_EQUAL(wp->slots[7].tag, 5001);
	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++)
		shmk_ring_writer_close(ws[i]);
	for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++)
		CU_ASSERT_EQUAL(atomic_load(&wp->slots[i].token), 0);
	rfx_close(&f);
}
H_REGISTER(register_writers, 30, "ring.writer.register");

/* The reader's mapping of the writers page (and the ring) is read-only: a
 * stray store through it faults instead of wedging the writers' lock. */
/* Mappings of `path` in /proc/self/maps that cover file offset `off`
 * (one may start below it: the kernel merges a part with its neighbour
 * when their file offsets and addresses both run on); *writable of them
 * are writable. */
static int maps_at(const char *path, unsigned long long off, int *writable)
{
	FILE *m = fopen("/proc/self/maps", "r");
	char line[512], perms[8];
	unsigned long long lo, hi, o;
	int found = 0;

	CU_ASSERT_FATAL(m != NULL);
	*writable = 0;
	while (fgets(line, sizeof(line), m))
		if (strstr(line, path) &&
		    sscanf(line, "%llx-%llx %7s %llx", &lo, &hi, perms, &o) == 4 && o <= off &&
		    off - o < hi - lo) {
			found++;
			*writable += perms[1] == 'w';
		}
	fclose(m);
	return found;
}

static void lock_readonly(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 1, false);
	int writable;

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "x", 1), 0);
	CU_ASSERT_EQUAL(rfx_first(&f, 0, 24), 0);
	/* the writers page is the only part mapping file offset page +
	 * capacity: two of them, the reader's (read-only) and the writer's */
	CU_ASSERT_EQUAL(maps_at(f.path, PAGE + CAP64K, &writable), 2);
	CU_ASSERT_EQUAL(writable, 1);
	rfx_close_writer(&f);
	/* with the writer gone, the reader's is the only one and it is f.r/o */
	CU_ASSERT_EQUAL(maps_at(f.path, PAGE + CAP64K, &writable), 1);
	CU_ASSERT_EQUAL(writable, 0);
	rfx_close(&f);
}
H_REGISTER(lock_readonly, 20, "ring.writer.lock+2");

/* A writer SIGKILLed at a crash point while holding the lock: the next
 * writer recovers and the reader sees only whole records. */
static void crash_case(const char *point, const char *op, const char *count, const char *len)
{
	struct rfx f = rfx_new(CAP64K, 0, 1, true);
	int peer;

	/* one good record first, so the crash lands mid-ring */
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "good", 4), 0);
	rfx_close_writer(&f);

	setenv("SHMK_CRASH_AT", point, 1);
	pid_t pid = spawn_writer_role(f.r, 66, op, count, len, &peer);
	unsetenv("SHMK_CRASH_AT");
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 128 + SIGKILL);
	/* nothing of the dead writer was published */
	CU_ASSERT_EQUAL(atomic_load(&raw_hdr(f.raw)->head), 24);

	/* the next writer (another process) gets the lock and writes */
	int wfd = new_writer_fd(f.r, 2, NULL);
	pid = fork_writer(wfd, 2, 3, 100, 0, 100);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t t;
	char buf[256];
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(t, 1);
	for (uint64_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
		CU_ASSERT_EQUAL(t, 2);
		CU_ASSERT_EQUAL(n, 100);
		CU_ASSERT(check((uint8_t *)buf, 100, 2, i));
	}
	/* nothing more, and every writer is gone (the crashed one included) */
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 24 + 3 * 120, 0), SHMK_EPEERDEAD);
	close(peer);
	rfx_close(&f);
}

static void reserve_crash(void)
{
	crash_case("ring.commit", "reserve", "1", "4000");
}
H_REGISTER(reserve_crash, 40, "ring.writer.reserve", "ring.writer.lock.recover");

static void lock_recover(void)
{
	crash_case("ring.write.locked", "write", "5", "200");
	crash_case("ring.write.copied", "write", "5", "200");
}
H_REGISTER(lock_recover, 80, "ring.writer.lock.recover");

static void publish_torn(void)
{
	crash_case("ring.write.copying", "write", "5", "1000");
	crash_case("ring.write.copied", "write", "5", "200");
}
H_REGISTER(publish_torn, 80, "ring.writer.publish");

static void lock_deadline(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	int go[2], ready[2];
	int wfd = new_writer_fd(f.r, 1, NULL);

	CU_ASSERT_FATAL(pipe(go) == 0 && pipe(ready) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		void *p;
		char c;
		if (shmk_ring_writer_open(wfd, &w) || shmk_ring_reserve(w, 64, &p))
			_exit(10);
		memset(p, 1, 64);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(11);
		_exit(shmk_ring_discard(w) ? 12 : 0);
	}
	close(wfd);
	char c;
	CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
	setenv("SHMK_LIVENESS_MS", "200", 1);
	f.w = local_writer(f.r, 2);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "blocked", 7), SHMK_EBUSY);
	uint64_t head;
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 0);
	CU_ASSERT_EQUAL(write(go[1], "g", 1), 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	unsetenv("SHMK_LIVENESS_MS");
	/* discarded: the lock is free and head never moved */
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "free", 4), 0);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 24);
	rfx_close(&f);
}
H_REGISTER(lock_deadline, 30, "ring.writer.lock.deadline");

/* A hostile reader writes impossible head/tail; a writer in another
 * process refuses with SHMK_EINTEGRITY and writes nothing. */
struct garbage {
	uint64_t head, tail;
};

static void validate(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	struct shmk_ring_hdr *h = raw_hdr(f.raw);
	const struct garbage cases[] = {
		{ 13, 0 },			/* head not a multiple of 8 */
		{ 64, 72 },			/* tail > head */
		{ CAP64K + 8, 0 },		/* more unread than the ring holds */
		{ UINT64_MAX - 7, 8 },		/* ditto, far */
		{ 4, 4 },
	};
	memset(f.raw + PAGE, 0x5A, CAP64K);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		atomic_store(&h->head, cases[i].head);
		atomic_store(&h->tail, cases[i].tail);
		struct snap s = take(f.raw, f.len);
		int wfd = new_writer_fd(f.r, 1, NULL);
		pid_t pid = fork();
		if (pid == 0) {
			struct shmk_ring_writer *w;
			void *p;
			if (shmk_ring_writer_open(wfd, &w))
				_exit(10);
			if (shmk_ring_write(w, "evil", 4) != SHMK_EINTEGRITY)
				_exit(11);
			if (shmk_ring_reserve(w, 4, &p) != SHMK_EINTEGRITY)
				_exit(12);
			shmk_ring_writer_close(w);
			_exit(0);
		}
		close(wfd);
		CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
		CU_ASSERT(same_ring(&s, f.raw, f.len));
		CU_ASSERT_EQUAL(atomic_load(&h->head), cases[i].head);
		CU_ASSERT_EQUAL(atomic_load(&h->tail), cases[i].tail);
		free(s.bytes);
	}
	/* sane again: the writer works */
	atomic_store(&h->head, 64);
	atomic_store(&h->tail, 64);
	f.w = local_writer(f.r, 1);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "ok", 2), 0);
	rfx_close(&f);
}
H_REGISTER(validate, 40, "ring.writer.validate+3");

/* The one message at tail, read and checked: its tag and its bytes. */
static void read_one(struct shmk_ring *r, uint64_t tag, const char *want)
{
	char buf[64];
	uint64_t t = 0;
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(shmk_ring_read_message(r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(t, tag);
	CU_ASSERT(n == strlen(want) && memcmp(buf, want, n) == 0);
}

/* A sole writer keeps head and tail: a head the reader scribbles is not
 * loaded (the next publish stores the true one), tail is loaded again only
 * when the record does not fit (and then validated).  Once a second writer
 * registers, the first loads both again: its next record lands after the
 * second's, which a writer still keeping its head would overwrite. */
static void sole(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	struct shmk_ring_hdr *h = raw_hdr(f.raw);
	uint64_t rl = shmk_ring_record_len(2), head;

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a1", 2), 0);
	atomic_store(&h->head, 13);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a2", 2), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->head), 2 * rl);
	read_one(f.r, 0xA, "a1");
	read_one(f.r, 0xA, "a2");
	/* full against the kept tail: loaded again, and a hostile one refused */
	while (shmk_ring_write(f.w, "fill", 4) == 0)
		;
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "fill", 4), SHMK_EFULL);
	uint64_t t0 = atomic_load(&h->tail);
	atomic_store(&h->tail, atomic_load(&h->head) + 8);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "fill", 4), SHMK_EINTEGRITY);
	atomic_store(&h->tail, t0);
	read_one(f.r, 0xA, "fill");
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "fill", 4), 0);
	while (shmk_ring_head(f.r, &head) == 0 && shmk_ring_tail(f.r, &t0) == 0 && t0 < head)
		read_one(f.r, 0xA, "fill");

	/* b is closed before a writes again: registered never goes down, so
	 * a writer that merely left still rules the kept head out */
	struct shmk_ring_writer *b = local_writer(f.r, 0xB);
	CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), 0);
	shmk_ring_writer_close(b);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a3", 2), 0);
	read_one(f.r, 0xB, "b1");
	read_one(f.r, 0xA, "a3");
	/* and a scribbled head is seen again */
	shmk_ring_head(f.r, &head);
	atomic_store(&h->head, 13);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a4", 2), SHMK_EINTEGRITY);
	atomic_store(&h->head, head);
	rfx_close(&f);
}
H_REGISTER(sole, 30, "ring.writer.sole+6");

/* Forks a child that waits for a byte on go, then exits with fn(arg). */
static pid_t fork_held(int go[2], int (*fn)(void *), void *arg)
{
	char c;

	CU_ASSERT_FATAL(pipe(go) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		_exit(read(go[0], &c, 1) == 1 ? fn(arg) : 11);
	}
	close(go[0]);
	return pid;
}

/* Lets fork_held's child run and reaps it: it must exit 0. */
static void release_held(int go[2], pid_t pid)
{
	CU_ASSERT_EQUAL(write(go[1], "g", 1), 1);
	close(go[1]);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
}

/* w writes the 2-byte msg; then the header's head is `records` records. */
static void write_two(struct rfx *f, const char *msg, uint64_t records)
{
	uint64_t head = 0;

	CU_ASSERT_EQUAL(shmk_ring_write(f->w, msg, 2), 0);
	shmk_ring_head(f->r, &head);
	CU_ASSERT_EQUAL(head, records * shmk_ring_record_len(2));
}

/* Opens the writer fd *arg as b, writes "b1", closes. */
static int open_write_b1(void *arg)
{
	struct shmk_ring_writer *b = NULL;

	if (shmk_ring_writer_open(*(int *)arg, &b))
		return 10;
	int rc = shmk_ring_write(b, "b1", 2);
	shmk_ring_writer_close(b);
	return rc ? 12 : 0;
}

/* The same with the second writer a real process that registers, writes
 * one record and is gone (exited, its slot given up) between a's records:
 * a2 must land after b1, not on it.  The process is forked before a is
 * opened, so a's handle has seen no fork (ring.writer.sole+6) and only
 * registered can tell a about b. */
static void sole_process(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	int wfd = new_writer_fd(f.r, 0xB, NULL), go[2];
	pid_t pid = fork_held(go, open_write_b1, &wfd);

	close(wfd);
	f.w = local_writer(f.r, 0xA);
	write_two(&f, "a1", 1);
	release_held(go, pid);
	write_two(&f, "a2", 3);
	read_one(f.r, 0xA, "a1");
	read_one(f.r, 0xB, "b1");
	read_one(f.r, 0xA, "a2");
	rfx_close(&f);
}
H_REGISTER(sole_process, 30, "ring.writer.sole+6");

/* Writes "c1" with the parent's handle (*arg), without closing it: the
 * slot is the parent's. */
static int write_c1(void *arg)
{
	return shmk_ring_write(*(struct shmk_ring_writer **)arg, "c1", 2) ? 12 : 0;
}

/* Forbidden but harmless: a forked child writes with its parent's handle
 * (a copy of its kept head; the child registers nothing, so registered
 * stays 1).  Parent p1, fork, parent p2, child c1, parent p3: with either
 * copy keeping its head, c1 lands on p2 or p3 on c1 and head goes back.
 * Every record is there, in order, and head only grows. */
static void sole_fork(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, false);
	uint64_t head = 0;
	int go[2];

	write_two(&f, "p1", 1);
	pid_t pid = fork_held(go, write_c1, &f.w);
	write_two(&f, "p2", 2);
	release_held(go, pid);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 3 * shmk_ring_record_len(2));
	write_two(&f, "p3", 4);
	read_one(f.r, 0xA, "p1");
	read_one(f.r, 0xA, "p2");
	read_one(f.r, 0xA, "c1");
	read_one(f.r, 0xA, "p3");
	rfx_close(&f);
}
H_REGISTER(sole_fork, 30, "ring.writer.sole+6");

/* The end of a solo test: head covers exactly the 2-byte records listed
 * (space-separated, "a..." from a's tag 0xA, "b..." from 0xB), the reader
 * gets them in that order, and b and the fixture are closed. */
static void solo_end(struct rfx *f, struct shmk_ring_writer *b, const char *order)
{
	uint64_t head = 0, n = 0;
	char msg[3] = { 0 };

	for (const char *p = order; *p; p += p[2] ? 3 : 2)
		n++;
	shmk_ring_head(f->r, &head);
	CU_ASSERT_EQUAL(head, n * shmk_ring_record_len(2));
	for (const char *p = order; *p; p += p[2] ? 3 : 2) {
		memcpy(msg, p, 2);
		read_one(f->r, p[0] == 'a' ? 0xA : 0xB, msg);
	}
	shmk_ring_writer_close(b);
	rfx_close(f);
}

static struct shmk_ring_wpage *solo_wp(struct rfx *f)
{
	return (void *)(f->raw + f->len - PAGE);
}

/* a1 and a2 written (the second unlocked: a armed), a3 reserved and
 * filled, not committed: its reservation holds busy, not the lock (else a
 * second writer's SHMK_EBUSY would come from the lock's deadline just as
 * well).  f raw. */
static void solo_hold_a3(struct rfx *f)
{
	void *p;

	write_two(f, "a1", 1);
	write_two(f, "a2", 2); /* unlocked from here */
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(f->w, 2, &p), 0);
	CU_ASSERT_NOT_EQUAL(atomic_load(&solo_wp(f)->busy), 0);
	memcpy(p, "a3", 2);
}

/* Reads a1 and a2 (tag 0xA), then msg (tag), and closes f. */
static void solo_read3(struct rfx *f, uint64_t tag, const char *msg)
{
	read_one(f->r, 0xA, "a1");
	read_one(f->r, 0xA, "a2");
	read_one(f->r, tag, msg);
	rfx_close(f);
}

/* The sole writer writes unlocked once armed (its first record, locked,
 * arms it): a reservation it holds is its busy word, not the lock.  A
 * second writer that registers meanwhile must wait for it (SHMK_EBUSY
 * within the bound while the record stays open, writing nothing) and not
 * write over the reserved bytes; once a commits, b's record follows a's. */
static void solo_busy(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	uint64_t rl = shmk_ring_record_len(2), head = 0;

	solo_hold_a3(&f);
	setenv("SHMK_LIVENESS_MS", "200", 1);
	struct shmk_ring_writer *b = local_writer(f.r, 0xB);
	CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), SHMK_EBUSY);
	unsetenv("SHMK_LIVENESS_MS");
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 2 * rl);
	CU_ASSERT_EQUAL(shmk_ring_commit(f.w), 0);
	CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), 0);
	/* a takes the lock from now on: its next record follows b's */
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a4", 2), 0);
	solo_end(&f, b, "a1 a2 a3 b1 a4");
}
H_REGISTER(solo_busy, 30, "ring.writer.solo+4", "ring.writer.solo.drain");

/* The sole writer (the only one registered) killed in its third record,
 * unlocked: its busy word names a dead process; the next writer (another
 * process) fences, sees it dead at once (no SHMK_EBUSY wait) and writes
 * after the two published records. */
static void solo_crash(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	int peer;

	setenv("SHMK_CRASH_AT", "ring.write.copied:3", 1);
	pid_t pid = spawn_writer_role(f.r, 66, "write", "5", "200", &peer);
	unsetenv("SHMK_CRASH_AT");
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 128 + SIGKILL);
	CU_ASSERT_EQUAL(atomic_load(&raw_hdr(f.raw)->head), 2 * 216);
	struct shmk_ring_wpage *wp = (void *)(f.raw + f.len - (size_t)sysconf(_SC_PAGESIZE));
	CU_ASSERT_NOT_EQUAL(atomic_load(&wp->busy), 0); /* it died unlocked */

	int wfd = new_writer_fd(f.r, 2, NULL);
	pid = fork_writer(wfd, 2, 3, 100, 0, 100);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t t;
	char buf[256];
	size_t n;
	for (uint64_t i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
		CU_ASSERT(t == 66 && n == 200);
	}
	for (uint64_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
		CU_ASSERT(t == 2 && n == 100);
		CU_ASSERT(check((uint8_t *)buf, 100, 2, i));
	}
	close(peer);
	rfx_close(&f);
}
H_REGISTER(solo_crash, 40, "ring.writer.solo+4", "ring.writer.solo.dead+2");

/* A fork by ANOTHER thread of the sole writer's process.  The writer
 * thread writes while the forking thread is still inside fork's parent
 * handlers (an application handler registered before shmkit's holds it
 * there), after the child wrote with its copy of the handle: the writer
 * must not use its kept head (the child's record would be lost and head
 * move back), so the generation is bumped in prepare, before the copy,
 * and re-checked after the busy store. */
static struct {
	struct shmk_ring_writer *w;
	int armed;		/* the app's parent handler acts (one fork) */
	pid_t parent;
	int child_done[2], t1_go[2], t1_done[2];
	int t1_rc;
} ft;

static void ft_parent(void)
{
	char b;

	if (!ft.armed || getpid() != ft.parent)
		return;
	ft.armed = 0;
	/* the child wrote; let the writer thread write now; wait for it */
	if (read(ft.child_done[0], &b, 1) != 1 || write(ft.t1_go[1], "g", 1) != 1 ||
	    read(ft.t1_done[0], &b, 1) != 1)
		ft.t1_rc = -1000;
}

static void *ft_writer(void *arg)
{
	char b;

	(void)arg;
	if (read(ft.t1_go[0], &b, 1) != 1)
		return NULL;
	ft.t1_rc = shmk_ring_write(ft.w, "a3", 2);
	if (write(ft.t1_done[1], "d", 1) != 1)
		ft.t1_rc = -1001;
	return NULL;
}

static void *ft_forker(void *arg)
{
	(void)arg;
	ft.armed = 1;
	pid_t p = fork();
	if (p == 0) {
		char big[200];
		memset(big, 'C', sizeof(big));
		int rc = shmk_ring_write(ft.w, big, sizeof(big));
		_exit(write(ft.child_done[1], "c", 1) == 1 && rc == 0 ? 0 : 13);
	}
	if (p > 0)
		CU_ASSERT_EQUAL(h_wait(p, h_deadline(20)), 0);
	return NULL;
}

static void solo_fork_thread(void)
{
	CU_ASSERT_EQUAL_FATAL(pipe(ft.child_done) | pipe(ft.t1_go) | pipe(ft.t1_done), 0);
	ft.parent = getpid();
	/* before shmkit's (registered at the first writer open): parent
	 * handlers run in registration order */
	CU_ASSERT_EQUAL_FATAL(pthread_atfork(NULL, ft_parent, NULL), 0);
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	uint64_t rl = shmk_ring_record_len(2), head = 0;
	char buf[256];
	uint64_t t;
	size_t n;

	ft.w = f.w;
	write_two(&f, "a1", 1);
	write_two(&f, "a2", 2); /* unlocked from here */
	/* armed: else the writer thread takes the lock whatever the fork
	 * generation says, and this test proves nothing of the unlocked path */
	CU_ASSERT_EQUAL(atomic_load(&solo_wp(&f)->solo), 1);
	pthread_t a, b;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&a, NULL, ft_writer, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&b, NULL, ft_forker, NULL), 0);
	pthread_join(b, NULL);
	pthread_join(a, NULL);
	CU_ASSERT_EQUAL(ft.t1_rc, 0);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 3 * rl + shmk_ring_record_len(200));
	read_one(f.r, 0xA, "a1");
	read_one(f.r, 0xA, "a2");
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT(t == 0xA && n == 200 && buf[0] == 'C' && buf[199] == 'C');
	read_one(f.r, 0xA, "a3");
	rfx_close(&f);
}
H_REGISTER(solo_fork_thread, 30, "ring.writer.sole+6", "ring.writer.solo+4");

/* A fork by another thread lands between the sole writer thread's first
 * fork-generation check and its busy store (the delay point ring.solo.gap:
 * its sleep is interrupted by a signal whose handler parks the thread on a
 * pipe until the child wrote, so the order does not hang on the machine's
 * load; a fixed sleep (400 ms) let a slow fork and first write lose the
 * race and fail the test): the child drains (busy still 0) and writes C1.  The writer
 * thread, after its busy store, must load the generation again and take
 * the lock for its reservation a3: else it reserves unlocked while the
 * child, drained for this generation, writes C2 under the lock at the same
 * head.  With the lock, C2 waits for a3's commit: C1 a3 C2. */
static struct shmk_ring_writer *gap_w;
static int gap_rc = 1, gap_res[2], gap_commit[2], gap_go[2];

/* SIGUSR2 in the writer thread, inside the delay point: stay in the gap
 * until the main thread says the child wrote */
static void gap_park(int sig)
{
	int e = errno;
	char c;
	ssize_t n = read(gap_go[0], &c, 1);

	(void)sig;
	(void)n;
	errno = e;
}

static void *gap_writer(void *arg)
{
	void *p;
	char c;

	(void)arg;
	int rc = shmk_ring_reserve(gap_w, 2, &p);
	if (!rc)
		memcpy(p, "a3", 2);
	if (write(gap_res[1], "r", 1) != 1 || read(gap_commit[0], &c, 1) != 1)
		rc = -1000;
	gap_rc = rc ? rc : shmk_ring_commit(gap_w);
	return NULL;
}

static int gap_child_write(char c)
{
	char big[200];

	memset(big, c, sizeof(big));
	return shmk_ring_write(gap_w, big, sizeof(big));
}

static void solo_fork_gap(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	struct shmk_ring_wpage *wp = (void *)(f.raw + f.len - PAGE);
	uint64_t rl = shmk_ring_record_len(2), big = shmk_ring_record_len(200), head = 0, t;
	int c1[2], go[2];
	char buf[256], c;
	size_t n;

	write_two(&f, "a1", 1);
	write_two(&f, "a2", 2); /* unlocked from here */
	CU_ASSERT_EQUAL_FATAL(atomic_load(&wp->solo), 1);
	CU_ASSERT_EQUAL_FATAL(pipe(gap_res) | pipe(gap_commit) | pipe(c1) | pipe(go) |
			      pipe(gap_go), 0);
	gap_w = f.w;
	/* no SA_RESTART: the delay point's sleep ends with the handler */
	struct sigaction sa = { .sa_handler = gap_park }, old;
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR2, &sa, &old), 0);
	uint64_t hits = shmk_delay_hits(0);
	/* read by the writer thread's first delay point (per thread); the
	 * sleep only has to outlast the signal's delivery: a sleeping thread
	 * runs the handler before it can return from the delay point */
	setenv("SHMK_DELAY_AT", "ring.solo.gap", 1);
	setenv("SHMK_DELAY_US", "1000000", 1);
	setenv("SHMK_DELAY_FIXED", "1", 1);
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, gap_writer, NULL), 0);
	int64_t until = shmk_now_ns() + 5000000000;
	while (shmk_delay_hits(0) == hits && shmk_now_ns() < until)
		usleep(100);
	CU_ASSERT_FATAL(shmk_delay_hits(0) != hits);
	CU_ASSERT_EQUAL_FATAL(pthread_kill(th, SIGUSR2), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int rc = gap_child_write('C');
		if (write(c1[1], "c", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(14);
		_exit(rc == 0 && gap_child_write('D') == 0 ? 0 : 13);
	}
	CU_ASSERT_EQUAL(read(c1[0], &c, 1), 1);
	CU_ASSERT_EQUAL(gap_rc, 1); /* the writer thread is still in the gap */
	CU_ASSERT_EQUAL(write(gap_go[1], "g", 1), 1); /* leave it */
	CU_ASSERT_EQUAL(read(gap_res[0], &c, 1), 1); /* a3 reserved */
	CU_ASSERT_EQUAL(write(go[1], "g", 1), 1);
	usleep(100000); /* the child's chance to write D at a3's head */
	CU_ASSERT_EQUAL(write(gap_commit[1], "c", 1), 1);
	pthread_join(th, NULL);
	sigaction(SIGUSR2, &old, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	unsetenv("SHMK_DELAY_AT");
	unsetenv("SHMK_DELAY_US");
	unsetenv("SHMK_DELAY_FIXED");
	CU_ASSERT_EQUAL(gap_rc, 0);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 3 * rl + 2 * big);
	read_one(f.r, 0xA, "a1");
	read_one(f.r, 0xA, "a2");
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT(t == 0xA && n == 200 && buf[0] == 'C' && buf[199] == 'C');
	read_one(f.r, 0xA, "a3");
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT(t == 0xA && n == 200 && buf[0] == 'D' && buf[199] == 'D');
	for (int i = 0; i < 2; i++) {
		close(gap_res[i]);
		close(gap_commit[i]);
		close(c1[i]);
		close(go[i]);
		close(gap_go[i]);
	}
	rfx_close(&f);
}
H_REGISTER(solo_fork_gap, 20, "ring.writer.solo+4", "ring.writer.sole+6",
	   "reliability.hook.delay.fixed");

/* The sole writer's thread reserves (unlocked) and exits without commit,
 * its process living on: busy names a dead thread, so the next writer
 * writes at once (the reservation published nothing), instead of failing
 * with SHMK_EBUSY for as long as the process lives, and clears busy; but
 * not while owner_ns names another pid namespace than the process found. */
static void *reserve_and_exit(void *arg)
{
	void *p;

	return (void *)(intptr_t)shmk_ring_reserve(arg, 8, &p);
}

static void solo_thread_exit(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	struct shmk_ring_wpage *wp = (void *)(f.raw + f.len - PAGE);
	void *res = (void *)1;

	write_two(&f, "a1", 1);
	write_two(&f, "a2", 2); /* unlocked from here */
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, reserve_and_exit, f.w), 0);
	pthread_join(th, &res);
	CU_ASSERT_EQUAL(res, NULL);
	CU_ASSERT_NOT_EQUAL(atomic_load(&wp->busy), 0); /* it died unlocked */
	setenv("SHMK_LIVENESS_MS", "200", 1);
	struct shmk_ring_writer *b = local_writer(f.r, 0xB);
	/* the /proc proof holds only in the owner's pid namespace (a process
	 * of another one may have the owner's pid and start tick): another
	 * namespace's inode in owner_ns, and the dead thread counts alive */
	uint64_t ns = atomic_load(&wp->owner_ns);
	CU_ASSERT_NOT_EQUAL(ns, 0);
	atomic_store(&wp->owner_ns, ns + 1);
	CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), SHMK_EBUSY);
	atomic_store(&wp->owner_ns, ns);
	CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), 0);
	unsetenv("SHMK_LIVENESS_MS");
	CU_ASSERT_EQUAL(atomic_load(&wp->busy), 0); /* cleared under the lock */
	solo_end(&f, b, "a1 a2 b1");
}
H_REGISTER(solo_thread_exit, 30, "ring.writer.solo+4", "ring.writer.solo.dead+2");

/* A writer that registers after the sole writer armed must fence it with
 * membarrier before it writes; refused (SHMK_FAULT=membarrier: the heavy
 * barrier is the first membarrier call after the fault is set), its write
 * fails with the errno and writes nothing; its next write fences and
 * lands after a's records. */
static void solo_membarrier_refused(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, false);
	uint64_t rl = shmk_ring_record_len(2), head = 0;

	write_two(&f, "a1", 1);
	write_two(&f, "a2", 2); /* unlocked from here */
	struct shmk_ring_writer *b = local_writer(f.r, 0xB);
	CU_ASSERT_EQUAL_FATAL(shmk_fault_set("membarrier:1"), 0);
	CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), -EPERM);
	CU_ASSERT_EQUAL(shmk_fault_fired(), 1);
	shmk_fault_set(NULL);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 2 * rl);
	CU_ASSERT_EQUAL(shmk_ring_write(b, "b2", 2), 0);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a3", 2), 0);
	solo_end(&f, b, "a1 a2 b2 a3");
}
H_REGISTER(solo_membarrier_refused, 20, "ring.writer.solo.drain");

/* The sole writer holds a reservation open; a second writer that cannot
 * see it in /proc (mode 0: another pid namespace with its own /proc; mode
 * 1: a hidepid=2 /proc and another uid) must count it alive: SHMK_EBUSY
 * within the bound, nothing written, a3 not lost.  Needs root (unshare):
 * skipped when refused. */
static int solo_hidden_child(int wfd, int mode)
{
	if (unshare(mode ? CLONE_NEWNS : CLONE_NEWNS | CLONE_NEWPID))
		return 77;
	pid_t p = mode ? 0 : fork(); /* the new pid namespace takes a child */
	if (p > 0)
		return h_wait(p, h_deadline(10));
	if (p < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", 0, mode ? "hidepid=2" : NULL))
		_exit(77);
	if (mode && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		     setresuid(65534, 65534, 65534)))
		_exit(77);
	setenv("SHMK_LIVENESS_MS", "100", 1);
	struct shmk_ring_writer *b = NULL;
	if (shmk_ring_writer_open(wfd, &b))
		_exit(10);
	int rc = shmk_ring_write(b, "b1", 2);
	_exit(rc == SHMK_EBUSY ? 0 : 12);
}

static void solo_hidden(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	uint64_t rl = shmk_ring_record_len(2), head = 0;
	int skipped = 0;

	solo_hold_a3(&f);
	for (int mode = 0; mode < 2; mode++) {
		int wfd = new_writer_fd(f.r, 0xB, NULL);
		pid_t pid = fork();
		if (pid == 0)
			_exit(solo_hidden_child(wfd, mode));
		close(wfd);
		int st = h_wait(pid, h_deadline(10));
		if (st == 77) {
			skipped++;
			continue;
		}
		CU_ASSERT_EQUAL(st, 0);
		shmk_ring_head(f.r, &head);
		CU_ASSERT_EQUAL(head, 2 * rl);
	}
	CU_ASSERT_EQUAL(shmk_ring_commit(f.w), 0);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 3 * rl);
	solo_read3(&f, 0xA, "a3");
	if (skipped == 2)
		H_SKIP("needs root for unshare and mount (pid namespace, hidepid /proc)");
}
H_REGISTER(solo_hidden, 20, "ring.writer.solo.dead+2");

/* A process whose pthread_atfork registration failed (SHMK_FAULT=atfork:
 * glibc's ENOMEM) sees no fork, so its fork generation is a sentinel: its
 * writer must still drain the sole writer once (the sentinel's "gen + 1"
 * wrapped to the "never drained" 0, and it wrote over the open record)
 * and never arm.  The role opens a writer while a's record is open: it
 * must fail with SHMK_EBUSY. */
static int role_solo_atfork(int argc, char **argv)
{
	struct role_args a;
	struct shmk_ring_writer *b = NULL;
	int wfd = role_args(argc, argv, &a);

	if (wfd < 0)
		return -wfd;
	if (shmk_ring_writer_open(wfd, &b))
		return 10;
	if (shmk_fault_fired() != 1)
		return 11; /* the registration did not fail: nothing to prove */
	int rc = shmk_ring_write(b, "b1", 2);
	shmk_ring_writer_close(b);
	return rc == SHMK_EBUSY ? 0 : 12;
}
H_ROLE("solo_atfork", role_solo_atfork);

static void solo_atfork_failed(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	uint64_t rl = shmk_ring_record_len(2), head = 0;

	solo_hold_a3(&f);
	int wfd = new_writer_fd(f.r, 0xB, NULL);
	setenv("SHMK_FAULT", "atfork:1", 1);
	setenv("SHMK_LIVENESS_MS", "100", 1);
	pid_t pid = spawn_role_fd("solo_atfork", wfd, "x", "0", "0", NULL);
	unsetenv("SHMK_FAULT");
	unsetenv("SHMK_LIVENESS_MS");
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 2 * rl);
	CU_ASSERT_EQUAL(shmk_ring_commit(f.w), 0);
	solo_read3(&f, 0xA, "a3");
}
H_REGISTER(solo_atfork_failed, 20, "ring.writer.solo.owner", "ring.writer.solo.drain");

/* ... and such a process, the only writer, never arms: its records take
 * the lock (solo stays 0). */
static int role_solo_atfork_sole(int argc, char **argv)
{
	struct role_args a;
	struct shmk_ring_writer *w = NULL;
	int wfd = role_args(argc, argv, &a);

	if (wfd < 0)
		return -wfd;
	if (shmk_ring_writer_open(wfd, &w))
		return 10;
	if (shmk_fault_fired() != 1)
		return 11;
	int rc = 0;
	for (int i = 0; i < 3 && !rc; i++)
		rc = shmk_ring_write(w, "a1", 2);
	shmk_ring_writer_close(w);
	return rc ? 12 : 0;
}
H_ROLE("solo_atfork_sole", role_solo_atfork_sole);

static void solo_atfork_never_arms(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	struct shmk_ring_wpage *wp = (void *)(f.raw + f.len - PAGE);
	int wfd = new_writer_fd(f.r, 0xA, NULL);

	setenv("SHMK_FAULT", "atfork:1", 1);
	pid_t pid = spawn_role_fd("solo_atfork_sole", wfd, "x", "0", "0", NULL);
	unsetenv("SHMK_FAULT");
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	CU_ASSERT_EQUAL(atomic_load(&wp->solo), 0);
	rfx_close(&f);
}
H_REGISTER(solo_atfork_never_arms, 20, "ring.writer.solo.owner");

/* The sole writer's process execs inside its unlocked reservation (pid
 * and start time unchanged: its thread token stays "alive"); the new image
 * opens another writer fd and must write at once: the exec dropped the
 * O_CLOEXEC OFD lock, which proves the record's writer gone. */
static int role_solo_exec(int argc, char **argv)
{
	struct shmk_ring_writer *b = NULL;

	if (argc < 2 || shmk_ring_writer_open(atoi(argv[1]), &b))
		return 10;
	setenv("SHMK_LIVENESS_MS", "300", 1);
	int rc = shmk_ring_write(b, "b1", 2);
	shmk_ring_writer_close(b);
	return rc ? 12 : 0;
}
H_ROLE("solo_exec", role_solo_exec);

static void solo_exec(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	struct shmk_ring_wpage *wp = (void *)(f.raw + f.len - PAGE);
	int wa = new_writer_fd(f.r, 0xA, NULL), wb = new_writer_fd(f.r, 0xB, NULL);
	uint64_t rl = shmk_ring_record_len(2), head = 0;

	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *a = NULL;
		void *p;
		char fdarg[16];
		if (shmk_ring_writer_open(wa, &a) || shmk_ring_write(a, "a1", 2) ||
		    shmk_ring_write(a, "a2", 2) || shmk_ring_reserve(a, 2, &p))
			_exit(20);
		memcpy(p, "a3", 2);
		if (!atomic_load(&wp->busy) || fcntl(wb, F_SETFD, 0))
			_exit(21); /* not unlocked: nothing to prove */
		snprintf(fdarg, sizeof(fdarg), "%d", wb);
		char *args[] = { "shmk-test", "--role=solo_exec", fdarg, NULL };
		execv("/proc/self/exe", args);
		_exit(22);
	}
	close(wa);
	close(wb);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 3 * rl);
	solo_read3(&f, 0xB, "b1");
}
H_REGISTER(solo_exec, 20, "ring.writer.solo.dead+2", "ring.writer.solo.owner");

/* After a fork, the sole writer takes the lock (its fork generation
 * moved) but fences nobody: only it writes unlocked, and it is here.  So
 * with membarrier refused from then on (SHMK_FAULT=membarrier: a seccomp
 * filter installed after start-up), it still writes and no membarrier is
 * tried; the forked child's copy of the handle must drain (it is not the
 * armed handle in its process: the child handler dropped its lock). */
static void solo_self_fork(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
	struct shmk_ring_wpage *wp = (void *)(f.raw + f.len - PAGE);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = SHMK_RING_SOLO_LOCK_OFF, .l_len = 1 };
	int pp[2], up[2];
	char c;

	write_two(&f, "a1", 1);
	write_two(&f, "a2", 2); /* unlocked from here */
	CU_ASSERT_EQUAL(atomic_load(&wp->solo), 1);
	CU_ASSERT_EQUAL_FATAL(pipe(pp) | pipe(up), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pp[1]);
		/* fork's child handlers ran: up; then live until told */
		_exit(write(up[1], "u", 1) == 1 && read(pp[0], &c, 1) == 0 ? 0 : 12);
	}
	close(pp[0]);
	close(up[1]);
	CU_ASSERT_EQUAL(read(up[0], &c, 1), 1);
	close(up[0]);
	CU_ASSERT_EQUAL_FATAL(shmk_fault_set("membarrier:1"), 0);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a3", 2), 0);
	CU_ASSERT_EQUAL(shmk_fault_fired(), 0);
	shmk_fault_set(NULL);
	/* the child (alive) closed its copy of the lock's descriptor: our
	 * close frees the lock */
	rfx_close_writer(&f);
	int fd = open(f.path, O_RDWR | O_CLOEXEC);
	CU_ASSERT(fd >= 0 && fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
	close(fd);
	close(pp[1]);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	solo_read3(&f, 0xA, "a3");
}
H_REGISTER(solo_self_fork, 20, "ring.writer.solo.self", "ring.writer.solo.owner");

/* A forked child's copy of the sole writer's handle, inheriting its open
 * unlocked reservation a3: the child's commit (mode 1) fails and its close
 * (both modes) forgets the reservation without clearing busy or storing
 * head, and leaves the parent's registration slot (review s7 finding 1:
 * the copy's close cleared busy, and a second writer wrote b1 where the
 * parent then published a3).  The second writer must fail with SHMK_EBUSY
 * while a3 is open and follow it once committed. */
static void solo_child_close(void)
{
	for (int mode = 0; mode < 2; mode++) {
		struct rfx f = rfx_new(CAP64K, 0, 0xA, true);
		struct shmk_ring_wpage *wp = solo_wp(&f);
		uint64_t busy, head = 0;
		int slots = 0;

		solo_hold_a3(&f);
		busy = atomic_load(&wp->busy);
		pid_t pid = fork();
		if (pid == 0) {
			int rc = mode ? shmk_ring_commit(f.w) : 0;
			_exit(rc == (mode ? -EPERM : 0) && shmk_ring_writer_close(f.w) == 0 ? 0 : 12);
		}
		CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
		CU_ASSERT_EQUAL(atomic_load(&wp->busy), busy);
		shmk_ring_head(f.r, &head);
		CU_ASSERT_EQUAL(head, 2 * shmk_ring_record_len(2));
		for (unsigned i = 0; i < SHMK_RING_MAX_WRITERS; i++)
			slots += atomic_load(&wp->slots[i].token) != 0;
		CU_ASSERT_EQUAL(slots, 1); /* the parent's, kept */
		setenv("SHMK_LIVENESS_MS", "200", 1);
		struct shmk_ring_writer *b = local_writer(f.r, 0xB);
		CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), SHMK_EBUSY);
		unsetenv("SHMK_LIVENESS_MS");
		CU_ASSERT_EQUAL(shmk_ring_commit(f.w), 0);
		CU_ASSERT_EQUAL(shmk_ring_write(b, "b1", 2), 0);
		solo_end(&f, b, "a1 a2 a3 b1");
	}
}
H_REGISTER(solo_child_close, 20, "ring.writer.solo.copy");

/* shmkit's fork handlers run after the application's prepare handlers
 * (registered at load, review s7 finding 2).  The role registers its own
 * atfork prepare, which takes its lock U, before it opens its writer; a
 * thread T holds U and closes the armed writer (which takes solo_mu) once
 * the forking thread is inside that prepare.  With shmkit's prepare first
 * (holding solo_mu from then on) T waits for solo_mu and the fork for U:
 * a deadlock, which the deadline catches.  Deterministic: T closes only
 * after the application's prepare started, and shmkit's prepare cannot run
 * before T releases U. */
static pthread_mutex_t order_u = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int order_armed, order_in_prepare, order_t_has_u;

static void order_prepare(void)
{
	if (atomic_load(&order_armed)) {
		atomic_store(&order_in_prepare, 1);
		pthread_mutex_lock(&order_u);
	}
}

static void order_release(void)
{
	if (atomic_load(&order_armed))
		pthread_mutex_unlock(&order_u);
}

static void *order_closer(void *w)
{
	pthread_mutex_lock(&order_u);
	atomic_store(&order_t_has_u, 1);
	while (!atomic_load(&order_in_prepare))
		usleep(100);
	int rc = shmk_ring_writer_close(w);
	pthread_mutex_unlock(&order_u);
	return (void *)(intptr_t)rc;
}

static int role_solo_atfork_order(int argc, char **argv)
{
	struct role_args a;
	struct shmk_ring_writer *w = NULL;
	int wfd = role_args(argc, argv, &a);
	void *rc;
	pthread_t t;

	if (wfd < 0)
		return -wfd;
	if (pthread_atfork(order_prepare, order_release, order_release))
		return 10;
	if (shmk_ring_writer_open(wfd, &w) || shmk_ring_write(w, "a1", 2) ||
	    shmk_ring_write(w, "a2", 2))
		return 11;
	if (pthread_create(&t, NULL, order_closer, w))
		return 12;
	while (!atomic_load(&order_t_has_u))
		usleep(100);
	atomic_store(&order_armed, 1);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, NULL, 0) != pid || pthread_join(t, &rc))
		return 13;
	return rc ? 14 : 0;
}
H_ROLE("solo_atfork_order", role_solo_atfork_order);

static void solo_atfork_order(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	struct shmk_ring_wpage *wp = solo_wp(&f);
	int wfd = new_writer_fd(f.r, 0xA, NULL);

	pid_t pid = spawn_role_fd("solo_atfork_order", wfd, "x", "0", "0", NULL);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(5)), 0);
	CU_ASSERT_EQUAL(atomic_load(&wp->solo), 1); /* it armed */
	read_one(f.r, 0xA, "a1");
	read_one(f.r, 0xA, "a2");
	rfx_close(&f);
}
H_REGISTER(solo_atfork_order, 10, "ring.writer.solo.atfork");

static void overflow(void)
{
	const uint64_t top = 0ull - 64; /* 2^64 - 64 */
	struct rfx f = rfx_new(CAP64K, top, 0, true);
	int wfd = new_writer_fd(f.r, 1, NULL);

	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		uint8_t b[64] = { 0 };
		void *p;
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		/* 48 bytes: record 64, head + 64 = 2^64 wraps */
		if (shmk_ring_write(w, b, 48) != SHMK_EINTEGRITY)
			_exit(11);
		if (shmk_ring_reserve(w, 41, &p) != SHMK_EINTEGRITY)
			_exit(12);
		/* 40 bytes: record 56, head + 56 = 2^64 - 8: fits */
		fill(b, 40, 1, 0);
		if (shmk_ring_write(w, b, 40))
			_exit(13);
		/* now head = 2^64 - 8: even an empty record (16) wraps */
		if (shmk_ring_write(w, b, 0) != SHMK_EINTEGRITY)
			_exit(14);
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	uint64_t head, t;
	char buf[64];
	size_t n;
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, UINT64_MAX - 7);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT(check((uint8_t *)buf, 40, 1, 0));
	/* nothing beyond that record was written */
	const uint8_t *after = f.raw + PAGE + (UINT64_MAX - 7) % CAP64K;
	uint8_t zero[16] = { 0 };
	CU_ASSERT_EQUAL(memcmp(after, zero, 8), 0);
	CU_ASSERT_EQUAL(memcmp(f.raw + PAGE, zero, 8), 0);
	rfx_close(&f);
}
H_REGISTER(overflow, 20, "ring.writer.overflow");

/* Fills a 64 KiB ring to exactly 16 bytes short: what fits, what does not. */
static int fill_to_16(struct shmk_ring_writer *w, void *arg)
{
	static uint8_t b[SHMK_RING_MAX_PAYLOAD];
	void *p;

	(void)arg;
	fill(b, sizeof(b), 1, 0);
	/* 65536 - 16 = 65520 bytes: one record of 65504 payload */
	if (shmk_ring_write(w, b, CAP64K - 32))
		return 11;
	if (shmk_ring_write(w, b, 1) != SHMK_EFULL) /* needs 24, 16 free */
		return 12;
	if (shmk_ring_write(w, b, 0)) /* exactly 16: fits */
		return 13;
	if (shmk_ring_write(w, b, 0) != SHMK_EFULL)
		return 14;
	return shmk_ring_reserve(w, 0, &p) != SHMK_EFULL ? 15 : 0;
}

static void space(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	/* a writer process fills the ring to exactly 16 bytes short */
	pid_t pid = fork_writer_do(new_writer_fd(f.r, 1, NULL), fill_to_16, NULL);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	uint64_t head;
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, CAP64K);
	/* full: another write is refused and overwrites nothing */
	struct snap s = take(f.raw, f.len);
	f.w = local_writer(f.r, 2);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "more", 4), SHMK_EFULL);
	CU_ASSERT(same_ring(&s, f.raw, f.len));
	free(s.bytes);
	/* the reader frees the first record: there is room again */
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	uint64_t t;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, CAP64K - 32);
	CU_ASSERT(check(buf, n, 1, 0));
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "more", 4), 0);
	rfx_close(&f);
}
H_REGISTER(space, 30, "ring.writer.space");

/* 400 writes of every size, wrapping the ring many times; when it is full
 * the writer plays reader through raw (the file mapped writable) and frees
 * everything (a hostile but consistent peer). */
static int wrap_writes(struct shmk_ring_writer *w, void *raw)
{
	static uint8_t b[SHMK_RING_MAX_PAYLOAD];
	struct shmk_ring_hdr *hh = raw_hdr(raw);

	memset(b, 0xFF, sizeof(b));
	for (size_t i = 0; i < 400; i++) {
		size_t n = (i * 1237) % (SHMK_RING_MAX_PAYLOAD + 1);
		int rc = shmk_ring_write(w, b, n);
		if (rc == SHMK_EFULL) {
			atomic_store(&hh->tail, atomic_load(&hh->head));
			i--;
			continue;
		}
		if (rc)
			return 11;
	}
	return 0;
}

/* Writers never store outside the ring: canaries in the header page and
 * the writers page survive wrapping writes at every offset. */
static void bounds(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	struct shmk_ring_hdr *h = raw_hdr(f.raw);

	memset(h->reserved0, 0xC3, sizeof(h->reserved0));
	memset(h->reserved1, 0xC3, sizeof(h->reserved1));
	memset(f.raw + sizeof(*h), 0xC3, PAGE - sizeof(*h));
	size_t wp_end = PAGE + CAP64K + sizeof(struct shmk_ring_wpage);
	memset(f.raw + wp_end, 0xC3, f.len - wp_end);
	pid_t pid = fork_writer_do(new_writer_fd(f.r, 1, NULL), wrap_writes, f.raw);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(30)), 0);
	int bad = 0;
	for (size_t i = 0; i < sizeof(h->reserved0); i++)
		bad += h->reserved0[i] != 0xC3;
	for (size_t i = 0; i < sizeof(h->reserved1); i++)
		bad += h->reserved1[i] != 0xC3;
	for (size_t i = sizeof(*h); i < PAGE; i++)
		bad += f.raw[i] != 0xC3;
	for (size_t i = wp_end; i < f.len; i++)
		bad += f.raw[i] != 0xC3;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(atomic_load(&h->head) > 10 * CAP64K);
	rfx_close(&f);
}
H_REGISTER(bounds, 60, "ring.writer.bounds");

static void toolarge(void)
{
	static uint8_t b[SHMK_RING_MAX_PAYLOAD];
	struct rfx f = rfx_new(CAP64K, 0, 1, false);
	uint64_t head;
	void *p;

	struct iovec two[2] = { { b, 40000 }, { b, 25521 } };
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, two, 2), SHMK_ETOOLARGE);
	/* segment lengths whose sum wraps size_t */
	struct iovec wrap[2] = { { b, 16 }, { b, SIZE_MAX - 8 } };
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, wrap, 2), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_reserve(f.w, SHMK_RING_MAX_PAYLOAD + 1, &p), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, b, SIZE_MAX), SHMK_ETOOLARGE);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 0);
	two[1].iov_len = 25520;
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, two, 2), 0);
	rfx_close(&f);
}
H_REGISTER(toolarge, 20, "ring.writer.toolarge");

static void iov(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 1, false);
	struct iovec v[9];
	char seg[9][4];

	for (int i = 0; i < 9; i++) {
		memset(seg[i], '0' + i, 4);
		v[i].iov_base = seg[i];
		v[i].iov_len = (size_t)(i % 3) + 1;
	}
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, v, 9), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, v, -1), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, v, 8), 0);
	char buf[64];
	uint64_t t;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 15);
	CU_ASSERT_EQUAL(memcmp(buf, "011222344555677", 15), 0);
	CU_ASSERT_EQUAL(shmk_ring_writev(f.w, v, 0), 0); /* an empty record */
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 0);
	rfx_close(&f);
}
H_REGISTER(iov, 20, "ring.writer.iov");

static void reserve(void)
{
	struct rfx f = rfx_new(CAP64K, CAP64K - 40, 4, false);
	void *p, *p2;
	uint64_t head, t;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];
	size_t n;

	/* reserve across the wrap: one contiguous span */
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(f.w, 1000, &p), 0);
	CU_ASSERT_EQUAL(shmk_ring_reserve(f.w, 8, &p2), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "x", 1), -EINVAL);
	fill(p, 1000, 4, 0);
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, CAP64K - 40); /* not published before commit */
	CU_ASSERT_EQUAL(shmk_ring_commit(f.w), 0);
	CU_ASSERT_EQUAL(shmk_ring_commit(f.w), -EINVAL);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 1000);
	CU_ASSERT(check(buf, 1000, 4, 0));

	/* discard: nothing published, the lock is free, the index is reused */
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(f.w, 32, &p), 0);
	memset(p, 0xEE, 32);
	CU_ASSERT_EQUAL(shmk_ring_discard(f.w), 0);
	CU_ASSERT_EQUAL(shmk_ring_discard(f.w), -EINVAL);
	uint64_t h2;
	shmk_ring_head(f.r, &h2);
	CU_ASSERT_EQUAL(h2, head);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "next", 4), 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "next", 4), 0);

	/* close with a pending reservation releases the lock */
	CU_ASSERT_EQUAL_FATAL(shmk_ring_reserve(f.w, 8, &p), 0);
	rfx_close_writer(&f);
	f.w = local_writer(f.r, 5);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "again", 5), 0);
	rfx_close(&f);
}
H_REGISTER(reserve, 20, "ring.writer.reserve");

/* A direct writer stopped (SIGSTOP) while it holds the writers' lock: every
 * call of another writer returns SHMK_EBUSY within the bound (plus
 * scheduling slack), writing nothing, again and again; the reader is not
 * blocked; once resumed, the holder's record and then the other writer's
 * go out whole. */
static void stopped_holder(void)
{
	char path[256];
	struct shmk_ring *r = mk(path, sizeof(path), CAP64K, 0);

	setenv("SHMK_STOP_AT", "ring.write.locked", 1);
	pid_t pid = spawn_writer_role(r, 1, "write", "1", "64", NULL);
	unsetenv("SHMK_STOP_AT");
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CU_ASSERT_EQUAL_FATAL(waitid(P_PID, (id_t)pid, &si, WSTOPPED), 0);
	setenv("SHMK_LIVENESS_MS", "100", 1);
	struct shmk_ring_writer *w = local_writer(r, 2);
	/* the bound plus the scheduling slack the crash programs allow */
	int64_t slack = (int64_t)h_deadline(1) * 1000000000LL;
	for (int i = 0; i < 3; i++) {
		int64_t t0 = shmk_now_ns();
		CU_ASSERT_EQUAL(shmk_ring_write(w, "blocked", 7), SHMK_EBUSY);
		int64_t took = shmk_now_ns() - t0;
		CU_ASSERT(took >= 100 * 1000000LL);
		CU_ASSERT(took < 100 * 1000000LL + slack);
		uint64_t head;
		shmk_ring_head(r, &head);
		CU_ASSERT_EQUAL(head, 0);
	}
	/* the reader is not blocked: nothing published, it says so at once */
	uint64_t tag;
	uint8_t buf[128];
	size_t len;
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &tag, buf, sizeof(buf), &len, 0), -ETIMEDOUT);
	CU_ASSERT_EQUAL(kill(pid, SIGCONT), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	unsetenv("SHMK_LIVENESS_MS");
	CU_ASSERT_EQUAL(shmk_ring_write(w, "free", 4), 0);
	CU_ASSERT_EQUAL(read_seq(r, 1, 1, 64, 0, 64), 0); /* the holder's record, whole */
	CU_ASSERT_EQUAL(shmk_ring_read_message(r, &tag, buf, sizeof(buf), &len, h_deadline(10) * 1000000000LL), 0);
	CU_ASSERT_EQUAL(tag, 2);
	CU_ASSERT_EQUAL(len, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "free", 4), 0);
	shmk_ring_writer_close(w);
	shmk_ring_close(r);
	unlink(path);
}
H_REGISTER(stopped_holder, 40, "ring.writer.stopped-holder", "ring.writer.lock.deadline");
