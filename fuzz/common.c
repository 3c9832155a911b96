/* SPDX-License-Identifier: MIT */
/* What every fuzz target shares (common.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "support.h"
#include "shmkit/ring.h"

static uint64_t fz_dead[FZ_MAX_DEAD];
static unsigned fz_ndead;
static bool fz_garbage_dead;	/* tokens never handed out by the target: dead */
static uint64_t fz_known[FZ_MAX_DEAD];
static unsigned fz_nknown;
static bool g_isolated;

int fz_liveness(uint64_t tok)
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

void fz_set_garbage_dead(bool on)
{
	fz_garbage_dead = on;
}

void fz_live_reset(void)
{
	fz_ndead = fz_nknown = 0;
	fz_garbage_dead = false;
}

void fz_kill(uint64_t tok)
{
	if (fz_ndead < FZ_MAX_DEAD)
		fz_dead[fz_ndead++] = tok;
}

void fz_revive(uint64_t tok)
{
	for (unsigned i = 0; i < fz_ndead; i++)
		if (fz_dead[i] == tok)
			fz_dead[i] = fz_dead[--fz_ndead];
}

bool fz_isolated(void)
{
	return g_isolated;
}

static void fz_rmdir(void)
{
	rmdir(FZ_DIR);	/* fails while another process still has files there */
}

void fz_init(void)
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
		g_isolated = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
			     mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
				   "size=256m,mode=1777") == 0;
	}
	mkdir(FZ_DIR, 0700);
	if (!g_isolated)
		atexit(fz_rmdir);
	shmk_liveness_hook = fz_liveness;
}

void *fz_ring_raw(const char *name, uint64_t cap, struct shmk_ring **ring)
{
	char path[128];
	struct shmk_ring_opts o = { .capacity = cap };
	size_t len;

	fz_init();
	snprintf(path, sizeof(path), "/dev/shm/shmk-fuzz-%s-%d", name, (int)getpid());
	unlink(path);
	if (shmk_ring_create(path, &o, ring))
		return NULL;
	void *p = t_raw_map(open(path, O_RDWR | O_CLOEXEC), &len);
	unlink(path);
	return p && len >= shmk_page_size() + cap ? p : NULL;
}

size_t fz_script_seed(const uint8_t *script, size_t width, size_t head, uint8_t *out, size_t max)
{
	if (max < width)
		return 0;
	size_t n = width;
	while (n > head && !script[n - 1])
		n--;
	n = head + ((n - head + 3) / 4) * 4;
	memcpy(out, script, n);
	return n;
}

uint64_t fz_bytes(struct fz_in *in, size_t w)
{
	uint64_t v = 0;
	size_t k = in->n < w ? in->n : w;
	memcpy(&v, in->p, k);
	in->p += k;
	in->n -= k;
	return v;
}

void fz_take(struct fz_in *in, void *out, size_t n)
{
	size_t k = in->n < n ? in->n : n;
	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->n -= k;
}

uint64_t fz_boundary(uint8_t sel, uint64_t cap, uint64_t other)
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

int fz_write_file(const char *path, const void *bytes, size_t n, uint64_t size)
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

#ifdef SHMK_LIBFUZZER
size_t fz_mutate_fields(uint8_t *data, size_t size, size_t max, unsigned seed,
				      const struct fz_field *f, size_t nf, const uint8_t *tmpl,
				      size_t tmpl_len)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
	uint64_t r = t_rand(&s);

	if (r % 2 == 0 && size > 0)
		return LLVMFuzzerMutate(data, size, max);
	if (tmpl && tmpl_len <= max && (size < tmpl_len || r % 16 == 1)) {
		memcpy(data, tmpl, tmpl_len);
		if (size < tmpl_len)
			size = tmpl_len;
	}
	if (!nf)
		return size;
	const struct fz_field *x = &f[t_rand(&s) % nf];
	if (x->off + x->width > size)
		return size;
	uint64_t other = 0;
	if (x->pair >= 0 && f[x->pair].off + f[x->pair].width <= size)
		memcpy(&other, data + f[x->pair].off, f[x->pair].width);
	uint64_t v = fz_boundary((uint8_t)t_rand(&s), x->cap, other);
	switch (t_rand(&s) % 8) {
	case 0: v = x->width == 8 ? UINT64_MAX : (1ull << (8 * x->width)) - 1; break;
	case 1: v += x->cap * (t_rand(&s) % 4); break;
	default: break;
	}
	memcpy(data + x->off, &v, x->width); /* little-endian host */
	return size;
}
#endif
