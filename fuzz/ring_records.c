/* SPDX-License-Identifier: MIT */
/*
 * ring_records: the reader's record parser (first_message_in, read_message,
 * read, increment_tail) over hostile records, head and tail, on one real
 * ring (64 KiB) whose bytes this target rewrites through its own writable
 * mapping, as a hostile writer process would.
 *
 * Input: [head u64][tail u64][u16 n][n ring bytes at tail]
 *        [ops: up to 32 x (op u8, a u64)][peer script ...]
 * where the ops list ends at the first byte 0xff.
 */
#include <sys/mman.h>

#include "common.h"
#include "support.h"
#include "shmkit/ring.h"
#include "ring_int.h"

const char *const shmk_fuzz_clauses[] = {
	"ring.reader.bounds",
	"ring.reader.first_message.align",
	"ring.reader.first_message.toosmall",
	"ring.reader.first_message.badlen",
	"ring.record.max",
	"ring.reader.read_message",
	"ring.reader.increment_tail.align",
	"ring.reader.increment_tail.range",
	"ring.reader.read.align",
	"ring.reader.read.size",
	NULL,
};

#define CAP 65536u

static struct shmk_ring *ring;
static struct shmk_ring_hdr *hdr;	/* our writable view (the hostile writer's) */
static uint8_t *data;
static uint8_t buf[SHMK_RING_MAX_MESSAGE + 8];

static int setup(void)
{
	void *p = fz_ring_raw("ring-records", CAP, &ring);

	if (!p)
		return -1;
	hdr = p;
	data = (uint8_t *)p + shmk_page_size();
	return 0;
}

static uint64_t ld(_Atomic uint64_t *x)
{
	return atomic_load_explicit(x, memory_order_relaxed);
}

int LLVMFuzzerTestOneInput(const uint8_t *in_data, size_t size)
{
	struct fz_in in = { in_data, size };

	if (!ring && setup())
		return 0;
	fz_live_reset();
	uint64_t head = fz_u64(&in), tail = fz_u64(&in);
	atomic_store(&hdr->head, head);
	atomic_store(&hdr->tail, tail);
	shmk_ring__reader_reload(ring); /* a fresh reader's tail */
	memset(data, 0, CAP);
	size_t n = fz_u16(&in);
	if (n > in.n)
		n = in.n;
	for (size_t k = 0; k < n && k < CAP; k++)
		data[(tail + k) % CAP] = in.p[k];
	in.p += n;
	in.n -= n;
	/* ops first, so the peer script is what follows them */
	uint8_t ops[32];
	uint64_t args[32];
	unsigned nops = 0;
	while (nops < 32 && in.n) {
		uint8_t op = fz_u8(&in);
		if (op == 0xff)
			break;
		ops[nops] = op;
		args[nops++] = fz_u64(&in);
	}
	shmk_fuzz_peer_start(in.p, in.n);
	for (unsigned i = 0; i < nops; i++) {
		uint64_t a = args[i], tag, t0, t1, h0;
		const void *p;
		size_t len, w0 = shmk_fuzz_peer_writes();
		int rc;
		switch (ops[i] % 5) {
		case 0: /* parse [tail + a_lo, tail + a_lo + a_hi) */
			shmk_ring_tail(ring, &t0);
			t0 += (uint32_t)a;
			rc = shmk_ring_first_message_in(ring, t0, t0 + (a >> 32), &tag, &p, &len);
			fz_rc(rc);
			if (rc == 0) {
				/* ring.reader.bounds: the payload is mapped */
				FUZZ_ASSERT(len <= SHMK_RING_MAX_PAYLOAD);
				FUZZ_ASSERT(t0 % 8 == 0 && len + SHMK_RING_REC_HDR <= (a >> 32));
				memcpy(buf, p, len);
			} else if (t0 % 8) {
				FUZZ_ASSERT(rc == SHMK_EALIGN);
			} else if ((a >> 32) < SHMK_RING_REC_HDR) {
				FUZZ_ASSERT(rc == SHMK_ETOOSMALL);
			}
			break;
		case 1: /* read_message into a buffer of a bytes */
			/* the reader's own tail (ring.reader.lazy_tail): a
			 * tail the hostile writer stored is not followed */
			shmk_ring_tail(ring, &t0);
			/* and the head it loaded last while that still
			 * covers a record past its tail: a head the hostile
			 * writer lowered since is not loaded */
			h0 = ring->rhead > t0 ? ring->rhead : ld(&hdr->head);
			w0 = shmk_fuzz_peer_writes();
			rc = shmk_ring_read_message(ring, &tag, buf, a % (sizeof(buf) + 1), &len, 0);
			fz_rc(rc);
			shmk_ring_tail(ring, &t1);
			if (shmk_fuzz_peer_writes() != w0)
				break;
			if (rc == 0) {
				/* 64 KiB: every record published (lazy 0) */
				FUZZ_ASSERT(ld(&hdr->tail) == t1);
				FUZZ_ASSERT(len <= a % (sizeof(buf) + 1) && len <= SHMK_RING_MAX_PAYLOAD);
				FUZZ_ASSERT(t1 - t0 == shmk_ring_record_len(len));
				FUZZ_ASSERT(h0 - t0 >= t1 - t0);
			} else {
				/* ring.reader.read_message: a refused record stays */
				FUZZ_ASSERT(t1 == t0);
			}
			break;
		case 2: /* read */
			rc = shmk_ring_read(ring, a >> 17, buf, a & 0x1ffff);
			fz_rc(rc);
			if (rc == 0)
				FUZZ_ASSERT((a & 0x1ffff) <= SHMK_RING_MAX_MESSAGE);
			break;
		case 3: /* increment_tail */
			shmk_ring_tail(ring, &t0);
			h0 = ld(&hdr->head);
			w0 = shmk_fuzz_peer_writes();
			rc = shmk_ring_increment_tail(ring, a);
			fz_rc(rc);
			shmk_ring_tail(ring, &t1);
			if (shmk_fuzz_peer_writes() != w0)
				break;
			if (rc == 0) {
				FUZZ_ASSERT(a % 8 == 0 && t0 <= h0 && a <= h0 - t0 && t1 == t0 + a);
				/* a step with an amount stores it (an empty one stores the
				 * tail read_message gathered: the check above, t1 == t0) */
				if (a)
					FUZZ_ASSERT(ld(&hdr->tail) == t1);
			} else
				FUZZ_ASSERT(t1 == t0);
			break;
		default: /* a hostile writer moves head or tail */
			if (a & 1)
				atomic_store(&hdr->head, ld(&hdr->head) + (a >> 1));
			else
				atomic_store(&hdr->tail, a >> 1);
			break;
		}
	}
	shmk_fuzz_peer_stop();
	return 0;
}

size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	static const size_t lens[] = { 0, 1, 7, 8, 100, 4000 };
	if (i >= 6 || max < 32768)
		return 0;
	/* head, tail = a few records a real writer laid out */
	uint64_t tail = i == 5 ? UINT64_MAX - 4095 - 7 - 64 : i * 8ull, head = tail;
	size_t n = 18, k = 0;
	memset(out, 0, 8192);
	for (unsigned r = 0; r < 3; r++) {
		uint64_t tag = 0x1234 + r, len = lens[(i + r) % 6];
		memcpy(out + n + k, &tag, 8);
		memcpy(out + n + k + 8, &len, 8);
		memset(out + n + k + 16, 'x', len);
		k += shmk_ring_record_len(len);
	}
	head = tail + k;
	memcpy(out, &head, 8);
	memcpy(out + 8, &tail, 8);
	uint16_t k16 = (uint16_t)k;
	memcpy(out + 16, &k16, 2);
	n += k;
	/* ops: read all three, then parse/read/increment a little */
	static const uint8_t ops[] = { 1, 1, 1, 0, 2, 3 };
	for (unsigned o = 0; o < sizeof(ops); o++) {
		uint64_t a = ops[o] == 1 ? 65536 : ops[o] == 0 ? (64ull << 32) : ops[o] == 2 ? 8 : 8;
		out[n++] = ops[o];
		memcpy(out + n, &a, 8);
		n += 8;
	}
	out[n++] = 0xff;
	return n;
}

#ifdef SHMK_LIBFUZZER
size_t LLVMFuzzerCustomMutator(uint8_t *data_, size_t size, size_t max, unsigned seed)
{
	static const struct fz_field f[] = {
		{ 0, 8, CAP, 1 },	/* head, paired with tail */
		{ 8, 8, CAP, 0 },	/* tail */
		{ 18 + 8, 8, SHMK_RING_MAX_PAYLOAD, -1 },	/* first record's len */
		{ 18 + 0, 8, 0, -1 },	/* first record's tag */
	};
	return fz_mutate_fields(data_, size, max, seed, f, sizeof(f) / sizeof(f[0]), NULL, 0);
}
#endif
