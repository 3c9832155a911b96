/* SPDX-License-Identifier: MIT */
/*
 * slots_ops: byte-coded operations on one real slot segment (an owner and
 * two reader handles of this process, on one segment), checked step by step
 * against a model of every slot (state, sn, size, reader mask), the reader
 * registry and the owner's reuse cursor.
 *
 * Input: [geometry u8][first sn u8] then ops of 4 bytes [op][a][b][c]:
 *   reserve(mask) commit(len) commit_in_place discard register next_unread
 *   read read_ptr mark_read disconnect(reader) reader close+reattach,
 *   plant a foreign reader, kill/revive it (liveness provider),
 *   corrupt a slot header field (then only safety is checked).
 */
#include <sys/mman.h>

#include "common.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

const char *const shmk_fuzz_clauses[] = {
	"slots.reuse.rule",
	"slots.delivery.order",
	"slots.delivery.addressed",
	"slots.reader.register",
	"slots.reader.reap+2",
	"slots.reader.disconnect",
	"slots.reader.index",
	"slots.read.bounds",
	"slots.loan.inplace",
	"slots.reader.unregistered",
	"slots.handle.bounds",
	"slots.close.reader",
	NULL,
};

#define NS 8
#define NR 32
#define FAKE(i) (0x6000000000000000ull + (i) + 1)
enum { FREE, LOANED, COMMITTED };
enum { R_NONE, R_HANDLE, R_FOREIGN, R_LEFT };

static char flink[128];
static struct shmk_slots *own, *rd[2];
static uint8_t buf[256];

static struct {
	uint32_t count, cap, cursor;
	uint64_t next_sn;
	uint8_t st[NS];
	uint64_t sn[NS];
	uint32_t len[NS], mask[NS], active[NS];
	uint8_t fill[NS];
	uint8_t reg[NR];	/* R_* */
	bool dead[NR];		/* foreign reader i dead */
	int ridx[2];		/* reader handle k's index, -1 */
	shmk_slot_handle_t loan[NS];
	bool corrupt;
} m;

/* Live registered readers as the owner's scan sees them (reaping LEFT
 * entries; with check_alive, dead foreign ones too). */
static uint32_t scan(int check_alive)
{
	uint32_t live = 0;
	for (unsigned i = 0; i < NR; i++) {
		if (m.reg[i] == R_NONE)
			continue;
		if (m.reg[i] == R_LEFT || (check_alive && m.reg[i] == R_FOREIGN && m.dead[i])) {
			for (unsigned k = 0; k < m.count; k++)
				m.mask[k] |= 1u << i;
			m.reg[i] = R_NONE;
			continue;
		}
		live |= 1u << i;
	}
	return live;
}

static int model_reserve(uint32_t active, uint32_t *idx)
{
	for (int pass = 0; pass < 2; pass++) {
		/* As shmk_slots_reserve_slot (r[slots.reader.reap+2]): the
		 * registry is scanned, and LEFT entries reaped, only when a
		 * committed slot's mask has to be judged by it, or always in
		 * pass 1.  A reserve that finds a free slot first reaps
		 * nothing, and a closed reader's index stays taken until the
		 * next commit or judged reserve. */
		uint32_t live = 0;
		bool scanned = pass == 1;
		if (scanned)
			live = scan(1);
		for (uint32_t k = 0; k < m.count; k++) {
			uint32_t i = (m.cursor + k) % m.count;
			if (m.st[i] == LOANED)
				continue;
			if (m.st[i] == COMMITTED && m.mask[i] != UINT32_MAX && !scanned) {
				live = scan(pass);
				scanned = true;
			}
			if (m.st[i] == COMMITTED && (m.mask[i] | ~live) != UINT32_MAX)
				continue;
			m.st[i] = LOANED;
			m.active[i] = active;
			m.sn[i] = 0;
			/* in turn from the slot after: the harness's slots
			 * (<= 8 x 128 B) all fit in SLOTS_RR_MAX_BYTES, so the
			 * turn goes over every slot (slots_rr_span) */
			m.cursor = (i + 1) % m.count;
			*idx = i;
			return 0;
		}
	}
	return SHMK_EFULL;
}

static int model_commit(uint32_t i, size_t len, uint8_t fill)
{
	if (len > m.cap)
		return SHMK_ETOOLARGE;
	if (m.next_sn == UINT64_MAX)
		return SHMK_EOVERFLOW;
	uint32_t live = scan(0);
	m.len[i] = (uint32_t)len;
	m.fill[i] = fill;
	m.mask[i] = ~(m.active[i] & live);
	m.sn[i] = m.next_sn++;
	m.st[i] = COMMITTED;
	return 0;
}

/* lowest unread sn for reader index r, or -1 */
static int model_next(unsigned r)
{
	int best = -1;
	for (uint32_t i = 0; i < m.count; i++)
		if (m.st[i] == COMMITTED && m.sn[i] && !(m.mask[i] & (1u << r)) &&
		    (best < 0 || m.sn[i] < m.sn[best]))
			best = (int)i;
	return best;
}

static struct shmk_slots_hdr *seg_hdr;

static void step(uint8_t op, uint8_t a, uint8_t b, uint8_t c)
{
	unsigned k = a & 1;
	shmk_slot_handle_t h = { 0 };
	int rc, want;
	uint32_t idx = 0;

	switch (op % 14) {
	case 0: { /* reserve for readers b */
		uint32_t active = b == 0xff ? UINT32_MAX : (uint32_t)b * 0x01010101u;
		rc = shmk_slots_reserve_slot(own, active, &h);
		fz_rc(rc);
		if (m.corrupt) {
			if (!rc && h.index < NS)
				m.loan[h.index] = h;
			break;
		}
		want = model_reserve(active, &idx);
		/* slots.reuse.rule: the same slot, the same verdict */
		FUZZ_ASSERT(rc == want);
		if (!rc) {
			FUZZ_ASSERT(h.index == idx && h.sn == 0);
			m.loan[idx] = h;
		}
		break;
	}
	case 1: /* commit a loan (b: which, c: len) */
	case 2: { /* commit in place */
		uint32_t i = b % m.count;
		size_t len = c == 0xff ? m.cap + 1 + (b >> 4) : c % (m.cap + 1);
		uint64_t sn = 0;
		struct shmk_slots_toolarge tl = { 0, 0 };
		h = m.loan[i];
		h.index = i;
		memset(buf, a, sizeof(buf));
		if (op % 14 == 1) {
			rc = shmk_slots_commit_slot(own, h, buf, len, &sn, &tl);
		} else {
			void *p;
			size_t cap;
			rc = shmk_slots_slot_data_ptr(own, h, &p, &cap);
			if (rc == 0) {
				/* slots.loan.inplace: capacity bytes, ours */
				FUZZ_ASSERT(cap == m.cap);
				memset(p, a, cap);
				rc = shmk_slots_commit_in_place(own, h, len, &sn, &tl);
			}
		}
		fz_rc(rc);
		if (m.corrupt)
			break;
		if (m.st[i] != LOANED) {
			FUZZ_ASSERT(rc == -EINVAL);
			break;
		}
		uint64_t my = m.next_sn;
		want = model_commit(i, len, a);
		FUZZ_ASSERT(rc == want);
		if (!rc)
			FUZZ_ASSERT(sn == my);
		if (rc == SHMK_ETOOLARGE)
			FUZZ_ASSERT(tl.sample == len && tl.capacity == m.cap);
		break;
	}
	case 3: { /* discard */
		uint32_t i = b % m.count;
		h = m.loan[i];
		h.index = i;
		rc = shmk_slots_discard_slot(own, h);
		fz_rc(rc);
		if (m.corrupt)
			break;
		FUZZ_ASSERT(rc == (m.st[i] == LOANED ? 0 : -EINVAL));
		if (!rc)
			m.st[i] = FREE;
		break;
	}
	case 4: { /* register reader handle k at index b (0xfe: any) */
		int w = b == 0xfe ? -1 : b % 40;
		unsigned got = 99;
		rc = shmk_slots_register_reader(rd[k], w, &got);
		fz_rc(rc);
		if (m.corrupt) {
			/* Corruption touches slot headers and next_sn, not
			 * this handle's registration: case 5 still needs to
			 * know whether handle k holds an index. */
			if (!rc && got < NR && m.ridx[k] < 0) {
				m.reg[got] = R_HANDLE;
				m.ridx[k] = (int)got;
			}
			break;
		}
		if (w >= (int)NR)
			want = SHMK_ERANGE; /* slots.reader.index */
		else if (m.ridx[k] >= 0)
			want = SHMK_EBUSY;
		else if (w >= 0)
			want = m.reg[w] == R_NONE ? 0 : SHMK_EBUSY;
		else {
			want = SHMK_EFULL;
			for (unsigned i = 0; i < NR; i++)
				if (m.reg[i] == R_NONE) {
					want = 0;
					w = (int)i;
					break;
				}
		}
		/* slots.reader.register */
		FUZZ_ASSERT(rc == want);
		if (!rc) {
			FUZZ_ASSERT(got == (unsigned)w);
			m.reg[w] = R_HANDLE;
			m.ridx[k] = w;
		}
		break;
	}
	case 5: { /* next unread + read + (maybe) mark read, for handle k */
		unsigned r = m.ridx[k] >= 0 ? (unsigned)m.ridx[k] : (b & 31);
		rc = shmk_slots_next_unread_slot(rd[k], r, &h);
		fz_rc(rc);
		if (m.ridx[k] < 0) {
			/* r[verify slots.reader.unregistered] */
			FUZZ_ASSERT(rc == -EPERM);
			break;
		}
		if (rc == 1) {
			const void *p;
			size_t len;
			int rc2 = shmk_slots_slot_read_ptr(rd[k], h, &p, &len);
			fz_rc(rc2);
			if (rc2 == 0) {
				/* slots.read.bounds */
				FUZZ_ASSERT(len <= m.cap);
				memcpy(buf, p, len);
			}
		}
		if (m.corrupt) {
			if (rc == 1 && (c & 1))
				fz_rc(shmk_slots_mark_read(rd[k], h, r));
			break;
		}
		int best = model_next(r);
		/* slots.delivery.order, slots.delivery.addressed */
		if (best < 0) {
			FUZZ_ASSERT(rc == 0);
			break;
		}
		FUZZ_ASSERT(rc == 1 && h.index == (uint32_t)best && h.sn == m.sn[best]);
		struct shmk_slot_info info;
		size_t bl = c >> 1;
		rc = shmk_slots_read_slot(rd[k], h, buf, bl, &info);
		if (bl < m.len[best]) {
			FUZZ_ASSERT(rc == SHMK_EBUFSMALL && info.sample_size == m.len[best]);
		} else {
			FUZZ_ASSERT(rc == 0 && info.sn == m.sn[best] && info.sample_size == m.len[best]);
			for (uint32_t i = 0; i < m.len[best]; i++)
				FUZZ_ASSERT(buf[i] == m.fill[best]);
		}
		if (c & 1) {
			FUZZ_ASSERT(shmk_slots_mark_read(rd[k], h, r) == 0);
			m.mask[best] |= 1u << r;
		}
		break;
	}
	case 6: { /* read a slot by index (stale or foreign handle) */
		h.index = b;
		h.sn = c;
		struct shmk_slot_info info;
		rc = shmk_slots_read_slot(rd[k], h, buf, sizeof(buf), &info);
		fz_rc(rc);
		if (b >= m.count)
			FUZZ_ASSERT(rc == SHMK_ERANGE); /* slots.handle.bounds */
		if (rc == 0)
			FUZZ_ASSERT(info.sample_size <= m.cap);
		break;
	}
	case 7: /* the owner disconnects reader b (lease expiry) */
		rc = shmk_slots_mark_reader_disconnected(own, b);
		fz_rc(rc);
		if (b >= NR) {
			FUZZ_ASSERT(rc == SHMK_ERANGE);
		} else if (!m.corrupt) {
			/* slots.reader.disconnect */
			FUZZ_ASSERT(rc == 0);
			for (uint32_t i = 0; i < m.count; i++)
				m.mask[i] |= 1u << b;
		}
		break;
	case 8: /* reader handle k leaves and a new one attaches */
		FUZZ_ASSERT(shmk_slots_close(rd[k]) == 0);
		if (m.ridx[k] >= 0) {
			/* slots.close.reader: its bits set, entry LEFT */
			for (uint32_t i = 0; i < m.count; i++)
				m.mask[i] |= 1u << m.ridx[k];
			m.reg[m.ridx[k]] = R_LEFT;
		}
		m.ridx[k] = -1;
		if (shmk_slots_attach(flink, &rd[k]))
			abort();
		break;
	case 9: /* a foreign reader registers at index b */
		b %= NR;
		if (m.reg[b] != R_NONE)
			break;
		atomic_store(&seg_hdr->readers[b], FAKE(b));
		m.reg[b] = R_FOREIGN;
		m.dead[b] = false;
		fz_revive(FAKE(b)); /* a new process at a reaped index */
		break;
	case 10: /* it dies (or comes back before anyone noticed) */
		b %= NR;
		if (m.reg[b] != R_FOREIGN)
			break;
		m.dead[b] = !m.dead[b];
		if (m.dead[b])
			fz_kill(FAKE(b));
		else
			fz_revive(FAKE(b));
		break;
	case 11: /* the foreign reader reads everything owed to it */
		b %= NR;
		if (m.reg[b] != R_FOREIGN || m.corrupt)
			break;
		for (uint32_t i = 0; i < m.count; i++) {
			struct shmk_slot_hdr *sh = (void *)((uint8_t *)seg_hdr + SHMK_SLOTS_HDR_SIZE +
							    (size_t)i * (((16 + m.cap) + 63) & ~63u));
			atomic_fetch_or(&sh->reader_mask, 1u << b);
			m.mask[i] |= 1u << b;
		}
		break;
	case 12: { /* a hostile writer rewrites a slot header field */
		uint32_t i = b % m.count;
		struct shmk_slot_hdr *sh = (void *)((uint8_t *)seg_hdr + SHMK_SLOTS_HDR_SIZE +
						    (size_t)i * (((16 + m.cap) + 63) & ~63u));
		uint64_t v = fz_boundary(c, m.cap, m.next_sn);
		switch (a % 4) {
		case 0: atomic_store(&sh->sn, v); break;
		case 1: atomic_store(&sh->sample_size, (uint32_t)v); break;
		case 2: atomic_store(&sh->reader_mask, (uint32_t)v); break;
		default: atomic_store(&seg_hdr->next_sn, v); break;
		}
		m.corrupt = true;
		break;
	}
	default: /* getters agree with the geometry */
		FUZZ_ASSERT(shmk_slots_slot_count(rd[k]) == m.count);
		FUZZ_ASSERT(shmk_slots_slot_capacity(rd[k]) == m.cap);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	static const uint32_t counts[] = { 1, 2, 4, 8 }, caps[] = { 1, 16, 48, 64 };
	static const uint64_t firsts[] = { 1, UINT32_MAX - 2ull, UINT64_MAX - 3 };

	fz_init();
	if (!flink[0])
		snprintf(flink, sizeof(flink), FZ_DIR "/ops-%d.flink", (int)getpid());
	fz_live_reset();
	memset(&m, 0, sizeof(m));
	uint8_t g = fz_u8(&in), f = fz_u8(&in);
	m.count = counts[g & 3];
	m.cap = caps[(g >> 2) & 3];
	m.next_sn = firsts[f % 3];
	m.ridx[0] = m.ridx[1] = -1;
	struct shmk_slots_opts o = { .first_sn = m.next_sn };
	unlink(flink);
	if (shmk_slots_create_opts(flink, m.count, m.cap, &o, &own) ||
	    shmk_slots_attach(flink, &rd[0]) || shmk_slots_attach(flink, &rd[1]))
		abort();
	/* our own view of the segment, for the foreign reader and the corruption */
	int fd = shm_open(shmk_slots_shm_name(own), O_RDWR, 0);
	size_t seglen = SHMK_SLOTS_HDR_SIZE + (size_t)m.count * ((16 + m.cap + 63) & ~63u);
	seg_hdr = mmap(NULL, seglen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (seg_hdr == MAP_FAILED)
		abort();
	for (unsigned n = 0; in.n && n < 256; n++) {
		uint8_t op = fz_u8(&in), a = fz_u8(&in), b = fz_u8(&in), c = fz_u8(&in);
		step(op, a, b, c);
	}
	munmap(seg_hdr, seglen);
	shmk_slots_close(rd[0]);
	shmk_slots_close(rd[1]);
	shmk_slots_close(own);
	return 0;
}

size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	static const uint8_t scripts[][68] = {
		/* 4 slots x 48: register, reserve, commit, read, mark */
		{ 0x0a, 0, 4, 0, 0xfe, 0, 0, 0, 1, 0, 1, 'a', 0, 10, 5, 0, 0, 0xff },
		/* fill all, reader lags: full; disconnect frees */
		{ 0x09, 0, 4, 0, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 4, 0, 0, 0, 1, 'b', 1, 4, 0, 0, 0,
		  0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0 },
		/* foreign reader pins, dies, is reaped */
		{ 0x05, 1, 9, 0, 3, 0, 0, 0, 8, 0, 1, 'x', 0, 20, 0, 0, 8, 0, 10, 0, 3, 0, 0, 0,
		  8, 0 },
		/* reader close + reattach, zero-copy, too large, sn near the end */
		{ 0x0f, 2, 4, 1, 5, 0, 0, 0, 0xff, 0, 2, 'z', 0, 30, 5, 1, 0, 0xff, 8, 1, 0, 0, 0,
		  0, 0xff, 0, 1, 'q', 0, 0xff, 3, 0, 0, 0 },
		/* corruption */
		{ 0x0a, 0, 4, 0, 0xfe, 0, 0, 0, 1, 0, 1, 'a', 0, 10, 12, 1, 0, 0xff, 5, 0, 0,
		  0xff, 12, 0, 0, 5, 5, 0, 0, 0xff, 6, 0, 0, 0 },
	};
	if (i >= sizeof(scripts) / sizeof(scripts[0]))
		return 0;
	return fz_script_seed(scripts[i], sizeof(scripts[0]), 2, out, max);
}
