/* SPDX-License-Identifier: MIT */
/*
 * ring_ops: byte-coded operations on one real ring (reader + writer in this
 * process, one mapping each), checked step by step against a FIFO model of
 * head, tail and the queued records.
 *
 * Input: [start sel u8] then ops of 4 bytes [op][a][b lo][b hi]:
 *   write(len) reserve(len) commit discard read_message(buflen) peek
 *   increment_tail(kind) kill/revive the writer (liveness provider)
 *   corrupt head or tail (then one write and one read must fail cleanly,
 *   after which the target restores the model's state)
 */
#include <sys/mman.h>

#include "common.h"
#include "support.h"
#include "shmkit/ring.h"
#include "ring_int.h"

const char *const shmk_fuzz_clauses[] = {
	"ring.writer.space",
	"ring.writer.overflow",
	"ring.writer.reserve",
	"ring.writer.toolarge",
	"ring.writer.validate+3",
	"ring.writer.tag",
	"ring.reader.read_message",
	"ring.reader.wait.peerdead",
	"ring.reader.wait.timeout",
	"ring.reader.increment_tail.range",
	"ring.record.format",
	NULL,
};

#define CAP 65536u
#define TAG 0x7a6fu
#define QMAX 8192

static struct shmk_ring *ring;
static struct shmk_ring_writer *wr;
static struct shmk_ring_hdr *hdr;
static uint8_t *data;
static uint8_t buf[SHMK_RING_MAX_MESSAGE], save[CAP];

/* The model: records in [tail, head), each (len, fill). */
static struct {
	uint64_t head, tail;
	unsigned q0, qn;
	uint32_t len[QMAX];
	uint8_t fill[QMAX];
	int pending;
	uint32_t plen;
	uint8_t pfill;
	int dead;
} m;

static struct shmk_ring_writer *second;

static int setup(void)
{
	int wfd, pfd;
	void *p = fz_ring_raw("ring-ops", CAP, &ring);

	if (!p)
		return -1;
	hdr = p;
	data = (uint8_t *)p + shmk_page_size();
	if (shmk_ring_writer_new(ring, TAG, &wfd, &pfd) || shmk_ring_writer_open(wfd, &wr))
		return -1;
	close(pfd);
	/* A second registered writer (it never writes): each input resets
	 * head and op_corrupt rewrites it under wr, so wr must load the
	 * header every time, never keep a head as a sole writer does
	 * (ring.writer.sole+6) */
	if (shmk_ring_writer_new(ring, TAG + 1, &wfd, &pfd) ||
	    shmk_ring_writer_open(wfd, &second))
		return -1;
	close(pfd);
	return 0;
}

static uint64_t ld(_Atomic uint64_t *x)
{
	return atomic_load_explicit(x, memory_order_relaxed);
}

/* What the model says a write of len gets. */
static int expect_write(uint64_t len)
{
	/* a pending reservation is refused before the length is looked at */
	if (m.pending)
		return -EINVAL;
	if (len > SHMK_RING_MAX_PAYLOAD)
		return SHMK_ETOOLARGE;
	uint64_t rl = shmk_ring_record_len(len);
	if (m.head > UINT64_MAX - rl)
		return SHMK_EINTEGRITY;
	if (m.head + rl - m.tail > CAP)
		return SHMK_EFULL;
	return 0;
}

static void push(uint32_t len, uint8_t fill)
{
	FUZZ_ASSERT(m.qn < QMAX);
	m.len[(m.q0 + m.qn) % QMAX] = len;
	m.fill[(m.q0 + m.qn) % QMAX] = fill;
	m.qn++;
	m.head += shmk_ring_record_len(len);
}

static void check_state(void)
{
	FUZZ_ASSERT(ld(&hdr->head) == m.head);
	FUZZ_ASSERT(ld(&hdr->tail) == m.tail);
}

static void op_read(size_t buflen)
{
	uint64_t tag;
	size_t len = SIZE_MAX;
	int rc = shmk_ring_read_message(ring, &tag, buf, buflen, &len, 0);
	fz_rc(rc);
	if (!m.qn) {
		/* ring.reader.wait.peerdead, ring.reader.wait.timeout */
		FUZZ_ASSERT(rc == (m.dead ? SHMK_EPEERDEAD : -ETIMEDOUT));
		return;
	}
	uint32_t want = m.len[m.q0];
	if (want > buflen) {
		/* ring.reader.read_message: too small: the length, record stays */
		FUZZ_ASSERT(rc == SHMK_EBUFSMALL && len == want);
		return;
	}
	FUZZ_ASSERT(rc == 0 && len == want && tag == TAG);
	for (size_t i = 0; i < len; i++)
		FUZZ_ASSERT(buf[i] == m.fill[m.q0]);
	m.tail += shmk_ring_record_len(want);
	m.q0 = (m.q0 + 1) % QMAX;
	m.qn--;
}

static void op_corrupt(uint8_t a, uint16_t b)
{
	uint64_t v = fz_boundary((uint8_t)b, a & 1 ? m.head : m.tail, a & 1 ? m.tail : m.head);
	if (b & 0x100)
		v += CAP;
	memcpy(save, data, CAP);
	atomic_store(a & 1 ? &hdr->head : &hdr->tail, v);
	uint64_t h = ld(&hdr->head), t = ld(&hdr->tail);
	int rc = shmk_ring_write(wr, buf, b >> 9);
	fz_rc(rc);
	if (h % 8 || t > h || h - t > CAP) {
		/* ring.writer.validate+3: impossible indices: nothing written */
		FUZZ_ASSERT(m.pending ? rc == -EINVAL : rc == SHMK_EINTEGRITY);
		FUZZ_ASSERT(ld(&hdr->head) == h);
	}
	size_t len;
	uint64_t tag;
	rc = shmk_ring_read_message(ring, &tag, buf, sizeof(buf), &len, 0);
	fz_rc(rc);
	/* back to the model's state */
	memcpy(data, save, CAP);
	atomic_store(&hdr->head, m.head);
	atomic_store(&hdr->tail, m.tail);
	shmk_ring__reader_reload(ring); /* the read above may have moved it */
}

int LLVMFuzzerTestOneInput(const uint8_t *in_data, size_t size)
{
	struct fz_in in = { in_data, size };

	if (!ring && setup())
		return 0;
	fz_live_reset();
	memset(&m, 0, sizeof(m));
	uint8_t s = fz_u8(&in);
	/* start at 0, near the ring's wrap, or near the end of the u64 index */
	m.head = m.tail = s % 3 == 0 ? 0 : s % 3 == 1 ? CAP - 8 * (s >> 2)
					    : (UINT64_MAX & ~7ull) - 8 * 1024 * (s >> 2);
	atomic_store(&hdr->head, m.head);
	atomic_store(&hdr->tail, m.tail);
	shmk_ring__reader_reload(ring); /* a fresh reader's tail */
	for (unsigned steps = 0; in.n && steps < 256; steps++) { /* bounded: execs/s */
		uint8_t op = fz_u8(&in), a = fz_u8(&in);
		uint16_t b = fz_u16(&in);
		size_t len = b & 0x8000 ? (size_t)(b & 0x7fff) * 3 : b & 0x3ff;
		void *p;
		int rc, want;
		switch (op % 9) {
		case 0: /* write */
			want = expect_write(len);
			memset(buf, a, len <= sizeof(buf) ? len : 0);
			rc = shmk_ring_write(wr, buf, len);
			FUZZ_ASSERT(rc == want);
			if (!rc)
				push((uint32_t)len, a);
			break;
		case 1: /* reserve */
			want = expect_write(len);
			rc = shmk_ring_reserve(wr, len, &p);
			FUZZ_ASSERT(rc == want);
			if (!rc) {
				/* ring.writer.reserve: len contiguous bytes */
				memset(p, a, len);
				m.pending = 1;
				m.plen = (uint32_t)len;
				m.pfill = a;
			}
			break;
		case 2: /* commit */
			rc = shmk_ring_commit(wr);
			FUZZ_ASSERT(rc == (m.pending ? 0 : -EINVAL));
			if (!rc) {
				m.pending = 0;
				push(m.plen, m.pfill);
			}
			break;
		case 3: /* discard */
			rc = shmk_ring_discard(wr);
			FUZZ_ASSERT(rc == (m.pending ? 0 : -EINVAL));
			m.pending = 0;
			break;
		case 4: /* read_message */
			op_read(b & 1 ? len : sizeof(buf));
			break;
		case 5: { /* peek */
			uint64_t tag;
			const void *pp;
			size_t n;
			rc = shmk_ring_first_message_in(ring, m.tail, m.head, &tag, &pp, &n);
			if (!m.qn) {
				FUZZ_ASSERT(rc == SHMK_ETOOSMALL);
			} else {
				FUZZ_ASSERT(rc == 0 && tag == TAG && n == m.len[m.q0]);
				for (size_t i = 0; i < n; i++)
					FUZZ_ASSERT(((const uint8_t *)pp)[i] == m.fill[m.q0]);
			}
			break;
		}
		case 6: { /* increment_tail: 0, the front record, all, too far, misaligned */
			uint64_t amt = 0;
			switch (a % 5) {
			case 1: amt = m.qn ? shmk_ring_record_len(m.len[m.q0]) : 8; break;
			case 2: amt = m.head - m.tail; break;
			case 3: amt = m.head - m.tail + 8; break;
			case 4: amt = 4; break;
			}
			rc = shmk_ring_increment_tail(ring, amt);
			if (amt % 8) {
				FUZZ_ASSERT(rc == SHMK_EALIGN);
			} else if (amt > m.head - m.tail) {
				/* ring.reader.increment_tail.range */
				FUZZ_ASSERT(rc == SHMK_ERANGE);
			} else {
				FUZZ_ASSERT(rc == 0);
				if (amt == m.head - m.tail) {
					m.q0 = (m.q0 + m.qn) % QMAX;
					m.qn = 0;
				} else if (amt) {
					m.q0 = (m.q0 + 1) % QMAX;
					m.qn--;
				}
				m.tail += amt;
			}
			break;
		}
		case 7: /* the writer dies (or comes back) */
			m.dead = !m.dead;
			if (m.dead)
				fz_kill(shmk_self_token());
			else
				fz_revive(shmk_self_token());
			break;
		default:
			op_corrupt(a, b);
			break;
		}
		check_state();
	}
	if (m.pending)
		shmk_ring_discard(wr);
	return 0;
}

size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	/* a few scripts a test would write: fill and drain, zero-copy, wrap */
	static const uint8_t scripts[][40] = {
		{ 0, 0, 'a', 5, 0, 0, 'b', 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0 },
		{ 1, 1, 'z', 100, 0, 5, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0 },
		{ 2, 0, 'q', 0xff, 0x83, 0, 'r', 0xff, 0x83, 0, 's', 0xff, 0x83, 4, 0, 0, 0, 0, 't',
		  0xff, 0x83, 6, 1, 0, 0 },
		{ 0, 0, 'a', 8, 0, 7, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 8, 1, 0x20, 0 },
		{ 6, 1, 1, 16, 0, 3, 0, 0, 0, 1, 2, 16, 0, 0, 1, 1, 0, 2, 0, 0, 0, 4, 1, 5, 0 },
		{ 0, 8, 0, 0x04, 0x7, 8, 1, 0x07, 0x18, 6, 3, 0, 0, 6, 4, 0, 0 },
	};
	if (i >= sizeof(scripts) / sizeof(scripts[0]))
		return 0;
	return fz_script_seed(scripts[i], sizeof(scripts[0]), 1, out, max);
}
