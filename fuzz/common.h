/* SPDX-License-Identifier: MIT */
/*
 * Helpers every fuzz target shares (header-only, so fuzz.mk's "one .c per
 * target" rule holds):
 *
 *   - fz_init(): once per process, a private mount namespace with its own
 *     tmpfs on /dev/shm, FZ_DIR inside it, so fuzzed names, sizes and flinks
 *     can never touch another process's objects, tmpfs caps every size and
 *     nothing is left on the host;
 *     and the injected liveness provider (shmk_liveness_hook);
 *   - a byte cursor over the input (fz_u8 .. fz_u64; zeros once exhausted);
 *   - boundary values (0, 1, cap-1, cap, cap+1, 2^k-1/2^k/2^k+1, MAX);
 *   - fz_rc(): the contract of every failure: a named code;
 *   - the structure-aware mutator core (libFuzzer builds only).
 */
#ifndef SHMK_FUZZ_COMMON_H
#define SHMK_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"
#include "shmkit/error.h"

/* Inside the private /dev/shm when fz_init() could make one; otherwise a
 * directory of the real /dev/shm that the last process out removes. */
#define FZ_DIR "/dev/shm/shmk-fuzz"

/* ------------------------------------------------------------ liveness */

/* Tokens the current input declared dead ("kill a peer"); everything else
 * is alive, so a token read from hostile bytes names a live process unless
 * the input says otherwise (fz_garbage_dead). */
#define FZ_MAX_DEAD 16
static uint64_t fz_dead[FZ_MAX_DEAD];
static unsigned fz_ndead;
static bool fz_garbage_dead;	/* tokens never handed out by the target: dead */
static uint64_t fz_known[FZ_MAX_DEAD];
static unsigned fz_nknown;

static inline int fz_liveness(uint64_t tok)
{
	if (!tok)
		return 0;
	for (unsigned i = 0; i < fz_ndead; i++)
		if (fz_dead[i] == tok)
			return 0;
	if (tok == shmk_self_token())
		return 1;
	for (unsigned i = 0; i < fz_nknown; i++)
		if (fz_known[i] == tok)
			return 1;
	return !fz_garbage_dead;
}

static inline void fz_live_reset(void)
{
	fz_ndead = fz_nknown = 0;
	fz_garbage_dead = false;
}

static inline void fz_kill(uint64_t tok)
{
	if (fz_ndead < FZ_MAX_DEAD)
		fz_dead[fz_ndead++] = tok;
}

static inline void fz_revive(uint64_t tok)
{
	for (unsigned i = 0; i < fz_ndead; i++)
		if (fz_dead[i] == tok)
			fz_dead[i] = fz_dead[--fz_ndead];
}

/* ------------------------------------------------------------ isolation */

static bool fz_isolated;	/* /dev/shm and FZ_DIR are our own tmpfs */

static inline void fz_rmdir(void)
{
	rmdir(FZ_DIR);	/* fails while another process still has files there */
}

static inline void fz_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	/* Private mounts: fuzzed names and sizes land on our own small tmpfs.
	 * Without the privilege (not root, no user namespaces) the targets still
	 * run; they only create names they chose themselves with O_EXCL. */
	if (unshare(CLONE_NEWNS) == 0 ||
	    (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0)) {
		fz_isolated = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
			      mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
				    "size=256m,mode=1777") == 0;
	}
	mkdir(FZ_DIR, 0700);
	if (!fz_isolated)
		atexit(fz_rmdir);
	shmk_liveness_hook = fz_liveness;
}

/* ------------------------------------------------------------ input cursor */

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fz_bytes(struct fz_in *in, size_t w)
{
	uint64_t v = 0;
	size_t k = in->n < w ? in->n : w;
	memcpy(&v, in->p, k);
	in->p += k;
	in->n -= k;
	return v;
}
#define fz_u8(in) ((uint8_t)fz_bytes((in), 1))
#define fz_u16(in) ((uint16_t)fz_bytes((in), 2))
#define fz_u32(in) ((uint32_t)fz_bytes((in), 4))
#define fz_u64(in) fz_bytes((in), 8)

/* Copies up to n bytes of input into out, zero-filling the rest. */
static inline void fz_take(struct fz_in *in, void *out, size_t n)
{
	size_t k = in->n < n ? in->n : n;
	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->n -= k;
}

/* A boundary value around cap chosen by sel (what the mutator also uses). */
static inline uint64_t fz_boundary(uint8_t sel, uint64_t cap, uint64_t other)
{
	unsigned k = (sel >> 3) & 63;
	switch (sel & 7) {
	case 0: return 0;
	case 1: return sel & 0x80 ? UINT64_MAX : 1;
	case 2: return cap - 1;
	case 3: return cap;
	case 4: return cap + 1;
	case 5: return (1ull << k) - 1;
	case 6: return (1ull << k) + (sel & 0x40 ? 1 : 0);
	default: return sel & 0x80 ? UINT32_MAX : other - 8; /* head < tail */
	}
}

/* The contract of every call: success, or a code with a name. */
#define fz_rc(rc) FUZZ_ASSERT((rc) >= 0 || shmk_errname(rc) != NULL)

/* ------------------------------------------------------------ persistent file */

/* Rewrites the file at path to exactly `size` bytes of which the first
 * `n` are bytes (the rest zero), mode 0600, one link. */
static inline int fz_write_file(const char *path, const void *bytes, size_t n, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)size))
		rc = -errno;
	if (!rc && n && pwrite(fd, bytes, n < size ? n : size, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ mutator core */

/* One header field the structure-aware mutator may set. */
struct fz_field {
	uint32_t off;	/* byte offset in the input */
	uint8_t width;	/* 1, 2, 4 or 8 */
	uint64_t cap;	/* the capacity it is compared with (boundary centre) */
	int32_t pair;	/* index of a field it is ordered with (head/tail), or -1 */
};

#ifdef SHMK_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

static inline uint64_t fz_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Half the time libFuzzer's own mutation; otherwise start from a valid
 * layout (tmpl, when the input is shorter than it or one time in 16) and
 * set ONE field to a boundary value, so most inputs pass the magic check
 * and reach the field checks behind it.
 */
static inline size_t fz_mutate_fields(uint8_t *data, size_t size, size_t max, unsigned seed,
				      const struct fz_field *f, size_t nf, const uint8_t *tmpl,
				      size_t tmpl_len)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
	uint64_t r = fz_rand(&s);

	if (r % 2 == 0 && size > 0)
		return LLVMFuzzerMutate(data, size, max);
	if (tmpl && tmpl_len <= max && (size < tmpl_len || r % 16 == 1)) {
		memcpy(data, tmpl, tmpl_len);
		if (size < tmpl_len)
			size = tmpl_len;
	}
	if (!nf)
		return size;
	const struct fz_field *x = &f[fz_rand(&s) % nf];
	if (x->off + x->width > size)
		return size;
	uint64_t other = 0;
	if (x->pair >= 0 && f[x->pair].off + f[x->pair].width <= size)
		memcpy(&other, data + f[x->pair].off, f[x->pair].width);
	uint64_t v = fz_boundary((uint8_t)fz_rand(&s), x->cap, other);
	switch (fz_rand(&s) % 8) {
	case 0: v = x->width == 8 ? UINT64_MAX : (1ull << (8 * x->width)) - 1; break;
	case 1: v += x->cap * (fz_rand(&s) % 4); break;
	default: break;
	}
	memcpy(data + x->off, &v, x->width); /* little-endian host */
	return size;
}
#endif

#endif
