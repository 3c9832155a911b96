/* SPDX-License-Identifier: MIT */
/*
 * events_validate: shmk_events_validate (the one validator open, split and
 * `shmkit inspect` use) over a region built from the input.
 *
 * Input: [len sel u8][len u32][misalign u8][required caps u32][blocking u8]
 *        [header 64][pool ctl 64][peer script ...]
 * The region is a 64-byte aligned buffer whose bytes past `len` are
 * poisoned, so ASan sees any read beyond the length the caller gave.
 */
#include <sanitizer/asan_interface.h>

#include "common.h"
#include "shmkit/events.h"

const char *const shmk_fuzz_clauses[] = {
	"events.validate.aligned",
	"events.validate.short",
	"events.validate.initialized",
	"events.validate.magic",
	"events.validate.version",
	"events.validate.kind",
	"events.validate.caps",
	"events.validate.layout-bytes",
	"events.validate.lanes",
	"events.layout.lanes+2",
	NULL,
};

#define MAXLEN (SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES + SHMK_EVENTS_LANES_BYTES + 4096)

static uint8_t *region;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };

	fz_init();
	if (!region && posix_memalign((void **)&region, 4096, MAXLEN + 64))
		return 0;
	uint8_t ls = fz_u8(&in);
	uint32_t lraw = fz_u32(&in);
	uint8_t mis = fz_u8(&in);
	struct shmk_events_opts o = { 0 };
	o.required_caps = fz_u32(&in);
	uint8_t ob = fz_u8(&in);
	o.blocking = ob & 1;
	o.lanes = (ob >> 1) & 1;
	uint8_t hb[128];
	fz_take(&in, hb, sizeof(hb));
	uint32_t lbf;
	memcpy(&lbf, hb + offsetof(struct shmk_events_v1hdr, layout_bytes), 4);

	size_t len;
	switch (ls % 8) {
	case 0: len = SHMK_EVENTS_BASE_BYTES; break;
	case 1: len = SHMK_EVENTS_BASE_BYTES + SHMK_EVENTS_WAKE_BYTES; break;
	case 2: len = lbf; break;
	case 3: len = lbf - 1; break;
	case 4: len = 63 + (ls >> 7); break;
	default: len = lraw; break;
	}
	if (len > MAXLEN)
		len = MAXLEN;
	uint8_t *base = region + ((ls & 0x80) ? (mis % 64) : 0);
	__asan_unpoison_memory_region(region, MAXLEN + 64);
	memset(region, 0, 256);
	memcpy(base, hb, len < sizeof(hb) ? len : sizeof(hb));
	/* the caller's region ends at base + len */
	__asan_poison_memory_region(base + len, MAXLEN + 64 - (size_t)(base + len - region));

	shmk_fuzz_peer_start(in.p, in.n);
	int rc = shmk_events_validate(base, len, &o);
	shmk_fuzz_peer_stop();
	fz_rc(rc);
	if (shmk_fuzz_peer_writes())
		return 0;
	const struct shmk_events_header *h = (const void *)base;
	if ((uintptr_t)base % 64) {
		FUZZ_ASSERT(rc == SHMK_EMISALIGNED);
	} else if (len < 64) {
		FUZZ_ASSERT(rc == SHMK_ETOOSMALL);
	} else if (rc == 0) {
		/* accepted: every header field checked, the layout within len */
		uint32_t caps = h->v1.capabilities;
		/* the lanes section after the wake section (events.layout.lanes+2) */
		uint32_t need = SHMK_EVENTS_BASE_BYTES +
				(caps & SHMK_EVENTS_CAP_WAKE ? SHMK_EVENTS_WAKE_BYTES : 0) +
				(caps & SHMK_EVENTS_CAP_LANES ? SHMK_EVENTS_LANES_BYTES : 0);
		FUZZ_ASSERT(h->initialized == SHMK_EVENTS_INIT_READY);
		FUZZ_ASSERT(h->v1.magic == SHMK_EVENTS_MAGIC && h->v1.version == SHMK_EVENTS_VERSION);
		FUZZ_ASSERT((h->v1.flags & 0xff) == SHMK_EVENTS_KIND);
		FUZZ_ASSERT(!(caps & ~SHMK_EVENTS_CAPS_KNOWN));
		FUZZ_ASSERT((caps & o.required_caps) == o.required_caps);
		FUZZ_ASSERT(!o.blocking || (caps & SHMK_EVENTS_CAP_WAKE));
		FUZZ_ASSERT(!o.lanes || (caps & SHMK_EVENTS_CAP_LANES));
		FUZZ_ASSERT(h->v1.layout_bytes == need && need <= len);
	} else if (h->initialized != SHMK_EVENTS_INIT_READY) {
		FUZZ_ASSERT(rc == SHMK_ENOTINIT || rc == SHMK_ELAYOUT);
	}
	return 0;
}

/* A header the library itself laid out (build() through open_path). */
size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	if (i >= 7 || max < 512)
		return 0;
	fz_init();
	char p[64];
	struct shmk_events *r;
	/* 5, 6: lanes regions (6 also blocking, and a joiner that asks for lanes) */
	struct shmk_events_opts o = { .blocking = i & 1, .counter_start = i == 3 ? UINT64_MAX - 5 : 0,
				      .lanes = i >= 5 };
	snprintf(p, sizeof(p), "/dev/shm/shmk-fuzz-seed-ev-%u", i);
	unlink(p);
	if (shmk_events_open_path_with(p, &o, &r))
		return 0;
	size_t len;
	uint8_t *b = shmk_events_as_ptr(r, &len);
	size_t n = 0;
	out[n++] = i >= 5 ? 2 : (uint8_t)(i & 1);	/* exact layout length */
	memset(out + n, 0, 4);
	n += 4;
	out[n++] = 0;
	uint32_t req = i == 4 ? SHMK_EVENTS_CAP_WAKE : 0;
	memcpy(out + n, &req, 4);
	n += 4;
	out[n++] = (uint8_t)((i & 1) | (i == 6 ? 2 : 0));
	memcpy(out + n, b, 128);
	n += 128;
	shmk_events_close(r);
	unlink(p);
	return n;
}

#ifdef SHMK_LIBFUZZER
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
	enum { H = 11 };
	static const struct fz_field f[] = {
		{ 0, 1, 8, -1 },		/* length selector */
		{ 1, 4, SHMK_EVENTS_BASE_BYTES, -1 },	/* raw length */
		{ 6, 4, 1, -1 },		/* required caps */
		{ H + 0, 4, 0, -1 },		/* magic */
		{ H + 4, 2, 1, -1 },		/* version */
		{ H + 6, 2, 1, -1 },		/* flags: kind */
		{ H + 8, 4, 1, -1 },		/* capabilities */
		{ H + 12, 4, SHMK_EVENTS_BASE_BYTES, -1 },	/* layout_bytes */
		{ H + 16, 4, 2, -1 },		/* initialized */
		{ H + 64 + 8, 4, SHMK_EVENTS_SLOTS, -1 },	/* pool slot_count */
	};
	return fz_mutate_fields(data, size, max, seed, f, sizeof(f) / sizeof(f[0]), NULL, 0);
}
#endif
