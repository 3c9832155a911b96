/* SPDX-License-Identifier: MIT */
/*
 * slots_attach: a reader's attach (segment header validation) and its
 * reads of hostile slot headers, over a segment built from the input and
 * reached through a real flink, on the target's private tmpfs.
 *
 * Input: [size sel u8][size u32][flags u8][segment header 0x140]
 *        [u16 n][n bytes of slots from 0x140][ops (op, a) until 0xff, max 16]
 *        [peer script ...]
 */
#include <sys/mman.h>

#include "common.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

const char *const shmk_fuzz_clauses[] = {
	"slots.attach.magic+2",
	"slots.attach.upstream",
	"slots.attach.sizes",
	"slots.attach.bounds",
	"slots.handle.bounds",
	"slots.read.bounds",
	"slots.read.ptr",
	"slots.reader.index",
	"slots.reader.register",
	NULL,
};

#define HDR SHMK_SLOTS_HDR_SIZE
#define FMAX (1u << 20)

static char seg[64], flink[128];
static uint8_t buf[FMAX];

static void setup(void)
{
	fz_init();
	snprintf(seg, sizeof(seg), "/shmk-fuzz-slots-%d", (int)getpid());
	snprintf(flink, sizeof(flink), FZ_DIR "/attach-%d.flink", (int)getpid());
	char c[80];
	int n = snprintf(c, sizeof(c), "%s\n", seg);
	fz_write_file(flink, c, (size_t)n, (uint64_t)n);
}

static void reader_ops(struct shmk_slots *s, const uint8_t *ops, unsigned nops, uint64_t fsize)
{
	size_t count = shmk_slots_slot_count(s), total = shmk_slots_slot_total_size(s);
	size_t cap = shmk_slots_slot_capacity(s);
	unsigned reader = 0;
	shmk_slot_handle_t h = { 0 };
	int have = 0;

	/* slots.attach.bounds, accepted: every slot inside the file */
	FUZZ_ASSERT(count >= 1 && count <= SHMK_SLOTS_MAX_COUNT);
	FUZZ_ASSERT(total == ((16 + cap + 63) & ~(size_t)63));
	FUZZ_ASSERT(HDR + (uint64_t)count * total <= fsize);
	for (unsigned i = 0; i < nops; i++) {
		uint8_t op = ops[2 * i], a = ops[2 * i + 1];
		const void *p;
		size_t len;
		struct shmk_slot_info info;
		int rc;
		switch (op % 6) {
		case 0: { /* register */
			unsigned idx = 99;
			int want = (int)(a % 34) - 1;
			rc = shmk_slots_register_reader(s, want, &idx);
			fz_rc(rc);
			if (want >= 32)
				FUZZ_ASSERT(rc == SHMK_ERANGE);
			if (rc == 0) {
				FUZZ_ASSERT(idx < 32 && (want < 0 || idx == (unsigned)want));
				reader = idx;
			}
			break;
		}
		case 1: /* next unread */
			rc = shmk_slots_next_unread_slot(s, a & 0x20 ? a : reader, &h);
			fz_rc(rc);
			if ((a & 0x20) && a >= 32)
				FUZZ_ASSERT(rc == SHMK_ERANGE); /* slots.reader.index */
			if (rc == 1) {
				FUZZ_ASSERT(h.index < count && h.sn != 0);
				have = 1;
			}
			break;
		case 2: /* zero-copy read of the last handle, or of slot a */
			if (!have) {
				h.index = a;
				h.sn = 0;
			}
			rc = shmk_slots_slot_read_ptr(s, h, &p, &len);
			fz_rc(rc);
			if (h.index >= count)
				FUZZ_ASSERT(rc == SHMK_ERANGE); /* slots.handle.bounds */
			if (rc == 0) {
				/* slots.read.bounds, slots.read.ptr */
				FUZZ_ASSERT(len <= cap);
				memcpy(buf, p, len);
			}
			break;
		case 3: /* copying read into a buffer of a * 64 bytes */
			rc = shmk_slots_read_slot(s, h, buf, (size_t)a * 64 < cap ? (size_t)a * 64 : cap,
						  &info);
			fz_rc(rc);
			if (rc == 0)
				FUZZ_ASSERT(info.sample_size <= cap && info.sample_size <= (size_t)a * 64);
			break;
		case 4:
			rc = shmk_slots_mark_read(s, h, a & 0x20 ? a : reader);
			fz_rc(rc);
			have = 0;
			break;
		default: {
			uint64_t g = shmk_slots_notify_generation(s);
			rc = shmk_slots_wait_for_change(s, g - (a & 1), 0);
			fz_rc(rc);
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t hdr[HDR];

	if (!seg[0])
		setup();
	fz_live_reset();
	uint8_t sel = fz_u8(&in);
	uint32_t raw = fz_u32(&in);
	uint8_t flags = fz_u8(&in);
	fz_set_garbage_dead(flags & 1);
	fz_take(&in, hdr, sizeof(hdr));
	uint32_t count, total;
	memcpy(&count, hdr + offsetof(struct shmk_slots_hdr, slot_count), 4);
	memcpy(&total, hdr + offsetof(struct shmk_slots_hdr, slot_total_size), 4);
	uint64_t natural = HDR + (uint64_t)count * total, fsize;
	switch (sel % 6) {
	case 0: case 1: fsize = natural; break;
	case 2: fsize = natural - 1; break;
	case 3: fsize = natural + 4096; break;
	case 4: fsize = natural - total; break;
	default: fsize = raw; break;
	}
	if (fsize > FMAX)
		fsize = (sel & 0x80) ? HDR - 1 : raw % FMAX;
	size_t n = fz_u16(&in);
	if (n > in.n)
		n = in.n;
	const uint8_t *body = in.p;
	in.p += n;
	in.n -= n;
	uint8_t ops[32];
	unsigned nops = 0;
	while (nops < 16 && in.n) {
		uint8_t op = fz_u8(&in);
		if (op == 0xff)
			break;
		ops[2 * nops] = op;
		ops[2 * nops++ + 1] = fz_u8(&in);
	}

	int fd = shm_open(seg, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)fsize)) {
		close(fd);
		return 0;
	}
	pwrite(fd, hdr, fsize < HDR ? fsize : HDR, 0);
	if (fsize > HDR && n)
		pwrite(fd, body, n < fsize - HDR ? n : fsize - HDR, HDR);
	close(fd);

	struct shmk_slots *s = NULL;
	shmk_fuzz_peer_start(in.p, in.n);
	int rc = shmk_slots_attach(flink, &s);
	fz_rc(rc);
	if (rc == 0) {
		reader_ops(s, ops, nops, fsize);
		FUZZ_ASSERT(shmk_slots_close(s) == 0);
	} else if (!shmk_fuzz_peer_writes()) {
		uint32_t magic;
		memcpy(&magic, hdr, 4);
		if (fsize >= 4 && magic == SHMK_SLOTS_ZERODDS_MAGIC)
			FUZZ_ASSERT(rc == SHMK_EBADMAGIC); /* r[verify slots.attach.upstream] */
		else if (fsize < HDR)
			FUZZ_ASSERT(rc == SHMK_ETOOSMALL);
		else if (magic != SHMK_SLOTS_MAGIC)
			FUZZ_ASSERT(rc == SHMK_EBADMAGIC); /* slots.attach.magic+2 */
		else
			FUZZ_ASSERT(rc == SHMK_ELAYOUT); /* slots.attach.sizes */
	}
	shmk_fuzz_peer_stop();
	return 0;
}

/* Seeds: segments the library made (create, commits, a registered reader). */
size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	static const size_t counts[] = { 1, 4, 8, 3, 16 }, caps[] = { 1, 48, 100, 1000, 64 };
	if (i >= 5 || max < 65536)
		return 0;
	fz_init();
	char fl[128];
	snprintf(fl, sizeof(fl), FZ_DIR "/seed-%u.flink", i);
	unlink(fl);
	struct shmk_slots *o, *r;
	struct shmk_slots_opts so = { .first_sn = i == 3 ? UINT32_MAX - 1ull : 0 };
	if (shmk_slots_create_opts(fl, counts[i], caps[i], &so, &o))
		return 0;
	unsigned idx;
	if (!shmk_slots_attach(fl, &r))
		shmk_slots_register_reader(r, -1, &idx);
	for (unsigned k = 0; k < counts[i] - (i == 1); k++) {
		shmk_slot_handle_t h;
		uint8_t msg[1000];
		memset(msg, 'a' + k, sizeof(msg));
		if (!shmk_slots_reserve_slot(o, 1u, &h))
			shmk_slots_commit_slot(o, h, msg, caps[i] > k ? caps[i] - k : 1, NULL, NULL);
	}
	const struct shmk_slots_hdr *h;
	int fd = shm_open(shmk_slots_shm_name(o), O_RDONLY, 0);
	struct stat st;
	fstat(fd, &st);
	h = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	size_t n = 0;
	out[n++] = 0;
	memset(out + n, 0, 4);
	n += 4;
	out[n++] = 0;
	memcpy(out + n, h, HDR);
	n += HDR;
	uint16_t body = (uint16_t)(st.st_size - HDR > 16384 ? 16384 : st.st_size - HDR);
	memcpy(out + n, &body, 2);
	n += 2;
	memcpy(out + n, (const uint8_t *)h + HDR, body);
	n += body;
	static const uint8_t ops[] = { 0, 0, 1, 0, 2, 0, 3, 200, 4, 0, 1, 0, 3, 1, 5, 1, 0xff };
	memcpy(out + n, ops, sizeof(ops));
	n += sizeof(ops);
	munmap((void *)h, (size_t)st.st_size);
	shmk_slots_close(r);
	shmk_slots_close(o);
	return n;
}

#ifdef SHMK_LIBFUZZER
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
	enum { H = 6 };
	static const struct fz_field f[] = {
		{ 0, 1, 6, -1 },		/* size selector */
		{ H + 0x00, 4, 0, -1 },		/* magic */
		{ H + 0x04, 4, SHMK_SLOTS_MAX_COUNT, -1 },	/* slot_count */
		{ H + 0x08, 4, 64, -1 },	/* slot_total_size */
		{ H + 0x0c, 4, 48, -1 },	/* slot_capacity */
		{ H + 0x10, 8, 1, -1 },		/* next_sn */
		{ H + 0x1c, 4, HDR, -1 },	/* hdr_size */
		{ H + 0x20, 8, 0, -1 },		/* owner token */
		{ H + 0x28, 4, 2, -1 },		/* owner_state */
		{ H + 0x40, 8, 0, -1 },		/* readers[0] */
		{ H + HDR + 2 + 0, 8, 1, -1 },	/* slot 0 sn */
		{ H + HDR + 2 + 8, 4, 48, -1 },	/* slot 0 sample_size */
		{ H + HDR + 2 + 12, 4, 1, -1 },	/* slot 0 reader_mask */
	};
	return fz_mutate_fields(data, size, max, seed, f, sizeof(f) / sizeof(f[0]), NULL, 0);
}
#endif
