/* SPDX-License-Identifier: MIT */
/*
 * shm_names: names, open flags, modes, sizes and map offsets through the
 * shm API.  Runs on the target's private tmpfs /dev/shm (common.h), so a
 * fuzzed name can only ever meet the target's own objects.
 *
 * Input: [name len u8][name][oflags sel u8][mode u16][flags u8]
 *        [size sel u8][size u64][offset sel u8][offset u64][shrink sel u8][shrink u64]
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>

#include "common.h"
#include "shmkit/shm.h"

const char *const shmk_fuzz_clauses[] = {
	"shm.name.rules",
	"shm.open.flags",
	"shm.size.limits",
	"shm.map.zero_size",
	"shm.map.offset_range",
	"shm.map.unaligned",
	"shm.size.shrink_mapped",
	NULL,
};

#define SMALL_MAX (4u << 20)

static bool name_ok(const char *n)
{
	size_t len = strlen(n);
	if (n[0] != '/' || len < 2 || len - 1 > SHMK_SHM_NAME_MAX)
		return false;
	if (strchr(n + 1, '/'))
		return false;
	return strcmp(n, "/.") && strcmp(n, "/..");
}

static size_t pick(uint8_t sel, uint64_t raw, size_t page)
{
	size_t v;
	switch (sel % 12) {
	case 0: v = 0; break;
	case 1: v = 1; break;
	case 2: v = page - 1; break;
	case 3: v = page; break;
	case 4: v = page + 1; break;
	case 5: v = (size_t)INT64_MAX; break;
	case 6: v = (size_t)INT64_MAX + 1; break;
	case 7: v = SIZE_MAX; break;
	case 8: v = (size_t)1 << (raw % 64); break;
	default: v = (size_t)raw; break;
	}
	/* Sizes the private tmpfs (256 MiB) would really allocate are kept
	 * small; the ones beyond it fail up front and stay as they are. */
	if (v > SMALL_MAX && v <= (512u << 20))
		v = SMALL_MAX - (v % page);
	return v;
}

static int oflags_of(uint8_t sel)
{
	static const int base[] = {
		O_RDWR | O_CREAT | O_EXCL, O_RDWR | O_CREAT, O_RDONLY | O_CREAT,
		O_RDWR | O_CREAT | O_TRUNC, O_RDWR, O_RDONLY, O_RDONLY | O_TRUNC,
		O_RDWR | O_EXCL, O_WRONLY | O_CREAT, O_RDWR | O_CREAT | O_CLOEXEC,
	};
	int f = base[sel % 10];
	if (sel >= 240)
		f |= (int)(1u << (sel % 31));	/* a stray bit */
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	char name[300];
	size_t page;

	fz_init();
	page = shmk_page_size();
	size_t nl = fz_u8(&in) + (size_t)(fz_u8(&in) & 1) * 256; /* up to 511 */
	if (nl > sizeof(name) - 1)
		nl = sizeof(name) - 1;
	fz_take(&in, name, nl);
	name[nl] = 0;
	int of = oflags_of(fz_u8(&in));
	mode_t mode = fz_u16(&in) & 01777;
	unsigned flags = fz_u8(&in) % 5;
	uint8_t ss = fz_u8(&in);
	size_t sz = pick(ss, fz_u64(&in), page);
	uint8_t os = fz_u8(&in);
	size_t off = pick(os, fz_u64(&in), page);
	uint8_t ks = fz_u8(&in);
	size_t shrink = pick(ks, fz_u64(&in), page);

	/* Without a private /dev/shm a fuzzed name could be another process's
	 * object: then only our own prefix is opened. */
	if (!fz_isolated() && name_ok(name) && strncmp(name, "/shmk-fuzz-", 11))
		return 0;
	struct shmk_shm *s = NULL;
	int rc = shmk_shm_open_with(name, of, mode, flags, &s);
	fz_rc(rc);
	if (!name_ok(name)) {
		/* shm.name.rules */
		FUZZ_ASSERT(rc == -EINVAL || rc == -ENAMETOOLONG);
		return 0;
	}
	if (rc) {
		FUZZ_ASSERT(s == NULL);
		/* the object might have been made by an earlier input */
		shm_unlink(name);
		return 0;
	}
	/* shm.open.flags: accepted flags are the documented ones */
	int acc = of & O_ACCMODE;
	FUZZ_ASSERT(acc == O_RDONLY || acc == O_RDWR);
	FUZZ_ASSERT(!(of & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)));
	FUZZ_ASSERT(!(mode & ~0777) && flags <= 3);
	FUZZ_ASSERT(!strcmp(shmk_shm_name(s), name));

	size_t cur = 1;
	rc = shmk_shm_set_size(s, sz);
	fz_rc(rc);
	if (sz > (size_t)INT64_MAX)
		FUZZ_ASSERT(rc == -EFBIG); /* shm.size.limits */
	FUZZ_ASSERT(shmk_shm_size(s, &cur) == 0);
	if (rc == 0)
		FUZZ_ASSERT(cur == sz);

	struct shmk_shm_map *mp = NULL;
	rc = shmk_shm_map(s, off, &mp);
	fz_rc(rc);
	if (cur == 0) {
		FUZZ_ASSERT(rc == SHMK_ETOOSMALL); /* shm.map.zero_size */
	} else if (off >= cur) {
		FUZZ_ASSERT(rc == SHMK_ERANGE); /* shm.map.offset_range */
	}
	if (rc == 0) {
		/* shm.map.unaligned: the caller's bytes start at offset */
		FUZZ_ASSERT(shmk_shm_map_len(mp) == cur - off);
		volatile uint8_t *p = shmk_shm_map_ptr(mp);
		FUZZ_ASSERT(p != NULL);
		(void)p[0];
		(void)p[cur - off - 1];
		if (acc == O_RDWR)
			p[cur - off - 1] = 0x5a;
		rc = shmk_shm_set_size(s, shrink);
		fz_rc(rc);
		if (acc == O_RDWR && shrink <= (size_t)INT64_MAX && shrink < cur) {
			/* shm.size.shrink_mapped: never cut the live map */
			FUZZ_ASSERT(rc == -EBUSY);
		}
		FUZZ_ASSERT(shmk_shm_unmap(mp) == 0);
	}
	shmk_shm_unlink(s);
	shmk_shm_close(s);
	return 0;
}

size_t shmk_fuzz_seed(unsigned i, uint8_t *out, size_t max)
{
	static const char *const names[] = { "/shmk-seed", "/a", "no-slash", "/a/b", "/..",
					     "/", "/x.y_z-1" };
	static const uint8_t of[] = { 0, 1, 0, 0, 1, 0, 3 };
	if (i >= sizeof(names) / sizeof(names[0]) || max < 64)
		return 0;
	size_t n = 0, nl = strlen(names[i]);
	out[n++] = (uint8_t)nl;
	out[n++] = 0;
	memcpy(out + n, names[i], nl);
	n += nl;
	out[n++] = of[i];
	out[n++] = 0x80; /* mode 0600 */
	out[n++] = 0x01;
	out[n++] = 0;
	uint64_t sz = 3 * 4096 + i * 100, off = i * 1000, sh = 4096;
	out[n++] = 9;
	memcpy(out + n, &sz, 8);
	n += 8;
	out[n++] = 9;
	memcpy(out + n, &off, 8);
	n += 8;
	out[n++] = 9;
	memcpy(out + n, &sh, 8);
	n += 8;
	return n;
}
