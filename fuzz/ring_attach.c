/* SPDX-License-Identifier: MIT */
/*
 * ring_attach: the ring's header and writers-page validation (reader attach
 * and writer open), then a first look at hostile records, over a file built
 * from the input.
 *
 * Input: [ring header 128][writers page head 24][size sel][flags]
 *        [u16 n][n ring bytes at tail][read index u64][read size u16]
 *        [peer script ...]
 * The file is 2 pages + capacity (capacity from the header when small,
 * else 64 KiB), bent by the size selector; the writers page lands where the
 * header's capacity says.  The hostile peer runs while attach and the
 * reads parse the file.  With a writer (flags & 2) whose first write
 * succeeds, the header's head (and tail when flags & 1) is scribbled
 * before a second write of the same size: the kept path (check_kept).
 */
#include "common.h"
#include "shmkit/ring.h"

const char *const shmk_fuzz_clauses[] = {
	"ring.attach.validate",
	"ring.reader.single",
	"ring.reader.bounds",
	"ring.reader.first_message.badlen",
	"ring.reader.first_message.toosmall",
	"ring.writer.validate+3",
	"ring.writer.bounds",
	"ring.writer.space",
	"ring.writer.sole+6",
	"ring.reader.read_message",
	NULL,
};

#define HDR_LEN 128
#define WP_LEN 24
#define FIXED (HDR_LEN + WP_LEN + 2)

static char path[128];
static uint8_t payload[SHMK_RING_MAX_MESSAGE];

static void check_reader(struct shmk_ring *r, struct fz_in *in, uint64_t fsize)
{
	size_t page = shmk_page_size();
	uint64_t cap, head, tail, tag;
	const void *p;
	size_t len;

	FUZZ_ASSERT(shmk_ring_capacity(r, &cap) == 0);
	/* ring.attach.validate, accepted: the file really holds it */
	FUZZ_ASSERT(cap % page == 0 && cap >= SHMK_RING_MAX_MESSAGE && cap <= (1ull << 30));
	FUZZ_ASSERT(fsize == 2 * page + cap);
	shmk_ring_head(r, &head);
	shmk_ring_tail(r, &tail);
	size_t before = shmk_fuzz_peer_writes();
	int rc = shmk_ring_first_message_in(r, tail, head, &tag, &p, &len);
	fz_rc(rc);
	if (rc == 0) {
		/* ring.reader.bounds: the payload is inside the mapping:
		 * touching all of it must not fault */
		FUZZ_ASSERT(len <= SHMK_RING_MAX_PAYLOAD);
		if (shmk_fuzz_peer_writes() == before)
			FUZZ_ASSERT(head - tail >= SHMK_RING_REC_HDR + len);
		memcpy(payload, p, len);
	} else if (tail % 8 == 0 && (head < tail || head - tail < SHMK_RING_REC_HDR) &&
		   shmk_fuzz_peer_writes() == before) {
		FUZZ_ASSERT(rc == SHMK_ETOOSMALL);
	}
	uint64_t idx = fz_u64(in);
	size_t sz = fz_u16(in) + (idx & 1);
	rc = shmk_ring_read(r, idx & ~1ull, payload, sz > sizeof(payload) ? sizeof(payload) : sz);
	fz_rc(rc);
	before = shmk_fuzz_peer_writes();
	rc = shmk_ring_read_message(r, &tag, payload, sizeof(payload), &len, 0);
	fz_rc(rc);
	uint64_t t2;
	shmk_ring_tail(r, &t2);
	/* (the peer may write at any load, the one of t2 included) */
	if (rc == 0 && shmk_fuzz_peer_writes() == before) {
		/* ring.reader.read_message: tail moved by exactly one record */
		FUZZ_ASSERT(t2 - tail == shmk_ring_record_len(len));
		FUZZ_ASSERT(len + SHMK_RING_REC_HDR <= head - tail);
	}
}

/* ring.writer.sole+6: w published [h1 - rl, h1) against tail t1, loaded
 * and validated, and no peer wrote since.  Scribble an impossible head
 * (and, when bad_tail, an impossible tail) into the header through fd,
 * then write n bytes again: a handle alone on the writers page keeps its
 * head, so the scribbled head is never loaded and the publish overwrites
 * it; tail is loaded again only when the record does not fit against t1,
 * and then validated (ring.writer.validate+3), writing nothing. */
static void check_kept(struct shmk_ring *r, struct shmk_ring_writer *w, int fd, uint64_t h1,
		       uint64_t t1, size_t n, int bad_tail)
{
	size_t page = shmk_page_size();
	uint64_t cap, reg, h2, rl = shmk_ring_record_len(n);
	uint64_t sh = h1 ^ 5, st = h1 + 8; /* misaligned head; tail past head */

	shmk_ring_capacity(r, &cap);
	if (h1 > UINT64_MAX - rl - 8)
		return; /* ring.writer.overflow decides first */
	if (pread(fd, &reg, 8, (off_t)(page + cap + 16)) != 8 ||
	    pwrite(fd, &sh, 8, offsetof(struct shmk_ring_hdr, head)) != 8 ||
	    (bad_tail && pwrite(fd, &st, 8, offsetof(struct shmk_ring_hdr, tail)) != 8))
		return;
	size_t before = shmk_fuzz_peer_writes();
	int rc = shmk_ring_write(w, payload, n);
	fz_rc(rc);
	shmk_ring_head(r, &h2);
	if (shmk_fuzz_peer_writes() != before || reg != 1)
		return; /* registered forged or the peer wrote: only bounds hold */
	if (h1 + rl - t1 <= cap)
		FUZZ_ASSERT(rc == 0 && h2 == h1 + rl); /* nothing loaded */
	else
		FUZZ_ASSERT(rc == (bad_tail ? SHMK_EINTEGRITY : SHMK_EFULL) && h2 == sh);
}

static void check_writer(struct shmk_ring *r, uint8_t flags, int fd)
{
	int wfd, pfd;
	struct shmk_ring_writer *w;

	if (shmk_ring_writer_new(r, 7, &wfd, &pfd))
		return;
	int rc = shmk_ring_writer_open(wfd, &w);
	fz_rc(rc);
	if (rc == 0) {
		uint64_t h0, t0, h1, cap;
		shmk_ring_capacity(r, &cap);
		size_t before = shmk_fuzz_peer_writes();
		shmk_ring_head(r, &h0);
		/* the header's tail, which the writer loads: the reader's own
		 * may be ahead of it (ring.reader.lazy_tail) */
		if (pread(fd, &t0, 8, offsetof(struct shmk_ring_hdr, tail)) != 8)
			t0 = 0;
		size_t n = (size_t)(flags >> 2) * 997;
		rc = shmk_ring_write(w, payload, n);
		fz_rc(rc);
		shmk_ring_head(r, &h1);
		if (shmk_fuzz_peer_writes() == before) { /* h0..h1 loads included */
			uint64_t rl = shmk_ring_record_len(n);
			if (rc == 0) {
				/* ring.writer.validate+3, ring.writer.space */
				FUZZ_ASSERT(h0 % 8 == 0 && t0 <= h0 && h0 - t0 <= cap);
				FUZZ_ASSERT(h1 == h0 + rl && h1 - t0 <= cap);
				check_kept(r, w, fd, h1, t0, n, flags & 1);
			} else {
				FUZZ_ASSERT(h1 == h0);
				if (h0 % 8 || t0 > h0 || h0 - t0 > cap)
					FUZZ_ASSERT(rc == SHMK_EINTEGRITY);
			}
		}
		shmk_ring_writer_close(w);
	}
	close(pfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t page;
	struct fz_in in = { data, size };
	uint8_t hdr[HDR_LEN], wp[WP_LEN];

	fz_init();
	page = shmk_page_size();
	if (!path[0])
		snprintf(path, sizeof(path), "/dev/shm/shmk-fuzz-ring-attach-%d", (int)getpid());
	fz_take(&in, hdr, sizeof(hdr));
	fz_take(&in, wp, sizeof(wp));
	uint8_t sel = fz_u8(&in), flags = fz_u8(&in);
	uint64_t hcap, tail;
	memcpy(&hcap, hdr + offsetof(struct shmk_ring_hdr, capacity), 8);
	memcpy(&tail, hdr + offsetof(struct shmk_ring_hdr, tail), 8);
	uint64_t cap = hcap <= (1u << 20) ? hcap : SHMK_RING_MAX_MESSAGE;
	uint64_t fsize = 2 * page + cap;
	switch (sel & 7) {
	case 4: fsize -= page; break;
	case 5: fsize += page; break;
	case 6: fsize -= 1 + (sel >> 3); break;
	case 7: fsize = (uint64_t)(sel >> 3) * 512; break;
	default: break;
	}
	fz_live_reset();
	fz_set_garbage_dead(flags & 1);

	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return 0;
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)fsize))
		goto out;
	pwrite(fd, hdr, sizeof(hdr), 0);
	if (page + cap + WP_LEN <= fsize)
		pwrite(fd, wp, sizeof(wp), (off_t)(page + cap));
	size_t n = fz_u16(&in);
	if (n > in.n)
		n = in.n;
	if (cap && n) {
		/* the records at tail, wrapping like the ring does */
		uint64_t off = tail % cap;
		size_t k = n < cap - off ? n : (size_t)(cap - off);
		if (page + off + k <= fsize)
			pwrite(fd, in.p, k, (off_t)(page + off));
		if (n > k && page + (n - k) <= fsize)
			pwrite(fd, in.p + k, n - k > cap ? cap : n - k, (off_t)page);
		in.p += n;
		in.n -= n;
	}
	uint64_t ridx = fz_u64(&in);
	uint16_t rsz = fz_u16(&in);
	uint8_t rdb[10];
	memcpy(rdb, &ridx, 8);
	memcpy(rdb + 8, &rsz, 2);
	struct fz_in rd = { rdb, sizeof(rdb) };

	struct shmk_ring *r = NULL;
	shmk_fuzz_peer_start(in.p, in.n);
	int rc = shmk_ring_attach(path, &r);
	fz_rc(rc);
	if (rc == 0) {
		check_reader(r, &rd, fsize);
		if (flags & 2)
			check_writer(r, flags, fd);
		shmk_ring_close(r);
	} else if (shmk_fuzz_peer_writes() == 0 && fsize < 2 * page) {
		FUZZ_ASSERT(rc == SHMK_ETOOSMALL);
	}
	shmk_fuzz_peer_stop();
out:
	close(fd);
	return 0;
}

/* Seeds: real ring files made by the library (create, one writer, records). */
size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	static const size_t lens[] = { 0, 5, 64, 4000, 65520 };
	if (i >= 6 || max < 1 << 17)
		return 0;
	fz_init();
	size_t page = shmk_page_size();
	struct shmk_ring_opts o = { .capacity = 65536,
				    .initial_index = i == 5 ? (UINT64_MAX - 65536 - 7) & ~7ull : 0 };
	struct shmk_ring *r;
	struct shmk_ring_writer *w;
	int wfd, pfd;
	char p[64];
	snprintf(p, sizeof(p), "/dev/shm/shmk-fuzz-seed-%u", i);
	unlink(p);
	if (shmk_ring_create(p, &o, &r))
		return 0;
	if (!shmk_ring_writer_new(r, 0x1234 + i, &wfd, &pfd) && !shmk_ring_writer_open(wfd, &w)) {
		static uint8_t msg[65520];
		memset(msg, 'a' + i, sizeof(msg));
		if (i < 5)
			shmk_ring_write(w, msg, lens[i]);
		shmk_ring_write(w, msg, 24);
		shmk_ring_writer_close(w);
		close(pfd);
	}
	int fd = open(p, O_RDONLY);
	size_t n = 0;
	pread(fd, out, HDR_LEN, 0);
	memset(out + offsetof(struct shmk_ring_hdr, reader), 0, 8); /* no reader now */
	pread(fd, out + HDR_LEN, WP_LEN, (off_t)(page + 65536));
	memset(out + HDR_LEN + 16, 0, 8); /* registered */
	n = FIXED;
	out[HDR_LEN + WP_LEN] = 0;		/* exact size */
	out[HDR_LEN + WP_LEN + 1] = i & 1 ? 2 : 0; /* odd seeds also open a writer */
	uint64_t tail;
	memcpy(&tail, out + 8, 8);
	uint16_t dl = (uint16_t)(i < 5 ? shmk_ring_record_len(lens[i]) + 40 : 40);
	if (dl > 8192)
		dl = 8192;
	memcpy(out + n, &dl, 2);
	n += 2;
	for (size_t k = 0; k < dl; k++)
		pread(fd, out + n + k, 1, (off_t)(page + (tail + k) % 65536));
	n += dl;
	memset(out + n, 0, 10); /* read index, size */
	out[n + 8] = 16;
	n += 10;
	close(fd);
	shmk_ring_close(r);
	unlink(p);
	return n;
}

#ifdef SHMK_LIBFUZZER
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
	static const struct fz_field f[] = {
		{ 0, 8, 65536, 1 },	/* head, paired with tail */
		{ 8, 8, 65536, 0 },	/* tail */
		{ 16, 8, 0, -1 },	/* magic */
		{ 24, 4, SHMK_RING_VERSION, -1 },	/* version */
		{ 28, 4, 4096, -1 },	/* page_size */
		{ 32, 8, 65536, -1 },	/* capacity */
		{ 40, 8, 0, -1 },	/* reader token */
		{ HDR_LEN + 0, 8, 0, -1 },	/* writers page magic */
		{ HDR_LEN + 8, 4, SHMK_RING_VERSION, -1 },	/* version */
		{ HDR_LEN + 12, 4, 64, -1 },	/* nslots */
		{ HDR_LEN + 16, 8, 1, -1 },	/* registered */
		{ HDR_LEN + WP_LEN, 1, 4, -1 },	/* size selector */
		{ FIXED + 2 + 8, 8, 65520, -1 },	/* first record len (seed layout) */
	};
	return fz_mutate_fields(data, size, max, seed, f, sizeof(f) / sizeof(f[0]), NULL, 0);
}
#endif
