/* SPDX-License-Identifier: MIT */
/*
 * inspect_file: the `shmkit inspect` core (shmk_cli_inspect, summarize,
 * kind_of, flink_name) over a whole file built from the input.
 *
 * Input, mode byte first:
 *   mode & 1 == 0: raw, the rest of the input IS the file;
 *   mode & 1 == 1: sparse, [size u32][npatch u16] npatch x [off u32][len u16][bytes]
 *                  then the hostile-peer script (so a 582 KiB events region
 *                  or a 72 KiB ring fits in a small input);
 *   mode & 2: JSON report (checked to be one line holding one object).
 * The file is a 64-byte aligned heap buffer of exactly its size.
 */
#include <stdio.h>

#include "common.h"
#include "inspect.h"
#include "shmkit/events.h"
#include "shmkit/ring.h"
#include "shmkit/slots.h"
#include "shmkit/wire.h"

const char *const shmk_fuzz_clauses[] = {
	"cli.exit.error",
	"cli.inspect.json",
	"cli.inspect.recognise+2",
	NULL,
};

#define FMAX (1u << 20)

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };

	fz_init();
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	uint8_t mode = fz_u8(&in);
	size_t len;
	uint8_t *file;
	if (!(mode & 1)) {
		len = in.n;
		if (posix_memalign((void **)&file, 64, len ? len : 1))
			return 0;
		memcpy(file, in.p, len);
		in.n = 0;
	} else {
		/* Big images cost a memset each run: only the sizes a real
		 * object has (events 582144/582400, a 64 KiB ring 73728, the dict
		 * holds them) or below 64 KiB are kept; others fold into 64 KiB. */
		len = fz_u32(&in);
		if (len > FMAX || (len > 65536 && len != SHMK_EVENTS_BASE_BYTES &&
				   len != SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES &&
				   len % 4096 != 0))
			len %= 65536;
		if (posix_memalign((void **)&file, 64, len ? len : 1))
			return 0;
		memset(file, 0, len);
		unsigned np = fz_u16(&in);
		for (unsigned i = 0; i < np && in.n; i++) {
			size_t off = fz_u32(&in), k = fz_u16(&in);
			if (k > in.n)
				k = in.n;
			if (off < len)
				memcpy(file + off, in.p, k < len - off ? k : len - off);
			in.p += k;
			in.n -= k;
		}
	}

	/* cli.inspect.recognise+2: a kind only by its magic */
	enum shmk_cli_kind kind = shmk_cli_kind_of(file, len);
	uint32_t m32 = 0;
	uint64_t m64 = 0;
	if (len >= 4)
		memcpy(&m32, file, 4);
	if (len >= 24)
		memcpy(&m64, file + 16, 8);
	uint32_t init = 0;
	if (len >= 64)
		memcpy(&init, file + offsetof(struct shmk_events_header, initialized), 4);
	if (kind == SHMK_CLI_EVENTS) /* or a region still being initialised */
		FUZZ_ASSERT(m32 == SHMK_EVENTS_MAGIC ||
			    (m32 == 0 && init == SHMK_EVENTS_INIT_BUSY && len >= 64));
	else if (kind == SHMK_CLI_SLOTS)
		FUZZ_ASSERT(m32 == SHMK_SLOTS_MAGIC || m32 == SHMK_SLOTS_ZERODDS_MAGIC);
	else if (kind == SHMK_CLI_RING)
		FUZZ_ASSERT(m64 == SHMK_RING_MAGIC && len >= sizeof(struct shmk_ring_hdr));
	FUZZ_ASSERT(shmk_cli_kind_name(kind) != NULL);

	char name[SHMK_CLI_FLINK_MAX];
	if (shmk_cli_flink_name(file, len, name) == 0)
		FUZZ_ASSERT(name[0] == '/' && strlen(name) < SHMK_CLI_FLINK_MAX);

	struct shmk_cli_image img = { .buf = file, .len = len, .file_size = len };
	static struct shmk_cli_summary sum;
	shmk_fuzz_peer_start(in.p, in.n);
	shmk_cli_summarize(&img, &sum);
	FUZZ_ASSERT(sum.nusers <= SHMK_CLI_MAX_USERS);

	/* cli.exit.error: 0 or 1, never a signal or a hang */
	struct shmk_cli_opts o = { .json = !!(mode & 2), .limit = mode >> 4 };
	char err[256];
	int rc;
	if (mode & 2) {
		char *out = NULL;
		size_t outlen = 0;
		FILE *f = open_memstream(&out, &outlen);
		rc = shmk_cli_inspect(&img, &o, f, err, sizeof(err));
		fclose(f);
		if (outlen) {
			/* cli.inspect.json: one object on one line */
			FUZZ_ASSERT(out[0] == '{' && out[outlen - 1] == '\n');
			FUZZ_ASSERT(memchr(out, '\n', outlen) == out + outlen - 1);
			FUZZ_ASSERT(outlen >= 3 && out[outlen - 2] == '}');
		}
		free(out);
	} else {
		rc = shmk_cli_inspect(&img, &o, devnull, err, sizeof(err));
	}
	shmk_fuzz_peer_stop();
	FUZZ_ASSERT(rc == 0 || rc == 1);
	if (rc)
		FUZZ_ASSERT(memchr(err, 0, sizeof(err)) != NULL);
	free(file);
	return 0;
}

/* Encodes a real file sparsely: one patch per run of non-zero 8-byte words. */
static size_t encode(const uint8_t *f, size_t len, uint8_t mode, uint8_t *out, size_t max)
{
	size_t n = 0;
	out[n++] = mode;
	uint32_t l32 = (uint32_t)len;
	memcpy(out + n, &l32, 4);
	n += 4;
	size_t npos = n;
	n += 2;
	uint16_t np = 0;
	for (size_t b = 0; b < len && np < 65535;) {
		size_t e = b;
		while (e < len) {
			size_t k = len - e < 8 ? len - e : 8;
			int nz = 0;
			for (size_t j = 0; j < k; j++)
				nz |= f[e + j];
			if (!nz)
				break;
			e += k;
			if (e - b >= 60000)
				break;
		}
		if (e == b) {
			b += 8;
			continue;
		}
		if (n + 6 + (e - b) > max)
			break;
		uint32_t off = (uint32_t)b;
		uint16_t k = (uint16_t)(e - b);
		memcpy(out + n, &off, 4);
		memcpy(out + n + 4, &k, 2);
		memcpy(out + n + 6, f + b, e - b);
		n += 6 + (e - b);
		np++;
		b = e;
	}
	memcpy(out + npos, &np, 2);
	return n;
}

static size_t file_seed(const char *path, uint8_t mode, uint8_t *out, size_t max)
{
	static uint8_t img[FMAX];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t len = pread(fd, img, sizeof(img), 0);
	close(fd);
	if (len <= 0)
		return 0;
	if (mode & 1)
		return encode(img, (size_t)len, mode, out, max);
	if ((size_t)len + 1 > max)
		return 0;
	out[0] = mode;
	memcpy(out + 1, img, (size_t)len);
	return (size_t)len + 1;
}

/* Seeds: an events region, a ring, a slots segment and its flink, made and
 * used by the library. */
size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	char p[128];
	size_t n = 0;

	fz_init();
	switch (i) {
	case 0:
	case 1: {
		struct shmk_events *r;
		struct shmk_events_tx *tx;
		struct shmk_events_rx *rx;
		struct shmk_events_opts o = { .blocking = i };
		snprintf(p, sizeof(p), "/dev/shm/shmk-fuzz-seed-ev%u", i);
		unlink(p);
		if (shmk_events_open_path_with(p, &o, &r))
			return 0;
		if (!shmk_events_split_spsc(r, &tx, &rx)) {
			shmk_events_try_send(tx, "hello", 5, NULL);
			shmk_events_try_send(tx, "world", 5, NULL);
			shmk_events_tx_close(tx);
			shmk_events_rx_close(rx);
		}
		n = file_seed(p, (uint8_t)(1 | (i << 1)), out, max);
		shmk_events_close(r);
		unlink(p);
		return n;
	}
	case 2:
	case 3: {
		struct shmk_ring *r;
		struct shmk_ring_writer *w;
		struct shmk_ring_opts o = { .capacity = 65536 };
		int wfd, pfd;
		snprintf(p, sizeof(p), "/dev/shm/shmk-fuzz-seed-ring%u", i);
		unlink(p);
		if (shmk_ring_create(p, &o, &r))
			return 0;
		if (!shmk_ring_writer_new(r, 42, &wfd, &pfd) && !shmk_ring_writer_open(wfd, &w)) {
			shmk_ring_write(w, "abc", 3);
			shmk_ring_write(w, "0123456789abcdef0123", 20);
			shmk_ring_writer_close(w);
			close(pfd);
		}
		n = file_seed(p, (uint8_t)(1 | ((i & 1) << 1)), out, max);
		shmk_ring_close(r);
		unlink(p);
		return n;
	}
	case 4:
	case 5:
	case 6: {
		struct shmk_slots *o, *rd;
		unsigned idx;
		shmk_slot_handle_t h;
		snprintf(p, sizeof(p), FZ_DIR "/seed-inspect.flink");
		unlink(p);
		if (shmk_slots_create(p, 8, 64, &o))
			return 0;
		if (!shmk_slots_attach(p, &rd)) {
			shmk_slots_register_reader(rd, -1, &idx);
			shmk_slots_close(rd);
		}
		for (int k = 0; k < 3; k++)
			if (!shmk_slots_reserve_slot(o, 1, &h))
				shmk_slots_commit_slot(o, h, "sample", 6, NULL, NULL);
		if (i == 6) {
			n = file_seed(p, 0, out, max); /* the flink itself, raw */
		} else {
			char seg[300];
			snprintf(seg, sizeof(seg), "/dev/shm%s", shmk_slots_shm_name(o));
			n = file_seed(seg, (uint8_t)(i == 4 ? 0 : 3), out, max);
		}
		shmk_slots_close(o);
		return n;
	}
	default:
		return 0;
	}
}
