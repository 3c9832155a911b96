/* SPDX-License-Identifier: MIT */
/* ring tests: records and the reader: mirror, indices, waits. */
#include "ring_test.h"

/* ---------------------------------------------------------------- records */

static void record_format(void)
{
	CU_ASSERT_EQUAL(shmk_ring_record_len(0), 16);
	CU_ASSERT_EQUAL(shmk_ring_record_len(1), 24);
	CU_ASSERT_EQUAL(shmk_ring_record_len(8), 24);
	CU_ASSERT_EQUAL(shmk_ring_record_len(9), 32);
	CU_ASSERT_EQUAL(shmk_ring_record_len(65519), 65536);
	CU_ASSERT_EQUAL(shmk_ring_record_len(65520), 65536);
	CU_ASSERT_EQUAL(shmk_ring_record_len(SIZE_MAX), 0);

	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	memset(f.raw + PAGE, 0xEE, CAP64K); /* stale bytes the padding must clear */
	int wfd = new_writer_fd(f.r, 0x5151, NULL);
	pid_t pid = fork_writer(wfd, 0x5151, 9, 0, 1, 8); /* lengths 0..8 */
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t idx = 0;
	for (size_t n = 0; n <= 8; n++) {
		const uint8_t *rec = f.raw + PAGE + idx;
		CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)rec, 0x5151);
		CU_ASSERT_EQUAL(*(const uint64_t *)(const void *)(rec + 8), n);
		CU_ASSERT(check(rec + 16, n, 0x5151, n));
		for (size_t j = n; j < ((n + 7) & ~(size_t)7); j++)
			CU_ASSERT_EQUAL(rec[16 + j], 0);
		idx += shmk_ring_record_len(n);
	}
	CU_ASSERT_EQUAL(raw_hdr(f.raw)->head, idx);
	rfx_close(&f);
}
H_REGISTER(record_format, 30, "ring.record.format");

static void record_max(void)
{
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD + 8];
	struct rfx f = rfx_new(2 * CAP64K, 0, 1, true);

	fill(buf, SHMK_RING_MAX_PAYLOAD, 1, 0);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, buf, SHMK_RING_MAX_PAYLOAD + 1), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(raw_hdr(f.raw)->head, 0);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, buf, SHMK_RING_MAX_PAYLOAD), 0);
	CU_ASSERT_EQUAL(raw_hdr(f.raw)->head, SHMK_RING_MAX_MESSAGE);
	CU_ASSERT_EQUAL(rfx_first(&f, 0, SHMK_RING_MAX_MESSAGE), 0);
	CU_ASSERT_EQUAL(f.n, SHMK_RING_MAX_PAYLOAD);
	/* a record claiming one byte more is refused by the reader */
	*(uint64_t *)(void *)(f.raw + PAGE + 8) = SHMK_RING_MAX_PAYLOAD + 1;
	CU_ASSERT_EQUAL(rfx_first(&f, 0, 2 * CAP64K), SHMK_EBADLEN);
	rfx_close(&f);
}
H_REGISTER(record_max, 20, "ring.record.max");

/* ---------------------------------------------------------------- reader */

static void mirror(void)
{
	/* initial index 64 KiB - 24: a record of 40 bytes straddles the end */
	struct rfx f = rfx_new(CAP64K, CAP64K - 24, 0, false);
	int wfd = new_writer_fd(f.r, 9, NULL);
	pid_t pid = fork_writer(wfd, 9, 1, 40, 0, 40);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t t, head;
	const void *p;
	size_t n;
	CU_ASSERT_EQUAL(shmk_ring_head(f.r, &head), 0);
	CU_ASSERT_EQUAL(head, CAP64K - 24 + 56);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(f.r, CAP64K - 24, head, &t, &p, &n), 0);
	CU_ASSERT_EQUAL(t, 9);
	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT(check(p, n, 9, 0)); /* contiguous through the mirror */
	/* the same bytes through the ring start: both views are one page cache */
	uint64_t v;
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, CAP64K, &v, 8), 0);
	uint8_t want[8];
	for (int j = 0; j < 8; j++)
		want[j] = pat(9, 0, 8 + (size_t)j);
	CU_ASSERT_EQUAL(memcmp(&v, want, 8), 0);
	/* a maximal record starting at the last 8 bytes of the ring */
	f.w = local_writer(f.r, 10);
	static uint8_t big[SHMK_RING_MAX_PAYLOAD];
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 56), 0);
	/* head % cap is 32: a record of cap - 40 bytes moves it to cap - 8 */
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, big, CAP64K - 56), 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, CAP64K - 40), 0);
	CU_ASSERT_EQUAL(shmk_ring_head(f.r, &head), 0);
	CU_ASSERT_EQUAL(head % CAP64K, CAP64K - 8);
	fill(big, sizeof(big), 10, 1);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, big, SHMK_RING_MAX_PAYLOAD), 0);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(f.r, head, head + CAP64K, &t, &p, &n), 0);
	CU_ASSERT_EQUAL(t, 10);
	CU_ASSERT_EQUAL(n, SHMK_RING_MAX_PAYLOAD);
	CU_ASSERT(check(p, n, 10, 1));
	rfx_close(&f);
}
H_REGISTER(mirror, 20, "ring.reader.mirror");

/* Records that straddle the wrap: small capacity, every size class. */
static void straddle(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	int wfd = new_writer_fd(f.r, 3, NULL);
	/* lengths 0, 37, 74, ... mod 20001: many wraps at many offsets */
	pid_t pid = fork_writer(wfd, 3, 3000, 0, 37, 20000);
	close(wfd);
	CU_ASSERT_EQUAL(read_seq(f.r, 3, 3000, 0, 37, 20000), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(30)), 0);
	uint64_t head, tail;
	shmk_ring_head(f.r, &head);
	shmk_ring_tail(f.r, &tail);
	CU_ASSERT_EQUAL(head, tail);
	CU_ASSERT(head > 20 * CAP64K); /* it really wrapped many times */
	rfx_close(&f);
}
H_REGISTER(straddle, 60, "ring.reader.mirror", "ring.writer.bounds");

static void head_tail(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	int wfd = new_writer_fd(f.r, 4, NULL);
	pid_t pid = fork_writer(wfd, 4, 100, 100, 0, 100);
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	uint64_t head = 0, tail = 1;
	CU_ASSERT_EQUAL(shmk_ring_head(f.r, &head), 0);
	CU_ASSERT_EQUAL(head, 100 * shmk_ring_record_len(100));
	CU_ASSERT_EQUAL(shmk_ring_tail(f.r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 2 * shmk_ring_record_len(100)), 0);
	CU_ASSERT_EQUAL(shmk_ring_tail(f.r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 2 * shmk_ring_record_len(100));
	CU_ASSERT_EQUAL(shmk_ring_head(NULL, &head), -EINVAL);
	rfx_close(&f);
}
H_REGISTER(head_tail, 20, "ring.reader.head_tail+2");

static void incr_tail_align(void)
{
	uint64_t tail;
	struct rfx f = rfx_new(CAP64K, 0, 1, false);

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "abcdefgh", 8), 0);
	for (uint64_t a = 1; a < 8; a++)
		CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, a), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 12), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_tail(f.r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 8), 0);
	rfx_close(&f);
}
H_REGISTER(incr_tail_align, 20, "ring.reader.increment_tail.align");

static void incr_tail_range(void)
{
	uint64_t tail;
	struct rfx f = rfx_new(CAP64K, UINT64_MAX - 7 - 64, 1, false);

	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 8), SHMK_ERANGE); /* empty */
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "abcdefgh", 8), 0);	 /* head += 24 */
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 32), SHMK_ERANGE);
	/* an amount that wraps u64 past head */
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, UINT64_MAX - 7), SHMK_ERANGE);
	CU_ASSERT_EQUAL(shmk_ring_tail(f.r, &tail), 0);
	CU_ASSERT_EQUAL(tail, UINT64_MAX - 7 - 64);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 16), 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 8), 0);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 8), SHMK_ERANGE);
	rfx_close(&f);
}
H_REGISTER(incr_tail_range, 20, "ring.reader.increment_tail.range");

static void read_align(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0x0102030405060708ull, false);
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0, v3[3], v7[7];

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "abcdefgh", 8), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 0, &v64, 8), 0);
	CU_ASSERT_EQUAL(v64, 0x0102030405060708ull);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 4, &v64, 8), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 12, &v64, 16), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 2, &v32, 4), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 1, &v16, 2), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 2, v3, 3), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 4, v3, 3), 0);
	/* 5..7 bytes round up to 8, not down to 4 */
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 4, v7, 5), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 4, v7, 7), SHMK_EALIGN);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 8, v7, 7), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 8, &v32, 4), 0);
	CU_ASSERT_EQUAL(v32, 8);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 16, &v16, 2), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 17, &v8, 1), 0);
	CU_ASSERT_EQUAL(v8, 'b');
	rfx_close(&f);
}
H_REGISTER(read_align, 20, "ring.reader.read.align");

static void read_size(void)
{
	static uint8_t buf[SHMK_RING_MAX_MESSAGE + 8];
	struct rfx f = rfx_new(CAP64K, 0, 0, false);

	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 0, buf, SHMK_RING_MAX_MESSAGE + 1), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 0, buf, SIZE_MAX), SHMK_ETOOLARGE);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, 0, buf, 0), -EINVAL);
	/* the largest read from the last 8-aligned index stays in the mirror */
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, CAP64K - 8, buf, SHMK_RING_MAX_MESSAGE), 0);
	CU_ASSERT_EQUAL(shmk_ring_read(f.r, UINT64_MAX - 7, buf, SHMK_RING_MAX_MESSAGE), 0);
	rfx_close(&f);
}
H_REGISTER(read_size, 20, "ring.reader.read.size");

static void first_msg_align(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 6, false);

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "hello", 5), 0); /* record 0..24 */
	CU_ASSERT_EQUAL(rfx_first(&f, 0, 24), 0);
	CU_ASSERT_EQUAL(f.n, 5);
	CU_ASSERT_EQUAL(memcmp(f.msg, "hello", 5), 0);
	for (uint64_t s = 1; s < 8; s++)
		CU_ASSERT_EQUAL(rfx_first(&f, s, 24), SHMK_EALIGN);
	rfx_close(&f);
}
H_REGISTER(first_msg_align, 20, "ring.reader.first_message.align");

static void first_msg_small(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 6, false);

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "", 0), 0);
	CU_ASSERT_EQUAL(rfx_first(&f, 0, 15), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(rfx_first(&f, 0, 0), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(rfx_first(&f, 64, 8), SHMK_ETOOSMALL);
	CU_ASSERT_EQUAL(rfx_first(&f, 0, 16), 0);
	CU_ASSERT_EQUAL(f.n, 0);
	rfx_close(&f);
}
H_REGISTER(first_msg_small, 20, "ring.reader.first_message.toosmall");

static void first_msg_badlen(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 6, true);

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "hello", 5), 0);
	CU_ASSERT_EQUAL(rfx_first(&f, 0, 23), SHMK_EBADLEN);
	uint64_t *lenp = (uint64_t *)(void *)(f.raw + PAGE + 8);
	uint64_t lies[] = { 9, 100, SHMK_RING_MAX_PAYLOAD + 1, UINT64_MAX, UINT64_MAX - 6 };
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		*lenp = lies[i];
		CU_ASSERT_EQUAL(rfx_first(&f, 0, 24), SHMK_EBADLEN);
		CU_ASSERT_EQUAL(rfx_first(&f, 0, UINT64_MAX),
				lies[i] <= SHMK_RING_MAX_PAYLOAD ? 0 : SHMK_EBADLEN);
	}
	rfx_close(&f);
}
H_REGISTER(first_msg_badlen, 20, "ring.reader.first_message.badlen");

/* Garbage records and indices: every answer is an error or a span inside
 * the ring + mirror. */
static void reader_bounds(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 1, true);
	uint64_t t;
	const void *p;
	size_t n;
	static uint8_t buf[SHMK_RING_MAX_PAYLOAD];

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "x", 1), 0);
	CU_ASSERT_EQUAL(shmk_ring_first_message_in(f.r, 0, 24, &t, &p, &n), 0);
	const uint8_t *data = (const uint8_t *)p - 16; /* the reader's ring base */
	rfx_close_writer(&f);

	uint64_t s = h_seed();
	int ok = 0, err = 0, oob = 0;
	for (int round = 0; round < 200; round++) {
		/* garbage everywhere: random words, with lengths near the edges */
		for (size_t i = 0; i < CAP64K; i += 8) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t v = s;
			if ((s >> 60) == 1)
				v = SHMK_RING_MAX_PAYLOAD - (s >> 40 & 15);
			if ((s >> 60) == 2)
				v = UINT64_MAX - (s >> 40 & 15);
			memcpy(f.raw + PAGE + i, &v, 8);
		}
		for (int k = 0; k < 200; k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t start = (s >> 3) & ~7ull, end = start + ((s >> 13) % (3 * CAP64K));
			if (k % 7 == 0)
				end = UINT64_MAX;
			int rc = shmk_ring_first_message_in(f.r, start, end, &t, &p, &n);
			if (rc == 0) {
				ok++;
				const uint8_t *q = p;
				if (q != data + start % CAP64K + 16 || n > SHMK_RING_MAX_PAYLOAD ||
				    q + n > data + CAP64K + SHMK_RING_MIRROR)
					oob++;
				else
					memcpy(buf, q, n); /* touch it: must not fault */
			} else {
				err++;
				CU_ASSERT(rc == SHMK_EBADLEN || rc == SHMK_ETOOSMALL);
			}
		}
		/* read_message with garbage head/tail: errors, no fault */
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		atomic_store(&raw_hdr(f.raw)->tail, s & ~7ull);
		atomic_store(&raw_hdr(f.raw)->head, (s & ~7ull) + (s >> 50));
		int rc = shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0);
		CU_ASSERT(rc == 0 || rc == SHMK_EBADLEN || rc == SHMK_ETOOSMALL ||
			  rc == SHMK_EPEERDEAD || rc == -ETIMEDOUT);
	}
	CU_ASSERT_EQUAL(oob, 0);
	CU_ASSERT(ok > 0);
	CU_ASSERT(err > 0);
	rfx_close(&f);
}
H_REGISTER(reader_bounds, 60, "ring.reader.bounds");

/* Reads p in a child: 0 when it is readable, 128 + SIGSEGV when not (the
 * child resets SIGSEGV to SIG_DFL, so ASan does not turn it into exit 1). */
static int touch(const volatile uint8_t *p)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		uint8_t v = p[0];
		(void)v;
		_exit(0);
	}
	return h_wait(pid, h_deadline(10));
}

/* The last mirror byte reads (the first ring byte again); the byte after
 * it faults: no overrun of the mirror reaches the writers page. */
static void map_guard(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0xA, false);
	const void *p;

	CU_ASSERT_EQUAL_FATAL(shmk_ring_write(f.w, "x", 1), 0);
	CU_ASSERT_EQUAL_FATAL(shmk_ring_first_message_in(f.r, 0, 64, NULL, &p, NULL), 0);
	const uint8_t *data = (const uint8_t *)p - SHMK_RING_REC_HDR;
	CU_ASSERT_EQUAL(touch(data + CAP64K + SHMK_RING_MIRROR - 1), 0);
	CU_ASSERT_EQUAL(touch(data + CAP64K + SHMK_RING_MIRROR), 128 + SIGSEGV);
	rfx_close(&f);
}
H_REGISTER(map_guard, 20, "ring.map.guard");

/* Ping-pong: the writer writes record i only after the reader consumed i-1,
 * so the reader parks on nearly every wait; a lost wake-up hangs (timeout). */
static void wait_wake(void)
{
	int back[2];
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	int wfd = new_writer_fd(f.r, 8, NULL);
	enum { N = 2000 };

	CU_ASSERT_FATAL(pipe(back) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		close(back[1]);
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		for (uint64_t i = 0; i < N; i++) {
			char c;
			if (i && read(back[0], &c, 1) != 1)
				_exit(11);
			if (shmk_ring_write(w, &i, sizeof(i)))
				_exit(12);
		}
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	close(back[0]);
	int bad = 0;
	for (uint64_t i = 0; i < N; i++) {
		uint64_t v = ~0ull, t;
		size_t n;
		/* no deadline: only the harness alarm ends a lost wake-up */
		int rc = shmk_ring_read_message(f.r, &t, &v, sizeof(v), &n, -1);
		if (rc || v != i || t != 8)
			bad++;
		if (i + 1 < N && write(back[1], "x", 1) != 1)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(20)), 0);
	close(back[1]);
	rfx_close(&f);
}
H_REGISTER(wait_wake, 60, "ring.reader.wait.wake+4", "ring.writer.wake+3");

/* ring.writer.wake+3: a writer in another process bumps gen and takes
 * the announcement only when the reader announced (set here through the
 * raw mapping, as a parked reader leaves it): one bump for a burst of
 * commits, none while the announcement stays taken, none without one. */
static void wake_once(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	struct shmk_ring_hdr *h = raw_hdr(f.raw);
	int go[2], done[2];

	CU_ASSERT_FATAL(pipe(go) == 0 && pipe(done) == 0);
	int wfd = new_writer_fd(f.r, 3, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		char c;
		close(go[1]);
		close(done[0]);
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		/* phase 1: announced; 2: taken; 3: not announced */
		for (int phase = 0; phase < 3; phase++) {
			if (read(go[0], &c, 1) != 1)
				_exit(11);
			for (uint64_t i = 0; i < 3; i++)
				if (shmk_ring_write(w, &i, sizeof(i)))
					_exit(12);
			if (write(done[1], "d", 1) != 1)
				_exit(13);
		}
		_exit(0); /* no close: its wake would bump gen again */
	}
	close(wfd);
	close(go[0]);
	close(done[1]);
	char c;
	uint32_t g0 = atomic_load(&h->gen);
	atomic_store(&h->waiters, 1);
	CU_ASSERT_FATAL(write(go[1], "g", 1) == 1);
	CU_ASSERT_FATAL(read(done[0], &c, 1) == 1);
	CU_ASSERT_EQUAL(atomic_load(&h->waiters), 1 | SHMK_WAIT_TAKEN);
	CU_ASSERT_EQUAL(atomic_load(&h->gen), g0 + 1);
	CU_ASSERT_FATAL(write(go[1], "g", 1) == 1);
	CU_ASSERT_FATAL(read(done[0], &c, 1) == 1);
	CU_ASSERT_EQUAL(atomic_load(&h->waiters), 1 | SHMK_WAIT_TAKEN);
	CU_ASSERT_EQUAL(atomic_load(&h->gen), g0 + 1);
	atomic_store(&h->waiters, 0); /* the reader retracted */
	CU_ASSERT_FATAL(write(go[1], "g", 1) == 1);
	CU_ASSERT_FATAL(read(done[0], &c, 1) == 1);
	CU_ASSERT_EQUAL(atomic_load(&h->waiters), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->gen), g0 + 1);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	uint64_t head;
	shmk_ring_head(f.r, &head);
	CU_ASSERT_EQUAL(head, 9 * shmk_ring_record_len(8));
	close(go[1]);
	close(done[0]);
	rfx_close(&f);
}
H_REGISTER(wake_once, 30, "ring.writer.wake+3");

static void wait_timeout(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	/* no writer yet: not dead, just nothing */
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 0, 0), -ETIMEDOUT);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 0, 30 * 1000000), -ETIMEDOUT);
	f.w = local_writer(f.r, 1);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "a", 1), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 0, 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 23, 0), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 24, 30 * 1000000), -ETIMEDOUT);
	rfx_close(&f);
}
H_REGISTER(wait_timeout, 20, "ring.reader.wait.timeout");

/* Writes one record once the reader (raw: the file mapped) is parked. */
static int write_once_parked(struct shmk_ring_writer *w, void *raw)
{
	while (!atomic_load(&raw_hdr(raw)->waiters))
		sched_yield(); /* the harness alarm bounds this */
	return shmk_ring_write(w, "z", 1) ? 11 : 0;
}

/* INT64_MAX must wait like "forever": the writer commits only once the
 * reader is parked (waiters == 1), so an overflowed deadline in the past
 * shows as -ETIMEDOUT (or as UBSan's signed-overflow abort). */
static void wait_huge_timeout(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, true);
	pid_t pid = fork_writer_do(new_writer_fd(f.r, 3, NULL), write_once_parked, f.raw);

	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 0, INT64_MAX), 0);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	rfx_close(&f);
}
H_REGISTER(wait_huge_timeout, 20, "common.wait.deadline");

static void wait_peerdead(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 0, false);
	uint64_t t;
	char buf[16];
	size_t n;

	/* a writer that is killed without closing */
	int wfd = new_writer_fd(f.r, 5, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		if (shmk_ring_writer_open(wfd, &w) || shmk_ring_write(w, "last", 4))
			_exit(10);
		raise(SIGKILL);
		_exit(11);
	}
	close(wfd);
	/* the record written before death is still delivered */
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, -1), 0);
	CU_ASSERT_EQUAL(n, 4);
	/* then the wait ends with the peer's death, without a deadline */
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 24, -1), SHMK_EPEERDEAD);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 128 + SIGKILL);

	/* a writer that closes cleanly, while the reader is parked */
	wfd = new_writer_fd(f.r, 6, NULL);
	pid = fork();
	if (pid == 0) {
		struct shmk_ring_writer *w;
		if (shmk_ring_writer_open(wfd, &w))
			_exit(10);
		shmk_ring_writer_close(w);
		_exit(0);
	}
	close(wfd);
	CU_ASSERT_EQUAL(h_wait(pid, h_deadline(10)), 0);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 24, -1), SHMK_EPEERDEAD);

	/* while one writer lives, the wait is not dead */
	f.w = local_writer(f.r, 7);
	CU_ASSERT_EQUAL(shmk_ring_wait(f.r, 24, 20 * 1000000), -ETIMEDOUT);
	rfx_close(&f);
}
H_REGISTER(wait_peerdead, 30, "ring.reader.wait.peerdead");

static void read_message(void)
{
	struct rfx f = rfx_new(CAP64K, 0, 12, false);
	uint64_t t = 0, tail;
	char buf[32];
	size_t n = 0;

	CU_ASSERT_EQUAL(shmk_ring_write(f.w, "0123456789abc", 13), 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, 4, &n, 0), SHMK_EBUFSMALL);
	CU_ASSERT_EQUAL(n, 13);
	CU_ASSERT_EQUAL(shmk_ring_tail(f.r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), 0);
	CU_ASSERT_EQUAL(n, 13);
	CU_ASSERT_EQUAL(t, 12);
	CU_ASSERT_EQUAL(memcmp(buf, "0123456789abc", 13), 0);
	CU_ASSERT_EQUAL(shmk_ring_tail(f.r, &tail), 0);
	CU_ASSERT_EQUAL(tail, 32);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, buf, sizeof(buf), &n, 0), -ETIMEDOUT);
	rfx_close(&f);
}
H_REGISTER(read_message, 20, "ring.reader.read_message");

/* Payloads long enough for the large copies (impl/src/copy.c), whose
 * paths depend on how source and destination lie against a cache line:
 * written from every source offset in a line, read back through read at
 * every destination offset and through read_message, each byte compared
 * and the bytes around the destination untouched. */
static int guarded(const uint8_t *buf, size_t off, size_t n, uint64_t tag, uint64_t i)
{
	for (size_t j = 0; j < off; j++)
		if (buf[j] != 0xA5)
			return 0;
	for (size_t j = off + n; j < off + n + 64; j++)
		if (buf[j] != 0xA5)
			return 0;
	return check(buf + off, n, tag, i);
}

static void large_copies(void)
{
	enum { LARGE = 2048, SPREAD = 200, RECORDS = 192 };
	static _Alignas(64) uint8_t src[64 + LARGE + SPREAD], dst[64 + LARGE + SPREAD + 64 + 64];
	struct rfx f = rfx_new(CAP64K, 0, 21, false);
	int bad = 0, failed = 0;

	for (uint64_t i = 0; i < RECORDS && !failed; i++) {
		size_t len = LARGE + (size_t)(i * 13 % SPREAD), so = (size_t)(i % 64);
		uint64_t head, t = 0;
		size_t n = 0;
		failed |= shmk_ring_head(f.r, &head) != 0;
		fill(src + so, len, 21, i);
		failed |= shmk_ring_write(f.w, src + so, len) != 0;
		for (size_t b = 0; b < 64 && !failed; b++) {
			memset(dst, 0xA5, sizeof dst);
			failed |= shmk_ring_read(f.r, head + SHMK_RING_REC_HDR, dst + b, len) != 0;
			bad += !guarded(dst, b, len, 21, i);
		}
		memset(dst, 0xA5, sizeof dst);
		failed |= shmk_ring_read_message(f.r, &t, dst + 64 - so, sizeof dst - 128, &n, 0) != 0;
		failed |= t != 21 || n != len;
		bad += !guarded(dst, 64 - so, len, 21, i);
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(bad, 0);
	rfx_close(&f);
}
H_REGISTER(large_copies, 20, "ring.reader.read_message", "ring.record.format");

/* The reader's tail runs ahead of the header's by less than lazy bytes
 * (here 17 pages: the largest record must still fit beside them), is not
 * read back from the header (a writer may rewrite it), and is stored
 * before a wait and at close, where the next reader takes it up. */
static void lazy_tail(void)
{
	static uint8_t b[SHMK_RING_MAX_PAYLOAD];
	uint64_t cap = CAP64K + PAGE, lazy = cap / 8 < cap - CAP64K ? cap / 8 : cap - CAP64K;
	struct rfx f = rfx_new(cap, 0, 5, true);
	struct shmk_ring_hdr *h = raw_hdr(f.raw);
	uint64_t rl = shmk_ring_record_len(1000), k = (lazy + rl - 1) / rl, t = 0, tail;
	size_t n;

	CU_ASSERT(rl < lazy);
	for (uint64_t i = 0; i < k + 1; i++) {
		fill(b, 1000, 5, i);
		CU_ASSERT_EQUAL(shmk_ring_write(f.w, b, 1000), 0);
	}
	for (uint64_t i = 0; i < k; i++) {
		if (i == k - 1) {
			/* k - 1 read, nothing stored yet; a writer's tail is ignored */
			CU_ASSERT_EQUAL(atomic_load(&h->tail), 0);
			CU_ASSERT_EQUAL(shmk_ring_tail(f.r, &tail), 0);
			CU_ASSERT_EQUAL(tail, (k - 1) * rl);
			atomic_store(&h->tail, 8);
		}
		CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, b, sizeof(b), &n, 0), 0);
		CU_ASSERT(n == 1000 && t == 5 && check(b, n, 5, i));
	}
	CU_ASSERT_EQUAL(atomic_load(&h->tail), k * rl); /* lazy bytes gathered */
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, b, sizeof(b), &n, 0), 0);
	CU_ASSERT(n == 1000 && check(b, n, 5, k));
	CU_ASSERT_EQUAL(atomic_load(&h->tail), k * rl);
	/* caught up, rl bytes held back: the largest record still fits */
	fill(b, SHMK_RING_MAX_PAYLOAD, 5, 99);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, b, SHMK_RING_MAX_PAYLOAD), 0);
	/* close stores it; the next reader starts there */
	shmk_ring_close(f.r);
	CU_ASSERT_EQUAL(atomic_load(&h->tail), (k + 1) * rl);
	CU_ASSERT_EQUAL(shmk_ring_attach(f.path, &f.r), 0);
	fill(b, 1000, 5, 100);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, b, 1000), 0);
	uint64_t t1 = (k + 1) * rl + SHMK_RING_MAX_MESSAGE;
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, b, sizeof(b), &n, 0), 0);
	CU_ASSERT(n == SHMK_RING_MAX_PAYLOAD && check(b, n, 5, 99));
	CU_ASSERT_EQUAL(atomic_load(&h->tail), t1); /* over lazy bytes at once */
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, b, sizeof(b), &n, 0), 0);
	CU_ASSERT(n == 1000 && check(b, n, 5, 100));
	CU_ASSERT_EQUAL(atomic_load(&h->tail), t1);
	/* nothing left: stored before the wait */
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, b, sizeof(b), &n, 0), -ETIMEDOUT);
	CU_ASSERT_EQUAL(atomic_load(&h->tail), t1 + rl);
	/* r[ring.reader.lazy_flush] one more read is held back until a flush
	 * with amount 0 stores it */
	fill(b, 1000, 5, 101);
	CU_ASSERT_EQUAL(shmk_ring_write(f.w, b, 1000), 0);
	CU_ASSERT_EQUAL(shmk_ring_read_message(f.r, &t, b, sizeof(b), &n, 0), 0);
	CU_ASSERT(n == 1000 && check(b, n, 5, 101));
	CU_ASSERT_EQUAL(atomic_load(&h->tail), t1 + rl);
	CU_ASSERT_EQUAL(shmk_ring_increment_tail(f.r, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->tail), t1 + 2 * rl);
	rfx_close(&f);
}
H_REGISTER(lazy_tail, 20, "ring.reader.lazy_tail", "ring.reader.lazy_flush");
